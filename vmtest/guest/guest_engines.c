// SPDX-License-Identifier: Apache-2.0
/*
 * Container engines in the guest (profile engines): podman 4.3 and containerd
 * 1.6 from Debian 12, with the OCI runtime a parameter: crun here, cgpilot-run
 * in the tests that build on these helpers. run.sh's engines archive has the
 * binaries and their configuration: storage.conf (vfs on the tmpfs root),
 * policy.json, containers.conf (cgroupfs, file events, k8s-file logs,
 * runtime_supports_json) and containerd's config.toml (no CRI plugin).
 *
 * engines_crun, with crun: podman run's exit status, its stdout and stderr
 * apart, run -d + ps + exec + stop + rm; the same through containerd with
 * ctr run and ctr task exec, kill, delete. Its figures are the wall times of
 * `podman run --rm /bin/true` and `ctr run --rm /bin/true`.
 */
#include <sys/mount.h>

#include "guest.h"

#define ENGINE_TIMEOUT_MS 60000
#define ENGINE_MAX_ARGS 64
#define CONTAINERD_CONF "/etc/containerd/config.toml"
#define CONTAINERD_LOG "/run/vmtest-containerd.log"
#define NTRUE 3 /* timed /bin/true containers per engine */

/* Where the engines keep their state: unmounted and removed by engines_cleanup(). */
static const char *const podman_dirs[] = { "/run/containers", "/var/lib/containers/storage",
					   "/run/libpod" };
static const char *const containerd_dirs[] = { "/run/containerd", "/var/lib/containerd" };

enum result needs_engines(struct ctx *ctx)
{
	static const char *const bins[] = { PODMAN, "/usr/bin/conmon", CTR, CONTAINERD,
					    "/usr/bin/containerd-shim-runc-v2" };

	for (size_t i = 0; i < ARRAY_SIZE(bins); i++)
		if (access(bins[i], X_OK) < 0)
			return skip(ctx, "%s is not in the guest (run.sh --profile engines has it)",
				    bins[i]);
	return RES_PASS;
}

/* ---- files and mounts ---- */

static int copy_file(const char *from, const char *to, mode_t mode)
{
	_cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int out = -1;
	char buf[65536];
	ssize_t n;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0)
		return -errno;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			return -EIO;
	return n < 0 ? -errno : 0;
}

static int put_file(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(text);

	if (fd < 0)
		return -errno;
	return write(fd, text, len) == (ssize_t)len ? 0 : -EIO;
}

/* Unmount (detached) every mount at or below @dir, the newest first. */
static void umount_under(struct ctx *ctx, const char *dir)
{
	static char mnts[64][256];
	size_t len = strlen(dir);
	char line[4096];
	int pass, n, i;

	for (pass = 0; len && pass < 4; pass++) {
		_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");

		if (!f)
			return;
		n = 0;
		while (n < (int)ARRAY_SIZE(mnts) && fgets(line, sizeof(line), f)) {
			char mp[256];

			if (sscanf(line, "%*s %*s %*s %*s %255s", mp) != 1)
				continue;
			if (strncmp(mp, dir, len) || (mp[len] && mp[len] != '/'))
				continue;
			snprintf(mnts[n++], sizeof(mnts[0]), "%s", mp);
		}
		if (!n)
			return;
		for (i = n - 1; i >= 0; i--)
			if (umount2(mnts[i], MNT_DETACH) == 0)
				info(ctx, "unmounted %s", mnts[i]);
	}
}

/* Unmount what is left below @dir and remove it. */
static void remove_dir(struct ctx *ctx, const char *dir)
{
	umount_under(ctx, dir);
	rm_tree(dir);
}

enum result engine_rootfs(struct ctx *ctx, const char *dir)
{
	static const char *const dirs[] = { "",	    "/bin", "/etc", "/proc", "/sys",
					    "/dev", "/tmp", "/run", "/root" };
	char *argv[] = { "/usr/bin/busybox", "--list", NULL };
	static char list[16384];
	char p[PATH_MAX], *app, *save = NULL;
	int st = 0, r, n = 0;

