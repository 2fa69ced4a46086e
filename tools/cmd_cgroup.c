// SPDX-License-Identifier: Apache-2.0
/* cgpilot cgroup { list | show CGROUP | tree [CGROUP] | why CGROUP | threshold CGROUP }: the
 * daemon's model of observed cgroups, who they belong to, their subtrees'
 * sums, and what its control loops did to them and why. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgpilot.h"
#include "output.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s cgroup { list | help }\n"
		"       %s cgroup show { CGROUP | id ID | path PATH }\n"
		"       %s cgroup tree [ CGROUP ] [ depth N ] [ all ]\n"
		"       %s cgroup why { CGROUP | id ID | path PATH }\n"
		"       %s cgroup threshold { CGROUP | id ID | path PATH } [ SIGNAL VALUE ]...\n"
		"\n"
		"       CGROUP := { PATH | ID }\n"
		"       PATH := path relative to the cgroup v2 mount (the root is /), or the\n"
		"               full path under it (/sys/fs/cgroup/...)\n"
		"       ID := the kernel's cgroup id (the directory's inode number)\n"
		"       SIGNAL := { cpu | memory | io }\n"
		"       VALUE := { DURATION | off }, DURATION as 5ms, 200us, 1.5s\n"
		"       OPTIONS := { -j | -p | -v | --socket PATH }\n"
		"\n"
		"list: every observed cgroup sorted by path; per second over the last interval\n"
		"      the time its tasks waited for a CPU (WAIT/s), stalled in memory reclaim\n"
		"      (RECLAIM/s) and slept in I/O wait (IOWAIT/s), then the totals, and whose\n"
		"      it is (OWNER: container, pod and QoS from the path or cgpilot's books).\n"
		"show: one cgroup's CPU, memory and I/O figures, the kernel's PSI totals, its\n"
		"      thresholds, identity and the histograms of run-queue wait and I/O latency.\n"
		"tree: the hierarchy below CGROUP (default /) with each subtree's sums: its\n"
		"      own tasks' figures and all its descendants'; idle subtrees are left out\n"
		"      unless 'all', and 'depth N' stops N levels down.\n"
		"why:  the actions on a managed container (knob, old and new value, the rung\n"
		"      before and after, the signal with its value and threshold, and whose\n"
		"      pressure it was), its rung now and what would undo it; for a guaranteed\n"
		"      container also the actions taken for it.\n"
		"threshold: sets the onset thresholds (root only): cpu and memory are the run-\n"
		"      queue wait and reclaim stall per onset window, at most 1h; io the time\n"
		"      past which a block request counts, at most 60s; off turns a signal\n"
		"      off. Then prints them; without SIGNAL VALUE it only prints them.\n"
		"A bare number is an id; 'path 1234' names a cgroup called 1234.\n",
		bin_name, bin_name, bin_name, bin_name, bin_name);
}

static int do_help(int argc, char **argv)
{
	usage(stdout);
	return CLI_OK;
}

/*
 * Byte order, except that the root comes first and '/' sorts before any other
 * byte, so that children follow their parent.
 */
static int path_cmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	int root_a = streq(a, "/"), root_b = streq(b, "/");

	if (root_a || root_b)
		return root_b - root_a;
	while (*x && *x == *y) {
		x++;
		y++;
	}
	if (*x == *y)
		return 0;
	if (!*x || !*y)
		return *x ? 1 : -1;
	if (*x == '/' || *y == '/')
		return *x == '/' ? -1 : 1;
	return *x < *y ? -1 : 1;
}

static int brief_cmp(const void *pa, const void *pb)
{
	struct json_object *a = *(struct json_object *const *)pa;
	struct json_object *b = *(struct json_object *const *)pb;
	const char *path_a = jget_str(a, "path"), *path_b = jget_str(b, "path");
	uint64_t id_a = 0, id_b = 0;
	int r;

	r = path_cmp(path_a ? path_a : "", path_b ? path_b : "");
	if (r)
		return r;
	jget_u64(a, "id", &id_a);
	jget_u64(b, "id", &id_b);
	return id_a < id_b ? -1 : id_a > id_b;
}

