// SPDX-License-Identifier: Apache-2.0
/*
 * cgpilot container { list | show | admit | update | release | cancel | kill }:
 * the daemon's containers (container.* ops), with requests and limits given as
 * bpftool-style keywords: `admit class burstable cpus 0.5 memory 64M name web`.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgpilot.h"
#include "client.h"
#include "config.h"
#include "log.h"
#include "output.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s container { list | help }\n"
		"       %s container show CTR\n"
		"       %s container admit [ class CLASS ] [ SPEC ]... [ name NAME ] [ path PATH ]\n"
		"                          [ tenant TENANT ] [ wait ]\n"
		"       %s container update CTR SPEC...\n"
		"       %s container release CTR [ kill ]\n"
		"       %s container cancel CTR\n"
		"       %s container kill CTR [ signal SIG ]\n"
		"\n"
		"       CTR := { ID | name NAME }\n"
		"       CLASS := { guaranteed | burstable | besteffort }  (default burstable)\n"
		"       SPEC := { cpus CPUS | cpu-limit CPUS | memory SIZE | memory-limit SIZE |\n"
		"                 io-weight 1..10000 | priority -1000..1000 }\n"
		"       CPUS := CPUs, up to 3 decimals (0.5, 2), or millicores (500m)\n"
		"       SIZE := bytes, or a number with K, M, G or T (powers of 1024)\n"
		"       SIG := a number or a name (TERM, SIGHUP, ...); default KILL\n"
		"       OPTIONS := { -j | -p | -v | --socket PATH }\n"
		"\n"
		"cpus and memory are the request, cpu-limit and memory-limit the limit:\n"
		"  guaranteed  request = limit, both needed (a limit left out is the request,\n"
		"              one that differs is refused); whole CPUs get exclusive cores.\n"
		"  burstable   the request is reserved on the node; the limit is optional\n"
		"              and at least the request.\n"
		"  besteffort  the request is admitted against slack (what the node measures\n"
		"              unused), not reserved; the limit is optional.\n"
		"Limits need their controller (node show lists the enforceable ones); a\n"
		"request without one is admitted and listed as not enforced.\n"
		"\n"
		"list:    every container: id, name, kind, state, class, CPU and memory\n"
		"         (request/limit), its CPUs (exclusive, or the shared pool), cgroup.\n"
		"         'container' alone is 'container list'.\n"
		"show:    one container in detail, with the knobs written and their history.\n"
		"admit:   asks for a new container; its cgroup is <root>/<class>/<name>, or\n"
		"         with 'path' an engine's cgroup below an engine root (kind runtime).\n"
		"         With 'wait', a request that does not fit now is queued and the\n"
		"         command waits until it is admitted, refused or cancelled.\n"
		"update:  changes requests and limits (not the class or exclusive CPUs).\n"
		"release: removes the container and its cgroup; 'kill' kills its processes.\n"
		"cancel:  withdraws a queued request.\n"
		"kill:    signals every process in the container.\n"
		"Exit status 3: the admission was refused (or a queued one cancelled).\n",
		bin_name, bin_name, bin_name, bin_name, bin_name, bin_name, bin_name);
}

static int do_help(int argc, char **argv)
{
	usage(stdout);
	return CLI_OK;
}

/* ---- arguments ---- */

/* CPUs as millicores (cgp_parse_cpus), with the keyword in the message. */
static int parse_cpus(const char *kw, const char *s, uint64_t *ret_mc)
{
	int r;

	if (*s == '-')
		return p_usage("%s '%s': must not be negative", kw, s);
	r = cgp_parse_cpus(s, ret_mc);
	if (r == -ERANGE)
		return p_usage("%s '%s' is too large", kw, s);
	if (r)
		return p_usage("%s '%s' is not a number of CPUs (like 0.5, 2 or 500m; at most "
			       "3 decimals)",
			       kw, s);
	return CLI_OK;
}

static int parse_size_arg(const char *kw, const char *s, uint64_t *ret)
{
	int r = cgp_parse_size(s, ret);

	if (r == -ERANGE)
		return p_usage("%s '%s' is too large", kw, s);
	if (r)
		return p_usage("%s '%s' is not a size: bytes, or a number with K, M, G or T", kw,
			       s);
	return CLI_OK;
}

