// SPDX-License-Identifier: Apache-2.0
/* lib/identity.c: pods, containers, engines and units from cgroup paths. */
#include <stdio.h>
#include <string.h>

#include "identity.h"
#include "unit.h"

#define UID "0b9e4a6c-1f7d-4c2e-9a55-3e2f1c0d8b77"
#define UID_ "0b9e4a6c_1f7d_4c2e_9a55_3e2f1c0d8b77"
#define CID "4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"

struct want {
	const char *path;
	enum cg_id_kind kind;
	const char *pod_uid, *container_id, *qos, *engine, *unit;
	bool sidecar;
};

static void check(const struct want *w)
{
	struct cg_identity id;
	char where[512];

	snprintf(where, sizeof(where), "path \"%s\"", w->path);
	if (cg_identity_parse(w->path, &id) != w->kind)
		fail_msg("%s: kind %d, want %d", where, id.kind, w->kind);
#define STR(field, val)                           \
	if (strcmp(id.field, (val) ? (val) : "")) \
	fail_msg("%s: " #field " \"%s\", want \"%s\"", where, id.field, (val) ? (val) : "")
#define PTR(field, val)                                                              \
	if ((id.field || (val)) && (!id.field || !(val) || strcmp(id.field, (val)))) \
	fail_msg("%s: " #field " %s, want %s", where, id.field ? id.field : "NULL",  \
		 (val) ? (val) : "NULL")
	STR(pod_uid, w->pod_uid);
	STR(container_id, w->container_id);
	STR(unit, w->unit);
	PTR(qos, w->qos);
	PTR(engine, w->engine);
	if (id.sidecar != w->sidecar)
		fail_msg("%s: sidecar %d", where, id.sidecar);
}

static void test_kubelet_cgroupfs(void **state)
{
	static const struct want w[] = {
		{ "kubepods", CGID_KUBEPODS },
		{ "kubepods/burstable", CGID_KUBEPODS, NULL, NULL, "burstable" },
		{ "kubepods/pod" UID, CGID_POD, UID, NULL, "guaranteed" },
		{ "kubepods/besteffort/pod" UID, CGID_POD, UID, NULL, "besteffort" },
		{ "kubepods/burstable/pod" UID "/" CID, CGID_CONTAINER, UID, CID, "burstable" },
		/* a cgroup of the container's own: still the container */
		{ "kubepods/pod" UID "/" CID "/inner", CGID_CONTAINER, UID, CID, "guaranteed" },
		/* CRI-O with the cgroupfs driver */
		{ "kubepods/pod" UID "/crio-" CID, CGID_CONTAINER, UID, CID, "guaranteed", "crio" },
		/* a static pod: its UID is a 32-digit hash */
		{ "kubepods/podd41d8cd98f00b204e9800998ecf8427e", CGID_POD,
		  "d41d8cd98f00b204e9800998ecf8427e", NULL, "guaranteed" },
		/* not a pod: no UID characters */
		{ "kubepods/burstable/podcast", CGID_KUBEPODS, NULL, NULL, "burstable" },
		{ "kubepods/burstable/other", CGID_KUBEPODS, NULL, NULL, "burstable" },
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		check(&w[i]);
}

static void test_kubelet_systemd(void **state)
{
	static const struct want w[] = {
		{ "kubepods.slice", CGID_KUBEPODS, NULL, NULL, NULL, NULL, "kubepods.slice" },
		{ "kubepods.slice/kubepods-pod" UID_ ".slice", CGID_POD, UID, NULL, "guaranteed",
		  NULL, "kubepods-pod" UID_ ".slice" },
		{ "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		  ".slice/cri-containerd-" CID ".scope",
		  CGID_CONTAINER, UID, CID, "burstable", "containerd",
		  "cri-containerd-" CID ".scope" },
		{ "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
		  ".slice/crio-" CID ".scope",
		  CGID_CONTAINER, UID, CID, "besteffort", "crio", "crio-" CID ".scope" },
		{ "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
		  ".slice/crio-conmon-" CID ".scope",
		  CGID_CONTAINER, UID, CID, "besteffort", "crio", "crio-conmon-" CID ".scope",
		  true },
		{ "kubepods.slice/kubepods-pod" UID_ ".slice/docker-" CID ".scope", CGID_CONTAINER,
		  UID, CID, "guaranteed", "docker", "docker-" CID ".scope" },
		/* kind's nodes: the kubelet's --cgroup-root is a slice prefix */
		{ "kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/"
		  "kubelet-kubepods-burstable-pod" UID_ ".slice",
		  CGID_POD, UID, NULL, "burstable", NULL,
		  "kubelet-kubepods-burstable-pod" UID_ ".slice" },
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		check(&w[i]);
}

static void test_engines_and_units(void **state)
{
	static const struct want w[] = {
		{ "", CGID_NONE },
		{ "machine.slice/libpod-" CID ".scope", CGID_CONTAINER, NULL, CID, NULL, "podman",
		  "libpod-" CID ".scope" },
		{ "machine.slice/libpod-conmon-" CID ".scope", CGID_CONTAINER, NULL, CID, NULL,
		  "podman", "libpod-conmon-" CID ".scope", true },
		{ "libpod_parent/libpod-" CID, CGID_CONTAINER, NULL, CID, NULL, "podman" },
		{ "user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" CID ".scope",
		  CGID_CONTAINER, NULL, CID, NULL, "podman", "libpod-" CID ".scope" },
		{ "system.slice/docker-" CID ".scope", CGID_CONTAINER, NULL, CID, NULL, "docker",
		  "docker-" CID ".scope" },
		{ "docker/" CID, CGID_CONTAINER, NULL, CID, NULL, "docker" },
		{ "docker", CGID_NONE },
		{ "mesos/5f2e8a1c-3b4d-4e6f-8a9b-0c1d2e3f4a5b", CGID_CONTAINER, NULL,
		  "5f2e8a1c-3b4d-4e6f-8a9b-0c1d2e3f4a5b", NULL, "mesos" },
		{ "mesos/parent-1/mesos/child-2/leaf", CGID_CONTAINER, NULL, "child-2", NULL,
		  "mesos" },
		{ "mesos", CGID_NONE },
		{ "system.slice", CGID_UNIT, NULL, NULL, NULL, "systemd", "system.slice" },
		{ "system.slice/cron.service", CGID_UNIT, NULL, NULL, NULL, "systemd",
		  "cron.service" },
		{ "system.slice/cron.service/sub", CGID_UNIT, NULL, NULL, NULL, "systemd",
		  "cron.service" },
		{ "cgpilot-itest/a", CGID_NONE },
		/* lookalikes are not containers */
		{ "system.slice/docker-xyz.scope", CGID_UNIT, NULL, NULL, NULL, "systemd",
		  "docker-xyz.scope" },
		{ "libpod-short", CGID_NONE },
		{ ".slice", CGID_NONE },
		{ "a//b/", CGID_NONE },
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		check(&w[i]);
}

/* Hostile names: over-long components are cut, never overrun. */
static void test_long(void **state)
{
	char path[8192], *p = path;
	struct cg_identity id;

	(void)state;
	p += sprintf(p, "kubepods/pod");
	memset(p, 'a', 4000);
	p[4000] = '\0';
	assert_int_equal(cg_identity_parse(path, &id), CGID_KUBEPODS); /* too long a UID */
	p = path + sprintf(path, "kubepods/pod" UID "/");
	memset(p, 'b', 5000);
	p[5000] = '\0';
	assert_int_equal(cg_identity_parse(path, &id), CGID_CONTAINER);
	assert_int_equal(strlen(id.container_id), CG_ID_CTR_MAX);
	p = path + sprintf(path, "system.slice/");
	memset(p, 'c', 5000);
	strcpy(p + 5000, ".service");
	assert_int_equal(cg_identity_parse(path, &id), CGID_UNIT);
	assert_int_equal(strlen(id.unit), CG_ID_UNIT_MAX);
	assert_int_equal(cg_identity_parse(NULL, &id), CGID_NONE);
	assert_string_equal(cg_id_kind_name(CGID_POD), "pod");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kubelet_cgroupfs),
		cmocka_unit_test(test_kubelet_systemd),
		cmocka_unit_test(test_engines_and_units),
		cmocka_unit_test(test_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
