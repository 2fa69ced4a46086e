// SPDX-License-Identifier: Apache-2.0
/* daemon/policy/place.c: exclusive whole cores in the smallest scope, and write ordering. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/place.h"
#include "unit.h"
#include "util.h"

/* ---- synthetic topologies ---- */

struct cpu_spec {
	unsigned cpu;
	int core; /* CPUs with the same core are SMT siblings */
	int llc;
	int node;
	bool offline;
};

static int cmp_spec(const void *a, const void *b)
{
	const struct cpu_spec *x = a, *y = b;

	return x->cpu < y->cpu ? -1 : x->cpu > y->cpu;
}

static struct topo_cpuset set_where(const struct cpu_spec *s, unsigned n,
				    bool (*same)(const struct cpu_spec *, const struct cpu_spec *),
				    const struct cpu_spec *ref, bool online_only)
{
	struct topo_cpuset set = { .cpu = calloc(n, sizeof(unsigned)) };

	for (unsigned i = 0; i < n; i++)
		if (same(&s[i], ref) && (!online_only || !s[i].offline))
			set.cpu[set.n++] = s[i].cpu;
	return set;
}

static bool same_core(const struct cpu_spec *a, const struct cpu_spec *b)
{
	return a->core == b->core;
}

static bool same_llc(const struct cpu_spec *a, const struct cpu_spec *b)
{
	return a->llc == b->llc;
}

static bool same_node(const struct cpu_spec *a, const struct cpu_spec *b)
{
	return a->node == b->node;
}

/*
 * A machine as the reader builds it: CPUs ascending; an offline CPU has no
 * node, LLC or siblings of its own but is still listed among its core's
 * siblings (so the placement must check online itself).
 */
static struct topology *build(const struct cpu_spec *spec, unsigned n)
{
	struct topology *t = calloc(1, sizeof(*t));
	struct cpu_spec *s = calloc(n, sizeof(*s));

	memcpy(s, spec, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_spec);
	t->ncpus = n;
	t->cpus = calloc(n, sizeof(*t->cpus));
	t->nodes = calloc(n, sizeof(*t->nodes));
	for (unsigned i = 0; i < n; i++) {
		struct topo_cpu *c = &t->cpus[i];

		c->cpu = s[i].cpu;
		c->online = !s[i].offline;
		c->core_id = c->package_id = c->node = c->llc_id = -1;
		if (!c->online)
			continue;
		c->core_id = s[i].core;
		c->package_id = s[i].node < 0 ? 0 : s[i].node;
		c->node = s[i].node;
		c->llc_level = 3;
		c->llc_id = s[i].llc;
		c->siblings = set_where(s, n, same_core, &s[i], false);
		c->llc_cpus = set_where(s, n, same_llc, &s[i], true);
	}
	for (unsigned i = 0; i < n; i++) {
		bool known = s[i].node < 0 || s[i].offline;

		for (unsigned k = 0; k < t->nnodes && !known; k++)
			known = t->nodes[k].id == (unsigned)s[i].node;
		if (known)
			continue;
		t->nodes[t->nnodes].id = (unsigned)s[i].node;
		t->nodes[t->nnodes++].cpus = set_where(s, n, same_node, &s[i], true);
	}
	free(s);
	return t;
}

/*
 * @ncores cores of @smt threads, numbered as Intel does (siblings 0/4, 1/5)
 * or as AMD does (0/1, 2/3); @cores_per_llc cores share an LLC and
 * @llcs_per_node LLCs a node.
 */
static struct topology *smt_machine(unsigned ncores, unsigned smt, bool amd, unsigned cores_per_llc,
				    unsigned llcs_per_node)
{
	struct cpu_spec *s = calloc(ncores * smt, sizeof(*s));
	struct topology *t;

	for (unsigned core = 0; core < ncores; core++) {
		for (unsigned th = 0; th < smt; th++) {
			struct cpu_spec *x = &s[core * smt + th];
			int llc = (int)(core / cores_per_llc);

			*x = (struct cpu_spec){
				.cpu = amd ? core * smt + th : th * ncores + core,
				.core = (int)core,
				.llc = llc,
				.node = llc / (int)llcs_per_node,
			};
		}
	}
	t = build(s, ncores * smt);
	free(s);
	return t;
}

static struct topo_cpuset cpus(const char *list)
{
	struct topo_cpuset set = { 0 };

	if (topo_parse_cpulist(list, &set))
		fail_msg("bad cpulist '%s' in the test", list);
	return set;
}

/* Allocatable: the online CPUs less @reserved. */
static void pool_init(struct place_pool *p, const struct topology *t, const char *reserved,
		      unsigned min_shared)
{
	struct topo_cpuset res = cpus(reserved);
	struct topo_cpuset alloc = { .cpu = calloc(t->ncpus, sizeof(unsigned)) };

	for (unsigned i = 0; i < t->ncpus; i++)
		if (t->cpus[i].online && !topo_cpuset_has(&res, t->cpus[i].cpu))
			alloc.cpu[alloc.n++] = t->cpus[i].cpu;
	assert_int_equal(place_pool_init(p, t, &alloc, min_shared), 0);
	topo_cpuset_free(&alloc);
	topo_cpuset_free(&res);
}

