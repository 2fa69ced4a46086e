// SPDX-License-Identifier: Apache-2.0
/* lib/cgroupfs.c: mountinfo, path checks, PSI, cpu.stat and controller lists. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cgroupfs.h"
#include "unit.h"

static char sentinel_path[] = "untouched";

/* ---- mountinfo ---- */

static const char mi_hybrid[] =
	"22 28 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
	"28 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
	"31 22 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
	"33 31 0:28 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup "
	"cgroup rw,xattr,name=systemd\n"
	"36 31 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - "
	"cgroup cgroup rw,cpu,cpuacct\n"
	"37 31 0:32 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup "
	"cgroup rw,memory\n"
	"32 31 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 "
	"cgroup2 rw,nsdelegate\n"
	"38 31 0:33 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:17 - cgroup "
	"cgroup rw,pids\n";

static const char mi_v2[] =
	"24 30 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw\n"
	"30 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
	"26 23 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
	"rw,nsdelegate,memory_recursiveprot\n"
	"27 23 0:25 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:5 - pstore pstore rw\n";

static void expect_mount(const char *text, const char *want)
{
	char *path = sentinel_path;

	assert_int_equal(cgfs_parse_mountinfo(text, &path), 0);
	assert_string_equal(path, want);
	free(path);
}

static void expect_no_mount(const char *text)
{
	char *path = sentinel_path;

	assert_int_equal(cgfs_parse_mountinfo(text, &path), -ENOENT);
	assert_ptr_equal(path, sentinel_path);
}

static void test_mountinfo_hybrid(void **state)
{
	expect_mount(mi_hybrid, "/sys/fs/cgroup/unified");
}

static void test_mountinfo_v2(void **state)
{
	expect_mount(mi_v2, "/sys/fs/cgroup");
	/* no optional fields, no trailing newline, first of two */
	expect_mount("40 1 0:50 / /mnt/cg rw - cgroup2 none rw\n"
		     "41 1 0:51 / /mnt/other rw - cgroup2 none rw",
		     "/mnt/cg");
	expect_mount("40 1 0:50 / /mnt/last rw - cgroup2 none rw", "/mnt/last");
}

static void test_mountinfo_none(void **state)
{
	expect_no_mount("");
	expect_no_mount("\n\n");
	expect_no_mount(
		"33 31 0:28 / /sys/fs/cgroup/memory rw shared:11 - cgroup cgroup rw,memory\n"
		"28 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n");
	/* "cgroup2" as the source or in the options is not the filesystem type */
	expect_no_mount("50 1 0:60 / /mnt/x rw - tmpfs cgroup2 rw\n"
			"51 1 0:61 / /mnt/y rw - cgroup cgroup rw,cgroup2\n");
	/* malformed lines: no separator, too few fields */
	expect_no_mount("50 1 0:60 / /mnt/x rw cgroup2 cgroup2 rw\n"
			"50 1 - cgroup2 cgroup2 rw\n");
}

static void test_mountinfo_octal(void **state)
{
	expect_mount("60 1 0:70 / /mnt/my\\040cgroups rw,relatime - cgroup2 cgroup2 rw\n",
		     "/mnt/my cgroups");
	expect_mount("60 1 0:70 / /mnt/a\\011b\\134c\\012d rw - cgroup2 cgroup2 rw\n",
		     "/mnt/a\tb\\c\nd");
	/* not an escape: left as it is */
	expect_mount("60 1 0:70 / /mnt/x\\9y\\04 rw - cgroup2 cgroup2 rw\n", "/mnt/x\\9y\\04");
}

/* ---- cgfs_normalize_path ---- */

static void expect_norm(const char *in, const char *want)
{
	char *out = sentinel_path;
	const char *msg = NULL;

	if (cgfs_normalize_path(in, &out, &msg))
		fail_msg("'%s' refused: %s", in, msg ? msg : "(no message)");
	assert_string_equal(out, want);
	free(out);
}

static void expect_refused(const char *in, const char *msg_word)
{
	char *out = sentinel_path;
	const char *msg = NULL;

	assert_int_equal(cgfs_normalize_path(in, &out, &msg), -EINVAL);
	assert_ptr_equal(out, sentinel_path);
	assert_non_null(msg);
	assert_contains(msg, msg_word);
}

/* ---- cgfs_below_mount ---- */

