// SPDX-License-Identifier: Apache-2.0
/* Enforcement in the guest: cpu.max, cpu.weight, cpuset, memory.high, io.max,
 * each checked by measuring the workload, through ratios with margins. */
#include "guest.h"

/* ---- cpu.max ---- */

struct cpu_pair {
	char thr[PATH_MAX];
	char free[PATH_MAX];
};

static struct cpu_pair cpu_pair;

enum result cpu_max_setup(struct ctx *ctx)
{
	int r;

	if (cg_new(ctx, "throttled", cpu_pair.thr, sizeof(cpu_pair.thr)) < 0 ||
	    cg_new(ctx, "free", cpu_pair.free, sizeof(cpu_pair.free)) < 0)
		return fail(ctx, "cannot create cgroups: %s", strerror(errno));
	r = cg_write(cpu_pair.thr, "cpu.max", "20000 100000");
	if (r < 0)
		return fail(ctx, "writing cpu.max: %s", strerror(-r));
	return RES_PASS;
}

/* CPU time used by @n cgroups over @ms of wall time, as fractions of one CPU. */
static int measure_cpu(char (*cgs)[PATH_MAX], int n, unsigned int ms, double *ret_frac)
{
	uint64_t u0[4], u1[4], t0, t1;
	int i, r;

	for (i = 0; i < n; i++) {
		r = cg_read_key(cgs[i], "cpu.stat", "usage_usec", &u0[i]);
		if (r < 0)
			return r;
	}
	t0 = mono_now_ns();
	sleep_ms(ms);
	for (i = 0; i < n; i++) {
		r = cg_read_key(cgs[i], "cpu.stat", "usage_usec", &u1[i]);
		if (r < 0)
			return r;
	}
	t1 = mono_now_ns();
	for (i = 0; i < n; i++)
		ret_frac[i] = (double)(u1[i] - u0[i]) * 1000.0 / (double)(t1 - t0);
	return 0;
}

enum result cpu_max_run(struct ctx *ctx)
{
	char cgs[2][PATH_MAX];
	uint64_t throttled = 0;
	double frac[2];
	int r;

	if (spawn(ctx, cpu_pair.thr, -1, busy_loop, NULL) < 0 ||
	    spawn(ctx, cpu_pair.free, -1, busy_loop, NULL) < 0)
		return fail(ctx, "cannot start the busy loops");
	sleep_ms(300);
	memcpy(cgs[0], cpu_pair.thr, PATH_MAX);
	memcpy(cgs[1], cpu_pair.free, PATH_MAX);
	r = measure_cpu(cgs, 2, 1500, frac);
	if (r < 0)
		return fail(ctx, "reading cpu.stat: %s", strerror(-r));
	cg_read_key(cpu_pair.thr, "cpu.stat", "nr_throttled", &throttled);
	info(ctx, "cpu.max 20000/100000: %.3f CPU, unlimited: %.3f CPU, nr_throttled %llu", frac[0],
	     frac[1], (unsigned long long)throttled);
	if (frac[1] < 0.5)
		return fail(ctx, "unlimited busy loop got only %.2f CPU, cannot compare", frac[1]);
	if (frac[0] < 0.10 || frac[0] > 0.30)
		return fail(ctx, "cpu.max 20%% gave %.3f CPU (want 0.10-0.30)", frac[0]);
	if (frac[0] > 0.4 * frac[1])
		return fail(ctx, "throttled %.3f vs unlimited %.3f CPU", frac[0], frac[1]);
	if (throttled == 0)
		return fail(ctx, "cpu.stat nr_throttled is 0");
	return RES_PASS;
}

/* ---- cpu.weight ---- */

enum result cpu_weight_setup(struct ctx *ctx)
{
	int r;

	if (cg_new(ctx, "w100", cpu_pair.thr, sizeof(cpu_pair.thr)) < 0 ||
	    cg_new(ctx, "w400", cpu_pair.free, sizeof(cpu_pair.free)) < 0)
		return fail(ctx, "cannot create cgroups: %s", strerror(errno));
	r = cg_write(cpu_pair.thr, "cpu.weight", "100");
	if (r == 0)
		r = cg_write(cpu_pair.free, "cpu.weight", "400");
	if (r < 0)
		return fail(ctx, "writing cpu.weight: %s", strerror(-r));
	return RES_PASS;
}

enum result cpu_weight_run(struct ctx *ctx)
{
	char cgs[2][PATH_MAX];
	double frac[2], ratio;
	int r;

