// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "util.h"

struct model {
	struct cg **buckets; /* by id */
	struct cg **pbuckets; /* by raw path */
	unsigned nbuckets; /* of each table, a power of two */
	unsigned count;
	struct cg **all; /* dense, c->idx is the position */
	unsigned all_cap;
	struct cg *dead_head, *dead_tail; /* dead cgroups, oldest first */
	struct cg **sorted;
	bool sorted_valid;
	uint64_t seed; /* of the path hash: names are chosen by users */
	void (*on_live)(void *ud, const struct cg *c);
	void (*on_dead)(void *ud, const struct cg *c);
	void *hook_ud;
};

void model__set_hooks(struct model *m, void (*on_live)(void *ud, const struct cg *c),
		      void (*on_dead)(void *ud, const struct cg *c), void *ud)
{
	m->on_live = on_live;
	m->on_dead = on_dead;
	m->hook_ud = ud;
}

static void notify_live(struct model *m, const struct cg *c)
{
	if (m->on_live && !c->dead_ns && !c->path_partial)
		m->on_live(m->hook_ud, c);
}

static unsigned bucket_of(const struct model *m, uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (unsigned)(id & (m->nbuckets - 1));
}

/*
 * FNV-1a (paths share long prefixes, every byte must count), seeded: anyone
 * may name cgroups, and names picked to fall into one bucket would make every
 * lookup walk them all.
 */
static unsigned pbucket_of(const struct model *m, const char *path)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ m->seed;

	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return bucket_of(m, h);
}

struct model *model__new(void)
{
	return model__new_seeded(0);
}

struct model *model__new_seeded(uint64_t seed)
{
	struct model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->seed = seed;
	m->nbuckets = 256;
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	m->pbuckets = calloc(m->nbuckets, sizeof(*m->pbuckets));
	if (!m->buckets || !m->pbuckets) {
		free(m->buckets);
		free(m->pbuckets);
		free(m);
		return NULL;
	}
	return m;
}

static void cg_free(struct cg *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->display);
	free(c->gone);
	free(c);
}

void model__free(struct model *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->count; i++)
		cg_free(m->all[i]);
	free(m->buckets);
	free(m->pbuckets);
	free(m->all);
	free(m->sorted);
	free(m);
}

struct cg *model__find(const struct model *m, uint64_t id)
{
	for (struct cg *c = m->buckets[bucket_of(m, id)]; c; c = c->hnext)
		if (c->id == id)
			return c;
	return NULL;
}

/* The path hash holds the live cgroups only: a name made and removed over
 * and over must not pile up dead entries in one chain. */
struct cg *model__find_path(const struct model *m, const char *path)
{
	for (struct cg *c = m->pbuckets[pbucket_of(m, path)]; c; c = c->pnext)
		if (!strcmp(c->path, path))
			return c;
	return NULL;
}

static void plink(struct model *m, struct cg *c)
{
	struct cg **head = &m->pbuckets[pbucket_of(m, c->path)];

	c->pnext = *head;
	if (*head)
		(*head)->pprev = &c->pnext;
	*head = c;
	c->pprev = head;
}

/* O(1): a doubly linked chain, no walk */
static void punlink(struct cg *c)
{
	if (!c->pprev)
		return;
	*c->pprev = c->pnext;
	if (c->pnext)
		c->pnext->pprev = c->pprev;
	c->pnext = NULL;
	c->pprev = NULL;
}

static int grow(struct model *m)
{
	unsigned nb = m->nbuckets * 2;
	struct cg **b = calloc(nb, sizeof(*b)), **pb = calloc(nb, sizeof(*pb));

	if (!b || !pb) {
		free(b);
		free(pb);
		return -ENOMEM;
	}
	free(m->buckets);
	free(m->pbuckets);
	m->buckets = b;
	m->pbuckets = pb;
	m->nbuckets = nb;
	for (unsigned i = 0; i < m->count; i++) {
		struct cg *c = m->all[i];
		unsigned k = bucket_of(m, c->id);

		c->hnext = b[k];
		b[k] = c;
		c->pprev = NULL;
		if (!c->dead_ns && !c->path_partial)
			plink(m, c);
	}
	return 0;
}

/* Both forms of a new path, or nothing changed. */
static int new_path(const char *path, char **ret_path, char **ret_display)
{
	char *p = strdup(path), *disp = NULL;

	if (!p || cgfs_display_path(path, &disp) < 0) {
		free(p);
		return -ENOMEM;
	}
	*ret_path = p;
	*ret_display = disp;
	return 0;
}

