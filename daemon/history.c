// SPDX-License-Identifier: Apache-2.0
/* The live page's memory of the last minutes (see history.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

struct history {
	/* node figures: the ring, and the step under way */
	struct hist_node_point node[HIST_NODE_POINTS];
	unsigned node_n, node_next;
	double acc[5];
	unsigned acc_n;
	uint32_t acc_pressured[CGP_SIG_MAX];
	uint64_t step_ms; /* monotonic end of the last step, 0: none yet */
	/* the top at the last tick */
	uint64_t top[HIST_TOP];
	double top_score[HIST_TOP];
	unsigned ntop;
	struct hist_track tracks[HIST_TRACK];
	struct hist_event events[HIST_EVENTS];
	unsigned ev_n, ev_next;
	uint64_t seq;
};

struct history *history__new(void)
{
	return calloc(1, sizeof(struct history));
}

void history__free(struct history *h)
{
	free(h);
}

void hist_copy(char *dst, unsigned size, const char *src)
{
	size_t n;

	if (!size)
		return;
	src = src ? src : "";
	n = strlen(src);
	if (n < size) {
		memcpy(dst, src, n + 1);
		return;
	}
	if (size < 4) {
		dst[0] = 0;
		return;
	}
	/* src[n] is the first byte left out: a continuation byte there means
	 * its character began before, and goes too */
	n = size - 4;
	while (n && ((unsigned char)src[n] & 0xc0) == 0x80)
		n--;
	memcpy(dst, src, n);
	memcpy(dst + n, "...", 4);
}

double history_score(const struct cg *c)
{
	double s;

	if (c->dead_ns)
		return 0;
	s = c->fig.cpu_wait_rate + c->fig.reclaim_rate + c->fig.iowait_rate;
	return s > 0 ? s : 0;
}

/* Most pressure first; then those in an episode; then by id, so that equals
 * keep their order from tick to tick. */
static bool ranks_before(double s, const struct cg *c, double s2, uint64_t id2, bool active2)
{
	if (s != s2)
		return s > s2;
	if (!!c->active != active2)
		return c->active;
	return c->id < id2;
}

static void top_offer(struct history *h, const struct cg *c, bool *active)
{
	double s = history_score(c);
	unsigned i;

	if (s <= 0 && !c->active)
		return;
	if (h->ntop == HIST_TOP && !ranks_before(s, c, h->top_score[HIST_TOP - 1],
						 h->top[HIST_TOP - 1], active[HIST_TOP - 1]))
		return;
	i = h->ntop < HIST_TOP ? h->ntop++ : HIST_TOP - 1;
	while (i && ranks_before(s, c, h->top_score[i - 1], h->top[i - 1], active[i - 1])) {
		h->top[i] = h->top[i - 1];
		h->top_score[i] = h->top_score[i - 1];
		active[i] = active[i - 1];
		i--;
	}
	h->top[i] = c->id;
	h->top_score[i] = s;
	active[i] = c->active != 0;
}

static struct hist_track *track_find(struct history *h, uint64_t id)
{
	for (unsigned i = 0; i < HIST_TRACK; i++)
		if (h->tracks[i].id == id)
			return &h->tracks[i];
	return NULL;
}

/* A history for a cgroup now in the top: its own, a free one, or the one of
 * the cgroup that left the top longest ago (never one of this tick's top). */
static struct hist_track *track_take(struct history *h, uint64_t id, uint64_t now_ms)
{
	struct hist_track *t = track_find(h, id), *old = NULL;

	if (t)
		return t;
	for (unsigned i = 0; i < HIST_TRACK; i++) {
		t = &h->tracks[i];
		if (!t->id) {
			old = t;
			break;
		}
		if (t->top_ms != now_ms && (!old || t->top_ms < old->top_ms))
			old = t;
	}
	if (!old)
		return NULL; /* cannot happen while HIST_TRACK >= HIST_TOP */
	memset(old, 0, sizeof(*old));
	old->id = id;
	for (int r = 0; r < PSI_RES_MAX; r++)
		old->psi_rate[r] = NAN;
	return old;
}

