/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's model of the observed cgroups: identity (id, path, slot),
 * cumulative BPF figures, kernel PSI/cpu.stat, rates over the last sample
 * interval and active pressure episodes. No syscalls: time is an argument.
 *
 * Every per-cgroup operation is O(1) (a node with 20,000 short-lived
 * cgroups makes thousands of them a second): lookups by id and by path are
 * hashed, the cgroups sit in a dense array for iteration, and removed
 * cgroups wait in a FIFO for their grace period. Only the path-sorted view
 * for listings costs O(n log n), rebuilt on demand when the set changed.
 */
#ifndef CGPILOT_MODEL_H
#define CGPILOT_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "cgroupfs.h"
#include "telemetry.h"

enum psi_res { PSI_CPU = 0, PSI_MEMORY = 1, PSI_IO = 2, PSI_RES_MAX = 3 };

struct cg_figures {
	struct cgp_cg_stats bpf; /* cumulative, as last read */
	uint64_t bpf_ns; /* when bpf was read (CLOCK_MONOTONIC), 0 never */
	/* seconds per second over the last sample interval */
	double cpu_rate, cpu_wait_rate, reclaim_rate, iowait_rate;
	double io_bytes_rate;
	struct psi_totals psi[PSI_RES_MAX];
	bool psi_valid;
	uint64_t usage_usec;
	bool usage_valid;
	uint64_t memory_current; /* memory.current, where the controller is on */
	bool memory_valid;
	uint64_t kernel_ns; /* when psi/usage/memory were read, 0 never */
	/* files-only mode (no BPF): cpu.stat usage per second between the last
	 * two reads (hierarchical), and io.stat summed over disks */
	double usage_rate;
	struct io_stat_totals io_stat;
	bool io_stat_valid;
	uint64_t oom_kills_user; /* kills attributed in user space (no BPF attribution) */
	uint64_t oom_kill_local; /* memory.events.local oom_kill when last read */
	bool oom_kill_local_valid;
	/* when a BPF reading last differed from the one before, 0 never */
	uint64_t bpf_moved_ns;
	/* the files' sweep of a quiet cgroup (model_sweep_due): reads in a row
	 * that found its files as they were, and sweeps left to pass it by */
	uint8_t sweep_quiet, sweep_skip;
};

#define CG_WIN_MISMATCH 0x80000000u

/* A subtree's figures: a cgroup's own (its tasks') summed with its
 * descendants'. The BPF counters are each cgroup's own. */
struct cg_sums {
	uint64_t oncpu_ns, rq_delay_ns, reclaim_ns, iowait_ns, oom_kills;
	uint64_t io_bytes[CGP_IO_DIRS], io_ops[CGP_IO_DIRS];
};

void cg_sums_add(struct cg_sums *s, const struct cg_sums *o);

struct cg {
	uint64_t id;
	char *path; /* relative to the v2 mount, "" for the root: raw bytes */
	/* path as users see it (valid UTF-8, see cgfs_display_path); NULL: the
	 * same as path */
	char *display;
	bool path_partial; /* path was cut short in a BPF event: resolve by id */
	int64_t slot; /* -1: BPF has not seen it */
	uint32_t active; /* bit per enum cgp_signal in an onset episode */
	/* the BPF windows' mask seen differ from active at the last tick, with
	 * CG_WIN_MISMATCH set; 0: they agreed (daemon/observe.c) */
	uint32_t win_mismatch;
	uint64_t dead_ns; /* removed at (0: alive) */
	struct cg_figures fig;
	/* for /metrics (daemon/export.c): whether it has series now; its
	 * identity's kind (lib/identity.h), cached until the path changes; its
	 * rank; when its counters last moved (a sample tick) */
	bool exported;
	bool id_valid;
	uint8_t id_kind;
	uint8_t tier;
	uint64_t active_ns;
	/* a subtree root (a pod, a containers' parent): what its descendants
	 * retired from the model had counted, so that its subtree sums never go
	 * back; NULL: not a root */
	struct cg_sums *gone;
	uint64_t parent_id; /* cached with id_valid, 0: none in the model */
	/* the model's links */
	struct cg *hnext; /* id hash chain */
	struct cg *pnext, **pprev; /* path hash chain, while alive (pprev NULL: out) */
	struct cg *dnext, *dprev; /* dead FIFO, while dead_ns */
	unsigned idx; /* position in the dense array */
};

