// SPDX-License-Identifier: Apache-2.0
/*
 * Ancestors' memory protection. A cgroup's memory.min and memory.low take
 * effect only as far as its ancestors' do (the kernel bounds a child's
 * effective protection by its parent's), so a guaranteed container's
 * memory.min below cgpilot.slice/guaranteed protects nothing while that
 * parent's is 0. For every proper ancestor of a managed (launched or
 * runtime-created) container with protection:
 * - an ancestor cgpilot made (its owner tag) gets exactly the sum of the
 *   protection of the managed containers below it, up and down as they come
 *   and go;
 * - one it did not make (a systemd slice, an engine's parent) is raised
 *   only as far as that sum needs, never below the value found there first,
 *   and lowered back towards it as the need drops (DESIGN.md's enable-only
 *   writes). What was found is kept in memory: after a restart the value
 *   found is the raised one, which stays (docs/ARCHITECTURE.md).
 * Nothing is read or written while no managed container below an ancestor
 * asks for protection.
 *
 * Also here, the other enable-only write of a running node: with [node]
 * reserved_cpus, the system slice's cpuset.cpus becomes exactly the
 * reserved CPUs (the system's daemons keep to them and never run on a
 * container's CPU), given back when a clean stop leaves no container.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctr_internal.h"
#include "daemon.h"
#include "log.h"
#include "util.h"

enum { P_MIN, P_LOW, P_N };

static const char *const knob_of[P_N] = { "memory.min", "memory.low" };

struct ctr_anc {
	char *path;
	bool ours;
	uint64_t found[P_N]; /* what was there when first seen (not ours) */
	uint64_t set[P_N]; /* what is there now, as far as cgpilot knows */
};

static uint64_t protection(const struct container *k, unsigned i)
{
	if (k->kind == CTR_ADOPTED || !k->booked || k->dry || !k->cgroup_id)
		return 0;
	if (i == P_MIN)
		return k->class == CGP_CLASS_GUARANTEED ? k->spec.mem_request : 0;
	return k->class == CGP_CLASS_BURSTABLE ? k->spec.mem_request : 0;
}

bool ctr_protected(const struct container *k)
{
	return protection(k, P_MIN) || protection(k, P_LOW);
}

/* Strictly below @anc. */
static bool under(const char *anc, size_t n, const char *path)
{
	return !strncmp(anc, path, n) && path[n] == '/';
}

static void need_below(struct containers *c, const char *anc, uint64_t need[P_N])
{
	size_t n = strlen(anc);

	need[P_MIN] = need[P_LOW] = 0;
	for (const struct container *k = c->list; k; k = k->next)
		if (under(anc, n, k->path))
			for (unsigned i = 0; i < P_N; i++)
				need[i] += protection(k, i);
}

static struct ctr_anc *find(struct containers *c, const char *path)
{
	for (unsigned i = 0; i < c->nanc; i++)
		if (streq(c->anc[i].path, path))
			return &c->anc[i];
	return NULL;
}

static void drop(struct containers *c, struct ctr_anc *a)
{
	free(a->path);
	*a = c->anc[--c->nanc];
}

static int parse_bytes(const char *s, uint64_t *ret)
{
	char *end;

	if (streq(s, "max")) {
		*ret = UINT64_MAX;
		return 0;
	}
	errno = 0;
	*ret = strtoull(s, &end, 10);
	return errno || end == s || *end ? -EINVAL : 0;
}

/* First sight of an ancestor that needs protection: whose is it, what is there. */
static struct ctr_anc *track(struct containers *c, const char *path)
{
	char tag[64], buf[32];
	struct ctr_anc *a, e = { 0 };

	if (c->nanc == c->canc) {
		unsigned cap = c->canc ? c->canc * 2 : 16;

		a = realloc(c->anc, cap * sizeof(*a));
		if (!a)
			return NULL;
		c->anc = a;
		c->canc = cap;
	}
	e.ours = act_owner(&c->act, path, tag, sizeof(tag)) > 0 &&
		 !strncmp(tag, CTR_OWNER, strlen(CTR_OWNER)) &&
		 (tag[strlen(CTR_OWNER)] == 0 || tag[strlen(CTR_OWNER)] == ':');
	for (unsigned i = 0; i < P_N; i++) {
		int r = act_read(&c->act, path, knob_of[i], buf, sizeof(buf));

		if (r < 0 || parse_bytes(buf, &e.set[i])) {
			log_warn("cannot read %s of cgroup %s (%s): the protection of the "
				 "managed containers below it may not take effect",
				 knob_of[i], path[0] ? path : "/", r < 0 ? strerror(-r) : buf);
			return NULL;
		}
		e.found[i] = e.ours ? 0 : e.set[i];
	}
	e.path = strdup(path);
	if (!e.path)
		return NULL;
	c->anc[c->nanc] = e;
	return &c->anc[c->nanc++];
}