/* PSI totals are read once a sweep: a rate from each new reading. */
static void track_psi(struct hist_track *t, const struct cg_figures *f)
{
	if (!f->psi_valid || !f->kernel_ns || f->kernel_ns == t->psi_prev_ns)
		return;
	for (int r = 0; r < PSI_RES_MAX; r++) {
		uint64_t now = f->psi[r].some_us;

		if (t->psi_prev_ns && f->kernel_ns > t->psi_prev_ns && now >= t->psi_prev[r])
			t->psi_rate[r] = (float)((double)(now - t->psi_prev[r]) * 1000.0 /
						 (double)(f->kernel_ns - t->psi_prev_ns));
		else
			t->psi_rate[r] = NAN;
		t->psi_prev[r] = now;
	}
	t->psi_prev_ns = f->kernel_ns;
}

static void track_accumulate(struct hist_track *t, const struct cg *c)
{
	const struct cg_figures *f = &c->fig;

	hist_copy(t->path, sizeof(t->path), cg_display_path(c));
	track_psi(t, f);
	t->acc[0] += f->cpu_rate;
	t->acc[1] += f->cpu_wait_rate;
	t->acc[2] += f->reclaim_rate;
	t->acc[3] += f->iowait_rate;
	t->acc_n++;
	for (int r = 0; r < PSI_RES_MAX; r++) {
		if (isnan(t->psi_rate[r]))
			continue;
		t->acc_psi[r] += t->psi_rate[r];
		t->acc_psi_n[r]++;
	}
}

static void track_step(struct hist_track *t, uint64_t real_ms)
{
	struct hist_cg_point *p;

	if (!t->acc_n)
		return;
	p = &t->points[t->next];
	t->next = (t->next + 1) % HIST_CG_POINTS;
	if (t->n < HIST_CG_POINTS)
		t->n++;
	p->time_ms = real_ms;
	p->cpu = (float)(t->acc[0] / t->acc_n);
	p->cpu_wait = (float)(t->acc[1] / t->acc_n);
	p->reclaim = (float)(t->acc[2] / t->acc_n);
	p->iowait = (float)(t->acc[3] / t->acc_n);
	for (int r = 0; r < PSI_RES_MAX; r++)
		p->psi[r] = t->acc_psi_n[r] ? (float)(t->acc_psi[r] / t->acc_psi_n[r]) : NAN;
	memset(t->acc, 0, sizeof(t->acc));
	memset(t->acc_psi, 0, sizeof(t->acc_psi));
	memset(t->acc_psi_n, 0, sizeof(t->acc_psi_n));
	t->acc_n = 0;
}

static void node_step(struct history *h, uint64_t real_ms, uint32_t alive)
{
	struct hist_node_point *p = &h->node[h->node_next];

	h->node_next = (h->node_next + 1) % HIST_NODE_POINTS;
	if (h->node_n < HIST_NODE_POINTS)
		h->node_n++;
	p->time_ms = real_ms;
	p->cpu = (float)(h->acc[0] / h->acc_n);
	p->cpu_wait = (float)(h->acc[1] / h->acc_n);
	p->reclaim = (float)(h->acc[2] / h->acc_n);
	p->iowait = (float)(h->acc[3] / h->acc_n);
	p->io_bytes = (float)(h->acc[4] / h->acc_n);
	memcpy(p->pressured, h->acc_pressured, sizeof(p->pressured));
	p->cgroups = alive;
	memset(h->acc, 0, sizeof(h->acc));
	memset(h->acc_pressured, 0, sizeof(h->acc_pressured));
	h->acc_n = 0;
}

