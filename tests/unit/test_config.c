// SPDX-License-Identifier: Apache-2.0
/* lib/config.c: defaults, every key, value checks, error positions, validate, dump. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

struct fx {
	struct cgp_conf c;
	char err[512];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	cgp_conf_defaults(&f->c);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static int parse(struct fx *f, const char *text)
{
	f->err[0] = 0;
	return cgp_conf_parse_string(&f->c, text, "t.conf", f->err, sizeof(f->err));
}

/* Parsing must fail with "t.conf:LINE: " and each of the given words in the message. */
static void expect_error(struct fx *f, const char *text, int line, const char *w1, const char *w2)
{
	char prefix[32];

	snprintf(prefix, sizeof(prefix), "t.conf:%d: ", line);
	assert_int_equal(parse(f, text), -EINVAL);
	assert_starts_with(f->err, prefix);
	if (w1)
		assert_contains(f->err, w1);
	if (w2)
		assert_contains(f->err, w2);
}

static void expect_ok(struct fx *f, const char *text)
{
	if (parse(f, text))
		fail_msg("parse failed: %s", f->err);
}

static void assert_conf_equal(const struct cgp_conf *a, const struct cgp_conf *b)
{
	assert_string_equal(a->runtime_dir, b->runtime_dir);
	assert_string_equal(a->pin_dir, b->pin_dir);
	assert_string_equal(a->socket_path, b->socket_path);
	assert_string_equal(a->cgroup_root, b->cgroup_root);
	assert_int_equal(a->log_level, b->log_level);
	assert_int_equal(a->dry_run, b->dry_run);
	assert_int_equal(a->window_ms, b->window_ms);
	assert_int_equal(a->cpu_threshold_ms, b->cpu_threshold_ms);
	assert_int_equal(a->memory_threshold_ms, b->memory_threshold_ms);
	assert_int_equal(a->max_cgroups, b->max_cgroups);
	assert_int_equal(a->sample_interval_ms, b->sample_interval_ms);
	assert_int_equal(a->psi_sweep_s, b->psi_sweep_s);
	assert_string_equal(a->metrics_address, b->metrics_address);
	assert_int_equal(a->max_series_cgroups, b->max_series_cgroups);
	assert_int_equal(a->allow_read_others, b->allow_read_others);
}

static void test_defaults(void **state)
{
	struct fx *f = *state;
	char err[128] = "";

	assert_string_equal(f->c.runtime_dir, "/run/cgpilot");
	assert_string_equal(f->c.pin_dir, "/sys/fs/bpf/cgpilot");
	assert_string_equal(f->c.socket_path, "");
	assert_string_equal(f->c.cgroup_root, "");
	assert_int_equal(f->c.log_level, 2);
	assert_false(f->c.dry_run);
	assert_int_equal(f->c.window_ms, 100);
	assert_int_equal(f->c.cpu_threshold_ms, 20);
	assert_int_equal(f->c.memory_threshold_ms, 10);
	assert_int_equal(f->c.max_cgroups, 0); /* auto */
	assert_int_equal(f->c.sample_interval_ms, 1000);
	assert_int_equal(f->c.psi_sweep_s, 10);
	assert_string_equal(f->c.metrics_address, "127.0.0.1:9930");
	assert_int_equal(f->c.max_series_cgroups, 2000);
	assert_false(f->c.allow_read_others);
	assert_int_equal(cgp_conf_validate(&f->c, err, sizeof(err)), 0);
}

static const char full_conf[] = "; every key, none at its default\n"
				"[daemon]\n"
				"runtime_dir = /run/x\n"
				"pin_dir = /sys/fs/bpf/x\n"
				"socket = /run/x/s.sock\n"
				"cgroup_root = /sys/fs/cgroup/unified\n"
				"log_level = debug\n"
				"dry_run = true\n"
				"# telemetry\n"
				"[telemetry]\n"
				"window_ms = 250\n"
				"cpu_threshold_ms = 0\n"
				"memory_threshold_ms = 77\n"
				"max_cgroups = 65536\n"
				"sample_interval_ms = 500\n"
				"psi_sweep_s = 30\n"
				"[metrics]\n"
				"address = [::1]:9000\n"
				"max_series_cgroups = 0\n"
				"[control]\n"
				"allow_read_others = yes\n";

static void test_every_key(void **state)
{
	struct fx *f = *state;

	assert_int_equal(parse(f, full_conf), 0);
	assert_string_equal(f->c.runtime_dir, "/run/x");
	assert_string_equal(f->c.pin_dir, "/sys/fs/bpf/x");
	assert_string_equal(f->c.socket_path, "/run/x/s.sock");
	assert_string_equal(f->c.cgroup_root, "/sys/fs/cgroup/unified");
	assert_int_equal(f->c.log_level, 3);
	assert_true(f->c.dry_run);
	assert_int_equal(f->c.window_ms, 250);
	assert_int_equal(f->c.cpu_threshold_ms, 0);
	assert_int_equal(f->c.memory_threshold_ms, 77);
	assert_int_equal(f->c.max_cgroups, 65536);
	assert_int_equal(f->c.sample_interval_ms, 500);
	assert_int_equal(f->c.psi_sweep_s, 30);
	assert_string_equal(f->c.metrics_address, "[::1]:9000");
	assert_int_equal(f->c.max_series_cgroups, 0);
	assert_true(f->c.allow_read_others);
}

static void test_partial_keeps_previous(void **state)
{
	struct fx *f = *state;

	assert_int_equal(parse(f, "[telemetry]\nwindow_ms = 300\n"), 0);
	assert_int_equal(parse(f, "[telemetry]\npsi_sweep_s = 5\n"), 0);
	assert_int_equal(f->c.window_ms, 300);
	assert_int_equal(f->c.psi_sweep_s, 5);
	assert_int_equal(f->c.cpu_threshold_ms, 20);
	assert_string_equal(f->c.runtime_dir, "/run/cgpilot");
	assert_int_equal(parse(f, ""), 0);
	assert_int_equal(parse(f, "\n; only a comment\n# another\n[daemon]\n"), 0);
	assert_int_equal(f->c.window_ms, 300);
}

