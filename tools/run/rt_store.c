// SPDX-License-Identifier: Apache-2.0
/*
 * The OCI runtime's messages (stderr, and --log as text or as the JSON lines
 * go-runc reads the last error from), its state directory, and a
 * container's status (rt_internal.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "actuate/actuate.h"
#include "cgroupfs.h"
#include "oci.h"
#include "rt_internal.h"
#include "util.h"

struct rt_opts rt;
struct cgp_conf rt_conf;
static FILE *log_file;

void rt_log_open(void)
{
	if (rt.log && !log_file) {
		int fd = open(rt.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

		log_file = fd >= 0 ? fdopen(fd, "a") : NULL;
		if (!log_file)
			fprintf(stderr, "cgpilot-run: warning: --log %s: %s\n", rt.log,
				strerror(errno));
	}
}

void rt_now(char *buf, size_t len, int64_t *ret_ns)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
	if (ret_ns)
		*ret_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void say(const char *level, const char *fmt, va_list ap)
{
	char msg[2048], when[64];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "cgpilot-run: %s%s%s\n", streq(level, "error") ? "error: " : "",
		streq(level, "warning") ? "warning: " : "", msg);
	if (!log_file)
		return;
	rt_now(when, sizeof(when), NULL);
	if (rt.log_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "level", json_object_new_string(level));
		json_object_object_add(o, "msg", json_object_new_string(msg));
		json_object_object_add(o, "time", json_object_new_string(when));
		fprintf(log_file, "%s\n",
			json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		fprintf(log_file, "time=\"%s\" level=%s msg=\"%s\"\n", when, level, msg);
	}
	fflush(log_file);
}

void rt_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("error", fmt, ap);
	va_end(ap);
}

void rt_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("warning", fmt, ap);
	va_end(ap);
}

/* ---- the state directory ---- */

