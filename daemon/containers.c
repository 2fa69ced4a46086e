// SPDX-License-Identifier: Apache-2.0
/*
 * Containers: the books, placement and lifecycle around the pure decisions.
 * Every cgroup write goes through the actuator (ctr_apply); every decision
 * that is not a syscall lives in policy/.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "ctr_internal.h"
#include "daemon.h"
#include "log.h"
#include "proto.h"
#include "util.h"

static const char *const kind_names[CTR_KIND_MAX] = { "launched", "runtime", "adopted" };
static const char *const state_names[CTR_STATE_MAX] = { "queued", "admitted", "running" };
static const char *const refusal_names[REFUSE_MAX] = {
	"invalid", "cpu", "memory", "exclusive", "slack", "controller", "limit", "cgroup", "state",
};

const char *ctr_kind_name(enum ctr_kind k)
{
	return k < CTR_KIND_MAX ? kind_names[k] : "?";
}

const char *ctr_state_name(enum ctr_state s)
{
	return s < CTR_STATE_MAX ? state_names[s] : "?";
}

const char *ctr_refusal_name(enum ctr_refusal r)
{
	return r < REFUSE_MAX ? refusal_names[r] : "?";
}

static unsigned hash_id(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (unsigned)(id & (CTR_BUCKETS - 1));
}

/* The links of a container, behind it in the same allocation: the list's
 * back pointer and the chains of the two hashes (10,000 containers make
 * chains of about 2 in 4,096 buckets). */
struct ctr_links {
	struct container *id_next, *cg_next;
	struct container *prev; /* in c->list (NULL: the head) */
	struct container *path_next;
};

static struct ctr_links *links(struct container *k)
{
	return (struct ctr_links *)(k + 1);
}

/* FNV-1a over the path, seeded: adopted cgroups' names are chosen by users. */
static unsigned hash_path(const struct containers *c, const char *p)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ c->path_seed;

	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	return hash_id(h);
}

static void link_path(struct containers *c, struct container *k)
{
	unsigned b;

	if (!k->path)
		return;
	b = hash_path(c, k->path);
	links(k)->path_next = c->by_path[b];
	c->by_path[b] = k;
}

static void unlink_path(struct containers *c, struct container *k)
{
	struct container **pp;

	if (!k->path)
		return;
	for (pp = &c->by_path[hash_path(c, k->path)]; *pp; pp = &links(*pp)->path_next) {
		if (*pp == k) {
			*pp = links(k)->path_next;
			break;
		}
	}
}

void ctr_set_path(struct containers *c, struct container *k, char *path)
{
	unlink_path(c, k);
	free(k->path);
	k->path = path;
	link_path(c, k);
}

struct container *ctr_find_path(struct containers *c, const char *path)
{
	struct container *k;

	for (k = c->by_path[hash_path(c, path)]; k; k = links(k)->path_next)
		if (streq(k->path, path))
			return k;
	return NULL;
}

struct container *ctr_alloc(struct containers *c)
{
	struct container *k = calloc(1, sizeof(*k) + sizeof(struct ctr_links));

	if (!k)
		return NULL;
	/* its own ring size: a reload may change [audit] history, and the ring
	 * is allocated on its first action */
	k->hist_cap = c->d->conf.history;
	k->id = c->next_id++;
	k->memhigh.high = MEMHIGH_MAX; /* a new cgroup's memory.high */
	k->guard_high = MEMHIGH_MAX;
	return k;
}

void ctr_free_one(struct container *k)
{
	if (!k)
		return;
	free(k->path);
	topo_cpuset_free(&k->cpus);
	topo_cpuset_free(&k->mems);
	topo_cpuset_free(&k->pinned);
	free(k->history);
	free(k);
}

void ctr_link(struct containers *c, struct container *k)
{
	unsigned b = hash_id(k->id);

	k->next = c->list;
	links(k)->prev = NULL;
	if (c->list)
		links(c->list)->prev = k;
	c->list = k;
	links(k)->id_next = c->by_id[b];
	c->by_id[b] = k;
	link_path(c, k);
	if (k->cgroup_id) {
		b = hash_id(k->cgroup_id);
		links(k)->cg_next = c->by_cg[b];
		c->by_cg[b] = k;
	}
	c->n++;
	c->nadopted += k->kind == CTR_ADOPTED;
	if (k->state != CTR_QUEUED)
		c->stats.count[k->kind][k->class]++;
}

static void unlink_cg(struct containers *c, struct container *k)
{
	struct container **pp;

	if (!k->cgroup_id)
		return;
	for (pp = &c->by_cg[hash_id(k->cgroup_id)]; *pp; pp = &links(*pp)->cg_next) {
		if (*pp == k) {
			*pp = links(k)->cg_next;
			break;
		}
	}
}

void ctr_unlink(struct containers *c, struct container *k)
{
	if (k->degraded[0] && c->stats.ndegraded)
		c->stats.ndegraded--;
	struct container **pp;

	if (k->owner) {
		k->owner = NULL;
		c->owned--;
	}
	/* O(1): a node with 10,000 containers releases them often */
	if (links(k)->prev)
		links(k)->prev->next = k->next;
	else if (c->list == k)
		c->list = k->next;
	if (k->next)
		links(k->next)->prev = links(k)->prev;
	k->next = links(k)->prev = NULL;
	for (pp = &c->by_id[hash_id(k->id)]; *pp; pp = &links(*pp)->id_next) {
		if (*pp == k) {
			*pp = links(k)->id_next;
			break;
		}
	}
	unlink_cg(c, k);
	unlink_path(c, k);
	c->n--;
	c->nadopted -= k->kind == CTR_ADOPTED;
	if (k->state != CTR_QUEUED && c->stats.count[k->kind][k->class])
		c->stats.count[k->kind][k->class]--;
	if (c->current == k)
		c->current = NULL;
}

