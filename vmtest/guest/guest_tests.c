// SPDX-License-Identifier: Apache-2.0
/*
 * Guest tests of the vmtest harness: run as PID 1's child in a QEMU guest that
 * is a pure cgroup v2 node (cgroup2 at /sys/fs/cgroup, every controller
 * enabled in the root, bpffs at /sys/fs/bpf, the scratch disk at /dev/vda).
 *
 * Each test is {name, setup, run, cleanup}. setup and run go in a child
 * process with a deadline, so a test that crashes or hangs fails alone; the
 * cgroups and processes it registered in its context (shared memory) are
 * killed and removed by the parent whatever happened. Enforcement is checked
 * by measuring the workload (CPU time, bytes moved, memory held), never by
 * reading a knob back, and only through ratios with margins: TCG makes
 * absolute times meaningless.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <linux/bpf.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define CG_ROOT "/sys/fs/cgroup"
#define DISK "/dev/vda"
#define CGPILOTD "/usr/sbin/cgpilotd"
#define CGPILOT "/usr/bin/cgpilot"
#define MiB (1024ULL * 1024)

#define MAX_CGROUPS 8
#define MAX_PIDS 16
#define TEST_DEADLINE_S 120

enum result {
	RES_PASS,
	RES_SKIP,
	RES_FAIL,
};

static const char *const result_name[] = {
	[RES_PASS] = "PASS",
	[RES_SKIP] = "SKIP",
	[RES_FAIL] = "FAIL",
};

/* Lives in shared memory: the test child fills it, the parent cleans up after it. */
struct ctx {
	const char *name;
	char reason[512];
	int ncg;
	char cg[MAX_CGROUPS][PATH_MAX];
	int npids;
	pid_t pids[MAX_PIDS];
	/* Test-specific state, e.g. the daemon's directories. */
	pid_t daemon_pid;
	char daemon_dir[64];
	char pin_dir[64];
	char sock[96];
	/* Workers report here. */
	_Atomic uint64_t bytes;
	_Atomic uint64_t on_cpu[4];
	_Atomic uint64_t on_other_cpu;
	_Atomic uint64_t bad_affinity;
	_Atomic int worker_err;
};

struct guest_test {
	const char *name;
	const char *desc;
	enum result (*setup)(struct ctx *ctx);
	enum result (*run)(struct ctx *ctx);
	void (*cleanup)(struct ctx *ctx);
};

static bool verbose;

