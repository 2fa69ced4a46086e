/* SPDX-License-Identifier: Apache-2.0 */
/* The cgpilot CLI's shared parts: options, bpftool-style dispatch, daemon calls. */
#ifndef CGPILOT_CLI_H
#define CGPILOT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "version.h"

#define CGPILOT_DEFAULT_SOCKET "/run/cgpilot/cgpilot.sock"
#define CGPILOT_SOCKET_ENV "CGPILOT_SOCKET"

/* Exit statuses; command functions return one of these. */
enum cli_exit {
	CLI_OK = 0,
	CLI_ERR = 1,
	CLI_USAGE = 2,
	CLI_REFUSED = 3, /* the daemon refused an admission: no room, no controller, ... */
	CLI_TIMEDOUT = 124, /* event --timeout ran out before --count events (as timeout(1)) */
};

/* Time allowed for a reply to an ordinary request. */
#define CLI_TIMEOUT_MS 5000

extern bool json_output;
extern bool pretty_output;
extern const char *bin_name;
extern const char *socket_path;

struct cmd {
	const char *cmd;
	int (*func)(int argc, char **argv);
};

/*
 * Runs the command of @cmds that argv[0] names exactly or by a unique prefix;
 * with no argument the first entry is the default. Unknown or ambiguous words
 * are usage errors, followed by @usage's text on stderr.
 */
int cmd_select(const struct cmd *cmds, int argc, char **argv, void (*usage)(FILE *f));
/* The same for the objects table: errors say "object", not "command". */
int object_select(const struct cmd *objects, int argc, char **argv, void (*usage)(FILE *f));

bool is_prefix(const char *pfx, const char *str);

/*
 * Index of the entry of @words (NULL-terminated) that @word names exactly or
 * by a unique prefix; -ENOENT when none does, -EEXIST when several do.
 */
int match_word(const char *word, const char *const *words);

/* A command's own option (event --count N, top -n N). */
struct cli_opt {
	const char *name; /* --name, or a unique prefix of it */
	char short_name; /* -c, or 0 */
	bool has_arg;
};

#define CLI_OPT_NONE (-1) /* argv[0] is no option: a word, or a negative number */
#define CLI_OPT_BAD (-2) /* a usage error, printed */

/*
 * If argv[0] is one of @opts (NULL-terminated by name), consumes it and its
 * value (--name=V, --name V, -cV, -c V) into *ret_val (NULL for an option
 * without one) and returns its index; CLI_OPT_NONE, consuming nothing, when
 * argv[0] does not start with '-' or is a number; CLI_OPT_BAD for an
 * unknown or ambiguous option or a missing value.
 */
int cli_option(int *argcp, char ***argvp, const struct cli_opt *opts, const char **ret_val);

/* Consumes the current argument; the caller checked that one is left. */
#define NEXT_ARG()      \
	({              \
		argc--; \
		argv++; \
	})

/* Refuses trailing arguments after a complete command. */
#define NO_MORE_ARGS()                                                       \
	do {                                                                 \
		if (argc > 0 && argv[0][0] == '-' && argv[0][1])             \
			return p_usage("unknown option '%s'", argv[0]);      \
		if (argc > 0)                                                \
			return p_usage("unexpected argument '%s'", argv[0]); \
	} while (0)

/*
 * One request to the daemon: connects, sends @req, waits up to @timeout_ms
 * for the reply. On success *ret_reply holds a reply with "ok" and CLI_OK is
 * returned; otherwise the error is printed and CLI_ERR returned.
 */
int cli_call(struct json_object *req, int timeout_ms, struct json_object **ret_reply);

struct client;
/* Connects to the daemon, printing the error on failure (CLI_ERR). */
int cli_connect(struct client **ret_client);
/* Prints the error of a failed client call (-errno) and returns CLI_ERR. */
int cli_report_client_error(int r);
/*
 * Prints the daemon's "error" and returns CLI_ERR; an op this daemon does not
 * know is told as the command the user typed, from an older daemon.
 */
int cli_daemon_error(const char *err);
/* A reply without @missing ("a \"cgroups\" array"): CLI_ERR, naming the command. */
int cli_bad_reply(const char *missing);
/* The object and command being run, as typed in full ("cgroup show"). */
const char *cli_command(void);

/* node show's allocation part (cmd_node_alloc.c): requested, free, pools, owners. */
void node_print_alloc(struct json_object *node);
/*
 * The controllers that enforce containers' limits (a JSON array of names) after
 * a label of @width, and what each missing one costs; "none: telemetry-only".
 */
void print_enforceable(int width, struct json_object *enf);

/*
 * Takes a CGROUP argument ({ PATH | ID | id ID | path PATH }) off the words
 * into a {"cgroup": ...} value; a usage error when there is none or it is bad.
 */
int cgroup_take_arg(int *argcp, char ***argvp, struct json_object **ret);
/* A threshold of a "thresholds" object in ns as a duration, "off" for 0, or "-". */
void fmt_threshold(char *buf, size_t size, struct json_object *th, const char *key);
/* A count of at least 1 (event --count, top -n): 0, or -EINVAL. */
int cli_parse_count(const char *s, uint64_t *ret);
/* cgroup threshold (cmd_cgroup_threshold.c). */
int do_cgroup_threshold(int argc, char **argv);

int do_cgroup(int argc, char **argv);
int do_container(int argc, char **argv);
int do_event(int argc, char **argv);
int do_node(int argc, char **argv);
int do_map(int argc, char **argv);
int do_policy(int argc, char **argv);
int do_prog(int argc, char **argv);
int do_top(int argc, char **argv);

#endif
