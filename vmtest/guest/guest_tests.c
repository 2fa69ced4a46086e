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
#include "guest.h"

static const char *const result_name[] = {
	[RES_PASS] = "PASS",
	[RES_SKIP] = "SKIP",
	[RES_FAIL] = "FAIL",
};

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
	/*
	 * The allocation core: each test starts its own daemon with a config
	 * of its own ([containers] root cgpilot.slice), talks container.* ops
	 * and reads back what the kernel holds; no timing.
	 */
	{
		.name = "alloc_exclusive",
		.desc = "guaranteed 2 CPUs get one whole core on one node, kept from the shared pool",
		.setup = alloc_exclusive_setup,
		.run = alloc_exclusive_run,
		.cleanup = alloc_cleanup,
		.profiles = PROF_NUMA,
	},
	{
		.name = "run_launcher",
		.desc = "cgpilot-run: pid 1 in its cgroup, cpuset and memory.max from the first "
			"line; exit codes, signals, OOM, kill -9, refusal, an OCI bundle",
		.setup = run_launcher_setup,
		.run = run_launcher_run,
		.cleanup = run_launcher_cleanup,
	},
	{
		.name = "alloc_knobs",
		.desc = "admission writes the class knobs, audited and streamed; kill; memory refusal",
		.setup = alloc_knobs_setup,
		.run = alloc_knobs_run,
		.cleanup = alloc_cleanup,
	},
	{
		.name = "alloc_protection",
		.desc = "memory.min/low of the parents cover their containers; others' raised only as needed",
		.setup = alloc_protection_setup,
		.run = alloc_protection_run,
		.cleanup = alloc_cleanup,
	},
	{
		.name = "alloc_system_cpus",
		.desc = "with reserved_cpus the system slice keeps to them; back on a clean stop",
		.setup = alloc_system_cpus_setup,
		.run = alloc_system_cpus_run,
		.cleanup = alloc_cleanup,
	},
	{
		.name = "qos_cpu",
		.desc = "a guaranteed probe's p99 beside a CPU hog: policy off, then on (at most 0.8)",
		.setup = qos_cpu_setup,
		.run = qos_cpu_run,
		.cleanup = qos_cpu_cleanup,
	},
	{
		.name = "qos_memory",
		.desc = "memory.high of a besteffort container tightened over cold cache, to the floor",
		.setup = qos_memory_setup,
		.run = qos_memory_run,
		.cleanup = qos_cpu_cleanup,
	},
	{
		.name = "qos_memory_adopt",
		.desc = "adopted kubelet pods under the memory loop: handed-over memory.high sized "
			"under kubelet's value, another writer's change left alone, kubelet's "
			"value back at a clean stop",
		.setup = qos_memory_adopt_setup,
		.run = qos_memory_adopt_run,
		.cleanup = qos_memory_adopt_cleanup,
	},
	{
		.name = "qos_guard",
		.desc = "a guaranteed container stalled in memory: the besteffort hog squeezed, "
			"then killed; the protected one kept",
		.setup = qos_guard_setup,
		.run = qos_guard_run,
		.cleanup = qos_guard_cleanup,
	},
	{
		.name = "qos_revoke",
		.desc = "guaranteed use grows until besteffort holds more than the slack: "
			"the besteffort hog squeezed, then killed",
		.setup = qos_revoke_setup,
		.run = qos_revoke_run,
		.cleanup = qos_cpu_cleanup,
	},
	{
		.name = "qos_cpuset",
		.desc = "the cpuset rung gives the hog the CPU where the guaranteed probe "
			"does not wait (BPF's per-CPU view)",
		.setup = qos_cpu_setup,
		.run = qos_cpuset_run,
		.cleanup = qos_cpu_cleanup,
	},
	{
		.name = "qos_io",
		.desc = "a guaranteed reader's I/O latency beside a besteffort writer: io.max "
			"caps the writer, lifted when it stops",
		.setup = qos_io_setup,
		.run = qos_io_run,
		.cleanup = qos_io_cleanup,
	},
	{
		.name = "qos_io_adopt",
		.desc = "adopted kubelet pods under the I/O loop: the besteffort pod's handed-over "
			"io.max capped for a guaranteed pod's reader, given back after",
		.setup = qos_io_adopt_setup,
		.run = qos_io_adopt_run,
		.cleanup = qos_io_adopt_cleanup,
	},
	{
		.name = "qos_adopt",
		.desc = "adopted kubelet pods: a besteffort pod's handed-over cpu.max capped for "
			"a guaranteed pod's scope, another writer's change noticed and not fought",
		.setup = qos_adopt_setup,
		.run = qos_adopt_run,
		.cleanup = qos_adopt_cleanup,
	},
	{
		.name = "alloc_dry_run",
		.desc = "--dry-run admits without a cgroup, audits the writes it did not make",
		.setup = alloc_dry_run_setup,
		.run = alloc_dry_run_run,
		.cleanup = alloc_cleanup,
	},
	{
		.name = "alloc_adopt",
		.desc = "kubelet pod cgroups (systemd and cgroupfs drivers) adopted, nothing written",
		.setup = alloc_adopt_setup,
		.run = alloc_adopt_run,
		.cleanup = alloc_cleanup,
	},
	/* benchmarks (make bench): they print figures, never fail on them */
	{
		.name = "bench_admit",
		.desc = "container.admit at 1, 100, 1000 containers beside bare mkdir + writes",
		.setup = bench_admit_setup,
		.run = bench_admit_run,
		.cleanup = bench_admit_cleanup,
		.profiles = PROF_BENCH,
	},
	{
		.name = "bench_run",
		.desc = "100 containers of /bin/true: cgpilot-run against crun and fork+exec",
		.setup = bench_run_setup,
		.run = bench_run_run,
		.cleanup = run_launcher_cleanup,
		.profiles = PROF_BENCH,
	},
	{
		.name = "bench_qos",
		.desc = "the probe's p99 alone, beside a CPU hog, with cgpilot: ratios (target 1.25)",
		.setup = qos_cpu_setup,
		.run = bench_qos_run,
		.cleanup = qos_cpu_cleanup,
		.profiles = PROF_BENCH,
	},
	{
		.name = "bench_reaction",
		.desc = "the CPU loop's reaction (onset, decision, first write) beside a PSI "
			"trigger's wake-up, 30 trials",
		.setup = bench_reaction_setup,
		.run = bench_reaction_run,
		.cleanup = qos_cpu_cleanup,
		.profiles = PROF_BENCH,
	},
	/* container engines with a given OCI runtime (profile engines) */
	{
		.name = "engines_crun",
		.desc = "podman and containerd (ctr) with crun: exit status, output, detached "
			"run, ps, exec, stop, rm",
		.setup = engines_crun_setup,
		.run = engines_crun_run,
		.cleanup = engines_cleanup,
		.profiles = PROF_ENGINES,
	},
	{
		.name = "engines_image",
		.desc = "the image of make image: podman loads it, reads its entrypoint and "
			"version, runs cgpilotd --version from it",
		.setup = engines_image_setup,
		.run = engines_image_run,
		.cleanup = engines_cleanup,
		.profiles = PROF_ENGINES,
	},
	{
		.name = "engines_cgpilot",
		.desc = "podman and containerd with cgpilot-run as the OCI runtime: the lifecycle, "
			"admission at the engine's path, exclusive CPUs, degraded and refused, "
			"the daemon away and back",
		.setup = engines_cgpilot_setup,
		.run = engines_cgpilot_run,
		.cleanup = engines_cgpilot_cleanup,
		.profiles = PROF_ENGINES,
	},
	{
		.name = "bench_engines",
		.desc = "podman run --rm and ctr run --rm of /bin/true, 20 each with crun and with "
			"cgpilot-run, interleaved (make bench)",
		.setup = bench_engines_setup,
		.run = bench_engines_run,
		.cleanup = engines_cgpilot_cleanup,
		.profiles = PROF_BENCH,
	},
};

