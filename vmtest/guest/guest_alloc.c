// SPDX-License-Identifier: Apache-2.0
/*
 * The allocation core in the guest: container.admit/list/show/kill/release
 * against what the kernel then holds. Exclusive placement on an SMT, two-node
 * guest (the numa profile); the class knobs, the audit log and action
 * events, dry run, and adoption of kubelet-shaped trees (the default one).
 * The guest is a fresh VM: cgpilot.slice, kubepods.slice and kubepods are
 * the test's own, removed whole afterwards. No timing anywhere.
 */
#include "guest.h"

#define CTR_ROOT "cgpilot.slice"
#define SYS_SLICE "vmtest-system.slice"
#define KNOBS_MAX 8
/* a cgroup path relative to the mount */
#define REL_MAX 1024

static struct ctl_conn req_conn, ev_conn;
static char reply[65536];

/* The config every test starts from; @extra is appended (more sections). */
static enum result start(struct ctx *ctx, const char *extra, const char *const *args)
{
	char conf[1024];

	snprintf(conf, sizeof(conf),
		 "[metrics]\naddress = none\n"
		 "[containers]\nroot = " CTR_ROOT "\nstart_deadline_s = 600\n"
		 "[audit]\ndir = /run/vmtest-%.32s/audit\n"
		 "%s",
		 ctx->name, extra ? extra : "");
	return daemon_start_with(ctx, conf, args);
}

static void audit_path(struct ctx *ctx, char *buf, size_t size)
{
	snprintf(buf, size, "%s/audit/audit.log", ctx->daemon_dir);
}

/* One request, its reply in `reply`; false with the reason set if it did not come. */
static bool call(struct ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool call(struct ctx *ctx, const char *fmt, ...)
{
	char req[512];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(req, sizeof(req), fmt, ap);
	va_end(ap);
	r = ctl_call(&req_conn, req, reply, sizeof(reply));
	if (r < 0) {
		fail(ctx, "%.200s: %s", req, strerror(-r));
		return false;
	}
	info(ctx, "%.160s -> %.400s", req, reply);
	return true;
}

static bool reply_ok(void)
{
	return strstr(reply, "\"ok\":true") != NULL;
}

/* ---- CPU sets as bit masks (the guests have at most 64 CPUs) ---- */

static bool parse_cpulist(const char *s, uint64_t *ret)
{
	uint64_t m = 0;
	char *end;

	while (*s == ' ')
		s++;
	while (*s && *s != '\n') {
		unsigned long a = strtoul(s, &end, 10), b = a;

		if (end == s || a >= 64)
			return false;
		s = end;
		if (*s == '-') {
			b = strtoul(s + 1, &end, 10);
			if (end == s + 1 || b >= 64 || b < a)
				return false;
			s = end;
		}
		for (; a <= b; a++)
			m |= 1ULL << a;
		if (*s == ',')
			s++;
		else if (*s && *s != '\n')
			return false;
	}
	*ret = m;
	return true;
}

static bool read_cpulist(const char *path, uint64_t *ret)
{
	char buf[256];

	return read_file(path, buf, sizeof(buf)) >= 0 && parse_cpulist(buf, ret);
}

/* A JSON array of CPU numbers ("[0,1]") into a mask. */
static bool json_cpus(const char *json, const char *path, uint64_t *ret)
{
	const char *p = json_at(json, path);
	uint64_t m = 0;
	char *end;

	if (!p || *p++ != '[')
		return false;
	while (*p && *p != ']') {
		unsigned long c = strtoul(p, &end, 10);

		if (end == p || c >= 64)
			return false;
		m |= 1ULL << c;
		p = end;
		while (*p == ',' || *p == ' ')
			p++;
	}
	*ret = m;
	return *p == ']';
}

static const char *mask_str(uint64_t m)
{
	static char bufs[4][128];
	static int next;
	char *b = bufs[next++ % 4];
	size_t off = 0;
	int c;

	b[0] = '\0';
	for (c = 0; c < 64; c++)
		if (m & (1ULL << c))
			off += snprintf(b + off, 128 - off, "%s%d", off ? "," : "", c);
	if (!off)
		snprintf(b, 128, "(none)");
	return b;
}

/* A cgroup file's text without its newline; "" when it cannot be read. */
static const char *knob(const char *cg, const char *file, char *buf, size_t size)
{
	char path[PATH_MAX];
	size_t n;

	snprintf(path, sizeof(path), "%s/%s/%s", CG_ROOT, cg, file);
	if (read_file(path, buf, size) < 0)
		buf[0] = '\0';
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return buf;
}

static bool cg_exists(const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", CG_ROOT, rel);
	return access(path, F_OK) == 0;
}

/* Admit: the container's id and cgroup (relative) from an ok reply. */
static enum result admitted(struct ctx *ctx, const char *what, uint64_t *ret_id, char *cg,
			    size_t cglen)
{
	if (!reply_ok())
		return fail(ctx, "%s was not admitted: %.400s", what, reply);
	if (!json_u64(reply, "container.id", ret_id) ||
	    !json_str_at(reply, "container.cgroup", cg, cglen))
		return fail(ctx, "%s: no container.id or container.cgroup in %.400s", what, reply);
	return RES_PASS;
}

/* ---- the parent's cleanup: the daemon, then every tree the tests made ---- */

static int rm_cg_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	int r = flag == FTW_DP ? cg_remove(path) : 0;

	if (r < 0)
		printf("  cannot remove %s: %s\n", path, strerror(-r));
	return 0;
}