static void test_whitespace_and_comments(void **state)
{
	struct fx *f = *state;

	assert_int_equal(parse(f, "[telemetry]\n   window_ms=120   \n"
				  "cpu_threshold_ms = 30 ; inline comment\n"),
			 0);
	assert_int_equal(f->c.window_ms, 120);
	assert_int_equal(f->c.cpu_threshold_ms, 30);
	/* an empty string value is allowed (socket: use the default place) */
	assert_int_equal(parse(f, "[daemon]\nsocket = /s\nsocket =\n"), 0);
	assert_string_equal(f->c.socket_path, "");
}

static void test_booleans(void **state)
{
	static const struct {
		const char *text;
		bool v;
	} ok[] = {
		{ "1", true },	    { "yes", true },  { "true", true }, { "on", true },
		{ "TRUE", true },   { "Yes", true },  { "0", false },	{ "no", false },
		{ "false", false }, { "off", false }, { "OFF", false }, { "False", false },
	};
	static const char *const bad[] = { "maybe", "2", "tru", "yess", "-1", "enabled" };
	struct fx *f = *state;
	char text[128];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		f->c.dry_run = !ok[i].v;
		snprintf(text, sizeof(text), "[daemon]\ndry_run = %s\n", ok[i].text);
		assert_int_equal(parse(f, text), 0);
		assert_int_equal(f->c.dry_run, ok[i].v);
		f->c.allow_read_others = !ok[i].v;
		snprintf(text, sizeof(text), "[control]\nallow_read_others = %s\n", ok[i].text);
		assert_int_equal(parse(f, text), 0);
		assert_int_equal(f->c.allow_read_others, ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char quoted[64];

		snprintf(text, sizeof(text), "[daemon]\n\ndry_run = %s\n", bad[i]);
		snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
		expect_error(f, text, 3, "dry_run", quoted);
	}
	expect_error(f, "[control]\nallow_read_others =\n", 2, "allow_read_others", "''");
}

static void test_log_level(void **state)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	struct fx *f = *state;
	char text[64];

	for (int i = 0; i < 4; i++) {
		f->c.log_level = -1;
		snprintf(text, sizeof(text), "[daemon]\nlog_level = %s\n", names[i]);
		assert_int_equal(parse(f, text), 0);
		assert_int_equal(f->c.log_level, i);
	}
	assert_int_equal(parse(f, "[daemon]\nlog_level = WARNING\n"), 0);
	assert_int_equal(f->c.log_level, 1);
	expect_error(f, "[daemon]\nlog_level = 3\n", 2, "log_level", "'3'");
	expect_error(f, "[daemon]\nlog_level = verbose\n", 2, "log_level", "'verbose'");
	expect_error(f, "[daemon]\nlog_level =\n", 2, "log_level", "''");
}

static const struct range_key {
	const char *section, *key;
	size_t off;
	uint32_t min, max;
} range_keys[] = {
	{ "telemetry", "window_ms", offsetof(struct cgp_conf, window_ms), 10, 60000 },
	{ "telemetry", "cpu_threshold_ms", offsetof(struct cgp_conf, cpu_threshold_ms), 0,
	  3600000 },
	{ "telemetry", "memory_threshold_ms", offsetof(struct cgp_conf, memory_threshold_ms), 0,
	  3600000 },
	{ "telemetry", "max_cgroups", offsetof(struct cgp_conf, max_cgroups), 64, 1048576 },
	{ "telemetry", "sample_interval_ms", offsetof(struct cgp_conf, sample_interval_ms), 50,
	  60000 },
	{ "telemetry", "psi_sweep_s", offsetof(struct cgp_conf, psi_sweep_s), 1, 3600 },
	{ "metrics", "max_series_cgroups", offsetof(struct cgp_conf, max_series_cgroups), 0,
	  1000000 },
};

static uint32_t field_u32(const struct cgp_conf *c, size_t off)
{
	uint32_t v;

	memcpy(&v, (const char *)c + off, sizeof(v));
	return v;
}

static void expect_range_error(struct fx *f, const struct range_key *k, const char *value)
{
	char text[160], quoted[96], range[48];

	snprintf(text, sizeof(text), "# leading comment\n[%s]\n%s = %s\n", k->section, k->key,
		 value);
	snprintf(quoted, sizeof(quoted), "'%s'", value);
	snprintf(range, sizeof(range), "%u..%u", k->min, k->max);
	expect_error(f, text, 3, k->key, quoted);
	assert_contains(f->err, range);
}

/* max_cgroups = auto: sized from the machine, kept as 0, dumped as auto. */
static void test_max_cgroups_auto(void **state)
{
	struct fx *f = *state;

	assert_int_equal(parse(f, "[telemetry]\nmax_cgroups = 8192\n"), 0);
	assert_int_equal(f->c.max_cgroups, 8192);
	assert_int_equal(parse(f, "[telemetry]\nmax_cgroups = auto\n"), 0);
	assert_int_equal(f->c.max_cgroups, 0);
	expect_error(f, "[telemetry]\nmax_cgroups = automatic\n", 2, "max_cgroups",
		     "auto or an integer");
}

/* The rule: maps within 1/256 of memory and 256 MiB, 1,024..16,384 slots, a
 * power of two. */
static void test_auto_max_cgroups(void **state)
{
	const uint64_t gib = 1ULL << 30;

	(void)state;
	/* a small node's few CPUs: the cap */
	assert_int_equal(cgp_auto_max_cgroups(2, 24 * gib), 16384);
	/* 128 CPUs: 7 KiB a slot; 512 GiB gives 256 MiB of budget */
	assert_int_equal(cgp_auto_max_cgroups(128, 512 * gib), 16384);
	assert_true(16384 * cgp_slot_bytes(128) <= CGP_AUTO_MAPS_MAX);
	/* 128 CPUs and 64 GiB: 256 MiB / 7 KiB is 37k, the cap */
	assert_int_equal(cgp_auto_max_cgroups(128, 64 * gib), 16384);
	/* 16 GiB: 64 MiB of budget, 9,500 slots: 8192 */
	assert_int_equal(cgp_auto_max_cgroups(128, 16 * gib), 8192);
	/* 1 GiB on 2 CPUs: 4 MiB / 996 B: 4096 */
	assert_int_equal(cgp_auto_max_cgroups(2, gib), 4096);
	/* never below the floor, even where memory is unknown */
	assert_int_equal(cgp_auto_max_cgroups(512, 0), CGP_AUTO_SLOTS_MIN);
	assert_int_equal(cgp_auto_max_cgroups(0, gib), 4096);
	for (unsigned cpus = 1; cpus <= 1024; cpus *= 2)
		for (uint64_t mem = gib / 4; mem <= 4096 * gib; mem *= 4) {
			uint32_t n = cgp_auto_max_cgroups(cpus, mem);

			assert_int_equal(n & (n - 1), 0);
			assert_true(n >= CGP_AUTO_SLOTS_MIN && n <= CGP_AUTO_SLOTS_MAX);
			assert_true(n == CGP_AUTO_SLOTS_MIN ||
				    n * cgp_slot_bytes(cpus) <= mem / 256);
		}
}

