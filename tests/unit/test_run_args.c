// SPDX-License-Identifier: Apache-2.0
/* tools/run/args.c: cgpilot-run's command line and its CPU and size values. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "run.h"
#include "unit.h"

#define MIB (1024ULL * 1024)
#define GIB (1024ULL * MIB)

static int parse(struct run_opts *o, char *err, const char *const *args)
{
	static char *argv[32]; /* o->argv points into it */
	int argc = 0;

	argv[argc++] = "cgpilot-run";
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	err[0] = 0;
	return run_parse_args(argc, argv, o, err, 256);
}

static void test_full(void **state)
{
	struct run_opts o;
	char err[256];
	const char *a[] = { "--class",	   "guaranteed", "--cpus", "2",	  "--memory", "1.5G",
			    "--io-weight", "500",	 "-n",	   "web", "--tenant", "team-a",
			    "--wait",	   "--",	 "sh",	   "-c",  "exit 3",   NULL };

	(void)state;
	assert_int_equal(parse(&o, err, a), 0);
	assert_string_equal(o.class, "guaranteed");
	assert_int_equal(o.cpu_request_mc, 2000);
	assert_int_equal(o.memory_request, 3 * GIB / 2);
	assert_int_equal(o.io_weight, 500);
	assert_string_equal(o.name, "web");
	assert_string_equal(o.tenant, "team-a");
	assert_true(o.wait);
	assert_int_equal(o.argc, 3);
	assert_string_equal(o.argv[0], "sh");
	assert_string_equal(o.argv[2], "exit 3");
	assert_string_equal(o.socket, "/run/cgpilot/cgpilot.sock");
}

static void test_command_options_stay(void **state)
{
	struct run_opts o;
	char err[256];
	const char *a[] = { "--memory-limit", "512M", "ls", "-l", "--cpus", NULL };

	(void)state;
	/* options end at the command: its own -l and --cpus are its own */
	assert_int_equal(parse(&o, err, a), 0);
	assert_int_equal(o.memory_limit, 512 * MIB);
	assert_int_equal(o.argc, 3);
	assert_string_equal(o.argv[2], "--cpus");
}

static void test_bad_values(void **state)
{
	static const struct {
		const char *args[6];
		const char *want;
	} cases[] = {
		{ { "--memory", "12Q", "true" }, "--memory '12Q': not a size" },
		{ { "--memory", "0", "true" }, "--memory '0': must be more than 0" },
		{ { "--memory-limit", "99999999T", "true" },
		  "--memory-limit '99999999T': too large" },
		{ { "--cpus", "abc", "true" }, "--cpus 'abc': not a number of CPUs" },
		{ { "--cpus", "0", "true" }, "--cpus '0': must be more than 0" },
		{ { "--class", "gold", "true" }, "--class 'gold'" },
		{ { "--io-weight", "0", "true" }, "--io-weight '0': not in 1..10000" },
		{ { "--priority", "5000", "true" }, "--priority '5000'" },
		{ { "--name", "../x", "true" }, "--name '../x'" },
		{ { "--name", "a/b", "true" }, "--name 'a/b'" },
		{ { "--cap", "CAP_NOPE", "true" }, "unknown capability 'CAP_NOPE'" },
		{ { "--cap", "CAP_MKNOD", "true" }, "CAP_MKNOD needs a device cgroup" },
		{ { "--bogus", "true" }, "unknown option '--bogus'" },
		{ { "--memory" }, "--memory needs a value" },
		{ { "--cpus", "1" }, "no command" },
		{ { "--rootfs", "/r", "--bundle", "/b", "true" }, "exclude each other" },
		{ { "--bundle", "/b", "true" }, "'true' is one too many" },
		{ { "--rootfs", "/r", "--no-mount", "true" }, "needs the mount namespace" },
		{ { "--hostname", "h", "--no-uts", "true" }, "--hostname needs the uts namespace" },
	};
	struct run_opts o;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *a[8] = { 0 };

		memcpy(a, cases[i].args, sizeof(cases[i].args));
		assert_int_equal(parse(&o, err, a), -EINVAL);
		assert_contains(err, cases[i].want);
	}
}

static void test_sizes(void **state)
{
	struct run_opts o;
	char err[256];
	const char *a1[] = { "-m", "512M", "true", NULL };
	const char *a2[] = { "-m", "2G", "true", NULL };
	const char *a3[] = { "-m", "1048576", "true", NULL };

	(void)state;
	assert_int_equal(parse(&o, err, a1), 0);
	assert_int_equal(o.memory_request, 512 * MIB);
	assert_int_equal(parse(&o, err, a2), 0);
	assert_int_equal(o.memory_request, 2 * GIB);
	assert_int_equal(parse(&o, err, a3), 0);
	assert_int_equal(o.memory_request, MIB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_command_options_stay),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_sizes),
	};

	return cmocka_run_group_tests_name("run_args", tests, NULL, NULL);
}
