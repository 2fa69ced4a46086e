// SPDX-License-Identifier: Apache-2.0
/*
 * act_apply(): check everything, open the cgroup beneath the mount, read the
 * old values, write in order, roll back in reverse on failure, record each
 * step. The helpers at the top (open beneath, one write, one read, one
 * record) are shared with cgroup.c, so no cgroup file is written elsewhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "actuate.h"
#include "cgroupfs.h"
#include "topology.h"
#include "util.h"

/* Room for an old value: several io.max lines fit, far more than any other knob needs. */
#define OLD_MAX 4096

/* ---- helpers shared by lib/actuate/ ---- */

static bool has_dotdot(const char *path)
{
	for (const char *p = path; *p;) {
		const char *e = strchrnul(p, '/');

		if (e - p == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}

/* Without openat2 (before 5.6): one component at a time, none a symlink. */
static int open_walk(int mount_fd, const char *path)
{
	_cleanup_close_ int fd = openat(mount_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char comp[NAME_MAX + 1];

	if (fd < 0)
		return -errno;
	for (const char *p = path; *p;) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		int next;

		if (n > NAME_MAX)
			return -ENAMETOOLONG;
		if (n && !(n == 1 && p[0] == '.')) {
			memcpy(comp, p, n);
			comp[n] = 0;
			next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next < 0) {
				int r = -errno;
				struct stat st;

				/* a symlink gives ENOTDIR with O_DIRECTORY: say ELOOP, as openat2 does */
				if (r == -ENOTDIR && !fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) &&
				    S_ISLNK(st.st_mode))
					r = -ELOOP;
				return r;
			}
			close(fd);
			fd = next;
		}
		p = *e ? e + 1 : e;
	}
	return TAKE_FD(fd);
}

int act_open_cgroup(const struct actuator *a, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	if (!a || !path)
		return -EINVAL;
	if (a->mount_fd < 0)
		return -EBADF;
	if (has_dotdot(path))
		return -EINVAL;
	while (*path == '/')
		path++;
	fd = syscall(SYS_openat2, a->mount_fd, *path ? path : ".", &how, sizeof(how));
	if (fd >= 0)
		return (int)fd;
	if (errno != ENOSYS)
		return -errno;
	return open_walk(a->mount_fd, path);
}

static bool plain_name(const char *file)
{
	return file && *file && !strchr(file, '/') && !streq(file, ".") && !streq(file, "..");
}

int act__write(int dirfd, const char *file, const char *value)
{
	char buf[ACT_VALUE_MAX + 1];
	size_t len;
	ssize_t n;
	_cleanup_close_ int fd = -1;

	if (!plain_name(file) || !value)
		return -EINVAL;
	len = strlen(value);
	if (len >= ACT_VALUE_MAX)
		return -EINVAL;
	/* as echo does: kernfs parses each write() whole, and "" needs a byte to be written */
	memcpy(buf, value, len);
	buf[len++] = '\n';
	/* O_TRUNC is what a shell's '>' does; kernfs ignores it, a test tree needs it */
	fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_TRUNC);
	if (fd < 0)
		return -errno;
	n = write(fd, buf, len);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int act__read(int dirfd, const char *file, char *buf, size_t len)
{
	_cleanup_close_ int fd = -1;
	size_t w = 0;
	char extra;

	if (!plain_name(file) || !buf || !len)
		return -EINVAL;
	fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf + w, len - 1 - w);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!n)
			break;
		w += (size_t)n;
		if (w == len - 1) {
			/* full: only newlines may follow; a value cut short is none to restore */
			while ((n = read(fd, &extra, 1)) == 1 && extra == '\n')
				;
			if (n != 0)
				return n < 0 ? -errno : -EFBIG;
			break;
		}
	}
	while (w && buf[w - 1] == '\n')
		w--;
	buf[w] = 0;
	return (int)w;
}

void act__record(const struct actuator *a, const char *path, uint64_t id, const char *knob,
		 const char *old_value, const char *new_value, const char *reason,
		 enum act_status status, int err)
{
	struct timespec ts;
	struct act_record r;

