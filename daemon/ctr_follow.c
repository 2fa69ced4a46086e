// SPDX-License-Identifier: Apache-2.0
/*
 * Containers following the cgroup tree and the clock: adoption of cgroups
 * other schedulers make and the release of those that vanish (the model's
 * hooks), and the tick: start detection, deadlines, slack, the queue, the
 * state journal's compaction.
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

/* ---- the model's hooks: adoption, and cgroups gone ---- */

static void read_knob(struct containers *c, const char *path, const char *knob, char *buf,
		      size_t len, const char **ret)
{
	*ret = act_read(&c->act, path, knob, buf, len) < 0 ? NULL : buf;
}

static void adopt(struct containers *c, const struct cg *cg, const struct adopt_match *m)
{
	char w[32], cm[64], mmin[32], mlow[32], mmax[32];
	const char *pw, *pcm, *pmin, *plow, *pmax, *pod, *base;
	struct res_vec rv;
	struct container *k;
	json_object *sq;

	if (c->nadopted >= c->d->conf.max_containers) {
		c->stats.refused[REFUSE_LIMIT]++;
		log_warn("not adopting %s: max_containers (%" PRIu32 ") reached", cg->path,
			 c->d->conf.max_containers);
		return;
	}
	k = ctr_alloc(c);
	if (!k || !(k->path = strdup(cg->path))) {
		ctr_free_one(k);
		return;
	}
	k->kind = CTR_ADOPTED;
	k->state = CTR_RUNNING;
	k->class = m->pattern->class;
	k->pattern = m->pattern;
	k->cgroup_id = cg->id;
	base = strrchr(cg->path, '/');
	snprintf(k->name, sizeof(k->name), "%s", base ? base + 1 : cg->path);
	pod = adopt_capture(m, "pod");
	if (pod)
		snprintf(k->pod_uid, sizeof(k->pod_uid), "%s", pod);
	snprintf(k->tenant, sizeof(k->tenant), "%s", m->pattern->engine);
	/* squeezed by the previous run: its scheduler's values are the record's */
	sq = ctr_state_claim(c, cg->id);
	read_knob(c, cg->path, "cpu.weight", w, sizeof(w), &pw);
	read_knob(c, cg->path, "cpu.max", cm, sizeof(cm), &pcm);
	if (ctr_state_saved_knob(sq, "cpu.weight"))
		pw = ctr_state_saved_knob(sq, "cpu.weight");
	if (ctr_state_saved_knob(sq, "cpu.max"))
		pcm = ctr_state_saved_knob(sq, "cpu.max");
	read_knob(c, cg->path, "memory.min", mmin, sizeof(mmin), &pmin);
	read_knob(c, cg->path, "memory.low", mlow, sizeof(mlow), &plow);
	read_knob(c, cg->path, "memory.max", mmax, sizeof(mmax), &pmax);
	if (class_spec_from_files(pw, pcm, pmin, plow, pmax, &k->spec))
		memset(&k->spec, 0, sizeof(k->spec));
	k->admitted_ns = k->started_ns = mono_now_ns();
	ctr_link(c, k);
	/* another scheduler admitted it: its requests count, whether they fit or not */
	admit_book(&c->books, k->class, &k->spec, 0);
	rv = (struct res_vec){ k->spec.cpu_request_mc, k->spec.mem_request };
	drf_charge(&c->drf, k->tenant, &rv);
	k->booked = true;
	c->stats.adopted++;
	log_info("adopted %s as %s (pattern %s%s%s)", cg_display_path(cg), class_name(k->class),
		 m->pattern->name, pod ? ", pod " : "", pod ? pod : "");
	if (sq) {
		ctr_state_undo_squeeze(c, k, sq);
		json_object_put(sq);
	}
	ctr_control_admitted(c, k);
}

void containers__cgroup_added(struct containers *c, const struct cg *cg)
{
	struct container *k = containers__find_cgroup(c, cg->id);
	struct adopt_match m;

	if (k) {
		if (strcmp(k->path, cg->path)) {
			char *p = strdup(cg->path);

			if (p) {
				ctr_set_path(c, k, p);
				if (k->kind != CTR_ADOPTED)
					ctr_state_put(c, k);
			}
		}
		return;
	}
	if (c->nengine && cg->path[0] && ctr_take_unadmitted(c, cg))
		return;
	if (c->npatterns && cg->path[0] && adopt_match(c->patterns, c->npatterns, cg->path, &m))
		adopt(c, cg, &m);
	else
		ctr_control_cgroup_added(c, cg);
}

void containers__cgroup_removed(struct containers *c, uint64_t cgroup_id)
{
	struct container *k = containers__find_cgroup(c, cgroup_id);

	if (!k)
		return;
	if (k->releasing) {
		c->stats.released++;
		log_info("container %" PRIu64 " (%s) released after its processes ended", k->id,
			 k->path);
	} else {
		c->stats.vanished++;
		log_info("container %" PRIu64 " (%s): its cgroup was removed; reservation "
			 "returned",
			 k->id, k->path);
	}
	ctr_forget(c, k);
}