void ctr_set_cgroup(struct containers *c, struct container *k, uint64_t cgroup_id)
{
	unsigned b;

	unlink_cg(c, k);
	k->cgroup_id = cgroup_id;
	if (!cgroup_id)
		return;
	b = hash_id(cgroup_id);
	links(k)->cg_next = c->by_cg[b];
	c->by_cg[b] = k;
}

struct container *containers__find(struct containers *c, uint64_t id)
{
	struct container *k;

	for (k = c->by_id[hash_id(id)]; k; k = links(k)->id_next)
		if (k->id == id)
			return k;
	return NULL;
}

struct container *containers__find_cgroup(struct containers *c, uint64_t cgroup_id)
{
	struct container *k;

	if (!cgroup_id)
		return NULL;
	for (k = c->by_cg[hash_id(cgroup_id)]; k; k = links(k)->cg_next)
		if (k->cgroup_id == cgroup_id)
			return k;
	return NULL;
}

const struct ctr_stats *containers__stats(struct containers *c)
{
	c->stats.waiting = c->drf.n;
	return &c->stats;
}

const struct admit_books *containers__books(struct containers *c)
{
	return &c->books;
}

/* ---- placement and knobs ---- */

int ctr_cpuset_copy(struct topo_cpuset *dst, const struct topo_cpuset *src)
{
	topo_cpuset_free(dst);
	if (!src->n)
		return 0;
	dst->cpu = malloc(src->n * sizeof(*dst->cpu));
	if (!dst->cpu)
		return -ENOMEM;
	memcpy(dst->cpu, src->cpu, src->n * sizeof(*dst->cpu));
	dst->n = src->n;
	return 0;
}

unsigned ctr_exclusive_size(const struct containers *c, enum cgp_class class,
			    const struct res_spec *spec)
{
	if (!c->pool_ok || !class_exclusive(class, spec))
		return 0;
	return place_exclusive_size(&c->pool, (unsigned)(spec->cpu_request_mc / CGP_MILLI));
}

/* The cpuset a container is to have: its own CPUs, or the shared pool. */
static int target_cpus(struct containers *c, const struct container *k, char *buf, size_t len)
{
	struct topo_cpuset s = { 0 };
	int r;

	if (k->exclusive)
		return topo_format_cpulist(&k->cpus, buf, len);
	r = place_cpus_of(&c->pool, 0, &s);
	/* the ladder's cpuset rung: one CPU of the pool alone, the one chosen
	 * where protected work waited least (ctr_control.c) while the pool
	 * still has it, else its last */
	if (!r && k->ladder.rung >= RUNG_CPUSET && s.n > 1) {
		unsigned pick = s.cpu[s.n - 1];

		for (unsigned i = 0; i < s.n && k->squeeze_cpu1; i++)
			if (s.cpu[i] == k->squeeze_cpu1 - 1)
				pick = s.cpu[i];
		s.cpu[0] = pick;
		s.n = 1;
	}
	if (r)
		return r;
	r = topo_format_cpulist(&s, buf, len);
	topo_cpuset_free(&s);
	return r;
}

static void plan_add(struct ctr_plan *p, const char *knob, const char *value)
{
	if (p->n < ACT_WRITES_MAX)
		p->w[p->n++] = (struct act_write){ .knob = knob, .value = value };
}

int ctr_plan_knobs(struct containers *c, const struct container *k, struct ctr_plan *p,
		   char *unenforced, size_t ulen)
{
	unsigned on = c->enforce;
	size_t off = 0;

	memset(p, 0, sizeof(*p));
	class_knobs(k->class, &k->spec, &p->kn);
	ctr_ladder_knobs(c, k, &p->kn);
	unenforced[0] = 0;
#define SKIP(name)                                                                             \
	do {                                                                                   \
		int w_ = snprintf(unenforced + off, ulen - off, "%s%s", off ? " " : "", name); \
		if (w_ > 0 && (size_t)w_ < ulen - off)                                         \
			off += (size_t)w_;                                                     \
	} while (0)
	if (c->pool_ok && (on & CGFS_CPUSET)) {
		/* an empty or unwritable set would give it every CPU, the
		 * exclusive ones too: no plan rather than that */
		if (target_cpus(c, k, p->cpus, sizeof(p->cpus)) || !p->cpus[0])
			return -ENOSPC;
		plan_add(p, "cpuset.cpus", p->cpus);
		if (k->mems.n) {
			if (topo_format_cpulist(&k->mems, p->mems, sizeof(p->mems)))
				return -ENOSPC;
			plan_add(p, "cpuset.mems", p->mems);
		}
	} else if (k->exclusive) {
		SKIP("cpuset.cpus");
	}
	if (on & CGFS_CPU) {
		plan_add(p, "cpu.weight", p->kn.cpu_weight);
		plan_add(p, "cpu.max", p->kn.cpu_max);
	} else {
		SKIP("cpu.weight");
	}
	if (on & CGFS_MEMORY) {
		if (k->class == CGP_CLASS_GUARANTEED)
			plan_add(p, "memory.min", p->kn.memory_min);
		else
			plan_add(p, "memory.low", p->kn.memory_low);
		plan_add(p, "memory.max", p->kn.memory_max);
	} else if (k->spec.mem_request) {
		SKIP(k->class == CGP_CLASS_GUARANTEED ? "memory.min" : "memory.low");
	}
	if (on & CGFS_IO)
		plan_add(p, "io.weight", p->kn.io_weight);
	else
		SKIP("io.weight");
#undef SKIP
	return 0;
}