static void fmt_pressure(char *buf, size_t size, struct json_object *brief)
{
	struct json_object *list = jget_array(brief, "pressure"), *v;
	size_t i, n, off = 0;

	snprintf(buf, size, "-");
	n = list ? json_object_array_length(list) : 0;
	for (i = 0; i < n && off < size; i++) {
		v = json_object_array_get_idx(list, i);
		if (!v || !json_object_is_type(v, json_type_string))
			continue;
		off += (size_t)snprintf(buf + off, size - off, "%s%s", off ? "," : "",
					json_object_get_string(v));
	}
}

/* OWNER: "ctr 4f1c2d3e4f5a pod 0b9e4a6c", "pod 0b9e4a6c burstable", "-". */
static void fmt_owner(char *buf, size_t size, struct json_object *ident)
{
	const char *kind = jget_str(ident, "kind"), *pod = jget_str(ident, "pod_uid");
	const char *ctr = jget_str(ident, "container_id"), *qos = jget_str(ident, "qos");
	char e1[16], e2[16];

	snprintf(buf, size, "-");
	if (ctr) {
		fmt_escaped(e1, 13, ctr); /* 12 characters, as engines abbreviate */
		fmt_escaped(e2, 9, pod ? pod : "");
		snprintf(buf, size, "ctr %s%s%s", e1, pod ? " pod " : "", pod ? e2 : "");
	} else if (pod) {
		fmt_escaped(e2, 9, pod);
		snprintf(buf, size, "pod %s %s", e2, qos ? qos : "");
	} else if (kind && streq(kind, "kubepods")) {
		snprintf(buf, size, "kubepods%s%s", qos ? " " : "", qos ? qos : "");
	}
}

static void print_list(struct json_object *cgroups)
{
	char id[24], rate[3][16], tot[4][16], io[16], pressure[64], owner[48];
	struct json_object *cg;
	const char *path;
	size_t i, n = json_object_array_length(cgroups);

	printf("%-10s %9s %9s %9s %9s %9s %9s %9s %9s %-10s %-29s %s\n", "ID", "WAIT/s",
	       "RECLAIM/s", "IOWAIT/s", "CPU", "WAIT", "RECLAIM", "IOWAIT", "IO", "PRESSURE",
	       "OWNER", "PATH");
	for (i = 0; i < n; i++) {
		cg = json_object_array_get_idx(cgroups, i);
		if (!cg || !json_object_is_type(cg, json_type_object))
			continue;
		fmt_u64_key(id, sizeof(id), cg, "id");
		fmt_rate_key(rate[0], sizeof(rate[0]), cg, "cpu_wait_rate");
		fmt_rate_key(rate[1], sizeof(rate[1]), cg, "reclaim_rate");
		fmt_rate_key(rate[2], sizeof(rate[2]), cg, "iowait_rate");
		fmt_duration_key(tot[0], sizeof(tot[0]), cg, "cpu_ns");
		fmt_duration_key(tot[1], sizeof(tot[1]), cg, "cpu_wait_ns");
		fmt_duration_key(tot[2], sizeof(tot[2]), cg, "reclaim_ns");
		fmt_duration_key(tot[3], sizeof(tot[3]), cg, "iowait_ns");
		fmt_bytes_key(io, sizeof(io), cg, "io_bytes");
		fmt_pressure(pressure, sizeof(pressure), cg);
		fmt_owner(owner, sizeof(owner), jget_obj(cg, "identity"));
		path = jget_str(cg, "path");

		printf("%-10s %9s %9s %9s %9s %9s %9s %9s %9s %-10s %-29s ", id, rate[0], rate[1],
		       rate[2], tot[0], tot[1], tot[2], tot[3], io, pressure, owner);
		print_escaped(stdout, path ? path : "?");
		putchar('\n');
	}
}

