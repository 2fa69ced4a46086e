// SPDX-License-Identifier: Apache-2.0
/*
 * cgpilot-run in a pure cgroup v2 guest, against a daemon with every
 * controller: the workload is pid 1 and runs under its cgroup, cpuset and
 * memory limit from its first line; exit codes and signals come back; an OOM
 * kill is reported; kill -9 of the launcher leaves nothing; a refused
 * admission exits 124; an OCI bundle with a busybox root runs with its
 * hostname and limits.
 */
#include "guest.h"

#define RUN_BIN "/usr/bin/cgpilot-run"
#define RUN_ROOT "cgpilot.slice"
#define BUNDLE "/run/vmtest-bundle"

/* cgpilot-run --socket SOCK ARGS..., stdout and stderr in @out; its status in *ret_status */
static int launch(struct ctx *ctx, char *out, size_t size, int *ret_status, const char *const *args)
{
	char *argv[32];
	int n = 0;

	argv[n++] = RUN_BIN;
	argv[n++] = "--socket";
	argv[n++] = ctx->sock;
	while (*args && n < 31)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	return run_capture_err(argv, out, size, 60000, ret_status, true);
}

/* Run and expect exit status @want; the output in @out. */
static enum result expect(struct ctx *ctx, int want, char *out, size_t size,
			  const char *const *args)
{
	int st = 0, r = launch(ctx, out, size, &st, args);

	if (r < 0)
		return fail(ctx, "cgpilot-run did not run: %s", strerror(-r));
	info(ctx, "cgpilot-run %s ... -> %d: %.400s", args[0], WIFEXITED(st) ? WEXITSTATUS(st) : -1,
	     out);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != want)
		return fail(ctx, "cgpilot-run %s %s ...: status %d, want %d; output: %.600s",
			    args[0], args[1] ? args[1] : "", WIFEXITED(st) ? WEXITSTATUS(st) : -1,
			    want, out);
	return RES_PASS;
}

enum result run_launcher_setup(struct ctx *ctx)
{
	return daemon_start_with(ctx,
				 "[metrics]\naddress = none\n"
				 "[containers]\nroot = " RUN_ROOT "\nstart_deadline_s = 60\n",
				 NULL);
}

void run_launcher_cleanup(struct ctx *ctx)
{
	daemon_cleanup(ctx);
	rm_cg_tree(RUN_ROOT);
	rm_cg_tree("vmtest-standalone.slice");
}

static enum result first_line(struct ctx *ctx)
{
	static char out[8192];
	char cpus[64], path[PATH_MAX];
	enum result res;
	/* guaranteed, one whole CPU: exclusive; the script's first command reads
	 * the cgroup, the second the affinity it was born with */
	const char *const args[] = {
		"-c",
		"guaranteed",
		"--cpus",
		"1",
		"--memory",
		"48M",
		"-n",
		"g1",
		"--",
		"/bin/sh",
		"-c",
		"head -1 /proc/self/cgroup; grep Cpus_allowed_list /proc/self/status; "
		"echo pid=$$; cat /sys/fs/cgroup/" RUN_ROOT "/guaranteed/g1/memory.max; "
		"cat /sys/fs/cgroup/" RUN_ROOT "/guaranteed/g1/cpuset.cpus.effective; exit 3",
		NULL
	};

	res = expect(ctx, 3, out, sizeof(out), args);
	if (res != RES_PASS)
		return res;
	if (!has_line(out, "0::/" RUN_ROOT "/guaranteed/g1"))
		return fail(ctx, "the first line did not run in its cgroup: %.300s", out);
	if (!has_line(out, "pid=1"))
		return fail(ctx, "the workload is not pid 1 of its namespace: %.300s", out);
	if (!has_line(out, "50331648"))
		return fail(ctx, "memory.max is not 48 MiB from the start: %.300s", out);
	/* the affinity at birth is the cgroup's exclusive CPU (the last line) */
	{
		const char *p = strstr(out, "Cpus_allowed_list:");
		char *last;

		if (!p || sscanf(p, "Cpus_allowed_list: %63s", cpus) != 1)
			return fail(ctx, "no Cpus_allowed_list: %.300s", out);
		last = strrchr(out, '\n');
		if (last && !last[1]) {
			*last = 0;
			last = strrchr(out, '\n');
		}
		if (!last || !streq(last + 1, cpus))
			return fail(ctx, "affinity %s at the first line, the cgroup's CPUs %s",
				    cpus, last ? last + 1 : "?");
	}
	snprintf(path, sizeof(path), CG_ROOT "/" RUN_ROOT "/guaranteed/g1");
	if (!access(path, F_OK))
		return fail(ctx, "%s is still there after the workload ended", path);
	info(ctx, "first line in its cgroup, pid 1, cpus %s, memory.max 48 MiB", cpus);
	return RES_PASS;
}

