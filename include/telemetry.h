/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Structures shared by bpf/telemetry.bpf.c and user space. Fixed-width types
 * only, explicit padding, sizes asserted: both sides read the same bytes.
 */
#ifndef CGPILOT_TELEMETRY_H
#define CGPILOT_TELEMETRY_H

#ifdef __bpf__
/* vmlinux.h provides the __u* types. */
#else
#include <linux/types.h>
#endif

/* Log2 histogram slots of microseconds: slot 0 holds 0..1 us, slot k
 * (k >= 1) holds [2^k, 2^(k+1)) us. The last slot also takes everything
 * larger. */
#define CGP_HIST_SLOTS 32

/* Version of the pinned layout under the pin directory; bump on any change
 * of a map's key or value layout. */
#define CGP_LAYOUT_VERSION 3

enum cgp_signal {
	CGP_SIG_CPU = 0, /* run-queue delay */
	CGP_SIG_MEM = 1, /* reclaim stall */
	/* block I/O latency past the threshold: a request's issue-to-complete
	 * time above it adds the excess (so one request at twice the threshold
	 * is an onset, as are several just above it) */
	CGP_SIG_IO = 2,
	CGP_SIG_MAX = 3,
};

enum cgp_io_dir {
	CGP_IO_READ = 0,
	CGP_IO_WRITE = 1,
	CGP_IO_DIRS = 2,
};

/*
 * A cgroup's counters live in two maps indexed by its slot, so that their
 * kernel memory grows with the CPUs only for what every context switch
 * touches:
 *  - cg_stats, a per-CPU array of struct cgp_cg_hot: the counters of the
 *    scheduler's hooks (each switch and wakeup), added without atomics;
 *  - cg_shared, one array of struct cgp_cg_shared: reclaim, block I/O, OOM
 *    kills and both histograms, added with atomic adds (a histogram slot is
 *    one locked add where a per-CPU copy would cost 512 bytes a CPU).
 * At 16,384 slots on 128 CPUs that is 96 MiB and 9 MiB, where one per-CPU
 * value of everything (624 bytes) took 1.2 GiB. Local figures: a task's
 * time counts for its own cgroup only; user space sums subtrees.
 */
struct cgp_cg_hot {
	__u64 rq_delay_ns; /* run-queue wait, summed over tasks */
	__u64 rq_count; /* number of waits ended by a switch-in */
	__u64 oncpu_ns; /* on-CPU time */
	__u64 nvcsw; /* voluntary context switches (prev went to sleep) */
	__u64 nivcsw; /* involuntary (prev still runnable) */
	__u64 iowait_ns; /* sleeping in iowait until woken */
};
_Static_assert(sizeof(struct cgp_cg_hot) == 6 * sizeof(__u64), "cgp_cg_hot layout");

struct cgp_cg_shared {
	__u64 reclaim_ns; /* direct + memcg reclaim stall */
	__u64 reclaim_count; /* reclaim episodes */
	__u64 io_bytes[CGP_IO_DIRS];
	__u64 io_ops[CGP_IO_DIRS];
	__u64 io_lat_ns; /* sum of block request latency, issue to complete */
	__u64 oom_kills; /* victims chosen in this cgroup */
	__u64 rq_hist[CGP_HIST_SLOTS];
	__u64 io_hist[CGP_HIST_SLOTS];
};
_Static_assert(sizeof(struct cgp_cg_shared) == (8 + 2 * CGP_HIST_SLOTS) * sizeof(__u64),
	       "cgp_cg_shared layout");

/* User space's view of a slot: the per-CPU counters summed, beside the
 * shared ones. Not a map value. */
struct cgp_cg_stats {
	__u64 rq_delay_ns;
	__u64 rq_count;
	__u64 oncpu_ns;
	__u64 nvcsw;
	__u64 nivcsw;
	__u64 reclaim_ns;
	__u64 reclaim_count;
	__u64 iowait_ns;
	__u64 io_bytes[CGP_IO_DIRS];
	__u64 io_ops[CGP_IO_DIRS];
	__u64 io_lat_ns;
	__u64 oom_kills;
	__u64 rq_hist[CGP_HIST_SLOTS];
	__u64 io_hist[CGP_HIST_SLOTS];
};

