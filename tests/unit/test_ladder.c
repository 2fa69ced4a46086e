// SPDX-License-Identifier: Apache-2.0
/* daemon/policy/ladder.c: the CPU protection ladder's climbs, holds, steps down and backoff. */
#include <stdio.h>
#include <string.h>

#include "policy/ladder.h"
#include "unit.h"

#define MS 1000000ULL
#define SEC (1000 * MS)

static struct ladder_conf all_rungs(void)
{
	struct ladder_conf c = {
		.hold_ns = 100 * MS,
		.release_ns = 1 * SEC,
		.release_max_ns = 16 * SEC,
	};

	for (int i = RUNG_WEIGHT; i < RUNG_MAX; i++)
		c.on[i] = true;
	return c;
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(ladder_rung_name(RUNG_NONE), "none");
	assert_string_equal(ladder_rung_name(RUNG_QUOTA), "quota");
	assert_string_equal(ladder_rung_name(RUNG_KILL), "kill");
	assert_string_equal(ladder_rung_name(RUNG_MAX), "?");
}

/* The first rung at once, each next one after the hold, none past the top. */
static void test_climb(void **state)
{
	struct ladder_conf c = all_rungs();
	struct ladder_state s = { 0 };
	uint64_t t = 10 * SEC, next;

	(void)state;
	assert_int_equal(ladder_step(&c, &s, true, 0, false, t, &next), RUNG_WEIGHT);
	assert_true(next == t + 100 * MS);
	assert_int_equal(ladder_step(&c, &s, true, 0, false, t + 99 * MS, &next), RUNG_WEIGHT);
	assert_true(next == t + 100 * MS);
	assert_int_equal(ladder_step(&c, &s, true, 0, false, t + 100 * MS, &next), RUNG_QUOTA);
	assert_int_equal(ladder_step(&c, &s, true, 0, false, t + 200 * MS, &next), RUNG_CPUSET);
	assert_int_equal(ladder_step(&c, &s, true, 0, false, t + 300 * MS, &next), RUNG_FREEZE);
	assert_true(next == t + 400 * MS);
	assert_int_equal(ladder_step(&c, &s, true, 0, false, t + 400 * MS, &next), RUNG_KILL);
	assert_true(next == 0); /* the top: nothing pending */
	assert_int_equal(ladder_step(&c, &s, true, 0, false, t + 10 * SEC, &next), RUNG_KILL);
	assert_int_equal(s.climbs, 5);
}

/* Rungs that do not exist are skipped (this host: freeze only, opted in). */
static void test_missing_rungs(void **state)
{
	struct ladder_conf c = { .hold_ns = 100 * MS, .release_ns = SEC, .release_max_ns = SEC };
	struct ladder_state s = { 0 };
	uint64_t next = 1;

	(void)state;
	/* no rung at all: nothing happens, nothing pending */
	assert_int_equal(ladder_step(&c, &s, true, 0, false, SEC, &next), RUNG_NONE);
	assert_true(next == 0);
	assert_int_equal(s.climbs, 0);
	c.on[RUNG_FREEZE] = true;
	assert_int_equal(ladder_step(&c, &s, true, 0, false, SEC, &next), RUNG_FREEZE);
	assert_true(next == 0);
	/* released straight to none */
	assert_int_equal(ladder_step(&c, &s, false, 2 * SEC, false, 3 * SEC, &next), RUNG_NONE);
	assert_true(next == 0);
	c.on[RUNG_FREEZE] = false;
	c.on[RUNG_QUOTA] = c.on[RUNG_KILL] = true;
	assert_int_equal(ladder_step(&c, &s, true, 0, false, 4 * SEC, &next), RUNG_QUOTA);
	assert_int_equal(ladder_step(&c, &s, true, 0, false, 4 * SEC + 100 * MS, &next), RUNG_KILL);
}

/* Down one rung at a time, each after the pressure stayed below target for
 * the release hold, counted from the later of calm and the last move. */
static void test_release(void **state)
{
	struct ladder_conf c = all_rungs();
	struct ladder_state s = { 0 };
	uint64_t t = 0, calm, next;

	(void)state;
	c.on[RUNG_FREEZE] = c.on[RUNG_KILL] = false;
	for (int i = 0; i < 3; i++)
		ladder_step(&c, &s, true, 0, false, t + (uint64_t)i * 100 * MS, &next);
	assert_int_equal(s.rung, RUNG_CPUSET);
	calm = 250 * MS;
	assert_int_equal(ladder_step(&c, &s, false, calm, false, calm + 999 * MS, &next),
			 RUNG_CPUSET);
	assert_true(next == calm + SEC);
	assert_int_equal(ladder_step(&c, &s, false, calm, false, calm + SEC, &next), RUNG_QUOTA);
	assert_true(next == calm + 2 * SEC);
	/* the next step counts from the last move, not from the calm */
	assert_int_equal(ladder_step(&c, &s, false, calm, false, calm + SEC + 500 * MS, &next),
			 RUNG_QUOTA);
	assert_int_equal(ladder_step(&c, &s, false, calm, false, calm + 2 * SEC, &next),
			 RUNG_WEIGHT);
	assert_int_equal(ladder_step(&c, &s, false, calm, false, calm + 3 * SEC, &next), RUNG_NONE);
	assert_true(next == 0);
	assert_int_equal(ladder_step(&c, &s, false, calm, false, calm + 9 * SEC, &next), RUNG_NONE);
	assert_int_equal(s.descents, 3);
}