static int check_dir(int fd, const char *what)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		rt_error("%s: %s", what, strerror(errno));
		return -errno;
	}
	if (st.st_uid != 0 || (st.st_mode & 022)) {
		rt_error("%s: owned by uid %u with mode %04o; the state directory must be root's "
			 "and written by no one else",
			 what, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int rt_open_root(bool create)
{
	struct stat st;
	int fd;

	if (!lstat(rt.root, &st) && S_ISLNK(st.st_mode)) {
		rt_error("--root %s is a symbolic link: refused (give the directory itself)",
			 rt.root);
		return -ELOOP;
	}
	fd = open(rt.root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		char buf[4096];

		snprintf(buf, sizeof(buf), "%s", rt.root);
		for (char *p = buf + 1; *p; p++)
			if (*p == '/') {
				*p = 0;
				mkdir(buf, 0755);
				*p = '/';
			}
		if (mkdir(rt.root, 0700) < 0 && errno != EEXIST) {
			rt_error("create the state directory %s: %s", rt.root, strerror(errno));
			return -errno;
		}
		fd = open(rt.root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		int r = -errno;

		if (errno == ENOENT)
			return r; /* nothing was ever made there */
		rt_error("open the state directory %s: %s", rt.root, strerror(errno));
		return r;
	}
	if (check_dir(fd, rt.root)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

int rt_open_dir(int rootfd, const char *id, bool create)
{
	int fd;

	if (create && mkdirat(rootfd, id, 0700) < 0) {
		int r = -errno;

		if (errno == EEXIST)
			rt_error("container '%s' exists already", id);
		else
			rt_error("create %s/%s: %s", rt.root, id, strerror(errno));
		return r;
	}
	fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;

		if (errno == ENOENT)
			rt_error("container '%s' does not exist", id);
		else
			rt_error("open %s/%s: %s", rt.root, id, strerror(errno));
		return r;
	}
	return fd;
}

int rt_save(int dirfd, const struct rt_state *s)
{
	_cleanup_free_ char *text = rt_state_encode(s);
	size_t len;
	int fd, r = 0;

	if (!text)
		return -ENOMEM;
	len = strlen(text);
	fd = openat(dirfd, "state.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	if (!r && renameat(dirfd, "state.json.tmp", dirfd, "state.json") < 0)
		r = -errno;
	if (r) {
		unlinkat(dirfd, "state.json.tmp", 0);
		rt_error("write the state of '%s' in %s: %s", s->id, rt.root, strerror(-r));
	}
	return r;
}

int rt_load_quiet(int dirfd, struct rt_state *s, char *err, size_t errlen)
{
	char buf[65536], why[256];
	_cleanup_close_ int fd = openat(dirfd, "state.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	memset(s, 0, sizeof(*s));
	if (fd < 0) {
		int r = -errno;

		snprintf(err, errlen, "the state of container '%s' in %s: %s", rt.id ? rt.id : "?",
			 rt.root, strerror(errno));
		return r;
	}
	n = read(fd, buf, sizeof(buf));
	if (n < 0) {
		snprintf(err, errlen, "read state.json: %s", strerror(errno));
		return -errno;
	}
	if (n == (ssize_t)sizeof(buf) || rt_state_decode(buf, (size_t)n, s, why, sizeof(why))) {
		snprintf(err, errlen, "state.json of container '%s' is corrupt: %s",
			 rt.id ? rt.id : "?", n == (ssize_t)sizeof(buf) ? "too large" : why);
		return -EINVAL;
	}
	if (rt.id && !streq(s->id, rt.id)) {
		snprintf(err, errlen, "state.json of container '%s' names '%s'", rt.id, s->id);
		rt_state_free(s);
		return -EINVAL;
	}
	return 0;
}

int rt_load(int dirfd, struct rt_state *s)
{
	char err[512];
	int r = rt_load_quiet(dirfd, s, err, sizeof(err));

	if (r)
		rt_error("%s%s", err, r == -EINVAL ? " (delete --force removes it)" : "");
	return r;
}

int rt_open_ctr(int *ret_rootfd, int *ret_dirfd, struct rt_state *st)
{
	*ret_rootfd = *ret_dirfd = -1;
	*ret_rootfd = rt_open_root(false);
	if (*ret_rootfd < 0) {
		if (*ret_rootfd == -ENOENT)
			rt_error("container '%s' does not exist", rt.id);
		return -1;
	}
	*ret_dirfd = rt_open_dir(*ret_rootfd, rt.id, false);
	if (*ret_dirfd < 0)
		return -1;
	return rt_load(*ret_dirfd, st) ? -1 : 0;
}

int rt_remove_dir(int rootfd, const char *id)
{
	static const char *const files[] = { "state.json", "state.json.tmp", "exec.fifo" };
	int fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		for (size_t i = 0; i < ARRAY_SIZE(files); i++)
			unlinkat(fd, files[i], 0);
		close(fd);
	}
	if (unlinkat(rootfd, id, AT_REMOVEDIR) < 0 && errno != ENOENT) {
		rt_error("remove %s/%s: %s", rt.root, id, strerror(errno));
		return -errno;
	}
	return 0;
}

/* ---- status ---- */

uint64_t rt_pid_start(pid_t pid)
{
	char path[64], buf[1024], *p, *tok, *save = NULL;
	_cleanup_close_ int fd = -1;
	const char *end;
	uint64_t start;
	ssize_t n;
	char st;
	int field;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* after the command's ")" (which may hold spaces and parentheses):
	 * state (field 3) ... starttime (field 22) */
	p = strrchr(buf, ')');
	if (!p || !(tok = strtok_r(p + 1, " \n", &save)))
		return 0;
	st = tok[0];
	for (field = 3; field < 22 && tok; field++)
		tok = strtok_r(NULL, " \n", &save);
	if (!tok || cgfs_parse_u64(tok, &end, &start) || *end)
		return 0;
	return st == 'Z' || st == 'X' ? 0 : start;
}

bool rt_alive(const struct rt_state *s)
{
	return s->pid > 0 && s->pid_start && rt_pid_start(s->pid) == s->pid_start;
}

int rt_open_cgroup(const struct rt_state *s)
{
	_cleanup_free_ char *mount = NULL;
	struct actuator a = { 0 };
	struct stat st;
	int fd, r;

	r = cgfs_find_v2_mount(&mount);
	if (r < 0)
		return r;
	a.mount_fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a.mount_fd < 0)
		return -errno;
	fd = act_open_cgroup(&a, s->cgroup);
	close(a.mount_fd);
	if (fd < 0)
		return fd;
	if (s->cgroup_id && (fstat(fd, &st) < 0 || (uint64_t)st.st_ino != s->cgroup_id)) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

enum rt_status rt_status(int dirfd, const struct rt_state *s)
{
	char buf[256];
	int fd;

	if (!rt_alive(s))
		return s->pid ? RT_STOPPED : RT_CREATING;
	if (!faccessat(dirfd, "exec.fifo", F_OK, AT_SYMLINK_NOFOLLOW))
		return RT_CREATED;
	fd = rt_open_cgroup(s);
	if (fd >= 0) {
		bool frozen = cgfs_read_at(fd, "cgroup.events", buf, sizeof(buf)) >= 0 &&
			      strstr(buf, "frozen 1");

		close(fd);
		if (frozen)
			return RT_PAUSED;
	}
	return RT_RUNNING;
}

int rt_write_file(const char *path, const char *text)
{
	char tmp[4200];
	size_t len = strlen(text);
	int fd, r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		r = -errno;
	if (fd >= 0)
		close(fd);
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

void rt_add_knob(struct oci_request *q, const char *knob, const char *fmt, ...)
{
	va_list ap;

	if (q->nknobs >= ARRAY_SIZE(q->knobs))
		return;
	snprintf(q->knobs[q->nknobs].knob, sizeof(q->knobs[0].knob), "%s", knob);
	va_start(ap, fmt);
	vsnprintf(q->knobs[q->nknobs].value, sizeof(q->knobs[0].value), fmt, ap);
	va_end(ap);
	q->nknobs++;
}
