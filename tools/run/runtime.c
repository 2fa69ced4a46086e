// SPDX-License-Identifier: Apache-2.0
/*
 * cgpilot-run as an OCI runtime: create (admission at the bundle's
 * linux.cgroupsPath, the process set up and held before exec), start (the
 * held process let go), run, exec (a process in the container's
 * namespaces and cgroup), and the dispatch of the other commands
 * (rt_ops.c).
 *
 * Failure modes, so that cgpilot never stops a node from starting its
 * pods ([runtime] in cgpilotd.conf): cgpilotd unreachable, the runtime
 * makes the cgroup and applies linux.resources itself (daemon_unreachable
 * = apply) or fails; admission refused for want of room, the container
 * starts in the shared pool with the reason kept (on_refusal = degrade)
 * or fails with the daemon's reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "actuate/actuate.h"
#include "admission.h"
#include "bundle.h"
#include "cgroupfs.h"
#include "client.h"
#include "oci.h"
#include "proto.h"
#include "rt_internal.h"
#include "run.h"
#include "standalone.h"
#include "util.h"

/* ---- cgpilotd ---- */

/* container.admit of kind runtime at @path: 0 with @k filled; 1 when the
 * daemon cannot be reached; -1 refused or failed (said), *room set when
 * the refusal was for want of room. */
static int admit_runtime(struct ctr *k, const char *path, const char *class,
			 const struct oci_request *q, char *degraded, size_t dlen, char *why,
			 size_t whylen)
{
	json_object *req, *rep = NULL, *e, *c;
	int r;

	degraded[0] = 0;
	if (!k->cl && client__new(rt.socket, &k->cl) < 0)
		return 1;
	req = json_object_new_object();
	json_object_object_add(req, "op", json_object_new_string("container.admit"));
	json_object_object_add(req, "kind", json_object_new_string("runtime"));
	json_object_object_add(req, "path", json_object_new_string(path));
	if (class)
		json_object_object_add(req, "class", json_object_new_string(class));
	adm_add_u64(req, "cpu_request_mc", q->cpu_request_mc);
	adm_add_u64(req, "cpu_limit_mc", q->cpu_limit_mc);
	adm_add_u64(req, "memory_request", q->memory_request);
	adm_add_u64(req, "memory_limit", q->memory_limit);
	adm_add_u64(req, "io_weight", q->io_weight);
	/* the engine's own CPUs (kubelet's static CPU manager): honoured */
	if (q->cpus[0])
		json_object_object_add(req, "cpus", json_object_new_string(q->cpus));
	/* what does not fit as asked runs in the shared pool, the reason kept
	 * by the daemon: the cluster's scheduler placed it here */
	if (streq(rt_conf.runtime_on_refusal, "degrade"))
		json_object_object_add(req, "degrade", json_object_new_boolean(true));
	r = adm_call(k->cl, req, &rep);
	if (r < 0) {
		client__free(k->cl);
		k->cl = NULL;
		return 1;
	}
	if ((e = adm_jget(rep, "error"))) {
		snprintf(why, whylen, "%s", json_object_get_string(e));
		json_object_put(rep);
		return -1;
	}
	c = adm_jget(rep, "container");
	if (c && (e = adm_jget(c, "degraded")))
		snprintf(degraded, dlen, "%s", json_object_get_string(e));
	r = adm_take(k, c);
	json_object_put(rep);
	if (r == -EROFS) {
		snprintf(why, whylen,
			 "cgpilotd runs with --dry-run: it decided container %" PRIu64
			 " but made no cgroup",
			 k->id);
		return -1;
	}
	if (r) {
		snprintf(why, whylen, "cgpilotd's admission reply has no container");
		return -1;
	}
	return 0;
}

struct clone_ctx {
	struct ctr *k;
	char *const *argv;
};

static void on_clone(pid_t pid, void *ud)
{
	struct clone_ctx *c = ud;
	const char *why;

	if (c->k->cl && c->k->id && (why = adm_started(c->k, pid, c->argv, false)))
		rt_warn("container.started: %s", why);
}