static void expect_below(const char *mount, const char *norm, const char *want)
{
	const char *got = cgfs_below_mount(mount, norm);

	if (!want && got)
		fail_msg("'%s' is not below %s, got '%s'", norm, mount, got);
	if (want && (!got || strcmp(got, want)))
		fail_msg("'%s' below %s: expected '%s', got '%s'", norm, mount, want,
			 got ? got : "(null)");
}

static void test_below_mount(void **state)
{
	expect_below("/sys/fs/cgroup", "sys/fs/cgroup/a/b", "a/b");
	expect_below("/sys/fs/cgroup", "sys/fs/cgroup", "");
	expect_below("/sys/fs/cgroup/unified", "sys/fs/cgroup/unified/x.slice", "x.slice");
	expect_below("//sys/fs//cgroup/", "sys/fs/cgroup/a", "a");
	/* hybrid: the v1 side is not below the v2 mount */
	expect_below("/sys/fs/cgroup/unified", "sys/fs/cgroup/memory/a", NULL);
	expect_below("/sys/fs/cgroup/unified", "sys/fs/cgroup", NULL);
	/* whole components only */
	expect_below("/sys/fs/cgroup", "sys/fs/cgroupx/a", NULL);
	expect_below("/sys/fs/cgroup", "sys/fs/cgrou", NULL);
	expect_below("/sys/fs/cgroup", "system.slice/a", NULL);
	expect_below("/sys/fs/cgroup", "", NULL);
	/* relative paths stay what they are */
	expect_below("/sys/fs/cgroup", "a/sys/fs/cgroup", NULL);
	expect_below("/", "a/b", NULL);
	expect_below("", "a/b", NULL);
	expect_below("/cg2", "cg2/kubepods", "kubepods");
}

static void test_normalize_root(void **state)
{
	expect_norm("", "");
	expect_norm("/", "");
	expect_norm("//", "");
	expect_norm("////", "");
}

static void test_normalize_slashes(void **state)
{
	expect_norm("a", "a");
	expect_norm("/a", "a");
	expect_norm("a/", "a");
	expect_norm("/system.slice/foo.service/", "system.slice/foo.service");
	expect_norm("//a///b//c//", "a/b/c");
}

