/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CPU protection ladder: when a guaranteed container waits for CPU past
 * its target, the containers that crowd it are squeezed in rungs (a lower
 * cpu.weight, a cpu.max cap, a cpuset shrunk to one CPU, frozen, killed),
 * each held a minimum time before the next; once the pressure has stayed
 * below target for a rung's release hold, they step back down one rung at a
 * time. A step down after which the pressure comes back (the squeezed
 * container's demand not fallen meanwhile) doubles the release hold of the
 * rung it left (up to a cap), so a persistent antagonist stays squeezed with
 * rare probes rather than a sawtooth; the holds are reset when the squeezed
 * container's own demand falls. Pure: the caller hands in
 * the pressure and the time and writes what the rung means.
 */
#ifndef CGPILOT_POLICY_LADDER_H
#define CGPILOT_POLICY_LADDER_H

#include <stdbool.h>
#include <stdint.h>

enum ladder_rung {
	RUNG_NONE = 0,
	RUNG_WEIGHT, /* cpu.weight 1 */
	RUNG_QUOTA, /* cpu.max capped (quota_pct of one CPU) */
	RUNG_CPUSET, /* cpuset.cpus shrunk to one CPU of the shared pool */
	RUNG_FREEZE, /* cgroup.freeze 1 (opt-in) */
	RUNG_KILL, /* cgroup.kill (opt-in): the last rung */
	RUNG_MAX,
};

const char *ladder_rung_name(enum ladder_rung r);

struct ladder_conf {
	/* which rungs exist for this target (its controllers are on, freeze and
	 * kill opted in, a rung that would change nothing left out) */
	bool on[RUNG_MAX];
	uint64_t hold_ns; /* at least this long on a rung before the next one up */
	uint64_t release_ns; /* below target this long before a step down */
	uint64_t release_max_ns; /* the cap of a doubled release hold */
};

struct ladder_state {
	enum ladder_rung rung;
	uint64_t since_ns; /* on this rung since */
	/* release hold per rung, doubled on a relapse; 0: release_ns */
	uint64_t release_hold_ns[RUNG_MAX];
	uint64_t down_ns; /* the last step down (0: none since the last climb) */
	enum ladder_rung down_from; /* the rung it stepped down from */
	unsigned climbs, descents; /* counts, for metrics and tests */
};

/*
 * One decision for one squeezed container at @now. @pressure: a guaranteed
 * container it crowds is above its target now; @calm_since_ns: since when no
 * such pressure has been seen (ignored while @pressure); @demand_fell: the
 * container's own CPU demand has dropped (its holds go back to release_ns).
 * Moves @s at most one rung and returns the rung now in force (compare
 * with the rung before to know whether to write). *@ret_next_ns: when to
 * ask again at the latest (0: nothing pending, at RUNG_NONE without
 * pressure).
 */
enum ladder_rung ladder_step(const struct ladder_conf *c, struct ladder_state *s, bool pressure,
			     uint64_t calm_since_ns, bool demand_fell, uint64_t now,
			     uint64_t *ret_next_ns);

/* Is @r the highest rung that exists (nothing left to climb)? */
bool ladder_on_top(const struct ladder_conf *c, enum ladder_rung r);

/* The release hold in force for @r. */
uint64_t ladder_release_hold(const struct ladder_conf *c, const struct ladder_state *s,
			     enum ladder_rung r);

#endif
