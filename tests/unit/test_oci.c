// SPDX-License-Identifier: Apache-2.0
/* lib/oci.c: config.json parsing (real shapes and hostile ones) and the
 * linux.resources conversions. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "oci.h"
#include "oci_seccomp.h"
#include "unit.h"

#define MIB (1024LL * 1024)

static char *read_seed(const char *name)
{
	char path[256];
	FILE *f;
	char *buf = calloc(1, 1 << 16);
	size_t n;

	snprintf(path, sizeof(path), "tests/fuzz/seeds/oci/%s", name);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}

static int parse(const char *text, struct oci_spec *s, char *err)
{
	err[0] = 0;
	return oci_parse(text, strlen(text), s, err, 512);
}

/* A minimal valid config with @extra spliced into the top object. */
static int parse_with(const char *extra, struct oci_spec *s, char *err)
{
	char buf[8192];

	snprintf(buf, sizeof(buf),
		 "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
		 "\"root\":{\"path\":\"rootfs\"}%s%s}",
		 extra[0] ? "," : "", extra);
	return parse(buf, s, err);
}

static void test_crun_spec(void **state)
{
	struct oci_spec s;
	char err[512], *t = read_seed("crun-spec.json");

	(void)state;
	assert_int_equal(parse(t, &s, err), 0);
	assert_string_equal(s.args[0], "sh");
	assert_int_equal(s.nenv, 2);
	assert_string_equal(s.root_path, "rootfs");
	assert_true(s.root_readonly);
	assert_string_equal(s.hostname, "crun");
	assert_true(s.no_new_privs);
	assert_true(s.has_caps);
	assert_int_equal(s.caps[OCI_CAP_BOUNDING],
			 (1ULL << 29) | (1ULL << 5) | (1ULL << 10)); /* AUDIT_WRITE KILL NET_BIND */
	assert_int_equal(s.caps[OCI_CAP_INHERITABLE], 0);
	assert_int_equal(s.nrlimits, 1);
	assert_int_equal(s.rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(s.rlimits[0].soft, 1024);
	assert_int_equal(s.nmounts, 7);
	assert_string_equal(s.mounts[6].type, "cgroup");
	assert_int_equal(s.ns_new,
			 CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS);
	assert_int_equal(s.nmasked, 10);
	assert_int_equal(s.nreadonly, 5);
	/* terminal is read; the launcher says it keeps its own */
	assert_true(s.terminal);
	oci_spec_free(&s);
	free(t);
}

static void test_podman_shape(void **state)
{
	struct oci_spec s;
	struct oci_request q;
	char err[512], *t = read_seed("podman.json");

	(void)state;
	assert_int_equal(parse(t, &s, err), 0);
	assert_string_equal(oci_annotation(&s, "io.cgpilot.class"), "burstable");
	assert_null(oci_annotation(&s, "nope"));
	assert_string_equal(s.cgroups_path, "machine.slice:libpod:0123");
	assert_int_equal(s.ngids, 11);
	assert_true(s.has_umask);
	assert_int_equal(s.umask, 022);
	assert_int_equal(s.nsysctl, 1);
	assert_int_equal(oci_to_request(&s.res, &q, err, sizeof(err)), 0);
	/* --cpus 1.5 is quota 150000 / period 100000 */
	assert_int_equal(q.cpu_limit_mc, 1500);
	assert_int_equal(q.cpu_request_mc, 1500);
	assert_int_equal(q.memory_limit, 256 * MIB);
	assert_int_equal(q.memory_request, 256 * MIB);
	assert_int_equal(q.nknobs, 2);
	/* swap is memory plus swap: 512 MiB - 256 MiB */
	assert_string_equal(q.knobs[0].knob, "memory.swap.max");
	assert_string_equal(q.knobs[0].value, "268435456");
	assert_string_equal(q.knobs[1].knob, "pids.max");
	assert_string_equal(q.knobs[1].value, "100");
	oci_spec_free(&s);
	free(t);
}

static void test_containerd_shape(void **state)
{
	struct oci_spec s;
	struct oci_request q;
	char err[512], *t = read_seed("containerd.json");

	(void)state;
	assert_int_equal(parse(t, &s, err), 0);
	assert_int_equal(s.uid, 65534);
	assert_int_equal(s.oom_score_adj, -998);
	/* the network namespace is joined, not new */
	assert_false(s.ns_new & CLONE_NEWNET);
	assert_string_equal(s.namespaces[4].path, "/var/run/netns/cni-1234");
	assert_int_equal(oci_to_request(&s.res, &q, err, sizeof(err)), 0);
	/* shares 2 (besteffort) is weight 1; limit 0 is none */
	assert_int_equal(q.cpu_weight, 1);
	assert_int_equal(q.memory_limit, 0);
	oci_spec_free(&s);
	free(t);
}

static void test_conversions(void **state)
{
	(void)state;
	/* the runtimes' formula: 1 + (shares - 2) * 9999 / 262142 */
	assert_int_equal(oci_shares_to_weight(2), 1);
	assert_int_equal(oci_shares_to_weight(1024), 39);
	assert_int_equal(oci_shares_to_weight(262144), 10000);
	assert_int_equal(oci_blkio_to_io_weight(10), 1);
	assert_int_equal(oci_blkio_to_io_weight(500), 4950);
	assert_int_equal(oci_blkio_to_io_weight(1000), 10000);
}

static void test_resources(void **state)
{
	struct oci_spec s;
	struct oci_request q;
	char err[512];

	(void)state;
	assert_int_equal(
		parse_with("\"linux\":{\"resources\":{\"cpu\":{\"shares\":1024,\"quota\":"
			   "50000},\"memory\":{\"limit\":1073741824,\"reservation\":"
			   "536870912,\"swap\":-1},\"blockIO\":{\"weight\":500},"
			   "\"pids\":{\"limit\":-1},\"unified\":{\"memory.high\":\"max\"}}}",
			   &s, err),
		0);
	assert_int_equal(oci_to_request(&s.res, &q, err, sizeof(err)), -EINVAL);
	/* memory.high is the admission's own knob, not unified's */
	assert_contains(err, "linux.resources.unified.memory.high");
	oci_spec_free(&s);

	assert_int_equal(
		parse_with("\"linux\":{\"resources\":{\"cpu\":{\"shares\":1024,\"quota\":"
			   "50000},\"memory\":{\"limit\":1073741824,\"reservation\":"
			   "536870912,\"swap\":-1},\"blockIO\":{\"weight\":500},"
			   "\"pids\":{\"limit\":-1},\"unified\":{\"io.bfq.weight\":\"50\"}}}",
			   &s, err),
		0);
	assert_int_equal(oci_to_request(&s.res, &q, err, sizeof(err)), 0);
	assert_int_equal(q.cpu_weight, 39);
	assert_int_equal(q.cpu_limit_mc, 500); /* quota over the default 100 ms period */
	assert_int_equal(q.memory_limit, 1024 * MIB);
	assert_int_equal(q.memory_request, 512 * MIB);
	assert_int_equal(q.io_weight, 4950);
	assert_int_equal(q.nknobs, 3);
	assert_string_equal(q.knobs[0].value, "max"); /* swap -1 */
	assert_string_equal(q.knobs[1].value, "max"); /* pids -1 */
	assert_string_equal(q.knobs[2].knob, "io.bfq.weight");
	oci_spec_free(&s);

	/* swap below the limit, and swap without a limit */
	assert_int_equal(parse_with("\"linux\":{\"resources\":{\"memory\":{\"limit\":1048576,"
				    "\"swap\":1024}}}",
				    &s, err),
			 0);
	assert_int_equal(oci_to_request(&s.res, &q, err, sizeof(err)), -EINVAL);
	assert_contains(err, "memory.swap: 1024 is below the memory limit");
	oci_spec_free(&s);
	assert_int_equal(
		parse_with("\"linux\":{\"resources\":{\"memory\":{\"swap\":1024}}}", &s, err), 0);
	assert_int_equal(oci_to_request(&s.res, &q, err, sizeof(err)), -EINVAL);
	assert_contains(err, "needs a memory limit");
	oci_spec_free(&s);
	/* a reservation above the limit */
	assert_int_equal(parse_with("\"linux\":{\"resources\":{\"memory\":{\"limit\":1048576,"
				    "\"reservation\":2097152}}}",
				    &s, err),
			 0);
	assert_int_equal(oci_to_request(&s.res, &q, err, sizeof(err)), -EINVAL);
	assert_contains(err, "reservation 2097152 is above limit 1048576");
	oci_spec_free(&s);
	/* an engine's own CPUs are passed on, checked; its memory nodes refused */
	assert_int_equal(
		parse_with("\"linux\":{\"resources\":{\"cpu\":{\"cpus\":\"0-1\"}}}", &s, err), 0);
	assert_int_equal(oci_to_request(&s.res, &q, err, sizeof(err)), 0);
	assert_string_equal(q.cpus, "0-1");
	oci_spec_free(&s);
	assert_int_equal(
		parse_with("\"linux\":{\"resources\":{\"cpu\":{\"cpus\":\"1-x\"}}}", &s, err), 0);
	assert_int_equal(oci_to_request(&s.res, &q, err, sizeof(err)), -EINVAL);
	assert_contains(err, "linux.resources.cpu.cpus '1-x': not a CPU list");
	oci_spec_free(&s);
	assert_int_equal(
		parse_with("\"linux\":{\"resources\":{\"cpu\":{\"mems\":\"0\"}}}", &s, err), 0);
	assert_int_equal(oci_to_request(&s.res, &q, err, sizeof(err)), -EINVAL);
	assert_contains(err, "linux.resources.cpu.mems");
	oci_spec_free(&s);
}

/* linux.seccomp as podman writes it: kept, checked, in the spec. */
static void test_seccomp(void **state)
{
	struct oci_spec s;
	char err[512];

	(void)state;
	assert_int_equal(
		parse_with("\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\","
			   "\"defaultErrnoRet\":38,\"architectures\":[\"SCMP_ARCH_X86_64\","
			   "\"SCMP_ARCH_X86\"],\"flags\":[\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"],"
			   "\"syscalls\":[{\"names\":[\"read\",\"write\"],\"action\":"
			   "\"SCMP_ACT_ALLOW\"},{\"names\":[\"personality\"],\"action\":"
			   "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":8,\"valueTwo\":0,"
			   "\"op\":\"SCMP_CMP_EQ\"}]},{\"names\":[\"mkdir\"],\"action\":"
			   "\"SCMP_ACT_ERRNO\",\"comment\":\"x\"}]}}",
			   &s, err),
		0);
	assert_non_null(s.seccomp);
	assert_int_equal(s.seccomp->default_action, OCI_SCMP_ERRNO);
	assert_int_equal(s.seccomp->default_errno, 38);
	assert_int_equal(s.seccomp->narchs, 2);
	assert_string_equal(s.seccomp->archs[0], "x86_64");
	assert_int_equal(s.seccomp->flags, OCI_SCMP_FLAG_SPEC_ALLOW);
	assert_int_equal(s.seccomp->nrules, 3);
	assert_int_equal(s.seccomp->rules[0].nnames, 2);
	assert_int_equal(s.seccomp->rules[1].nargs, 1);
	assert_int_equal(s.seccomp->rules[1].args[0].value, 8);
	assert_int_equal(s.seccomp->rules[1].args[0].op, OCI_SCMP_EQ);
	/* ERRNO without errnoRet: EPERM */
	assert_int_equal(s.seccomp->rules[2].errno_ret, 1);
	oci_spec_free(&s);
}