static void protect_one(struct containers *c, const char *anc)
{
	uint64_t need[P_N];
	struct ctr_anc *a = find(c, anc);
	bool idle = true;

	need_below(c, anc, need);
	if (!a && !need[P_MIN] && !need[P_LOW])
		return;
	if (!a && !(a = track(c, anc)))
		return;
	for (unsigned i = 0; i < P_N; i++) {
		uint64_t want = a->ours ? need[i] : (need[i] > a->found[i] ? need[i] : a->found[i]);
		char reason[160], old[32];
		struct act_result res;
		int r;

		idle &= want == a->found[i];
		if (want == a->set[i])
			continue;
		snprintf(reason, sizeof(reason),
			 "%s of the managed containers below: %" PRIu64 " bytes%s", knob_of[i],
			 need[i], a->ours ? "" : " (raised only as far as they need)");
		r = act_protect(&c->act, anc, knob_of[i], want, reason, old, sizeof(old), &res);
		if (r == -ENOENT || r == -ESTALE) {
			drop(c, a);
			return;
		}
		if (r) {
			log_warn("%s", res.msg);
			idle = false; /* still raised: keep tracking it */
			continue;
		}
		if (!c->act.dry_run)
			a->set[i] = want;
	}
	if (idle && !need[P_MIN] && !need[P_LOW])
		drop(c, a);
}

void ctr_protect(struct containers *c, const char *path)
{
	_cleanup_free_ char *p = NULL;
	char *slash;

	if (!(c->enforce & CGFS_MEMORY) || !path || !(p = strdup(path)))
		return;
	/* the proper ancestors, deepest first; not the root, which has no knobs */
	while ((slash = strrchr(p, '/'))) {
		*slash = 0;
		protect_one(c, p);
	}
}

void ctr_protect_free(struct containers *c)
{
	while (c->nanc)
		drop(c, &c->anc[c->nanc - 1]);
	free(c->anc);
	c->anc = NULL;
	c->canc = 0;
}

void ctr_system_cpus(struct containers *c)
{
	const char *slice = c->d->conf.system_slice;
	char list[ACT_VALUE_MAX], old[ACT_VALUE_MAX];
	struct act_result res;
	int fd, r;

	if (!c->d->alloc_valid || !c->d->alloc.reserved_cpus.n || !slice[0])
		return;
	if (!(c->enforce & CGFS_CPUSET)) {
		log_info("[node] reserved_cpus: no cpuset controller; %s keeps its CPUs", slice);
		return;
	}
	{
		bool inside = cgfs_path_below(slice, c->root);

		for (unsigned i = 0; !inside && i < c->nengine; i++)
			inside = cgfs_path_below(slice, c->engine_roots[i]);
		if (inside) {
			log_warn(
				"[node] reserved_cpus: %s holds cgpilot's containers (root %s or an "
				"engine root); it keeps its CPUs (set [node] system_slice to another "
				"cgroup, or empty)",
				slice, c->root);
			return;
		}
	}
	fd = act_open_cgroup(&c->act, slice);
	if (fd < 0) {
		log_info("[node] reserved_cpus: no cgroup %s (%s); nothing confined", slice,
			 strerror(-fd));
		return;
	}
	close(fd);
	if (topo_format_cpulist(&c->d->alloc.reserved_cpus, list, sizeof(list)))
		return;
	r = act_enable_controllers(&c->act, slice, CGFS_CPUSET, &c->undo,
				   "cpuset for the system slice ([node] reserved_cpus)", &res);
	if (!r)
		r = act_enable_only(&c->act, slice, "cpuset.cpus", list,
				    "the system keeps to [node] reserved_cpus", old, sizeof(old),
				    &res);
	if (r) {
		log_warn("[node] reserved_cpus: %s", res.msg);
		return;
	}
	if (!c->act.dry_run && !streq(old, list) && !c->sys_cpus_old) {
		c->sys_cpus_old = strdup(old);
		log_info("%s keeps to CPUs %s ([node] reserved_cpus; it had '%s')", slice, list,
			 old);
	}
}

void ctr_system_cpus_undo(struct containers *c)
{
	char old[ACT_VALUE_MAX];
	struct act_result res;

	if (!c->sys_cpus_old)
		return;
	if (act_enable_only(&c->act, c->d->conf.system_slice, "cpuset.cpus", c->sys_cpus_old,
			    "clean stop: the system slice's CPUs as they were", old, sizeof(old),
			    &res))
		log_warn("%s", res.msg);
	free(c->sys_cpus_old);
	c->sys_cpus_old = NULL;
}