static void info(struct ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void info(struct ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	printf("  [%s] ", ctx->name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static enum result verdict(struct ctx *ctx, enum result res, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum result verdict(struct ctx *ctx, enum result res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->reason, sizeof(ctx->reason), fmt, ap);
	va_end(ap);
	return res;
}

#define fail(ctx, ...) verdict(ctx, RES_FAIL, __VA_ARGS__)
#define skip(ctx, ...) verdict(ctx, RES_SKIP, __VA_ARGS__)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- cgroup files ---- */

static int write_file(const char *path, const char *val)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(val);

	if (fd < 0)
		return -errno;
	if (write(fd, val, len) != (ssize_t)len)
		return -errno;
	return 0;
}

static int cg_write(const char *cg, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int cg_write(const char *cg, const char *file, const char *fmt, ...)
{
	char path[PATH_MAX], val[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return write_file(path, val);
}

static int read_file(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

/* A "key value" line of a flat-keyed file (cpu.stat, memory.events). */
static int cg_read_key(const char *cg, const char *file, const char *key, uint64_t *ret_val)
{
	char path[PATH_MAX], buf[4096], *line, *save = NULL;
	size_t klen = strlen(key);
	int r;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	r = read_file(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			*ret_val = strtoull(line + klen + 1, NULL, 10);
			return 0;
		}
	}
	return -ENOENT;
}

static int cg_read_u64(const char *cg, const char *file, uint64_t *ret_val)
{
	char path[PATH_MAX], buf[64];
	int r;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	r = read_file(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	*ret_val = strtoull(buf, NULL, 10);
	return 0;
}

static bool cg_populated(const char *cg)
{
	uint64_t v = 1;

	return cg_read_key(cg, "cgroup.events", "populated", &v) < 0 || v != 0;
}

/* Kill everything in the cgroup and remove it; used for leftovers too. */
static int cg_remove(const char *cg)
{
	int i;

	if (access(cg, F_OK) < 0)
		return 0;
	cg_write(cg, "cgroup.kill", "1");
	for (i = 0; i < 500 && cg_populated(cg); i++)
		sleep_ms(10);
	for (i = 0; i < 100; i++) {
		if (rmdir(cg) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		sleep_ms(10);
	}
	return -errno;
}

/* Create CG_ROOT/vmtest.<test>.<name> and register it for removal. */
static int cg_new(struct ctx *ctx, const char *name, char *ret_path, size_t size)
{
	char path[PATH_MAX];

	if (ctx->ncg >= MAX_CGROUPS)
		return -ENOSPC;
	snprintf(path, sizeof(path), "%s/vmtest.%s.%s", CG_ROOT, ctx->name, name);
	cg_remove(path);
	if (mkdir(path, 0755) < 0)
		return -errno;
	snprintf(ctx->cg[ctx->ncg++], PATH_MAX, "%s", path);
	snprintf(ret_path, size, "%s", path);
	return 0;
}

/* ---- workers ---- */

typedef void (*worker_fn)(struct ctx *ctx, void *arg);

/*
 * Fork a worker that moves itself into @cg (and onto @cpu when >= 0) before
 * @fn runs; returns once the worker is in place. Workers end by SIGKILL or by
 * returning from @fn.
 */
static pid_t spawn(struct ctx *ctx, const char *cg, int cpu, worker_fn fn, void *arg)
{
	int pfd[2];
	pid_t pid;
	char c = 0;

	if (ctx->npids >= MAX_PIDS)
		return -ENOSPC;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (pid == 0) {
		char ok = 'k';

		close(pfd[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (cg_write(cg, "cgroup.procs", "0") < 0)
			ok = 'c';
		if (ok == 'k' && cpu >= 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			if (sched_setaffinity(0, sizeof(set), &set) < 0)
				ok = 'a';
		}
		if (write(pfd[1], &ok, 1) != 1 || ok != 'k')
			_exit(1);
		close(pfd[1]);
		fn(ctx, arg);
		_exit(0);
	}
	close(pfd[1]);
	ctx->pids[ctx->npids++] = pid;
	if (read(pfd[0], &c, 1) != 1 || c != 'k') {
		close(pfd[0]);
		return c == 'c' ? -EPERM : -ECHILD;
	}
	close(pfd[0]);
	return pid;
}

/* Wait for one worker to return, at most @ms; -ETIMEDOUT if it does not. */
static int wait_worker(pid_t pid, unsigned int ms, int *ret_status)
{
	uint64_t end = now_ns() + ms * 1000000ULL;
	int status;

	while (now_ns() < end) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid) {
			*ret_status = status;
			return 0;
		}
		if (r < 0)
			return -errno;
		sleep_ms(10);
	}
	return -ETIMEDOUT;
}

static void busy_loop(struct ctx *ctx, void *arg)
{
	volatile uint64_t n = 0;

	for (;;)
		n++;
}

/* ---- cpu.max ---- */

struct cpu_pair {
	char thr[PATH_MAX];
	char free[PATH_MAX];
};

static struct cpu_pair cpu_pair;

static enum result cpu_max_setup(struct ctx *ctx)
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
	t0 = now_ns();
	sleep_ms(ms);
	for (i = 0; i < n; i++) {
		r = cg_read_key(cgs[i], "cpu.stat", "usage_usec", &u1[i]);
		if (r < 0)
			return r;
	}
	t1 = now_ns();
	for (i = 0; i < n; i++)
		ret_frac[i] = (double)(u1[i] - u0[i]) * 1000.0 / (double)(t1 - t0);
	return 0;
}

static enum result cpu_max_run(struct ctx *ctx)
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

static enum result cpu_weight_setup(struct ctx *ctx)
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

static enum result cpu_weight_run(struct ctx *ctx)
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
	uint64_t end = now_ns() + 800 * 1000000ULL;
	cpu_set_t set;
	int i;

	if (sched_getaffinity(0, sizeof(set), &set) < 0 || CPU_COUNT(&set) != 1 ||
	    !CPU_ISSET(want, &set))
		atomic_fetch_add(&ctx->bad_affinity, 1);
	while (now_ns() < end) {
		int cpu = sched_getcpu();

		for (i = 0; i < 1000; i++)
			asm volatile("" ::: "memory");
		if (cpu == want)
			atomic_fetch_add(&ctx->on_cpu[want], 1);
		else
			atomic_fetch_add(&ctx->on_other_cpu, 1);
	}
}

static enum result cpuset_setup(struct ctx *ctx)
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

static enum result cpuset_run(struct ctx *ctx)
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

struct read_job {
	off_t off;
	off_t len;
	bool direct;
	bool loop;
};

/* Sequential reads of the scratch disk; bytes read are counted in ctx->bytes. */
static void disk_reader(struct ctx *ctx, void *arg)
{
	const struct read_job *job = arg;
	const size_t bs = 64 * 1024;
	off_t pos = job->off;
	void *buf;
	int fd;

	fd = open(DISK, O_RDONLY | O_CLOEXEC | (job->direct ? O_DIRECT : 0));
	if (fd < 0 || posix_memalign(&buf, 4096, bs) != 0) {
		atomic_store(&ctx->worker_err, errno ? errno : EIO);
		_exit(1);
	}
	for (;;) {
		ssize_t n = pread(fd, buf, bs, pos);

		if (n <= 0) {
			atomic_store(&ctx->worker_err, n < 0 ? errno : EIO);
			_exit(1);
		}
		atomic_fetch_add(&ctx->bytes, (uint64_t)n);
		pos += n;
		if (pos >= job->off + job->len) {
			if (!job->loop)
				return;
			pos = job->off;
		}
	}
}

static char mem_cg[2][PATH_MAX];

static enum result needs_disk(struct ctx *ctx)
{
	struct stat st;

	if (stat(DISK, &st) < 0 || !S_ISBLK(st.st_mode))
		return skip(ctx, "no scratch disk %s (virtio_blk not loaded or no -drive)", DISK);
	return RES_PASS;
}

static enum result memory_high_setup(struct ctx *ctx)
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

/*
 * Read @len bytes of the disk at @off through the page cache from cgroup @cg.
 * Page cache, not anonymous memory: without swap, anonymous pages over
 * memory.high can only be throttled, never reclaimed down to the limit.
 */
static int cached_read(struct ctx *ctx, const char *cg, off_t off, off_t len, uint64_t *ret_peak)
{
	struct read_job job = { .off = off, .len = len };
	uint64_t cur, peak = 0, end = now_ns() + 60 * 1000000000ULL;
	int st, r;
	pid_t pid;

	atomic_store(&ctx->bytes, 0);
	pid = spawn(ctx, cg, -1, disk_reader, &job);
	if (pid < 0)
		return pid;
	/*
	 * While it runs: the block device's page cache is dropped when its last
	 * opener closes it. memory.peak where the kernel has it, else sampled.
	 */
	for (r = -ETIMEDOUT; r == -ETIMEDOUT && now_ns() < end;) {
		if (cg_read_u64(cg, "memory.current", &cur) == 0 && cur > peak)
			peak = cur;
		r = wait_worker(pid, 20, &st);
	}
	if (r < 0)
		return r;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -(ctx->worker_err ? ctx->worker_err : EIO);
	if (cg_read_u64(cg, "memory.peak", &cur) == 0)
		peak = cur;
	*ret_peak = peak;
	return 0;
}

static enum result memory_high_run(struct ctx *ctx)
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

static enum result io_max_setup(struct ctx *ctx)
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
	t0 = now_ns();
	sleep_ms(ms);
	b1 = atomic_load(&ctx->bytes);
	t1 = now_ns();
	return (double)(b1 - b0) * 1e9 / (double)(t1 - t0);
}

static enum result io_max_run(struct ctx *ctx)
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

/* ---- cgpilotd ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void rm_tree(const char *dir)
{
	if (dir[0])
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Number of BPF objects of one kind the kernel has (prog or link ids). */
static int count_bpf_ids(int cmd)
{
	union bpf_attr attr;
	__u32 id = 0;
	int n = 0;

	for (;;) {
		memset(&attr, 0, sizeof(attr));
		attr.start_id = id;
		if (syscall(SYS_bpf, cmd, &attr, sizeof(attr)) < 0)
			return errno == ENOENT ? n : -errno;
		id = attr.next_id;
		n++;
	}
}

static bool socket_ready(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	return fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

/* Run argv, capture stdout into @buf; status in *ret_status; at most @ms. */
static int run_capture(char *const argv[], char *buf, size_t size, unsigned int ms, int *ret_status)
{
	uint64_t end = now_ns() + ms * 1000000ULL;
	size_t len = 0;
	int pfd[2], r;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int64_t left = (int64_t)(end - now_ns()) / 1000000;
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		n = read(pfd[0], buf + len, size - 1 - len);
		if (n <= 0)
			break;
		len += n;
		if (len == size - 1)
			break;
	}
	buf[len] = '\0';
	close(pfd[0]);
	r = wait_worker(pid, 1000, ret_status);
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return r;
}

/* The string value of "key" in a flat JSON object, copied to @val. */
static bool json_str(const char *json, const char *key, char *val, size_t size)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	p = strstr(json, pat);
	if (!p)
		return false;
	p += strlen(pat);
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p++ != ':')
		return false;
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p++ != '"')
		return false;
	while (*p && *p != '"' && n < size - 1)
		val[n++] = *p++;
	val[n] = '\0';
	return *p == '"';
}

/*
 * Start cgpilotd with its own runtime dir, pin dir, socket and an empty
 * config, and wait until its socket answers. Telemetry tests build on this.
 */
static enum result daemon_start(struct ctx *ctx)
{
	char conf[128];
	uint64_t end;
	pid_t pid;
	int fd, st;