/* Every refusal names the field. */
static void test_refused(void **state)
{
	static const struct {
		const char *extra, *want;
	} cases[] = {
		{ "\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}}",
		  "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY needs a seccomp agent" },
		{ "\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{"
		  "\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_BOGUS\"}]}}",
		  "linux.seccomp.syscalls[0].action: unknown action 'SCMP_ACT_BOGUS'" },
		{ "\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{"
		  "\"names\":[\"kill\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":7,"
		  "\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}}",
		  "linux.seccomp.syscalls[0].args[0].index: 7 is above 5" },
		{ "\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":["
		  "\"x86_64\"]}}",
		  "linux.seccomp.architectures[0]: 'x86_64' is not an SCMP_ARCH_ name" },
		{ "\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":"
		  "\"/run/agent.sock\"}}",
		  "linux.seccomp.listenerPath: a seccomp agent is not supported" },
		{ "\"linux\":{\"seccomp\":{\"syscalls\":[]}}",
		  "linux.seccomp: needs defaultAction" },
		{ "\"linux\":{\"resources\":{\"memory\":{\"disableOOMKiller\":true}}}",
		  "linux.resources.memory.disableOOMKiller" },
		{ "\"linux\":{\"resources\":{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,"
		  "\"minor\":0,\"rate\":1}]}}}",
		  "linux.resources.blockIO.throttleReadBpsDevice: not supported" },
		{ "\"linux\":{\"resources\":{\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":1}]}}",
		  "linux.resources.hugepageLimits" },
		{ "\"linux\":{\"resources\":{\"devices\":[{\"allow\":true,\"access\":\"rwz\"}]}}",
		  "linux.resources.devices[0].access: 'rwz' is not of r, w, m" },
		{ "\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}", "linux.namespaces[0]: user" },
		{ "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}",
		  "linux.namespaces[1]: the same namespace type twice" },
		{ "\"linux\":{\"namespaces\":[{\"type\":\"bogus\"}]}", "namespace 'bogus'" },
		{ "\"linux\":{\"sysctl\":{\"../../etc\":\"x\"}}", "is not a sysctl name" },
		{ "\"linux\":{\"rootfsPropagation\":\"shared\"}", "linux.rootfsPropagation" },
		{ "\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]}",
		  "linux.uidMappings: not supported" },
		{ "\"hooks\":{\"prestart\":[{\"path\":\"/bin/true\"}]}", "hooks: not supported" },
		{ "\"bogus\":1", "bogus: unknown or unsupported field" },
		{ "\"linux\":{\"resources\":{\"cpu\":{\"shares\":1}}}",
		  "linux.resources.cpu.shares: 1 "
		  "is out of range" },
		{ "\"linux\":{\"resources\":{\"cpu\":{\"quota\":10}}}",
		  "below the kernel's 1000 us" },
		{ "\"linux\":{\"resources\":{\"memory\":{\"limit\":\"1G\"}}}",
		  "linux.resources.memory.limit: must be an integer" },
		{ "\"linux\":{\"resources\":{\"memory\":{\"limit\":99999999999999999999999}}}",
		  "out of range" },
		{ "\"mounts\":[{\"type\":\"tmpfs\"}]", "mounts[0]: needs a destination" },
		{ "\"mounts\":[{\"destination\":\"rel\"}]",
		  "mounts[0].destination: 'rel' must be an "
		  "absolute path" },
		{ "\"hostname\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
		  "hostname: longer than 64 bytes" },
		{ "\"annotations\":{\"a\":1}", "annotations.a: must be a string" },
	};
	struct oci_spec s;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse_with(cases[i].extra, &s, err), -EINVAL);
		assert_contains(err, cases[i].want);
		oci_spec_free(&s);
	}
}

