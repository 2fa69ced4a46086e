// SPDX-License-Identifier: Apache-2.0
/*
 * cgpilotd: loads the BPF telemetry, keeps the cgroup model, serves the
 * control socket. One thread, one epoll loop over the ring buffer, a sample
 * timer, signals and the control socket.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/timerfd.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cgroupfs.h"
#include "containers.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "policy/node.h"
#include "proto.h"
#include "topology.h"
#include "util.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && log_get_level() < LOG_LVL_DEBUG)
		return 0;
	if (level != LIBBPF_DEBUG && log_get_level() < LOG_LVL_WARN)
		return 0;
	fprintf(stderr, "cgpilotd: libbpf: ");
	return vfprintf(stderr, fmt, ap);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cgpilotd [OPTIONS]\n"
		"  -c, --config FILE          configuration (default %s)\n"
		"  -n, --dry-run              decide and log, change nothing\n"
		"  -f, --foreground           stay in the foreground (log to stderr)\n"
		"      --runtime-dir DIR      runtime directory (default /run/cgpilot)\n"
		"      --pin-dir DIR          BPF pin directory (default /sys/fs/bpf/cgpilot)\n"
		"      --socket PATH          control socket (default RUNTIME-DIR/cgpilot.sock)\n"
		"      --metrics-address A:P  /metrics listen address\n"
		"      --cgroup-root DIR      cgroup v2 mount (default: from mountinfo)\n"
		"      --check-config         parse the configuration, report, exit 0 or 1\n"
		"  -v, --verbose              debug logging\n"
		"  -h, --help                 this help\n"
		"      --version              print the version\n",
		CGP_CONF_PATH_DEFAULT);
}

enum { OPT_RUNTIME = 256, OPT_PIN, OPT_SOCKET, OPT_METRICS, OPT_ROOT, OPT_VERSION, OPT_CHECK };

struct cli_overrides {
	const char *runtime_dir, *pin_dir, *socket, *metrics, *root;
	bool dry_run, verbose;
};

static int set_str(char *dst, const char *src, const char *what)
{
	if (strlen(src) >= CGP_CONF_STR_MAX)
		return log_error_errno(EINVAL, "%s is too long: %s", what, src);
	snprintf(dst, CGP_CONF_STR_MAX, "%s", src);
	return 0;
}

static int apply_overrides(struct cgp_conf *c, const struct cli_overrides *o)
{
	if (o->runtime_dir && set_str(c->runtime_dir, o->runtime_dir, "--runtime-dir"))
		return -EINVAL;
	if (o->pin_dir && set_str(c->pin_dir, o->pin_dir, "--pin-dir"))
		return -EINVAL;
	if (o->socket && set_str(c->socket_path, o->socket, "--socket"))
		return -EINVAL;
	if (o->metrics && set_str(c->metrics_address, o->metrics, "--metrics-address"))
		return -EINVAL;
	if (o->root && set_str(c->cgroup_root, o->root, "--cgroup-root"))
		return -EINVAL;
	if (o->dry_run)
		c->dry_run = true;
	if (o->verbose)
		c->log_level = LOG_LVL_DEBUG;
	return 0;
}

/* Defaults, then the file (if any: *ret_read), then the command line. */
static int load_config(struct daemon *d, const struct cli_overrides *o, struct cgp_conf *ret,
		       bool *ret_read)
{
	struct cgp_conf c;
	char err[600];
	bool read;
	int r;

	cgp_conf_defaults(&c);
	r = cgp_conf_parse_file(&c, d->config_path, err, sizeof(err));
	read = r == 0;
	if (r == -ENOENT && !d->config_explicit) {
		log_debug("no %s, using built-in defaults", d->config_path);
	} else if (r) {
		log_error("%s", err);
		return -EINVAL;
	}
	/* each error names where the value came from: the file, or the options */
	if (cgp_conf_validate(&c, err, sizeof(err))) {
		log_error("%s: %s", d->config_path, err);
		return -EINVAL;
	}
	r = apply_overrides(&c, o);
	if (r)
		return r;
	if (cgp_conf_validate(&c, err, sizeof(err))) {
		log_error("command line: %s", err);
		return -EINVAL;
	}
	*ret = c;
	*ret_read = read;
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[CGP_CONF_STR_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * A directory the daemon creates files in as root must be no one else's to
 * change: owned by us and writable by no one else, or a local user could put
 * a symlink where the lock file or socket goes and have us truncate or chmod
 * what it points at. A world-writable directory is accepted only with the
 * sticky bit (as /tmp), where others cannot replace our entries.
 */
static int check_dir_safe(int dirfd, const char *path, bool allow_sticky)
{
	struct stat st;

	if (fstat(dirfd, &st))
		return log_error_errno(errno, "Failed to stat %s: %m", path);
	if (st.st_uid != geteuid())
		return log_error_errno(
			EPERM,
			"%s belongs to uid %u, not to us: refusing to keep our lock "
			"and socket there (chown it or choose another --runtime-dir)",
			path, (unsigned)st.st_uid);
	if ((st.st_mode & 022) && !(allow_sticky && (st.st_mode & S_ISVTX)))
		return log_error_errno(EPERM,
				       "%s is writable by others (mode %04o): refusing to keep our "
				       "lock and socket there (chmod go-w it)",
				       path, (unsigned)(st.st_mode & 07777));
	return 0;
}

static int lock_fd_at(int dirfd, const char *name, const char *path, int *ret_fd)
{
	char pid[32];
	struct stat st;
	int fd, r;

	/* O_NOFOLLOW: never truncate what a planted symlink points at */
	fd = openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	/* a read-only directory: the lock there from an earlier run, or the
	 * directory itself (the state cannot be written: containers.c says so) */
	if (fd < 0 && errno == EROFS) {
		fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 && errno == ENOENT)
			fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB)) {
			r = errno;
			close(fd);
			if (r == EWOULDBLOCK) {
				log_error("another cgpilotd holds %s; stop it or use other "
					  "--runtime-dir and --pin-dir",
					  path);
				return -EBUSY;
			}
			return log_error_errno(r, "Failed to lock %s: %m", path);
		}
		if (fd >= 0) {
			log_warn("%s is on a read-only file system: locked, its pid not written",
				 path);
			*ret_fd = fd;
			return 0;
		}
	}
	if (fd < 0)
		return log_error_errno(errno, "Failed to open lock file %s: %m", path);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return log_error_errno(EINVAL, "lock file %s is not a regular file", path);
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		r = errno;
		if (r == EWOULDBLOCK) {
			ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);

			pid[n > 0 ? n : 0] = 0;
			pid[strcspn(pid, "\n")] = 0;
			log_error("another cgpilotd (pid %s) holds %s; stop it or use other "
				  "--runtime-dir and --pin-dir",
				  pid[0] ? pid : "?", path);
			close(fd);
			return -EBUSY;
		}
		close(fd);
		return log_error_errno(r, "Failed to lock %s: %m", path);
	}
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, strlen(pid), 0) < 0)
		log_warn_errno(errno, "Failed to write pid to %s: %m", path);
	*ret_fd = fd;
	return 0;
}

