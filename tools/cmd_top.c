// SPDX-License-Identifier: Apache-2.0
/*
 * cgpilot top [interval MS] [sort KEY] [-b] [-n N] [-d S]: cgroups sorted by
 * pressure, refreshed from `cgroup.list` on a terminal; plain frames (or JSON
 * snapshots) one after another in batch mode, for scripts, as top -b.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cgpilot.h"
#include "client.h"
#include "config.h"
#include "log.h"
#include "output.h"
#include "util.h"

#define INTERVAL_MS_DEFAULT 1000
#define INTERVAL_MS_MIN 100
#define INTERVAL_MS_MAX 3600000

enum sort_key {
	SORT_CPU,
	SORT_MEMORY,
	SORT_IO,
};

static const char *const sort_words[] = { "cpu", "memory", "io", NULL };
static const char *const sort_fields[] = { "cpu_wait_rate", "reclaim_rate", "iowait_rate" };
static const char *const sort_titles[] = { "CPU wait", "memory stall", "I/O wait" };

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s top [interval MS] [sort { cpu | memory | io }] [-b] [-n N] [-d S]\n"
		"       %s top help\n"
		"\n"
		"       MS := refresh interval in milliseconds, %d..%d, default %d\n"
		"       OPTIONS := { -j | -p | -v | --socket PATH }\n"
		"\n"
		"A live view of the observed cgroups, sorted by pressure: per second over the\n"
		"daemon's last sample interval, the time their tasks waited for a CPU (WAIT/s),\n"
		"stalled in memory reclaim (RECLAIM/s) and slept in I/O wait (IOWAIT/s), with\n"
		"their CPU time (CPU/s) and the pressure episodes active. Keys: c, m, i sort by\n"
		"CPU wait, memory stall or I/O wait; q quits.\n"
		"-b, --batch: batch mode, for scripts: frames in plain text, without terminal\n"
		"    control codes, one after another (a blank line between), until -n frames\n"
		"    were printed or interrupted; with -j one JSON snapshot a line,\n"
		"    {\"sort\", \"cgroups\": [...]} (cgroups as in 'cgroup list -j', sorted).\n"
		"-n, --iterations N: N frames, then exit.\n"
		"-d, --delay S: seconds between frames (as 0.5; or with a unit, 500ms), the\n"
		"    same as interval.\n"
		"When stdout is not a terminal, or with -j, it is batch mode, of one frame\n"
		"unless -b or -n says otherwise.\n",
		bin_name, bin_name, INTERVAL_MS_MIN, INTERVAL_MS_MAX, INTERVAL_MS_DEFAULT);
}

static int do_help(int argc, char **argv)
{
	usage(stdout);
	return CLI_OK;
}

static volatile sig_atomic_t stop, resized, suspend;

static void on_signal(int sig)
{
	if (sig == SIGWINCH)
		resized = 1;
	else if (sig == SIGTSTP)
		suspend = 1;
	else
		stop = 1;
}

struct term {
	bool raw; /* stdin switched to non-canonical mode */
	bool live; /* alternate screen, cursor hidden */
	struct termios saved;
};

static void term_enter(struct term *t)
{
	struct termios raw;

	if (isatty(STDIN_FILENO) && !tcgetattr(STDIN_FILENO, &t->saved)) {
		raw = t->saved;
		/* keys one by one, no echo; ^C still sends SIGINT */
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		t->raw = !tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
	}
	fputs("\033[?1049h\033[?25l", stdout);
	fflush(stdout);
	t->live = true;
}

static void term_leave(struct term *t)
{
	if (t->live) {
		fputs("\033[?25h\033[?1049l", stdout);
		fflush(stdout);
		t->live = false;
	}
	if (t->raw) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &t->saved);
		t->raw = false;
	}
}

struct top_args {
	int ms;
	enum sort_key key;
	bool batch;
	uint64_t frames; /* 0: until interrupted */
};

static int parse_interval(const char *s, int *ret_ms)
{
	unsigned long ms;
	char *end;

	errno = 0;
	ms = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || ms < INTERVAL_MS_MIN ||
	    ms > INTERVAL_MS_MAX)
		return p_usage("interval '%s' is not a number of milliseconds in %d..%d", s,
			       INTERVAL_MS_MIN, INTERVAL_MS_MAX);
	*ret_ms = (int)ms;
	return CLI_OK;
}