	if (access(CGPILOTD, X_OK) < 0)
		return skip(ctx, "cgpilotd is not in the initramfs (build it first: make all)");
	snprintf(ctx->daemon_dir, sizeof(ctx->daemon_dir), "/run/vmtest-%.32s", ctx->name);
	snprintf(ctx->pin_dir, sizeof(ctx->pin_dir), "/sys/fs/bpf/vmtest-%.32s", ctx->name);
	snprintf(ctx->sock, sizeof(ctx->sock), "%s/cgpilot.sock", ctx->daemon_dir);
	rm_tree(ctx->daemon_dir);
	rm_tree(ctx->pin_dir);
	if (mkdir(ctx->daemon_dir, 0700) < 0)
		return fail(ctx, "mkdir %s: %s", ctx->daemon_dir, strerror(errno));
	snprintf(conf, sizeof(conf), "%s/cgpilotd.conf", ctx->daemon_dir);
	fd = open(conf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(ctx, "cannot create %s: %s", conf, strerror(errno));
	close(fd);

	pid = fork();
	if (pid < 0)
		return fail(ctx, "fork: %s", strerror(errno));
	if (pid == 0) {
		execl(CGPILOTD, CGPILOTD, "--foreground", "--runtime-dir", ctx->daemon_dir,
		      "--pin-dir", ctx->pin_dir, "--socket", ctx->sock, "--config", conf,
		      (char *)NULL);
		_exit(127);
	}
	ctx->daemon_pid = pid;

	/* BPF verification is slow under TCG: allow a minute. */
	for (end = now_ns() + 60 * 1000000000ULL; now_ns() < end; sleep_ms(100)) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			ctx->daemon_pid = 0;
			return fail(ctx, "cgpilotd exited during start (%s %d)",
				    WIFEXITED(st) ? "status" : "signal",
				    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		}
		if (socket_ready(ctx->sock)) {
			info(ctx, "cgpilotd pid %d answers on %s", pid, ctx->sock);
			return RES_PASS;
		}
	}
	return fail(ctx, "cgpilotd did not open %s within 60 s", ctx->sock);
}

/* SIGTERM and wait: a clean stop exits 0. */
static enum result daemon_stop(struct ctx *ctx)
{
	pid_t pid = ctx->daemon_pid;
	int st, r;

	if (pid <= 0)
		return RES_PASS;
	kill(pid, SIGTERM);
	r = wait_worker(pid, 20000, &st);
	if (r < 0)
		return fail(ctx, "cgpilotd did not stop within 20 s of SIGTERM");
	ctx->daemon_pid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return fail(ctx, "cgpilotd stopped with %s %d on SIGTERM",
			    WIFEXITED(st) ? "status" : "signal",
			    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return RES_PASS;
}

static void daemon_cleanup(struct ctx *ctx)
{
	if (ctx->daemon_pid > 0) {
		kill(ctx->daemon_pid, SIGKILL);
		waitpid(ctx->daemon_pid, NULL, 0);
		ctx->daemon_pid = 0;
	}
	rm_tree(ctx->daemon_dir);
	rm_tree(ctx->pin_dir);
}

static enum result daemon_full_run(struct ctx *ctx)
{
	char *argv[] = { CGPILOT, "--socket", ctx->sock, "-j", "node", "show", NULL };
	char out[65536], mode[64];
	int progs, links, st, r;

	if (access(CGPILOT, X_OK) < 0)
		return skip(ctx,
			    "cgpilot (CLI) is not in the initramfs (build it first: make all)");
	r = run_capture(argv, out, sizeof(out), 30000, &st);
	if (r < 0)
		return fail(ctx, "cgpilot -j node show did not finish: %s", strerror(-r));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return fail(ctx, "cgpilot -j node show failed (status %d): %.200s",
			    WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
	if (!json_str(out, "mode", mode, sizeof(mode)))
		return fail(ctx, "no \"mode\" in cgpilot -j node show: %.200s", out);
	info(ctx, "status mode: %s", mode);
	if (!streq(mode, "full"))
		return fail(ctx, "daemon mode is \"%s\", want \"full\" on a pure v2 node: %.300s",
			    mode, out);

	/* Nothing else in the guest uses BPF: what the kernel holds is the daemon's. */
	progs = count_bpf_ids(BPF_PROG_GET_NEXT_ID);
	links = count_bpf_ids(BPF_LINK_GET_NEXT_ID);
	info(ctx, "kernel holds %d BPF programs, %d links", progs, links);
	if (progs <= 0)
		return fail(ctx, "no BPF program loaded (%d)", progs);
	if (links <= 0)
		return fail(ctx, "no BPF program attached: %d links", links);
	return daemon_stop(ctx);
}

/* ---- the daemon's control socket: JSON lines ---- */

struct ctl_conn {
	int fd;
	size_t len; /* bytes buffered in buf */
	char buf[65536];
};

static int ctl_open(struct ctl_conn *c, const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	c->len = 0;
	if (strlen(sock) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, sock);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(c->fd);
		c->fd = -1;
		return r;
	}
	return 0;
}

/* The next line from the daemon, without its newline, within @ms. */
static int ctl_read_line(struct ctl_conn *c, char *line, size_t size, unsigned int ms)
{
	uint64_t end = now_ns() + ms * 1000000ULL;

	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int64_t left;
		ssize_t n;

		if (nl) {
			size_t len = nl - c->buf;

			if (len >= size)
				return -EMSGSIZE;
			memcpy(line, c->buf, len);
			line[len] = '\0';
			c->len -= len + 1;
			memmove(c->buf, nl + 1, c->len);
			return 0;
		}
		if (c->len == sizeof(c->buf))
			return -EMSGSIZE;
		left = (int64_t)(end - now_ns()) / 1000000;
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			c->len += n;
	}
}