/* The runtime directory's lock: one daemon per runtime directory. */
static int take_lock(struct daemon *d)
{
	char path[CGP_CONF_STR_MAX + 32];
	_cleanup_close_ int dirfd = -1;
	int r;

	dirfd = open(d->conf.runtime_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return log_error_errno(errno, "Failed to open runtime directory %s: %m",
				       d->conf.runtime_dir);
	r = check_dir_safe(dirfd, d->conf.runtime_dir, false);
	if (r)
		return r;
	snprintf(path, sizeof(path), "%s/cgpilotd.lock", d->conf.runtime_dir);
	return lock_fd_at(dirfd, "cgpilotd.lock", path, &d->lock_fd);
}

/*
 * The pin directory's lock: two daemons with different runtime directories
 * but one pin directory would recycle each other's BPF slots.
 */
static int take_pin_lock(struct daemon *d)
{
	char path[CGP_CONF_STR_MAX + 32];
	_cleanup_close_ int dirfd = -1;
	int r;

	r = mkdir_p(d->conf.pin_dir, 0700);
	if (r)
		return log_error_errno(r, "Failed to create pin directory %s: %m", d->conf.pin_dir);
	dirfd = open(d->conf.pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return log_error_errno(errno, "Failed to open pin directory %s: %m",
				       d->conf.pin_dir);
	r = check_dir_safe(dirfd, d->conf.pin_dir, false);
	if (r)
		return r;
	/* flock on the directory itself: bpffs holds no regular files */
	if (flock(dirfd, LOCK_EX | LOCK_NB)) {
		r = errno;
		snprintf(path, sizeof(path), "%s", d->conf.pin_dir);
		if (r == EWOULDBLOCK)
			return log_error_errno(
				EBUSY,
				"another cgpilotd uses the pin directory %s; stop it "
				"or use another --pin-dir",
				path);
		return log_error_errno(r, "Failed to lock %s: %m", path);
	}
	d->pin_lock_fd = TAKE_FD(dirfd);
	return 0;
}

/* The socket's directory, when it is not the runtime directory. */
static int check_socket_dir(struct daemon *d)
{
	_cleanup_free_ char *dir = strdup(d->socket_path);
	_cleanup_close_ int fd = -1;
	char *slash;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = 0;
	fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(errno, "Failed to open the socket's directory %s: %m", dir);
	return check_dir_safe(fd, dir[0] ? dir : "/", true);
}

/* The pin directory must be on bpffs; mount it at /sys/fs/bpf if missing. */
static int ensure_bpffs(const char *pin_dir)
{
	struct statfs st;

	if (strncmp(pin_dir, "/sys/fs/bpf/", 12))
		return 0; /* an explicit other location: the operator mounted it */
	if (statfs("/sys/fs/bpf", &st))
		return log_warn_errno(errno, "Failed to stat /sys/fs/bpf: %m; the BPF maps are not "
					     "pinned (counters start from zero at each start)");
	if (st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return log_warn_errno(errno,
				      "Failed to mount bpffs on /sys/fs/bpf: %m; the BPF maps "
				      "are not pinned (counters start from zero at each "
				      "start)");
	log_info("mounted bpffs on /sys/fs/bpf");
	return 0;
}

static void protect_self(void)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, "-1000", 5) != 5)
		log_warn_errno(errno, "Failed to set oom_score_adj: %m");
	if (fd >= 0)
		close(fd);
	/* MCL_ONFAULT: lock what the daemon touches, not every page of every
	 * library mapped (gnutls and friends come with libmicrohttpd) */
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT))
		log_warn_errno(errno, "mlockall failed, the daemon may be swapped out: %m");
}

