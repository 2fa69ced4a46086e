// SPDX-License-Identifier: Apache-2.0
/*
 * cgpilot-run as the OCI runtime of the real engines (profile engines):
 * podman 4.3 through conmon and containerd 1.6 through
 * containerd-shim-runc-v2, with cgpilotd admitting what they start.
 *
 * engines_cgpilot: the lifecycle every runtime must give both engines
 * (guest_engines.c: exit status and output, run -d, ps, exec, pause/unpause,
 * stop, rm); every container the engines start is a runtime container in
 * the daemon's books at the engine's cgroup path; a guaranteed podman
 * container (--cpus 1 and the io.cgpilot.class annotation) gets an
 * exclusive CPU that the shared pool no longer has, and so does one with
 * the engine's own --cpuset-cpus; one that does not fit runs degraded
 * (on_refusal = degrade) or is refused with the daemon's reason in
 * podman's error (on_refusal = fail); with the daemon stopped a container
 * still starts, and the daemon takes it over when it is back.
 *
 * The runtime is called through a two-line script named cgpilot-run (the
 * name podman matches against runtime_supports_json) that gives it the
 * test daemon's socket and a [runtime] configuration.
 */
#include <dirent.h>

#include "guest.h"

#define RT_DIR "/tmp/vmtest-rt"
#define RT_WRAP RT_DIR "/cgpilot-run"
#define RT_WRAP_FAIL RT_DIR "/fail/cgpilot-run"
#define CGPILOT_RUN "/usr/bin/cgpilot-run"

static struct ctl_conn conn;
static char daemon_conf[512];
static struct engine_out o;
static char entry[65536];

static int put(const char *path, const char *text, mode_t mode)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t len = strlen(text);

	if (fd < 0)
		return -errno;
	return write(fd, text, len) == (ssize_t)len ? 0 : -EIO;
}

static enum result wrappers(struct ctx *ctx)
{
	char text[512];

	mkdir(RT_DIR, 0755);
	mkdir(RT_DIR "/fail", 0755);
	if (put(RT_DIR "/fail.conf", "[runtime]\non_refusal = fail\n", 0644))
		return fail(ctx, "cannot write %s/fail.conf", RT_DIR);
	snprintf(text, sizeof(text),
		 "#!/bin/sh\nexec " CGPILOT_RUN " --socket %s --config /nonexistent \"$@\"\n",
		 ctx->sock);
	if (put(RT_WRAP, text, 0755))
		return fail(ctx, "cannot write %s", RT_WRAP);
	snprintf(text, sizeof(text),
		 "#!/bin/sh\nexec " CGPILOT_RUN " --socket %s --config %s/fail.conf \"$@\"\n",
		 ctx->sock, RT_DIR);
	if (put(RT_WRAP_FAIL, text, 0755))
		return fail(ctx, "cannot write %s", RT_WRAP_FAIL);
	return RES_PASS;
}

static enum result start_daemon(struct ctx *ctx)
{
	enum result res = daemon_start_with(ctx, daemon_conf, NULL);
	int r;

	if (res != RES_PASS)
		return res;
	r = ctl_open(&conn, ctx->sock);
	if (r < 0)
		return fail(ctx, "connect to %s: %s", ctx->sock, strerror(-r));
	return RES_PASS;
}

enum result engines_cgpilot_setup(struct ctx *ctx)
{
	enum result res = needs_engines(ctx);

	if (res != RES_PASS)
		return res;
	if (access(CGPILOT_RUN, X_OK) < 0)
		return skip(ctx, "cgpilot-run is not in the guest (build it first: make all)");
	snprintf(daemon_conf, sizeof(daemon_conf),
		 "[metrics]\naddress = none\n"
		 "[containers]\nengine_roots = " ENGINES_CG "\nstart_deadline_s = 600\n"
		 "[audit]\ndir = /run/vmtest-%.32s/audit\n",
		 ctx->name);
	res = start_daemon(ctx);
	if (res == RES_PASS)
		res = wrappers(ctx);
	if (res == RES_PASS)
		res = engine_rootfs(ctx, ROOTFS_DIR);
	if (res == RES_PASS)
		res = containerd_start(ctx);
	return res;
}

void engines_cgpilot_cleanup(struct ctx *ctx)
{
	engines_cleanup(ctx);
	if (conn.fd > 0)
		close(conn.fd);
	conn.fd = 0;
	daemon_cleanup(ctx);
	rm_tree(RT_DIR);
}

