// SPDX-License-Identifier: Apache-2.0
#include "ladder.h"

static const char *const names[RUNG_MAX] = {
	[RUNG_NONE] = "none",	  [RUNG_WEIGHT] = "weight", [RUNG_QUOTA] = "quota",
	[RUNG_CPUSET] = "cpuset", [RUNG_FREEZE] = "freeze", [RUNG_KILL] = "kill",
};

const char *ladder_rung_name(enum ladder_rung r)
{
	return r < RUNG_MAX ? names[r] : "?";
}

uint64_t ladder_release_hold(const struct ladder_conf *c, const struct ladder_state *s,
			     enum ladder_rung r)
{
	uint64_t h = r < RUNG_MAX ? s->release_hold_ns[r] : 0;

	return h ? h : c->release_ns;
}

static enum ladder_rung above(const struct ladder_conf *c, enum ladder_rung r)
{
	for (unsigned i = (unsigned)r + 1; i < RUNG_MAX; i++)
		if (c->on[i])
			return (enum ladder_rung)i;
	return r;
}

bool ladder_on_top(const struct ladder_conf *c, enum ladder_rung r)
{
	return above(c, r) == r;
}

static enum ladder_rung below(const struct ladder_conf *c, enum ladder_rung r)
{
	for (unsigned i = r; i-- > 1;)
		if (c->on[i])
			return (enum ladder_rung)i;
	return RUNG_NONE;
}

static void climb(const struct ladder_conf *c, struct ladder_state *s, enum ladder_rung to,
		  uint64_t now)
{
	/* back to the rung it left, its demand not fallen since: the
	 * antagonist is still there, so the next probe comes later */
	if (s->down_ns && to == s->down_from) {
		uint64_t h = ladder_release_hold(c, s, to) * 2;

		s->release_hold_ns[to] = h < c->release_max_ns ? h : c->release_max_ns;
	}
	s->down_ns = 0;
	s->rung = to;
	s->since_ns = now;
	s->climbs++;
}

enum ladder_rung ladder_step(const struct ladder_conf *c, struct ladder_state *s, bool pressure,
			     uint64_t calm_since_ns, bool demand_fell, uint64_t now,
			     uint64_t *ret_next_ns)
{
	uint64_t next = 0;

	if (demand_fell) {
		for (unsigned i = 0; i < RUNG_MAX; i++)
			s->release_hold_ns[i] = 0;
		s->down_ns = 0;
	}
	if (pressure) {
		enum ladder_rung up = above(c, s->rung);

		if (up != s->rung) {
			/* the first rung at once: that is the point of measuring in
			 * the kernel; each further one after the hold */
			if (s->rung == RUNG_NONE || now - s->since_ns >= c->hold_ns)
				climb(c, s, up, now);
			if (!ladder_on_top(c, s->rung))
				next = s->since_ns + c->hold_ns;
		}
	} else if (s->rung != RUNG_NONE) {
		uint64_t from = calm_since_ns > s->since_ns ? calm_since_ns : s->since_ns;
		uint64_t hold = ladder_release_hold(c, s, s->rung);

		if (now - from >= hold) {
			s->down_from = s->rung;
			s->down_ns = now;
			s->rung = below(c, s->rung);
			s->since_ns = now;
			s->descents++;
			if (s->rung != RUNG_NONE)
				next = now + ladder_release_hold(c, s, s->rung);
		} else {
			next = from + hold;
		}
	}
	if (ret_next_ns)
		*ret_next_ns = next;
	return s->rung;
}