/* Our cgroup v2 path, relative to the mount ("" for the root). */
static int self_cgroup(char **ret)
{
	char buf[4096];
	_cleanup_close_ int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	char *p, *nl;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = 0;
	p = strstr(buf, "0::/");
	if (!p || (p != buf && p[-1] != '\n'))
		return -ENOENT;
	p += 4;
	nl = strchr(p, '\n');
	if (nl)
		*nl = 0;
	*ret = strdup(p);
	return *ret ? 0 : -ENOMEM;
}

static int move_self(struct daemon *d, const char *rel)
{
	char path[CGP_CONF_STR_MAX + 32];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s%scgroup.procs", rel, rel[0] ? "/" : "");
	fd = openat(d->root_fd, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		return -errno;
	return 0;
}

/* Remove the directories of own_cgroup we created, deepest first; one that
 * another process still uses (a second daemon) stays. */
static void leave_own_cgroup_dirs(struct daemon *d)
{
	char *p = d->own_cgroup;

	for (unsigned k = 0; p && k < d->own_made; k++) {
		char *slash;

		if (unlinkat(d->root_fd, p, AT_REMOVEDIR) && errno != EBUSY && errno != ENOENT)
			log_warn_errno(errno, "cannot remove cgroup %s: %m", p);
		slash = strrchr(p, '/');
		if (!slash)
			break;
		*slash = 0;
	}
	free(d->own_cgroup);
	d->own_cgroup = NULL;
	d->own_made = 0;
}

#define OWNER_XATTR "trusted.cgpilot.owner"

/* Record on a cgroup we made that cgpilotd made it. */
static void mark_own(struct daemon *d, const char *rel)
{
	char path[CGP_CONF_STR_MAX * 2 + 8];

	snprintf(path, sizeof(path), "%s/%s", d->cgroup_root, rel);
	if (lsetxattr(path, OWNER_XATTR, "cgpilotd", 8, 0))
		log_warn_errno(errno,
			       "cannot mark cgroup %s as ours (%s): %m; a daemon killed "
			       "before removing it would leave it behind",
			       rel, OWNER_XATTR);
}

static bool is_own(struct daemon *d, const char *rel)
{
	char path[CGP_CONF_STR_MAX * 2 + 8], val[16];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", d->cgroup_root, rel);
	n = lgetxattr(path, OWNER_XATTR, val, sizeof(val));
	return n == 8 && !memcmp(val, "cgpilotd", 8);
}

/* systemd marks a cgroup it delegated (Delegate=yes) with this xattr (v251+;
 * user.delegate from v252 on, for unprivileged readers). */
static bool delegated(struct daemon *d, const char *rel)
{
	char path[CGP_CONF_STR_MAX * 2 + 8], val[8];

	snprintf(path, sizeof(path), "%s/%s", d->cgroup_root, rel);
	return lgetxattr(path, "trusted.delegate", val, sizeof(val)) > 0 ||
	       lgetxattr(path, "user.delegate", val, sizeof(val)) > 0;
}

/*
 * Self-protection: a leaf cgroup of our own, so the daemon's cost shows by
 * itself and no policy of ours ever squeezes it. Under a manager (systemd
 * unit, container) we are already in one: stay there, moving would take us
 * away from it; unless the unit delegated its cgroup to us, then our leaf
 * is <unit>/cgpilotd and the containers live beside it.
 */
static void enter_own_cgroup(struct daemon *d)
{
	const char *want = d->conf.own_cgroup, *msg = NULL;
	_cleanup_free_ char *norm = NULL, *deleg = NULL;
	char *orig = NULL;
	int r = 0;

	if (!strcmp(want, "none"))
		return;
	if (self_cgroup(&orig) || !orig) {
		log_warn("cannot read /proc/self/cgroup; staying in our cgroup");
		return;
	}
	if (!strcmp(want, "auto")) {
		if (orig[0] && !delegated(d, orig)) {
			free(orig); /* managed: this is our own cgroup already */
			return;
		}
		/* a delegated unit (Delegate=yes): the daemon in a leaf beside the
		 * containers, as systemd's delegation rules ask */
		if (orig[0]) {
			if (asprintf(&deleg, "%s/cgpilotd", orig) < 0) {
				free(orig);
				return;
			}
			want = deleg;
		} else {
			want = "cgpilot.slice/cgpilotd";
		}
	}
	if (cgfs_normalize_path(want, &norm, &msg) || !norm[0]) {
		log_warn("own_cgroup '%s': %s; staying in our cgroup", want,
			 msg ? msg : "the root is no leaf");
		free(orig);
		return;
	}
	/*
	 * Create what is missing and mark it ours on the cgroup itself, so that
	 * what an earlier cgpilotd made and could not remove (killed with
	 * SIGKILL) is known as ours too: the deepest run of marked components
	 * is removed again when we leave, and nothing unmarked ever is.
	 */
	for (char *p = norm;; p++) {
		char c = *p;

		if (c != '/' && c)
			continue;
		*p = 0;
		if (!mkdirat(d->root_fd, norm, 0755))
			mark_own(d, norm);
		else if (errno != EEXIST)
			r = -errno;
		*p = c;
		if (r || !c)
			break;
	}
	if (!r) {
		_cleanup_free_ char *walk = strdup(norm);

		for (char *end = walk ? walk + strlen(walk) : NULL; end; end = strrchr(walk, '/')) {
			*end = 0;
			if (!is_own(d, walk))
				break;
			d->own_made++;
		}
	}
	d->own_cgroup = TAKE_PTR(norm);
	if (!r)
		r = move_self(d, d->own_cgroup);
	if (r) {
		log_warn_errno(r, "cannot move into own cgroup %s: %m; staying in our cgroup",
			       d->own_cgroup);
		leave_own_cgroup_dirs(d);
		free(orig);
		return;
	}
	d->orig_cgroup = orig;
	log_info("running in own cgroup %s", d->own_cgroup);
}

static void leave_own_cgroup(struct daemon *d)
{
	if (!d->own_cgroup)
		return;
	if (move_self(d, d->orig_cgroup))
		log_warn_errno(errno, "cannot move back to cgroup /%s: %m", d->orig_cgroup);
	leave_own_cgroup_dirs(d);
	free(d->orig_cgroup);
	d->orig_cgroup = NULL;
}

static int setup_cgroup_root(struct daemon *d)
{
	char buf[512], have[128], miss[128];
	const unsigned needed = CGFS_CPU | CGFS_CPUSET | CGFS_MEMORY | CGFS_IO;
	int r;

	if (d->conf.cgroup_root[0]) {
		d->cgroup_root = strdup(d->conf.cgroup_root);
		if (!d->cgroup_root)
			return -ENOMEM;
	} else {
		r = cgfs_find_v2_mount(&d->cgroup_root);
		if (r == -ENOENT)
			return log_error_errno(r, "no cgroup2 filesystem is mounted "
						  "(see /proc/self/mountinfo); mount one with "
						  "'mount -t cgroup2 none /sys/fs/cgroup'");
		if (r)
			return log_error_errno(r, "Failed to read /proc/self/mountinfo: %m");
	}
	d->root_fd = open(d->cgroup_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->root_fd < 0)
		return log_error_errno(errno, "Failed to open cgroup root %s: %m", d->cgroup_root);
	r = cgfs_read_at(d->root_fd, "cgroup.controllers", buf, sizeof(buf));
	if (r < 0)
		return log_error_errno(r, "%s is not a cgroup v2 directory: %m", d->cgroup_root);
	d->controllers = cgfs_parse_controllers(buf);
	d->missing_controllers = needed & ~d->controllers;
	d->telemetry_only = d->missing_controllers != 0;
	cgfs_controllers_str(d->controllers, have, sizeof(have));
	cgfs_controllers_str(d->missing_controllers, miss, sizeof(miss));
	if (d->telemetry_only)
		log_warn("telemetry-only mode: controllers '%s' are not available on the cgroup "
			 "v2 hierarchy at %s (available: '%s'; they are probably bound to cgroup "
			 "v1); cgpilot measures but will not change allocations",
			 miss, d->cgroup_root, have[0] ? have : "none");
	else
		log_info("cgroup v2 at %s with controllers '%s'", d->cgroup_root, have);
	return 0;
}

static void reload(struct daemon *d, const struct cli_overrides *o)
{
	struct cgp_conf c;
	uint64_t thr[CGP_SIG_MAX];
	bool was_read = d->config_read;

	if (load_config(d, o, &c, &d->config_read)) {
		log_error("reload failed; keeping the running configuration");
		return;
	}
	if (strcmp(c.runtime_dir, d->conf.runtime_dir) || strcmp(c.pin_dir, d->conf.pin_dir) ||
	    strcmp(c.socket_path, d->conf.socket_path) ||
	    (c.max_cgroups ? c.max_cgroups != d->conf.max_cgroups : !d->max_cgroups_auto) ||
	    strcmp(c.cgroup_root, d->conf.cgroup_root) ||
	    strcmp(c.reserved_cpus, d->conf.reserved_cpus) ||
	    strcmp(c.system_slice, d->conf.system_slice) ||
	    c.reserved_memory != d->conf.reserved_memory)
		log_warn("directories, socket, cgroup_root, max_cgroups and the [node] reserve "
			 "change only on restart");
	memcpy(c.reserved_cpus, d->conf.reserved_cpus, sizeof(c.reserved_cpus));
	memcpy(c.system_slice, d->conf.system_slice, sizeof(c.system_slice));
	c.reserved_memory = d->conf.reserved_memory;
	memcpy(c.runtime_dir, d->conf.runtime_dir, sizeof(c.runtime_dir));
	memcpy(c.pin_dir, d->conf.pin_dir, sizeof(c.pin_dir));
	memcpy(c.socket_path, d->conf.socket_path, sizeof(c.socket_path));
	memcpy(c.cgroup_root, d->conf.cgroup_root, sizeof(c.cgroup_root));
	c.max_cgroups = d->conf.max_cgroups;
	d->conf = c;
	ctl__reconfigure(d->ctl, &c); /* logs what it could not apply */
	log_set_level((enum log_level)c.log_level);
	thr[CGP_SIG_CPU] = (uint64_t)c.cpu_threshold_ms * 1000000ULL;
	thr[CGP_SIG_MEM] = (uint64_t)c.memory_threshold_ms * 1000000ULL;
	thr[CGP_SIG_IO] = (uint64_t)c.io_threshold_us * 1000ULL;
	telemetry__set_window(d->tel, (uint64_t)c.window_ms * 1000000ULL, thr);
	containers__reconfigured(d->ctrs);
	{
		struct itimerspec its = { 0 };

		its.it_interval.tv_sec = c.sample_interval_ms / 1000;
		its.it_interval.tv_nsec = (long)(c.sample_interval_ms % 1000) * 1000000L;
		its.it_value = its.it_interval;
		timerfd_settime(d->timer_fd, 0, &its, NULL);
	}
	if (d->config_read)
		log_info("configuration reloaded from %s", d->config_path);
	else if (was_read)
		log_info("%s is gone: back to the built-in defaults", d->config_path);
	else
		log_info("no %s: kept the built-in defaults", d->config_path);
}

static int add_ep(struct daemon *d, int fd, struct ep_source *src, enum ep_kind kind)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = src };

	src->kind = kind;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	return 0;
}

