// SPDX-License-Identifier: Apache-2.0
/* daemon/policy/class.c: classes, request checks, knob values and their inverse. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy/class.h"
#include "unit.h"

#define MIB (1024ULL * 1024)
#define GIB (1024ULL * MIB)

static void test_names(void **state)
{
	enum cgp_class c = CGP_CLASS_BURSTABLE;

	(void)state;
	assert_string_equal(class_name(CGP_CLASS_GUARANTEED), "guaranteed");
	assert_string_equal(class_name(CGP_CLASS_BURSTABLE), "burstable");
	assert_string_equal(class_name(CGP_CLASS_BESTEFFORT), "besteffort");
	assert_null(class_name(CGP_CLASS_MAX));
	assert_null(class_name((enum cgp_class) - 1));
	for (unsigned i = 0; i < CGP_CLASS_MAX; i++) {
		assert_int_equal(class_parse(class_name((enum cgp_class)i), &c), 0);
		assert_int_equal(c, i);
	}
}

static void test_parse_unknown(void **state)
{
	enum cgp_class c = CGP_CLASS_BURSTABLE;

	(void)state;
	assert_int_equal(class_parse("platinum", &c), -EINVAL);
	assert_int_equal(class_parse("Guaranteed", &c), -EINVAL);
	assert_int_equal(class_parse("guaranteed ", &c), -EINVAL);
	assert_int_equal(class_parse("", &c), -EINVAL);
	assert_int_equal(class_parse(NULL, &c), -EINVAL);
	assert_int_equal(c, CGP_CLASS_BURSTABLE); /* untouched */
}

static void test_conf_defaults(void **state)
{
	struct class_conf conf[CGP_CLASS_MAX];

	(void)state;
	memset(conf, 0xff, sizeof(conf));
	class_conf_defaults(conf);
	assert_int_equal(conf[CGP_CLASS_GUARANTEED].io_weight, 1000);
	assert_int_equal(conf[CGP_CLASS_BURSTABLE].io_weight, 100);
	assert_int_equal(conf[CGP_CLASS_BESTEFFORT].io_weight, 10);
	for (unsigned i = 0; i < CGP_CLASS_MAX; i++)
		assert_int_equal(conf[i].priority, 0);
}

