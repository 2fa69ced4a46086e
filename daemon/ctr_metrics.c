// SPDX-License-Identifier: Apache-2.0
/* The allocation side of /metrics: the node's books, containers, admissions, actions. */
#include <inttypes.h>
#include <stdio.h>

#include "ctr_internal.h"
#include "daemon.h"
#include "expo.h"
#include "util.h"

static void cpus(struct expo *e, const char *name, const char *help, uint64_t mc)
{
	expo_family(e, name, "gauge", help);
	expo_begin(e, name, NULL);
	expo_value_scaled(e, mc, 3);
}

/* The CPU ladder: moves by rung and direction, each squeezable container's
 * rung, and the reaction time from an onset to the first write it caused. */
static void ladder_metrics(struct containers *c, struct expo *e)
{
	static const unsigned bounds[] = { 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 21 };

	expo_family(e, "cgpilot_policy_actions_total", "counter",
		    "Rung changes of the CPU protection ladder, actions of the memory relief and "
		    "io.max caps of the I/O loop (throttle up: a new or lower cap; down: a higher "
		    "or lifted one), by policy, rung and direction");
	for (int r = RUNG_WEIGHT; r < RUNG_MAX; r++) {
		for (int up = 1; up >= 0; up--) {
			expo_begin(e, "cgpilot_policy_actions_total", NULL);
			expo_label_raw(e, "policy", "cpu");
			expo_label_raw(e, "rung", ladder_rung_name(r));
			expo_label_raw(e, "direction", up ? "up" : "down");
			expo_value_u64(e, up ? c->ladder_up[r] : c->ladder_down[r]);
		}
	}
	{
		static const struct {
			const char *rung, *dir;
			enum memguard_act a;
		} mem[] = { { "squeeze", "up", MG_SQUEEZE },
			    { "squeeze", "down", MG_RELEASE },
			    { "kill", "up", MG_KILL } };

		for (unsigned i = 0; i < ARRAY_SIZE(mem); i++) {
			expo_begin(e, "cgpilot_policy_actions_total", NULL);
			expo_label_raw(e, "policy", "memory");
			expo_label_raw(e, "rung", mem[i].rung);
			expo_label_raw(e, "direction", mem[i].dir);
			expo_value_u64(e, c->guard.actions[mem[i].a]);
		}
	}
	{
		uint64_t up = c->io_moves[IOT_TIGHTEN],
			 down = c->io_moves[IOT_RELAX] + c->io_moves[IOT_LIFT];

		expo_begin(e, "cgpilot_policy_actions_total", NULL);
		expo_label_raw(e, "policy", "io");
		expo_label_raw(e, "rung", "throttle");
		expo_label_raw(e, "direction", "up");
		expo_value_u64(e, up);
		expo_begin(e, "cgpilot_policy_actions_total", NULL);
		expo_label_raw(e, "policy", "io");
		expo_label_raw(e, "rung", "throttle");
		expo_label_raw(e, "direction", "down");
		expo_value_u64(e, down);
	}
	expo_family(
		e, "cgpilot_policy_rung", "gauge",
		"The CPU ladder's rung of each squeezable container (0 none, 1 weight, 2 quota, "
		"3 cpuset, 4 freeze, 5 kill)");
	for (struct container *k = c->list; k; k = k->next) {
		char id[24];

		if (k->kind == CTR_ADOPTED || k->class == CGP_CLASS_GUARANTEED || !k->cgroup_id)
			continue;
		snprintf(id, sizeof(id), "%" PRIu64, k->id);
		expo_begin(e, "cgpilot_policy_rung", NULL);
		expo_label_raw(e, "policy", "cpu");
		expo_label_raw(e, "container", id);
		expo_label(e, "cgroup", k->path);
		expo_value_u64(e, k->ladder.rung);
	}
	expo_family(e, "cgpilot_policy_reaction_seconds", "histogram",
		    "From a guaranteed container's CPU onset (the BPF event's time) to the first "
		    "write it caused");
	expo_histogram_log2(e, "cgpilot_policy_reaction_seconds", "policy", "cpu",
			    c->reaction_slots, c->reaction_sum_ns, bounds, ARRAY_SIZE(bounds));
}