void rm_cg_tree(const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", CG_ROOT, rel);
	if (access(path, F_OK) == 0)
		nftw(path, rm_cg_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void alloc_cleanup(struct ctx *ctx)
{
	daemon_cleanup(ctx);
	rm_cg_tree(CTR_ROOT);
	rm_cg_tree("kubepods.slice");
	rm_cg_tree("kubepods");
	rm_cg_tree("machine.slice");
	rm_cg_tree(SYS_SLICE);
}

/* ---- the audit log ---- */

struct audit_line {
	char knob[32], old[128], new[128], status[16], reason[200];
};

/* The lines of the audit log about cgroup @cg (relative), in order; -1 if none is there. */
static int audit_lines(struct ctx *ctx, const char *cg, struct audit_line *out, int max)
{
	static char buf[262144];
	char path[PATH_MAX], c[REL_MAX], *line, *save = NULL;
	int n = 0;

	audit_path(ctx, path, sizeof(path));
	if (read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!json_str_at(line, "cgroup", c, sizeof(c)) || !streq(c, cg))
			continue;
		if (n < max) {
			struct audit_line *a = &out[n];

			if (!json_str_at(line, "knob", a->knob, sizeof(a->knob)) ||
			    !json_str_at(line, "old", a->old, sizeof(a->old)) ||
			    !json_str_at(line, "new", a->new, sizeof(a->new)) ||
			    !json_str_at(line, "status", a->status, sizeof(a->status)) ||
			    !json_str_at(line, "reason", a->reason, sizeof(a->reason)))
				snprintf(a->knob, sizeof(a->knob), "?unparsed");
		}
		n++;
	}
	return n;
}

/*
 * What a burstable admission of 500/1000 mc, 32/64 MiB writes (kubelet's
 * conversion: 500 mc -> 512 shares -> cpu.weight 20), and what a new cgroup
 * holds before.
 */
static const struct {
	const char *knob, *value, *fresh;
} burstable_knobs[] = {
	{ "cpu.weight", "20", "100" },
	{ "cpu.max", "100000 100000", "max 100000" },
	{ "memory.low", "33554432", "0" },
	{ "memory.max", "67108864", "max" },
	{ "io.weight", "default 100", "default 100" },
};

#define BURSTABLE_REQ                                                           \
	"\"class\":\"burstable\",\"cpu_request_mc\":500,\"cpu_limit_mc\":1000," \
	"\"memory_request\":33554432,\"memory_limit\":67108864"

/*
 * The audit log has, for cgroup @cg, exactly one line per knob written,
 * with status @status, the new value, the old one (@check_old) and a reason.
 */
static enum result check_audit(struct ctx *ctx, const char *cg, const char *status, bool check_old)
{
	struct audit_line lines[32];
	size_t i;
	int n, j, seen;

	n = audit_lines(ctx, cg, lines, ARRAY_SIZE(lines));
	if (n < 0)
		return fail(ctx, "no audit log %s/audit/audit.log", ctx->daemon_dir);
	if (n > (int)ARRAY_SIZE(lines))
		return fail(ctx, "%d audit lines for %s, expected a handful", n, cg);
	for (j = 0; j < n; j++) {
		int k;

		for (k = 0; k < j; k++)
			if (streq(lines[k].knob, lines[j].knob))
				return fail(ctx, "audit: %s of %s logged more than once",
					    lines[j].knob, cg);
		info(ctx, "audit: %s %s '%s' -> '%s' (%s)", lines[j].status, lines[j].knob,
		     lines[j].old, lines[j].new, lines[j].reason);
		if (streq(lines[j].knob, "?unparsed"))
			return fail(ctx, "an audit line for %s lacks knob/old/new/status/reason",
				    cg);
		if (!streq(lines[j].status, status))
			return fail(ctx, "audit: %s of %s has status '%s', want '%s'",
				    lines[j].knob, cg, lines[j].status, status);
		if (!lines[j].reason[0])
			return fail(ctx, "audit: %s of %s has no reason", lines[j].knob, cg);
	}
	for (i = 0; i < ARRAY_SIZE(burstable_knobs); i++) {
		for (seen = 0, j = 0; j < n; j++) {
			if (!streq(lines[j].knob, burstable_knobs[i].knob))
				continue;
			if (seen++)
				return fail(ctx, "audit: %s of %s logged more than once",
					    burstable_knobs[i].knob, cg);
			if (!streq(lines[j].new, burstable_knobs[i].value))
				return fail(ctx, "audit: %s of %s new '%s', want '%s'",
					    burstable_knobs[i].knob, cg, lines[j].new,
					    burstable_knobs[i].value);
			if (check_old && !streq(lines[j].old, burstable_knobs[i].fresh))
				return fail(ctx, "audit: %s of %s old '%s', a new cgroup has '%s'",
					    burstable_knobs[i].knob, cg, lines[j].old,
					    burstable_knobs[i].fresh);
		}
		/* a value a new cgroup holds already is neither written nor logged */
		if (check_old && streq(burstable_knobs[i].value, burstable_knobs[i].fresh)) {
			if (seen)
				return fail(ctx,
					    "audit: %s of %s logged, but a new cgroup has '%s' "
					    "already",
					    burstable_knobs[i].knob, cg, burstable_knobs[i].fresh);
			continue;
		}
		if (!seen)
			return fail(ctx, "audit: no %s line for %s (%d lines for it)",
				    burstable_knobs[i].knob, cg, n);
	}
	return RES_PASS;
}

/* ---- numa profile: exclusive placement ---- */

/* The node holding every CPU of @m, or -1. */
static int node_of(uint64_t m)
{
	char path[128];
	uint64_t cpus;
	int n;

	for (n = 0; n < 8; n++) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", n);
		if (!read_cpulist(path, &cpus))
			continue;
		if ((m & cpus) == m)
			return n;
	}
	return -1;
}

static uint64_t siblings_of(int cpu)
{
	char path[128];
	uint64_t m = 0;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list",
		 cpu);
	return read_cpulist(path, &m) ? m : 0;
}

static int lowest(uint64_t m)
{
	return m ? __builtin_ctzll(m) : -1;
}

static uint64_t online_cpus;

enum result alloc_exclusive_setup(struct ctx *ctx)
{
	uint64_t n0 = 0, n1 = 0;

	if (!read_cpulist("/sys/devices/system/cpu/online", &online_cpus))
		return fail(ctx, "cannot read /sys/devices/system/cpu/online");
	read_cpulist("/sys/devices/system/node/node0/cpulist", &n0);
	read_cpulist("/sys/devices/system/node/node1/cpulist", &n1);
	/* the numa profile's shape; anything else is a broken profile, not a skip */
	if (online_cpus != 0xf || siblings_of(0) != 0x3 || siblings_of(2) != 0xc || n0 != 0x3 ||
	    n1 != 0xc)
		return fail(ctx,
			    "the guest is not 2 cores x 2 threads on 2 nodes: online %s, "
			    "siblings of 0: %s, of 2: %s, node0 %s, node1 %s",
			    mask_str(online_cpus), mask_str(siblings_of(0)),
			    mask_str(siblings_of(2)), mask_str(n0), mask_str(n1));
	return start(ctx, NULL, NULL);
}

