// SPDX-License-Identifier: Apache-2.0
/* lib/actuate/audit.c: the JSON line of a record, appending, rotation, failures. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actuate/audit.h"
#include "unit.h"

/* 2026-12-02T10:00:00.123Z */
#define T0 (1796205600ULL * 1000000000ULL + 123456789ULL)

static void test_format_written(void **state)
{
	struct act_record r = {
		.time_ns = T0,
		.path = "kubepods/pod1",
		.id = 42,
		.knob = "cpu.weight",
		.old_value = "100",
		.new_value = "200",
		.reason = "cpu pressure 12% over 10s",
		.status = ACT_WRITTEN,
	};
	char *line = audit_format(&r);

	assert_string_equal(line,
			    "{\"time\":\"2026-12-02T10:00:00.123Z\",\"cgroup\":\"kubepods/pod1\","
			    "\"id\":42,\"knob\":\"cpu.weight\",\"old\":\"100\",\"new\":\"200\","
			    "\"status\":\"written\",\"reason\":\"cpu pressure 12% over 10s\"}");
	free(line);
}

static void test_format_failed(void **state)
{
	struct act_record r = {
		.time_ns = 0,
		.path = "a/b",
		.id = UINT64_MAX,
		.knob = "cgroup.subtree_control",
		.old_value = "cpu",
		.new_value = "-cpu",
		.reason = "say \"stop\"\\",
		.status = ACT_FAILED,
		.err = -EBUSY,
	};
	char *line = audit_format(&r);

	assert_string_equal(line, "{\"time\":\"1970-01-01T00:00:00.000Z\",\"cgroup\":\"a/b\","
				  "\"id\":18446744073709551615,\"knob\":\"cgroup.subtree_control\","
				  "\"old\":\"cpu\",\"new\":\"-cpu\",\"status\":\"failed\","
				  "\"error\":\"Device or resource busy\","
				  "\"reason\":\"say \\\"stop\\\"\\\\\"}");
	free(line);
}

static void test_format_odd_bytes(void **state)
{
	struct act_record r = {
		.time_ns = T0,
		.path = "bad\xff\nname",
		.knob = "cpu.max",
		.status = ACT_RESTORED,
	};
	char *line = audit_format(&r);

	/* the cgroup in display form, missing strings empty, one line */
	assert_contains(line, "\"cgroup\":\"bad%FF%0Aname\"");
	assert_contains(line, "\"old\":\"\",\"new\":\"\",\"status\":\"restored\",\"reason\":\"\"}");
	assert_null(strchr(line, '\n'));
	free(line);
	r.status = ACT_DRY_RUN;
	line = audit_format(&r);
	assert_contains(line, "\"status\":\"dry_run\"");
	assert_null(strstr(line, "error"));
	free(line);
	assert_null(audit_format(NULL));
}

/* ---- the log ---- */

struct fx {
	char dir[64];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	snprintf(f->dir, sizeof(f->dir), "%s/cgp-audit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	chmod(f->dir, 0755);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static const char *path_of(struct fx *f, const char *name)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/%s", f->dir, name);
	return p;
}

static bool exists(struct fx *f, const char *name)
{
	struct stat st;

	return lstat(path_of(f, name), &st) == 0;
}

static off_t file_size(struct fx *f, const char *name)
{
	struct stat st;

	assert_int_equal(stat(path_of(f, name), &st), 0);
	return st.st_size;
}