static enum result statuses(struct ctx *ctx)
{
	static char out[8192];
	enum result res;
	const char *const term[] = { "--no-pid", "--", "/bin/sh", "-c", "kill -TERM $$", NULL };
	const char *const nf[] = { "--", "/nonexistent", NULL };
	const char *const refused[] = { "-c",	"guaranteed", "--cpus",	   "1", "--memory",
					"100G", "--",	      "/bin/true", NULL };
	const char *const oom[] = { "--memory",
				    "16M",
				    "--memory-limit",
				    "32M",
				    "-n",
				    "hog",
				    "--",
				    "/usr/libexec/vmtest/guest_tests",
				    "--hog-memory",
				    "128",
				    NULL };

	res = expect(ctx, 128 + SIGTERM, out, sizeof(out), term);
	if (res != RES_PASS)
		return res;
	res = expect(ctx, 127, out, sizeof(out), nf);
	if (res != RES_PASS)
		return res;
	res = expect(ctx, 124, out, sizeof(out), refused);
	if (res != RES_PASS)
		return res;
	if (!strstr(out, "admission refused"))
		return fail(ctx, "a refusal without the daemon's reason: %.300s", out);
	res = expect(ctx, 137, out, sizeof(out), oom);
	if (res != RES_PASS)
		return res;
	if (!strstr(out, "killed by the OOM killer (memory.max 32 MiB)"))
		return fail(ctx, "the OOM kill is not reported as such: %.300s", out);
	return RES_PASS;
}

static enum result kill9(struct ctx *ctx)
{
	char path[PATH_MAX], procs[64];
	char *const argv[] = { RUN_BIN, "--socket",   ctx->sock, "-n", "k9",
			       "--",	"/bin/sleep", "300",	 NULL };
	uint64_t end;
	pid_t pid, victim = 0;
	int st;

	snprintf(path, sizeof(path), CG_ROOT "/" RUN_ROOT "/burstable/k9");
	pid = fork();
	if (pid < 0)
		return fail(ctx, "fork: %s", strerror(errno));
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	for (end = mono_now_ns() + 20000000000ULL; mono_now_ns() < end && !victim;) {
		char f[PATH_MAX + 16];

		snprintf(f, sizeof(f), "%s/cgroup.procs", path);
		if (read_file(f, procs, sizeof(procs)) > 0)
			victim = atoi(procs);
		if (!victim)
			sleep_ms(20);
	}
	if (!victim) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return fail(ctx, "the workload never appeared in %s", path);
	}
	sleep_ms(200); /* container.started reaches the daemon */
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	for (end = mono_now_ns() + 10000000000ULL; mono_now_ns() < end && !access(path, F_OK);)
		sleep_ms(20);
	if (!access(path, F_OK))
		return fail(ctx, "%s is still there 10 s after kill -9 of its launcher", path);
	if (!kill(victim, 0)) {
		char stat[256], f[64];

		snprintf(f, sizeof(f), "/proc/%d/stat", (int)victim);
		if (read_file(f, stat, sizeof(stat)) > 0 && !strstr(stat, ") Z"))
			return fail(ctx, "the workload (pid %d) outlived its launcher",
				    (int)victim);
	}
	info(ctx, "kill -9 of the launcher: workload gone, %s removed", path);
	return RES_PASS;
}

/* @dir/rootfs with a static busybox as /bin/sh and friends, and @dir/config.json */
static enum result make_bundle(struct ctx *ctx, const char *dir, const char *cfg)
{
	static const char *const apps[] = { "sh", "cat", "hostname", "ls", "head", "tr", "true" };
	char p[PATH_MAX], cmd[PATH_MAX + 64];
	FILE *f;
	int st;

