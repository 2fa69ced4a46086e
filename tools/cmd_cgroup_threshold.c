// SPDX-License-Identifier: Apache-2.0
/*
 * cgpilot cgroup threshold CGROUP [SIGNAL VALUE]...: a cgroup's onset
 * thresholds set (one `threshold.set` per signal), then shown as `cgroup.show`
 * has them.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cgpilot.h"
#include "config.h"
#include "output.h"
#include "util.h"

static const char *const signals[] = { "cpu", "memory", "io", NULL };

/* What [telemetry] allows: cpu_threshold_ms, memory_threshold_ms and io_threshold_us. */
static const uint64_t max_ns[] = { UINT64_C(3600000000000), UINT64_C(3600000000000),
				   UINT64_C(60000000000) };
static const char *const max_text[] = { "1h", "1h", "60s" };

struct setting {
	int sig;
	uint64_t ns;
};

static int parse_value(int sig, const char *s, uint64_t *ret_ns)
{
	uint64_t ns;
	int r;

	if (streq(s, "off")) {
		*ret_ns = 0;
		return CLI_OK;
	}
	r = cgp_parse_duration(s, 0, &ns);
	if (r == -EINVAL && s[0] >= '0' && s[0] <= '9' && !strpbrk(s, "abcdefghijklmnopqrstuvwxyz"))
		return p_usage("%s threshold '%s' needs a unit: ns, us, ms or s (as 5ms), or "
			       "'off'",
			       signals[sig], s);
	if (r == -EINVAL)
		return p_usage("%s threshold '%s' is not a duration (as 5ms, 200us or 1.5s) "
			       "nor 'off'",
			       signals[sig], s);
	if (r || ns > max_ns[sig])
		return p_usage("%s threshold '%s' is over %s, the most [telemetry] allows",
			       signals[sig], s, max_text[sig]);
	*ret_ns = ns;
	return CLI_OK;
}

/* SIGNAL VALUE pairs; a signal given twice takes the last value. */
static int parse_settings(int argc, char **argv, struct setting *set, size_t *ret_n)
{
	size_t n = 0, i;
	int sig, r;

	while (argc > 0) {
		sig = match_word(argv[0], signals);
		if (sig < 0)
			return p_usage("%s signal '%s' (expected cpu, memory or io)",
				       sig == -EEXIST ? "ambiguous" : "unknown", argv[0]);
		NEXT_ARG();
		if (argc < 1)
			return p_usage("%s needs a threshold (as 5ms, or off)", signals[sig]);
		for (i = 0; i < n && set[i].sig != sig; i++)
			;
		set[i].sig = sig;
		r = parse_value(sig, argv[0], &set[i].ns);
		if (r != CLI_OK)
			return r;
		n += i == n;
		NEXT_ARG();
	}
	*ret_n = n;
	return CLI_OK;
}

static struct json_object *request(const char *op, struct json_object *cgroup)
{
	struct json_object *req = json_object_new_object();

	if (!req)
		return NULL;
	json_object_object_add(req, "op", json_object_new_string(op));
	json_object_object_add(req, "cgroup", json_object_get(cgroup));
	return req;
}

/* One threshold.set; *ret_dry when the daemon runs dry and changed nothing. */
static int set_one(struct json_object *cgroup, const struct setting *s, bool *ret_dry)
{
	struct json_object *req = request("threshold.set", cgroup), *reply = NULL, *v;
	int r;

	if (!req)
		return p_err("out of memory");
	json_object_object_add(req, "signal", json_object_new_string(signals[s->sig]));
	json_object_object_add(req, "threshold_ns", json_object_new_uint64(s->ns));
	r = cli_call(req, CLI_TIMEOUT_MS, &reply);
	json_object_put(req);
	if (r != CLI_OK)
		return r;
	if (json_object_object_get_ex(reply, "dry_run", &v) && json_object_get_boolean(v))
		*ret_dry = true;
	json_object_put(reply);
	return CLI_OK;
}

static void print_thresholds(struct json_object *cg, bool dry)
{
	struct json_object *th = jget_obj(cg, "thresholds");
	const char *path = jget_str(cg, "path"), *source = jget_str(th, "source");
	char id[24], cpu[16], mem[16], io[16];

	fmt_u64_key(id, sizeof(id), cg, "id");
	fmt_threshold(cpu, sizeof(cpu), th, "cpu_ns");
	fmt_threshold(mem, sizeof(mem), th, "memory_ns");
	fmt_threshold(io, sizeof(io), th, "io_ns");
	if (dry)
		printf("cgpilotd runs dry: thresholds left as they were\n");
	printf("cgroup ");
	print_escaped(stdout, path ? path : "?");
	printf(" (id %s): cpu %s, memory %s per window, io %s past it per request (%s)\n", id, cpu,
	       mem, io, source ? source : "?");
}

/* The thresholds in force, printed (or as JSON: cgroup, id, thresholds, dry_run). */
static int show(struct json_object *cgroup, bool dry)
{
	struct json_object *req = request("cgroup.show", cgroup), *reply = NULL, *cg, *out;
	uint64_t id = 0;
	int r;

	if (!req)
		return p_err("out of memory");
	r = cli_call(req, CLI_TIMEOUT_MS, &reply);
	json_object_put(req);
	if (r != CLI_OK)
		return r;
	cg = jget_obj(reply, "cgroup");
	if (!cg || !jget_obj(cg, "thresholds")) {
		json_object_put(reply);
		return cli_bad_reply("a \"cgroup\" with \"thresholds\"");
	}
	if (json_output) {
		out = json_object_new_object();
		json_object_object_add(out, "cgroup", json_object_new_string(jget_str(cg, "path")));
		jget_u64(cg, "id", &id);
		json_object_object_add(out, "id", json_object_new_uint64(id));
		json_object_object_add(out, "thresholds",
				       json_object_get(jget_obj(cg, "thresholds")));
		json_object_object_add(out, "dry_run", json_object_new_boolean(dry));
		json_print(out);
		json_object_put(out);
	} else {
		print_thresholds(cg, dry);
	}
	json_object_put(reply);
	return CLI_OK;
}

int do_cgroup_threshold(int argc, char **argv)
{
	/* the first n set by parse_settings() */
	struct setting set[ARRAY_SIZE(signals)] = { { 0 } };
	struct json_object *cgroup = NULL;
	bool dry = false;
	size_t n = 0;
	int r;

	r = cgroup_take_arg(&argc, &argv, &cgroup);
	if (r != CLI_OK)
		return r;
	r = parse_settings(argc, argv, set, &n);
	/* all checked before the first is sent: a bad value changes nothing */
	for (size_t i = 0; r == CLI_OK && i < n; i++)
		r = set_one(cgroup, &set[i], &dry);
	if (r == CLI_OK)
		r = show(cgroup, dry);
	json_object_put(cgroup);
	return r;
}