static int parse_int(const char *kw, const char *s, long lo, long hi, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi)
		return p_usage("%s '%s': an integer from %ld to %ld", kw, s, lo, hi);
	*ret = v;
	return CLI_OK;
}

static int parse_id(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v == 0)
		return p_usage("container id '%s' is not a number (or give 'name NAME')", s);
	*ret = v;
	return CLI_OK;
}

static struct json_object *new_request(const char *op)
{
	struct json_object *req = json_object_new_object();

	if (req)
		json_object_object_add(req, "op", json_object_new_string(op));
	return req;
}

/* The id of the one container called @name, from container.list. */
static int resolve_name(const char *name, uint64_t *ret_id)
{
	struct json_object *req = new_request("container.list"), *reply = NULL, *list, *k;
	const char *kn;
	uint64_t id = 0, kid;
	unsigned found = 0;
	char ids[128] = "";
	size_t off = 0;
	int r;

	if (!req)
		return p_err("out of memory");
	r = cli_call(req, CLI_TIMEOUT_MS, &reply);
	json_object_put(req);
	if (r != CLI_OK)
		return r;
	list = jget_array(reply, "containers");
	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		k = json_object_array_get_idx(list, i);
		kn = jget_str(k, "name");
		if (!kn || !streq(kn, name) || !jget_u64(k, "id", &kid))
			continue;
		id = kid;
		found++;
		if (off < sizeof(ids))
			off += (size_t)snprintf(ids + off, sizeof(ids) - off, "%s%" PRIu64,
						off ? ", " : "", kid);
	}
	json_object_put(reply);
	if (found == 0)
		return p_err("no container is named '%s' (container list shows them)", name);
	if (found > 1)
		return p_err("%u containers are named '%s' (ids %s): give the id", found, name,
			     ids);
	*ret_id = id;
	return CLI_OK;
}

/* CTR := { ID | name NAME }, taken off the front of the arguments. */
static int parse_ctr(int *argc, char ***argv, uint64_t *ret_id)
{
	int r;

	if (*argc < 1)
		return p_usage("expected a container: its id, or 'name NAME'");
	if (streq((*argv)[0], "name")) {
		if (*argc < 2)
			return p_usage("'name' needs a container name");
		r = resolve_name((*argv)[1], ret_id);
		*argc -= 2;
		*argv += 2;
		return r;
	}
	r = parse_id((*argv)[0], ret_id);
	(*argc)--;
	(*argv)++;
	return r;
}

static const char *const admit_words[] = {
	"class", "cpus", "cpu-limit", "memory",	  "memory-limit", "io-weight",
	"name",	 "path", "tenant",    "priority", "wait",	  NULL,
};
static const char *const update_words[] = {
	"cpus", "cpu-limit", "memory", "memory-limit", "io-weight", "priority", NULL,
};
static const char *const class_words[] = { "guaranteed", "burstable", "besteffort", NULL };