/* node.show's exclusive list: its entries' container ids and CPUs. */
static enum result node_exclusive(struct ctx *ctx, uint64_t *ids, uint64_t *cpus, int max,
				  int *ret_n, uint64_t *ret_shared)
{
	const char *p;
	int n = 0;

	if (!call(ctx, "{\"op\":\"node.show\"}"))
		return RES_FAIL;
	p = json_at(reply, "exclusive");
	if (!reply_ok() || !p || *p != '[')
		return fail(ctx, "node.show has no \"exclusive\" list: %.400s", reply);
	for (p++; *p && *p != ']';) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p != '{')
			break;
		if (n >= max || !json_u64(p, "container", &ids[n]) ||
		    !json_cpus(p, "cpus", &cpus[n]))
			return fail(ctx,
				    "node.show: an exclusive entry without container/cpus: %.300s",
				    p);
		n++;
		p = json_skip(p);
	}
	*ret_n = n;
	*ret_shared = 0;
	/* pools: [{"name":"shared","cpus":[...]}] */
	p = json_at(reply, "pools");
	if (p && *p == '[' && p[1] == '{')
		json_cpus(p + 1, "cpus", ret_shared);
	return RES_PASS;
}

static enum result expect_exclusive(struct ctx *ctx, const char *when, uint64_t id, uint64_t cpus)
{
	uint64_t ids[4], sets[4], shared;
	enum result res;
	int n = 0;

	res = node_exclusive(ctx, ids, sets, 4, &n, &shared);
	if (res != RES_PASS)
		return res;
	if (!id && n)
		return fail(ctx,
			    "%s: node.show still lists %d exclusive assignment(s) (container "
			    "%llu on %s)",
			    when, n, (unsigned long long)ids[0], mask_str(sets[0]));
	if (id && (n != 1 || ids[0] != id || sets[0] != cpus))
		return fail(ctx,
			    "%s: node.show exclusive has %d entries (first: container %llu on "
			    "%s), want container %llu on %s",
			    when, n, n ? (unsigned long long)ids[0] : 0ULL,
			    n ? mask_str(sets[0]) : "-", (unsigned long long)id, mask_str(cpus));
	if (shared != (online_cpus & ~cpus))
		return fail(ctx, "%s: node.show's shared pool is %s, want %s", when,
			    mask_str(shared), mask_str(online_cpus & ~cpus));
	return RES_PASS;
}

/* /proc/PID/stat field 39: the CPU the task last ran on. */
static int last_cpu(pid_t pid)
{
	char path[64], buf[1024], *p;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	p = strrchr(buf, ')'); /* comm may hold spaces */
	if (!p)
		return -1;
	/* p + 2 is field 3 (state) */
	for (p += 2, field = 3; *p && field < 39; p++)
		if (*p == ' ')
			field++;
	return field == 39 ? atoi(p) : -1;
}

enum result alloc_exclusive_run(struct ctx *ctx)
{
	char gcg[REL_MAX], bcg[REL_MAX], ecg[REL_MAX], path[PATH_MAX], val[256], refused[32];
	char err[512];
	uint64_t gid, bid, eid, excl = 0, mems = 0, m;
	enum result res;
	int node, i, r, st, bad = 0, seen = 0;
	cpu_set_t aff;
	pid_t pid;

	r = ctl_open(&req_conn, ctx->sock);
	if (r < 0)
		return fail(ctx, "connecting to %s: %s", ctx->sock, strerror(-r));

	/* 1. guaranteed, 2 CPUs: one whole core, on one node */
	if (!call(ctx, "{\"op\":\"container.admit\",\"name\":\"g1\",\"class\":\"guaranteed\","
		       "\"cpu_request_mc\":2000,\"memory_request\":67108864}"))
		return RES_FAIL;
	res = admitted(ctx, "guaranteed g1 (2000 mc)", &gid, gcg, sizeof(gcg));
	if (res != RES_PASS)
		return res;
	if (!strstr(reply, "\"exclusive\":true") || !json_cpus(reply, "container.cpus", &excl) ||
	    !json_cpus(reply, "container.mems", &mems))
		return fail(ctx, "g1 admitted without exclusive cpus/mems: %.400s", reply);
	node = node_of(excl);
	info(ctx, "g1: cpus %s, mems %s (node %d), siblings of %d: %s", mask_str(excl),
	     mask_str(mems), node, lowest(excl), mask_str(siblings_of(lowest(excl))));
	if (__builtin_popcountll(excl) != 2 || excl != siblings_of(lowest(excl)))
		return fail(ctx, "g1's cpus %s are not one whole core (siblings of %d: %s)",
			    mask_str(excl), lowest(excl), mask_str(siblings_of(lowest(excl))));
	if (node < 0 || mems != 1ULL << node)
		return fail(ctx, "g1's cpus %s (node %d) came with mems %s", mask_str(excl), node,
			    mask_str(mems));
	snprintf(path, sizeof(path), "%s/%s/cpuset.cpus", CG_ROOT, gcg);
	if (!read_cpulist(path, &m) || m != excl)
		return fail(ctx, "%s/cpuset.cpus is '%s', the reply says %s", gcg,
			    knob(gcg, "cpuset.cpus", val, sizeof(val)), mask_str(excl));
	snprintf(path, sizeof(path), "%s/%s/cpuset.mems", CG_ROOT, gcg);
	if (!read_cpulist(path, &m) || m != mems)
		return fail(ctx, "%s/cpuset.mems is '%s', want node %d", gcg,
			    knob(gcg, "cpuset.mems", val, sizeof(val)), node);
	res = expect_exclusive(ctx, "after g1", gid, excl);
	if (res != RES_PASS)
		return res;

