// SPDX-License-Identifier: Apache-2.0
/*
 * The workload's process: clone3 with CLONE_INTO_CGROUP, so that its first
 * instruction already runs under the cgroup's cpuset and limits, in its new
 * namespaces; then, in the child, the steps crun and runc take (mounts,
 * pivot_root, hostname, sysctl, rlimits, identity, capabilities,
 * no_new_privs, descriptors) and exec. A step that fails writes its error
 * down a close-on-exec pipe: an empty read in the parent means exec
 * happened.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci.h"
#include "oci_devices.h"
#include "run.h"
#include "util.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* ---- in the child: report a failed step and exit ---- */

struct child_err {
	int err; /* errno */
	int exit_status;
	char msg[512];
};

static int err_fd = -1;

static void __attribute__((noreturn, format(printf, 2, 3)))
die(int exit_status, const char *fmt, ...)
{
	struct child_err e = { .err = errno, .exit_status = exit_status };
	va_list ap;
	ssize_t w;

	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	if (err_fd >= 0)
		w = write(err_fd, &e, sizeof(e));
	else /* after a held process was let go: the container's stderr */
		w = dprintf(2, "cgpilot-run: %s\n", e.msg);
	(void)w;
	_exit(exit_status);
}

#define CHECK(expr, ...)                                   \
	do {                                               \
		if ((expr) < 0)                            \
			die(RUN_EXIT_FAILED, __VA_ARGS__); \
	} while (0)

/* ---- mounts ---- */

/*
 * Mount destinations are resolved inside the new root, as if it were "/"
 * (openat2 RESOLVE_IN_ROOT: a symlink in the image, absolute or with "..",
 * stays inside it), created one component at a time the same way, and
 * mounted on through /proc/self/fd: a hostile root filesystem cannot make
 * the launcher create or mount anything outside it.
 */
static int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

/* The fd (O_PATH) of @dest inside @rootfd, made if missing: directories,
 * or for @file the last component as an empty file; -1 with errno, -2 for
 * a symlink on the way to a path that does not exist. */
static int make_in_root(int rootfd, const char *dest, bool file)
{
	char buf[4096], *p;
	struct stat st;
	int fd;

	if (snprintf(buf, sizeof(buf), "%s", dest) >= (int)sizeof(buf))
		die(RUN_EXIT_FAILED, "mount destination '%s' too long", dest);
	fd = open_in_root(rootfd, buf, O_PATH);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	for (p = buf + 1;; p++) {
		bool last = !*p;

		if (*p != '/' && !last)
			continue;
		*p = 0;
		fd = open_in_root(rootfd, buf, O_PATH);
		if (fd < 0 && errno == ENOENT) {
			char *slash = strrchr(buf, '/');
			int dirfd;

			*slash = 0;
			dirfd = open_in_root(rootfd, buf[0] ? buf : "/", O_PATH | O_DIRECTORY);
			*slash = '/';
			if (dirfd < 0)
				return -1;
			if (last && file) {
				int f = openat(dirfd, slash + 1,
					       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
					       0644);

				if (f >= 0)
					close(f);
			} else {
				mkdirat(dirfd, slash + 1, 0755);
			}
			/* there and still not found: a symlink to a missing path,
			 * which is not followed to be made */
			if (!fstatat(dirfd, slash + 1, &st, AT_SYMLINK_NOFOLLOW) &&
			    S_ISLNK(st.st_mode)) {
				close(dirfd);
				return -2;
			}
			close(dirfd);
			fd = open_in_root(rootfd, buf, O_PATH);
		}
		if (last)
			return fd;
		if (fd < 0)
			return -1;
		close(fd);
		*p = '/';
	}
}