	if (strlen(dir) >= sizeof(ctx->rootfs))
		return fail(ctx, "rootfs path %s too long", dir);
	snprintf(ctx->rootfs, sizeof(ctx->rootfs), "%s", dir);
	remove_dir(ctx, dir);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(p, sizeof(p), "%s%s", dir, dirs[i]);
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return fail(ctx, "mkdir %s: %s", p, strerror(errno));
	}
	snprintf(p, sizeof(p), "%s/bin/busybox", dir);
	r = copy_file("/usr/bin/busybox", p, 0755);
	if (r < 0)
		return fail(ctx, "copying busybox to %s: %s", p, strerror(-r));
	r = run_capture(argv, list, sizeof(list), 10000, &st);
	if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return fail(ctx, "busybox --list failed");
	for (app = strtok_r(list, "\n", &save); app; app = strtok_r(NULL, "\n", &save)) {
		if (streq(app, "busybox"))
			continue;
		snprintf(p, sizeof(p), "%s/bin/%s", dir, app);
		if (symlink("busybox", p) == 0)
			n++;
	}
	snprintf(p, sizeof(p), "%s/etc/passwd", dir);
	r = put_file(p, "root:x:0:0:root:/root:/bin/sh\n");
	if (r >= 0) {
		snprintf(p, sizeof(p), "%s/etc/group", dir);
		r = put_file(p, "root:x:0:\n");
	}
	if (r < 0)
		return fail(ctx, "writing %s: %s", p, strerror(-r));
	info(ctx, "rootfs %s: busybox and %d applets", dir, n);
	return RES_PASS;
}

/* ---- running the engines' commands ---- */

/* Append the NULL-terminated @args (or NULL) to @argv at @n: the new count, or -E2BIG. */
static int add_args(const char **argv, int n, const char *const *args)
{
	for (; n >= 0 && args && *args; args++) {
		if (n >= ENGINE_MAX_ARGS - 1)
			return -E2BIG;
		argv[n++] = *args;
	}
	return n;
}

/* Run the @n arguments of @argv into @o, and say so (those from @shown on). */
static int engine_exec(struct ctx *ctx, const char **argv, int n, int shown, struct engine_out *o)
{
	char line[512];
	uint64_t t0 = mono_now_ns();
	size_t off;
	int st = 0, r;

	o->out[0] = o->err[0] = '\0';
	o->status = -1;
	if (n < 0)
		return n;
	argv[n] = NULL;
	r = run_capture_split((char *const *)argv, o->out, sizeof(o->out), o->err, sizeof(o->err),
			      ENGINE_TIMEOUT_MS, &st);
	o->secs = (mono_now_ns() - t0) / 1e9;
	if (r == 0)
		o->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	off = snprintf(line, sizeof(line), "%s", strrchr(argv[0], '/') + 1);
	for (int i = shown; argv[i] && off < sizeof(line); i++)
		off += snprintf(line + off, sizeof(line) - off, " %s", argv[i]);
	info(ctx, "%s -> %d in %.2f s%s%.300s%s%.300s", line, o->status, o->secs,
	     o->out[0] ? "; stdout: " : "", o->out, o->err[0] ? "; stderr: " : "", o->err);
	return r;
}

/* Register a container for engines_cleanup() (once). */
static int remember(char (*names)[48], int *n, const char *name)
{
	for (int i = 0; i < *n; i++)
		if (streq(names[i], name))
			return 0;
	if (*n >= MAX_ENGINE_CTRS || strlen(name) >= sizeof(names[0]))
		return -ENOSPC;
	snprintf(names[*n], sizeof(names[0]), "%s", name);
	(*n)++;
	return 0;
}