	if (!a->record)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	r = (struct act_record){
		.time_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec,
		.path = path,
		.id = id,
		.knob = knob,
		.old_value = old_value ? old_value : "",
		.new_value = new_value ? new_value : "",
		.reason = reason ? reason : "",
		.status = status,
		.err = err,
	};
	a->record(a->record_ud, &r);
}

void act__recorded(const struct actuator *a)
{
	if (a->recorded)
		a->recorded(a->record_ud);
}

/* ---- act_apply ---- */

void act__set_msg(struct act_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
add_msg(struct act_result *res, const char *fmt, ...)
{
	size_t w = strlen(res->msg);
	va_list ap;

	if (w >= sizeof(res->msg) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(res->msg + w, sizeof(res->msg) - w, fmt, ap);
	va_end(ap);
}

static int fail(struct act_result *res, int i, int r)
{
	res->failed = i;
	res->err = r;
	return r;
}

bool act_word_in(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; *p;) {
		size_t k;

		p += strspn(p, " \t\n");
		k = strcspn(p, " \t\n");
		if (k == n && !strncmp(p, word, n))
			return true;
		p += k;
	}
	return false;
}

static bool same_trimmed(const char *a, const char *b)
{
	size_t na, nb;

	a += strspn(a, " \t\n");
	b += strspn(b, " \t\n");
	na = strlen(a);
	nb = strlen(b);
	while (na && strchr(" \t\n", a[na - 1]))
		na--;
	while (nb && strchr(" \t\n", b[nb - 1]))
		nb--;
	return na == nb && !memcmp(a, b, na);
}

/*
 * Files with one line per device: the old text is given back line by line,
 * and a device the new value named that had no line before gets its reset.
 */
static const struct {
	const char *file;
	const char *reset;
} per_device[] = {
	{ "io.max", "rbps=max wbps=max riops=max wiops=max" },
	{ "io.latency", "target=max" },
	{ "io.weight", "default" },
};

/* Length of a leading "MAJ:MIN" followed by a space, 0 if there is none. */
static size_t dev_prefix(const char *s)
{
	size_t n = strspn(s, "0123456789");

	if (!n || s[n] != ':')
		return 0;
	n++;
	if (!strspn(s + n, "0123456789"))
		return 0;
	n += strspn(s + n, "0123456789");
	return s[n] == ' ' ? n : 0;
}

static bool has_line_for(const char *text, const char *dev, size_t n)
{
	for (const char *p = text; *p;) {
		if (!strncmp(p, dev, n) && p[n] == ' ')
			return true;
		p = strchrnul(p, '\n');
		if (*p)
			p++;
	}
	return false;
}

static int write_all_fd(int fd, const char *s, size_t n)
{
	ssize_t w = write(fd, s, n);

	if (w < 0)
		return -errno;
	return (size_t)w == n ? 0 : -EIO;
}

static int restore_per_device(int dirfd, const char *file, const char *reset, const char *old,
			      const char *now)
{
	_cleanup_close_ int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_TRUNC);
	char line[ACT_VALUE_MAX + 64];
	size_t n = dev_prefix(now);
	int r;

	if (fd < 0)
		return -errno;
	if (n && !has_line_for(old, now, n)) {
		r = snprintf(line, sizeof(line), "%.*s %s\n", (int)n, now, reset);
		r = write_all_fd(fd, line, (size_t)r);
		if (r)
			return r;
	}
	for (const char *p = old; *p;) {
		const char *e = strchrnul(p, '\n');
		size_t k = (size_t)(e - p);

		if (k && k < sizeof(line) - 1) {
			memcpy(line, p, k);
			line[k] = '\n';
			r = write_all_fd(fd, line, k + 1);
			if (r)
				return r;
		}
		p = *e ? e + 1 : e;
	}
	return 0;
}