/*
 * Limits a missing controller cannot enforce: the request is refused, the
 * controller named. Requests alone (weights, protection) are admitted and
 * listed as not enforced.
 */
int ctr_check_enforceable(const struct containers *c, enum cgp_class class,
			  const struct res_spec *spec, unsigned exclusive, char *why, size_t whylen)
{
	const char *knob = NULL, *ctrl = NULL;

	if (spec->cpu_limit_mc && !(c->enforce & CGFS_CPU))
		knob = "a CPU limit (cpu.max)", ctrl = "cpu";
	else if (spec->mem_limit && !(c->enforce & CGFS_MEMORY))
		knob = "a memory limit (memory.max)", ctrl = "memory";
	else if (exclusive && !(c->enforce & CGFS_CPUSET))
		knob = "exclusive CPUs (cpuset.cpus)", ctrl = "cpuset";
	if (!knob)
		return 0;
	snprintf(why, whylen,
		 "%s container: %s needs the %s controller, which the cgroup v2 root %s does "
		 "not offer (node show lists what is enforceable)",
		 class_name(class), knob, ctrl, c->d->cgroup_root);
	return -EOPNOTSUPP;
}

bool below_own(const struct containers *c, const char *path)
{
	return cgfs_path_below(c->root, path) ||
	       (c->d->own_cgroup && cgfs_path_below(c->d->own_cgroup, path));
}

/* Is the process @pid (pinned by @pidfd) in @path or below it? */
static bool in_cgroup(pid_t pid, const char *path)
{
	char file[64], buf[4096];
	_cleanup_close_ int fd = -1;
	ssize_t n;
	size_t len = strlen(path);
	const char *p;

	snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = 0;
	/* the v2 line: "0::/PATH" */
	p = strstr(buf, "0::/");
	if (!p || (p != buf && p[-1] != '\n'))
		return false;
	p += 4;
	return !strncmp(p, path, len) && (p[len] == '\n' || p[len] == '/' || !p[len]);
}

static bool signal_member(const struct container *k, pid_t pid, int sig)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pidfd < 0 || !in_cgroup(pid, k->path))
		return false;
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0;
}

int ctr_signal(struct containers *c, struct container *k, int sig, const char *reason)
{
	_cleanup_close_ int dfd = act_open_cgroup(&c->act, k->path);
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	struct stat st;
	uint64_t pid;
	int n = 0, fd;

	if (dfd < 0)
		return dfd;
	if (fstat(dfd, &st))
		return -errno;
	if (st.st_ino != k->cgroup_id)
		return -ESTALE;
	/* cgroup.procs of a cgroup we manage, read whole however many pids it
	 * lists; each pid is pinned with a pidfd and signalled only if that
	 * process is still in the container (a pid that exited between the
	 * read and the signal may name another process by then) */
	fd = openat(dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return -errno;
	}
	while (getline(&line, &cap, f) > 0)
		if (!cgfs_parse_u64(line, NULL, &pid) && pid > 0 && pid <= INT32_MAX &&
		    signal_member(k, (pid_t)pid, sig))
			n++;
	log_info("signal %d sent to %d processes of %s (%s)", sig, n, k->path, reason);
	return n;
}

/*
 * Move every shared container from the pool @from to the pool as it is now.
 * Returns how many live containers could not be written (a cgroup gone
 * meanwhile does not count).
 */
static unsigned rebalance(struct containers *c, const struct topo_cpuset *from, const char *reason)
{
	unsigned failed = 0;
	struct topo_cpuset to = { 0 };
	struct place_change *ch = NULL;
	struct place_write *w = NULL;
	struct container **who = NULL;
	unsigned n = 0, nw;

	if (!c->pool_ok || !(c->enforce & CGFS_CPUSET) || place_cpus_of(&c->pool, 0, &to))
		return 0;
	for (struct container *k = c->list; k; k = k->next)
		n += k->kind != CTR_ADOPTED && !k->exclusive && k->cgroup_id && !k->dry;
	if (!n)
		goto out;
	ch = calloc(n, sizeof(*ch));
	w = calloc(2 * (size_t)n, sizeof(*w));
	who = calloc(n, sizeof(*who));
	if (!ch || !w || !who) {
		log_error("out of memory rebalancing the shared CPU pool");
		failed = n;
		goto out;
	}
	n = 0;
	for (struct container *k = c->list; k; k = k->next) {
		if (k->kind == CTR_ADOPTED || k->exclusive || !k->cgroup_id || k->dry)
			continue;
		/* on the ladder's cpuset rung: its one CPU of the new pool, first
		 * (a CPU the pool still has: always valid) */
		if (k->ladder.rung >= RUNG_CPUSET) {
			char buf[ACT_VALUE_MAX];
			struct act_write aw = { .knob = "cpuset.cpus", .value = buf };
			struct act_result res;
			int r = target_cpus(c, k, buf, sizeof(buf));

			if (!r)
				r = ctr_apply(c, k, &aw, 1, reason, &res);
			if (r && r != -ESTALE && r != -ENOENT)
				failed++;
			continue;
		}
		who[n] = k;
		ch[n] = (struct place_change){ .key = n, .from = from, .to = &to };
		n++;
	}
	nw = place_plan(ch, n, w);
	for (unsigned i = 0; i < nw; i++) {
		char buf[ACT_VALUE_MAX];
		struct act_write aw = { .knob = "cpuset.cpus", .value = buf };
		struct act_result res;

		int r;

		if (topo_format_cpulist(&w[i].set, buf, sizeof(buf))) {
			failed++;
			continue;
		}
		r = ctr_apply(c, who[w[i].key], &aw, 1, reason, &res);
		if (r && r != -ESTALE && r != -ENOENT)
			failed++;
	}
	place_writes_free(w, nw);
out:
	free(ch);
	free(w);
	free(who);
	topo_cpuset_free(&to);
	return failed;
}

