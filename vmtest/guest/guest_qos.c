// SPDX-License-Identifier: Apache-2.0
/*
 * QoS outcome of the control loops, end to end (default profile, both
 * kernels): a latency-sensitive probe in a guaranteed container (every
 * 20 ms it does 3 ms of CPU work and records how late each request
 * completes) alone, then beside a CPU-bound antagonist without cgpilot (in
 * a cgroup of its own with the kernel's defaults), then with the antagonist
 * moved into a besteffort container and the CPU policy on (a SIGHUP turns
 * it on, as an operator would). The test passes
 * when the controlled p99 is at most 0.8 of the uncontrolled p99 of the same
 * run; once the antagonist stops, every rung is released. The benchmark
 * (make bench) holds the 1.25-of-solo target; timing here is TCG's.
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "guest.h"

#define QOS_ROOT "cgpilot.slice"
#define QOS_PERIOD_NS (20 * 1000000ULL)
#define QOS_WORK_NS (3 * 1000000ULL)
#define QOS_REQS 1000 /* 20 s a phase */
#define QOS_PLAIN CG_ROOT "/vmtest-antagonist"
#define QOS_HOGS 4

static const char qos_conf[] = "[metrics]\naddress = none\n"
			       "[containers]\nroot = " QOS_ROOT "\nstart_deadline_s = 600\n"
			       "[policy.cpu]\nenabled = %s\n";

struct probe_out {
	unsigned n;
	uint32_t lat_us[QOS_REQS];
};

static struct probe_out *out;
/* what the hog's cpuset.cpus was, sampled every 5 ms while the policy is on */
struct cs_watch {
	_Atomic unsigned on0, on1;
};
static struct cs_watch *csw;
static int probe_cpu = -1; /* qos_cpuset pins the probe */
static bool bench; /* bench_qos: print the figures and the 1.25 target, judge nothing */
static char g_cg[PATH_MAX], be_cg[PATH_MAX];
static struct ctl_conn conn;

static uint64_t thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The probe: due every 20 ms on a fixed grid; 3 ms of its own CPU time per
 * request; the lateness of each completion past due + 3 ms. */
