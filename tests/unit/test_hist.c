// SPDX-License-Identifier: Apache-2.0
/* include/hist.h: log2 slot of a value and the slots' upper bounds. */
#include "hist.h"
#include "unit.h"

/* floor(log2(v)) by shifting, 0 for 0, clamped to the last slot. */
static __u32 ref_slot(__u64 v)
{
	__u32 k = 0;

	while (v > 1) {
		v >>= 1;
		k++;
	}
	return k < CGP_HIST_SLOTS ? k : CGP_HIST_SLOTS - 1;
}

static void expect_slot(__u64 v)
{
	__u32 got = cgp_hist_slot(v), want = ref_slot(v);

	if (got != want)
		fail_msg("cgp_hist_slot(%llu) = %u, want %u", (unsigned long long)v, got, want);
}

static void test_small_values(void **state)
{
	assert_int_equal(cgp_hist_slot(0), 0);
	assert_int_equal(cgp_hist_slot(1), 0);
	assert_int_equal(cgp_hist_slot(2), 1);
	assert_int_equal(cgp_hist_slot(3), 1);
	assert_int_equal(cgp_hist_slot(4), 2);
	assert_int_equal(cgp_hist_slot(7), 2);
	assert_int_equal(cgp_hist_slot(8), 3);
	for (__u64 v = 0; v < 70000; v++)
		expect_slot(v);
}

static void test_powers_of_two(void **state)
{
	for (unsigned k = 0; k < 64; k++) {
		__u64 p = 1ULL << k;

		expect_slot(p - 1);
		expect_slot(p);
		expect_slot(p + 1);
		if (k < CGP_HIST_SLOTS)
			assert_int_equal(cgp_hist_slot(p), k);
	}
	assert_int_equal(cgp_hist_slot(0xffffffffULL), 31);
}

static void test_clamped_above(void **state)
{
	static const __u64 big[] = { 1ULL << 32,	   (1ULL << 32) + 1, 0x1ffffffffULL,
				     1ULL << 40,	   1ULL << 63,	     UINT64_MAX,
				     0x100000000000000ULL, 0xdeadbeefcafeULL };

	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		assert_int_equal(cgp_hist_slot(big[i]), CGP_HIST_SLOTS - 1);
}

static void test_pseudo_random(void **state)
{
	__u64 x = 0x9e3779b97f4a7c15ULL;

	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* spread over all magnitudes */
		expect_slot(x >> (i % 64));
	}
}

static void test_slot_upper_us(void **state)
{
	assert_int_equal(cgp_hist_slot_upper_us(0), 2);
	assert_int_equal(cgp_hist_slot_upper_us(1), 4);
	assert_int_equal(cgp_hist_slot_upper_us(10), 2048);
	assert_true(cgp_hist_slot_upper_us(CGP_HIST_SLOTS - 2) == 1ULL << (CGP_HIST_SLOTS - 1));
	assert_int_equal(cgp_hist_slot_upper_us(CGP_HIST_SLOTS - 1), 0);
	assert_int_equal(cgp_hist_slot_upper_us(CGP_HIST_SLOTS), 0);
	/* every value counted in a bounded slot lies below its bound and at or above the
	 * previous slot's bound */
	for (__u32 s = 0; s + 1 < CGP_HIST_SLOTS; s++) {
		__u64 hi = cgp_hist_slot_upper_us(s);

		assert_int_equal(cgp_hist_slot(hi - 1), s);
		assert_int_equal(cgp_hist_slot(hi), s + 1);
		if (s)
			assert_int_equal(cgp_hist_slot(cgp_hist_slot_upper_us(s - 1)), s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_values),  cmocka_unit_test(test_powers_of_two),
		cmocka_unit_test(test_clamped_above), cmocka_unit_test(test_pseudo_random),
		cmocka_unit_test(test_slot_upper_us),
	};

	return cmocka_run_group_tests_name("hist", tests, NULL, NULL);
}
