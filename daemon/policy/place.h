/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CPU placement: exclusive CPUs for guaranteed containers with whole-CPU
 * requests, the shared pool for everything else, and the order in which
 * cpuset changes are written so that no cgroup is ever left with an empty
 * cpuset and no CPU is ever in an exclusive container and in the pool at
 * once. Pure: the topology and the books in, sets out; no syscalls, no
 * globals (kubelet's CPU manager static policy is the model).
 */
#ifndef CGPILOT_POLICY_PLACE_H
#define CGPILOT_POLICY_PLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topology.h"

/*
 * Who holds each allocatable CPU. Built over a topology that outlives it and
 * the allocatable set (policy/node.h); owner 0 is the shared pool.
 */
struct place_pool {
	const struct topology *topo;
	unsigned n; /* allocatable CPUs */
	unsigned *cpu; /* their numbers, ascending */
	uint64_t *owner; /* per CPU: container id, 0 = shared */
	unsigned min_shared; /* CPUs the shared pool always keeps (default 1) */
};

/* -ENOMEM; @alloc is copied. */
int place_pool_init(struct place_pool *p, const struct topology *t, const struct topo_cpuset *alloc,
		    unsigned min_shared);
void place_pool_free(struct place_pool *p);

/*
 * How many CPUs an exclusive request of @ncpus takes: @ncpus rounded up to
 * whole cores where the machine has SMT (a container never shares a core
 * with another), so 3 on SMT-2 takes 4. 0 when @ncpus is 0.
 */
unsigned place_exclusive_size(const struct place_pool *p, unsigned ncpus);

/*
 * Give @owner (non-zero, holding nothing yet) exclusive CPUs for @ncpus:
 * place_exclusive_size() CPUs taken from the shared pool as whole free cores
 * (every online sibling allocatable and shared; a core with a reserved or
 * owned sibling is never used when the machine has SMT), in the smallest
 * scope that holds them: one LLC (best fit: the LLC with the fewest free
 * cores that still suffice), else one NUMA node (best fit), else across
 * nodes (most free first); lowest CPU numbers first within a scope, so the
 * choice is deterministic. The shared pool keeps min_shared CPUs.
 * The chosen CPUs go to *ret (caller frees). -ENOSPC with the numbers in
 * @why when they cannot be found (nothing changed); -EEXIST if @owner
 * already holds CPUs; -EINVAL for owner 0 or @ncpus 0.
 */
int place_exclusive(struct place_pool *p, uint64_t owner, unsigned ncpus, struct topo_cpuset *ret,
		    char *why, size_t whylen);
/*
 * Give @owner exactly @cpus (a restart re-adopting a placement): -EBUSY if
 * one is not shared now, -EINVAL if one is not allocatable (or @cpus is
 * empty, or owner 0), -EEXIST if @owner already holds CPUs; nothing changed
 * then. What is restored is taken as it is: whole cores and min_shared are
 * not checked.
 */
int place_assign(struct place_pool *p, uint64_t owner, const struct topo_cpuset *cpus);
/* Return @owner's CPUs to the shared pool; the count returned (0 for owner 0). */
unsigned place_release(struct place_pool *p, uint64_t owner);

/* The CPUs of @owner (0: the shared pool) into *ret (caller frees). */
int place_cpus_of(const struct place_pool *p, uint64_t owner, struct topo_cpuset *ret);
/*
 * The NUMA nodes of @cpus as a set of node ids (for cpuset.mems); a CPU with
 * node -1 counts as node 0. -EINVAL for a CPU @t does not have.
 */
int place_mems_of(const struct topology *t, const struct topo_cpuset *cpus,
		  struct topo_cpuset *ret);
/*
 * Free CPUs that exclusive placement could still take: CPUs of whole free
 * cores, no more than leaves min_shared in the pool, rounded down to whole
 * cores; the largest place_exclusive_size() one place_exclusive() can meet.
 */
unsigned place_free_exclusive(const struct place_pool *p);

/* The CPU of @pool (a cpuset of the shared pool) where protected work
 * waited least: @wait[cpu] ns (@nwait entries; a CPU past them counts as
 * 0). Ties go to the highest CPU. -1 when @pool is empty. */
int place_quiet_cpu(const struct topo_cpuset *pool, const uint64_t *wait, unsigned nwait);

/*
 * Write ordering. Given the cpuset each cgroup has now (@from) and must
 * have (@to), the writes to make, in order:
 * - a cgroup whose set only shrinks or only grows is one write;
 * - one whose set changes both ways is written twice: first the
 *   intersection (when it is not empty), then the new set;
 * - every write that takes CPUs away comes before every write that adds,
 *   so a CPU leaves its old holder before it reaches its new one;
 * - an empty @to is never written (a cgroup being removed releases its
 *   CPUs by going away; its entry is skipped) and no write is ever empty.
 * A set replaced by a disjoint one (nothing kept) is one write that both
 * takes and adds: it goes after every other taking write and before every
 * other adding one. Entries with equal sets produce nothing; a NULL @from
 * is the empty set (a new cgroup). Returns the number of writes (at most
 * 2 * n) in @out, which the caller sizes 2 * n; 0 too when memory runs out
 * (nothing to write then; plan again later).
 */
struct place_change {
	uint64_t key; /* the caller's handle for the cgroup */
	const struct topo_cpuset *from;
	const struct topo_cpuset *to;
};

struct place_write {
	uint64_t key;
	struct topo_cpuset set; /* owned by @out; place_writes_free() */
};

unsigned place_plan(const struct place_change *changes, unsigned n, struct place_write *out);
void place_writes_free(struct place_write *w, unsigned n);

#endif