static void test_process_refused(void **state)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "{\"ociVersion\":\"1.0\",\"process\":{\"args\":[]},\"root\":{\"path\":\"r\"}}",
		  "process.args: needs at least the program" },
		{ "{\"ociVersion\":\"1.0\",\"process\":{\"args\":[1]},\"root\":{\"path\":\"r\"}}",
		  "process.args[0]: must be a string" },
		{ "{\"ociVersion\":\"1.0\",\"process\":{\"args\":[\"a\"],\"env\":[\"NOEQ\"]},\"root\":"
		  "{\"path\":\"r\"}}",
		  "process.env[0]: 'NOEQ' is not NAME=VALUE" },
		{ "{\"ociVersion\":\"1.0\",\"process\":{\"args\":[\"a\"],\"cwd\":\"tmp\"},\"root\":"
		  "{\"path\":\"r\"}}",
		  "process.cwd: 'tmp' must be an absolute path" },
		/* (uid_t)-1 is "unchanged" to setresuid(2): the process would stay root */
		{ "{\"ociVersion\":\"1.0\",\"process\":{\"args\":[\"a\"],\"user\":{\"uid\":"
		  "4294967295,\"gid\":0}},\"root\":{\"path\":\"r\"}}",
		  "process.user.uid: 4294967295 is (uid_t)-1" },
		{ "{\"ociVersion\":\"1.0\",\"process\":{\"args\":[\"a\"],\"user\":{\"uid\":"
		  "1000,\"gid\":4294967295}},\"root\":{\"path\":\"r\"}}",
		  "process.user.gid: 4294967295 is (uid_t)-1" },
		{ "{\"ociVersion\":\"1.0\",\"process\":{\"args\":[\"a\"],\"user\":{\"uid\":"
		  "1000,\"gid\":1000,\"additionalGids\":[5,4294967295]}},\"root\":{\"path\":\"r\"}}",
		  "process.user.additionalGids[1]: 4294967295 is (uid_t)-1" },
		{ "{\"ociVersion\":\"1.0\",\"process\":{\"args\":[\"a\"],\"capabilities\":"
		  "{\"bounding\":[\"CAP_NOPE\"]}},\"root\":{\"path\":\"r\"}}",
		  "process.capabilities.bounding[0]: unknown capability 'CAP_NOPE'" },
		{ "{\"ociVersion\":\"1.0\",\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},"
		  "\"linux\":{\"resources\":{\"devices\":[{\"allow\":true,\"type\":\"x\"}]}}}",
		  "linux.resources.devices[0].type: 'x' is not a, c or b" },
		{ "{\"ociVersion\":\"1.0\",\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},"
		  "\"linux\":{\"devices\":[{\"path\":\"/dev/a/../../etc\",\"type\":\"c\","
		  "\"major\":1,\"minor\":3}]}}",
		  "linux.devices[0].path: must be an absolute path without .." },
		{ "{\"ociVersion\":\"1.0\",\"process\":{\"args\":[\"a\"],\"rlimits\":[{\"type\":"
		  "\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":5}]},\"root\":{\"path\":\"r\"}}",
		  "process.rlimits[0]: soft 10 is above hard 5" },
		{ "{\"ociVersion\":\"1.0\",\"process\":{\"args\":[\"a\"],\"apparmorProfile\":"
		  "\"unconfined\"},\"root\":{\"path\":\"r\"}}",
		  "process.apparmorProfile: not supported" },
		{ "{\"ociVersion\":\"2.0\",\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"}}",
		  "ociVersion: version '2.0'" },
		{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"}}",
		  "ociVersion is missing" },
		{ "{\"ociVersion\":\"1.0\",\"root\":{\"path\":\"r\"}}", "process.args is missing" },
		{ "{\"ociVersion\":\"1.0\",\"process\":{\"args\":[\"a\"]}}",
		  "root.path is missing" },
		{ "[1,2]", "config.json must be a JSON object" },
		{ "{\"ociVersion\":\"1.0\",}", "config.json:" },
		{ "{\"ociVersion\":\"1.0\"} trailing", "config.json:" },
		{ "{\"ociVersion\":\"1.0\\u0000x\"}", "NUL" },
	};
	struct oci_spec s;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].json, &s, err), -EINVAL);
		assert_contains(err, cases[i].want);
		oci_spec_free(&s);
	}
}

