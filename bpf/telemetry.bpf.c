// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * In-kernel telemetry: per cgroup (v2 id) run-queue delay, on-CPU time,
 * context switches, reclaim stall, I/O bytes/ops/latency, I/O wait and OOM
 * kills, plus windowed pressure onset detection pushed through a ring buffer.
 *
 * Hot path layout: each task carries local storage (created at fork, or by
 * the task iterator for tasks that existed before we loaded) caching its
 * cgroup id and that cgroup's slot; per-cgroup counters live in a per-CPU
 * array indexed by slot, so a switch costs two storage lookups and two
 * inlined array lookups, no hashing. Slots come from a queue map that user
 * space fills and refills when cgroups die.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "core_fixes.bpf.h"
#include "telemetry.h"
#include "onset.h"
#include "hist.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define CGP_MAX_CGROUPS_DEFAULT 4096
#define TASK_RUNNING_STATE 0
#define CGP_CLOCK_MONOTONIC 1

/* Fixed at load by user space. */
const volatile bool io_blkcg_v2 = true; /* io controller on the v2 hierarchy */
const volatile __u32 nr_slots = CGP_MAX_CGROUPS_DEFAULT; /* entries of the slot maps */

/* Changed at run time by user space (mmapped .data). */
struct cgp_config cfg = {
	.window_ns = 100000000ULL,
	.default_threshold_ns = { 20000000ULL, 10000000ULL },
};

struct cgp_self_stats self_stats;

/*
 * Run-queue waits are timed with the run queue's own clock, as the kernel's
 * schedstat run_delay is: both ends of a wait update it just before our
 * tracepoints (enqueue under the rq lock, __schedule), and reading it is a
 * few loads where bpf_ktime_get_ns() is a clocksource read (the single
 * largest cost of the switch handler). The rq is reached through the task's
 * cfs_rq (set for every task, whatever its class, on the CPU it is queued
 * on); without CONFIG_FAIR_GROUP_SCHED there is no cfs_rq->rq and we fall
 * back to CLOCK_MONOTONIC. Onset windows run on the same clock; the window
 * timer, which has no task at hand, converts from CLOCK_MONOTONIC with an
 * offset taken at onset.
 */
static __always_inline __u64 task_rq_clock(struct task_struct *p)
{
	if (bpf_core_field_exists(p->se.cfs_rq->rq)) {
		struct cfs_rq *cfs = p->se.cfs_rq;

		if (cfs)
			return cfs->rq->clock;
	}
	return bpf_ktime_get_ns();
}

struct task_ctx {
	__u64 enq_ns; /* entered the run queue, 0 if not queued */
	__u64 exec_base; /* se.sum_exec_runtime when last accounted */
	__u64 iowait_ns; /* went to sleep in iowait */
	__u64 reclaim_ns; /* entered reclaim */
	__u64 cgid; /* cached cgroup id ... */
	__u32 slot; /* ... and its slot */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctx SEC(".maps");

/* cgroup id -> slot */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CGP_MAX_CGROUPS_DEFAULT);
	__type(key, __u64);
	__type(value, __u32);
} cg_slot SEC(".maps");

/* free slots */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, CGP_MAX_CGROUPS_DEFAULT);
	__type(value, __u32);
} slot_free SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CGP_MAX_CGROUPS_DEFAULT);
	__type(key, __u32);
	__type(value, struct cgp_cg_stats);
} cg_stats SEC(".maps");

struct win_val {
	struct cgp_window w[CGP_SIG_MAX];
	__u64 cgid;
	__s64 clock_off; /* CLOCK_MONOTONIC minus run-queue clock, at onset */
	struct bpf_timer timer; /* re-checks an active episode when samples stop */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CGP_MAX_CGROUPS_DEFAULT);
	__type(key, __u32);
	__type(value, struct win_val);
} cg_win SEC(".maps");