/* The daemon's entry for the container at cgroup @cg (in `entry`), waiting
 * up to @ms for it to be there (@want) or gone (!@want). */
static bool listed(struct ctx *ctx, const char *cg, bool want, unsigned ms)
{
	uint64_t end = mono_now_ns() + (uint64_t)ms * 1000000;

	for (;; sleep_ms(100)) {
		const char *e = ctr_list_entry(&conn, cg, entry, sizeof(entry));

		if (!!e == want) {
			if (e)
				memmove(entry, e, strlen(e) + 1);
			return true;
		}
		if (mono_now_ns() > end)
			return false;
	}
}

static bool entry_has(const char *s)
{
	return strstr(entry, s) != NULL;
}

/* The single CPU of cgroup @cg's cpuset.cpus.effective, -1 if not one. */
static int single_cpu(const char *cg)
{
	char path[600], buf[64];
	int cpu, n = 0;

	snprintf(path, sizeof(path), "%s/%s/cpuset.cpus.effective", CG_ROOT, cg);
	if (read_file(path, buf, sizeof(buf)) <= 0 || sscanf(buf, "%d%n", &cpu, &n) != 1 ||
	    (buf[n] && buf[n] != '\n'))
		return -1;
	return cpu;
}

/* Is CPU @cpu in the cpuset.cpus.effective of cgroup @cg? */
static bool cpu_in(const char *cg, int cpu)
{
	char path[600], buf[256];
	int a, b, n;

	snprintf(path, sizeof(path), "%s/%s/cpuset.cpus.effective", CG_ROOT, cg);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return false;
	for (char *p = buf; *p && *p != '\n'; p += n + (p[n] == ',')) {
		n = 0;
		if (sscanf(p, "%d-%d%n", &a, &b, &n) == 2 && n) {
		} else if (sscanf(p, "%d%n", &a, &n) == 1 && n) {
			b = a;
		} else {
			return false;
		}
		if (cpu >= a && cpu <= b)
			return true;
	}
	return false;
}

static const char *const waiter[] = { "/bin/sh", "-c",
				      "trap 'exit 0' TERM; while :; do sleep 1; done", NULL };

/* podman run -d with @opts; the container's cgroup in @cg. */
static enum result podman_d(struct ctx *ctx, const char *runtime, const char *name,
			    const char *const *opts, char *cg, size_t cglen)
{
	struct engine_run run = { .runtime = runtime,
				  .rootfs = ROOTFS_DIR,
				  .name = name,
				  .detach = true,
				  .opts = opts,
				  .cmd = waiter };
	char id[80];
	enum result res;
	int r;

	r = podman_run(ctx, &run, &o);
	res = engine_expect(ctx, r, &o, 0, name);
	if (res != RES_PASS)
		return res;
	if (sscanf(o.out, "%79s", id) != 1 || strlen(id) != 64)
		return fail(ctx, "podman run -d printed no container id: %.200s", o.out);
	snprintf(cg, cglen, "%s/libpod-%s", ENGINES_CG, id);
	return RES_PASS;
}

static enum result podman_rm(struct ctx *ctx, const char *name, const char *cg)
{
	enum result res;
	int r;

	r = podman(ctx, RT_WRAP, &o, (const char *const[]){ "rm", "-f", name, NULL });
	res = engine_expect(ctx, r, &o, 0, "podman rm -f");
	if (res != RES_PASS)
		return res;
	if (!listed(ctx, cg, false, 10000))
		return fail(ctx, "%s still in the daemon's books after podman rm: %.300s", cg,
			    entry);
	return RES_PASS;
}

/* update --resources as containerd's shim passes it (the CRI's
 * UpdateContainerResources): the daemon admits the new limit, the cgroup
 * has it; one that cannot be has nothing changed. */
static enum result runtime_update(struct ctx *ctx, const char *cg)
{
	char file[] = RT_DIR "/resources.json", path[600], buf[64], out[2048];
	const char *id = strstr(cg, "libpod-") + 7;
	char *argv[] = { RT_WRAP, "update", "--resources", file, (char *)id, NULL };
	int st, r;

