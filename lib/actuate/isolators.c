// SPDX-License-Identifier: Apache-2.0
/*
 * The isolators: one table entry per controller, each knob with a check that
 * accepts what the kernel accepts (as far as text alone can tell: a quota
 * larger than the period's CPU count, a device that does not exist, are the
 * kernel's to refuse at write time, and act_apply() rolls back then).
 * Values are given without a trailing newline; act_apply() adds it.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "actuate.h"
#include "cgroupfs.h"
#include "topology.h"
#include "util.h"

/* The kernel's bandwidth limit for quota and burst, in us (MAX_BW, kernel/sched/core.c). */
#define CPU_MAX_BW_US ((UINT64_C(1) << 44) - 1)
#define CPU_PERIOD_MIN_US 1000 /* min_cfs_quota_period: 1 ms, also the least quota */
#define CPU_PERIOD_MAX_US 1000000 /* max_cfs_quota_period: 1 s */
/* PID_MAX_LIMIT on 64-bit; pids.max refuses anything at or past PIDS_MAX = it + 1. */
#define PIDS_LIMIT 4194304
/* MKDEV's widths: 12 bits of major, 20 of minor. */
#define DEV_MAJOR_MAX 4095
#define DEV_MINOR_MAX 1048575

static int __attribute__((format(printf, 5, 6)))
bad(char *err, size_t errlen, const char *file, const char *value, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (!err || !errlen)
		return -EINVAL;
	w = snprintf(err, errlen, "%s '%.80s%s': ", file, value, strlen(value) > 80 ? "..." : "");
	if (w >= 0 && (size_t)w < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + w, errlen - (size_t)w, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Decimal digits only (no sign, no space, no 0x), no overflow; the end in *ret_end. */
static bool parse_u64(const char *s, uint64_t *ret, const char **ret_end)
{
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*ret = v;
	if (ret_end)
		*ret_end = s;
	else if (*s)
		return false;
	return true;
}

/* A whole decimal value in min..max, with its message. */
static int check_range(const char *file, const char *value, uint64_t min, uint64_t max, char *err,
		       size_t errlen)
{
	uint64_t v;

	if (!parse_u64(value, &v, NULL) || v < min || v > max)
		return bad(err, errlen, file, value, "not in %" PRIu64 "..%" PRIu64, min, max);
	return 0;
}

static int check_bool(const char *file, const char *value, char *err, size_t errlen)
{
	if (!streq(value, "0") && !streq(value, "1"))
		return bad(err, errlen, file, value, "not 0 or 1");
	return 0;
}

/* ---- cpu ---- */

static int check_cpu_weight(const char *value, char *err, size_t errlen)
{
	return check_range("cpu.weight", value, 1, 10000, err, errlen);
}

/* "max", "max PERIOD", "QUOTA" or "QUOTA PERIOD" (the kernel keeps the period if none). */
static int check_cpu_max(const char *value, char *err, size_t errlen)
{
	const char *p = value, *end;
	uint64_t q, period;

	if (!strncmp(p, "max", 3) && (p[3] == 0 || p[3] == ' ')) {
		p += 3;
	} else if (parse_u64(p, &q, &end) && (*end == 0 || *end == ' ')) {
		if (q < CPU_PERIOD_MIN_US || q > CPU_MAX_BW_US)
			return bad(err, errlen, "cpu.max", value, "quota not in %u..%" PRIu64 " us",
				   CPU_PERIOD_MIN_US, CPU_MAX_BW_US);
		p = end;
	} else {
		return bad(err, errlen, "cpu.max", value,
			   "not \"max\" or a quota in us, optionally followed by a period");
	}
	if (!*p)
		return 0;
	if (!parse_u64(p + 1, &period, NULL) || period < CPU_PERIOD_MIN_US ||
	    period > CPU_PERIOD_MAX_US)
		return bad(err, errlen, "cpu.max", value, "period not in %u..%u us",
			   CPU_PERIOD_MIN_US, CPU_PERIOD_MAX_US);
	return 0;
}

static int check_cpu_burst(const char *value, char *err, size_t errlen)
{
	return check_range("cpu.max.burst", value, 0, CPU_MAX_BW_US, err, errlen);
}

static int check_cpu_idle(const char *value, char *err, size_t errlen)
{
	return check_bool("cpu.idle", value, err, errlen);
}

/* ---- cpuset ---- */

static int check_cpulist(const char *file, const char *value, char *err, size_t errlen)
{
	struct topo_cpuset set = { 0 };

	if (topo_parse_cpulist(value, &set))
		return bad(err, errlen, file, value,
			   "not a list like \"0-3,8\" (\"\" inherits the parent's)");
	topo_cpuset_free(&set);
	return 0;
}

static int check_cpuset_cpus(const char *value, char *err, size_t errlen)
{
	return check_cpulist("cpuset.cpus", value, err, errlen);
}

static int check_cpuset_mems(const char *value, char *err, size_t errlen)
{
	return check_cpulist("cpuset.mems", value, err, errlen);
}

static int check_cpuset_partition(const char *value, char *err, size_t errlen)
{
	if (!streq(value, "member") && !streq(value, "root") && !streq(value, "isolated"))
		return bad(err, errlen, "cpuset.cpus.partition", value,
			   "not member, root or isolated");
	return 0;
}

/* ---- memory ---- */

/* The kernel's memparse(): bytes with an optional K M G T P E (either case); or "max". */
static int check_mem(const char *file, const char *value, char *err, size_t errlen)
{
	static const char units[] = "KMGTPE";
	const char *end, *u;
	uint64_t v;
	unsigned shift = 0;

	if (streq(value, "max"))
		return 0;
	if (!parse_u64(value, &v, &end))
		return bad(err, errlen, file, value, "not \"max\" or bytes (K, M, G, T suffixes)");
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u || end[1])
			return bad(err, errlen, file, value,
				   "not \"max\" or bytes (K, M, G, T suffixes)");
		shift = 10 * (unsigned)(u - units + 1);
	}
	if (shift && v > UINT64_MAX >> shift)
		return bad(err, errlen, file, value, "more than 2^64 bytes");
	return 0;
}

