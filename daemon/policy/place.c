// SPDX-License-Identifier: Apache-2.0
/* CPU placement: exclusive whole cores in the smallest scope, and the order of cpuset writes. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "place.h"
#include "util.h"

/* A whole free core: pool indices of its online CPUs, ascending. */
struct core {
	unsigned first; /* its lowest CPU */
	unsigned off, size; /* members[off .. off + size) */
	int node; /* -1 counted as 0 */
	int llc; /* -1: unknown, no LLC scope */
};

struct cores {
	struct core *c;
	unsigned n;
	unsigned *members;
	unsigned cpus; /* sum of the sizes */
};

/* A run of cores sharing one scope in an order array. */
struct run {
	unsigned start, len, free, first;
};

struct rank {
	uint64_t key;
	unsigned idx;
};

static const struct topo_cpu *topo_find(const struct topology *t, unsigned cpu)
{
	unsigned lo = 0, hi = t->ncpus;

	/* the reader lists CPUs ascending; a fixture that does not still works */
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (t->cpus[mid].cpu < cpu)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->ncpus && t->cpus[lo].cpu == cpu)
		return &t->cpus[lo];
	for (unsigned i = 0; i < t->ncpus; i++)
		if (t->cpus[i].cpu == cpu)
			return &t->cpus[i];
	return NULL;
}

static bool topo_online(const struct topology *t, unsigned cpu)
{
	const struct topo_cpu *c = topo_find(t, cpu);

	return c && c->online;
}

/* Index of @cpu in the pool, -1 when it is not allocatable. */
static int pool_index(const struct place_pool *p, unsigned cpu)
{
	unsigned lo = 0, hi = p->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (p->cpu[mid] < cpu)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->n && p->cpu[lo] == cpu ? (int)lo : -1;
}

/* SMT level: the most online CPUs one core has (1 without SMT). */
static unsigned smt_level(const struct topology *t)
{
	unsigned level = 1;

	for (unsigned i = 0; i < t->ncpus; i++) {
		const struct topo_cpu *c = &t->cpus[i];
		unsigned n = 0;

		if (!c->online)
			continue;
		for (unsigned k = 0; k < c->siblings.n; k++)
			if (topo_online(t, c->siblings.cpu[k]))
				n++;
		if (n > level)
			level = n;
	}
	return level;
}

static unsigned shared_count(const struct place_pool *p)
{
	unsigned n = 0;

	for (unsigned i = 0; i < p->n; i++)
		if (!p->owner[i])
			n++;
	return n;
}

static bool holds(const struct place_pool *p, uint64_t owner)
{
	for (unsigned i = 0; i < p->n; i++)
		if (p->owner[i] == owner)
			return true;
	return false;
}

int place_pool_init(struct place_pool *p, const struct topology *t, const struct topo_cpuset *alloc,
		    unsigned min_shared)
{
	unsigned n = alloc->n;
	_cleanup_free_ unsigned *cpu = malloc((n ? n : 1) * sizeof(*cpu));
	_cleanup_free_ uint64_t *owner = calloc(n ? n : 1, sizeof(*owner));

	if (!cpu || !owner)
		return -ENOMEM;
	if (n)
		memcpy(cpu, alloc->cpu, n * sizeof(*cpu));
	*p = (struct place_pool){
		.topo = t,
		.n = n,
		.cpu = TAKE_PTR(cpu),
		.owner = TAKE_PTR(owner),
		.min_shared = min_shared,
	};
	return 0;
}

void place_pool_free(struct place_pool *p)
{
	if (!p)
		return;
	free(p->cpu);
	free(p->owner);
	*p = (struct place_pool){ 0 };
}

unsigned place_exclusive_size(const struct place_pool *p, unsigned ncpus)
{
	uint64_t level = smt_level(p->topo);
	uint64_t size = ((uint64_t)ncpus + level - 1) / level * level;

	return size > UINT_MAX ? UINT_MAX : (unsigned)size;
}

