// SPDX-License-Identifier: Apache-2.0
/* daemon/policy/iothrottle.c: io.max of a besteffort writer under a guaranteed
 * container's I/O pressure, on synthetic pressure series. */
#include <stdio.h>

#include "policy/iothrottle.h"
#include "unit.h"

#define MIB (1024ULL * 1024)
#define MS 1000000ULL
#define SEC 1000000000ULL

static struct iothrottle_conf conf(void)
{
	return (struct iothrottle_conf){
		.hold_ns = 200 * MS,
		.release_ns = 2 * SEC,
		.release_max_ns = 16 * SEC,
		.floor_bps = MIB,
		.floor_iops = 20,
	};
}

/* The first cap is half of what it does; a container without I/O is left alone. */
static void test_first_cap(void **state)
{
	struct iothrottle_conf c = conf();
	struct iothrottle_state s = { 0 };
	uint64_t next;

	(void)state;
	assert_int_equal(iothrottle_step(&c, &s, true, 0, 0, 0, SEC, &next), IOT_NONE);
	assert_int_equal(s.bps, 0);
	assert_int_equal(iothrottle_step(&c, &s, true, 0, 100 * MIB, 800, SEC, &next), IOT_TIGHTEN);
	assert_int_equal(s.bps, 50 * MIB);
	assert_int_equal(s.iops, 400);
	assert_int_equal(next, SEC + c.hold_ns);
	/* a small writer: not under the floor */
	s = (struct iothrottle_state){ 0 };
	assert_int_equal(iothrottle_step(&c, &s, true, 0, MIB, 10, SEC, &next), IOT_TIGHTEN);
	assert_int_equal(s.bps, MIB);
	assert_int_equal(s.iops, 20);
}

/* Pressure that stays: halved once per hold, never under the floor. */
static void test_halves_per_hold_to_floor(void **state)
{
	struct iothrottle_conf c = conf();
	struct iothrottle_state s = { 0 };
	uint64_t next, t = SEC;
	unsigned moves = 0;

	(void)state;
	assert_int_equal(iothrottle_step(&c, &s, true, 0, 64 * MIB, 1000, t, &next), IOT_TIGHTEN);
	/* within the hold: nothing, and it says when */
	assert_int_equal(iothrottle_step(&c, &s, true, 0, 32 * MIB, 500, t + 100 * MS, &next),
			 IOT_NONE);
	assert_int_equal(next, t + c.hold_ns);
	for (int i = 1; i <= 40; i++)
		if (iothrottle_step(&c, &s, true, 0, s.bps, s.iops, t + (uint64_t)i * c.hold_ns,
				    &next) == IOT_TIGHTEN)
			moves++;
	assert_int_equal(s.bps, c.floor_bps);
	assert_int_equal(s.iops, c.floor_iops);
	/* 32 MiB -> 1 MiB is five halvings; the floor stops the rest */
	assert_int_equal(moves, 5);
}

/* Calm: doubled after each release hold, lifted past four times the rate
 * seen at the start. */
static void test_release_and_lift(void **state)
{
	struct iothrottle_conf c = conf();
	struct iothrottle_state s = { 0 };
	uint64_t next, t = SEC, calm;
	enum iothrottle_move m;
	unsigned relax = 0;

	(void)state;
	iothrottle_step(&c, &s, true, 0, 16 * MIB, 400, t, &next);
	iothrottle_step(&c, &s, true, 0, 8 * MIB, 200, t + c.hold_ns, &next);
	assert_int_equal(s.bps, 4 * MIB);
	calm = t + c.hold_ns + 50 * MS;
	/* not before the release hold */
	assert_int_equal(iothrottle_step(&c, &s, false, calm, 4 * MIB, 100, calm + SEC, &next),
			 IOT_NONE);
	assert_int_equal(next, calm + c.release_ns);
	for (uint64_t now = calm + c.release_ns;; now += c.release_ns) {
		m = iothrottle_step(&c, &s, false, calm, s.bps, s.iops, now, &next);
		if (m == IOT_LIFT)
			break;
		assert_int_equal(m, IOT_RELAX);
		relax++;
		assert_true(relax < 10);
	}
	/* 4 MiB -> 8, 16, 32, 64 (the ceiling: 4 x 16 MiB), then past it: lifted */
	assert_int_equal(relax, 4);
	assert_int_equal(s.bps, 0);
	assert_int_equal(s.iops, 0);
	assert_int_equal(s.lifted, 1);
	/* lifted: calm does nothing more */
	assert_int_equal(iothrottle_step(&c, &s, false, calm, 0, 0, calm + 60 * SEC, &next),
			 IOT_NONE);
}

/* A step up that brings the pressure back doubles the release hold; the
 * writer's own I/O falling resets it. */
static void test_backoff_and_reset(void **state)
{
	struct iothrottle_conf c = conf();
	struct iothrottle_state s = { 0 };
	uint64_t next, t = SEC;

	(void)state;
	iothrottle_step(&c, &s, true, 0, 16 * MIB, 400, t, &next);
	t += SEC;
	assert_int_equal(iothrottle_step(&c, &s, false, t, 8 * MIB, 200, t + c.release_ns, &next),
			 IOT_RELAX);
	t += c.release_ns;
	/* pressure right after the step up: tighter, and the hold doubled */
	assert_int_equal(iothrottle_step(&c, &s, true, 0, 16 * MIB, 400, t + 300 * MS, &next),
			 IOT_TIGHTEN);
	assert_int_equal(s.release_ns, 2 * c.release_ns);
	t += 300 * MS;
	assert_int_equal(iothrottle_step(&c, &s, false, t, 8 * MIB, 200, t + c.release_ns, &next),
			 IOT_NONE);
	assert_int_equal(next, t + 2 * c.release_ns);
	/* it writes little now: the next pressure is a new one (the hold back
	 * to the configured one); the cap steps up as before, not lifted on one
	 * quiet sample (under a cap completions come in bursts) */
	assert_int_equal(iothrottle_step(&c, &s, false, t, 0, 0, t + c.release_ns, &next),
			 IOT_RELAX);
	assert_int_equal(s.release_ns, 0);
}

/* Pressure that oscillates around the target every 300 ms for a minute:
 * the number of changes stays bounded (the doubled holds), no sawtooth. */
static void test_oscillation_bounded(void **state)
{
	struct iothrottle_conf c = conf();
	struct iothrottle_state s = { 0 };
	uint64_t next, calm = 0;
	unsigned changes = 0;

	(void)state;
	for (uint64_t now = SEC; now < 61 * SEC; now += 50 * MS) {
		bool p = (now / (300 * MS)) % 2 == 0;

		if (!p && !calm)
			calm = now;
		if (p)
			calm = 0;
		if (iothrottle_step(&c, &s, p, calm, 32 * MIB, 800, now, &next) != IOT_NONE)
			changes++;
	}
	printf("oscillating pressure, 60 s: %u io.max changes (tightened %u, relaxed %u, "
	       "lifted %u)\n",
	       changes, s.tightened, s.relaxed, s.lifted);
	/* calm never lasts the 2 s release hold: it only tightens, to the floor */
	assert_int_equal(s.relaxed + s.lifted, 0);
	assert_true(changes <= 6);
	assert_int_equal(s.bps, c.floor_bps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_cap),
		cmocka_unit_test(test_halves_per_hold_to_floor),
		cmocka_unit_test(test_release_and_lift),
		cmocka_unit_test(test_backoff_and_reset),
		cmocka_unit_test(test_oscillation_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