static void test_ranges(void **state)
{
	static const char *const garbage[] = { "",     "abc", "12abc",
					       "0x10", "1.5", "-1",
					       "-0",   "1 2", "99999999999999999999999" };
	struct fx *f = *state;
	char text[160], value[32];

	for (size_t i = 0; i < sizeof(range_keys) / sizeof(range_keys[0]); i++) {
		const struct range_key *k = &range_keys[i];
		uint32_t edges[] = { k->min, k->max, k->min + (k->max - k->min) / 2 };

		for (size_t j = 0; j < 3; j++) {
			snprintf(text, sizeof(text), "[%s]\n%s = %u\n", k->section, k->key,
				 edges[j]);
			assert_int_equal(parse(f, text), 0);
			assert_int_equal(field_u32(&f->c, k->off), edges[j]);
		}
		if (k->min > 0) {
			snprintf(value, sizeof(value), "%u", k->min - 1);
			expect_range_error(f, k, value);
		}
		snprintf(value, sizeof(value), "%u", k->max + 1);
		expect_range_error(f, k, value);
		/* past 32 bits: must not wrap into the range */
		snprintf(value, sizeof(value), "%llu", (1ULL << 32) + k->min);
		expect_range_error(f, k, value);
		for (size_t j = 0; j < sizeof(garbage) / sizeof(garbage[0]); j++)
			expect_range_error(f, k, garbage[j]);
	}
}

static void test_failed_value_not_stored(void **state)
{
	struct fx *f = *state;

	expect_error(f, "[telemetry]\nwindow_ms = 5\n", 2, "window_ms", "'5'");
	assert_int_equal(f->c.window_ms, 100);
}

static void test_unknown_key(void **state)
{
	struct fx *f = *state;

	expect_error(f, "[daemon]\nlog_level = info\n\nverbose = 1\n", 4, "'verbose'", "[daemon]");
	/* a key of another section is unknown here */
	expect_error(f, "[daemon]\nwindow_ms = 100\n", 2, "'window_ms'", "[daemon]");
	/* keys are case-sensitive */
	expect_error(f, "[telemetry]\nWindow_ms = 100\n", 2, "'Window_ms'", NULL);
}

/* config.h: "Errors name the file, line, key and value." */
static void test_unknown_key_names_value(void **state)
{
	struct fx *f = *state;

	expect_error(f, "[daemon]\nverbose = loud\n", 2, "'verbose'", "loud");
}

static void test_unknown_section(void **state)
{
	struct fx *f = *state;

	expect_error(f, "[daemon]\nlog_level = info\n\n[bogus]\nkey = 1\n", 5, "[bogus]", "'key'");
	/* a key before any section */
	expect_error(f, "window_ms = 100\n", 1, "'window_ms'", "section");
	/* an unknown section without keys changes nothing and is accepted */
	assert_int_equal(parse(f, "[bogus]\n[daemon]\nlog_level = debug\n"), 0);
	assert_int_equal(f->c.log_level, 3);
}

static void test_syntax_error(void **state)
{
	struct fx *f = *state;

	expect_error(f, "[daemon]\nlog_level = info\nnoequals\n", 3, "syntax error", NULL);
	expect_error(f, "[telemetry]\nwindow_ms\n", 2, "syntax error", NULL);
	expect_error(f, "[daemon\n", 1, "syntax error", NULL);
}

static void test_first_error_wins(void **state)
{
	struct fx *f = *state;

	/* two bad values: the first one is reported */
	expect_error(f, "[telemetry]\nwindow_ms = 1\ncpu_threshold_ms = x\n", 2, "window_ms",
		     "'1'");
	assert_true(strstr(f->err, "cpu_threshold_ms") == NULL);
	/* a bad value, then a syntax error */
	expect_error(f, "[telemetry]\nwindow_ms = 1\nnoequals\n", 2, "window_ms", "'1'");
	/* an unknown key, then a bad value */
	expect_error(f, "[daemon]\nbogus = 1\n[telemetry]\nwindow_ms = 1\n", 2, "'bogus'", NULL);
	assert_true(strstr(f->err, "window_ms") == NULL);
}

/* A syntax error before a bad key: the message must describe the line it names. */
static void test_first_error_wins_after_syntax_error(void **state)
{
	struct fx *f = *state;

	expect_error(f, "[daemon]\nlog_level = info\nnoequals\n[daemon]\nbogus = 1\n", 3,
		     "syntax error", NULL);
	assert_true(strstr(f->err, "bogus") == NULL);
	/* "[daemon" lacks its ']': line 1 is the error, not the key on line 2 */
	expect_error(f, "[daemon\nlog_level = info\n", 1, "syntax error", NULL);
}

/* Values up to CGP_CONF_STR_MAX - 1 bytes are accepted; longer ones are named on their line. */
/* inih's line buffer is fixed (200 bytes in Debian's build): a longer line is
 * refused on its own line, never split into pieces that parse as lines. */
static void test_long_values(void **state)
{
	struct fx *f = *state;
	char text[1024], value[CGP_CONF_STR_MAX + 64];

	value[0] = '/';
	memset(value + 1, 'a', 179);
	value[180] = 0;
	snprintf(text, sizeof(text), "[daemon]\nruntime_dir = %s\nlog_level = debug\n", value);
	expect_ok(f, text);
	assert_string_equal(f->c.runtime_dir, value);
	assert_int_equal(f->c.log_level, 3);

	memset(value + 1, 'a', 219);
	value[220] = 0;
	snprintf(text, sizeof(text), "[daemon]\nruntime_dir = %s\nlog_level = debug\n", value);
	expect_error(f, text, 2, "line is longer", "bytes");

	memset(value + 1, 'a', CGP_CONF_STR_MAX + 40);
	value[CGP_CONF_STR_MAX + 41] = 0;
	snprintf(text, sizeof(text), "[daemon]\nlog_level = debug\nruntime_dir = %s\n", value);
	expect_error(f, text, 3, "line is longer", "bytes");
}

