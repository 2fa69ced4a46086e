// SPDX-License-Identifier: Apache-2.0
/* daemon/policy/memhigh.c: senpai-like sizing of memory.high on synthetic stall series. */
#include <stdio.h>

#include "policy/memhigh.h"
#include "unit.h"

#define MIB (1024ULL * 1024)
#define SEC 1000000000ULL

static struct memhigh_conf conf(void)
{
	return (struct memhigh_conf){
		.interval_ns = SEC,
		.target = 0.001, /* 1 ms of stall a second */
		.tighten = 0.02,
		.backoff = 0.1,
		.floor_bytes = 16 * MIB,
		.min_step_bytes = MIB,
	};
}

/* No stall: down a share of the memory in use each interval, to the floor. */
static void test_tighten_to_floor(void **state)
{
	struct memhigh_conf c = conf();
	struct memhigh_state s = { .high = MEMHIGH_MAX };
	uint64_t t = 100 * SEC, prev;

	(void)state;
	assert_true(memhigh_step(&c, &s, 1000 * MIB, 0, 64 * MIB, MEMHIGH_MAX, t));
	assert_true(s.high == 980 * MIB);
	/* too soon */
	assert_false(memhigh_step(&c, &s, 1000 * MIB, 0, 64 * MIB, MEMHIGH_MAX, t + SEC / 2));
	prev = s.high;
	for (int i = 1; i < 400; i++) {
		uint64_t usage = s.high; /* the kernel reclaims to memory.high */

		memhigh_step(&c, &s, usage, 0, 64 * MIB, MEMHIGH_MAX, t + (uint64_t)i * SEC);
		assert_true(s.high <= prev);
		assert_true(s.high >= 64 * MIB);
		prev = s.high;
	}
	assert_true(s.high == 64 * MIB); /* the request is the floor */
	/* a configured floor above the request wins */
	c.floor_bytes = 128 * MIB;
	s = (struct memhigh_state){ .high = MEMHIGH_MAX };
	for (int i = 0; i < 400; i++)
		memhigh_step(&c, &s, s.high == MEMHIGH_MAX ? 1000 * MIB : s.high, 0, 0, MEMHIGH_MAX,
			     t + (uint64_t)i * SEC);
	assert_true(s.high == 128 * MIB);
}

/* Stall past target: back off by a share of memory.high; far past: all of it. */
static void test_backoff(void **state)
{
	struct memhigh_conf c = conf();
	struct memhigh_state s = { .high = 500 * MIB, .last_ns = 9 * SEC };

	(void)state;
	/* 2 ms of stall in 1 s: twice the target */
	assert_true(memhigh_step(&c, &s, 500 * MIB, 2000000, 0, 2048 * MIB, 10 * SEC));
	assert_true(s.high == 550 * MIB);
	assert_int_equal(s.backed_off, 1);
	/* never past the limit */
	s.high = 2000 * MIB;
	assert_true(memhigh_step(&c, &s, 2000 * MIB, 2000000, 0, 2048 * MIB, 11 * SEC));
	assert_true(s.high == 2048 * MIB);
	assert_false(memhigh_step(&c, &s, 2048 * MIB, 2000000, 0, 2048 * MIB, 12 * SEC));
	/* 5 ms: far past target, four times the share */
	s.high = 300 * MIB;
	assert_true(memhigh_step(&c, &s, 300 * MIB, 5000000, 0, MEMHIGH_MAX, 13 * SEC));
	assert_true(s.high == 420 * MIB);
	/* at max already: nothing to give back */
	s.high = MEMHIGH_MAX;
	assert_false(memhigh_step(&c, &s, 300 * MIB, 5000000, 0, MEMHIGH_MAX, 14 * SEC));
}

/* Near target, smaller steps; under min_step_bytes, none. */
static void test_proportional_and_min_step(void **state)
{
	struct memhigh_conf c = conf();
	struct memhigh_state s = { .high = 1000 * MIB, .last_ns = 1 };

	(void)state;
	/* half the target: half the step (2% * 0.5 of 1000 MiB = 10 MiB) */
	assert_true(memhigh_step(&c, &s, 1000 * MIB, 500000, 0, MEMHIGH_MAX, 1 + SEC));
	assert_true(s.high == 990 * MIB);
	/* 99.9% of target: a step under 1 MiB is not written */
	assert_false(memhigh_step(&c, &s, 990 * MIB, 999000, 0, MEMHIGH_MAX, 1 + 2 * SEC));
	assert_true(s.high == 990 * MIB);
}

/*
 * A container with a 300 MiB working set in 1 GiB: no stall while
 * memory.high is above it, 1 ms a second and 1 ms more per MiB below it.
 * memory.high settles around the working set, backing off now and then.
 */
static void test_finds_working_set(void **state)
{
	struct memhigh_conf c = conf();
	struct memhigh_state s = { .high = MEMHIGH_MAX };
	const uint64_t ws = 300 * MIB;
	uint64_t stall = 0, late_min = MEMHIGH_MAX, late_max = 0;

	(void)state;
	for (int i = 0; i < 600; i++) {
		uint64_t usage = s.high == MEMHIGH_MAX || s.high > 1024 * MIB ? 1024 * MIB : s.high;

		memhigh_step(&c, &s, usage, stall, 32 * MIB, MEMHIGH_MAX, (uint64_t)(i + 1) * SEC);
		stall = s.high < ws ? (ws - s.high) / MIB * 1000000ULL + 1000000 : 0;
		if (i >= 300) {
			uint64_t h = s.high == MEMHIGH_MAX ? 2048 * MIB : s.high;

			late_min = h < late_min ? h : late_min;
			late_max = h > late_max ? h : late_max;
		}
	}
	printf("working set 300 MiB: memory.high in the second half %llu..%llu MiB, %u "
	       "tightenings, %u back-offs\n",
	       (unsigned long long)(late_min / MIB), (unsigned long long)(late_max / MIB),
	       s.tightened, s.backed_off);
	assert_true(late_min >= ws * 9 / 10);
	assert_true(late_max <= ws * 13 / 10);
	assert_true(s.backed_off <= 60);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tighten_to_floor),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_proportional_and_min_step),
		cmocka_unit_test(test_finds_working_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