/* ---- admission ---- */

/*
 * Parents that exist and whose ancestors' subtree_control was seen to hold
 * the controllers: each admission below them would otherwise open every
 * ancestor and read its file again. Forgotten when a write below them fails
 * or one is found gone.
 */
static bool parent_ready(struct containers *c, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	for (unsigned i = 0; i < c->nparents; i++)
		if (strlen(c->parents[i]) == n && !strncmp(c->parents[i], path, n))
			return true;
	return false;
}

static void remember_parent(struct containers *c, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash || c->nparents == ARRAY_SIZE(c->parents))
		return;
	c->parents[c->nparents] = strndup(path, (size_t)(slash - path));
	if (c->parents[c->nparents])
		c->nparents++;
}

static void forget_parents(struct containers *c)
{
	while (c->nparents)
		free(c->parents[--c->nparents]);
}

/* A cgroup that could not become @k's: the runtime's again if it was taken
 * over (cgpilot-run can still remove it), else removed. */
static void unmake_cgroup(struct containers *c, struct container *k, uint64_t id, const char *owner)
{
	if (k->take_over) {
		int back = -1;

		act_take_over(&c->act, k->path, id, owner, ACT_OWNER_UNADMITTED, &back);
		if (back >= 0)
			close(back);
	} else {
		forget_parents(c);
		act_rmdir(&c->act, k->path, id, owner);
	}
	ctr_set_cgroup(c, k, 0);
}

static int make_cgroup(struct containers *c, struct container *k, const char *reason, char *why,
		       size_t whylen)
{
	char owner[64], unenf[sizeof(k->unenforced)];
	_cleanup_close_ int fd = -1;
	struct ctr_plan p;
	struct act_result res;
	uint64_t id = 0;
	int r;

	snprintf(owner, sizeof(owner), CTR_OWNER ":%" PRIu64, k->id);
	if (k->take_over) {
		/* made by cgpilot-run while the daemon was away: the cgroup is
		 * there with its processes; it becomes the daemon's, with the
		 * controllers the daemon's containers have (cpuset too) */
		if (c->enforce && !c->act.dry_run) {
			r = act_enable_controllers(&c->act, k->path, c->enforce, &c->undo,
						   "controllers for managed containers", &res);
			if (r) {
				snprintf(why, whylen, "%s", res.msg);
				return r;
			}
		}
		r = act_take_over(&c->act, k->path, k->take_over_id, ACT_OWNER_UNADMITTED, owner,
				  &fd);
		if (r) {
			snprintf(why, whylen, "cannot take over cgroup %s: %s", k->path,
				 strerror(-r));
			return r;
		}
		id = k->take_over_id;
		goto made;
	}
	/* below parents made and enabled before, straight to the leaf; one
	 * removed since (ENOENT) is made again the long way */
	r = -ENOENT;
	if (!c->act.dry_run && parent_ready(c, k->path)) {
		r = act_mkdir_open(&c->act, k->path, owner, &id, &fd);
		if (r == -ENOENT)
			forget_parents(c);
	}
	if (r == -ENOENT) {
		r = act_mkdir_parents(&c->act, k->path, CTR_OWNER);
		if (r) {
			snprintf(why, whylen, "cannot create the parents of cgroup %s: %s", k->path,
				 strerror(-r));
			return r;
		}
		/* in dry run the parents were not made: nothing to enable them in */
		if (c->enforce && !c->act.dry_run) {
			r = act_enable_controllers(&c->act, k->path, c->enforce, &c->undo,
						   "controllers for managed containers", &res);
			if (r) {
				snprintf(why, whylen, "%s", res.msg);
				return r;
			}
		}
		r = act_mkdir_open(&c->act, k->path, owner, &id, &fd);
		if (!r && !c->act.dry_run)
			remember_parent(c, k->path);
	}
	if (r) {
		snprintf(why, whylen, "cannot create cgroup %s: %s", k->path,
			 r == -EEXIST ? "it exists already" : strerror(-r));
		return r;
	}
made:
	ctr_set_cgroup(c, k, id);
	k->dry = c->act.dry_run;
	if (ctr_plan_knobs(c, k, &p, unenf, sizeof(unenf))) {
		snprintf(why, whylen,
			 "cgroup %s: its cpuset (the shared pool or its CPUs) is empty "
			 "or too long to write",
			 k->path);
		unmake_cgroup(c, k, id, owner);
		return -ENOSPC;
	}
	snprintf(k->unenforced, sizeof(k->unenforced), "%s", unenf);
	if (k->dry) {
		/* nothing was made: say what would have been written */
		for (unsigned i = 0; i < p.n; i++) {
			struct act_record rec = {
				.time_ns = 0,
				.path = k->path,
				.id = 0,
				.knob = p.w[i].knob,
				.old_value = "",
				.new_value = p.w[i].value,
				.reason = reason,
				.status = ACT_DRY_RUN,
			};
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			rec.time_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
			c->current = k;
			ctr_on_record(c, &rec);
			c->current = NULL;
		}
		ctr_audit_flush(c);
		return 0;
	}
	k->fresh = !k->take_over;
	r = p.n ? ctr_apply_to(c, k, p.w, p.n, &fd, reason, &res) : 0;
	k->fresh = false;
	if (r) {
		snprintf(why, whylen, "%s", res.msg);
		unmake_cgroup(c, k, id, owner);
	}
	if (!r)
		ctr_test_stop("mkdir");
	return r;
}