	mkdir(dir, 0755);
	snprintf(p, sizeof(p), "%s/rootfs", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/rootfs/bin", dir);
	mkdir(p, 0755);
	snprintf(cmd, sizeof(cmd), "cp /usr/bin/busybox %s/busybox", p);
	st = system(cmd);
	if (st)
		return fail(ctx, "copying busybox into %s: %d", dir, st);
	for (size_t i = 0; i < ARRAY_SIZE(apps); i++) {
		snprintf(p, sizeof(p), "%s/rootfs/bin/%s", dir, apps[i]);
		symlink("busybox", p);
	}
	snprintf(p, sizeof(p), "%s/config.json", dir);
	f = fopen(p, "w");
	if (!f || fputs(cfg, f) < 0 || fclose(f))
		return fail(ctx, "writing %s: %s", p, strerror(errno));
	return RES_PASS;
}

/* a busybox root with /bin/sh, and a config.json as crun spec writes it */
static enum result bundle(struct ctx *ctx)
{
	static char out[8192];
	enum result res;
	const char *const args[] = { "--bundle", BUNDLE, NULL };
	const char *cfg =
		"{\"ociVersion\":\"1.0.2\",\"process\":{\"terminal\":false,\"user\":{\"uid\":0,"
		"\"gid\":0},\"args\":[\"/bin/sh\",\"-c\",\"echo host=$(hostname) pid=$$; "
		"cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/pids.max; ls /dev | tr "
		"'\\\\n' ' '; echo; head -1 /proc/self/cgroup\"],\"env\":[\"PATH=/bin\"],"
		"\"cwd\":\"/\",\"capabilities\":{\"bounding\":[\"CAP_KILL\"],\"effective\":"
		"[\"CAP_KILL\"],\"permitted\":[\"CAP_KILL\"]},\"noNewPrivileges\":true},"
		"\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"hostname\":\"oci-box\","
		"\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
		"{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":"
		"[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
		"{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\",\"options\":"
		"[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},"
		"{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\","
		"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}],"
		"\"annotations\":{\"io.cgpilot.class\":\"burstable\"},"
		"\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}],"
		"\"memory\":{\"limit\":33554432},\"cpu\":{\"quota\":50000,\"period\":100000},"
		"\"pids\":{\"limit\":64}},\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},"
		"{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"cgroup\"}],"
		"\"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/sys\"]}}";

	res = make_bundle(ctx, BUNDLE, cfg);
	if (res != RES_PASS)
		return res;
	res = expect(ctx, 0, out, sizeof(out), args);
	if (res != RES_PASS)
		return res;
	if (!strstr(out, "host=oci-box pid=1"))
		return fail(ctx, "no hostname or not pid 1 in the bundle: %.400s", out);
	if (!has_line(out, "33554432") || !has_line(out, "64"))
		return fail(ctx, "the bundle's memory and pids limits are not in force: %.400s",
			    out);
	/* the cgroup namespace's root is the container's cgroup */
	if (!has_line(out, "0::/"))
		return fail(ctx, "the cgroup namespace does not start at the container: %.400s",
			    out);
	if (!strstr(out, "null") || !strstr(out, "urandom") || strstr(out, "vda"))
		return fail(ctx, "/dev is not the minimal set: %.400s", out);
	info(ctx, "bundle: hostname, pid 1, memory.max and pids.max as asked, minimal /dev");
	return RES_PASS;
}

enum result run_launcher_run(struct ctx *ctx)
{
	enum result res;