/*
 * The signals the loop reads from a signalfd, blocked from the first line of
 * main(): one that came during start-up (a SIGHUP while BPF loads) waits for
 * the loop instead of killing the daemon with its pin directory and socket
 * left behind (and a status systemd's Restart=on-failure ignores).
 */
static void block_signals(sigset_t *ret_mask)
{
	sigemptyset(ret_mask);
	sigaddset(ret_mask, SIGTERM);
	sigaddset(ret_mask, SIGINT);
	sigaddset(ret_mask, SIGHUP);
	sigprocmask(SIG_BLOCK, ret_mask, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int setup_loop(struct daemon *d)
{
	struct itimerspec its = { 0 };
	sigset_t mask;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		return -errno;
	/* blocked since main() began: what arrived meanwhile is read here */
	block_signals(&mask);
	d->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->signal_fd < 0)
		return -errno;
	d->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->timer_fd < 0)
		return -errno;
	its.it_interval.tv_sec = d->conf.sample_interval_ms / 1000;
	its.it_interval.tv_nsec = (long)(d->conf.sample_interval_ms % 1000) * 1000000L;
	its.it_value = its.it_interval;
	if (timerfd_settime(d->timer_fd, 0, &its, NULL))
		return -errno;
	if (add_ep(d, d->signal_fd, &d->signal_src, EP_SIGNAL) ||
	    add_ep(d, d->timer_fd, &d->timer_src, EP_TIMER) ||
	    (d->tel && add_ep(d, telemetry__ringbuf_fd(d->tel), &d->ringbuf_src, EP_RINGBUF)))
		return -errno;
	return 0;
}

