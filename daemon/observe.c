// SPDX-License-Identifier: Apache-2.0
/*
 * Keeping the model in step with the kernel: the cgroups that exist at start,
 * the ring buffer's events, the sample tick (BPF counters, a slow sweep of
 * the kernel's own files) and the reconciliation of BPF slots with the
 * cgroups that exist. Work per loop iteration is bounded: a node with 20,000
 * short-lived cgroups must not stop the daemon answering.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroupfs.h"
#include "containers.h"
#include "daemon.h"
#include "export.h"
#include "log.h"
#include "page.h"
#include "proto.h"
#include "util.h"

#define DEAD_GRACE_NS 2000000000ULL /* exiting tasks may switch out once more */
/* Ring buffer events handled per loop iteration; the rest wait for the next
 * (the ring buffer's fd stays ready), so requests are answered in between. */
#define EVENT_BUDGET 4096
/* Cgroups BPF counts for but the model lacks, checked per sample tick. */
#define RECONCILE_BUDGET 4096

static struct daemon *walk_daemon;

static int walk_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	const char *rel = path + strlen(walk_daemon->cgroup_root);

	if (type != FTW_D)
		return 0;
	while (*rel == '/')
		rel++;
	if (model__add(walk_daemon->model, st->st_ino, rel, NULL) < 0)
		return -1;
	return 0;
}

int observe_discover(struct daemon *d)
{
	int r;

	walk_daemon = d;
	r = nftw(d->cgroup_root, walk_cb, 32, FTW_PHYS | FTW_MOUNT);
	walk_daemon = NULL;
	if (r)
		return log_error_errno(errno ? errno : ENOMEM, "Failed to walk %s: %m",
				       d->cgroup_root);
	d->files_walk_ns = mono_now_ns(); /* files-only mode walks again a sweep later */
	log_info("observing %u cgroups", model__count(d->model));
	return 0;
}

/* A normalised path: its display form taken back to the bytes, else as bytes. */
static struct cg *find_path(struct daemon *d, const char *norm, const char **ret_msg)
{
	_cleanup_free_ char *raw = NULL;
	struct cg *c;
	int r;

	r = cgfs_decode_display(norm, &raw);
	if (r == -EINVAL) {
		*ret_msg = "cgroup path encodes a NUL byte (%00), which no cgroup name has";
		return NULL;
	}
	c = model__find_path(d->model, raw ? raw : norm);
	if (!c && raw)
		c = model__find_path(d->model, norm);
	return c;
}

struct cg *daemon_resolve_cgroup(struct daemon *d, const char *arg, const char **ret_msg)
{
	static char msg[512];
	_cleanup_free_ char *norm = NULL;
	const char *below, *why = NULL;
	struct cg *c;
	char *end;

	/* "" is no path: it must not mean the root by accident */
	if (!arg[0]) {
		*ret_msg = "empty cgroup argument (the root is \"/\")";
		return NULL;
	}
	if (arg[0] >= '1' && arg[0] <= '9') {
		unsigned long long id;

		errno = 0;
		id = strtoull(arg, &end, 10);
		if (!errno && !*end) {
			c = model__find(d->model, id);
			if (!c || c->dead_ns)
				*ret_msg = "no cgroup with that id";
			return c && !c->dead_ns ? c : NULL;
		}
	}
	if (cgfs_normalize_path(arg, &norm, ret_msg))
		return NULL;
	/* a full path under the mount names the cgroup below it, unless a
	 * cgroup has that relative path */
	c = find_path(d, norm, &why);
	below = why ? NULL : cgfs_below_mount(d->cgroup_root, norm);
	if (!c && below)
		c = find_path(d, below, &why);
	if (c)
		return c;
	if (why) {
		*ret_msg = why;
		return NULL;
	}
	if (!below && !strncmp(norm, "sys/fs/cgroup", 13))
		/* a full path, but not under the v2 mount: a v1 hierarchy's */
		snprintf(msg, sizeof(msg),
			 "no such cgroup: paths are relative to the cgroup v2 mount %s, or "
			 "under it",
			 d->cgroup_root);
	else
		snprintf(msg, sizeof(msg), "no such cgroup under the cgroup v2 mount %s",
			 d->cgroup_root);
	*ret_msg = msg;
	return NULL;
}

/* Learn a cgroup's path from its id; false if it is gone. */
static bool path_from_id(struct daemon *d, struct cg *c, int fd)
{
	_cleanup_free_ char *rel = NULL;

	if (cgfs_path_of_fd(fd, d->cgroup_root, &rel))
		return false;
	return model__set_path(d->model, c, rel) == 0;
}

