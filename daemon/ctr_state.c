// SPDX-License-Identifier: Apache-2.0
/*
 * The daemon's state: the containers cgpilot made, their reservations and
 * placements. A snapshot (<runtime_dir>/state.json, written atomically: a
 * temporary file, fsync, rename, fsync of the directory) and a journal of
 * the changes since (<runtime_dir>/state.journal: one JSON line per
 * admission, start, update or end, appended and fdatasync'ed before the
 * reply goes out, so what a caller was told survives a kill -9). The
 * journal becomes a new snapshot when it grows long, at start and at a
 * clean stop. At start the snapshot is read and the journal replayed over
 * it (a put replaces a container, a del removes it: replaying twice gives
 * the same), and a container whose cgroup still has its id keeps its books
 * and CPUs; the others are dropped. Adopted containers are found again by
 * their patterns; queued requests died with their clients.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctr_internal.h"
#include "daemon.h"
#include "log.h"
#include "util.h"

#define STATE_VERSION 1
#define STATE_MAX_BYTES (64u << 20)
/* Journal lines after which the tick writes a new snapshot. */
#define JOURNAL_COMPACT 1024

static void add(json_object *o, const char *k, json_object *v)
{
	json_object_object_add(o, k, v);
}

static json_object *cpulist(const struct topo_cpuset *s)
{
	char buf[ACT_VALUE_MAX];

	if (topo_format_cpulist(s, buf, sizeof(buf)))
		buf[0] = 0;
	return json_object_new_string(buf);
}

static json_object *one(const struct container *k)
{
	json_object *o = json_object_new_object();
	_cleanup_free_ char *disp = NULL;

	add(o, "id", json_object_new_uint64(k->id));
	add(o, "name", json_object_new_string(k->name));
	add(o, "kind", json_object_new_string(ctr_kind_name(k->kind)));
	add(o, "state", json_object_new_string(ctr_state_name(k->state)));
	add(o, "class", json_object_new_string(class_name(k->class)));
	add(o, "tenant", json_object_new_string(k->tenant));
	/* paths in display form: JSON holds only UTF-8 */
	cgfs_display_path(k->path, &disp);
	add(o, "path", json_object_new_string(disp ? disp : k->path));
	add(o, "cgroup_id", json_object_new_uint64(k->cgroup_id));
	add(o, "cpu_request_mc", json_object_new_uint64(k->spec.cpu_request_mc));
	add(o, "cpu_limit_mc", json_object_new_uint64(k->spec.cpu_limit_mc));
	add(o, "memory_request", json_object_new_uint64(k->spec.mem_request));
	add(o, "memory_limit", json_object_new_uint64(k->spec.mem_limit));
	add(o, "io_weight", json_object_new_int64(k->spec.io_weight));
	add(o, "priority", json_object_new_int(k->spec.priority));
	add(o, "exclusive", json_object_new_int64(k->exclusive));
	add(o, "cpus", cpulist(&k->cpus));
	add(o, "mems", cpulist(&k->mems));
	if (k->pinned.n)
		add(o, "pinned", cpulist(&k->pinned));
	add(o, "pid", json_object_new_int(k->pid));
	add(o, "command", json_object_new_string(k->command));
	add(o, "releasing", json_object_new_boolean(k->releasing));
	/* the CPU ladder's rung: resumed after a restart (ctr_control.c) */
	add(o, "rung", json_object_new_string(ladder_rung_name(k->ladder.rung)));
	add(o, "ladder_frozen", json_object_new_boolean(k->ladder_frozen));
	if (k->degraded[0]) {
		add(o, "degraded", json_object_new_string(k->degraded));
		add(o, "want_class", json_object_new_string(class_name(k->want_class)));
		add(o, "want_cpu_request_mc", json_object_new_uint64(k->want_cpu_request_mc));
		add(o, "want_memory_request", json_object_new_uint64(k->want_mem_request));
	}
	return o;
}

static bool persisted(const struct container *k)
{
	return k->kind != CTR_ADOPTED && k->state != CTR_QUEUED && k->cgroup_id && !k->dry;
}