static void do_mount(int rootfd, const struct spawn_mount *m)
{
	char target[64];
	struct stat st;
	bool bind = m->flags & MS_BIND;
	bool file = bind && m->source && !stat(m->source, &st) && !S_ISDIR(st.st_mode);
	int fd = make_in_root(rootfd, m->destination, file);

	if (fd == -2)
		die(RUN_EXIT_FAILED,
		    "mount destination %s: a symlink in the root filesystem leads to a path "
		    "that does not exist",
		    m->destination);
	if (fd < 0)
		die(RUN_EXIT_FAILED, "mount destination %s inside the root: %m", m->destination);
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	if (mount(m->source ? m->source : "none", target, m->type, m->flags, m->data) < 0)
		die(RUN_EXIT_FAILED, "mount %s (%s) on %s: %m", m->source ? m->source : "none",
		    m->type ? m->type : "bind", m->destination);
	close(fd);
	/* the mount is on top now: the path reaches it, resolved as before */
	fd = open_in_root(rootfd, m->destination, O_PATH);
	if (fd < 0)
		die(RUN_EXIT_FAILED, "mount destination %s after mounting: %m", m->destination);
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	if (bind && (m->bind_ro || (m->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC))))
		CHECK(mount(NULL, target, NULL,
			    MS_BIND | MS_REMOUNT |
				    (m->flags &
				     (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_REC)) |
				    (m->bind_ro ? MS_RDONLY : 0),
			    NULL),
		      "remount %s: %m", m->destination);
	if (m->propagation)
		CHECK(mount(NULL, target, NULL, m->propagation, NULL), "propagation of %s: %m",
		      m->destination);
	close(fd);
}

