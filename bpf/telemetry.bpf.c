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
	__type(value, struct cgp_cg_hot);
} cg_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CGP_MAX_CGROUPS_DEFAULT);
	__type(key, __u32);
	__type(value, struct cgp_cg_shared);
} cg_shared SEC(".maps");

/*
 * Onset state of a slot. Not pinned: a restarted daemon gets a fresh one and
 * writes cgid back for every slot cg_slot maps, since slot_of() only sets it
 * when it hands out a slot.
 */
struct win_val {
	struct cgp_window w[CGP_SIG_MAX];
	__u64 cgid; /* owner of the slot, 0 while free */
	/* CLOCK_MONOTONIC minus run-queue clock, taken at onset and at each
	 * window roll of an episode (the two clocks drift apart, by NTP's
	 * frequency corrections); 0 until the slot's first onset */
	__s64 clock_off;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CGP_MAX_CGROUPS_DEFAULT);
	__type(key, __u32);
	__type(value, struct win_val);
} cg_win SEC(".maps");

/*
 * When the samples of a cgroup in an episode stop (its load was killed), no
 * sample rolls its window and someone else must end the episode: one timer,
 * each window, rolls the windows of the slots in the episodes map. One timer
 * rather than one per slot: bpf_timer_init() allocates, without locks since
 * 6.18 (kmalloc_nolock(), which fails once the current slab is used up: of
 * 4096 per-slot timers only 110-235 could be set up here), and a timer is
 * lost to any overwrite of its map value or a bpf_timer_cancel() (which also
 * drops its callback). The maintenance sweep (cgp_maintain) restarts it when
 * it stops beating, and ends what it misses.
 */
struct timer_val {
	struct bpf_timer t;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct timer_val);
} win_timer SEC(".maps");

/* Last run (or start) of the window timer, CLOCK_MONOTONIC. */
__u64 timer_beat_ns;

/* Slots in an episode: added at onset, removed by the window timer once no
 * signal is active. Preallocated, so adding one under the run-queue lock
 * allocates nothing. An onset that finds it full is left to the sweep. */
#define CGP_EPISODES_MAX 1024

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CGP_EPISODES_MAX);
	__type(key, __u32);
	__type(value, __u32);
} episodes SEC(".maps");

/* Run-queue wait of protected cgroups (CGP_TH_PROTECTED) per CPU, ns. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} prot_wait SEC(".maps");

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
	__u32 dev; /* the disk's major << 20 | first minor, as io.max names it */
	__u32 pad;
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

static __always_inline void emit(__u32 type, __u32 signal, __u64 cgid, __u64 value, __u64 threshold,
				 __u32 pid)
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
	e->pid = pid;
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

static __always_inline struct cgp_cg_hot *stats_of(__u32 slot)
{
	return bpf_map_lookup_elem(&cg_stats, &slot);
}

static __always_inline struct cgp_cg_shared *shared_of(__u32 slot)
{
	return bpf_map_lookup_elem(&cg_shared, &slot);
}

#define ADD(field, v) __sync_fetch_and_add(&(field), (v))

static __always_inline struct task_ctx *tctx(struct task_struct *t)
{
	return bpf_task_storage_get(&task_ctx, t, 0, 0);
}

/* The threshold of @sig for @cgid; its flags in *@flags when asked. */
static __always_inline __u64 threshold_of(__u64 cgid, __u32 sig, __u32 *flags)
{
	struct cgp_threshold *th = bpf_map_lookup_elem(&thresholds, &cgid);

	if (flags)
		*flags = th ? (__u32)th->flags : 0;
	if (sig >= CGP_SIG_MAX)
		return 0;
	if (th)
		return th->ns[sig];
	return cfg.default_threshold_ns[sig];
}

/* Put a slot in an episode where the window timer finds it. After the onset's
 * compare-and-swap of active, so that the timer, which deletes a slot and then
 * reads active, either sees the episode or sees the slot added again. */