static void expect_set(const struct topo_cpuset *set, const char *want)
{
	char buf[256];

	assert_int_equal(topo_format_cpulist(set, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void expect_owner(const struct place_pool *p, uint64_t owner, const char *want)
{
	struct topo_cpuset set;

	assert_int_equal(place_cpus_of(p, owner, &set), 0);
	expect_set(&set, want);
	topo_cpuset_free(&set);
}

static void place_ok(struct place_pool *p, uint64_t owner, unsigned ncpus, const char *want)
{
	struct topo_cpuset set;
	char why[200] = "";

	if (place_exclusive(p, owner, ncpus, &set, why, sizeof(why)))
		fail_msg("placing %u CPUs for %llu: %s", ncpus, (unsigned long long)owner, why);
	expect_set(&set, want);
	expect_owner(p, owner, want);
	topo_cpuset_free(&set);
}

/* -ENOSPC, the message containing @msg, nothing changed, *ret untouched. */
static void place_full(struct place_pool *p, uint64_t owner, unsigned ncpus, const char *msg)
{
	uint64_t *before = malloc(p->n * sizeof(*before));
	unsigned sentinel = 7;
	struct topo_cpuset set = { .n = 3, .cpu = &sentinel };
	char why[200] = "";

	memcpy(before, p->owner, p->n * sizeof(*before));
	assert_int_equal(place_exclusive(p, owner, ncpus, &set, why, sizeof(why)), -ENOSPC);
	if (msg)
		assert_contains(why, msg);
	assert_int_equal(set.n, 3);
	assert_ptr_equal(set.cpu, &sentinel);
	assert_memory_equal(before, p->owner, p->n * sizeof(*before));
	free(before);
}

/* Every owned CPU's online siblings allocatable and of the same owner; the pool keeps min_shared. */
static void check_invariants(const struct place_pool *p)
{
	const struct topology *t = p->topo;
	unsigned shared = 0;

	for (unsigned i = 0; i < p->n; i++) {
		const struct topo_cpu *c = NULL;

		if (!p->owner[i]) {
			shared++;
			continue;
		}
		for (unsigned k = 0; k < t->ncpus; k++)
			if (t->cpus[k].cpu == p->cpu[i])
				c = &t->cpus[k];
		assert_non_null(c);
		assert_true(c->online);
		for (unsigned k = 0; k < c->siblings.n; k++) {
			unsigned s = c->siblings.cpu[k];
			bool online = false, same = false;

			for (unsigned j = 0; j < t->ncpus; j++)
				if (t->cpus[j].cpu == s)
					online = t->cpus[j].online;
			for (unsigned j = 0; j < p->n; j++)
				if (p->cpu[j] == s)
					same = p->owner[j] == p->owner[i];
			if (online && !same)
				fail_msg("CPU %u of owner %llu shares its core with CPU %u",
					 p->cpu[i], (unsigned long long)p->owner[i], s);
		}
	}
	assert_true(shared >= p->min_shared);
}

/* ---- sizes and SMT ---- */

static void test_exclusive_size(void **state)
{
	struct topology *smt = smt_machine(4, 2, false, 4, 1),
			*flat = smt_machine(4, 1, false, 4, 1);
	struct place_pool a, b;

	pool_init(&a, smt, "", 1);
	pool_init(&b, flat, "", 1);
	assert_int_equal(place_exclusive_size(&a, 0), 0);
	assert_int_equal(place_exclusive_size(&a, 1), 2);
	assert_int_equal(place_exclusive_size(&a, 2), 2);
	assert_int_equal(place_exclusive_size(&a, 3), 4);
	assert_int_equal(place_exclusive_size(&b, 3), 3);
	assert_int_equal(place_free_exclusive(&a), 6);
	assert_int_equal(place_free_exclusive(&b), 3);
	place_pool_free(&a);
	place_pool_free(&b);
	topology__free(smt);
	topology__free(flat);
}

static void test_smt_intel(void **state)
{
	/* siblings 0/4, 1/5, 2/6, 3/7 */
	struct topology *t = smt_machine(4, 2, false, 4, 1);
	struct place_pool p;

	pool_init(&p, t, "", 1);
	place_ok(&p, 1, 1, "0,4");
	place_ok(&p, 2, 3, "1-2,5-6");
	expect_owner(&p, 0, "3,7");
	/* the last core would empty the pool */
	place_full(&p, 3, 1,
		   "exclusive: 1 CPUs requested (1 whole cores), 1 free whole cores, "
		   "shared pool keeps 1");
	check_invariants(&p);
	place_pool_free(&p);
	topology__free(t);
}

static void test_smt_amd(void **state)
{
	/* siblings 0/1, 2/3, 4/5, 6/7 */
	struct topology *t = smt_machine(4, 2, true, 4, 1);
	struct place_pool p;

	pool_init(&p, t, "", 1);
	place_ok(&p, 1, 1, "0-1");
	place_ok(&p, 2, 3, "2-5");
	expect_owner(&p, 0, "6-7");
	place_full(&p, 3, 4, "exclusive: 4 CPUs requested (2 whole cores), 1 free whole cores");
	check_invariants(&p);
	place_pool_free(&p);
	topology__free(t);
}

static void test_never_half_a_core(void **state)
{
	struct topology *t = smt_machine(4, 2, false, 4, 1);
	struct place_pool p;
	struct topo_cpuset one = cpus("1"), four = cpus("4");

	/* CPU 0 reserved: its sibling 4 is never exclusive */
	pool_init(&p, t, "0", 0);
	place_ok(&p, 1, 1, "1,5");
	place_ok(&p, 2, 1, "2,6");
	place_ok(&p, 3, 1, "3,7");
	place_full(&p, 4, 1, "0 free whole cores");
	expect_owner(&p, 0, "4");
	assert_int_equal(place_free_exclusive(&p), 0);
	place_pool_free(&p);

	/* a restored half core (CPU 1) keeps its sibling 5 out of the next placement */
	pool_init(&p, t, "", 0);
	assert_int_equal(place_assign(&p, 9, &one), 0);
	place_ok(&p, 1, 2, "0,4");
	place_ok(&p, 2, 2, "2,6");
	expect_owner(&p, 0, "3,5,7");
	assert_int_equal(place_free_exclusive(&p), 2);
	place_ok(&p, 3, 1, "3,7");
	place_full(&p, 4, 1, NULL);
	expect_owner(&p, 0, "5");
	place_pool_free(&p);

	/* so too the higher sibling: 4 held keeps 0 out */
	pool_init(&p, t, "", 0);
	assert_int_equal(place_assign(&p, 9, &four), 0);
	place_ok(&p, 1, 2, "1,5");
	place_ok(&p, 2, 4, "2-3,6-7");
	place_full(&p, 3, 1, "0 free whole cores");
	expect_owner(&p, 0, "0");
	place_pool_free(&p);
	topo_cpuset_free(&one);
	topo_cpuset_free(&four);
	topology__free(t);
}

/* ---- scopes ---- */

static void test_two_llcs(void **state)
{
	/* one node, two LLCs of 4 SMT-2 cores: CPUs 0-7 and 8-15 */
	struct topology *t = smt_machine(8, 2, true, 4, 2);
	struct topo_cpuset taken = cpus("8-11");
	struct place_pool p;

	pool_init(&p, t, "", 1);
	/* 2 cores stay in one LLC, the lowest of two equally free */
	place_ok(&p, 1, 4, "0-3");
	assert_int_equal(place_release(&p, 1), 4);
	/* LLC 1 half taken: best fit is the fuller one, not the lowest CPUs */
	assert_int_equal(place_assign(&p, 9, &taken), 0);
	place_ok(&p, 1, 4, "12-15");
	/* LLC 1 is now full: LLC 0 */
	place_ok(&p, 2, 6, "0-5");
	check_invariants(&p);
	place_pool_free(&p);

	/* 5 cores fit no LLC: the node, lowest first, across both LLCs */
	pool_init(&p, t, "", 1);
	place_ok(&p, 1, 10, "0-9");
	check_invariants(&p);
	place_pool_free(&p);
	topo_cpuset_free(&taken);
	topology__free(t);
}

static void test_llc_best_fit_ties(void **state)
{
	/* three LLCs of 2 cores, no SMT; the two fuller ones equally free */
	struct topology *t = smt_machine(6, 1, false, 2, 3);
	struct topo_cpuset a = cpus("0"), b = cpus("4");
	struct place_pool p;

	pool_init(&p, t, "", 0);
	assert_int_equal(place_assign(&p, 8, &b), 0);
	assert_int_equal(place_assign(&p, 9, &a), 0);
	/* LLCs {1} and {5} have one free core each: the lower one */
	place_ok(&p, 1, 1, "1");
	place_ok(&p, 2, 1, "5");
	/* two CPUs: only LLC {2,3} holds them */
	place_ok(&p, 3, 2, "2-3");
	place_pool_free(&p);
	topo_cpuset_free(&a);
	topo_cpuset_free(&b);
	topology__free(t);
}

static void test_two_nodes(void **state)
{
	/* 8 SMT-2 cores, Intel numbering; node 0 = cores 0-3 (0-3,8-11), node 1 = 4-7 */
	struct topology *t = smt_machine(8, 2, false, 4, 1);
	struct topo_cpuset set, mems, core0 = cpus("0,8");
	struct place_pool p;
	char why[200];

	pool_init(&p, t, "", 1);
	assert_int_equal(place_exclusive(&p, 1, 8, &set, why, sizeof(why)), 0);
	expect_set(&set, "0-3,8-11");
	assert_int_equal(place_mems_of(t, &set, &mems), 0);
	expect_set(&mems, "0");
	topo_cpuset_free(&set);
	topo_cpuset_free(&mems);
	/* the next one lands on node 1 */
	assert_int_equal(place_exclusive(&p, 2, 2, &set, why, sizeof(why)), 0);
	expect_set(&set, "4,12");
	assert_int_equal(place_mems_of(t, &set, &mems), 0);
	expect_set(&mems, "1");
	topo_cpuset_free(&set);
	topo_cpuset_free(&mems);
	place_pool_free(&p);

	/* larger than a node: both, the node with more free cores first */
	pool_init(&p, t, "", 1);
	assert_int_equal(place_assign(&p, 9, &core0), 0);
	assert_int_equal(place_exclusive(&p, 1, 10, &set, why, sizeof(why)), 0);
	expect_set(&set, "1,4-7,9,12-15");
	assert_int_equal(place_mems_of(t, &set, &mems), 0);
	expect_set(&mems, "0-1");
	check_invariants(&p);
	topo_cpuset_free(&set);
	topo_cpuset_free(&mems);
	place_pool_free(&p);
	topo_cpuset_free(&core0);
	topology__free(t);
}

static void test_mems_of(void **state)
{
	static const struct cpu_spec spec[] = {
		{ .cpu = 0, .core = 0, .llc = 0, .node = -1 },
		{ .cpu = 1, .core = 1, .llc = 0, .node = -1 },
		{ .cpu = 2, .core = 2, .llc = 1, .node = 3 },
	};
	struct topology *t = build(spec, ARRAY_SIZE(spec));
	struct topo_cpuset all = cpus("0-2"), none = cpus(""), absent = cpus("1,7");
	unsigned sentinel = 5;
	struct topo_cpuset mems = { .n = 1, .cpu = &sentinel };

	assert_int_equal(place_mems_of(t, &absent, &mems), -EINVAL);
	assert_ptr_equal(mems.cpu, &sentinel);
	assert_int_equal(place_mems_of(t, &all, &mems), 0);
	expect_set(&mems, "0,3");
	topo_cpuset_free(&mems);
	assert_int_equal(place_mems_of(t, &none, &mems), 0);
	assert_int_equal(mems.n, 0);
	topo_cpuset_free(&mems);
	topo_cpuset_free(&all);
	topo_cpuset_free(&none);
	topo_cpuset_free(&absent);
	topology__free(t);
}

/* ---- odd machines ---- */

static void test_offline(void **state)
{
	/* Intel SMT-2 numbering, 5 and 6 offline: cores {1} and {2} keep one CPU */
	struct cpu_spec spec[8];
	struct topology *t;
	struct place_pool p;

	for (unsigned c = 0; c < 8; c++)
		spec[c] = (struct cpu_spec){ .cpu = c,
					     .core = (int)(c % 4),
					     .offline = c == 5 || c == 6 };
	t = build(spec, 8);
	pool_init(&p, t, "", 0);
	assert_int_equal(place_exclusive_size(&p, 1), 2);
	/* full cores first, so the half ones do not strand them */
	place_ok(&p, 1, 3, "0,3-4,7");
	/* then the two half cores make a core's worth */
	place_ok(&p, 2, 1, "1-2");
	expect_owner(&p, 0, "");
	place_full(&p, 3, 1, NULL);
	check_invariants(&p);
	place_pool_free(&p);

	/* a half core and a full one: a 2-CPU request takes the full one */
	pool_init(&p, t, "3,7", 0);
	place_ok(&p, 1, 2, "0,4");
	place_ok(&p, 2, 2, "1-2");
	place_pool_free(&p);
	topology__free(t);
}

static void test_odd_numbering(void **state)
{
	/* present CPUs 0,1,4,5,8,9; siblings 0/1, 4/5, 8/9 */
	static const struct cpu_spec spec[] = {
		{ .cpu = 0, .core = 0 }, { .cpu = 1, .core = 0 }, { .cpu = 4, .core = 2 },
		{ .cpu = 5, .core = 2 }, { .cpu = 8, .core = 4 }, { .cpu = 9, .core = 4 },
	};
	struct topology *t = build(spec, ARRAY_SIZE(spec));
	struct place_pool p;

	pool_init(&p, t, "", 1);
	place_ok(&p, 1, 1, "0-1");
	place_ok(&p, 2, 2, "4-5");
	expect_owner(&p, 0, "8-9");
	place_full(&p, 3, 1, "1 free whole cores, shared pool keeps 1");
	assert_int_equal(place_release(&p, 1), 2);
	place_ok(&p, 3, 1, "0-1");
	check_invariants(&p);
	place_pool_free(&p);
	topology__free(t);
}

static void test_min_shared(void **state)
{
	struct topology *t = smt_machine(4, 1, false, 4, 1);
	struct place_pool p;

	pool_init(&p, t, "", 1);
	assert_int_equal(place_free_exclusive(&p), 3);
	place_full(&p, 1, 4, "4 CPUs requested (4 whole cores), 4 free whole cores");
	place_ok(&p, 1, 3, "0-2");
	expect_owner(&p, 0, "3");
	assert_int_equal(place_free_exclusive(&p), 0);
	place_pool_free(&p);

	pool_init(&p, t, "", 2);
	place_full(&p, 1, 3, "shared pool keeps 2");
	place_ok(&p, 1, 2, "0-1");
	place_full(&p, 2, 1, NULL);
	expect_owner(&p, 0, "2-3");
	place_pool_free(&p);
	topology__free(t);
}

/* ---- books ---- */

static void test_stability(void **state)
{
	struct topology *t = smt_machine(8, 2, false, 4, 1);
	struct place_pool p, q;

	pool_init(&p, t, "", 1);
	place_ok(&p, 1, 2, "0,8");
	place_ok(&p, 2, 2, "1,9");
	place_ok(&p, 3, 2, "2,10");
	/* releasing B moves neither A nor C; D gets B's core back */
	assert_int_equal(place_release(&p, 2), 2);
	expect_owner(&p, 1, "0,8");
	expect_owner(&p, 3, "2,10");
	place_ok(&p, 4, 2, "1,9");
	expect_owner(&p, 1, "0,8");
	expect_owner(&p, 3, "2,10");
	/* a second pool given the same sizes in the same order gets the same CPUs */
	pool_init(&q, t, "", 1);
	place_ok(&q, 1, 2, "0,8");
	place_ok(&q, 4, 2, "1,9");
	place_ok(&q, 3, 2, "2,10");
	assert_memory_equal(p.owner, q.owner, p.n * sizeof(*p.owner));
	/* all released and placed again: the same again */
	place_release(&q, 1);
	place_release(&q, 3);
	place_release(&q, 4);
	place_ok(&q, 1, 2, "0,8");
	place_ok(&q, 4, 2, "1,9");
	place_ok(&q, 3, 2, "2,10");
	assert_memory_equal(p.owner, q.owner, p.n * sizeof(*p.owner));
	place_pool_free(&p);
	place_pool_free(&q);
	topology__free(t);
}

static void test_release(void **state)
{
	struct topology *t = smt_machine(4, 2, true, 4, 1);
	struct place_pool p;

	pool_init(&p, t, "", 1);
	place_ok(&p, 1, 4, "0-3");
	expect_owner(&p, 0, "4-7");
	assert_int_equal(place_free_exclusive(&p), 2);
	assert_int_equal(place_release(&p, 1), 4);
	expect_owner(&p, 0, "0-7");
	expect_owner(&p, 1, "");
	assert_int_equal(place_release(&p, 1), 0);
	assert_int_equal(place_release(&p, 0), 0);
	expect_owner(&p, 0, "0-7");
	assert_int_equal(place_free_exclusive(&p), 6);
	place_pool_free(&p);
	place_pool_free(NULL);
	topology__free(t);
}

static void test_assign(void **state)
{
	struct topology *t = smt_machine(4, 2, false, 4, 1);
	struct topo_cpuset a = cpus("0,4"), busy = cpus("1,4"), reserved = cpus("1,3"),
			   absent = cpus("2,42"), none = cpus(""), b = cpus("1");
	struct place_pool p;

	pool_init(&p, t, "3", 1);
	assert_int_equal(place_assign(&p, 1, &a), 0);
	expect_owner(&p, 1, "0,4");
	assert_int_equal(place_assign(&p, 2, &busy), -EBUSY);
	assert_int_equal(place_assign(&p, 2, &reserved), -EINVAL);
	assert_int_equal(place_assign(&p, 2, &absent), -EINVAL);
	assert_int_equal(place_assign(&p, 2, &none), -EINVAL);
	assert_int_equal(place_assign(&p, 0, &b), -EINVAL);
	assert_int_equal(place_assign(&p, 1, &b), -EEXIST);
	/* nothing changed by the refusals */
	expect_owner(&p, 0, "1-2,5-7");
	expect_owner(&p, 2, "");
	assert_int_equal(place_assign(&p, 2, &b), 0);
	expect_owner(&p, 2, "1");
	place_pool_free(&p);
	topo_cpuset_free(&a);
	topo_cpuset_free(&busy);
	topo_cpuset_free(&reserved);
	topo_cpuset_free(&absent);
	topo_cpuset_free(&none);
	topo_cpuset_free(&b);
	topology__free(t);
}

static void test_exclusive_refused(void **state)
{
	struct topology *t = smt_machine(4, 2, false, 4, 1);
	struct place_pool p;
	struct topo_cpuset set = { 0 };

	pool_init(&p, t, "", 1);
	assert_int_equal(place_exclusive(&p, 0, 1, &set, NULL, 0), -EINVAL);
	assert_int_equal(place_exclusive(&p, 1, 0, &set, NULL, 0), -EINVAL);
	place_ok(&p, 1, 1, "0,4");
	assert_int_equal(place_exclusive(&p, 1, 1, &set, NULL, 0), -EEXIST);
	assert_null(set.cpu);
	/* no room for @why is fine; an absurd request allocates nothing */
	assert_int_equal(place_exclusive(&p, 2, 100, &set, NULL, 0), -ENOSPC);
	assert_int_equal(place_exclusive_size(&p, UINT_MAX), UINT_MAX);
	assert_int_equal(place_exclusive(&p, 2, UINT_MAX, &set, NULL, 0), -ENOSPC);
	place_pool_free(&p);
	topology__free(t);
}

/* ---- write ordering ---- */

static void expect_write(const struct place_write *w, uint64_t key, const char *set)
{
	assert_int_equal(w->key, key);
	expect_set(&w->set, set);
}

static void test_plan_cases(void **state)
{
	struct topo_cpuset s03 = cpus("0-3"), s01 = cpus("0-1"), s05 = cpus("0-5"),
			   s23 = cpus("2-3"), s45 = cpus("4-5"), s14 = cpus("1-4"), none = cpus("");
	const struct place_change ch[] = {
		{ 1, &s01, &s03 }, /* grows */
		{ 2, &s03, &s01 }, /* shrinks */
		{ 3, &s03, &s14 }, /* both: 1-3, then 1-4 */
		{ 4, &s23, &s45 }, /* both, nothing kept: one write between */
		{ 5, &s03, &s03 }, /* equal */
		{ 6, &s03, &none }, /* being removed */
		{ 7, &s03, NULL }, /* so too */
		{ 8, NULL, &s05 }, /* new */
	};
	struct place_write w[2 * ARRAY_SIZE(ch)];
	unsigned n = place_plan(ch, ARRAY_SIZE(ch), w);

	assert_int_equal(n, 6);
	expect_write(&w[0], 2, "0-1");
	expect_write(&w[1], 3, "1-3");
	expect_write(&w[2], 4, "4-5");
	expect_write(&w[3], 1, "0-3");
	expect_write(&w[4], 3, "1-4");
	expect_write(&w[5], 8, "0-5");
	place_writes_free(w, n);
	assert_int_equal(place_plan(ch, 0, w), 0);
	assert_int_equal(place_plan(&ch[4], 3, w), 0);
	topo_cpuset_free(&s03);
	topo_cpuset_free(&s01);
	topo_cpuset_free(&s05);
	topo_cpuset_free(&s23);
	topo_cpuset_free(&s45);
	topo_cpuset_free(&s14);
	topo_cpuset_free(&none);
}

#define SIM_MAX 8

/* cgroups by key: the exclusive ones and the shared ones, with their sets now. */
struct sim {
	unsigned n;
	uint64_t key[SIM_MAX];
	bool exclusive[SIM_MAX];
	struct topo_cpuset set[SIM_MAX];
};

static bool disjoint(const struct topo_cpuset *a, const struct topo_cpuset *b)
{
	for (unsigned i = 0; i < a->n; i++)
		if (topo_cpuset_has(b, a->cpu[i]))
			return false;
	return true;
}

static void sim_check(const struct sim *s)
{
	for (unsigned i = 0; i < s->n; i++)
		for (unsigned j = 0; j < s->n; j++)
			if (i != j && (s->exclusive[i] || s->exclusive[j]) &&
			    !disjoint(&s->set[i], &s->set[j]))
				fail_msg("cgroups %llu and %llu overlap",
					 (unsigned long long)s->key[i],
					 (unsigned long long)s->key[j]);
}

/* Plan @ch, check the order of the writes, and apply them one by one to @s. */
static void sim_run(struct sim *s, const struct place_change *ch, unsigned n)
{
	struct place_write *w = calloc(2 * n, sizeof(*w));
	unsigned nw = place_plan(ch, n, w), last_shrink = 0, first_grow = nw;
	bool any_shrink = false;

	/* a cgroup being removed goes away before the writes */
	for (unsigned c = 0; c < n; c++)
		for (unsigned i = 0; i < s->n; i++)
			if (s->key[i] == ch[c].key && (!ch[c].to || !ch[c].to->n))
				topo_cpuset_free(&s->set[i]);
	sim_check(s);
	for (unsigned k = 0; k < nw; k++) {
		struct topo_cpuset *cur = NULL;

		for (unsigned i = 0; i < s->n; i++)
			if (s->key[i] == w[k].key)
				cur = &s->set[i];
		assert_non_null(cur);
		assert_true(w[k].set.n > 0);
		for (unsigned i = 0; i < cur->n; i++) {
			if (!topo_cpuset_has(&w[k].set, cur->cpu[i])) {
				last_shrink = k;
				any_shrink = true;
			}
		}
		for (unsigned i = 0; i < w[k].set.n; i++)
			if (!topo_cpuset_has(cur, w[k].set.cpu[i]) && first_grow == nw)
				first_grow = k;
		topo_cpuset_free(cur);
		cur->n = w[k].set.n;
		cur->cpu = malloc(cur->n * sizeof(unsigned));
		memcpy(cur->cpu, w[k].set.cpu, cur->n * sizeof(unsigned));
		sim_check(s);
	}
	if (any_shrink && first_grow < nw)
		assert_true(last_shrink <= first_grow);
	/* every cgroup ends where it must */
	for (unsigned c = 0; c < n; c++) {
		for (unsigned i = 0; i < s->n; i++) {
			if (s->key[i] != ch[c].key || !ch[c].to || !ch[c].to->n)
				continue;
			assert_int_equal(s->set[i].n, ch[c].to->n);
			assert_memory_equal(s->set[i].cpu, ch[c].to->cpu,
					    ch[c].to->n * sizeof(unsigned));
		}
	}
	place_writes_free(w, nw);
	free(w);
}

static void sim_add(struct sim *s, uint64_t key, bool exclusive, const struct place_pool *p,
		    uint64_t owner)
{
	s->key[s->n] = key;
	s->exclusive[s->n] = exclusive;
	assert_int_equal(place_cpus_of(p, owner, &s->set[s->n]), 0);
	s->n++;
}

static void sim_free(struct sim *s)
{
	for (unsigned i = 0; i < s->n; i++)
		topo_cpuset_free(&s->set[i]);
}

static void test_plan_rebalance(void **state)
{
	/* two shared containers 101, 102 on the pool; exclusive ones keyed by owner */
	struct topology *t = smt_machine(8, 2, false, 4, 1);
	struct topo_cpuset shared0, shared1, e1 = cpus("4,12"), e2, e3, none = cpus("");
	struct place_pool p;
	struct sim s = { 0 };
	char why[200];

	pool_init(&p, t, "", 1);
	sim_add(&s, 101, false, &p, 0);
	sim_add(&s, 102, false, &p, 0);
	sim_add(&s, 1, true, &p, 1);
	sim_add(&s, 2, true, &p, 2);
	sim_add(&s, 3, true, &p, 3);

	/* E1 restored on node 1, E2 new (there too, the fuller LLC): the pool shrinks first */
	assert_int_equal(place_cpus_of(&p, 0, &shared0), 0);
	assert_int_equal(place_assign(&p, 1, &e1), 0);
	assert_int_equal(place_exclusive(&p, 2, 3, &e2, why, sizeof(why)), 0);
	expect_set(&e2, "5-6,13-14");
	assert_int_equal(place_cpus_of(&p, 0, &shared1), 0);
	{
		const struct place_change ch[] = {
			{ 101, &shared0, &shared1 },
			{ 1, NULL, &e1 },
			{ 102, &shared0, &shared1 },
			{ 2, NULL, &e2 },
		};

		sim_run(&s, ch, ARRAY_SIZE(ch));
	}
	topo_cpuset_free(&shared0);

	/* E1 goes, E3 comes on node 0: the pool gains 4,12 and loses 0-2,8-10 */
	place_release(&p, 1);
	assert_int_equal(place_exclusive(&p, 3, 6, &e3, why, sizeof(why)), 0);
	expect_set(&e3, "0-2,8-10");
	assert_int_equal(place_cpus_of(&p, 0, &shared0), 0);
	{
		const struct place_change ch[] = {
			{ 3, NULL, &e3 }, { 101, &shared1, &shared0 }, { 1, &e1, &none },
			{ 2, &e2, &e2 },  { 102, &shared1, &shared0 },
		};
		struct place_write w[2 * ARRAY_SIZE(ch)];
		unsigned n = place_plan(ch, ARRAY_SIZE(ch), w);

		/* two shrinking writes of the intersection, E3, the two pools */
		assert_int_equal(n, 5);
		expect_write(&w[0], 101, "3,7,11,15");
		expect_write(&w[1], 102, "3,7,11,15");
		expect_write(&w[2], 3, "0-2,8-10");
		expect_write(&w[3], 101, "3-4,7,11-12,15");
		expect_write(&w[4], 102, "3-4,7,11-12,15");
		place_writes_free(w, n);
		sim_run(&s, ch, ARRAY_SIZE(ch));
	}

	/* everything released: the pools grow back to all of it */
	topo_cpuset_free(&shared1);
	place_release(&p, 2);
	place_release(&p, 3);
	assert_int_equal(place_cpus_of(&p, 0, &shared1), 0);
	{
		const struct place_change ch[] = {
			{ 2, &e2, &none },
			{ 101, &shared0, &shared1 },
			{ 3, &e3, &none },
			{ 102, &shared0, &shared1 },
		};

		sim_run(&s, ch, ARRAY_SIZE(ch));
	}
	expect_set(&s.set[0], "0-15");
	sim_free(&s);
	topo_cpuset_free(&shared0);
	topo_cpuset_free(&shared1);
	topo_cpuset_free(&e1);
	topo_cpuset_free(&e2);
	topo_cpuset_free(&e3);
	topo_cpuset_free(&none);
	place_pool_free(&p);
	topology__free(t);
}

/* ---- property ---- */

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The most free CPUs in whole free cores of one LLC. */
static unsigned best_llc_free(const struct place_pool *p)
{
	unsigned best = 0;

	for (int llc = 0; llc < 2; llc++) {
		unsigned n = 0;

		for (unsigned i = 0; i < p->n; i++) {
			const struct topo_cpu *c = &p->topo->cpus[p->cpu[i]];
			int sib = (int)(c->siblings.cpu[0] == c->cpu ? c->siblings.cpu[1] :
								       c->siblings.cpu[0]);

			n += c->llc_id == llc && !p->owner[i] && !p->owner[sib];
		}
		if (n > best)
			best = n;
	}
	return best;
}

static void test_random_sequences(void **state)
{
	/* 16 CPUs: 8 SMT-2 cores (Intel numbering), an LLC and a node per 4 cores */
	struct topology *t = smt_machine(8, 2, false, 4, 1);
	struct topo_cpuset held[9] = { 0 };
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	struct place_pool p;
	unsigned placed = 0, refused = 0;

	pool_init(&p, t, "", 2);
	for (unsigned step = 0; step < 5000; step++) {
		uint64_t owner = 1 + xorshift(&seed) % 8;

		if (held[owner].n) {
			assert_int_equal(place_release(&p, owner), held[owner].n);
			topo_cpuset_free(&held[owner]);
		} else {
			unsigned ncpus = 1 + (unsigned)(xorshift(&seed) % 7);
			unsigned size = place_exclusive_size(&p, ncpus);
			unsigned room = place_free_exclusive(&p), llc_room = best_llc_free(&p);
			struct topo_cpuset mems;
			char why[200] = "";
			int r = place_exclusive(&p, owner, ncpus, &held[owner], why, sizeof(why));

			/* it fits exactly when the free count says it does */
			assert_int_equal(r, size <= room ? 0 : -ENOSPC);
			if (r) {
				assert_contains(why, "shared pool keeps 2");
				refused++;
			} else {
				placed++;
				assert_int_equal(held[owner].n, size);
				/* what fits one LLC (here also a node) stays in one */
				assert_int_equal(place_mems_of(t, &held[owner], &mems), 0);
				if (size <= llc_room)
					assert_int_equal(mems.n, 1);
				topo_cpuset_free(&mems);
			}
		}
		check_invariants(&p);
		/* nobody else moved; owners disjoint */
		for (unsigned o = 1; o <= 8; o++) {
			struct topo_cpuset now;

			assert_int_equal(place_cpus_of(&p, o, &now), 0);
			assert_int_equal(now.n, held[o].n);
			if (now.n)
				assert_memory_equal(now.cpu, held[o].cpu, now.n * sizeof(unsigned));
			for (unsigned q = o + 1; q <= 8; q++)
				assert_true(disjoint(&held[o], &held[q]));
			topo_cpuset_free(&now);
		}
	}
	assert_true(placed > 100 && refused > 10);
	for (unsigned o = 0; o <= 8; o++)
		topo_cpuset_free(&held[o]);
	place_pool_free(&p);
	topology__free(t);
}

/* The cpuset rung's CPU: where protected work waited least; ties to the
 * highest; CPUs past the wait array (hot-added) count as quiet. */
static void test_quiet_cpu(void **state)
{
	unsigned cpus[] = { 0, 2, 3, 5 };
	struct topo_cpuset pool = { .n = 4, .cpu = cpus };
	uint64_t wait[] = { 900, 0, 50, 10, 0, 7 };

	(void)state;
	assert_int_equal(place_quiet_cpu(&pool, wait, 6), 5);
	wait[5] = 100;
	assert_int_equal(place_quiet_cpu(&pool, wait, 6), 3); /* 10 ns, the least */
	wait[3] = 50;
	assert_int_equal(place_quiet_cpu(&pool, wait, 6), 3); /* a tie with 2: the higher */
	/* no figures: the highest CPU, as before there was a per-CPU view */
	assert_int_equal(place_quiet_cpu(&pool, NULL, 0), 5);
	/* CPU 5 is past the figures (4 entries): it counts as 0 */
	assert_int_equal(place_quiet_cpu(&pool, wait, 4), 5);
	pool.n = 0;
	assert_int_equal(place_quiet_cpu(&pool, wait, 6), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quiet_cpu),
		cmocka_unit_test(test_exclusive_size),
		cmocka_unit_test(test_smt_intel),
		cmocka_unit_test(test_smt_amd),
		cmocka_unit_test(test_never_half_a_core),
		cmocka_unit_test(test_two_llcs),
		cmocka_unit_test(test_llc_best_fit_ties),
		cmocka_unit_test(test_two_nodes),
		cmocka_unit_test(test_mems_of),
		cmocka_unit_test(test_offline),
		cmocka_unit_test(test_odd_numbering),
		cmocka_unit_test(test_min_shared),
		cmocka_unit_test(test_stability),
		cmocka_unit_test(test_release),
		cmocka_unit_test(test_assign),
		cmocka_unit_test(test_exclusive_refused),
		cmocka_unit_test(test_plan_cases),
		cmocka_unit_test(test_plan_rebalance),
		cmocka_unit_test(test_random_sequences),
	};

	return cmocka_run_group_tests_name("place", tests, NULL, NULL);
}