/* cgroup id -> per-cgroup thresholds (default in cfg) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CGP_MAX_CGROUPS_DEFAULT);
	__type(key, __u64);
	__type(value, struct cgp_threshold);
} thresholds SEC(".maps");

struct rq_info {
	__u64 issue_ns;
	__u64 cgid;
};

/* in-flight block requests; LRU reclaims requests we never see complete */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct rq_info);
} rq_start SEC(".maps");

/* bio -> submitting task's cgroup, used when the io controller is not on v2 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} bio_cg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Histogram index the verifier can bound on every kernel: 6.1 loses the
 * range through cgp_hist_slot's 32-bit ORs, so mask it as an opaque value. */
static __always_inline __u32 hist_idx(__u64 us)
{
	__u32 s = cgp_hist_slot(us);

	asm volatile("" : "+r"(s));
	return s & (CGP_HIST_SLOTS - 1);
}

static __always_inline void emit(__u32 type, __u32 signal, __u64 cgid, __u64 value, __u64 threshold)
{
	struct cgp_event *e;

	if (type >= CGP_EV_MAX)
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&self_stats.drops[type], 1);
		return;
	}
	e->type = type;
	e->signal = signal;
	e->ts_ns = bpf_ktime_get_ns();
	e->cgid = cgid;
	e->value = value;
	e->threshold = threshold;
	e->pid = 0;
	e->pad = 0;
	e->comm[0] = 0;
	e->path[0] = 0;
	bpf_ringbuf_submit(e, 0);
	__sync_fetch_and_add(&self_stats.events[type], 1);
}

/* Slot of a cgroup, allocated on first sight. Returns -1 if none is free. */
static __always_inline int slot_of(__u64 cgid, __u32 *ret_slot)
{
	__u32 *s, slot;

	s = bpf_map_lookup_elem(&cg_slot, &cgid);
	if (s) {
		*ret_slot = *s;
		return 0;
	}
	if (bpf_map_pop_elem(&slot_free, &slot)) {
		__sync_fetch_and_add(&self_stats.slot_alloc_fail, 1);
		return -1;
	}
	if (bpf_map_update_elem(&cg_slot, &cgid, &slot, BPF_NOEXIST)) {
		/* lost a race with another CPU (or the map is full) */
		bpf_map_push_elem(&slot_free, &slot, 0);
		s = bpf_map_lookup_elem(&cg_slot, &cgid);
		if (!s)
			return -1;
		slot = *s;
	} else {
		struct win_val *wv = bpf_map_lookup_elem(&cg_win, &slot);

		if (wv)
			wv->cgid = cgid;
	}
	*ret_slot = slot;
	return 0;
}

static __always_inline int task_slot(struct task_struct *t, struct task_ctx *tc, __u32 *ret_slot)
{
	__u64 cgid = cgp_task_cgid(t);

	if (tc->cgid == cgid) {
		*ret_slot = tc->slot;
		return 0;
	}
	if (slot_of(cgid, ret_slot))
		return -1;
	tc->cgid = cgid;
	tc->slot = *ret_slot;
	return 0;
}

static __always_inline struct cgp_cg_stats *stats_of(__u32 slot)
{
	return bpf_map_lookup_elem(&cg_stats, &slot);
}

static __always_inline struct task_ctx *tctx(struct task_struct *t)
{
	return bpf_task_storage_get(&task_ctx, t, 0, 0);
}

static __always_inline __u64 threshold_of(__u64 cgid, __u32 sig)
{
	struct cgp_threshold *th = bpf_map_lookup_elem(&thresholds, &cgid);

	if (sig >= CGP_SIG_MAX)
		return 0;
	if (th)
		return th->ns[sig];
	return cfg.default_threshold_ns[sig];
}

static int win_timer_cb(void *map, __u32 *key, struct win_val *wv);