static __always_inline void track_episode(__u32 slot)
{
	__u32 zero = 0;
	long r = bpf_map_update_elem(&episodes, &slot, &zero, BPF_NOEXIST);

	if (r && r != -17 /* -EEXIST */)
		__sync_fetch_and_add(&self_stats.episode_track_fail, 1);
}

/* Add a pressure sample to a cgroup's window; emits onset/cleared. @now is
 * the run-queue clock for CPU and memory, CLOCK_MONOTONIC for I/O, whose
 * sample is a request's latency (@dev its device, told with the onset) and
 * counts by its excess over the threshold. */
static __always_inline void window_sample(__u32 slot, __u64 cgid, __u32 sig, __u64 now, __u64 delta,
					  __u32 dev)
{
	struct win_val *wv = bpf_map_lookup_elem(&cg_win, &slot);
	struct cgp_window *w;
	__u64 win = cfg.window_ns, value = 0;
	__u32 flags = 0;
	int r;

	if (!wv || sig >= CGP_SIG_MAX || !win)
		return;
	w = &wv->w[sig];
	if (cgp_window_due(w, now, win)) {
		r = cgp_window_roll(w, now, win, threshold_of(cgid, sig, &flags), &value);
		w->flags = flags;
		if (r == CGP_ONSET_CLEARED) {
			emit(CGP_EV_CLEARED, sig, cgid, value, w->threshold_ns, dev);
			__sync_fetch_and_add(&self_stats.cleared_by_sample, 1);
		} else if (w->active && sig != CGP_SIG_IO) {
			/* once a window in an episode: keep the timer's and the
			 * sweep's view of this clock from drifting */
			wv->clock_off = (__s64)(bpf_ktime_get_ns() - now);
		}
	}
	/* a protected cgroup's wait, on the CPU whose run queue it was on */
	if (sig == CGP_SIG_CPU && (w->flags & CGP_TH_PROTECTED)) {
		__u32 zero = 0;
		__u64 *pw = bpf_map_lookup_elem(&prot_wait, &zero);

		if (pw)
			*pw += delta;
	}
	if (!w->threshold_ns)
		return;
	if (sig == CGP_SIG_IO) {
		if (delta <= w->threshold_ns)
			return;
		delta -= w->threshold_ns;
	}
	r = cgp_window_add(w, now, delta, &value);
	if (r == CGP_ONSET_ONSET) {
		emit(CGP_EV_ONSET, sig, cgid, value, w->threshold_ns, dev);
		if (sig != CGP_SIG_IO)
			wv->clock_off = (__s64)(bpf_ktime_get_ns() - now);
		/* a cleared must come even if samples stop: the window timer
		 * rolls the slots in episodes */
		track_episode(slot);
	}
}

/*
 * Roll the active windows of a slot whose samples may have stopped, with the
 * run-queue clock estimated from CLOCK_MONOTONIC (@mono). @stale_only: only
 * windows the window timer should have rolled a window ago (the sweep).
 * Emits the cleared events and returns how many; *@again is set if an
 * episode goes on.
 */
static __always_inline __u64 roll_idle(struct win_val *wv, __u64 mono, bool stale_only, bool *again)
{
	__u64 win = cfg.window_ns, now, value = 0, cleared = 0;
	__s64 off = wv->clock_off;

	*again = false;
	if (!win)
		return 0;
	for (__u32 sig = 0; sig < CGP_SIG_MAX; sig++) {
		struct cgp_window *w = &wv->w[sig];
		int due;

		if (!w->active)
			continue;
		/* I/O windows run on CLOCK_MONOTONIC itself */
		if (sig == CGP_SIG_IO) {
			now = mono;
		} else if (!off) {
			/* active but no offset yet: the onset is being
			 * reported on another CPU right now */
			*again = true;
			continue;
		} else {
			now = mono - (__u64)off;
		}
		due = stale_only ? cgp_window_stale(w, now, win) : cgp_window_due(w, now, win);
		if (due && cgp_window_roll(w, now, win, threshold_of(wv->cgid, sig, NULL),
					   &value) == CGP_ONSET_CLEARED) {
			cleared++;
			/* a slot with no owner cannot be reported; it is over all the same */
			if (wv->cgid)
				emit(CGP_EV_CLEARED, sig, wv->cgid, value, w->threshold_ns, 0);
			else
				__sync_fetch_and_add(&self_stats.cleared_no_cgid, 1);
		}
		if (w->active)
			*again = true;
	}
	return cleared;
}