/* One journal line, synced; a failure is logged and the next snapshot
 * (the tick) makes up for it. */
static void journal(struct containers *c, json_object *o)
{
	const char *text;
	size_t len;
	char *line;

	if (c->journal_fd < 0) {
		json_object_put(o);
		return;
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	len = strlen(text);
	line = malloc(len + 1);
	if (line) {
		memcpy(line, text, len);
		line[len] = '\n';
		if (write(c->journal_fd, line, len + 1) != (ssize_t)(len + 1) ||
		    fdatasync(c->journal_fd)) {
			log_warn_errno(errno ? errno : EIO,
				       "cannot append to %s: %m; the next snapshot has it",
				       c->journal_path);
			c->journal_lines = JOURNAL_COMPACT; /* snapshot on the next tick */
		} else {
			c->journal_lines++;
		}
		free(line);
	}
	json_object_put(o);
}

void ctr_state_put(struct containers *c, const struct container *k)
{
	json_object *o;

	if (!persisted(k) || c->journal_fd < 0)
		return;
	o = json_object_new_object();
	add(o, "put", one(k));
	journal(c, o);
}

void ctr_state_del(struct containers *c, uint64_t id)
{
	json_object *o;

	if (c->journal_fd < 0)
		return;
	o = json_object_new_object();
	add(o, "del", json_object_new_uint64(id));
	journal(c, o);
}

void ctr_state_compact(struct containers *c)
{
	if (c->journal_lines >= JOURNAL_COMPACT)
		ctr_state_save(c);
}

void ctr_state_close(struct containers *c)
{
	if (c->journal_fd >= 0)
		close(c->journal_fd);
	c->journal_fd = -1;
}

static void journal_open(struct containers *c)
{
	const char *path = c->journal_path;

	ctr_state_close(c);
	c->journal_fd =
		open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (c->journal_fd < 0)
		log_warn_errno(errno,
			       "cannot open %s: %m; changes reach the state only at the "
			       "next snapshot",
			       path);
	c->journal_lines = 0;
}

int ctr_state_save(struct containers *c)
{
	json_object *root = json_object_new_object(), *a = json_object_new_array();
	char tmp[sizeof(c->state_path) + 8];
	const char *text;
	_cleanup_close_ int fd = -1;
	size_t len, off = 0;
	int r = 0;

	if (c->act.dry_run) {
		json_object_put(root);
		json_object_put(a);
		return 0;
	}
	add(root, "version", json_object_new_int(STATE_VERSION));
	add(root, "next_id", json_object_new_uint64(c->next_id));
	for (struct container *k = c->list; k; k = k->next)
		if (persisted(k))
			json_object_array_add(a, one(k));
	add(root, "containers", a);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	len = strlen(text);
	snprintf(tmp, sizeof(tmp), "%s.tmp", c->state_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0) {
			r = -errno;
			goto out;
		}
		off += (size_t)n;
	}
	if (write(fd, "\n", 1) != 1 || fsync(fd)) {
		r = errno ? -errno : -EIO;
		goto out;
	}
	if (rename(tmp, c->state_path)) {
		r = -errno;
		goto out;
	}
	{
		_cleanup_close_ int dfd =
			open(c->d->conf.runtime_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0)
			fsync(dfd);
	}
	/* the snapshot holds everything: the journal starts again */
	journal_open(c);
out:
	if (r) {
		unlink(tmp);
		log_warn_errno(r,
			       "cannot write the state file %s: %m; a restart would not "
			       "find this run's containers",
			       c->state_path);
	}
	json_object_put(root);
	return r;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static uint64_t get_u64(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_uint64(v);
}

/* Does @path still name the cgroup @id? */
static bool same_cgroup(struct containers *c, const char *path, uint64_t id)
{
	_cleanup_close_ int fd =
		openat(c->d->root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;

	return fd >= 0 && !fstat(fd, &st) && st.st_ino == id;
}

/* One saved container back into the books; false: it is gone. */
static bool restore(struct containers *c, json_object *e, unsigned idx)
{
	const char *path = get_str(e, "path"), *kind = get_str(e, "kind");
	const char *cls = get_str(e, "class"), *state = get_str(e, "state");
	const char *cpus = get_str(e, "cpus"), *mems = get_str(e, "mems");
	_cleanup_free_ char *raw = NULL;
	struct container *k;
	enum cgp_class class;
	uint64_t id = get_u64(e, "cgroup_id");

	if (!path || !kind || !cls || !state || !cpus || !mems || class_parse(cls, &class) ||
	    (!streq(kind, "launched") && !streq(kind, "runtime"))) {
		log_warn("%s: container %u is malformed; ignored", c->state_path, idx);
		return false;
	}
	if (cgfs_decode_display(path, &raw) < 0)
		return false;
	if (!same_cgroup(c, raw ? raw : path, id)) {
		log_info("container %" PRIu64 " (%s) of the previous run is gone; released",
			 get_u64(e, "id"), path);
		return false;
	}
	k = ctr_alloc(c);
	if (!k)
		return false;
	c->next_id--; /* ctr_alloc took one: the saved id is the one */
	k->id = get_u64(e, "id");
	k->kind = streq(kind, "runtime") ? CTR_RUNTIME : CTR_LAUNCHED;
	k->state = streq(state, "running") ? CTR_RUNNING : CTR_ADMITTED;
	k->class = class;
	snprintf(k->name, sizeof(k->name), "%s", get_str(e, "name") ? get_str(e, "name") : "");
	snprintf(k->tenant, sizeof(k->tenant), "%s",
		 get_str(e, "tenant") ? get_str(e, "tenant") : "");
	snprintf(k->command, sizeof(k->command), "%s",
		 get_str(e, "command") ? get_str(e, "command") : "");
	k->pid = (pid_t)get_u64(e, "pid");
	k->path = strdup(raw ? raw : path);
	k->spec.cpu_request_mc = get_u64(e, "cpu_request_mc");
	k->spec.cpu_limit_mc = get_u64(e, "cpu_limit_mc");
	k->spec.mem_request = get_u64(e, "memory_request");
	k->spec.mem_limit = get_u64(e, "memory_limit");
	k->spec.io_weight = (uint32_t)get_u64(e, "io_weight");
	{
		json_object *v;

		if (json_object_object_get_ex(e, "priority", &v))
			k->spec.priority = json_object_get_int(v);
	}
	k->exclusive = (unsigned)get_u64(e, "exclusive");
	{
		json_object *v;

		const char *rung = get_str(e, "rung");

		/* killed before the stop: removed once its processes are gone */
		k->releasing = json_object_object_get_ex(e, "releasing", &v) &&
			       json_object_get_boolean(v);
		k->ladder_frozen = json_object_object_get_ex(e, "ladder_frozen", &v) &&
				   json_object_get_boolean(v);
		if (get_str(e, "pinned") && topo_parse_cpulist(get_str(e, "pinned"), &k->pinned))
			topo_cpuset_free(&k->pinned);
		if (get_str(e, "degraded") && get_str(e, "want_class") &&
		    !class_parse(get_str(e, "want_class"), &k->want_class)) {
			snprintf(k->degraded, sizeof(k->degraded), "%s", get_str(e, "degraded"));
			k->want_cpu_request_mc = get_u64(e, "want_cpu_request_mc");
			k->want_mem_request = get_u64(e, "want_memory_request");
		}
		for (int r = 0; rung && r < RUNG_MAX; r++)
			if (streq(rung, ladder_rung_name((enum ladder_rung)r)))
				k->ladder.rung = (enum ladder_rung)r;
		k->ladder.since_ns = mono_now_ns();
	}
	if (!k->path || !k->id || containers__find(c, k->id) ||
	    topo_parse_cpulist(cpus, &k->cpus) || topo_parse_cpulist(mems, &k->mems)) {
		log_warn("%s: container %u is malformed; ignored", c->state_path, idx);
		ctr_free_one(k);
		return false;
	}
	if (k->exclusive && (!c->pool_ok || place_assign(&c->pool, k->id, &k->cpus))) {
		log_warn("container %" PRIu64 " (%s): its exclusive CPUs are no longer free or "
			 "allocatable; it shares the pool now",
			 k->id, k->path);
		k->exclusive = 0;
		topo_cpuset_free(&k->cpus);
	}
	k->cgroup_id = id;
	k->admitted_ns = mono_now_ns();
	k->deadline_ns = k->admitted_ns + (uint64_t)c->d->conf.start_deadline_s * 1000000000ULL;
	ctr_link(c, k);
	if (k->degraded[0])
		c->stats.ndegraded++;
	ctr_book(c, k);
	if (k->id >= c->next_id)
		c->next_id = k->id + 1;
	return true;
}

/* A whole small file into *ret (NUL-terminated); 0 with *ret NULL if missing. */
static int read_whole(const char *path, char **ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len = 0;

	*ret = NULL;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size > STATE_MAX_BYTES)
		return -EINVAL;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0)
			return -errno;
		if (!n)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	*ret = TAKE_PTR(buf);
	return 0;
}