/* Give @file its @old value back (it now holds @now, which act_apply wrote). */
static int restore(int dirfd, const char *file, const char *old, const char *now)
{
	char word[64];

	for (size_t i = 0; i < ARRAY_SIZE(per_device); i++)
		if (streq(file, per_device[i].file))
			return restore_per_device(dirfd, file, per_device[i].reset, old, now);
	/* reads as "root invalid (reason)" when the kernel could not make it one */
	if (streq(file, "cpuset.cpus.partition")) {
		snprintf(word, sizeof(word), "%.*s", (int)strcspn(old, " "), old);
		return act__write(dirfd, file, word);
	}
	return act__write(dirfd, file, old);
}

struct apply_ctx {
	const struct actuator *a;
	const char *path;
	uint64_t id;
	const struct act_write *w;
	const char *reason;
	char *old; /* n slots of OLD_MAX */
	int *old_err; /* 0 when read */
};

/* old_err[] of a write left out because the file held its value already */
#define UNCHANGED 1
/* old_err[] of a knob of a cgroup just made (act_target.fresh): not read;
 * FRESH_KNOWN: its old value is the kernel's default (act_knob.fresh) */
#define FRESH 2
#define FRESH_KNOWN 3

static const char *old_of(const struct apply_ctx *c, unsigned i)
{
	return c->old + (size_t)i * OLD_MAX;
}

/* Writes 0..@upto-1 were made; give them their old values back, last first. */
static void roll_back(const struct apply_ctx *c, int dirfd, unsigned upto, struct act_result *res)
{
	char done[256] = "";
	size_t dl = 0;
	bool all = true;

	for (unsigned j = upto; j-- > 0;) {
		const struct act_write *w = &c->w[j];
		const struct act_knob *k = act_knob_find(w->knob, NULL);
		int r;

		if (!k->restorable) {
			all = false;
			res->written++;
			add_msg(res, "; %s cannot be undone", w->knob);
			continue;
		}
		if (c->old_err[j] == UNCHANGED || c->old_err[j] == FRESH ||
		    c->old_err[j] == FRESH_KNOWN)
			continue; /* never written, or a new cgroup that goes as a whole */
		if (c->old_err[j]) {
			all = false;
			res->written++;
			add_msg(res, "; %s not restored (its old value could not be read: %s)",
				w->knob, strerror(-c->old_err[j]));
			continue;
		}
		r = restore(dirfd, w->knob, old_of(c, j), w->value);
		if (r) {
			all = false;
			res->written++;
			act__record(c->a, c->path, c->id, w->knob, w->value, old_of(c, j),
				    c->reason, ACT_FAILED, r);
			add_msg(res, "; %s not restored to '%s': %s", w->knob, old_of(c, j),
				strerror(-r));
			continue;
		}
		act__record(c->a, c->path, c->id, w->knob, old_of(c, j), w->value, c->reason,
			    ACT_RESTORED, 0);
		if (dl < sizeof(done))
			dl += (size_t)snprintf(done + dl, sizeof(done) - dl, "%s%s", dl ? ", " : "",
					       w->knob);
	}
	if (*done)
		add_msg(res, "; restored %s", done);
	res->restored = upto && all;
}

static int check_writes(const struct actuator *a, const struct act_target *t, const char *path,
			const struct act_write *w, unsigned n, struct act_result *res)
{
	char err[256];

	if (a->in_manage && !a->in_manage(a->manage_ud, path)) {
		act__set_msg(res, "cgroup '%s' is outside the manage set: nothing written", path);
		return fail(res, -1, -EPERM);
	}
	for (unsigned i = 0; i < n; i++) {
		int r = act_check(w[i].knob, w[i].value, err, sizeof(err));

		if (r) {
			act__set_msg(res, "cgroup '%s': %s: nothing written", path, err);
			return fail(res, (int)i, -EINVAL);
		}
		if (t->knobs && !act_word_in(t->knobs, w[i].knob)) {
			act__set_msg(
				res,
				"cgroup '%s' is adopted and %s was not handed over (only: %s): "
				"nothing written",
				path, w[i].knob, t->knobs);
			return fail(res, (int)i, -EPERM);
		}
	}
	return 0;
}

static int open_target(const struct actuator *a, const struct act_target *t, const char *path,
		       struct act_result *res, uint64_t *ret_id)
{
	_cleanup_close_ int fd = act_open_cgroup(a, path);
	struct stat st;