/* One request line, one reply line. */
static int ctl_call(struct ctl_conn *c, const char *req, char *reply, size_t size)
{
	size_t len = strlen(req), off = 0;
	char msg[512];

	if (len + 1 >= sizeof(msg))
		return -EMSGSIZE;
	memcpy(msg, req, len);
	msg[len++] = '\n';
	while (off < len) {
		ssize_t n = send(c->fd, msg + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += n;
	}
	return ctl_read_line(c, reply, size, 10000);
}

/*
 * Where the value of member @name (@n bytes) of the JSON object opening at @p
 * starts, or NULL: only the object's own members count, not those of nested
 * objects, nor strings inside arrays.
 */
static const char *json_member(const char *p, const char *end, const char *name, size_t n)
{
	int depth = 0;

	for (; p < end; p++) {
		if (*p == '"') {
			const char *s = ++p;

			while (p < end && *p != '"')
				p += *p == '\\' ? 2 : 1;
			if (p >= end)
				return NULL;
			if (depth != 1 || (size_t)(p - s) != n || memcmp(s, name, n) != 0)
				continue;
			s = p + 1;
			while (s < end && (*s == ' ' || *s == '\n'))
				s++;
			if (s == end || *s++ != ':')
				continue;
			while (s < end && (*s == ' ' || *s == '\n'))
				s++;
			return s;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if ((*p == '}' || *p == ']') && --depth == 0) {
			return NULL;
		}
	}
	return NULL;
}

/*
 * The unsigned number at a dotted path ("cgroup.memory.oom_kills") of a JSON
 * object, as the daemon and the CLI print them.
 */
static bool json_u64(const char *json, const char *path, uint64_t *ret_val)
{
	const char *p = json, *end = json + strlen(json);

	while (*p == ' ' || *p == '\n')
		p++;
	for (;;) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		if (*p != '{')
			return false;
		p = json_member(p, end, path, n);
		if (!p)
			return false;
		if (!dot)
			break;
		path = dot + 1;
	}
	if (*p < '0' || *p > '9')
		return false;
	*ret_val = strtoull(p, NULL, 10);
	return true;
}

/* ---- telemetry: the daemon's figures against what the kernel and the workload say ---- */

/* One `cgroup.show` of a cgroup. */
struct cg_fig {
	uint64_t id;
	uint64_t wait_ns, wait_count;
	uint64_t reclaim_ns, reclaim_count, oom_kills;
	uint64_t read_bytes, write_bytes, read_ops, write_ops, io_lat_ns;
	uint64_t t_ns; /* when the reply came */
};

static const struct {
	const char *key;
	size_t off;
} fig_keys[] = {
	{ "cgroup.id", offsetof(struct cg_fig, id) },
	{ "cgroup.cpu.wait_ns", offsetof(struct cg_fig, wait_ns) },
	{ "cgroup.cpu.wait_count", offsetof(struct cg_fig, wait_count) },
	{ "cgroup.memory.reclaim_ns", offsetof(struct cg_fig, reclaim_ns) },
	{ "cgroup.memory.reclaim_count", offsetof(struct cg_fig, reclaim_count) },
	{ "cgroup.memory.oom_kills", offsetof(struct cg_fig, oom_kills) },
	{ "cgroup.io.read_bytes", offsetof(struct cg_fig, read_bytes) },
	{ "cgroup.io.write_bytes", offsetof(struct cg_fig, write_bytes) },
	{ "cgroup.io.read_ops", offsetof(struct cg_fig, read_ops) },
	{ "cgroup.io.write_ops", offsetof(struct cg_fig, write_ops) },
	{ "cgroup.io.latency_ns", offsetof(struct cg_fig, io_lat_ns) },
};

static struct ctl_conn ctl_req, ctl_ev;
static char tel_cg[3][PATH_MAX];

/* @cg relative to the cgroup v2 mount, as the protocol names it. */
static const char *cg_rel(const char *cg)
{
	return cg + strlen(CG_ROOT "/");
}

/* Parse a cgroup.show reply; false (and the reply in ctx->reason) if it does not parse. */
static bool parse_fig(struct ctx *ctx, const char *reply, struct cg_fig *f)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fig_keys); i++) {
		if (!json_u64(reply, fig_keys[i].key, (uint64_t *)((char *)f + fig_keys[i].off))) {
			fail(ctx, "no %s in the cgroup.show reply: %.300s", fig_keys[i].key, reply);
			return false;
		}
	}
	return true;
}

static enum result show_cg(struct ctx *ctx, const char *cg, struct cg_fig *f)
{
	char req[PATH_MAX + 64], reply[16384];
	int r;

	snprintf(req, sizeof(req), "{\"op\":\"cgroup.show\",\"cgroup\":\"%s\"}", cg_rel(cg));
	r = ctl_call(&ctl_req, req, reply, sizeof(reply));
	if (r < 0)
		return fail(ctx, "cgroup.show %s: %s", cg_rel(cg), strerror(-r));
	f->t_ns = now_ns();
	if (!strstr(reply, "\"ok\":true"))
		return fail(ctx, "cgroup.show %s: %.300s", cg_rel(cg), reply);
	return parse_fig(ctx, reply, f) ? RES_PASS : RES_FAIL;
}

/*
 * The daemon learns a new cgroup from its mkdir event: wait until it knows
 * @cg (5 s), and check that its id is the directory's inode.
 */
static enum result await_cg(struct ctx *ctx, const char *cg, struct cg_fig *f)
{
	uint64_t end = now_ns() + 5000000000ULL;
	struct stat st;

	if (stat(cg, &st) < 0)
		return fail(ctx, "stat %s: %s", cg, strerror(errno));
	while (show_cg(ctx, cg, f) != RES_PASS) {
		if (now_ns() > end || !strstr(ctx->reason, "no such cgroup"))
			return RES_FAIL;
		sleep_ms(50);
	}
	ctx->reason[0] = '\0';
	if (f->id != (uint64_t)st.st_ino)
		return fail(ctx, "cgroup.show %s says id %llu, the directory's inode is %llu",
			    cg_rel(cg), (unsigned long long)f->id, (unsigned long long)st.st_ino);
	return RES_PASS;
}

/* Start the daemon, open a request connection, create @n cgroups the daemon knows. */
static enum result telemetry_setup(struct ctx *ctx, const char *const *names, int n)
{
	struct cg_fig f;
	enum result res;
	int i, r;

	res = daemon_start(ctx);
	if (res != RES_PASS)
		return res;
	r = ctl_open(&ctl_req, ctx->sock);
	if (r < 0)
		return fail(ctx, "connecting to %s: %s", ctx->sock, strerror(-r));
	for (i = 0; i < n; i++) {
		if (cg_new(ctx, names[i], tel_cg[i], sizeof(tel_cg[i])) < 0)
			return fail(ctx, "cannot create cgroup %s: %s", names[i], strerror(errno));
		res = await_cg(ctx, tel_cg[i], &f);
		if (res != RES_PASS)
			return res;
	}
	return RES_PASS;
}

static void sleeper(struct ctx *ctx, void *arg)
{
	for (;;)
		sleep_ms((unsigned int)(uintptr_t)arg);
}

/* ---- telemetry: OOM kill ---- */

/* Touch @arg bytes of anonymous memory, page by page; returning means no OOM kill. */
static void mem_hog(struct ctx *ctx, void *arg)
{
	size_t len = (size_t)(uintptr_t)arg, off;
	char *p;

	prctl(PR_SET_NAME, "vmtest-hog");
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		atomic_store(&ctx->worker_err, errno);
		_exit(1);
	}
	for (off = 0; off < len; off += 4096) {
		p[off] = 1;
		atomic_store(&ctx->bytes, off + 4096);
	}
}

static enum result telemetry_oom_setup(struct ctx *ctx)
{
	static const char *const names[] = { "victim" };
	enum result res;
	int r;

	res = telemetry_setup(ctx, names, 1);
	if (res != RES_PASS)
		return res;
	r = cg_write(tel_cg[0], "memory.max", "%llu", 32 * MiB);
	if (r < 0)
		return fail(ctx, "writing memory.max: %s", strerror(-r));
	/* Without swap configured the file may be absent: nothing to turn off then. */
	r = cg_write(tel_cg[0], "memory.swap.max", "0");
	if (r < 0 && r != -ENOENT)
		return fail(ctx, "writing memory.swap.max: %s", strerror(-r));
	return RES_PASS;
}

/*
 * Several kills in a row, each victim reaped by its parent the moment it dies,
 * as a container runtime does: with the pid-only mark_victim (before 6.8, and
 * not backported; Debian's 6.1 has the task flavor) the daemon must read
 * /proc/PID/cgroup before that.
 */
#define OOM_KILLS 3

static enum result telemetry_oom_run(struct ctx *ctx)
{
	const char *victim = tel_cg[0];
	uint64_t kills0 = 0, kills1 = 0, v, end;
	char line[4096], ev[32], ev_cg[PATH_MAX], comm[32];
	char *argv[] = {
		CGPILOT, "--socket", ctx->sock, "-j", "cgroup", "show", (char *)cg_rel(victim), NULL
	};
	char out[16384];
	struct {
		pid_t pid;
		bool seen;
		uint64_t id;
		char cg[PATH_MAX];
	} victims[OOM_KILLS] = { 0 };
	const char *flavor;
	struct cg_fig f;
	struct stat st;
	int status, nev = 0, nseen = 0, i, r;

