// SPDX-License-Identifier: Apache-2.0
#include <stdio.h>

#include "memguard.h"

const char *memguard_act_name(enum memguard_act a)
{
	static const char *const names[] = { "none", "squeeze", "kill", "release" };

	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

uint64_t memguard_pressure(const struct memguard_conf *c, struct memguard_state *s, bool pressure,
			   uint64_t now)
{
	if (pressure) {
		if (!s->pressure_since)
			s->pressure_since = now;
		s->pressure_seen = now;
		return 0;
	}
	if (!s->pressure_since)
		return 0;
	if (now < s->pressure_seen + c->calm_ns)
		return s->pressure_seen + c->calm_ns;
	s->pressure_since = 0;
	s->calm_since = s->pressure_seen + c->calm_ns;
	s->last = MG_NONE; /* nothing left to wait for */
	return 0;
}

/* Lower priority first; of one priority, the larger first. */
static bool before(const struct memguard_victim *a, const struct memguard_victim *b)
{
	if (a->priority != b->priority)
		return a->priority < b->priority;
	if (a->usage != b->usage)
		return a->usage > b->usage;
	return a->id < b->id;
}

static const struct memguard_victim *find(const struct memguard_victim *v, unsigned n, uint64_t id)
{
	for (unsigned i = 0; i < n; i++)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}

/* The memory.high a squeeze of @x sets, or 0 when it would take too little. */
static uint64_t squeeze_to(const struct memguard_conf *c, const struct memguard_victim *x)
{
	uint64_t floor = x->request > c->floor_bytes ? x->request : c->floor_bytes;
	uint64_t cur = x->squeezed < x->usage ? x->squeezed : x->usage;
	uint64_t take = (uint64_t)((double)x->usage * c->squeeze);
	uint64_t to;

	to = cur > take ? cur - take : 0;
	if (to < floor)
		to = floor;
	return to + c->min_step_bytes <= cur ? to : 0;
}

static void release(const struct memguard_conf *c, const struct memguard_state *s,
		    const struct memguard_victim *v, unsigned n, uint64_t now,
		    struct memguard_decision *d)
{
	const struct memguard_victim *best = NULL;
	uint64_t at;

	/* the last taken goes back first: the highest priority, the smallest */
	for (unsigned i = 0; i < n; i++)
		if (v[i].squeezed != MEMHIGH_MAX && (!best || before(best, &v[i])))
			best = &v[i];
	if (!best) {
		snprintf(d->why, sizeof(d->why), "no pressure, nothing squeezed");
		return;
	}
	if (s->hold_release) {
		snprintf(d->why, sizeof(d->why),
			 "calm, but besteffort is near the slack: squeezes are kept");
		return;
	}
	at = s->calm_since + c->release_ns;
	if (s->last_ns && s->last_ns + c->release_ns > at)
		at = s->last_ns + c->release_ns;
	if (now < at) {
		snprintf(d->why, sizeof(d->why), "calm: squeezes are given back one by one");
		d->next_ns = at;
		return;
	}
	d->act = MG_RELEASE;
	d->victim = best->id;
	d->high = best->own_high;
	d->next_ns = now + c->release_ns;
	snprintf(d->why, sizeof(d->why),
		 "no guaranteed container stalled in memory for %llu ms: squeeze given back",
		 (unsigned long long)((now - s->calm_since) / 1000000));
}

void memguard_decide(const struct memguard_conf *c, const struct memguard_state *s,
		     const struct memguard_victim *v, unsigned n, uint64_t now,
		     struct memguard_decision *d)
{
	const struct memguard_victim *sq = NULL, *kill = NULL, *w;
	unsigned nprotected = 0, nunkillable = 0;

	*d = (struct memguard_decision){ .act = MG_NONE };
	if (!s->pressure_since) {
		release(c, s, v, n, now, d);
		return;
	}
	/* waiting for what the last action freed to show */
	if (s->last != MG_NONE && s->last != MG_RELEASE && (w = find(v, n, s->victim)) &&
	    w->populated && (s->last == MG_KILL || w->usage > s->wait_usage)) {
		if (now < s->last_ns + c->settle_ns) {
			snprintf(d->why, sizeof(d->why), "waiting for the memory the %s frees",
				 memguard_act_name(s->last));
			d->next_ns = s->last_ns + c->settle_ns;
			return;
		}
		if (s->last == MG_SQUEEZE && !w->fruitless)
			d->fruitless = w->id; /* the caller marks it; the kill may follow */
	}
	if (s->last_ns && now < s->last_ns + c->cooldown_ns) {
		snprintf(d->why, sizeof(d->why), "cooldown after the last action");
		d->next_ns = s->last_ns + c->cooldown_ns;
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct memguard_victim *x = &v[i];

		if (x->protected_) {
			nprotected++;
			continue;
		}
		if (!x->populated)
			continue;
		if (!x->no_squeeze && !x->fruitless && x->id != d->fruitless && squeeze_to(c, x) &&
		    (!sq || before(x, sq)))
			sq = x;
		if (x->no_kill) {
			nunkillable++;
			continue;
		}
		if (!kill || before(x, kill))
			kill = x;
	}
	/* the squeeze of the first in line; its kill only once squeezing it
	 * freed nothing or it has nothing left to give */
	if (sq && (!kill || !before(kill, sq) || !c->kill)) {
		d->act = MG_SQUEEZE;
		d->victim = sq->id;
		d->high = squeeze_to(c, sq);
		snprintf(d->why, sizeof(d->why), "memory.high %llu MiB -> %llu MiB",
			 (unsigned long long)((sq->squeezed < sq->usage ? sq->squeezed :
									  sq->usage) >>
					      20),
			 (unsigned long long)(d->high >> 20));
		return;
	}
	if (!kill) {
		snprintf(d->why, sizeof(d->why),
			 "no besteffort container with processes to take memory from%s%s",
			 nprotected ? " (the protected ones are never taken)" : "",
			 nunkillable ? " (adopted ones without cgroup.kill handed over)" : "");
		return;
	}
	if (!c->kill) {
		snprintf(d->why, sizeof(d->why),
			 "nothing left to squeeze, and kills are off ([policy.memory] kill)");
		return;
	}
	if (now < s->pressure_since + c->sustain_ns) {
		snprintf(d->why, sizeof(d->why), "a kill waits for %llu ms of pressure",
			 (unsigned long long)(c->sustain_ns / 1000000));
		d->next_ns = s->pressure_since + c->sustain_ns;
		return;
	}
	d->act = MG_KILL;
	d->victim = kill->id;
	snprintf(d->why, sizeof(d->why),
		 "killed: %llu MiB in use, nothing left to squeeze after %llu ms of pressure",
		 (unsigned long long)(kill->usage >> 20),
		 (unsigned long long)((now - s->pressure_since) / 1000000));
}

void memguard_done(struct memguard_state *s, const struct memguard_decision *d,
		   const struct memguard_victim *victim, uint64_t now)
{
	if (d->act == MG_NONE)
		return;
	s->actions[d->act]++;
	s->last = d->act;
	s->last_ns = now;
	s->victim = d->victim;
	/* a squeeze's memory counts as freed once the victim is half way down */
	s->wait_usage = 0;
	if (d->act == MG_SQUEEZE && victim)
		s->wait_usage =
			d->high + (victim->usage > d->high ? (victim->usage - d->high) / 2 : 0);
}
