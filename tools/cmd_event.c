// SPDX-License-Identifier: Apache-2.0
/* cgpilot event [watch] [TYPE...] [--count N] [--timeout S]: the daemon's event stream. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cgpilot.h"
#include "client.h"
#include "log.h"
#include "config.h"
#include "output.h"
#include "proto.h"
#include "util.h"

/* The daemon's event names (lib/proto.c), NULL-terminated: one list, not a copy. */
static const char *event_types[PROTO_EV_MAX];
static char event_types_text[128]; /* "mkdir, rmdir, ... or action" */

static void init_event_types(void)
{
	size_t n = 0, off = 0;

	if (event_types[0])
		return;
	for (uint32_t t = 1; t < PROTO_EV_MAX; t++)
		if (proto_event_name(t))
			event_types[n++] = proto_event_name(t);
	for (size_t i = 0; i < n && off < sizeof(event_types_text); i++)
		off += (size_t)snprintf(event_types_text + off, sizeof(event_types_text) - off,
					"%s%s",
					i == 0	   ? "" :
					i + 1 == n ? " or " :
						     ", ",
					event_types[i]);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s event [watch] [TYPE...] [--count N] [--timeout S]\n"
		"       %s event help\n"
		"\n"
		"       TYPE := { mkdir | rmdir | oom | onset | cleared | action }\n"
		"       OPTIONS := { -j | -p | -v | --socket PATH }\n"
		"\n"
		"Streams the daemon's events until interrupted, one line each; with -j one JSON\n"
		"object per line, as the daemon sends it. TYPEs keep only those events:\n"
		"onset and cleared open and close a CPU, memory or I/O pressure episode, oom is\n"
		"a kill, mkdir and rmdir are cgroups created and removed, action a cgroup file\n"
		"cgpilotd wrote, with its reason.\n"
		"--count N: exit after N events (status 0).\n"
		"--timeout S: exit after S seconds (a number, or with a unit: 500ms, 2m);\n"
		"the status is then 0, or %d when --count was given and fewer events came.\n",
		bin_name, bin_name, CLI_TIMEDOUT);
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
	} else if (jget_u64(ev, "time_ns", &ts) && ts > 0) {
		real_ns = (int64_t)ts; /* an action: CLOCK_REALTIME already */
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
	} else if (streq(type, "action")) {
		const char *knob = jget_str(ev, "knob"), *old = jget_str(ev, "old");
		const char *new = jget_str(ev, "new");
		char k[40], o[24], n[24];

		fmt_escaped(k, sizeof(k), knob ? knob : "?");
		fmt_escaped(o, sizeof(o), old && *old ? old : "-");
		fmt_escaped(n, sizeof(n), new ? new : "?");
		snprintf(buf, size, "%s %s -> %s", k, o, n);
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

struct watch {
	struct json_object *types; /* NULL: all */
	uint64_t count; /* 0: no limit */
	uint64_t timeout_ns; /* 0: none */
};

static int add_type(struct watch *w, const char *word)
{
	int k = match_word(word, event_types);

	if (k == -EEXIST)
		return p_usage("ambiguous event type '%s' (types: %s)", word, event_types_text);
	if (k < 0)
		return p_usage("'%s' is not an event type (types: %s)", word, event_types_text);
	if (!w->types) {
		w->types = json_object_new_array();
		if (!w->types)
			return p_err("out of memory");
	}
	for (size_t i = 0; i < json_object_array_length(w->types); i++)
		if (streq(json_object_get_string(json_object_array_get_idx(w->types, i)),
			  event_types[k]))
			return CLI_OK;
	json_object_array_add(w->types, json_object_new_string(event_types[k]));
	return CLI_OK;
}

static int parse_timeout(const char *s, uint64_t *ret_ns)
{
	if (cgp_parse_duration(s, 1000000000, ret_ns) || *ret_ns < 1000000)
		return p_usage("--timeout '%s' is not a time of 1ms or more (seconds, as 10 or "
			       "1.5, or with a unit: 500ms, 2m)",
			       s);
	return CLI_OK;
}

static int parse_watch(int argc, char **argv, struct watch *w)
{
	static const struct cli_opt opts[] = {
		{ "count", 0, true },
		{ "timeout", 0, true },
		{ NULL, 0, false },
	};
	const char *val;
	int k, r;

	while (argc > 0) {
		k = cli_option(&argc, &argv, opts, &val);
		if (k == CLI_OPT_BAD)
			return CLI_USAGE;
		if (k == 0)
			r = cli_parse_count(val, &w->count) ?
				    p_usage("--count '%s' is not a number of events, 1 or more",
					    val) :
				    CLI_OK;
		else if (k == 1)
			r = parse_timeout(val, &w->timeout_ns);
		else {
			r = add_type(w, argv[0]);
			NEXT_ARG();
		}
		if (r != CLI_OK)
			return r;
	}
	return CLI_OK;
}

static int64_t mono_ms(void)
{
	return (int64_t)(mono_now_ns() / 1000000);
}

/* How long to wait for a line: @cap, or less when --timeout ends sooner (-1: no limit). */
static int wait_ms(int64_t deadline_ms, int cap)
{
	int64_t left;

	if (!deadline_ms)
		return cap;
	left = deadline_ms - mono_ms();
	if (left < 0)
		left = 0;
	if (cap >= 0 && left > cap)
		return cap;
	return left > INT_MAX ? INT_MAX : (int)left;
}

static bool timed_out(int64_t deadline_ms)
{
	return deadline_ms && mono_ms() >= deadline_ms;
}

/* CLI_OK, or -ETIMEDOUT with nothing printed when --timeout ended first. */
static int subscribe(struct client *c, struct json_object *types, int64_t deadline_ms)
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
	r = client__call(c, req, wait_ms(deadline_ms, CLI_TIMEOUT_MS), &reply);
	json_object_put(req);
	if (r == -EINTR && stop)
		return CLI_OK;
	if (r == -ETIMEDOUT && timed_out(deadline_ms))
		return r;
	if (r < 0)
		return cli_report_client_error(r);
	log_debug("reply: %s", json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));

	err = jget_str(reply, "error");
	r = err ? cli_daemon_error(err) : CLI_OK;
	json_object_put(reply);
	return r;
}