static int do_list(int argc, char **argv)
{
	struct json_object *req, *reply = NULL, *cgroups;
	int r;

	NO_MORE_ARGS();

	req = json_object_new_object();
	if (!req)
		return p_err("out of memory");
	json_object_object_add(req, "op", json_object_new_string("cgroup.list"));
	r = cli_call(req, CLI_TIMEOUT_MS, &reply);
	json_object_put(req);
	if (r != CLI_OK)
		return r;

	cgroups = jget_array(reply, "cgroups");
	if (!cgroups) {
		json_object_put(reply);
		return cli_bad_reply("a \"cgroups\" array");
	}
	json_object_array_sort(cgroups, brief_cmp);

	if (!json_print_reply(reply))
		print_list(cgroups);
	json_object_put(reply);
	return CLI_OK;
}

/* The daemon reads a decimal string that does not start with 0 as an id. */
static bool is_id(const char *s)
{
	if (*s < '1' || *s > '9')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int id_value(const char *s, struct json_object **ret_val)
{
	unsigned long long id;
	char *end;

	if (!is_id(s))
		return p_usage("cgroup id '%s' is not a decimal number", s);
	errno = 0;
	id = strtoull(s, &end, 10);
	if (errno || *end || id == 0)
		return p_usage("cgroup id '%s' is out of range", s);
	*ret_val = json_object_new_string(s);
	return *ret_val ? CLI_OK : p_err("out of memory");
}

/*
 * "/a/b/" and "a/b" name the same cgroup; the protocol writes it "a/b", except
 * that a top-level name that reads as an id keeps a leading slash to stay a path.
 */
static int path_value(const char *s, struct json_object **ret_val)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;

	if (!*s)
		return p_usage("empty cgroup path (the root is /)");
	while (*s == '/')
		s++;
	len = strlen(s);
	while (len > 0 && s[len - 1] == '/')
		len--;
	if (len == 0) {
		*ret_val = json_object_new_string("/");
		return *ret_val ? CLI_OK : p_err("out of memory");
	}
	buf = malloc(len + 2);
	if (!buf)
		return p_err("out of memory");
	buf[0] = '/';
	memcpy(buf + 1, s, len);
	buf[len + 1] = '\0';
	*ret_val = json_object_new_string(is_id(buf + 1) ? buf : buf + 1);
	return *ret_val ? CLI_OK : p_err("out of memory");
}

static void print_psi(struct json_object *psi)
{
	static const char *const res[] = { "cpu", "memory", "io" };
	char some[16], full[16];
	struct json_object *r;
	uint64_t v;
	size_t i;

	printf("  %-12s", "psi");
	if (!psi) {
		printf("-\n");
		return;
	}
	for (i = 0; i < ARRAY_SIZE(res); i++) {
		r = jget_obj(psi, res[i]);
		snprintf(some, sizeof(some), "-");
		snprintf(full, sizeof(full), "-");
		if (jget_u64(r, "some_us", &v))
			fmt_duration(some, sizeof(some), (double)v * 1e3);
		if (jget_u64(r, "full_us", &v))
			fmt_duration(full, sizeof(full), (double)v * 1e3);
		printf("%s%s some %s full %s", i ? ", " : "", res[i], some, full);
	}
	printf("\n");
}

void fmt_threshold(char *buf, size_t size, struct json_object *th, const char *key)
{
	uint64_t v;

	if (!jget_u64(th, key, &v))
		snprintf(buf, size, "-");
	else if (v == 0)
		snprintf(buf, size, "off");
	else
		fmt_duration(buf, size, (double)v);
}

/* "avg" of a sum over a count, as a duration, or "-". */
static void fmt_avg(char *buf, size_t size, bool ok, uint64_t sum, uint64_t count)
{
	if (!ok || count == 0)
		snprintf(buf, size, "-");
	else
		fmt_duration(buf, size, (double)sum / (double)count);
}