/* The default set with --rootfs (as crun spec writes it). */
static const struct spawn_mount default_mounts[] = {
	{ "/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, NULL, false },
	{ "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, 0, "mode=755,size=65536k", false },
	{ "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC, 0,
	  "newinstance,ptmxmode=0666,mode=0620", false },
	{ "/dev/shm", "tmpfs", "shm", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, "mode=1777,size=65536k",
	  false },
	{ "/dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, NULL, false },
	{ "/sys", "sysfs", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, 0, NULL, false },
};

/* The device nodes every container gets (the runtime-spec's list). */
static const struct {
	const char *name;
	unsigned maj, min;
} default_devices[] = {
	{ "null", 1, 3 },   { "zero", 1, 5 },	 { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

/* The default nodes in the new root's /dev (a tmpfs of ours), resolved
 * inside the root like the mounts. */
static void make_dev(int rootfd)
{
	static const char *const links[][2] = {
		{ "/proc/self/fd", "fd" },	 { "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
		{ "pts/ptmx", "ptmx" },
	};
	int dev = open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY);
	mode_t old = umask(0); /* the nodes are 0666 */

	if (dev < 0)
		die(RUN_EXIT_FAILED, "open /dev inside the root: %m");
	for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++) {
		const char *n = default_devices[i].name;

		if (mknodat(dev, n, S_IFCHR | 0666,
			    makedev(default_devices[i].maj, default_devices[i].min)) < 0 &&
		    errno != EEXIST)
			die(RUN_EXIT_FAILED, "mknod /dev/%s: %m", n);
	}
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (symlinkat(links[i][0], dev, links[i][1]) < 0 && errno != EEXIST)
			die(RUN_EXIT_FAILED, "symlink /dev/%s: %m", links[i][1]);
	umask(old);
	close(dev);
}

/* linux.devices: each node made inside the root (its directory resolved
 * there like the mounts), replacing a default node of the same name. */
static void make_bundle_devices(int rootfd, const struct oci_spec *o)
{
	mode_t old;

	if (!o || !o->ndevices)
		return;
	old = umask(0);
	for (size_t i = 0; i < o->ndevices; i++) {
		const struct oci_device *d = &o->devices[i];
		char dir[4096], *slash;
		mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
		int dfd;

		snprintf(dir, sizeof(dir), "%s", d->path);
		slash = strrchr(dir, '/');
		*slash = 0;
		dfd = make_in_root(rootfd, dir[0] ? dir : "/", false);
		if (dfd < 0)
			die(RUN_EXIT_FAILED, "linux.devices %s: its directory inside the root: %m",
			    d->path);
		unlinkat(dfd, slash + 1, 0);
		if (mknodat(dfd, slash + 1, type | d->mode,
			    d->type == 'p' ? 0 : makedev(d->major, d->minor)) < 0)
			die(RUN_EXIT_FAILED, "mknod %s: %m", d->path);
		if (fchownat(dfd, slash + 1, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
			die(RUN_EXIT_FAILED, "chown %s: %m", d->path);
		close(dfd);
	}
	umask(old);
}

static void setup_root(const struct spawn_spec *s)
{
	const struct spawn_mount *mounts = s->mounts ? s->mounts : default_mounts;
	size_t n = s->mounts ? s->nmounts : ARRAY_SIZE(default_mounts);
	bool dev_tmpfs = false;

	int rootfd;

	CHECK(mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL), "bind %s: %m", s->rootfs);
	rootfd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		die(RUN_EXIT_FAILED, "open %s: %m", s->rootfs);
	for (size_t i = 0; i < n; i++) {
		do_mount(rootfd, &mounts[i]);
		if (!strcmp(mounts[i].destination, "/dev") && mounts[i].type &&
		    !strcmp(mounts[i].type, "tmpfs"))
			dev_tmpfs = true;
	}
	if (dev_tmpfs)
		make_dev(rootfd);
	make_bundle_devices(rootfd, s->oci);
	close(rootfd);
	CHECK(chdir(s->rootfs), "chdir %s: %m", s->rootfs);
	if (s->no_pivot) {
		/* a root that cannot be pivoted from (ramfs): moved onto / */
		CHECK(mount(s->rootfs, "/", NULL, MS_MOVE, NULL), "move %s onto /: %m", s->rootfs);
		CHECK(chroot("."), "chroot into %s: %m", s->rootfs);
	} else {
		/* the old root is stacked under the new and detached: nothing of
		 * the host's tree stays reachable */
		CHECK(syscall(SYS_pivot_root, ".", "."), "pivot_root into %s: %m", s->rootfs);
		CHECK(umount2(".", MNT_DETACH), "detach the old root: %m");
	}
	CHECK(chdir("/"), "chdir /: %m");
}

static void write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(value);

	if (fd < 0 || write(fd, value, len) != (ssize_t)len)
		die(RUN_EXIT_FAILED, "write '%s' to %s: %m", value, path);
	close(fd);
}

/* maskedPaths and readonlyPaths, after pivot_root (as runc does) */
static void mask_paths(const struct oci_spec *o)
{
	struct stat st;

	for (size_t i = 0; o && i < o->nmasked; i++) {
		const char *p = o->masked_paths[i];

		if (stat(p, &st) < 0) {
			if (errno == ENOENT)
				continue;
			die(RUN_EXIT_FAILED, "masked path %s: %m", p);
		}
		if (S_ISDIR(st.st_mode))
			CHECK(mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0"), "mask %s: %m", p);
		else
			CHECK(mount("/dev/null", p, NULL, MS_BIND, NULL), "mask %s: %m", p);
	}
	for (size_t i = 0; o && i < o->nreadonly; i++) {
		const char *p = o->readonly_paths[i];

		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			die(RUN_EXIT_FAILED, "read-only path %s: %m", p);
		}
		CHECK(mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL),
		      "read-only path %s: %m", p);
	}
}

static void set_sysctls(const struct oci_spec *o)
{
	char path[512];

	for (size_t i = 0; o && i < o->nsysctl; i++) {
		snprintf(path, sizeof(path), "/proc/sys/%s", o->sysctl[i].key);
		for (char *p = path + 10; *p; p++)
			if (*p == '.')
				*p = '/';
		write_file(path, o->sysctl[i].value);
	}
}

/* ---- identity and privileges ---- */

static void set_caps(const uint64_t caps[5])
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };
	uint64_t inh;
	int last = 63;

	/* the bounding set: drop what is not in it (capabilities past the
	 * kernel's last one give EINVAL, where the loop ends) */
	for (int c = 0; c <= last; c++) {
		if (caps[OCI_CAP_BOUNDING] & (1ULL << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;
			die(RUN_EXIT_FAILED, "drop capability %d from the bounding set: %m", c);
		}
	}
	d[0].effective = (uint32_t)caps[OCI_CAP_EFFECTIVE];
	d[1].effective = (uint32_t)(caps[OCI_CAP_EFFECTIVE] >> 32);
	d[0].permitted = (uint32_t)caps[OCI_CAP_PERMITTED];
	d[1].permitted = (uint32_t)(caps[OCI_CAP_PERMITTED] >> 32);
	/* an ambient capability must be inheritable (and permitted) to be
	 * raised: the runtime-spec's defaults (crun spec) list it in ambient
	 * but not in inheritable, and runc and crun raise it all the same */
	inh = caps[OCI_CAP_INHERITABLE] | (caps[OCI_CAP_AMBIENT] & caps[OCI_CAP_PERMITTED]);
	d[0].inheritable = (uint32_t)inh;
	d[1].inheritable = (uint32_t)(inh >> 32);
	CHECK(syscall(SYS_capset, &h, d), "set capabilities: %m");
	CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient: %m");
	for (int c = 0; c < 64; c++)
		if (caps[OCI_CAP_AMBIENT] & caps[OCI_CAP_PERMITTED] & (1ULL << c))
			CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0),
			      "raise ambient capability %d: %m", c);
}

