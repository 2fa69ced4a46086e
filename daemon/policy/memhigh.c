// SPDX-License-Identifier: Apache-2.0
#include "memhigh.h"

bool memhigh_step(const struct memhigh_conf *c, struct memhigh_state *s, uint64_t usage,
		  uint64_t stall_ns, uint64_t floor, uint64_t limit, uint64_t now)
{
	uint64_t dt, lo, want, cur;
	double ratio;

	if (s->last_ns && now - s->last_ns < c->interval_ns)
		return false;
	dt = s->last_ns ? now - s->last_ns : c->interval_ns;
	s->last_ns = now;
	if (floor < c->floor_bytes)
		floor = c->floor_bytes;
	if (limit != MEMHIGH_MAX && floor > limit)
		floor = limit;
	ratio = dt ? (double)stall_ns / (double)dt : 0;
	/* where it stands: "max" counts as the memory in use, so that the first
	 * tightening starts from what the container has; a memory.high far
	 * above the use comes down to one and a half times it, no further, so
	 * that a passing dip in use does not cut it in one step */
	if (s->high == MEMHIGH_MAX)
		cur = usage;
	else
		cur = s->high > usage + usage / 2 ? usage + usage / 2 : s->high;
	if (ratio > c->target) {
		/* back off fast: a share of memory.high, four times that well past
		 * target (the stall grows steeply below the working set) */
		uint64_t add =
			(uint64_t)((double)s->high * c->backoff * (ratio > 4 * c->target ? 4 : 1));

		if (s->high == MEMHIGH_MAX)
			return false;
		want = s->high + (add > c->min_step_bytes ? add : c->min_step_bytes);
		if (want < s->high || (limit != MEMHIGH_MAX && want > limit))
			want = limit; /* past the limit (or the top of the range) */
		if (want == s->high)
			return false;
		s->high = want;
		s->backed_off++;
		return true;
	}
	/* under target: take a share of the memory in use, less near target */
	lo = (uint64_t)((double)usage * c->tighten * (1.0 - ratio / c->target));
	want = cur > lo ? cur - lo : 0;
	if (want <= floor)
		want = floor; /* the last step to the floor may be a small one */
	else if (s->high != MEMHIGH_MAX && s->high > want && s->high - want < c->min_step_bytes)
		return false;
	if (s->high != MEMHIGH_MAX && want >= s->high)
		return false;
	if (s->high == MEMHIGH_MAX && limit != MEMHIGH_MAX && want >= limit)
		return false;
	s->high = want;
	s->tightened++;
	return true;
}