	/* 2. burstable and besteffort: the shared pool, without g1's core */
	if (!call(ctx, "{\"op\":\"container.admit\",\"name\":\"b1\",\"class\":\"burstable\","
		       "\"memory_request\":16777216}"))
		return RES_FAIL;
	res = admitted(ctx, "burstable b1", &bid, bcg, sizeof(bcg));
	if (res != RES_PASS)
		return res;
	if (!call(ctx, "{\"op\":\"container.admit\",\"name\":\"e1\",\"class\":\"besteffort\"}"))
		return RES_FAIL;
	res = admitted(ctx, "besteffort e1", &eid, ecg, sizeof(ecg));
	if (res != RES_PASS)
		return res;
	for (i = 0; i < 2; i++) {
		const char *cg = i ? ecg : bcg;

		snprintf(path, sizeof(path), "%s/%s/cpuset.cpus", CG_ROOT, cg);
		if (!read_cpulist(path, &m) || m != (online_cpus & ~excl))
			return fail(ctx, "%s/cpuset.cpus is '%s', want the shared pool %s", cg,
				    knob(cg, "cpuset.cpus", val, sizeof(val)),
				    mask_str(online_cpus & ~excl));
	}

	/* 3. a busy loop in the besteffort container never runs on g1's CPUs */
	snprintf(path, sizeof(path), "%s/%s", CG_ROOT, ecg);
	pid = spawn(ctx, path, -1, busy_loop, NULL);
	if (pid < 0)
		return fail(ctx, "cannot start a busy loop in %s: %s", ecg, strerror(-pid));
	for (i = 0; i < 40; i++) {
		int cpu;

		sleep_ms(25);
		cpu = last_cpu(pid);
		if (cpu < 0)
			continue;
		seen |= 1 << cpu;
		if (excl & (1ULL << cpu))
			bad++;
	}
	if (sched_getaffinity(pid, sizeof(aff), &aff) < 0)
		return fail(ctx, "sched_getaffinity(%d): %s", pid, strerror(errno));
	for (m = 0, i = 0; i < 64; i++)
		if (CPU_ISSET(i, &aff))
			m |= 1ULL << i;
	info(ctx, "besteffort loop: ran on %s in 40 samples, affinity %s", mask_str(seen),
	     mask_str(m));
	if (bad)
		return fail(ctx,
			    "the besteffort loop was on an exclusive CPU (%s) in %d of 40 samples",
			    mask_str(excl), bad);
	if (!seen)
		return fail(ctx, "no sample of the besteffort loop's CPU");
	if (m & excl)
		return fail(ctx, "the besteffort loop's affinity %s includes exclusive CPUs %s",
			    mask_str(m), mask_str(excl));
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);

	/* 4. a second 2-CPU guaranteed request cannot keep a shared CPU: refused, with numbers */
	if (!call(ctx, "{\"op\":\"container.admit\",\"name\":\"g2\",\"class\":\"guaranteed\","
		       "\"cpu_request_mc\":2000,\"memory_request\":67108864}"))
		return RES_FAIL;
	if (reply_ok())
		return fail(ctx,
			    "a second guaranteed 2000 mc was admitted on 4 CPUs with 2 "
			    "exclusive: %.400s",
			    reply);
	if (!json_str_at(reply, "refused", refused, sizeof(refused)) ||
	    !json_str_at(reply, "error", err, sizeof(err)))
		return fail(ctx, "g2's refusal has no \"refused\"/\"error\": %.400s", reply);
	if (!streq(refused, "exclusive") && !streq(refused, "cpu"))
		return fail(ctx, "g2 refused as '%s', want exclusive or cpu: %.300s", refused, err);
	if (!strpbrk(err, "0123456789"))
		return fail(ctx, "g2's refusal gives no numbers: %.300s", err);
	if (cg_exists(CTR_ROOT "/guaranteed/g2"))
		return fail(ctx, "refused g2 left a cgroup " CTR_ROOT "/guaranteed/g2");
	res = expect_exclusive(ctx, "after the refusal", gid, excl);
	if (res != RES_PASS)
		return res;

	/* 5. release g1: its CPUs go back to the shared pool */
	if (!call(ctx, "{\"op\":\"container.release\",\"id\":%llu}", (unsigned long long)gid))
		return RES_FAIL;
	if (!reply_ok())
		return fail(ctx, "release of g1: %.400s", reply);
	if (cg_exists(gcg))
		return fail(ctx, "released g1's cgroup %s is still there", gcg);
	for (i = 0; i < 2; i++) {
		const char *cg = i ? ecg : bcg;

		snprintf(path, sizeof(path), "%s/%s/cpuset.cpus", CG_ROOT, cg);
		if (!read_cpulist(path, &m) || m != online_cpus)
			return fail(ctx, "after g1's release %s/cpuset.cpus is '%s', want %s", cg,
				    knob(cg, "cpuset.cpus", val, sizeof(val)),
				    mask_str(online_cpus));
	}
	res = expect_exclusive(ctx, "after g1's release", 0, 0);
	if (res != RES_PASS)
		return res;
	if (!call(ctx, "{\"op\":\"container.release\",\"id\":%llu}", (unsigned long long)bid) ||
	    !reply_ok() ||
	    !call(ctx, "{\"op\":\"container.release\",\"id\":%llu}", (unsigned long long)eid) ||
	    !reply_ok())
		return fail(ctx, "releasing b1 and e1: %.400s", reply);
	return daemon_stop(ctx);
}

/* ---- default profile: knobs, audit, events, kill, a memory refusal ---- */

enum result alloc_knobs_setup(struct ctx *ctx)
{
	return start(ctx, NULL, NULL);
}