/* The request's member for keyword @kw. */
static const char *spec_key(const char *kw)
{
	static const char *const keys[][2] = {
		{ "cpus", "cpu_request_mc" },	{ "cpu-limit", "cpu_limit_mc" },
		{ "memory", "memory_request" }, { "memory-limit", "memory_limit" },
		{ "io-weight", "io_weight" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (streq(kw, keys[i][0]))
			return keys[i][1];
	return kw;
}

static int add_value(struct json_object *req, const char *kw, const char *val)
{
	const char *key = spec_key(kw);
	struct json_object *v = NULL;
	/* set by the parse_*() that returns CLI_OK */
	uint64_t u = 0;
	long l = 0;
	int r;

	if (json_object_object_get_ex(req, key, NULL))
		return p_usage("'%s' given twice", kw);
	if (streq(kw, "cpus") || streq(kw, "cpu-limit")) {
		r = parse_cpus(kw, val, &u);
		v = r == CLI_OK ? json_object_new_uint64(u) : NULL;
	} else if (streq(kw, "memory") || streq(kw, "memory-limit")) {
		r = parse_size_arg(kw, val, &u);
		v = r == CLI_OK ? json_object_new_uint64(u) : NULL;
	} else if (streq(kw, "io-weight")) {
		r = parse_int(kw, val, 1, 10000, &l);
		v = r == CLI_OK ? json_object_new_int64(l) : NULL;
	} else if (streq(kw, "priority")) {
		r = parse_int(kw, val, -1000, 1000, &l);
		v = r == CLI_OK ? json_object_new_int64(l) : NULL;
	} else if (streq(kw, "class")) {
		int i = match_word(val, class_words);

		if (i == -EEXIST)
			return p_usage("ambiguous class '%s' (guaranteed, burstable or besteffort)",
				       val);
		if (i < 0)
			return p_usage("unknown class '%s' (guaranteed, burstable or besteffort)",
				       val);
		r = CLI_OK;
		v = json_object_new_string(class_words[i]);
	} else {
		/* name, path, tenant: the daemon checks them */
		if (!*val)
			return p_usage("'%s' needs a value", kw);
		r = CLI_OK;
		v = json_object_new_string(val);
		if (streq(kw, "path"))
			json_object_object_add(req, "kind", json_object_new_string("runtime"));
	}
	if (r != CLI_OK)
		return r;
	if (!v)
		return p_err("out of memory");
	json_object_object_add(req, key, v);
	return CLI_OK;
}

/* Keywords and values into @req; @words says which are allowed. */
static int parse_spec_args(int argc, char **argv, const char *const *words, struct json_object *req)
{
	const char *kw;
	int i, r;

	while (argc > 0) {
		i = match_word(argv[0], words);
		if (i < 0) {
			char list[256];
			size_t off = 0;

			list[0] = '\0';
			for (int k = 0; words[k] && off < sizeof(list); k++)
				if (i == -ENOENT || is_prefix(argv[0], words[k]))
					off += (size_t)snprintf(list + off, sizeof(list) - off,
								"%s%s", off ? ", " : "", words[k]);
			if (i == -EEXIST)
				return p_usage("ambiguous keyword '%s': %s", argv[0], list);
			return p_usage("unknown keyword '%s' (expected %s)", argv[0], list);
		}
		kw = words[i];
		NEXT_ARG();
		if (streq(kw, "wait")) {
			if (json_object_object_get_ex(req, "wait", NULL))
				return p_usage("'wait' given twice");
			json_object_object_add(req, "wait", json_object_new_boolean(true));
			continue;
		}
		if (argc < 1)
			return p_usage("'%s' needs a value", kw);
		r = add_value(req, kw, argv[0]);
		if (r != CLI_OK)
			return r;
		NEXT_ARG();
	}
	return CLI_OK;
}

/* ---- printing ---- */

/* "0.5" or "-" for a missing or zero (no limit) value. */
static void fmt_mc(char *buf, size_t size, struct json_object *res, bool zero_is_none)
{
	uint64_t mc;

	if (!jget_u64(res, "cpu_mc", &mc) || (zero_is_none && !mc))
		snprintf(buf, size, "-");
	else
		fmt_millicpus(buf, size, mc);
}

static void fmt_mem(char *buf, size_t size, struct json_object *res, bool zero_is_none)
{
	uint64_t b;

	if (!jget_u64(res, "memory_bytes", &b) || (zero_is_none && !b))
		snprintf(buf, size, "-");
	else
		fmt_bytes(buf, size, (double)b);
}

/* An exclusive CPU list, or "shared". */
static void fmt_ctr_cpus(char *buf, size_t size, struct json_object *k)
{
	struct json_object *v;

	if (json_object_object_get_ex(k, "cpus", &v) && json_object_is_type(v, json_type_string))
		fmt_escaped(buf, size, json_object_get_string(v));
	else
		fmt_cpulist(buf, size, jget_array(k, "cpus"));
}

static const char *str_or(struct json_object *o, const char *key, const char *dflt)
{
	const char *s = jget_str(o, key);

	return s && *s ? s : dflt;
}

static void print_list(struct json_object *list)
{
	char id[24], name[80], req[16], lim[16], mreq[16], mlim[16], cpu[40], mem[40], cpus[64];
	char when[16];
	struct json_object *k;
	double age;

	printf("%-4s %-16s %-8s %-8s %-10s %-11s %-17s %-8s %-7s %s\n", "ID", "NAME", "KIND",
	       "STATE", "CLASS", "CPU", "MEMORY", "CPUS", "AGE", "CGROUP");
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		k = json_object_array_get_idx(list, i);
		fmt_u64_key(id, sizeof(id), k, "id");
		fmt_escaped(name, sizeof(name), str_or(k, "name", "-"));
		fmt_mc(req, sizeof(req), jget_obj(k, "requests"), false);
		fmt_mc(lim, sizeof(lim), jget_obj(k, "limits"), true);
		fmt_mem(mreq, sizeof(mreq), jget_obj(k, "requests"), false);
		fmt_mem(mlim, sizeof(mlim), jget_obj(k, "limits"), true);
		snprintf(cpu, sizeof(cpu), "%s/%s", req, lim);
		snprintf(mem, sizeof(mem), "%s/%s", mreq, mlim);
		fmt_ctr_cpus(cpus, sizeof(cpus), k);
		if (jget_double(k, "age_s", &age))
			fmt_duration(when, sizeof(when), age * 1e9);
		else
			snprintf(when, sizeof(when), "-");
		printf("%-4s %-16s %-8s %-8s %-10s %-11s %-17s %-8s %-7s ", id, name,
		       str_or(k, "kind", "-"), str_or(k, "state", "-"), str_or(k, "class", "-"),
		       cpu, mem, cpus, when);
		print_escaped(stdout, str_or(k, "cgroup", "-"));
		putchar('\n');
	}
}

/* The words of a JSON array joined by spaces, or @none. */
static void print_words(struct json_object *list, const char *none)
{
	struct json_object *v;
	size_t n = list ? json_object_array_length(list) : 0;

	if (!n)
		fputs(none, stdout);
	for (size_t i = 0; i < n; i++) {
		v = json_object_array_get_idx(list, i);
		if (i)
			putchar(' ');
		print_escaped(stdout, v ? json_object_get_string(v) : "?");
	}
	putchar('\n');
}

static void print_field(const char *label, const char *value)
{
	printf("  %-14s", label);
	print_escaped(stdout, value);
	putchar('\n');
}

/* The lines admit, update and show share: state, class, resources. */
static void print_summary(struct json_object *k)
{
	char req[16], lim[16], buf[96], cpus[64], when[16];
	struct json_object *rq = jget_obj(k, "requests"), *lm = jget_obj(k, "limits"), *v;
	uint64_t u;
	double left;

	snprintf(buf, sizeof(buf), "%s", str_or(k, "state", "-"));
	if (jget_double(k, "start_deadline_s", &left)) {
		fmt_duration(when, sizeof(when), left * 1e9);
		snprintf(buf, sizeof(buf), "%s, released unless a process joins within %s",
			 str_or(k, "state", "-"), when);
	}
	printf("  %-14s%s\n", "state", buf);
	printf("  %-14s%s, %s", "class", str_or(k, "class", "-"), str_or(k, "kind", "-"));
	if (jget_str(k, "tenant") && *jget_str(k, "tenant")) {
		printf(", tenant ");
		print_escaped(stdout, jget_str(k, "tenant"));
	}
	if (json_object_object_get_ex(k, "priority", &v))
		printf(", priority %d", json_object_get_int(v));
	putchar('\n');
	printf("  %-14s", "cgroup");
	print_escaped(stdout, str_or(k, "cgroup", "-"));
	if (jget_u64(k, "cgroup_id", &u))
		printf(" (id %" PRIu64 ")", u);
	putchar('\n');
	fmt_mc(req, sizeof(req), rq, false);
	fmt_mc(lim, sizeof(lim), lm, true);
	printf("  %-14srequest %s, limit %s\n", "cpu", req, streq(lim, "-") ? "none" : lim);
	fmt_mem(req, sizeof(req), rq, false);
	fmt_mem(lim, sizeof(lim), lm, true);
	printf("  %-14srequest %s, limit %s\n", "memory", req, streq(lim, "-") ? "none" : lim);
	fmt_u64_key(buf, sizeof(buf), k, "io_weight");
	printf("  %-14s%s\n", "io weight", buf);
	fmt_ctr_cpus(cpus, sizeof(cpus), k);
	printf("  %-14s%s", "cpus", cpus);
	fmt_cpulist(buf, sizeof(buf), jget_array(k, "mems"));
	printf("%s%s\n", streq(buf, "-") ? "" : ", memory nodes ", streq(buf, "-") ? "" : buf);
	if (jget_u64(k, "pid", &u)) {
		printf("  %-14spid %" PRIu64, "process", u);
		if (jget_str(k, "command")) {
			printf(": ");
			print_escaped(stdout, jget_str(k, "command"));
		}
		putchar('\n');
	}
	if (jget_double(k, "age_s", &left)) {
		fmt_duration(when, sizeof(when), left * 1e9);
		printf("  %-14s%s (since %s)\n", "age", when,
		       streq(str_or(k, "state", ""), "running") ? "it started" : "admission");
	}
	if (jget_array(k, "unenforced") && json_object_array_length(jget_array(k, "unenforced"))) {
		printf("  %-14s", "not enforced");
		print_words(jget_array(k, "unenforced"), "");
	}
}

static void print_head(const char *what, struct json_object *k)
{
	char id[24];

	fmt_u64_key(id, sizeof(id), k, "id");
	printf("%scontainer %s (", what, id);
	print_escaped(stdout, str_or(k, "name", "?"));
	printf(")\n");
}

static void fmt_wall(char *buf, size_t size, struct json_object *e)
{
	struct tm tm;
	uint64_t ns;
	time_t sec;

	if (!jget_u64(e, "time_ns", &ns) || !ns) {
		snprintf(buf, size, "-");
		return;
	}
	sec = (time_t)(ns / 1000000000);
	localtime_r(&sec, &tm);
	if (!strftime(buf, size, "%F %T", &tm))
		buf[0] = '\0';
	snprintf(buf + strlen(buf), size - strlen(buf), ".%03d", (int)(ns % 1000000000 / 1000000));
}

static void print_history(struct json_object *hist)
{
	struct json_object *e;
	char when[32], knob[64];
	size_t n = hist ? json_object_array_length(hist) : 0;

	printf("  %s%s\n", n ? "history" : "history       ", n ? "" : "none");
	for (size_t i = 0; i < n; i++) {
		e = json_object_array_get_idx(hist, i);
		fmt_wall(when, sizeof(when), e);
		fmt_escaped(knob, sizeof(knob), str_or(e, "knob", "?"));
		printf("    %s  %-13s ", when, knob);
		print_escaped(stdout, str_or(e, "old", "-"));
		printf(" -> ");
		print_escaped(stdout, str_or(e, "new", "-"));
		printf("  %s  ", str_or(e, "status", "?"));
		print_escaped(stdout, str_or(e, "reason", ""));
		putchar('\n');
	}
}

static void print_detail(struct json_object *k)
{
	struct json_object *written = jget_obj(k, "written"), *v;
	char buf[64];
	bool any = false;
	uint64_t pid;

	print_head("", k);
	print_summary(k);
	if (jget_u64(k, "pid", &pid)) {
		snprintf(buf, sizeof(buf), "%" PRIu64, pid);
		printf("  %-14s%s", "pid", buf);
		if (jget_str(k, "command")) {
			printf(" (");
			print_escaped(stdout, jget_str(k, "command"));
			printf(")");
		}
		putchar('\n');
	}
	if (jget_str(k, "pattern")) {
		printf("  %-14spattern ", "adopted");
		print_escaped(stdout, jget_str(k, "pattern"));
		printf(", engine ");
		print_escaped(stdout, str_or(k, "engine", "?"));
		printf(", cgpilot writes: ");
		print_words(jget_array(k, "knobs"), "nothing");
	}
	if (jget_str(k, "pod_uid"))
		print_field("pod uid", jget_str(k, "pod_uid"));
	if (json_object_object_get_ex(k, "backed_off", &v) && json_object_get_boolean(v)) {
		char b[128];

		snprintf(b, sizeof(b), "yes: another writer changed %s; left alone",
			 jget_str(k, "external_knob") ? jget_str(k, "external_knob") : "its knobs");
		print_field("backed off", b);
	}
	if (json_object_object_get_ex(k, "dry_run", &v) && json_object_get_boolean(v))
		print_field("dry run", "yes: knobs are logged, not written");
	if (json_object_object_get_ex(k, "releasing", &v) && json_object_get_boolean(v))
		print_field("releasing", "yes: killed, released when its cgroup is empty");
	printf("  %-14s", "written");
	if (written) {
		json_object_object_foreach(written, knob, val)
		{
			printf("%s", any ? "\n                " : "");
			print_escaped(stdout, knob);
			printf(" = ");
			print_escaped(stdout, json_object_get_string(val));
			any = true;
		}
	}
	printf("%s\n", any ? "" : "nothing");
	print_history(jget_array(k, "history"));
}

/* ---- commands ---- */

static void print_admitted(struct json_object *k, const char *what)
{
	print_head(what, k);
	print_summary(k);
}

/* A reply with "error": printed (in JSON mode as the daemon sent it). */
static int print_refusal(struct json_object *reply, const char *what)
{
	const char *kind = jget_str(reply, "refused"), *err = jget_str(reply, "error");

	if (json_output) {
		json_print(reply);
		return CLI_REFUSED;
	}
	fflush(stdout);
	if (kind)
		fprintf(stderr, "Error: %s (%s): %s\n", what, kind, err);
	else
		fprintf(stderr, "Error: %s: %s\n", what, err);
	return CLI_REFUSED;
}

/* A reply that is neither an error nor ok. */
static int bad_reply(void)
{
	return p_err("cgpilotd at %s sent a reply with neither \"ok\" nor \"error\"", socket_path);
}

static bool is_ok(struct json_object *reply)
{
	struct json_object *v;

	return json_object_object_get_ex(reply, "ok", &v) && json_object_get_boolean(v);
}

/*
 * One request; its reply printed as JSON or by @print (which may be NULL). An
 * error that contains @when (if not NULL) is followed by @hint.
 */
static int call_hint(struct json_object *req, void (*print)(struct json_object *reply, void *ud),
		     void *ud, const char *when, const char *hint)
{
	struct json_object *reply = NULL;
	struct client *c = NULL;
	const char *err;
	int r;

	if (!req)
		return p_err("out of memory");
	r = cli_connect(&c);
	if (r == CLI_OK) {
		log_debug("request: %s",
			  json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
		r = client__call(c, req, CLI_TIMEOUT_MS, &reply);
		r = r < 0 ? cli_report_client_error(r) : CLI_OK;
	}
	json_object_put(req);
	client__free(c);
	if (r != CLI_OK)
		return r;
	err = jget_str(reply, "error");
	if (err && when && strstr(err, when))
		r = p_err("%s%s", err, hint);
	else if (err)
		r = cli_daemon_error(err);
	else if (!is_ok(reply))
		r = bad_reply();
	else if (!json_print_reply(reply) && print)
		print(reply, ud);
	json_object_put(reply);
	return r;
}

static int call_print(struct json_object *req, void (*print)(struct json_object *reply, void *ud),
		      void *ud)
{
	return call_hint(req, print, ud, NULL, NULL);
}

static void print_list_reply(struct json_object *reply, void *ud)
{
	struct json_object *list = jget_array(reply, "containers");

	if (list)
		print_list(list);
}

static int do_list(int argc, char **argv)
{
	NO_MORE_ARGS();
	return call_print(new_request("container.list"), print_list_reply, NULL);
}

static void print_show_reply(struct json_object *reply, void *ud)
{
	struct json_object *k = jget_obj(reply, "container");

	if (k)
		print_detail(k);
}

/* A request naming one container: "op" and "id". */
static int id_request(const char *op, int *argc, char ***argv, struct json_object **ret_req)
{
	struct json_object *req;
	uint64_t id = 0;
	int r;

	r = parse_ctr(argc, argv, &id);
	if (r != CLI_OK)
		return r;
	req = new_request(op);
	if (!req)
		return p_err("out of memory");
	json_object_object_add(req, "id", json_object_new_uint64(id));
	*ret_req = req;
	return CLI_OK;
}

static int do_show(int argc, char **argv)
{
	struct json_object *req = NULL;
	int r;

	r = id_request("container.show", &argc, &argv, &req);
	if (r != CLI_OK)
		return r;
	if (argc > 0) {
		json_object_put(req);
		return p_usage("unexpected argument '%s'", argv[0]);
	}
	return call_print(req, print_show_reply, NULL);
}

/*
 * container.admit on its own connection: with "wait", a first reply may say
 * "queued", and the verdict comes later on the same connection. Closing it
 * (the command interrupted) withdraws the queued request.
 */
static int admit(struct json_object *req)
{
	struct json_object *reply = NULL, *k, *v;
	struct client *c = NULL;
	uint64_t id = 0;
	int r;

	r = cli_connect(&c);
	if (r != CLI_OK)
		return r;
	log_debug("request: %s", json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
	r = client__send(c, req);
	if (!r)
		r = client__recv(c, CLI_TIMEOUT_MS, &reply);
	if (r < 0)
		goto client_error;
	log_debug("reply: %s", json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));
	if (jget_str(reply, "error") && !jget_str(reply, "refused")) {
		/* not a verdict on the request: no permission, a malformed field */
		r = cli_daemon_error(jget_str(reply, "error"));
		goto out;
	}
	if (jget_str(reply, "error")) {
		r = print_refusal(reply, "admission refused");
		goto out;
	}
	if (!is_ok(reply)) {
		r = bad_reply();
		goto out;
	}
	if (json_object_object_get_ex(reply, "queued", &v) && json_object_get_boolean(v)) {
		k = jget_obj(reply, "container");
		jget_u64(k, "id", &id);
		if (json_output) {
			json_object_object_del(reply, "ok");
			json_print(reply);
		} else {
			fprintf(stderr, "queued: %s (id %" PRIu64 "); waiting\n",
				str_or(reply, "reason", "no room now"), id);
		}
		json_object_put(reply);
		reply = NULL;
		r = client__recv(c, -1, &reply);
		if (r < 0)
			goto client_error;
		log_debug("reply: %s",
			  json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));
		if (jget_str(reply, "error")) {
			r = print_refusal(reply, "not admitted");
			goto out;
		}
		if (!is_ok(reply)) {
			r = bad_reply();
			goto out;
		}
	}
	k = jget_obj(reply, "container");
	if (!json_print_reply(reply) && k)
		print_admitted(k, "admitted: ");
	r = CLI_OK;
	goto out;

client_error:
	r = cli_report_client_error(r);
out:
	json_object_put(reply);
	client__free(c);
	return r;
}

static int do_admit(int argc, char **argv)
{
	struct json_object *req = new_request("container.admit");
	int r;

	if (!req)
		return p_err("out of memory");
	r = parse_spec_args(argc, argv, admit_words, req);
	if (r == CLI_OK)
		r = admit(req);
	json_object_put(req);
	return r;
}

static void print_updated(struct json_object *reply, void *ud)
{
	struct json_object *k = jget_obj(reply, "container");

	if (k)
		print_admitted(k, "updated: ");
}

static int do_update(int argc, char **argv)
{
	struct json_object *req = NULL;
	int r;

	r = id_request("container.update", &argc, &argv, &req);
	if (r != CLI_OK)
		return r;
	if (argc < 1) {
		json_object_put(req);
		return p_usage("nothing to update: give cpus, cpu-limit, memory, memory-limit, "
			       "io-weight or priority");
	}
	r = parse_spec_args(argc, argv, update_words, req);
	if (r != CLI_OK) {
		json_object_put(req);
		return r;
	}
	return call_print(req, print_updated, NULL);
}

struct done {
	uint64_t id;
	const char *verb;
};

static void print_done(struct json_object *reply, void *ud)
{
	const struct done *d = ud;
	struct json_object *v;

	if (json_object_object_get_ex(reply, "releasing", &v) && json_object_get_boolean(v))
		printf("container %" PRIu64 ": its processes are killed; it is released when its "
		       "cgroup is empty\n",
		       d->id);
	else
		printf("container %" PRIu64 " %s\n", d->id, d->verb);
}

static int do_release(int argc, char **argv)
{
	struct json_object *req = NULL;
	struct done d = { .verb = "released" };
	char hint[96];
	int r;

	r = id_request("container.release", &argc, &argv, &req);
	if (r != CLI_OK)
		return r;
	if (argc > 0 && is_prefix(argv[0], "kill")) {
		json_object_object_add(req, "kill", json_object_new_boolean(true));
		NEXT_ARG();
	}
	if (argc > 0) {
		json_object_put(req);
		return p_usage("unexpected argument '%s' (only 'kill' may follow)", argv[0]);
	}
	jget_u64(req, "id", &d.id);
	snprintf(hint, sizeof(hint), " ('%s container release %" PRIu64 " kill' does that)",
		 bin_name, d.id);
	return call_hint(req, print_done, &d, "still has processes", hint);
}

static int do_cancel(int argc, char **argv)
{
	struct json_object *req = NULL;
	struct done d = { .verb = "cancelled" };
	int r;

	r = id_request("container.cancel", &argc, &argv, &req);
	if (r != CLI_OK)
		return r;
	if (argc > 0) {
		json_object_put(req);
		return p_usage("unexpected argument '%s'", argv[0]);
	}
	jget_u64(req, "id", &d.id);
	return call_print(req, print_done, &d);
}

/* A signal number, or its name with or without "SIG". */
static int parse_signal(const char *s, int *ret)
{
	const char *name = strncasecmp(s, "SIG", 3) ? s : s + 3;
	long v = 0; /* set when parse_int() returns CLI_OK */

	if (*s >= '0' && *s <= '9') {
		if (parse_int("signal", s, 1, 64, &v) != CLI_OK)
			return CLI_USAGE;
		*ret = (int)v;
		return CLI_OK;
	}
	for (int i = 1; i < NSIG; i++) {
		const char *abbrev = sigabbrev_np(i);

		if (abbrev && !strcasecmp(abbrev, name)) {
			*ret = i;
			return CLI_OK;
		}
	}
	return p_usage("signal '%s' is not a signal number (1..64) or name (TERM, HUP, ...)", s);
}

struct killed {
	uint64_t id;
	int sig;
};

static void print_killed(struct json_object *reply, void *ud)
{
	const struct killed *kd = ud;
	const char *abbrev = sigabbrev_np(kd->sig);
	uint64_t n;

	if (jget_u64(reply, "signalled", &n))
		printf("container %" PRIu64 ": SIG%s sent to %" PRIu64 " process%s\n", kd->id,
		       abbrev ? abbrev : "?", n, n == 1 ? "" : "es");
	else
		printf("container %" PRIu64 ": killed (cgroup.kill)\n", kd->id);
}

static int do_kill(int argc, char **argv)
{
	struct killed kd = { .sig = SIGKILL };
	struct json_object *req = NULL;
	int r;

	r = id_request("container.kill", &argc, &argv, &req);
	if (r != CLI_OK)
		return r;
	if (argc > 0 && is_prefix(argv[0], "signal")) {
		if (argc < 2) {
			json_object_put(req);
			return p_usage("'signal' needs a signal number or name");
		}
		r = parse_signal(argv[1], &kd.sig);
		if (r != CLI_OK) {
			json_object_put(req);
			return r;
		}
		json_object_object_add(req, "signal", json_object_new_int(kd.sig));
		NEXT_ARG();
		NEXT_ARG();
	}
	if (argc > 0) {
		json_object_put(req);
		return p_usage("unexpected argument '%s' (only 'signal SIG' may follow)", argv[0]);
	}
	jget_u64(req, "id", &kd.id);
	return call_print(req, print_killed, &kd);
}

int do_container(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "list", do_list },	 { "show", do_show },	    { "admit", do_admit },
		{ "update", do_update }, { "release", do_release }, { "cancel", do_cancel },
		{ "kill", do_kill },	 { "help", do_help },	    { NULL, NULL },
	};

	return cmd_select(cmds, argc, argv, usage);
}