int ctr_place_exclusive(struct containers *c, struct container *k, char *why, size_t whylen)
{
	struct topo_cpuset old_pool = { 0 };
	int r;

	if (place_cpus_of(&c->pool, 0, &old_pool))
		return -ENOMEM;
	if (k->pinned.n) {
		/* the engine's own choice: exactly those, or not at all */
		r = place_assign(&c->pool, k->id, &k->pinned);
		if (!r && ctr_cpuset_copy(&k->cpus, &k->pinned))
			r = -ENOMEM;
		if (r) {
			char list[256];

			if (topo_format_cpulist(&k->pinned, list, sizeof(list)))
				list[0] = 0;
			snprintf(why, whylen, "cpu: the engine's CPUs %s are %s", list,
				 r == -EBUSY ? "not all in the shared pool (exclusive to another "
					       "container)" :
					       "not all allocatable (reserved, offline or absent)");
			place_release(&c->pool, k->id);
			topo_cpuset_free(&old_pool);
			return r == -EBUSY ? -ENOSPC : r;
		}
	} else {
		r = place_exclusive(&c->pool, k->id, (unsigned)(k->spec.cpu_request_mc / CGP_MILLI),
				    &k->cpus, why, whylen);
		if (r) {
			topo_cpuset_free(&old_pool);
			return r;
		}
	}
	place_mems_of(c->d->topo, &k->cpus, &k->mems);
	/* the CPUs leave the shared containers before the new one has them;
	 * if one cannot give them up, the new one does not get them */
	if (rebalance(c, &old_pool, "exclusive CPUs for a guaranteed container")) {
		ctr_unplace_exclusive(c, k,
				      "exclusive CPUs returned (a shared container kept them)");
		topo_cpuset_free(&old_pool);
		snprintf(why, whylen,
			 "exclusive CPUs: a shared container's cpuset could not be shrunk "
			 "(see the log); nothing given");
		return -EBUSY;
	}
	topo_cpuset_free(&old_pool);
	return 0;
}

void ctr_unplace_exclusive(struct containers *c, struct container *k, const char *reason)
{
	struct topo_cpuset mid = { 0 };

	place_cpus_of(&c->pool, 0, &mid);
	place_release(&c->pool, k->id);
	topo_cpuset_free(&k->cpus);
	topo_cpuset_free(&k->mems);
	rebalance(c, &mid, reason);
	topo_cpuset_free(&mid);
}

void ctr_book(struct containers *c, struct container *k)
{
	struct res_vec rv = { k->spec.cpu_request_mc, k->spec.mem_request };

	admit_book(&c->books, k->class, &k->spec, k->exclusive);
	drf_charge(&c->drf, k->tenant, &rv);
	k->booked = true;
}

int ctr_admit_now(struct containers *c, struct container *k, char *why, size_t whylen,
		  enum ctr_refusal *ret_reason)
{
	char reason[160];
	enum admit_verdict v;
	enum ctr_state old_state = k->state;
	int r;

	/* what a caller is told must survive a kill -9: not without a state */
	r = ctr_state_check(c, why, whylen);
	if (r) {
		*ret_reason = REFUSE_STATE;
		return r;
	}
	v = admit_decide(&c->books, k->class, &k->spec, k->exclusive, why, whylen);
	if (v != ADMIT_FITS) {
		*ret_reason = k->class == CGP_CLASS_BESTEFFORT ? REFUSE_SLACK :
			      strncmp(why, "memory", 6)	       ? REFUSE_CPU :
								 REFUSE_MEMORY;
		return v == ADMIT_NEVER ? -E2BIG : -ENOSPC;
	}
	if (k->exclusive) {
		r = ctr_place_exclusive(c, k, why, whylen);
		if (r) {
			*ret_reason = r == -EBUSY ? REFUSE_CGROUP : REFUSE_EXCLUSIVE;
			return r;
		}
	}
	snprintf(reason, sizeof(reason),
		 "admitted %s container %" PRIu64 " (cpu request %" PRIu64 " mc, memory %" PRIu64
		 " bytes)",
		 class_name(k->class), k->id, k->spec.cpu_request_mc, k->spec.mem_request);
	r = make_cgroup(c, k, reason, why, whylen);
	if (r) {
		if (k->exclusive)
			ctr_unplace_exclusive(c, k, "exclusive CPUs returned (admission failed)");
		*ret_reason = REFUSE_CGROUP;
		return r;
	}
	k->state = CTR_ADMITTED;
	r = ctr_state_put(c, k);
	if (r) {
		/* not in the state: as if never made, and the caller told so */
		char owner[64];

		snprintf(owner, sizeof(owner), CTR_OWNER ":%" PRIu64, k->id);
		k->state = old_state;
		unmake_cgroup(c, k, k->cgroup_id, owner);
		if (k->exclusive)
			ctr_unplace_exclusive(c, k, "exclusive CPUs returned (admission failed)");
		ctr_state_check(c, why, whylen);
		*ret_reason = REFUSE_STATE;
		return r;
	}
	ctr_book(c, k);
	if (old_state == CTR_QUEUED)
		c->stats.count[k->kind][k->class]++;
	k->admitted_ns = mono_now_ns();
	k->deadline_ns = k->admitted_ns + (uint64_t)c->d->conf.start_deadline_s * 1000000000ULL;
	c->stats.admitted[k->class]++;
	if (ctr_protected(k))
		ctr_protect(c, k->path);
	ctr_control_admitted(c, k);
	log_info("container %" PRIu64 " (%s) admitted: %s %s at %s%s%s%s%s", k->id, k->name,
		 class_name(k->class), ctr_kind_name(k->kind), k->path,
		 k->unenforced[0] ? "; not enforced (no controller): " : "", k->unenforced,
		 k->degraded[0] ? "; degraded: " : "", k->degraded);
	return 0;
}

