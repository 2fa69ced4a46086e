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
#include "cgroupfs.h"
#include "client.h"
#include "config.h"
#include "oci.h"
#include "run.h"
#include "standalone.h"
#include "util.h"

#define ADMIT_TIMEOUT_MS 30000

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

/* ---- the container, as the daemon (or the standalone path) made it ---- */

struct ctr {
	uint64_t id; /* the daemon's; 0 standalone */
	char cgroup[4096]; /* relative to the mount */
	uint64_t cgroup_id;
	char unenforced[512];
	uint64_t memory_limit; /* as admitted, for the OOM message */
	struct client *cl;
	struct standalone *sa;
};

static json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static void add_u64(json_object *o, const char *key, uint64_t v)
{
	if (v)
		json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

/* The daemon's reply to one request: 0 and *ret, or an error printed. */
static int call(struct client *cl, json_object *req, json_object **ret)
{
	int r = client__call(cl, req, ADMIT_TIMEOUT_MS, ret);

	json_object_put(req);
	return r;
}

static int take_container(struct ctr *k, json_object *c)
{
	json_object *v, *u;

	if (!c || !(v = jget(c, "id")) || !json_object_is_type(v, json_type_int))
		return -EBADMSG;
	k->id = (uint64_t)json_object_get_int64(v);
	if (!(v = jget(c, "cgroup")) || !json_object_is_type(v, json_type_string))
		return -EBADMSG;
	snprintf(k->cgroup, sizeof(k->cgroup), "%s", json_object_get_string(v));
	if ((v = jget(c, "cgroup_id")))
		k->cgroup_id = (uint64_t)json_object_get_int64(v);
	k->unenforced[0] = 0;
	if ((u = jget(c, "unenforced")) && json_object_is_type(u, json_type_array))
		for (size_t i = 0; i < json_object_array_length(u); i++) {
			size_t off = strlen(k->unenforced);

			snprintf(k->unenforced + off, sizeof(k->unenforced) - off, "%s%s",
				 off ? " " : "",
				 json_object_get_string(json_object_array_get_idx(u, i)));
		}
	if ((v = jget(c, "limits")) && (v = jget(v, "memory_bytes")))
		k->memory_limit = (uint64_t)json_object_get_int64(v);
	if ((v = jget(c, "dry_run")) && json_object_get_boolean(v))
		return -EROFS;
	return 0;
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
	add_u64(req, "cpu_request_mc", q->cpu_request_mc);
	add_u64(req, "cpu_limit_mc", q->cpu_limit_mc);
	add_u64(req, "memory_request", q->memory_request);
	add_u64(req, "memory_limit", q->memory_limit);
	add_u64(req, "io_weight", q->io_weight);
	if (opts.has_priority)
		json_object_object_add(req, "priority", json_object_new_int(opts.priority));
	if (opts.tenant)
		json_object_object_add(req, "tenant", json_object_new_string(opts.tenant));
	if (opts.wait)
		json_object_object_add(req, "wait", json_object_new_boolean(true));
	r = call(k->cl, req, &rep);
	if (r < 0) {
		error("no answer from cgpilotd to container.admit: %s", strerror(-r));
		return RUN_EXIT_FAILED;
	}
	if (opts.wait && jget(rep, "queued")) {
		e = jget(rep, "reason");
		msg("queued for admission: %s", e ? json_object_get_string(e) : "no room now");
		json_object_put(rep);
		rep = NULL;
		r = client__recv(k->cl, -1, &rep);
		if (r < 0) {
			error("the daemon went away while the request waited: %s", strerror(-r));
			return RUN_EXIT_FAILED;
		}
	}
	if ((e = jget(rep, "error"))) {
		bool refused = jget(rep, "refused") != NULL;

		error("%s: %s", refused ? "admission refused" : "container.admit failed",
		      json_object_get_string(e));
		json_object_put(rep);
		return refused ? RUN_EXIT_REFUSED : RUN_EXIT_FAILED;
	}
	r = take_container(k, jget(rep, "container"));
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
		r = call(k->cl, req, &rep);
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
	else if (jget(rep, "error"))
		error("container.release %" PRIu64 ": %s", k->id,
		      json_object_get_string(jget(rep, "error")));
	json_object_put(rep);
	k->id = 0;
}

static char *const *started_argv;

static void report_started(struct ctr *k, pid_t pid, char *const *argv)
{
	json_object *req = json_object_new_object(), *rep = NULL;
	char cmd[1024] = "";

	for (size_t i = 0; argv[i]; i++) {
		size_t off = strlen(cmd);

		snprintf(cmd + off, sizeof(cmd) - off, "%s%s", i ? " " : "", argv[i]);
	}
	json_object_object_add(req, "op", json_object_new_string("container.started"));
	json_object_object_add(req, "id", json_object_new_int64((int64_t)k->id));
	json_object_object_add(req, "pid", json_object_new_int64(pid));
	json_object_object_add(req, "command", json_object_new_string(cmd));
	/* this connection holds the container: if it closes first (the launcher
	 * killed), the daemon releases it */
	json_object_object_add(req, "hold", json_object_new_boolean(true));
	if (call(k->cl, req, &rep) >= 0 && jget(rep, "error"))
		msg("container.started: %s", json_object_get_string(jget(rep, "error")));
	json_object_put(rep);
}

static void on_clone(pid_t pid, void *ud)
{
	struct ctr *k = ud;

	if (k->cl)
		report_started(k, pid, started_argv);
}

/* A limit asked for that the node cannot enforce: refused, as the issue of
 * a container that would run without it. */
static const char *unenforced_limit(const struct ctr *k, const struct oci_request *q,
				    const char *class)
{
	bool g = class && streq(class, "guaranteed");

	if ((q->cpu_limit_mc || (g && q->cpu_request_mc)) &&
	    (act_word_in(k->unenforced, "cpu.max") || act_word_in(k->unenforced, "cpu.weight")))
		return "cpu";
	if ((q->memory_limit || (g && q->memory_request)) &&
	    act_word_in(k->unenforced, "memory.max"))
		return "memory";
	if (g && act_word_in(k->unenforced, "cpuset.cpus"))
		return "cpuset";
	return NULL;
}

/* memory.events' oom_kill of the container, -1 without a memory controller */
static long long oom_kills(int cgfd)
{
	char buf[512];
	const char *p;

	if (cgfs_read_at(cgfd, "memory.events", buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, "oom_kill ");
	return p ? atoll(p + 9) : -1;
}

/* ---- the workload from the options, or from a bundle ---- */

static int read_bundle(struct oci_spec *spec, char *root, size_t rootlen)
{
	char path[4096], err[512];
	_cleanup_close_ int fd = -1;
	struct stat st;
	char *text;
	ssize_t n;
	int r;

	snprintf(path, sizeof(path), "%s/config.json", opts.bundle);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		error("%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)OCI_CONFIG_MAX) {
		error("%s: not a regular file of at most %u bytes", path, OCI_CONFIG_MAX);
		return -EINVAL;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text)
		return -ENOMEM;
	n = read(fd, text, (size_t)st.st_size);
	if (n != st.st_size) {
		error("%s: short read", path);
		free(text);
		return -EIO;
	}
	r = oci_parse(text, (size_t)n, spec, err, sizeof(err));
	free(text);
	if (r) {
		error("%s: %s", path, err);
		return r;
	}
	for (char *w = spec->warnings, *nl; *w; w = nl + 1) {
		nl = strchr(w, '\n');
		if (!nl)
			break;
		*nl = 0;
		msg("warning: %s: %s (ignored)", path, w);
		*nl = '\n';
	}
	if (spec->terminal)
		msg("warning: %s: process.terminal: the launcher's own terminal is the workload's "
		    "(ignored)",
		    path);
	if (spec->root_path[0] == '/')
		snprintf(root, rootlen, "%s", spec->root_path);
	else
		snprintf(root, rootlen, "%s/%s", opts.bundle, spec->root_path);
	return 0;
}

static const struct {
	const char *name;
	unsigned long set, clear;
	unsigned long propagation;
} mount_opts[] = {
	{ "ro", MS_RDONLY, 0, 0 },
	{ "rw", 0, MS_RDONLY, 0 },
	{ "nosuid", MS_NOSUID, 0, 0 },
	{ "suid", 0, MS_NOSUID, 0 },
	{ "nodev", MS_NODEV, 0, 0 },
	{ "dev", 0, MS_NODEV, 0 },
	{ "noexec", MS_NOEXEC, 0, 0 },
	{ "exec", 0, MS_NOEXEC, 0 },
	{ "sync", MS_SYNCHRONOUS, 0, 0 },
	{ "async", 0, MS_SYNCHRONOUS, 0 },
	{ "noatime", MS_NOATIME, 0, 0 },
	{ "atime", 0, MS_NOATIME, 0 },
	{ "relatime", MS_RELATIME, 0, 0 },
	{ "norelatime", 0, MS_RELATIME, 0 },
	{ "strictatime", MS_STRICTATIME, 0, 0 },
	{ "nodiratime", MS_NODIRATIME, 0, 0 },
	{ "bind", MS_BIND, 0, 0 },
	{ "rbind", MS_BIND | MS_REC, 0, 0 },
	{ "private", 0, 0, MS_PRIVATE },
	{ "rprivate", 0, 0, MS_PRIVATE | MS_REC },
	{ "slave", 0, 0, MS_SLAVE },
	{ "rslave", 0, 0, MS_SLAVE | MS_REC },
	{ "shared", 0, 0, MS_SHARED },
	{ "rshared", 0, 0, MS_SHARED | MS_REC },
	{ "unbindable", 0, 0, MS_UNBINDABLE },
	{ "runbindable", 0, 0, MS_UNBINDABLE | MS_REC },
};

/* The bundle's mounts as mount(2) arguments; the data strings live in @data. */
static int convert_mounts(const struct oci_spec *o, struct spawn_mount *out, char (*data)[512])
{
	for (size_t i = 0; i < o->nmounts; i++) {
		const struct oci_mount *m = &o->mounts[i];
		struct spawn_mount *s = &out[i];
		size_t dl = 0;

		*s = (struct spawn_mount){ .destination = m->destination, .source = m->source };
		data[i][0] = 0;
		/* "cgroup" is the v2 hierarchy on a v2 host, as runc and crun read it */
		s->type = m->type && !streq(m->type, "bind") ?
				  (streq(m->type, "cgroup") ? "cgroup2" : m->type) :
				  NULL;
		for (size_t j = 0; j < m->noptions; j++) {
			const char *opt = m->options[j];
			size_t k;

			for (k = 0; k < ARRAY_SIZE(mount_opts); k++)
				if (streq(opt, mount_opts[k].name))
					break;
			if (k < ARRAY_SIZE(mount_opts)) {
				s->flags |= mount_opts[k].set;
				s->flags &= ~mount_opts[k].clear;
				s->propagation |= mount_opts[k].propagation;
				continue;
			}
			if (streq(opt, "tmpcopyup") || streq(opt, "nocopyup") ||
			    streq(opt, "idmap") || streq(opt, "ridmap")) {
				error("config.json: mounts[%zu] (%s): option '%s' is not supported",
				      i, m->destination, opt);
				return -EINVAL;
			}
			/* the rest is the filesystem's own (mode=755, size=65536k) */
			if (dl + strlen(opt) + 2 > sizeof(data[i])) {
				error("config.json: mounts[%zu] (%s): options too long", i,
				      m->destination);
				return -EINVAL;
			}
			dl += (size_t)snprintf(data[i] + dl, sizeof(data[i]) - dl, "%s%s",
					       dl ? "," : "", opt);
		}
		if (!(s->flags & MS_BIND) && !s->type) {
			error("config.json: mounts[%zu] (%s): no type and not a bind mount", i,
			      m->destination);
			return -EINVAL;
		}
		if (s->flags & MS_BIND) {
			s->bind_ro = s->flags & MS_RDONLY;
			s->type = NULL;
		}
		s->data = data[i][0] ? data[i] : NULL;
	}
	return 0;
}

/* ---- running it ---- */

/* a bundle without process.env: the workload gets none of the launcher's */
static char *no_env[] = { NULL };

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
	struct spawn_mount *mounts = NULL;
	char(*mdata)[512] = NULL;
	const char *ns_join[8] = { 0 };
	char err[768], rootbuf[4096], cgpath[4096], *mount = NULL;
	const char *class;
	struct ctr k = { 0 };
	int r, status = RUN_EXIT_FAILED, cgfd = -1, sigfd = -1, pidfd = -1, exit_code = 0;
	long long oom_before;
	uint64_t t0 = now_us(), t_admit = 0, t_cg = 0, t_exec = 0;
	sigset_t mask;
	siginfo_t si;
	pid_t pid;

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
	if (opts.bundle) {
		if (read_bundle(&spec, rootbuf, sizeof(rootbuf)))
			goto out;
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
		ss.has_oom_score_adj = spec.has_oom_score_adj;
		ss.oom_score_adj = spec.oom_score_adj;
		ss.rootfs = rootbuf;
		ss.rootfs_readonly = spec.root_readonly;
		ss.hostname = opts.hostname ? opts.hostname : spec.hostname;
		mounts = calloc(spec.nmounts + 1, sizeof(*mounts));
		mdata = calloc(spec.nmounts + 1, sizeof(*mdata));
		if (!mounts || !mdata || convert_mounts(&spec, mounts, mdata))
			goto out;
		ss.mounts = mounts;
		ss.nmounts = spec.nmounts;
		ss.ns_new = spec.ns_new;
		for (size_t i = 0, j = 0; i < spec.nnamespaces && j < ARRAY_SIZE(ns_join) - 1; i++)
			if (spec.namespaces[i].path)
				ns_join[j++] = spec.namespaces[i].path;
		ss.ns_join = ns_join;
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
			const char *missing = unenforced_limit(&k, &q, class);

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
	free(mounts);
	free(mdata);
	oci_spec_free(&spec);
	return status;
}
