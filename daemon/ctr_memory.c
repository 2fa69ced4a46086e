// SPDX-License-Identifier: Apache-2.0
/*
 * The memory loop: memory.high of the burstable and besteffort containers
 * cgpilot admitted, sized each interval by policy/memhigh.h from the
 * reclaim stall its tasks saw (the BPF counter the sample tick reads, no
 * file) and its memory.current (one read per container per interval), so
 * that cold memory is given back to the node while the stall stays under
 * target. Guaranteed containers are never touched; adopted ones not yet.
 * A clean stop (or the policy turned off) sets memory.high back to max.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctr_internal.h"
#include "daemon.h"
#include "log.h"
#include "util.h"

#define MS 1000000ULL

static bool target(const struct containers *c, const struct container *k)
{
	/* a frozen one shows no stall and must not be tightened for it */
	return c->d->conf.mem_policy && (c->enforce & CGFS_MEMORY) && k->kind != CTR_ADOPTED &&
	       !k->dry && k->cgroup_id && k->state != CTR_QUEUED && !k->releasing &&
	       k->ladder.rung < RUNG_FREEZE && !k->ladder_frozen && k->guard_high == MEMHIGH_MAX &&
	       (k->class == CGP_CLASS_BURSTABLE || k->class == CGP_CLASS_BESTEFFORT);
}

static void conf_of(const struct containers *c, struct memhigh_conf *mc)
{
	const struct cgp_conf *cf = &c->d->conf;

	*mc = (struct memhigh_conf){
		.interval_ns = cf->mem_interval_ms * MS,
		.target = (double)cf->mem_target_us / 1e6,
		.tighten = (double)cf->mem_tighten_pct / 100,
		.backoff = (double)cf->mem_backoff_pct / 100,
		.floor_bytes = cf->mem_floor,
		.min_step_bytes = 1ULL << 20,
	};
}

static int set_high(struct containers *c, struct container *k, uint64_t high, const char *reason)
{
	char val[24];
	struct act_write w = { .knob = "memory.high", .value = val };
	struct ctr_why cw = { .policy = "memory", .rung_from = -1, .rung_to = -1 };
	struct act_result res;
	int r;

	if (high == MEMHIGH_MAX)
		snprintf(val, sizeof(val), "max");
	else
		snprintf(val, sizeof(val), "%" PRIu64, high);
	c->why = &cw;
	r = ctr_apply(c, k, &w, 1, reason, &res);
	c->why = NULL;
	if (r)
		log_warn("container %" PRIu64 " (%s): %s", k->id, k->path, res.msg);
	return r;
}

void ctr_memory_tick(struct containers *c, uint64_t now)
{
	struct memhigh_conf mc;

	conf_of(c, &mc);
	for (struct container *k = c->list; k; k = k->next) {
		const struct cg *cg;
		uint64_t usage, stall, before = k->memhigh.high, limit;
		char buf[32], reason[200];
		struct memhigh_state s;

		if (!target(c, k))
			continue;
		cg = model__find(c->d->model, k->cgroup_id);
		if (!cg || !cg->fig.bpf_ns)
			continue;
		/* the first look gives the baseline of the stall counter */
		if (!k->mem_stall_valid || cg->fig.bpf.reclaim_ns < k->mem_stall_prev) {
			k->mem_stall_prev = cg->fig.bpf.reclaim_ns;
			k->mem_stall_valid = true;
			k->memhigh.last_ns = now;
			continue;
		}
		if (now - k->memhigh.last_ns < mc.interval_ns)
			continue;
		if (act_read(&c->act, k->path, "memory.current", buf, sizeof(buf)) < 0)
			continue;
		usage = strtoull(buf, NULL, 10);
		stall = cg->fig.bpf.reclaim_ns - k->mem_stall_prev;
		k->mem_stall_prev = cg->fig.bpf.reclaim_ns;
		limit = k->spec.mem_limit ? k->spec.mem_limit : MEMHIGH_MAX;
		s = k->memhigh;
		if (!memhigh_step(&mc, &s, usage, stall, k->spec.mem_request, limit, now)) {
			k->memhigh.last_ns = s.last_ns;
			continue;
		}
		snprintf(reason, sizeof(reason),
			 "memory loop: reclaim stall %" PRIu64 " us in %" PRIu64
			 " ms (target %u us a second), %" PRIu64 " MiB in use; memory.high %s",
			 stall / 1000, (uint64_t)((now - k->memhigh.last_ns) / MS),
			 c->d->conf.mem_target_us, usage >> 20,
			 s.high == MEMHIGH_MAX ? "back to max" :
			 s.high < before       ? "tightened" :
						 "given back");
		if (!set_high(c, k, s.high, reason))
			k->memhigh = s;
		else
			k->memhigh.last_ns = now;
	}
}

/* memory.high back to max for every container the loop sized. */
void ctr_memory_release(struct containers *c, const char *reason)
{
	for (struct container *k = c->list; k; k = k->next) {
		if (k->memhigh.high == MEMHIGH_MAX || k->kind == CTR_ADOPTED || k->dry ||
		    !k->cgroup_id || !(c->enforce & CGFS_MEMORY))
			continue;
		if (!set_high(c, k, MEMHIGH_MAX, reason))
			k->memhigh.high = MEMHIGH_MAX;
	}
}

/* At a restart: memory.high as the cgroup has it (a new cgroup's is max). */
void ctr_memory_adopt(struct containers *c, struct container *k)
{
	char buf[32];

	k->memhigh = (struct memhigh_state){ .high = MEMHIGH_MAX };
	k->mem_stall_valid = false;
	if (!(c->enforce & CGFS_MEMORY) || k->dry || !k->cgroup_id ||
	    act_read(&c->act, k->path, "memory.high", buf, sizeof(buf)) < 0 || streq(buf, "max"))
		return;
	k->memhigh.high = strtoull(buf, NULL, 10);
}