/* Full barrier, then whether any signal of the slot is in an episode. */
static __always_inline bool any_active(struct win_val *wv)
{
	bool a = false;

	for (__u32 sig = 0; sig < CGP_SIG_MAX; sig++)
		a |= __sync_fetch_and_or(&wv->w[sig].active, 0) != 0;
	return a;
}

/* CLOCK_MONOTONIC at the start of a window timer pass: one clock read per
 * pass, not per episode. */
__u64 timer_now_ns;

/* No state carried from one element to the next (counts go straight to
 * self_stats): newer verifiers check a callback round after round until its
 * states repeat, and a running count in the caller's stack never does. */
static long timer_episode_cb(struct bpf_map *map, __u32 *key, __u32 *val, void *ctx)
{
	__u32 slot = *key;
	struct win_val *wv = bpf_map_lookup_elem(&cg_win, &slot);
	__u64 cleared;
	bool again;

	if (!wv) {
		bpf_map_delete_elem(&episodes, &slot);
		return 0;
	}
	cleared = roll_idle(wv, timer_now_ns, false, &again);
	if (cleared)
		__sync_fetch_and_add(&self_stats.cleared_by_timer, cleared);
	if (again)
		return 0;
	bpf_map_delete_elem(&episodes, &slot);
	/* an onset in between, which found the slot still here */
	if (any_active(wv))
		track_episode(slot);
	return 0;
}

static __always_inline __u64 timer_period(void)
{
	__u64 win = cfg.window_ns;

	return win ? win : 100000000ULL;
}

static int win_timer_cb(void *map, __u32 *key, struct timer_val *tv)
{
	timer_now_ns = bpf_ktime_get_ns();
	bpf_for_each_map_elem(&episodes, timer_episode_cb, NULL, 0);
	timer_beat_ns = bpf_ktime_get_ns();
	bpf_timer_start(&tv->t, timer_period(), 0);
	return 0;
}

/*
 * (Re)start the window timer, setting it up if it is not. Process context
 * only: setting up allocates. Returns 0 or -errno.
 */
static __always_inline long timer_restart(void)
{
	__u32 k = 0;
	struct timer_val *tv = bpf_map_lookup_elem(&win_timer, &k);
	long r;

	if (!tv)
		return -2; /* -ENOENT */
	r = bpf_timer_init(&tv->t, &win_timer, CGP_CLOCK_MONOTONIC);
	if (r && r != -16 /* -EBUSY: set up already */)
		goto fail;
	r = bpf_timer_set_callback(&tv->t, win_timer_cb);
	if (r)
		goto fail;
	r = bpf_timer_start(&tv->t, timer_period(), 0);
	if (r)
		goto fail;
	timer_beat_ns = bpf_ktime_get_ns();
	return 0;
fail:
	__sync_fetch_and_add(&self_stats.timer_setup_fail, 1);
	return r;
}

/*
 * Start the window timer unless it is beating (it has run, or was started,
 * within two periods): restarting a running one would put its next pass off,
 * and a caller that comes more often than a period would starve it. Returns
 * 1 if it (re)started it, 0 if it runs, or -errno. A restart of a timer that
 * had run is counted.
 */
static __always_inline long timer_ensure(void)
{
	__u64 beat = timer_beat_ns;
	long r;

	if (beat && (__s64)(bpf_ktime_get_ns() - beat) <= (__s64)(2 * timer_period() + 10000000ULL))
		return 0;
	r = timer_restart();
	if (r)
		return r;
	if (beat)
		__sync_fetch_and_add(&self_stats.timer_restarts, 1);
	return 1;
}