/*
 * When pool CPU @i is shared, online and the lowest online CPU of a core
 * whose every online CPU is allocatable and shared: that core's size, its
 * pool indices into @members (room for @cap). 0 otherwise.
 */
static unsigned free_core_at(const struct place_pool *p, unsigned i, unsigned *members,
			     unsigned cap)
{
	const struct topo_cpu *c = topo_find(p->topo, p->cpu[i]);
	unsigned n = 0;

	if (!c || !c->online || p->owner[i] || !cap)
		return 0;
	members[n++] = i;
	for (unsigned k = 0; k < c->siblings.n; k++) {
		unsigned s = c->siblings.cpu[k];
		int j;

		if (s == c->cpu || !topo_online(p->topo, s))
			continue;
		if (s < c->cpu)
			return 0; /* counted at its lowest CPU */
		j = pool_index(p, s);
		if (j < 0 || p->owner[j] || n == cap)
			return 0;
		members[n++] = (unsigned)j;
	}
	return n;
}

static void cores_free(struct cores *fc)
{
	free(fc->c);
	free(fc->members);
}

static int free_cores(const struct place_pool *p, struct cores *ret)
{
	_cleanup_free_ bool *seen = calloc(p->n ? p->n : 1, sizeof(*seen));
	struct cores fc = {
		.c = calloc(p->n ? p->n : 1, sizeof(*fc.c)),
		.members = calloc(p->n ? p->n : 1, sizeof(*fc.members)),
	};
	unsigned off = 0;

	if (!seen || !fc.c || !fc.members) {
		cores_free(&fc);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < p->n; i++) {
		unsigned *m = fc.members + off;
		unsigned size = free_core_at(p, i, m, p->n - off);
		const struct topo_cpu *c;
		bool dup = false;

		/* sysfs lists siblings both ways; a one-sided list must not share a CPU */
		for (unsigned k = 0; k < size; k++)
			dup |= seen[m[k]];
		if (!size || dup)
			continue;
		for (unsigned k = 0; k < size; k++)
			seen[m[k]] = true;
		c = topo_find(p->topo, p->cpu[i]);
		fc.c[fc.n++] = (struct core){
			.first = p->cpu[i],
			.off = off,
			.size = size,
			.node = c->node < 0 ? 0 : c->node,
			.llc = c->llc_id,
		};
		off += size;
		fc.cpus += size;
	}
	*ret = fc;
	return 0;
}

/*
 * Take exactly @need CPUs from the cores in @order: full cores first (so a
 * partial core, one with an offline sibling, does not strand a full one),
 * then partial ones, each pass in @order. Marks them, and only them, in @take.
 */
static bool pick(const struct cores *fc, const unsigned *order, unsigned n, unsigned need,
		 unsigned level, bool *take)
{
	memset(take, 0, fc->n * sizeof(*take));
	for (int full = 1; full >= 0 && need; full--) {
		for (unsigned k = 0; k < n && need; k++) {
			const struct core *c = &fc->c[order[k]];

			if ((c->size >= level) != full || c->size > need)
				continue;
			take[order[k]] = true;
			need -= c->size;
		}
	}
	return !need;
}