/* A step down after which the pressure comes back doubles the release hold
 * of the rung it left, up to the cap; the squeezed container's own demand
 * falling resets the holds, and the next climb back is no relapse. */
static void test_backoff(void **state)
{
	struct ladder_conf c = all_rungs();
	struct ladder_state s = { 0 };
	uint64_t t, next;

	(void)state;
	c.on[RUNG_CPUSET] = c.on[RUNG_FREEZE] = c.on[RUNG_KILL] = false;
	ladder_step(&c, &s, true, 0, false, 0, &next);
	ladder_step(&c, &s, true, 0, false, 100 * MS, &next);
	assert_int_equal(s.rung, RUNG_QUOTA);
	t = 200 * MS;
	for (int round = 1; round <= 6; round++) {
		uint64_t hold = ladder_release_hold(&c, &s, RUNG_QUOTA);

		/* calm from t: the step down after the hold, the relapse soon after */
		assert_int_equal(ladder_step(&c, &s, false, t, false, t + hold, &next),
				 RUNG_WEIGHT);
		assert_int_equal(ladder_step(&c, &s, true, 0, false, t + hold + 50 * MS, &next),
				 RUNG_WEIGHT);
		assert_int_equal(ladder_step(&c, &s, true, 0, false, t + hold + 150 * MS, &next),
				 RUNG_QUOTA);
		assert_true(ladder_release_hold(&c, &s, RUNG_QUOTA) ==
			    (hold * 2 < 16 * SEC ? hold * 2 : 16 * SEC));
		t += hold + 200 * MS;
	}
	assert_true(ladder_release_hold(&c, &s, RUNG_QUOTA) == 16 * SEC);
	/* the antagonist's demand fell: back to release_ns */
	assert_int_equal(ladder_step(&c, &s, true, 0, true, t, &next), RUNG_QUOTA);
	assert_true(ladder_release_hold(&c, &s, RUNG_QUOTA) == SEC);
	assert_int_equal(ladder_step(&c, &s, false, t, false, t + SEC, &next), RUNG_WEIGHT);
	assert_int_equal(ladder_step(&c, &s, true, 0, true, t + SEC + 50 * MS, &next), RUNG_WEIGHT);
	assert_int_equal(ladder_step(&c, &s, true, 0, false, t + SEC + 100 * MS, &next),
			 RUNG_QUOTA);
	assert_true(ladder_release_hold(&c, &s, RUNG_QUOTA) == SEC);
	/* pressure returning long after a step down is still the same antagonist */
	assert_int_equal(ladder_step(&c, &s, false, t + 2 * SEC, false, t + 3 * SEC, &next),
			 RUNG_WEIGHT);
	assert_int_equal(ladder_step(&c, &s, true, 0, false, t + 60 * SEC, &next), RUNG_QUOTA);
	assert_true(ladder_release_hold(&c, &s, RUNG_QUOTA) == 2 * SEC);
}

/*
 * Hysteresis: under a pressure signal that flips around its target, the
 * writes stay bounded and stop: two minutes in 10 ms steps for each
 * pattern, the moves (one write each) of each minute counted.
 */
static void moves_under(unsigned on_ms, unsigned period_ms, unsigned ret[2])
{
	struct ladder_conf c = all_rungs();
	struct ladder_state s = { 0 };
	uint64_t calm = 0, next;
	bool was = false;

	c.on[RUNG_FREEZE] = c.on[RUNG_KILL] = false;
	for (uint64_t ms = 0; ms < 120000; ms += 10) {
		bool p = ms % period_ms < on_ms;

		if (ms == 60000)
			ret[0] = s.climbs + s.descents;
		if (was && !p)
			calm = ms * MS;
		was = p;
		ladder_step(&c, &s, p, calm, false, ms * MS, &next);
	}
	ret[1] = s.climbs + s.descents - ret[0];
}

static void test_oscillation_bounded(void **state)
{
	unsigned fast[2], slow[2], sparse[2];

	(void)state;
	moves_under(50, 100, fast); /* 50 ms on, 50 ms off */
	moves_under(100, 1500, slow); /* calm just past the 1 s release */
	moves_under(100, 5000, sparse); /* a burst every 5 s */
	printf("moves in the first and second minute: flapping 10 Hz %u %u, every 1.5 s %u %u, "
	       "every 5 s %u %u\n",
	       fast[0], fast[1], slow[0], slow[1], sparse[0], sparse[1]);
	/* up to the top once and no step down: never calm for a release hold */
	assert_int_equal(fast[0], 3);
	assert_int_equal(fast[1], 0);
	/* each burst that a rung let through climbs, each probe down that
	 * failed doubles its hold: a few dozen moves, then none (1 Hz of
	 * flapping would be 120 a minute) */
	assert_true(slow[0] <= 24 && slow[1] <= 2);
	assert_true(sparse[0] <= 24 && sparse[1] <= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),	      cmocka_unit_test(test_climb),
		cmocka_unit_test(test_missing_rungs), cmocka_unit_test(test_release),
		cmocka_unit_test(test_backoff),	      cmocka_unit_test(test_oscillation_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