int podman(struct ctx *ctx, const char *runtime, struct engine_out *o, const char *const *args)
{
	const char *argv[ENGINE_MAX_ARGS];
	int n = 0;

	argv[n++] = PODMAN;
	argv[n++] = "--runtime";
	argv[n++] = runtime;
	argv[n++] = "--cgroup-manager";
	argv[n++] = "cgroupfs";
	argv[n++] = "--events-backend";
	argv[n++] = "file";
	/* podman has state now, which engines_cleanup() removes with this runtime */
	if (!ctx->engine_runtime[0])
		snprintf(ctx->engine_runtime, sizeof(ctx->engine_runtime), "%s", runtime);
	return engine_exec(ctx, argv, add_args(argv, n, args), n, o);
}

int podman_run(struct ctx *ctx, const struct engine_run *run, struct engine_out *o)
{
	const char *args[ENGINE_MAX_ARGS];
	int n = 0, r = remember(ctx->podman_names, &ctx->npodman, run->name);

	if (r < 0)
		return r;
	args[n++] = "run";
	args[n++] = run->detach ? "-d" : "--rm";
	args[n++] = "--network";
	args[n++] = "none";
	args[n++] = "--cgroup-parent";
	args[n++] = "/" ENGINES_CG;
	args[n++] = "--name";
	args[n++] = run->name;
	n = add_args(args, n, run->opts);
	n = add_args(args, n, (const char *const[]){ "--rootfs", run->rootfs, NULL });
	n = add_args(args, n, run->cmd);
	if (n < 0)
		return n;
	args[n] = NULL;
	return podman(ctx, run->runtime, o, args);
}

int ctr(struct ctx *ctx, struct engine_out *o, const char *const *args)
{
	const char *argv[ENGINE_MAX_ARGS];
	int n = 0;

	argv[n++] = CTR;
	argv[n++] = "--address";
	argv[n++] = CONTAINERD_SOCK;
	return engine_exec(ctx, argv, add_args(argv, n, args), n, o);
}

int ctr_run(struct ctx *ctx, const struct engine_run *run, struct engine_out *o)
{
	const char *args[ENGINE_MAX_ARGS];
	char cgroup[128];
	int n = 0, r = remember(ctx->ctr_ids, &ctx->nctr, run->name);

	if (r < 0)
		return r;
	snprintf(cgroup, sizeof(cgroup), "/%s/%s", ENGINES_CG, run->name);
	args[n++] = "run";
	args[n++] = run->detach ? "-d" : "--rm";
	/* detached: no ctr reads the container's output once it has exited */
	if (run->detach)
		args[n++] = "--null-io";
	args[n++] = "--runc-binary";
	args[n++] = run->runtime;
	args[n++] = "--cgroup";
	args[n++] = cgroup;
	n = add_args(args, n, run->opts);
	n = add_args(args, n, (const char *const[]){ "--rootfs", run->rootfs, run->name, NULL });
	n = add_args(args, n, run->cmd);
	if (n < 0)
		return n;
	args[n] = NULL;
	return ctr(ctx, o, args);
}

/* ---- containerd ---- */

/* The end of a log file, for a failure's reason. */
static const char *log_tail(const char *path)
{
	static char buf[4096];
	int n = read_file(path, buf, sizeof(buf));

	if (n < 0)
		return "(no log)";
	return n > 400 ? buf + n - 400 : buf;
}

enum result containerd_start(struct ctx *ctx)
{
	uint64_t t0 = mono_now_ns(), end = t0 + 60 * 1000000000ULL;
	char cg[PATH_MAX];
	pid_t pid;
	int r, st;