static int check_memory_min(const char *value, char *err, size_t errlen)
{
	return check_mem("memory.min", value, err, errlen);
}

static int check_memory_low(const char *value, char *err, size_t errlen)
{
	return check_mem("memory.low", value, err, errlen);
}

static int check_memory_high(const char *value, char *err, size_t errlen)
{
	return check_mem("memory.high", value, err, errlen);
}

static int check_memory_max(const char *value, char *err, size_t errlen)
{
	return check_mem("memory.max", value, err, errlen);
}

static int check_memory_swap_max(const char *value, char *err, size_t errlen)
{
	return check_mem("memory.swap.max", value, err, errlen);
}

static int check_memory_oom_group(const char *value, char *err, size_t errlen)
{
	return check_bool("memory.oom.group", value, err, errlen);
}

/* ---- io ---- */

/* "MAJ:MIN" at s; the rest after it in *ret_end. */
static bool parse_dev(const char *s, const char **ret_end)
{
	uint64_t maj, min;
	const char *e;

	if (!parse_u64(s, &maj, &e) || *e != ':' || maj > DEV_MAJOR_MAX)
		return false;
	if (!parse_u64(e + 1, &min, &e) || min > DEV_MINOR_MAX)
		return false;
	*ret_end = e;
	return true;
}

