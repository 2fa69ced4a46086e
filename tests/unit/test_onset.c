// SPDX-License-Identifier: Apache-2.0
/*
 * include/onset.h with fake time, driven the way bpf/telemetry.bpf.c drives it:
 * a sample rolls the window if due, then adds; the window timer only rolls
 * (a window that is due); the maintenance sweep only rolls a stale one.
 */
#include <stdio.h>
#include <stdlib.h>

#include "onset.h"
#include "unit.h"

#define MS 1000000ULL
#define WIN (100 * MS)
#define T0 (1000 * WIN) /* on the grid, far from 0 like CLOCK_MONOTONIC */

enum { NONE = CGP_ONSET_NONE, ONSET = CGP_ONSET_ONSET, CLEARED = CGP_ONSET_CLEARED };

struct fx {
	struct cgp_window w;
	__u64 thr; /* threshold the caller looks up at a roll */
	__u64 value; /* value of the last event */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->thr = 20 * MS;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static int sample(struct fx *f, __u64 now, __u64 delta)
{
	__u64 v = 0;
	int r = NONE, a;

	if (cgp_window_due(&f->w, now, WIN)) {
		r = cgp_window_roll(&f->w, now, WIN, f->thr, &v);
		if (r != NONE)
			f->value = v;
	}
	if (!f->w.threshold_ns)
		return r;
	a = cgp_window_add(&f->w, now, delta, &v);
	if (a != NONE) {
		if (r != NONE)
			fail_msg("two events from one sample at T0%+lld ns", (long long)(now - T0));
		f->value = v;
		r = a;
	}
	return r;
}

static int tick(struct fx *f, __u64 now)
{
	__u64 v = 0;
	int r = NONE;

	if (f->w.active && cgp_window_due(&f->w, now, WIN)) {
		r = cgp_window_roll(&f->w, now, WIN, f->thr, &v);
		if (r != NONE)
			f->value = v;
	}
	return r;
}

/* The sweep of cgp_maintain, which backs the timer up. */
static int sweep(struct fx *f, __u64 now)
{
	__u64 v = 0;
	int r = NONE;

	if (cgp_window_stale(&f->w, now, WIN)) {
		r = cgp_window_roll(&f->w, now, WIN, f->thr, &v);
		if (r != NONE)
			f->value = v;
	}
	return r;
}

#define expect(call, want)                                                         \
	do {                                                                       \
		int got_ = (call);                                                 \
		if (got_ != (want))                                                \
			fail_msg("%s: got %d, want %d", #call, got_, (int)(want)); \
	} while (0)

/* Onset in the window starting at T0 with a single 25 ms sample at T0 + 10 ms. */
static void start_episode(struct fx *f)
{
	expect(sample(f, T0, 0), NONE);
	expect(sample(f, T0 + 10 * MS, 25 * MS), ONSET);
	assert_int_equal(f->w.active, 1);
}

static void test_first_sample_opens_window(void **state)
{
	struct fx *f = *state;

	expect(sample(f, T0 + 5, 1 * MS), NONE);
	assert_true(f->w.start_ns == T0 + 5);
	assert_true(f->w.threshold_ns == 20 * MS);
	assert_true(f->w.sum_ns == 1 * MS);
	expect(sample(f, T0 + 5 + WIN - 1, 19 * MS), ONSET);
	assert_true(f->value == 20 * MS);
}

static void test_onset_at_threshold_not_before(void **state)
{
	struct fx *f = *state;

	expect(sample(f, T0, 5 * MS), NONE);
	expect(sample(f, T0 + 1 * MS, 5 * MS), NONE);
	expect(sample(f, T0 + 2 * MS, 5 * MS), NONE);
	expect(sample(f, T0 + 3 * MS, 5 * MS - 1), NONE);
	assert_int_equal(f->w.active, 0);
	expect(sample(f, T0 + 4 * MS, 1), ONSET);
	assert_true(f->value == 20 * MS);
	assert_int_equal(f->w.active, 1);
}

static void test_onset_value_is_sum(void **state)
{
	struct fx *f = *state;

	expect(sample(f, T0, 3 * MS), NONE);
	expect(sample(f, T0 + 50 * MS, 40 * MS), ONSET);
	assert_true(f->value == 43 * MS);
}

static void test_no_second_onset_while_active(void **state)
{
	struct fx *f = *state;

	start_episode(f);
	for (int w = 0; w < 5; w++)
		for (int i = 1; i < 10; i++)
			expect(sample(f, T0 + w * WIN + i * 10 * MS, 30 * MS), NONE);
	assert_int_equal(f->w.active, 1);
}

static void test_cleared_after_first_window_below(void **state)
{
	struct fx *f = *state;

	start_episode(f);
	/* window 1 above the threshold: the episode goes on */
	expect(sample(f, T0 + WIN + 1, 25 * MS), NONE);
	/* window 2 below: nothing until it is complete */
	expect(sample(f, T0 + 2 * WIN + 1, 5 * MS), NONE);
	expect(sample(f, T0 + 2 * WIN + 50 * MS, 5 * MS), NONE);
	expect(sample(f, T0 + 3 * WIN - 1, 5 * MS), NONE);
	assert_int_equal(f->w.active, 1);
	expect(sample(f, T0 + 3 * WIN, 1 * MS), CLEARED);
	assert_true(f->value == 15 * MS);
	assert_true(f->w.last_sum_ns == 15 * MS);
	assert_int_equal(f->w.active, 0);
}

static void test_cleared_when_window_passes_empty(void **state)
{
	struct fx *f = *state;

	start_episode(f);
	/* the next sample comes after a whole empty window */
	expect(sample(f, T0 + 2 * WIN + 3 * MS, 1 * MS), CLEARED);
	assert_true(f->value == 0);
	assert_int_equal(f->w.active, 0);
}

static void test_no_clear_when_only_onset_window_closed(void **state)
{
	struct fx *f = *state;

	start_episode(f);
	/* the window of the onset closed above the threshold; the next one is not over */
	expect(sample(f, T0 + 2 * WIN - 1, 0), NONE);
	assert_int_equal(f->w.active, 1);
	assert_true(f->w.last_sum_ns == 25 * MS);
}

static void test_cleared_by_timer(void **state)
{
	struct fx *f = *state;

	start_episode(f);
	expect(tick(f, T0 + WIN - 1), NONE);
	expect(sample(f, T0 + WIN + 5 * MS, 30 * MS), NONE);
	expect(tick(f, T0 + 2 * WIN), NONE);
	expect(tick(f, T0 + 3 * WIN - 1), NONE);
	assert_int_equal(f->w.active, 1);
	expect(tick(f, T0 + 3 * WIN), CLEARED);
	assert_true(f->value == 0);
	assert_int_equal(f->w.active, 0);
}

static void test_threshold_zero_disables(void **state)
{
	struct fx *f = *state;

	f->thr = 0;
	for (int i = 0; i < 50; i++)
		expect(sample(f, T0 + (__u64)i * 30 * MS, 1000 * MS), NONE);
	assert_int_equal(f->w.active, 0);
}

static void test_disable_ends_episode(void **state)
{
	struct fx *f = *state;

	start_episode(f);
	expect(sample(f, T0 + WIN + 1, 30 * MS), NONE);
	f->thr = 0;
	expect(sample(f, T0 + 2 * WIN + 1, 30 * MS), CLEARED);
	assert_true(f->value == 30 * MS);
	for (int i = 1; i < 20; i++)
		expect(sample(f, T0 + 2 * WIN + (__u64)i * 20 * MS, 100 * MS), NONE);
	assert_int_equal(f->w.active, 0);
}

static void test_one_event_per_window(void **state)
{
	struct fx *f = *state;

	start_episode(f);
	expect(sample(f, T0 + WIN + 1, 5 * MS), NONE);
	/* window 2 opens with a clear; its own load may not re-open at once */
	expect(sample(f, T0 + 2 * WIN + 1, 30 * MS), CLEARED);
	assert_true(f->value == 5 * MS);
	expect(sample(f, T0 + 2 * WIN + 10 * MS, 30 * MS), NONE);
	expect(sample(f, T0 + 3 * WIN - 1, 30 * MS), NONE);
	assert_int_equal(f->w.active, 0);
	/* the next window may */
	expect(sample(f, T0 + 3 * WIN, 10 * MS), NONE);
	expect(sample(f, T0 + 3 * WIN + 1, 10 * MS), ONSET);
	assert_true(f->value == 20 * MS);
}

static void test_grid_alignment(void **state)
{
	struct fx *f = *state;
	const __u64 s0 = T0 + 7 * MS;
	static const __u64 gaps[] = { WIN / 3, 3 * WIN + WIN / 2,    WIN - 1,
				      1,       1000 * WIN + 99 * MS, 7 * WIN / 2,
				      2 * WIN };
	__u64 now = s0;

	f->thr = 1000 * MS;
	expect(sample(f, s0, 1), NONE);
	assert_true(f->w.start_ns == s0);
	expect(sample(f, s0 + 3 * WIN + WIN / 2, 1), NONE);
	assert_true(f->w.start_ns == s0 + 3 * WIN);
	expect(sample(f, s0 + 4 * WIN - 1, 1), NONE);
	assert_true(f->w.start_ns == s0 + 3 * WIN);
	now = s0 + 4 * WIN - 1;
	for (size_t i = 0; i < sizeof(gaps) / sizeof(gaps[0]); i++) {
		now += gaps[i];
		sample(f, now, 1);
		assert_true(f->w.start_ns <= now && now - f->w.start_ns < WIN);
		assert_true((f->w.start_ns - s0) % WIN == 0);
	}
}

static void test_threshold_change_from_next_window(void **state)
{
	struct fx *f = *state;

	/* lowered during window 0: window 0 keeps 20 ms */
	expect(sample(f, T0, 15 * MS), NONE);
	f->thr = 10 * MS;
	expect(sample(f, T0 + 50 * MS, 1 * MS), NONE);
	assert_true(f->w.threshold_ns == 20 * MS);
	/* window 1 runs with 10 ms */
	expect(sample(f, T0 + WIN, 9 * MS), NONE);
	assert_true(f->w.threshold_ns == 10 * MS);
	expect(sample(f, T0 + WIN + 1, 1 * MS), ONSET);
	/* raised during window 2: window 2 (sum 25) is judged against 10 ms, goes on */
	expect(sample(f, T0 + 2 * WIN, 25 * MS), NONE);
	f->thr = 30 * MS;
	expect(sample(f, T0 + 3 * WIN, 25 * MS), NONE);
	assert_int_equal(f->w.active, 1);
	/* window 3 (sum 25) is judged against 30 ms: cleared */
	expect(sample(f, T0 + 4 * WIN, 0), CLEARED);
	assert_true(f->value == 25 * MS);
}

/*
 * A sample stamped just before the current window began (its CPU read the clock,
 * another CPU then rolled the window) belongs to no later window: it must not
 * roll again, move the grid, drop the window's sum or end the episode.
 */
static void test_late_sample_does_not_roll(void **state)
{
	struct fx *f = *state;
	__u64 sum;

	start_episode(f);
	expect(sample(f, T0 + WIN + 1, 25 * MS), NONE);
	sum = f->w.sum_ns;
	expect(sample(f, T0 + WIN - 1, 1 * MS), NONE);
	assert_false(cgp_window_due(&f->w, T0 + WIN - 1, WIN));
	assert_true(f->w.start_ns == T0 + WIN);
	assert_int_equal(f->w.active, 1);
	assert_true(f->w.sum_ns >= sum);
}

/* The sweep leaves a window alone while a timer that works (each window, at
 * most a window late) could still roll it, then ends the episode. */
static void test_sweep_waits_for_the_timer(void **state)
{
	struct fx *f = *state;

	start_episode(f);
	for (__u64 t = T0 + 10 * MS; t < T0 + 3 * WIN; t += 10 * MS) {
		assert_false(cgp_window_stale(&f->w, t, WIN));
		expect(sweep(f, t), NONE);
	}
	assert_int_equal(f->w.active, 1);
	assert_true(f->w.start_ns == T0);
	expect(sweep(f, T0 + 3 * WIN), CLEARED);
	assert_true(f->value == 0);
	assert_int_equal(f->w.active, 0);
	/* on the grid, and the window of the clear may not open a new episode */
	assert_true(f->w.start_ns == T0 + 3 * WIN);
	assert_true(f->w.event_start_ns == f->w.start_ns);
	expect(sample(f, T0 + 3 * WIN + 1, 50 * MS), NONE);
	expect(sample(f, T0 + 4 * WIN, 25 * MS), ONSET);
}

/* Stale counts from the last roll, whoever made it. */
static void test_sweep_after_sample_roll(void **state)
{
	struct fx *f = *state;

	start_episode(f);
	expect(sample(f, T0 + WIN + 5 * MS, 30 * MS), NONE); /* rolled, above: goes on */
	assert_true(f->w.start_ns == T0 + WIN);
	expect(sweep(f, T0 + 4 * WIN - 1), NONE);
	expect(sweep(f, T0 + 4 * WIN), CLEARED);
	assert_int_equal(f->w.active, 0);
}

/* Nothing to do: no episode, or one the timer (or a sample) already ended. */
static void test_sweep_only_active(void **state)
{
	struct fx *f = *state;

	expect(sample(f, T0, 5 * MS), NONE);
	assert_false(cgp_window_stale(&f->w, T0 + 100 * WIN, WIN));
	expect(sweep(f, T0 + 100 * WIN), NONE);
	assert_true(f->w.start_ns == T0);

	start_episode(f);
	expect(tick(f, T0 + WIN + 1), NONE);
	expect(tick(f, T0 + 2 * WIN + 1), CLEARED);
	assert_false(cgp_window_stale(&f->w, T0 + 10 * WIN, WIN));
	expect(sweep(f, T0 + 10 * WIN), NONE);
}

/* A sample stamped before the sweep's (estimated) now is late: it neither
 * rolls again nor opens a second event in the window of the clear. */
static void test_late_sample_after_sweep(void **state)
{
	struct fx *f = *state;

	start_episode(f);
	expect(sweep(f, T0 + 3 * WIN + 20 * MS), CLEARED);
	assert_true(f->w.start_ns == T0 + 3 * WIN);
	expect(sample(f, T0 + 3 * WIN - 1 * MS, 40 * MS), NONE);
	assert_true(f->w.start_ns == T0 + 3 * WIN);
	assert_int_equal(f->w.active, 0);
}

/* A window that closes above the threshold moves no event mark: the next
 * window below it ends the episode in the window after, not earlier. */
static void test_event_mark_only_moves_on_event(void **state)
{
	struct fx *f = *state;

	start_episode(f);
	assert_true(f->w.event_start_ns == T0);
	expect(sample(f, T0 + WIN + 1, 30 * MS), NONE);
	assert_true(f->w.event_start_ns == T0);
	expect(sample(f, T0 + 2 * WIN + 1, 1 * MS), NONE);
	assert_true(f->w.event_start_ns == T0);
	expect(sample(f, T0 + 3 * WIN, 0), CLEARED);
	assert_true(f->w.event_start_ns == T0 + 3 * WIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_first_sample_opens_window),
		T(test_onset_at_threshold_not_before),
		T(test_onset_value_is_sum),
		T(test_no_second_onset_while_active),
		T(test_cleared_after_first_window_below),
		T(test_cleared_when_window_passes_empty),
		T(test_no_clear_when_only_onset_window_closed),
		T(test_cleared_by_timer),
		T(test_threshold_zero_disables),
		T(test_disable_ends_episode),
		T(test_one_event_per_window),
		T(test_grid_alignment),
		T(test_threshold_change_from_next_window),
		T(test_late_sample_does_not_roll),
		T(test_sweep_waits_for_the_timer),
		T(test_sweep_after_sample_roll),
		T(test_sweep_only_active),
		T(test_late_sample_after_sweep),
		T(test_event_mark_only_moves_on_event),
#undef T
	};

	return cmocka_run_group_tests_name("onset", tests, NULL, NULL);
}
