// SPDX-License-Identifier: Apache-2.0
/*
 * cgpilot node { show | status }: the machine as the daemon knows it (`node.show`:
 * CPU topology, memory, controllers, kernel features, then what containers have
 * of it: cmd_node_alloc.c) and the daemon's own state (`status`).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgpilot.h"
#include "output.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s node [ show | status | help ]\n"
		"\n"
		"       OPTIONS := { -j | -p | -v | --socket PATH }\n"
		"\n"
		"show:   what the daemon knows of the machine: kernel release, memory (in all\n"
		"        and per NUMA node), cgroup v2 controllers available and missing, the\n"
		"        kernel features probed and those missing, and the CPU topology from\n"
		"        sysfs, one row per core: its package, NUMA node, SMT siblings and\n"
		"        last-level cache. Then the allocation: what containers may have,\n"
		"        what the system keeps, requested (reserved by guaranteed and\n"
		"        burstable containers), free, slack (measured unused, what besteffort\n"
		"        containers are admitted against) and besteffort admitted, in CPUs\n"
		"        and memory; the controllers that can enforce limits; and one row\n"
		"        per allocatable CPU with its NUMA node, core and owner (the shared\n"
		"        pool, or the container holding it exclusively). 'node' alone is\n"
		"        'node show'.\n"
		"status: the daemon's state: its mode (full, or telemetry-only where cgroup v2\n"
		"        controllers are missing), dry-run, the controllers and kernel\n"
		"        features available and missing (as show says them), whether the\n"
		"        pinned maps were reused, cgroups observed, the onset window,\n"
		"        ring-buffer events and drops.\n",
		bin_name);
}

static int do_help(int argc, char **argv)
{
	usage(stdout);
	return CLI_OK;
}

/* A list of names (JSON array of strings, or one string) joined by spaces; "none" when empty. */
static void print_names(const char *label, const char *prefix, struct json_object *list)
{
	struct json_object *v;
	size_t i, n;

	printf("%-14s%s", label, prefix);
	if (!list) {
		printf("-\n");
		return;
	}
	if (json_object_is_type(list, json_type_string)) {
		print_escaped(stdout, json_object_get_string(list));
		putchar('\n');
		return;
	}
	n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
	if (n == 0)
		printf("none");
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(list, i);
		if (i)
			putchar(' ');
		print_escaped(stdout, v ? json_object_get_string(v) : "null");
	}
	putchar('\n');
}

/*
 * The kernel's features, as node show and node status both print them: those
 * present from "features" (name -> bool), those missing from the daemon's
 * "missing_features" (where the two mark_victim flavors are one), or from
 * "features" if a daemon does not send it.
 */
static void print_features(struct json_object *reply)
{
	struct json_object *features = jget_obj(reply, "features");
	struct json_object *missing = jget_array(reply, "missing_features");
	bool first = true;

	printf("%-14savailable:", "features");
	if (features) {
		json_object_object_foreach(features, name, val)
		{
			/* not a kernel feature: status says it apart */
			if (!json_object_get_boolean(val) || streq(name, "pinned_maps_reused"))
				continue;
			putchar(' ');
			print_escaped(stdout, name);
			first = false;
		}
	}
	printf("%s\n", first ? " none" : "");
	if (missing || !features) {
		print_names("", "missing: ", missing);
		return;
	}
	first = true;
	printf("%-14smissing:", "");
	json_object_object_foreach(features, name, val)
	{
		if (json_object_get_boolean(val) || streq(name, "pinned_maps_reused"))
			continue;
		putchar(' ');
		print_escaped(stdout, name);
		first = false;
	}
	printf("%s\n", first ? " none" : "");
}

/* "bpf", or "files only (bpf_syscall): bpf(2) denied: ..." without the programs. */
static void print_telemetry(struct json_object *reply)
{
	const char *src = jget_str(reply, "telemetry"), *why = jget_str(reply, "telemetry_error");

	if (!src)
		return;
	printf("%-14s", "telemetry");
	if (!streq(src, "files")) {
		print_escaped(stdout, src);
		putchar('\n');
		return;
	}
	printf("files only, the BPF programs are not loaded: ");
	print_escaped(stdout, why ? why : "?");
	putchar('\n');
}