static int set_path(struct model *m, struct cg *c, const char *path, bool notify)
{
	char *p, *disp;

	if (!strcmp(c->path, path) && !c->path_partial)
		return 0;
	if (new_path(path, &p, &disp))
		return -ENOMEM;
	punlink(c);
	free(c->path);
	free(c->display);
	c->path = p;
	c->display = disp;
	c->path_partial = false;
	c->id_valid = false;
	c->parent_id = 0;
	if (!c->dead_ns)
		plink(m, c);
	m->sorted_valid = false;
	if (notify)
		notify_live(m, c);
	return 0;
}

int model__set_path(struct model *m, struct cg *c, const char *path)
{
	return set_path(m, c, path, true);
}

/*
 * A path cut short (in a BPF event) names an ancestor, or nothing, and could
 * equal another cgroup's whole path: such a cgroup leaves the path hash and
 * is shown as its prefix followed by "%00" and its id. No display form of a
 * real name holds "%00" (no name has a NUL, and '%' is always encoded), so
 * it can be mistaken for no other cgroup; it is found by its id.
 */
int model__mark_partial(struct model *m, struct cg *c)
{
	char *disp = NULL, *shown;
	int r = cgfs_display_path(c->path, &disp);

	if (r < 0)
		return r;
	if (asprintf(&shown, "%s%%00(cut, id %" PRIu64 ")", disp ? disp : c->path, c->id) < 0) {
		free(disp);
		return -ENOMEM;
	}
	free(disp);
	punlink(c);
	c->id_valid = false;
	c->parent_id = 0;
	free(c->display);
	c->display = shown;
	c->path_partial = true;
	m->sorted_valid = false;
	return 0;
}

static void dead_unlink(struct model *m, struct cg *c)
{
	if (c->dprev)
		c->dprev->dnext = c->dnext;
	else if (m->dead_head == c)
		m->dead_head = c->dnext;
	if (c->dnext)
		c->dnext->dprev = c->dprev;
	else if (m->dead_tail == c)
		m->dead_tail = c->dprev;
	c->dnext = c->dprev = NULL;
}

void model__mark_dead(struct model *m, struct cg *c, uint64_t now_ns)
{
	if (c->dead_ns)
		return;
	c->dead_ns = now_ns ? now_ns : 1;
	punlink(c);
	if (m->on_dead)
		m->on_dead(m->hook_ud, c);
	/* times only grow: appending keeps the FIFO in order of death */
	c->dprev = m->dead_tail;
	c->dnext = NULL;
	if (m->dead_tail)
		m->dead_tail->dnext = c;
	else
		m->dead_head = c;
	m->dead_tail = c;
}

struct cg *model__oldest_dead(const struct model *m, uint64_t before_ns)
{
	struct cg *c = m->dead_head;

	return c && c->dead_ns <= before_ns ? c : NULL;
}