static enum result check_events(struct ctx *ctx, const char *cg, const char *const *knobs,
				const char *const *values, int n)
{
	char line[8192], ev[32], c[REL_MAX], k[32], nv[128], st[16];
	uint64_t end = mono_now_ns() + 10000000000ULL;
	int seen[KNOBS_MAX] = { 0 }, got = 0, i, r;

	while (got < n) {
		int64_t left = (int64_t)(end - mono_now_ns()) / 1000000;

		if (left <= 0)
			break;
		r = ctl_read_line(&ev_conn, line, sizeof(line), (unsigned)left);
		if (r == -ETIMEDOUT)
			break;
		if (r < 0)
			return fail(ctx, "reading the event stream: %s", strerror(-r));
		if (!json_str_at(line, "event", ev, sizeof(ev)) || !streq(ev, "action") ||
		    !json_str_at(line, "cgroup", c, sizeof(c)) || !streq(c, cg))
			continue;
		info(ctx, "event: %.300s", line);
		if (!json_str_at(line, "knob", k, sizeof(k)) ||
		    !json_str_at(line, "new", nv, sizeof(nv)) ||
		    !json_str_at(line, "status", st, sizeof(st)) || !json_at(line, "old") ||
		    !json_at(line, "reason"))
			return fail(ctx, "an action event lacks knob/old/new/status/reason: %.300s",
				    line);
		for (i = 0; i < n; i++) {
			if (!streq(k, knobs[i]))
				continue;
			if (!streq(nv, values[i]) || !streq(st, "written"))
				return fail(ctx,
					    "action event for %s: new '%s' status '%s', want '%s' "
					    "written",
					    k, nv, st, values[i]);
			if (!seen[i]++)
				got++;
		}
	}
	for (i = 0; i < n; i++)
		if (!seen[i])
			return fail(ctx, "no action event for %s of %s within 10 s", knobs[i], cg);
	return RES_PASS;
}

static void sleeper(struct ctx *ctx, void *arg)
{
	for (;;)
		pause();
}

enum result alloc_knobs_run(struct ctx *ctx)
{
	const char *knobs[KNOBS_MAX], *values[KNOBS_MAX];
	char cg[REL_MAX], path[PATH_MAX], val[256], line[4096], refused[32], err[512];
	struct audit_line al[32];
	uint64_t id, alloc_mem = 0, id2;
	enum result res;
	size_t i;
	int r, st, n, kills, nev;
	pid_t pid;

	r = ctl_open(&req_conn, ctx->sock);
	if (r == 0)
		r = ctl_open(&ev_conn, ctx->sock);
	if (r < 0)
		return fail(ctx, "connecting to %s: %s", ctx->sock, strerror(-r));
	r = ctl_call(&ev_conn, "{\"op\":\"subscribe\",\"events\":[\"action\"]}", line,
		     sizeof(line));
	if (r < 0)
		return fail(ctx, "subscribing to action events: %s", strerror(-r));
	if (!strstr(line, "\"ok\":true") || !strstr(line, "\"action\""))
		return fail(ctx, "subscribe: %.300s", line);

	/* 1. the knobs of a burstable admission, read back */
	if (!call(ctx, "{\"op\":\"container.admit\",\"name\":\"b1\"," BURSTABLE_REQ "}"))
		return RES_FAIL;
	res = admitted(ctx, "burstable b1", &id, cg, sizeof(cg));
	if (res != RES_PASS)
		return res;
	for (nev = 0, i = 0; i < ARRAY_SIZE(burstable_knobs); i++) {
		knob(cg, burstable_knobs[i].knob, val, sizeof(val));
		info(ctx, "%s/%s: '%s'", cg, burstable_knobs[i].knob, val);
		if (!streq(val, burstable_knobs[i].value))
			return fail(ctx,
				    "%s/%s is '%s', want '%s' (500/1000 mc, 32/64 MiB "
				    "burstable)",
				    cg, burstable_knobs[i].knob, val, burstable_knobs[i].value);
		/* a value a new cgroup holds already is not written: no event */
		if (streq(burstable_knobs[i].value, burstable_knobs[i].fresh))
			continue;
		knobs[nev] = burstable_knobs[i].knob;
		values[nev++] = burstable_knobs[i].value;
	}

	/* 2. one audit line per write, old and new values and the reason */
	res = check_audit(ctx, cg, "written", true);
	if (res != RES_PASS)
		return res;

	/* 3. the same writes as action events */
	res = check_events(ctx, cg, knobs, values, nev);
	if (res != RES_PASS)
		return res;

	/* 4. guaranteed memory past what the node has: refused, with numbers, no cgroup */
	if (!call(ctx, "{\"op\":\"node.show\"}"))
		return RES_FAIL;
	if (!json_u64(reply, "allocatable.memory_bytes", &alloc_mem) || !alloc_mem)
		return fail(ctx, "node.show has no allocatable.memory_bytes: %.300s", reply);
	if (!call(ctx,
		  "{\"op\":\"container.admit\",\"name\":\"big\",\"class\":\"guaranteed\","
		  "\"cpu_request_mc\":100,\"memory_request\":%llu}",
		  (unsigned long long)(alloc_mem + 256 * MiB)))
		return RES_FAIL;
	if (reply_ok())
		return fail(ctx, "guaranteed memory %llu > allocatable %llu was admitted: %.300s",
			    (unsigned long long)(alloc_mem + 256 * MiB),
			    (unsigned long long)alloc_mem, reply);
	if (!json_str_at(reply, "refused", refused, sizeof(refused)) ||
	    !json_str_at(reply, "error", err, sizeof(err)))
		return fail(ctx, "the memory refusal has no \"refused\"/\"error\": %.300s", reply);
	if (!streq(refused, "memory") || !strpbrk(err, "0123456789"))
		return fail(ctx,
			    "memory past allocatable refused as '%s': '%.300s' (want memory, "
			    "with numbers)",
			    refused, err);
	if (cg_exists(CTR_ROOT "/guaranteed/big"))
		return fail(ctx, "the refused request left " CTR_ROOT "/guaranteed/big");