static int parse_delay(const char *s, int *ret_ms)
{
	uint64_t ns;

	if (cgp_parse_duration(s, 1000000000, &ns) || ns < INTERVAL_MS_MIN * 1000000ULL ||
	    ns > INTERVAL_MS_MAX * 1000000ULL)
		return p_usage("delay '%s' is not a number of seconds in %g..%d", s,
			       INTERVAL_MS_MIN / 1000.0, INTERVAL_MS_MAX / 1000);
	*ret_ms = (int)(ns / 1000000);
	return CLI_OK;
}

static int parse_args(int argc, char **argv, struct top_args *a)
{
	static const char *const keywords[] = { "interval", "sort", NULL };
	static const struct cli_opt opts[] = {
		{ "batch", 'b', false },
		{ "iterations", 'n', true },
		{ "delay", 'd', true },
		{ NULL, 0, false },
	};
	const char *val;
	int k, r;

	while (argc > 0) {
		k = cli_option(&argc, &argv, opts, &val);
		if (k == CLI_OPT_BAD)
			return CLI_USAGE;
		if (k >= 0) {
			r = CLI_OK;
			if (k == 0)
				a->batch = true;
			else if (k == 1 && cli_parse_count(val, &a->frames))
				r = p_usage("iterations '%s' is not a number of frames, 1 or more",
					    val);
			else
				r = parse_delay(val, &a->ms);
			if (r != CLI_OK)
				return r;
			continue;
		}
		k = match_word(argv[0], keywords);
		if (k < 0)
			return p_usage("unexpected argument '%s' (expected 'interval MS', "
				       "'sort KEY', -b, -n N or -d S)",
				       argv[0]);
		NEXT_ARG();
		if (argc < 1)
			return p_usage("'%s' needs a value", keywords[k]);
		if (k == 0) {
			r = parse_interval(argv[0], &a->ms);
			if (r != CLI_OK)
				return r;
		} else {
			int s = match_word(argv[0], sort_words);

			if (s < 0)
				return p_usage("%s sort key '%s' (expected cpu, memory or io)",
					       s == -EEXIST ? "ambiguous" : "unknown", argv[0]);
			a->key = (enum sort_key)s;
		}
		NEXT_ARG();
	}
	return CLI_OK;
}

static enum sort_key cur_sort;

static int row_cmp(const void *pa, const void *pb)
{
	struct json_object *a = *(struct json_object *const *)pa;
	struct json_object *b = *(struct json_object *const *)pb;
	const char *path_a = jget_str(a, "path"), *path_b = jget_str(b, "path");
	double x = 0, y = 0;

	jget_double(a, sort_fields[cur_sort], &x);
	jget_double(b, sort_fields[cur_sort], &y);
	if (x != y)
		return x > y ? -1 : 1;
	return strcmp(path_a ? path_a : "", path_b ? path_b : "");
}

/* The cgroups of a cgroup.list reply sorted by @key; the reply keeps ownership. */
static struct json_object *sorted_rows(struct json_object *reply, enum sort_key key)
{
	struct json_object *rows = jget_array(reply, "cgroups");

	if (rows) {
		cur_sort = key;
		json_object_array_sort(rows, row_cmp);
	}
	return rows;
}

/*
 * One cgroup.list call: 0 with *ret_reply, -EINTR, -errno from the client,
 * -EPROTO with the daemon's error in *ret_msg (the caller frees it), or
 * -ENODATA for a reply without "cgroups". Prints
 * nothing, so that a live view can leave the terminal first.
 */
static int fetch(struct client *c, struct json_object **ret_reply, char **ret_msg)
{
	struct json_object *req = json_object_new_object(), *reply = NULL;
	const char *err;
	int r;

	if (!req)
		return -ENOMEM;
	json_object_object_add(req, "op", json_object_new_string("cgroup.list"));
	r = client__call(c, req, CLI_TIMEOUT_MS, &reply);
	json_object_put(req);
	if (r < 0)
		return r;
	err = jget_str(reply, "error");
	if (err || !jget_array(reply, "cgroups")) {
		*ret_msg = err ? strdup(err) : NULL;
		json_object_put(reply);
		return err ? -EPROTO : -ENODATA;
	}
	*ret_reply = reply;
	return 0;
}

static int report_fetch_error(int r, char *msg)
{
	if (r == -EPROTO) {
		r = msg ? cli_daemon_error(msg) : p_err("out of memory");
		free(msg);
		return r;
	}
	if (r == -ENODATA)
		return cli_bad_reply("a \"cgroups\" array");
	return cli_report_client_error(r);
}