/* @notify: tell the live hook (not for a path about to be marked partial) */
static int add(struct model *m, uint64_t id, const char *path, struct cg **ret, bool notify)
{
	struct cg *c = model__find(m, id);

	if (c) {
		bool revived = c->dead_ns != 0;

		if (set_path(m, c, path, notify))
			return -ENOMEM;
		if (revived) {
			dead_unlink(m, c);
			c->dead_ns = 0;
			if (!c->path_partial)
				plink(m, c);
			if (notify)
				notify_live(m, c);
		}
		if (ret)
			*ret = c;
		return 0;
	}
	if (m->count + 1 > m->nbuckets * 2 && grow(m))
		return -ENOMEM;
	if (m->count == m->all_cap) {
		unsigned cap = m->all_cap ? m->all_cap * 2 : 256;
		struct cg **a = realloc(m->all, cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		m->all = a;
		m->all_cap = cap;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (new_path(path, &c->path, &c->display)) {
		free(c);
		return -ENOMEM;
	}
	c->id = id;
	c->slot = -1;
	c->hnext = m->buckets[bucket_of(m, id)];
	m->buckets[bucket_of(m, id)] = c;
	plink(m, c);
	c->idx = m->count;
	m->all[m->count++] = c;
	m->sorted_valid = false;
	if (notify)
		notify_live(m, c);
	if (ret)
		*ret = c;
	return 1;
}

int model__add(struct model *m, uint64_t id, const char *path, struct cg **ret)
{
	return add(m, id, path, ret, true);
}

void cg_sums_add(struct cg_sums *s, const struct cg_sums *o)
{
	s->oncpu_ns += o->oncpu_ns;
	s->rq_delay_ns += o->rq_delay_ns;
	s->reclaim_ns += o->reclaim_ns;
	s->iowait_ns += o->iowait_ns;
	s->oom_kills += o->oom_kills;
	for (int d = 0; d < CGP_IO_DIRS; d++) {
		s->io_bytes[d] += o->io_bytes[d];
		s->io_ops[d] += o->io_ops[d];
	}
}

void cg_local_sums(const struct cg *c, struct cg_sums *r)
{
	const struct cgp_cg_stats *b = &c->fig.bpf;

	r->oncpu_ns = b->oncpu_ns;
	r->rq_delay_ns = b->rq_delay_ns;
	r->reclaim_ns = b->reclaim_ns;
	r->iowait_ns = b->iowait_ns;
	r->oom_kills = b->oom_kills + c->fig.oom_kills_user;
	for (int d = 0; d < CGP_IO_DIRS; d++) {
		r->io_bytes[d] = b->io_bytes[d];
		r->io_ops[d] = b->io_ops[d];
	}
}

/* Found by path once, then by id (O(1), no string work) until either
 * cgroup's path changes; a dead parent is no parent. */
struct cg *model__parent(struct model *m, struct cg *c)
{
	char buf[4096];
	const char *slash;
	struct cg *p;
	size_t n;

	if (c->parent_id) {
		p = model__find(m, c->parent_id);
		if (p && !p->dead_ns && !p->path_partial)
			return p;
		c->parent_id = 0;
	}
	if (c->path_partial || !c->path[0])
		return NULL;
	slash = strrchr(c->path, '/');
	n = slash ? (size_t)(slash - c->path) : 0;
	if (n >= sizeof(buf))
		return NULL;
	memcpy(buf, c->path, n);
	buf[n] = '\0';
	p = model__find_path(m, buf);
	if (p == c)
		return NULL;
	c->parent_id = p ? p->id : 0;
	return p;
}

int model__make_root(struct model *m, struct cg *c)
{
	(void)m;
	if (c->gone)
		return 0;
	c->gone = calloc(1, sizeof(*c->gone));
	return c->gone ? 0 : -ENOMEM;
}

/* Depth bound of the walks up: cgroup v2 nests at most this deep in practice
 * (the kernel's own limit, cgroup.max.depth, is unbounded by default), and a
 * cycle of stale parent ids cannot loop. */
#define ANCESTORS_MAX 64

void model__subtree_sums(struct model *m, struct cg_sums *sums, bool roots_only)
{
	for (unsigned i = 0; i < m->count; i++) {
		struct cg *c = m->all[i], *a = c;
		struct cg_sums own;

		if (c->gone)
			cg_sums_add(&sums[c->idx], c->gone);
		cg_local_sums(c, &own);
		if (!own.oncpu_ns && !own.rq_delay_ns && !own.reclaim_ns && !own.iowait_ns &&
		    !own.oom_kills && !own.io_ops[0] && !own.io_ops[1])
			continue;
		for (int depth = 0; a && depth < ANCESTORS_MAX; depth++) {
			if (!roots_only || a->gone)
				cg_sums_add(&sums[a->idx], &own);
			a = model__parent(m, a);
		}
	}
}

/* A cgroup leaves the model: the subtree roots above it keep its figures. */
static void retire_sums(struct model *m, struct cg *c)
{
	struct cg_sums own;
	struct cg *a = c;

	cg_local_sums(c, &own);
	for (int depth = 0; depth < ANCESTORS_MAX && (a = model__parent(m, a)); depth++)
		if (a->gone)
			cg_sums_add(a->gone, &own);
}

void model__remove(struct model *m, uint64_t id)
{
	struct cg **pp = &m->buckets[bucket_of(m, id)];

	for (; *pp; pp = &(*pp)->hnext) {
		if ((*pp)->id == id) {
			struct cg *c = *pp, *last;

			*pp = c->hnext;
			punlink(c);
			dead_unlink(m, c);
			retire_sums(m, c);
			last = m->all[--m->count];
			m->all[c->idx] = last;
			last->idx = c->idx;
			cg_free(c);
			m->sorted_valid = false;
			return;
		}
	}
}

unsigned model__count(const struct model *m)
{
	return m->count;
}

struct cg *const *model__all(const struct model *m, unsigned *ret_n)
{
	*ret_n = m->count;
	return m->all;
}

static int cmp_path(const void *a, const void *b)
{
	const struct cg *x = *(struct cg *const *)a, *y = *(struct cg *const *)b;
	int r = strcmp(x->path, y->path);

	/* a dead cgroup and its successor at the same path: a stable order */
	return r ? r : (x->id > y->id) - (x->id < y->id);
}

struct cg **model__sorted(struct model *m, unsigned *ret_n)
{
	if (!m->sorted_valid) {
		struct cg **s = realloc(m->sorted, (m->count ? m->count : 1) * sizeof(*s));

		if (!s)
			return NULL;
		m->sorted = s;
		if (m->count)
			memcpy(s, m->all, m->count * sizeof(*s));
		qsort(s, m->count, sizeof(*s), cmp_path);
		m->sorted_valid = true;
	}
	*ret_n = m->count;
	return m->sorted;
}

struct cg *model__apply_event(struct model *m, const struct cgp_event *e, uint64_t now_ns)
{
	struct cg *c = NULL;
	char path[CGP_PATH_MAX + 1];

	switch (e->type) {
	case CGP_EV_CGROUP_MKDIR: {
		const char *p = path;
		bool cut;

		memcpy(path, e->path, CGP_PATH_MAX);
		path[CGP_PATH_MAX] = 0;
		while (*p == '/')
			p++;
		/* a full buffer: the kernel's path was longer than the event holds */
		cut = strlen(path) >= CGP_PATH_MAX - 1;
		if (add(m, e->cgid, p, &c, !cut) < 0)
			return NULL;
		if (cut)
			model__mark_partial(m, c);
		return c;
	}
	case CGP_EV_CGROUP_RMDIR:
		c = model__find(m, e->cgid);
		if (c)
			model__mark_dead(m, c, now_ns);
		return c;
	case CGP_EV_ONSET:
		c = model__find(m, e->cgid);
		if (c && e->signal < CGP_SIG_MAX)
			c->active |= 1u << e->signal;
		return c;
	case CGP_EV_CLEARED:
		c = model__find(m, e->cgid);
		if (c && e->signal < CGP_SIG_MAX)
			c->active &= ~(1u << e->signal);
		return c;
	case CGP_EV_OOM_KILL:
		return e->cgid ? model__find(m, e->cgid) : NULL;
	default:
		return NULL;
	}
}

static double rate(uint64_t now_v, uint64_t prev_v, uint64_t dt_ns)
{
	if (!dt_ns || now_v < prev_v)
		return 0;
	return (double)(now_v - prev_v) / (double)dt_ns;
}

void model_update_bpf(struct cg_figures *f, const struct cgp_cg_stats *s, uint64_t now_ns)
{
	if (f->bpf_ns && now_ns > f->bpf_ns) {
		uint64_t dt = now_ns - f->bpf_ns;
		const struct cgp_cg_stats *p = &f->bpf;

		f->cpu_rate = rate(s->oncpu_ns, p->oncpu_ns, dt);
		f->cpu_wait_rate = rate(s->rq_delay_ns, p->rq_delay_ns, dt);
		f->reclaim_rate = rate(s->reclaim_ns, p->reclaim_ns, dt);
		f->iowait_rate = rate(s->iowait_ns, p->iowait_ns, dt);
		f->io_bytes_rate =
			rate(s->io_bytes[0] + s->io_bytes[1], p->io_bytes[0] + p->io_bytes[1], dt) *
			1e9;
	}
	if (!f->bpf_ns || memcmp(&f->bpf, s, sizeof(*s)))
		f->bpf_moved_ns = now_ns;
	f->bpf = *s;
	f->bpf_ns = now_ns;
}

bool model_sweep_due(struct cg_figures *f)
{
	if (f->bpf_moved_ns > f->kernel_ns) {
		/* its tasks ran, stalled or did I/O since its files were read */
		f->sweep_quiet = f->sweep_skip = 0;
		return true;
	}
	if (f->sweep_skip) {
		f->sweep_skip--;
		return false;
	}
	return true;
}

void model_sweep_note(struct cg_figures *f, const struct cg_figures *b)
{
	bool same = f->psi_valid == b->psi_valid && f->usage_valid == b->usage_valid &&
		    f->memory_valid == b->memory_valid && f->usage_usec == b->usage_usec &&
		    f->memory_current == b->memory_current && b->kernel_ns &&
		    f->bpf_moved_ns <= b->kernel_ns;

	for (int i = 0; i < PSI_RES_MAX && same; i++)
		same = f->psi[i].some_us == b->psi[i].some_us &&
		       f->psi[i].full_us == b->psi[i].full_us;
	if (!same) {
		f->sweep_quiet = f->sweep_skip = 0;
		return;
	}
	if (f->sweep_quiet < MODEL_SWEEP_QUIET_MAX)
		f->sweep_quiet++;
	f->sweep_skip = (uint8_t)((1u << f->sweep_quiet) - 1);
}
