// SPDX-License-Identifier: Apache-2.0
/* The audit log: one JSON line per act_record, appended, size-capped, rotated. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "cgroupfs.h"
#include "proto.h"
#include "util.h"

#define AUDIT_NAME "audit.log"
#define AUDIT_MIN_BYTES 4096
#define AUDIT_KEEP_MAX 99

struct audit_log {
	int dirfd;
	int fd;
	uint64_t max_bytes;
	unsigned keep;
	uint64_t size;
	uint64_t rotations;
	uint64_t failures;
};

/* O_NONBLOCK: a FIFO planted in the directory fails with ENXIO instead of blocking. */
static int open_file(int dirfd, uint64_t *ret_size)
{
	_cleanup_close_ int fd =
		openat(dirfd, AUDIT_NAME,
		       O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0640);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*ret_size = (uint64_t)st.st_size;
	return TAKE_FD(fd);
}

int audit_open(const char *dir, uint64_t max_bytes, unsigned keep, struct audit_log **ret)
{
	_cleanup_close_ int dirfd = -1, fd = -1;
	struct audit_log *l;
	uint64_t size = 0;

	if (!dir || !ret || max_bytes < AUDIT_MIN_BYTES || keep > AUDIT_KEEP_MAX)
		return -EINVAL;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	fd = open_file(dirfd, &size);
	if (fd < 0)
		return fd;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	*l = (struct audit_log){
		.dirfd = TAKE_FD(dirfd),
		.fd = TAKE_FD(fd),
		.max_bytes = max_bytes,
		.keep = keep,
		.size = size,
	};
	*ret = l;
	return 0;
}

void audit_close(struct audit_log *l)
{
	if (!l)
		return;
	closep(&l->fd);
	closep(&l->dirfd);
	free(l);
}

/*
 * audit.log.(k) -> .(k+1) from the oldest down, then audit.log -> .1 (the
 * rename onto .KEEP drops the oldest); keep 0: the file is removed. A step
 * that fails stops the rotation before anything is lost: the current file
 * stays open and grows past max_bytes until a later rotation succeeds.
 */
static int rotate(struct audit_log *l)
{
	char from[32], to[32];
	uint64_t size = 0;
	int fd;

	if (!l->keep) {
		if (unlinkat(l->dirfd, AUDIT_NAME, 0) < 0 && errno != ENOENT)
			return -errno;
	} else {
		for (unsigned k = l->keep - 1; k >= 1; k--) {
			snprintf(from, sizeof(from), AUDIT_NAME ".%u", k);
			snprintf(to, sizeof(to), AUDIT_NAME ".%u", k + 1);
			if (renameat(l->dirfd, from, l->dirfd, to) < 0 && errno != ENOENT)
				return -errno;
		}
		if (renameat(l->dirfd, AUDIT_NAME, l->dirfd, AUDIT_NAME ".1") < 0 &&
		    errno != ENOENT)
			return -errno;
	}
	fd = open_file(l->dirfd, &size);
	if (fd < 0)
		return fd;
	close(l->fd);
	l->fd = fd;
	l->size = size;
	l->rotations++;
	return 0;
}

static int append_line(struct audit_log *l, const char *buf, size_t want)
{
	ssize_t n = write(l->fd, buf, want), m;
	int r;

	if (n < 0)
		return -errno;
	if ((size_t)n == want) {
		l->size += want;
		return 0;
	}
	/* cut short: writing the rest tells why (ENOSPC, EFBIG) */
	m = write(l->fd, buf + n, want - (size_t)n);
	if (m >= 0 && (size_t)n + (size_t)m == want) {
		l->size += want;
		return 0;
	}
	r = m < 0 ? -errno : -ENOSPC;
	/* drop the part written, so that the next line starts a line */
	if (ftruncate(l->fd, (off_t)l->size) < 0)
		l->size += (size_t)n + (m > 0 ? (size_t)m : 0);
	return r;
}

int audit_append_lines(struct audit_log *l, const char *const *lines, unsigned n)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, at = 0;
	int r = 0, rot = 0;

	if (!l || (n && !lines))
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		if (!lines[i])
			return -EINVAL;
		/* one record, one line */
		if (strchr(lines[i], '\n')) {
			l->failures++;
			return -EINVAL;
		}
		len += strlen(lines[i]) + 1;
	}
	if (!n)
		return 0;
	buf = malloc(len);
	if (!buf) {
		l->failures++;
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		size_t m = strlen(lines[i]);

		memcpy(buf + at, lines[i], m);
		at += m;
		buf[at++] = '\n';
	}
	if (l->size && l->size + len > l->max_bytes)
		rot = rotate(l);
	/* a failed rotation still leaves a file to write to: the lines are not lost */
	r = append_line(l, buf, len);
	if (r || rot) {
		l->failures++;
		return r ? r : rot;
	}
	return 0;
}

int audit_append(struct audit_log *l, const char *line)
{
	return audit_append_lines(l, &line, 1);
}

char *audit_format(const struct act_record *r)
{
	_cleanup_free_ char *display = NULL;
	const char *cgroup = r && r->path ? r->path : "";
	char when[64], *line;
	json_object *o;
	struct tm tm;
	time_t sec;
	size_t n;
	int k;

	if (!r)
		return NULL;
	sec = (time_t)(r->time_ns / 1000000000ULL);
	if (!gmtime_r(&sec, &tm))
		return NULL;
	n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - n, ".%03uZ",
		 (unsigned)(r->time_ns % 1000000000ULL / 1000000ULL));
	/* cgroup names are bytes: the display form, as in /metrics and replies */
	k = cgfs_display_path(cgroup, &display);
	if (k < 0)
		return NULL;

	o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "cgroup", json_object_new_string(display ? display : cgroup));
	json_object_object_add(o, "id", json_object_new_uint64(r->id));
	json_object_object_add(o, "knob", json_object_new_string(r->knob ? r->knob : ""));
	json_object_object_add(o, "old", json_object_new_string(r->old_value ? r->old_value : ""));
	json_object_object_add(o, "new", json_object_new_string(r->new_value ? r->new_value : ""));
	json_object_object_add(o, "status", json_object_new_string(act_status_name(r->status)));
	if (r->status == ACT_FAILED)
		json_object_object_add(
			o, "error",
			json_object_new_string(strerror(r->err < 0 ? -r->err : r->err)));
	json_object_object_add(o, "reason", json_object_new_string(r->reason ? r->reason : ""));
	line = proto_line(o);
	json_object_put(o);
	if (line) {
		n = strlen(line);
		if (n && line[n - 1] == '\n')
			line[n - 1] = 0;
	}
	return line;
}

uint64_t audit_size(const struct audit_log *l)
{
	return l ? l->size : 0;
}

uint64_t audit_rotations(const struct audit_log *l)
{
	return l ? l->rotations : 0;
}

uint64_t audit_failures(const struct audit_log *l)
{
	return l ? l->failures : 0;
}