/* Metrics address taken by another process: retried this often. */
#define METRICS_RETRY_NS (10 * 1000000000ULL)

/*
 * Serve /metrics and the live page. An address another process holds is no
 * reason to stop allocating: the daemon serves on without them, says so in
 * status, and tries again every METRICS_RETRY_NS. Other failures (a bad
 * address, out of memory) stop the start. Returns 0 or -errno.
 */
static int start_metrics(struct daemon *d)
{
	int r;

	if (d->metrics || !strcmp(d->conf.metrics_address, "none"))
		return 0;
	if (d->metrics_retry_ns && mono_now_ns() < d->metrics_retry_ns)
		return 0;
	r = metrics__new(d, d->conf.metrics_address, &d->metrics);
	if (r == -EADDRINUSE || r == -EADDRNOTAVAIL) {
		if (!d->metrics_retry_ns)
			log_error("Failed to serve /metrics on %s: %s (another process holds it? "
				  "set [metrics] address or --metrics-address); serving on without "
				  "/metrics and the live page, trying again every %llu s",
				  d->conf.metrics_address, strerror(-r),
				  METRICS_RETRY_NS / 1000000000ULL);
		snprintf(d->metrics_error, sizeof(d->metrics_error), "%s: %s",
			 d->conf.metrics_address, strerror(-r));
		d->metrics_retry_ns = mono_now_ns() + METRICS_RETRY_NS;
		return 0;
	}
	if (r)
		return r;
	r = add_ep(d, metrics__fd(d->metrics), &d->metrics_src, EP_METRICS);
	if (r) {
		metrics__free(d->metrics);
		d->metrics = NULL;
		return log_error_errno(r, "Failed to watch the metrics server: %m");
	}
	if (d->metrics_retry_ns)
		log_info("serving /metrics on %s: the address is free now",
			 metrics__address(d->metrics));
	d->metrics_retry_ns = 0;
	d->metrics_error[0] = 0;
	return 0;
}