static char *slurp(struct fx *f, const char *name)
{
	static char buf[16384];
	FILE *fp = fopen(path_of(f, name), "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = 0;
	fclose(fp);
	return buf;
}

/* Line @i: its number, then filler to 999 bytes (1000 with the newline). */
static const char *numbered(unsigned i)
{
	static char line[1000];

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = 0;
	memcpy(line, "line", 4);
	line[4] = (char)('0' + i / 10);
	line[5] = (char)('0' + i % 10);
	return line;
}

static void test_open_append_reopen(void **state)
{
	struct fx *f = *state;
	struct audit_log *l = NULL;
	struct stat st;

	assert_int_equal(audit_open(f->dir, 4096, 2, &l), 0);
	assert_int_equal(stat(path_of(f, "audit.log"), &st), 0);
	assert_int_equal(st.st_mode & 0777 & ~0640, 0);
	assert_int_equal(audit_size(l), 0);
	assert_int_equal(audit_append(l, "{\"a\":1}"), 0);
	assert_int_equal(audit_size(l), 8);
	audit_close(l);
	audit_close(NULL);

	/* reopened, it appends and knows its size */
	assert_int_equal(audit_open(f->dir, 4096, 2, &l), 0);
	assert_int_equal(audit_size(l), 8);
	assert_int_equal(audit_append(l, "{\"b\":2}"), 0);
	assert_string_equal(slurp(f, "audit.log"), "{\"a\":1}\n{\"b\":2}\n");
	assert_int_equal(audit_rotations(l), 0);
	assert_int_equal(audit_failures(l), 0);
	/* one record, one line */
	assert_int_equal(audit_append(l, "two\nlines"), -EINVAL);
	assert_int_equal(audit_failures(l), 1);
	assert_int_equal(audit_size(l), 16);
	audit_close(l);
}

/* One decision's lines in one write: all of them, or none when one is bad. */
static void test_append_lines(void **state)
{
	struct fx *f = *state;
	struct audit_log *l;
	const char *ok[] = { "{\"a\":1}", "{\"b\":2}", "{\"c\":3}" };
	const char *bad[] = { "{\"d\":4}", "two\nlines" };
	const char *null[] = { "{\"e\":5}", NULL };

	assert_int_equal(audit_open(f->dir, 4096, 2, &l), 0);
	assert_int_equal(audit_append_lines(l, ok, 3), 0);
	assert_int_equal(audit_append_lines(l, ok, 0), 0);
	assert_int_equal(audit_append_lines(l, bad, 2), -EINVAL);
	assert_int_equal(audit_append_lines(l, null, 2), -EINVAL);
	assert_int_equal(audit_append_lines(l, NULL, 1), -EINVAL);
	assert_string_equal(slurp(f, "audit.log"), "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
	assert_int_equal(audit_size(l), 24);
	assert_int_equal(audit_failures(l), 1);
	audit_close(l);
}

/* A batch that would pass max_bytes rotates before it, not in its middle. */
static void test_append_lines_rotate_whole(void **state)
{
	struct fx *f = *state;
	struct audit_log *l;
	const char *two[2];
	char a[1000], b[1000];

	assert_int_equal(audit_open(f->dir, 4096, 2, &l), 0);
	for (unsigned i = 1; i <= 3; i++)
		assert_int_equal(audit_append(l, numbered(i)), 0);
	snprintf(a, sizeof(a), "%s", numbered(4));
	snprintf(b, sizeof(b), "%s", numbered(5));
	two[0] = a;
	two[1] = b;
	assert_int_equal(audit_append_lines(l, two, 2), 0);
	assert_int_equal(audit_rotations(l), 1);
	assert_int_equal(file_size(f, "audit.log"), 2000);
	assert_starts_with(slurp(f, "audit.log"), "line04");
	assert_int_equal(file_size(f, "audit.log.1"), 3000);
	audit_close(l);
}

static void test_open_refuses(void **state)
{
	struct fx *f = *state;
	struct audit_log *l = (struct audit_log *)f;

	assert_int_equal(audit_open(f->dir, 4095, 2, &l), -EINVAL);
	assert_int_equal(audit_open(f->dir, 4096, 100, &l), -EINVAL);
	assert_int_equal(audit_open(path_of(f, "nope"), 4096, 2, &l), -ENOENT);
	/* not through a symlink, not into a FIFO (and without blocking) */
	assert_int_equal(symlink("/dev/null", path_of(f, "audit.log")), 0);
	assert_int_equal(audit_open(f->dir, 4096, 2, &l), -ELOOP);
	assert_int_equal(unlink(path_of(f, "audit.log")), 0);
	assert_int_equal(mkfifo(path_of(f, "audit.log"), 0600), 0);
	assert_int_equal(audit_open(f->dir, 4096, 2, &l), -ENXIO);
	assert_ptr_equal(l, (struct audit_log *)f);
}

static void test_rotation_keep2(void **state)
{
	struct fx *f = *state;
	struct audit_log *l;

	assert_int_equal(audit_open(f->dir, 4096, 2, &l), 0);
	/* four 1000-byte lines fit in 4096, a fifth rotates */
	for (unsigned i = 1; i <= 20; i++) {
		assert_int_equal(audit_append(l, numbered(i)), 0);
		assert_true(audit_size(l) <= 4096);
	}
	assert_int_equal(audit_rotations(l), 4);
	assert_int_equal(audit_size(l), 4000);
	assert_int_equal(file_size(f, "audit.log"), 4000);
	assert_true(exists(f, "audit.log.1"));
	assert_true(exists(f, "audit.log.2"));
	assert_false(exists(f, "audit.log.3"));
	assert_starts_with(slurp(f, "audit.log"), "line17");
	assert_starts_with(slurp(f, "audit.log.1"), "line13");
	assert_starts_with(slurp(f, "audit.log.2"), "line09");
	assert_int_equal(audit_failures(l), 0);
	audit_close(l);
}

static void test_rotation_keep0(void **state)
{
	struct fx *f = *state;
	struct audit_log *l;

	assert_int_equal(audit_open(f->dir, 4096, 0, &l), 0);
	for (unsigned i = 1; i <= 6; i++)
		assert_int_equal(audit_append(l, numbered(i)), 0);
	assert_int_equal(audit_rotations(l), 1);
	assert_false(exists(f, "audit.log.1"));
	assert_int_equal(file_size(f, "audit.log"), 2000);
	assert_starts_with(slurp(f, "audit.log"), "line05");
	audit_close(l);
}

/* A line longer than max_bytes goes into a file of its own. */
static void test_rotation_long_line(void **state)
{
	struct fx *f = *state;
	struct audit_log *l;
	char *big = malloc(5000);

	memset(big, 'y', 4999);
	big[4999] = 0;
	assert_int_equal(audit_open(f->dir, 4096, 1, &l), 0);
	assert_int_equal(audit_append(l, big), 0);
	assert_int_equal(audit_rotations(l), 0);
	assert_int_equal(audit_append(l, "z"), 0);
	assert_int_equal(audit_rotations(l), 1);
	assert_int_equal(file_size(f, "audit.log.1"), 5000);
	assert_string_equal(slurp(f, "audit.log"), "z\n");
	audit_close(l);
	free(big);
}

/* A rotation that cannot be done (a directory where audit.log.1 goes, root or not). */
static void test_failure_rotation_blocked(void **state)
{
	struct fx *f = *state;
	struct audit_log *l;
	FILE *fp;

	assert_int_equal(mkdir(path_of(f, "audit.log.1"), 0755), 0);
	fp = fopen(path_of(f, "audit.log.1/keep"), "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(audit_open(f->dir, 4096, 1, &l), 0);
	for (unsigned i = 1; i <= 4; i++)
		assert_int_equal(audit_append(l, numbered(i)), 0);
	assert_true(audit_append(l, numbered(5)) < 0);
	assert_int_equal(audit_failures(l), 1);
	assert_int_equal(audit_rotations(l), 0);
	/* the line is not lost: the file grew past max_bytes */
	assert_int_equal(audit_size(l), 5000);
	assert_int_equal(file_size(f, "audit.log"), 5000);
	audit_close(l);
}

/* A write that fails for real, for root too: past RLIMIT_FSIZE, with SIGXFSZ ignored. */
static void test_failure_write(void **state)
{
	struct fx *f = *state;
	struct audit_log *l;
	struct rlimit old, lim;
	void (*old_handler)(int);
	int r = 0;
	unsigned i;

	assert_int_equal(audit_open(f->dir, 1 << 20, 1, &l), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 5500;
	old_handler = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (i = 1; i <= 10 && !r; i++)
		r = audit_append(l, numbered(i));
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, old_handler);

	assert_int_equal(r, -EFBIG);
	assert_int_equal(i, 7); /* the sixth line crossed the limit */
	assert_int_equal(audit_failures(l), 1);
	/* the part of the line that was written is taken back */
	assert_int_equal(audit_size(l), 5000);
	assert_int_equal(file_size(f, "audit.log"), 5000);
	assert_int_equal(audit_append(l, "after"), 0);
	assert_int_equal(file_size(f, "audit.log"), 5006);
	audit_close(l);
}

/* A read-only directory: rotation fails. Root ignores modes, so only as a user. */
static void test_failure_readonly_dir(void **state)
{
	struct fx *f = *state;
	struct audit_log *l;

	if (geteuid() == 0)
		skip();
	assert_int_equal(audit_open(f->dir, 4096, 2, &l), 0);
	assert_int_equal(chmod(f->dir, 0555), 0);
	for (unsigned i = 1; i <= 4; i++)
		assert_int_equal(audit_append(l, numbered(i)), 0);
	assert_int_equal(audit_append(l, numbered(5)), -EACCES);
	assert_int_equal(audit_failures(l), 1);
	audit_close(l);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_written),
		cmocka_unit_test(test_format_failed),
		cmocka_unit_test(test_format_odd_bytes),
		T(test_open_append_reopen),
		T(test_append_lines),
		T(test_append_lines_rotate_whole),
		T(test_open_refuses),
		T(test_rotation_keep2),
		T(test_rotation_keep0),
		T(test_rotation_long_line),
		T(test_failure_rotation_blocked),
		T(test_failure_write),
		T(test_failure_readonly_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
