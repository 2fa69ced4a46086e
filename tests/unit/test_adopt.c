// SPDX-License-Identifier: Apache-2.0
/* daemon/policy/adopt.c: which cgroups of other schedulers cgpilot adopts, by path pattern. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "policy/adopt.h"
#include "unit.h"

#define UID "3f1c2a9e-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
#define UID_ "3f1c2a9e_5b6d_4e8f_9a0b_1c2d3e4f5a6b"
#define UID2 "0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9"
#define UID2_ "0a1b2c3d_4e5f_4061_8293_a4b5c6d7e8f9"
#define STATIC_UID "5ef6b2d9c8a04e0cb6f7d2f5e5c3e6a1"
#define CID "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static struct adopt_pattern pats[ADOPT_MAX_PATTERNS];
static unsigned npats;

static void load(const char *preset, const char *knobs)
{
	int r = adopt_preset(preset, knobs, pats + npats, ADOPT_MAX_PATTERNS - npats);

	assert_true(r > 0);
	npats += (unsigned)r;
}

static int setup(void **state)
{
	(void)state;
	memset(pats, 0, sizeof(pats));
	npats = 0;
	return 0;
}

/* @path matches the pattern named @name, with {pod} (or NULL: no capture) @pod. */
static void expect_pod(const char *path, const char *name, enum cgp_class class, const char *pod)
{
	struct adopt_match m;

	if (!adopt_match(pats, npats, path, &m))
		fail_msg("'%s' matches nothing, expected %s", path, name);
	assert_string_equal(m.pattern->name, name);
	assert_int_equal(m.pattern->class, class);
	if (pod) {
		assert_int_equal(m.ncaptures, 1);
		assert_string_equal(m.captures[0].name, "pod");
		assert_string_equal(adopt_capture(&m, "pod"), pod);
	}
}

static void expect_none(const char *path)
{
	struct adopt_match m;

	if (adopt_match(pats, npats, path, &m))
		fail_msg("'%s' matches %s", path, m.pattern->name);
}

static void test_preset_kubelet_systemd(void **state)
{
	(void)state;
	load("kubelet-systemd", "cpu.max");
	assert_int_equal(npats, 3);
	for (unsigned i = 0; i < npats; i++) {
		assert_string_equal(pats[i].engine, "kubelet");
		assert_string_equal(pats[i].knobs, "cpu.max");
	}
	expect_pod("kubepods.slice/kubepods-pod" UID_ ".slice", "kubelet-systemd-guaranteed",
		   CGP_CLASS_GUARANTEED, UID);
	expect_pod("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID2_ ".slice",
		   "kubelet-systemd-burstable", CGP_CLASS_BURSTABLE, UID2);
	expect_pod("kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice",
		   "kubelet-systemd-besteffort", CGP_CLASS_BESTEFFORT, UID);
	/* the tree around the pods is not adopted */
	expect_none("kubepods.slice");
	expect_none("kubepods.slice/kubepods-burstable.slice");
	expect_none("kubepods.slice/kubepods-besteffort.slice");
	expect_none("system.slice/kubelet.service");
	/* the other driver's layout is not this preset's */
	expect_none("kubepods/pod" UID);
	/* a QoS class's pod under another class's slice */
	expect_none("kubepods.slice/kubepods-besteffort.slice/kubepods-burstable-pod" UID_
		    ".slice");
	expect_none("kubepods.slice/kubepods-burstable.slice/kubepods-pod" UID_ ".slice");
}

static void test_preset_kubelet_cgroupfs(void **state)
{
	(void)state;
	load("kubelet-cgroupfs", "");
	assert_int_equal(npats, 3);
	expect_pod("kubepods/pod" UID, "kubelet-cgroupfs-guaranteed", CGP_CLASS_GUARANTEED, UID);
	expect_pod("kubepods/burstable/pod" UID2, "kubelet-cgroupfs-burstable", CGP_CLASS_BURSTABLE,
		   UID2);
	expect_pod("kubepods/besteffort/pod" UID, "kubelet-cgroupfs-besteffort",
		   CGP_CLASS_BESTEFFORT, UID);
	expect_none("kubepods");
	expect_none("kubepods/burstable");
	expect_none("kubepods/besteffort");
	expect_none("kubepods.slice/kubepods-pod" UID_ ".slice");
}