	/* Both on CPU 0, so they compete for one CPU. */
	if (spawn(ctx, cpu_pair.thr, 0, busy_loop, NULL) < 0 ||
	    spawn(ctx, cpu_pair.free, 0, busy_loop, NULL) < 0)
		return fail(ctx, "cannot start the busy loops");
	sleep_ms(300);
	memcpy(cgs[0], cpu_pair.thr, PATH_MAX);
	memcpy(cgs[1], cpu_pair.free, PATH_MAX);
	r = measure_cpu(cgs, 2, 2000, frac);
	if (r < 0)
		return fail(ctx, "reading cpu.stat: %s", strerror(-r));
	if (frac[0] <= 0.0)
		return fail(ctx, "weight 100 got no CPU at all (%.3f vs %.3f)", frac[0], frac[1]);
	ratio = frac[1] / frac[0];
	info(ctx, "weight 100: %.3f CPU, weight 400: %.3f CPU, ratio %.2f (want 4)", frac[0],
	     frac[1], ratio);
	if (frac[0] + frac[1] > 1.2)
		return fail(ctx, "two loops pinned to one CPU used %.2f CPU", frac[0] + frac[1]);
	if (ratio < 2.5 || ratio > 6.5)
		return fail(ctx, "usage ratio %.2f for weights 400:100 (want 2.5-6.5)", ratio);
	return RES_PASS;
}

/* ---- cpuset.cpus ---- */

static void cpu_sampler(struct ctx *ctx, void *arg)
{
	int want = (int)(intptr_t)arg;
	uint64_t end = mono_now_ns() + 800 * 1000000ULL;
	cpu_set_t set;
	int i;

	if (sched_getaffinity(0, sizeof(set), &set) < 0 || CPU_COUNT(&set) != 1 ||
	    !CPU_ISSET(want, &set))
		atomic_fetch_add(&ctx->bad_affinity, 1);
	while (mono_now_ns() < end) {
		int cpu = sched_getcpu();

		for (i = 0; i < 1000; i++)
			asm volatile("" ::: "memory");
		if (cpu == want)
			atomic_fetch_add(&ctx->on_cpu[want], 1);
		else
			atomic_fetch_add(&ctx->on_other_cpu, 1);
	}
}

enum result cpuset_setup(struct ctx *ctx)
{
	int r;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return skip(ctx, "needs 2 CPUs, the guest has %ld", sysconf(_SC_NPROCESSORS_ONLN));
	if (cg_new(ctx, "cpu1", cpu_pair.thr, sizeof(cpu_pair.thr)) < 0)
		return fail(ctx, "cannot create cgroup: %s", strerror(errno));
	r = cg_write(cpu_pair.thr, "cpuset.cpus", "1");
	if (r < 0)
		return fail(ctx, "writing cpuset.cpus: %s", strerror(-r));
	return RES_PASS;
}

enum result cpuset_run(struct ctx *ctx)
{
	char cgs[1][PATH_MAX];
	double frac[1];
	uint64_t on1, other;
	pid_t a, b;
	int st, r;

	/* Two CPU-bound samplers confined to CPU 1: all samples there, at most one CPU used. */
	a = spawn(ctx, cpu_pair.thr, -1, cpu_sampler, (void *)1);
	b = spawn(ctx, cpu_pair.thr, -1, cpu_sampler, (void *)1);
	if (a < 0 || b < 0)
		return fail(ctx, "cannot start the samplers");
	memcpy(cgs[0], cpu_pair.thr, PATH_MAX);
	r = measure_cpu(cgs, 1, 600, frac);
	if (r < 0)
		return fail(ctx, "reading cpu.stat: %s", strerror(-r));
	if (wait_worker(a, 10000, &st) < 0 || wait_worker(b, 10000, &st) < 0)
		return fail(ctx, "samplers did not finish");
	on1 = atomic_load(&ctx->on_cpu[1]);
	other = atomic_load(&ctx->on_other_cpu);
	info(ctx, "samples on CPU 1: %llu, elsewhere: %llu; two loops used %.2f CPU",
	     (unsigned long long)on1, (unsigned long long)other, frac[0]);
	if (atomic_load(&ctx->bad_affinity))
		return fail(ctx, "a task in cpuset.cpus=1 has another affinity mask");
	if (on1 == 0)
		return fail(ctx, "no samples taken");
	if (other)
		return fail(ctx, "%llu of %llu samples ran outside cpuset.cpus=1",
			    (unsigned long long)other, (unsigned long long)(on1 + other));
	if (frac[0] > 1.2)
		return fail(ctx, "two loops in a one-CPU cpuset used %.2f CPU", frac[0]);
	return RES_PASS;
}

/* ---- memory.high ---- */

static char mem_cg[2][PATH_MAX];

enum result memory_high_setup(struct ctx *ctx)
{
	int r;

	if (needs_disk(ctx) != RES_PASS)
		return RES_SKIP;
	if (cg_new(ctx, "high", mem_cg[0], sizeof(mem_cg[0])) < 0 ||
	    cg_new(ctx, "free", mem_cg[1], sizeof(mem_cg[1])) < 0)
		return fail(ctx, "cannot create cgroups: %s", strerror(errno));
	r = cg_write(mem_cg[0], "memory.high", "%llu", 16 * MiB);
	if (r < 0)
		return fail(ctx, "writing memory.high: %s", strerror(-r));
	/* Start from an empty page cache so every read charges new pages. */
	write_file("/proc/sys/vm/drop_caches", "3");
	return RES_PASS;
}

