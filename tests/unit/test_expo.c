// SPDX-License-Identifier: Apache-2.0
/* lib/expo.c: Prometheus text exposition (escaping, numbers, histograms). */
#include <stdio.h>
#include <stdlib.h>

#include "expo.h"
#include "hist.h"
#include "unit.h"

static char *render_take(struct expo *e)
{
	size_t len;
	char *s = expo_take(e, &len);

	assert_non_null(s);
	assert_int_equal(strlen(s), len);
	return s;
}

/* The kernel refuses newlines in cgroup names, so only a unit test can see
 * that one is escaped; quotes and backslashes are too. */
static void test_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain/path", "plain/path" },
		{ "a\"b", "a\\\"b" },
		{ "back\\slash", "back\\\\slash" },
		{ "new\nline", "new\\nline" },
		{ "tab\tstays", "tab\tstays" },
		{ "utf8-\xc3\xa9\xe6\x9c\x8d", "utf8-\xc3\xa9\xe6\x9c\x8d" },
		{ "\\\"\n", "\\\\\\\"\\n" },
		{ "", "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = expo_escape(cases[i].in);

		assert_non_null(got);
		assert_string_equal(got, cases[i].out);
		free(got);
	}
}

static void test_sample_and_family(void **state)
{
	struct expo e;
	char *s;

	expo_init(&e);
	expo_family(&e, "cgpilot_x_total", "counter", "Help with \\ and\nnewline");
	expo_begin(&e, "cgpilot_x_total", NULL);
	expo_label(&e, "cgroup", "a\"b");
	expo_label_raw(&e, "kind", "some");
	expo_value_u64(&e, 42);
	expo_begin(&e, "cgpilot_y", NULL);
	expo_value_u64(&e, 0);
	s = render_take(&e);
	assert_string_equal(s, "# HELP cgpilot_x_total Help with \\\\ and\\nnewline\n"
			       "# TYPE cgpilot_x_total counter\n"
			       "cgpilot_x_total{cgroup=\"a\\\"b\",kind=\"some\"} 42\n"
			       "cgpilot_y 0\n");
	free(s);
	/* the expo was reset by expo_take */
	assert_null(e.buf);
	assert_int_equal(e.len, 0);
}

static void test_scaled_values(void **state)
{
	static const struct {
		uint64_t v;
		unsigned dec;
		const char *out;
	} cases[] = {
		{ 0, 9, "0" },
		{ 1, 9, "0.000000001" },
		{ 1500000000ULL, 9, "1.5" },
		{ 2000000000ULL, 9, "2" },
		{ 123456789ULL, 9, "0.123456789" },
		{ 18446744073709551615ULL, 9, "18446744073.709551615" },
		{ 1000, 6, "0.001" },
		{ 7, 0, "7" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct expo e;
		char want[64], *s;

		expo_init(&e);
		expo_begin(&e, "m", NULL);
		expo_value_scaled(&e, cases[i].v, cases[i].dec);
		s = render_take(&e);
		snprintf(want, sizeof(want), "m %s\n", cases[i].out);
		assert_string_equal(s, want);
		free(s);
	}
}

/* Log2 slots merged into cumulative buckets: every bound counts exactly the
 * slots at and below it, +Inf and _count hold everything, _sum is exact. */
static void test_histogram(void **state)
{
	static const unsigned bounds[] = { 1, 3, 30, 31 }; /* 30: last slot with a bound */
	__u64 slots[CGP_HIST_SLOTS] = { 0 };
	struct expo e;
	char *s;

	slots[0] = 1; /* 0..1 us */
	slots[1] = 2; /* 2..3 us: le 4us */
	slots[2] = 3; /* 4..7 us */
	slots[3] = 4; /* 8..15 us: le 16us */
	slots[CGP_HIST_SLOTS - 1] = 5; /* beyond every bound */
	expo_init(&e);
	expo_histogram_log2(&e, "h", "cgroup", "c\\\"q", slots, 1234567890ULL, bounds, 4);
	s = render_take(&e);
	assert_string_equal(s, "h_bucket{cgroup=\"c\\\"q\",le=\"0.000004\"} 3\n"
			       "h_bucket{cgroup=\"c\\\"q\",le=\"0.000016\"} 10\n"
			       "h_bucket{cgroup=\"c\\\"q\",le=\"2147.483648\"} 10\n"
			       "h_bucket{cgroup=\"c\\\"q\",le=\"+Inf\"} 15\n"
			       "h_sum{cgroup=\"c\\\"q\"} 1.23456789\n"
			       "h_count{cgroup=\"c\\\"q\"} 15\n");
	free(s);
}

static void test_histogram_without_label(void **state)
{
	static const unsigned bounds[] = { 0 };
	__u64 slots[CGP_HIST_SLOTS] = { 0 };
	struct expo e;
	char *s;

	expo_init(&e);
	expo_histogram_log2(&e, "h", NULL, NULL, slots, 0, bounds, 1);
	s = render_take(&e);
	assert_string_equal(s, "h_bucket{le=\"0.000002\"} 0\n"
			       "h_bucket{le=\"+Inf\"} 0\n"
			       "h_sum 0\n"
			       "h_count 0\n");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_sample_and_family),
		cmocka_unit_test(test_scaled_values),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_histogram_without_label),
	};

	return cmocka_run_group_tests_name("expo", tests, NULL, NULL);
}