	if (fd == -ENOENT || fd == -ENOTDIR) {
		act__set_msg(res, "cgroup '%s' is gone: nothing written", path);
		return fail(res, -1, -ESTALE);
	}
	if (fd == -ELOOP || fd == -EXDEV) {
		act__set_msg(res,
			     "cgroup path '%s' leads through a symlink or out of the mount: "
			     "nothing written",
			     path);
		return fail(res, -1, fd);
	}
	if (fd < 0) {
		act__set_msg(res, "cannot open cgroup '%s': %s: nothing written", path,
			     strerror(-fd));
		return fail(res, -1, fd);
	}
	if (fstat(fd, &st) < 0) {
		int r = -errno;

		act__set_msg(res, "cannot stat cgroup '%s': %s: nothing written", path,
			     strerror(-r));
		return fail(res, -1, r);
	}
	if (t->id && (uint64_t)st.st_ino != t->id) {
		act__set_msg(res,
			     "cgroup '%s' has id %" PRIu64 ", not %" PRIu64
			     " (a new cgroup of the same name): nothing written",
			     path, (uint64_t)st.st_ino, t->id);
		return fail(res, -1, -ESTALE);
	}
	*ret_id = (uint64_t)st.st_ino;
	return TAKE_FD(fd);
}

/* A whole unsigned number (spaces around allowed). */
static bool whole_u64(const char *s, unsigned long long *ret)
{
	char *end;

	s += strspn(s, " \t\n");
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*ret = strtoull(s, &end, 10);
	return !errno && !end[strspn(end, " \t\n")];
}

/* io.max's four limits of device @dev ("MAJ:MIN") in @text (one line, or
 * the whole file), "max" where absent; act_value_matches() compares them. */
static void io_limits(const char *text, const char *dev, char (*v)[24])
{
	static const char *const keys[] = { "rbps", "wbps", "riops", "wiops" };
	size_t nd = strlen(dev);
	const char *l = text;

	memset(v, 0, 4 * sizeof(*v)); /* compared whole */
	for (int k = 0; k < 4; k++)
		snprintf(v[k], sizeof(v[k]), "max");
	for (; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		l += strspn(l, " \t");
		if (strncmp(l, dev, nd) || (l[nd] != ' ' && l[nd] != '\t'))
			continue;
		for (int k = 0; k < 4; k++) {
			char pat[16];
			const char *p, *end = strchr(l, '\n');

			snprintf(pat, sizeof(pat), " %s=", keys[k]);
			p = strstr(l, pat);
			if (p && (!end || p < end))
				sscanf(p + strlen(pat), "%23[^ \t\n]", v[k]);
		}
		return;
	}
}

/*
 * Whether @shown (read back right after the write) is @written as the kernel
 * shows it: the same text, a number rounded down to a page, cpu.max with its
 * period filled in, the same CPU or node list spelled otherwise. Anything
 * else was written by someone else between cgpilot's write and its read.
 */
bool act_value_matches(const char *knob, const char *written, const char *shown)
{
	unsigned long long a, b;

	if (same_trimmed(written, shown))
		return true;
	/* io.max: the written device's limits, wherever its line is in the
	 * file (a line of all "max" is no line) */
	if (!strcmp(knob, "io.max")) {
		char dev[24], x[4][24], y[4][24];

		if (sscanf(written, "%23s", dev) != 1 || !strchr(dev, ':'))
			return false;
		io_limits(written, dev, x);
		io_limits(shown, dev, y);
		for (int k = 0; k < 4; k++)
			if (strcmp(x[k], y[k]))
				return false;
		return true;
	}
	if (!strcmp(knob, "cpu.max")) {
		uint64_t qa, pa, qb, pb;

		/* a quota written alone keeps the period: any period shown matches */
		return !cgfs_parse_cpu_max(written, &qa, &pa) &&
		       !cgfs_parse_cpu_max(shown, &qb, &pb) && qa == qb && (!pa || !pb || pa == pb);
	}
	if (!strcmp(knob, "cpuset.cpus") || !strcmp(knob, "cpuset.mems")) {
		struct topo_cpuset x = { 0 }, y = { 0 };
		bool same = !topo_parse_cpulist(written, &x) && !topo_parse_cpulist(shown, &y) &&
			    x.n == y.n && (!x.n || !memcmp(x.cpu, y.cpu, x.n * sizeof(*x.cpu)));

		topo_cpuset_free(&x);
		topo_cpuset_free(&y);
		return same;
	}
	/* memory.*: bytes rounded down to the page (up to 64 KiB pages) */
	return !strncmp(knob, "memory.", 7) && whole_u64(written, &a) && whole_u64(shown, &b) &&
	       b <= a && a - b < 65536;
}