static void test_preset_mesos(void **state)
{
	struct adopt_match m;

	(void)state;
	load("mesos", NULL);
	assert_int_equal(npats, 1);
	assert_string_equal(pats[0].knobs, "");
	assert_string_equal(pats[0].engine, "mesos");
	assert_true(adopt_match(pats, npats, "mesos/" UID, &m));
	assert_string_equal(m.pattern->name, "mesos");
	assert_int_equal(m.pattern->class, CGP_CLASS_BURSTABLE);
	assert_string_equal(adopt_capture(&m, "id"), UID);
	assert_null(adopt_capture(&m, "pod"));
	assert_null(adopt_capture(&m, "name"));
	/* a nested container is the parent's child, not a container of its own */
	expect_none("mesos/" UID "/mesos/" UID2);
	expect_none("mesos");
}

/* All presets at once, on one tree: every pod its class, nothing else. */
static void test_presets_on_a_tree(void **state)
{
	static const struct {
		const char *path;
		const char *name; /* NULL: no match */
		const char *pod;
	} tree[] = {
		{ "kubepods.slice", NULL, NULL },
		{ "kubepods.slice/kubepods-pod" UID_ ".slice", "kubelet-systemd-guaranteed", UID },
		{ "kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" CID ".scope", NULL,
		  NULL },
		{ "kubepods.slice/kubepods-burstable.slice", NULL, NULL },
		{ "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID2_ ".slice",
		  "kubelet-systemd-burstable", UID2 },
		{ "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID2_
		  ".slice/crio-" CID ".scope",
		  NULL, NULL },
		{ "kubepods.slice/kubepods-besteffort.slice", NULL, NULL },
		{ "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice",
		  "kubelet-systemd-besteffort", UID },
		{ "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
		  ".slice/cri-containerd-" CID ".scope",
		  NULL, NULL },
		{ "kubepods", NULL, NULL },
		{ "kubepods/pod" UID2, "kubelet-cgroupfs-guaranteed", UID2 },
		{ "kubepods/pod" UID2 "/" CID, NULL, NULL },
		{ "kubepods/burstable", NULL, NULL },
		{ "kubepods/burstable/pod" UID, "kubelet-cgroupfs-burstable", UID },
		{ "kubepods/burstable/pod" UID "/" CID, NULL, NULL },
		{ "kubepods/besteffort/pod" UID2, "kubelet-cgroupfs-besteffort", UID2 },
		{ "kubepods/besteffort/pod" UID2 "/" CID, NULL, NULL },
		{ "mesos", NULL, NULL },
		{ "mesos/" UID, "mesos", NULL },
		{ "system.slice", NULL, NULL },
		{ "system.slice/containerd.service", NULL, NULL },
		{ "user.slice/user-1000.slice/session-2.scope", NULL, NULL },
	};
	struct adopt_match m;

	(void)state;
	load("kubelet-systemd", "");
	load("kubelet-cgroupfs", "");
	load("mesos", "");
	assert_int_equal(npats, 7);
	for (unsigned i = 0; i < sizeof(tree) / sizeof(tree[0]); i++) {
		bool hit = adopt_match(pats, npats, tree[i].path, &m);

		if (!tree[i].name) {
			if (hit)
				fail_msg("'%s' matches %s", tree[i].path, m.pattern->name);
			continue;
		}
		if (!hit)
			fail_msg("'%s' matches nothing", tree[i].path);
		assert_string_equal(m.pattern->name, tree[i].name);
		if (tree[i].pod)
			assert_string_equal(adopt_capture(&m, "pod"), tree[i].pod);
	}
}

static void test_static_pod_uid(void **state)
{
	(void)state;
	load("kubelet-systemd", "");
	load("kubelet-cgroupfs", "");
	expect_pod("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" STATIC_UID
		   ".slice",
		   "kubelet-systemd-burstable", CGP_CLASS_BURSTABLE, STATIC_UID);
	expect_pod("kubepods/burstable/pod" STATIC_UID, "kubelet-cgroupfs-burstable",
		   CGP_CLASS_BURSTABLE, STATIC_UID);
	expect_none("kubepods/burstable/pod" STATIC_UID "0");
	expect_none("kubepods/burstable/pod5ef6b2d9c8a04e0cb6f7d2f5e5c3e6a");
}

