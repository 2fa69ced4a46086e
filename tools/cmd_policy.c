// SPDX-License-Identifier: Apache-2.0
/*
 * cgpilot policy { show }: the rules the daemon admits and adopts containers by
 * (policy.show): classes, adoption patterns, tenants, enforceable controllers.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cgpilot.h"
#include "output.h"
#include "util.h"

#define LABEL 16

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s policy [ show | help ]\n"
		"\n"
		"       OPTIONS := { -j | -p | -v | --socket PATH }\n"
		"\n"
		"show: the daemon's container policy: dry-run, the root of the containers\n"
		"      it creates and the engines' roots it accepts runtime cgroups below,\n"
		"      the controllers that enforce limits, the start deadline, the slack\n"
		"      estimate's margin and half-life, the audit log, the classes (io.weight\n"
		"      and priority defaults), the adoption patterns (cgroups of other\n"
		"      schedulers it manages, and the knobs it may write there) and the\n"
		"      tenants with their weights, allocation and dominant shares.\n"
		"      'policy' alone is 'policy show'.\n",
		bin_name);
}

static int do_help(int argc, char **argv)
{
	usage(stdout);
	return CLI_OK;
}

static const char *str_or(struct json_object *o, const char *key, const char *dflt)
{
	const char *s = jget_str(o, key);

	return s ? s : dflt;
}

static size_t list_len(struct json_object *list)
{
	return list ? json_object_array_length(list) : 0;
}

/* The strings of @list joined by spaces into @buf, or @none. */
static void fmt_words(char *buf, size_t size, struct json_object *list, const char *none)
{
	size_t off = 0;
	struct json_object *v;

	snprintf(buf, size, "%s", none);
	for (size_t i = 0; i < list_len(list) && off < size; i++) {
		v = json_object_array_get_idx(list, i);
		if (off)
			buf[off++] = ' ';
		fmt_escaped(buf + off, size - off, v ? json_object_get_string(v) : "?");
		off += strlen(buf + off);
	}
}

static void print_settings(struct json_object *p)
{
	char buf[512], dur[16];
	struct json_object *v;
	uint64_t u;
	double d;

	printf("%-*s%s\n", LABEL, "dry run",
	       json_object_object_get_ex(p, "dry_run", &v) && json_object_get_boolean(v) ?
		       "yes: knobs are logged, not written" :
		       "no");
	printf("%-*s", LABEL, "container root");
	print_escaped(stdout, str_or(p, "container_root", "-"));
	printf(" (launched containers: <root>/<class>/<name>)\n");
	fmt_words(buf, sizeof(buf), jget_array(p, "engine_roots"), "none");
	printf("%-*s%s\n", LABEL, "engine roots", buf);
	print_enforceable(LABEL, jget_array(p, "enforceable"));
	snprintf(dur, sizeof(dur), "-");
	if (jget_u64(p, "start_deadline_s", &u))
		snprintf(dur, sizeof(dur), "%" PRIu64 "s", u);
	printf("%-*s%s for an admitted container's first process, else it is released\n", LABEL,
	       "start deadline", dur);
	snprintf(buf, sizeof(buf), "-");
	if (jget_double(p, "slack_half_life_s", &d))
		snprintf(buf, sizeof(buf), "%gs", d);
	fmt_u64_key(dur, sizeof(dur), p, "slack_margin_pct");
	printf("%-*smeasured use counts %s%% more, smoothed with a half-life of %s\n", LABEL,
	       "slack", dur, buf);
	printf("%-*s", LABEL, "audit log");
	print_escaped(stdout, str_or(p, "audit_log", "off"));
	putchar('\n');
}

static void print_classes(struct json_object *classes)
{
	char w[24], pr[24];
	struct json_object *v;

	printf("\n%-12s %-10s %s\n", "CLASS", "IO WEIGHT", "PRIORITY");
	if (!classes)
		return;
	json_object_object_foreach(classes, name, c)
	{
		fmt_u64_key(w, sizeof(w), c, "io_weight");
		snprintf(pr, sizeof(pr), "-");
		if (json_object_object_get_ex(c, "priority", &v) &&
		    json_object_is_type(v, json_type_int))
			snprintf(pr, sizeof(pr), "%d", json_object_get_int(v));
		printf("%-12s %-10s %s\n", name, w, pr);
	}
}

