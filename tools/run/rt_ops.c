// SPDX-License-Identifier: Apache-2.0
/*
 * The OCI runtime's commands on a container that create made: state, kill,
 * delete, list, ps, pause, resume, update, and features (rt_internal.h).
 * What the engines parse is printed as runc prints it; errors name the
 * container and say why.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "actuate/actuate.h"
#include "admission.h"
#include "cgroupfs.h"
#include "client.h"
#include "oci.h"
#include "proto.h"
#include "rt_internal.h"
#include "standalone.h"
#include "util.h"

static void close_ctr(int rootfd, int dirfd, struct rt_state *st)
{
	if (dirfd >= 0)
		close(dirfd);
	if (rootfd >= 0)
		close(rootfd);
	rt_state_free(st);
}

int rt_cmd_features(void)
{
	char *j = rt_features_json();

	if (!j)
		return 1;
	printf("%s\n", j);
	free(j);
	return 0;
}

int rt_cmd_state(void)
{
	int rootfd, dirfd, status = 1;
	struct rt_state st = { 0 };
	char *j;

	if (!rt_open_ctr(&rootfd, &dirfd, &st)) {
		j = rt_state_oci_json(&st, rt_status(dirfd, &st));
		if (j) {
			printf("%s\n", j);
			free(j);
			status = 0;
		}
	}
	close_ctr(rootfd, dirfd, &st);
	return status;
}

/* The pids in the container's cgroup, or -errno. */
static int cgroup_pids(const struct rt_state *st, pid_t **ret, size_t *n)
{
	_cleanup_close_ int fd = rt_open_cgroup(st);
	_cleanup_fclose_ FILE *f = NULL;
	char line[32];
	size_t cap = 0;
	int pfd;

	*ret = NULL;
	*n = 0;
	if (fd < 0)
		return fd;
	pfd = openat(fd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	if (pfd < 0 || !(f = fdopen(pfd, "r")))
		return -errno;
	/* one pid a line; the list ends at anything else */
	while (fgets(line, sizeof(line), f)) {
		const char *end;
		uint64_t pid;

		if (cgfs_parse_u64(line, &end, &pid) || !pid || pid > INT_MAX ||
		    (*end && *end != '\n'))
			break;
		if (*n == cap) {
			pid_t *p = realloc(*ret, (cap = cap ? cap * 2 : 16) * sizeof(pid_t));

			if (!p)
				return -ENOMEM;
			*ret = p;
		}
		(*ret)[(*n)++] = (pid_t)pid;
	}
	return 0;
}

static int signal_all(const struct rt_state *st, int sig)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n;
	int r;

	if (sig == SIGKILL) {
		_cleanup_close_ int fd = rt_open_cgroup(st);

		/* cgroup.kill (5.14): every process, also those forking meanwhile */
		if (fd >= 0 && act__write(fd, "cgroup.kill", "1") == 0)
			return 0;
	}
	r = cgroup_pids(st, &pids, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			r = -errno;
	return r;
}

static int signal_init(const struct rt_state *st, int sig)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0);

	if (pidfd < 0)
		return -errno;
	/* the pid is held by the pidfd now: is it still create's process? */
	if (!rt_alive(st))
		return -ESRCH;
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

int rt_cmd_kill(void)
{
	int rootfd, dirfd, status = 1, r;
	struct rt_state st = { 0 };
	enum rt_status s;

	if (rt_open_ctr(&rootfd, &dirfd, &st))
		goto out;
	s = rt_status(dirfd, &st);
	if (s == RT_STOPPED || s == RT_CREATING) {
		/* runc's words, which containerd's shim looks for */
		rt_error("container not running: '%s' is %s", rt.id, rt_status_name(s));
		goto out;
	}
	r = rt.all ? signal_all(&st, rt.signal) : signal_init(&st, rt.signal);
	if (r < 0 && r != -ESRCH) {
		rt_error("kill %s '%s': %s",
			 sigabbrev_np(rt.signal) ? sigabbrev_np(rt.signal) : "?", rt.id,
			 strerror(-r));
		goto out;
	}
	status = 0;
out:
	close_ctr(rootfd, dirfd, &st);
	return status;
}

/* Kill what runs in the cgroup and wait (up to 10 s) until it is empty. */
static int stop_all(const struct rt_state *st)
{
	char buf[256];

	for (int i = 0; i < 1000; i++) {
		_cleanup_close_ int fd = rt_open_cgroup(st);

		if (fd < 0)
			return fd == -ENOENT || fd == -ESTALE ? 0 : fd;
		if (cgfs_read_at(fd, "cgroup.events", buf, sizeof(buf)) < 0 ||
		    !strstr(buf, "populated 1"))
			return 0;
		if (i % 100 == 0)
			signal_all(st, SIGKILL);
		usleep(10000);
	}
	return -EBUSY;
}