/* A comment line is ignored whatever its length: its text past byte 199 is no key. */
static void test_long_comment(void **state)
{
	struct fx *f = *state;
	char text[512];
	size_t n;

	n = (size_t)snprintf(text, sizeof(text), "[telemetry]\n# ");
	memset(text + n, 'x', 197);
	n += 197;
	snprintf(text + n, sizeof(text) - n, "window_ms = 5000\ncpu_threshold_ms = 7\n");
	expect_ok(f, text);
	assert_int_equal(f->c.window_ms, 100);
	assert_int_equal(f->c.cpu_threshold_ms, 7);
}

static void test_small_errbuf(void **state)
{
	struct fx *f = *state;
	char err[12];

	memset(err, 'Z', sizeof(err));
	assert_int_equal(cgp_conf_parse_string(&f->c, "[x]\ny = 1\n", "t.conf", err, 8), -EINVAL);
	assert_string_equal(err, "t.conf:");
	assert_int_equal(err[8], 'Z');
}

static void test_parse_file(void **state)
{
	struct fx *f = *state;
	char path[] = "/tmp/cgpilot-test-conf-XXXXXX";
	int fd = mkstemp(path);
	FILE *fp;

	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	fputs("[telemetry]\nwindow_ms = 400\n\nmax_cgroups = 3\n", fp);
	fclose(fp);
	assert_int_equal(cgp_conf_parse_file(&f->c, path, f->err, sizeof(f->err)), -EINVAL);
	assert_int_equal(f->c.window_ms, 400);
	assert_starts_with(f->err, path);
	assert_contains(f->err, ":4: ");
	assert_contains(f->err, "max_cgroups");
	assert_contains(f->err, "'3'");
	unlink(path);

	f->err[0] = 0;
	assert_int_equal(cgp_conf_parse_file(&f->c, path, f->err, sizeof(f->err)), -ENOENT);
	assert_contains(f->err, path);
}

static void expect_invalid(struct cgp_conf *c, const char *w1, const char *w2)
{
	char err[512] = "";

	assert_int_equal(cgp_conf_validate(c, err, sizeof(err)), -EINVAL);
	assert_contains(err, w1);
	assert_contains(err, w2);
}

static void test_validate(void **state)
{
	struct fx *f = *state;
	struct cgp_conf c;
	char err[256];

	c = f->c;
	snprintf(c.runtime_dir, sizeof(c.runtime_dir), "run/x");
	expect_invalid(&c, "runtime_dir", "'run/x'");
	c = f->c;
	c.runtime_dir[0] = 0;
	expect_invalid(&c, "runtime_dir", "absolute");
	c = f->c;
	snprintf(c.pin_dir, sizeof(c.pin_dir), "bpf");
	expect_invalid(&c, "pin_dir", "'bpf'");
	c = f->c;
	snprintf(c.socket_path, sizeof(c.socket_path), "./s.sock");
	expect_invalid(&c, "socket", "'./s.sock'");
	c = f->c;
	snprintf(c.cgroup_root, sizeof(c.cgroup_root), "sys/fs/cgroup");
	expect_invalid(&c, "cgroup_root", "'sys/fs/cgroup'");

	c = f->c;
	c.max_cgroups = 1000;
	expect_invalid(&c, "max_cgroups", "1000");
	c.max_cgroups = 4097;
	expect_invalid(&c, "power of two", "4097");
	c.max_cgroups = 3 << 10;
	expect_invalid(&c, "max_cgroups", "3072");

	c = f->c;
	snprintf(c.socket_path, sizeof(c.socket_path), "/run/s.sock");
	snprintf(c.cgroup_root, sizeof(c.cgroup_root), "/sys/fs/cgroup");
	for (uint32_t v = 64; v <= 1048576; v <<= 1) {
		c.max_cgroups = v;
		assert_int_equal(cgp_conf_validate(&c, err, sizeof(err)), 0);
	}
}

static void test_metrics_address(void **state)
{
	static const char *const ok[] = {
		"none",
		"127.0.0.1:0",
		"127.0.0.1:9930",
		"0.0.0.0:65535",
		"10.1.2.3:00080",
		"255.255.255.255:1",
		"[::1]:9000",
		"[::]:0",
		"[2001:db8::1]:80",
		"[fe80::1%eth0]:9930",
		"[::ffff:127.0.0.1]:80",
	};
	static const char *const bad[] = {
		"garbage",	   "",
		"127.0.0.1",	   "127.0.0.1:",
		":9930",	   "127.0.0.1:65536",
		"127.0.0.1:99999", "127.0.0.1:-1",
		"127.0.0.1:+80",   "127.0.0.1:8a",
		"127.0.0.1:0x50",  "localhost:9930",
		"127.1:80",	   "1.2.3.4.5:80",
		"256.0.0.1:80",	   "::1:9000",
		"[::1]",	   "[::1]:",
		"[::1]9000",	   "[127.0.0.1]:80",
		"[::1]:80:80",	   "[fe80::1%]:80",
		"[::1%a/b]:80",	   "None",
		"[::g]:80",	   "127.0.0.1:1000000",
	};
	struct fx *f = *state;
	char text[160], quoted[96];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_true(cgp_conf_metrics_address_ok(ok[i]));
		snprintf(text, sizeof(text), "[metrics]\naddress = %s\n", ok[i]);
		expect_ok(f, text);
		assert_string_equal(f->c.metrics_address, ok[i]);
	}
	cgp_conf_defaults(&f->c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cgp_conf_metrics_address_ok(bad[i]))
			fail_msg("address '%s' accepted", bad[i]);
		snprintf(text, sizeof(text), "[metrics]\nmax_series_cgroups = 5\n\naddress = %s\n",
			 bad[i]);
		snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
		expect_error(f, text, 4, "'address' in [metrics]", quoted);
		assert_contains(f->err, "IP:PORT");
		assert_string_equal(f->c.metrics_address, "127.0.0.1:9930");
	}
}