/* The snapshot's containers into @byid (id -> object). */
static void load_snapshot(struct containers *c, const char *text, json_object *byid)
{
	json_object *root = json_tokener_parse(text), *a;

	if (!root || !json_object_is_type(root, json_type_object) ||
	    get_u64(root, "version") != STATE_VERSION ||
	    !json_object_object_get_ex(root, "containers", &a) ||
	    !json_object_is_type(a, json_type_array)) {
		log_warn("%s is not a state file of this cgpilotd (corrupt, or another version); "
			 "its containers are not taken back",
			 c->state_path);
		json_object_put(root);
		return;
	}
	if (get_u64(root, "next_id") > c->next_id)
		c->next_id = get_u64(root, "next_id");
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i);
		char key[24];

		snprintf(key, sizeof(key), "%" PRIu64, get_u64(e, "id"));
		json_object_object_add(byid, key, json_object_get(e));
	}
	json_object_put(root);
}

/* The journal's lines over @byid; a line cut short by a kill is skipped. */
static void replay_journal(struct containers *c, char *text, json_object *byid)
{
	unsigned lineno = 0, bad = 0;

	for (char *line = text, *next; line && *line; line = next) {
		json_object *o, *v;
		char key[24];

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		o = json_tokener_parse(line);
		if (o && json_object_object_get_ex(o, "put", &v) &&
		    json_object_is_type(v, json_type_object)) {
			snprintf(key, sizeof(key), "%" PRIu64, get_u64(v, "id"));
			json_object_object_add(byid, key, json_object_get(v));
		} else if (o && json_object_object_get_ex(o, "del", &v) &&
			   json_object_is_type(v, json_type_int)) {
			snprintf(key, sizeof(key), "%" PRIu64, json_object_get_uint64(v));
			json_object_object_del(byid, key);
		} else {
			bad++;
		}
		json_object_put(o);
	}
	if (bad)
		log_warn("%s: %u of %u lines unreadable (a write cut short?); skipped",
			 c->journal_path, bad, lineno);
}

int ctr_state_load(struct containers *c)
{
	_cleanup_free_ char *snap = NULL, *jtext = NULL;
	json_object *byid = json_object_new_object();
	unsigned kept = 0, dropped = 0, idx = 0;
	int r;

	if (!byid)
		return -ENOMEM;
	r = read_whole(c->state_path, &snap);
	if (!r && snap)
		load_snapshot(c, snap, byid);
	if (!r)
		r = read_whole(c->journal_path, &jtext);
	if (!r && jtext)
		replay_journal(c, jtext, byid);
	json_object_object_foreach(byid, key, e)
	{
		(void)key;
		if (get_u64(e, "id") >= c->next_id)
			c->next_id = get_u64(e, "id") + 1;
		if (restore(c, e, idx++))
			kept++;
		else
			dropped++;
	}
	json_object_put(byid);
	if (kept || dropped)
		log_info("state of the previous run: %u containers kept, %u gone", kept, dropped);
	return r;
}