int rt_cmd_delete(void)
{
	char err[512];
	int rootfd = -1, dirfd = -1, status = 1, r;
	struct rt_state st = { 0 };
	enum rt_status s;

	rootfd = rt_open_root(false);
	if (rootfd < 0) {
		if (rootfd == -ENOENT)
			rt_error("container '%s' does not exist", rt.id);
		return 1;
	}
	dirfd = rt_open_dir(rootfd, rt.id, false);
	if (dirfd < 0)
		goto out;
	if (rt_load_quiet(dirfd, &st, err, sizeof(err))) {
		/* a crash before the first state write, or a corrupt one:
		 * nothing is known to act on but the directory */
		if (!rt.force) {
			rt_error("%s (delete --force removes it)", err);
			goto out;
		}
		rt_warn("%s: its directory is removed (--force), its processes and cgroup, if "
			"any, are not known",
			err);
		if (!rt_remove_dir(rootfd, rt.id))
			status = 0;
		goto out;
	}
	s = rt_status(dirfd, &st);
	/* a created one is never started: removed as runc removes it */
	if (s != RT_STOPPED && s != RT_CREATING && s != RT_CREATED && !rt.force) {
		rt_error("cannot delete container '%s': it is %s (stop it, or delete --force)",
			 rt.id, rt_status_name(s));
		goto out;
	}
	if (st.cgroup_id || st.own_cgroup) {
		r = stop_all(&st);
		if (r < 0) {
			rt_error("container '%s': its processes did not end: %s", rt.id,
				 strerror(-r));
			goto out;
		}
	}
	rt_release(&st);
	if (!rt_remove_dir(rootfd, rt.id))
		status = 0;
out:
	close_ctr(rootfd, dirfd, &st);
	return status;
}

int rt_cmd_list(void)
{
	_cleanup_close_ int rootfd = rt_open_root(false);
	json_object *arr = json_object_new_array();
	bool json = streq(rt.format, "json");
	struct dirent *de;
	DIR *d;

	if (rootfd < 0 && rootfd != -ENOENT) {
		json_object_put(arr);
		return 1;
	}
	if (!json && !rt.quiet)
		printf("%-20s %-8s %-10s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE",
		       "CREATED", "OWNER");
	d = rootfd >= 0 ? fdopendir(dup(rootfd)) : NULL;
	while (d && (de = readdir(d))) {
		char err[160];
		struct rt_state st;
		enum rt_status s;
		int dirfd;

		if (de->d_name[0] == '.' || rt_check_id(de->d_name, err, sizeof(err)))
			continue;
		dirfd = openat(rootfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dirfd < 0)
			continue;
		rt.id = de->d_name;
		if (rt_load_quiet(dirfd, &st, err, sizeof(err))) {
			close(dirfd);
			continue;
		}
		s = rt_status(dirfd, &st);
		if (rt.quiet) {
			printf("%s\n", st.id);
		} else if (json) {
			json_object *o = json_object_new_object();
			json_object *a = st.annotations ? json_tokener_parse(st.annotations) : NULL;

			json_object_object_add(o, "ociVersion", json_object_new_string("1.2.0"));
			json_object_object_add(o, "id", json_object_new_string(st.id));
			json_object_object_add(
				o, "pid", json_object_new_int(s == RT_STOPPED ? 0 : (int)st.pid));
			json_object_object_add(o, "status",
					       json_object_new_string(rt_status_name(s)));
			json_object_object_add(o, "bundle", json_object_new_string(st.bundle));
			json_object_object_add(o, "created", json_object_new_string(st.created));
			json_object_object_add(o, "owner", json_object_new_string("root"));
			json_object_object_add(o, "annotations", a ? a : json_object_new_object());
			json_object_array_add(arr, o);
		} else {
			printf("%-20s %-8d %-10s %-40s %-31s %s\n", st.id,
			       s == RT_STOPPED ? 0 : (int)st.pid, rt_status_name(s), st.bundle,
			       st.created, "root");
		}
		rt_state_free(&st);
		close(dirfd);
	}
	if (d)
		closedir(d);
	rt.id = NULL;
	if (json && !rt.quiet)
		printf("%s\n",
		       json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	return 0;
}

int rt_cmd_ps(void)
{
	int rootfd, dirfd, status = 1, r;
	struct rt_state st = { 0 };
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;

	if (rt_open_ctr(&rootfd, &dirfd, &st))
		goto out;
	r = cgroup_pids(&st, &pids, &n);
	if (r < 0 && r != -ENOENT) {
		rt_error("the processes of '%s' (cgroup %s): %s", rt.id, st.cgroup, strerror(-r));
		goto out;
	}
	if (streq(rt.format, "json")) {
		putchar('[');
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		printf("]\n");
	} else {
		printf("%-8s %s\n", "PID", "CMD");
		for (size_t i = 0; i < n; i++) {
			char path[64], cmd[256] = "?";
			_cleanup_close_ int fd = -1;
			ssize_t len;

			snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pids[i]);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0 && (len = read(fd, cmd, sizeof(cmd) - 1)) > 0) {
				cmd[len] = 0;
				for (ssize_t j = 0; j < len - 1; j++)
					if (!cmd[j])
						cmd[j] = ' ';
			}
			printf("%-8d %s\n", (int)pids[i], cmd);
		}
	}
	status = 0;
