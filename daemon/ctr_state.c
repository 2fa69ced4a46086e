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
 *
 * An adopted cgroup is not cgpilot's, but what cgpilot holds of it is: the
 * squeeze its loops put on it (the ladder's rung and freeze, memory.high,
 * io.max), the values its scheduler had (written back on release) and what
 * cgpilot last wrote (another writer's change is told from it). That is a
 * "squeezed" record, journaled at the end of the batch whose writes changed
 * it ("sq"; "unsq" once nothing is held). At start the records of cgroups
 * that still have their id wait until their pattern adopts them again, and
 * then the squeeze is given back, not resumed: the scheduler's values are
 * written where a knob is still as cgpilot left it, and the loops start
 * again from nothing, climbing within one window if the pressure is still
 * there. No adopted cgroup stays squeezed with nobody watching.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
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

/* FNV-1a of a record's text: the journal hears of a squeeze only when it changed. */
static uint64_t text_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* What cgpilot holds of an adopted cgroup, NULL: nothing. */
static json_object *squeeze_of(const struct container *k)
{
	json_object *o, *kn;
	_cleanup_free_ char *disp = NULL;

	if (k->kind != CTR_ADOPTED || !k->cgroup_id || k->dry ||
	    (k->ladder.rung == RUNG_NONE && !k->ladder_frozen && k->memhigh.high == MEMHIGH_MAX &&
	     k->guard_high == MEMHIGH_MAX && !k->iot.bps))
		return NULL;
	o = json_object_new_object();
	cgfs_display_path(k->path, &disp);
	add(o, "path", json_object_new_string(disp ? disp : k->path));
	add(o, "cgroup_id", json_object_new_uint64(k->cgroup_id));
	add(o, "rung", json_object_new_string(ladder_rung_name(k->ladder.rung)));
	add(o, "ladder_frozen", json_object_new_boolean(k->ladder_frozen));
	if (k->saved_weight)
		add(o, "cpu.weight", json_object_new_string(k->cpu_saved_weight));
	if (k->saved_max)
		add(o, "cpu.max", json_object_new_string(k->cpu_saved_max));
	if (k->memhigh.high != MEMHIGH_MAX)
		add(o, "memory_high", json_object_new_uint64(k->memhigh.high));
	if (k->guard_high != MEMHIGH_MAX)
		add(o, "guard_high", json_object_new_uint64(k->guard_high));
	if (k->mem_saved_valid)
		add(o, "memory.high", json_object_new_string(k->mem_saved));
	if (k->iot.bps) {
		add(o, "io_dev", json_object_new_uint64(k->iot_dev));
		add(o, "io_bps", json_object_new_uint64(k->iot.bps));
		add(o, "io_iops", json_object_new_uint64(k->iot.iops));
		add(o, "io.max", json_object_new_string(k->io_saved));
	}
	add(o, "backed_off", json_object_new_boolean(k->backed_off));
	kn = json_object_new_object();
	for (unsigned i = 0; i < k->nknobs; i++)
		if (k->knobs[i].known)
			add(kn, k->knobs[i].knob, json_object_new_string(k->knobs[i].value));
	add(o, "written", kn);
	return o;
}

/* The state could not be written: said once, counted, and admissions wait. */
static void state_failed(struct containers *c, int err, const char *what, const char *path)
{
	bool first = !c->state_error[0];

	c->stats.state_failures++;
	snprintf(c->state_error, sizeof(c->state_error), "cannot %s %s: %s", what, path,
		 strerror(err));
	if (first)
		log_warn("%s; no admission or update is acknowledged until the state can be "
			 "written again (tried every tick)",
			 c->state_error);
}

/* One journal line, synced before the reply; -errno: not written, and a
 * snapshot on the next tick makes up for what it held. */
static int journal(struct containers *c, json_object *o)
{
	const char *text;
	size_t len;
	char *line;
	int r = 0;

	if (c->journal_fd < 0) {
		json_object_put(o);
		return c->act.dry_run ? 0 : -EBADF;
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	len = strlen(text);
	line = malloc(len + 1);
	if (!line) {
		json_object_put(o);
		return -ENOMEM;
	}
	memcpy(line, text, len);
	line[len] = '\n';
	errno = 0;
	if (write(c->journal_fd, line, len + 1) != (ssize_t)(len + 1) || fdatasync(c->journal_fd)) {
		r = errno ? -errno : -ENOSPC;
		state_failed(c, -r, "append to", c->journal_path);
		/* a part of the line may be there: the snapshot starts it again */
		c->journal_lines = JOURNAL_COMPACT;
	} else {
		c->journal_lines++;
	}
	free(line);
	json_object_put(o);
	return r;
}

int ctr_state_check(struct containers *c, char *why, size_t whylen)
{
	if (!c->state_error[0])
		return 0;
	snprintf(why, whylen,
		 "cgpilotd cannot record its state (%s): nothing new is admitted "
		 "or changed until it can",
		 c->state_error);
	return -EROFS;
}

int ctr_state_put(struct containers *c, const struct container *k)
{
	json_object *o;

	if (!persisted(k))
		return 0;
	o = json_object_new_object();
	add(o, "put", one(k));
	return journal(c, o);
}

void ctr_state_del(struct containers *c, uint64_t id)
{
	json_object *o;

	if (c->act.dry_run)
		return;
	o = json_object_new_object();
	add(o, "del", json_object_new_uint64(id));
	journal(c, o);
}

void ctr_state_touch(struct containers *c, struct container *k)
{
	if (k->kind != CTR_ADOPTED)
		return;
	k->sq_dirty = true;
	c->sq_dirty = true;
}

void ctr_state_sync(struct containers *c)
{
	if (!c || !c->sq_dirty)
		return;
	c->sq_dirty = false;
	for (struct container *k = c->list; k; k = k->next) {
		json_object *sq, *o;
		uint64_t sig;

		if (!k->sq_dirty)
			continue;
		k->sq_dirty = false;
		sq = squeeze_of(k);
		if (!sq) {
			if (k->sq_logged)
				ctr_state_forget(c, k);
			continue;
		}
		sig = text_hash(json_object_to_json_string_ext(sq, JSON_C_TO_STRING_PLAIN));
		if (k->sq_logged && sig == k->sq_sig) {
			json_object_put(sq);
			continue;
		}
		k->sq_logged = true;
		k->sq_sig = sig;
		o = json_object_new_object();
		add(o, "sq", sq);
		journal(c, o);
	}
}

void ctr_state_forget(struct containers *c, struct container *k)
{
	json_object *o;

	if (!k->sq_logged)
		return;
	k->sq_logged = false;
	if (c->act.dry_run)
		return;
	o = json_object_new_object();
	add(o, "unsq", json_object_new_uint64(k->cgroup_id));
	journal(c, o);
}

json_object *ctr_state_claim(struct containers *c, uint64_t cgroup_id)
{
	json_object *sq = NULL;
	char key[24];

	if (!c->sq_pending)
		return NULL;
	snprintf(key, sizeof(key), "%" PRIu64, cgroup_id);
	if (!json_object_object_get_ex(c->sq_pending, key, &sq))
		return NULL;
	json_object_get(sq);
	json_object_object_del(c->sq_pending, key);
	return sq;
}

const char *ctr_state_saved_knob(json_object *sq, const char *knob)
{
	json_object *v;

	if (!sq || !json_object_object_get_ex(sq, knob, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

void ctr_state_undo_squeeze(struct containers *c, struct container *k, json_object *sq)
{
	const char *v, *rung = ctr_state_saved_knob(sq, "rung");
	const char *why = "restart: the previous run's squeeze given back";
	json_object *jv, *written;

	for (int r = 0; rung && r < RUNG_MAX; r++)
		if (streq(rung, ladder_rung_name((enum ladder_rung)r)))
			k->ladder.rung = (enum ladder_rung)r;
	k->ladder_frozen = json_object_object_get_ex(sq, "ladder_frozen", &jv) &&
			   json_object_get_boolean(jv);
	k->backed_off = json_object_object_get_ex(sq, "backed_off", &jv) &&
			json_object_get_boolean(jv);
	if ((v = ctr_state_saved_knob(sq, "cpu.weight"))) {
		snprintf(k->cpu_saved_weight, sizeof(k->cpu_saved_weight), "%s", v);
		k->saved_weight = true;
	}
	if ((v = ctr_state_saved_knob(sq, "cpu.max"))) {
		snprintf(k->cpu_saved_max, sizeof(k->cpu_saved_max), "%s", v);
		k->saved_max = true;
	}
	if (json_object_object_get_ex(sq, "memory_high", &jv))
		k->memhigh.high = get_u64(sq, "memory_high");
	if (json_object_object_get_ex(sq, "guard_high", &jv))
		k->guard_high = get_u64(sq, "guard_high");
	if ((v = ctr_state_saved_knob(sq, "memory.high"))) {
		snprintf(k->mem_saved, sizeof(k->mem_saved), "%s", v);
		k->mem_saved_valid = true;
	}
	if (get_u64(sq, "io_bps") && get_u64(sq, "io_dev") <= UINT32_MAX) {
		k->iot.bps = get_u64(sq, "io_bps");
		k->iot.iops = get_u64(sq, "io_iops");
		k->iot_dev = (uint32_t)get_u64(sq, "io_dev");
		snprintf(k->io_saved, sizeof(k->io_saved), "%s",
			 ctr_state_saved_knob(sq, "io.max") ? ctr_state_saved_knob(sq, "io.max") :
							      "");
	}
	/* what cgpilot wrote last: a knob changed since is another writer's */
	if (json_object_object_get_ex(sq, "written", &written) &&
	    json_object_is_type(written, json_type_object)) {
		json_object_object_foreach(written, knob, val)
		{
			struct ctr_knob *kn;

			if (k->nknobs >= CTR_KNOBS_MAX ||
			    !json_object_is_type(val, json_type_string))
				continue;
			kn = &k->knobs[k->nknobs++];
			snprintf(kn->knob, sizeof(kn->knob), "%s", knob);
			snprintf(kn->value, sizeof(kn->value), "%s", json_object_get_string(val));
			kn->known = true;
		}
	}
	k->sq_logged = true; /* the snapshot has it: its end goes to the journal */
	log_info("container %" PRIu64 " (%s): squeezed by the previous run (rung %s%s%s%s); "
		 "given back",
		 k->id, k->path, ladder_rung_name(k->ladder.rung),
		 k->ladder_frozen ? ", frozen" : "",
		 k->memhigh.high != MEMHIGH_MAX || k->guard_high != MEMHIGH_MAX ? ", memory.high" :
										  "",
		 k->iot.bps ? ", io.max" : "");
	ctr_control_unsqueeze(c, k, why);
	ctr_memory_unsqueeze(c, k, why);
	ctr_io_unsqueeze(c, k, why);
	ctr_state_touch(c, k);
}

void ctr_state_compact(struct containers *c)
{
	if (c->journal_lines >= JOURNAL_COMPACT || c->state_error[0])
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
		state_failed(c, errno, "open", path);
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
	/* adopted cgroups cgpilot holds squeezed, and those the previous run
	 * held that were not adopted again yet */
	a = json_object_new_array();
	for (struct container *k = c->list; k; k = k->next) {
		json_object *sq = squeeze_of(k);

		k->sq_logged = sq != NULL;
		k->sq_dirty = false;
		if (sq) {
			k->sq_sig = text_hash(
				json_object_to_json_string_ext(sq, JSON_C_TO_STRING_PLAIN));
			json_object_array_add(a, sq);
		}
	}
	if (c->sq_pending) {
		json_object_object_foreach(c->sq_pending, key, sq)
		{
			(void)key;
			json_object_array_add(a, json_object_get(sq));
		}
	}
	add(root, "squeezed", a);
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
	{
		bool was = c->state_error[0];

		c->state_error[0] = 0;
		journal_open(c);
		if (was && !c->state_error[0])
			log_info("the state is written again (%s): admissions resume",
				 c->state_path);
	}
out:
	if (r) {
		unlink(tmp);
		state_failed(c, -r, "write the state file", c->state_path);
	}
	json_object_put(root);
	return r;
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
static void load_snapshot(struct containers *c, const char *text, json_object *byid,
			  json_object *sqmap)
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
	if (json_object_object_get_ex(root, "squeezed", &a) &&
	    json_object_is_type(a, json_type_array))
		for (size_t i = 0; i < json_object_array_length(a); i++) {
			json_object *e = json_object_array_get_idx(a, i);
			char key[24];

			snprintf(key, sizeof(key), "%" PRIu64, get_u64(e, "cgroup_id"));
			json_object_object_add(sqmap, key, json_object_get(e));
		}
	json_object_put(root);
}

/* The journal's lines over @byid; a line cut short by a kill is skipped. */
static void replay_journal(struct containers *c, char *text, json_object *byid, json_object *sqmap)
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
		} else if (o && json_object_object_get_ex(o, "sq", &v) &&
			   json_object_is_type(v, json_type_object)) {
			snprintf(key, sizeof(key), "%" PRIu64, get_u64(v, "cgroup_id"));
			json_object_object_add(sqmap, key, json_object_get(v));
		} else if (o && json_object_object_get_ex(o, "unsq", &v) &&
			   json_object_is_type(v, json_type_int)) {
			snprintf(key, sizeof(key), "%" PRIu64, json_object_get_uint64(v));
			json_object_object_del(sqmap, key);
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
	json_object *byid = json_object_new_object(), *sqmap = json_object_new_object();
	unsigned kept = 0, dropped = 0, idx = 0, nsq = 0;
	int r;

	if (!byid || !sqmap) {
		json_object_put(byid);
		json_object_put(sqmap);
		return -ENOMEM;
	}
	r = read_whole(c->state_path, &snap);
	if (!r && snap)
		load_snapshot(c, snap, byid, sqmap);
	if (!r)
		r = read_whole(c->journal_path, &jtext);
	if (!r && jtext)
		replay_journal(c, jtext, byid, sqmap);
	/* squeezed adopted cgroups that still have their id wait for their pattern */
	json_object_object_foreach(sqmap, sqkey, sq)
	{
		const char *path = get_str(sq, "path");
		_cleanup_free_ char *raw = NULL;

		if (!path || !get_u64(sq, "cgroup_id") || cgfs_decode_display(path, &raw) < 0 ||
		    !same_cgroup(c, raw ? raw : path, get_u64(sq, "cgroup_id")))
			continue;
		if (!c->sq_pending)
			c->sq_pending = json_object_new_object();
		if (c->sq_pending) {
			json_object_object_add(c->sq_pending, sqkey, json_object_get(sq));
			nsq++;
		}
	}
	json_object_put(sqmap);
	if (nsq)
		log_info("state of the previous run: %u adopted cgroups it held squeezed", nsq);
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

/* ---- cgroups made by a run that died before its journal had them ---- */

#define SWEEP_DEPTH 8

/* The container ids a made cgroup's owner tag names ("cgpilotd:<id>"). */
static bool made_tag(const char *tag, uint64_t *ret_id)
{
	const char *p = tag + strlen(CTR_OWNER);
	char *end;

	if (strncmp(tag, CTR_OWNER ":", strlen(CTR_OWNER) + 1) || !p[1] || p[1] < '0' || p[1] > '9')
		return false;
	errno = 0;
	*ret_id = strtoull(p + 1, &end, 10);
	return !errno && !*end;
}

static void sweep_dir(struct containers *c, int dfd, char *path, size_t cap, unsigned depth,
		      unsigned *removed, unsigned *kept)
{
	size_t len = strlen(path);
	DIR *dir;
	struct dirent *de;

	if (depth > SWEEP_DEPTH)
		return;
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return;
	}
	while ((de = readdir(dir))) {
		char tag[64];
		uint64_t id;
		ssize_t n;
		int fd, r;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (len + 1 + strlen(de->d_name) + 1 > cap)
			continue;
		fd = openat(dirfd(dir), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		snprintf(path + len, cap - len, "%s%s", len ? "/" : "", de->d_name);
		n = fgetxattr(fd, ACT_OWNER_XATTR, tag, sizeof(tag) - 1);
		if (n > 0) {
			tag[n] = 0;
			if (made_tag(tag, &id) && !containers__find(c, id)) {
				/* admitted by a run killed before it said so: nobody was
				 * told of it, so nothing runs in it yet */
				close(fd);
				r = act_rmdir(&c->act, path, 0, tag);
				if (r) {
					(*kept)++;
					log_warn(
						"%s: made for container %" PRIu64 " by a run that "
						"stopped before its state had it; cannot remove it: %s",
						path, id, strerror(-r));
				} else {
					(*removed)++;
					log_info("%s: made for container %" PRIu64 " by a run that "
						 "stopped before its state had it; removed",
						 path, id);
				}
				if (id >= c->next_id)
					c->next_id = id + 1; /* never given again */
				path[len] = 0;
				continue;
			}
		}
		/* below the roots only the parents cgpilot made hold containers */
		sweep_dir(c, fd, path, cap, depth + 1, removed, kept);
		path[len] = 0;
	}
	closedir(dir);
}

void ctr_state_sweep(struct containers *c, const char *root)
{
	char path[PATH_MAX];
	unsigned removed = 0, kept = 0;
	int fd;

	if (c->act.dry_run || !root || !*root ||
	    snprintf(path, sizeof(path), "%s", root) >= (int)sizeof(path))
		return;
	fd = openat(c->d->root_fd, root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	sweep_dir(c, fd, path, sizeof(path), 0, &removed, &kept);
	if (removed || kept)
		log_info("below %s: %u half-made cgroups of a previous run removed, %u left", root,
			 removed, kept);
}

void ctr_test_stop(const char *at)
{
	static const char *want;
	static bool read;

	if (!read) {
		want = getenv("CGPILOTD_TEST_STOP_AT");
		read = true;
	}
	if (want && streq(want, at)) {
		log_warn("CGPILOTD_TEST_STOP_AT=%s: stopping here for a test", at);
		raise(SIGSTOP);
	}
}