	if (stat(victim, &st) < 0)
		return fail(ctx, "stat %s: %s", victim, strerror(errno));
	r = ctl_open(&ctl_ev, ctx->sock);
	if (r == 0)
		r = ctl_call(&ctl_ev, "{\"op\":\"subscribe\",\"events\":[\"oom\"]}", line,
			     sizeof(line));
	if (r < 0)
		return fail(ctx, "subscribing to oom events: %s", strerror(-r));
	if (!strstr(line, "\"ok\":true"))
		return fail(ctx, "subscribe: %.300s", line);
	r = ctl_call(&ctl_req, "{\"op\":\"status\"}", out, sizeof(out));
	if (r < 0)
		return fail(ctx, "status: %s", strerror(-r));
	if (strstr(out, "\"oom_victim_task\":true"))
		flavor = "task";
	else if (strstr(out, "\"oom_victim_pid\":true"))
		flavor = "pid";
	else
		flavor = NULL;
	if (!flavor)
		return fail(ctx, "the daemon has no mark_victim program: %.300s", out);
	info(ctx, "mark_victim flavor: %s", flavor);
	cg_read_key(victim, "memory.events", "oom_kill", &kills0);

	for (i = 0; i < OOM_KILLS; i++) {
		atomic_store(&ctx->bytes, 0);
		victims[i].pid = spawn(ctx, victim, -1, mem_hog, (void *)(uintptr_t)(128 * MiB));
		if (victims[i].pid < 0)
			return fail(ctx, "cannot start the memory hog: %s",
				    strerror(-victims[i].pid));
		/* Blocking: the test's deadline bounds it. */
		if (waitpid(victims[i].pid, &status, 0) != victims[i].pid)
			return fail(ctx, "waitpid: %s", strerror(errno));
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			return fail(ctx,
				    "touching 128 MiB under memory.max 32 MiB was not OOM-killed "
				    "(%s %d after %llu MiB)",
				    WIFSIGNALED(status) ? "signal" : "status",
				    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
				    (unsigned long long)(atomic_load(&ctx->bytes) / MiB));
	}
	cg_read_key(victim, "memory.events", "oom_kill", &kills1);
	info(ctx, "%d hogs SIGKILLed after touching ~%llu MiB; memory.events oom_kill %llu -> %llu",
	     OOM_KILLS, (unsigned long long)(atomic_load(&ctx->bytes) / MiB),
	     (unsigned long long)kills0, (unsigned long long)kills1);
	if (kills1 - kills0 != OOM_KILLS)
		return fail(ctx, "the kernel counted %llu oom_kill in memory.events for %d kills",
			    (unsigned long long)(kills1 - kills0), OOM_KILLS);

	/* Their events (the daemon reads the ring buffer at once; allow 10 s). */
	for (end = now_ns() + 10000000000ULL; nseen < OOM_KILLS && now_ns() < end;) {
		r = ctl_read_line(&ctl_ev, line, sizeof(line), (end - now_ns()) / 1000000 + 1);
		if (r == -ETIMEDOUT)
			break;
		if (r < 0)
			return fail(ctx, "reading the event stream: %s", strerror(-r));
		if (!json_str(line, "event", ev, sizeof(ev)) || !streq(ev, "oom"))
			continue;
		nev++;
		info(ctx, "event: %s", line);
		if (!json_u64(line, "pid", &v))
			return fail(ctx, "oom event without a pid: %.300s", line);
		for (i = 0; i < OOM_KILLS && victims[i].pid != (pid_t)v; i++)
			;
		if (i == OOM_KILLS || victims[i].seen)
			continue;
		victims[i].seen = true;
		nseen++;
		if (!json_u64(line, "id", &victims[i].id))
			return fail(ctx, "oom event without an id: %.300s", line);
		ev_cg[0] = comm[0] = '\0';
		json_str(line, "cgroup", ev_cg, sizeof(ev_cg));
		json_str(line, "comm", comm, sizeof(comm));
		snprintf(victims[i].cg, sizeof(victims[i].cg), "%s", ev_cg);
	}
	for (i = 0; i < OOM_KILLS; i++) {
		if (!victims[i].seen)
			return fail(ctx,
				    "no oom event for pid %d (kill %d of %d) within 10 s; "
				    "%d oom events in all",
				    victims[i].pid, i + 1, OOM_KILLS, nev);
		if (victims[i].id != (uint64_t)st.st_ino || !streq(victims[i].cg, cg_rel(victim)))
			return fail(ctx,
				    "oom event for pid %d (kill %d of %d) attributed to id %llu "
				    "cgroup \"%s\", want id %llu \"%s\"%s",
				    victims[i].pid, i + 1, OOM_KILLS,
				    (unsigned long long)victims[i].id, victims[i].cg,
				    (unsigned long long)st.st_ino, cg_rel(victim),
				    victims[i].id ? "" :
						    " (pid-only mark_victim: the victim was reaped "
						    "before the daemon read /proc/PID/cgroup)");
	}

	/* The count, through the CLI. */
	if (access(CGPILOT, X_OK) < 0)
		return skip(ctx,
			    "cgpilot (CLI) is not in the initramfs (build it first: make all)");
	r = run_capture(argv, out, sizeof(out), 30000, &status);
	if (r < 0)
		return fail(ctx, "cgpilot -j cgroup show did not finish: %s", strerror(-r));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fail(ctx, "cgpilot -j cgroup show failed (status %d): %.200s",
			    WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
	if (!parse_fig(ctx, out, &f))
		return RES_FAIL;
	info(ctx,
	     "all %d events of id %llu \"%s\", comm \"%s\"; cgpilot cgroup show: oom_kills %llu",
	     OOM_KILLS, (unsigned long long)st.st_ino, cg_rel(victim), comm,
	     (unsigned long long)f.oom_kills);
	if (f.oom_kills != kills1)
		return fail(ctx, "cgroup show counts memory.oom_kills %llu, memory.events %llu",
			    (unsigned long long)f.oom_kills, (unsigned long long)kills1);
	return RES_PASS;
}

/* ---- telemetry: memcg reclaim stall ---- */

static enum result telemetry_reclaim_setup(struct ctx *ctx)
{
	static const char *const names[] = { "high", "free", "idle" };
	enum result res;
	int r;

	if (needs_disk(ctx) != RES_PASS)
		return RES_SKIP;
	res = telemetry_setup(ctx, names, 3);
	if (res != RES_PASS)
		return res;
	r = cg_write(tel_cg[0], "memory.high", "%llu", 16 * MiB);
	if (r < 0)
		return fail(ctx, "writing memory.high: %s", strerror(-r));
	write_file("/proc/sys/vm/drop_caches", "3");
	return RES_PASS;
}

static enum result telemetry_reclaim_run(struct ctx *ctx)
{
	const uint64_t len = 64 * MiB;
	struct cg_fig f0[3], f1[3];
	uint64_t high0 = 0, high1 = 0, peak[2], t0, t1, dt[2];
	uint64_t rec[3], cnt[3];
	int i, r;