	if (access(CONTAINERD, X_OK) < 0)
		return skip(ctx,
			    "containerd is not in the guest (run.sh --profile engines has it)");
	r = cg_new(ctx, "containerd", cg, sizeof(cg));
	if (r < 0)
		return fail(ctx, "a cgroup for containerd: %s", strerror(-r));
	snprintf(ctx->containerd_cg, sizeof(ctx->containerd_cg), "%s", cg);
	pid = fork();
	if (pid < 0)
		return fail(ctx, "fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(CONTAINERD_LOG, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);

		/* its shims stay in its cgroup: the cgroup's removal ends them too */
		if (cg_write(cg, "cgroup.procs", "0") < 0)
			_exit(126);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		if (nul >= 0)
			dup2(nul, STDIN_FILENO);
		setsid();
		execl(CONTAINERD, CONTAINERD, "--config", CONTAINERD_CONF, (char *)NULL);
		_exit(127);
	}
	ctx->containerd_pid = pid;
	while (mono_now_ns() < end) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			ctx->containerd_pid = 0;
			return fail(ctx, "containerd exited during start (%s %d): %s",
				    WIFEXITED(st) ? "status" : "signal",
				    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
				    log_tail(CONTAINERD_LOG));
		}
		if (socket_ready(CONTAINERD_SOCK)) {
			info(ctx, "containerd pid %d answers on %s after %.2f s", pid,
			     CONTAINERD_SOCK, (mono_now_ns() - t0) / 1e9);
			return RES_PASS;
		}
		sleep_ms(50);
	}
	return fail(ctx, "containerd did not open %s within 60 s: %s", CONTAINERD_SOCK,
		    log_tail(CONTAINERD_LOG));
}

/* SIGTERM to our containerd, SIGKILL after 20 s: 0 and its status, or -errno. */
static int stop_containerd(struct ctx *ctx, int *ret_status)
{
	pid_t pid = ctx->containerd_pid;
	int r;

	if (pid <= 0)
		return -ESRCH;
	kill(pid, SIGTERM);
	r = wait_worker(pid, 20000, ret_status);
	if (r == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	ctx->containerd_pid = 0;
	return r;
}

enum result containerd_stop(struct ctx *ctx)
{
	int st = 0, r;

	if (ctx->containerd_pid <= 0)
		return RES_PASS;
	r = stop_containerd(ctx, &st);
	if (r == -ETIMEDOUT)
		return fail(ctx, "containerd did not stop within 20 s of SIGTERM");
	if (r < 0)
		return fail(ctx, "waiting for containerd: %s", strerror(-r));
	info(ctx, "containerd stopped on SIGTERM (%s %d)", WIFEXITED(st) ? "status" : "signal",
	     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return RES_PASS;
}

/* ---- cleanup ---- */

void engines_cleanup(struct ctx *ctx)
{
	static struct engine_out o;
	const char *args[MAX_ENGINE_CTRS + 8];
	int n, i, st;

	if (ctx->npodman) {
		n = 0;
		args[n++] = "rm";
		args[n++] = "--force";
		args[n++] = "--ignore";
		args[n++] = "--time";
		args[n++] = "0";
		for (i = 0; i < ctx->npodman; i++)
			args[n++] = ctx->podman_names[i];
		args[n] = NULL;
		podman(ctx, ctx->engine_runtime[0] ? ctx->engine_runtime : CRUN, &o, args);
		ctx->npodman = 0;
	}
	if (ctx->nctr && ctx->containerd_pid > 0 && socket_ready(CONTAINERD_SOCK)) {
		args[0] = "task";
		args[1] = "delete";
		args[2] = "--force";
		for (i = 0; i < ctx->nctr; i++)
			args[3 + i] = ctx->ctr_ids[i];
		args[3 + i] = NULL;
		ctr(ctx, &o, args);
		args[0] = "container";
		args[1] = "delete";
		for (i = 0; i < ctx->nctr; i++)
			args[2 + i] = ctx->ctr_ids[i];
		args[2 + i] = NULL;
		ctr(ctx, &o, args);
		ctx->nctr = 0;
	}
	if (ctx->containerd_pid > 0 && stop_containerd(ctx, &st) < 0)
		printf("  [%s] containerd did not stop on SIGTERM: killed\n", ctx->name);
	/* what is left: containerd's shims, conmon, the containers' processes */
	if (ctx->containerd_cg[0])
		cg_remove(ctx->containerd_cg);
	rm_cg_tree(ENGINES_CG);
	if (ctx->engine_runtime[0])
		for (i = 0; i < (int)ARRAY_SIZE(podman_dirs); i++)
			remove_dir(ctx, podman_dirs[i]);
	if (ctx->containerd_cg[0])
		for (i = 0; i < (int)ARRAY_SIZE(containerd_dirs); i++)
			remove_dir(ctx, containerd_dirs[i]);
	if (ctx->rootfs[0])
		remove_dir(ctx, ctx->rootfs);
}

/* ---- engines_crun ---- */

static double containerd_up_s;

enum result engines_crun_setup(struct ctx *ctx)
{
	enum result res = needs_engines(ctx);
	uint64_t t0;

	if (res != RES_PASS)
		return res;
	if (access(CRUN, X_OK) < 0)
		return skip(ctx, "no %s in the guest", CRUN);
	res = engine_rootfs(ctx, ROOTFS_DIR);
	if (res != RES_PASS)
		return res;
	t0 = mono_now_ns();
	res = containerd_start(ctx);
	containerd_up_s = (mono_now_ns() - t0) / 1e9;
	return res;
}

enum result engine_expect(struct ctx *ctx, int r, const struct engine_out *o, int want,
			  const char *what)
{
	if (r < 0)
		return fail(ctx, "%s did not finish: %s; stdout: %.200s; stderr: %.300s", what,
			    strerror(-r), o->out, o->err);
	if (o->status != want) {
		/* the whole of it in the log: the runtime's error is often last */
		for (size_t off = 0; off < strlen(o->err); off += 400)
			info(ctx, "%s stderr: %.400s", what, o->err + off);
		return fail(ctx, "%s: status %d, want %d; stdout: %.200s; stderr: %.300s", what,
			    o->status, want, o->out, o->err);
	}
	return RES_PASS;
}

/* The line of @text that starts with the word @word, copied to @buf. */
static bool line_of(const char *text, const char *word, char *buf, size_t size)
{
	size_t n = strlen(word);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, word, n) || (p[n] != ' ' && p[n] != '\t'))
			continue;
		snprintf(buf, size, "%.*s", (int)strcspn(p, "\n"), p);
		return true;
	}
	return false;
}