static void set_user(const struct spawn_spec *s)
{
	if (!s->set_user)
		return;
	/* keep the permitted set across setuid; set_caps() then cuts it */
	CHECK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "keep capabilities: %m");
	CHECK(setgroups(s->ngids, s->gids), "setgroups: %m");
	CHECK(setresgid(s->gid, s->gid, s->gid), "setgid %u: %m", (unsigned)s->gid);
	CHECK(setresuid(s->uid, s->uid, s->uid), "setuid %u: %m", (unsigned)s->uid);
}

static void set_rlimits(const struct oci_spec *o)
{
	for (size_t i = 0; o && i < o->nrlimits; i++) {
		struct rlimit rl = { .rlim_cur = o->rlimits[i].soft,
				     .rlim_max = o->rlimits[i].hard };

		CHECK(setrlimit(o->rlimits[i].resource, &rl), "setrlimit %d: %m",
		      o->rlimits[i].resource);
	}
}

/* ---- the terminal and the hold ---- */

/* A pty from the container's own devpts, the master sent over the console
 * socket, the slave made the controlling terminal and stdio (runc's and
 * crun's way; conmon and the containerd shim read the master). */
static void setup_console(int sock)
{
	char cmsgbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char name[] = "/dev/ptmx";
	struct iovec iov = { .iov_base = name, .iov_len = sizeof(name) - 1 };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cmsgbuf,
			     .msg_controllen = sizeof(cmsgbuf) };
	struct cmsghdr *cm;
	int master, slave, unlock = 0;

	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		die(RUN_EXIT_FAILED, "open /dev/ptmx in the container (a devpts mount at "
				     "/dev/pts with ptmx is needed for process.terminal): %m");
	CHECK(ioctl(master, TIOCSPTLCK, &unlock), "unlock the pty: %m");
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0)
		die(RUN_EXIT_FAILED, "open the pty's slave: %m");
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &master, sizeof(int));
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		die(RUN_EXIT_FAILED, "send the pty over --console-socket: %m");
	close(master);
	close(sock);
	CHECK(setsid(), "setsid: %m");
	CHECK(ioctl(slave, TIOCSCTTY, 0), "make the pty the controlling terminal: %m");
	for (int fd = 0; fd < 3; fd++)
		CHECK(dup2(slave, fd), "the pty as fd %d: %m", fd);
	if (slave > 2)
		close(slave);
}

/* process.args[0] as exec will find it: in the container's PATH, or as
 * given; refused at create (127, 126) rather than after start. */