	if (spawn(ctx, tel_cg[2], -1, sleeper, (void *)(uintptr_t)10) < 0)
		return fail(ctx, "cannot start the idle cgroup's sleeper");
	for (i = 0; i < 3; i++)
		if (show_cg(ctx, tel_cg[i], &f0[i]) != RES_PASS)
			return RES_FAIL;
	cg_read_key(tel_cg[0], "memory.events", "high", &high0);
	/* The same page-cache read squeezed by memory.high and free of it. */
	for (i = 0; i < 2; i++) {
		t0 = now_ns();
		r = cached_read(ctx, tel_cg[i], i * len, len, &peak[i]);
		t1 = now_ns();
		if (r < 0)
			return fail(ctx, "reading %s in %s: %s", DISK, cg_rel(tel_cg[i]),
				    strerror(-r));
		dt[i] = t1 - t0;
	}
	cg_read_key(tel_cg[0], "memory.events", "high", &high1);
	for (i = 0; i < 3; i++) {
		if (show_cg(ctx, tel_cg[i], &f1[i]) != RES_PASS)
			return RES_FAIL;
		rec[i] = f1[i].reclaim_ns - f0[i].reclaim_ns;
		cnt[i] = f1[i].reclaim_count - f0[i].reclaim_count;
	}
	info(ctx,
	     "64 MiB read: memory.high 16 MiB: %.0f ms, peak %.1f MiB, %llu high events, "
	     "reclaim %.1f ms in %llu stalls (%.1f%% of the read); unlimited: %.0f ms, "
	     "peak %.1f MiB, reclaim %llu ns in %llu; idle: %llu ns in %llu",
	     dt[0] / 1e6, (double)peak[0] / MiB, (unsigned long long)(high1 - high0), rec[0] / 1e6,
	     (unsigned long long)cnt[0], 100.0 * rec[0] / dt[0], dt[1] / 1e6, (double)peak[1] / MiB,
	     (unsigned long long)rec[1], (unsigned long long)cnt[1], (unsigned long long)rec[2],
	     (unsigned long long)cnt[2]);
	if (high1 <= high0)
		return fail(ctx, "memory.events high did not move: no squeeze to measure");
	if (rec[0] == 0 || cnt[0] == 0)
		return fail(ctx,
			    "reclaim_ns %llu in %llu stalls for a cgroup squeezed by memory.high "
			    "(%llu high events)",
			    (unsigned long long)rec[0], (unsigned long long)cnt[0],
			    (unsigned long long)(high1 - high0));
	if (rec[0] > dt[0])
		return fail(ctx, "reclaim stall %.1f ms longer than the read itself, %.1f ms",
			    rec[0] / 1e6, dt[0] / 1e6);
	if (rec[1] || rec[2])
		return fail(ctx,
			    "reclaim stall without memory.high: %llu ns (reader), %llu ns (idle)",
			    (unsigned long long)rec[1], (unsigned long long)rec[2]);
	return RES_PASS;
}

/* ---- telemetry: run-queue delay ---- */

/* The kernel's own run-queue delay of a task: /proc/PID/schedstat, 2nd field. */
static int run_delay_ns(pid_t pid, uint64_t *ret_ns)
{
	char path[64], buf[128];
	unsigned long long run, delay;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	r = read_file(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	if (sscanf(buf, "%llu %llu", &run, &delay) != 2)
		return -EINVAL;
	*ret_ns = delay;
	return 0;
}

static enum result telemetry_runqueue_setup(struct ctx *ctx)
{
	static const char *const names[] = { "busy", "idle" };

	return telemetry_setup(ctx, names, 2);
}

/* Sum of the kernel's run-queue delay of @n tasks. */
static int run_delay_sum(const pid_t *pids, int n, uint64_t *ret_ns)
{
	uint64_t v;
	int i, r;

	*ret_ns = 0;
	for (i = 0; i < n; i++) {
		r = run_delay_ns(pids[i], &v);
		if (r < 0)
			return r;
		*ret_ns += v;
	}
	return 0;
}

static enum result telemetry_runqueue_run(struct ctx *ctx)
{
	struct cg_fig f0[2], f1[2];
	uint64_t kb0, kb1, ki0, ki1;
	double busy, idle, kbusy, kidle, dt;
	pid_t pids[4];
	int i, r;

	/* Three loops on one CPU: each waits about 2/3 of the time, 2 s per s together. */
	for (i = 0; i < 3; i++) {
		pids[i] = spawn(ctx, tel_cg[0], 0, busy_loop, NULL);
		if (pids[i] < 0)
			return fail(ctx, "cannot start the busy loops");
	}
	/* Idle: wakes every 50 ms, anywhere, and sleeps again at once. */
	pids[3] = spawn(ctx, tel_cg[1], -1, sleeper, (void *)(uintptr_t)50);
	if (pids[3] < 0)
		return fail(ctx, "cannot start the idle cgroup's sleeper");
	sleep_ms(300);
	r = run_delay_sum(pids, 3, &kb0);
	if (r == 0)
		r = run_delay_sum(pids + 3, 1, &ki0);
	if (r < 0)
		return fail(ctx, "cannot read /proc/PID/schedstat: %s", strerror(-r));
	if (show_cg(ctx, tel_cg[0], &f0[0]) != RES_PASS ||
	    show_cg(ctx, tel_cg[1], &f0[1]) != RES_PASS)
		return RES_FAIL;
	sleep_ms(1500);
	if (show_cg(ctx, tel_cg[0], &f1[0]) != RES_PASS ||
	    show_cg(ctx, tel_cg[1], &f1[1]) != RES_PASS)
		return RES_FAIL;
	r = run_delay_sum(pids, 3, &kb1);
	if (r == 0)
		r = run_delay_sum(pids + 3, 1, &ki1);
	if (r < 0)
		return fail(ctx, "cannot read /proc/PID/schedstat: %s", strerror(-r));
	dt = (double)(f1[0].t_ns - f0[0].t_ns);
	busy = (double)(f1[0].wait_ns - f0[0].wait_ns) / dt;
	idle = (double)(f1[1].wait_ns - f0[1].wait_ns) / dt;
	kbusy = (double)(kb1 - kb0) / dt;
	kidle = (double)(ki1 - ki0) / dt;
	info(ctx,
	     "run-queue delay per second of wall time: 3 loops on CPU 0: %.3f s in %llu waits "
	     "(schedstat run_delay %.3f s); idle sleeper: %.5f s in %llu waits (schedstat %.5f s)",
	     busy, (unsigned long long)(f1[0].wait_count - f0[0].wait_count), kbusy, idle,
	     (unsigned long long)(f1[1].wait_count - f0[1].wait_count), kidle);
	if (busy < 1.0 || busy > 3.0)
		return fail(ctx, "3 loops on one CPU waited %.3f s per s (want 1.0-3.0, ideally 2)",
			    busy);
	if (busy < 0.7 * kbusy || busy > 1.4 * kbusy)
		return fail(ctx,
			    "daemon: %.3f s per s of run-queue delay, schedstat run_delay %.3f",
			    busy, kbusy);
	if (idle > busy / 50)
		return fail(ctx, "idle cgroup waited %.4f s per s, the contended one %.3f", idle,
			    busy);
	return RES_PASS;
}

/* ---- telemetry: I/O through the blkcg ---- */

/* rbytes of the scratch disk in the cgroup's io.stat (the blkcg's own count). */
static int io_stat_rbytes(const char *cg, dev_t dev, uint64_t *ret_val)
{
	char path[PATH_MAX + 16], buf[4096], pfx[32], *p;
	int r;

	snprintf(path, sizeof(path), "%s/io.stat", cg);
	r = read_file(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	*ret_val = 0;
	snprintf(pfx, sizeof(pfx), "%u:%u ", major(dev), minor(dev));
	for (p = buf; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, pfx, strlen(pfx)) != 0)
			continue;
		p = strstr(p, "rbytes=");
		if (p)
			*ret_val = strtoull(p + strlen("rbytes="), NULL, 10);
		break;
	}
	return 0;
}

struct io_sample {
	struct cg_fig a, b;
	uint64_t wl_bytes; /* the reader's own count */
	uint64_t blkcg_rbytes;
};

static enum result io_sample(struct ctx *ctx, dev_t dev, struct io_sample *s)
{
	if (show_cg(ctx, tel_cg[0], &s->a) != RES_PASS)
		return RES_FAIL;
	s->wl_bytes = atomic_load(&ctx->bytes);
	io_stat_rbytes(tel_cg[0], dev, &s->blkcg_rbytes);
	return show_cg(ctx, tel_cg[1], &s->b);
}

static enum result telemetry_io_blkcg_setup(struct ctx *ctx)
{
	static const char *const names[] = { "a", "b" };

