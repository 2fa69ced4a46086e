// SPDX-License-Identifier: Apache-2.0
/*
 * Benchmarks that need enforcement (profile "bench", `make bench`; never in
 * `make vmtest`): the cost of one admission, from container.admit to the
 * reply with the cgroup made and its knobs written, with 1, 100 and 1,000
 * containers already admitted, beside the bare mkdir and the same writes
 * done by this program in the same run. Prints p50 and p99 of both and the
 * ratio; not pass/fail.
 */
#include "guest.h"

#define BENCH_SAMPLES 200
#define BENCH_ROOT "cgpilot.slice"
#define BARE CG_ROOT "/bench-bare"

/* the cost of an admission on one connection, not [control] changes_per_s */
static const char bench_conf[] = "[containers]\n"
				 "root = " BENCH_ROOT "\n"
				 "start_deadline_s = 86400\n"
				 "max_containers = 4000\n"
				 "[control]\n"
				 "changes_per_s = 0\n"
				 "[audit]\n"
				 "dir = /run/vmtest-bench-audit\n";

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *v, unsigned n, unsigned p)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[(n - 1) * p / 100];
}

/* One admission as the bench measures it: a burstable container whose knobs
 * differ from a new cgroup's defaults in four files (cpuset.cpus, cpu.weight,
 * cpu.max, memory.max; memory.low and io.weight are left at the kernel's
 * values, so the daemon writes neither). Returns the container id, 0 on failure. */
static uint64_t admit(struct ctx *ctx, struct ctl_conn *c, const char *name, uint64_t *ret_us)
{
	char req[256], reply[4096];
	uint64_t t0, id = 0;

	snprintf(req, sizeof(req),
		 "{\"op\":\"container.admit\",\"class\":\"burstable\",\"name\":\"%s\","
		 "\"cpu_request_mc\":1,\"cpu_limit_mc\":1000,\"memory_limit\":67108864}",
		 name);
	t0 = now_us();
	if (ctl_call(c, req, reply, sizeof(reply)) < 0)
		return 0;
	if (ret_us)
		*ret_us = now_us() - t0;
	if (!json_u64(reply, "container.id", &id))
		info(ctx, "admit %s: %s", name, reply);
	return id;
}

static bool release(struct ctl_conn *c, uint64_t id)
{
	char req[128], reply[1024];

	snprintf(req, sizeof(req), "{\"op\":\"container.release\",\"id\":%llu}",
		 (unsigned long long)id);
	return ctl_call(c, req, reply, sizeof(reply)) >= 0 && strstr(reply, "\"ok\":true");
}

/* mkdir and the same four writes, as a launcher without cgpilotd would. */
static int bare(const char *name, uint64_t *ret_us)
{
	char p[PATH_MAX];
	uint64_t t0 = now_us();
	int r = 0;

	snprintf(p, sizeof(p), "%s/%s", BARE, name);
	if (mkdir(p, 0755) < 0)
		return -errno;
	r |= cg_write(p, "cpuset.cpus", "0-1");
	r |= cg_write(p, "cpu.weight", "1");
	r |= cg_write(p, "cpu.max", "100000 100000");
	r |= cg_write(p, "memory.max", "67108864");
	*ret_us = now_us() - t0;
	rmdir(p);
	return r;
}

/* CPU time the daemon has used in user space and in the kernel (us). */
static void daemon_cpu_us(pid_t pid, uint64_t *user, uint64_t *sys)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	long hz = sysconf(_SC_CLK_TCK);

	*user = *sys = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file(path, buf, sizeof(buf)) < 0 || !(p = strrchr(buf, ')')))
		return;
	/* after the name: state and 10 more fields, then utime and stime */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return;
	*user = ut * 1000000ULL / (unsigned long long)(hz > 0 ? hz : 100);
	*sys = st * 1000000ULL / (unsigned long long)(hz > 0 ? hz : 100);
}