static int str_width(struct json_object *list, const char *key, int min)
{
	char buf[512];
	int w = min, n;

	for (size_t i = 0; i < list_len(list); i++) {
		fmt_escaped(buf, sizeof(buf), str_or(json_object_array_get_idx(list, i), key, ""));
		n = (int)strlen(buf);
		w = n > w ? n : w;
	}
	return w;
}

static void print_adoption(struct json_object *pats)
{
	int wn = str_width(pats, "name", 4), we = str_width(pats, "engine", 6);
	int wp = str_width(pats, "path", 4);
	char name[128], engine[64], path[512], knobs[256];
	struct json_object *e;
	const char *cls;

	printf("\n%-*s  %-*s  %-10s  %-*s  %s\n", wn, "NAME", we, "ENGINE", "CLASS", wp, "PATH",
	       "KNOBS");
	for (size_t i = 0; i < list_len(pats); i++) {
		e = json_object_array_get_idx(pats, i);
		cls = jget_str(e, "class");
		fmt_escaped(name, sizeof(name), str_or(e, "name", "?"));
		fmt_escaped(engine, sizeof(engine), str_or(e, "engine", "?"));
		fmt_escaped(path, sizeof(path), str_or(e, "path", "?"));
		fmt_words(knobs, sizeof(knobs), jget_array(e, "knobs"), "none (observed only)");
		printf("%-*s  %-*s  %-10s  %-*s  %s\n", wn, name, we, engine, cls ? cls : "?", wp,
		       path, knobs);
	}
	if (!list_len(pats))
		printf("(no adoption patterns)\n");
}

static void print_tenants(struct json_object *tenants)
{
	char name[80], weight[24], cpu[24], mem[16], share[24];
	struct json_object *e, *a;
	uint64_t mc;
	double d;

	printf("\n%-16s %-8s %-8s %-10s %s\n", "TENANT", "WEIGHT", "CPU", "MEMORY",
	       "DOMINANT SHARE");
	for (size_t i = 0; i < list_len(tenants); i++) {
		e = json_object_array_get_idx(tenants, i);
		a = jget_obj(e, "allocated");
		fmt_escaped(name, sizeof(name), str_or(e, "name", ""));
		snprintf(weight, sizeof(weight), "-");
		if (jget_double(e, "weight", &d))
			snprintf(weight, sizeof(weight), "%g", d);
		snprintf(cpu, sizeof(cpu), "-");
		if (jget_u64(a, "cpu_mc", &mc))
			fmt_millicpus(cpu, sizeof(cpu), mc);
		fmt_bytes_key(mem, sizeof(mem), a, "memory_bytes");
		snprintf(share, sizeof(share), "-");
		if (jget_double(e, "dominant_share", &d))
			snprintf(share, sizeof(share), "%.1f%%", d * 100);
		printf("%-16s %-8s %-8s %-10s %s\n", name[0] ? name : "(default)", weight, cpu, mem,
		       share);
	}
	if (!list_len(tenants))
		printf("(no tenants yet)\n");
}