/* "N", "default N" (the cgroup's weight), "MAJ:MIN N" or "MAJ:MIN default" (one device). */
static int check_io_weight(const char *value, char *err, size_t errlen)
{
	const char *p;
	uint64_t v;

	if (!strncmp(value, "default ", 8)) {
		p = value + 8;
	} else if (parse_dev(value, &p)) {
		if (*p != ' ')
			return bad(err, errlen, "io.weight", value, "no weight after the device");
		p++;
		if (streq(p, "default"))
			return 0;
	} else {
		p = value;
	}
	if (!parse_u64(p, &v, NULL) || v < 1 || v > 10000)
		return bad(err, errlen, "io.weight", value,
			   "not a weight in 1..10000, \"default N\", \"MAJ:MIN N\" or "
			   "\"MAJ:MIN default\"");
	return 0;
}

/* "MAJ:MIN" then key=value pairs, each value a number or "max"; returns the first bad key. */
static int check_keyed(const char *file, const char *value, const char *const *keys, uint64_t min,
		       uint64_t max, char *err, size_t errlen)
{
	const char *p;
	unsigned nkeys = 0;

	if (!parse_dev(value, &p))
		return bad(err, errlen, file, value, "does not start with a device MAJ:MIN");
	while (*p) {
		const char *k = p + 1, *eq, *e;
		bool known = false;
		uint64_t v;

		if (*p != ' ' || !*k)
			return bad(err, errlen, file, value, "not MAJ:MIN key=value ...");
		eq = strchr(k, '=');
		e = strchrnul(k, ' ');
		if (!eq || eq > e)
			return bad(err, errlen, file, value, "'%.*s' is not key=value",
				   (int)(e - k), k);
		for (unsigned i = 0; keys[i]; i++)
			known |= strlen(keys[i]) == (size_t)(eq - k) &&
				 !strncmp(keys[i], k, (size_t)(eq - k));
		if (!known)
			return bad(err, errlen, file, value, "unknown key '%.*s'", (int)(eq - k),
				   k);
		if (!(e - eq == 4 && !strncmp(eq + 1, "max", 3))) {
			const char *ve;

			if (!parse_u64(eq + 1, &v, &ve) || ve != e || v < min || v > max)
				return bad(err, errlen, file, value,
					   "%.*s: not \"max\" or in %" PRIu64 "..%" PRIu64,
					   (int)(eq - k), k, min, max);
		}
		nkeys++;
		p = e;
	}
	if (!nkeys)
		return bad(err, errlen, file, value, "no key=value after the device");
	return 0;
}

static int check_io_max(const char *value, char *err, size_t errlen)
{
	static const char *const keys[] = { "rbps", "wbps", "riops", "wiops", NULL };

	/* 0 is refused with ERANGE by blk-throttle: "max" lifts a limit */
	return check_keyed("io.max", value, keys, 1, UINT64_MAX, err, errlen);
}

static int check_io_latency(const char *value, char *err, size_t errlen)
{
	static const char *const keys[] = { "target", NULL };

	/* target in us, kept in ns by the kernel; 0 and "max" remove it */
	return check_keyed("io.latency", value, keys, 0, UINT64_MAX / 1000, err, errlen);
}

/* ---- pids, freezer, kill ---- */

static int check_pids_max(const char *value, char *err, size_t errlen)
{
	uint64_t v;

	if (!streq(value, "max") && (!parse_u64(value, &v, NULL) || v > PIDS_LIMIT))
		return bad(err, errlen, "pids.max", value, "not \"max\" or in 0..%u", PIDS_LIMIT);
	return 0;
}

static int check_freeze(const char *value, char *err, size_t errlen)
{
	return check_bool("cgroup.freeze", value, err, errlen);
}

static int check_kill(const char *value, char *err, size_t errlen)
{
	if (!streq(value, "1"))
		return bad(err, errlen, "cgroup.kill", value, "only 1 is accepted");
	return 0;
}

static const struct act_knob cpu_knobs[] = {
	{ "cpu.weight", check_cpu_weight, true, "100" },
	{ "cpu.max", check_cpu_max, true, "max 100000" },
	{ "cpu.max.burst", check_cpu_burst, true, "0" },
	{ "cpu.idle", check_cpu_idle, true, "0" },
};