	/* 5. container.kill: cgroup.kill written, the process in it dies */
	snprintf(path, sizeof(path), "%s/%s", CG_ROOT, cg);
	pid = spawn(ctx, path, -1, sleeper, NULL);
	if (pid < 0)
		return fail(ctx, "cannot start a process in %s: %s", cg, strerror(-pid));
	if (!call(ctx, "{\"op\":\"container.kill\",\"id\":%llu}", (unsigned long long)id))
		return RES_FAIL;
	if (!reply_ok())
		return fail(ctx, "container.kill: %.300s", reply);
	r = wait_worker(pid, 5000, &st);
	if (r < 0)
		return fail(ctx, "the process in %s lives on 5 s after container.kill", cg);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		return fail(ctx, "the process in %s ended with %s %d, not SIGKILL", cg,
			    WIFSIGNALED(st) ? "signal" : "status",
			    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	n = audit_lines(ctx, cg, al, ARRAY_SIZE(al));
	for (kills = 0, r = 0; r < n && r < (int)ARRAY_SIZE(al); r++)
		kills += streq(al[r].knob, "cgroup.kill") && streq(al[r].new, "1") &&
			 streq(al[r].status, "written");
	if (kills != 1)
		return fail(ctx, "%d written cgroup.kill lines in the audit log for %s, want 1",
			    kills, cg);
	{
		const char *kk[] = { "cgroup.kill" }, *kv[] = { "1" };

		res = check_events(ctx, cg, kk, kv, 1);
		if (res != RES_PASS)
			return res;
	}

	/* 6. release: the cgroup goes; the container is gone from the list */
	if (!call(ctx, "{\"op\":\"container.release\",\"id\":%llu}", (unsigned long long)id))
		return RES_FAIL;
	if (!reply_ok())
		return fail(ctx, "release of b1: %.300s", reply);
	if (cg_exists(cg))
		return fail(ctx, "released b1's cgroup %s is still there", cg);
	if (!call(ctx, "{\"op\":\"container.show\",\"id\":%llu}", (unsigned long long)id))
		return RES_FAIL;
	if (reply_ok() && json_u64(reply, "container.id", &id2))
		return fail(ctx, "container.show still knows released b1: %.300s", reply);
	return daemon_stop(ctx);
}

/* ---- default profile: the ancestors' memory protection ---- */

enum result alloc_protection_setup(struct ctx *ctx)
{
	/* an engine's parent that is not cgpilot's, with protection of its own */
	if (write_file(CG_ROOT "/cgroup.subtree_control", "+memory") < 0)
		return fail(ctx, "cannot enable memory at the root: %s", strerror(errno));
	if (mkdir(CG_ROOT "/machine.slice", 0755) < 0 && errno != EEXIST)
		return fail(ctx, "mkdir machine.slice: %s", strerror(errno));
	if (write_file(CG_ROOT "/machine.slice/memory.min", "8388608") < 0)
		return fail(ctx, "cannot set machine.slice/memory.min: %s", strerror(errno));
	return start(ctx, NULL, NULL);
}

/* @cg's @file holds @want. */
static enum result expect_knob(struct ctx *ctx, const char *when, const char *cg, const char *file,
			       const char *want)
{
	char val[64];

	knob(cg, file, val, sizeof(val));
	info(ctx, "%s: %s/%s = '%s'", when, cg, file, val);
	if (!streq(val, want))
		return fail(ctx, "%s: %s/%s is '%s', want '%s'", when, cg, file, val, want);
	return RES_PASS;
}

#define EXPECT(when, cg, file, want)                                     \
	do {                                                             \
		enum result r_ = expect_knob(ctx, when, cg, file, want); \
		if (r_ != RES_PASS)                                      \
			return r_;                                       \
	} while (0)

enum result alloc_protection_run(struct ctx *ctx)
{
	char cg[REL_MAX];
	uint64_t g1, b1, p1;
	enum result res;
	int r;

	r = ctl_open(&req_conn, ctx->sock);
	if (r < 0)
		return fail(ctx, "connecting to %s: %s", ctx->sock, strerror(-r));

	/* 1. a guaranteed container's memory.min reaches up through its parents */
	if (!call(ctx, "{\"op\":\"container.admit\",\"name\":\"g1\",\"class\":\"guaranteed\","
		       "\"cpu_request_mc\":100,\"memory_request\":67108864}"))
		return RES_FAIL;
	res = admitted(ctx, "guaranteed g1", &g1, cg, sizeof(cg));
	if (res != RES_PASS)
		return res;
	EXPECT("g1 admitted", cg, "memory.min", "67108864");
	EXPECT("g1 admitted", CTR_ROOT "/guaranteed", "memory.min", "67108864");
	EXPECT("g1 admitted", CTR_ROOT, "memory.min", "67108864");

	/* 2. a burstable one's memory.low likewise, summed with nothing else */
	if (!call(ctx, "{\"op\":\"container.admit\",\"name\":\"b1\"," BURSTABLE_REQ "}"))
		return RES_FAIL;
	res = admitted(ctx, "burstable b1", &b1, cg, sizeof(cg));
	if (res != RES_PASS)
		return res;
	EXPECT("b1 admitted", CTR_ROOT "/burstable", "memory.low", "33554432");
	EXPECT("b1 admitted", CTR_ROOT, "memory.low", "33554432");
	EXPECT("b1 admitted", CTR_ROOT, "memory.min", "67108864");

	/* 3. a parent that is not cgpilot's is raised only as far as needed... */
	if (!call(ctx, "{\"op\":\"container.admit\",\"kind\":\"runtime\","
		       "\"path\":\"machine.slice/libpod-p1\",\"class\":\"guaranteed\","
		       "\"cpu_request_mc\":100,\"memory_request\":33554432}"))
		return RES_FAIL;
	res = admitted(ctx, "runtime p1", &p1, cg, sizeof(cg));
	if (res != RES_PASS)
		return res;
	EXPECT("p1 admitted", "machine.slice", "memory.min", "33554432");

	/* 4. ...and given back its own value when the need goes */
	if (!call(ctx, "{\"op\":\"container.release\",\"id\":%llu}", (unsigned long long)p1) ||
	    !reply_ok())
		return fail(ctx, "release of p1: %.300s", reply);
	EXPECT("p1 released", "machine.slice", "memory.min", "8388608");