void containers__client_closed(struct containers *c, struct ctl_client *cl)
{
	struct container *k = c->list, *next;
	int r;

	if (!c->drf.n && !c->owned)
		return; /* only queued requests and launchers' containers have a client */
	for (; k; k = next) {
		next = k->next;
		if (k->waiter == cl) {
			k->waiter = NULL;
			c->stats.cancelled++;
			ctr_release(c, k, "the waiting client went away", false);
		} else if (k->owner == cl) {
			k->owner = NULL;
			c->owned--;
			if (k->releasing)
				continue;
			c->stats.orphaned++;
			log_info("container %" PRIu64 " (%s): its launcher went away before "
				 "releasing it",
				 k->id, k->path);
			r = ctr_release(c, k,
					"its launcher went away before releasing it; what is left "
					"of the workload is killed",
					true);
			if (r && r != -EINPROGRESS)
				log_warn("container %" PRIu64 " (%s): its launcher went away, and "
					 "it could not be released: %s",
					 k->id, k->path, strerror(-r));
		}
	}
}

/* ---- the tick ---- */

static bool populated(struct containers *c, struct container *k)
{
	char buf[256];
	const char *p;

	if (act_read(&c->act, k->path, "cgroup.events", buf, sizeof(buf)) < 0)
		return false;
	p = strstr(buf, "populated ");
	return p && p[10] == '1';
}

/* A container's CPU use from its cgroup's cpu.stat usage_usec (read by the
 * model's sweep), which counts its children too, unlike the BPF rate of
 * the cgroup's own tasks (kept as the fallback before two readings). */
static uint64_t cpu_used(struct container *k, const struct cg *cg)
{
	if (!cg)
		return k->cpu_used_valid ? k->cpu_used_mc : 0;
	if (cg->fig.usage_valid && cg->fig.kernel_ns && cg->fig.kernel_ns != k->usage_prev_ns) {
		if (k->usage_prev_ns && cg->fig.usage_usec >= k->usage_prev_usec &&
		    cg->fig.kernel_ns > k->usage_prev_ns) {
			uint64_t dt_us = (cg->fig.kernel_ns - k->usage_prev_ns) / 1000;

			if (dt_us) {
				k->cpu_used_mc = (cg->fig.usage_usec - k->usage_prev_usec) *
						 CGP_MILLI / dt_us;
				k->cpu_used_valid = true;
			}
		}
		k->usage_prev_usec = cg->fig.usage_usec;
		k->usage_prev_ns = cg->fig.kernel_ns;
	}
	if (k->cpu_used_valid)
		return k->cpu_used_mc;
	return (uint64_t)(cg->fig.cpu_rate * CGP_MILLI);
}

static void update_slack(struct containers *c, uint64_t now_ns)
{
	struct res_vec used = { 0 }, reserved = c->books.reserved;

	/* memory.current as the model's sweep last read it (spread over
	 * psi_sweep_s); before the first reading, the request counts */
	for (struct container *k = c->list; k; k = k->next) {
		const struct cg *cg;

		if (k->state == CTR_QUEUED || k->class == CGP_CLASS_BESTEFFORT || !k->cgroup_id)
			continue;
		cg = model__find(c->d->model, k->cgroup_id);
		used.cpu_mc += cpu_used(k, cg);
		if (cg && cg->fig.memory_valid) {
			k->mem_used = cg->fig.memory_current;
			k->mem_used_valid = true;
		}
		used.mem += k->mem_used_valid ? k->mem_used : k->spec.mem_request;
	}
	c->books.slack =
		slack_update(&c->slack, &c->slack_conf, now_ns, &c->books.alloc, &reserved, &used);
}

/*
 * Has an admitted container's workload started? Asked of cgroup.events only
 * where there is reason to: BPF has seen a task run in the cgroup (it gave
 * the cgroup a slot), its start deadline has come, or its turn among a few a
 * tick has (a task that never ran there, a full slot map). Reading every
 * waiting container's file each tick would cost thousands of reads a second
 * on a node with many of them.
 */
#define START_CHECKS_PER_TICK 16
#define START_RECHECK_NS (10 * 1000000000ULL)

static bool started(struct containers *c, struct container *k, uint64_t now_ns, unsigned *turns)
{
	const struct cg *cg = model__find(c->d->model, k->cgroup_id);
	bool look = now_ns >= k->deadline_ns || (cg && cg->slot >= 0);

	if (!look && *turns && k->start_checked_ns + START_RECHECK_NS <= now_ns) {
		(*turns)--;
		look = true;
	}
	if (!look)
		return false;
	k->start_checked_ns = now_ns;
	return populated(c, k);
}

void containers__tick(struct containers *c, uint64_t now_ns)
{
	struct container *k, *next;
	unsigned turns = START_CHECKS_PER_TICK;

	for (k = c->list; k; k = next) {
		next = k->next;
		if (k->releasing) {
			ctr_release(c, k, "killed; its processes are gone", true);
			continue;
		}
		if (k->state != CTR_ADMITTED)
			continue;
		if (!k->dry && started(c, k, now_ns, &turns)) {
			k->state = CTR_RUNNING;
			k->started_ns = now_ns;
			ctr_state_put(c, k);
			continue;
		}
		if (now_ns >= k->deadline_ns) {
			c->stats.expired++;
			if (ctr_release(c, k, "no process within start_deadline_s", false))
				log_warn("container %" PRIu64 " (%s) passed its start deadline "
					 "but could not be removed",
					 k->id, k->path);
		}
	}
	update_slack(c, now_ns);
	ctr_control_tick(c, now_ns);
	ctr_memory_tick(c, now_ns);
	ctr_io_tick(c, now_ns);
	ctr_guard_tick(c, now_ns);
	ctr_serve_queue(c, now_ns);
	ctr_state_compact(c);
}