static const struct act_knob cpuset_knobs[] = {
	{ "cpuset.cpus", check_cpuset_cpus, true, "" },
	{ "cpuset.mems", check_cpuset_mems, true, "" },
	{ "cpuset.cpus.partition", check_cpuset_partition, true, "member" },
};

static const struct act_knob memory_knobs[] = {
	{ "memory.min", check_memory_min, true, "0" },
	{ "memory.low", check_memory_low, true, "0" },
	{ "memory.high", check_memory_high, true, "max" },
	{ "memory.max", check_memory_max, true, "max" },
	{ "memory.swap.max", check_memory_swap_max, true, "max" },
	{ "memory.oom.group", check_memory_oom_group, true, "0" },
};

static const struct act_knob io_knobs[] = {
	{ "io.weight", check_io_weight, true, "default 100" },
	{ "io.max", check_io_max, true, "" },
	{ "io.latency", check_io_latency, true, "" },
};

static const struct act_knob pids_knobs[] = {
	{ "pids.max", check_pids_max, true, "max" },
};

static const struct act_knob freezer_knobs[] = {
	{ "cgroup.freeze", check_freeze, true, "0" },
};

static const struct act_knob kill_knobs[] = {
	{ "cgroup.kill", check_kill, false, NULL },
};

const struct act_isolator act_isolators[] = {
	{ "cpu", CGFS_CPU, cpu_knobs, ARRAY_SIZE(cpu_knobs) },
	{ "cpuset", CGFS_CPUSET, cpuset_knobs, ARRAY_SIZE(cpuset_knobs) },
	{ "memory", CGFS_MEMORY, memory_knobs, ARRAY_SIZE(memory_knobs) },
	{ "io", CGFS_IO, io_knobs, ARRAY_SIZE(io_knobs) },
	{ "pids", CGFS_PIDS, pids_knobs, ARRAY_SIZE(pids_knobs) },
	{ "freezer", 0, freezer_knobs, ARRAY_SIZE(freezer_knobs) },
	{ "kill", 0, kill_knobs, ARRAY_SIZE(kill_knobs) },
};

const unsigned act_nisolators = ARRAY_SIZE(act_isolators);

const struct act_knob *act_knob_find(const char *file, const struct act_isolator **ret_iso)
{
	if (!file)
		return NULL;
	for (unsigned i = 0; i < act_nisolators; i++) {
		const struct act_isolator *iso = &act_isolators[i];

		for (unsigned k = 0; k < iso->nknobs; k++) {
			if (streq(iso->knobs[k].file, file)) {
				if (ret_iso)
					*ret_iso = iso;
				return &iso->knobs[k];
			}
		}
	}
	return NULL;
}

int act_check(const char *file, const char *value, char *err, size_t errlen)
{
	const struct act_knob *k = act_knob_find(file, NULL);

	if (!k) {
		if (err && errlen)
			snprintf(err, errlen, "unknown knob '%.80s'", file ? file : "(null)");
		return -ENOENT;
	}
	if (!value) {
		if (err && errlen)
			snprintf(err, errlen, "%s: no value", file);
		return -EINVAL;
	}
	if (strlen(value) >= ACT_VALUE_MAX)
		return bad(err, errlen, file, value, "longer than %d bytes", ACT_VALUE_MAX - 1);
	/* one value, one line: the newline is act_apply()'s to add */
	if (strchr(value, '\n'))
		return bad(err, errlen, file, value, "contains a newline");
	return k->check(value, err, errlen);
}

const char *act_status_name(enum act_status s)
{
	switch (s) {
	case ACT_WRITTEN:
		return "written";
	case ACT_DRY_RUN:
		return "dry_run";
	case ACT_FAILED:
		return "failed";
	case ACT_RESTORED:
		return "restored";
	case ACT_EXTERNAL:
		return "external";
	}
	return "unknown";
}