/* The string keys the daemon would refuse at start are refused on their line. */
static void test_string_keys(void **state)
{
	static const char *const own_ok[] = { "auto",	 "none", "cgpilot.slice/cgpilotd",
					      "/a/b/",	 "a//b", "x y",
					      ".hidden", "..x" };
	static const char *const own_bad[] = { "", "/", "//", "a/../b", ".", "x/./y", "..", "../x" };
	struct fx *f = *state;
	char text[400], quoted[300], value[CGP_CONF_STR_MAX];

	expect_error(f, "[daemon]\nruntime_dir = run/x\n", 2, "runtime_dir", "'run/x'");
	assert_contains(f->err, "absolute");
	expect_error(f, "[daemon]\nruntime_dir =\n", 2, "runtime_dir", "absolute");
	expect_error(f, "[daemon]\n\npin_dir = bpf/x\n", 3, "pin_dir", "'bpf/x'");
	expect_error(f, "[daemon]\nsocket = s.sock\n", 2, "socket", "'s.sock'");
	expect_error(f, "[daemon]\ncgroup_root = sys/fs/cgroup\n", 2, "cgroup_root",
		     "'sys/fs/cgroup'");
	assert_string_equal(f->c.runtime_dir, "/run/cgpilot");
	assert_string_equal(f->c.pin_dir, "/sys/fs/bpf/cgpilot");
	assert_string_equal(f->c.socket_path, "");
	assert_string_equal(f->c.cgroup_root, "");

	/* sun_path holds 108 bytes with the NUL */
	value[0] = '/';
	memset(value + 1, 's', 106);
	value[107] = 0;
	snprintf(text, sizeof(text), "[daemon]\nsocket = %s\n", value);
	expect_ok(f, text);
	assert_string_equal(f->c.socket_path, value);
	value[107] = 's';
	value[108] = 0;
	snprintf(text, sizeof(text), "[daemon]\nsocket = %s\n", value);
	expect_error(f, text, 2, "socket", "108");

	for (size_t i = 0; i < sizeof(own_ok) / sizeof(own_ok[0]); i++) {
		snprintf(text, sizeof(text), "[daemon]\nown_cgroup = %s\n", own_ok[i]);
		expect_ok(f, text);
		assert_string_equal(f->c.own_cgroup, own_ok[i]);
	}
	cgp_conf_defaults(&f->c);
	for (size_t i = 0; i < sizeof(own_bad) / sizeof(own_bad[0]); i++) {
		snprintf(text, sizeof(text), "[daemon]\nlog_level = info\nown_cgroup = %s\n",
			 own_bad[i]);
		snprintf(quoted, sizeof(quoted), "'%s'", own_bad[i]);
		expect_error(f, text, 3, "own_cgroup", quoted);
		assert_string_equal(f->c.own_cgroup, "auto");
	}
}

static void test_validate_strings(void **state)
{
	struct fx *f = *state;
	struct cgp_conf c;
	char err[512];
	size_t n;

	/* values that did not come through a file line: the command line */
	c = f->c;
	snprintf(c.metrics_address, sizeof(c.metrics_address), "garbage");
	expect_invalid(&c, "address", "'garbage'");
	snprintf(c.metrics_address, sizeof(c.metrics_address), "127.0.0.1:0");
	assert_int_equal(cgp_conf_validate(&c, err, sizeof(err)), 0);
	snprintf(c.metrics_address, sizeof(c.metrics_address), "none");
	assert_int_equal(cgp_conf_validate(&c, err, sizeof(err)), 0);
	c = f->c;
	snprintf(c.own_cgroup, sizeof(c.own_cgroup), "a/../b");
	expect_invalid(&c, "own_cgroup", "'a/../b'");
	c = f->c;
	memset(c.socket_path, 'x', 120);
	c.socket_path[0] = '/';
	c.socket_path[120] = 0;
	expect_invalid(&c, "socket", "108");

	/* the socket runtime_dir implies: <runtime_dir>/cgpilot.sock, 107 bytes at most */
	c = f->c;
	n = sizeof("/cgpilot.sock") - 1;
	c.runtime_dir[0] = '/';
	memset(c.runtime_dir + 1, 'r', 107 - n - 1);
	c.runtime_dir[107 - n] = 0;
	assert_int_equal(cgp_conf_validate(&c, err, sizeof(err)), 0);
	c.runtime_dir[107 - n] = 'r';
	c.runtime_dir[108 - n] = 0;
	expect_invalid(&c, "cgpilot.sock", "runtime_dir");
	/* fine with a socket of its own */
	snprintf(c.socket_path, sizeof(c.socket_path), "/run/s.sock");
	assert_int_equal(cgp_conf_validate(&c, err, sizeof(err)), 0);
}

static void test_parse_file_not_regular(void **state)
{
	struct fx *f = *state;
	char dir[] = "/tmp/cgpilot-test-confdir-XXXXXX";

	assert_non_null(mkdtemp(dir));
	f->err[0] = 0;
	assert_int_equal(cgp_conf_parse_file(&f->c, dir, f->err, sizeof(f->err)), -EISDIR);
	assert_starts_with(f->err, dir);
	assert_contains(f->err, "directory");
	rmdir(dir);
	/* a character device reads as text: /dev/null is an empty configuration */
	f->err[0] = 0;
	assert_int_equal(cgp_conf_parse_file(&f->c, "/dev/null", f->err, sizeof(f->err)), 0);
}

static void roundtrip(const struct cgp_conf *in)
{
	struct cgp_conf out;
	char *buf = NULL, err[512] = "";
	size_t len = 0;
	FILE *mf = open_memstream(&buf, &len);

	assert_non_null(mf);
	cgp_conf_dump(in, mf);
	fclose(mf);
	/* every key written */
	for (const char *k = "runtime_dir\0pin_dir\0socket\0cgroup_root\0log_level\0dry_run\0"
			     "window_ms\0cpu_threshold_ms\0memory_threshold_ms\0max_cgroups\0"
			     "sample_interval_ms\0psi_sweep_s\0address\0max_series_cgroups\0"
			     "allow_read_others\0";
	     *k; k += strlen(k) + 1)
		assert_contains(buf, k);
	/* parse over different values so a key left out would show */
	memset(&out, 0, sizeof(out));
	out.log_level = 7;
	out.window_ms = out.max_cgroups = 12345;
	out.dry_run = !in->dry_run;
	out.allow_read_others = !in->allow_read_others;
	if (cgp_conf_parse_string(&out, buf, "dump", err, sizeof(err)))
		fail_msg("dump does not parse: %s\n%s", err, buf);
	assert_conf_equal(&out, in);
	free(buf);
}