/* "mkdir 12, rmdir 3, ..." of an object of counters, or a single total. */
static void print_counts(struct json_object *val)
{
	bool first = true;

	if (json_object_is_type(val, json_type_int)) {
		printf("%" PRIu64, json_object_get_uint64(val));
		return;
	}
	if (!json_object_is_type(val, json_type_object)) {
		printf("-");
		return;
	}
	json_object_object_foreach(val, name, count)
	{
		printf("%s", first ? "" : ", ");
		print_escaped(stdout, name);
		if (json_object_is_type(count, json_type_object)) {
			printf(" (");
			print_counts(count);
			printf(")");
		} else {
			printf(" %s", json_object_get_string(count));
		}
		first = false;
	}
	if (first)
		printf("none");
}

/* "BPF slots  1234 of 16384 in use (7.5%, sized from the machine), maps 16.1 MiB" */
static void print_slots(struct json_object *sl)
{
	uint64_t used, cap, bytes;
	struct json_object *v;

	if (!sl || !jget_u64(sl, "used", &used) || !jget_u64(sl, "capacity", &cap) || !cap)
		return;
	printf("%-14s%" PRIu64 " of %" PRIu64 " in use (%.1f%%%s)", "BPF slots", used, cap,
	       100.0 * (double)used / (double)cap,
	       json_object_object_get_ex(sl, "capacity_auto", &v) && json_object_get_boolean(v) ?
		       ", max_cgroups sized from the machine" :
		       "");
	if (jget_u64(sl, "map_bytes", &bytes) && bytes)
		printf(", maps %.1f MiB", (double)bytes / (1024.0 * 1024.0));
	putchar('\n');
}

static void print_ringbuf(struct json_object *rb)
{
	struct json_object *events, *drops;

	printf("%-14s", "ring buffer");
	if (!rb) {
		printf("-\n");
		return;
	}
	/* {"events": ..., "drops": ...}, each a total or by type; else by type first. */
	if (json_object_object_get_ex(rb, "events", &events) &&
	    json_object_object_get_ex(rb, "drops", &drops)) {
		printf("events: ");
		print_counts(events);
		printf("\n%-14sdrops: ", "");
		print_counts(drops);
		json_object_object_foreach(rb, name, val)
		{
			if (streq(name, "events") || streq(name, "drops"))
				continue;
			printf("\n%-14s", "");
			print_escaped(stdout, name);
			printf(": ");
			print_counts(val);
		}
	} else {
		print_counts(rb);
	}
	putchar('\n');
}