/* The QoS slices are not guaranteed pods: {pod} matches only UIDs. */
static void test_qos_slices_are_not_pods(void **state)
{
	struct adopt_pattern p = { .path = "kubepods.slice/kubepods-pod{pod}.slice" };
	struct adopt_pattern q = { .path = "kubepods.slice/kubepods-{pod}.slice" };

	(void)state;
	assert_false(adopt_match(&p, 1, "kubepods.slice/kubepods-burstable.slice", NULL));
	assert_false(adopt_match(&p, 1, "kubepods.slice/kubepods-besteffort.slice", NULL));
	/* even without the "pod" literal in the way */
	assert_false(adopt_match(&q, 1, "kubepods.slice/kubepods-burstable.slice", NULL));
	assert_false(adopt_match(&q, 1, "kubepods.slice/kubepods-besteffort.slice", NULL));
	assert_true(adopt_match(&q, 1, "kubepods.slice/kubepods-" UID_ ".slice", NULL));
}

static void test_containers_below_pods(void **state)
{
	(void)state;
	load("kubelet-systemd", "");
	load("kubelet-cgroupfs", "");
	expect_none("kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" CID ".scope");
	expect_none("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		    ".slice/crio-" CID ".scope");
	expect_none("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		    ".slice/crio-conmon-" CID ".scope");
	expect_none("kubepods/besteffort/pod" UID "/" CID);
	expect_none("kubepods/pod" UID "/" CID);
}

/* Patterns for the containers themselves capture the runtime's id. */
static void test_container_patterns(void **state)
{
	static struct adopt_pattern p[] = {
		{ .name = "containerd",
		  .path = "kubepods.slice/kubepods-besteffort.slice/"
			  "kubepods-besteffort-pod{pod}.slice/cri-containerd-{id}.scope" },
		{ .name = "crio",
		  .path = "kubepods.slice/kubepods-burstable.slice/"
			  "kubepods-burstable-pod{pod}.slice/crio-{id}.scope" },
		{ .name = "cgroupfs", .path = "kubepods/besteffort/pod{pod}/{id}" },
	};
	struct adopt_match m;

	(void)state;
	assert_true(
		adopt_match(p, 3,
			    "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
			    ".slice/cri-containerd-" CID ".scope",
			    &m));
	assert_string_equal(m.pattern->name, "containerd");
	assert_int_equal(m.ncaptures, 2);
	assert_string_equal(adopt_capture(&m, "pod"), UID);
	assert_string_equal(adopt_capture(&m, "id"), CID);
	assert_true(
		adopt_match(p, 3,
			    "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
			    ".slice/crio-" CID ".scope",
			    &m));
	assert_string_equal(m.pattern->name, "crio");
	assert_string_equal(adopt_capture(&m, "id"), CID);
	assert_true(adopt_match(p, 3, "kubepods/besteffort/pod" UID "/" CID, &m));
	assert_string_equal(m.pattern->name, "cgroupfs");
	assert_string_equal(adopt_capture(&m, "pod"), UID);
	assert_string_equal(adopt_capture(&m, "id"), CID);
	/* the pod itself is not a container */
	assert_false(adopt_match(p, 3, "kubepods/besteffort/pod" UID, &m));
}

static void test_hostile_pod_uids(void **state)
{
	static const char *const bad[] = {
		/* one digit short, one too many */
		"kubepods/pod3f1c2a9e-5b6d-4e8f-9a0b-1c2d3e4f5a6",
		"kubepods/pod" UID "0",
		"kubepods/pod3f1c2a9e-5b6d-4e8f-9a0b-1c2d3e4f5a6b7",
		/* not hex, upper case */
		"kubepods/pod3f1c2a9e-5b6d-4e8f-9a0b-1c2d3e4f5a6g",
		"kubepods/pod3F1C2A9E-5B6D-4E8F-9A0B-1C2D3E4F5A6B",
		"kubepods/podxxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
		/* separators moved, missing, other */
		"kubepods/pod3f1c2a9e5-b6d-4e8f-9a0b-1c2d3e4f5a6b",
		"kubepods/pod3f1c2a9e-5b6d-4e8f-9a0b1c2d3e4f5a6b",
		"kubepods/pod3f1c2a9e.5b6d.4e8f.9a0b.1c2d3e4f5a6b",
		/* '-' and '_' mixed */
		"kubepods/pod3f1c2a9e_5b6d-4e8f-9a0b-1c2d3e4f5a6b",
		"kubepods/pod3f1c2a9e-5b6d_4e8f_9a0b_1c2d3e4f5a6b",
		"kubepods.slice/kubepods-pod3f1c2a9e_5b6d_4e8f-9a0b_1c2d3e4f5a6b.slice",
		/* trailing junk */
		"kubepods.slice/kubepods-pod" UID_ ".slice.evil",
		"kubepods.slice/kubepods-pod" UID_ ".slicex",
		"kubepods.slice/kubepods-pod" UID_ "x.slice",
		"kubepods.slice/kubepods-pod" UID_ ".slice/",
		"kubepods/pod" UID " ",
		"kubepods/pod",
		"kubepods/pod.",
	};

	(void)state;
	load("kubelet-systemd", "");
	load("kubelet-cgroupfs", "");
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_none(bad[i]);
	/* all '_' or all '-' both do */
	expect_pod("kubepods/pod" UID_, "kubelet-cgroupfs-guaranteed", CGP_CLASS_GUARANTEED, UID);
	expect_pod("kubepods.slice/kubepods-pod" UID ".slice", "kubelet-systemd-guaranteed",
		   CGP_CLASS_GUARANTEED, UID);
}

static void test_hostile_paths(void **state)
{
	static const struct adopt_pattern p[] = {
		{ .name = "any", .path = "a/{name}" },
		{ .name = "star", .path = "b/*" },
		{ .name = "id", .path = "c/{id}" },
	};
	char long_comp[400];
	struct adopt_match m;

	(void)state;
	assert_false(adopt_match(p, 3, "", &m));
	assert_false(adopt_match(p, 3, NULL, &m));
	assert_false(adopt_match(p, 3, "a", &m));
	assert_false(adopt_match(p, 3, "/a/x", &m));
	assert_false(adopt_match(p, 3, "a/x/", &m));
	assert_false(adopt_match(p, 3, "a//x", &m));
	assert_false(adopt_match(p, 3, "a/x/y", &m));
	assert_false(adopt_match(p, 3, "a/..", &m));
	assert_false(adopt_match(p, 3, "a/.", &m));
	assert_false(adopt_match(p, 3, "b/..", &m));
	assert_false(adopt_match(p, 3, "../a/x", &m));
	assert_false(adopt_match(p, 3, "a/x\ny", &m));
	assert_false(adopt_match(p, 3, "a/x\n", &m));
	assert_false(adopt_match(p, 3, "b/x\ty", &m));
	assert_false(adopt_match(p, 3, "b/x\x1b[2J", &m));
	assert_false(adopt_match(p, 3, "b/x\x7f", &m));
	/* invalid UTF-8: a stray continuation, a truncated sequence, an overlong '/' */
	assert_false(adopt_match(p, 3, "a/x\x80y", &m));
	assert_false(adopt_match(p, 3, "b/x\xc3", &m));
	assert_false(adopt_match(p, 3, "a/x\xc0\xafy", &m));
	assert_false(adopt_match(p, 3, "b/\xed\xa0\x80", &m));
	assert_false(adopt_match(p, 3, "b/\xff", &m));
	/* a component past NAME_MAX */
	memset(long_comp, 'x', sizeof(long_comp));
	memcpy(long_comp, "b/", 2);
	long_comp[2 + 300] = '\0';
	assert_false(adopt_match(p, 3, long_comp, &m));
	long_comp[2 + 255] = '\0';
	assert_true(adopt_match(p, 3, long_comp, &m));
	assert_string_equal(m.pattern->name, "star");
	memcpy(long_comp, "a/", 2);
	assert_true(adopt_match(p, 3, long_comp, &m));
	assert_int_equal(strlen(adopt_capture(&m, "name")), 255);
	/* an {id} has at most 128 characters, and does not start with '.' */
	memcpy(long_comp, "c/", 2);
	long_comp[2 + 129] = '\0';
	assert_false(adopt_match(p, 3, long_comp, &m));
	long_comp[2 + 128] = '\0';
	assert_true(adopt_match(p, 3, long_comp, &m));
	assert_false(adopt_match(p, 3, "c/.hidden", &m));
	assert_false(adopt_match(p, 3, "c/a b", &m));
	assert_false(adopt_match(p, 3, "c/a:b", &m));
	assert_true(adopt_match(p, 3, "c/a.b_c-D9", &m));
	/* UTF-8 is a name like any other */
	assert_true(adopt_match(p, 3, "a/caf\xc3\xa9 \xe2\x9c\x93", &m));
	assert_string_equal(adopt_capture(&m, "name"), "caf\xc3\xa9 \xe2\x9c\x93");
	assert_false(adopt_match(p, 3, "c/caf\xc3\xa9", &m));
}

static void test_pattern_check(void **state)
{
	static const char *const good[] = {
		"kubepods.slice/kubepods-pod{pod}.slice",
		"kubepods/besteffort/pod{pod}/{id}",
		"mesos/{id}",
		"system.slice/*.service",
		"*",
		"a/**/b",
		"x{name}y",
		"{pod}/{id}/{name}",
		"a-{pod}-{id}-{name}",
		"caf\xc3\xa9/*",
	};
	static const struct {
		const char *pattern;
		const char *reason;
	} bad[] = {
		{ "", "empty" },
		{ "/kubepods/pod{pod}", "absolute" },
		{ "kubepods//pod{pod}", "empty component" },
		{ "kubepods/", "empty component" },
		{ "kubepods/../etc", "'..'" },
		{ "./kubepods", "'..'" },
		{ "kubepods/{foo}", "unknown capture '{foo}'" },
		{ "kubepods/{}", "unknown capture '{}'" },
		{ "kubepods/{POD}", "unknown capture" },
		{ "kubepods/{pod", "without '}'" },
		{ "kubepods/{pod/x}", "without '}'" },
		{ "kubepods/pod}", "without '{'" },
		{ "a/*{id}", "beside" },
		{ "a/{id}*", "beside" },
		{ "a/x*{id}.scope", "beside" },
		{ "a/{pod}{id}", "beside" },
		{ "{pod}/{id}/{name}/x-{id}/y{pod}", "more than 4 captures" },
		{ "{id}/{id}/{id}/{id}/{id}", "more than 4 captures" },
		{ "a\nb", "control character" },
		{ "a/\x01", "control character" },
		{ "a/\xff", "UTF-8" },
	};
	char err[256], longpat[ADOPT_PATTERN_MAX + 8];

	(void)state;
	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		err[0] = '\0';
		if (adopt_pattern_check(good[i], err, sizeof(err)))
			fail_msg("'%s' refused: %s", good[i], err);
	}
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(adopt_pattern_check(bad[i].pattern, err, sizeof(err)), -EINVAL);
		assert_contains(err, bad[i].reason);
	}
	assert_int_equal(adopt_pattern_check(NULL, err, sizeof(err)), -EINVAL);
	/* no room for the reason is no reason to crash */
	assert_int_equal(adopt_pattern_check("/x", NULL, 0), -EINVAL);
	/* over-long: ADOPT_PATTERN_MAX - 1 bytes fit, ADOPT_PATTERN_MAX do not */
	memset(longpat, 'a', sizeof(longpat));
	for (unsigned i = 100; i < ADOPT_PATTERN_MAX; i += 101)
		longpat[i] = '/';
	longpat[ADOPT_PATTERN_MAX - 1] = '\0';
	assert_int_equal(adopt_pattern_check(longpat, err, sizeof(err)), 0);
	longpat[ADOPT_PATTERN_MAX - 1] = 'a';
	longpat[ADOPT_PATTERN_MAX] = '\0';
	assert_int_equal(adopt_pattern_check(longpat, err, sizeof(err)), -EINVAL);
	assert_contains(err, "longer than");
}