	if (put(file, "{\"memory\": {\"limit\": 134217728}}", 0644))
		return fail(ctx, "cannot write %s", file);
	r = run_capture_err(argv, out, sizeof(out), 30000, &st, true);
	if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return fail(ctx, "cgpilot-run update: %d: %.300s", r < 0 ? r : st, out);
	snprintf(path, sizeof(path), "%s/%s/memory.max", CG_ROOT, cg);
	if (read_file(path, buf, sizeof(buf)) <= 0 || strtoull(buf, NULL, 10) != 134217728)
		return fail(ctx, "after update %s is %.30s, want 134217728", path, buf);
	if (!listed(ctx, cg, true, 2000) || !entry_has("\"memory_bytes\":134217728"))
		return fail(ctx, "the daemon's entry after update: %.300s", entry);
	/* more memory reserved than the node has: refused, nothing changed */
	if (put(file, "{\"memory\": {\"limit\": 1152921504606846976}}", 0644))
		return fail(ctx, "cannot write %s", file);
	r = run_capture_err(argv, out, sizeof(out), 30000, &st, true);
	if (r < 0 || !WIFEXITED(st) || !WEXITSTATUS(st) || !strstr(out, "update refused"))
		return fail(ctx, "an update that does not fit: %d: %.300s", st, out);
	if (read_file(path, buf, sizeof(buf)) <= 0 || strtoull(buf, NULL, 10) != 134217728)
		return fail(ctx, "a refused update changed %s to %.30s", path, buf);
	info(ctx, "update: memory.max 134217728 in the cgroup; a refusal left it");
	return RES_PASS;
}

/* An exclusive CPU for a guaranteed container: its own, out of the pool. */
static enum result podman_guaranteed(struct ctx *ctx)
{
	static const char *const by_class[] = {
		"--cpus", "1", "--memory", "64m", "--annotation", "io.cgpilot.class=guaranteed",
		NULL
	};
	static const char *const by_cpuset[] = { "--cpuset-cpus", "1", "--memory", "64m", NULL };
	char cg[256], shared[256];
	enum result res;
	int cpu;

	res = podman_d(ctx, RT_WRAP, "vmtest-p-g", by_class, cg, sizeof(cg));
	if (res != RES_PASS)
		return res;
	if (!listed(ctx, cg, true, 5000))
		return fail(ctx, "%s is not in the daemon's books", cg);
	if (!entry_has("\"kind\":\"runtime\"") || !entry_has("\"class\":\"guaranteed\"") ||
	    !entry_has("\"exclusive\":true"))
		return fail(ctx, "the guaranteed container's entry: %.400s", entry);
	cpu = single_cpu(cg);
	/* the shared pool: what another runtime container gets */
	snprintf(shared, sizeof(shared), "%s", ENGINES_CG);
	if (cpu < 0)
		return fail(ctx, "%s has not one exclusive CPU", cg);
	info(ctx, "guaranteed container on CPU %d", cpu);
	res = podman_rm(ctx, "vmtest-p-g", cg);
	if (res != RES_PASS)
		return res;

	/* the engine's own CPU: honoured, the container's alone */
	res = podman_d(ctx, RT_WRAP, "vmtest-p-set", by_cpuset, cg, sizeof(cg));
	if (res != RES_PASS)
		return res;
	if (!listed(ctx, cg, true, 5000) || !entry_has("\"pinned\":[1]"))
		return fail(ctx, "the --cpuset-cpus 1 container's entry: %.400s", entry);
	if (single_cpu(cg) != 1)
		return fail(ctx, "%s does not run on CPU 1 alone", cg);
	{
		char other[256];

		res = podman_d(ctx, RT_WRAP, "vmtest-p-other", NULL, other, sizeof(other));
		if (res != RES_PASS)
			return res;
		if (cpu_in(other, 1))
			return fail(ctx, "the shared container %s still has CPU 1", other);
		res = runtime_update(ctx, other);
		if (res != RES_PASS)
			return res;
		res = podman_rm(ctx, "vmtest-p-other", other);
		if (res != RES_PASS)
			return res;
	}
	return podman_rm(ctx, "vmtest-p-set", cg);
}

/* Two whole CPUs on a 2-CPU node do not fit: degraded, or refused. */
static enum result podman_no_room(struct ctx *ctx)
{
	static const char *const big[] = {
		"--cpus", "2", "--memory", "64m", "--annotation", "io.cgpilot.class=guaranteed",
		NULL
	};
	struct engine_run run = { .runtime = RT_WRAP_FAIL,
				  .rootfs = ROOTFS_DIR,
				  .name = "vmtest-p-refused",
				  .opts = big,
				  .cmd = (const char *const[]){ "/bin/true", NULL } };
	char cg[256];
	enum result res;
	int r;