	if (needs_disk(ctx) != RES_PASS)
		return RES_SKIP;
	return telemetry_setup(ctx, names, 2);
}

static enum result telemetry_io_blkcg_run(struct ctx *ctx)
{
	struct read_job job = { .off = 0, .len = 96 * MiB, .direct = true, .loop = true };
	struct io_sample s[4];
	double dt_free, dt_thr, wl_free, wl_thr, d_free, d_thr, lat_us, ratio_wl, ratio_d;
	uint64_t limit, ops;
	struct stat st;
	int r;

	if (stat(DISK, &st) < 0)
		return fail(ctx, "stat %s: %s", DISK, strerror(errno));
	if (spawn(ctx, tel_cg[1], -1, sleeper, (void *)(uintptr_t)10) < 0 ||
	    spawn(ctx, tel_cg[0], -1, disk_reader, &job) < 0)
		return fail(ctx, "cannot start the workloads");
	sleep_ms(200);
	if (io_sample(ctx, st.st_rdev, &s[0]) != RES_PASS)
		return RES_FAIL;
	sleep_ms(1000);
	if (io_sample(ctx, st.st_rdev, &s[1]) != RES_PASS)
		return RES_FAIL;
	if (ctx->worker_err)
		return fail(ctx, "direct reads of %s failed: %s", DISK, strerror(ctx->worker_err));
	dt_free = (double)(s[1].a.t_ns - s[0].a.t_ns) / 1e9;
	wl_free = (double)(s[1].wl_bytes - s[0].wl_bytes) / dt_free;
	d_free = (double)(s[1].a.read_bytes - s[0].a.read_bytes) / dt_free;
	ops = s[1].a.read_ops - s[0].a.read_ops;
	lat_us = ops ? (double)(s[1].a.io_lat_ns - s[0].a.io_lat_ns) / ops / 1e3 : 0;
	info(ctx,
	     "unthrottled: reader %.1f MiB/s, daemon %.1f MiB/s in %llu reads (mean latency "
	     "%.0f us), blkcg io.stat %.1f MiB/s; B: %llu bytes, %llu ops",
	     wl_free / MiB, d_free / MiB, (unsigned long long)ops, lat_us,
	     (double)(s[1].blkcg_rbytes - s[0].blkcg_rbytes) / dt_free / MiB,
	     (unsigned long long)(s[1].b.read_bytes + s[1].b.write_bytes),
	     (unsigned long long)(s[1].b.read_ops + s[1].b.write_ops));
	if (wl_free < 4.0 * MiB)
		return fail(ctx, "unthrottled direct reads only %.1f MiB/s, cannot compare",
			    wl_free / MiB);
	if (ops == 0 || s[1].a.io_lat_ns <= s[0].a.io_lat_ns)
		return fail(ctx, "A read %.1f MiB/s but the daemon saw %llu reads, latency %llu ns",
			    wl_free / MiB, (unsigned long long)ops,
			    (unsigned long long)(s[1].a.io_lat_ns - s[0].a.io_lat_ns));
	if (d_free < 0.8 * wl_free || d_free > 1.25 * wl_free)
		return fail(ctx, "daemon counts %.1f MiB/s for A, the reader %.1f MiB/s",
			    d_free / MiB, wl_free / MiB);
	if (s[1].b.read_bytes || s[1].b.write_bytes || s[1].b.read_ops || s[1].b.write_ops)
		return fail(ctx, "B did no disk I/O but the daemon counts %llu bytes in %llu ops",
			    (unsigned long long)(s[1].b.read_bytes + s[1].b.write_bytes),
			    (unsigned long long)(s[1].b.read_ops + s[1].b.write_ops));