	/* 5. cgpilot's own parents follow their containers down */
	if (!call(ctx, "{\"op\":\"container.release\",\"id\":%llu}", (unsigned long long)g1) ||
	    !reply_ok())
		return fail(ctx, "release of g1: %.300s", reply);
	EXPECT("g1 released", CTR_ROOT "/guaranteed", "memory.min", "0");
	EXPECT("g1 released", CTR_ROOT, "memory.min", "0");
	EXPECT("g1 released", CTR_ROOT, "memory.low", "33554432");
	if (!call(ctx, "{\"op\":\"container.release\",\"id\":%llu}", (unsigned long long)b1) ||
	    !reply_ok())
		return fail(ctx, "release of b1: %.300s", reply);
	EXPECT("b1 released", CTR_ROOT, "memory.low", "0");
	return daemon_stop(ctx);
}

/* ---- default profile: the system slice keeps to the reserved CPUs ---- */

enum result alloc_system_cpus_setup(struct ctx *ctx)
{
	if (mkdir(CG_ROOT "/" SYS_SLICE, 0755) < 0 && errno != EEXIST)
		return fail(ctx, "mkdir " SYS_SLICE ": %s", strerror(errno));
	return start(ctx, "[node]\nreserved_cpus = 1\nsystem_slice = " SYS_SLICE "\n", NULL);
}

enum result alloc_system_cpus_run(struct ctx *ctx)
{
	char val[64], cg[REL_MAX];
	enum result res;
	uint64_t id;

	EXPECT("daemon started", SYS_SLICE, "cpuset.cpus", "1");
	/* the containers' shared pool is what is left */
	if (ctl_open(&req_conn, ctx->sock) < 0)
		return fail(ctx, "connecting to %s", ctx->sock);
	if (!call(ctx, "{\"op\":\"container.admit\",\"name\":\"b1\"," BURSTABLE_REQ "}"))
		return RES_FAIL;
	res = admitted(ctx, "burstable b1", &id, cg, sizeof(cg));
	if (res != RES_PASS)
		return res;
	EXPECT("b1 admitted", cg, "cpuset.cpus", "0");
	if (!call(ctx, "{\"op\":\"container.release\",\"id\":%llu}", (unsigned long long)id) ||
	    !reply_ok())
		return fail(ctx, "release of b1: %.300s", reply);
	close(req_conn.fd);
	/* a clean stop with no container left gives the slice its CPUs back */
	if (daemon_stop(ctx) != RES_PASS)
		return RES_FAIL;
	knob(SYS_SLICE, "cpuset.cpus", val, sizeof(val));
	info(ctx, "after the stop: " SYS_SLICE "/cpuset.cpus = '%s'", val);
	if (val[0])
		return fail(ctx,
			    SYS_SLICE "/cpuset.cpus is '%s' after a clean stop, want '' "
				      "(as it was)",
			    val);
	return RES_PASS;
}

/* ---- default profile: dry run ---- */

enum result alloc_dry_run_setup(struct ctx *ctx)
{
	static const char *const args[] = { "--dry-run", NULL };

	return start(ctx, NULL, args);
}

enum result alloc_dry_run_run(struct ctx *ctx)
{
	char cg[REL_MAX];
	uint64_t id;
	enum result res;
	int r;

	r = ctl_open(&req_conn, ctx->sock);
	if (r < 0)
		return fail(ctx, "connecting to %s: %s", ctx->sock, strerror(-r));
	if (!call(ctx, "{\"op\":\"container.admit\",\"name\":\"d1\"," BURSTABLE_REQ "}"))
		return RES_FAIL;
	res = admitted(ctx, "burstable d1 (dry run)", &id, cg, sizeof(cg));
	if (res != RES_PASS)
		return res;
	if (!strstr(reply, "\"dry_run\":true"))
		return fail(ctx, "the dry-run admission does not say dry_run: %.300s", reply);
	if (cg_exists(cg))
		return fail(ctx, "dry run made the cgroup %s", cg);
	if (cg_exists(CTR_ROOT "/burstable"))
		return fail(ctx, "dry run made the class cgroup " CTR_ROOT "/burstable");
	res = check_audit(ctx, cg, "dry_run", false);
	if (res != RES_PASS)
		return res;
	if (!call(ctx, "{\"op\":\"container.release\",\"id\":%llu}", (unsigned long long)id))
		return RES_FAIL;
	if (!reply_ok())
		return fail(ctx, "release of dry-run d1: %.300s", reply);
	return daemon_stop(ctx);
}

/* ---- default profile: adoption of kubelet-shaped trees ---- */

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct {
	const char *pod; /* the pod's cgroup, which is adopted */
	const char *ctr; /* a container below it, which is not */
	const char *uid; /* as the API server has it */
	const char *class;
	const char *cpu_weight; /* what kubelet wrote */
	bool early; /* made before the daemon starts (else after) */
} pods[] = {
	{ "kubepods.slice/kubepods-pod0a1b2c3d_1111_4222_8333_444455556666.slice",
	  "cri-containerd-" HEX64 ".scope", "0a1b2c3d-1111-4222-8333-444455556666", "guaranteed",
	  "39", true },
	{ "kubepods.slice/kubepods-burstable.slice/"
	  "kubepods-burstable-pod1a1b2c3d_1111_4222_8333_444455556666.slice",
	  "cri-containerd-" HEX64 ".scope", "1a1b2c3d-1111-4222-8333-444455556666", "burstable",
	  "10", true },
	{ "kubepods.slice/kubepods-besteffort.slice/"
	  "kubepods-besteffort-pod2a1b2c3d_1111_4222_8333_444455556666.slice",
	  "cri-containerd-" HEX64 ".scope", "2a1b2c3d-1111-4222-8333-444455556666", "besteffort",
	  "1", true },
	{ "kubepods/pod3a1b2c3d-1111-4222-8333-444455556666", HEX64,
	  "3a1b2c3d-1111-4222-8333-444455556666", "guaranteed", "39", false },
	{ "kubepods/burstable/pod4a1b2c3d-1111-4222-8333-444455556666", HEX64,
	  "4a1b2c3d-1111-4222-8333-444455556666", "burstable", "10", false },
	{ "kubepods/besteffort/pod5a1b2c3d-1111-4222-8333-444455556666", HEX64,
	  "5a1b2c3d-1111-4222-8333-444455556666", "besteffort", "1", false },
};

#define NPODS ARRAY_SIZE(pods)

static const char *const watched[] = {
	"cpu.weight", "cpu.max",   "memory.min", "memory.low",	"memory.high",
	"memory.max", "io.weight", "pids.max",	 "cpuset.cpus", "cpuset.mems",
};

static char before[NPODS][2][ARRAY_SIZE(watched)][128];

static enum result make_pods(struct ctx *ctx, bool early)
{
	char rel[REL_MAX], path[PATH_MAX];
	size_t i;
	int r;

