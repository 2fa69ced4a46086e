/* SPDX-License-Identifier: Apache-2.0 */
/* Loading, attaching and reading the BPF telemetry (bpf/telemetry.bpf.c). */
#ifndef CGPILOT_DAEMON_TELEMETRY_H
#define CGPILOT_DAEMON_TELEMETRY_H

#include <stdbool.h>
#include <stdint.h>

/* the structs shared with the BPF side (same base name, other directory) */
#include "../include/telemetry.h"

struct telemetry;

struct telemetry_opts {
	const char *pin_dir; /* maps pinned under <pin_dir>/v<layout>/ ; NULL: no pinning */
	uint32_t max_cgroups;
	bool io_blkcg_v2;
	uint64_t window_ns;
	uint64_t default_threshold_ns[CGP_SIG_MAX];
};

typedef int (*telemetry_event_fn)(void *ctx, const struct cgp_event *e);

/* Optional features, probed at load. */
struct telemetry_features {
	bool oom_task; /* mark_victim passes the task (v6.8+) */
	bool oom_pid; /* mark_victim passes a pid (< v6.8) */
	bool memcg_reclaim; /* mm_vmscan_memcg_reclaim_* present */
	bool direct_reclaim; /* mm_vmscan_direct_reclaim_* present */
	bool block; /* block_rq_* present */
	bool cgroup_events; /* cgroup_mkdir/rmdir present */
	bool maps_reused; /* pinned maps from a previous run were reused */
	/* what was done to pinned maps that could not be reused, "" if nothing */
	char pins_note[512];
};

struct telemetry_prog_info {
	char name[64];
	uint32_t id;
	uint64_t run_cnt;
	uint64_t run_time_ns;
};

/* -ESTALE: maps pinned by an earlier run do not fit this build or config. */
int telemetry__new(const struct telemetry_opts *opts, telemetry_event_fn fn, void *ctx,
		   struct telemetry **ret);
void telemetry__free(struct telemetry *t);

/* What keeps the programs from loading, as telemetry__why_failed() found it. */
struct telemetry_failure {
	/* the kernel feature missing: "btf", "bpf_syscall", "ringbuf", "task_storage",
	 * "syscall_programs", "bpf_loop", "bpf_timer"; "load" if none could be named */
	char feature[32];
	char why[512]; /* for the log and status: what is missing, and what to do */
};

/*
 * Why telemetry__new() failed with @err: the kernel probed feature by
 * feature, in the order the programs need them (BTF, the bpf(2) syscall
 * itself, then the map and program types and helpers they use). The
 * accessors below all take a NULL handle, so that the daemon can go on
 * without BPF.
 */
void telemetry__why_failed(int err, struct telemetry_failure *ret);

const struct telemetry_features *telemetry__features(const struct telemetry *t);
/* Name of every tracepoint program not loaded because the kernel lacks it,
 * comma-separated ("" if none). */
const char *telemetry__missing(const struct telemetry *t);

int telemetry__ringbuf_fd(const struct telemetry *t);
/* Consume available events, calling fn for each. Returns count or -errno. */
int telemetry__consume(struct telemetry *t);

/* Settings changeable at run time (SIGHUP). */
void telemetry__set_window(struct telemetry *t, uint64_t window_ns,
			   const uint64_t default_threshold_ns[CGP_SIG_MAX]);
int telemetry__set_threshold(struct telemetry *t, uint64_t cgid, const struct cgp_threshold *th);
int telemetry__get_threshold(struct telemetry *t, uint64_t cgid, struct cgp_threshold *ret);
/* Drop a cgroup's own thresholds (it is gone); -ENOENT if it had none. */
int telemetry__forget_threshold(struct telemetry *t, uint64_t cgid);

/* The slot of a cgroup, or -ENOENT if BPF has not seen it yet. */
int telemetry__slot_of(struct telemetry *t, uint64_t cgid, uint32_t *ret_slot);
/* cgroup ids and slots of every cgroup with a slot; returns the count. */
int telemetry__slots(struct telemetry *t, uint64_t *ret_ids, uint32_t *ret_slots, uint32_t max);
/* A slot's counters: the per-CPU ones summed over CPUs, and the shared. */
int telemetry__read_slot(struct telemetry *t, uint32_t slot, struct cgp_cg_stats *ret);
/* The same for @n slots in ascending order into @ret[0..n): neighbouring
 * slots are read with one batch lookup of each map. 0 or -errno. */
int telemetry__read_slots(struct telemetry *t, const uint32_t *slots, unsigned n,
			  struct cgp_cg_stats *ret);