/* The control loops: each on or off, its rungs, and who is on which. */
static void print_loops(struct json_object *pols)
{
	struct json_object *cpu = pols ? jget_obj(pols, "cpu") : NULL, *rungs, *on, *v;
	uint64_t u = 0;
	char buf[256];
	size_t off = 0;

	if (!cpu)
		return;
	printf("\nCPU protection ladder: %s",
	       json_object_object_get_ex(cpu, "enabled", &v) && json_object_get_boolean(v) ? "on" :
											     "off");
	if (json_object_object_get_ex(cpu, "adopted", &v) && json_object_get_boolean(v))
		printf(" (adopted guaranteed pods protected too)");
	rungs = jget_array(cpu, "rungs");
	buf[0] = 0;
	for (size_t i = 0; rungs && i < json_object_array_length(rungs) && off < sizeof(buf); i++)
		off += (size_t)snprintf(
			buf + off, sizeof(buf) - off, "%s%s", i ? ", " : "",
			json_object_get_string(json_object_array_get_idx(rungs, i)));
	printf("; rungs: %s\n", buf[0] ? buf : "none");
	if (jget_str(cpu, "note"))
		printf("  %s\n", jget_str(cpu, "note"));
	if (jget_u64(cpu, "target_us", &u))
		printf("  target %" PRIu64
		       " us of run-queue delay per window for guaranteed containers",
		       u);
	if (jget_u64(cpu, "hold_ms", &u))
		printf("; hold %" PRIu64 " ms", u);
	if (jget_u64(cpu, "release_ms", &u))
		printf("; release after %" PRIu64 " ms calm", u);
	printf("\n");
	if (json_object_object_get_ex(cpu, "pressure", &v) && json_object_get_boolean(v))
		printf("  pressure now, from %s\n", jget_str(cpu, "pressure_from"));
	else if (jget_u64(cpu, "calm_ms", &u))
		printf("  no pressure for %" PRIu64 " ms\n", u);
	on = jget_obj(cpu, "on_rungs");
	if (on) {
		json_object_object_foreach(on, name, list)
		{
			for (size_t i = 0; i < json_object_array_length(list); i++)
				printf("  %-8s %s\n", name,
				       json_object_get_string(json_object_array_get_idx(list, i)));
		}
	}
}

/* " adopted pods too" where the loop's "adopted" says so. */
static const char *adopted_too(struct json_object *m)
{
	struct json_object *v;

	return json_object_object_get_ex(m, "adopted", &v) && json_object_get_boolean(v) ?
		       ", adopted pods too" :
		       "";
}

/* The memory loop: on or off (and why), its target, what it sized. */
static void print_memory(struct json_object *pols)
{
	struct json_object *m = pols ? jget_obj(pols, "memory") : NULL, *v, *sized;
	uint64_t t = 0, iv = 0;
	bool on;

	if (!m)
		return;
	on = json_object_object_get_ex(m, "enabled", &v) && json_object_get_boolean(v);
	jget_u64(m, "target_us", &t);
	jget_u64(m, "interval_ms", &iv);
	printf("\nmemory loop: %s%s", on ? "on" : "off", on ? adopted_too(m) : "");
	if (jget_str(m, "note"))
		printf(" (%s)", jget_str(m, "note"));
	printf("; tightens while the stall stays under %" PRIu64 " us a second, every %" PRIu64
	       " ms\n",
	       t, iv);
	sized = jget_array(m, "sized");
	for (size_t i = 0; sized && i < json_object_array_length(sized); i++) {
		struct json_object *e = json_object_array_get_idx(sized, i);
		char high[32];

		fmt_bytes_key(high, sizeof(high), e, "memory_high");
		printf("  sized %s: memory.high %s\n", jget_str(e, "cgroup"), high);
	}
}

