/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgpilot-run as an OCI runtime: the command line that podman's conmon and
 * containerd's runc shim (go-runc) call (rt_args.c, pure), the state kept
 * under --root (rt_state.c), and the operations (runtime.c).
 */
#ifndef CGPILOT_RUN_RUNTIME_H
#define CGPILOT_RUN_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define RT_ROOT_DEFAULT "/run/cgpilot-run"
#define RT_ID_MAX 1024

enum rt_cmd {
	RT_NONE = 0,
	RT_CREATE,
	RT_START,
	RT_RUN, /* create and start, in the foreground */
	RT_STATE,
	RT_KILL,
	RT_DELETE,
	RT_LIST,
	RT_PS,
	RT_PAUSE,
	RT_RESUME,
	RT_UPDATE,
	RT_EXEC,
	RT_FEATURES,
};

struct rt_opts {
	/* global */
	const char *root;
	const char *log;
	bool log_json;
	bool systemd_cgroup;
	bool debug;
	const char *socket; /* cgpilotd's */
	const char *config; /* its configuration ([runtime] section) */
	/* the command */
	enum rt_cmd cmd;
	const char *id;
	const char *bundle;
	const char *pid_file;
	const char *console_socket;
	const char *process; /* exec --process FILE */
	const char *resources; /* update --resources FILE|- */
	const char *format; /* list, ps: table or json */
	const char *cwd; /* exec --cwd */
	const char *user; /* exec --user UID[:GID] */
	const char *env[64]; /* exec --env K=V */
	unsigned nenv;
	bool tty; /* exec --tty */
	bool no_pivot, no_new_keyring, detach, all, force, quiet;
	unsigned preserve_fds;
	int signal; /* kill: SIGTERM by default */
	char **argv; /* exec's command (with no --process) */
	int argc;
};

/* Whether argv is the OCI runtime's form (a command after the global
 * options) rather than the launcher's: the first operand is a command
 * name, or a global option only the runtime has comes first. */
bool rt_is_runtime_form(int argc, char **argv);

/*
 * Parse the runtime's command line, in the forms the engines use
 * (--log-format=json and --log-format json, -d and --detach). 0; 1 for
 * --help or --version (printed); -EINVAL naming the option or operand.
 */
int rt_parse_args(int argc, char **argv, struct rt_opts *o, char *err, size_t errlen);
void rt_usage(FILE *f);

/* A signal by name (KILL, SIGKILL, sigterm) or number; -1 if neither. */
int rt_parse_signal(const char *s);

/* Container IDs as runc takes them: 1..1024 of A-Z a-z 0-9 _ + - . and not
 * "." or ".." (no '/', no control characters). */
int rt_check_id(const char *id, char *err, size_t errlen);

/*
 * --systemd-cgroup's cgroupsPath "slice:prefix:name" to the cgroup path
 * that systemd gives the scope <prefix>-<name>.scope (runc's and crun's
 * mapping): "machine.slice:libpod:abc" -> "machine.slice/libpod-abc.scope";
 * a slice named a-b.slice lives under a.slice/a-b.slice; an empty slice is
 * system.slice. -EINVAL with the problem in @err.
 */
int rt_systemd_path(const char *spec, char *out, size_t outlen, char *err, size_t errlen);

/* The `features` JSON (runtime-spec features.md), newly allocated. */
char *rt_features_json(void);

/* The OCI runtime's main (runtime.c): the exit status. */
int runtime_main(int argc, char **argv);

/* ---- state (rt_state.c) ---- */

enum rt_status { RT_CREATING, RT_CREATED, RT_RUNNING, RT_PAUSED, RT_STOPPED };
const char *rt_status_name(enum rt_status s);

struct rt_state {
	char id[RT_ID_MAX + 1];
	pid_t pid; /* 0 before the process exists */
	uint64_t pid_start; /* its start time (/proc/PID/stat field 22): a reused pid is not it */
	char bundle[4096];
	char cgroup[4096]; /* relative to the v2 mount */
	uint64_t cgroup_id;
	uint64_t daemon_id; /* cgpilotd's container id; 0: not admitted */
	bool own_cgroup; /* made by the runtime (daemon unreachable): removed by delete */
	char degraded[256]; /* why it runs degraded, or "" */
	char created[64]; /* RFC 3339, UTC */
	int64_t created_ns; /* CLOCK_REALTIME */
	char *annotations; /* a JSON object's text, or NULL */
};

/* The state as JSON text (newly allocated), and back. */
char *rt_state_encode(const struct rt_state *s);
int rt_state_decode(const char *text, size_t len, struct rt_state *s, char *err, size_t errlen);
void rt_state_free(struct rt_state *s);

/* The spec's state JSON (ociVersion, id, status, pid, bundle, annotations). */
char *rt_state_oci_json(const struct rt_state *s, enum rt_status st);

#endif