void containers__metrics(struct containers *c, struct expo *e)
{
	const struct admit_books *b = &c->books;
	const struct ctr_stats *s = containers__stats(c);
	struct expo_labeled v[REFUSE_MAX > 16 ? REFUSE_MAX : 16];
	uint64_t free_cpu =
		b->alloc.cpu_mc > b->reserved.cpu_mc ? b->alloc.cpu_mc - b->reserved.cpu_mc : 0;
	uint64_t free_mem = b->alloc.mem > b->reserved.mem ? b->alloc.mem - b->reserved.mem : 0;
	unsigned excl = 0;

	cpus(e, "cgpilot_node_requested_cpus",
	     "CPUs requested by admitted guaranteed and burstable containers", b->reserved.cpu_mc);
	expo_gauge(e, "cgpilot_node_requested_memory_bytes",
		   "Memory requested by admitted guaranteed and burstable containers",
		   b->reserved.mem);
	cpus(e, "cgpilot_node_free_cpus", "Allocatable CPUs not requested", free_cpu);
	expo_gauge(e, "cgpilot_node_free_memory_bytes", "Allocatable memory not requested",
		   free_mem);
	cpus(e, "cgpilot_node_slack_cpus",
	     "CPUs besteffort work may still use: allocatable less smoothed use, with margin",
	     b->slack.cpu_mc);
	expo_gauge(e, "cgpilot_node_slack_memory_bytes",
		   "Memory besteffort work may still use: allocatable less smoothed use, with "
		   "margin",
		   b->slack.mem);
	cpus(e, "cgpilot_node_besteffort_requested_cpus", "CPUs requested by besteffort containers",
	     b->be_admitted.cpu_mc);
	if (c->pool_ok)
		for (unsigned i = 0; i < c->pool.n; i++)
			excl += c->pool.owner[i] != 0;
	expo_gauge(e, "cgpilot_node_exclusive_cpus",
		   "CPUs given exclusively to guaranteed containers", excl);
	cpus(e, "cgpilot_node_shared_pool_cpus", "CPUs of the shared pool", b->shared_mc);

	expo_family(e, "cgpilot_containers", "gauge", "Managed containers by kind and class");
	for (int k = 0; k < CTR_KIND_MAX; k++) {
		for (int cl = 0; cl < CGP_CLASS_MAX; cl++) {
			expo_begin(e, "cgpilot_containers", NULL);
			expo_label_raw(e, "kind", ctr_kind_name(k));
			expo_label_raw(e, "class", class_name(cl));
			expo_value_u64(e, s->count[k][cl]);
		}
	}
	expo_gauge(e, "cgpilot_containers_queued", "Requests waiting for admission", s->waiting);
	for (int cl = 0; cl < CGP_CLASS_MAX; cl++)
		v[cl] = (struct expo_labeled){ class_name(cl), s->admitted[cl] };
	expo_counters(e, "cgpilot_admissions_total", "Containers admitted, by class", "class", v,
		      CGP_CLASS_MAX);
	for (int r = 0; r < REFUSE_MAX; r++)
		v[r] = (struct expo_labeled){ ctr_refusal_name(r), s->refused[r] };
	expo_counters(e, "cgpilot_admission_refusals_total",
		      "Admission requests refused, by reason", "reason", v, REFUSE_MAX);
	v[0] = (struct expo_labeled){ "released", s->released };
	v[1] = (struct expo_labeled){ "expired", s->expired };
	v[2] = (struct expo_labeled){ "vanished", s->vanished };
	v[3] = (struct expo_labeled){ "cancelled", s->cancelled };
	expo_counters(e, "cgpilot_containers_ended_total",
		      "Containers that ended: released, expired (no process by the start "
		      "deadline), vanished (cgroup removed by someone else), cancelled (queued)",
		      "how", v, 4);
	expo_counter(e, "cgpilot_containers_orphaned_total",
		     "Launched containers released because their launcher went away first "
		     "(also counted as released)",
		     s->orphaned);
	expo_gauge(e, "cgpilot_containers_degraded",
		   "Runtime containers running degraded (shared pool, no reservations) "
		   "because they did not fit as asked",
		   s->ndegraded);
	expo_counter(e, "cgpilot_containers_degraded_total",
		     "Runtime containers admitted degraded (on_refusal = degrade)", s->degraded);
	expo_counter(e, "cgpilot_containers_replaced_total",
		     "Degraded containers placed as asked once room freed up", s->replaced);
	expo_counter(e, "cgpilot_containers_taken_over_total",
		     "Runtime containers cgpilot-run started while cgpilotd was away, admitted "
		     "when the daemon found them",
		     s->taken_over);
	expo_counter(e, "cgpilot_containers_adopted_total",
		     "Cgroups of other schedulers adopted by pattern", s->adopted);
	v[0] = (struct expo_labeled){ "written", s->actions_ok };
	v[1] = (struct expo_labeled){ "failed", s->actions_failed };
	v[2] = (struct expo_labeled){ "dry_run", s->actions_dry_run };
	expo_counters(e, "cgpilot_actions_total", "Cgroup file writes decided, by outcome",
		      "status", v, 3);
	expo_family(e, "cgpilot_action_writes_total", "counter",
		    "Cgroup file writes made, by knob");
	for (unsigned i = 0; i < s->nknob; i++) {
		expo_begin(e, "cgpilot_action_writes_total", NULL);
		expo_label_raw(e, "knob", s->by_knob[i].knob);
		expo_value_u64(e, s->by_knob[i].n);
	}
	expo_counter(e, "cgpilot_external_changes_total",
		     "Knobs found changed by another writer (cgpilot backed off)",
		     s->external_changes);
	expo_counter(e, "cgpilot_audit_write_failures_total",
		     "Audit log lines that could not be written", s->audit_failures);
	expo_counter(e, "cgpilot_state_write_failures_total",
		     "State journal lines and snapshots that could not be written",
		     s->state_failures);
	expo_gauge(e, "cgpilot_state_writable",
		   "1 if the daemon's state file can be written (admissions are acknowledged)",
		   !c->state_error[0]);
	ladder_metrics(c, e);
}