void ctr_unbook(struct containers *c, struct container *k)
{
	struct res_vec rv = { k->spec.cpu_request_mc, k->spec.mem_request };
	struct topo_cpuset mid = { 0 };

	if (!k->booked)
		return;
	admit_unbook(&c->books, k->class, &k->spec, k->exclusive);
	drf_refund(&c->drf, k->tenant, &rv);
	k->booked = false;
	if (k->exclusive && c->pool_ok && !place_cpus_of(&c->pool, 0, &mid)) {
		place_release(&c->pool, k->id);
		/* the container's cgroup is gone (or going): the pool grows after */
		rebalance(c, &mid, "exclusive CPUs returned to the shared pool");
		topo_cpuset_free(&mid);
	}
}

void ctr_forget(struct containers *c, struct container *k)
{
	_cleanup_free_ char *path = ctr_protected(k) ? strdup(k->path) : NULL;

	if (k->kind != CTR_ADOPTED)
		ctr_state_del(c, k->id);
	else
		ctr_state_forget(c, k);
	ctr_control_forget(c, k);
	ctr_unbook(c, k);
	ctr_unlink(c, k);
	ctr_free_one(k);
	/* the ancestors' protection without it */
	if (path)
		ctr_protect(c, path);
}

static void reply_waiter(struct container *k, json_object *o)
{
	struct ctl_client *cl = k->waiter;

	k->waiter = NULL;
	if (cl)
		ctl_client__reply(cl, o);
	else
		json_object_put(o);
}

/* The parents cgpilot made for a runtime container (tagged CTR_OWNER, the
 * engine root too if it made it), once empty; one that is not ours or not
 * empty stops it. */
static void remove_made_parents(struct containers *c, const char *path)
{
	_cleanup_free_ char *p = strdup(path);
	char *slash;

	while (p && (slash = strrchr(p, '/'))) {
		*slash = 0;
		/* made by the daemon, or by cgpilot-run for a container the
		 * daemon took over later */
		if (act_rmdir(&c->act, p, 0, CTR_OWNER) && act_rmdir(&c->act, p, 0, CTR_RUN_OWNER))
			return;
	}
}

int ctr_release(struct containers *c, struct container *k, const char *reason, bool kill)
{
	char owner[64];
	int r;

	if (k->state == CTR_QUEUED) {
		drf_remove(&c->drf, k->id);
		if (k->waiter) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "error", json_object_new_string(reason));
			reply_waiter(k, o);
		}
		ctr_unlink(c, k);
		ctr_free_one(k);
		return 0;
	}
	if (k->kind == CTR_ADOPTED) {
		log_info("container %" PRIu64 " (%s): no longer managed: %s", k->id, k->path,
			 reason);
		/* its scheduler gets back what the loops took */
		ctr_control_unsqueeze(c, k, reason);
		ctr_io_unsqueeze(c, k, reason);
		ctr_memory_unsqueeze(c, k, reason);
		ctr_forget(c, k);
		return 0;
	}
	snprintf(owner, sizeof(owner), CTR_OWNER ":%" PRIu64, k->id);
	r = k->dry ? 0 : act_rmdir_tree(&c->act, k->path, k->cgroup_id, owner);
	if (r == -EBUSY && kill) {
		struct act_write w = { .knob = "cgroup.kill", .value = "1" };
		struct act_result res;

		r = ctr_apply(c, k, &w, 1, reason, &res);
		if (r && r != -ESTALE)
			return r;
		k->releasing = true;
		ctr_state_put(c, k);
		return -EINPROGRESS;
	}
	if (r && r != -ESTALE && r != -ENOENT)
		return r;
	if (k->kind == CTR_RUNTIME && !k->dry)
		remove_made_parents(c, k->path);
	log_info("container %" PRIu64 " (%s) released: %s", k->id, k->path, reason);
	c->stats.released++;
	ctr_forget(c, k);
	return 0;
}

/* Admit @k from the queue, or drop it for good (its cgroup could not be
 * made); true if it left the queue. */
static bool serve_one(struct containers *c, struct container *k)
{
	enum ctr_refusal why_r;
	char why[512];
	json_object *o;

	if (ctr_admit_now(c, k, why, sizeof(why), &why_r)) {
		if (why_r != REFUSE_CGROUP)
			return false; /* does not fit yet: it keeps its place */
		c->stats.refused[why_r]++;
		o = json_object_new_object();
		json_object_object_add(o, "error", json_object_new_string(why));
		drf_remove(&c->drf, k->id);
		reply_waiter(k, o);
		ctr_unlink(c, k);
		ctr_free_one(k);
		return true;
	}
	drf_remove(&c->drf, k->id);
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(true));
	json_object_object_add(o, "container", ctr_json(c, k, false));
	reply_waiter(k, o);
	return true;
}

/*
 * Try the queue in DRF order, admitting what fits now. The order is taken
 * again after each admission (the admitted tenant's share grew), at most
 * 64 admissions per call so that a long queue does not hold up the loop.
 */
void ctr_serve_queue(struct containers *c, uint64_t now_ns)
{
	for (unsigned round = 0; round < 64 && c->drf.n; round++) {
		unsigned *order = calloc(c->drf.n, sizeof(*order)), n;
		bool moved = false;

		if (!order)
			return;
		n = drf_order(&c->drf, &c->books.alloc, order, c->drf.n);
		for (unsigned i = 0; i < n && !moved; i++) {
			struct container *k = containers__find(c, c->drf.q[order[i]].id);

			if (k && k->state == CTR_QUEUED)
				moved = serve_one(c, k);
		}
		free(order);
		if (!moved)
			break;
	}
	ctr_replace_degraded(c, now_ns);
}

/* ---- setup ---- */

static void model_live(void *ud, const struct cg *cg)
{
	containers__cgroup_added(ud, cg);
}