/* Run by the daemon (BPF_PROG_TEST_RUN) at start, and whenever it likes:
 * starts the window timer unless it runs. Returns 0/1 or -errno. */
SEC("syscall")
int cgp_init_timers(void *ctx)
{
	return timer_ensure();
}

/*
 * Give a slot a clean onset state for a new owner, @cgid (0 when user space
 * frees the slot, before it goes back to slot_free). In place, and the slot
 * out of the episodes map. Returns 0 or -errno.
 */
SEC("syscall")
int cgp_reset_slot(struct cgp_slot_args *args)
{
	__u32 slot = args->slot;
	struct win_val *wv = bpf_map_lookup_elem(&cg_win, &slot);

	if (!wv)
		return -2; /* -ENOENT */
	for (__u32 sig = 0; sig < CGP_SIG_MAX; sig++)
		__builtin_memset(&wv->w[sig], 0, sizeof(wv->w[sig]));
	wv->clock_off = 0;
	wv->cgid = args->cgid;
	bpf_map_delete_elem(&episodes, &slot);
	return 0;
}

/* CLOCK_MONOTONIC at the start of a sweep: one clock read per sweep rather
 * than one per slot in an episode (a window is far longer than a sweep). */
__u64 sweep_now_ns;

static long sweep_cb(__u32 index, void *ctx)
{
	__u32 slot = index, zero = 0;
	struct win_val *wv = bpf_map_lookup_elem(&cg_win, &slot);
	__u64 cleared;
	bool again;

	if (!wv)
		return 1;
	if (!wv->w[CGP_SIG_CPU].active && !wv->w[CGP_SIG_MEM].active && !wv->w[CGP_SIG_IO].active)
		return 0;
	cleared = roll_idle(wv, sweep_now_ns, true, &again);
	if (cleared)
		__sync_fetch_and_add(&self_stats.cleared_by_sweep, cleared);
	/* one the timer does not know of (the episodes map was full at its
	 * onset); not counted again while it still is */
	if (again && !bpf_map_lookup_elem(&episodes, &slot))
		bpf_map_update_elem(&episodes, &slot, &zero, BPF_NOEXIST);
	return 0;
}

/*
 * Run by the daemon every sample tick: a cleared for every episode even when
 * the window timer failed. Restarts the timer when it has not run for two
 * periods (never set up, stopped, or its map value overwritten), and ends
 * each active episode whose window the timer should have rolled a window ago
 * (with the include/onset.h roll the timer uses). Returns the number of
 * episodes it ended (exact unless two sweeps run at once; the daemon runs
 * one).
 */