static void print_cpu(struct json_object *cg, struct json_object *cpu)
{
	char wait[16], count[24], avg[16], rate[16], oncpu[16], usage[16], vol[24], invol[24];
	uint64_t sum = 0, n = 0, usec = 0;
	bool ok;

	ok = jget_u64(cpu, "wait_ns", &sum) && jget_u64(cpu, "wait_count", &n);
	fmt_duration_key(wait, sizeof(wait), cpu, "wait_ns");
	fmt_u64_key(count, sizeof(count), cpu, "wait_count");
	fmt_avg(avg, sizeof(avg), ok, sum, n);
	fmt_rate_key(rate, sizeof(rate), cg, "cpu_wait_rate");
	fmt_duration_key(oncpu, sizeof(oncpu), cpu, "on_cpu_ns");
	snprintf(usage, sizeof(usage), "-");
	if (jget_u64(cpu, "usage_usec", &usec))
		fmt_duration(usage, sizeof(usage), (double)usec * 1e3);
	fmt_u64_key(vol, sizeof(vol), cpu, "nvcsw");
	fmt_u64_key(invol, sizeof(invol), cpu, "nivcsw");

	printf("  %-12swait %s in %s waits (avg %s), %s/s now\n", "cpu", wait, count, avg, rate);
	printf("  %-12son-cpu %s, cpu.stat usage %s\n", "", oncpu, usage);
	printf("  %-12scontext switches %s voluntary, %s involuntary\n", "", vol, invol);
}

static void print_memory(struct json_object *cg, struct json_object *mem)
{
	char stall[16], count[24], avg[16], rate[16], kills[24];
	uint64_t sum = 0, n = 0;
	bool ok;

	ok = jget_u64(mem, "reclaim_ns", &sum) && jget_u64(mem, "reclaim_count", &n);
	fmt_duration_key(stall, sizeof(stall), mem, "reclaim_ns");
	fmt_u64_key(count, sizeof(count), mem, "reclaim_count");
	fmt_avg(avg, sizeof(avg), ok, sum, n);
	fmt_rate_key(rate, sizeof(rate), cg, "reclaim_rate");
	fmt_u64_key(kills, sizeof(kills), mem, "oom_kills");

	printf("  %-12sreclaim stall %s in %s episodes (avg %s), %s/s now\n", "memory", stall,
	       count, avg, rate);
	printf("  %-12soom kills %s\n", "", kills);
}

static void print_io(struct json_object *cg, struct json_object *io)
{
	char rb[16], wb[16], rops[24], wops[24], lat[16], iowait[16], rate[16];
	uint64_t sum, r_ops, w_ops;
	bool ok;

	ok = jget_u64(io, "latency_ns", &sum) && jget_u64(io, "read_ops", &r_ops) &&
	     jget_u64(io, "write_ops", &w_ops);
	fmt_bytes_key(rb, sizeof(rb), io, "read_bytes");
	fmt_bytes_key(wb, sizeof(wb), io, "write_bytes");
	fmt_u64_key(rops, sizeof(rops), io, "read_ops");
	fmt_u64_key(wops, sizeof(wops), io, "write_ops");
	fmt_avg(lat, sizeof(lat), ok, sum, ok ? r_ops + w_ops : 0);
	fmt_duration_key(iowait, sizeof(iowait), io, "iowait_ns");
	fmt_rate_key(rate, sizeof(rate), cg, "iowait_rate");

	printf("  %-12sread %s in %s ops, write %s in %s ops, latency avg %s\n", "io", rb, rops, wb,
	       wops, lat);
	printf("  %-12siowait %s, %s/s now\n", "", iowait, rate);
}

static void print_identity(struct json_object *ident)
{
	static const struct {
		const char *key, *label;
	} fields[] = { { "pod_uid", "pod" }, { "container_id", "container" }, { "qos", "qos" },
		       { "class", "class" }, { "engine", "engine" },	      { "unit", "unit" } };
	bool any = false;

	printf("  %-12s", "identity");
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		const char *v = jget_str(ident, fields[i].key);

		if (!v)
			continue;
		printf("%s%s ", any ? ", " : "", fields[i].label);
		print_escaped(stdout, v);
		any = true;
	}
	if (jget_str(ident, "sidecar"))
		printf(" (the runtime's monitor)");
	printf("%s\n", any ? "" : "-");
}