static int run_loop(struct daemon *d, const struct cli_overrides *o)
{
	struct epoll_event evs[32];

	while (!d->stop) {
		/* with work pending between events, look and come back at once; a
		 * control listener paused for want of fds resumes on time */
		int wait = observe_busy(d) ? 0 : ctl__timeout_ms(d->ctl, mono_now_ns());
		int n = epoll_wait(d->epfd, evs, ARRAY_SIZE(evs), wait);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return log_error_errno(errno, "epoll_wait: %m");
		}
		for (int i = 0; i < n; i++) {
			struct ep_source *src = evs[i].data.ptr;

			switch (src->kind) {
			case EP_RINGBUF:
				observe_consume(d);
				break;
			case EP_TIMER: {
				uint64_t ticks;

				if (read(d->timer_fd, &ticks, sizeof(ticks)) > 0) {
					observe_sample(d);
					containers__tick(d->ctrs, mono_now_ns());
				}
				if (d->metrics)
					metrics__run(d->metrics); /* its connection timeouts */
				else
					start_metrics(d);
				ctl__tick(d->ctl, mono_now_ns());
				break;
			}
			case EP_SIGNAL: {
				struct signalfd_siginfo si;

				while (read(d->signal_fd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						reload(d, o);
					} else {
						log_info("received %s, stopping",
							 strsignal((int)si.ssi_signo));
						d->stop = true;
					}
				}
				break;
			}
			case EP_LISTEN:
			case EP_CLIENT:
				ctl__dispatch(d->ctl, src, evs[i].events);
				break;
			case EP_DEFERRED:
				requests_deferred_ready(d, src);
				break;
			case EP_METRICS:
				metrics__run(d->metrics);
				break;
			case EP_CONTROL:
				containers__control_timer(d->ctrs);
				break;
			case EP_GUARD:
				containers__guard_timer(d->ctrs);
				break;
			case EP_IO:
				containers__io_timer(d->ctrs);
				break;
			case EP_PSI:
				containers__psi_event(d->ctrs, src, evs[i].events);
				break;
			}
		}
		if (!n)
			ctl__tick(d->ctl, mono_now_ns()); /* the timeout: a listener to resume */
		/* only now may what this batch's events pointed at be freed */
		ctl__reap(d->ctl);
		requests_reap(d);
		containers__reap(d->ctrs);
		observe_work(d);
	}
	return 0;
}