static void test_dump_roundtrip(void **state)
{
	struct fx *f = *state;

	roundtrip(&f->c);
	assert_int_equal(parse(f, full_conf), 0);
	roundtrip(&f->c);
	for (int lvl = 0; lvl < 4; lvl++) {
		f->c.log_level = lvl;
		roundtrip(&f->c);
	}
}

static void test_validate_sweep_vs_tick(void **state)
{
	struct cgp_conf c;
	char err[256];

	(void)state;
	cgp_conf_defaults(&c);
	c.sample_interval_ms = 60000;
	c.psi_sweep_s = 1;
	assert_int_equal(cgp_conf_validate(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "psi_sweep_s"));
	c.psi_sweep_s = 60;
	assert_int_equal(cgp_conf_validate(&c, err, sizeof(err)), 0);
}

static void test_sizes(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(cgp_parse_size("0", &v), 0);
	assert_true(v == 0);
	assert_int_equal(cgp_parse_size("4096", &v), 0);
	assert_true(v == 4096);
	assert_int_equal(cgp_parse_size("512M", &v), 0);
	assert_true(v == 512ULL << 20);
	assert_int_equal(cgp_parse_size("2GiB", &v), 0);
	assert_true(v == 2ULL << 30);
	assert_int_equal(cgp_parse_size("1t", &v), 0);
	assert_true(v == 1ULL << 40);
	assert_int_equal(cgp_parse_size("3kb", &v), 0);
	assert_true(v == 3072);
	assert_int_equal(cgp_parse_size("1.5G", &v), 0);
	assert_true(v == 3ULL << 29);
	assert_int_equal(cgp_parse_size("0.5k", &v), 0);
	assert_true(v == 512);
	assert_int_equal(cgp_parse_size("1.001K", &v), 0);
	assert_true(v == 1025); /* 1025.024, rounded down */
	v = 7;
	assert_int_equal(cgp_parse_size("", &v), -EINVAL);
	assert_int_equal(cgp_parse_size("-1G", &v), -EINVAL);
	assert_int_equal(cgp_parse_size(" 1G", &v), -EINVAL);
	assert_int_equal(cgp_parse_size("1.5", &v), -EINVAL); /* bytes are whole */
	assert_int_equal(cgp_parse_size("1.G", &v), -EINVAL);
	assert_int_equal(cgp_parse_size("1.1234567891G", &v), -EINVAL);
	assert_int_equal(cgp_parse_size("8589934591.9999T", &v), -ERANGE);
	assert_int_equal(cgp_parse_size("1Gx", &v), -EINVAL);
	assert_int_equal(cgp_parse_size("1P", &v), -EINVAL);
	assert_int_equal(cgp_parse_size("9000000T", &v), -ERANGE);
	assert_int_equal(cgp_parse_size("99999999999999999999", &v), -ERANGE);
	assert_true(v == 7); /* untouched */
}

static void test_duration(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(cgp_parse_duration("5ms", 0, &v), 0);
	assert_true(v == 5000000);
	assert_int_equal(cgp_parse_duration("200us", 0, &v), 0);
	assert_true(v == 200000);
	assert_int_equal(cgp_parse_duration("1.5s", 0, &v), 0);
	assert_true(v == 1500000000);
	assert_int_equal(cgp_parse_duration("0.25ms", 0, &v), 0);
	assert_true(v == 250000);
	assert_int_equal(cgp_parse_duration("2m", 0, &v), 0);
	assert_true(v == 120000000000ULL);
	assert_int_equal(cgp_parse_duration("1h", 0, &v), 0);
	assert_true(v == 3600000000000ULL);
	assert_int_equal(cgp_parse_duration("17ns", 0, &v), 0);
	assert_true(v == 17);
	assert_int_equal(cgp_parse_duration("0", 0, &v), 0);
	assert_true(v == 0);
	/* a bare number in the caller's unit: seconds */
	assert_int_equal(cgp_parse_duration("2", 1000000000, &v), 0);
	assert_true(v == 2000000000);
	assert_int_equal(cgp_parse_duration("0.5", 1000000000, &v), 0);
	assert_true(v == 500000000);
	assert_int_equal(cgp_parse_duration("300ms", 1000000000, &v), 0);
	assert_true(v == 300000000);
	assert_int_equal(cgp_parse_duration("1.0000000015s", 0, &v), -EINVAL);
	v = 7;
	assert_int_equal(cgp_parse_duration("5", 0, &v), -EINVAL); /* which unit? */
	assert_int_equal(cgp_parse_duration("", 0, &v), -EINVAL);
	assert_int_equal(cgp_parse_duration("-5ms", 0, &v), -EINVAL);
	assert_int_equal(cgp_parse_duration(" 5ms", 0, &v), -EINVAL);
	assert_int_equal(cgp_parse_duration("5 ms", 0, &v), -EINVAL);
	assert_int_equal(cgp_parse_duration("5msx", 0, &v), -EINVAL);
	assert_int_equal(cgp_parse_duration("5d", 0, &v), -EINVAL);
	assert_int_equal(cgp_parse_duration("5.ms", 0, &v), -EINVAL);
	assert_int_equal(cgp_parse_duration(".5s", 0, &v), -EINVAL);
	assert_int_equal(cgp_parse_duration("ms", 0, &v), -EINVAL);
	assert_int_equal(cgp_parse_duration("6000000h", 0, &v), -ERANGE);
	assert_int_equal(cgp_parse_duration("99999999999999999999ns", 0, &v), -ERANGE);
	assert_true(v == 7); /* untouched */
}