uint64_t rt_daemon_id(const struct rt_state *s)
{
	struct client *cl = NULL;
	json_object *req, *rep = NULL, *arr;
	uint64_t id = 0;

	if (s->daemon_id || !s->cgroup[0] || (!s->own_cgroup && s->cgroup_id))
		return s->daemon_id;
	/* made while the daemon was away, it may have taken it over since; or
	 * create ended between admission and the state that says so */
	if (client__new(rt.socket, &cl) < 0)
		return 0;
	req = json_object_new_object();
	json_object_object_add(req, "op", json_object_new_string("container.list"));
	if (adm_call(cl, req, &rep) >= 0 && (arr = adm_jget(rep, "containers")) &&
	    json_object_is_type(arr, json_type_array))
		for (size_t i = 0; i < json_object_array_length(arr) && !id; i++) {
			json_object *k = json_object_array_get_idx(arr, i), *v;

			if ((v = adm_jget(k, "cgroup")) &&
			    streq(json_object_get_string(v), s->cgroup) &&
			    (v = adm_jget(k, "cgroup_id")) &&
			    (uint64_t)json_object_get_int64(v) == s->cgroup_id &&
			    (v = adm_jget(k, "id")))
				id = (uint64_t)json_object_get_int64(v);
		}
	json_object_put(rep);
	client__free(cl);
	return id;
}

int rt_release(const struct rt_state *s)
{
	struct client *cl = NULL;
	json_object *req, *rep = NULL;
	uint64_t id = rt_daemon_id(s);
	int r;

	/* the runtime's own cgroup, or (create ended before the state had an
	 * id) one it may have made: removed if its tag says so */
	if (!id && (s->own_cgroup || (!s->cgroup_id && s->cgroup[0]))) {
		struct standalone *sa = NULL;
		char err[512];

		r = standalone_attach(rt.config, s->cgroup, s->cgroup_id, ACT_OWNER_UNADMITTED, &sa,
				      err, sizeof(err));
		if (r) {
			rt_error("%s", err);
		} else {
			standalone_remove(sa);
			if (s->own_cgroup)
				standalone_prune_parents(sa);
		}
		standalone_free(sa);
		return r;
	}
	if (!id)
		return 0;
	r = client__new(rt.socket, &cl);
	if (r < 0) {
		rt_warn("cgpilotd is not reachable (%s: %s): container %" PRIu64 " (%s) stays "
			"in its books until it is back and finds the cgroup empty",
			rt.socket, strerror(-r), id, s->cgroup);
		return 0;
	}
	req = json_object_new_object();
	json_object_object_add(req, "op", json_object_new_string("container.release"));
	json_object_object_add(req, "id", json_object_new_int64((int64_t)id));
	json_object_object_add(req, "kill", json_object_new_boolean(true));
	r = adm_call(cl, req, &rep);
	if (r < 0)
		rt_warn("container.release %" PRIu64 ": %s", id, strerror(-r));
	else if (adm_jget(rep, "error") &&
		 !strstr(json_object_get_string(adm_jget(rep, "error")), "no container"))
		rt_warn("container.release %" PRIu64 ": %s", id,
			json_object_get_string(adm_jget(rep, "error")));
	json_object_put(rep);
	client__free(cl);
	return 0;
}

/* ---- create ---- */

static int connect_console(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		rt_error("--console-socket %s: path too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		rt_error("--console-socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return r;
	}
	return fd;
}

/* The cgroup path the engine chose, relative to the mount and normalised. */
static int cgroup_path(const struct oci_spec *spec, char *out, size_t outlen)
{
	_cleanup_free_ char *norm = NULL;
	const char *msg = NULL, *p = spec->cgroups_path;
	char mapped[4096], err[512];

	if (rt.systemd_cgroup) {
		if (!p || rt_systemd_path(p, mapped, sizeof(mapped), err, sizeof(err))) {
			rt_error("%s", p ? err : "--systemd-cgroup needs linux.cgroupsPath");
			return -EINVAL;
		}
		/* the scope must be systemd's own, made through its bus */
		rt_error("--systemd-cgroup: the scope %s would be asked of systemd over D-Bus, "
			 "which cgpilot-run does not do yet; use the cgroupfs driver (podman "
			 "--cgroup-manager cgroupfs, containerd SystemdCgroup = false)",
			 mapped);
		return -EOPNOTSUPP;
	}
	if (!p || !p[0]) {
		/* what runc does without one, in an engine root */
		snprintf(out, outlen, "machine.slice/cgpilot-run-%s.scope", rt.id);
		return 0;
	}
	if (strchr(p, ':')) {
		rt_error("linux.cgroupsPath '%s' is systemd's slice:prefix:name: pass "
			 "--systemd-cgroup, or give a path",
			 p);
		return -EINVAL;
	}
	if (cgfs_normalize_path(p, &norm, &msg) || !norm[0]) {
		rt_error("linux.cgroupsPath '%s': %s", p,
			 msg ? msg : "the root is not a container");
		return -EINVAL;
	}
	snprintf(out, outlen, "%s", norm);
	return 0;
}