static void probe(struct ctx *ctx, void *arg)
{
	struct probe_out *o = arg;
	struct timespec due;
	uint64_t due_ns;

	clock_gettime(CLOCK_MONOTONIC, &due);
	due_ns = (uint64_t)due.tv_sec * 1000000000ULL + (uint64_t)due.tv_nsec;
	for (unsigned i = 0; i < QOS_REQS; i++) {
		uint64_t t0, done;

		due_ns += QOS_PERIOD_NS;
		due.tv_sec = (time_t)(due_ns / 1000000000ULL);
		due.tv_nsec = (long)(due_ns % 1000000000ULL);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR)
			;
		t0 = thread_ns();
		while (thread_ns() - t0 < QOS_WORK_NS)
			;
		done = mono_now_ns();
		o->lat_us[i] = (uint32_t)((done - due_ns - QOS_WORK_NS) / 1000);
		o->n = i + 1;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* One phase: the probe's p50 and p99 lateness (us); -1 if it failed. */
static int phase(struct ctx *ctx, const char *name, unsigned reqs, uint32_t *p50, uint32_t *p99)
{
	pid_t pid;
	int st;

	memset(out, 0, sizeof(*out));
	pid = spawn(ctx, g_cg, probe_cpu, probe, out);
	if (pid < 0) {
		fail(ctx, "cannot start the probe in %s: %s", g_cg, strerror(-pid));
		return -1;
	}
	if (reqs < QOS_REQS) {
		sleep_ms(reqs * 20);
		kill(pid, SIGKILL);
	}
	if (wait_worker(pid, QOS_REQS * 20 * 3, &st) < 0) {
		fail(ctx, "the probe did not finish its %s phase", name);
		return -1;
	}
	if (out->n < reqs / 2) {
		fail(ctx, "the probe made %u requests in its %s phase", out->n, name);
		return -1;
	}
	qsort(out->lat_us, out->n, sizeof(out->lat_us[0]), cmp_u32);
	*p50 = out->lat_us[out->n / 2];
	*p99 = out->lat_us[(out->n - 1) * 99 / 100];
	info(ctx,
	     "%s: %u requests, lateness p50 %u us, p90 %u us, p99 %u us, worst %u %u %u %u %u us",
	     name, out->n, *p50, out->lat_us[(out->n - 1) * 9 / 10], *p99, out->lat_us[out->n - 1],
	     out->lat_us[out->n - 2], out->lat_us[out->n - 3], out->lat_us[out->n - 4],
	     out->lat_us[out->n - 5]);
	return 0;
}

static enum result admit(struct ctx *ctx, const char *req, char *cg, size_t len)
{
	return admit_into(ctx, &conn, req, cg, len);
}

static enum result config(struct ctx *ctx, bool on)
{
	char conf[PATH_MAX], text[512];

	snprintf(conf, sizeof(conf), "%s/cgpilotd.conf", ctx->daemon_dir);
	snprintf(text, sizeof(text), qos_conf, on ? "true" : "false");
	if (write_file(conf, text) < 0)
		return fail(ctx, "cannot write %s: %s", conf, strerror(errno));
	return RES_PASS;
}

enum result qos_cpu_setup(struct ctx *ctx)
{
	char text[512];

	out = mmap(NULL, sizeof(*out), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	csw = mmap(NULL, sizeof(*csw), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (out == MAP_FAILED || csw == MAP_FAILED)
		return fail(ctx, "mmap: %s", strerror(errno));
	snprintf(text, sizeof(text), qos_conf, "false");
	return daemon_start_with(ctx, text, NULL);
}

/* The hog's cpuset.cpus every 5 ms: how often it was CPU 0 alone, CPU 1 alone. */
static void cpuset_watch(struct ctx *ctx, void *arg)
{
	struct cs_watch *w = arg;
	char v[32];

	for (;;) {
		if (read_file(CG_ROOT "/" QOS_ROOT "/besteffort/hog/cpuset.cpus", v, sizeof(v)) >=
		    0) {
			v[strcspn(v, "\n")] = '\0';
			if (streq(v, "0"))
				w->on0++;
			else if (streq(v, "1"))
				w->on1++;
		}
		sleep_ms(5);
	}
}

/* Every rung released: the antagonist's cgroup has its decided values back. */
static bool released(void)
{
	char v[64];

	return read_file(CG_ROOT "/" QOS_ROOT "/besteffort/hog/cpu.max", v, sizeof(v)) >= 0 &&
	       !strncmp(v, "max ", 4) &&
	       read_file(CG_ROOT "/" QOS_ROOT "/besteffort/hog/cpuset.cpus", v, sizeof(v)) >= 0 &&
	       strchr(v, '-');
}

/*
 * One round beside the antagonist: without cgpilot (its processes in a plain
 * cgroup), then with the policy on (the same processes moved into the
 * besteffort container, the policy turned on by a reload), then the
 * antagonist stopped and every rung released, the policy off again.
 */
static enum result qos_round(struct ctx *ctx, int round, uint32_t s99, uint32_t *u99, uint32_t *c99)
{
	uint32_t u50, c50, w50, w99;
	pid_t hogs[QOS_HOGS];
	enum result res;
	uint64_t end;

	for (int i = 0; i < QOS_HOGS; i++) {
		hogs[i] = spawn(ctx, QOS_PLAIN, -1, busy_loop, NULL);
		if (hogs[i] < 0)
			return fail(ctx, "cannot start the antagonist: %s", strerror(-hogs[i]));
	}
	if (phase(ctx, "beside the antagonist, without cgpilot", QOS_REQS, &u50, u99))
		return RES_FAIL;
	/* the same processes into the besteffort container cgpilot admitted */
	for (int i = 0; i < QOS_HOGS; i++)
		if (cg_write(be_cg, "cgroup.procs", "%d", (int)hogs[i]) < 0)
			return fail(ctx, "cannot move the antagonist into %s: %s", be_cg,
				    strerror(errno));

	/* the policy on by a reload, as an operator would */
	res = config(ctx, true);
	if (res != RES_PASS)
		return res;
	kill(ctx->daemon_pid, SIGHUP);
	sleep_ms(500);
	if (phase(ctx, "warm-up with the policy on", 50, &w50, &w99))
		return RES_FAIL;
	if (phase(ctx, "beside the antagonist, policy on", QOS_REQS, &c50, c99))
		return RES_FAIL;
	printf("%s%s: probe p99 lateness alone %u us, beside the antagonist without cgpilot %u "
	       "us (ratio %.2f), with cgpilot %u us (ratio %.2f); controlled/uncontrolled "
	       "%.2f%s\n",
	       bench ? "bench qos" : "qos cpu", round ? " (second round)" : "", s99, *u99,
	       s99 ? (double)*u99 / s99 : 0, *c99, s99 ? (double)*c99 / s99 : 0,
	       *u99 ? (double)*c99 / *u99 : 0,
	       !bench		  ? "" :
	       *u99 < s99 * 3 / 2 ? " | scenario too weak (uncontrolled under 1.5x)" :
	       (uint64_t)*c99 * 100 <= (uint64_t)s99 * 125 ? " | target 1.25 met" :
							     " | target 1.25 missed");
	fflush(stdout);

	/* the antagonist stops: every rung comes back down */
	for (int i = 0; i < QOS_HOGS; i++) {
		kill(hogs[i], SIGKILL);
		waitpid(hogs[i], NULL, 0);
		for (int j = 0; j < ctx->npids; j++)
			if (ctx->pids[j] == hogs[i])
				ctx->pids[j] = 0;
	}
	for (end = mono_now_ns() + 15 * 1000000000ULL; mono_now_ns() < end && !released();)
		sleep_ms(100);
	if (!released())
		return fail(ctx, "15 s after the antagonist stopped its cgroup is still squeezed");
	res = config(ctx, false);
	if (res != RES_PASS)
		return res;
	kill(ctx->daemon_pid, SIGHUP);
	sleep_ms(500);
	return RES_PASS;
}

enum result qos_cpu_run(struct ctx *ctx)
{
	uint32_t s50, s99, u99 = 0, c99 = 0;
	enum result res;

	if (ctl_open(&conn, ctx->sock) < 0)
		return fail(ctx, "cannot connect to %s", ctx->sock);
	res = admit(ctx,
		    "{\"op\":\"container.admit\",\"name\":\"probe\",\"class\":\"guaranteed\","
		    "\"cpu_request_mc\":500,\"memory_request\":67108864}",
		    g_cg, sizeof(g_cg));
	if (res == RES_PASS)
		res = admit(
			ctx,
			"{\"op\":\"container.admit\",\"name\":\"hog\",\"class\":\"besteffort\"}",
			be_cg, sizeof(be_cg));
	if (res != RES_PASS)
		return res;

	if (phase(ctx, "alone", QOS_REQS, &s50, &s99))
		return RES_FAIL;
	if (mkdir(QOS_PLAIN, 0755) < 0 && errno != EEXIST)
		return fail(ctx, "mkdir " QOS_PLAIN ": %s", strerror(errno));
	/*
	 * Judged on one round; a second one (both halves measured again) only
	 * when the first missed: under TCG a host's burst can land in one
	 * 20 s phase (seen once: the controlled p99 above the uncontrolled,
	 * with the solo p99 five times its usual). A policy that does not help
	 * misses both.
	 */
	for (int round = 0; round < 2; round++) {
		res = qos_round(ctx, round, s99, &u99, &c99);
		if (res != RES_PASS)
			return res;
		if (bench || (u99 >= s99 * 3 / 2 && (uint64_t)c99 * 10 <= (uint64_t)u99 * 8))
			return daemon_stop(ctx);
		if (u99 < s99 * 3 / 2)
			break; /* nothing to judge: measured once is enough */
	}
	/* 6.1's CFS protects a sleeper from spinners by itself (wakeup
	 * preemption): an antagonist that does not hurt leaves nothing to judge */
	if (u99 < s99 * 3 / 2) {
		daemon_stop(ctx);
		return skip(
			ctx,
			"the antagonist raised the probe's p99 only %.2fx (%u -> %u us) on this "
			"kernel: too weak a scenario to judge (with cgpilot: %u us)",
			s99 ? (double)u99 / s99 : 0, s99, u99, c99);
	}
	return fail(ctx,
		    "p99 with cgpilot %u us is more than 0.8 of the uncontrolled %u us (in "
		    "two rounds)",
		    c99, u99);
}

void qos_cpu_cleanup(struct ctx *ctx)
{
	daemon_cleanup(ctx);
	for (int i = 0; i < ctx->npids; i++)
		if (ctx->pids[i] > 0)
			waitpid(ctx->pids[i], NULL, 0);
	ctx->npids = 0;
	rm_cg_tree(QOS_ROOT);
	rmdir(QOS_PLAIN);
	if (out && out != MAP_FAILED)
		munmap(out, sizeof(*out));
	out = NULL;
	if (csw && csw != MAP_FAILED)
		munmap(csw, sizeof(*csw));
	csw = NULL;
	probe_cpu = -1;
}

/*
 * The cpuset rung's CPU, from BPF's per-CPU view of protected waits: the
 * probe pinned to CPU 1 beside the hogs (policy on from the start); once the
 * ladder takes the hog to its cpuset rung, the hog gets CPU 0, where the
 * probe does not wait (the pool's last CPU, 1, was the choice before the
 * per-CPU view). No timing is judged.
 */
enum result qos_cpuset_run(struct ctx *ctx)
{
	uint32_t p50, p99;
	enum result res;
	pid_t watcher;

	if (ctl_open(&conn, ctx->sock) < 0)
		return fail(ctx, "cannot connect to %s", ctx->sock);
	res = admit(ctx,
		    "{\"op\":\"container.admit\",\"name\":\"probe\",\"class\":\"guaranteed\","
		    "\"cpu_request_mc\":500,\"memory_request\":67108864}",
		    g_cg, sizeof(g_cg));
	if (res == RES_PASS)
		res = admit(
			ctx,
			"{\"op\":\"container.admit\",\"name\":\"hog\",\"class\":\"besteffort\"}",
			be_cg, sizeof(be_cg));
	if (res == RES_PASS)
		res = config(ctx, true);
	if (res != RES_PASS)
		return res;
	kill(ctx->daemon_pid, SIGHUP);
	sleep_ms(500);
	for (int i = 0; i < QOS_HOGS; i++) {
		pid_t h = spawn(ctx, be_cg, -1, busy_loop, NULL);

		if (h < 0)
			return fail(ctx, "cannot start the antagonist: %s", strerror(-h));
	}
	watcher = spawn(ctx, CG_ROOT, -1, cpuset_watch, csw);
	if (watcher < 0)
		return fail(ctx, "cannot start the cpuset watcher: %s", strerror(-watcher));
	probe_cpu = 1;
	if (phase(ctx, "the probe on CPU 1 beside the hogs, policy on", 400, &p50, &p99))
		return RES_FAIL;
	kill(watcher, SIGKILL);
	info(ctx, "the hog's cpuset: CPU 0 alone in %u samples, CPU 1 (the probe's) alone in %u",
	     csw->on0, csw->on1);
	if (!csw->on0 && !csw->on1) {
		daemon_stop(ctx);
		return skip(ctx, "the ladder did not reach its cpuset rung in 8 s (the quota rung "
				 "was enough here)");
	}
	if (csw->on1 >= csw->on0)
		return fail(ctx,
			    "the cpuset rung put the hog on CPU 1, where the probe waits, in %u "
			    "samples (CPU 0: %u)",
			    csw->on1, csw->on0);
	return daemon_stop(ctx);
}

/* make bench: the same run in the bench profile, on both kernels. */
enum result bench_qos_run(struct ctx *ctx)
{
	bench = true;
	return qos_cpu_run(ctx);
}

/* ---- the memory loop: cold page cache given back, memory.high sized ---- */

/* %s: [policy.memory] enabled. The loop is off while the reader fills its
 * cache: on, it would trim the cache as it grows (the reader is slow under
 * TCG), and the test would never see 100 MiB of it. */
static const char mem_conf[] =
	"[metrics]\naddress = none\n"
	"[containers]\nroot = " QOS_ROOT "\nstart_deadline_s = 600\n"
	"[policy.memory]\nenabled = %s\ninterval_ms = 500\ntighten_pct = 10\nfloor = 16M\n";

/* The daemon started with @fmt (its %s: "true" with @on), or (!@start) its
 * config rewritten so and reloaded by SIGHUP. */
static enum result mem_config_of(struct ctx *ctx, const char *fmt, bool on, bool start)
{
	char conf[PATH_MAX], text[512];

	snprintf(text, sizeof(text), fmt, on ? "true" : "false");
	if (start)
		return daemon_start_with(ctx, text, NULL);
	snprintf(conf, sizeof(conf), "%s/cgpilotd.conf", ctx->daemon_dir);
	if (write_file(conf, text) < 0)
		return fail(ctx, "cannot write %s: %s", conf, strerror(errno));
	kill(ctx->daemon_pid, SIGHUP);
	return RES_PASS;
}

static enum result mem_config(struct ctx *ctx, bool on, bool start)
{
	return mem_config_of(ctx, mem_conf, on, start);
}

struct cold {
	const char *dev;
	off_t bytes;
};

/* Reads @arg's bytes of its disk through the page cache (128 MiB of DISK
 * without one) and keeps the device open (closing it would drop its
 * cache): clean, cold, reclaimable memory. */
static void cold_cache(struct ctx *ctx, void *arg)
{
	static const struct cold dflt = { DISK, 128 << 20 };
	const struct cold *w = arg ? arg : &dflt;
	static char buf[1 << 16];
	int fd = open(w->dev, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		_exit(2);
	for (off_t done = 0; done < w->bytes;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		done += n;
	}
	for (;;)
		pause();
}

enum result qos_memory_setup(struct ctx *ctx)
{
	enum result r = needs_disk(ctx);

	if (r != RES_PASS)
		return r;
	return mem_config(ctx, false, true);
}

/* A cgroup file's first line, without its newline; -1 if unreadable. */
static int read_file_trim(const char *cg, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX + 32];
	char *nl;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	if (read_file(path, buf, len) < 0)
		return -1;
	nl = strchr(buf, '\n');
	if (nl)
		*nl = 0;
	return 0;
}

static uint64_t cg_u64(const char *cg, const char *file)
{
	uint64_t v = 0;

	return cg_read_u64(cg, file, &v) == 0 ? v : 0;
}

enum result qos_memory_run(struct ctx *ctx)
{
	char cache_cg[PATH_MAX], v[64];
	uint64_t before, now_cur = 0, high = 0, end;
	enum result res;
	pid_t pid;

	if (ctl_open(&conn, ctx->sock) < 0)
		return fail(ctx, "cannot connect to %s", ctx->sock);
	res = admit(ctx,
		    "{\"op\":\"container.admit\",\"name\":\"g\",\"class\":\"guaranteed\","
		    "\"cpu_request_mc\":100,\"memory_request\":67108864}",
		    g_cg, sizeof(g_cg));
	if (res == RES_PASS)
		res = admit(
			ctx,
			"{\"op\":\"container.admit\",\"name\":\"cache\",\"class\":\"besteffort\"}",
			cache_cg, sizeof(cache_cg));
	if (res != RES_PASS)
		return res;
	pid = spawn(ctx, cache_cg, -1, cold_cache, NULL);
	if (pid < 0)
		return fail(ctx, "cannot start the reader: %s", strerror(-pid));
	/* TCG reads the disk at 10 to 100 MiB/s, slower on a busy host */
	for (end = mono_now_ns() + 45 * 1000000000ULL;
	     mono_now_ns() < end && cg_u64(cache_cg, "memory.current") < (100ULL << 20);)
		sleep_ms(100);
	before = cg_u64(cache_cg, "memory.current");
	info(ctx, "the reader holds %llu MiB of page cache", (unsigned long long)(before >> 20));
	if (before < (100ULL << 20))
		return fail(ctx, "the reader's cgroup holds only %llu MiB",
			    (unsigned long long)(before >> 20));
	if (read_file_trim(cache_cg, "memory.high", v, sizeof(v)) || strcmp(v, "max"))
		return fail(ctx, "with the memory loop off the reader's memory.high is '%s'", v);
	res = mem_config(ctx, true, false);
	if (res != RES_PASS)
		return res;
	/* no stall: memory.high tightens, the kernel reclaims the cold cache */
	for (end = mono_now_ns() + 40 * 1000000000ULL; mono_now_ns() < end; sleep_ms(250)) {
		now_cur = cg_u64(cache_cg, "memory.current");
		if (read_file_trim(cache_cg, "memory.high", v, sizeof(v)) == 0 && strcmp(v, "max"))
			high = strtoull(v, NULL, 10);
		if (now_cur < (40ULL << 20))
			break;
	}
	info(ctx, "after the memory loop: memory.current %llu MiB, memory.high %llu MiB",
	     (unsigned long long)(now_cur >> 20), (unsigned long long)(high >> 20));
	if (now_cur >= (40ULL << 20))
		return fail(ctx, "memory.current is still %llu MiB (memory.high %llu)",
			    (unsigned long long)(now_cur >> 20), (unsigned long long)high);
	if (!high || high < (16ULL << 20))
		return fail(ctx, "memory.high %llu is below the 16 MiB floor or not set",
			    (unsigned long long)high);
	if (read_file_trim(g_cg, "memory.high", v, sizeof(v)) || strcmp(v, "max"))
		return fail(ctx, "the guaranteed container's memory.high is '%s', not max", v);
	/* a clean stop gives it back */
	close(conn.fd);
	if (daemon_stop(ctx) != RES_PASS)
		return RES_FAIL;
	if (read_file_trim(cache_cg, "memory.high", v, sizeof(v)) || strcmp(v, "max"))
		return fail(ctx, "after a clean stop memory.high is '%s', not max", v);
	return RES_PASS;
}

/* ---- the memory loop over adopted pods ---- */

#define MA_UID_G "8a1b2c3d_1111_4222_8333_444455556666"
#define MA_UID_1 "9a1b2c3d_1111_4222_8333_444455556666"
#define MA_UID_2 "aa1b2c3d_1111_4222_8333_444455556666"
#define MA_SCOPE          \
	"cri-containerd-" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope"
#define MA_POD_G "kubepods.slice/kubepods-pod" MA_UID_G ".slice"
#define MA_BE "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
#define MA_POD_1 MA_BE MA_UID_1 ".slice"
#define MA_POD_2 MA_BE MA_UID_2 ".slice"
#define MA_KUBELET_HIGH "209715200" /* what "kubelet" set (MemoryQoS) */
#define MA_OTHER_HIGH "314572800" /* another writer's, over cgpilot's */

static const char ma_conf[] = "[metrics]\naddress = none\n"
			      "[policy.cpu]\nenabled = false\n[policy.io]\nenabled = false\n"
			      "[policy.memory]\nenabled = %s\nadopted = true\ninterval_ms = 500\n"
			      "tighten_pct = 10\nfloor = 16M\n"
			      "[adopt]\npresets = kubelet-systemd\nknobs = memory.high\n";

static enum result ma_config(struct ctx *ctx, bool on, bool start)
{
	return mem_config_of(ctx, ma_conf, on, start);
}

static void ma_path(char *buf, size_t len, const char *pod, const char *below)
{
	snprintf(buf, len, "%s/%s%s%s", CG_ROOT, pod, below ? "/" : "", below ? below : "");
}

enum result qos_memory_adopt_setup(struct ctx *ctx)
{
	const char *pods[] = { MA_POD_G, MA_POD_1, MA_POD_2 };
	char path[PATH_MAX];
	enum result r = needs_disk(ctx);

	if (r != RES_PASS)
		return r;
	for (unsigned i = 0; i < 3; i++) {
		int e;

		ma_path(path, sizeof(path), pods[i], MA_SCOPE);
		e = mk_cg_tree(path + strlen(CG_ROOT) + 1);
		if (e < 0)
			return fail(ctx, "cannot make %s: %s", path, strerror(-e));
	}
	/* kubelet's memory.high on the besteffort pods (as MemoryQoS sets) */
	for (unsigned i = 1; i < 3; i++) {
		ma_path(path, sizeof(path), pods[i], NULL);
		if (cg_write(path, "memory.high", MA_KUBELET_HIGH) < 0)
			return fail(ctx, "writing memory.high in %s: %s", path, strerror(errno));
	}
	/* the loop off while the readers fill their cache (see mem_conf) */
	return ma_config(ctx, false, true);
}

/* Is @pod backed off in container.list? */
static bool ma_backed_off(const char *pod)
{
	static char list[65536];

	return entry_backed_off(ctr_list_entry(&conn, pod, list, sizeof(list)));
}

enum result qos_memory_adopt_run(struct ctx *ctx)
{
	static struct cold c1 = { DISK, 128 << 20 }, c2 = { SLOW_DISK, 64 << 20 };
	char p1[PATH_MAX], p2[PATH_MAX], pg[PATH_MAX], scope[PATH_MAX], v[64] = "";
	uint64_t end, cur1 = 0, cur2 = 0, high2 = 0;
	enum result res;
	pid_t pid;

	ma_path(p1, sizeof(p1), MA_POD_1, NULL);
	ma_path(p2, sizeof(p2), MA_POD_2, NULL);
	ma_path(pg, sizeof(pg), MA_POD_G, NULL);
	if (ctl_open(&conn, ctx->sock) < 0)
		return fail(ctx, "cannot connect to %s", ctx->sock);
	ma_path(scope, sizeof(scope), MA_POD_1, MA_SCOPE);
	pid = spawn(ctx, scope, -1, cold_cache, &c1);
	if (pid > 0) {
		ma_path(scope, sizeof(scope), MA_POD_2, MA_SCOPE);
		pid = spawn(ctx, scope, -1, cold_cache, &c2);
	}
	if (pid < 0)
		return fail(ctx, "cannot start a reader: %s", strerror(-pid));
	for (end = mono_now_ns() + 45 * 1000000000ULL; mono_now_ns() < end; sleep_ms(100)) {
		cur1 = cg_u64(p1, "memory.current");
		cur2 = cg_u64(p2, "memory.current");
		if (cur1 >= (100ULL << 20) && cur2 >= (48ULL << 20))
			break;
	}
	info(ctx, "the readers' pods hold %llu and %llu MiB of page cache",
	     (unsigned long long)(cur1 >> 20), (unsigned long long)(cur2 >> 20));
	if (cur1 < (100ULL << 20) || cur2 < (48ULL << 20))
		return fail(ctx, "the readers' pods hold only %llu and %llu MiB",
			    (unsigned long long)(cur1 >> 20), (unsigned long long)(cur2 >> 20));
	res = ma_config(ctx, true, false);
	if (res != RES_PASS)
		return res;
	/* the second pod sized below kubelet's value: then another writer's */
	for (end = mono_now_ns() + 30 * 1000000000ULL;; sleep_ms(100)) {
		if (read_file_trim(p2, "memory.high", v, sizeof(v)) == 0 && strcmp(v, "max"))
			high2 = strtoull(v, NULL, 10);
		if (high2 && high2 < 200ULL << 20)
			break;
		if (mono_now_ns() > end)
			return fail(ctx, "30 s of the loop: the second pod's memory.high is '%s'",
				    v);
	}
	info(ctx, "the second pod sized to %llu MiB; another writer sets " MA_OTHER_HIGH,
	     (unsigned long long)(high2 >> 20));
	if (cg_write(p2, "memory.high", MA_OTHER_HIGH) < 0)
		return fail(ctx, "cannot write memory.high in %s: %s", p2, strerror(errno));
	for (end = mono_now_ns() + 40 * 1000000000ULL; mono_now_ns() < end; sleep_ms(250)) {
		cur1 = cg_u64(p1, "memory.current");
		if (cur1 < (40ULL << 20) && ma_backed_off(MA_POD_2))
			break;
	}
	read_file_trim(p1, "memory.high", v, sizeof(v));
	info(ctx, "after the loop: the first pod holds %llu MiB, memory.high %s",
	     (unsigned long long)(cur1 >> 20), v);
	if (cur1 >= (40ULL << 20))
		return fail(ctx, "the first pod still holds %llu MiB (memory.high %s)",
			    (unsigned long long)(cur1 >> 20), v);
	if (!ma_backed_off(MA_POD_2))
		return fail(ctx, "the second pod, whose memory.high another writer changed, "
				 "is not backed off");
	if (read_file_trim(p2, "memory.high", v, sizeof(v)) || !streq(v, MA_OTHER_HIGH))
		return fail(ctx, "the second pod's memory.high is '%s', not the other writer's", v);
	if (read_file_trim(pg, "memory.high", v, sizeof(v)) || !streq(v, "max"))
		return fail(ctx, "the guaranteed pod's memory.high is '%s', not max", v);
	/* a clean stop: kubelet's value back where cgpilot still holds it */
	close(conn.fd);
	if (daemon_stop(ctx) != RES_PASS)
		return RES_FAIL;
	if (read_file_trim(p1, "memory.high", v, sizeof(v)) || !streq(v, MA_KUBELET_HIGH))
		return fail(ctx,
			    "after a clean stop the first pod's memory.high is '%s', not "
			    "kubelet's " MA_KUBELET_HIGH,
			    v);
	if (read_file_trim(p2, "memory.high", v, sizeof(v)) || !streq(v, MA_OTHER_HIGH))
		return fail(ctx,
			    "after a clean stop the second pod's memory.high is '%s', not "
			    "the other writer's",
			    v);
	return RES_PASS;
}

void qos_memory_adopt_cleanup(struct ctx *ctx)
{
	stop_workers(ctx);
	qos_cpu_cleanup(ctx);
	rm_cg_tree("kubepods.slice");
}

/* ---- memory relief: a besteffort hog squeezed, then killed ---- */

#define GUARD_LIMIT (400ULL << 20) /* cgpilot.slice/memory.max for the test */
#define GUARD_HOG (330ULL << 20)
#define GUARD_KEEP (16ULL << 20)

static const char guard_conf[] =
	"[metrics]\naddress = none\n"
	"[containers]\nroot = " QOS_ROOT "\nstart_deadline_s = 600\n"
	"[policy.memory]\nkill = true\nprotected = keep\nkill_after_ms = 1500\n"
	"cooldown_ms = 300\nsettle_ms = 1000\nsqueeze_release_ms = 2000\npsi_max = 1\n";

/* Anonymous memory, every page touched, then held. */
static void anon_hog(struct ctx *ctx, void *arg)
{
	size_t len = (size_t)(uintptr_t)arg;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(2);
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
	for (;;)
		pause();
}

enum result qos_guard_setup(struct ctx *ctx)
{
	enum result r = needs_disk(ctx);

	if (r != RES_PASS)
		return r;
	return daemon_start_with(ctx, guard_conf, NULL);
}

enum result qos_guard_run(struct ctx *ctx)
{
	static const struct read_job job = { .off = 0, .len = 160 << 20, .loop = true };
	char hog_cg[PATH_MAX], keep_cg[PATH_MAX], g2_cg[PATH_MAX], reply[16384], v[64];
	uint64_t t0, end, killed_at = 0, psi = 0, kills = 0;
	pid_t hog, keep, reader;
	enum result res;
	int st = 0;

	if (ctl_open(&conn, ctx->sock) < 0)
		return fail(ctx, "cannot connect to %s", ctx->sock);
	res = admit(ctx,
		    "{\"op\":\"container.admit\",\"name\":\"g\",\"class\":\"guaranteed\","
		    "\"cpu_request_mc\":100,\"memory_request\":16777216}",
		    g_cg, sizeof(g_cg));
	if (res == RES_PASS)
		res = admit(
			ctx,
			"{\"op\":\"container.admit\",\"name\":\"hog\",\"class\":\"besteffort\"}",
			hog_cg, sizeof(hog_cg));
	if (res == RES_PASS)
		res = admit(
			ctx,
			"{\"op\":\"container.admit\",\"name\":\"keep\",\"class\":\"besteffort\"}",
			keep_cg, sizeof(keep_cg));
	/* a second guaranteed one: past psi_max, BPF's onset alone */
	if (res == RES_PASS)
		res = admit(ctx,
			    "{\"op\":\"container.admit\",\"name\":\"g2\",\"class\":\"guaranteed\","
			    "\"cpu_request_mc\":100,\"memory_request\":16777216}",
			    g2_cg, sizeof(g2_cg));
	if (res != RES_PASS)
		return res;
	/* the node is small: both share 400 MiB */
	if (cg_write(CG_ROOT "/" QOS_ROOT, "memory.max", "%llu", GUARD_LIMIT) < 0)
		return fail(ctx, "cannot limit " QOS_ROOT ": %s", strerror(errno));
	keep = spawn(ctx, keep_cg, -1, anon_hog, (void *)(uintptr_t)GUARD_KEEP);
	hog = spawn(ctx, hog_cg, -1, anon_hog, (void *)(uintptr_t)GUARD_HOG);
	if (keep < 0 || hog < 0)
		return fail(ctx, "cannot start the hogs");
	for (end = mono_now_ns() + 30 * 1000000000ULL;
	     mono_now_ns() < end && cg_u64(hog_cg, "memory.current") < GUARD_HOG - (8ULL << 20);)
		sleep_ms(100);
	info(ctx, "the hog holds %llu MiB, the protected one %llu MiB, of %llu MiB",
	     (unsigned long long)(cg_u64(hog_cg, "memory.current") >> 20),
	     (unsigned long long)(cg_u64(keep_cg, "memory.current") >> 20),
	     (unsigned long long)(GUARD_LIMIT >> 20));
	/* the guaranteed reader's 160 MiB no longer fit: it stalls in reclaim
	 * of its own cache above its 16 MiB memory.min (all the rest is
	 * anonymous, and there is no swap) */
	t0 = mono_now_ns();
	reader = spawn(ctx, g_cg, -1, disk_reader, (void *)&job);
	if (reader < 0)
		return fail(ctx, "cannot start the reader: %s", strerror(-reader));
	for (end = t0 + 30 * 1000000000ULL; mono_now_ns() < end;) {
		if (wait_worker(hog, 50, &st) == 0) {
			killed_at = mono_now_ns();
			break;
		}
	}
	if (!killed_at)
		return fail(ctx, "the hog still runs 30 s after the guaranteed reader started");
	info(ctx, "the hog ended %.2f s after the reader started (signal %d)",
	     (killed_at - t0) / 1e9, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		return fail(ctx, "the hog ended with status 0x%x, not by SIGKILL", st);
	if (kill(keep, 0) < 0 || kill(reader, 0) < 0 || waitpid(keep, NULL, WNOHANG) ||
	    waitpid(reader, NULL, WNOHANG))
		return fail(ctx, "the protected besteffort or the guaranteed reader died");
	if (cg_read_key(CG_ROOT "/" QOS_ROOT, "memory.events", "oom_kill", &kills) == 0 && kills)
		return fail(ctx, "the kernel's OOM killer ran (%llu kills): not cgpilot's relief",
			    (unsigned long long)kills);
	/* cgpilot did it, and says why: a squeeze first, then the kill */
	{
		char req[PATH_MAX + 64];
		const char *sq, *kl;

		snprintf(req, sizeof(req), "{\"op\":\"cgroup.why\",\"cgroup\":\"%s\"}",
			 hog_cg + strlen(CG_ROOT) + 1);
		if (ctl_call(&conn, req, reply, sizeof(reply)) < 0)
			return fail(ctx, "cgroup.why: no reply");
		sq = strstr(reply, "memory relief squeeze");
		kl = strstr(reply, "memory relief kill");
		if (!kl || !strstr(reply, "\"knob\":\"cgroup.kill\""))
			return fail(ctx, "cgroup.why of the hog shows no kill: %.600s", reply);
		if (!sq || sq > kl)
			return fail(ctx, "no squeeze before the kill: %.600s", reply);
		info(ctx, "why: %.400s", kl);
	}
	if (ctl_call(&conn, "{\"op\":\"policy.show\"}", reply, sizeof(reply)) < 0 ||
	    !json_u64(reply, "policies.memory_relief.actions.kill", &kills) || kills != 1 ||
	    !json_u64(reply, "policies.memory_relief.psi_triggers", &psi) || psi != 1)
		return fail(ctx, "policy.show: kills %llu (want 1), psi triggers %llu: %.400s",
			    (unsigned long long)kills, (unsigned long long)psi, reply);
	if (read_file_trim(keep_cg, "cgroup.events", v, sizeof(v)) < 0)
		return fail(ctx, "the protected container's cgroup is gone");
	if (read_file_trim(g_cg, "memory.high", v, sizeof(v)) || strcmp(v, "max"))
		return fail(ctx, "the guaranteed container's memory.high is '%s', not max", v);
	close(conn.fd);
	kill(reader, SIGKILL);
	kill(keep, SIGKILL);
	cg_write(CG_ROOT "/" QOS_ROOT, "memory.max", "max");
	return daemon_stop(ctx);
}

void qos_guard_cleanup(struct ctx *ctx)
{
	cg_write(CG_ROOT "/" QOS_ROOT, "memory.max", "max");
	qos_cpu_cleanup(ctx);
}

/* ---- revocation: besteffort over the slack once guaranteed use grows ---- */

static const char revoke_conf[] =
	"[metrics]\naddress = none\n"
	"[telemetry]\npsi_sweep_s = 1\n"
	"[node]\nreserved_memory = 512M\n"
	"[containers]\nroot = " QOS_ROOT "\nstart_deadline_s = 600\nslack_half_life_s = 1\n"
	"[policy.memory]\nkill = true\nkill_after_ms = 1500\ncooldown_ms = 300\n"
	"settle_ms = 1000\npsi_stall_us = 0\n";

enum result qos_revoke_setup(struct ctx *ctx)
{
	return daemon_start_with(ctx, revoke_conf, NULL);
}

enum result qos_revoke_run(struct ctx *ctx)
{
	char hog_cg[PATH_MAX], reply[16384], req[PATH_MAX + 64];
	uint64_t end, t0, slack = 0, squeezes = 0;
	pid_t hog, grow;
	enum result res;
	int st = 0;

	if (ctl_open(&conn, ctx->sock) < 0)
		return fail(ctx, "cannot connect to %s", ctx->sock);
	res = admit(ctx,
		    "{\"op\":\"container.admit\",\"name\":\"g\",\"class\":\"guaranteed\","
		    "\"cpu_request_mc\":100,\"memory_request\":314572800}",
		    g_cg, sizeof(g_cg));
	if (res == RES_PASS)
		res = admit(
			ctx,
			"{\"op\":\"container.admit\",\"name\":\"hog\",\"class\":\"besteffort\"}",
			hog_cg, sizeof(hog_cg));
	if (res != RES_PASS)
		return res;
	hog = spawn(ctx, hog_cg, -1, anon_hog, (void *)(uintptr_t)(250ULL << 20));
	if (hog < 0)
		return fail(ctx, "cannot start the hog");
	/* within the slack: left alone */
	sleep_ms(4000);
	if (ctl_call(&conn, "{\"op\":\"policy.show\"}", reply, sizeof(reply)) < 0 ||
	    !json_u64(reply, "policies.memory_relief.revocation.slack_bytes", &slack) ||
	    !json_u64(reply, "policies.memory_relief.actions.squeeze", &squeezes))
		return fail(ctx, "policy.show: %.400s", reply);
	info(ctx, "the hog holds %llu MiB; the slack is %llu MiB",
	     (unsigned long long)(cg_u64(hog_cg, "memory.current") >> 20),
	     (unsigned long long)(slack >> 20));
	if (squeezes || waitpid(hog, NULL, WNOHANG))
		return fail(ctx, "the hog was taken from within the slack (%llu squeezes)",
			    (unsigned long long)squeezes);
	/* the guaranteed container uses what it asked for: the slack shrinks */
	t0 = mono_now_ns();
	grow = spawn(ctx, g_cg, -1, anon_hog, (void *)(uintptr_t)(280ULL << 20));
	if (grow < 0)
		return fail(ctx, "cannot start the guaranteed workload");
	for (end = t0 + 20 * 1000000000ULL; mono_now_ns() < end;)
		if (wait_worker(hog, 50, &st) == 0)
			break;
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		return fail(ctx, "the hog was not killed within 20 s of the guaranteed growth");
	info(ctx, "the hog was killed %.2f s after the guaranteed container began to grow",
	     (mono_now_ns() - t0) / 1e9);
	if (waitpid(grow, NULL, WNOHANG))
		return fail(ctx, "the guaranteed workload died");
	snprintf(req, sizeof(req), "{\"op\":\"cgroup.why\",\"cgroup\":\"%s\"}",
		 hog_cg + strlen(CG_ROOT) + 1);
	if (ctl_call(&conn, req, reply, sizeof(reply)) < 0 || !strstr(reply, "revocation") ||
	    !strstr(reply, "\"knob\":\"cgroup.kill\""))
		return fail(ctx, "cgroup.why of the hog: %.600s", reply);
	info(ctx, "why: %.300s", strstr(reply, "memory relief kill"));
	close(conn.fd);
	kill(grow, SIGKILL);
	return daemon_stop(ctx);
}

/* ---- bench: reaction of the CPU loop, beside a PSI trigger's ---- */

#define REACT_TRIALS 30

static const char react_conf[] = "[metrics]\naddress = none\n"
				 "[containers]\nroot = " QOS_ROOT "\nstart_deadline_s = 600\n"
				 "[policy.cpu]\nhold_ms = 100\nrelease_ms = 300\n"
				 "release_max_ms = 300\n";

enum result bench_reaction_setup(struct ctx *ctx)
{
	return daemon_start_with(ctx, react_conf, NULL);
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct_of(double *v, unsigned n, unsigned p)
{
	qsort(v, n, sizeof(*v), cmp_dbl);
	return n ? v[(n - 1) * p / 100] : 0;
}

/*
 * Each trial: two CPU hogs of a besteffort container busy both CPUs; a
 * CPU-bound task starts in the guaranteed container (t0) and waits for CPU.
 * Taken: the BPF onset event's own stamp, the first corrective write (the
 * action event: the quota rung's cpu.max), and when a PSI trigger on the
 * guaranteed container's cpu.pressure ("some 5000 500000", 5 ms of stall
 * in the shortest window the kernel takes) woke a poll() here: what a
 * PSI-driven loop would start from. The task stops, the rung is released,
 * the next trial begins.
 */
enum result bench_reaction_run(struct ctx *ctx)
{
	static const char trig[] = "some 5000 500000";
	double on_ms[REACT_TRIALS], dec_ms[REACT_TRIALS], tot_ms[REACT_TRIALS],
		psi_ms[REACT_TRIALS];
	struct ctl_conn *ev = calloc(1, sizeof(*ev));
	char hog_cg[PATH_MAX], path[PATH_MAX + 32], line[8192], rel[PATH_MAX], v[64];
	uint64_t off, thr = 0;
	unsigned n = 0, npsi = 0;
	enum result res;
	int psi = -1;

	if (!ev || ctl_open(&conn, ctx->sock) < 0 || ctl_open(ev, ctx->sock) < 0)
		return fail(ctx, "cannot connect to %s", ctx->sock);
	res = admit(ctx,
		    "{\"op\":\"container.admit\",\"name\":\"g\",\"class\":\"guaranteed\","
		    "\"cpu_request_mc\":100,\"memory_request\":67108864}",
		    g_cg, sizeof(g_cg));
	if (res == RES_PASS)
		res = admit(
			ctx,
			"{\"op\":\"container.admit\",\"name\":\"hog\",\"class\":\"besteffort\"}",
			hog_cg, sizeof(hog_cg));
	if (res != RES_PASS)
		return res;
	snprintf(rel, sizeof(rel), "%s", g_cg + strlen(CG_ROOT) + 1);
	/* four a CPU: at cpu.weight 1 each beside the task's 4, it waits */
	for (int i = 0; i < 8; i++)
		if (spawn(ctx, hog_cg, i % 2, busy_loop, NULL) < 0)
			return fail(ctx, "cannot start the hogs");
	snprintf(path, sizeof(path), "%s/cpu.pressure", g_cg);
	psi = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (psi < 0 || write(psi, trig, sizeof(trig)) != (ssize_t)sizeof(trig))
		return fail(ctx, "PSI trigger on %s: %s", path, strerror(errno));
	if (ctl_call(ev, "{\"op\":\"subscribe\",\"events\":[\"onset\",\"action\"]}", line,
		     sizeof(line)) < 0 ||
	    !strstr(line, "\"ok\":true"))
		return fail(ctx, "cannot subscribe: %.200s", line);
	{
		struct timespec rt, mo;

		clock_gettime(CLOCK_REALTIME, &rt);
		clock_gettime(CLOCK_MONOTONIC, &mo);
		off = ((uint64_t)rt.tv_sec - (uint64_t)mo.tv_sec) * 1000000000ULL +
		      (uint64_t)rt.tv_nsec - (uint64_t)mo.tv_nsec;
	}
	for (unsigned t = 0; t < REACT_TRIALS; t++) {
		uint64_t t0, t_on = 0, t_act = 0, t_psi = 0, end;
		bool released = false;
		pid_t task;

		sleep_ms(700); /* a PSI trigger fires at most once a window */
		t0 = mono_now_ns();
		task = spawn(ctx, g_cg, 0, busy_loop, NULL);
		if (task < 0)
			return fail(ctx, "cannot start the task");
		for (end = t0 + 3000000000ULL;
		     mono_now_ns() < end && (!t_on || !t_act || !t_psi);) {
			struct pollfd p = { .fd = psi, .events = POLLPRI };
			uint64_t u = 0;

			if (!t_psi && poll(&p, 1, 0) == 1 && (p.revents & POLLPRI))
				t_psi = mono_now_ns();
			if (ctl_read_line(ev, line, sizeof(line), 2) < 0)
				continue;
			if (!t_on && strstr(line, "\"event\":\"onset\"") &&
			    strstr(line, "\"signal\":\"cpu\"") &&
			    json_str(line, "cgroup", v, sizeof(v)) && streq(v, rel) &&
			    json_u64(line, "ts_ns", &u)) {
				t_on = u;
				json_u64(line, "threshold_ns", &thr);
			} else if (!t_act && strstr(line, "\"event\":\"action\"") &&
				   strstr(line, "\"knob\":\"cpu.max\"") &&
				   json_str(line, "new", v, sizeof(v)) && strncmp(v, "max", 3) &&
				   json_u64(line, "time_ns", &u)) {
				t_act = u - off;
			}
		}
		kill(task, SIGKILL);
		waitpid(task, NULL, 0);
		ctx->npids--; /* the last spawned: its slot for the next trial */
		if (!t_on || !t_act) {
			info(ctx, "trial %u: no onset or no action within 3 s", t);
			continue;
		}
		on_ms[n] = (double)(int64_t)(t_on - t0) / 1e6;
		dec_ms[n] = (double)(int64_t)(t_act - t_on) / 1e6;
		tot_ms[n] = (double)(int64_t)(t_act - t0) / 1e6;
		n++;
		if (t_psi)
			psi_ms[npsi++] = (double)(t_psi - t0) / 1e6;
		/* the rung comes back down before the next trial */
		for (end = mono_now_ns() + 5000000000ULL; mono_now_ns() < end && !released;)
			if (ctl_read_line(ev, line, sizeof(line), 100) == 0 &&
			    strstr(line, "\"knob\":\"cpu.max\"") &&
			    json_str(line, "new", v, sizeof(v)) && !strncmp(v, "max", 3))
				released = true;
	}
	close(psi);
	close(ev->fd);
	free(ev);
	if (n < REACT_TRIALS / 2)
		return fail(ctx, "only %u of %u trials saw the onset and the write", n,
			    REACT_TRIALS);
	printf("bench reaction (guest, quota rung, threshold %.1f ms per 100 ms window, %u "
	       "trials): onset latency p50 %.1f ms p99 %.1f ms | decision p50 %.2f ms p99 %.2f "
	       "ms | reaction p50 %.1f ms p99 %.1f ms (target p99 <= 50 ms, aim 20: %s)\n",
	       thr / 1e6, n, pct_of(on_ms, n, 50), pct_of(on_ms, n, 99), pct_of(dec_ms, n, 50),
	       pct_of(dec_ms, n, 99), pct_of(tot_ms, n, 50), pct_of(tot_ms, n, 99),
	       pct_of(tot_ms, n, 99) <= 50 ? "met" : "missed");
	printf("bench reaction (guest, PSI trigger '%s' on cpu.pressure, %u of %u trials fired): "
	       "wake p50 %.1f ms p99 %.1f ms, before any decision | in-kernel onset p50 %.1f ms "
	       "p99 %.1f ms\n",
	       trig, npsi, n, pct_of(psi_ms, npsi, 50), pct_of(psi_ms, npsi, 99),
	       pct_of(on_ms, n, 50), pct_of(on_ms, n, 99));
	fflush(stdout);
	close(conn.fd);
	return daemon_stop(ctx);
}
