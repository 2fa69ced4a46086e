// SPDX-License-Identifier: Apache-2.0
/*
 * Cgroup lifecycle: make a cgroup (tagged with its owner before anything else
 * is done with it), remove only what carries our tag, and the enable-only
 * writes to the ancestors' cgroup.subtree_control that a new cgroup needs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "actuate.h"
#include "cgroupfs.h"
#include "util.h"

#define SUBTREE "cgroup.subtree_control"
/* Longest owner tag act_rmdir() compares; a longer one is not ours. */
#define OWNER_MAX 256

static bool allowed(const struct actuator *a, const char *path)
{
	return !a->in_manage || a->in_manage(a->manage_ud, path);
}

/* Split normalised @path into its parent (a new string) and its last name. */
static int split(const char *path, char **ret_parent, const char **ret_name)
{
	const char *slash = strrchr(path, '/');
	char *parent = slash ? strndup(path, (size_t)(slash - path)) : strdup("");

	if (!parent)
		return -ENOMEM;
	*ret_parent = parent;
	*ret_name = slash ? slash + 1 : path;
	return 0;
}

/* Normalise a caller's path; -EPERM for the root, which is never made or removed. */
static int norm_nonroot(const char *path, char **ret)
{
	char *norm = NULL;
	int r;

	if (!path)
		return -EINVAL;
	r = cgfs_normalize_path(path, &norm, NULL);
	if (r)
		return r;
	if (!*norm) {
		free(norm);
		return -EPERM;
	}
	*ret = norm;
	return 0;
}

static int mkdir_norm(const struct actuator *a, const char *path, const char *owner,
		      uint64_t *ret_id, int *ret_fd)
{
	_cleanup_free_ char *parent = NULL;
	_cleanup_close_ int pfd = -1, fd = -1;
	const char *name;
	struct stat st;
	int r;

	if (!allowed(a, path))
		return -EPERM;
	r = split(path, &parent, &name);
	if (r)
		return r;
	pfd = act_open_cgroup(a, parent);
	/* in dry run the parents were not made either */
	if (pfd == -ENOENT && a->dry_run) {
		if (ret_id)
			*ret_id = 0;
		return 0;
	}
	if (pfd < 0)
		return pfd;
	if (a->dry_run) {
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return -EEXIST;
		if (ret_id)
			*ret_id = 0;
		return 0;
	}
	if (mkdirat(pfd, name, 0755) < 0)
		return -errno;
	fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fsetxattr(fd, ACT_OWNER_XATTR, owner, strlen(owner), XATTR_CREATE) < 0 ||
	    fstat(fd, &st) < 0) {
		/* an untagged cgroup would be one cgpilot could never remove */
		r = -errno;
		unlinkat(pfd, name, AT_REMOVEDIR);
		return r;
	}
	if (ret_id)
		*ret_id = (uint64_t)st.st_ino;
	if (ret_fd)
		*ret_fd = TAKE_FD(fd);
	return 0;
}

int act_mkdir_open(const struct actuator *a, const char *path, const char *owner, uint64_t *ret_id,
		   int *ret_fd)
{
	_cleanup_free_ char *norm = NULL;
	int r;

	if (ret_fd)
		*ret_fd = -1;
	if (!a || !owner || !*owner)
		return -EINVAL;
	r = norm_nonroot(path, &norm);
	if (r)
		return r;
	return mkdir_norm(a, norm, owner, ret_id, ret_fd);
}

int act_mkdir(const struct actuator *a, const char *path, const char *owner, uint64_t *ret_id)
{
	return act_mkdir_open(a, path, owner, ret_id, NULL);
}