/*
 * The directory of a cgroup of the model. By path when the path is known
 * and still names this cgroup (the inode is the id), else by id: the path
 * was cut short in its event, or the cgroup was renamed (the model learns the
 * new path). -ENOENT when the cgroup is gone.
 */
static int open_cgroup(struct daemon *d, struct cg *c)
{
	int fd = -1;
	struct stat st;

	if (!c->path_partial) {
		fd = openat(d->root_fd, c->path[0] ? c->path : ".",
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0 && !fstat(fd, &st) && st.st_ino == c->id)
			return fd;
		if (fd >= 0)
			close(fd); /* another cgroup now has the path */
		else if (errno != ENOENT && errno != ENOTDIR)
			return -errno;
	}
	fd = cgfs_open_by_id(d->root_fd, c->id, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd == -ESTALE ? -ENOENT : fd;
	/* only the handle says whether it is gone: a path the kernel cannot
	 * give (longer than a page, outside our mount) leaves it partial */
	if (!path_from_id(d, c, fd) && !c->path_partial)
		model__mark_partial(d->model, c);
	return fd;
}

/* memory.events.local's oom_kill; *ret_new gets how much it moved since the
 * last read (0 on the first). */
static void read_oom_kill_local(int dirfd, struct cg *c, uint64_t *ret_new)
{
	char buf[512];
	uint64_t v;

	if (cgfs_read_at(dirfd, "memory.events.local", buf, sizeof(buf)) < 0 ||
	    cgfs_keyed_u64(buf, "oom_kill", &v))
		return;
	if (ret_new)
		*ret_new = c->fig.oom_kill_local_valid && v > c->fig.oom_kill_local ?
				   v - c->fig.oom_kill_local :
				   0;
	c->fig.oom_kill_local = v;
	c->fig.oom_kill_local_valid = true;
}

/*
 * Kills BPF could not attribute (pid-flavour mark_victim, victim already gone
 * from /proc) are attributed by the cgroup whose memory.events.local
 * oom_kill moved. Reading every cgroup's file at once would stall the loop on
 * a node with thousands of cgroups, so the scan goes OOM_SCAN_BUDGET cgroups
 * per loop iteration (observe_work) until each pending kill has its cgroup
 * or every cgroup was read once.
 */
#define OOM_SCAN_BUDGET 256

/* The victim's comm is its own choice of bytes: logged in display form. */
static void log_unattributed(const struct cgp_event *e)
{
	char comm[CGP_COMM_LEN + 1];
	_cleanup_free_ char *shown = NULL;

	memcpy(comm, e->comm, CGP_COMM_LEN);
	comm[CGP_COMM_LEN] = 0;
	cgfs_display_path(comm, &shown);
	log_warn("OOM kill of pid %u (%s) could not be attributed to a cgroup", e->pid,
		 shown ? shown : comm);
}

static void oom_emit(struct daemon *d, const struct cgp_event *kill, struct cg *c)
{
	struct cgp_event e = *kill;
	json_object *o;

	e.cgid = c ? c->id : 0;
	if (c)
		c->fig.oom_kills_user++;
	else
		log_unattributed(&e);
	page_note_event(d, &e, c);
	if (!ctl__nclients(d->ctl))
		return;
	o = proto_event_json(&e, c ? cg_display_path(c) : NULL);
	if (o) {
		ctl__broadcast(d->ctl, e.type, o);
		json_object_put(o);
	}
}

static void oom_queue(struct daemon *d, const struct cgp_event *e)
{
	if (d->oom.n == ARRAY_SIZE(d->oom.kills)) {
		oom_emit(d, &d->oom.kills[0], NULL); /* the oldest waited long enough */
		memmove(&d->oom.kills[0], &d->oom.kills[1],
			(ARRAY_SIZE(d->oom.kills) - 1) * sizeof(d->oom.kills[0]));
		d->oom.n--;
	}
	d->oom.kills[d->oom.n++] = *e;
	/* a full pass over the model from here */
	d->oom.left = model__count(d->model);
}

/*
 * A dropped mkdir event leaves a cgroup out of the model until one of its
 * tasks runs (its BPF slot then reconciles it in). For the idle ones the
 * tree is walked again, RESCAN_BUDGET directories per loop iteration
 * (readdir's d_type and d_ino, no stat: nftw's stat of every file costs
 * seconds at 20,000 cgroups), starting when the sample tick sees drops.
 */
#define RESCAN_BUDGET 64

struct rescan {
	char **queue; /* relative paths still to list */
	size_t head, tail, cap;
	bool periodic; /* files-only mode's walk, not a recovery of lost events */
};

static void rescan_free(struct daemon *d)
{
	struct rescan *rs = d->rescan;

	if (!rs)
		return;
	for (size_t i = rs->head; i < rs->tail; i++)
		free(rs->queue[i]);
	free(rs->queue);
	free(rs);
	d->rescan = NULL;
}

static int rescan_push(struct rescan *rs, char *rel)
{
	if (rs->tail == rs->cap) {
		if (rs->head) {
			memmove(rs->queue, rs->queue + rs->head,
				(rs->tail - rs->head) * sizeof(*rs->queue));
			rs->tail -= rs->head;
			rs->head = 0;
		} else {
			size_t cap = rs->cap ? rs->cap * 2 : 256;
			char **q = realloc(rs->queue, cap * sizeof(*q));

			if (!q)
				return -ENOMEM;
			rs->queue = q;
			rs->cap = cap;
		}
	}
	rs->queue[rs->tail++] = rel;
	return 0;
}

/* @periodic: files-only mode's walk, which is how new cgroups are found
 * there (no mkdir events); not counted as a recovery. */
static void rescan_start(struct daemon *d, bool periodic)
{
	char *root = strdup("");

	if (d->rescan || !root) {
		free(root);
		return;
	}
	d->rescan = calloc(1, sizeof(*d->rescan));
	if (!d->rescan || rescan_push(d->rescan, root)) {
		free(root);
		rescan_free(d);
		return;
	}
	d->rescan->periodic = periodic;
	if (!periodic)
		d->slot_stats.rescans++;
}

static void rescan_dir(struct daemon *d, const char *rel)
{
	int fd = openat(d->root_fd, rel[0] ? rel : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *dir;

	if (fd < 0)
		return; /* gone meanwhile */
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return;
	}
	while ((de = readdir(dir))) {
		char *child;

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (asprintf(&child, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) < 0)
			break;
		if (!model__find(d->model, de->d_ino) &&
		    model__add(d->model, de->d_ino, child, NULL) == 1 && !d->rescan->periodic)
			d->slot_stats.rescan_found++;
		if (rescan_push(d->rescan, child)) {
			free(child);
			break;
		}
	}
	closedir(dir);
}

static void rescan_step(struct daemon *d)
{
	struct rescan *rs = d->rescan;

	for (unsigned k = 0; rs && k < RESCAN_BUDGET && rs->head < rs->tail; k++) {
		char *rel = rs->queue[rs->head++];

		rescan_dir(d, rel);
		free(rel);
	}
	if (rs && rs->head == rs->tail)
		rescan_free(d);
}

void observe_free(struct daemon *d)
{
	rescan_free(d);
}

bool observe_busy(const struct daemon *d)
{
	return d->oom.n > 0 || d->rescan;
}

void observe_work(struct daemon *d)
{
	struct cg *const *all;
	unsigned n, budget = OOM_SCAN_BUDGET;

	rescan_step(d);
	if (!d->oom.n)
		return;
	all = model__all(d->model, &n);
	while (d->oom.n && d->oom.left && n && budget--) {
		struct cg *c = all[d->oom.cursor++ % n];
		_cleanup_close_ int fd = -1;
		uint64_t moved = 0;

		d->oom.left--;
		if (c->dead_ns || (fd = open_cgroup(d, c)) < 0)
			continue;
		/* a cgroup younger than its first sweep read has no baseline: its
		 * kills so far are new (a fresh container killed at once) */
		if (!c->fig.oom_kill_local_valid) {
			c->fig.oom_kill_local = 0;
			c->fig.oom_kill_local_valid = true;
		}
		read_oom_kill_local(fd, c, &moved);
		while (moved-- && d->oom.n) {
			oom_emit(d, &d->oom.kills[0], c);
			memmove(&d->oom.kills[0], &d->oom.kills[1],
				(d->oom.n - 1) * sizeof(d->oom.kills[0]));
			d->oom.n--;
		}
	}
	/* every cgroup read once and no counter moved for these: give up */
	while (d->oom.n && (!d->oom.left || !n)) {
		oom_emit(d, &d->oom.kills[0], NULL);
		memmove(&d->oom.kills[0], &d->oom.kills[1],
			(d->oom.n - 1) * sizeof(d->oom.kills[0]));
		d->oom.n--;
	}
}

/*
 * Files-only mode: an OOM kill is seen when memory.events.local's oom_kill
 * of its cgroup moved, at the cgroup's sweep read; an "oom" event each
 * (at most a few per read), without the victim (pid 0, no comm).
 */
static void files_oom_events(struct daemon *d, struct cg *c, uint64_t moved)
{
	struct cgp_event e = { .type = CGP_EV_OOM_KILL, .cgid = c->id, .ts_ns = mono_now_ns() };

	if (moved)
		log_info("%" PRIu64 " OOM kill(s) in %s (memory.events.local)", moved,
			 cg_display_path(c));
	for (uint64_t i = 0; i < moved && i < 8; i++) {
		json_object *o;

		page_note_event(d, &e, c);
		if (!ctl__nclients(d->ctl))
			continue;
		o = proto_event_json(&e, cg_display_path(c));
		if (o) {
			ctl__broadcast(d->ctl, e.type, o);
			json_object_put(o);
		}
	}
}

/* Files-only mode: CPU usage per second between two readings (for the
 * export ranking), and io.stat. */
static void read_files_only(struct daemon *d, struct cg *c, int fd, uint64_t prev_usec,
			    uint64_t prev_ns, uint64_t now)
{
	char buf[8192];
	int n;

	c->fig.usage_rate = 0;
	if (c->fig.usage_valid && prev_ns && now > prev_ns && c->fig.usage_usec >= prev_usec)
		c->fig.usage_rate =
			(double)(c->fig.usage_usec - prev_usec) * 1e3 / (double)(now - prev_ns);
	/* a file filling the buffer may be cut: no figure rather than a wrong one */
	n = cgfs_read_at(fd, "io.stat", buf, sizeof(buf));
	c->fig.io_stat_valid = n >= 0 && (size_t)n < sizeof(buf) - 1 &&
			       !cgfs_parse_io_stat(buf, &c->fig.io_stat);
}

int daemon_read_kernel_stats(struct daemon *d, struct cg *c)
{
	static const char *const files[PSI_RES_MAX] = { "cpu.pressure", "memory.pressure",
							"io.pressure" };
	_cleanup_close_ int fd = -1;
	char buf[512];
	bool ok = true, had_usage = c->fig.usage_valid;
	uint64_t prev_usec = c->fig.usage_usec, prev_ns = c->fig.kernel_ns, now = mono_now_ns();

	fd = open_cgroup(d, c);
	if (fd < 0)
		return fd;
	for (int i = 0; i < PSI_RES_MAX; i++)
		ok &= cgfs_read_at(fd, files[i], buf, sizeof(buf)) >= 0 &&
		      !cgfs_parse_psi(buf, &c->fig.psi[i]);
	c->fig.psi_valid = ok;
	c->fig.usage_valid = cgfs_read_at(fd, "cpu.stat", buf, sizeof(buf)) >= 0 &&
			     !cgfs_parse_cpu_usage(buf, &c->fig.usage_usec);
	if (daemon_files_only(d))
		read_files_only(d, c, fd, prev_usec, had_usage ? prev_ns : 0, now);
	/* only where the memory controller is on: the OOM attribution fallback,
	 * and the memory in use that slack counts; without BPF, the OOM kills */
	if (d->controllers & CGFS_MEMORY) {
		uint64_t moved = 0;
		const char *end;

		read_oom_kill_local(fd, c, daemon_files_only(d) ? &moved : NULL);
		if (moved)
			files_oom_events(d, c, moved);
		c->fig.memory_valid = cgfs_read_at(fd, "memory.current", buf, sizeof(buf)) >= 0 &&
				      !cgfs_parse_u64(buf, &end, &c->fig.memory_current) &&
				      (!*end || *end == '\n');
	}
	c->fig.kernel_ns = now;
	return 0;
}

int daemon_read_bpf_stats(struct daemon *d, struct cg *c)
{
	struct cgp_cg_stats st;
	uint32_t slot;
	int r;

	if (daemon_files_only(d))
		return -ENODEV;
	if (c->slot < 0) {
		if (telemetry__slot_of(d->tel, c->id, &slot))
			return -ENOENT;
		c->slot = slot;
	}
	r = telemetry__read_slot(d->tel, (uint32_t)c->slot, &st);
	if (r)
		return r;
	model_update_bpf(&c->fig, &st, mono_now_ns());
	return 0;
}

/* 6.1's mark_victim gives only a pid: find its cgroup while it is dying. */
static uint64_t cgroup_of_pid(struct daemon *d, uint32_t pid, struct cg **ret)
{
	char path[64], buf[4096];
	_cleanup_close_ int fd = -1;
	const char *p;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strstr(buf, "0::/");
	if (!p || (p != buf && p[-1] != '\n'))
		return 0;
	p += 4;
	buf[n - (buf[n - 1] == '\n')] = 0;
	p = strtok((char *)p, "\n");
	*ret = model__find_path(d->model, p ? p : "");
	return *ret ? (*ret)->id : 0;
}

/* A new cgroup whose path did not fit the event: ask the kernel by id. */
static void complete_path(struct daemon *d, struct cg *c)
{
	_cleanup_close_ int fd = cgfs_open_by_id(d->root_fd, c->id, O_RDONLY | O_DIRECTORY);

	if (fd >= 0)
		path_from_id(d, c, fd);
	/* gone already: its rmdir event follows, the partial path stays marked */
}

int observe_on_event(void *ctx, const struct cgp_event *ev)
{
	struct daemon *d = ctx;
	struct cgp_event e = *ev;
	struct cg *c;
	json_object *o;

	if (e.type == CGP_EV_OOM_KILL && !e.cgid) {
		c = NULL;
		e.cgid = cgroup_of_pid(d, e.pid, &c);
		if (!c && (d->controllers & CGFS_MEMORY)) {
			oom_queue(d, &e); /* reported once its cgroup is found */
			return ++d->batch_events >= EVENT_BUDGET ? -EAGAIN : 0;
		}
		if (c) {
			daemon_read_kernel_stats(d, c); /* keep its oom_kill baseline current */
			c->fig.oom_kills_user++;
		} else {
			log_unattributed(&e);
		}
	}
	c = model__apply_event(d->model, &e, mono_now_ns());
	if (c && c->path_partial && e.type == CGP_EV_CGROUP_MKDIR)
		complete_path(d, c);
	/* the control loops act on it before anything else is done */
	if (c && (e.type == CGP_EV_ONSET || e.type == CGP_EV_CLEARED))
		containers__on_pressure(d->ctrs, c, &e);
	page_note_event(d, &e, c);
	if (e.type == CGP_EV_ONSET || e.type == CGP_EV_CLEARED)
		log_debug("%s %s in %s: %" PRIu64 " ns (threshold %" PRIu64 ")",
			  proto_event_name(e.type), proto_signal_name(e.signal),
			  c ? cg_display_path(c) : "?", (uint64_t)e.value, (uint64_t)e.threshold);
	if (ctl__nclients(d->ctl)) {
		o = proto_event_json(&e, c ? cg_display_path(c) : NULL);
		if (o) {
			ctl__broadcast(d->ctl, e.type, o);
			json_object_put(o);
		}
	}
	/* negative: libbpf stops here, this event consumed, the rest left queued */
	return ++d->batch_events >= EVENT_BUDGET ? -EAGAIN : 0;
}

/*
 * A slot BPF gave to a cgroup the model does not know: its mkdir event was
 * dropped (ring buffer full), or it was removed while no daemon ran (the
 * pinned maps outlive us), or its rmdir came before we saw it. Ask the
 * kernel whether the id is a cgroup: adopt it, or give the slot back.
 * Returns true if a slot was released.
 */
static bool reconcile_slot(struct daemon *d, uint64_t id, uint32_t slot)
{
	_cleanup_free_ char *rel = NULL;
	_cleanup_close_ int fd = cgfs_open_by_id(d->root_fd, id, O_RDONLY | O_DIRECTORY);
	struct cg *c;
	int r;

	if (fd >= 0) {
		if (cgfs_path_of_fd(fd, d->cgroup_root, &rel) ||
		    model__add(d->model, id, rel, &c) < 0)
			return false; /* outside our root, or no memory: try again later */
		c->slot = slot;
		d->slot_stats.adopted++;
		return false;
	}
	if (fd != -ESTALE && fd != -ENOENT) {
		d->slot_stats.check_failed = fd;
		return false;
	}
	r = telemetry__release(d->tel, id, slot);
	if (r) {
		log_warn_errno(r, "Failed to release BPF slot %u of removed cgroup %" PRIu64 ": %m",
			       slot, id);
		return false;
	}
	d->slot_stats.reclaimed++;
	return true;
}

/* The BPF sweep: episodes whose window closed long ago are ended (the timer
 * missed them), a stopped window timer is started again. */
static void sweep_episodes(struct daemon *d)
{
	int m = telemetry__maintain(d->tel);

	if (m < 0)
		log_warn_errno(m, "BPF maintenance sweep failed: %m");
	else if (m)
		log_info("%d onset episode(s) ended by the sweep: the window timer missed them", m);
	if (m > 0)
		observe_consume(d); /* their cleared events, before the model is compared */
}

/*
 * An episode the model missed (its onset or cleared event lost to a full
 * ring buffer), made from the BPF window and handled as if the event had
 * come: the model, the control loops and the subscribers have it. An I/O
 * onset made so names no device (the loop keeps the one it last saw).
 */
static void catch_up(struct daemon *d, struct cg *c, uint32_t mask, const struct cgp_window *w)
{
	uint32_t was = c->active;

	log_info("pressure episodes of %s caught up from the BPF windows (0x%x -> 0x%x): an "
		 "onset or cleared event was lost to a full ring buffer",
		 cg_display_path(c), was, mask);
	for (int s = 0; s < CGP_SIG_MAX; s++) {
		bool on = mask & (1u << s);
		struct cgp_event e = {
			.type = on ? CGP_EV_ONSET : CGP_EV_CLEARED,
			.signal = (uint32_t)s,
			.ts_ns = mono_now_ns(),
			.cgid = c->id,
			.value = on ? w[s].sum_ns : w[s].last_sum_ns,
			.threshold = w[s].threshold_ns,
		};

		if (on == !!(was & (1u << s)))
			continue;
		observe_on_event(d, &e);
	}
	c->active = mask; /* a cgroup model__apply_event no longer knows: as BPF has it */
	c->win_mismatch = 0;
	d->slot_stats.episodes_resynced++;
}

/*
 * The model's episode bits follow the events; a cleared event lost to a full
 * ring buffer would leave a cgroup "in pressure" for good. Compare with the
 * BPF windows: every cgroup in an episode each tick, and every cgroup with a
 * slot when onset or cleared events were dropped. A difference is acted on
 * when the next tick still sees it. (Cgroups with a threshold are caught up
 * sooner, right after the ring buffer is drained: observe_consume.)
 */
static void resync_episodes(struct daemon *d, struct cg *const *all, unsigned n,
			    const struct cgp_self_stats *ss)
{
	uint64_t drops = ss->drops[CGP_EV_ONSET] + ss->drops[CGP_EV_CLEARED];
	bool everyone = drops != d->slot_stats.episode_drops_seen;

	d->slot_stats.episode_drops_seen = drops;
	for (unsigned i = 0; i < n; i++) {
		struct cgp_window w[CGP_SIG_MAX];
		struct cg *c = all[i];
		uint32_t mask = 0;
		uint64_t id;

		if (c->slot < 0 || (!c->active && !everyone && !c->win_mismatch))
			continue;
		if (telemetry__win(d->tel, (uint32_t)c->slot, &id, w) || id != c->id)
			continue;
		for (int s = 0; s < CGP_SIG_MAX; s++)
			mask |= w[s].active ? 1u << s : 0;
		if (mask == c->active) {
			c->win_mismatch = 0;
			continue;
		}
		/* events produced since the ring buffer was read are on their way:
		 * only a difference that lasts a whole tick is a lost event */
		if (c->win_mismatch != (mask | CG_WIN_MISMATCH)) {
			c->win_mismatch = mask | CG_WIN_MISMATCH;
			continue;
		}
		catch_up(d, c, mask, w);
	}
}

/* After a drained ring buffer that dropped onset or cleared events: the
 * cgroups with a threshold (the protected ones and the operator's) compared
 * with their windows at once, at most once a window, so that no guaranteed
 * container's onset is lost for longer than that. The ring buffer is empty:
 * a difference now is a lost event, not one on its way. */
struct fast_resync {
	struct daemon *d;
	unsigned checked, caught;
};

static int fast_one(void *ctx, uint64_t cgid, const struct cgp_threshold *th)
{
	struct fast_resync *f = ctx;
	struct cgp_window w[CGP_SIG_MAX];
	struct cg *c = model__find(f->d->model, cgid);
	uint32_t mask = 0, slot;
	uint64_t id;

	(void)th;
	if (!c || c->dead_ns)
		return 0;
	/* a slot BPF gave since the last tick (its first task ran meanwhile) */
	if (c->slot < 0 && !telemetry__slot_of(f->d->tel, cgid, &slot))
		c->slot = slot;
	if (c->slot < 0 || telemetry__win(f->d->tel, (uint32_t)c->slot, &id, w) || id != c->id)
		return 0;
	f->checked++;
	for (int s = 0; s < CGP_SIG_MAX; s++)
		mask |= w[s].active ? 1u << s : 0;
	if (mask != c->active) {
		catch_up(f->d, c, mask, w);
		f->caught++;
	}
	return 0;
}

static void fast_resync(struct daemon *d)
{
	struct cgp_self_stats ss;
	struct fast_resync f = { .d = d };
	uint64_t now, drops;

	telemetry__self_stats(d->tel, &ss);
	drops = ss.drops[CGP_EV_ONSET] + ss.drops[CGP_EV_CLEARED];
	if (drops == d->slot_stats.fast_drops_seen)
		return;
	now = mono_now_ns();
	if (now < d->slot_stats.fast_next_ns)
		return; /* the next drained batch, or the tick, looks */
	d->slot_stats.fast_drops_seen = drops;
	d->slot_stats.fast_next_ns = now + (uint64_t)d->conf.window_ms * 1000000ULL;
	d->slot_stats.fast_resyncs++;
	telemetry__dump_thresholds(d->tel, fast_one, &f);
	if (f.caught)
		log_info("ring buffer drops: %u of %u cgroups with a threshold caught up at once",
			 f.caught, f.checked);
}

void observe_consume(struct daemon *d)
{
	d->batch_events = 0;
	/* drained (the budget not hit): lost episodes of protected cgroups now */
	if (telemetry__consume(d->tel) >= 0)
		fast_resync(d);
}

struct stale_thresholds {
	struct daemon *d;
	uint64_t ids[256];
	unsigned n;
};

static int stale_threshold(void *ctx, uint64_t cgid, const struct cgp_threshold *th)
{
	struct stale_thresholds *st = ctx;
	int fd;

	if (model__find(st->d->model, cgid))
		return 0;
	fd = cgfs_open_by_id(st->d->root_fd, cgid, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (fd != -ESTALE && fd != -ENOENT)
		return 0;
	st->ids[st->n++] = cgid;
	return st->n == ARRAY_SIZE(st->ids) ? 1 : 0; /* the rest next tick */
}

/*
 * Thresholds set for cgroups that are gone (removed while no daemon ran: the
 * map is pinned) are dropped, a bounded batch per call, until none is left.
 */
static void reconcile_thresholds(struct daemon *d)
{
	struct stale_thresholds st = { .d = d };

	if (d->thresholds_clean)
		return;
	telemetry__dump_thresholds(d->tel, stale_threshold, &st);
	for (unsigned i = 0; i < st.n; i++)
		if (!telemetry__forget_threshold(d->tel, st.ids[i]))
			d->slot_stats.thresholds_dropped++;
	d->thresholds_clean = st.n < ARRAY_SIZE(st.ids);
}

#define READ_CHUNK 64
/* Cgroups retired after which the heap is trimmed, once the model is back
 * below this many (a trim during a churn would give back what the next
 * cgroups take again). */
#define TRIM_AFTER_RETIRED 1024
#define TRIM_BELOW 4096

static void read_chunk(struct daemon *d, const uint32_t *slots, unsigned n, uint64_t now)
{
	struct cgp_cg_stats st[READ_CHUNK];
	int r = telemetry__read_slots(d->tel, slots, n, st);

	for (unsigned i = 0; i < n; i++) {
		struct cg *c = d->slot_cg[slots[i]];

		d->slot_cg[slots[i]] = NULL;
		if (!r)
			model_update_bpf(&c->fig, &st[i], now);
	}
	if (r)
		log_warn_errno(r, "Failed to read the BPF counters of %u slots: %m", n);
}

/* Every cgroup's BPF counters, in slot order: neighbouring slots come in one
 * batch lookup, so 10,000 cgroups cost a few hundred syscalls, not 20,000. */
static void read_all_stats(struct daemon *d, struct cg *const *all, unsigned n, uint64_t now)
{
	uint32_t slots[READ_CHUNK];
	unsigned k = 0, read = 0;
	uint64_t t0 = mono_now_ns();

	for (unsigned i = 0; i < n; i++)
		if (all[i]->slot >= 0 && all[i]->slot < d->conf.max_cgroups)
			d->slot_cg[all[i]->slot] = all[i];
	for (uint32_t s = 0; s < d->conf.max_cgroups; s++) {
		if (!d->slot_cg[s])
			continue;
		slots[k++] = s;
		read++;
		if (k == READ_CHUNK) {
			read_chunk(d, slots, k, now);
			k = 0;
		}
	}
	if (k)
		read_chunk(d, slots, k, now);
	d->read_stats.last_ns = mono_now_ns() - t0;
	d->read_stats.last_cgroups = read;
	if (d->read_stats.last_ns > d->read_stats.max_ns)
		d->read_stats.max_ns = d->read_stats.last_ns;
}

void observe_sample(struct daemon *d)
{
	uint64_t now = mono_now_ns();
	unsigned n, per_tick, checked = 0, freed = 0;
	struct cg *const *all;
	struct cgp_self_stats ss;
	struct cg *c;
	int cnt;

	/* files-only: no mkdir events, so the tree is walked once per sweep */
	if (daemon_files_only(d) &&
	    (!d->files_walk_ns || now - d->files_walk_ns >= d->conf.psi_sweep_s * 1000000000ULL)) {
		d->files_walk_ns = now;
		rescan_start(d, true);
	}
	/* end what the window timer missed, and have its cleared events first */
	sweep_episodes(d);
	telemetry__self_stats(d->tel, &ss);
	if (ss.drops[CGP_EV_CGROUP_MKDIR] != d->slot_stats.mkdir_drops_seen) {
		d->slot_stats.mkdir_drops_seen = ss.drops[CGP_EV_CGROUP_MKDIR];
		rescan_start(d, false);
	}
	cnt = telemetry__slots(d->tel, d->slot_ids, d->slot_vals, d->conf.max_cgroups);
	d->slots_used = cnt > 0 ? (unsigned)cnt : 0;
	for (int i = 0; i < cnt; i++) {
		c = model__find(d->model, d->slot_ids[i]);
		if (c)
			c->slot = d->slot_vals[i];
		else if (checked++ < RECONCILE_BUDGET &&
			 reconcile_slot(d, d->slot_ids[i], d->slot_vals[i]))
			freed++;
	}
	d->slots_used -= freed;
	if (d->slot_stats.check_failed) {
		log_warn_errno(
			d->slot_stats.check_failed,
			"cannot check by id whether the cgroups of some BPF slots exist: %m");
		d->slot_stats.check_failed = 0;
	}
	reconcile_thresholds(d);
	all = model__all(d->model, &n);
	resync_episodes(d, all, n, &ss);
	read_all_stats(d, all, n, now);
	/* each cgroup's PSI and cpu.stat once per sweep, spread over the ticks */
	per_tick = (unsigned)(((uint64_t)n * d->conf.sample_interval_ms +
			       d->conf.psi_sweep_s * 1000ULL - 1) /
			      (d->conf.psi_sweep_s * 1000ULL));
	if (per_tick > n)
		per_tick = n; /* a sweep shorter than a tick reads each cgroup once */
	for (unsigned k = 0; k < per_tick && n; k++) {
		struct cg_figures before;
		int r;

		c = all[d->sweep_cursor++ % n];
		/* a quiet one is passed by (with BPF, which says when it stirs) */
		if (c->dead_ns || (!daemon_files_only(d) && !model_sweep_due(&c->fig)))
			continue;
		before = c->fig;
		r = daemon_read_kernel_stats(d, c);
		if (r == -ENOENT) /* gone while its rmdir event was lost */
			model__mark_dead(d->model, c, now);
		else if (!r)
			model_sweep_note(&c->fig, &before);
	}
	/* retire the dead whose grace is over: oldest first, O(1) each */
	while ((c = model__oldest_dead(d->model, now - DEAD_GRACE_NS))) {
		if (c->slot >= 0 && telemetry__release(d->tel, c->id, (uint32_t)c->slot))
			log_warn("Failed to release BPF slot %" PRId64 " of %s", c->slot,
				 cg_display_path(c));
		model__remove(d->model, c->id);
		d->retired_since_trim++;
	}
	/* after a wave of short-lived cgroups, give their memory back: malloc
	 * keeps what it freed, so the peak of a churn would stay resident. Pages
	 * locked by mlockall() cannot be dropped (MADV_DONTNEED refuses them):
	 * unlock, trim, lock again what is touched from now on. */
	if (d->retired_since_trim >= TRIM_AFTER_RETIRED && model__count(d->model) < TRIM_BELOW) {
		bool locked = !munlockall();

		malloc_trim(0);
		if (locked && mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT))
			log_warn_errno(errno, "mlockall failed after a trim: %m");
		d->retired_since_trim = 0;
	}
	export_update(d, now);
	page_tick(d);
}
