// SPDX-License-Identifier: Apache-2.0
/*
 * Adopted pods under the CPU loop (default profile, both kernels): a
 * kubelet-shaped tree (systemd driver) made by the test, with a guaranteed
 * pod whose container scope runs a latency probe and a besteffort pod whose
 * scope runs CPU hogs. With [policy.cpu] adopted on and [adopt] knobs =
 * cpu.max, the probe's waits in its scope (BPF counts them there, not in the
 * pod) put the guaranteed pod under pressure and the besteffort pod's
 * cpu.max is capped. Then kubelet's part is played: cpu.max rewritten by
 * another writer. Once the pressure is gone the release finds the value
 * changed: cgpilot leaves it as the other writer set it, says so (backed_off,
 * an audit line with status external) and does not squeeze that pod again.
 */
#include "guest.h"

#define UID_G "6a1b2c3d_1111_4222_8333_444455556666"
#define UID_B "7a1b2c3d_1111_4222_8333_444455556666"
#define SCOPE             \
	"cri-containerd-" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope"
#define POD_G "kubepods.slice/kubepods-pod" UID_G ".slice"
#define POD_B "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_B ".slice"
#define HOGS 4
#define KUBELET_MAX "150000 100000" /* what "kubelet" writes over cgpilot's cap */

static struct ctl_conn conn;
static char reply[65536];

/* Every 20 ms, 3 ms of CPU work, until killed. */
static void ticker(struct ctx *ctx, void *arg)
{
	struct timespec due;
	uint64_t due_ns;

	clock_gettime(CLOCK_MONOTONIC, &due);
	due_ns = (uint64_t)due.tv_sec * 1000000000ULL + (uint64_t)due.tv_nsec;
	for (;;) {
		struct timespec t0, t;

		due_ns += 20 * 1000000ULL;
		due.tv_sec = (time_t)(due_ns / 1000000000ULL);
		due.tv_nsec = (long)(due_ns % 1000000000ULL);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR)
			;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
		do
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
		while ((t.tv_sec - t0.tv_sec) * 1000000000LL + (t.tv_nsec - t0.tv_nsec) <
		       3000000LL);
	}
}

static int knob(const char *pod, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "%s/%s/%s", CG_ROOT, pod, file);
	r = read_file(path, buf, len);
	if (r > 0 && buf[r - 1] == '\n')
		buf[--r] = '\0';
	return r;
}

enum result qos_adopt_setup(struct ctx *ctx)
{
	char conf[1024], path[PATH_MAX];
	int r;

	r = mk_cg_tree(POD_G "/" SCOPE);
	if (r == 0)
		r = mk_cg_tree(POD_B "/" SCOPE);
	if (r < 0)
		return fail(ctx, "cannot make the kubelet tree: %s", strerror(-r));
	/* kubelet's values: the guaranteed pod one CPU, the besteffort one weight 1 */
	snprintf(path, sizeof(path), "%s/%s", CG_ROOT, POD_G);
	if (cg_write(path, "cpu.weight", "39") < 0 ||
	    cg_write(path, "cpu.max", "100000 100000") < 0)
		return fail(ctx, "writing kubelet's values in %s: %s", POD_G, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s", CG_ROOT, POD_B);
	if (cg_write(path, "cpu.weight", "1") < 0)
		return fail(ctx, "writing kubelet's values in %s: %s", POD_B, strerror(errno));
	/* a 1 ms target: this tests who is written and who is not, not the p99 */
	snprintf(conf, sizeof(conf),
		 "[metrics]\naddress = none\n"
		 "[audit]\ndir = /run/vmtest-%.32s/audit\n"
		 "[policy.cpu]\nenabled = true\nadopted = true\ntarget_us = 1000\n"
		 "release_ms = 1000\n"
		 "[adopt]\npresets = kubelet-systemd\nknobs = cpu.max\n",
		 ctx->name);
	return daemon_start_with(ctx, conf, NULL);
}

/* The container.list entry of @pod, or NULL (reply holds the list). */
static const char *entry(struct ctx *ctx, const char *pod)
{
	(void)ctx;
	return ctr_list_entry(&conn, pod, reply, sizeof(reply));
}

static bool backed_off(struct ctx *ctx)
{
	return entry_backed_off(entry(ctx, POD_B));
}

enum result qos_adopt_run(struct ctx *ctx)
{
	static char audit[262144];
	char v[64] = "", path[PATH_MAX], src[32] = "";
	pid_t hogs[HOGS], probe;
	uint64_t end, t0;
	int r;

	r = ctl_open(&conn, ctx->sock);
	if (r < 0)
		return fail(ctx, "connecting to %s: %s", ctx->sock, strerror(-r));
	for (end = mono_now_ns() + 10000000000ULL;; sleep_ms(200)) {
		bool g = entry(ctx, POD_G) != NULL, b = entry(ctx, POD_B) != NULL;

		if (g && b)
			break;
		if (mono_now_ns() > end)
			return fail(ctx, "the two pods not adopted within 10 s: %.300s", reply);
	}
	/* the scope counts for its pod: the class target is its threshold too */
	snprintf(path, sizeof(path), "{\"op\":\"cgroup.show\",\"cgroup\":\"%s/%s\"}", POD_G, SCOPE);
	if (ctl_call(&conn, path, reply, sizeof(reply)) < 0 ||
	    !json_str_at(reply, "cgroup.thresholds.source", src, sizeof(src)) ||
	    !streq(src, "class"))
		return fail(ctx,
			    "the guaranteed pod's scope: threshold source '%s', want class: %.300s",
			    src, reply);

