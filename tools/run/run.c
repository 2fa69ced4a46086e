// SPDX-License-Identifier: Apache-2.0
/*
 * cgpilot-run: ask cgpilotd to admit a container, start the workload inside
 * the cgroup it made (spawn.c), forward signals, report how it ended, and
 * release the container. With --standalone the launcher makes the cgroup and
 * writes the flags itself, through the same actuator, without admission.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "actuate/actuate.h"
#include "admission.h"
#include "bundle.h"
#include "cgroupfs.h"
#include "client.h"
#include "config.h"
#include "oci.h"
#include "run.h"
#include "runtime.h"
#include "standalone.h"
#include "util.h"

static struct run_opts opts;

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
	va_list ap;

	if (opts.quiet)
		return;
	fputs("cgpilot-run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void error(const char *fmt, ...)
{
	va_list ap;

	fputs("cgpilot-run: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t now_us(void)
{
	return mono_now_ns() / 1000;
}

static int admit(struct ctr *k, const struct oci_request *q, const char *class)
{
	json_object *req = json_object_new_object(), *rep = NULL, *e;
	int r;

	json_object_object_add(req, "op", json_object_new_string("container.admit"));
	if (opts.name)
		json_object_object_add(req, "name", json_object_new_string(opts.name));
	if (class)
		json_object_object_add(req, "class", json_object_new_string(class));
	adm_add_u64(req, "cpu_request_mc", q->cpu_request_mc);
	adm_add_u64(req, "cpu_limit_mc", q->cpu_limit_mc);
	adm_add_u64(req, "memory_request", q->memory_request);
	adm_add_u64(req, "memory_limit", q->memory_limit);
	adm_add_u64(req, "io_weight", q->io_weight);
	if (opts.has_priority)
		json_object_object_add(req, "priority", json_object_new_int(opts.priority));
	if (opts.tenant)
		json_object_object_add(req, "tenant", json_object_new_string(opts.tenant));
	if (opts.wait)
		json_object_object_add(req, "wait", json_object_new_boolean(true));
	r = adm_call(k->cl, req, &rep);
	if (r < 0) {
		error("no answer from cgpilotd to container.admit: %s", strerror(-r));
		return RUN_EXIT_FAILED;
	}
	if (opts.wait && adm_jget(rep, "queued")) {
		e = adm_jget(rep, "reason");
		msg("queued for admission: %s", e ? json_object_get_string(e) : "no room now");
		json_object_put(rep);
		rep = NULL;
		r = client__recv(k->cl, -1, &rep);
		if (r < 0) {
			error("the daemon went away while the request waited: %s", strerror(-r));
			return RUN_EXIT_FAILED;
		}
	}
	if ((e = adm_jget(rep, "error"))) {
		bool refused = adm_jget(rep, "refused") != NULL;

		error("%s: %s", refused ? "admission refused" : "container.admit failed",
		      json_object_get_string(e));
		json_object_put(rep);
		return refused ? RUN_EXIT_REFUSED : RUN_EXIT_FAILED;
	}
	r = adm_take(k, adm_jget(rep, "container"));
	json_object_put(rep);
	if (r == -EROFS) {
		error("cgpilotd runs with --dry-run: it decided container %" PRIu64
		      " but made no cgroup to start it in (--standalone runs without it)",
		      k->id);
		return RUN_EXIT_FAILED;
	}
	if (r) {
		error("cgpilotd's admission reply has no container");
		return RUN_EXIT_FAILED;
	}
	return 0;
}

static void release(struct ctr *k)
{
	json_object *req, *rep = NULL;
	int r;

	if (k->sa) {
		standalone_remove(k->sa);
		return;
	}
	if (!k->id)
		return;
	for (int attempt = 0; attempt < 2; attempt++) {
		req = json_object_new_object();
		json_object_object_add(req, "op", json_object_new_string("container.release"));
		json_object_object_add(req, "id", json_object_new_int64((int64_t)k->id));
		/* what is left of a pid namespace dies with its init: gone soon */
		json_object_object_add(req, "kill", json_object_new_boolean(true));
		r = adm_call(k->cl, req, &rep);
		if (r >= 0)
			break;
		/* the daemon restarted since: a new connection */
		client__free(k->cl);
		k->cl = NULL;
		if (client__new(opts.socket, &k->cl) < 0)
			break;
	}
	if (r < 0)
		error("container %" PRIu64 " (%s) not released: %s; cgpilotd removes it once "
		      "it is empty",
		      k->id, k->cgroup, strerror(-r));
	else if (adm_jget(rep, "error"))
		error("container.release %" PRIu64 ": %s", k->id,
		      json_object_get_string(adm_jget(rep, "error")));
	json_object_put(rep);
	k->id = 0;
}

