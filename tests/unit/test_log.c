// SPDX-License-Identifier: Apache-2.0
/* lib/log.c: the per-call-site rate limit (the pure decision, then the
 * logger's use of it on a captured stderr). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"

#define SEC 1000000000ULL

static void test_burst_then_suppressed(void **state)
{
	struct log_ratelimit rl = { 0 };
	unsigned report = 99;

	for (int i = 0; i < 10; i++) {
		assert_true(log_ratelimit_test(&rl, 5 * SEC + (uint64_t)i, 5 * SEC, 10, &report));
		assert_int_equal(report, 0);
	}
	for (int i = 0; i < 1000; i++)
		assert_false(log_ratelimit_test(&rl, 6 * SEC, 5 * SEC, 10, &report));
	assert_int_equal(report, 0);
	assert_int_equal(rl.printed, 10);
	assert_int_equal(rl.suppressed, 1000);
	/* the last nanosecond of the interval is still inside it */
	assert_false(log_ratelimit_test(&rl, 10 * SEC - 1, 5 * SEC, 10, &report));
	assert_int_equal(report, 0);
}

static void test_next_interval_reports(void **state)
{
	struct log_ratelimit rl = { 0 };
	unsigned report;

	for (int i = 0; i < 25; i++)
		log_ratelimit_test(&rl, 1 * SEC, 5 * SEC, 10, &report);
	/* the first line of the next interval is printed, after the summary */
	assert_true(log_ratelimit_test(&rl, 6 * SEC, 5 * SEC, 10, &report));
	assert_int_equal(report, 15);
	assert_int_equal(rl.begin_ns, 6 * SEC);
	assert_int_equal(rl.suppressed, 0);
	/* an interval that swallowed nothing reports nothing */
	assert_true(log_ratelimit_test(&rl, 20 * SEC, 5 * SEC, 10, &report));
	assert_int_equal(report, 0);
}

static void test_expire(void **state)
{
	struct log_ratelimit rl = { 0 };
	unsigned report;

	assert_int_equal(log_ratelimit_expire(&rl, 100 * SEC, 5 * SEC), 0);
	for (int i = 0; i < 12; i++)
		log_ratelimit_test(&rl, 1 * SEC, 5 * SEC, 10, &report);
	assert_int_equal(log_ratelimit_expire(&rl, 5 * SEC, 5 * SEC), 0); /* not over yet */
	assert_int_equal(rl.suppressed, 2);
	assert_int_equal(log_ratelimit_expire(&rl, 6 * SEC, 5 * SEC), 2);
	/* reported once: neither expire nor the next line reports it again */
	assert_int_equal(log_ratelimit_expire(&rl, 7 * SEC, 5 * SEC), 0);
	assert_true(log_ratelimit_test(&rl, 7 * SEC, 5 * SEC, 10, &report));
	assert_int_equal(report, 0);
	assert_int_equal(rl.begin_ns, 7 * SEC);
}

static void test_clock_before_begin(void **state)
{
	struct log_ratelimit rl = { 0 };
	unsigned report;

	for (int i = 0; i < 11; i++)
		log_ratelimit_test(&rl, 10 * SEC, 5 * SEC, 10, &report);
	/* an earlier now is inside the interval: no reset, no wrap-around */
	assert_false(log_ratelimit_test(&rl, 1 * SEC, 5 * SEC, 10, &report));
	assert_int_equal(report, 0);
	assert_int_equal(log_ratelimit_expire(&rl, 1 * SEC, 5 * SEC), 0);
	assert_int_equal(rl.suppressed, 2);
}

/* ---- the logger on a captured stderr ---- */

static int saved_stderr = -1;
static char capture_path[] = "/tmp/cgpilot-test-log-XXXXXX";

static int capture_setup(void **state)
{
	int fd = mkstemp(capture_path);

	if (fd < 0)
		return -1;
	fflush(stderr);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
	log_set_ident("t");
	log_set_level(LOG_LVL_INFO);
	return 0;
}

static char *captured(void);