static void test_cpus(void **state)
{
	uint64_t mc;

	(void)state;
	assert_int_equal(cgp_parse_cpus("1.5", &mc), 0);
	assert_int_equal(mc, 1500);
	assert_int_equal(cgp_parse_cpus("500m", &mc), 0);
	assert_int_equal(mc, 500);
	assert_int_equal(cgp_parse_cpus(".25", &mc), 0);
	assert_int_equal(mc, 250);
	assert_int_equal(cgp_parse_cpus("2", &mc), 0);
	assert_int_equal(mc, 2000);
	assert_int_equal(cgp_parse_cpus("0.0001", &mc), -EINVAL);
	assert_int_equal(cgp_parse_cpus("1.5.2", &mc), -EINVAL);
	assert_int_equal(cgp_parse_cpus("", &mc), -EINVAL);
	assert_int_equal(cgp_parse_cpus(".", &mc), -EINVAL);
	assert_int_equal(cgp_parse_cpus("-1", &mc), -EINVAL);
	assert_int_equal(cgp_parse_cpus("m", &mc), -EINVAL);
	assert_int_equal(cgp_parse_cpus("99999999999", &mc), -ERANGE);
}

static void test_node_keys(void **state)
{
	struct cgp_conf c;
	char err[256];

	(void)state;
	cgp_conf_defaults(&c);
	assert_string_equal(c.reserved_cpus, "");
	assert_true(c.reserved_memory == 0);
	assert_int_equal(cgp_conf_parse_string(&c,
					       "[node]\nreserved_cpus = 0-1,4\n"
					       "reserved_memory = 1G\n",
					       "t.conf", err, sizeof(err)),
			 0);
	assert_string_equal(c.reserved_cpus, "0-1,4");
	assert_true(c.reserved_memory == 1ULL << 30);
	assert_int_equal(cgp_conf_parse_string(&c, "[node]\n\nreserved_cpus = 3-1\n", "t.conf", err,
					       sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "t.conf:3:"));
	assert_non_null(strstr(err, "CPU list"));
	assert_int_equal(cgp_conf_parse_string(&c, "[node]\nreserved_memory = lots\n", "t.conf",
					       err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "t.conf:2:"));
	assert_non_null(strstr(err, "'lots'"));

	cgp_conf_defaults(&c);
	assert_string_equal(c.system_slice, "system.slice");
	assert_int_equal(cgp_conf_parse_string(&c, "[node]\nsystem_slice = sys/daemons.slice\n",
					       "t.conf", err, sizeof(err)),
			 0);
	assert_string_equal(c.system_slice, "sys/daemons.slice");
	assert_int_equal(cgp_conf_parse_string(&c, "[node]\nsystem_slice =\n", "t.conf", err,
					       sizeof(err)),
			 0);
	assert_string_equal(c.system_slice, "");
	assert_int_equal(cgp_conf_parse_string(&c, "[node]\n\nsystem_slice = ../x\n", "t.conf", err,
					       sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "t.conf:3:"));
	assert_non_null(strstr(err, "'../x'"));
}

/* Parse @text into fresh defaults; the return value, err filled. */
static int parse_fresh(struct cgp_conf *c, const char *text, char *err, size_t len)
{
	cgp_conf_defaults(c);
	return cgp_conf_parse_string(c, text, "t.conf", err, len);
}

static void test_container_keys(void **state)
{
	struct cgp_conf c;
	char err[256];

	(void)state;
	cgp_conf_defaults(&c);
	assert_string_equal(c.container_root, "auto");
	assert_true(c.start_deadline_s == 30 && c.max_containers == 10000);
	assert_contains(c.engine_roots, "machine.slice");
	assert_string_equal(c.audit_dir, "/var/log/cgpilot");
	assert_contains(c.adopt_presets, "kubelet-systemd");
	assert_true(c.class_io_weight[0] == 1000 && c.class_io_weight[2] == 10);
	assert_int_equal(
		parse_fresh(&c,
			    "[containers]\nroot = cgpilot.slice/x\nengine_roots = a b/c\n"
			    "start_deadline_s = 5\n[audit]\ndir =\n[adopt]\nknobs = cpu.max "
			    "memory.high\n",
			    err, sizeof(err)),
		0);
	assert_string_equal(c.container_root, "cgpilot.slice/x");
	assert_string_equal(c.engine_roots, "a b/c");
	assert_true(c.start_deadline_s == 5);
	assert_string_equal(c.audit_dir, "");
	assert_string_equal(c.adopt_knobs, "cpu.max memory.high");
	/* each bad value names the file, line and value */
	assert_int_equal(parse_fresh(&c, "[containers]\n\nroot = ../up\n", err, sizeof(err)),
			 -EINVAL);
	assert_contains(err, "t.conf:3:");
	assert_contains(err, "'../up'");
	assert_int_equal(parse_fresh(&c, "[containers]\nengine_roots = ok a/../b\n", err,
				     sizeof(err)),
			 -EINVAL);
	assert_contains(err, "t.conf:2:");
	assert_int_equal(parse_fresh(&c, "[audit]\ndir = relative\n", err, sizeof(err)), -EINVAL);
	assert_contains(err, "absolute");
	assert_int_equal(parse_fresh(&c, "[adopt]\nknobs = cpu.max cpu.maximum\n", err,
				     sizeof(err)),
			 -EINVAL);
	assert_contains(err, "t.conf:2:");
	assert_contains(err, "cpu.maximum");
	assert_int_equal(parse_fresh(&c, "[containers]\nstart_deadline_s = 0\n", err, sizeof(err)),
			 -EINVAL);
	assert_contains(err, "1..86400");
	/* the memory relief: names or patterns; a PSI stall shorter than its window */
	assert_int_equal(parse_fresh(&c,
				     "[policy.memory]\nkill = true\nprotected = db-* cache\n"
				     "psi_stall_us = 100000\npsi_window_us = 1000000\n",
				     err, sizeof(err)),
			 0);
	assert_true(c.mem_kill && c.mem_relief && c.mem_psi_window_us == 1000000);
	assert_false(c.mem_policy_adopted); /* adopted pods: off until the config says so */
	assert_string_equal(c.mem_protected, "db-* cache");
	assert_int_equal(parse_fresh(&c, "[policy.memory]\nadopted = true\n", err, sizeof(err)), 0);
	assert_true(c.mem_policy_adopted && c.mem_policy);
	assert_int_equal(parse_fresh(&c, "[policy.memory]\nprotected = ok a/b\n", err, sizeof(err)),
			 -EINVAL);
	assert_contains(err, "t.conf:2:");
	assert_contains(err, "'ok a/b'");
	assert_int_equal(
		parse_fresh(&c, "[policy.memory]\npsi_stall_us = 500000\n", err, sizeof(err)), 0);
	assert_int_equal(cgp_conf_validate(&c, err, sizeof(err)), -EINVAL);
	assert_contains(err, "psi_window_us");
	assert_int_equal(parse_fresh(&c, "[policy.memory]\npsi_window_us = 100000\n", err,
				     sizeof(err)),
			 -EINVAL);
	assert_contains(err, "500000..10000000");
	/* the I/O loop: defaults, sizes, ranges, and a release_max below release */
	assert_int_equal(parse_fresh(&c, "", err, sizeof(err)), 0);
	assert_true(c.io_policy && c.io_target_us == 10000 && c.io_threshold_us == 0);
	assert_true(c.io_floor_bps == 1048576 && c.io_floor_iops == 20);
	assert_int_equal(
		parse_fresh(&c,
			    "[policy.io]\nenabled = false\nadopted = true\ntarget_us = 2000\n"
			    "floor_rate = 4M\nfloor_iops = 50\n"
			    "[telemetry]\nio_threshold_us = 30000\n",
			    err, sizeof(err)),
		0);
	assert_false(c.io_policy);
	assert_true(c.io_policy_adopted);
	assert_true(c.io_target_us == 2000 && c.io_floor_bps == 4ULL << 20 &&
		    c.io_floor_iops == 50 && c.io_threshold_us == 30000);
	assert_int_equal(parse_fresh(&c, "[policy.io]\nfloor_iops = 0\n", err, sizeof(err)),
			 -EINVAL);
	assert_contains(err, "t.conf:2:");
	assert_int_equal(parse_fresh(&c, "[policy.io]\nfloor_rate = fast\n", err, sizeof(err)),
			 -EINVAL);
	assert_contains(err, "fast");
	assert_int_equal(parse_fresh(&c, "[policy.io]\nrelease_ms = 5000\nrelease_max_ms = 100\n",
				     err, sizeof(err)),
			 0);
	assert_int_equal(cgp_conf_validate(&c, err, sizeof(err)), -EINVAL);
	assert_contains(err, "[policy.io] release_max_ms (100)");
	assert_int_equal(parse_fresh(&c, "[policy.io]\nfloor_rate = 1000\n", err, sizeof(err)), 0);
	assert_int_equal(cgp_conf_validate(&c, err, sizeof(err)), -EINVAL);
	assert_contains(err, "floor_rate (1000)");
}