/* Cuts @s to @width bytes without splitting a UTF-8 sequence. */
static void cut(char *s, size_t width)
{
	size_t len = strlen(s);

	if (len <= width)
		return;
	while (width > 0 && ((unsigned char)s[width] & 0xc0) == 0x80)
		width--;
	s[width] = '\0';
}

/*
 * One screen: a title, the column headers (the sort column marked with '*')
 * and up to @max_rows cgroups (0: all), each line cut to @cols (0: no limit).
 */
static void render(FILE *f, struct json_object *rows, enum sort_key key, bool live,
		   unsigned max_rows, unsigned cols)
{
	static const char *const heads[] = { "WAIT/s", "RECLAIM/s", "IOWAIT/s" };
	char line[1024], rate[4][16], path[512], pressure[64], when[16], h[3][16];
	size_t n = rows ? json_object_array_length(rows) : 0;
	time_t now = time(NULL);
	struct json_object *cg, *list;
	struct tm tm;
	const char *p;

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	snprintf(line, sizeof(line), "cgpilot top  %s  %zu cgroups, sorted by %s%s", when, n,
		 sort_titles[key], live ? "   keys: c cpu, m memory, i io, q quit" : "");
	if (cols)
		cut(line, cols);
	fprintf(f, "%s\n", line);
	for (int i = 0; i < 3; i++)
		snprintf(h[i], sizeof(h[i]), "%s%s", heads[i], (int)key == i ? "*" : "");
	snprintf(line, sizeof(line), "%9s %10s %10s %10s %-12s %s", "CPU/s", h[0], h[1], h[2],
		 "PRESSURE", "CGROUP");
	if (cols)
		cut(line, cols);
	fprintf(f, "%s\n", line);
	for (size_t i = 0; i < n && (!max_rows || i < max_rows); i++) {
		cg = json_object_array_get_idx(rows, i);
		fmt_rate_key(rate[0], sizeof(rate[0]), cg, "cpu_rate");
		fmt_rate_key(rate[1], sizeof(rate[1]), cg, "cpu_wait_rate");
		fmt_rate_key(rate[2], sizeof(rate[2]), cg, "reclaim_rate");
		fmt_rate_key(rate[3], sizeof(rate[3]), cg, "iowait_rate");
		pressure[0] = '\0';
		list = jget_array(cg, "pressure");
		for (size_t k = 0; list && k < json_object_array_length(list); k++) {
			const char *s = json_object_get_string(json_object_array_get_idx(list, k));
			size_t off = strlen(pressure);

			snprintf(pressure + off, sizeof(pressure) - off, "%s%s", off ? "," : "",
				 s ? s : "?");
		}
		fmt_escaped(path, sizeof(path), (p = jget_str(cg, "path")) ? p : "?");
		snprintf(line, sizeof(line), "%9s %10s %10s %10s %-12s %s", rate[0], rate[1],
			 rate[2], rate[3], pressure[0] ? pressure : "-", path);
		if (cols)
			cut(line, cols);
		fprintf(f, "%s\n", line);
	}
}

static void draw(struct json_object *rows, enum sort_key key)
{
	struct winsize ws = { 0 };
	unsigned lines = 24, cols = 80;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col) {
		lines = ws.ws_row;
		cols = ws.ws_col;
	}
	f = open_memstream(&buf, &len);
	if (!f)
		return;
	/* home, draw over, clear the rest: no flicker */
	fputs("\033[H", f);
	render(f, rows, key, true, lines > 3 ? lines - 3 : 1, cols);
	fputs("\033[J", f);
	fclose(f);
	fwrite(buf, 1, len, stdout);
	fflush(stdout);
	free(buf);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for a key until @deadline; returns the key, 0 on timeout, -1 on a signal. */
static int wait_key(struct term *t, int64_t deadline)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	int64_t left = deadline - mono_ms();
	char ch;
	int r;

	if (left <= 0)
		return 0;
	if (!t->raw) {
		/* no keyboard: only the clock and signals */
		r = poll(NULL, 0, (int)left);
		return r < 0 ? -1 : 0;
	}
	r = poll(&pfd, 1, (int)left);
	if (r < 0)
		return -1;
	if (r == 0)
		return 0;
	if (pfd.revents & (POLLHUP | POLLERR)) {
		stop = 1;
		return -1;
	}
	if (read(STDIN_FILENO, &ch, 1) != 1)
		return -1;
	return (unsigned char)ch;
}