	/* A quarter of the unthrottled rate, in whole 64 KiB reads per second. */
	limit = ((uint64_t)(wl_free / 4) / (64 * 1024)) * 64 * 1024;
	if (limit < 64 * 1024)
		limit = 64 * 1024;
	r = cg_write(tel_cg[0], "io.max", "%u:%u rbps=%llu", major(st.st_rdev), minor(st.st_rdev),
		     (unsigned long long)limit);
	if (r < 0)
		return fail(ctx, "writing io.max: %s", strerror(-r));
	sleep_ms(400);
	if (io_sample(ctx, st.st_rdev, &s[2]) != RES_PASS)
		return RES_FAIL;
	sleep_ms(1500);
	if (io_sample(ctx, st.st_rdev, &s[3]) != RES_PASS)
		return RES_FAIL;
	dt_thr = (double)(s[3].a.t_ns - s[2].a.t_ns) / 1e9;
	wl_thr = (double)(s[3].wl_bytes - s[2].wl_bytes) / dt_thr;
	d_thr = (double)(s[3].a.read_bytes - s[2].a.read_bytes) / dt_thr;
	ratio_wl = wl_thr / wl_free;
	ratio_d = d_thr / d_free;
	info(ctx,
	     "rbps=%.1f MiB/s: reader %.1f MiB/s (x%.3f), daemon %.1f MiB/s (x%.3f), "
	     "blkcg io.stat %.1f MiB/s; B: %llu bytes",
	     (double)limit / MiB, wl_thr / MiB, ratio_wl, d_thr / MiB, ratio_d,
	     (double)(s[3].blkcg_rbytes - s[2].blkcg_rbytes) / dt_thr / MiB,
	     (unsigned long long)(s[3].b.read_bytes + s[3].b.write_bytes));
	if (ctx->worker_err)
		return fail(ctx, "direct reads of %s failed: %s", DISK, strerror(ctx->worker_err));
	if (ratio_wl > 0.5)
		return fail(ctx, "io.max rbps at 1/4 left the reader at x%.2f of its rate",
			    ratio_wl);
	if (ratio_wl <= 0)
		return fail(ctx, "the throttled reader stalled");
	if (ratio_d < 0.75 * ratio_wl || ratio_d > 1.33 * ratio_wl)
		return fail(ctx,
			    "under io.max the reader fell to x%.3f, the daemon's count to x%.3f",
			    ratio_wl, ratio_d);
	if (s[3].b.read_bytes || s[3].b.write_bytes)
		return fail(ctx, "B did no disk I/O but the daemon counts %llu bytes",
			    (unsigned long long)(s[3].b.read_bytes + s[3].b.write_bytes));
	return RES_PASS;
}

/* ---- the table ---- */

static const struct guest_test tests[] = {
	/* Enforcement by the kernel alone, measured on the workload. */
	{
		.name = "cpu_max",
		.desc = "cpu.max 20% quota holds a busy loop near 0.2 CPU",
		.setup = cpu_max_setup,
		.run = cpu_max_run,
	},
	{
		.name = "cpu_weight",
		.desc = "weights 400:100 on one CPU split it near 4:1",
		.setup = cpu_weight_setup,
		.run = cpu_weight_run,
	},
	{
		.name = "cpuset",
		.desc = "cpuset.cpus=1 confines two loops to CPU 1",
		.setup = cpuset_setup,
		.run = cpuset_run,
	},
	{
		.name = "memory_high",
		.desc = "memory.high keeps page cache usage near the limit",
		.setup = memory_high_setup,
		.run = memory_high_run,
	},
	{
		.name = "io_max",
		.desc = "io.max rbps throttles direct reads of the virtio disk",
		.setup = io_max_setup,
		.run = io_max_run,
	},
	/* cgpilotd end to end. */
	{
		.name = "daemon_full",
		.desc = "cgpilotd loads and attaches its BPF, status mode is full",
		.setup = daemon_start,
		.run = daemon_full_run,
		.cleanup = daemon_cleanup,
	},
	/*
	 * Telemetry: each test starts its own daemon, creates its cgroups after
	 * it and compares the daemon's figures (cgroup.show, subscribe) with the
	 * kernel's own counts and the workload's.
	 */
	{
		.name = "telemetry_oom",
		.desc = "an OOM kill under memory.max arrives as an event of that cgroup",
		.setup = telemetry_oom_setup,
		.run = telemetry_oom_run,
		.cleanup = daemon_cleanup,
	},
	{
		.name = "telemetry_reclaim",
		.desc = "memory.high reclaim stall is measured, none without the squeeze",
		.setup = telemetry_reclaim_setup,
		.run = telemetry_reclaim_run,
		.cleanup = daemon_cleanup,
	},
	{
		.name = "telemetry_runqueue",
		.desc = "run-queue delay of 3 loops on one CPU, near zero for an idle cgroup",
		.setup = telemetry_runqueue_setup,
		.run = telemetry_runqueue_run,
		.cleanup = daemon_cleanup,
	},
	{
		.name = "telemetry_io_blkcg",
		.desc = "direct I/O bytes and latency attributed by blkcg; io.max seen",
		.setup = telemetry_io_blkcg_setup,
		.run = telemetry_io_blkcg_run,
		.cleanup = daemon_cleanup,
	},
};

/* ---- runner ---- */

static void reap_all(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static void cleanup_ctx(const struct guest_test *t, struct ctx *ctx)
{
	int i;

	for (i = 0; i < ctx->npids; i++)
		if (ctx->pids[i] > 0)
			kill(ctx->pids[i], SIGKILL);
	if (t->cleanup)
		t->cleanup(ctx);
	for (i = ctx->ncg - 1; i >= 0; i--) {
		int r = cg_remove(ctx->cg[i]);

		if (r < 0)
			printf("  [%s] cannot remove %s: %s\n", ctx->name, ctx->cg[i],
			       strerror(-r));
	}
	reap_all();
}

static enum result run_test(const struct guest_test *t, struct ctx *ctx)
{
	enum result *res;
	pid_t pid;
	int st, r;

	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		return fail(ctx, "mmap: %s", strerror(errno));
	*res = RES_FAIL;
	snprintf(ctx->reason, sizeof(ctx->reason), "test process died");
	pid = fork();
	if (pid < 0) {
		munmap(res, sizeof(*res));
		return fail(ctx, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		enum result x;

		ctx->reason[0] = '\0';
		x = t->setup ? t->setup(ctx) : RES_PASS;
		if (x == RES_PASS)
			x = t->run(ctx);
		*res = x;
		_exit(0);
	}
	r = wait_worker(pid, TEST_DEADLINE_S * 1000, &st);
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		*res = fail(ctx, "no result within %d s", TEST_DEADLINE_S);
	} else if (WIFSIGNALED(st)) {
		*res = fail(ctx, "test process killed by signal %d", WTERMSIG(st));
	}
	cleanup_ctx(t, ctx);
	r = *res;
	munmap(res, sizeof(*res));
	return r;
}

static void report(FILE *out, const struct guest_test *t, enum result res, const char *reason)
{
	if (!out)
		return;
	fprintf(out, "@@VMTEST RESULT %s %s%s%s\n", t->name, result_name[res], reason[0] ? " " : "",
		reason);
	fflush(out);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: guest_tests [-v] [--list] [--results FILE] [NAME...]\n"
		   "Runs the vmtest guest tests (all, or the NAMEs) as root in a guest.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "list", no_argument, NULL, 'l' },
		{ "results", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *results = NULL;
	bool list = false, any_fail = false;
	FILE *rf = NULL;
	struct ctx *ctx;
	size_t i;
	int c, k;

	while ((c = getopt_long(argc, argv, "vlr:h", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			verbose = true;
			break;
		case 'l':
			list = true;
			break;
		case 'r':
			results = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	for (k = optind; k < argc; k++) {
		for (i = 0; i < ARRAY_SIZE(tests); i++)
			if (streq(argv[k], tests[i].name))
				break;
		if (i == ARRAY_SIZE(tests)) {
			fprintf(stderr, "Error: no test named '%s' (see --list)\n", argv[k]);
			return 2;
		}
	}
	if (list) {
		for (i = 0; i < ARRAY_SIZE(tests); i++)
			printf("%s\t%s\n", tests[i].name, tests[i].desc);
		return 0;
	}
	if (results) {
		rf = fopen(results, "we");
		if (!rf) {
			fprintf(stderr, "Error: cannot open %s: %s\n", results, strerror(errno));
			return 2;
		}
	}
	/* Workers of a test that died are reparented here and reaped in cleanup. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	setvbuf(stdout, NULL, _IOLBF, 0);
	ctx = mmap(NULL, sizeof(*ctx), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctx == MAP_FAILED) {
		perror("mmap");
		return 2;
	}

	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		const struct guest_test *t = &tests[i];
		enum result res;
		uint64_t t0;
		bool wanted = optind == argc;

		for (k = optind; k < argc && !wanted; k++)
			wanted = streq(argv[k], t->name);
		if (!wanted)
			continue;
		memset(ctx, 0, sizeof(*ctx));
		ctx->name = t->name;
		printf("vmtest: %s: %s\n", t->name, t->desc);
		t0 = now_ns();
		res = run_test(t, ctx);
		if (res == RES_SKIP && !ctx->reason[0])
			snprintf(ctx->reason, sizeof(ctx->reason), "skipped without a reason");
		if (res != RES_PASS && res != RES_SKIP)
			any_fail = true;
		printf("@@VMTEST RESULT %s %s%s%s (%.1f s)\n", t->name, result_name[res],
		       ctx->reason[0] ? " " : "", ctx->reason, (now_ns() - t0) / 1e9);
		report(rf, t, res, ctx->reason);
	}
	if (rf)
		fclose(rf);
	return any_fail ? 1 : 0;
}