static void print_detail(struct json_object *cg)
{
	struct json_object *cpu = jget_obj(cg, "cpu"), *io = jget_obj(cg, "io");
	struct json_object *th = jget_obj(cg, "thresholds"), *v;
	char id[24], pressure[64], th_cpu[16], th_mem[16], th_io[16];
	const char *path = jget_str(cg, "path");
	bool is_default;

	fmt_u64_key(id, sizeof(id), cg, "id");
	fmt_pressure(pressure, sizeof(pressure), cg);
	fmt_threshold(th_cpu, sizeof(th_cpu), th, "cpu_ns");
	fmt_threshold(th_mem, sizeof(th_mem), th, "memory_ns");
	fmt_threshold(th_io, sizeof(th_io), th, "io_ns");

	printf("cgroup ");
	print_escaped(stdout, path ? path : "?");
	printf(" (id %s)\n", id);
	printf("  %-12s%s\n", "pressure", streq(pressure, "-") ? "none" : pressure);
	print_identity(jget_obj(cg, "identity"));
	print_cpu(cg, cpu);
	print_memory(cg, jget_obj(cg, "memory"));
	print_io(cg, io);
	print_psi(jget_obj(cg, "psi"));
	is_default = json_object_object_get_ex(th, "default", &v) && json_object_get_boolean(v);
	printf("  %-12scpu %s, memory %s per window, io %s past it per request%s\n", "thresholds",
	       th_cpu, th_mem, th_io, is_default ? " (defaults)" : "");
	printf("\n");
	print_log2_hist("CPU run-queue wait:", jget_array(cpu, "wait_hist_us"));
	printf("\n");
	print_log2_hist("I/O latency, block request issue to completion:",
			jget_array(io, "latency_hist_us"));
}

int cgroup_take_arg(int *argcp, char ***argvp, struct json_object **ret)
{
	int argc = *argcp;
	char **argv = *argvp;
	int r;

	if (argc < 1)
		return p_usage("expected CGROUP: a path relative to the cgroup v2 mount, or an id");
	if (argc >= 2 && streq(argv[0], "id")) {
		NEXT_ARG();
		r = id_value(argv[0], ret);
	} else if (argc >= 2 && streq(argv[0], "path")) {
		NEXT_ARG();
		r = path_value(argv[0], ret);
	} else if (is_id(argv[0])) {
		r = id_value(argv[0], ret);
	} else {
		r = path_value(argv[0], ret);
	}
	if (r != CLI_OK)
		return r;
	NEXT_ARG();
	*argcp = argc;
	*argvp = argv;
	return CLI_OK;
}

/* The CGROUP argument of show and why: a {"cgroup": ...} value. */
static int cgroup_arg(int *argcp, char ***argvp, struct json_object **ret)
{
	int argc = *argcp;
	char **argv = *argvp;
	int r;

	r = cgroup_take_arg(&argc, &argv, ret);
	if (r != CLI_OK)
		return r;
	if (argc > 0) {
		json_object_put(*ret);
		*ret = NULL;
		return p_usage("unexpected argument '%s'", argv[0]);
	}
	*argcp = argc;
	*argvp = argv;
	return CLI_OK;
}

static void print_action(struct json_object *a)
{
	uint64_t t = 0, v = 0, th = 0;
	const char *pol = jget_str(a, "policy"), *for_cg = jget_str(a, "for");
	char when[32] = "?";

	if (jget_u64(a, "time_ns", &t)) {
		time_t s = (time_t)(t / 1000000000ULL);
		struct tm tm;

		if (localtime_r(&s, &tm))
			snprintf(when, sizeof(when), "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min,
				 tm.tm_sec, (unsigned)(t % 1000000000ULL / 1000000ULL));
	}
	printf("  %s  %-14s %s -> %s", when, jget_str(a, "knob") ? jget_str(a, "knob") : "?",
	       jget_str(a, "old") ? jget_str(a, "old") : "",
	       jget_str(a, "new") ? jget_str(a, "new") : "");
	if (pol)
		printf("  [%s %s -> %s]", pol, jget_str(a, "rung_before"),
		       jget_str(a, "rung_after"));
	if (for_cg && jget_u64(a, "value_ns", &v) && jget_u64(a, "threshold_ns", &th))
		printf("  %s wait %.1f ms > %.1f ms in %s", jget_str(a, "signal"), (double)v / 1e6,
		       (double)th / 1e6, for_cg);
	if (jget_str(a, "status") && !streq(jget_str(a, "status"), "written"))
		printf("  (%s)", jget_str(a, "status"));
	printf("\n");
	if (!pol && jget_str(a, "reason"))
		printf("      %s\n", jget_str(a, "reason"));
}