/* Onset detection state of one signal of one cgroup; see include/onset.h. */
struct cgp_window {
	__u64 start_ns; /* start of the current window */
	__u64 sum_ns; /* sum in the current window */
	__u64 last_sum_ns; /* sum of the last closed window */
	__u64 threshold_ns; /* threshold in force for the current window, 0 = off */
	__u64 event_start_ns; /* start of the window that last emitted an event */
	__u32 active; /* 1 from onset to cleared */
	__u32 flags; /* the cgroup's threshold flags, taken at each window roll */
};
_Static_assert(sizeof(struct cgp_window) == 48, "cgp_window layout");

/* Value of the thresholds map (key: cgroup id). 0 disables a signal for the
 * cgroup; a cgroup without an entry uses the defaults in cgp_config. */
struct cgp_threshold {
	__u64 ns[CGP_SIG_MAX];
	__u64 flags; /* CGP_TH_* */
};
_Static_assert(sizeof(struct cgp_threshold) == 32, "cgp_threshold layout");

/* A protected (guaranteed) cgroup's: its run-queue waits are also summed per
 * CPU (the prot_wait per-CPU array), so that the CPU ladder's cpuset rung
 * moves besteffort away from the CPUs where protected work waits. */
#define CGP_TH_PROTECTED 1ULL

/* Run-time settings, held in the program's .data and written by the daemon
 * through the skeleton (no reload needed). */
struct cgp_config {
	__u64 window_ns; /* onset window length */
	__u64 default_threshold_ns[CGP_SIG_MAX];
};
_Static_assert(sizeof(struct cgp_config) == 32, "cgp_config layout");

enum cgp_event_type {
	CGP_EV_CGROUP_MKDIR = 1,
	CGP_EV_CGROUP_RMDIR = 2,
	CGP_EV_OOM_KILL = 3,
	CGP_EV_ONSET = 4,
	CGP_EV_CLEARED = 5,
	CGP_EV_MAX = 6,
};

#define CGP_PATH_MAX 192
#define CGP_COMM_LEN 16

/* Ring buffer record. */
struct cgp_event {
	__u32 type; /* enum cgp_event_type */
	__u32 signal; /* enum cgp_signal, for onset/cleared */
	__u64 ts_ns; /* CLOCK_MONOTONIC */
	__u64 cgid; /* cgroup v2 id; 0 if BPF could not attribute (OOM on old kernels) */
	__u64 value; /* onset: window sum so far; cleared: last window's sum */
	__u64 threshold;
	__u32 pid; /* OOM victim; I/O onset: the device (major << 20 | minor) */
	__u32 pad;
	char comm[CGP_COMM_LEN];
	char path[CGP_PATH_MAX]; /* mkdir/rmdir: path relative to the v2 root */
};
_Static_assert(sizeof(struct cgp_event) == 48 + CGP_COMM_LEN + CGP_PATH_MAX, "cgp_event layout");

/* Counters of the telemetry programs themselves (in .bss, not pinned: a
 * restarted daemon starts them at 0). New fields go at the end. */
struct cgp_self_stats {
	__u64 events[CGP_EV_MAX]; /* submitted to the ring buffer, by type */
	__u64 drops[CGP_EV_MAX]; /* ring buffer full, by type */
	__u64 slot_alloc_fail; /* a cgroup found no free slot */
	__u64 no_task_ctx; /* a task had no local storage */
	/* How episodes end, to see when the window timer failed: */
	__u64 cleared_by_sample; /* a sample of the cgroup rolled the window */
	__u64 cleared_by_timer; /* the window timer did */
	__u64 cleared_by_sweep; /* the maintenance sweep did: the timer had not */
	__u64 cleared_no_cgid; /* ended on a slot with no cgroup id (not reported) */
	__u64 episode_track_fail; /* an onset could not enter the timer's episodes (full) */
	__u64 timer_setup_fail; /* the window timer could not be set up or started */
	__u64 timer_restarts; /* the window timer had stopped and was started again */
	__u64 sweep_runs; /* runs of cgp_maintain */
};
_Static_assert(sizeof(struct cgp_self_stats) == (2 * CGP_EV_MAX + 10) * sizeof(__u64),
	       "cgp_self_stats layout");

/* Context (BPF_PROG_TEST_RUN ctx_in) of the cgp_reset_slot program: give
 * @slot a clean onset state owned by @cgid (0 for a free slot), and take it
 * out of the window timer's episodes. */
struct cgp_slot_args {
	__u64 cgid;
	__u32 slot;
	__u32 pad;
};
_Static_assert(sizeof(struct cgp_slot_args) == 16, "cgp_slot_args layout");

#endif