static void test_named_sections(void **state)
{
	struct cgp_conf c;
	char err[256];

	(void)state;
	assert_int_equal(parse_fresh(&c,
				     "[adopt.batch]\npath = batch.slice/job-{id}.scope\nclass = "
				     "besteffort\nknobs = cpu.max\n"
				     "[class.burstable]\nio_weight = 300\npriority = -5\n"
				     "[tenant.team-a]\nweight = 3\n",
				     err, sizeof(err)),
			 0);
	assert_int_equal(cgp_conf_validate(&c, err, sizeof(err)), 0);
	assert_int_equal(c.npatterns, 1);
	assert_string_equal(c.patterns[0].name, "batch");
	assert_string_equal(c.patterns[0].engine, "batch");
	assert_string_equal(c.patterns[0].path, "batch.slice/job-{id}.scope");
	assert_string_equal(c.patterns[0].class_name, "besteffort");
	assert_string_equal(c.patterns[0].knobs, "cpu.max");
	assert_int_equal(c.patterns[0].line, 2);
	assert_true(c.class_io_weight[1] == 300 && c.class_priority[1] == -5);
	assert_int_equal(c.ntenants, 1);
	assert_string_equal(c.tenants[0].name, "team-a");
	assert_true(c.tenants[0].weight == 3);
	/* bad values, each on its line */
	assert_int_equal(parse_fresh(&c, "[adopt.x]\npath = a\nclass = gold\n", err, sizeof(err)),
			 -EINVAL);
	assert_contains(err, "t.conf:3:");
	assert_contains(err, "'gold'");
	assert_int_equal(parse_fresh(&c, "[adopt.x]\nwho = a\n", err, sizeof(err)), -EINVAL);
	assert_contains(err, "unknown key 'who'");
	assert_int_equal(parse_fresh(&c, "[adopt.a b]\npath = a\n", err, sizeof(err)), -EINVAL);
	assert_contains(err, "not a name");
	assert_int_equal(parse_fresh(&c, "[class.gold]\nio_weight = 5\n", err, sizeof(err)),
			 -EINVAL);
	assert_contains(err, "unknown class");
	assert_int_equal(parse_fresh(&c, "[class.besteffort]\nio_weight = 0\n", err, sizeof(err)),
			 -EINVAL);
	assert_contains(err, "1..10000");
	assert_int_equal(parse_fresh(&c, "[class.besteffort]\npriority = 1001\n", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(parse_fresh(&c, "[tenant.t]\nweight = 0\n", err, sizeof(err)), -EINVAL);
	assert_contains(err, "1..1000000");
	/* a pattern without its class is found when the file is done */
	assert_int_equal(parse_fresh(&c, "\n[adopt.half]\npath = a/b\n", err, sizeof(err)), 0);
	assert_int_equal(cgp_conf_validate(&c, err, sizeof(err)), -EINVAL);
	assert_contains(err, "t.conf:3:");
	assert_contains(err, "[adopt.half] needs both path and class");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_max_cgroups_auto, setup, teardown),
		cmocka_unit_test(test_auto_max_cgroups),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_cpus),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_container_keys),
		cmocka_unit_test(test_named_sections),
		cmocka_unit_test(test_node_keys),
		cmocka_unit_test(test_validate_sweep_vs_tick),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_defaults),
		T(test_every_key),
		T(test_partial_keeps_previous),
		T(test_whitespace_and_comments),
		T(test_booleans),
		T(test_log_level),
		T(test_ranges),
		T(test_failed_value_not_stored),
		T(test_unknown_key),
		T(test_unknown_key_names_value),
		T(test_unknown_section),
		T(test_syntax_error),
		T(test_first_error_wins),
		T(test_first_error_wins_after_syntax_error),
		T(test_long_values),
		T(test_long_comment),
		T(test_small_errbuf),
		T(test_parse_file),
		T(test_validate),
		T(test_metrics_address),
		T(test_string_keys),
		T(test_validate_strings),
		T(test_parse_file_not_regular),
		T(test_dump_roundtrip),
#undef T
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