/* A pattern that would not pass the check never matches, whatever the path. */
static void test_bad_pattern_never_matches(void **state)
{
	static const struct adopt_pattern p[] = {
		{ .path = "/x" },      { .path = "x/../y" },  { .path = "x//y" },
		{ .path = "x/{foo}" }, { .path = "x/*{id}" }, { .path = "" },
		{ .path = "x/{id" },
	};
	struct adopt_pattern unterminated;

	(void)state;
	assert_false(adopt_match(p, sizeof(p) / sizeof(p[0]), "x/y", NULL));
	assert_false(adopt_match(p, sizeof(p) / sizeof(p[0]), "x/abc", NULL));
	assert_false(adopt_match(p, sizeof(p) / sizeof(p[0]), "x/{foo}", NULL));
	assert_false(adopt_match(p, sizeof(p) / sizeof(p[0]), "x/{id", NULL));
	assert_false(adopt_match(p, sizeof(p) / sizeof(p[0]), "y", NULL));
	/* a path field without its NUL */
	memset(&unterminated, 0, sizeof(unterminated));
	memset(unterminated.path, 'x', sizeof(unterminated.path));
	assert_false(adopt_match(&unterminated, 1, "x", NULL));
}

/* ADOPT_MAX_CAPTURES captures, a name twice: each is there; the lookup gives the leftmost. */
static void test_four_captures(void **state)
{
	static const struct adopt_pattern p = { .path = "m/{id}/m/{id}/{name}-{pod}" };
	struct adopt_match m;

	(void)state;
	assert_int_equal(adopt_pattern_check(p.path, NULL, 0), 0);
	assert_true(adopt_match(&p, 1, "m/outer/m/inner/web 1-" UID_, &m));
	assert_int_equal(m.ncaptures, 4);
	assert_string_equal(m.captures[0].value, "outer");
	assert_string_equal(m.captures[1].name, "id");
	assert_string_equal(m.captures[1].value, "inner");
	assert_string_equal(m.captures[2].value, "web 1");
	assert_string_equal(m.captures[3].value, UID);
	assert_string_equal(adopt_capture(&m, "id"), "outer");
}