out:
	close_ctr(rootfd, dirfd, &st);
	return status;
}

/* One request to cgpilotd about @st's container: 0, 1 unreachable, -1 said. */
static int daemon_op(const struct rt_state *st, json_object *req, const char *what)
{
	struct client *cl = NULL;
	json_object *rep = NULL;
	int r;

	json_object_object_add(req, "id", json_object_new_int64((int64_t)rt_daemon_id(st)));
	if (client__new(rt.socket, &cl) < 0) {
		json_object_put(req);
		return 1;
	}
	r = adm_call(cl, req, &rep);
	client__free(cl);
	if (r < 0)
		return 1;
	if (adm_jget(rep, "error")) {
		rt_error("%s of '%s': %s", what, rt.id,
			 json_object_get_string(adm_jget(rep, "error")));
		json_object_put(rep);
		return -1;
	}
	json_object_put(rep);
	return 0;
}

/* The container's cgroup written through the actuator, by the runtime. */
static int write_own(const struct rt_state *st, const struct oci_request *q)
{
	_cleanup_free_ char *mount = NULL;
	_cleanup_close_ int fd = rt_open_cgroup(st);
	char err[768];
	int r;

	if (fd < 0) {
		rt_error("the cgroup of '%s' (%s): %s", rt.id, st->cgroup, strerror(-fd));
		return -1;
	}
	r = cgfs_find_v2_mount(&mount);
	if (r < 0 || standalone_write_knobs(fd, mount, st->cgroup, q, err, sizeof(err))) {
		rt_error("%s", r < 0 ? strerror(-r) : err);
		return -1;
	}
	return 0;
}