enum result memory_high_run(struct ctx *ctx)
{
	uint64_t high0 = 0, high1 = 0, peak_lim, peak_free;
	const uint64_t limit = 16 * MiB, len = 64 * MiB;
	int r;

	cg_read_key(mem_cg[0], "memory.events", "high", &high0);
	r = cached_read(ctx, mem_cg[0], 0, len, &peak_lim);
	if (r < 0)
		return fail(ctx, "reading %s in the limited cgroup: %s", DISK, strerror(-r));
	r = cached_read(ctx, mem_cg[1], len, len, &peak_free);
	if (r < 0)
		return fail(ctx, "reading %s in the unlimited cgroup: %s", DISK, strerror(-r));
	cg_read_key(mem_cg[0], "memory.events", "high", &high1);
	info(ctx,
	     "read %llu MiB each; with memory.high 16 MiB usage peaked at %.1f MiB "
	     "(%llu high events), without it at %.1f MiB",
	     (unsigned long long)(len / MiB), (double)peak_lim / MiB,
	     (unsigned long long)(high1 - high0), (double)peak_free / MiB);
	if (high1 <= high0)
		return fail(ctx, "memory.events high did not move");
	if (peak_free < len / 2)
		return fail(ctx, "without memory.high only %.1f of %llu MiB read stayed cached",
			    (double)peak_free / MiB, (unsigned long long)(len / MiB));
	if (peak_lim > limit + limit / 4 + 4 * MiB)
		return fail(ctx, "usage peaked at %.1f MiB with memory.high 16 MiB",
			    (double)peak_lim / MiB);
	if (peak_lim < limit / 2)
		return fail(ctx, "usage peaked at only %.1f MiB: reclaimed far below memory.high",
			    (double)peak_lim / MiB);
	return RES_PASS;
}

/* ---- io.max ---- */

static char io_cg[PATH_MAX];

enum result io_max_setup(struct ctx *ctx)
{
	if (needs_disk(ctx) != RES_PASS)
		return RES_SKIP;
	if (cg_new(ctx, "reader", io_cg, sizeof(io_cg)) < 0)
		return fail(ctx, "cannot create cgroup: %s", strerror(errno));
	return RES_PASS;
}

static double measure_bps(struct ctx *ctx, unsigned int ms)
{
	uint64_t b0, b1, t0, t1;

	b0 = atomic_load(&ctx->bytes);
	t0 = mono_now_ns();
	sleep_ms(ms);
	b1 = atomic_load(&ctx->bytes);
	t1 = mono_now_ns();
	return (double)(b1 - b0) * 1e9 / (double)(t1 - t0);
}

enum result io_max_run(struct ctx *ctx)
{
	struct read_job job = { .off = 128 * MiB, .len = 96 * MiB, .direct = true, .loop = true };
	double free_bps, thr_bps;
	uint64_t limit;
	struct stat st;
	int r;

	if (stat(DISK, &st) < 0)
		return fail(ctx, "stat %s: %s", DISK, strerror(errno));
	if (spawn(ctx, io_cg, -1, disk_reader, &job) < 0)
		return fail(ctx, "cannot start the reader");
	sleep_ms(200);
	free_bps = measure_bps(ctx, 700);
	if (ctx->worker_err)
		return fail(ctx, "direct reads of %s failed: %s", DISK, strerror(ctx->worker_err));
	if (free_bps < 4.0 * MiB)
		return fail(ctx, "unthrottled direct reads only %.1f MiB/s, cannot compare",
			    free_bps / MiB);
	/* A tenth of what the disk gave, in whole 64 KiB reads per second. */
	limit = ((uint64_t)(free_bps / 10) / (64 * 1024)) * 64 * 1024;
	if (limit < 64 * 1024)
		limit = 64 * 1024;
	r = cg_write(io_cg, "io.max", "%u:%u rbps=%llu", major(st.st_rdev), minor(st.st_rdev),
		     (unsigned long long)limit);
	if (r < 0)
		return fail(ctx, "writing io.max: %s", strerror(-r));
	sleep_ms(400);
	thr_bps = measure_bps(ctx, 1500);
	info(ctx, "direct reads: %.1f MiB/s unthrottled, %.2f MiB/s with rbps=%.2f MiB/s",
	     free_bps / MiB, thr_bps / MiB, (double)limit / MiB);
	if (ctx->worker_err)
		return fail(ctx, "direct reads of %s failed: %s", DISK, strerror(ctx->worker_err));
	if (thr_bps > 1.5 * (double)limit)
		return fail(ctx, "throttled reader got %.2f MiB/s, above 1.5x rbps %.2f MiB/s",
			    thr_bps / MiB, (double)limit / MiB);
	if (thr_bps < 0.25 * (double)limit)
		return fail(ctx, "throttled reader stalled: %.3f MiB/s for rbps %.2f MiB/s",
			    thr_bps / MiB, (double)limit / MiB);
	return RES_PASS;
}