/* Until interrupted, --count events or --timeout; -ETIMEDOUT when the time ran out. */
static int stream(struct client *c, const struct watch *w, int64_t deadline_ms)
{
	int64_t offset_ns = mono_to_real_ns();
	struct json_object *ev;
	uint64_t seen = 0;
	int r;

	if (!json_output) {
		printf("%-12s  %-7s %-10s %-30s %s\n", "TIME", "EVENT", "ID", "DETAIL", "CGROUP");
		fflush(stdout);
	}
	while (!stop && (!w->count || seen < w->count)) {
		r = client__recv(c, wait_ms(deadline_ms, -1), &ev);
		if (r == -EINTR)
			continue;
		if (r == -ETIMEDOUT && deadline_ms) {
			if (timed_out(deadline_ms))
				return r;
			continue; /* a wait longer than poll() takes, cut in parts */
		}
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
		seen++;
	}
	return CLI_OK;
}

static int do_watch(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct watch w = { 0 };
	struct client *c = NULL;
	int64_t deadline_ms = 0;
	int r;

	init_event_types();
	r = parse_watch(argc, argv, &w);
	if (r != CLI_OK) {
		json_object_put(w.types);
		return r;
	}
	if (w.timeout_ns)
		deadline_ms = mono_ms() + (int64_t)(w.timeout_ns / 1000000);
	r = cli_connect(&c);
	if (r != CLI_OK) {
		json_object_put(w.types);
		return r;
	}

	/* No SA_RESTART: the wait for the next event returns so that we close cleanly. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	r = subscribe(c, w.types, deadline_ms);
	if (r == CLI_OK)
		r = stream(c, &w, deadline_ms);
	/* the time ran out: the end asked for, unless --count events were awaited */
	if (r == -ETIMEDOUT)
		r = w.count ? CLI_TIMEDOUT : CLI_OK;
	client__free(c);
	json_object_put(w.types);
	return r;
}

int do_event(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "watch", do_watch },
		{ "help", do_help },
		{ NULL, NULL },
	};

	/* 'event TYPE... [OPTION]...' is 'event watch ...': only the commands' names
	 * go to the table, so that another word is told it is not an event type */
	if (argc > 0 && !is_prefix(argv[0], "watch") && !is_prefix(argv[0], "help"))
		return do_watch(argc, argv);
	return cmd_select(cmds, argc, argv, usage);
}
