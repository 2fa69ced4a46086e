// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "class.h"

/* What cgroup files take (class.h). */
#define CPU_MAX_MC (1ULL << 32)
#define MEM_MAX_BYTES (1ULL << 62)
#define IO_WEIGHT_MAX 10000u

/* kubelet's cgroup v1 shares (pkg/kubelet/cm: MilliCPUToShares) and runc's v2 conversion. */
#define SHARES_PER_CPU 1024u
#define SHARES_MIN 2u
#define SHARES_MAX 262144u
#define WEIGHT_MAX 10000u

/* cpu.max's quota floor: the kernel refuses less than 1 ms. */
#define CPU_QUOTA_MIN_US 1000u

static const char *const class_names[CGP_CLASS_MAX] = {
	[CGP_CLASS_GUARANTEED] = "guaranteed",
	[CGP_CLASS_BURSTABLE] = "burstable",
	[CGP_CLASS_BESTEFFORT] = "besteffort",
};

static const struct class_conf class_builtin[CGP_CLASS_MAX] = {
	[CGP_CLASS_GUARANTEED] = { .io_weight = 1000, .priority = 0 },
	[CGP_CLASS_BURSTABLE] = { .io_weight = 100, .priority = 0 },
	[CGP_CLASS_BESTEFFORT] = { .io_weight = 10, .priority = 0 },
};

const char *class_name(enum cgp_class c)
{
	if ((unsigned)c >= CGP_CLASS_MAX)
		return NULL;
	return class_names[c];
}

int class_parse(const char *text, enum cgp_class *ret)
{
	if (!text)
		return -EINVAL;
	for (unsigned i = 0; i < CGP_CLASS_MAX; i++) {
		if (strcmp(text, class_names[i]) == 0) {
			*ret = (enum cgp_class)i;
			return 0;
		}
	}
	return -EINVAL;
}