static void check_executable(char *const *argv, char *const *envp)
{
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	const char *cmd = argv[0];
	char buf[4096];
	struct stat st;

	if (strchr(cmd, '/')) {
		if (cmd[0] != '/')
			return; /* relative to process.cwd: exec says */
		if (stat(cmd, &st) < 0)
			die(RUN_EXIT_NOTFOUND, "exec %s: %m", cmd);
		if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
			die(RUN_EXIT_NOEXEC, "exec %s: not an executable file", cmd);
		return;
	}
	for (size_t i = 0; envp && envp[i]; i++)
		if (!strncmp(envp[i], "PATH=", 5))
			path = envp[i] + 5;
	for (const char *p = path, *e;; p = e + 1) {
		e = strchrnul(p, ':');
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)(e - p), e == p ? "." : p, cmd);
		if (!stat(buf, &st) && S_ISREG(st.st_mode) && (st.st_mode & 0111))
			return;
		if (!*e)
			break;
	}
	errno = ENOENT;
	die(RUN_EXIT_NOTFOUND, "exec %s: not found in $PATH (%s)", cmd, path);
}

/* Tell create we are ready and wait for start (its read of exec.fifo). */
static void hold(int dirfd)
{
	struct child_err ready = { .exit_status = -1 };
	ssize_t w;
	int fd;

	w = write(err_fd, &ready, sizeof(ready));
	(void)w;
	close(err_fd);
	err_fd = -1;
	do
		fd = openat(dirfd, "exec.fifo", O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0 || write(fd, "0", 1) != 1)
		die(RUN_EXIT_FAILED, "wait for start on exec.fifo: %m");
	close(fd);
	close(dirfd);
}