void history__tick(struct history *h, const struct model *m, uint64_t mono_ms, uint64_t real_ms,
		   unsigned step_ms)
{
	unsigned n;
	struct cg *const *all = model__all(m, &n);
	double sum[5] = { 0 };
	uint32_t pressured[CGP_SIG_MAX] = { 0 }, alive = 0;
	bool active[HIST_TOP];

	/* one pass: the node's sums and the top */
	h->ntop = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct cg *c = all[i];

		if (c->dead_ns)
			continue;
		alive++;
		sum[0] += c->fig.cpu_rate;
		sum[1] += c->fig.cpu_wait_rate;
		sum[2] += c->fig.reclaim_rate;
		sum[3] += c->fig.iowait_rate;
		sum[4] += c->fig.io_bytes_rate;
		for (uint32_t s = 0; s < CGP_SIG_MAX; s++)
			pressured[s] += !!(c->active & (1u << s));
		top_offer(h, c, active);
	}
	for (int k = 0; k < 5; k++)
		h->acc[k] += sum[k];
	h->acc_n++;
	/* the most of the step: an episode within it shows */
	for (uint32_t s = 0; s < CGP_SIG_MAX; s++)
		if (pressured[s] > h->acc_pressured[s])
			h->acc_pressured[s] = pressured[s];
	for (unsigned i = 0; i < h->ntop; i++) {
		struct hist_track *t = track_take(h, h->top[i], mono_ms);

		if (t)
			t->top_ms = mono_ms;
	}
	/* every history goes on while its cgroup lives (a gap would mislead) */
	for (unsigned i = 0; i < HIST_TRACK; i++) {
		struct hist_track *t = &h->tracks[i];
		const struct cg *c = t->id ? model__find(m, t->id) : NULL;

		if (t->id && !c)
			t->id = 0; /* retired from the model */
		else if (c && !c->dead_ns)
			track_accumulate(t, c);
	}
	if (h->step_ms && mono_ms - h->step_ms < (uint64_t)step_ms * 9 / 10)
		return; /* a tick early by some jitter still ends its step */
	h->step_ms = mono_ms;
	node_step(h, real_ms, alive);
	for (unsigned i = 0; i < HIST_TRACK; i++)
		if (h->tracks[i].id)
			track_step(&h->tracks[i], real_ms);
}

unsigned history__top(const struct history *h, uint64_t *ret_ids)
{
	memcpy(ret_ids, h->top, h->ntop * sizeof(*ret_ids));
	return h->ntop;
}

const struct hist_track *history__track(const struct history *h, uint64_t id)
{
	for (unsigned i = 0; id && i < HIST_TRACK; i++)
		if (h->tracks[i].id == id)
			return &h->tracks[i];
	return NULL;
}

unsigned history__tracked(const struct history *h)
{
	unsigned n = 0;

	for (unsigned i = 0; i < HIST_TRACK; i++)
		n += h->tracks[i].id != 0;
	return n;
}

const struct hist_cg_point *hist_track_point(const struct hist_track *t, unsigned i)
{
	return &t->points[(t->next + HIST_CG_POINTS - t->n + i) % HIST_CG_POINTS];
}

unsigned history__node_n(const struct history *h)
{
	return h->node_n;
}

const struct hist_node_point *history__node_point(const struct history *h, unsigned i)
{
	return &h->node[(h->node_next + HIST_NODE_POINTS - h->node_n + i) % HIST_NODE_POINTS];
}

void history__note(struct history *h, const struct hist_event *e)
{
	struct hist_event *slot = &h->events[h->ev_next];

	*slot = *e;
	slot->seq = ++h->seq;
	h->ev_next = (h->ev_next + 1) % HIST_EVENTS;
	if (h->ev_n < HIST_EVENTS)
		h->ev_n++;
}

unsigned history__events_n(const struct history *h)
{
	return h->ev_n;
}

const struct hist_event *history__event(const struct history *h, unsigned i)
{
	return &h->events[(h->ev_next + HIST_EVENTS - h->ev_n + i) % HIST_EVENTS];
}