static void catch_signals(const struct sigaction *sa, bool live)
{
	/* no SA_RESTART: a signal ends the wait so that the terminal is restored */
	sigaction(SIGINT, sa, NULL);
	sigaction(SIGTERM, sa, NULL);
	sigaction(SIGHUP, sa, NULL);
	if (live) {
		sigaction(SIGWINCH, sa, NULL);
		sigaction(SIGTSTP, sa, NULL);
	}
}

static int live(struct client *c, const struct top_args *a)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct json_object *reply = NULL, *rows = NULL;
	enum sort_key key = a->key;
	struct term t = { 0 };
	uint64_t frames = 0;
	int64_t next = 0;
	char *msg = NULL;
	int r = 0, k;

	sigemptyset(&sa.sa_mask);
	catch_signals(&sa, true);
	term_enter(&t);
	while (!stop) {
		if (suspend) {
			suspend = 0;
			term_leave(&t);
			signal(SIGTSTP, SIG_DFL);
			raise(SIGTSTP);
			/* continued */
			sigaction(SIGTSTP, &sa, NULL);
			term_enter(&t);
			resized = 1;
		}
		if (mono_ms() >= next) {
			struct json_object *fresh = NULL;

			/* -n: the last frame stays up for an interval too */
			if (a->frames && frames == a->frames)
				break;
			r = fetch(c, &fresh, &msg);
			if (r == -EINTR) {
				r = 0;
				continue;
			}
			if (r)
				break;
			json_object_put(reply);
			reply = fresh;
			rows = sorted_rows(reply, key);
			next = mono_ms() + a->ms;
			frames++;
			draw(rows, key);
		}
		if (resized) {
			resized = 0;
			draw(rows, key);
		}
		k = wait_key(&t, next);
		if (k == 'q' || k == 'Q') {
			break;
		} else if (k == 'c' || k == 'm' || k == 'i') {
			key = k == 'c' ? SORT_CPU : k == 'm' ? SORT_MEMORY : SORT_IO;
			rows = sorted_rows(reply, key);
			draw(rows, key);
		}
	}
	term_leave(&t);
	json_object_put(reply);
	/* printed only now: on the alternate screen it would vanish with it */
	return r ? report_fetch_error(r, msg) : CLI_OK;
}

static void print_frame(struct json_object *rows, enum sort_key key)
{
	struct json_object *out;

	if (json_output) {
		out = json_object_new_object();
		json_object_object_add(out, "sort", json_object_new_string(sort_words[key]));
		json_object_object_add(out, "cgroups", json_object_get(rows));
		json_print(out);
		json_object_put(out);
	} else {
		render(stdout, rows, key, false, 0, 0);
		fflush(stdout);
	}
}

/* Frames one after another, a blank line between, @a->frames of them (0: until a signal). */
static int batch(struct client *c, const struct top_args *a)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct json_object *reply = NULL;
	int64_t next = 0, left;
	char *msg = NULL;
	int r;

	sigemptyset(&sa.sa_mask);
	catch_signals(&sa, false);
	for (uint64_t i = 0; !stop && (!a->frames || i < a->frames); i++) {
		while (!stop && (left = next - mono_ms()) > 0)
			poll(NULL, 0, (int)left);
		if (stop)
			break;
		r = fetch(c, &reply, &msg);
		if (r == -EINTR && stop)
			break;
		if (r)
			return report_fetch_error(r, msg);
		next = mono_ms() + a->ms;
		if (i && !json_output)
			putchar('\n');
		print_frame(sorted_rows(reply, a->key), a->key);
		json_object_put(reply);
		reply = NULL;
	}
	return CLI_OK;
}

static int do_run(int argc, char **argv)
{
	struct top_args a = { .ms = INTERVAL_MS_DEFAULT, .key = SORT_CPU };
	struct client *c = NULL;
	int r;

	r = parse_args(argc, argv, &a);
	if (r != CLI_OK)
		return r;
	r = cli_connect(&c);
	if (r != CLI_OK)
		return r;
	if (a.batch || json_output || !isatty(STDOUT_FILENO)) {
		/* not asked for batch mode: one frame, for a pipe or -j */
		if (!a.batch && !a.frames)
			a.frames = 1;
		r = batch(c, &a);
	} else {
		r = live(c, &a);
	}
	client__free(c);
	return r;
}

int do_top(int argc, char **argv)
{
	if (argc > 0 && match_word(argv[0], (const char *const[]){ "help", NULL }) == 0)
		return do_help(argc - 1, argv + 1);
	return do_run(argc, argv);
}
