// SPDX-License-Identifier: Apache-2.0
/*
 * Cgroup identity from the path (identity.h). The layouts, as the engines
 * write them:
 *
 *   kubelet, cgroupfs driver   kubepods[/burstable|/besteffort]/pod<uid>/<id>
 *   kubelet, systemd driver    kubepods.slice[/kubepods-<qos>.slice]/
 *                              kubepods[-<qos>]-pod<uid with _>.slice/<scope>
 *                              (a --cgroup-root prefix gives "<p>-kubepods.slice")
 *   container scopes           cri-containerd-<id>.scope, crio-<id>.scope,
 *                              crio-conmon-<id>.scope, docker-<id>.scope
 *   podman                     [machine.slice/]libpod-<id>.scope, libpod_parent/libpod-<id>,
 *                              libpod-conmon-<id>.scope
 *   Docker, cgroupfs           docker/<id>
 *   Mesos                      mesos/<id>[/mesos/<id>...][/leaf]
 *   systemd                    *.slice, *.service, *.scope, ...: the innermost is the unit
 *
 * Below a container everything is the container's (an inner systemd, a
 * workload's own cgroups).
 */
#include <string.h>

#include "identity.h"

struct comp {
	const char *s;
	size_t n;
};

static bool comp_is(struct comp c, const char *lit)
{
	return c.n == strlen(lit) && !memcmp(c.s, lit, c.n);
}

static bool comp_prefix(struct comp *c, const char *lit)
{
	size_t l = strlen(lit);

	if (c->n < l || memcmp(c->s, lit, l))
		return false;
	c->s += l;
	c->n -= l;
	return true;
}

static bool comp_suffix(struct comp *c, const char *lit)
{
	size_t l = strlen(lit);

	if (c->n < l || memcmp(c->s + c->n - l, lit, l))
		return false;
	c->n -= l;
	return true;
}

static bool has_suffix(struct comp c, const char *lit)
{
	return comp_suffix(&c, lit);
}

static bool all_hex(struct comp c)
{
	if (!c.n)
		return false;
	for (size_t i = 0; i < c.n; i++)
		if (!((c.s[i] >= '0' && c.s[i] <= '9') || (c.s[i] >= 'a' && c.s[i] <= 'f')))
			return false;
	return true;
}

/* An engine's container ID: hex digits, 12 to 64 of them. */
static bool ctr_id(struct comp c)
{
	return c.n >= 12 && c.n <= 64 && all_hex(c);
}

/* A pod UID (a UUID, or the 32 hex digits of a static pod's hash), with '-'
 * or the systemd driver's '_'. */
static bool pod_uid(struct comp c)
{
	if (!c.n || c.n > CG_ID_UID_MAX)
		return false;
	for (size_t i = 0; i < c.n; i++) {
		char ch = c.s[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || ch == '-' ||
		      ch == '_'))
			return false;
	}
	return true;
}

/* A Mesos container ID: a UUID as Mesos makes them, or any of the
 * characters Mesos allows in one. */
static bool mesos_id(struct comp c)
{
	if (!c.n || c.n > CG_ID_CTR_MAX || comp_is(c, "leaf") || comp_is(c, "mesos"))
		return false;
	for (size_t i = 0; i < c.n; i++) {
		char ch = c.s[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_' || ch == '.'))
			return false;
	}
	return true;
}

static void copy(char *dst, size_t cap, struct comp c)
{
	size_t n = c.n < cap - 1 ? c.n : cap - 1;

	memcpy(dst, c.s, n);
	dst[n] = '\0';
}

static bool unit_name(struct comp c)
{
	static const char *const suffixes[] = { ".slice",  ".service", ".scope",
						".socket", ".mount",   ".swap" };

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (has_suffix(c, suffixes[i]) && c.n > strlen(suffixes[i]))
			return true;
	return false;
}

static void set_container(struct cg_identity *id, struct comp ctr, const char *engine)
{
	id->kind = CGID_CONTAINER;
	copy(id->container_id, sizeof(id->container_id), ctr);
	if (engine)
		id->engine = engine;
}

/* A runtime's scope: <prefix><id>.scope (or without .scope, cgroupfs). */
static bool engine_scope(struct cg_identity *id, struct comp c)
{
	static const struct {
		const char *prefix, *engine;
		bool sidecar;
	} scopes[] = {
		{ "cri-containerd-", "containerd", false },
		{ "crio-conmon-", "crio", true },
		{ "crio-", "crio", false },
		{ "docker-", "docker", false },
		{ "libpod-conmon-", "podman", true },
		{ "libpod-", "podman", false },
	};

	comp_suffix(&c, ".scope");
	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		struct comp rest = c;

		if (comp_prefix(&rest, scopes[i].prefix) && ctr_id(rest)) {
			set_container(id, rest, scopes[i].engine);
			id->sidecar = scopes[i].sidecar;
			return true;
		}
	}
	return false;
}

