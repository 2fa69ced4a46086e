// SPDX-License-Identifier: Apache-2.0
/*
 * The memory loop: memory.high of the burstable and besteffort containers
 * cgpilot admitted, sized each interval by policy/memhigh.h from the
 * reclaim stall its tasks saw (the BPF counter the sample tick reads, no
 * file) and its memory.current (one read per container per interval), so
 * that cold memory is given back to the node while the stall stays under
 * target. Guaranteed containers are never touched. With [policy.memory]
 * adopted, adopted pods whose pattern hands memory.high over are sized too:
 * their tasks run in the container cgroups below them, where BPF counts
 * the stall, so theirs is the "some" total of the pod's memory.pressure
 * (the subtree's, one more read per interval); never above the value their
 * scheduler wrote, which is kept before the first write and written back
 * when cgpilot gives the memory back; another writer's change is not
 * fought. A clean stop (or the policy turned off) gives every value back.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroupfs.h"
#include "ctr_internal.h"
#include "daemon.h"
#include "log.h"
#include "util.h"

#define MS 1000000ULL

bool ctr_memory_handed(const struct containers *c, const struct container *k)
{
	return c->d->conf.mem_policy_adopted && ctr_handed(k, "memory.high") && !k->backed_off;
}

static bool target(const struct containers *c, const struct container *k)
{
	/* a frozen one shows no stall and must not be tightened for it */
	return c->d->conf.mem_policy && (c->enforce & CGFS_MEMORY) &&
	       (k->kind != CTR_ADOPTED || ctr_memory_handed(c, k)) && !k->dry && k->cgroup_id &&
	       k->state != CTR_QUEUED && !k->releasing && k->ladder.rung < RUNG_FREEZE &&
	       !k->ladder_frozen && k->guard_high == MEMHIGH_MAX &&
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

int ctr_memory_save(struct containers *c, struct container *k)
{
	char buf[32];
	int r;

	if (k->kind != CTR_ADOPTED || k->mem_saved_valid)
		return 0;
	r = act_read(&c->act, k->path, "memory.high", buf, sizeof(buf));
	if (r < 0)
		return r;
	buf[strcspn(buf, "\n")] = '\0';
	if (!streq(buf, "max") && (!buf[0] || strspn(buf, "0123456789") != strlen(buf)))
		return -EINVAL;
	snprintf(k->mem_saved, sizeof(k->mem_saved), "%s", buf);
	k->mem_saved_valid = true;
	return 0;
}

void ctr_memory_value(const struct container *k, uint64_t high, char *buf, size_t len)
{
	if (high != MEMHIGH_MAX)
		snprintf(buf, len, "%" PRIu64, high);
	else if (k->kind == CTR_ADOPTED && k->mem_saved_valid)
		snprintf(buf, len, "%s", k->mem_saved); /* its scheduler's */
	else
		snprintf(buf, len, "max");
}

void ctr_memory_settled(struct container *k)
{
	if (k->memhigh.high == MEMHIGH_MAX && k->guard_high == MEMHIGH_MAX)
		k->mem_saved_valid = false;
}

static int set_high(struct containers *c, struct container *k, uint64_t high, const char *reason)
{
	char val[24];
	struct act_write w = { .knob = "memory.high", .value = val };
	struct ctr_why cw = { .policy = "memory", .rung_from = -1, .rung_to = -1 };
	struct act_result res;
	int r;

	ctr_memory_value(k, high, val, sizeof(val));
	c->why = &cw;
	r = ctr_apply(c, k, &w, 1, reason, &res);
	c->why = NULL;
	if (r == -EAGAIN) {
		/* an adopted pod's memory.high changed by another writer: theirs */
		k->memhigh = (struct memhigh_state){ .high = MEMHIGH_MAX };
		k->guard_high = MEMHIGH_MAX;
		k->mem_saved_valid = false;
	} else if (r) {
		log_warn("container %" PRIu64 " (%s): %s", k->id, k->path, res.msg);
	}
	return r;
}

void ctr_memory_unsqueeze(struct containers *c, struct container *k, const char *reason)
{
	if (k->kind != CTR_ADOPTED || k->dry || !k->cgroup_id ||
	    (k->memhigh.high == MEMHIGH_MAX && k->guard_high == MEMHIGH_MAX))
		return;
	k->memhigh = (struct memhigh_state){ .high = MEMHIGH_MAX };
	k->guard_high = MEMHIGH_MAX;
	k->mem_stall_valid = false;
	/* the scheduler's value back; another writer's now (-EAGAIN) stays */
	if (k->mem_saved_valid && !set_high(c, k, MEMHIGH_MAX, reason))
		log_info("container %" PRIu64 " (%s): memory.high %s back: %s", k->id, k->path,
			 k->mem_saved, reason);
	k->mem_saved_valid = false;
}

/* The stall is PSI's rather than BPF's: an adopted pod's, or any container's
 * in files-only mode. */
static bool psi_stall(const struct containers *c, const struct container *k)
{
	return k->kind == CTR_ADOPTED || daemon_files_only(c->d);
}

/*
 * The stall total the loop steps on: BPF's reclaim stall of the
 * container's own tasks, or for an adopted pod (and for every container
 * without BPF) the "some" total (us) of its memory.pressure, which covers
 * the cgroups below it.
 */
static bool stall_total(struct containers *c, const struct container *k, uint64_t *ns)
{
	const struct cg *cg;

	if (psi_stall(c, k)) {
		struct psi_totals t;
		char buf[256];

		/* read here, not from the model: its PSI sweep is seconds apart */
		if (act_read(&c->act, k->path, "memory.pressure", buf, sizeof(buf)) < 0 ||
		    cgfs_parse_psi(buf, &t))
			return false;
		*ns = t.some_us * 1000;
		return true;
	}
	cg = model__find(c->d->model, k->cgroup_id);
	if (!cg || !cg->fig.bpf_ns)
		return false;
	*ns = cg->fig.bpf.reclaim_ns;
	return true;
}

