// SPDX-License-Identifier: Apache-2.0
/*
 * Which cgroups /metrics exports one by one, at most [metrics]
 * max_series_cgroups of them, chosen at each sample tick (not per scrape, so
 * that every Prometheus scraping the daemon sees the same set):
 *
 *   tier 0  managed and adopted containers, and the subtree roots above them;
 *   tier 1  pods, the kubelet's QoS parents, containers known from their path
 *           (lib/identity.h) and the other subtree roots;
 *   tier 2  any other cgroup whose own tasks ever ran, busiest first (CPU,
 *           run-queue, reclaim and I/O wait seconds per second at the tick).
 * A cgroup that never ran anything and is none of those is not exported.
 *
 * Stable: a cgroup keeps its series while it lives. It gives way only to a
 * container of tier 0 (the lowest tier, longest idle goes first), or, when
 * it is of tier 2 and its counters have not moved for EXPORT_IDLE_NS, to a
 * busy cgroup waiting outside. So series come and go with cgroups, not
 * between scrapes.
 *
 * Subtree roots, whose subtree sums are exported (cgpilot_subtree_*): pods,
 * the kubelet's root and QoS parents, and the parent of every container
 * (the kubelet's pod, machine.slice, a launched container's class
 * directory). A root stays one while it lives.
 */
#include <stdio.h>
#include <stdlib.h>

#include "containers.h"
#include "daemon.h"
#include "export.h"
#include "identity.h"
#include "log.h"
#include "util.h"

#define EXPORT_IDLE_NS (300ULL * 1000000000ULL)

/* Seconds per second of the cgroup's own tasks (BPF); in files-only mode its
 * cpu.stat usage, which counts its descendants too. */
static double activity(const struct cg *c, bool files)
{
	const struct cg_figures *f = &c->fig;

	if (files)
		return f->usage_rate;
	return f->cpu_rate + f->cpu_wait_rate + f->reclaim_rate + f->iowait_rate +
	       (f->io_bytes_rate > 0 ? 1e-9 * f->io_bytes_rate + 1e-9 : 0);
}

/* Its own tasks ever ran, stalled or did I/O, or it had an OOM kill; in
 * files-only mode, what the kernel's files say of it and its descendants. */
static bool ran(const struct cg *c, bool files)
{
	const struct cgp_cg_stats *s = &c->fig.bpf;
	const struct cg_figures *f = &c->fig;

	if (files)
		return (f->usage_valid && f->usage_usec) ||
		       (f->io_stat_valid && (f->io_stat.rios || f->io_stat.wios)) ||
		       (f->oom_kill_local_valid && f->oom_kill_local);
	return s->oncpu_ns || s->rq_delay_ns || s->reclaim_ns || s->iowait_ns || s->io_ops[0] ||
	       s->io_ops[1] || s->oom_kills || c->fig.oom_kills_user;
}