	res = podman_d(ctx, RT_WRAP, "vmtest-p-big", big, cg, sizeof(cg));
	if (res != RES_PASS)
		return res;
	if (!listed(ctx, cg, true, 5000) || !entry_has("\"degraded\":") ||
	    !entry_has("\"class\":\"burstable\""))
		return fail(ctx, "the container that does not fit is not degraded: %.400s", entry);
	info(ctx, "degraded: %.300s", strstr(entry, "\"degraded\":"));
	res = podman_rm(ctx, "vmtest-p-big", cg);
	if (res != RES_PASS)
		return res;

	r = podman_run(ctx, &run, &o);
	if (r < 0 || o.status == 0)
		return fail(ctx,
			    "on_refusal = fail: podman run of 2 exclusive CPUs gave %d: %.300s",
			    o.status, o.err);
	if (!strstr(o.err, "admission refused"))
		return fail(ctx, "podman's error does not carry the daemon's reason: %.500s",
			    o.err);
	info(ctx, "refused as podman says: %.300s", strstr(o.err, "admission refused"));
	return RES_PASS;
}

/* What the daemon's threads wait in, when it does not stop. */
static void dump_stuck(struct ctx *ctx, pid_t pid)
{
	char path[512], buf[4096];
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, e->d_name);
		if (read_file(path, buf, sizeof(buf)) > 0)
			info(ctx, "stuck: %.200s", buf);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stack", (int)pid, e->d_name);
		if (read_file(path, buf, sizeof(buf)) > 0)
			info(ctx, "stack: %.1500s", buf);
	}
	if (d)
		closedir(d);
}

/* The daemon away: the container starts; back, it takes it over. */
static enum result podman_daemon_away(struct ctx *ctx)
{
	char cg[256];
	enum result res;

	info(ctx, "stopping cgpilotd (pid %d)", ctx->daemon_pid);
	kill(ctx->daemon_pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		char path[64], buf[256];

		snprintf(path, sizeof(path), "/proc/%d/stat", ctx->daemon_pid);
		if (read_file(path, buf, sizeof(buf)) <= 0 || strstr(buf, ") Z "))
			break;
		if (i == 99)
			dump_stuck(ctx, ctx->daemon_pid);
		sleep_ms(100);
	}
	res = daemon_stop(ctx);
	if (res != RES_PASS)
		return res;
	close(conn.fd);
	conn.fd = 0;
	res = podman_d(ctx, RT_WRAP, "vmtest-p-away", NULL, cg, sizeof(cg));
	if (res != RES_PASS)
		return res;
	if (!strstr(o.err, "not reachable") && !strstr(o.out, "not reachable"))
		info(ctx, "podman run -d said nothing of the daemon: %.200s", o.err);
	res = start_daemon(ctx);
	if (res != RES_PASS)
		return res;
	if (!listed(ctx, cg, true, 10000))
		return fail(ctx, "the daemon did not take over %s", cg);
	if (!entry_has("\"kind\":\"runtime\"") || !entry_has("\"state\":\"running\""))
		return fail(ctx, "the taken-over container's entry: %.400s", entry);
	return podman_rm(ctx, "vmtest-p-away", cg);
}

/* ctr's container in the daemon's books at containerd's path. */
static enum result ctr_in_books(struct ctx *ctx)
{
	struct engine_run run = { .runtime = RT_WRAP,
				  .rootfs = ROOTFS_DIR,
				  .name = "vmtest-c-books",
				  .detach = true,
				  .cmd = waiter };
	char cg[128];
	enum result res;
	int r;

	r = ctr_run(ctx, &run, &o);
	res = engine_expect(ctx, r, &o, 0, "ctr run -d");
	if (res != RES_PASS)
		return res;
	snprintf(cg, sizeof(cg), "%s/vmtest-c-books", ENGINES_CG);
	if (!listed(ctx, cg, true, 5000) || !entry_has("\"kind\":\"runtime\""))
		return fail(ctx, "ctr's container %s is not in the daemon's books", cg);
	r = ctr(ctx, &o,
		(const char *const[]){ "task", "kill", "-s", "KILL", "vmtest-c-books", NULL });
	res = engine_expect(ctx, r, &o, 0, "ctr task kill -s KILL");
	if (res != RES_PASS)
		return res;
	for (int i = 0; i < 100; i++) {
		r = ctr(ctx, &o, (const char *const[]){ "task", "delete", "vmtest-c-books", NULL });
		if (r >= 0 && (o.status == 0 || o.status == 137))
			break;
		sleep_ms(100);
	}
	r = ctr(ctx, &o, (const char *const[]){ "container", "delete", "vmtest-c-books", NULL });
	res = engine_expect(ctx, r, &o, 0, "ctr container delete");
	if (res != RES_PASS)
		return res;
	if (!listed(ctx, cg, false, 10000))
		return fail(ctx, "%s still in the daemon's books after ctr's delete", cg);
	return RES_PASS;
}