static int do_why(int argc, char **argv)
{
	struct json_object *req, *reply = NULL, *val = NULL, *why, *acts, *for_it;
	uint64_t id = 0, ctr = 0;
	int r = cgroup_arg(&argc, &argv, &val);

	if (r != CLI_OK)
		return r;
	req = json_object_new_object();
	if (!req) {
		json_object_put(val);
		return p_err("out of memory");
	}
	json_object_object_add(req, "op", json_object_new_string("cgroup.why"));
	json_object_object_add(req, "cgroup", val);
	r = cli_call(req, CLI_TIMEOUT_MS, &reply);
	json_object_put(req);
	if (r != CLI_OK)
		return r;
	why = jget_obj(reply, "why");
	if (!why) {
		json_object_put(reply);
		return cli_bad_reply("a \"why\" object");
	}
	if (json_print_reply(reply)) {
		json_object_put(reply);
		return CLI_OK;
	}
	jget_u64(reply, "id", &id);
	if (!jget_u64(why, "container", &ctr)) {
		printf("%s (id %" PRIu64 "): not a container cgpilot manages; nothing done to it\n",
		       jget_str(reply, "cgroup"), id);
		json_object_put(reply);
		return CLI_OK;
	}
	printf("%s (id %" PRIu64 "): container %" PRIu64 ", %s, rung %s\n",
	       jget_str(reply, "cgroup"), id, ctr, jget_str(why, "class"), jget_str(why, "rung"));
	printf("  undo: %s\n", jget_str(why, "undo") ? jget_str(why, "undo") : "?");
	acts = jget_array(why, "actions");
	printf("actions on it (%zu):\n", acts ? json_object_array_length(acts) : 0);
	for (size_t i = 0; acts && i < json_object_array_length(acts); i++)
		print_action(json_object_array_get_idx(acts, i));
	for_it = jget_array(why, "for_it");
	if (for_it) {
		printf("actions taken for it (%zu):\n", json_object_array_length(for_it));
		for (size_t i = 0; i < json_object_array_length(for_it); i++) {
			struct json_object *a = json_object_array_get_idx(for_it, i);

			printf("  on %s:\n", jget_str(a, "cgroup"));
			print_action(a);
		}
	}
	json_object_put(reply);
	return CLI_OK;
}

static int do_show(int argc, char **argv)
{
	struct json_object *req, *reply = NULL, *val = NULL, *cg;
	int r;

	if (argc < 1)
		return p_usage("expected CGROUP: a path relative to the cgroup v2 mount, or an id");
	if (argc >= 2 && streq(argv[0], "id")) {
		NEXT_ARG();
		r = id_value(argv[0], &val);
	} else if (argc >= 2 && streq(argv[0], "path")) {
		NEXT_ARG();
		r = path_value(argv[0], &val);
	} else if (is_id(argv[0])) {
		r = id_value(argv[0], &val);
	} else {
		r = path_value(argv[0], &val);
	}
	if (r != CLI_OK)
		return r;
	NEXT_ARG();
	if (argc > 0) {
		json_object_put(val);
		return p_usage("unexpected argument '%s'", argv[0]);
	}

	req = json_object_new_object();
	if (!req) {
		json_object_put(val);
		return p_err("out of memory");
	}
	json_object_object_add(req, "op", json_object_new_string("cgroup.show"));
	json_object_object_add(req, "cgroup", val);
	r = cli_call(req, CLI_TIMEOUT_MS, &reply);
	json_object_put(req);
	if (r != CLI_OK)
		return r;

	cg = jget_obj(reply, "cgroup");
	if (!cg) {
		json_object_put(reply);
		return cli_bad_reply("a \"cgroup\" object");
	}
	if (!json_print_reply(reply))
		print_detail(cg);
	json_object_put(reply);
	return CLI_OK;
}

