/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the OCI runtime (runtime.c, rt_ops.c, rt_store.c): the options of
 * this call, messages to stderr and to --log, the state directory under
 * --root, and a container's status from its process and cgroup.
 */
#ifndef CGPILOT_RUN_RT_INTERNAL_H
#define CGPILOT_RUN_RT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "runtime.h"

extern struct rt_opts rt;
extern struct cgp_conf rt_conf; /* cgpilotd's configuration, for [runtime] */

void rt_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rt_log_open(void);
/* Now as RFC 3339 in UTC with nanoseconds; *ret_ns (if given) the same. */
void rt_now(char *buf, size_t len, int64_t *ret_ns);

/* The --root directory (made 0700 when @create and missing); a symlink,
 * or one that others may write to, is refused. An fd, or -errno (said). */
int rt_open_root(bool create);
/* <root>/<id>: made (mkdir, -EEXIST said as "exists already") or opened.
 * An fd, or -errno (said; -ENOENT as "does not exist"). */
int rt_open_dir(int rootfd, const char *id, bool create);
/* state.json of @dirfd, written atomically (a temporary file renamed). */
int rt_save(int dirfd, const struct rt_state *s);
/* Read state.json; -errno said (-EINVAL a corrupt one, naming the field). */
int rt_load(int dirfd, struct rt_state *s);
/* The same, the problem in @err instead of said. */
int rt_load_quiet(int dirfd, struct rt_state *s, char *err, size_t errlen);
/* The container of rt.id: the root's and its directory's fds (-1 when not
 * opened; the caller closes them) and its state; -1 said. */
int rt_open_ctr(int *ret_rootfd, int *ret_dirfd, struct rt_state *st);
/* Remove <root>/<id> and what is in it. */
int rt_remove_dir(int rootfd, const char *id);

/* The start time of @pid (/proc/PID/stat), 0 if it is gone or a zombie. */
uint64_t rt_pid_start(pid_t pid);
/* @s's process is alive and is the one create started. */
bool rt_alive(const struct rt_state *s);
enum rt_status rt_status(int dirfd, const struct rt_state *s);

/* The container's cgroup directory (its id checked); -errno. */
int rt_open_cgroup(const struct rt_state *s);

/* A file written atomically (the pid files the engines read). */
int rt_write_file(const char *path, const char *text);

struct oci_request;
/* One more cgroup file for the actuator to write (dropped past the last). */
void rt_add_knob(struct oci_request *q, const char *knob, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The commands of rt_ops.c: each returns the exit status. */
int rt_cmd_state(void);
int rt_cmd_kill(void);
int rt_cmd_delete(void);
int rt_cmd_list(void);
int rt_cmd_ps(void);
int rt_cmd_pause(bool pause);
int rt_cmd_update(void);
int rt_cmd_features(void);

/* Release @s's container from cgpilotd, or remove the cgroup the runtime
 * made itself; what cannot be done is said. 0, or -errno. */
int rt_release(const struct rt_state *s);
/* cgpilotd's id of @s's container: the one admission gave, or for one the
 * runtime made, the daemon's if it has taken it over since; 0 none. */
uint64_t rt_daemon_id(const struct rt_state *s);

#endif