static void model_dead(void *ud, const struct cg *cg)
{
	containers__cgroup_removed(ud, cg->id);
}

static int split_words(const char *text, char ***ret, unsigned *ret_n)
{
	char **v = NULL;
	unsigned n = 0;

	while (*text) {
		size_t len;
		char **nv;

		text += strspn(text, " \t");
		len = strcspn(text, " \t");
		if (!len)
			break;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv)
			goto oom;
		v = nv;
		v[n] = strndup(text, len);
		if (!v[n])
			goto oom;
		n++;
		text += len;
	}
	*ret = v;
	*ret_n = n;
	return 0;
oom:
	while (n)
		free(v[--n]);
	free(v);
	return -ENOMEM;
}

/*
 * The containers taken back from the state file get their knobs again, as
 * this configuration and placement decide (a container whose exclusive CPUs
 * were not free any more shares the pool now): a value already in place is
 * not written (act_apply), so a plain restart writes nothing.
 */
static void reapply(struct containers *c)
{
	for (struct container *k = c->list; k; k = k->next) {
		char unenf[sizeof(k->unenforced)];
		struct act_result res;
		struct ctr_plan p;

		if (k->kind == CTR_ADOPTED || k->state == CTR_QUEUED || !k->cgroup_id)
			continue;
		if (ctr_plan_knobs(c, k, &p, unenf, sizeof(unenf))) {
			log_warn("container %" PRIu64 " (%s): its cpuset does not fit a value; "
				 "left as it is",
				 k->id, k->path);
			continue;
		}
		snprintf(k->unenforced, sizeof(k->unenforced), "%s", unenf);
		if (p.n &&
		    ctr_apply(c, k, p.w, p.n, "restart: the container's decided values", &res))
			log_warn("container %" PRIu64 ": %s", k->id, res.msg);
	}
	for (struct container *k = c->list; k; k = k->next) {
		if (ctr_protected(k))
			ctr_protect(c, k->path);
		if (k->kind != CTR_ADOPTED && k->state != CTR_QUEUED)
			ctr_memory_adopt(c, k);
	}
}

/* The container root: configured, or beside our own leaf (auto). */
static char *pick_root(struct daemon *d)
{
	const char *want = d->conf.container_root;
	char *norm = NULL, *slash;

	if (strcmp(want, "auto")) {
		if (cgfs_normalize_path(want, &norm, NULL))
			return NULL;
		return norm;
	}
	if (d->own_cgroup && (slash = strrchr(d->own_cgroup, '/')))
		return strndup(d->own_cgroup, (size_t)(slash - d->own_cgroup));
	return strdup("cgpilot.slice");
}

static int load_patterns(struct containers *c)
{
	const struct cgp_conf *conf = &c->d->conf;
	char err[256], **presets = NULL;
	unsigned np = 0;
	int r = 0;

	if (split_words(conf->adopt_presets, &presets, &np))
		return -ENOMEM;
	for (unsigned i = 0; i < conf->npatterns; i++) {
		const struct cgp_conf_pattern *cp = &conf->patterns[i];
		struct adopt_pattern *p = &c->patterns[c->npatterns];

		if (adopt_pattern_check(cp->path, err, sizeof(err))) {
			log_error("%s:%d: [adopt.%s] path '%s': %s", cp->file, cp->line, cp->name,
				  cp->path, err);
			r = -EINVAL;
			goto out;
		}
		memset(p, 0, sizeof(*p));
		snprintf(p->name, sizeof(p->name), "%s", cp->name);
		snprintf(p->engine, sizeof(p->engine), "%s", cp->engine);
		snprintf(p->path, sizeof(p->path), "%s", cp->path);
		snprintf(p->knobs, sizeof(p->knobs), "%s", cp->knobs);
		if (class_parse(cp->class_name, &p->class)) {
			r = -EINVAL;
			goto out;
		}
		c->npatterns++;
	}
	for (unsigned i = 0; i < np; i++) {
		int n = adopt_preset(presets[i], conf->adopt_knobs, c->patterns + c->npatterns,
				     ADOPT_MAX_PATTERNS - c->npatterns);

		if (n == -ENOENT) {
			char known[256] = "";

			for (const char *const *p = adopt_preset_names; *p; p++)
				snprintf(known + strlen(known), sizeof(known) - strlen(known),
					 "%s%s", known[0] ? ", " : "", *p);
			log_error("[adopt] presets: unknown preset '%s' (known: %s)", presets[i],
				  known);
			r = -EINVAL;
			goto out;
		}
		if (n < 0) {
			log_error("[adopt] presets: more than %d adoption patterns in all",
				  ADOPT_MAX_PATTERNS);
			r = -EINVAL;
			goto out;
		}
		c->npatterns += (unsigned)n;
	}
out:
	while (np)
		free(presets[--np]);
	free(presets);
	return r;
}