struct model;

struct model *model__new(void);
/* With a seed for the path hash (the daemon's is random). */
struct model *model__new_seeded(uint64_t seed);
void model__free(struct model *m);

/*
 * Hooks for the modules that follow cgroups (daemon/containers.c): @on_live
 * when a cgroup is alive with its whole path (added, revived, renamed or its
 * cut path resolved; possibly more than once for one cgroup), @on_dead when
 * it is marked removed. They must not change the model.
 */
void model__set_hooks(struct model *m, void (*on_live)(void *ud, const struct cg *c),
		      void (*on_dead)(void *ud, const struct cg *c), void *ud);

/* Add, or update the path of, a cgroup (alive again if it was dead).
 * Returns 1 if added, 0 if it existed. */
int model__add(struct model *m, uint64_t id, const char *path, struct cg **ret);
struct cg *model__find(const struct model *m, uint64_t id);
/* The live cgroup at a raw path. */
struct cg *model__find_path(const struct model *m, const char *path);
/* Set a cgroup's path (rename, or a path resolved by id). */
int model__set_path(struct model *m, struct cg *c, const char *path);
/* The path is a cut prefix: out of the path hash, a display form of its own. */
int model__mark_partial(struct model *m, struct cg *c);
/* Mark removed at now (no-op if already dead): queued for retirement. */
void model__mark_dead(struct model *m, struct cg *c, uint64_t now_ns);
/* The cgroup dead the longest, if it died at or before @before_ns. */
struct cg *model__oldest_dead(const struct model *m, uint64_t before_ns);
/* Drop a cgroup entirely. */
void model__remove(struct model *m, uint64_t id);
unsigned model__count(const struct model *m);
/* Every cgroup, in no order; valid until the next add/remove. */
struct cg *const *model__all(const struct model *m, unsigned *ret_n);
/* All cgroups sorted by path; the array is owned by the model and valid
 * until the next add/remove. */
struct cg **model__sorted(struct model *m, unsigned *ret_n);

/* The cgroup's own figures as sums. */
void cg_local_sums(const struct cg *c, struct cg_sums *ret);
/* The live parent of a cgroup in the model (NULL: none, or the root). */
struct cg *model__parent(struct model *m, struct cg *c);
/* Make @c a subtree root (its retired descendants are kept in c->gone). */
int model__make_root(struct model *m, struct cg *c);
/*
 * Subtree sums, into @sums indexed by each cgroup's idx (model__count()
 * entries, zeroed by the caller): every cgroup's own figures are added to
 * its own entry and to each ancestor's; with @roots_only, only to subtree
 * roots (the rest stay zero). Roots get their retired descendants too.
 */
void model__subtree_sums(struct model *m, struct cg_sums *sums, bool roots_only);

/* Apply a BPF event. Returns the cgroup it concerns (NULL if unknown). */
struct cg *model__apply_event(struct model *m, const struct cgp_event *e, uint64_t now_ns);

/* Fold a new cumulative BPF reading into the figures, updating rates. */
void model_update_bpf(struct cg_figures *f, const struct cgp_cg_stats *s, uint64_t now_ns);

/*
 * The sweep of the kernel's files (PSI, cpu.stat, memory.current) backs off
 * from a quiet cgroup: one whose files read the same MODEL_SWEEP_QUIET_MAX
 * times in a row is read every 2^MODEL_SWEEP_QUIET_MAX-th sweep (after 1,
 * then 3, then 7 sweeps passed by), and at once again when its BPF counters
 * move. Most cgroups of a big node are empty; their files cannot change
 * without tasks. model_sweep_due: whether to read it on this visit (a pass
 * counts down). model_sweep_note: after a read, against the figures before.
 */
#define MODEL_SWEEP_QUIET_MAX 3
bool model_sweep_due(struct cg_figures *f);
void model_sweep_note(struct cg_figures *f, const struct cg_figures *before);

/* Render a path for users: "/" for the root, valid UTF-8 always. */
static inline const char *cg_display_path(const struct cg *c)
{
	if (c->display)
		return c->display;
	return c->path[0] ? c->path : "/";
}

#endif