static void test_check_guaranteed_fills_limits(void **state)
{
	struct res_spec s = { .cpu_request_mc = 2000, .mem_request = GIB };
	char err[200] = "x";

	(void)state;
	assert_int_equal(class_check(CGP_CLASS_GUARANTEED, NULL, &s, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_true(s.cpu_limit_mc == 2000 && s.mem_limit == GIB);
	assert_int_equal(s.io_weight, 1000);
	/* a limit equal to the request is fine */
	s = (struct res_spec){ .cpu_request_mc = 500, .cpu_limit_mc = 500, .mem_request = MIB };
	assert_int_equal(class_check(CGP_CLASS_GUARANTEED, NULL, &s, err, sizeof(err)), 0);
	assert_true(s.cpu_limit_mc == 500 && s.mem_limit == MIB);
}

static void test_check_guaranteed_missing_request(void **state)
{
	struct res_spec s = { .mem_request = GIB, .io_weight = 7 }, orig;
	char err[200];

	(void)state;
	orig = s;
	assert_int_equal(class_check(CGP_CLASS_GUARANTEED, NULL, &s, err, sizeof(err)), -EINVAL);
	assert_starts_with(err, "cpu: guaranteed needs a request");
	assert_memory_equal(&s, &orig, sizeof(s));

	s = (struct res_spec){ .cpu_request_mc = 1000 };
	orig = s;
	assert_int_equal(class_check(CGP_CLASS_GUARANTEED, NULL, &s, err, sizeof(err)), -EINVAL);
	assert_starts_with(err, "memory: guaranteed needs a request");
	assert_memory_equal(&s, &orig, sizeof(s));
	/* the same spec is fine for the other classes */
	assert_int_equal(class_check(CGP_CLASS_BURSTABLE, NULL, &s, err, sizeof(err)), 0);
}

static void test_check_guaranteed_limit_differs(void **state)
{
	struct res_spec s = { .cpu_request_mc = 1000, .cpu_limit_mc = 1500, .mem_request = GIB },
			orig;
	char err[200];

	(void)state;
	orig = s;
	assert_int_equal(class_check(CGP_CLASS_GUARANTEED, NULL, &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "cpu: limit 1500 millicores differs from the request 1000 "
				 "millicores (guaranteed takes request = limit)");
	assert_memory_equal(&s, &orig, sizeof(s));

	s = (struct res_spec){ .cpu_request_mc = 1000, .mem_request = GIB, .mem_limit = 2 * GIB };
	assert_int_equal(class_check(CGP_CLASS_GUARANTEED, NULL, &s, err, sizeof(err)), -EINVAL);
	assert_contains(err, "memory: limit 2147483648 bytes differs from the request 1073741824");
	/* burstable may have a limit above its request */
	assert_int_equal(class_check(CGP_CLASS_BURSTABLE, NULL, &s, err, sizeof(err)), 0);
}

static void test_check_limit_below_request(void **state)
{
	struct res_spec s = { .cpu_request_mc = 1000, .cpu_limit_mc = 999 }, orig;
	char err[200];

	(void)state;
	orig = s;
	for (unsigned c = 0; c < CGP_CLASS_MAX; c++) {
		s = orig;
		s.mem_request = GIB; /* so guaranteed gets to the limit */
		assert_int_equal(class_check((enum cgp_class)c, NULL, &s, err, sizeof(err)),
				 -EINVAL);
		assert_string_equal(
			err, "cpu: limit 999 millicores is below the request 1000 millicores");
	}
	s = (struct res_spec){ .mem_request = GIB, .mem_limit = GIB - 1 };
	assert_int_equal(class_check(CGP_CLASS_BESTEFFORT, NULL, &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "memory: limit 1073741823 bytes is below the request 1073741824 bytes");
	/* no limit is not a limit below the request */
	s = (struct res_spec){ .cpu_request_mc = 1000, .mem_request = GIB };
	assert_int_equal(class_check(CGP_CLASS_BURSTABLE, NULL, &s, err, sizeof(err)), 0);
	assert_true(s.cpu_limit_mc == 0 && s.mem_limit == 0);
}

static void test_check_maximums(void **state)
{
	struct res_spec s;
	char err[200];

	(void)state;
	s = (struct res_spec){ .cpu_request_mc = 1ULL << 32,
			       .mem_request = 1ULL << 62,
			       .io_weight = 10000 };
	assert_int_equal(class_check(CGP_CLASS_BURSTABLE, NULL, &s, err, sizeof(err)), 0);

	s = (struct res_spec){ .cpu_request_mc = (1ULL << 32) + 1 };
	assert_int_equal(class_check(CGP_CLASS_BURSTABLE, NULL, &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "cpu: request 4294967297 millicores is past the maximum 4294967296");
	s = (struct res_spec){ .cpu_limit_mc = UINT64_MAX };
	assert_int_equal(class_check(CGP_CLASS_BESTEFFORT, NULL, &s, err, sizeof(err)), -EINVAL);
	assert_contains(err, "cpu: limit 18446744073709551615 millicores");
	s = (struct res_spec){ .mem_limit = (1ULL << 62) + 1 };
	assert_int_equal(class_check(CGP_CLASS_BURSTABLE, NULL, &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "memory: limit 4611686018427387905 bytes is past the maximum "
				 "4611686018427387904");
	s = (struct res_spec){ .io_weight = 10001 };
	assert_int_equal(class_check(CGP_CLASS_BURSTABLE, NULL, &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "io_weight: 10001 is past the maximum 10000");
	assert_int_equal(s.io_weight, 10001); /* untouched */
	/* a bad class */
	s = (struct res_spec){ 0 };
	assert_int_equal(class_check(CGP_CLASS_MAX, NULL, &s, err, sizeof(err)), -EINVAL);
	assert_contains(err, "class");
	/* no buffer for the reason is fine */
	s = (struct res_spec){ .io_weight = 10001 };
	assert_int_equal(class_check(CGP_CLASS_BURSTABLE, NULL, &s, NULL, 0), -EINVAL);
}

static void test_check_defaults(void **state)
{
	struct class_conf conf[CGP_CLASS_MAX];
	struct res_spec s;
	char err[200];

	(void)state;
	class_conf_defaults(conf);
	conf[CGP_CLASS_BURSTABLE].io_weight = 300;
	conf[CGP_CLASS_BURSTABLE].priority = 5;
	conf[CGP_CLASS_BESTEFFORT].priority = -3;

	s = (struct res_spec){ .cpu_request_mc = 100 };
	assert_int_equal(class_check(CGP_CLASS_BURSTABLE, conf, &s, err, sizeof(err)), 0);
	assert_int_equal(s.io_weight, 300);
	assert_int_equal(s.priority, 5);
	s = (struct res_spec){ 0 };
	assert_int_equal(class_check(CGP_CLASS_BESTEFFORT, conf, &s, err, sizeof(err)), 0);
	assert_int_equal(s.io_weight, 10);
	assert_int_equal(s.priority, -3);
	/* named values stay */
	s = (struct res_spec){ .io_weight = 42, .priority = 9 };
	assert_int_equal(class_check(CGP_CLASS_BURSTABLE, conf, &s, err, sizeof(err)), 0);
	assert_int_equal(s.io_weight, 42);
	assert_int_equal(s.priority, 9);
	/* NULL conf: the built-in defaults */
	s = (struct res_spec){ 0 };
	assert_int_equal(class_check(CGP_CLASS_BURSTABLE, NULL, &s, err, sizeof(err)), 0);
	assert_int_equal(s.io_weight, 100);
	assert_int_equal(s.priority, 0);
	/* a config default past io.weight's range does not reach the spec */
	conf[CGP_CLASS_BURSTABLE].io_weight = 20000;
	s = (struct res_spec){ 0 };
	assert_int_equal(class_check(CGP_CLASS_BURSTABLE, conf, &s, err, sizeof(err)), 0);
	assert_int_equal(s.io_weight, 100);
}

static void test_exclusive(void **state)
{
	struct res_spec s = { .cpu_request_mc = 2000, .mem_request = GIB };

	(void)state;
	assert_true(class_exclusive(CGP_CLASS_GUARANTEED, &s));
	assert_false(class_exclusive(CGP_CLASS_BURSTABLE, &s));
	assert_false(class_exclusive(CGP_CLASS_BESTEFFORT, &s));
	s.cpu_request_mc = 1500;
	assert_false(class_exclusive(CGP_CLASS_GUARANTEED, &s));
	s.cpu_request_mc = 0;
	assert_false(class_exclusive(CGP_CLASS_GUARANTEED, &s));
}

static void test_cpu_weight(void **state)
{
	(void)state;
	/* kubelet: shares 1024 -> 1 + (1022 * 9999) / 262142 = 39 */
	assert_int_equal(class_cpu_weight(1000), 39);
	/* 250 mc -> shares 256 -> 1 + 254 * 9999 / 262142 = 10 */
	assert_int_equal(class_cpu_weight(250), 10);
	assert_int_equal(class_cpu_weight(100), 4); /* shares 102 */
	assert_int_equal(class_cpu_weight(2000), 79);
	/* the minimum of 2 shares is weight 1 */
	assert_int_equal(class_cpu_weight(0), 1);
	assert_int_equal(class_cpu_weight(1), 1);
	/* 256 CPUs are kubelet's maximum of 262144 shares, 10000 */
	assert_int_equal(class_cpu_weight(256000), 10000);
	assert_int_equal(class_cpu_weight(1ULL << 32), 10000);
	assert_int_equal(class_cpu_weight(UINT64_MAX), 10000);
}

static void test_knobs_guaranteed(void **state)
{
	struct res_spec s = { .cpu_request_mc = 2000, .mem_request = GIB };
	struct class_knobs k;
	char err[200];

	(void)state;
	assert_int_equal(class_check(CGP_CLASS_GUARANTEED, NULL, &s, err, sizeof(err)), 0);
	class_knobs(CGP_CLASS_GUARANTEED, &s, &k);
	assert_string_equal(k.cpu_weight, "79");
	assert_string_equal(k.cpu_max, "200000 100000");
	assert_string_equal(k.memory_min, "1073741824");
	assert_string_equal(k.memory_low, "0");
	assert_string_equal(k.memory_max, "1073741824");
	assert_string_equal(k.io_weight, "default 1000");
}

static void test_knobs_burstable(void **state)
{
	struct res_spec s = { .cpu_request_mc = 250,
			      .cpu_limit_mc = 1500,
			      .mem_request = 512 * MIB };
	struct class_knobs k;
	char err[200];

	(void)state;
	assert_int_equal(class_check(CGP_CLASS_BURSTABLE, NULL, &s, err, sizeof(err)), 0);
	class_knobs(CGP_CLASS_BURSTABLE, &s, &k);
	assert_string_equal(k.cpu_weight, "10");
	assert_string_equal(k.cpu_max, "150000 100000");
	assert_string_equal(k.memory_min, "0");
	assert_string_equal(k.memory_low, "536870912");
	assert_string_equal(k.memory_max, "max");
	assert_string_equal(k.io_weight, "default 100");

	s.cpu_request_mc = 1000;
	s.cpu_limit_mc = 0;
	s.mem_limit = GIB;
	class_knobs(CGP_CLASS_BURSTABLE, &s, &k);
	assert_string_equal(k.cpu_weight, "39");
	assert_string_equal(k.cpu_max, "max 100000");
	assert_string_equal(k.memory_max, "1073741824");
}

static void test_knobs_besteffort(void **state)
{
	/* a besteffort request is admitted against slack, but weighs nothing */
	struct res_spec s = { .cpu_request_mc = 4000, .mem_request = GIB };
	struct class_knobs k;
	char err[200];

	(void)state;
	assert_int_equal(class_check(CGP_CLASS_BESTEFFORT, NULL, &s, err, sizeof(err)), 0);
	class_knobs(CGP_CLASS_BESTEFFORT, &s, &k);
	assert_string_equal(k.cpu_weight, "1");
	assert_string_equal(k.cpu_max, "max 100000");
	assert_string_equal(k.memory_min, "0");
	assert_string_equal(k.memory_low, "0");
	assert_string_equal(k.memory_max, "max");
	assert_string_equal(k.io_weight, "default 10");
}

static void test_knobs_tiny_limit(void **state)
{
	struct res_spec s = { .cpu_limit_mc = 1, .io_weight = 100 };
	struct class_knobs k;

	(void)state;
	/* the kernel takes no less than 1 ms of quota */
	class_knobs(CGP_CLASS_BURSTABLE, &s, &k);
	assert_string_equal(k.cpu_max, "1000 100000");
	s.cpu_limit_mc = 10;
	class_knobs(CGP_CLASS_BURSTABLE, &s, &k);
	assert_string_equal(k.cpu_max, "1000 100000");
	s.cpu_limit_mc = 11;
	class_knobs(CGP_CLASS_BURSTABLE, &s, &k);
	assert_string_equal(k.cpu_max, "1100 100000");
	/* the largest limit a spec may have */
	s.cpu_limit_mc = 1ULL << 32;
	class_knobs(CGP_CLASS_BURSTABLE, &s, &k);
	assert_string_equal(k.cpu_max, "429496729600 100000");
}

static void test_from_files(void **state)
{
	struct res_spec s;

	(void)state;
	memset(&s, 0xff, sizeof(s));
	assert_int_equal(class_spec_from_files("39\n", "150000 100000\n", "0\n", "1073741824\n",
					       "2147483648\n", &s),
			 0);
	assert_true(s.cpu_request_mc == 1000 && s.cpu_limit_mc == 1500);
	assert_true(s.mem_request == GIB && s.mem_limit == 2 * GIB);
	assert_true(s.io_weight == 0 && s.priority == 0);

	/* missing files: nothing known */
	memset(&s, 0xff, sizeof(s));
	assert_int_equal(class_spec_from_files(NULL, NULL, NULL, NULL, NULL, &s), 0);
	assert_true(!s.cpu_request_mc && !s.cpu_limit_mc && !s.mem_request && !s.mem_limit);

	/* weight 1 is besteffort: no request; "max" is no limit */
	assert_int_equal(class_spec_from_files("1\n", "max 100000\n", "0", "0", "max\n", &s), 0);
	assert_true(!s.cpu_request_mc && !s.cpu_limit_mc && !s.mem_request && !s.mem_limit);

	/* memory.min wins over memory.low */
	assert_int_equal(class_spec_from_files(NULL, NULL, "4096", "8192", NULL, &s), 0);
	assert_true(s.mem_request == 4096);
	assert_int_equal(class_spec_from_files(NULL, NULL, NULL, "8192", NULL, &s), 0);
	assert_true(s.mem_request == 8192);

	/* cpu.max rounds up, over any period */
	assert_int_equal(class_spec_from_files(NULL, "100001 100000", NULL, NULL, NULL, &s), 0);
	assert_true(s.cpu_limit_mc == 1001);
	assert_int_equal(class_spec_from_files(NULL, "50000 1000000", NULL, NULL, NULL, &s), 0);
	assert_true(s.cpu_limit_mc == 50);
	assert_int_equal(class_spec_from_files(NULL, "1000 100000", NULL, NULL, NULL, &s), 0);
	assert_true(s.cpu_limit_mc == 10);
	assert_int_equal(class_spec_from_files(NULL, "1 100000", NULL, NULL, NULL, &s), 0);
	assert_true(s.cpu_limit_mc == 1);
	/* a quota alone means the default period */
	assert_int_equal(class_spec_from_files(NULL, "200000", NULL, NULL, NULL, &s), 0);
	assert_true(s.cpu_limit_mc == 2000);
	assert_int_equal(class_spec_from_files("10000", NULL, NULL, NULL, NULL, &s), 0);
	assert_true(s.cpu_request_mc == 256000);
}

static void test_from_files_bad(void **state)
{
	static const char *const bad_weight[] = { "",	"0",   "10001",
						  "-1", "+5",  " 5",
						  "5x", "abc", "99999999999999999999999" };
	static const char *const bad_max[] = { "",
					       "max x",
					       "maxx",
					       "0 100000",
					       "100 0",
					       "100 100000 5",
					       "-100 100000",
					       "100  100000",
					       "100,100000",
					       "99999999999999999 100000" };
	static const char *const bad_mem[] = { "", "max", "-1", "1k", "1 2", "0x10" };
	struct res_spec s, orig;

	(void)state;
	memset(&s, 0x5a, sizeof(s));
	orig = s;
	for (unsigned i = 0; i < sizeof(bad_weight) / sizeof(*bad_weight); i++)
		if (class_spec_from_files(bad_weight[i], NULL, NULL, NULL, NULL, &s) != -EINVAL)
			fail_msg("cpu.weight \"%s\" accepted", bad_weight[i]);
	for (unsigned i = 0; i < sizeof(bad_max) / sizeof(*bad_max); i++)
		if (class_spec_from_files(NULL, bad_max[i], NULL, NULL, NULL, &s) != -EINVAL)
			fail_msg("cpu.max \"%s\" accepted", bad_max[i]);
	for (unsigned i = 0; i < sizeof(bad_mem) / sizeof(*bad_mem); i++) {
		if (class_spec_from_files(NULL, NULL, bad_mem[i], NULL, NULL, &s) != -EINVAL)
			fail_msg("memory.min \"%s\" accepted", bad_mem[i]);
		if (class_spec_from_files(NULL, NULL, NULL, bad_mem[i], NULL, &s) != -EINVAL)
			fail_msg("memory.low \"%s\" accepted", bad_mem[i]);
		if (strcmp(bad_mem[i], "max") &&
		    class_spec_from_files(NULL, NULL, NULL, NULL, bad_mem[i], &s) != -EINVAL)
			fail_msg("memory.max \"%s\" accepted", bad_mem[i]);
	}
	/* one bad file spoils the lot, and nothing is written */
	assert_int_equal(class_spec_from_files("39", "max 100000", "0", "0", "12 monkeys", &s),
			 -EINVAL);
	assert_memory_equal(&s, &orig, sizeof(s));
}

/* Every weight comes back as a request of that weight. */
static void test_weight_inverse(void **state)
{
	static const uint64_t round[] = { 100,	200,  250,  300,  500,	 750,	1000,  1500,
					  2000, 3000, 4000, 8000, 16000, 64000, 128000 };
	struct res_spec s;
	char buf[16];

	(void)state;
	for (uint32_t w = 1; w <= 10000; w++) {
		snprintf(buf, sizeof(buf), "%u\n", w);
		assert_int_equal(class_spec_from_files(buf, NULL, NULL, NULL, NULL, &s), 0);
		if (class_cpu_weight(s.cpu_request_mc) != w)
			fail_msg("weight %u -> %llu mc -> weight %u", w,
				 (unsigned long long)s.cpu_request_mc,
				 class_cpu_weight(s.cpu_request_mc));
	}
	/* kubelet's usual requests come back as they were */
	for (unsigned i = 0; i < sizeof(round) / sizeof(*round); i++) {
		snprintf(buf, sizeof(buf), "%u", class_cpu_weight(round[i]));
		assert_int_equal(class_spec_from_files(buf, NULL, NULL, NULL, NULL, &s), 0);
		if (s.cpu_request_mc != round[i])
			fail_msg("%llu mc -> weight %s -> %llu mc", (unsigned long long)round[i],
				 buf, (unsigned long long)s.cpu_request_mc);
	}
}

static void round_trip(enum cgp_class class, struct res_spec x)
{
	struct class_knobs k;
	struct res_spec y;
	char err[200];
	uint64_t d;

	assert_int_equal(class_check(class, NULL, &x, err, sizeof(err)), 0);
	class_knobs(class, &x, &k);
	assert_int_equal(class_spec_from_files(k.cpu_weight, k.cpu_max, k.memory_min, k.memory_low,
					       k.memory_max, &y),
			 0);
	/* a weight is a run of about 25 mc (26.2 shares a step); 0-28 mc are weight 1, read as 0 */
	d = y.cpu_request_mc > x.cpu_request_mc ? y.cpu_request_mc - x.cpu_request_mc :
						  x.cpu_request_mc - y.cpu_request_mc;
	if (x.cpu_request_mc > 28 && d > 26)
		fail_msg("cpu request %llu came back as %llu", (unsigned long long)x.cpu_request_mc,
			 (unsigned long long)y.cpu_request_mc);
	assert_int_equal(class_cpu_weight(y.cpu_request_mc), class_cpu_weight(x.cpu_request_mc));
	/* limits of 10 mc and more are exact (1 ms of quota is the floor) */
	if (x.cpu_limit_mc >= 10 || !x.cpu_limit_mc)
		assert_true(y.cpu_limit_mc == x.cpu_limit_mc);
	assert_true(y.mem_request == x.mem_request);
	assert_true(y.mem_limit == x.mem_limit);
}

static void test_round_trip(void **state)
{
	(void)state;
	round_trip(CGP_CLASS_BURSTABLE, (struct res_spec){ .cpu_request_mc = 1000,
							   .cpu_limit_mc = 1500,
							   .mem_request = GIB,
							   .mem_limit = 2 * GIB });
	round_trip(CGP_CLASS_BURSTABLE,
		   (struct res_spec){ .cpu_request_mc = 250, .mem_request = 300 * MIB });
	round_trip(CGP_CLASS_BURSTABLE, (struct res_spec){ .cpu_request_mc = 1234,
							   .cpu_limit_mc = 4321,
							   .mem_request = 12345678,
							   .mem_limit = 87654321 });
	round_trip(CGP_CLASS_BURSTABLE, (struct res_spec){ .cpu_limit_mc = 10 });
	round_trip(CGP_CLASS_GUARANTEED,
		   (struct res_spec){ .cpu_request_mc = 3000, .mem_request = 4 * GIB });
	/* many burstable requests below the weight cap, none off by more than a weight step */
	for (uint64_t mc = 0; mc < 256000; mc += 37)
		round_trip(CGP_CLASS_BURSTABLE, (struct res_spec){ .cpu_request_mc = mc,
								   .cpu_limit_mc = mc + 10,
								   .mem_request = mc * MIB });
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_parse_unknown),
		cmocka_unit_test(test_conf_defaults),
		cmocka_unit_test(test_check_guaranteed_fills_limits),
		cmocka_unit_test(test_check_guaranteed_missing_request),
		cmocka_unit_test(test_check_guaranteed_limit_differs),
		cmocka_unit_test(test_check_limit_below_request),
		cmocka_unit_test(test_check_maximums),
		cmocka_unit_test(test_check_defaults),
		cmocka_unit_test(test_exclusive),
		cmocka_unit_test(test_cpu_weight),
		cmocka_unit_test(test_knobs_guaranteed),
		cmocka_unit_test(test_knobs_burstable),
		cmocka_unit_test(test_knobs_besteffort),
		cmocka_unit_test(test_knobs_tiny_limit),
		cmocka_unit_test(test_from_files),
		cmocka_unit_test(test_from_files_bad),
		cmocka_unit_test(test_weight_inverse),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests_name("class", tests, NULL, NULL);
}
