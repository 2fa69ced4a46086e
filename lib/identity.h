/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who a cgroup belongs to, read from its path alone: the pod and container
 * of the kubelet's layouts (systemd and cgroupfs drivers; containerd, CRI-O
 * and Docker scopes), podman's and Docker's own scopes, Mesos containers
 * and systemd units. Pure: no syscalls, no allocation.
 *
 * The kubelet's systemd driver writes a pod UID with '_' for '-' (systemd
 * unit names keep '-' as the slice separator): pod_uid is given as the API
 * server knows it, with '-'.
 */
#ifndef CGPILOT_IDENTITY_H
#define CGPILOT_IDENTITY_H

#include <stdbool.h>

enum cg_id_kind {
	CGID_NONE = 0, /* nothing known */
	CGID_UNIT, /* a systemd unit or slice (no container) */
	CGID_KUBEPODS, /* the kubelet's root or one of its QoS parents */
	CGID_POD, /* a pod (the kubelet's pod cgroup) */
	CGID_CONTAINER, /* a container (or a cgroup below one) */
};

#define CG_ID_UID_MAX 64 /* a pod UID is 36; room for odd ones */
#define CG_ID_CTR_MAX 72 /* a container ID is 64 hex digits at most */
#define CG_ID_UNIT_MAX 128

struct cg_identity {
	enum cg_id_kind kind;
	char pod_uid[CG_ID_UID_MAX + 1];
	char container_id[CG_ID_CTR_MAX + 1];
	const char *qos; /* "guaranteed", "burstable", "besteffort", NULL */
	/* "containerd", "crio", "docker", "podman", "mesos", "systemd", NULL;
	 * a kubelet cgroupfs container's engine cannot be told from its name */
	const char *engine;
	char unit[CG_ID_UNIT_MAX + 1]; /* innermost systemd unit (.service, .scope) */
	bool sidecar; /* a runtime's monitor (crio-conmon-, libpod-conmon-), not the workload */
};

/* Parse @path (relative to the v2 mount, "" for the root). Always fills
 * @out; returns its kind. */
enum cg_id_kind cg_identity_parse(const char *path, struct cg_identity *out);
const char *cg_id_kind_name(enum cg_id_kind k);

#endif