static void cleanup(struct daemon *d)
{
	containers__stop(d->ctrs);
	containers__free(d->ctrs);
	d->ctrs = NULL;
	leave_own_cgroup(d);
	requests_free_all(d);
	node_alloc__free(&d->alloc);
	observe_free(d);
	metrics__free(d->metrics);
	ctl__free(d->ctl);
	telemetry__free(d->tel);
	model__free(d->model);
	free(d->slot_ids);
	free(d->slot_vals);
	free(d->slot_cg);
	free(d->cgroup_root);
	if (d->root_fd >= 0)
		close(d->root_fd);
	if (d->timer_fd >= 0)
		close(d->timer_fd);
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	if (d->pin_lock_fd >= 0)
		close(d->pin_lock_fd);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "runtime-dir", required_argument, NULL, OPT_RUNTIME },
		{ "pin-dir", required_argument, NULL, OPT_PIN },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "metrics-address", required_argument, NULL, OPT_METRICS },
		{ "cgroup-root", required_argument, NULL, OPT_ROOT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{},
	};
	struct daemon d = { .config_path = CGP_CONF_PATH_DEFAULT,
			    .root_fd = -1,
			    .epfd = -1,
			    .lock_fd = -1,
			    .pin_lock_fd = -1,
			    .timer_fd = -1,
			    .signal_fd = -1 };
	struct cli_overrides o = { 0 };
	struct telemetry_opts topts = { 0 };
	bool foreground = false, check_only = false, pinned;
	sigset_t sigs;
	char errbuf[256];
	int c, r;

	block_signals(&sigs);
	log_set_ident("cgpilotd");
	while ((c = getopt_long(argc, argv, "c:nfvh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
			d.config_explicit = true;
			break;
		case 'n':
			o.dry_run = true;
			break;
		case 'f':
			foreground = true;
			break;
		case OPT_RUNTIME:
			o.runtime_dir = optarg;
			break;
		case OPT_PIN:
			o.pin_dir = optarg;
			break;
		case OPT_SOCKET:
			o.socket = optarg;
			break;
		case OPT_METRICS:
			o.metrics = optarg;
			break;
		case OPT_ROOT:
			o.root = optarg;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("cgpilotd %s\n", CGPILOT_VERSION);
			return 0;
		case OPT_CHECK:
			check_only = true;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (o.verbose)
		log_set_level(LOG_LVL_DEBUG);
	if (load_config(&d, &o, &d.conf, &d.config_read))
		return 1;
	if (check_only) {
		if (access(d.config_path, F_OK))
			printf("%s: no such file; the built-in defaults are OK\n", d.config_path);
		else
			printf("%s: configuration OK\n", d.config_path);
		return 0;
	}
	log_set_level((enum log_level)d.conf.log_level);
	libbpf_set_print(libbpf_print);
	if (geteuid() != 0) {
		log_error("cgpilotd must run as root (it loads BPF programs)");
		return 1;
	}
	if (!foreground && daemon(0, 1)) {
		log_error_errno(errno, "Failed to daemonize: %m");
		return 1;
	}
	d.start_ns = mono_now_ns();
	{
		struct sysinfo si;
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		d.node_cpus = cpus > 0 ? (unsigned)cpus : 0;
		if (!sysinfo(&si))
			d.node_memory = (uint64_t)si.totalram * si.mem_unit;
	}
	if (d.conf.socket_path[0])
		snprintf(d.socket_path, sizeof(d.socket_path), "%s", d.conf.socket_path);
	else
		snprintf(d.socket_path, sizeof(d.socket_path), "%s/cgpilot.sock",
			 d.conf.runtime_dir);
	r = mkdir_p(d.conf.runtime_dir, 0755);
	if (r) {
		log_error_errno(r, "Failed to create runtime directory %s: %m", d.conf.runtime_dir);
		goto out;
	}
	r = take_lock(&d);
	if (r)
		goto out;
	r = check_socket_dir(&d);
	if (r)
		goto out;
	r = setup_cgroup_root(&d);
	if (r)
		goto out;
	/* without bpffs the maps are not pinned, and there is no set to lock */
	pinned = !ensure_bpffs(d.conf.pin_dir);
	if (pinned) {
		r = take_pin_lock(&d);
		if (r)
			goto out;
	}
	protect_self();
	enter_own_cgroup(&d);

	{
		uint64_t seed = 0;

		/* an unguessable path hash: cgroup names are chosen by users */
		if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
			seed = mono_now_ns() ^ (uint64_t)getpid() << 32;
		d.model = model__new_seeded(seed);
	}
	if (!d.conf.max_cgroups) {
		struct sysinfo si;
		int ncpus = libbpf_num_possible_cpus();

		d.max_cgroups_auto = true;
		if (sysinfo(&si))
			si.totalram = 0, si.mem_unit = 1;
		d.conf.max_cgroups = cgp_auto_max_cgroups(ncpus > 0 ? (unsigned)ncpus : 1,
							  (uint64_t)si.totalram * si.mem_unit);
		log_info("max_cgroups = auto: %" PRIu32 " BPF slots for %d CPUs (%" PRIu64
			 " KiB of maps at most)",
			 d.conf.max_cgroups, ncpus,
			 d.conf.max_cgroups * cgp_slot_bytes(ncpus > 0 ? (unsigned)ncpus : 1) >>
				 10);
	}
	d.slot_ids = calloc(d.conf.max_cgroups, sizeof(*d.slot_ids));
	d.slot_vals = calloc(d.conf.max_cgroups, sizeof(*d.slot_vals));
	d.slot_cg = calloc(d.conf.max_cgroups, sizeof(*d.slot_cg));
	if (!d.model || !d.slot_ids || !d.slot_vals || !d.slot_cg) {
		r = log_error_errno(ENOMEM, "out of memory");
		goto out;
	}
	topts.pin_dir = pinned ? d.conf.pin_dir : NULL;
	topts.max_cgroups = d.conf.max_cgroups;
	topts.io_blkcg_v2 = (d.controllers & CGFS_IO) != 0;
	topts.window_ns = (uint64_t)d.conf.window_ms * 1000000ULL;
	topts.default_threshold_ns[CGP_SIG_CPU] = (uint64_t)d.conf.cpu_threshold_ms * 1000000ULL;
	topts.default_threshold_ns[CGP_SIG_MEM] = (uint64_t)d.conf.memory_threshold_ms * 1000000ULL;
	topts.default_threshold_ns[CGP_SIG_IO] = (uint64_t)d.conf.io_threshold_us * 1000ULL;
	r = telemetry__new(&topts, observe_on_event, &d, &d.tel);
	if (r == -ESTALE) {
		log_error("the BPF maps pinned under %s/v%d changed while they were loaded; "
			  "is another cgpilotd using that directory?",
			  d.conf.pin_dir, CGP_LAYOUT_VERSION);
		goto out;
	}
	if (r) {
		/* a node agent that exits leaves the node unserved: go on without BPF */
		d.tel = NULL;
		telemetry__why_failed(r, &d.tel_failure);
		log_error("Failed to load the BPF telemetry: %s. Serving on in files-only mode: "
			  "CPU usage, PSI, io.stat and OOM kills from the kernel's cgroup files "
			  "every psi_sweep_s (%u s), new cgroups found by walking the tree as "
			  "often; run-queue delay, reclaim stall, I/O latency and pressure onsets "
			  "are absent, so the CPU ladder and the I/O loop are inactive; admission, "
			  "placement, the memory loop and the PSI-driven memory relief go on",
			  d.tel_failure.why, d.conf.psi_sweep_s);
	} else {
		if (telemetry__features(d.tel)->pins_note[0])
			log_warn("%s; counters start from zero",
				 telemetry__features(d.tel)->pins_note);
		if (telemetry__missing(d.tel)[0])
			log_warn("this kernel lacks tracepoints %s; their figures stay at zero",
				 telemetry__missing(d.tel));
		if (!telemetry__features(d.tel)->oom_task && !telemetry__features(d.tel)->oom_pid)
			log_warn("no usable mark_victim tracepoint: OOM kills are not reported");
		log_info("BPF telemetry attached%s; I/O attributed %s",
			 telemetry__features(d.tel)->maps_reused ? " (pinned counters continued)" :
								   "",
			 topts.io_blkcg_v2 ? "through the blkcg" :
					     "to the submitting task's cgroup");
	}
	/* the machine's shape does not change while we run: read it once */
	r = topology__read("", &d.topo);
	if (r)
		log_warn_errno(r, "Failed to read the CPU topology from /sys: %m; 'cgpilot node "
				  "show' will retry");
	else if ((r = node_alloc__compute(d.topo, d.conf.reserved_cpus, d.conf.reserved_memory,
					  &d.alloc, errbuf, sizeof(errbuf)))) {
		log_error("[node] %s", errbuf);
		goto out;
	} else {
		d.alloc_valid = true;
	}
	r = containers__new(&d, &d.ctrs);
	if (r)
		goto out;
	r = observe_discover(&d);
	if (r)
		goto out;
	r = setup_loop(&d);
	if (r) {
		log_error_errno(r, "Failed to set up the event loop: %m");
		goto out;
	}
	r = ctl__new(d.socket_path, d.epfd, &d.conf, requests_handle, requests_client_closed, &d,
		     &d.ctl);
	if (r) {
		log_error_errno(r, "Failed to listen on %s: %m", d.socket_path);
		goto out;
	}
	r = start_metrics(&d);
	if (r)
		goto out;
	if (containers__control_fd(d.ctrs) >= 0) {
		r = add_ep(&d, containers__control_fd(d.ctrs), &d.control_src, EP_CONTROL);
		if (r) {
			log_error_errno(r, "Failed to watch the control loop's timer: %m");
			goto out;
		}
	}
	if (containers__guard_fd(d.ctrs) >= 0) {
		r = add_ep(&d, containers__guard_fd(d.ctrs), &d.guard_src, EP_GUARD);
		if (r) {
			log_error_errno(r, "Failed to watch the memory relief's timer: %m");
			goto out;
		}
	}
	if (containers__io_fd(d.ctrs) >= 0) {
		r = add_ep(&d, containers__io_fd(d.ctrs), &d.io_src, EP_IO);
		if (r) {
			log_error_errno(r, "Failed to watch the I/O loop's timer: %m");
			goto out;
		}
	}
	observe_sample(&d);
	log_info("ready: control socket %s, metrics %s%s", d.socket_path,
		 d.metrics ? metrics__address(d.metrics) : "off",
		 d.conf.dry_run ? " (dry run)" : "");
	r = run_loop(&d, &o);
out:
	cleanup(&d);
	return r ? 1 : 0;
}