static void print_status(struct json_object *st)
{
	const char *version = jget_str(st, "version"), *mode = jget_str(st, "mode");
	const char *root = jget_str(st, "cgroup_root");
	char pid[24], uptime[16], cgroups[24], window[16];
	struct json_object *v;
	double up;
	uint64_t ms;

	fmt_u64_key(pid, sizeof(pid), st, "pid");
	snprintf(uptime, sizeof(uptime), "-");
	if (jget_double(st, "uptime_s", &up))
		fmt_duration(uptime, sizeof(uptime), up * 1e9);
	fmt_u64_key(cgroups, sizeof(cgroups), st, "cgroups");
	snprintf(window, sizeof(window), "-");
	if (jget_u64(st, "window_ms", &ms))
		fmt_duration(window, sizeof(window), (double)ms * 1e6);

	printf("cgpilotd %s, pid %s, up %s\n", version ? version : "?", pid, uptime);
	printf("%-14s%s", "mode", mode ? mode : "-");
	if (json_object_object_get_ex(st, "dry_run", &v) && json_object_get_boolean(v))
		printf(", dry run");
	putchar('\n');
	print_telemetry(st);
	printf("%-14s", "cgroup root");
	print_escaped(stdout, root ? root : "-");
	putchar('\n');
	print_names("controllers", "", json_object_object_get_ex(st, "controllers", &v) ? v : NULL);
	print_names("missing", "",
		    json_object_object_get_ex(st, "missing_controllers", &v) ? v : NULL);
	print_features(st);
	print_names("tracepoints", "missing: ", jget_array(st, "missing_tracepoints"));
	if (jget_obj(st, "features") &&
	    json_object_object_get_ex(jget_obj(st, "features"), "pinned_maps_reused", &v))
		printf("%-14s%s\n", "pinned maps",
		       json_object_get_boolean(v) ? "reused: counters continued from the last run" :
						    "new at this start");
	printf("%-14s%s observed\n", "cgroups", cgroups);
	print_slots(jget_obj(st, "slots"));
	printf("%-14s%s\n", "onset window", window);
	print_ringbuf(jget_obj(st, "ringbuf"));
	if (jget_obj(st, "inactive_loops")) {
		json_object_object_foreach(jget_obj(st, "inactive_loops"), name, val)
		{
			printf("%-14s", "inactive loop");
			print_escaped(stdout, name);
			printf(": ");
			print_escaped(stdout, json_object_get_string(val));
			putchar('\n');
		}
	}
	/* what keeps the daemon from serving all it could */
	if (jget_str(st, "state_error")) {
		printf("%-14s", "state");
		print_escaped(stdout, jget_str(st, "state_error"));
		printf(": admissions refused\n");
	}
	if (jget_str(st, "metrics_error")) {
		printf("%-14s", "metrics");
		print_escaped(stdout, jget_str(st, "metrics_error"));
		putchar('\n');
	}
}

static void fmt_int_key(char *buf, size_t size, struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (obj && json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, json_type_int))
		snprintf(buf, size, "%" PRId64, json_object_get_int64(v));
	else
		snprintf(buf, size, "-");
}

static bool same_int(struct json_object *a, struct json_object *b, const char *key)
{
	char x[24], y[24];

	fmt_int_key(x, sizeof(x), a, key);
	fmt_int_key(y, sizeof(y), b, key);
	return streq(x, y);
}

/*
 * One row per core: a CPU whose SMT siblings start with an earlier online
 * CPU of the same core was shown with it.
 */
static void print_topology(struct json_object *cpus)
{
	char node[16], pkg[16], core[16], threads[256], llc[40], llc_cpus[256], lvl[16], id[16];
	size_t n = cpus ? json_object_array_length(cpus) : 0;
	struct json_object *c, *sib, *first, *l;
	char offline[256] = "";
	size_t off = 0;
	uint64_t cpu;
	bool on;

	printf("%-5s %-5s %-6s %-16s %-8s %s\n", "NODE", "PKG", "CORE", "CPUS", "LLC", "LLC CPUS");
	for (size_t i = 0; i < n; i++) {
		c = json_object_array_get_idx(cpus, i);
		on = json_object_object_get_ex(c, "online", &l) && json_object_get_boolean(l);
		if (!jget_u64(c, "cpu", &cpu))
			continue;
		if (!on) {
			if (off < sizeof(offline))
				off += (size_t)snprintf(offline + off, sizeof(offline) - off,
							"%s%" PRIu64, off ? "," : "", cpu);
			continue;
		}
		sib = jget_array(c, "siblings");
		first = sib && json_object_array_length(sib) ? json_object_array_get_idx(sib, 0) :
							       NULL;
		if (first && (uint64_t)json_object_get_int64(first) < cpu) {
			/* printed with its first sibling, if that one is the same core */
			struct json_object *fc = NULL;

			for (size_t k = 0; k < i && !fc; k++) {
				struct json_object *o = json_object_array_get_idx(cpus, k);
				uint64_t kc;

				if (jget_u64(o, "cpu", &kc) &&
				    kc == (uint64_t)json_object_get_int64(first))
					fc = o;
			}
			if (fc && same_int(fc, c, "core_id") && same_int(fc, c, "package_id"))
				continue;
		}
		fmt_int_key(node, sizeof(node), c, "node");
		fmt_int_key(pkg, sizeof(pkg), c, "package_id");
		fmt_int_key(core, sizeof(core), c, "core_id");
		if (sib && json_object_array_length(sib))
			fmt_cpulist(threads, sizeof(threads), sib);
		else
			snprintf(threads, sizeof(threads), "%" PRIu64, cpu);
		l = jget_obj(c, "llc");
		snprintf(llc, sizeof(llc), "-");
		snprintf(llc_cpus, sizeof(llc_cpus), "-");
		if (l) {
			fmt_int_key(lvl, sizeof(lvl), l, "level");
			fmt_int_key(id, sizeof(id), l, "id");
			snprintf(llc, sizeof(llc), "L%s#%s", lvl, id);
			fmt_cpulist(llc_cpus, sizeof(llc_cpus), jget_array(l, "cpus"));
		}
		printf("%-5s %-5s %-6s %-16s %-8s %s\n", node, pkg, core, threads, llc, llc_cpus);
	}
	if (offline[0])
		printf("offline CPUs: %s\n", offline);
}