	res = first_line(ctx);
	if (res == RES_PASS)
		res = statuses(ctx);
	if (res == RES_PASS)
		res = kill9(ctx);
	if (res == RES_PASS)
		res = bundle(ctx);
	return res;
}

/* ---- bench: the start cost against crun and a plain fork+exec ---- */

#define BENCH_BUNDLE "/run/vmtest-bench-bundle"
#define BENCH_N 100

/* the same bundle for both: busybox true, pid/ipc/uts/mount namespaces and
 * the mounts crun spec writes */
static const char bench_cfg[] =
	"{\"ociVersion\":\"1.0.2\",\"process\":{\"user\":{\"uid\":0,\"gid\":0},"
	"\"args\":[\"/bin/true\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\","
	"\"capabilities\":{\"bounding\":[\"CAP_KILL\"],\"effective\":[\"CAP_KILL\"],"
	"\"permitted\":[\"CAP_KILL\"]},\"noNewPrivileges\":true},"
	"\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"hostname\":\"bench\","
	"\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
	"{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":"
	"[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
	"{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\",\"options\":"
	"[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]}],"
	"\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},"
	"{\"type\":\"uts\"},{\"type\":\"mount\"}]}}";

/* wall time of one command to its end, in us; -1 if it failed */
static int64_t timed(char *const argv[], bool quiet_err)
{
	uint64_t t0 = mono_now_ns();
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, STDOUT_FILENO);
		if (quiet_err)
			dup2(null, STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	return (int64_t)(mono_now_ns() - t0) / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double mean(const int64_t *v, int n)
{
	double s = 0;

	for (int i = 0; i < n; i++)
		s += (double)v[i];
	return s / n;
}

enum result bench_run_setup(struct ctx *ctx)
{
	return run_launcher_setup(ctx);
}

enum result bench_run_run(struct ctx *ctx)
{
	static int64_t tf[BENCH_N], tc[BENCH_N], tr[BENCH_N];
	static char out[4096];
	char *const floor_argv[] = { "/bin/true", NULL };
	char *const run_argv[] = { RUN_BIN,    "-q",	     "--socket", ctx->sock,
				   "--bundle", BENCH_BUNDLE, NULL };
	char id[32];
	char *crun_argv[] = { "/usr/bin/crun", "run", "--bundle", BENCH_BUNDLE, id, NULL };
	bool have_crun = !access("/usr/bin/crun", X_OK);
	enum result res = make_bundle(ctx, BENCH_BUNDLE, bench_cfg);
	double adm = 0, cg = 0, clone = 0;
	int nv = 0;

	if (res != RES_PASS)
		return res;
	/* interleaved, so that drift hits all three alike */
	for (int i = 0; i < BENCH_N; i++) {
		tf[i] = timed(floor_argv, false);
		tr[i] = timed(run_argv, false);
		snprintf(id, sizeof(id), "bench-%d", i);
		tc[i] = have_crun ? timed(crun_argv, false) : 0;
		if (tf[i] < 0 || tr[i] < 0 || tc[i] < 0)
			return fail(ctx,
				    "run %d failed (floor %lld, cgpilot-run %lld, crun %lld us)", i,
				    (long long)tf[i], (long long)tr[i], (long long)tc[i]);
	}
	/* where cgpilot-run's time goes, from its own -v line */
	for (int i = 0; i < 10; i++) {
		const char *const vargs[] = { "-v", "--bundle", BENCH_BUNDLE, NULL };
		int st;
		double a, b, c;
		const char *p;

		if (launch(ctx, out, sizeof(out), &st, vargs) < 0)
			continue;
		p = strstr(out, "admission ");
		if (p && sscanf(p, "admission %lf ms, cgroup %lf ms, clone to exec %lf ms", &a, &b,
				&c) == 3) {
			adm += a, cg += b, clone += c;
			nv++;
		}
	}
	{
		double mf = mean(tf, BENCH_N), mr = mean(tr, BENCH_N), mc = mean(tc, BENCH_N);

		qsort(tf, BENCH_N, sizeof(tf[0]), cmp_i64);
		qsort(tr, BENCH_N, sizeof(tr[0]), cmp_i64);
		qsort(tc, BENCH_N, sizeof(tc[0]), cmp_i64);
		printf("bench run: %d containers of /bin/true, interleaved; per container mean "
		       "(median): fork+exec %.2f (%.2f) ms, cgpilot-run %.2f (%.2f) ms, crun %.2f "
		       "(%.2f) ms; cgpilot-run/crun %.2f (target 0.5)%s\n",
		       BENCH_N, mf / 1000, (double)tf[BENCH_N / 2] / 1000, mr / 1000,
		       (double)tr[BENCH_N / 2] / 1000, mc / 1000, (double)tc[BENCH_N / 2] / 1000,
		       mc > 0 ? mr / mc : 0, have_crun ? "" : " | no crun in the guest");
		if (nv)
			printf("bench run: cgpilot-run's own split (mean of %d): admission round trip "
			       "%.2f ms, cgroup open and checks %.2f ms, clone to exec %.2f ms; the "
			       "rest is release and exit\n",
			       nv, adm / nv, cg / nv, clone / nv);
		fflush(stdout);
	}
	return daemon_stop(ctx);
}