static void test_star(void **state)
{
	static const struct adopt_pattern p[] = {
		{ .name = "service", .path = "system.slice/*.service" },
		{ .name = "any", .path = "any/*" },
		{ .name = "mid", .path = "mid/a*b*c" },
		{ .name = "dup", .path = "dup/x**y" },
	};
	static const struct {
		const char *path;
		const char *name;
	} cases[] = {
		{ "system.slice/containerd.service", "service" },
		{ "system.slice/.service", "service" }, /* '*' matches the empty run */
		{ "system.slice/a.service.service", "service" },
		{ "system.slice/containerd.socket", NULL },
		{ "system.slice/containerd.service.d", NULL },
		{ "system.slice/x.service/child", NULL }, /* '*' does not cross '/' */
		{ "system.slice", NULL },
		{ "any/x", "any" },
		{ "any/x/y", NULL },
		{ "mid/abc", "mid" },
		{ "mid/a--b--c", "mid" },
		{ "mid/abcbc", "mid" },
		{ "mid/acb", NULL },
		{ "mid/abcx", NULL },
		{ "dup/xy", "dup" },
		{ "dup/x-y", "dup" },
		{ "dup/xz", NULL },
	};
	struct adopt_match m;

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool hit = adopt_match(p, 4, cases[i].path, &m);

		if (hit != !!cases[i].name)
			fail_msg("'%s': %s", cases[i].path, hit ? m.pattern->name : "no match");
		if (hit) {
			assert_string_equal(m.pattern->name, cases[i].name);
			assert_int_equal(m.ncaptures, 0);
		}
	}
}