/* An adopted pod's limit: also the memory.high its scheduler wrote. */
static uint64_t limit_of(const struct container *k)
{
	uint64_t limit = k->spec.mem_limit ? k->spec.mem_limit : MEMHIGH_MAX;

	if (k->kind == CTR_ADOPTED && k->mem_saved_valid && !streq(k->mem_saved, "max")) {
		uint64_t v = strtoull(k->mem_saved, NULL, 10);

		if (v < limit)
			limit = v;
	}
	return limit;
}

void ctr_memory_tick(struct containers *c, uint64_t now)
{
	struct memhigh_conf mc;

	conf_of(c, &mc);
	for (struct container *k = c->list; k; k = k->next) {
		uint64_t usage, stall, total, before = k->memhigh.high, limit;
		char buf[32], reason[200];
		struct memhigh_state s;

		if (!target(c, k)) {
			/* an adopted pod held that may not be now ([policy.memory]
			 * adopted off, another writer changed one of its knobs):
			 * its scheduler's value back */
			if (k->kind == CTR_ADOPTED &&
			    (k->memhigh.high != MEMHIGH_MAX || k->guard_high != MEMHIGH_MAX) &&
			    !(c->d->conf.mem_policy && ctr_memory_handed(c, k)))
				ctr_memory_unsqueeze(c, k, "memory loop: no longer a target");
			continue;
		}
		if (k->mem_stall_valid && now - k->memhigh.last_ns < mc.interval_ns)
			continue;
		if (!stall_total(c, k, &total))
			continue;
		/* the first look gives the baseline of the stall counter */
		if (!k->mem_stall_valid || total < k->mem_stall_prev) {
			k->mem_stall_prev = total;
			k->mem_stall_valid = true;
			k->memhigh.last_ns = now;
			continue;
		}
		if (act_read(&c->act, k->path, "memory.current", buf, sizeof(buf)) < 0)
			continue;
		usage = strtoull(buf, NULL, 10);
		stall = total - k->mem_stall_prev;
		k->mem_stall_prev = total;
		/* an adopted pod: its scheduler's value kept before the first write */
		if (ctr_memory_save(c, k) < 0) {
			k->memhigh.last_ns = now;
			continue;
		}
		limit = limit_of(k);
		s = k->memhigh;
		if (!memhigh_step(&mc, &s, usage, stall, k->spec.mem_request, limit, now)) {
			k->memhigh.last_ns = s.last_ns;
			ctr_memory_settled(k);
			continue;
		}
		snprintf(reason, sizeof(reason),
			 "memory loop: %s %" PRIu64 " us in %" PRIu64
			 " ms (target %u us a second), %" PRIu64 " MiB in use; memory.high %s",
			 psi_stall(c, k) ? "memory stall (PSI)" : "reclaim stall", stall / 1000,
			 (uint64_t)((now - k->memhigh.last_ns) / MS), c->d->conf.mem_target_us,
			 usage >> 20,
			 s.high == MEMHIGH_MAX ? "back to max" :
			 s.high < before       ? "tightened" :
						 "given back");
		if (!set_high(c, k, s.high, reason))
			k->memhigh = s;
		else if (!k->backed_off)
			k->memhigh.last_ns = now;
	}
}

/* memory.high back to max (an adopted pod's: its scheduler's value) for
 * every container the loop sized. */
void ctr_memory_release(struct containers *c, const char *reason)
{
	for (struct container *k = c->list; k; k = k->next) {
		if (k->memhigh.high == MEMHIGH_MAX || k->dry || !k->cgroup_id ||
		    !(c->enforce & CGFS_MEMORY))
			continue;
		if (k->kind == CTR_ADOPTED) {
			ctr_memory_unsqueeze(c, k, reason);
			continue;
		}
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

/* policy.show's "memory": the loop's settings and what it holds. */
json_object *ctr_memory_json(struct containers *c)
{
	const struct cgp_conf *cf = &c->d->conf;
	json_object *o = json_object_new_object(), *sized = json_object_new_array();

	json_object_object_add(o, "enabled", json_object_new_boolean(cf->mem_policy));
	json_object_object_add(o, "adopted", json_object_new_boolean(cf->mem_policy_adopted));
	if (!(c->enforce & CGFS_MEMORY))
		json_object_object_add(o, "note",
				       json_object_new_string("no memory controller here: nothing "
							      "to size"));
	if (daemon_files_only(c->d))
		json_object_object_add(o, "files_only",
				       json_object_new_string(
					       "the BPF programs are not loaded: the stall is each "
					       "container's memory.pressure some total (PSI)"));
	json_object_object_add(o, "interval_ms", json_object_new_uint64(cf->mem_interval_ms));
	json_object_object_add(o, "target_us", json_object_new_uint64(cf->mem_target_us));
	json_object_object_add(o, "floor", json_object_new_uint64(cf->mem_floor));
	for (struct container *k = c->list; k; k = k->next) {
		json_object *e;

		if (k->memhigh.high == MEMHIGH_MAX)
			continue;
		e = json_object_new_object();
		json_object_object_add(e, "cgroup", json_object_new_string(k->path));
		json_object_object_add(e, "memory_high", json_object_new_uint64(k->memhigh.high));
		json_object_object_add(e, "tightened",
				       json_object_new_uint64(k->memhigh.tightened));
		json_object_object_add(e, "backed_off",
				       json_object_new_uint64(k->memhigh.backed_off));
		json_object_array_add(sized, e);
	}
	json_object_object_add(o, "sized", sized);
	return o;
}