enum result engines_cgpilot_run(struct ctx *ctx)
{
	double p[3], c[3];
	enum result res;

	res = podman_lifecycle(ctx, RT_WRAP, p);
	if (res == RES_PASS)
		res = podman_guaranteed(ctx);
	if (res == RES_PASS)
		res = podman_no_room(ctx);
	if (res == RES_PASS)
		res = ctr_lifecycle(ctx, RT_WRAP, c);
	if (res == RES_PASS)
		res = ctr_in_books(ctx);
	if (res == RES_PASS)
		res = podman_daemon_away(ctx);
	if (res == RES_PASS)
		res = containerd_stop(ctx);
	if (res != RES_PASS)
		return res;
	return verdict(ctx, RES_PASS,
		       "podman run --rm /bin/true %.2f %.2f %.2f s, ctr run --rm %.2f %.2f %.2f s "
		       "with cgpilot-run",
		       p[0], p[1], p[2], c[0], c[1], c[2]);
}

/* ---- bench: the engine's start cost with cgpilot-run against crun ---- */

#define BENCH_ENGINES_N 20

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

enum result bench_engines_setup(struct ctx *ctx)
{
	if (access(CRUN, X_OK) < 0)
		return skip(ctx, "no %s in the guest", CRUN);
	return engines_cgpilot_setup(ctx);
}

/* podman run --rm /bin/true, 20 times with each runtime, interleaved so
 * that drift hits both alike; then the same with ctr. */
enum result bench_engines_run(struct ctx *ctx)
{
	static double pc[BENCH_ENGINES_N], pr[BENCH_ENGINES_N], cc[BENCH_ENGINES_N],
		cr[BENCH_ENGINES_N];
	const char *const true_cmd[] = { "/bin/true", NULL };
	struct engine_run run = { .rootfs = ROOTFS_DIR, .cmd = true_cmd };
	double s[4] = { 0 }, med[4];
	double *all[4] = { pc, pr, cc, cr };
	enum result res;

	/* the first podman run of a boot sets up its storage: not counted */
	run.runtime = CRUN;
	run.name = "vmtest-b-warm";
	podman_run(ctx, &run, &o);
	for (int i = 0; i < BENCH_ENGINES_N; i++) {
		for (int k = 0; k < 4; k++) {
			int r;

			run.runtime = k % 2 ? RT_WRAP : CRUN;
			run.name = k < 2 ? "vmtest-b-p" : "vmtest-b-c";
			r = k < 2 ? podman_run(ctx, &run, &o) : ctr_run(ctx, &run, &o);
			res = engine_expect(ctx, r, &o, 0,
					    k < 2 ? "podman run --rm" : "ctr run --rm");
			if (res != RES_PASS)
				return res;
			all[k][i] = o.secs;
			s[k] += o.secs;
		}
	}
	for (int k = 0; k < 4; k++) {
		qsort(all[k], BENCH_ENGINES_N, sizeof(double), cmp_double);
		med[k] = all[k][BENCH_ENGINES_N / 2];
		s[k] /= BENCH_ENGINES_N;
	}
	printf("bench engines: %d containers of /bin/true each, interleaved; per container mean "
	       "(median): podman with crun %.3f (%.3f) s, with cgpilot-run %.3f (%.3f) s, "
	       "cgpilot-run/crun %.2f (target 1.0); ctr with crun %.3f (%.3f) s, with "
	       "cgpilot-run %.3f (%.3f) s, cgpilot-run/crun %.2f\n",
	       BENCH_ENGINES_N, s[0], med[0], s[1], med[1], s[1] / s[0], s[2], med[2], s[3], med[3],
	       s[3] / s[2]);
	fflush(stdout);
	res = containerd_stop(ctx);
	return res;
}