/* Add a pressure sample to a cgroup's window; emits onset/cleared. */
static __always_inline void window_sample(__u32 slot, __u64 cgid, __u32 sig, __u64 now, __u64 delta)
{
	struct win_val *wv = bpf_map_lookup_elem(&cg_win, &slot);
	struct cgp_window *w;
	__u64 win = cfg.window_ns, value = 0;
	int r;

	if (!wv || sig >= CGP_SIG_MAX || !win)
		return;
	w = &wv->w[sig];
	if (cgp_window_due(w, now, win)) {
		r = cgp_window_roll(w, now, win, threshold_of(cgid, sig), &value);
		if (r == CGP_ONSET_CLEARED)
			emit(CGP_EV_CLEARED, sig, cgid, value, w->threshold_ns);
	}
	if (!w->threshold_ns)
		return;
	r = cgp_window_add(w, now, delta, &value);
	if (r == CGP_ONSET_ONSET) {
		emit(CGP_EV_ONSET, sig, cgid, value, w->threshold_ns);
		wv->clock_off = (__s64)(bpf_ktime_get_ns() - now);
		/* a cleared must come even if samples stop: check each window.
		 * Only start here: bpf_timer_init allocates, and an allocation
		 * under the run-queue lock can wake kswapd onto this very run
		 * queue (a deadlock); cgp_init_timers does it from user space. */
		bpf_timer_start(&wv->timer, win, 0);
	}
}

static int win_timer_cb(void *map, __u32 *key, struct win_val *wv)
{
	__u64 now = bpf_ktime_get_ns() - (__u64)wv->clock_off, win = cfg.window_ns, value = 0;
	int again = 0;

	if (!win)
		return 0;
	for (__u32 sig = 0; sig < CGP_SIG_MAX; sig++) {
		struct cgp_window *w = &wv->w[sig];

		if (!w->active)
			continue;
		if (cgp_window_due(w, now, win) &&
		    cgp_window_roll(w, now, win, threshold_of(wv->cgid, sig), &value) ==
			    CGP_ONSET_CLEARED)
			emit(CGP_EV_CLEARED, sig, wv->cgid, value, w->threshold_ns);
		if (w->active)
			again = 1;
	}
	if (again)
		bpf_timer_start(&wv->timer, win, 0);
	return 0;
}

static long init_timer_cb(__u32 index, void *ctx)
{
	__u32 slot = index;
	struct win_val *wv = bpf_map_lookup_elem(&cg_win, &slot);

	if (!wv)
		return 1;
	/* -EBUSY for a timer that is already set up: nothing to do */
	if (!bpf_timer_init(&wv->timer, &cg_win, CGP_CLOCK_MONOTONIC))
		bpf_timer_set_callback(&wv->timer, win_timer_cb);
	return 0;
}

/* Run by the daemon (BPF_PROG_TEST_RUN) at start and after it recycles
 * slots (overwriting an element frees its timer): sets up every window
 * timer in process context, where allocating is safe. */
SEC("syscall")
int cgp_init_timers(void *ctx)
{
	bpf_loop(nr_slots, init_timer_cb, NULL, 0);
	return 0;
}

/* ---- CPU ---- */