/* A container's pid 1 runs in CG_ROOT/ENGINES_CG/@leaf. */
static enum result in_cgroup(struct ctx *ctx, int pid, const char *leaf)
{
	char path[64], cg[512], want[256];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	snprintf(want, sizeof(want), "0::/%s/%s", ENGINES_CG, leaf);
	r = read_file(path, cg, sizeof(cg));
	if (r < 0)
		return fail(ctx, "cannot read %s: %s", path, strerror(-r));
	cg[strcspn(cg, "\n")] = '\0';
	if (!streq(cg, want))
		return fail(ctx, "the container's pid %d is in %s, want %s", pid, cg, want);
	info(ctx, "pid %d in %s", pid, cg);
	return RES_PASS;
}

static enum result gone_cgroup(struct ctx *ctx, const char *leaf)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s/%s", CG_ROOT, ENGINES_CG, leaf);
	if (access(path, F_OK) == 0)
		return fail(ctx, "%s is still there after the container's removal", path);
	return RES_PASS;
}

/* sh -c 'echo out-line; echo err-line >&2; exit 3': status and streams apart */
static const char *const exit3[] = { "/bin/sh", "-c", "echo out-line; echo err-line >&2; exit 3",
				     NULL };
static const char *const true_cmd[] = { "/bin/true", NULL };
/* a pid 1 that ends with 0 on SIGTERM */
static const char *const waiter[] = { "/bin/sh", "-c",
				      "trap 'exit 0' TERM; echo started; sleep 300 & wait", NULL };
static const char *const exec5[] = { "/bin/sh", "-c", "echo exec-ok; exit 5", NULL };

