// SPDX-License-Identifier: Apache-2.0
#include "iothrottle.h"

static uint64_t half(uint64_t v, uint64_t floor)
{
	v /= 2;
	return v < floor ? floor : v;
}

static uint64_t twice(uint64_t v)
{
	return v > UINT64_MAX / 2 ? UINT64_MAX / 2 : 2 * v;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

enum iothrottle_move iothrottle_step(const struct iothrottle_conf *c, struct iothrottle_state *s,
				     bool pressure, uint64_t calm_since, uint64_t bps,
				     uint64_t iops, uint64_t now, uint64_t *next_ns)
{
	uint64_t rel = s->release_ns ? s->release_ns : c->release_ns, from;

	*next_ns = 0;
	if (pressure) {
		if (s->bps && now - s->last_ns < c->hold_ns) {
			*next_ns = s->last_ns + c->hold_ns;
			return IOT_NONE;
		}
		if (!s->bps) {
			/* a container that does no I/O is no cause: nothing to cap */
			if (!bps && !iops)
				return IOT_NONE;
			s->ceil_bps = max64(twice(twice(bps)), twice(twice(c->floor_bps)));
			s->ceil_iops = max64(twice(twice(iops)), twice(twice(c->floor_iops)));
			s->bps = half(bps, c->floor_bps);
			s->iops = half(iops, c->floor_iops);
		} else {
			if (s->bps == c->floor_bps && s->iops == c->floor_iops) {
				s->probing = false;
				return IOT_NONE; /* on the floor: nothing lower to go to */
			}
			s->bps = half(s->bps, c->floor_bps);
			s->iops = half(s->iops, c->floor_iops);
		}
		/* a step up that brought the pressure back: hold longer next time */
		if (s->probing && now - s->last_ns < rel) {
			rel = twice(rel);
			s->release_ns = rel > c->release_max_ns ? c->release_max_ns : rel;
		}
		s->probing = false;
		s->last_ns = now;
		s->tightened++;
		*next_ns = now + c->hold_ns;
		return IOT_TIGHTEN;
	}
	if (!s->bps)
		return IOT_NONE;
	/* its own I/O fell well under the cap: the next pressure is a new one
	 * (not a lift: under a cap, completions come in bursts, and one quiet
	 * sample is no sign that the writer stopped) */
	if (bps < s->bps / 4 && iops < s->iops / 4)
		s->release_ns = 0;
	rel = s->release_ns ? s->release_ns : c->release_ns;
	from = max64(calm_since, s->last_ns);
	if (now - from < rel) {
		*next_ns = from + rel;
		return IOT_NONE;
	}
	s->bps = twice(s->bps);
	s->iops = twice(s->iops);
	s->last_ns = now;
	s->probing = true;
	if (s->bps > s->ceil_bps && s->iops > s->ceil_iops) {
		s->bps = s->iops = 0;
		s->ceil_bps = s->ceil_iops = 0;
		s->lifted++;
		return IOT_LIFT;
	}
	s->relaxed++;
	*next_ns = now + rel;
	return IOT_RELAX;
}