/* Where a name splits more than one way, '*' and captures take the longest run. */
static void test_longest_run(void **state)
{
	static const struct adopt_pattern p[] = {
		{ .path = "a/{name}-{id}" },
		{ .path = "b/*-{id}" },
		{ .path = "c/cri-containerd-{id}.scope" },
	};
	struct adopt_match m;

	(void)state;
	assert_true(adopt_match(p, 3, "a/x-y-z", &m));
	assert_string_equal(adopt_capture(&m, "name"), "x-y");
	assert_string_equal(adopt_capture(&m, "id"), "z");
	assert_true(adopt_match(p, 3, "b/x-y-z", &m));
	assert_string_equal(adopt_capture(&m, "id"), "z");
	assert_true(adopt_match(p, 3, "c/cri-containerd-a.scope.scope", &m));
	assert_string_equal(adopt_capture(&m, "id"), "a.scope");
	assert_false(adopt_match(p, 3, "c/cri-containerd-.scope", &m));
	assert_false(adopt_match(p, 3, "a/-z", &m));
	assert_false(adopt_match(p, 3, "a/x-", &m));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Patterns that take exponential time in a naive glob stay linear-ish here. */
static void test_pathological(void **state)
{
	struct adopt_pattern p[4];
	char path[2 + 256];
	double t0;

	(void)state;
	memset(p, 0, sizeof(p));
	snprintf(p[0].path, sizeof(p[0].path), "x/*a*a*a*a*a*a*a*a*a*a*a*a*b");
	/* as many stars as fit */
	memcpy(p[1].path, "x/", 2);
	for (unsigned i = 2; i + 2 < ADOPT_PATTERN_MAX - 1; i += 2)
		memcpy(p[1].path + i, "*a", 2);
	strcat(p[1].path, "b");
	snprintf(p[2].path, sizeof(p[2].path), "x/{name}a*a*a*a*a*a*a*a*a*a*a*ab");
	snprintf(p[3].path, sizeof(p[3].path), "x/*a{id}a*a*a*a*a*a*a*a*a*a*ab");
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(adopt_pattern_check(p[i].path, NULL, 0), 0);
	memcpy(path, "x/", 2);
	memset(path + 2, 'a', 255);
	path[2 + 255] = '\0';
	t0 = now_s();
	for (unsigned i = 0; i < 20; i++)
		assert_false(adopt_match(p, 4, path, NULL));
	assert_true(now_s() - t0 < 2.0);
	/* and they still match what they should */
	path[2 + 254] = 'b';
	assert_true(adopt_match(p, 1, path, NULL));
	assert_true(adopt_match(p + 2, 1, path, NULL));
	assert_true(adopt_match(p + 3, 1, path, NULL));
}

static void test_first_match_wins(void **state)
{
	static const struct adopt_pattern p[] = {
		{ .name = "specific",
		  .path = "kubepods/besteffort/pod{pod}",
		  .class = CGP_CLASS_BESTEFFORT },
		{ .name = "broad", .path = "kubepods/*/*", .class = CGP_CLASS_BURSTABLE },
		{ .name = "later",
		  .path = "kubepods/besteffort/pod{pod}",
		  .class = CGP_CLASS_GUARANTEED },
	};
	struct adopt_match m;

	(void)state;
	assert_true(adopt_match(p, 3, "kubepods/besteffort/pod" UID, &m));
	assert_string_equal(m.pattern->name, "specific");
	assert_ptr_equal(m.pattern, &p[0]);
	assert_true(adopt_match(p + 1, 2, "kubepods/besteffort/pod" UID, &m));
	assert_string_equal(m.pattern->name, "broad");
	assert_int_equal(m.ncaptures, 0);
	assert_true(adopt_match(p, 3, "kubepods/burstable/pod" UID, &m));
	assert_string_equal(m.pattern->name, "broad");
	/* n bounds the table */
	assert_false(adopt_match(p, 0, "kubepods/besteffort/pod" UID, &m));
	assert_false(adopt_match(NULL, 3, "kubepods/besteffort/pod" UID, &m));
}

static void test_untouched_on_failure(void **state)
{
	struct adopt_match m, before;

	(void)state;
	load("kubelet-systemd", "");
	memset(&m, 0xa5, sizeof(m));
	before = m;
	assert_false(adopt_match(pats, npats, "kubepods.slice/kubepods-burstable.slice", &m));
	assert_false(adopt_match(pats, npats, "kubepods.slice/kubepods-pod" UID_ ".slice/x", &m));
	assert_memory_equal(&m, &before, sizeof(m));
	assert_null(adopt_capture(NULL, "pod"));
}

static void test_knob_allowed(void **state)
{
	struct adopt_pattern p = { .knobs = "cpu.max  memory.high\tio.weight " };
	struct adopt_pattern none = { .knobs = "" };

	(void)state;
	assert_true(adopt_knob_allowed(&p, "cpu.max"));
	assert_true(adopt_knob_allowed(&p, "memory.high"));
	assert_true(adopt_knob_allowed(&p, "io.weight"));
	assert_false(adopt_knob_allowed(&p, "cpu.max.burst"));
	assert_false(adopt_knob_allowed(&p, "cpu"));
	assert_false(adopt_knob_allowed(&p, "cpu.ma"));
	assert_false(adopt_knob_allowed(&p, "max"));
	assert_false(adopt_knob_allowed(&p, "memory.max"));
	assert_false(adopt_knob_allowed(&p, "io"));
	assert_false(adopt_knob_allowed(&p, "cpu.max memory.high"));
	assert_false(adopt_knob_allowed(&p, " cpu.max"));
	assert_false(adopt_knob_allowed(&p, ""));
	assert_false(adopt_knob_allowed(&p, NULL));
	assert_false(adopt_knob_allowed(&none, "cpu.max"));
	assert_false(adopt_knob_allowed(&none, ""));

	struct adopt_pattern path = { .knobs = "../cpu.max cpu.max/x ." };

	assert_false(adopt_knob_allowed(&path, "../cpu.max"));
	assert_false(adopt_knob_allowed(&path, "cpu.max/x"));
	assert_false(adopt_knob_allowed(&path, "."));
	assert_false(adopt_knob_allowed(&path, "cpu.max"));
}

static void test_preset_errors(void **state)
{
	struct adopt_pattern out[4], canary;
	char knobs[ADOPT_KNOBS_MAX + 1];

	(void)state;
	memset(out, 0x5a, sizeof(out));
	canary = out[0];
	assert_int_equal(adopt_preset("kubelet", "", out, 4), -ENOENT);
	assert_int_equal(adopt_preset("Kubelet-systemd", "", out, 4), -ENOENT);
	assert_int_equal(adopt_preset("", "", out, 4), -ENOENT);
	assert_int_equal(adopt_preset(NULL, "", out, 4), -ENOENT);
	/* three patterns do not fit in two: nothing is written */
	assert_int_equal(adopt_preset("kubelet-systemd", "", out, 2), -ENOSPC);
	assert_int_equal(adopt_preset("mesos", "", out, 0), -ENOSPC);
	memset(knobs, 'k', sizeof(knobs) - 1);
	knobs[sizeof(knobs) - 1] = '\0';
	assert_int_equal(adopt_preset("mesos", knobs, out, 4), -EINVAL);
	for (unsigned i = 0; i < 4; i++)
		assert_memory_equal(&out[i], &canary, sizeof(canary));
	/* exactly the room it needs, and nothing past it */
	assert_int_equal(adopt_preset("kubelet-cgroupfs", "cpu.max", out, 3), 3);
	assert_memory_equal(&out[3], &canary, sizeof(canary));
	assert_string_equal(out[2].path, "kubepods/besteffort/pod{pod}");
	/* the longest knob list that fits */
	knobs[ADOPT_KNOBS_MAX - 1] = '\0';
	assert_int_equal(adopt_preset("mesos", knobs, out + 3, 1), 1);
	assert_int_equal(strlen(out[3].knobs), ADOPT_KNOBS_MAX - 1);
	assert_string_equal(out[3].path, "mesos/{id}");
}

/* Every preset loads, and every pattern it ships passes the check. */
static void test_preset_names(void **state)
{
	struct adopt_pattern out[ADOPT_MAX_PATTERNS];
	unsigned n = 0, names = 0;
	char err[256];

	(void)state;
	for (const char *const *name = adopt_preset_names; *name; name++, names++) {
		int r = adopt_preset(*name, "cpu.max", out + n, ADOPT_MAX_PATTERNS - n);

		assert_true(r > 0);
		n += (unsigned)r;
	}
	assert_int_equal(names, 3);
	assert_int_equal(n, 7);
	for (unsigned i = 0; i < n; i++) {
		if (adopt_pattern_check(out[i].path, err, sizeof(err)))
			fail_msg("preset pattern %s refused: %s", out[i].name, err);
		assert_true(out[i].class < CGP_CLASS_MAX);
		assert_true(adopt_knob_allowed(&out[i], "cpu.max"));
		for (unsigned k = 0; k < i; k++)
			assert_string_not_equal(out[i].name, out[k].name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_preset_kubelet_systemd, setup),
		cmocka_unit_test_setup(test_preset_kubelet_cgroupfs, setup),
		cmocka_unit_test_setup(test_preset_mesos, setup),
		cmocka_unit_test_setup(test_presets_on_a_tree, setup),
		cmocka_unit_test_setup(test_static_pod_uid, setup),
		cmocka_unit_test(test_qos_slices_are_not_pods),
		cmocka_unit_test_setup(test_containers_below_pods, setup),
		cmocka_unit_test(test_container_patterns),
		cmocka_unit_test_setup(test_hostile_pod_uids, setup),
		cmocka_unit_test(test_hostile_paths),
		cmocka_unit_test(test_pattern_check),
		cmocka_unit_test(test_bad_pattern_never_matches),
		cmocka_unit_test(test_four_captures),
		cmocka_unit_test(test_star),
		cmocka_unit_test(test_longest_run),
		cmocka_unit_test(test_pathological),
		cmocka_unit_test(test_first_match_wins),
		cmocka_unit_test_setup(test_untouched_on_failure, setup),
		cmocka_unit_test(test_knob_allowed),
		cmocka_unit_test(test_preset_errors),
		cmocka_unit_test(test_preset_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
