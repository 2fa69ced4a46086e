/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgpilot-run, the launcher: its options (args.c, pure), the workload's
 * process set up and started inside its cgroup (spawn.c), and the container's
 * life around it (run.c: admission, signals, exit status, release).
 */
#ifndef CGPILOT_RUN_H
#define CGPILOT_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Exit statuses of cgpilot-run itself (cgpilot-run(1), EXIT STATUS); else the
 * workload's, 128+N when signal N killed it. */
#define RUN_EXIT_REFUSED 124 /* admission refused, or a limit this node cannot enforce */
#define RUN_EXIT_FAILED 125 /* cgpilot-run's own error: arguments, bundle, daemon, setup */
#define RUN_EXIT_NOEXEC 126 /* the command exists but cannot be executed */
#define RUN_EXIT_NOTFOUND 127 /* the command was not found */

struct run_opts {
	const char *class; /* NULL: the daemon's default (burstable) */
	uint64_t cpu_request_mc, cpu_limit_mc; /* 0: not given */
	uint64_t memory_request, memory_limit;
	uint32_t io_weight;
	int priority;
	bool has_priority;
	const char *name, *tenant, *hostname;
	const char *rootfs, *bundle;
	bool wait, standalone;
	bool net; /* a new, empty network namespace */
	bool no_pid, no_mount, no_uts, no_ipc; /* leave out a default namespace */
	bool caps_set;
	uint64_t caps; /* --cap: the capability set (default Docker's) */
	bool keep_fds; /* never: no descriptor but 0-2 reaches the workload */
	const char *socket;
	const char *config; /* the daemon's configuration, for --standalone */
	bool quiet, verbose;
	char **argv; /* the command, NULL-terminated; NULL with --bundle */
	int argc;
};

/*
 * Parse cgpilot-run's command line into @o. 0; 1 when --help or --version
 * was asked (printed to stdout); -EINVAL with the problem in @err, naming
 * the option and the value ("--memory '12Q': not a size").
 */
int run_parse_args(int argc, char **argv, struct run_opts *o, char *err, size_t errlen);
void run_usage(FILE *f);

struct oci_spec;

/* What the workload's process is given (from the options or a bundle). */
struct spawn_mount {
	const char *destination, *type, *source;
	unsigned long flags; /* MS_* */
	unsigned long propagation; /* MS_PRIVATE, MS_SLAVE, ... after the mount; 0 */
	const char *data; /* filesystem options */
	bool bind_ro; /* a bind mount made read-only after (a second mount call) */
};

struct spawn_spec {
	char *const *argv;
	char *const *envp;
	const char *cwd; /* NULL: / with a rootfs, else the launcher's own */
	bool set_user;
	uid_t uid;
	gid_t gid;
	const gid_t *gids;
	size_t ngids;
	int umask; /* -1: leave */
	const struct oci_spec *oci; /* rlimits, sysctl, masked and read-only paths */
	uint64_t caps[5]; /* bounding, effective, inheritable, permitted, ambient */
	bool no_new_privs;
	int oom_score_adj;
	bool has_oom_score_adj;
	const char *rootfs; /* NULL: the host's root, with a fresh /proc in a pid namespace */
	bool rootfs_readonly;
	const char *hostname;
	const struct spawn_mount *mounts; /* NULL: the default /proc, /dev, /sys set */
	size_t nmounts;
	unsigned ns_new; /* CLONE_NEW* */
	const char *const *ns_join; /* namespace files to setns() into, NULL-terminated */
	const int *ns_fds; /* ... or open namespace fds, -1-terminated (joined first) */
	int cgroup_fd; /* the container's cgroup: clone3 CLONE_INTO_CGROUP */
	/* called with the child's pid once it exists, before it runs anything of
	 * its own (it waits for the go byte): the launcher tells the daemon
	 * then, so that no window is left where a killed launcher leaves a
	 * started container nobody holds */
	void (*on_clone)(pid_t pid, void *ud);
	void *ud;
	/* the OCI runtime's create: the process is set up and held before
	 * exec until `start` opens hold_dirfd's exec.fifo for reading;
	 * spawn_start returns once it waits there. The launcher may exit
	 * meanwhile (no parent-death signal; so too with survive_parent) */
	int hold_dirfd; /* -1: not held */
	bool survive_parent; /* exec --detach: outlive the caller */
	bool no_pivot; /* MS_MOVE and chroot instead of pivot_root (a ramfs root) */
	/* process.terminal: a pty made in the container's /dev/pts, its
	 * master sent over this connected socket (SCM_RIGHTS), the slave the
	 * process's controlling terminal and stdio; -1 none */
	int console_fd;
	unsigned preserve_fds; /* 3 .. 3+N-1 stay open across exec */
	/* linux.seccomp built by seccomp_build(), loaded last in the child; NULL */
	void *seccomp;
	/* join this pid namespace before clone3 (exec into a container: a
	 * pid namespace is entered by the children of who joins it); -1 */
	int pidns_fd;
};

/*
 * Start the workload: clone3 into the cgroup with the namespaces, the
 * child sets up mounts, root, hostname, limits, identity and capabilities,
 * closes every descriptor but 0-2, and execs. Returns the pid (and a pidfd
 * in *ret_pidfd) once exec has happened; or -errno with the step that failed
 * in @err, *ret_exit the status to exit with (126, 127, 125).
 */
pid_t spawn_start(const struct spawn_spec *s, int *ret_pidfd, int *ret_exit, char *err,
		  size_t errlen);

/* devices.c: the device cgroup program of @spec's rules attached to the
 * cgroup open at @cgfd; -errno with the kernel's reason in @err. */
int devices_attach(const struct oci_spec *spec, int cgfd, char *err, size_t errlen);

struct oci_seccomp;
/* seccomp.c: the filter of @s (libseccomp's, as void *); -errno naming the
 * rule in @err. seccomp_apply() loads it (in the child). */
int seccomp_build(const struct oci_seccomp *s, void **ret, char *err, size_t errlen);
int seccomp_apply(void *ctx);
void seccomp_free(void *ctx);

#endif