SEC("syscall")
int cgp_maintain(void *ctx)
{
	__u64 before = self_stats.cleared_by_sweep;

	timer_ensure();
	sweep_now_ns = bpf_ktime_get_ns();
	bpf_loop(nr_slots, sweep_cb, NULL, 0);
	__sync_fetch_and_add(&self_stats.sweep_runs, 1);
	return (int)(self_stats.cleared_by_sweep - before);
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
		struct cgp_cg_hot *st;

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
	struct cgp_cg_shared *sh;
	struct cgp_cg_hot *st;
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
		if ((sh = shared_of(slot)))
			ADD(sh->rq_hist[hist_idx(delta / 1000)], 1);
		window_sample(slot, tc->cgid, CGP_SIG_CPU, now, delta, 0);
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
	struct cgp_cg_shared *st;
	__u64 now, delta;
	__u32 slot;

	if (!tc || !tc->reclaim_ns)
		return;
	now = bpf_ktime_get_ns();
	delta = now - tc->reclaim_ns;
	tc->reclaim_ns = 0;
	if (task_slot(t, tc, &slot) || !(st = shared_of(slot)))
		return;
	ADD(st->reclaim_ns, delta);
	ADD(st->reclaim_count, 1);
	window_sample(slot, tc->cgid, CGP_SIG_MEM, task_rq_clock(t), delta, 0);
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
	struct cgp_cg_shared *st;

	if (cgid && !slot_of(cgid, &slot) && (st = shared_of(slot)))
		ADD(st->oom_kills, 1);
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

/*
 * Without the io controller on v2 a bio carries no v2 cgroup: remember the
 * submitting task's, for the bio that starts a request (block_getrq fires in
 * the submitter, after any split, for the bio that becomes rq->bio). Mapping
 * every queued bio instead (block_bio_queue, block_split) kept an entry per
 * bio in flight: under heavy writeback that was more than the LRU holds, and
 * its eviction took a reader's fresh entries before their request was issued,
 * so whole requests went unattributed. Requests in flight are bounded by the
 * queues' tags, far below the map's size.
 */
SEC("tp_btf/block_getrq")
int BPF_PROG(cgp_block_getrq, struct bio *bio)
{
	__u64 key = (__u64)bio, cgid;

	if (io_blkcg_v2)
		return 0;
	cgid = bpf_get_current_cgroup_id();
	bpf_map_update_elem(&bio_cg, &key, &cgid, BPF_ANY);
	return 0;
}

/* Bios of one request looked at for its cgroup: a request merged into
 * another brings its own first bio, mapped, and a front merge puts an
 * unmapped bio first. */
#define CGP_RQ_BIOS_MAX 32

/*
 * The cgroup of a request's bios, from bio_cg, whose entries for all of them
 * are deleted: an entry left behind (only the first bio's was deleted) would
 * fill the LRU map with stale entries, and its eviction takes fresh ones.
 */
static __always_inline __u64 bios_cgroup(struct bio *bio)
{
	__u64 cgid = 0;

	for (int i = 0; i < CGP_RQ_BIOS_MAX && bio; i++) {
		__u64 bkey = (__u64)bio, *cg = bpf_map_lookup_elem(&bio_cg, &bkey);

		if (cg) {
			if (!cgid)
				cgid = *cg;
			bpf_map_delete_elem(&bio_cg, &bkey);
		}
		bio = BPF_CORE_READ(bio, bi_next);
	}
	return cgid;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(cgp_block_rq_issue, struct request *rq)
{
	struct rq_info ri = {};
	__u64 key = (__u64)rq;
	struct bio *bio = rq->bio;

	if (!bio)
		return 0;
	if (io_blkcg_v2)
		ri.cgid = cgp_bio_blkcg_cgid(bio);
	else
		ri.cgid = bios_cgroup(bio);
	if (!ri.cgid)
		return 0;
	ri.dev = (__u32)BPF_CORE_READ(rq, q, disk, major) << 20 |
		 (__u32)BPF_CORE_READ(rq, q, disk, first_minor);
	ri.issue_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&rq_start, &key, &ri, BPF_ANY);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(cgp_block_rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
	__u64 key = (__u64)rq, delta, now;
	struct rq_info *ri = bpf_map_lookup_elem(&rq_start, &key);
	struct cgp_cg_shared *st;
	__u32 slot, dir;

	if (!ri)
		return 0;
	now = bpf_ktime_get_ns();
	delta = now - ri->issue_ns;
	dir = (rq->cmd_flags & CGP_REQ_OP_MASK) == CGP_REQ_OP_WRITE ? CGP_IO_WRITE : CGP_IO_READ;
	if (!slot_of(ri->cgid, &slot) && (st = shared_of(slot))) {
		ADD(st->io_bytes[dir & 1], nr_bytes);
		ADD(st->io_ops[dir & 1], 1);
		ADD(st->io_lat_ns, delta);
		ADD(st->io_hist[hist_idx(delta / 1000)], 1);
		window_sample(slot, ri->cgid, CGP_SIG_IO, now, delta, ri->dev);
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
