/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Relief for guaranteed containers under memory pressure. While one of them
 * stalls in memory (BPF's reclaim-stall onset past its target, or the
 * kernel's PSI trigger on its memory.pressure), memory is taken from the
 * besteffort containers, lowest priority first and the largest of a
 * priority first: a squeeze (memory.high down by a share of what the victim
 * uses, which reclaims from it and stops its growth), and, where kills are
 * opted in and the pressure has lasted sustain_ns, a kill. Never anything
 * but a besteffort container (the caller passes only those), never a
 * protected one, one action at a time. After an action it waits until the
 * freed memory shows (the victim down to the squeeze, or its cgroup empty)
 * or settle_ns passes, and keeps a cooldown before the next; a squeeze that
 * freed nothing by then (anonymous memory and no swap) is not tried on that
 * victim again, which leaves the kill. Squeezes are given back one at a
 * time, each after release_ns of calm. Pure: the caller reads the figures
 * and writes memory.high and cgroup.kill.
 */
#ifndef CGPILOT_POLICY_MEMGUARD_H
#define CGPILOT_POLICY_MEMGUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "memhigh.h"

enum memguard_act {
	MG_NONE = 0,
	MG_SQUEEZE, /* memory.high of the victim to d->high */
	MG_KILL, /* cgroup.kill of the victim */
	MG_RELEASE, /* memory.high of the victim back to d->high (its own value) */
};

const char *memguard_act_name(enum memguard_act a);

struct memguard_conf {
	bool kill; /* the last rung is opted in */
	uint64_t sustain_ns; /* pressure this long before a kill */
	uint64_t cooldown_ns; /* at least this long between two actions */
	uint64_t settle_ns; /* waiting for the freed memory at most this long */
	uint64_t release_ns; /* calm this long before each squeeze is given back */
	/* the pressure is over once no signal said so for this long (PSI's
	 * come once a window, BPF's episodes end and start again) */
	uint64_t calm_ns;
	double squeeze; /* share of a victim's usage a squeeze takes, (0, 1) */
	uint64_t floor_bytes; /* memory.high never below this (nor the request) */
	uint64_t min_step_bytes; /* a squeeze smaller than this is none */
};

/* A besteffort container as the caller sees it now. */
struct memguard_victim {
	uint64_t id;
	int priority; /* lower goes first */
	uint64_t usage; /* memory.current */
	uint64_t request; /* its memory request: never squeezed below */
	uint64_t squeezed; /* memory.high this policy set, MEMHIGH_MAX: none */
	uint64_t own_high; /* memory.high without this policy (the memory loop's) */
	bool protected_; /* named in [policy.memory] protected: never a victim */
	bool populated; /* has processes (cgroup.events populated 1) */
	bool fruitless; /* a squeeze of it freed nothing in this episode */
	/* an adopted pod whose scheduler did not hand memory.high (or
	 * cgroup.kill) over: never squeezed (or never killed) */
	bool no_squeeze, no_kill;
};

struct memguard_state {
	uint64_t pressure_since; /* 0: no pressure now */
	uint64_t pressure_seen; /* a signal last said so */
	uint64_t calm_since; /* 0: never calm since start */
	uint64_t last_ns; /* the last action, 0: none */
	uint64_t victim; /* its victim */
	uint64_t wait_usage; /* a squeeze's: the usage that counts as freed */
	enum memguard_act last; /* MG_NONE: not waiting for freed memory */
	/* the caller's: giving a squeeze back now would bring the pressure
	 * back (besteffort near the slack): releases wait */
	bool hold_release;
	uint64_t actions[MG_RELEASE + 1]; /* done, by kind */
};

struct memguard_decision {
	enum memguard_act act;
	uint64_t victim; /* the act's victim */
	uint64_t high; /* MG_SQUEEZE, MG_RELEASE: the value to write */
	/* MG_NONE: a squeeze of this victim freed nothing within settle_ns
	 * (the caller marks it fruitless); 0: none */
	uint64_t fruitless;
	char why[160]; /* what the action is, or why there is none */
	uint64_t next_ns; /* when to decide again without a new signal, 0: only on one */
};

/* The pressure signals as they are at @now: the episode goes on through
 * gaps shorter than c->calm_ns. Returns when a gap would end it (0: none
 * open), for the caller's timer. */
uint64_t memguard_pressure(const struct memguard_conf *c, struct memguard_state *s, bool pressure,
			   uint64_t now);

/* One decision at @now over the @n besteffort containers in @v. */
void memguard_decide(const struct memguard_conf *c, const struct memguard_state *s,
		     const struct memguard_victim *v, unsigned n, uint64_t now,
		     struct memguard_decision *d);

/* @d was carried out at @now (written): the state waits for what it freed. */
void memguard_done(struct memguard_state *s, const struct memguard_decision *d,
		   const struct memguard_victim *victim, uint64_t now);

#endif