static int wait_frozen(const struct rt_state *st, bool frozen)
{
	char buf[256];

	for (int i = 0; i < 500; i++) {
		_cleanup_close_ int fd = rt_open_cgroup(st);

		if (fd < 0)
			return fd;
		if (cgfs_read_at(fd, "cgroup.events", buf, sizeof(buf)) >= 0 &&
		    !!strstr(buf, "frozen 1") == frozen)
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

int rt_cmd_pause(bool pause)
{
	int rootfd, dirfd, status = 1, r = 1;
	struct rt_state st = { 0 };
	enum rt_status s;

	if (rt_open_ctr(&rootfd, &dirfd, &st))
		goto out;
	s = rt_status(dirfd, &st);
	if (pause ? s != RT_RUNNING && s != RT_CREATED : s != RT_PAUSED) {
		rt_error("cannot %s container '%s': it is %s", pause ? "pause" : "resume", rt.id,
			 rt_status_name(s));
		goto out;
	}
	if (rt_daemon_id(&st)) {
		json_object *req = json_object_new_object();

		json_object_object_add(req, "op", json_object_new_string("container.freeze"));
		json_object_object_add(req, "frozen", json_object_new_boolean(pause));
		r = daemon_op(&st, req, pause ? "pause" : "resume");
		if (r < 0)
			goto out;
	}
	if (r == 1) {
		/* unadmitted, or the daemon away: the actuator, from here */
		struct oci_request q = { .nknobs = 1 };

		snprintf(q.knobs[0].knob, sizeof(q.knobs[0].knob), "cgroup.freeze");
		snprintf(q.knobs[0].value, sizeof(q.knobs[0].value), "%d", pause);
		if (write_own(&st, &q))
			goto out;
	}
	r = wait_frozen(&st, pause);
	if (r < 0) {
		rt_error("container '%s' did not %s: %s", rt.id, pause ? "freeze" : "thaw",
			 strerror(-r));
		goto out;
	}
	status = 0;
out:
	close_ctr(rootfd, dirfd, &st);
	return status;
}

/* linux.resources from --resources (a file, or - for stdin), checked by
 * config.json's parser. */
static int read_resources(struct oci_request *q)
{
	_cleanup_close_ int fd =
		streq(rt.resources, "-") ? dup(0) : open(rt.resources, O_RDONLY | O_CLOEXEC);
	json_object *res = NULL, *doc, *lin, *proc, *root, *args;
	struct oci_spec spec;
	const char *msg = NULL, *text;
	char err[512];
	_cleanup_free_ char *buf = malloc(1 << 20);
	size_t len = 0;
	ssize_t n;
	int r;

	if (fd < 0 || !buf) {
		rt_error("--resources %s: %s", rt.resources, strerror(errno));
		return -1;
	}
	while ((n = read(fd, buf + len, (1 << 20) - len)) > 0)
		len += (size_t)n;
	if (n < 0 || len == 1 << 20) {
		rt_error("--resources %s: %s", rt.resources,
			 n < 0 ? strerror(errno) : "larger than 1 MiB");
		return -1;
	}
	if (proto_decode_json(buf, len, 1 << 20, "--resources", &res, &msg)) {
		rt_error("--resources %s: %s", rt.resources, msg ? msg : "not JSON");
		return -1;
	}
	doc = json_object_new_object();
	json_object_object_add(doc, "ociVersion", json_object_new_string("1.0.0"));
	proc = json_object_new_object();
	args = json_object_new_array();
	json_object_array_add(args, json_object_new_string("-"));
	json_object_object_add(proc, "args", args);
	json_object_object_add(proc, "cwd", json_object_new_string("/"));
	json_object_object_add(doc, "process", proc);
	root = json_object_new_object();
	json_object_object_add(root, "path", json_object_new_string("/"));
	json_object_object_add(doc, "root", root);
	lin = json_object_new_object();
	json_object_object_add(lin, "resources", res);
	json_object_object_add(doc, "linux", lin);
	text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	r = oci_parse(text, strlen(text), &spec, err, sizeof(err));
	json_object_put(doc);
	if (!r)
		r = oci_to_request(&spec.res, q, err, sizeof(err));
	oci_spec_free(&spec);
	if (r) {
		rt_error("--resources %s: %s", rt.resources, err);
		return -1;
	}
	return 0;
}

int rt_cmd_update(void)
{
	int rootfd, dirfd, status = 1, r = 1;
	struct rt_state st = { 0 };
	struct oci_request q = { 0 };
	enum rt_status s;

	if (rt_open_ctr(&rootfd, &dirfd, &st) || read_resources(&q))
		goto out;
	s = rt_status(dirfd, &st);
	if (s == RT_STOPPED) {
		rt_error("cannot update container '%s': it is stopped", rt.id);
		goto out;
	}
	if (rt_daemon_id(&st)) {
		/* re-admission with the new requests: the daemon books, places and
		 * writes them, or refuses and nothing changes */
		json_object *req = json_object_new_object();

		json_object_object_add(req, "op", json_object_new_string("container.update"));
		adm_add_u64(req, "cpu_request_mc", q.cpu_request_mc);
		adm_add_u64(req, "cpu_limit_mc", q.cpu_limit_mc);
		adm_add_u64(req, "memory_request", q.memory_request);
		adm_add_u64(req, "memory_limit", q.memory_limit);
		adm_add_u64(req, "io_weight", q.io_weight);
		if (q.cpus[0])
			json_object_object_add(req, "cpus", json_object_new_string(q.cpus));
		r = daemon_op(&st, req, "update");
		if (r < 0)
			goto out;
		if (r == 1) {
			rt_error("update of '%s': cgpilotd is not reachable at %s, and the "
				 "container is its to change",
				 rt.id, rt.socket);
			goto out;
		}
	} else {
		/* unadmitted: the limits as crun writes them */
		if (q.cpu_limit_mc)
			rt_add_knob(&q, "cpu.max", "%" PRIu64 " %" PRIu64,
				    q.cpu_limit_mc * (q.cpu_period_us ? q.cpu_period_us : 100000) /
					    1000,
				    q.cpu_period_us ? q.cpu_period_us : 100000);
		if (q.cpu_weight)
			rt_add_knob(&q, "cpu.weight", "%u", q.cpu_weight);
		if (q.memory_limit)
			rt_add_knob(&q, "memory.max", "%" PRIu64, q.memory_limit);
		if (q.io_weight)
			rt_add_knob(&q, "io.weight", "default %u", q.io_weight);
		if (q.cpus[0])
			rt_add_knob(&q, "cpuset.cpus", "%s", q.cpus);
	}
	if (q.nknobs && write_own(&st, &q))
		goto out;
	status = 0;
out:
	close_ctr(rootfd, dirfd, &st);
	return status;
}