/* A held process being made: what is undone if create fails half-way. */
struct creating {
	int rootfd, dirfd;
	struct rt_state st;
	struct ctr k;
	int pidfd;
	bool saved;
};

static void undo_create(struct creating *c)
{
	if (c->pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
		close(c->pidfd);
		c->pidfd = -1;
	}
	if (c->k.sa) {
		standalone_remove(c->k.sa);
		standalone_prune_parents(c->k.sa);
	} else if (c->k.id) {
		c->st.daemon_id = c->k.id;
		c->st.own_cgroup = false;
		rt_release(&c->st);
	}
	if (c->dirfd >= 0) {
		close(c->dirfd);
		c->dirfd = -1;
		rt_remove_dir(c->rootfd, rt.id);
	}
}

static char *annotations_json(const struct oci_spec *spec)
{
	json_object *o = json_object_new_object();
	char *s;

	for (size_t i = 0; i < spec->nannotations; i++)
		json_object_object_add(o, spec->annotations[i].key,
				       json_object_new_string(spec->annotations[i].value));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

static char *request_json(const char *class, const struct oci_request *q)
{
	json_object *o = json_object_new_object();
	char *s;

	json_object_object_add(o, "class", json_object_new_string(class ? class : "burstable"));
	adm_add_u64(o, "cpu_request_mc", q->cpu_request_mc);
	adm_add_u64(o, "cpu_limit_mc", q->cpu_limit_mc);
	adm_add_u64(o, "memory_request", q->memory_request);
	adm_add_u64(o, "memory_limit", q->memory_limit);
	adm_add_u64(o, "io_weight", q->io_weight);
	if (q->cpus[0])
		json_object_object_add(o, "cpus", json_object_new_string(q->cpus));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

/* Admission, or the fail-open paths; the cgroup in c->k. 0 or -1 (said). */
static int place(struct creating *c, const struct oci_spec *spec, const char *path,
		 const char *class, struct oci_request *q)
{
	char why[1024], err[768];
	int r;

	r = admit_runtime(&c->k, path, class, q, c->st.degraded, sizeof(c->st.degraded), why,
			  sizeof(why));
	if (!r && c->st.degraded[0])
		rt_warn("container '%s' admitted degraded (shared pool, no reservations): %s",
			rt.id, c->st.degraded);
	if (r < 0) {
		rt_error("admission refused: %s", why);
		return -1;
	}
	if (r == 1) {
		if (!streq(rt_conf.runtime_unreachable, "apply")) {
			rt_error("cgpilotd is not reachable at %s ([runtime] daemon_unreachable = "
				 "fail)",
				 rt.socket);
			return -1;
		}
		rt_warn("cgpilotd is not reachable at %s: container '%s' starts unadmitted, "
			"with linux.resources applied by cgpilot-run",
			rt.socket, rt.id);
		_cleanup_free_ char *req = request_json(class, q);

		if (standalone_create_at(rt.config, path, NULL, ACT_OWNER_UNADMITTED, req, class, q,
					 &c->k.sa, c->k.cgroup, sizeof(c->k.cgroup), err,
					 sizeof(err))) {
			rt_error("%s", err);
			return -1;
		}
		c->k.cgroup_id = standalone_id(c->k.sa);
		c->st.own_cgroup = true;
		return 0;
	}
	{
		const char *missing = adm_unenforced_limit(&c->k, q, class);

		if (missing) {
			rt_error("refused: a %s limit was asked for, but the %s controller is not "
				 "available on this node's cgroup v2 hierarchy (not enforced: %s)",
				 missing, missing, c->k.unenforced);
			return -1;
		}
	}
	return 0;
}

static int do_create(bool foreground, pid_t *ret_pid, int *ret_pidfd)
{
	struct creating c = { .rootfd = -1, .dirfd = -1, .pidfd = -1 };
	struct oci_spec spec = { 0 };
	struct oci_request q = { 0 };
	struct spawn_spec ss = { 0 };
	struct bundle_run br = { 0 };
	struct clone_ctx cc;
	char err[768], rootbuf[4096], path[4096], bundle[4096];
	_cleanup_free_ char *mount = NULL;
	const char *class;
	int r, status = 1, cgfd = -1, exit_status;
	pid_t pid;

	if (!realpath(rt.bundle, bundle)) {
		rt_error("--bundle %s: %s", rt.bundle, strerror(errno));
		return 1;
	}
	if (bundle_read(bundle, &spec, rootbuf, sizeof(rootbuf), err, sizeof(err))) {
		rt_error("%s", err);
		goto out;
	}
	for (char *w = spec.warnings, *nl; *w && (nl = strchr(w, '\n')); w = nl + 1)
		rt_warn("%s/config.json: %.*s (ignored)", bundle, (int)(nl - w), w);
	if (spec.terminal && !rt.console_socket && !foreground) {
		rt_error("process.terminal is true: --console-socket is needed to hand the "
			 "terminal over");
		goto out;
	}
	if (!spec.terminal && rt.console_socket) {
		rt_error("--console-socket given but process.terminal is false");
		goto out;
	}
	if (oci_to_request(&spec.res, &q, err, sizeof(err))) {
		rt_error("%s/config.json: %s", bundle, err);
		goto out;
	}
	class = oci_annotation(&spec, "io.cgpilot.class");
	if (class && !streq(class, "guaranteed") && !streq(class, "burstable") &&
	    !streq(class, "besteffort")) {
		rt_error("annotation io.cgpilot.class '%s': not guaranteed, burstable or "
			 "besteffort",
			 class);
		goto out;
	}
	if (cgroup_path(&spec, path, sizeof(path)))
		goto out;
	ss.umask = -1;
	ss.hold_dirfd = ss.console_fd = ss.pidns_fd = -1;
	if (bundle_spawn_spec(&br, &spec, rootbuf, &ss, err, sizeof(err))) {
		rt_error("%s/config.json: %s", bundle, err);
		goto out;
	}
	if (ss.hostname && !(ss.ns_new & CLONE_NEWUTS)) {
		rt_error("%s/config.json: a hostname needs a new uts namespace in "
			 "linux.namespaces",
			 bundle);
		goto out;
	}

	/* the state first, so that a crash from here on leaves what delete
	 * --force finds and removes */
	c.rootfd = rt_open_root(true);
	if (c.rootfd < 0)
		goto out;
	c.dirfd = rt_open_dir(c.rootfd, rt.id, true);
	if (c.dirfd < 0)
		goto out;
	snprintf(c.st.id, sizeof(c.st.id), "%s", rt.id);
	snprintf(c.st.bundle, sizeof(c.st.bundle), "%s", bundle);
	snprintf(c.st.cgroup, sizeof(c.st.cgroup), "%s", path);
	rt_now(c.st.created, sizeof(c.st.created), &c.st.created_ns);
	c.st.annotations = annotations_json(&spec);
	if (mkfifoat(c.dirfd, "exec.fifo", 0600) < 0) {
		rt_error("make %s/%s/exec.fifo: %s", rt.root, rt.id, strerror(errno));
		goto fail;
	}
	if (rt_save(c.dirfd, &c.st))
		goto fail;

	if (place(&c, &spec, path, class, &q))
		goto fail;
	c.st.daemon_id = c.k.id;
	c.st.cgroup_id = c.k.cgroup_id;
	snprintf(c.st.cgroup, sizeof(c.st.cgroup), "%s", c.k.cgroup);
	if (rt_save(c.dirfd, &c.st))
		goto fail;
	r = cgfs_find_v2_mount(&mount);
	if (r < 0) {
		rt_error("no cgroup v2 mount: %s", strerror(-r));
		goto fail;
	}
	cgfd = rt_open_cgroup(&c.st);
	if (cgfd < 0) {
		rt_error("open the container's cgroup %s: %s", c.st.cgroup,
			 cgfd == -ESTALE ? "not the one that was made" : strerror(-cgfd));
		goto fail;
	}
	/* no device is opened but what the bundle's rules allow */
	if (devices_attach(&spec, cgfd, err, sizeof(err))) {
		rt_error("%s", err);
		goto fail;
	}
	if (c.k.sa && q.cpus[0])
		rt_add_knob(&q, "cpuset.cpus", "%s", q.cpus); /* as crun writes it */
	if (q.nknobs) {
		r = c.k.sa ? standalone_apply_extra(c.k.sa, cgfd, &q, err, sizeof(err)) :
			     standalone_write_knobs(cgfd, mount, c.st.cgroup, &q, err, sizeof(err));
		if (r) {
			rt_error("%s", err);
			goto fail;
		}
	}
	if (rt.console_socket) {
		ss.console_fd = connect_console(rt.console_socket);
		if (ss.console_fd < 0)
			goto fail;
	}
	ss.cgroup_fd = cgfd;
	ss.hold_dirfd = c.dirfd;
	ss.no_pivot = rt.no_pivot;
	ss.preserve_fds = rt.preserve_fds;
	cc = (struct clone_ctx){ .k = &c.k, .argv = ss.argv };
	ss.on_clone = on_clone;
	ss.ud = &cc;
	fflush(NULL);
	pid = spawn_start(&ss, &c.pidfd, &exit_status, err, sizeof(err));
	if (ss.console_fd >= 0)
		close(ss.console_fd);
	if (pid < 0) {
		rt_error("%s", err);
		goto fail;
	}
	c.st.pid = pid;
	c.st.pid_start = rt_pid_start(pid);
	if (rt_save(c.dirfd, &c.st))
		goto fail;
	if (rt.pid_file) {
		char text[32];

		snprintf(text, sizeof(text), "%d", (int)pid);
		r = rt_write_file(rt.pid_file, text);
		if (r) {
			rt_error("--pid-file %s: %s", rt.pid_file, strerror(-r));
			goto fail;
		}
	}
	if (ret_pid) {
		*ret_pid = pid;
		*ret_pidfd = c.pidfd;
		c.pidfd = -1;
	}
	status = 0;
	goto out;
fail:
	undo_create(&c);
out:
	if (cgfd >= 0)
		close(cgfd);
	if (c.pidfd >= 0)
		close(c.pidfd);
	if (c.dirfd >= 0)
		close(c.dirfd);
	if (c.rootfd >= 0)
		close(c.rootfd);
	if (c.k.sa)
		standalone_free(c.k.sa);
	client__free(c.k.cl);
	rt_state_free(&c.st);
	bundle_run_free(&br);
	oci_spec_free(&spec);
	return status;
}

/* ---- start ---- */

static int do_start(void)
{
	_cleanup_close_ int rootfd = -1, dirfd = -1, fifo = -1;
	struct rt_state st;
	enum rt_status s;
	char b;

	if (rt_open_ctr(&rootfd, &dirfd, &st))
		return 1;
	s = rt_status(dirfd, &st);
	if (s != RT_CREATED) {
		rt_error("cannot start container '%s': it is %s, not created", rt.id,
			 rt_status_name(s));
		rt_state_free(&st);
		return 1;
	}
	/* the held process waits in open(O_WRONLY): this open lets it on */
	fifo = openat(dirfd, "exec.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fifo < 0) {
		rt_error("open exec.fifo of '%s': %s", rt.id, strerror(errno));
		rt_state_free(&st);
		return 1;
	}
	for (;;) {
		struct pollfd p = { .fd = fifo, .events = POLLIN };

		if (poll(&p, 1, 100) > 0 && read(fifo, &b, 1) == 1)
			break;
		if (!rt_alive(&st)) {
			rt_error("container '%s' ended before it was started", rt.id);
			unlinkat(dirfd, "exec.fifo", 0);
			rt_state_free(&st);
			return 1;
		}
	}
	unlinkat(dirfd, "exec.fifo", 0);
	rt_state_free(&st);
	return 0;
}

/* ---- waiting in the foreground (run, exec without --detach) ---- */

static int wait_foreground(pid_t pid, int pidfd)
{
	static const int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	sigset_t mask;
	siginfo_t si;
	int sigfd;

	sigemptyset(&mask);
	for (size_t i = 0; i < ARRAY_SIZE(fwd); i++)
		sigaddset(&mask, fwd[i]);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	for (;;) {
		struct pollfd p[2] = { { .fd = pidfd, .events = POLLIN },
				       { .fd = sigfd, .events = POLLIN } };
		struct signalfd_siginfo ssi;

		if (poll(p, sigfd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
			break;
		while (sigfd >= 0 && read(sigfd, &ssi, sizeof(ssi)) == sizeof(ssi))
			syscall(SYS_pidfd_send_signal, pidfd, ssi.ssi_signo, NULL, 0);
		if (p[0].revents & (POLLIN | POLLHUP))
			break;
	}
	if (sigfd >= 0)
		close(sigfd);
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0)
		return 1;
	return si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
}

static int do_run(void)
{
	int pidfd = -1, status;
	pid_t pid;

	if (do_create(true, &pid, &pidfd))
		return 1;
	if (do_start()) {
		close(pidfd);
		return 1;
	}
	if (rt.detach) {
		close(pidfd);
		return 0;
	}
	status = wait_foreground(pid, pidfd);
	close(pidfd);
	{
		int rootfd = rt_open_root(false), dirfd;
		struct rt_state st;

		if (rootfd >= 0) {
			dirfd = rt_open_dir(rootfd, rt.id, false);
			if (dirfd >= 0 && !rt_load(dirfd, &st)) {
				rt_release(&st);
				rt_state_free(&st);
			}
			if (dirfd >= 0)
				close(dirfd);
			rt_remove_dir(rootfd, rt.id);
			close(rootfd);
		}
	}
	return status;
}

/* ---- exec ---- */

/* A UID or GID at @s: decimal digits (no sign, no space), below
 * UINT32_MAX, which is (uid_t)-1: setresuid(2) reads it as "unchanged" and
 * the process would keep root's ids; *ret_end past them. */
static bool parse_id(const char *s, unsigned *ret, const char **ret_end)
{
	uint64_t v;

	if (cgfs_parse_u64(s, ret_end, &v) || v >= UINT32_MAX)
		return false;
	*ret = (unsigned)v;
	return true;
}

/* The process to run: --process FILE (the runtime-spec's process object),
 * or the bundle's process with the command and the options. */
static int exec_process(const struct rt_state *st, struct oci_spec *spec, char *err, size_t errlen)
{
	char root[4096];
	int r;

	if (rt.process) {
		_cleanup_close_ int fd = open(rt.process, O_RDONLY | O_CLOEXEC);
		json_object *p = NULL, *doc, *rootp;
		const char *msg = NULL, *text;
		char buf[1 << 20];
		ssize_t n;

		if (fd < 0) {
			snprintf(err, errlen, "--process %s: %s", rt.process, strerror(errno));
			return -errno;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 || n == (ssize_t)sizeof(buf)) {
			snprintf(err, errlen, "--process %s: %s", rt.process,
				 n < 0 ? strerror(errno) : "larger than 1 MiB");
			return -EINVAL;
		}
		r = proto_decode_json(buf, (size_t)n, sizeof(buf), rt.process, &p, &msg);
		if (r) {
			snprintf(err, errlen, "--process %s: %s", rt.process,
				 msg ? msg : "not JSON");
			return -EINVAL;
		}
		/* checked by the same parser as config.json's process */
		doc = json_object_new_object();
		json_object_object_add(doc, "ociVersion", json_object_new_string("1.0.0"));
		json_object_object_add(doc, "process", p);
		rootp = json_object_new_object();
		json_object_object_add(rootp, "path", json_object_new_string("/"));
		json_object_object_add(doc, "root", rootp);
		text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
		r = oci_parse(text, strlen(text), spec, err, errlen);
		json_object_put(doc);
		if (r) {
			char inner[512];

			snprintf(inner, sizeof(inner), "%s", err);
			snprintf(err, errlen, "--process %s: %s", rt.process, inner);
		}
		return r;
	}
	r = bundle_read(st->bundle, spec, root, sizeof(root), err, errlen);
	if (r)
		return r;
	/* the container's sysctls were set by create, in its namespaces */
	for (size_t i = 0; i < spec->nsysctl; i++) {
		free(spec->sysctl[i].key);
		free(spec->sysctl[i].value);
	}
	spec->nsysctl = 0;
	/* the command, and what the options say, over the bundle's process */
	for (size_t i = 0; i < spec->nargs; i++)
		free(spec->args[i]);
	free(spec->args);
	spec->nargs = (size_t)rt.argc;
	spec->args = calloc((size_t)rt.argc + 1, sizeof(char *));
	if (!spec->args)
		return -ENOMEM;
	for (int i = 0; i < rt.argc; i++)
		spec->args[i] = strdup(rt.argv[i]);
	if (rt.nenv) {
		char **env = realloc(spec->env, (spec->nenv + rt.nenv + 1) * sizeof(char *));

		if (!env)
			return -ENOMEM;
		spec->env = env;
		for (unsigned i = 0; i < rt.nenv; i++)
			spec->env[spec->nenv++] = strdup(rt.env[i]);
		spec->env[spec->nenv] = NULL;
	}
	if (rt.cwd) {
		free(spec->cwd);
		spec->cwd = strdup(rt.cwd);
	}
	if (rt.user) {
		unsigned uid, gid;
		const char *end;

		if (parse_id(rt.user, &uid, &end) && !*end) {
			spec->uid = uid;
		} else if (parse_id(rt.user, &uid, &end) && *end == ':' &&
			   parse_id(end + 1, &gid, &end) && !*end) {
			spec->uid = uid;
			spec->gid = gid;
		} else {
			snprintf(err, errlen, "--user '%s': not UID or UID:GID", rt.user);
			return -EINVAL;
		}
		spec->ngids = 0;
	}
	spec->terminal = rt.tty;
	return 0;
}

static char *no_env[] = { NULL };

static int do_exec(void)
{
	static const struct {
		const char *name;
	} nss[] = { { "ipc" }, { "uts" }, { "net" }, { "cgroup" }, { "mnt" } };
	_cleanup_close_ int rootfd = -1, dirfd = -1, cgfd = -1, pidns = -1;
	struct oci_spec spec = { 0 };
	struct spawn_spec ss = { 0 };
	struct rt_state st = { 0 };
	char paths[ARRAY_SIZE(nss)][64], err[768];
	int join[ARRAY_SIZE(nss) + 1] = { -1, -1, -1, -1, -1, -1 };
	enum rt_status s;
	size_t nj = 0;
	int status = 1, pidfd = -1, exit_status;
	void *filter = NULL;
	pid_t pid;

	if (rt_open_ctr(&rootfd, &dirfd, &st))
		return 1;
	s = rt_status(dirfd, &st);
	if (s != RT_RUNNING && s != RT_CREATED) {
		rt_error("cannot exec in container '%s': it is %s", rt.id, rt_status_name(s));
		goto out;
	}
	if (exec_process(&st, &spec, err, sizeof(err))) {
		rt_error("%s", err);
		goto out;
	}
	if (spec.terminal && !rt.console_socket && rt.detach) {
		rt_error("a terminal for a detached exec needs --console-socket");
		goto out;
	}
	/* the container's namespaces where they are not ours; the mount
	 * namespace last (the paths are the host's /proc until then) */
	/* opened here, and the pid checked to be create's after: a pid reused
	 * meanwhile (the init gone) is not joined */
	for (size_t i = 0; i < ARRAY_SIZE(nss); i++) {
		char self[64];
		struct stat a, b;
		int fd;

		snprintf(paths[i], sizeof(paths[i]), "/proc/%d/ns/%s", (int)st.pid, nss[i].name);
		snprintf(self, sizeof(self), "/proc/self/ns/%s", nss[i].name);
		fd = open(paths[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &a) < 0) {
			rt_error("%s: %s", paths[i], strerror(errno));
			if (fd >= 0)
				close(fd);
			goto out;
		}
		if (stat(self, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev)
			join[nj++] = fd;
		else
			close(fd);
	}
	{
		char p[64];
		struct stat a, b;

		snprintf(p, sizeof(p), "/proc/%d/ns/pid", (int)st.pid);
		if (stat(p, &a) == 0 && stat("/proc/self/ns/pid", &b) == 0 &&
		    (a.st_ino != b.st_ino || a.st_dev != b.st_dev)) {
			pidns = open(p, O_RDONLY | O_CLOEXEC);
			if (pidns < 0) {
				rt_error("%s: %s", p, strerror(errno));
				goto out;
			}
		}
	}
	/* still the process create started (not a reused pid) */
	if (!rt_alive(&st)) {
		rt_error("container '%s' ended", rt.id);
		goto out;
	}
	cgfd = rt_open_cgroup(&st);
	if (cgfd < 0) {
		rt_error("the cgroup of '%s' (%s): %s", rt.id, st.cgroup, strerror(-cgfd));
		goto out;
	}
	ss.argv = spec.args;
	ss.envp = spec.env ? spec.env : no_env;
	ss.cwd = spec.cwd ? spec.cwd : "/";
	ss.set_user = true;
	ss.uid = spec.uid;
	ss.gid = spec.gid;
	ss.gids = spec.gids;
	ss.ngids = spec.ngids;
	ss.umask = spec.has_umask ? (int)spec.umask : -1;
	ss.oci = &spec;
	if (spec.has_caps)
		memcpy(ss.caps, spec.caps, sizeof(ss.caps));
	ss.no_new_privs = spec.no_new_privs;
	ss.ns_fds = join;
	ss.pidns_fd = pidns;
	ss.cgroup_fd = cgfd;
	ss.hold_dirfd = -1;
	ss.console_fd = -1;
	ss.survive_parent = rt.detach;
	ss.preserve_fds = rt.preserve_fds;
	/* the container's seccomp filter holds for what is run in it too */
	{
		struct oci_spec bspec = { 0 };
		char root[4096];

		if (bundle_read(st.bundle, &bspec, root, sizeof(root), err, sizeof(err))) {
			rt_error("%s", err);
			oci_spec_free(&bspec);
			goto out;
		}
		if (bspec.seccomp && seccomp_build(bspec.seccomp, &filter, err, sizeof(err))) {
			rt_error("%s", err);
			oci_spec_free(&bspec);
			goto out;
		}
		oci_spec_free(&bspec);
		ss.seccomp = filter;
	}
	if (spec.terminal && rt.console_socket) {
		ss.console_fd = connect_console(rt.console_socket);
		if (ss.console_fd < 0)
			goto out;
	}
	fflush(NULL);
	pid = spawn_start(&ss, &pidfd, &exit_status, err, sizeof(err));
	if (ss.console_fd >= 0)
		close(ss.console_fd);
	if (pid < 0) {
		rt_error("exec in '%s': %s", rt.id, err);
		status = exit_status;
		goto out;
	}
	if (rt.pid_file) {
		char text[32];
		int r;

		snprintf(text, sizeof(text), "%d", (int)pid);
		r = rt_write_file(rt.pid_file, text);
		if (r) {
			rt_error("--pid-file %s: %s", rt.pid_file, strerror(-r));
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			close(pidfd);
			goto out;
		}
	}
	status = rt.detach ? 0 : wait_foreground(pid, pidfd);
	close(pidfd);
out:
	for (size_t i = 0; i < nj; i++)
		close(join[i]);
	seccomp_free(filter);
	rt_state_free(&st);
	oci_spec_free(&spec);
	return status;
}

/* ---- dispatch ---- */

int runtime_main(int argc, char **argv)
{
	char err[768];
	int r;

	r = rt_parse_args(argc, argv, &rt, err, sizeof(err));
	if (r == 1)
		return 0;
	rt_log_open();
	if (r) {
		rt_error("%s", err);
		return 1;
	}
	if (rt.cmd == RT_FEATURES)
		return rt_cmd_features();
	if (geteuid() != 0) {
		rt_error("cgpilot-run needs root (namespaces, cgroups, its state in %s)", rt.root);
		return 1;
	}
	cgp_conf_defaults(&rt_conf);
	r = cgp_conf_parse_file(&rt_conf, rt.config, err, sizeof(err));
	if (r && r != -ENOENT) {
		rt_error("%s", err);
		return 1;
	}
	switch (rt.cmd) {
	case RT_CREATE:
		return do_create(false, NULL, NULL);
	case RT_RUN:
		return do_run();
	case RT_START:
		return do_start();
	case RT_EXEC:
		return do_exec();
	case RT_STATE:
		return rt_cmd_state();
	case RT_KILL:
		return rt_cmd_kill();
	case RT_DELETE:
		return rt_cmd_delete();
	case RT_LIST:
		return rt_cmd_list();
	case RT_PS:
		return rt_cmd_ps();
	case RT_PAUSE:
	case RT_RESUME:
		return rt_cmd_pause(rt.cmd == RT_PAUSE);
	case RT_UPDATE:
		return rt_cmd_update();
	default:
		rt_error("no command");
		return 1;
	}
}