void class_conf_defaults(struct class_conf conf[CGP_CLASS_MAX])
{
	memcpy(conf, class_builtin, sizeof(class_builtin));
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Request and limit of one resource: within the maximum, limit (if any) not below the request. */
static int check_pair(const char *what, const char *unit, uint64_t request, uint64_t limit,
		      uint64_t max, char *err, size_t errlen)
{
	if (request > max)
		return fail(err, errlen, "%s: request %" PRIu64 " %s is past the maximum %" PRIu64,
			    what, request, unit, max);
	if (limit > max)
		return fail(err, errlen, "%s: limit %" PRIu64 " %s is past the maximum %" PRIu64,
			    what, limit, unit, max);
	if (limit && limit < request)
		return fail(err, errlen,
			    "%s: limit %" PRIu64 " %s is below the request %" PRIu64 " %s", what,
			    limit, unit, request, unit);
	return 0;
}

/* A guaranteed container's resource: a request, and a limit that is the request (or none). */
static int check_guaranteed(const char *what, const char *unit, uint64_t request, uint64_t *limit,
			    char *err, size_t errlen)
{
	if (!request)
		return fail(err, errlen,
			    "%s: guaranteed needs a request (none given; request = limit is the "
			    "class)",
			    what);
	if (!*limit)
		*limit = request;
	else if (*limit != request)
		return fail(err, errlen,
			    "%s: limit %" PRIu64 " %s differs from the request %" PRIu64
			    " %s (guaranteed takes request = limit)",
			    what, *limit, unit, request, unit);
	return 0;
}

int class_check(enum cgp_class class, const struct class_conf *conf, struct res_spec *spec,
		char *err, size_t errlen)
{
	const struct class_conf *cc;
	struct res_spec s;
	int r;

	if ((unsigned)class >= CGP_CLASS_MAX)
		return fail(err, errlen, "class: unknown class %d", (int)class);
	if (!spec)
		return fail(err, errlen, "no resource spec");
	s = *spec;
	cc = conf ? &conf[class] : &class_builtin[class];

	r = check_pair("cpu", "millicores", s.cpu_request_mc, s.cpu_limit_mc, CPU_MAX_MC, err,
		       errlen);
	if (r)
		return r;
	r = check_pair("memory", "bytes", s.mem_request, s.mem_limit, MEM_MAX_BYTES, err, errlen);
	if (r)
		return r;
	if (class == CGP_CLASS_GUARANTEED) {
		r = check_guaranteed("cpu", "millicores", s.cpu_request_mc, &s.cpu_limit_mc, err,
				     errlen);
		if (r)
			return r;
		r = check_guaranteed("memory", "bytes", s.mem_request, &s.mem_limit, err, errlen);
		if (r)
			return r;
	}
	if (s.io_weight > IO_WEIGHT_MAX)
		return fail(err, errlen, "io_weight: %" PRIu32 " is past the maximum %u",
			    s.io_weight, IO_WEIGHT_MAX);
	if (!s.io_weight) {
		s.io_weight = cc->io_weight;
		/* a config past the range must not reach io.weight */
		if (s.io_weight < 1 || s.io_weight > IO_WEIGHT_MAX)
			s.io_weight = class_builtin[class].io_weight;
	}
	if (!s.priority)
		s.priority = cc->priority;
	*spec = s;
	if (err && errlen)
		err[0] = '\0';
	return 0;
}

bool class_exclusive(enum cgp_class class, const struct res_spec *spec)
{
	return class == CGP_CLASS_GUARANTEED && spec && spec->cpu_request_mc &&
	       spec->cpu_request_mc % CGP_MILLI == 0;
}

static uint64_t shares_of(uint64_t request_mc)
{
	uint64_t shares;

	if (request_mc > UINT64_MAX / SHARES_PER_CPU)
		return SHARES_MAX;
	shares = request_mc * SHARES_PER_CPU / CGP_MILLI;
	if (shares < SHARES_MIN)
		return SHARES_MIN;
	if (shares > SHARES_MAX)
		return SHARES_MAX;
	return shares;
}

uint32_t class_cpu_weight(uint64_t request_mc)
{
	uint64_t shares = shares_of(request_mc);

	return (uint32_t)(1 + (shares - SHARES_MIN) * (WEIGHT_MAX - 1) / (SHARES_MAX - SHARES_MIN));
}

void class_knobs(enum cgp_class class, const struct res_spec *spec, struct class_knobs *ret)
{
	uint32_t io_weight = spec->io_weight;
	uint64_t quota;

	if (class == CGP_CLASS_BESTEFFORT)
		snprintf(ret->cpu_weight, sizeof(ret->cpu_weight), "1");
	else
		snprintf(ret->cpu_weight, sizeof(ret->cpu_weight), "%" PRIu32,
			 class_cpu_weight(spec->cpu_request_mc));

	if (spec->cpu_limit_mc) {
		/* limit / 1000 CPUs over the period; checked specs keep this far from overflow */
		quota = spec->cpu_limit_mc * (CGP_CPU_PERIOD_US / CGP_MILLI);
		if (quota < CPU_QUOTA_MIN_US)
			quota = CPU_QUOTA_MIN_US;
		snprintf(ret->cpu_max, sizeof(ret->cpu_max), "%" PRIu64 " %u", quota,
			 CGP_CPU_PERIOD_US);
	} else {
		snprintf(ret->cpu_max, sizeof(ret->cpu_max), "max %u", CGP_CPU_PERIOD_US);
	}

	snprintf(ret->memory_min, sizeof(ret->memory_min), "%" PRIu64,
		 class == CGP_CLASS_GUARANTEED ? spec->mem_request : 0);
	snprintf(ret->memory_low, sizeof(ret->memory_low), "%" PRIu64,
		 class == CGP_CLASS_BURSTABLE ? spec->mem_request : 0);
	if (spec->mem_limit)
		snprintf(ret->memory_max, sizeof(ret->memory_max), "%" PRIu64, spec->mem_limit);
	else
		snprintf(ret->memory_max, sizeof(ret->memory_max), "max");

	/* an unchecked spec (io_weight 0) still gets a value io.weight takes */
	if (io_weight < 1 || io_weight > IO_WEIGHT_MAX)
		io_weight = (unsigned)class < CGP_CLASS_MAX ? class_builtin[class].io_weight : 100;
	snprintf(ret->io_weight, sizeof(ret->io_weight), "default %" PRIu32, io_weight);
}

/*
 * One unsigned decimal number and then nothing but whitespace (a file's
 * trailing newline). No sign, no leading blanks.
 */
static int parse_u64(const char *s, const char **ret_end, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	*ret = v;
	*ret_end = end;
	return 0;
}

static bool blank_to_end(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n')
			return false;
	return true;
}

static int parse_whole(const char *s, uint64_t *ret)
{
	const char *end;
	uint64_t v;

	if (parse_u64(s, &end, &v) || !blank_to_end(end))
		return -EINVAL;
	*ret = v;
	return 0;
}

/* "max" (and nothing else but whitespace) */
static bool is_max(const char *s)
{
	return strncmp(s, "max", 3) == 0 && blank_to_end(s + 3);
}

/* The smallest request whose cpu.weight is @w (2..10000). */
static uint64_t weight_floor_mc(uint64_t w)
{
	uint64_t span = SHARES_MAX - SHARES_MIN;
	uint64_t shares = SHARES_MIN + ((w - 1) * span + (WEIGHT_MAX - 1) - 1) / (WEIGHT_MAX - 1);

	return (shares * CGP_MILLI + SHARES_PER_CPU - 1) / SHARES_PER_CPU;
}

/*
 * cpu.weight back to a request. A weight is the image of a run of about 25
 * millicores; the request chosen is in that run, and the roundest one there
 * (kubelet's requests are mostly 100m, 250m, 1 CPU...), else its middle, so
 * a kubelet pod's weight gives back its request.
 */
static uint64_t weight_to_mc(uint64_t w)
{
	static const uint64_t round[] = { 1000, 500, 100, 50, 10, 5 };
	uint64_t lo, hi, mid;

	if (w <= 1)
		return 0;
	lo = weight_floor_mc(w);
	if (w >= WEIGHT_MAX)
		return lo;
	hi = weight_floor_mc(w + 1) - 1;
	mid = lo + (hi - lo) / 2;
	for (unsigned i = 0; i < sizeof(round) / sizeof(round[0]); i++) {
		uint64_t m = round[i], below = mid / m * m, above = below + m;
		bool b = below >= lo, a = above <= hi;

		if (a && b)
			return mid - below <= above - mid ? below : above;
		if (b)
			return below;
		if (a)
			return above;
	}
	return mid;
}

static int parse_cpu_max(const char *s, uint64_t *ret_limit_mc)
{
	uint64_t quota, period = CGP_CPU_PERIOD_US;
	const char *end;
	bool unlimited = false;

	if (strncmp(s, "max", 3) == 0) {
		unlimited = true;
		end = s + 3;
	} else if (parse_u64(s, &end, &quota)) {
		return -EINVAL;
	}
	if (*end == ' ') {
		if (parse_u64(end + 1, &end, &period))
			return -EINVAL;
	}
	if (!blank_to_end(end) || !period)
		return -EINVAL;
	if (unlimited) {
		*ret_limit_mc = 0;
		return 0;
	}
	/* the kernel takes no quota below 1 ms; 0 would read as "no limit" */
	if (!quota || quota > UINT64_MAX / CGP_MILLI)
		return -EINVAL;
	*ret_limit_mc = (quota * CGP_MILLI + period - 1) / period;
	return 0;
}

int class_spec_from_files(const char *cpu_weight, const char *cpu_max, const char *memory_min,
			  const char *memory_low, const char *memory_max, struct res_spec *ret)
{
	struct res_spec s = { 0 };
	uint64_t v;

	if (cpu_weight) {
		if (parse_whole(cpu_weight, &v) || v < 1 || v > WEIGHT_MAX)
			return -EINVAL;
		s.cpu_request_mc = weight_to_mc(v);
	}
	if (cpu_max && parse_cpu_max(cpu_max, &s.cpu_limit_mc))
		return -EINVAL;
	/* memory.min, else memory.low; "max" is no byte count a request can be */
	if (memory_min) {
		if (parse_whole(memory_min, &v))
			return -EINVAL;
		s.mem_request = v;
	}
	if (memory_low) {
		if (parse_whole(memory_low, &v))
			return -EINVAL;
		if (!s.mem_request)
			s.mem_request = v;
	}
	if (memory_max) {
		if (is_max(memory_max))
			s.mem_limit = 0;
		else if (parse_whole(memory_max, &s.mem_limit))
			return -EINVAL;
	}
	*ret = s;
	return 0;
}