/* The run-queue wait of protected cgroups per CPU so far (ns), CPU by CPU
 * into @ret (at most @max): the number of CPUs read, or -errno. */
int telemetry__prot_wait(struct telemetry *t, uint64_t *ret, unsigned max);
/* Start the window timer, which ends the onset episodes whose samples
 * stopped, unless it runs (done at start; telemetry__maintain() does it too).
 * No longer needed after releases, and harmless there. Returns 0 or -errno
 * (-ENOMEM: setting it up failed, try again later). */
int telemetry__init_timers(struct telemetry *t);
/* Forget a dead cgroup: unmap its id, zero its slot, return it to the pool. */
int telemetry__release(struct telemetry *t, uint64_t cgid, uint32_t slot);

/*
 * Call once per sample tick. Ends every onset episode the window timer did
 * not (its window ended two windows ago, on the window clock): emits its
 * cleared into the ring buffer, counted in self_stats.cleared_by_sweep; and
 * restarts the window timer if it has stopped (self_stats.timer_restarts).
 * Runs the cgp_maintain program: one pass over max_cgroups slots. Returns
 * the number of episodes it ended, or -errno. Its cleared events come
 * through the ring buffer like any other: consume them (telemetry__consume())
 * before comparing the model with telemetry__win_active().
 */
int telemetry__maintain(struct telemetry *t);

/*
 * BPF's view of a slot's onset state: *ret_cgid its owner (0 if free),
 * *ret_active_mask bit (1u << enum cgp_signal) set for each signal in an
 * episode. To correct a model whose onset or cleared was dropped (ring
 * buffer full, self_stats.drops); use it only if *ret_cgid is the cgroup the
 * model has on that slot. Returns 0, -ENOENT for a slot out of range, or
 * -errno.
 */
int telemetry__win_active(struct telemetry *t, uint32_t slot, uint64_t *ret_cgid,
			  uint32_t *ret_active_mask);
/* The slot's windows themselves (their sums and thresholds), as above. */
int telemetry__win(struct telemetry *t, uint32_t slot, uint64_t *ret_cgid,
		   struct cgp_window ret[CGP_SIG_MAX]);

void telemetry__self_stats(const struct telemetry *t, struct cgp_self_stats *ret);
/* Our programs with their run counters; returns count. */
int telemetry__progs(struct telemetry *t, struct telemetry_prog_info *ret, int max);

/* One of our BPF maps as the kernel describes it. */
struct telemetry_map_info {
	char name[64];
	uint32_t id;
	uint32_t type; /* enum bpf_map_type */
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	bool internal; /* the programs' global data (.data, .bss, .rodata) */
	uint64_t memlock; /* the kernel's figure of its memory (fdinfo), 0 if none */
	char pin_path[512]; /* "" when not pinned */
};

/* Our maps, in the object's order; returns the count or -errno. */
int telemetry__maps(struct telemetry *t, struct telemetry_map_info *ret, int max);

/* A cg_win entry: its cgroup and the onset window of each signal. */
struct telemetry_win {
	uint64_t cgid;
	struct cgp_window w[CGP_SIG_MAX];
};

/* An in-flight block request of rq_start: its address, issue time and cgroup. */
struct telemetry_rq {
	uint64_t rq;
	uint64_t issue_ns;
	uint64_t cgid;
	uint32_t dev; /* its disk, major << 20 | first minor */
};

/*
 * Decoded entries, one callback each; a callback returning non-zero stops the
 * walk and is returned. Arrays skip entries that are all zero.
 */
typedef int (*telemetry_threshold_fn)(void *ctx, uint64_t cgid, const struct cgp_threshold *th);
typedef int (*telemetry_stats_fn)(void *ctx, uint32_t slot, const struct cgp_cg_stats *s);
typedef int (*telemetry_win_fn)(void *ctx, uint32_t slot, const struct telemetry_win *w);
typedef int (*telemetry_rq_fn)(void *ctx, const struct telemetry_rq *rq);
typedef int (*telemetry_bio_fn)(void *ctx, uint64_t bio, uint64_t cgid);

int telemetry__dump_thresholds(struct telemetry *t, telemetry_threshold_fn fn, void *ctx);
/* cg_stats and cg_shared: a slot's view, as telemetry__read_slot(). */
int telemetry__dump_stats(struct telemetry *t, telemetry_stats_fn fn, void *ctx);
int telemetry__dump_win(struct telemetry *t, telemetry_win_fn fn, void *ctx);
int telemetry__dump_rq(struct telemetry *t, telemetry_rq_fn fn, void *ctx);
int telemetry__dump_bio(struct telemetry *t, telemetry_bio_fn fn, void *ctx);

#endif