/* Inside the kubelet's root: a QoS parent, a pod, or a pod's container. */
static void kube_comp(struct cg_identity *id, struct comp c, bool systemd)
{
	if (id->kind == CGID_POD) {
		if (!engine_scope(id, c)) {
			/* cgroupfs: the bare ID (containerd, Docker); else whatever
			 * the runtime named its child of the pod */
			comp_suffix(&c, ".scope");
			set_container(id, c, NULL);
		}
		return;
	}
	if (systemd) {
		struct comp s = c;

		if (!comp_suffix(&s, ".slice"))
			return;
		if (has_suffix(s, "-burstable") || has_suffix(s, "-besteffort")) {
			id->qos = has_suffix(s, "-burstable") ? "burstable" : "besteffort";
			return;
		}
		/* <prefix>-pod<uid>: the last "-pod" */
		for (size_t i = s.n; i >= 4; i--) {
			struct comp u = { s.s + i, s.n - i };

			if (memcmp(s.s + i - 4, "-pod", 4))
				continue;
			if (!pod_uid(u))
				return;
			id->kind = CGID_POD;
			copy(id->pod_uid, sizeof(id->pod_uid), u);
			break;
		}
	} else {
		if (comp_is(c, "burstable") || comp_is(c, "besteffort")) {
			id->qos = comp_is(c, "burstable") ? "burstable" : "besteffort";
			return;
		}
		if (!comp_prefix(&c, "pod") || !pod_uid(c))
			return;
		id->kind = CGID_POD;
		copy(id->pod_uid, sizeof(id->pod_uid), c);
	}
	for (char *p = id->pod_uid; *p; p++)
		if (*p == '_')
			*p = '-';
	if (!id->qos)
		id->qos = "guaranteed";
}

enum cg_id_kind cg_identity_parse(const char *path, struct cg_identity *id)
{
	enum { OUT, KUBE_FS, KUBE_SD, DOCKER_FS, MESOS, DONE } where = OUT;
	const char *p = path ? path : "";

	memset(id, 0, sizeof(*id));
	while (*p && where != DONE) {
		struct comp c = { p, strcspn(p, "/") };

		p += c.n;
		if (*p == '/')
			p++;
		if (!c.n)
			continue;
		if (unit_name(c))
			copy(id->unit, sizeof(id->unit), c);
		switch (where) {
		case KUBE_FS:
		case KUBE_SD:
			kube_comp(id, c, where == KUBE_SD);
			if (id->kind == CGID_CONTAINER)
				where = DONE;
			continue;
		case DOCKER_FS:
			if (ctr_id(c)) {
				set_container(id, c, "docker");
				where = DONE;
				continue;
			}
			where = OUT;
			break;
		case MESOS:
			/* mesos/<id>[/mesos/<id>]...[/leaf]: the innermost ID */
			if (comp_is(c, "mesos") && id->kind == CGID_CONTAINER)
				continue;
			if (comp_is(c, "leaf") && id->kind == CGID_CONTAINER) {
				where = DONE;
				continue;
			}
			if (mesos_id(c)) {
				set_container(id, c, "mesos");
				continue;
			}
			where = id->kind == CGID_CONTAINER ? DONE : OUT;
			if (where == DONE)
				continue;
			break;
		default:
			break;
		}
		/* outside any engine's root */
		if (comp_is(c, "kubepods") || comp_is(c, "kubepods.slice") ||
		    has_suffix(c, "-kubepods.slice")) {
			where = comp_is(c, "kubepods") ? KUBE_FS : KUBE_SD;
			id->kind = CGID_KUBEPODS;
			id->engine = NULL;
		} else if (engine_scope(id, c)) {
			where = DONE;
		} else if (comp_is(c, "docker")) {
			where = DOCKER_FS;
		} else if (comp_is(c, "mesos")) {
			where = MESOS;
		} else if (unit_name(c) && id->kind <= CGID_UNIT) {
			id->kind = CGID_UNIT;
			id->engine = "systemd";
		}
	}
	return id->kind;
}

const char *cg_id_kind_name(enum cg_id_kind k)
{
	static const char *const names[] = { "", "unit", "kubepods", "pod", "container" };

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "";
}