int act_mkdir_parents(const struct actuator *a, const char *path, const char *owner)
{
	_cleanup_free_ char *norm = NULL;
	bool missing = false;
	int r;

	if (!a || !owner || !*owner)
		return -EINVAL;
	r = norm_nonroot(path, &norm);
	if (r)
		return r;
	for (char *s = strchr(norm, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		if (!missing) {
			int fd = act_open_cgroup(a, norm);

			if (fd >= 0)
				close(fd);
			else if (fd != -ENOENT)
				r = fd;
			else
				missing = true;
		}
		if (!r && missing) {
			/* in dry run nothing is made, so everything below is missing too */
			if (a->dry_run)
				r = allowed(a, norm) ? 0 : -EPERM;
			else
				r = mkdir_norm(a, norm, owner, NULL, NULL);
			if (r == -EEXIST)
				r = 0;
		}
		*s = '/';
		if (r)
			return r;
	}
	return 0;
}

int act_owner(const struct actuator *a, const char *path, char *buf, size_t len)
{
	_cleanup_free_ char *norm = NULL;
	_cleanup_close_ int fd = -1;
	ssize_t n;
	int r;

	if (!a || !path || !buf || !len)
		return -EINVAL;
	r = cgfs_normalize_path(path, &norm, NULL);
	if (r)
		return r;
	fd = act_open_cgroup(a, norm);
	if (fd < 0)
		return fd;
	n = fgetxattr(fd, ACT_OWNER_XATTR, buf, len - 1);
	if (n < 0)
		return errno == ENOTSUP ? -ENODATA : -errno;
	buf[n] = 0;
	return (int)n;
}

int act_take_over(const struct actuator *a, const char *path, uint64_t id, const char *from,
		  const char *to, int *ret_fd)
{
	_cleanup_free_ char *norm = NULL;
	_cleanup_close_ int fd = -1;
	char tag[128];
	struct stat st;
	ssize_t n;
	int r;

	*ret_fd = -1;
	r = cgfs_normalize_path(path, &norm, NULL);
	if (r)
		return r;
	if (!norm[0] || (a->in_manage && !a->in_manage(a->manage_ud, norm)))
		return -EPERM;
	fd = act_open_cgroup(a, norm);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (id && (uint64_t)st.st_ino != id)
		return -ESTALE;
	n = fgetxattr(fd, ACT_OWNER_XATTR, tag, sizeof(tag) - 1);
	if (n < 0)
		return -EPERM;
	tag[n] = 0;
	if (strcmp(tag, from))
		return -EPERM;
	if (!a->dry_run && fsetxattr(fd, ACT_OWNER_XATTR, to, strlen(to), XATTR_REPLACE) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int act_set_xattr(int fd, const char *name, const char *value)
{
	return fsetxattr(fd, name, value, strlen(value), 0) < 0 ? -errno : 0;
}

int act_get_xattr(int fd, const char *name, char *buf, size_t len)
{
	ssize_t n;

	if (!len)
		return -EINVAL;
	n = fgetxattr(fd, name, buf, len - 1);
	if (n < 0)
		return errno == ENOTSUP ? -ENODATA : -errno;
	buf[n] = 0;
	return (int)n;
}

/*
 * The empty cgroups below the one open at @fd, deepest first (a workload's
 * own children: a container's systemd or engine makes them). Bounded depth;
 * -EBUSY while one still has processes.
 */
static int rmdir_children(int fd, unsigned depth)
{
	_cleanup_close_ int dfd = -1;
	struct dirent *de;
	DIR *dir;
	int r = 0;

	if (depth > 32)
		return -ELOOP;
	dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dfd < 0)
		return -errno;
	dir = fdopendir(dfd);
	if (!dir)
		return -errno;
	/* the DIR owns it; _cleanup_close_ reads dfd, which the analyzer does not see */
	dfd = -1; // NOLINT(clang-analyzer-deadcode.DeadStores)
	while (!r && (de = readdir(dir))) {
		int cfd;

		if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		cfd = openat(dirfd(dir), de->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0) {
			r = errno == ENOENT ? 0 : -errno;
			continue;
		}
		r = rmdir_children(cfd, depth + 1);
		close(cfd);
		if (!r && unlinkat(dirfd(dir), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			r = -errno;
	}
	closedir(dir);
	return r;
}

static int rmdir_impl(const struct actuator *a, const char *path, uint64_t id, const char *owner,
		      bool tree)
{
	_cleanup_free_ char *norm = NULL, *parent = NULL;
	_cleanup_close_ int pfd = -1, fd = -1;
	char tag[OWNER_MAX];
	const char *name;
	struct stat st;
	ssize_t n;
	int r;

	if (!a || !owner || !*owner)
		return -EINVAL;
	r = norm_nonroot(path, &norm);
	if (r)
		return r;
	r = split(norm, &parent, &name);
	if (r)
		return r;
	pfd = act_open_cgroup(a, parent);
	if (pfd < 0)
		return pfd;
	fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = fgetxattr(fd, ACT_OWNER_XATTR, tag, sizeof(tag));
	if (n < 0 && errno != ENODATA && errno != ENOTSUP && errno != ERANGE)
		return -errno;
	/* untagged, too long a tag, or another's: not cgpilot's (this owner's) to delete */
	if (n < 0 || (size_t)n != strlen(owner) || memcmp(tag, owner, (size_t)n))
		return -EPERM;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (id && (uint64_t)st.st_ino != id)
		return -ESTALE;
	if (a->dry_run)
		return 0;
	if (tree) {
		r = rmdir_children(fd, 0);
		if (r)
			return r;
	}
	if (unlinkat(pfd, name, AT_REMOVEDIR) < 0)
		return -errno;
	return 0;
}

int act_rmdir(const struct actuator *a, const char *path, uint64_t id, const char *owner)
{
	return rmdir_impl(a, path, id, owner, false);
}

int act_rmdir_tree(const struct actuator *a, const char *path, uint64_t id, const char *owner)
{
	return rmdir_impl(a, path, id, owner, true);
}

/* ---- controllers ---- */

static int undo_find(struct act_undo *undo, const char *path)
{
	for (unsigned i = 0; i < undo->n; i++)
		if (streq(undo->e[i].path, path))
			return (int)i;
	return -1;
}

/* Room for one more entry, so that recording an addition cannot fail after the write. */
static int undo_reserve(struct act_undo *undo)
{
	struct act_undo_entry *e;
	unsigned cap;

	if (undo->n < undo->cap)
		return 0;
	cap = undo->cap ? undo->cap * 2 : 8;
	e = realloc(undo->e, cap * sizeof(*e));
	if (!e)
		return -ENOMEM;
	undo->e = e;
	undo->cap = cap;
	return 0;
}

/* Enable what @mask lacks in the cgroup.subtree_control of @anc (open as @fd). */
static int enable_at(const struct actuator *a, int fd, uint64_t id, const char *anc, unsigned mask,
		     struct act_undo *undo, const char *reason, struct act_result *res)
{
	char cur[1024], val[32];
	unsigned missing;
	int r, e;

	r = act__read(fd, SUBTREE, cur, sizeof(cur));
	if (r < 0) {
		act__set_msg(res, "cannot read %s of cgroup '%s': %s", SUBTREE, anc, strerror(-r));
		return r;
	}
	missing = mask & ~cgfs_parse_controllers(cur);
	if (!missing)
		return 0;
	e = undo_find(undo, anc);
	if (e < 0 && !a->dry_run) {
		r = undo_reserve(undo);
		if (r)
			return r;
	}
	for (unsigned i = 0; i < cgfs_n_controllers; i++) {
		unsigned bit = cgfs_controller_bits[i];

		if (!(missing & bit))
			continue;
		snprintf(val, sizeof(val), "+%s", cgfs_controller_names[i]);
		if (a->dry_run) {
			act__record(a, anc, id, SUBTREE, cur, val, reason, ACT_DRY_RUN, 0);
			continue;
		}
		r = act__write(fd, SUBTREE, val);
		act__record(a, anc, id, SUBTREE, cur, val, reason, r ? ACT_FAILED : ACT_WRITTEN, r);
		if (r) {
			act__set_msg(res, "cannot enable %s in cgroup '%s' (%s): %s",
				     cgfs_controller_names[i], anc, SUBTREE, strerror(-r));
			return r;
		}
		if (e < 0) {
			e = (int)undo->n++;
			snprintf(undo->e[e].path, sizeof(undo->e[e].path), "%s", anc);
			undo->e[e].added = 0;
		}
		undo->e[e].added |= bit;
		if (act__read(fd, SUBTREE, cur, sizeof(cur)) < 0)
			cur[0] = 0;
	}
	return 0;
}

static int enable_controllers(const struct actuator *a, const char *path, unsigned mask,
			      struct act_undo *undo, const char *reason, struct act_result *res)
{
	_cleanup_free_ char *norm = NULL;
	struct act_result dummy;
	unsigned all = 0;
	size_t end = 0;
	int r;

	if (!res)
		res = &dummy;
	*res = (struct act_result){ .failed = -1 };
	if (!a || !path || !undo) {
		act__set_msg(res, "act_enable_controllers: missing argument");
		return res->err = -EINVAL;
	}
	r = cgfs_normalize_path(path, &norm, NULL);
	if (r) {
		act__set_msg(res, "cgroup path '%s' is not valid", path);
		return res->err = r;
	}
	for (unsigned i = 0; i < cgfs_n_controllers; i++)
		all |= cgfs_controller_bits[i];
	mask &= all;
	/* the proper ancestors, root ("") first: each prefix ending before a '/' */
	for (bool first = true; mask && *norm; first = false) {
		_cleanup_close_ int fd = -1;
		struct stat st;
		char saved;

		if (!first) {
			const char *s = strchr(norm + end + 1, '/');

			if (!s)
				break;
			end = (size_t)(s - norm);
		}
		saved = norm[end];
		norm[end] = 0;
		if (end >= sizeof(undo->e[0].path)) {
			act__set_msg(res, "cgroup path '%s' too long to remember", norm);
			r = -ENAMETOOLONG;
		} else if ((fd = act_open_cgroup(a, norm)) < 0) {
			act__set_msg(res, "cannot open cgroup '%s': %s", norm, strerror(-fd));
			r = fd;
		} else if (fstat(fd, &st) < 0) {
			r = -errno;
			act__set_msg(res, "cannot stat cgroup '%s': %s", norm, strerror(-r));
		} else {
			r = enable_at(a, fd, (uint64_t)st.st_ino, norm, mask, undo, reason, res);
		}
		norm[end] = saved;
		if (r)
			return res->err = r;
	}
	return 0;
}

int act_enable_controllers(const struct actuator *a, const char *path, unsigned mask,
			   struct act_undo *undo, const char *reason, struct act_result *res)
{
	int r = enable_controllers(a, path, mask, undo, reason, res);

	if (a)
		act__recorded(a);
	return r;
}

static unsigned depth(const char *path)
{
	unsigned d = *path ? 1 : 0;

	for (; *path; path++)
		d += *path == '/';
	return d;
}

static void undo_one(const struct actuator *a, struct act_undo_entry *e, const char *reason)
{
	_cleanup_close_ int fd = act_open_cgroup(a, e->path);
	char cur[1024], val[32];
	uint64_t id = 0;
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0)
		id = (uint64_t)st.st_ino;
	for (unsigned i = cgfs_n_controllers; i-- > 0;) {
		unsigned bit = cgfs_controller_bits[i];
		int r;

		if (!(e->added & bit))
			continue;
		snprintf(val, sizeof(val), "-%s", cgfs_controller_names[i]);
		if (fd < 0 || act__read(fd, SUBTREE, cur, sizeof(cur)) < 0)
			cur[0] = 0;
		if (a->dry_run) {
			act__record(a, e->path, id, SUBTREE, cur, val, reason, ACT_DRY_RUN, 0);
			continue;
		}
		/* EBUSY: a child still has it enabled; it stays, and stays in @undo */
		r = fd < 0 ? fd : act__write(fd, SUBTREE, val);
		act__record(a, e->path, id, SUBTREE, cur, val, reason, r ? ACT_FAILED : ACT_WRITTEN,
			    r);
		if (!r)
			e->added &= ~bit;
	}
}

void act_undo(const struct actuator *a, struct act_undo *undo, const char *reason)
{
	unsigned maxd = 0, w = 0;

	if (!a || !undo || !undo->n)
		return;
	for (unsigned i = 0; i < undo->n; i++)
		if (depth(undo->e[i].path) > maxd)
			maxd = depth(undo->e[i].path);
	/* deepest first: a parent cannot drop a controller a child still has */
	for (unsigned d = maxd + 1; d-- > 0;)
		for (unsigned i = undo->n; i-- > 0;)
			if (depth(undo->e[i].path) == d)
				undo_one(a, &undo->e[i], reason);
	act__recorded(a);
	for (unsigned i = 0; i < undo->n; i++)
		if (undo->e[i].added)
			undo->e[w++] = undo->e[i];
	undo->n = w;
}

void act_undo_free(struct act_undo *undo)
{
	if (!undo)
		return;
	free(undo->e);
	*undo = (struct act_undo){ 0 };
}

/* The knobs DESIGN.md's enable-only writes may touch outside the manage set. */
static bool enable_only_knob(const char *knob)
{
	return streq(knob, "memory.min") || streq(knob, "memory.low") || streq(knob, "cpuset.cpus");
}

int act_enable_only(const struct actuator *a, const char *path, const char *knob, const char *val,
		    const char *reason, char *old, size_t oldlen, struct act_result *res)
{
	_cleanup_free_ char *norm = NULL;
	_cleanup_close_ int fd = -1;
	struct act_result dummy;
	char err[128];
	struct stat st;
	int r;

	if (!res)
		res = &dummy;
	*res = (struct act_result){ .failed = -1 };
	if (!a || !path || !knob || !val || !old || oldlen < 24 || !enable_only_knob(knob)) {
		act__set_msg(res, "act_enable_only: bad argument");
		return res->err = -EINVAL;
	}
	old[0] = 0;
	r = act_check(knob, val, err, sizeof(err));
	if (r) {
		act__set_msg(res, "cgroup '%s': %s: nothing written", path, err);
		return res->err = -EINVAL;
	}
	r = norm_nonroot(path, &norm);
	if (r) {
		act__set_msg(res, "cgroup path '%s' is not valid (or the root)", path);
		return res->err = r;
	}
	fd = act_open_cgroup(a, norm);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = fd < 0 ? fd : -errno;
		act__set_msg(res, "cannot open cgroup '%s': %s", norm, strerror(-r));
		return res->err = r;
	}
	r = act__read(fd, knob, old, oldlen);
	if (r < 0) {
		act__set_msg(res, "cannot read %s of cgroup '%s': %s", knob, norm, strerror(-r));
		return res->err = r;
	}
	if (streq(old, val))
		return 0;
	if (a->dry_run) {
		act__record(a, norm, (uint64_t)st.st_ino, knob, old, val, reason, ACT_DRY_RUN, 0);
		act__recorded(a);
		return 0;
	}
	r = act__write(fd, knob, val);
	act__record(a, norm, (uint64_t)st.st_ino, knob, old, val, reason,
		    r ? ACT_FAILED : ACT_WRITTEN, r);
	act__recorded(a);
	if (r) {
		act__set_msg(res, "cannot write %s '%s' of cgroup '%s': %s", knob, val, norm,
			     strerror(-r));
		return res->err = r;
	}
	res->written = 1;
	return 0;
}

int act_protect(const struct actuator *a, const char *path, const char *knob, uint64_t value,
		const char *reason, char *old, size_t oldlen, struct act_result *res)
{
	char val[24];

	if (!knob || (!streq(knob, "memory.min") && !streq(knob, "memory.low"))) {
		if (res) {
			*res = (struct act_result){ .failed = -1 };
			act__set_msg(res, "act_protect: %s is no protection knob",
				     knob ? knob : "");
			res->err = -EINVAL;
		}
		return -EINVAL;
	}
	snprintf(val, sizeof(val), "%" PRIu64, value);
	return act_enable_only(a, path, knob, val, reason, old, oldlen, res);
}

static int psi_write(int fd, uint32_t stall_us, uint32_t window_us)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "some %" PRIu32 " %" PRIu32, stall_us, window_us);

	/* the kernel wants the trailing NUL in the write */
	return write(fd, buf, (size_t)n + 1) == n + 1 ? 0 : -errno;
}

int act_psi_trigger(const struct actuator *a, const char *path, const char *file, uint32_t stall_us,
		    uint32_t window_us, uint32_t *ret_window_us)
{
	_cleanup_free_ char *norm = NULL;
	_cleanup_close_ int dfd = -1, fd = -1;
	uint32_t w = window_us;
	int r;

	if (!a || !path || !file || !stall_us || stall_us >= window_us ||
	    (!streq(file, "memory.pressure") && !streq(file, "io.pressure") &&
	     !streq(file, "cpu.pressure")))
		return -EINVAL;
	r = cgfs_normalize_path(path, &norm, NULL);
	if (r)
		return r;
	dfd = act_open_cgroup(a, norm);
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, file, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	r = psi_write(fd, stall_us, w);
	if ((r == -EPERM || r == -EINVAL) && w % 2000000) {
		/* unprivileged triggers: windows of whole 2 s only */
		uint64_t st = (uint64_t)stall_us * 2000000 / window_us;

		w = 2000000;
		r = psi_write(fd, st ? (uint32_t)st : 1, w);
	}
	if (r)
		return r;
	if (ret_window_us)
		*ret_window_us = w;
	return TAKE_FD(fd);
}