static __always_inline void on_wakeup(struct task_struct *p)
{
	struct task_ctx *tc;
	__u64 now;

	if (!p->pid)
		return;
	tc = tctx(p);
	if (!tc)
		return;
	now = task_rq_clock(p);
	tc->enq_ns = now;
	if (tc->iowait_ns) {
		__u32 slot;
		struct cgp_cg_stats *st;

		if (!task_slot(p, tc, &slot) && (st = stats_of(slot)))
			st->iowait_ns += now - tc->iowait_ns;
		tc->iowait_ns = 0;
	}
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(cgp_sched_wakeup, struct task_struct *p)
{
	on_wakeup(p);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(cgp_sched_wakeup_new, struct task_struct *p)
{
	on_wakeup(p);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(cgp_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u64 now = task_rq_clock(next->pid ? next : prev);
	struct cgp_cg_stats *st;
	struct task_ctx *tc;
	__u32 slot;

	if (prev->pid && (tc = tctx(prev)) && !task_slot(prev, tc, &slot) &&
	    (st = stats_of(slot))) {
		__u64 sum = prev->se.sum_exec_runtime;

		/*
		 * On-CPU time from the scheduler's own runtime (steal and IRQ
		 * time excluded, as in cpu.stat), brought up to date before
		 * this tracepoint. Counted from one switch-out to the next, not
		 * from the switch-in: it only grows while the task runs, so a
		 * switch we did not see costs no time (some threads' switches
		 * never reach tracepoint programs, e.g. on nested hosts).
		 */
		st->oncpu_ns += sum - tc->exec_base;
		tc->exec_base = sum;
		if (prev_state == TASK_RUNNING_STATE) {
			st->nivcsw++;
			tc->enq_ns = now; /* still runnable: back in the queue */
		} else {
			st->nvcsw++;
			tc->enq_ns = 0; /* asleep: a missed switch-in leaves no stale wait */
			if (cgp_task_in_iowait(prev))
				tc->iowait_ns = now;
		}
	}

	if (!next->pid || !(tc = tctx(next)))
		return 0;
	if (!tc->enq_ns)
		return 0;
	if (!task_slot(next, tc, &slot) && (st = stats_of(slot))) {
		__u64 delta = now - tc->enq_ns;

		st->rq_delay_ns += delta;
		st->rq_count++;
		st->rq_hist[hist_idx(delta / 1000)]++;
		window_sample(slot, tc->cgid, CGP_SIG_CPU, now, delta);
	}
	tc->enq_ns = 0;
	return 0;
}

/* Task storage for every new task; the sched hooks never allocate (they run
 * under the run-queue lock). */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(cgp_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	bpf_task_storage_get(&task_ctx, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	return 0;
}

/* Run once at start: storage for the tasks that existed before. */
SEC("iter/task")
int cgp_iter_task(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct task_ctx *tc;

	if (!t)
		return 0;
	tc = bpf_task_storage_get(&task_ctx, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	/* count on-CPU time from now on, not the task's whole past */
	if (tc && !tc->exec_base)
		tc->exec_base = t->se.sum_exec_runtime;
	return 0;
}

/* ---- memory ---- */

static __always_inline void reclaim_begin(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task_btf();
	struct task_ctx *tc = tctx(t);

	if (tc && !tc->reclaim_ns)
		tc->reclaim_ns = bpf_ktime_get_ns();
}

static __always_inline void reclaim_end(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task_btf();
	struct task_ctx *tc = tctx(t);
	struct cgp_cg_stats *st;
	__u64 now, delta;
	__u32 slot;

	if (!tc || !tc->reclaim_ns)
		return;
	now = bpf_ktime_get_ns();
	delta = now - tc->reclaim_ns;
	tc->reclaim_ns = 0;
	if (task_slot(t, tc, &slot) || !(st = stats_of(slot)))
		return;
	st->reclaim_ns += delta;
	st->reclaim_count++;
	window_sample(slot, tc->cgid, CGP_SIG_MEM, task_rq_clock(t), delta);
}

SEC("tp_btf/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(cgp_direct_reclaim_begin)
{
	reclaim_begin();
	return 0;
}

SEC("tp_btf/mm_vmscan_direct_reclaim_end")
int BPF_PROG(cgp_direct_reclaim_end)
{
	reclaim_end();
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(cgp_memcg_reclaim_begin)
{
	reclaim_begin();
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(cgp_memcg_reclaim_end)
{
	reclaim_end();
	return 0;
}

static __always_inline void oom_event(__u64 cgid, __u32 pid, const char *comm)
{
	struct cgp_event *e;
	__u32 slot;
	struct cgp_cg_stats *st;

	if (cgid && !slot_of(cgid, &slot) && (st = stats_of(slot)))
		st->oom_kills++;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&self_stats.drops[CGP_EV_OOM_KILL], 1);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = CGP_EV_OOM_KILL;
	e->ts_ns = bpf_ktime_get_ns();
	e->cgid = cgid;
	e->pid = pid;
	if (comm)
		bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), comm);
	bpf_ringbuf_submit(e, 0);
	__sync_fetch_and_add(&self_stats.events[CGP_EV_OOM_KILL], 1);
}

/* v6.8+: the victim task is an argument. */
SEC("tp_btf/mark_victim")
int BPF_PROG(cgp_mark_victim_task, struct task_struct *task)
{
	oom_event(cgp_task_cgid(task), task->pid, task->comm);
	return 0;
}

/* Before v6.8 only the pid is passed and BPF on 6.1 cannot look a pid up
 * (no bpf_task_from_pid): the event carries the pid and cgroup id 0, user
 * space attributes it (from /proc, else memory.events.local). */
SEC("tp_btf/mark_victim")
int BPF_PROG(cgp_mark_victim_pid, int pid)
{
	oom_event(0, pid, 0);
	return 0;
}

/* ---- I/O ---- */

/* Without the io controller on v2 a bio carries no v2 cgroup: remember the
 * submitting task's. */
static __always_inline void bio_to_current_cgroup(struct bio *bio)
{
	__u64 key = (__u64)bio, cgid;

	if (io_blkcg_v2)
		return;
	cgid = bpf_get_current_cgroup_id();
	bpf_map_update_elem(&bio_cg, &key, &cgid, BPF_ANY);
}

SEC("tp_btf/block_bio_queue")
int BPF_PROG(cgp_block_bio_queue, struct bio *bio)
{
	bio_to_current_cgroup(bio);
	return 0;
}

/* A bio split to the queue's limits goes on as a new bio, in the submitting
 * task: map the new piece too, or its request would go unattributed. */
SEC("tp_btf/block_split")
int BPF_PROG(cgp_block_split, struct bio *bio)
{
	bio_to_current_cgroup(bio);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(cgp_block_rq_issue, struct request *rq)
{
	struct rq_info ri = {};
	__u64 key = (__u64)rq;
	struct bio *bio = rq->bio;

	if (!bio)
		return 0;
	if (io_blkcg_v2) {
		ri.cgid = cgp_bio_blkcg_cgid(bio);
	} else {
		__u64 bkey = (__u64)bio, *cg = bpf_map_lookup_elem(&bio_cg, &bkey);

		if (cg) {
			ri.cgid = *cg;
			bpf_map_delete_elem(&bio_cg, &bkey);
		}
	}
	if (!ri.cgid)
		return 0;
	ri.issue_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&rq_start, &key, &ri, BPF_ANY);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(cgp_block_rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
	__u64 key = (__u64)rq, delta;
	struct rq_info *ri = bpf_map_lookup_elem(&rq_start, &key);
	struct cgp_cg_stats *st;
	__u32 slot, dir;

	if (!ri)
		return 0;
	delta = bpf_ktime_get_ns() - ri->issue_ns;
	dir = (rq->cmd_flags & CGP_REQ_OP_MASK) == CGP_REQ_OP_WRITE ? CGP_IO_WRITE : CGP_IO_READ;
	if (!slot_of(ri->cgid, &slot) && (st = stats_of(slot))) {
		st->io_bytes[dir & 1] += nr_bytes;
		st->io_ops[dir & 1]++;
		st->io_lat_ns += delta;
		st->io_hist[hist_idx(delta / 1000)]++;
	}
	bpf_map_delete_elem(&rq_start, &key);
	return 0;
}

/* ---- cgroup lifecycle (default hierarchy only) ---- */

static __always_inline void cgroup_event(__u32 type, struct cgroup *cgrp, const char *path)
{
	struct cgp_event *e;

	if (BPF_CORE_READ(cgrp, root, hierarchy_id) != 0)
		return; /* a v1 hierarchy */
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&self_stats.drops[type], 1);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->ts_ns = bpf_ktime_get_ns();
	e->cgid = cgp_cgroup_id(cgrp);
	bpf_probe_read_kernel_str(e->path, sizeof(e->path), path);
	bpf_ringbuf_submit(e, 0);
	__sync_fetch_and_add(&self_stats.events[type], 1);
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(cgp_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	cgroup_event(CGP_EV_CGROUP_MKDIR, cgrp, path);
	return 0;
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(cgp_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	cgroup_event(CGP_EV_CGROUP_RMDIR, cgrp, path);
	return 0;
}