static enum result streams(struct ctx *ctx, const char *who, const struct engine_out *o)
{
	if (!has_line(o->out, "out-line") || strstr(o->out, "err-line") ||
	    !has_line(o->err, "err-line"))
		return fail(ctx,
			    "%s: stdout %.200s, stderr %.300s: want out-line and err-line apart",
			    who, o->out, o->err);
	return RES_PASS;
}

/* The cgroup of @pid says frozen (or not) in cgroup.events, within 10 s. */
static enum result frozen(struct ctx *ctx, int pid, bool want)
{
	char path[600], cg[512], buf[512];
	uint64_t end = mono_now_ns() + 10000000000ULL;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if (read_file(path, cg, sizeof(cg)) < 0 || strncmp(cg, "0::/", 4))
		return fail(ctx, "pid %d has no cgroup", pid);
	cg[strcspn(cg, "\n")] = '\0';
	snprintf(path, sizeof(path), "%s/%s/cgroup.events", CG_ROOT, cg + 4);
	for (;; sleep_ms(100)) {
		if (read_file(path, buf, sizeof(buf)) > 0 && !!strstr(buf, "frozen 1") == want)
			return RES_PASS;
		if (mono_now_ns() > end)
			return fail(ctx, "%s: want frozen %d: %.100s", path, want, buf);
	}
}

enum result podman_lifecycle(struct ctx *ctx, const char *runtime, double *true_s)
{
	static struct engine_out o;
	struct engine_run run = {
		.runtime = runtime, .rootfs = ROOTFS_DIR, .name = "vmtest-p-exit", .cmd = exit3
	};
	char line[256], state[32], id[80], leaf[96];
	enum result res;
	int r, pid = 0;

	r = podman_run(ctx, &run, &o);
	res = engine_expect(ctx, r, &o, 3, "podman run sh -c 'exit 3'");
	if (res == RES_PASS)
		res = streams(ctx, "podman run", &o);
	for (int i = 0; res == RES_PASS && i < NTRUE; i++) {
		run.name = "vmtest-p-true";
		run.cmd = true_cmd;
		r = podman_run(ctx, &run, &o);
		res = engine_expect(ctx, r, &o, 0, "podman run --rm /bin/true");
		true_s[i] = o.secs;
	}
	if (res != RES_PASS)
		return res;

	run.name = "vmtest-p-d";
	run.detach = true;
	run.cmd = waiter;
	r = podman_run(ctx, &run, &o);
	res = engine_expect(ctx, r, &o, 0, "podman run -d");
	if (res != RES_PASS)
		return res;
	if (sscanf(o.out, "%79s", id) != 1 || strlen(id) != 64)
		return fail(ctx, "podman run -d printed no container id: %.200s", o.out);
	snprintf(leaf, sizeof(leaf), "libpod-%s", id);

	/* .State: "Up <for how long>" in 4.3, "running" in later podman */
	r = podman(ctx, runtime, &o,
		   (const char *const[]){ "ps", "--format", "{{.Names}} {{.Pid}} {{.State}}",
					  NULL });
	res = engine_expect(ctx, r, &o, 0, "podman ps");
	if (res != RES_PASS)
		return res;
	if (!line_of(o.out, "vmtest-p-d", line, sizeof(line)) ||
	    sscanf(line, "%*s %d %31s", &pid, state) != 2 || pid <= 0 ||
	    (!streq(state, "Up") && !streq(state, "running")))
		return fail(ctx, "podman ps does not show vmtest-p-d running: %.300s", o.out);
	res = in_cgroup(ctx, pid, leaf);
	if (res != RES_PASS)
		return res;

	r = podman(ctx, runtime, &o,
		   (const char *const[]){ "exec", "vmtest-p-d", exec5[0], exec5[1], exec5[2],
					  NULL });
	res = engine_expect(ctx, r, &o, 5, "podman exec");
	if (res != RES_PASS)
		return res;
	if (!has_line(o.out, "exec-ok"))
		return fail(ctx, "podman exec: no exec-ok in its stdout: %.200s", o.out);