static int cmp_rank(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Most free first, then lowest CPU. */
static int cmp_run_most_free(const void *a, const void *b)
{
	const struct run *x = a, *y = b;

	if (x->free != y->free)
		return x->free > y->free ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

/* Scratch for one placement, sized for every free core. */
struct scratch {
	struct rank *rank;
	unsigned *order, *order2;
	struct run *runs;
	bool *take;
};

/*
 * Group the cores by scope (LLC within a node, or node) into runs of
 * s->order, each run ascending by CPU. The run count.
 */
static unsigned group(const struct cores *fc, bool by_llc, struct scratch *s)
{
	unsigned m = 0, nruns = 0;

	for (unsigned i = 0; i < fc->n; i++) {
		const struct core *c = &fc->c[i];

		/* an LLC spanning nodes (sub-NUMA clustering) is one scope per node */
		if (by_llc && c->llc < 0)
			continue;
		s->rank[m].key = (uint64_t)(uint32_t)c->node << 32 |
				 (by_llc ? (uint32_t)c->llc : 0);
		s->rank[m++].idx = i;
	}
	qsort(s->rank, m, sizeof(*s->rank), cmp_rank);
	for (unsigned k = 0; k < m; k++) {
		const struct core *c = &fc->c[s->rank[k].idx];

		s->order[k] = s->rank[k].idx;
		if (!k || s->rank[k].key != s->rank[k - 1].key)
			s->runs[nruns++] = (struct run){ .start = k, .first = c->first };
		s->runs[nruns - 1].len++;
		s->runs[nruns - 1].free += c->size;
	}
	return nruns;
}

/* Best fit: the scope with the fewest free CPUs that still holds @need, ties by lowest CPU. */
static bool pick_best_fit(const struct cores *fc, bool by_llc, unsigned need, unsigned level,
			  struct scratch *s)
{
	unsigned nruns = group(fc, by_llc, s);
	const struct run *best = NULL;

	for (unsigned r = 0; r < nruns; r++) {
		const struct run *x = &s->runs[r];

		if (x->free < need || !pick(fc, s->order + x->start, x->len, need, level, s->take))
			continue;
		if (!best || x->free < best->free ||
		    (x->free == best->free && x->first < best->first))
			best = x;
	}
	return best && pick(fc, s->order + best->start, best->len, need, level, s->take);
}

/* Across nodes: the nodes with the most free cores first. */
static bool pick_across(const struct cores *fc, unsigned need, unsigned level, struct scratch *s)
{
	unsigned nruns = group(fc, false, s), n = 0;

	qsort(s->runs, nruns, sizeof(*s->runs), cmp_run_most_free);
	for (unsigned r = 0; r < nruns; r++)
		for (unsigned k = 0; k < s->runs[r].len; k++)
			s->order2[n++] = s->order[s->runs[r].start + k];
	return pick(fc, s->order2, n, need, level, s->take);
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

static int scratch_new(struct scratch *s, unsigned ncores)
{
	unsigned k = ncores ? ncores : 1;

	s->rank = calloc(k, sizeof(*s->rank));
	s->order = calloc(k, sizeof(*s->order));
	s->order2 = calloc(k, sizeof(*s->order2));
	s->runs = calloc(k, sizeof(*s->runs));
	s->take = calloc(k, sizeof(*s->take));
	return s->rank && s->order && s->order2 && s->runs && s->take ? 0 : -ENOMEM;
}

static void scratch_free(struct scratch *s)
{
	free(s->rank);
	free(s->order);
	free(s->order2);
	free(s->runs);
	free(s->take);
}

int place_exclusive(struct place_pool *p, uint64_t owner, unsigned ncpus, struct topo_cpuset *ret,
		    char *why, size_t whylen)
{
	unsigned level, size, shared, budget, n = 0;
	struct cores fc = { 0 };
	struct scratch s = { 0 };
	unsigned *cpu = NULL;
	bool found;
	int r;

	if (!owner || !ncpus)
		return -EINVAL;
	if (holds(p, owner))
		return -EEXIST;
	level = smt_level(p->topo);
	size = place_exclusive_size(p, ncpus);
	shared = shared_count(p);
	budget = shared > p->min_shared ? shared - p->min_shared : 0;
	r = free_cores(p, &fc);
	if (r)
		return r;
	/* sized before the scratch is: a request past what is free allocates nothing */
	found = size <= budget && size <= fc.cpus;
	if (found) {
		r = scratch_new(&s, fc.n);
		cpu = calloc(size ? size : 1, sizeof(*cpu));
		if (r || !cpu) {
			r = -ENOMEM;
			goto out;
		}
		found = pick_best_fit(&fc, true, size, level, &s) ||
			pick_best_fit(&fc, false, size, level, &s) ||
			pick_across(&fc, size, level, &s);
	}
	if (!found) {
		if (why && whylen)
			snprintf(
				why, whylen,
				"exclusive: %u CPUs requested (%u whole cores), %u free whole cores, "
				"shared pool keeps %u",
				ncpus, size / level, fc.n, p->min_shared);
		r = -ENOSPC;
		goto out;
	}
	for (unsigned i = 0; i < fc.n; i++)
		for (unsigned k = 0; s.take[i] && k < fc.c[i].size; k++)
			cpu[n++] = fc.members[fc.c[i].off + k];
	for (unsigned k = 0; k < n; k++) {
		p->owner[cpu[k]] = owner;
		cpu[k] = p->cpu[cpu[k]];
	}
	qsort(cpu, n, sizeof(*cpu), cmp_unsigned);
	*ret = (struct topo_cpuset){ .n = n, .cpu = TAKE_PTR(cpu) };
out:
	free(cpu);
	scratch_free(&s);
	cores_free(&fc);
	return r;
}

int place_assign(struct place_pool *p, uint64_t owner, const struct topo_cpuset *cpus)
{
	bool busy = false;

	if (!owner || !cpus->n)
		return -EINVAL;
	for (unsigned k = 0; k < cpus->n; k++) {
		int i = pool_index(p, cpus->cpu[k]);

		if (i < 0)
			return -EINVAL;
		busy |= p->owner[i] != 0;
	}
	if (busy)
		return -EBUSY;
	if (holds(p, owner))
		return -EEXIST;
	for (unsigned k = 0; k < cpus->n; k++)
		p->owner[pool_index(p, cpus->cpu[k])] = owner;
	return 0;
}

unsigned place_release(struct place_pool *p, uint64_t owner)
{
	unsigned n = 0;

	if (!owner)
		return 0;
	for (unsigned i = 0; i < p->n; i++) {
		if (p->owner[i] == owner) {
			p->owner[i] = 0;
			n++;
		}
	}
	return n;
}

int place_cpus_of(const struct place_pool *p, uint64_t owner, struct topo_cpuset *ret)
{
	unsigned *cpu = malloc((p->n ? p->n : 1) * sizeof(*cpu));
	unsigned n = 0;

	if (!cpu)
		return -ENOMEM;
	for (unsigned i = 0; i < p->n; i++)
		if (p->owner[i] == owner)
			cpu[n++] = p->cpu[i];
	*ret = (struct topo_cpuset){ .n = n, .cpu = cpu };
	return 0;
}

int place_mems_of(const struct topology *t, const struct topo_cpuset *cpus, struct topo_cpuset *ret)
{
	unsigned *ids = malloc((cpus->n ? cpus->n : 1) * sizeof(*ids));
	unsigned n = 0;

	if (!ids)
		return -ENOMEM;
	for (unsigned k = 0; k < cpus->n; k++) {
		const struct topo_cpu *c = topo_find(t, cpus->cpu[k]);

		if (!c) {
			free(ids);
			return -EINVAL;
		}
		ids[n++] = c->node < 0 ? 0 : (unsigned)c->node;
	}
	qsort(ids, n, sizeof(*ids), cmp_unsigned);
	if (n) {
		unsigned m = 1;

		for (unsigned k = 1; k < n; k++)
			if (ids[k] != ids[m - 1])
				ids[m++] = ids[k];
		n = m;
	}
	*ret = (struct topo_cpuset){ .n = n, .cpu = ids };
	return 0;
}

unsigned place_free_exclusive(const struct place_pool *p)
{
	unsigned level = smt_level(p->topo), shared = shared_count(p), most;
	struct cores fc;

	if (shared <= p->min_shared || free_cores(p, &fc))
		return 0;
	most = shared - p->min_shared;
	if (fc.cpus < most)
		most = fc.cpus;
	cores_free(&fc);
	return most / level * level;
}

/* ---- write ordering ---- */

static bool set_subset(const struct topo_cpuset *a, const struct topo_cpuset *b)
{
	unsigned j = 0;

	for (unsigned i = 0; i < a->n; i++) {
		while (j < b->n && b->cpu[j] < a->cpu[i])
			j++;
		if (j == b->n || b->cpu[j] != a->cpu[i])
			return false;
	}
	return true;
}

/* Intersection into @out (room for min(a->n, b->n)), or only counted when @out is NULL. */
static unsigned set_and(const struct topo_cpuset *a, const struct topo_cpuset *b, unsigned *out)
{
	unsigned i = 0, j = 0, n = 0;

	while (i < a->n && j < b->n) {
		if (a->cpu[i] < b->cpu[j]) {
			i++;
		} else if (a->cpu[i] > b->cpu[j]) {
			j++;
		} else {
			if (out)
				out[n] = a->cpu[i];
			n++;
			i++;
			j++;
		}
	}
	return n;
}

enum phase {
	PHASE_SHRINK, /* only takes away: the new set, or the intersection first */
	PHASE_SWAP, /* takes away and adds with nothing kept: one write, between */
	PHASE_GROW, /* adds: the new set */
};

static int plan_one(const struct place_change *c, enum phase phase, struct place_write *w)
{
	static const struct topo_cpuset empty = { 0 };
	const struct topo_cpuset *from = c->from ? c->from : &empty, *to = c->to;
	bool shrinks, grows;
	unsigned common, *cpu;
	enum phase own;

	if (!to || !to->n)
		return 0;
	shrinks = !set_subset(from, to);
	grows = !set_subset(to, from);
	if (!shrinks && !grows)
		return 0;
	common = shrinks && grows ? set_and(from, to, NULL) : 0;
	if (shrinks && grows && phase == PHASE_SHRINK && common) {
		cpu = malloc(common * sizeof(*cpu));
		if (!cpu)
			return -ENOMEM;
		set_and(from, to, cpu);
		*w = (struct place_write){ .key = c->key, .set = { .n = common, .cpu = cpu } };
		return 1;
	}
	if (!grows)
		own = PHASE_SHRINK;
	else if (!shrinks || common)
		own = PHASE_GROW;
	else
		own = PHASE_SWAP;
	if (phase != own)
		return 0;
	cpu = malloc(to->n * sizeof(*cpu));
	if (!cpu)
		return -ENOMEM;
	memcpy(cpu, to->cpu, to->n * sizeof(*cpu));
	*w = (struct place_write){ .key = c->key, .set = { .n = to->n, .cpu = cpu } };
	return 1;
}

unsigned place_plan(const struct place_change *changes, unsigned n, struct place_write *out)
{
	static const enum phase phases[] = { PHASE_SHRINK, PHASE_SWAP, PHASE_GROW };
	unsigned nw = 0;

	for (unsigned ph = 0; ph < ARRAY_SIZE(phases); ph++) {
		for (unsigned i = 0; i < n; i++) {
			int r = plan_one(&changes[i], phases[ph], &out[nw]);

			if (r < 0) {
				place_writes_free(out, nw);
				return 0;
			}
			nw += (unsigned)r;
		}
	}
	return nw;
}

void place_writes_free(struct place_write *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		topo_cpuset_free(&w[i].set);
}

int place_quiet_cpu(const struct topo_cpuset *pool, const uint64_t *wait, unsigned nwait)
{
	int best = -1;
	uint64_t least = UINT64_MAX;

	for (unsigned i = 0; i < pool->n; i++) {
		unsigned cpu = pool->cpu[i];
		uint64_t w = cpu < nwait ? wait[cpu] : 0;

		if (w < least || (w == least && (int)cpu > best)) {
			least = w;
			best = (int)cpu;
		}
	}
	return best;
}