static char *const *started_argv;

static void on_clone(pid_t pid, void *ud)
{
	struct ctr *k = ud;
	const char *why;

	/* this connection holds the container: if it closes first (the
	 * launcher killed), the daemon releases it */
	if (k->cl && (why = adm_started(k, pid, started_argv, true)))
		msg("container.started: %s", why);
}

/* memory.events' oom_kill of the container, -1 without a memory controller */
static long long oom_kills(int cgfd)
{
	char buf[512];
	uint64_t n;

	if (cgfs_read_at(cgfd, "memory.events", buf, sizeof(buf)) < 0 ||
	    cgfs_keyed_u64(buf, "oom_kill", &n) || n > INT64_MAX)
		return -1;
	return (long long)n;
}

/* ---- running it ---- */

static void print_warnings(struct oci_spec *spec)
{
	for (char *w = spec->warnings, *nl; *w; w = nl + 1) {
		nl = strchr(w, '\n');
		if (!nl)
			break;
		*nl = 0;
		msg("warning: %s/config.json: %s (ignored)", opts.bundle, w);
		*nl = '\n';
	}
	if (spec->terminal)
		msg("warning: %s/config.json: process.terminal: the launcher's own terminal is "
		    "the workload's (ignored)",
		    opts.bundle);
}

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

static int wait_workload(int pidfd, pid_t pid, int sigfd, siginfo_t *ret)
{
	struct pollfd p[2] = { { .fd = pidfd, .events = POLLIN },
			       { .fd = sigfd, .events = POLLIN } };

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sigfd, &si, sizeof(si)) == sizeof(si))
				if (si.ssi_signo != SIGCHLD &&
				    syscall(SYS_pidfd_send_signal, pidfd, si.ssi_signo, NULL, 0) <
					    0 &&
				    errno != ESRCH)
					error("forward signal %u: %s", si.ssi_signo,
					      strerror(errno));
		}
		if (p[0].revents & (POLLIN | POLLHUP)) {
			memset(ret, 0, sizeof(*ret));
			if (waitid(P_PID, (id_t)pid, ret, WEXITED) < 0)
				return -errno;
			return 0;
		}
	}
}