	/* pause and unpause: the cgroup frozen and thawed */
	r = podman(ctx, runtime, &o, (const char *const[]){ "pause", "vmtest-p-d", NULL });
	res = engine_expect(ctx, r, &o, 0, "podman pause");
	if (res == RES_PASS)
		res = frozen(ctx, pid, true);
	if (res != RES_PASS)
		return res;
	r = podman(ctx, runtime, &o, (const char *const[]){ "unpause", "vmtest-p-d", NULL });
	res = engine_expect(ctx, r, &o, 0, "podman unpause");
	if (res == RES_PASS)
		res = frozen(ctx, pid, false);
	if (res != RES_PASS)
		return res;

	/* the container's pid 1 exits 0 on SIGTERM: well before the 20 s */
	r = podman(ctx, runtime, &o,
		   (const char *const[]){ "stop", "--time", "20", "vmtest-p-d", NULL });
	res = engine_expect(ctx, r, &o, 0, "podman stop");
	if (res != RES_PASS)
		return res;
	if (o.secs > 15)
		return fail(ctx, "podman stop took %.1f s: SIGTERM did not end the container",
			    o.secs);
	r = podman(ctx, runtime, &o,
		   (const char *const[]){ "inspect", "--format",
					  "{{.State.Status}} {{.State.ExitCode}}", "vmtest-p-d",
					  NULL });
	res = engine_expect(ctx, r, &o, 0, "podman inspect");
	if (res != RES_PASS)
		return res;
	if (!has_line(o.out, "exited 0"))
		return fail(ctx, "after podman stop the container is %.100s, want exited 0", o.out);

	r = podman(ctx, runtime, &o, (const char *const[]){ "rm", "vmtest-p-d", NULL });
	res = engine_expect(ctx, r, &o, 0, "podman rm");
	if (res != RES_PASS)
		return res;
	r = podman(ctx, runtime, &o,
		   (const char *const[]){ "ps", "-a", "--format", "{{.Names}}", NULL });
	res = engine_expect(ctx, r, &o, 0, "podman ps -a");
	if (res != RES_PASS)
		return res;
	if (strstr(o.out, "vmtest-p-"))
		return fail(ctx, "containers left after --rm and rm: %.300s", o.out);
	return gone_cgroup(ctx, leaf);
}

enum result ctr_lifecycle(struct ctx *ctx, const char *runtime, double *true_s)
{
	static struct engine_out o;
	struct engine_run run = {
		.runtime = runtime, .rootfs = ROOTFS_DIR, .name = "vmtest-c-exit", .cmd = exit3
	};
	char line[256], state[32];
	uint64_t end;
	enum result res;
	int r, pid = 0;

	r = ctr_run(ctx, &run, &o);
	res = engine_expect(ctx, r, &o, 3, "ctr run sh -c 'exit 3'");
	if (res == RES_PASS)
		res = streams(ctx, "ctr run", &o);
	for (int i = 0; res == RES_PASS && i < NTRUE; i++) {
		run.name = "vmtest-c-true";
		run.cmd = true_cmd;
		r = ctr_run(ctx, &run, &o);
		res = engine_expect(ctx, r, &o, 0, "ctr run --rm /bin/true");
		true_s[i] = o.secs;
	}
	if (res != RES_PASS)
		return res;

	run.name = "vmtest-c-d";
	run.detach = true;
	run.cmd = waiter;
	r = ctr_run(ctx, &run, &o);
	res = engine_expect(ctx, r, &o, 0, "ctr run -d");
	if (res != RES_PASS)
		return res;
	r = ctr(ctx, &o, (const char *const[]){ "task", "ls", NULL });
	res = engine_expect(ctx, r, &o, 0, "ctr task ls");
	if (res != RES_PASS)
		return res;
	if (!line_of(o.out, "vmtest-c-d", line, sizeof(line)) ||
	    sscanf(line, "%*s %d %31s", &pid, state) != 2 || pid <= 0 || !streq(state, "RUNNING"))
		return fail(ctx, "ctr task ls does not show vmtest-c-d running: %.300s", o.out);
	res = in_cgroup(ctx, pid, "vmtest-c-d");
	if (res != RES_PASS)
		return res;