static void test_normalize_dots(void **state)
{
	static const char *const bad[] = { "..",    ".",	 "/..",		  "/.",	    "a/..",
					   "a/.",   "../a",	 "./a",		  "a/../b", "a/./b",
					   "a//..", "../../etc", "/a/b/../../..", "a/../" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(bad[i], "..");
	/* names that merely contain dots are fine */
	expect_norm("...", "...");
	expect_norm("..a/.b/c./d..e", "..a/.b/c./d..e");
	expect_norm("/user.slice/user-1000.slice", "user.slice/user-1000.slice");
}

/* The kernel refuses a newline in a cgroup name and allows every other byte but '/'. */
static void test_normalize_newline(void **state)
{
	static const char *const bad[] = { "a\nb", "\n", "/a/b\n", "\n/a" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(bad[i], "newline");
	expect_norm("a\tb/\x01c\x1f/d\x7f\r", "a\tb/\x01c\x1f/d\x7f\r");
}

static void test_normalize_accepts_odd_names(void **state)
{
	expect_norm("my \"quoted\" cg", "my \"quoted\" cg");
	expect_norm("/with space/and'quote", "with space/and'quote");
	expect_norm("caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac");
	expect_norm("a\\b{c}$d", "a\\b{c}$d");
	expect_norm("\xff\x80", "\xff\x80");
}

static void test_normalize_length(void **state)
{
	char *p = malloc(4097);

	assert_non_null(p);
	memset(p, 'a', 4095);
	p[4095] = 0;
	expect_norm(p, p);
	p[0] = '/';
	expect_norm(p, p + 1);
	memset(p, 'a', 4096);
	p[4096] = 0;
	expect_refused(p, "too long");
	free(p);
}

static void test_normalize_null(void **state)
{
	char *out = sentinel_path;

	expect_refused(NULL, "missing");
	/* ret_msg is optional */
	assert_int_equal(cgfs_normalize_path("..", &out, NULL), -EINVAL);
	assert_ptr_equal(out, sentinel_path);
}

/* ---- PSI ---- */

static void test_psi_full(void **state)
{
	struct psi_totals t;

	assert_int_equal(cgfs_parse_psi("some avg10=1.50 avg60=0.40 avg300=0.09 total=123456\n"
					"full avg10=0.00 avg60=0.00 avg300=0.00 total=789\n",
					&t),
			 0);
	assert_int_equal(t.some_us, 123456);
	assert_int_equal(t.full_us, 789);
	assert_true(t.has_full);

	assert_int_equal(cgfs_parse_psi("some avg10=0.00 avg60=0.00 avg300=0.00 "
					"total=18446744073709551615\n"
					"full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
					&t),
			 0);
	assert_true(t.some_us == UINT64_MAX);
	assert_int_equal(t.full_us, 0);
	assert_true(t.has_full);
}

static void test_psi_some_only(void **state)
{
	struct psi_totals t;

	/* cpu.pressure before 5.13 has no "full" line */
	memset(&t, 0xff, sizeof(t));
	assert_int_equal(cgfs_parse_psi("some avg10=0.00 avg60=0.00 avg300=0.00 total=42\n", &t),
			 0);
	assert_int_equal(t.some_us, 42);
	assert_int_equal(t.full_us, 0);
	assert_false(t.has_full);
}

static void expect_psi_bad(const char *text)
{
	struct psi_totals t = { .some_us = 5, .full_us = 6, .has_full = true };

	if (cgfs_parse_psi(text, &t) != -EINVAL)
		fail_msg("accepted: \"%s\"", text);
	assert_int_equal(t.some_us, 5);
	assert_int_equal(t.full_us, 6);
	assert_true(t.has_full);
}

static void test_psi_malformed(void **state)
{
	expect_psi_bad("");
	expect_psi_bad("garbage\n");
	expect_psi_bad("some avg10=0.00\n");
	expect_psi_bad("some avg10=0.00 total=\n");
	expect_psi_bad("some avg10=0.00 total=abc\n");
	expect_psi_bad("  some total=1\n");
	expect_psi_bad("full avg10=0.00 total=1\nsome avg10=0.00 total=2\n");
	expect_psi_bad("some avg10=0.00 total=1\nfull avg10=0.00\n");
	expect_psi_bad("some avg10=0.00 total=1\nfull avg10=0.00 total=x\n");
}

/* Each line's total is its own: a "some" line without one must not borrow full's. */
static void test_psi_some_without_total(void **state)
{
	expect_psi_bad("some avg10=0.00 avg60=0.00 avg300=0.00\n"
		       "full avg10=0.00 avg60=0.00 avg300=0.00 total=7\n");
}

/* ---- cpu.stat ---- */

static void test_cpu_usage(void **state)
{
	uint64_t v = 0;

	assert_int_equal(cgfs_parse_cpu_usage("usage_usec 123456\nuser_usec 100000\n"
					      "system_usec 23456\nnr_periods 0\n"
					      "nr_throttled 0\nthrottled_usec 0\n",
					      &v),
			 0);
	assert_int_equal(v, 123456);
	assert_int_equal(cgfs_parse_cpu_usage("user_usec 5\nsystem_usec 6\nusage_usec 77", &v), 0);
	assert_int_equal(v, 77);
	assert_int_equal(cgfs_parse_cpu_usage("usage_usec 18446744073709551615\n", &v), 0);
	assert_true(v == UINT64_MAX);
}

static void test_cpu_usage_missing_or_bad(void **state)
{
	uint64_t v = 99;

	assert_int_equal(cgfs_parse_cpu_usage("", &v), -ENOENT);
	assert_int_equal(cgfs_parse_cpu_usage("user_usec 5\nsystem_usec 6\n", &v), -ENOENT);
	assert_int_equal(cgfs_parse_cpu_usage("xusage_usec 5\nusage_usecs 6\n", &v), -ENOENT);
	assert_int_equal(cgfs_parse_cpu_usage("usage_usec abc\n", &v), -EINVAL);
	assert_int_equal(cgfs_parse_cpu_usage("usage_usec \n", &v), -EINVAL);
	assert_int_equal(cgfs_parse_cpu_usage("usage_usec 99999999999999999999999\n", &v), -EINVAL);
	assert_int_equal(v, 99);
}

/* ---- controllers ---- */

static void test_io_stat(void **state)
{
	struct io_stat_totals t = { 1, 1, 1, 1 };

	(void)state;
	/* two disks summed; the keys io.stat has beside ours are skipped */
	assert_int_equal(cgfs_parse_io_stat("8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 "
					    "dios=0\n259:0 rbytes=100 wbytes=0 rios=3 wios=0\n",
					    &t),
			 0);
	assert_int_equal(t.rbytes, 4196);
	assert_int_equal(t.wbytes, 8192);
	assert_int_equal(t.rios, 4);
	assert_int_equal(t.wios, 2);
	/* no I/O yet: the file is empty */
	assert_int_equal(cgfs_parse_io_stat("", &t), 0);
	assert_int_equal(t.rbytes + t.wbytes + t.rios + t.wios, 0);
	/* a line with the device alone (a disk with nothing to report) */
	assert_int_equal(cgfs_parse_io_stat("8:16\n8:0 rios=7", &t), 0);
	assert_int_equal(t.rios, 7);
}

static void test_io_stat_bad(void **state)
{
	struct io_stat_totals t = { 5, 6, 7, 8 };

	(void)state;
	assert_int_equal(cgfs_parse_io_stat("rbytes=5\n", &t), -EINVAL);
	assert_int_equal(cgfs_parse_io_stat("8:0 rbytes=abc\n", &t), -EINVAL);
	assert_int_equal(cgfs_parse_io_stat("8:0 rbytes=12x wbytes=1\n", &t), -EINVAL);
	assert_int_equal(cgfs_parse_io_stat("8:0 rbytes=99999999999999999999999\n", &t), -EINVAL);
	/* untouched on failure */
	assert_int_equal(t.rbytes, 5);
	assert_int_equal(t.wios, 8);
}

static void test_controllers(void **state)
{
	const unsigned all = CGFS_CPU | CGFS_CPUSET | CGFS_MEMORY | CGFS_IO | CGFS_PIDS |
			     CGFS_HUGETLB;

	assert_int_equal(cgfs_parse_controllers("cpuset cpu io memory hugetlb pids rdma misc\n"),
			 all);
	assert_int_equal(cgfs_parse_controllers(""), 0);
	assert_int_equal(cgfs_parse_controllers("\n"), 0);
	assert_int_equal(cgfs_parse_controllers("cpu"), CGFS_CPU);
	assert_int_equal(cgfs_parse_controllers("memory\n"), CGFS_MEMORY);
	assert_int_equal(cgfs_parse_controllers("  cpu\t\tio  \n"), CGFS_CPU | CGFS_IO);
	assert_int_equal(cgfs_parse_controllers("cpux cpu_ memor iomem rdma misc"), 0);
	assert_int_equal(cgfs_parse_controllers("pids pids"), CGFS_PIDS);
}

static void test_controllers_str(void **state)
{
	char buf[64], small[6];

	cgfs_controllers_str(CGFS_CPU | CGFS_CPUSET | CGFS_MEMORY | CGFS_IO | CGFS_PIDS |
				     CGFS_HUGETLB,
			     buf, sizeof(buf));
	assert_string_equal(buf, "cpu cpuset memory io pids hugetlb");
	assert_int_equal(cgfs_parse_controllers(buf),
			 CGFS_CPU | CGFS_CPUSET | CGFS_MEMORY | CGFS_IO | CGFS_PIDS | CGFS_HUGETLB);
	cgfs_controllers_str(CGFS_MEMORY | CGFS_IO, buf, sizeof(buf));
	assert_string_equal(buf, "memory io");
	cgfs_controllers_str(0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	memset(small, 'Z', sizeof(small));
	cgfs_controllers_str(CGFS_CPU | CGFS_CPUSET, small, 5);
	assert_int_equal(small[4], 0);
	assert_int_equal(small[5], 'Z');
	assert_starts_with("cpu cpuset", small);
}

/* ---- cgfs_read_at ---- */

static int dir_setup(void **state)
{
	char tmpl[] = "/tmp/cgpilot-test-cgfs-XXXXXX", file[64];
	char *dir;
	int fd;

	if (!mkdtemp(tmpl))
		return -1;
	dir = strdup(tmpl);
	if (!dir)
		return -1;
	snprintf(file, sizeof(file), "%s/cpu.stat", tmpl);
	fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (dprintf(fd, "usage_usec 12\n") != 14) {
		close(fd);
		return -1;
	}
	close(fd);
	*state = dir;
	return 0;
}

static int dir_teardown(void **state)
{
	char *dir = *state, file[128];

	snprintf(file, sizeof(file), "%s/cpu.stat", dir);
	unlink(file);
	rmdir(dir);
	free(dir);
	return 0;
}

static void test_read_at(void **state)
{
	int dfd = open(*state, O_RDONLY | O_DIRECTORY);
	char buf[64], tiny[6];
	uint64_t v;

	assert_true(dfd >= 0);
	assert_int_equal(cgfs_read_at(dfd, "cpu.stat", buf, sizeof(buf)), 14);
	assert_string_equal(buf, "usage_usec 12\n");
	assert_int_equal(cgfs_parse_cpu_usage(buf, &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(cgfs_read_at(dfd, "cpu.stat", tiny, sizeof(tiny)), 5);
	assert_string_equal(tiny, "usage");
	assert_int_equal(cgfs_read_at(dfd, "memory.pressure", buf, sizeof(buf)), -ENOENT);
	close(dfd);
}

static void display_is(const char *raw, const char *want)
{
	char *out = NULL, *back = NULL;
	int r = cgfs_display_path(raw, &out);

	if (!want) {
		assert_int_equal(r, 0);
		assert_null(out);
		return;
	}
	assert_int_equal(r, 1);
	assert_string_equal(out, want);
	/* the inverse gives the bytes back */
	assert_int_equal(cgfs_decode_display(out, &back), 1);
	assert_string_equal(back, raw);
	free(out);
	free(back);
}

static void test_display_path(void **state)
{
	(void)state;
	display_is("kubepods.slice/pod-1", NULL);
	display_is("system.slice/system-getty\\x2d.slice", NULL); /* systemd's escapes stay */
	display_is("caf\xc3\xa9/\xf0\x9f\x90\xb3", NULL); /* valid 2- and 4-byte UTF-8 */
	display_is("a\xff", "a%FF");
	display_is("a%b", "a%25b");
	display_is("%FF", "%25FF"); /* never the same as "\xff" */
	display_is("tab\there", "tab%09here");
	display_is("del\x7f", "del%7F");
	display_is("\xc0\xaf", "%C0%AF"); /* overlong '/' */
	display_is("\xed\xa0\x80", "%ED%A0%80"); /* a UTF-16 surrogate */
	display_is("\xf4\x90\x80\x80", "%F4%90%80%80"); /* past U+10FFFF */
	display_is("\xe2\x82", "%E2%82"); /* cut short at the end */
	display_is("\xe2\x82x", "%E2%82x");
}

static void test_decode_display(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(cgfs_decode_display("plain/path", &out), 0);
	assert_null(out);
	assert_int_equal(cgfs_decode_display("a%zz%4", &out), 1); /* not %XX: kept */
	assert_string_equal(out, "a%zz%4");
	free(out);
	assert_int_equal(cgfs_decode_display("x%41%62", &out), 1);
	assert_string_equal(out, "xAb");
	free(out);
	assert_int_equal(cgfs_decode_display("nul%00here", &out), -EINVAL);
	assert_null(out);
}

static void test_parse_u64(void **state)
{
	const char *end;
	uint64_t v = 7;

	(void)state;
	assert_int_equal(cgfs_parse_u64("18446744073709551615 x", &end, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_string_equal(end, " x");
	/* one past: an error, not a wrapped number (sscanf's %llu gives no sign) */
	assert_int_equal(cgfs_parse_u64("18446744073709551616", &end, &v), -ERANGE);
	assert_int_equal(cgfs_parse_u64("99999999999999999999999", NULL, &v), -ERANGE);
	assert_int_equal(cgfs_parse_u64("-1", NULL, &v), -EINVAL);
	assert_int_equal(cgfs_parse_u64(" 1", NULL, &v), -EINVAL);
	assert_int_equal(cgfs_parse_u64("", NULL, &v), -EINVAL);
	assert_int_equal(cgfs_parse_u64("0", NULL, &v), 0);
	assert_true(v == 0);
}

static void test_parse_devnum_at(void **state)
{
	const char *end;
	unsigned ma = 1, mi = 1;

	(void)state;
	assert_int_equal(cgfs_parse_devnum_at("259:3 rbytes=1", &end, &ma, &mi), 0);
	assert_int_equal(ma, 259);
	assert_int_equal(mi, 3);
	assert_string_equal(end, " rbytes=1");
	assert_int_equal(cgfs_parse_devnum_at("4095:1048575", NULL, &ma, &mi), 0);
	/* past the kernel's 12 and 20 bits */
	assert_int_equal(cgfs_parse_devnum_at("4096:0", NULL, &ma, &mi), -EINVAL);
	assert_int_equal(cgfs_parse_devnum_at("8:1048576", NULL, &ma, &mi), -EINVAL);
	assert_int_equal(cgfs_parse_devnum_at("8 0", NULL, &ma, &mi), -EINVAL);
	assert_int_equal(cgfs_parse_devnum_at("8:", NULL, &ma, &mi), -EINVAL);
	assert_int_equal(cgfs_parse_devnum_at("4294967304:0", NULL, &ma, &mi), -EINVAL);
}

static void test_keyed_u64(void **state)
{
	const char *events = "low 0\nhigh 12\nmax 3\noom 1\noom_kill 2\noom_group_kill 0\n";
	uint64_t v = 9;

	(void)state;
	assert_int_equal(cgfs_keyed_u64(events, "oom_kill", &v), 0);
	assert_true(v == 2);
	/* a key is a whole word at the start of a line, not a prefix */
	assert_int_equal(cgfs_keyed_u64(events, "oom", &v), 0);
	assert_true(v == 1);
	assert_int_equal(cgfs_keyed_u64(events, "kill", &v), -ENOENT);
	assert_int_equal(cgfs_keyed_u64("oom_kill x\n", "oom_kill", &v), -EINVAL);
	assert_int_equal(cgfs_keyed_u64("oom_kill 99999999999999999999\n", "oom_kill", &v),
			 -EINVAL);
	/* "key:" files: /proc/PID/fdinfo */
	assert_int_equal(cgfs_keyed_u64("pos:\t0\nmemlock:\t4096\n", "memlock:", &v), 0);
	assert_true(v == 4096);
}

static void test_cpu_max(void **state)
{
	uint64_t q = 1, p = 1;

	(void)state;
	assert_int_equal(cgfs_parse_cpu_max("max 100000\n", &q, &p), 0);
	assert_true(q == UINT64_MAX && p == 100000);
	assert_int_equal(cgfs_parse_cpu_max("50000 20000", &q, &p), 0);
	assert_true(q == 50000 && p == 20000);
	/* a quota alone keeps the period: 0 says so */
	assert_int_equal(cgfs_parse_cpu_max("50000", &q, &p), 0);
	assert_true(q == 50000 && p == 0);
	assert_int_equal(cgfs_parse_cpu_max("max", &q, &p), 0);
	assert_int_equal(cgfs_parse_cpu_max("50000 0", &q, &p), -EINVAL);
	assert_int_equal(cgfs_parse_cpu_max("maxx 100000", &q, &p), -EINVAL);
	assert_int_equal(cgfs_parse_cpu_max("-1 100000", &q, &p), -EINVAL);
	assert_int_equal(cgfs_parse_cpu_max("1 2 3", &q, &p), -EINVAL);
	assert_int_equal(cgfs_parse_cpu_max("", &q, &p), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_below_mount),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_devnum_at),
		cmocka_unit_test(test_keyed_u64),
		cmocka_unit_test(test_cpu_max),
		cmocka_unit_test(test_io_stat),
		cmocka_unit_test(test_io_stat_bad),
		cmocka_unit_test(test_mountinfo_hybrid),
		cmocka_unit_test(test_mountinfo_v2),
		cmocka_unit_test(test_mountinfo_none),
		cmocka_unit_test(test_mountinfo_octal),
		cmocka_unit_test(test_normalize_root),
		cmocka_unit_test(test_normalize_slashes),
		cmocka_unit_test(test_normalize_dots),
		cmocka_unit_test(test_normalize_newline),
		cmocka_unit_test(test_normalize_accepts_odd_names),
		cmocka_unit_test(test_normalize_length),
		cmocka_unit_test(test_normalize_null),
		cmocka_unit_test(test_psi_full),
		cmocka_unit_test(test_psi_some_only),
		cmocka_unit_test(test_psi_malformed),
		cmocka_unit_test(test_psi_some_without_total),
		cmocka_unit_test(test_cpu_usage),
		cmocka_unit_test(test_cpu_usage_missing_or_bad),
		cmocka_unit_test(test_controllers),
		cmocka_unit_test(test_controllers_str),
		cmocka_unit_test(test_display_path),
		cmocka_unit_test(test_decode_display),
		cmocka_unit_test_setup_teardown(test_read_at, dir_setup, dir_teardown),
	};

	return cmocka_run_group_tests_name("cgroupfs", tests, NULL, NULL);
}