int containers__new(struct daemon *d, struct containers **ret)
{
	struct containers *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->d = d;
	c->journal_fd = -1;
	c->control_fd = -1;
	c->guard_fd = -1;
	c->io_fd = -1;
	c->next_id = 1;
	if (getrandom(&c->path_seed, sizeof(c->path_seed), 0) != sizeof(c->path_seed))
		c->path_seed = mono_now_ns();
	drf_init(&c->drf);
	class_conf_defaults(c->classes);
	for (int i = 0; i < CGP_CLASS_MAX; i++) {
		c->classes[i].io_weight = d->conf.class_io_weight[i];
		c->classes[i].priority = d->conf.class_priority[i];
	}
	for (unsigned i = 0; i < d->conf.ntenants; i++)
		drf_set_weight(&c->drf, d->conf.tenants[i].name, d->conf.tenants[i].weight);
	slack_conf_defaults(&c->slack_conf);
	c->slack_conf.margin_pct = d->conf.slack_margin_pct;
	c->slack_conf.half_life_ns = (uint64_t)d->conf.slack_half_life_s * 1000000000ULL;
	c->root = pick_root(d);
	if (!c->root || !c->root[0]) {
		log_error("[containers] root '%s' is not a cgroup path below the root",
			  d->conf.container_root);
		r = -EINVAL;
		goto err;
	}
	r = split_words(d->conf.engine_roots, &c->engine_roots, &c->nengine);
	if (r)
		goto err;
	r = load_patterns(c);
	if (r)
		goto err;
	/* the controllers the root offers; telemetry-only hosts have none */
	c->enforce = d->controllers & (CGFS_CPU | CGFS_CPUSET | CGFS_MEMORY | CGFS_IO | CGFS_PIDS);
	c->act = (struct actuator){
		.mount_fd = d->root_fd,
		.dry_run = d->conf.dry_run,
		.in_manage = ctr_in_manage,
		.manage_ud = c,
		.record = ctr_on_record,
		.recorded = ctr_on_recorded,
		.record_ud = c,
	};
	if (d->alloc_valid) {
		c->books.alloc.cpu_mc = node_alloc__millicores(&d->alloc);
		c->books.alloc.mem = d->alloc.memory_bytes;
		c->books.shared_mc = c->books.alloc.cpu_mc;
		r = place_pool_init(&c->pool, d->topo, &d->alloc.cpus, 1);
		if (r)
			goto err;
		c->pool_ok = true;
	}
	if (d->conf.audit_dir[0]) {
		/* the unit's LogsDirectory= makes it; by hand it may be missing */
		if (mkdir(d->conf.audit_dir, 0750) && errno != EEXIST)
			log_debug("cannot create %s: %m", d->conf.audit_dir);
		r = audit_open(d->conf.audit_dir, (uint64_t)d->conf.audit_max_kib * 1024,
			       d->conf.audit_keep, &c->audit);
		if (r) {
			log_warn_errno(r,
				       "cannot open the audit log in %s: %m; actions are logged "
				       "and streamed only",
				       d->conf.audit_dir);
			c->audit = NULL;
		}
	}
	snprintf(c->state_path, sizeof(c->state_path), "%s/state.json", d->conf.runtime_dir);
	snprintf(c->journal_path, sizeof(c->journal_path), "%s/state.journal", d->conf.runtime_dir);
	r = ctr_state_load(c);
	if (r)
		log_warn_errno(r, "cannot read the state file %s: %m; starting with no containers",
			       c->state_path);
	/* what a run killed mid-admission made, and nobody was told of */
	ctr_state_sweep(c, c->root);
	for (unsigned i = 0; i < c->nengine; i++)
		ctr_state_sweep(c, c->engine_roots[i]);
	/* what was taken back becomes the new snapshot, and the journal starts empty */
	ctr_state_save(c);
	reapply(c);
	ctr_system_cpus(c);
	ctr_control_init(c);
	model__set_hooks(d->model, model_live, model_dead, c);
	log_info("containers under %s; engines' roots: %s; %u adoption patterns", c->root,
		 d->conf.engine_roots[0] ? d->conf.engine_roots : "none", c->npatterns);
	*ret = c;
	return 0;
err:
	containers__free(c);
	return r;
}

void containers__stop(struct containers *c)
{
	if (!c)
		return;
	ctr_control_stop(c);
	ctr_memory_release(c, "clean stop: memory.high back to max");
	ctr_state_save(c);
	/*
	 * Containers outlive the daemon: while any of cgpilot's runs on, the
	 * controllers it enabled above them stay (taking them from a parent
	 * takes every child's limits with them). Else they are taken back
	 * (deepest first), then the empty class directories and root it made.
	 */
	{
		unsigned left = 0;

		for (struct container *k = c->list; k; k = k->next)
			left += k->kind != CTR_ADOPTED && k->state != CTR_QUEUED && !k->dry;
		if (left) {
			log_info("%u containers run on: the controllers cgpilot enabled for them "
				 "stay enabled",
				 left);
			return;
		}
	}
	ctr_system_cpus_undo(c);
	act_undo(&c->act, &c->undo, "clean stop: controllers cgpilot enabled");
	for (int i = 0; i < CGP_CLASS_MAX; i++) {
		char p[512];

		snprintf(p, sizeof(p), "%s/%s", c->root, class_name(i));
		act_rmdir(&c->act, p, 0, CTR_OWNER);
	}
	act_rmdir(&c->act, c->root, 0, CTR_OWNER);
}

void containers__free(struct containers *c)
{
	struct container *k, *next;

	if (!c)
		return;
	closep(&c->control_fd);
	ctr_io_free(c);
	free(c->prot_prev);
	free(c->prot_tick);
	ctr_guard_free(c);
	if (c->d && c->d->model)
		model__set_hooks(c->d->model, NULL, NULL, NULL);
	for (k = c->list; k; k = next) {
		next = k->next;
		if (k->waiter) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "error",
					       json_object_new_string("cgpilotd is stopping"));
			reply_waiter(k, o);
		}
		ctr_free_one(k);
	}
	for (unsigned i = 0; i < c->nengine; i++)
		free(c->engine_roots[i]);
	free(c->engine_roots);
	free(c->root);
	if (c->pool_ok)
		place_pool_free(&c->pool);
	forget_parents(c);
	ctr_state_close(c);
	json_object_put(c->sq_pending);
	drf_free(&c->drf);
	act_undo_free(&c->undo);
	ctr_protect_free(c);
	free(c->sys_cpus_old);
	ctr_audit_flush(c);
	audit_close(c->audit);
	free(c);
}