	r = ctr(ctx, &o,
		(const char *const[]){ "task", "exec", "--exec-id", "x", "vmtest-c-d", exec5[0],
				       exec5[1], exec5[2], NULL });
	res = engine_expect(ctx, r, &o, 5, "ctr task exec");
	if (res != RES_PASS)
		return res;
	if (!has_line(o.out, "exec-ok"))
		return fail(ctx, "ctr task exec: no exec-ok in its stdout: %.200s", o.out);

	r = ctr(ctx, &o, (const char *const[]){ "task", "pause", "vmtest-c-d", NULL });
	res = engine_expect(ctx, r, &o, 0, "ctr task pause");
	if (res == RES_PASS)
		res = frozen(ctx, pid, true);
	if (res != RES_PASS)
		return res;
	r = ctr(ctx, &o, (const char *const[]){ "task", "resume", "vmtest-c-d", NULL });
	res = engine_expect(ctx, r, &o, 0, "ctr task resume");
	if (res == RES_PASS)
		res = frozen(ctx, pid, false);
	if (res != RES_PASS)
		return res;

	r = ctr(ctx, &o, (const char *const[]){ "task", "kill", "vmtest-c-d", NULL });
	res = engine_expect(ctx, r, &o, 0, "ctr task kill");
	if (res != RES_PASS)
		return res;
	for (end = mono_now_ns() + 15000000000ULL;; sleep_ms(200)) {
		r = ctr(ctx, &o, (const char *const[]){ "task", "ls", NULL });
		res = engine_expect(ctx, r, &o, 0, "ctr task ls");
		if (res != RES_PASS)
			return res;
		if (line_of(o.out, "vmtest-c-d", line, sizeof(line)) && strstr(line, "STOPPED"))
			break;
		if (mono_now_ns() > end)
			return fail(ctx, "vmtest-c-d not stopped 15 s after SIGTERM: %.300s",
				    o.out);
	}
	/* ctr task delete exits with the task's status: 0 from its trap */
	r = ctr(ctx, &o, (const char *const[]){ "task", "delete", "vmtest-c-d", NULL });
	res = engine_expect(ctx, r, &o, 0, "ctr task delete");
	if (res != RES_PASS)
		return res;
	r = ctr(ctx, &o, (const char *const[]){ "container", "delete", "vmtest-c-d", NULL });
	res = engine_expect(ctx, r, &o, 0, "ctr container delete");
	if (res != RES_PASS)
		return res;
	r = ctr(ctx, &o, (const char *const[]){ "container", "ls", "--quiet", NULL });
	res = engine_expect(ctx, r, &o, 0, "ctr container ls");
	if (res != RES_PASS)
		return res;
	if (strstr(o.out, "vmtest-c-"))
		return fail(ctx, "containers left after --rm and delete: %.300s", o.out);
	return gone_cgroup(ctx, "vmtest-c-d");
}

enum result engines_crun_run(struct ctx *ctx)
{
	double p[NTRUE], c[NTRUE];
	enum result res;

	res = podman_lifecycle(ctx, CRUN, p);
	if (res == RES_PASS)
		res = ctr_lifecycle(ctx, CRUN, c);
	if (res == RES_PASS)
		res = containerd_stop(ctx);
	if (res != RES_PASS)
		return res;
	return verdict(ctx, RES_PASS,
		       "podman run --rm /bin/true %.2f %.2f %.2f s, ctr run --rm %.2f %.2f %.2f s, "
		       "containerd up in %.2f s",
		       p[0], p[1], p[2], c[0], c[1], c[2], containerd_up_s);
}
