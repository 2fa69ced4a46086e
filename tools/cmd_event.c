// SPDX-License-Identifier: Apache-2.0
/* cgpilot event [watch [TYPE...]]: the daemon's event stream, through `subscribe`. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cgpilot.h"
#include "client.h"
#include "log.h"
#include "output.h"
#include "util.h"

static const char *const event_types[] = { "mkdir", "rmdir", "oom", "onset", "cleared", NULL };

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s event [ [watch] [TYPE...] ]\n"
		"       %s event help\n"
		"\n"
		"       TYPE := { mkdir | rmdir | oom | onset | cleared }\n"
		"       OPTIONS := { -j | -p | -v | --socket PATH }\n"
		"\n"
		"Streams the daemon's events until interrupted, one line each; with -j one JSON\n"
		"object per line, as the daemon sends it. TYPEs keep only those events:\n"
		"onset and cleared open and close a CPU or memory pressure episode, oom is a\n"
		"kill, mkdir and rmdir are cgroups created and removed.\n",
		bin_name, bin_name);
}

static int do_help(int argc, char **argv)
{
	usage(stdout);
	return CLI_OK;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

/* Daemon timestamps are CLOCK_MONOTONIC (bpf_ktime_get_ns); this maps them to wall time. */
static int64_t mono_to_real_ns(void)
{
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	return ((int64_t)real.tv_sec - mono.tv_sec) * 1000000000 + (real.tv_nsec - mono.tv_nsec);
}

static void fmt_time(char *buf, size_t size, struct json_object *ev, int64_t offset_ns)
{
	struct timespec now;
	struct tm tm;
	int64_t real_ns;
	uint64_t ts;
	time_t sec;

	if (jget_u64(ev, "ts_ns", &ts) && ts > 0) {
		real_ns = (int64_t)ts + offset_ns;
	} else {
		clock_gettime(CLOCK_REALTIME, &now);
		real_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	}
	sec = (time_t)(real_ns / 1000000000);
	localtime_r(&sec, &tm);
	snprintf(buf, size, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(real_ns % 1000000000 / 1000000));
}

static void fmt_detail(char *buf, size_t size, const char *type, struct json_object *ev)
{
	const char *sig = jget_str(ev, "signal"), *comm = jget_str(ev, "comm");
	char value[16], threshold[16], name[64];
	uint64_t pid;

	buf[0] = '\0';
	if (streq(type, "onset") || streq(type, "cleared")) {
		fmt_duration_key(value, sizeof(value), ev, "value_ns");
		fmt_duration_key(threshold, sizeof(threshold), ev, "threshold_ns");
		snprintf(buf, size, "%s %s %s %s", sig ? sig : "?", value,
			 streq(type, "onset") ? ">=" : "<", threshold);
	} else if (streq(type, "oom")) {
		fmt_escaped(name, sizeof(name), comm ? comm : "?");
		if (jget_u64(ev, "pid", &pid))
			snprintf(buf, size, "pid %" PRIu64 " (%s)", pid, name);
		else
			snprintf(buf, size, "pid ? (%s)", name);
	}
}

static void print_event(struct json_object *ev, int64_t offset_ns)
{
	const char *type = jget_str(ev, "event"), *path = jget_str(ev, "cgroup");
	char when[16], kind[16], id[24], detail[96];
	uint64_t cgid;

	fmt_time(when, sizeof(when), ev, offset_ns);
	fmt_escaped(kind, sizeof(kind), type ? type : "?");
	if (jget_u64(ev, "id", &cgid) && cgid)
		snprintf(id, sizeof(id), "%" PRIu64, cgid);
	else
		snprintf(id, sizeof(id), "-");
	fmt_detail(detail, sizeof(detail), type ? type : "", ev);

	printf("%-12s  %-7s %-10s %-30s ", when, kind, id, detail[0] ? detail : "-");
	print_escaped(stdout, path && *path ? path : "-");
	putchar('\n');
	fflush(stdout);
}

static int parse_types(int argc, char **argv, struct json_object **ret_types)
{
	bool seen[ARRAY_SIZE(event_types)] = { false };
	struct json_object *types;
	int i, k;

	if (argc == 0) {
		*ret_types = NULL;
		return CLI_OK;
	}
	types = json_object_new_array();
	if (!types)
		return p_err("out of memory");
	for (i = 0; i < argc; i++) {
		k = match_word(argv[i], event_types);
		if (k < 0) {
			json_object_put(types);
			return p_usage("%s event type '%s' (expected mkdir, rmdir, oom, onset or "
				       "cleared)",
				       k == -EEXIST ? "ambiguous" : "unknown", argv[i]);
		}
		if (seen[k])
			continue;
		seen[k] = true;
		json_object_array_add(types, json_object_new_string(event_types[k]));
	}
	*ret_types = types;
	return CLI_OK;
}

static int subscribe(struct client *c, struct json_object *types)
{
	struct json_object *req, *reply = NULL;
	const char *err;
	int r;

	req = json_object_new_object();
	if (!req)
		return p_err("out of memory");
	json_object_object_add(req, "op", json_object_new_string("subscribe"));
	if (types)
		json_object_object_add(req, "events", json_object_get(types));
	log_debug("request: %s", json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
	r = client__call(c, req, CLI_TIMEOUT_MS, &reply);
	json_object_put(req);
	if (r == -EINTR && stop)
		return CLI_OK;
	if (r < 0)
		return cli_report_client_error(r);
	log_debug("reply: %s", json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));

	err = jget_str(reply, "error");
	r = err ? p_err("%s", err) : CLI_OK;
	json_object_put(reply);
	return r;
}

static int stream(struct client *c)
{
	int64_t offset_ns = mono_to_real_ns();
	struct json_object *ev;
	int r;

	if (!json_output) {
		printf("%-12s  %-7s %-10s %-30s %s\n", "TIME", "EVENT", "ID", "DETAIL", "CGROUP");
		fflush(stdout);
	}
	while (!stop) {
		r = client__recv(c, -1, &ev);
		if (r == -EINTR)
			continue;
		if (r == -EBADMSG) {
			log_warn("skipped a line from cgpilotd that is not a JSON object");
			continue;
		}
		if (r == -ECONNRESET)
			return p_err("cgpilotd at %s ended the stream (stopped or restarted?)",
				     socket_path);
		if (r < 0)
			return cli_report_client_error(r);
		if (json_output)
			json_print(ev);
		else
			print_event(ev, offset_ns);
		json_object_put(ev);
	}
	return CLI_OK;
}

static int do_watch(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct json_object *types = NULL;
	struct client *c = NULL;
	int r;

	r = parse_types(argc, argv, &types);
	if (r != CLI_OK)
		return r;
	r = cli_connect(&c);
	if (r != CLI_OK) {
		json_object_put(types);
		return r;
	}

	/* No SA_RESTART: the wait for the next event returns so that we close cleanly. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	r = subscribe(c, types);
	if (r == CLI_OK)
		r = stream(c);
	client__free(c);
	json_object_put(types);
	return r;
}

int do_event(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "watch", do_watch },
		{ "help", do_help },
		{ NULL, NULL },
	};

	/* 'event TYPE...' is 'event watch TYPE...'. */
	if (argc > 0 && match_word(argv[0], event_types) >= 0)
		return do_watch(argc, argv);
	return cmd_select(cmds, argc, argv, usage);
}
