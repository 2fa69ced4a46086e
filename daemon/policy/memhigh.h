/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sizing memory.high of a burstable or besteffort container from the stall
 * its tasks see in memory reclaim, as Meta's senpai does: while the stall
 * stays under target, tighten slowly (a small share of the memory in use
 * per step, less the closer the stall is to target), so that cold memory is
 * reclaimed and the container's real working set shows; when the stall
 * rises past target, back off fast (a share of memory.high, four times that
 * past four times the target). Never below a floor (the container's
 * memory request, or a configured minimum), never above its limit. Pure:
 * the caller reads the figures and writes memory.high.
 */
#ifndef CGPILOT_POLICY_MEMHIGH_H
#define CGPILOT_POLICY_MEMHIGH_H

#include <stdbool.h>
#include <stdint.h>

#define MEMHIGH_MAX UINT64_MAX /* memory.high "max" */

struct memhigh_conf {
	uint64_t interval_ns; /* at least this long between steps */
	/* stall (ns of reclaim stall per ns of time, summed over the
	 * container's tasks) under which memory is tightened: e.g. 0.001 */
	double target;
	double tighten; /* share of the memory in use taken per step at zero stall */
	double backoff; /* share of memory.high given back per step past target */
	uint64_t floor_bytes; /* never below (the larger of this and the request) */
	uint64_t min_step_bytes; /* steps smaller than this are not written */
};

struct memhigh_state {
	uint64_t high; /* what memory.high is (MEMHIGH_MAX: "max") */
	uint64_t last_ns; /* the last step, 0: none yet */
	unsigned tightened, backed_off; /* counts, for metrics and tests */
};

/*
 * One step at @now: @usage the container's memory.current, @stall_ns its
 * tasks' reclaim stall since the last step, @floor its memory request,
 * @limit its memory.max (MEMHIGH_MAX: none). Returns true when memory.high
 * should change, with the new value in s->high; false when it stays (too
 * soon, or a change under min_step_bytes).
 */
bool memhigh_step(const struct memhigh_conf *c, struct memhigh_state *s, uint64_t usage,
		  uint64_t stall_ns, uint64_t floor, uint64_t limit, uint64_t now);

#endif
