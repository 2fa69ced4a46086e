// SPDX-License-Identifier: Apache-2.0
/* cgpilot node [show]: the node as the daemon sees it (its `status` reply). */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cgpilot.h"
#include "output.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s node [ show | help ]\n"
		"\n"
		"       OPTIONS := { -j | -p | -v | --socket PATH }\n"
		"\n"
		"show: the daemon's status: its mode (full, or telemetry-only where cgroup v2\n"
		"      controllers are missing), the cgroup v2 mount, the controllers available\n"
		"      and missing, the kernel features probed, dry-run, cgroups observed, the\n"
		"      onset window, ring-buffer events and drops. 'node' alone is 'node show'.\n",
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

/* Features are name -> bool: one line for those present, one for those missing. */
static void print_features(struct json_object *features)
{
	bool want, first;
	int pass;

	if (!features) {
		printf("%-14s-\n", "features");
		return;
	}
	for (pass = 0; pass < 2; pass++) {
		want = pass == 0;
		first = true;
		printf("%-14s%s:", pass == 0 ? "features" : "", want ? "available" : "missing");
		json_object_object_foreach(features, name, val) {
			if (json_object_get_boolean(val) != want)
				continue;
			putchar(' ');
			print_escaped(stdout, name);
			first = false;
		}
		printf("%s\n", first ? " none" : "");
	}
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
	json_object_object_foreach(val, name, count) {
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
		json_object_object_foreach(rb, name, val) {
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
	printf("%-14s", "cgroup root");
	print_escaped(stdout, root ? root : "-");
	putchar('\n');
	print_names("controllers", "", json_object_object_get_ex(st, "controllers", &v) ? v : NULL);
	print_names("missing", "",
		    json_object_object_get_ex(st, "missing_controllers", &v) ? v : NULL);
	print_features(jget_obj(st, "features"));
	if (jget_array(st, "missing_tracepoints"))
		print_names("tracepoints", "missing: ", jget_array(st, "missing_tracepoints"));
	printf("%-14s%s observed\n", "cgroups", cgroups);
	printf("%-14s%s\n", "onset window", window);
	print_ringbuf(jget_obj(st, "ringbuf"));
}

static int do_show(int argc, char **argv)
{
	struct json_object *req, *reply = NULL;
	int r;

	NO_MORE_ARGS();

	req = json_object_new_object();
	if (!req)
		return p_err("out of memory");
	json_object_object_add(req, "op", json_object_new_string("status"));
	r = cli_call(req, CLI_TIMEOUT_MS, &reply);
	json_object_put(req);
	if (r != CLI_OK)
		return r;

	if (json_output) {
		json_object_object_del(reply, "ok");
		json_print(reply);
	} else {
		print_status(reply);
	}
	json_object_put(reply);
	return CLI_OK;
}

int do_node(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "show", do_show },
		{ "help", do_help },
		{ NULL, NULL },
	};

	return cmd_select(cmds, argc, argv, usage);
}