/* Deep nesting, huge arrays, a huge document: refused, bounded. */
static void test_hostile(void **state)
{
	struct oci_spec s;
	char err[512];
	size_t n = 200000, off;
	char *big = malloc(n * 4 + 256);

	(void)state;
	/* 5000 levels of arrays in an unknown field: the tokener's depth limit */
	off = (size_t)sprintf(big, "{\"ociVersion\":\"1.0\",\"x\":");
	for (int i = 0; i < 5000; i++)
		big[off++] = '[';
	for (int i = 0; i < 5000; i++)
		big[off++] = ']';
	big[off++] = '}';
	big[off] = 0;
	assert_int_equal(oci_parse(big, off, &s, err, sizeof(err)), -EINVAL);
	assert_contains(err, "config.json");
	oci_spec_free(&s);
	/* an args array past OCI_ARRAY_MAX */
	off = (size_t)sprintf(big, "{\"ociVersion\":\"1.0\",\"root\":{\"path\":\"r\"},"
				   "\"process\":{\"args\":[");
	for (size_t i = 0; i < 5000; i++)
		off += (size_t)sprintf(big + off, "%s\"a\"", i ? "," : "");
	off += (size_t)sprintf(big + off, "]}}");
	assert_int_equal(oci_parse(big, off, &s, err, sizeof(err)), -EINVAL);
	assert_contains(err, "process.args: 5000 entries; at most 4096");
	oci_spec_free(&s);
	/* past OCI_CONFIG_MAX */
	assert_int_equal(oci_parse(big, OCI_CONFIG_MAX + 1, &s, err, sizeof(err)), -EINVAL);
	assert_contains(err, "too long");
	oci_spec_free(&s);
	free(big);
}