/* Step 3: another writer changed a value since cgpilot wrote it. */
static int check_external(const struct apply_ctx *c, unsigned n, struct act_result *res)
{
	for (unsigned i = 0; i < n; i++) {
		const struct act_write *w = &c->w[i];

		if (!w->expect || c->old_err[i] ||
		    act_value_matches(w->knob, w->expect, old_of(c, i)))
			continue;
		act__record(c->a, c->path, c->id, w->knob, old_of(c, i), w->value, c->reason,
			    ACT_EXTERNAL, -EAGAIN);
		if (!res->external) {
			res->external = true;
			fail(res, (int)i, -EAGAIN);
			act__set_msg(res,
				     "cgroup '%s': %s is '%.64s', not '%.64s' as cgpilot left it: "
				     "changed by another writer, nothing written",
				     c->path, w->knob, old_of(c, i), w->expect);
		}
	}
	return res->external ? -EAGAIN : 0;
}

static int apply(const struct actuator *a, const struct act_target *t, const struct act_write *w,
		 unsigned n, const char *reason, struct act_result *res)
{
	_cleanup_free_ char *path = NULL, *old = NULL;
	_cleanup_free_ int *old_err = NULL;
	_cleanup_close_ int own_fd = -1;
	int dirfd = -1;
	struct act_result dummy;
	struct apply_ctx c;
	const char *why = "missing cgroup path";
	uint64_t id = 0;
	int r;

	if (!res)
		res = &dummy;
	*res = (struct act_result){ .failed = -1 };
	if (!a || !t || (n && !w)) {
		act__set_msg(res, "act_apply: missing argument");
		return fail(res, -1, -EINVAL);
	}
	if (n > ACT_WRITES_MAX) {
		act__set_msg(res, "%u writes in one decision, at most %d: nothing written", n,
			     ACT_WRITES_MAX);
		return fail(res, -1, -EINVAL);
	}
	r = t->path ? cgfs_normalize_path(t->path, &path, &why) : -EINVAL;
	if (r == -ENOMEM)
		return fail(res, -1, r);
	if (r) {
		act__set_msg(res, "cgroup path '%s': %s: nothing written", t->path ? t->path : "",
			     why);
		return fail(res, -1, -EINVAL);
	}
	if (!*path) {
		act__set_msg(res, "the root cgroup is never written: nothing written");
		return fail(res, -1, -EPERM);
	}
	r = check_writes(a, t, path, w, n, res);
	if (r || !n)
		return r;

	if (t->fd) {
		/* the fd act_mkdir_open gave: this cgroup, whatever its name now */
		dirfd = *t->fd;
		id = t->id;
	} else {
		own_fd = open_target(a, t, path, res, &id);
		dirfd = own_fd;
		if (dirfd < 0)
			return dirfd;
	}

	old = calloc(n, OLD_MAX);
	old_err = calloc(n, sizeof(*old_err));
	if (!old || !old_err) {
		act__set_msg(res, "cgroup '%s': out of memory: nothing written", path);
		return fail(res, -1, -ENOMEM);
	}
	c = (struct apply_ctx){ a, path, id, w, reason, old, old_err };
	for (unsigned i = 0; i < n; i++) {
		/* a cgroup made for this decision holds the kernel's defaults: no
		 * reading them, no restoring them (its maker removes it on failure) */
		if (t->fresh) {
			const char *dfl = act_knob_find(w[i].knob, NULL)->fresh;

			if (dfl && strlen(dfl) < OLD_MAX)
				memcpy(old + (size_t)i * OLD_MAX, dfl, strlen(dfl) + 1);
			old_err[i] = dfl ? FRESH_KNOWN : FRESH;
			continue;
		}
		/* a write-only file (cgroup.kill) has nothing to read or give back */
		if (!act_knob_find(w[i].knob, NULL)->restorable) {
			old_err[i] = -EACCES;
			continue;
		}
		r = act__read(dirfd, w[i].knob, old + (size_t)i * OLD_MAX, OLD_MAX);
		old_err[i] = r < 0 ? r : 0;
		if (r < 0)
			old[(size_t)i * OLD_MAX] = 0;
	}

	if (a->dry_run) {
		/* cgpilot never wrote what it expects: comparing would always find a change */
		for (unsigned i = 0; i < n; i++)
			act__record(a, path, id, w[i].knob, old_of(&c, i), w[i].value, reason,
				    ACT_DRY_RUN, 0);
		act__set_msg(res, "dry run: %u write%s to cgroup '%s' not made", n,
			     n == 1 ? "" : "s", path);
		return 0;
	}
	r = check_external(&c, n, res);
	if (r)
		return r;

	for (unsigned i = 0; i < n; i++) {
		/* the value is there already (as the kernel shows it): no action */
		if ((!old_err[i] || old_err[i] == FRESH_KNOWN) &&
		    !strcmp(old_of(&c, i), w[i].value)) {
			old_err[i] = UNCHANGED;
			res->written++;
			if (w[i].readback && w[i].readback_len) {
				bool fits = strlen(w[i].value) < w[i].readback_len;

				/* as a read back that does not fit: empty, not cut */
				snprintf(w[i].readback, w[i].readback_len, "%s",
					 fits ? w[i].value : "");
			}
			continue;
		}
		r = a->write ? a->write(a->write_ud, dirfd, w[i].knob, w[i].value) :
			       act__write(dirfd, w[i].knob, w[i].value);
		if (r) {
			act__record(a, path, id, w[i].knob, old_of(&c, i), w[i].value, reason,
				    ACT_FAILED, r);
			fail(res, (int)i, r);
			act__set_msg(res, "cgroup '%s': writing %s '%.128s' failed: %s", path,
				     w[i].knob, w[i].value, strerror(-r));
			if (!i)
				add_msg(res, "; nothing written");
			res->written = 0; /* roll_back() counts those that stay */
			roll_back(&c, dirfd, i, res);
			return r;
		}
		res->written++;
		act__record(a, path, id, w[i].knob, old_of(&c, i), w[i].value, reason, ACT_WRITTEN,
			    0);
		if (w[i].readback && w[i].readback_len) {
			if (act__read(dirfd, w[i].knob, w[i].readback, w[i].readback_len) < 0)
				w[i].readback[0] = 0;
			/* another writer's value already (it wrote between our write
			 * and the read): what cgpilot left is what it wrote, so that
			 * the next write finds the change */
			else if (!act_value_matches(w[i].knob, w[i].value, w[i].readback) ||
				 !strcmp(w[i].knob, "io.max")) /* a file of many devices' lines */
				snprintf(w[i].readback, w[i].readback_len, "%s",
					 strlen(w[i].value) < w[i].readback_len ? w[i].value : "");
		}
	}
	res->written = n;
	act__set_msg(res, "cgroup '%s': %u value%s written", path, n, n == 1 ? "" : "s");
	return 0;
}

int act_apply(const struct actuator *a, const struct act_target *t, const struct act_write *w,
	      unsigned n, const char *reason, struct act_result *res)
{
	int r = apply(a, t, w, n, reason, res);

	if (a)
		act__recorded(a);
	return r;
}

int act_read(const struct actuator *a, const char *path, const char *knob, char *buf, size_t len)
{
	_cleanup_free_ char *norm = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (!a || !path || !plain_name(knob) || !buf || !len)
		return -EINVAL;
	r = cgfs_normalize_path(path, &norm, NULL);
	if (r)
		return r;
	fd = act_open_cgroup(a, norm);
	if (fd < 0)
		return fd;
	return act__read(fd, knob, buf, len);
}