/* ---- profiles ---- */

static const struct {
	const char *name;
	unsigned bit;
} profile_names[] = {
	{ "default", PROF_DEFAULT },
	{ "numa", PROF_NUMA },
	{ "bench", PROF_BENCH },
	{ "engines", PROF_ENGINES },
};

static unsigned test_profiles(const struct guest_test *t)
{
	return t->profiles ? t->profiles : PROF_DEFAULT;
}

static unsigned profile_bit(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(profile_names); i++)
		if (streq(name, profile_names[i].name))
			return profile_names[i].bit;
	return 0;
}

/* "default", "numa", "default,numa" */
static void profiles_str(unsigned mask, char *buf, size_t size)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(profile_names); i++)
		if (mask & profile_names[i].bit)
			off += snprintf(buf + off, size - off, "%s%s", off ? "," : "",
					profile_names[i].name);
}

/* The guest's profile: vmtest.profile= on the kernel command line, else default. */
static const char *cmdline_profile(void)
{
	static char val[32] = "default";
	char buf[4096], *p;

	if (read_file("/proc/cmdline", buf, sizeof(buf)) < 0)
		return val;
	for (p = strtok(buf, " \n"); p; p = strtok(NULL, " \n"))
		if (strncmp(p, "vmtest.profile=", 15) == 0)
			snprintf(val, sizeof(val), "%s", p + 15);
	return val;
}

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
	fprintf(f,
		"Usage: guest_tests [-v] [--list] [--profile P] [--results FILE] [NAME...]\n"
		"Runs the vmtest guest tests (all of the guest's profile, or the NAMEs) as root\n"
		"in a guest. The profile (default, numa, bench, engines) is vmtest.profile= on the\n"
		"kernel command line unless --profile names it; a NAME of another profile is\n"
		"skipped. --list prints NAME, PROFILES and the description, tab-separated.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "list", no_argument, NULL, 'l' },
		{ "results", required_argument, NULL, 'r' },
		{ "profile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *results = NULL, *profile = NULL;
	unsigned prof;
	bool list = false, any_fail = false;
	FILE *rf = NULL;
	struct ctx *ctx;
	size_t i;
	int c, k;

	/* a workload for the launcher's OOM test: touch N MiB, exit 0 if it survived */
	if (argc == 3 && !strcmp(argv[1], "--hog-memory")) {
		size_t n = (size_t)atoi(argv[2]) << 20;
		/* volatile: the stores are the point, not to be optimised away */
		volatile char *m = malloc(n);

		for (size_t i = 0; m && i < n; i += 4096)
			m[i] = 1;
		return m ? 0 : 1;
	}
	while ((c = getopt_long(argc, argv, "vlr:p:h", opts, NULL)) != -1) {
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
		case 'p':
			profile = optarg;
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
		char ps[64];

		for (i = 0; i < ARRAY_SIZE(tests); i++) {
			profiles_str(test_profiles(&tests[i]), ps, sizeof(ps));
			printf("%s\t%s\t%s\n", tests[i].name, ps, tests[i].desc);
		}
		return 0;
	}
	if (!profile)
		profile = cmdline_profile();
	prof = profile_bit(profile);
	if (!prof) {
		fprintf(stderr, "Error: no profile named '%s' (default, numa, bench, engines)\n",
			profile);
		return 2;
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
		bool wanted = optind == argc && (test_profiles(t) & prof);

		for (k = optind; k < argc && !wanted; k++)
			wanted = streq(argv[k], t->name);
		if (!wanted)
			continue;
		memset(ctx, 0, sizeof(*ctx));
		ctx->name = t->name;
		if (!(test_profiles(t) & prof)) {
			char ps[64];

			profiles_str(test_profiles(t), ps, sizeof(ps));
			snprintf(ctx->reason, sizeof(ctx->reason),
				 "runs in the %s profile, this guest is %s (run.sh --profile)", ps,
				 profile);
			printf("@@VMTEST RESULT %s SKIP %s\n", t->name, ctx->reason);
			report(rf, t, RES_SKIP, ctx->reason);
			continue;
		}
		printf("vmtest: %s: %s\n", t->name, t->desc);
		t0 = mono_now_ns();
		res = run_test(t, ctx);
		if (res == RES_SKIP && !ctx->reason[0])
			snprintf(ctx->reason, sizeof(ctx->reason), "skipped without a reason");
		if (res != RES_PASS && res != RES_SKIP)
			any_fail = true;
		printf("@@VMTEST RESULT %s %s%s%s (%.1f s)\n", t->name, result_name[res],
		       ctx->reason[0] ? " " : "", ctx->reason, (mono_now_ns() - t0) / 1e9);
		report(rf, t, res, ctx->reason);
	}
	if (rf)
		fclose(rf);
	return any_fail ? 1 : 0;
}