static void print_memory(struct json_object *node)
{
	struct json_object *nodes = jget_array(node, "nodes"), *nd;
	size_t n = nodes ? json_object_array_length(nodes) : 0;
	char total[16], mem[16], id[16], cpus[128];

	fmt_bytes_key(total, sizeof(total), node, "memory_bytes");
	printf("%-14s%s\n", "memory", total);
	for (size_t i = 0; i < n; i++) {
		nd = json_object_array_get_idx(nodes, i);
		fmt_int_key(id, sizeof(id), nd, "id");
		fmt_bytes_key(mem, sizeof(mem), nd, "memory_bytes");
		fmt_cpulist(cpus, sizeof(cpus), jget_array(nd, "cpus"));
		printf("%-14snode %s: %s, CPUs %s\n", "", id, mem, cpus);
	}
}

static void print_node(struct json_object *node)
{
	const char *release = jget_str(node, "kernel_release"), *mode = jget_str(node, "mode");
	const char *root = jget_str(node, "cgroup_root");
	char present[24], online[24];
	struct json_object *v;

	fmt_u64_key(present, sizeof(present), node, "cpus_present");
	fmt_u64_key(online, sizeof(online), node, "cpus_online");
	printf("%-14s", "kernel");
	print_escaped(stdout, release && *release ? release : "-");
	printf("\n%-14s%s present, %s online\n", "cpus", present, online);
	print_memory(node);
	printf("%-14s", "cgroup root");
	print_escaped(stdout, root ? root : "-");
	printf(" (%s)\n", mode ? mode : "-");
	print_telemetry(node);
	print_names("controllers", "",
		    json_object_object_get_ex(node, "controllers", &v) ? v : NULL);
	print_names("missing", "",
		    json_object_object_get_ex(node, "missing_controllers", &v) ? v : NULL);
	print_features(node);
	print_names("tracepoints", "missing: ", jget_array(node, "missing_tracepoints"));
	print_slots(jget_obj(node, "slots"));
	putchar('\n');
	print_topology(jget_array(node, "cpus"));
	node_print_alloc(node);
}

/* One request without arguments; its reply printed as JSON or by @print. */
static int show_op(const char *op, void (*print)(struct json_object *reply))
{
	struct json_object *req, *reply = NULL;
	int r;

	req = json_object_new_object();
	if (!req)
		return p_err("out of memory");
	json_object_object_add(req, "op", json_object_new_string(op));
	r = cli_call(req, CLI_TIMEOUT_MS, &reply);
	json_object_put(req);
	if (r != CLI_OK)
		return r;

	if (!json_print_reply(reply))
		print(reply);
	json_object_put(reply);
	return CLI_OK;
}

static int do_show(int argc, char **argv)
{
	NO_MORE_ARGS();
	return show_op("node.show", print_node);
}

static int do_status(int argc, char **argv)
{
	NO_MORE_ARGS();
	return show_op("status", print_status);
}

int do_node(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "show", do_show },
		{ "status", do_status },
		{ "help", do_help },
		{ NULL, NULL },
	};

	return cmd_select(cmds, argc, argv, usage);
}