static void test_warnings(void **state)
{
	struct oci_spec s;
	char err[512];

	(void)state;
	assert_int_equal(parse_with("\"linux\":{\"resources\":{\"memory\":{\"swappiness\":10,"
				    "\"kernel\":100}}}",
				    &s, err),
			 0);
	assert_contains(s.warnings, "linux.resources.memory.swappiness: cgroup v2 has no");
	assert_contains(s.warnings, "linux.resources.memory.kernel:");
	oci_spec_free(&s);
	/* null is absent (Go's encoding/json writes it) */
	assert_int_equal(parse_with("\"linux\":{\"seccomp\":null,\"resources\":null}", &s, err), 0);
	oci_spec_free(&s);
}

static void test_caps(void **state)
{
	uint64_t m;
	char err[128];

	(void)state;
	assert_int_equal(oci_cap_number("CAP_CHOWN"), 0);
	assert_int_equal(oci_cap_number("net_admin"), 12);
	assert_int_equal(oci_cap_number("CAP_CHECKPOINT_RESTORE"), 40);
	assert_int_equal(oci_cap_number("CAP_NOPE"), -1);
	assert_int_equal(oci_parse_caps("CAP_CHOWN,kill", &m, err, sizeof(err)), 0);
	assert_int_equal(m, (1ULL << 0) | (1ULL << 5));
	assert_int_equal(oci_parse_caps("none", &m, err, sizeof(err)), 0);
	assert_int_equal(m, 0);
	assert_int_equal(oci_parse_caps("CAP_CHOWN,CAP_X", &m, err, sizeof(err)), -EINVAL);
	assert_contains(err, "'CAP_X'");
	/* Docker's 14 */
	assert_int_equal(__builtin_popcountll(oci_default_caps()), 14);
	assert_true(oci_default_caps() & (1ULL << 27)); /* MKNOD is in Docker's */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crun_spec),
		cmocka_unit_test(test_podman_shape),
		cmocka_unit_test(test_containerd_shape),
		cmocka_unit_test(test_conversions),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_seccomp),
		cmocka_unit_test(test_process_refused),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_caps),
	};

	return cmocka_run_group_tests_name("oci", tests, NULL, NULL);
}