static void __attribute__((noreturn)) child(const struct spawn_spec *s, int go_fd)
{
	sigset_t none;
	char c;

	/* dies with the launcher, even by SIGKILL; one that died before this
	 * line closed the go pipe, and the read below sees the end */
	if (s->hold_dirfd < 0 && !s->survive_parent)
		CHECK(prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "parent-death signal: %m");
	if (read(go_fd, &c, 1) != 1)
		_exit(RUN_EXIT_FAILED);
	close(go_fd);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	for (size_t i = 0; s->ns_fds && s->ns_fds[i] >= 0; i++)
		if (setns(s->ns_fds[i], 0) < 0)
			die(RUN_EXIT_FAILED, "join the container's namespace (fd %d): %m",
			    s->ns_fds[i]);
	for (size_t i = 0; s->ns_join && s->ns_join[i]; i++) {
		int fd = open(s->ns_join[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0 || setns(fd, 0) < 0)
			die(RUN_EXIT_FAILED, "join namespace %s: %m", s->ns_join[i]);
		close(fd);
	}
	if (s->ns_new & CLONE_NEWNS) {
		/* nothing mounted here reaches the host */
		CHECK(mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL), "make / a slave: %m");
		if (s->rootfs)
			setup_root(s);
		else if (s->ns_new & CLONE_NEWPID)
			CHECK(mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
				    NULL),
			      "mount /proc: %m");
	} else if (s->rootfs) {
		die(RUN_EXIT_FAILED, "a root filesystem needs a mount namespace");
	}
	if (s->hostname && (s->ns_new & CLONE_NEWUTS))
		CHECK(sethostname(s->hostname, strlen(s->hostname)), "sethostname %s: %m",
		      s->hostname);
	set_sysctls(s->oci);
	if (s->rootfs)
		mask_paths(s->oci);
	if (s->rootfs && s->rootfs_readonly)
		CHECK(mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL),
		      "read-only root: %m");
	if (s->has_oom_score_adj) {
		char v[16];

		snprintf(v, sizeof(v), "%d", s->oom_score_adj);
		write_file("/proc/self/oom_score_adj", v);
	}
	set_rlimits(s->oci);
	if (s->console_fd >= 0)
		setup_console(s->console_fd);
	if (s->hold_dirfd >= 0) {
		check_executable(s->argv, s->envp ? s->envp : environ);
		hold(s->hold_dirfd);
	}
	/* without no_new_privs, loading a filter needs CAP_SYS_ADMIN: while
	 * it is still there */
	if (s->seccomp && !s->no_new_privs) {
		int r = seccomp_apply(s->seccomp);

		if (r < 0) {
			errno = -r;
			die(RUN_EXIT_FAILED, "load the seccomp filter: %m");
		}
	}
	set_user(s);
	set_caps(s->caps);
	if (s->no_new_privs)
		CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs: %m");
	if (s->umask >= 0)
		umask((mode_t)s->umask);
	if (s->cwd)
		CHECK(chdir(s->cwd), "chdir %s: %m", s->cwd);
	/* no descriptor but 0-2 reaches the workload (err_fd closes on exec) */
	if (syscall(SYS_close_range, 3 + s->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		die(RUN_EXIT_FAILED, "close_range: %m");
	if (s->envp)
		environ = (char **)s->envp;
	if (s->seccomp && s->no_new_privs) {
		int r = seccomp_apply(s->seccomp);

		if (r < 0) {
			errno = -r;
			die(RUN_EXIT_FAILED, "load the seccomp filter: %m");
		}
	}
	execvp(s->argv[0], s->argv);
	die(errno == ENOENT ? RUN_EXIT_NOTFOUND : RUN_EXIT_NOEXEC, "exec %s: %m", s->argv[0]);
}

pid_t spawn_start(const struct spawn_spec *s, int *ret_pidfd, int *ret_exit, char *err,
		  size_t errlen)
{
	int errp[2], gop[2], pidfd = -1;
	struct clone_args ca = { 0 };
	struct child_err e;
	ssize_t n;
	pid_t pid;

	*ret_exit = RUN_EXIT_FAILED;
	if (pipe2(errp, O_CLOEXEC) < 0 || pipe2(gop, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -errno;
	}
	if (s->pidns_fd >= 0 && setns(s->pidns_fd, CLONE_NEWPID) < 0) {
		int r = -errno;

		snprintf(err, errlen, "join the container's pid namespace: %s", strerror(errno));
		close(errp[0]), close(errp[1]), close(gop[0]), close(gop[1]);
		return r;
	}
	ca.flags = CLONE_INTO_CGROUP | CLONE_PIDFD | s->ns_new;
	ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
	ca.exit_signal = SIGCHLD;
	ca.cgroup = (uint64_t)s->cgroup_fd;
	pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0) {
		int r = -errno;

		if (errno == ENOSYS || errno == E2BIG)
			snprintf(err, errlen,
				 "clone3 with CLONE_INTO_CGROUP is not available (Linux 5.7 or "
				 "later is needed): %s",
				 strerror(errno));
		else
			snprintf(err, errlen, "clone3 into the container's cgroup: %s",
				 strerror(errno));
		close(errp[0]), close(errp[1]), close(gop[0]), close(gop[1]);
		return r;
	}
	if (pid == 0) {
		close(errp[0]);
		close(gop[1]);
		err_fd = errp[1];
		child(s, gop[0]);
	}
	close(errp[1]);
	close(gop[0]);
	if (s->on_clone)
		s->on_clone(pid, s->ud);
	n = write(gop[1], "g", 1);
	close(gop[1]);
	(void)n;
	/* an empty read: exec closed the pipe */
	do
		n = read(errp[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(errp[0]);
	if (n == 0 && s->hold_dirfd >= 0) {
		/* a held child never execs before start: it died in its setup */
		snprintf(err, errlen,
			 "the container's process ended before it was ready "
			 "(killed during its setup?)");
		waitpid(pid, NULL, 0);
		close(pidfd);
		return -EIO;
	}
	if (n == (ssize_t)sizeof(e) && e.exit_status == -1 && s->hold_dirfd >= 0) {
		/* held before exec, waiting for start */
		*ret_pidfd = pidfd;
		return pid;
	}
	if (n > 0) {
		e.msg[sizeof(e.msg) - 1] = 0;
		snprintf(err, errlen, "%s", n == (ssize_t)sizeof(e) ? e.msg : "the child failed");
		*ret_exit = n == (ssize_t)sizeof(e) ? e.exit_status : RUN_EXIT_FAILED;
		waitpid(pid, NULL, 0);
		close(pidfd);
		return n == (ssize_t)sizeof(e) && e.err ? -e.err : -EIO;
	}
	*ret_pidfd = pidfd;
	return pid;
}
