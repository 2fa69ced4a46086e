/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Windowed pressure onset detection, shared verbatim by the BPF programs and
 * the unit tests (pure functions of the state, the time and the sample).
 *
 * Per cgroup and signal, samples (run-queue delay, reclaim stall) are summed
 * over fixed windows. When the running sum of the current window reaches the
 * threshold an ONSET is reported at once; after the first complete window
 * whose sum stays below the threshold (an empty window included) a CLEARED is
 * reported. At most one event per window. Several CPUs update one state: the
 * window roll is claimed by compare-and-swap, the sum is added atomically.
 */
#ifndef CGPILOT_ONSET_H
#define CGPILOT_ONSET_H

#include "telemetry.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

enum cgp_onset_result {
	CGP_ONSET_NONE = 0,
	CGP_ONSET_ONSET = 1,
	CGP_ONSET_CLEARED = 2,
};

/*
 * Close the current window if @now is past it. @threshold is the threshold
 * to use from the new window on (looked up by the caller only when a roll is
 * due, see cgp_window_due()). Returns CGP_ONSET_CLEARED if the closed window
 * ends an episode; *ret_value then holds the closed window's sum.
 */
static __always_inline int cgp_window_roll(struct cgp_window *w, __u64 now, __u64 win_ns,
					   __u64 threshold, __u64 *ret_value)
{
	__u64 start = w->start_ns;
	__u64 closed, new_start;
	int res = CGP_ONSET_NONE;

	/* signed: a sample stamped before another CPU rolled the window is late,
	 * not due */
	if ((__s64)(now - start) < (__s64)win_ns)
		return CGP_ONSET_NONE;
	/* align to the window grid so idle gaps do not shift it */
	new_start = start ? now - (now - start) % win_ns : now;
	if (__sync_val_compare_and_swap(&w->start_ns, start, new_start) != start)
		return CGP_ONSET_NONE; /* another CPU rolled it */
	closed = __sync_lock_test_and_set(&w->sum_ns, 0);
	/* more than one window passed: an empty window lies between */
	if (now - start >= 2 * win_ns)
		closed = 0;
	w->last_sum_ns = closed;
	if (w->active && (closed < w->threshold_ns || !threshold)) {
		/* mark the new window as having had its event before the episode
		 * ends: a cgp_window_add() on another CPU that sees active drop
		 * must not report an onset in this same window */
		w->event_start_ns = new_start;
		if (__sync_val_compare_and_swap(&w->active, 1, 0) == 1) {
			*ret_value = closed;
			res = CGP_ONSET_CLEARED;
		}
	}
	w->threshold_ns = threshold;
	return res;
}

/* True if a sample at @now falls past the current window. */
static __always_inline int cgp_window_due(const struct cgp_window *w, __u64 now, __u64 win_ns)
{
	return (__s64)(now - w->start_ns) >= (__s64)win_ns;
}

/*
 * True if an episode is active and its current window ended two windows ago
 * at @now (@now at least three windows past its start): no sample has rolled
 * it since, and a timer that rolls each window within a window of its end
 * has missed it by another window. For a sweep that backs up such a timer
 * with only an estimate of the window clock: it stays a window clear of a
 * timer that works, and its roll is certain to end the episode (an empty
 * window lies between, see cgp_window_roll()).
 */
static __always_inline int cgp_window_stale(const struct cgp_window *w, __u64 now, __u64 win_ns)
{
	return w->active && (__s64)(now - w->start_ns) >= (__s64)(3 * win_ns);
}

/*
 * Add a sample of @delta ns at @now to the current window (rolled first by
 * the caller). Returns CGP_ONSET_ONSET when this sample takes the window's sum
 * to the threshold and no episode is active; *ret_value is the sum.
 */
static __always_inline int cgp_window_add(struct cgp_window *w, __u64 now, __u64 delta,
					  __u64 *ret_value)
{
	__u64 sum = __sync_add_and_fetch(&w->sum_ns, delta);
	__u64 thr = w->threshold_ns;

	(void)now;
	if (!thr || sum < thr || w->active)
		return CGP_ONSET_NONE;
	/* at most one event per window: a window that just reported CLEARED waits */
	if (w->event_start_ns == w->start_ns)
		return CGP_ONSET_NONE;
	if (__sync_val_compare_and_swap(&w->active, 0, 1) != 0)
		return CGP_ONSET_NONE;
	w->event_start_ns = w->start_ns;
	*ret_value = sum;
	return CGP_ONSET_ONSET;
}

#endif