static void print_tree(struct json_object *nodes)
{
	size_t n = json_object_array_length(nodes);

	printf("%9s %9s %9s %9s %9s %5s  %s\n", "CPU", "WAIT", "RECLAIM", "IOWAIT", "IO", "OOM",
	       "CGROUP (subtree sums: its own tasks and all below it)");
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(nodes, i);
		struct json_object *sub = jget_obj(e, "subtree");
		char t[4][16], io[16], oom[24], owner[48];
		const char *path = jget_str(e, "path"), *name;
		uint64_t depth = 0;

		if (!e || !sub || !path)
			continue;
		jget_u64(e, "depth", &depth);
		fmt_duration_key(t[0], sizeof(t[0]), sub, "cpu_ns");
		fmt_duration_key(t[1], sizeof(t[1]), sub, "cpu_wait_ns");
		fmt_duration_key(t[2], sizeof(t[2]), sub, "reclaim_ns");
		fmt_duration_key(t[3], sizeof(t[3]), sub, "iowait_ns");
		fmt_bytes_key(io, sizeof(io), sub, "io_bytes");
		fmt_u64_key(oom, sizeof(oom), sub, "oom_kills");
		fmt_owner(owner, sizeof(owner), jget_obj(e, "identity"));
		printf("%9s %9s %9s %9s %9s %5s  ", t[0], t[1], t[2], t[3], io, oom);
		/* the first line names the whole path, the others their last part */
		name = i && strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		for (uint64_t k = 0; i && k < depth && k < 32; k++)
			fputs("  ", stdout);
		print_escaped(stdout, name);
		if (!streq(owner, "-"))
			printf("  [%s]", owner);
		putchar('\n');
	}
}

static int do_tree(int argc, char **argv)
{
	struct json_object *req, *reply = NULL, *val = NULL, *nodes;
	bool all = false;
	int r;

	req = json_object_new_object();
	if (!req)
		return p_err("out of memory");
	json_object_object_add(req, "op", json_object_new_string("cgroup.tree"));
	while (argc > 0) {
		if (streq(argv[0], "all")) {
			all = true;
		} else if (streq(argv[0], "depth")) {
			char *end;
			unsigned long long v;

			NEXT_ARG();
			if (argc < 1) {
				json_object_put(req);
				return p_usage("'depth' needs a number");
			}
			errno = 0;
			v = strtoull(argv[0], &end, 10);
			if (errno || end == argv[0] || *end || v > 1000 || argv[0][0] == '-') {
				json_object_put(req);
				return p_usage("depth '%s': expected a number of levels, 0 to 1000",
					       argv[0]);
			}
			json_object_object_add(req, "depth", json_object_new_int64((int64_t)v));
		} else if (!val) {
			r = is_id(argv[0]) ? id_value(argv[0], &val) : path_value(argv[0], &val);
			if (r != CLI_OK) {
				json_object_put(req);
				return r;
			}
		} else {
			json_object_put(req);
			return p_usage("unexpected argument '%s'", argv[0]);
		}
		NEXT_ARG();
	}
	if (val)
		json_object_object_add(req, "cgroup", val);
	if (all)
		json_object_object_add(req, "all", json_object_new_boolean(true));
	r = cli_call(req, CLI_TIMEOUT_MS, &reply);
	json_object_put(req);
	if (r != CLI_OK)
		return r;
	nodes = jget_array(reply, "nodes");
	if (!nodes) {
		json_object_put(reply);
		return p_err("cgpilotd's reply to cgroup tree has no \"nodes\" array");
	}
	if (!json_print_reply(reply))
		print_tree(nodes);
	json_object_put(reply);
	return CLI_OK;
}

int do_cgroup(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "list", do_list },
		{ "show", do_show },
		{ "tree", do_tree },
		{ "why", do_why },
		{ "threshold", do_cgroup_threshold },
		{ "help", do_help },
		{ NULL, NULL },
	};

	return cmd_select(cmds, argc, argv, usage);
}