/* Best first: lower tier, busier now, active more recently, older (lower id). */
static int cmp_candidate(const void *a, const void *b, void *files)
{
	const struct cg *x = *(struct cg *const *)a, *y = *(struct cg *const *)b;
	double ax = activity(x, *(bool *)files), ay = activity(y, *(bool *)files);

	if (x->tier != y->tier)
		return x->tier < y->tier ? -1 : 1;
	if (ax != ay)
		return ax > ay ? -1 : 1;
	if (x->active_ns != y->active_ns)
		return x->active_ns > y->active_ns ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Worst first: higher tier, idle the longest. */
static int cmp_member(const void *a, const void *b)
{
	const struct cg *x = *(struct cg *const *)a, *y = *(struct cg *const *)b;

	if (x->tier != y->tier)
		return x->tier > y->tier ? -1 : 1;
	if (x->active_ns != y->active_ns)
		return x->active_ns < y->active_ns ? -1 : 1;
	return x->id > y->id ? -1 : x->id < y->id;
}

static void mark_root(struct daemon *d, struct cg *c)
{
	if (c && !c->gone && model__make_root(d->model, c))
		log_warn("Out of memory for the subtree sums of %s", cg_display_path(c));
}

static bool eligible(const struct cg *c, bool files)
{
	return !c->dead_ns && (c->tier < 2 || ran(c, files));
}

/* Identity and tier of one cgroup, and the subtree roots it makes. */
/* Identities are read from the display path (valid UTF-8, odd bytes
 * %-encoded as in the cgroup label): a container ID or unit name taken
 * from raw bytes could make the exposition invalid for every scrape. */
static void classify(struct daemon *d, struct cg *c, uint64_t now)
{
	const struct container *k = d->ctrs ? containers__find_cgroup(d->ctrs, c->id) : NULL;

	if (!c->id_valid) {
		struct cg_identity id;

		c->id_kind =
			(uint8_t)cg_identity_parse(c->path_partial ? "" : cg_display_path(c), &id);
		c->id_valid = true;
		if (id.kind == CGID_POD || id.kind == CGID_KUBEPODS)
			mark_root(d, c);
	}
	if (!c->dead_ns && (k || c->id_kind == CGID_CONTAINER))
		mark_root(d, model__parent(d->model, c));
	if (activity(c, daemon_files_only(d)) > 0)
		c->active_ns = now;
	if (k)
		c->tier = 0;
	else if (c->id_kind >= CGID_KUBEPODS || c->gone)
		c->tier = 1;
	else
		c->tier = 2;
}

void export_update(struct daemon *d, uint64_t now)
{
	unsigned n, cap = d->conf.max_series_cgroups, members = 0, ncand = 0, nmem = 0;
	struct cg *const *all = model__all(d->model, &n);
	struct cg **cand, **mem;
	bool files = daemon_files_only(d);

	d->export_ns = now ? now : 1;
	for (unsigned i = 0; i < n; i++)
		classify(d, all[i], now);
	/* the roots above managed containers rank with them */
	for (unsigned i = 0; i < n; i++) {
		struct cg *p;

		if (all[i]->tier == 0 && !all[i]->gone && (p = model__parent(d->model, all[i])) &&
		    p->gone)
			p->tier = 0;
	}
	cand = malloc(sizeof(*cand) * (n ? n : 1));
	mem = malloc(sizeof(*mem) * (n ? n : 1));
	if (!cand || !mem)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		struct cg *c = all[i];

		if (!eligible(c, files))
			c->exported = false;
		else if (c->exported)
			mem[nmem++] = c;
		else
			cand[ncand++] = c;
	}
	members = nmem;
	if (!ncand && members <= cap)
		goto out;
	qsort(mem, nmem, sizeof(*mem), cmp_member);
	/* the cap was lowered (a reload): the worst go */
	for (unsigned i = 0; members > cap && i < nmem; i++, members--)
		mem[i]->exported = false;
	qsort_r(cand, ncand, sizeof(*cand), cmp_candidate, &files);
	{
		unsigned ci = 0, mi = 0;

		for (; ci < ncand && members < cap; ci++, members++)
			cand[ci]->exported = true;
		/* a full set: the rest may displace the worst members; the
		 * candidates come best first, so the first that cannot ends it */
		for (; ci < ncand; ci++) {
			struct cg *c = cand[ci], *w;

			while (mi < nmem && !mem[mi]->exported)
				mi++;
			if (mi == nmem)
				break;
			w = mem[mi];
			if (!(c->tier == 0 ? w->tier > 0 :
					     (w->tier == 2 && activity(c, files) > 0 &&
					      now - w->active_ns >= EXPORT_IDLE_NS)))
				break;
			w->exported = false;
			c->exported = true;
			mi++;
		}
	}
out:
	free(cand);
	free(mem);
}

void export_identity(struct daemon *d, const struct cg *c, struct cg_identity *id,
		     const char **ret_class)
{
	const struct container *k = d->ctrs ? containers__find_cgroup(d->ctrs, c->id) : NULL;

	cg_identity_parse(c->path_partial ? "" : cg_display_path(c), id);
	*ret_class = NULL;
	if (!k)
		return;
	*ret_class = class_name(k->class);
	if (!id->container_id[0])
		snprintf(id->container_id, sizeof(id->container_id), "%s", k->name);
	if (!id->pod_uid[0] && k->pod_uid[0])
		snprintf(id->pod_uid, sizeof(id->pod_uid), "%s", k->pod_uid);
	if (k->kind == CTR_LAUNCHED)
		id->engine = "cgpilot";
}