/* The memory relief: on or off (and why), kills, what it squeezed. */
static void print_relief(struct json_object *pols)
{
	struct json_object *m = pols ? jget_obj(pols, "memory_relief") : NULL, *v, *sq, *acts;
	uint64_t u = 0;
	bool on;

	if (!m)
		return;
	on = json_object_object_get_ex(m, "enabled", &v) && json_object_get_boolean(v);
	printf("\nmemory relief: %s%s", on ? "on" : "off", on ? adopted_too(m) : "");
	if (jget_str(m, "note"))
		printf(" (%s)", jget_str(m, "note"));
	printf("; kills %s",
	       json_object_object_get_ex(m, "kill", &v) && json_object_get_boolean(v) ? "on" :
											"off");
	if (jget_str(m, "protected") && jget_str(m, "protected")[0])
		printf("; protected: %s", jget_str(m, "protected"));
	printf("\n");
	if (jget_u64(m, "psi_triggers", &u))
		printf("  %" PRIu64 " PSI triggers on guaranteed containers\n", u);
	if (json_object_object_get_ex(m, "pressure", &v) && json_object_get_boolean(v))
		printf("  pressure now, from %s\n", jget_str(m, "pressure_from"));
	if (jget_str(m, "last_decision") && jget_str(m, "last_decision")[0])
		printf("  last decision: %s\n", jget_str(m, "last_decision"));
	acts = jget_obj(m, "actions");
	if (acts) {
		uint64_t a = 0, b = 0, c = 0;

		jget_u64(acts, "squeeze", &a);
		jget_u64(acts, "kill", &b);
		jget_u64(acts, "release", &c);
		printf("  squeezes %" PRIu64 ", kills %" PRIu64 ", given back %" PRIu64 "\n", a, b,
		       c);
	}
	sq = jget_array(m, "squeezed");
	for (size_t i = 0; sq && i < json_object_array_length(sq); i++)
		printf("  squeezed %s\n", json_object_get_string(json_object_array_get_idx(sq, i)));
}

/* The I/O loop: on or off (and why), its target, the caps in force. */
static void print_io(struct json_object *pols)
{
	struct json_object *m = pols ? jget_obj(pols, "io") : NULL, *v, *caps, *acts;
	uint64_t t = 0;
	bool on;

	if (!m)
		return;
	on = json_object_object_get_ex(m, "enabled", &v) && json_object_get_boolean(v);
	jget_u64(m, "target_us", &t);
	printf("\nI/O loop: %s%s", on ? "on" : "off", on ? adopted_too(m) : "");
	if (jget_str(m, "note"))
		printf(" (%s)", jget_str(m, "note"));
	printf("; guaranteed target %" PRIu64 " us per request\n", t);
	if (json_object_object_get_ex(m, "pressure", &v) && json_object_get_boolean(v))
		printf("  pressure now, from %s\n", jget_str(m, "pressure_from"));
	acts = jget_obj(m, "actions");
	if (acts) {
		uint64_t a = 0, b = 0, c = 0;

		jget_u64(acts, "tighten", &a);
		jget_u64(acts, "relax", &b);
		jget_u64(acts, "lift", &c);
		printf("  caps tightened %" PRIu64 ", relaxed %" PRIu64 ", lifted %" PRIu64 "\n", a,
		       b, c);
	}
	caps = jget_array(m, "capped");
	for (size_t i = 0; caps && i < json_object_array_length(caps); i++) {
		struct json_object *e = json_object_array_get_idx(caps, i);
		uint64_t bps = 0, iops = 0;

		jget_u64(e, "bps", &bps);
		jget_u64(e, "iops", &iops);
		printf("  capped %s on %s: %" PRIu64 " B/s, %" PRIu64 " IO/s\n",
		       jget_str(e, "cgroup"), jget_str(e, "device"), bps, iops);
	}
}

static int do_show(int argc, char **argv)
{
	struct json_object *req, *reply = NULL;
	int r;

	NO_MORE_ARGS();
	req = json_object_new_object();
	if (!req)
		return p_err("out of memory");
	json_object_object_add(req, "op", json_object_new_string("policy.show"));
	r = cli_call(req, CLI_TIMEOUT_MS, &reply);
	json_object_put(req);
	if (r != CLI_OK)
		return r;
	if (!json_print_reply(reply)) {
		print_settings(reply);
		print_classes(jget_obj(reply, "classes"));
		print_adoption(jget_array(reply, "adoption"));
		print_tenants(jget_array(reply, "tenants"));
		print_loops(jget_obj(reply, "policies"));
		print_memory(jget_obj(reply, "policies"));
		print_relief(jget_obj(reply, "policies"));
		print_io(jget_obj(reply, "policies"));
	}
	json_object_put(reply);
	return CLI_OK;
}

int do_policy(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "show", do_show },
		{ "help", do_help },
		{ NULL, NULL },
	};

	return cmd_select(cmds, argc, argv, usage);
}