	snprintf(path, sizeof(path), "%s/%s/%s", CG_ROOT, POD_B, SCOPE);
	for (int i = 0; i < HOGS; i++) {
		hogs[i] = spawn(ctx, path, -1, busy_loop, NULL);
		if (hogs[i] < 0)
			return fail(ctx, "cannot start a hog in %s: %s", path, strerror(-hogs[i]));
	}
	snprintf(path, sizeof(path), "%s/%s/%s", CG_ROOT, POD_G, SCOPE);
	probe = spawn(ctx, path, -1, ticker, NULL);
	if (probe < 0)
		return fail(ctx, "cannot start the probe: %s", strerror(-probe));
	t0 = mono_now_ns();
	for (end = t0 + 20000000000ULL;; sleep_ms(50)) {
		if (knob(POD_B, "cpu.max", v, sizeof(v)) > 0 && strncmp(v, "max ", 4))
			break;
		if (mono_now_ns() > end)
			return fail(ctx,
				    "20 s beside the probe: the besteffort pod's cpu.max is "
				    "still '%s'",
				    v);
	}
	info(ctx, "besteffort pod capped after %.1f s: cpu.max %s",
	     (double)(mono_now_ns() - t0) / 1e9, v);
	if (knob(POD_B, "cpu.weight", v, sizeof(v)) <= 0 || !streq(v, "1"))
		return fail(ctx,
			    "cpu.weight of the besteffort pod is '%s': not handed over, "
			    "it must stay kubelet's 1",
			    v);
	if (knob(POD_G, "cpu.max", v, sizeof(v)) <= 0 || !streq(v, "100000 100000"))
		return fail(ctx, "the guaranteed pod's cpu.max changed to '%s'", v);

	/* kubelet resizes the pod: another writer's value over cgpilot's cap */
	snprintf(path, sizeof(path), "%s/%s", CG_ROOT, POD_B);
	if (cg_write(path, "cpu.max", KUBELET_MAX) < 0)
		return fail(ctx, "cannot write cpu.max in %s: %s", POD_B, strerror(errno));
	kill(probe, SIGKILL);
	for (int i = 0; i < HOGS; i++)
		kill(hogs[i], SIGKILL);
	for (int i = 0; i < ctx->npids; i++)
		waitpid(ctx->pids[i], NULL, 0);
	ctx->npids = 0;
	for (end = mono_now_ns() + 15000000000ULL; !backed_off(ctx); sleep_ms(200))
		if (mono_now_ns() > end)
			return fail(ctx,
				    "15 s after the pressure ended the besteffort pod is not "
				    "backed off: %.400s",
				    reply);
	if (knob(POD_B, "cpu.max", v, sizeof(v)) <= 0 || !streq(v, KUBELET_MAX))
		return fail(ctx,
			    "cpu.max of the besteffort pod is '%s', not the other writer's "
			    "'" KUBELET_MAX "'",
			    v);
	snprintf(path, sizeof(path), "%s/audit/audit.log", ctx->daemon_dir);
	if (read_file(path, audit, sizeof(audit)) <= 0)
		return fail(ctx, "no audit log at %s", path);
	{
		bool found = false;

		for (char *l = audit, *nl; l && *l && !found; l = nl ? nl + 1 : NULL) {
			nl = strchr(l, '\n');
			if (nl)
				*nl = '\0';
			found = strstr(l, "\"external\"") && strstr(l, "kubepods-besteffort-pod") &&
				strstr(l, "cpu.max");
		}
		if (!found)
			return fail(ctx, "the audit log has no line of an external change to the "
					 "besteffort pod's cpu.max");
	}

	/* pressure again: the pod that was backed off is not squeezed again */
	snprintf(path, sizeof(path), "%s/%s/%s", CG_ROOT, POD_B, SCOPE);
	for (int i = 0; i < HOGS; i++)
		if (spawn(ctx, path, -1, busy_loop, NULL) < 0)
			return fail(ctx, "cannot start the hogs again");
	snprintf(path, sizeof(path), "%s/%s/%s", CG_ROOT, POD_G, SCOPE);
	if (spawn(ctx, path, -1, ticker, NULL) < 0)
		return fail(ctx, "cannot start the probe again");
	sleep_ms(3000);
	if (knob(POD_B, "cpu.max", v, sizeof(v)) <= 0 || !streq(v, KUBELET_MAX))
		return fail(ctx, "the backed-off pod was squeezed again: cpu.max '%s'", v);
	for (int i = 0; i < ctx->npids; i++)
		kill(ctx->pids[i], SIGKILL);
	return daemon_stop(ctx);
}

void qos_adopt_cleanup(struct ctx *ctx)
{
	daemon_cleanup(ctx);
	stop_workers(ctx);
	rm_cg_tree("kubepods.slice");
}