	for (i = 0; i < NPODS; i++) {
		if (pods[i].early != early)
			continue;
		snprintf(rel, sizeof(rel), "%s/%s", pods[i].pod, pods[i].ctr);
		r = mk_cg_tree(rel);
		if (r < 0)
			return fail(ctx, "cannot make %s: %s", rel, strerror(-r));
		snprintf(path, sizeof(path), "%s/%s", CG_ROOT, pods[i].pod);
		r = cg_write(path, "cpu.weight", "%s", pods[i].cpu_weight);
		if (r == 0 && streq(pods[i].class, "guaranteed")) {
			r = cg_write(path, "cpu.max", "100000 100000");
			if (r == 0)
				r = cg_write(path, "memory.max", "67108864");
		}
		if (r < 0)
			return fail(ctx, "writing kubelet's values in %s: %s", pods[i].pod,
				    strerror(-r));
	}
	return RES_PASS;
}

enum result alloc_adopt_setup(struct ctx *ctx)
{
	enum result res;

	/* the systemd-driver pods exist before the daemon, the cgroupfs ones come after */
	res = make_pods(ctx, true);
	if (res != RES_PASS)
		return res;
	return start(ctx, "[adopt]\nknobs = memory.high\n", NULL);
}

static void snapshot(char (*out)[2][ARRAY_SIZE(watched)][128])
{
	char rel[REL_MAX];
	size_t i, j, k;

	for (i = 0; i < NPODS; i++)
		for (j = 0; j < 2; j++) {
			if (j)
				snprintf(rel, sizeof(rel), "%s/%s", pods[i].pod, pods[i].ctr);
			else
				snprintf(rel, sizeof(rel), "%s", pods[i].pod);
			for (k = 0; k < ARRAY_SIZE(watched); k++)
				knob(rel, watched[k], out[i][j][k], sizeof(out[i][j][k]));
		}
}

/* container.list: how many of the pods are adopted (each once, right), or a failure. */
static enum result adopted(struct ctx *ctx, size_t *ret_n)
{
	char cg[REL_MAX], kind[32], cls[32], uid[64];
	const char *p;
	bool found[NPODS] = { false };
	size_t i, n = 0;

	if (!call(ctx, "{\"op\":\"container.list\"}"))
		return RES_FAIL;
	p = json_at(reply, "containers");
	if (!reply_ok() || !p || *p != '[')
		return fail(ctx, "container.list: %.300s", reply);
	for (p++; *p && *p != ']';) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p != '{')
			break;
		if (!json_str_at(p, "cgroup", cg, sizeof(cg)) ||
		    !json_str_at(p, "kind", kind, sizeof(kind)) ||
		    !json_str_at(p, "class", cls, sizeof(cls)))
			return fail(ctx, "a container without cgroup/kind/class: %.300s", p);
		for (i = 0; i < NPODS; i++) {
			char scope[REL_MAX];

			snprintf(scope, sizeof(scope), "%s/%s", pods[i].pod, pods[i].ctr);
			if (streq(cg, scope))
				return fail(ctx, "the container cgroup %s was adopted as a pod",
					    cg);
			if (!streq(cg, pods[i].pod))
				continue;
			if (found[i])
				return fail(ctx, "%s adopted twice", cg);
			found[i] = true;
			if (!streq(kind, "adopted") || !streq(cls, pods[i].class))
				return fail(ctx, "%s listed as %s %s, want adopted %s", cg, kind,
					    cls, pods[i].class);
			if (!json_str_at(p, "pod_uid", uid, sizeof(uid)) ||
			    !streq(uid, pods[i].uid))
				return fail(ctx, "%s: pod_uid '%s', want %s", cg,
					    json_at(p, "pod_uid") ? uid : "(none)", pods[i].uid);
			if (i == 0) {
				uint64_t mc = 0;

				/* kubelet's cpu.weight 39 is 1000 mc */
				if (!json_u64(p, "requests.cpu_mc", &mc) || mc != 1000)
					return fail(ctx,
						    "%s (cpu.weight 39) adopted with cpu request "
						    "%llu mc, want 1000",
						    cg, (unsigned long long)mc);
			}
			n++;
		}
		p = json_skip(p);
	}
	*ret_n = n;
	return RES_PASS;
}

enum result alloc_adopt_run(struct ctx *ctx)
{
	static char after[NPODS][2][ARRAY_SIZE(watched)][128];
	static char buf[262144];
	char path[PATH_MAX];
	uint64_t end;
	enum result res;
	size_t i, j, k, n = 0;
	int r;

	r = ctl_open(&req_conn, ctx->sock);
	if (r < 0)
		return fail(ctx, "connecting to %s: %s", ctx->sock, strerror(-r));
	res = make_pods(ctx, false);
	if (res != RES_PASS)
		return res;
	snapshot(before);
	for (end = mono_now_ns() + 10000000000ULL;; sleep_ms(200)) {
		res = adopted(ctx, &n);
		if (res != RES_PASS)
			return res;
		if (n == NPODS || mono_now_ns() > end)
			break;
	}
	if (n != NPODS)
		return fail(ctx,
			    "%zu of %zu kubelet pods adopted within 10 s (the 3 made before "
			    "the daemon: systemd driver; after: cgroupfs): %.300s",
			    n, NPODS, reply);
	/* two sample ticks: adoption with knobs = memory.high and no policy writes nothing */
	sleep_ms(2500);
	snapshot(after);
	for (i = 0; i < NPODS; i++)
		for (j = 0; j < 2; j++)
			for (k = 0; k < ARRAY_SIZE(watched); k++)
				if (strcmp(before[i][j][k], after[i][j][k]))
					return fail(ctx,
						    "%s%s%s/%s changed on adoption: '%s' -> '%s'",
						    pods[i].pod, j ? "/" : "", j ? pods[i].ctr : "",
						    watched[k], before[i][j][k], after[i][j][k]);
	audit_path(ctx, path, sizeof(path));
	if (read_file(path, buf, sizeof(buf)) > 0 && strstr(buf, "kubepods"))
		return fail(ctx, "the audit log records writes to kubepods: %.300s",
			    strstr(buf, "kubepods"));
	return daemon_stop(ctx);
}
