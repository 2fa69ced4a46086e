/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the live page (daemon/page.c) shows of the last minutes, in memory
 * of a fixed size whatever the number of cgroups (a node may have 20,000):
 *   - node figures (sums over the cgroups' local figures, cgroups in an
 *     episode) every step, HIST_NODE_POINTS of them (10 minutes at 1 s);
 *   - the HIST_TOP cgroups under most pressure at the last tick, and a
 *     short history of each: HIST_TRACK cgroups keep one (the top and those
 *     that left it most recently), HIST_CG_POINTS points each;
 *   - the last HIST_EVENTS onsets, clears, OOM kills and actions.
 * A step is at least one sample tick: the ticks within one are averaged.
 * Pure: no syscalls, times are arguments, nothing allocated after __new.
 */
#ifndef CGPILOT_HISTORY_H
#define CGPILOT_HISTORY_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

#define HIST_TOP 10
#define HIST_TRACK 20
#define HIST_NODE_POINTS 600
#define HIST_CG_POINTS 300
#define HIST_EVENTS 256
#define HIST_PATH_MAX 256 /* a stored path (display form) is cut past this */

/* Node figures over one step: seconds per second summed over the cgroups
 * (each counts its own tasks), bytes per second, cgroups in an episode by
 * signal (enum cgp_signal), cgroups alive. */
struct hist_node_point {
	uint64_t time_ms; /* CLOCK_REALTIME, the step's end */
	float cpu, cpu_wait, reclaim, iowait, io_bytes;
	uint32_t pressured[CGP_SIG_MAX];
	uint32_t cgroups;
};

/* One cgroup over one step: its rates, and its kernel PSI "some" share
 * (NaN while unknown: PSI is read once a sweep, a rate needs two). */
struct hist_cg_point {
	uint64_t time_ms;
	float cpu, cpu_wait, reclaim, iowait;
	float psi[PSI_RES_MAX];
};

/* A cgroup with a history. */
struct hist_track {
	uint64_t id; /* 0: the slot is free */
	char path[HIST_PATH_MAX]; /* display form when last seen, maybe cut */
	uint64_t top_ms; /* monotonic time it was last in the top */
	struct hist_cg_point points[HIST_CG_POINTS];
	unsigned n, next; /* ring */
	/* the step under way */
	double acc[4], acc_psi[PSI_RES_MAX];
	unsigned acc_n, acc_psi_n[PSI_RES_MAX];
	/* PSI totals at the last sweep reading, for the rate */
	uint64_t psi_prev[PSI_RES_MAX], psi_prev_ns;
	float psi_rate[PSI_RES_MAX];
};

enum hist_event_kind { HEV_ONSET = 0, HEV_CLEARED, HEV_OOM_KILL, HEV_ACTION, HEV_KIND_MAX };

/* An event as kept: strings cut to their size at a UTF-8 boundary. */
struct hist_event {
	uint64_t seq; /* set by history__note: 1, 2, ... */
	uint64_t time_ms; /* CLOCK_REALTIME */
	enum hist_event_kind kind;
	uint64_t cgroup_id;
	char cgroup[HIST_PATH_MAX];
	/* onset, cleared */
	uint32_t signal; /* enum cgp_signal */
	uint64_t value_ns, threshold_ns;
	/* OOM kill */
	uint32_t pid;
	char comm[48];
	/* action */
	uint64_t container; /* 0: none */
	char knob[32], old_value[64], new_value[64], status[16], reason[256];
	char policy[8], rung_from[16], rung_to[16], for_cgroup[128];
};

struct history;

struct history *history__new(void);
void history__free(struct history *h);

/*
 * One sample tick at @mono_ms (CLOCK_MONOTONIC) and @real_ms (CLOCK_REALTIME),
 * with every cgroup of @m. A step of @step_ms ends at the first tick that
 * is at least that long after the previous step's end.
 */
void history__tick(struct history *h, const struct model *m, uint64_t mono_ms, uint64_t real_ms,
		   unsigned step_ms);

/* A cgroup's pressure as the top is ordered: its stalls summed (seconds
 * per second of CPU wait, reclaim and I/O wait); 0 for an idle one. */
double history_score(const struct cg *c);

/* The top at the last tick, most pressure first: ids into @ret (HIST_TOP). */
unsigned history__top(const struct history *h, uint64_t *ret_ids);
/* The history of a cgroup, NULL if it has none. */
const struct hist_track *history__track(const struct history *h, uint64_t id);
/* Cgroups with a history now (at most HIST_TRACK). */
unsigned history__tracked(const struct history *h);
/* A track's i-th point, oldest first (i < t->n). */
const struct hist_cg_point *hist_track_point(const struct hist_track *t, unsigned i);

/* Node points kept, and the i-th, oldest first. */
unsigned history__node_n(const struct history *h);
const struct hist_node_point *history__node_point(const struct history *h, unsigned i);

/* Keep an event (copied; its seq is set). */
void history__note(struct history *h, const struct hist_event *e);
/* Events kept, and the i-th, oldest first. */
unsigned history__events_n(const struct history *h);
const struct hist_event *history__event(const struct history *h, unsigned i);

/* Copy @src into @dst of @size bytes, cut at a UTF-8 character boundary
 * (ending in "..." when cut); @src NULL copies "". */
void hist_copy(char *dst, unsigned size, const char *src);

#endif