static int capture_teardown(void **state)
{
	/* what is left (cmocka's message if the test failed) goes to the real stderr */
	char *rest = captured();

	dup2(saved_stderr, 2);
	fputs(rest, stderr);
	free(rest);
	close(saved_stderr);
	unlink(capture_path);
	strcpy(capture_path, "/tmp/cgpilot-test-log-XXXXXX");
	log_set_ratelimit(LOG_RATELIMIT_INTERVAL_NS, LOG_RATELIMIT_BURST);
	return 0;
}

/* What was logged since the last call. */
static char *captured(void)
{
	FILE *f;
	long n;
	char *s;

	fflush(stderr);
	f = fopen(capture_path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	assert_int_equal(ftruncate(2, 0), 0);
	lseek(2, 0, SEEK_SET);
	return s;
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void noisy(int i)
{
	log_warn("accept failed for client %d", i);
}

static void test_logger_summarises(void **state)
{
	char *out;

	log_set_ratelimit(100 * 1000000ULL, 3);
	for (int i = 0; i < 20; i++)
		noisy(i);
	/* another call site is not held back by the noisy one */
	log_info("other site");
	out = captured();
	assert_int_equal(count(out, "t: warning: accept failed for client"), 3);
	assert_contains(out, "accept failed for client 2\n");
	assert_int_equal(count(out, "t: info: other site\n"), 1);
	assert_int_equal(count(out, "suppressed"), 0);
	free(out);
	sleep_ms(150);
	/* the timer reports the interval's end without waiting for the next line */
	log_flush_suppressed();
	log_flush_suppressed();
	out = captured();
	assert_int_equal(count(out, "suppressed"), 1);
	assert_contains(out,
			"t: warning: 17 similar messages suppressed; the last one printed was: "
			"accept failed for client 2\n");
	free(out);
	/* a new interval: a new burst */
	for (int i = 0; i < 5; i++)
		noisy(100 + i);
	out = captured();
	assert_contains(out, "accept failed for client 102\n");
	assert_int_equal(count(out, "client 103"), 0);
	free(out);
	sleep_ms(150);
	/* or the site's next line reports it, before itself */
	noisy(200);
	out = captured();
	assert_contains(out,
			"t: warning: 2 similar messages suppressed; the last one printed was: "
			"accept failed for client 102\nt: warning: accept failed for client 200\n");
	free(out);
}

static void test_logger_errno_and_levels(void **state)
{
	char *out;
	int r;

	log_set_ratelimit(SEC, 2);
	errno = 7;
	r = log_error_errno(-ENOENT, "open %s: %m", "x");
	assert_int_equal(r, -ENOENT);
	assert_int_equal(errno, 7); /* untouched */
	/* a swallowed line still returns the error */
	for (int i = 0; i < 5; i++)
		assert_int_equal(log_warn_errno(EPERM, "again"), -EPERM);
	/* lines below the level neither print nor count */
	for (int i = 0; i < 50; i++)
		log_debug("hidden");
	log_set_level(LOG_LVL_DEBUG);
	log_debug("shown");
	log_set_level(LOG_LVL_INFO);
	out = captured();
	assert_contains(out, "t: error: open x: No such file or directory\n");
	assert_int_equal(count(out, "t: warning: again\n"), 2);
	assert_int_equal(count(out, "hidden"), 0);
	assert_contains(out, "t: debug: shown\n");
	free(out);
}

static void test_logger_off(void **state)
{
	char *out;

	log_set_ratelimit(SEC, 0);
	for (int i = 0; i < 30; i++)
		log_warn("every one");
	out = captured();
	assert_int_equal(count(out, "every one"), 30);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_suppressed),
		cmocka_unit_test(test_next_interval_reports),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_clock_before_begin),
		cmocka_unit_test_setup_teardown(test_logger_summarises, capture_setup,
						capture_teardown),
		cmocka_unit_test_setup_teardown(test_logger_errno_and_levels, capture_setup,
						capture_teardown),
		cmocka_unit_test_setup_teardown(test_logger_off, capture_setup, capture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