int main(int argc, char **argv)
{
	struct oci_spec spec = { 0 };
	struct oci_request q = { 0 };
	struct spawn_spec ss = { 0 };
	struct bundle_run br = { 0 };
	char err[768], rootbuf[4096], cgpath[4096], *mount = NULL;
	const char *class;
	struct ctr k = { 0 };
	int r, status = RUN_EXIT_FAILED, cgfd = -1, sigfd = -1, pidfd = -1, exit_code = 0;
	long long oom_before;
	uint64_t t0 = now_us(), t_admit = 0, t_cg = 0, t_exec = 0;
	sigset_t mask;
	siginfo_t si;
	pid_t pid;

	/* the OCI runtime's command line (create, start, ... as runc's) */
	if (rt_is_runtime_form(argc, argv))
		return runtime_main(argc, argv);
	r = run_parse_args(argc, argv, &opts, err, sizeof(err));
	if (r == 1)
		return 0;
	if (r) {
		error("%s", err);
		return RUN_EXIT_FAILED;
	}
	if (geteuid() != 0) {
		error("cgpilot-run needs root (namespaces, its cgroup, capabilities)");
		return RUN_EXIT_FAILED;
	}
	class = opts.class;
	q.cpu_request_mc = opts.cpu_request_mc;
	q.cpu_limit_mc = opts.cpu_limit_mc;
	q.memory_request = opts.memory_request;
	q.memory_limit = opts.memory_limit;
	q.io_weight = opts.io_weight;

	ss.umask = -1;
	ss.no_new_privs = true;
	ss.hold_dirfd = ss.console_fd = ss.pidns_fd = -1;
	if (opts.bundle) {
		if (bundle_read(opts.bundle, &spec, rootbuf, sizeof(rootbuf), err, sizeof(err))) {
			error("%s", err);
			goto out;
		}
		print_warnings(&spec);
		if (oci_to_request(&spec.res, &q, err, sizeof(err))) {
			error("%s/config.json: %s", opts.bundle, err);
			goto out;
		}
		/* the flags win over the bundle's resources */
		if (opts.cpu_request_mc)
			q.cpu_request_mc = opts.cpu_request_mc;
		if (opts.cpu_limit_mc)
			q.cpu_limit_mc = opts.cpu_limit_mc;
		if (opts.memory_request)
			q.memory_request = opts.memory_request;
		if (opts.memory_limit)
			q.memory_limit = opts.memory_limit;
		if (opts.io_weight)
			q.io_weight = opts.io_weight;
		if (!class)
			class = oci_annotation(&spec, "io.cgpilot.class");
		if (class && !streq(class, "guaranteed") && !streq(class, "burstable") &&
		    !streq(class, "besteffort")) {
			error("annotation io.cgpilot.class '%s': not guaranteed, burstable or "
			      "besteffort",
			      class);
			goto out;
		}
		if (bundle_spawn_spec(&br, &spec, rootbuf, &ss, err, sizeof(err))) {
			error("%s/config.json: %s", opts.bundle, err);
			goto out;
		}
		if (opts.hostname)
			ss.hostname = opts.hostname;
		if (ss.hostname && !(ss.ns_new & CLONE_NEWUTS)) {
			error("%s: a hostname needs a new uts namespace in linux.namespaces",
			      opts.hostname ? "--hostname" : "config.json");
			goto out;
		}
	} else {
		uint64_t caps = opts.caps_set ? opts.caps : oci_default_caps() & ~(1ULL << 27);

		ss.argv = opts.argv;
		ss.rootfs = opts.rootfs;
		ss.cwd = opts.rootfs ? "/" : NULL;
		for (int i = 0; i < 4; i++)
			ss.caps[i] = caps;
		ss.ns_new = (opts.no_pid ? 0 : CLONE_NEWPID) | (opts.no_mount ? 0 : CLONE_NEWNS) |
			    (opts.no_uts ? 0 : CLONE_NEWUTS) | (opts.no_ipc ? 0 : CLONE_NEWIPC) |
			    (opts.net ? CLONE_NEWNET : 0);
		ss.hostname = opts.hostname ? opts.hostname : opts.name;
	}

	/* the container */
	if (opts.standalone) {
		r = standalone_create(&opts, class, &q, &k.sa, k.cgroup, sizeof(k.cgroup), err,
				      sizeof(err));
		if (r) {
			error("%s", err);
			goto out;
		}
	} else {
		r = client__new(opts.socket, &k.cl);
		if (r < 0) {
			error("cgpilotd is not running (%s: %s); start it, or use --standalone "
			      "to run without admission",
			      opts.socket, strerror(-r));
			goto out;
		}
		status = admit(&k, &q, class);
		if (status)
			goto out;
		status = RUN_EXIT_FAILED;
		{
			const char *missing = adm_unenforced_limit(&k, &q, class);

			if (missing) {
				error("refused: a %s limit was asked for, but the %s controller is "
				      "not available on this node's cgroup v2 hierarchy "
				      "(not enforced: %s)",
				      missing, missing, k.unenforced);
				status = RUN_EXIT_REFUSED;
				goto out;
			}
		}
	}
	t_admit = now_us();
	/* the mount the standalone cgroup was made under, else the host's */
	if (k.sa)
		r = (mount = strdup(standalone_mount(k.sa))) ? 0 : -ENOMEM;
	else
		r = cgfs_find_v2_mount(&mount);
	if (r < 0) {
		error("no cgroup v2 mount: %s", strerror(-r));
		goto out;
	}
	if (snprintf(cgpath, sizeof(cgpath), "%s/%s", mount, k.cgroup) >= (int)sizeof(cgpath)) {
		error("cgroup path %s/%s too long", mount, k.cgroup);
		goto out;
	}
	cgfd = open(cgpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (cgfd < 0) {
		error("open the container's cgroup %s: %s", cgpath, strerror(errno));
		goto out;
	}
	if (k.cgroup_id) {
		struct stat st;

		if (fstat(cgfd, &st) < 0 || (uint64_t)st.st_ino != k.cgroup_id) {
			error("cgroup %s is not the one cgpilotd made (id %" PRIu64 ")", cgpath,
			      k.cgroup_id);
			goto out;
		}
	}
	if (opts.bundle && devices_attach(&spec, cgfd, err, sizeof(err))) {
		error("%s", err);
		goto out;
	}
	if (k.sa && standalone_apply_extra(k.sa, cgfd, &q, err, sizeof(err))) {
		error("%s", err);
		goto out;
	}
	if (!k.sa && q.nknobs &&
	    standalone_write_knobs(cgfd, mount, k.cgroup, &q, err, sizeof(err))) {
		error("%s", err);
		goto out;
	}
	oom_before = oom_kills(cgfd);
	t_cg = now_us();

	sigemptyset(&mask);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&mask, forwarded[i]);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigfd < 0) {
		error("signalfd: %s", strerror(errno));
		goto out;
	}
	ss.cgroup_fd = cgfd;
	ss.on_clone = on_clone;
	ss.ud = &k;
	started_argv = ss.argv;
	fflush(NULL);
	pid = spawn_start(&ss, &pidfd, &status, err, sizeof(err));
	if (pid < 0) {
		error("%s", err);
		goto out;
	}
	t_exec = now_us();
	if (opts.verbose)
		msg("container %s: admission %.2f ms, cgroup %.2f ms, clone to exec %.2f ms",
		    k.cgroup, (double)(t_admit - t0) / 1000, (double)(t_cg - t_admit) / 1000,
		    (double)(t_exec - t_cg) / 1000);
	r = wait_workload(pidfd, pid, sigfd, &si);
	if (r < 0) {
		error("waiting for the workload: %s", strerror(-r));
		goto out;
	}
	if (si.si_code == CLD_EXITED) {
		exit_code = si.si_status;
	} else {
		long long oom_after = oom_kills(cgfd);

		exit_code = 128 + si.si_status;
		if (si.si_status == SIGKILL && oom_before >= 0 && oom_after > oom_before) {
			char lim[32] = "its memory limit";

			if (k.memory_limit || q.memory_limit)
				snprintf(lim, sizeof(lim), "memory.max %" PRIu64 " MiB",
					 (k.memory_limit ? k.memory_limit : q.memory_limit) >> 20);
			error("container %s was killed by the OOM killer (%s)", k.cgroup, lim);
		} else if (!opts.quiet && si.si_status != SIGINT && si.si_status != SIGPIPE) {
			msg("the workload was killed by signal %d (%s)", si.si_status,
			    strsignal(si.si_status));
		}
	}
	status = exit_code;
out:
	if (cgfd >= 0)
		close(cgfd);
	if (pidfd >= 0)
		close(pidfd);
	{
		uint64_t t_end = now_us();

		release(&k);
		if (opts.verbose && t_exec)
			msg("container %s: ran %.2f ms, release %.2f ms", k.cgroup,
			    (double)(t_end - t_exec) / 1000, (double)(now_us() - t_end) / 1000);
	}
	if (k.sa)
		standalone_free(k.sa);
	client__free(k.cl);
	free(mount);
	bundle_run_free(&br);
	oci_spec_free(&spec);
	return status;
}