enum result bench_admit_setup(struct ctx *ctx)
{
	mkdir("/run/vmtest-bench-audit", 0750);
	if (write_file(CG_ROOT "/cgroup.subtree_control", "+cpu +cpuset +memory +io") < 0)
		return fail(ctx, "cannot enable controllers at the root: %s", strerror(errno));
	if (mkdir(BARE, 0755) < 0 && errno != EEXIST)
		return fail(ctx, "mkdir %s: %s", BARE, strerror(errno));
	if (write_file(BARE "/cgroup.subtree_control", "+cpu +cpuset +memory +io") < 0)
		return fail(ctx, "cannot enable controllers in %s: %s", BARE, strerror(errno));
	return daemon_start_with(ctx, bench_conf, NULL);
}

enum result bench_admit_run(struct ctx *ctx)
{
	static const unsigned levels[] = { 1, 100, 1000 };
	static uint64_t fill[1000];
	uint64_t d[BENCH_SAMPLES], b[BENCH_SAMPLES], p[BENCH_SAMPLES];
	struct ctl_conn c;
	unsigned have = 0;
	char name[32];

	if (ctl_open(&c, ctx->sock) < 0)
		return fail(ctx, "cannot connect to %s", ctx->sock);
	for (unsigned l = 0; l < ARRAY_SIZE(levels); l++) {
		while (have < levels[l]) {
			snprintf(name, sizeof(name), "fill%u", have);
			fill[have] = admit(ctx, &c, name, NULL);
			if (!fill[have])
				return fail(ctx, "filler %u was not admitted", have);
			have++;
		}
		uint64_t u0, s0, u1, s1;

		daemon_cpu_us(ctx->daemon_pid, &u0, &s0);

		/* interleaved, so that drift hits both alike */
		for (unsigned i = 0; i < BENCH_SAMPLES; i++) {
			char reply[256];
			uint64_t id, t0 = now_us();

			/* the control socket's round trip alone, for scale */
			if (ctl_call(&c, "{\"op\":\"ping\"}", reply, sizeof(reply)) < 0)
				return fail(ctx, "ping failed");
			p[i] = now_us() - t0;

			snprintf(name, sizeof(name), "m%u", i);
			id = admit(ctx, &c, name, &d[i]);
			if (!id)
				return fail(ctx, "admission %u at %u containers failed", i, have);
			if (!release(&c, id))
				return fail(ctx, "release of %llu failed", (unsigned long long)id);
			if (bare(name, &b[i]))
				return fail(ctx, "bare mkdir + writes failed");
		}
		/* ping, admission and release: the daemon's share of each round */
		daemon_cpu_us(ctx->daemon_pid, &u1, &s1);
		{
			uint64_t d50 = pct(d, BENCH_SAMPLES, 50), d99 = pct(d, BENCH_SAMPLES, 99);
			uint64_t b50 = pct(b, BENCH_SAMPLES, 50), b99 = pct(b, BENCH_SAMPLES, 99);

			printf("bench admit: %4u containers admitted: container.admit p50 %6llu us "
			       "p99 %6llu us | bare mkdir + 4 writes p50 %6llu us p99 %6llu us | "
			       "ratio p50 %.2f p99 %.2f | ping p50 %llu us | "
			       "daemon CPU per ping+admit+release: user %llu us, kernel %llu us\n",
			       have, (unsigned long long)d50, (unsigned long long)d99,
			       (unsigned long long)b50, (unsigned long long)b99,
			       b50 ? (double)d50 / (double)b50 : 0,
			       b99 ? (double)d99 / (double)b99 : 0,
			       (unsigned long long)pct(p, BENCH_SAMPLES, 50),
			       (unsigned long long)((u1 - u0) / BENCH_SAMPLES),
			       (unsigned long long)((s1 - s0) / BENCH_SAMPLES));
			fflush(stdout);
		}
	}
	for (unsigned i = 0; i < have; i++)
		release(&c, fill[i]);
	close(c.fd);
	return RES_PASS;
}

void bench_admit_cleanup(struct ctx *ctx)
{
	daemon_cleanup(ctx);
	rmdir(BARE);
}
