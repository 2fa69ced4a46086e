// SPDX-License-Identifier: Apache-2.0
/* daemon/history.c: the live page's rings, its top and the tracks of the top. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "model.h"
#include "unit.h"

struct fix {
	struct model *m;
	struct history *h;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->m = model__new();
	f->h = history__new();
	if (!f->m || !f->h)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	history__free(f->h);
	model__free(f->m);
	free(f);
	return 0;
}

static struct cg *add(struct model *m, uint64_t id, const char *path)
{
	struct cg *c = NULL;

	assert_int_equal(model__add(m, id, path, &c), 1);
	return c;
}

static void test_copy(void **state)
{
	char buf[8];

	hist_copy(buf, sizeof(buf), "abc");
	assert_string_equal(buf, "abc");
	hist_copy(buf, sizeof(buf), "1234567");
	assert_string_equal(buf, "1234567");
	hist_copy(buf, sizeof(buf), "12345678");
	assert_string_equal(buf, "1234...");
	/* "é" is two bytes: the cut never splits one */
	hist_copy(buf, sizeof(buf), "a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
	assert_string_equal(buf, "a\xc3\xa9...");
	hist_copy(buf, sizeof(buf), "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
	assert_string_equal(buf, "\xc3\xa9\xc3\xa9...");
	/* a four-byte character across the cut goes whole */
	hist_copy(buf, sizeof(buf), "ab\xf0\x9f\x98\x80zz");
	assert_string_equal(buf, "ab...");
	hist_copy(buf, 3, "abcdef");
	assert_string_equal(buf, "");
	hist_copy(buf, sizeof(buf), NULL);
	assert_string_equal(buf, "");
}

static void test_node_steps(void **state)
{
	struct fix *f = *state;
	struct cg *a = add(f->m, 1, ""), *b = add(f->m, 2, "x"), *gone = add(f->m, 3, "y");
	const struct hist_node_point *p;

	a->fig.cpu_rate = 1.0;
	a->fig.cpu_wait_rate = 0.5;
	b->fig.cpu_rate = 0.25;
	b->fig.reclaim_rate = 0.125;
	b->fig.iowait_rate = 0.0625;
	b->fig.io_bytes_rate = 4096;
	b->active = 1u << CGP_SIG_CPU;
	gone->fig.cpu_rate = 100; /* dead: counts for nothing */
	model__mark_dead(f->m, gone, 1);
	/* the first tick ends a step at once */
	history__tick(f->h, f->m, 10000, 1700000000000ULL, 1000);
	assert_int_equal(history__node_n(f->h), 1);
	p = history__node_point(f->h, 0);
	assert_true(p->time_ms == 1700000000000ULL);
	assert_true(p->cpu == 1.25f);
	assert_true(p->cpu_wait == 0.5f);
	assert_true(p->reclaim == 0.125f);
	assert_true(p->iowait == 0.0625f);
	assert_true(p->io_bytes == 4096.0f);
	assert_int_equal(p->pressured[CGP_SIG_CPU], 1);
	assert_int_equal(p->pressured[CGP_SIG_MEM], 0);
	assert_int_equal(p->cgroups, 2);
	/* ticks within a step are averaged; an episode within it shows */
	a->fig.cpu_rate = 3.0;
	history__tick(f->h, f->m, 10500, 1700000000500ULL, 1000);
	assert_int_equal(history__node_n(f->h), 1);
	b->active = 0;
	a->fig.cpu_rate = 1.0;
	history__tick(f->h, f->m, 10950, 1700000000950ULL, 1000); /* early by jitter: ends it */
	assert_int_equal(history__node_n(f->h), 2);
	p = history__node_point(f->h, 1);
	assert_true(p->time_ms == 1700000000950ULL);
	assert_true(fabsf(p->cpu - 2.25f) < 1e-6f);
	assert_int_equal(p->pressured[CGP_SIG_CPU], 1);
	history__tick(f->h, f->m, 11950, 1700000001950ULL, 1000);
	assert_int_equal(history__node_point(f->h, 2)->pressured[CGP_SIG_CPU], 0);
}

static void test_node_ring_bounded(void **state)
{
	struct fix *f = *state;

	add(f->m, 1, "");
	for (unsigned i = 0; i < 2 * HIST_NODE_POINTS + 7; i++)
		history__tick(f->h, f->m, 1000 + 1000ULL * i, 5000 + 1000ULL * i, 1000);
	assert_int_equal(history__node_n(f->h), HIST_NODE_POINTS);
	/* oldest first, the newest last */
	assert_true(history__node_point(f->h, 0)->time_ms ==
		    5000 + 1000ULL * (HIST_NODE_POINTS + 7));
	assert_true(history__node_point(f->h, HIST_NODE_POINTS - 1)->time_ms ==
		    5000 + 1000ULL * (2 * HIST_NODE_POINTS + 6));
}

static void test_top_order(void **state)
{
	struct fix *f = *state;
	uint64_t top[HIST_TOP];
	unsigned n;
	char name[16];

	/* 30 cgroups waiting 0.01 .. 0.30 s/s, one idle, one in an episode
	 * without a stall yet, one dead with the most */
	for (unsigned i = 1; i <= 30; i++) {
		snprintf(name, sizeof(name), "w%u", i);
		add(f->m, 100 + i, name)->fig.cpu_wait_rate = 0.01 * i;
	}
	add(f->m, 200, "idle");
	add(f->m, 201, "episode")->active = 1u << CGP_SIG_MEM;
	{
		struct cg *d = add(f->m, 202, "dead");

		d->fig.cpu_wait_rate = 9;
		model__mark_dead(f->m, d, 1);
	}
	/* reclaim and I/O wait count as well */
	add(f->m, 203, "mix")->fig.reclaim_rate = 0.2;
	model__find(f->m, 203)->fig.iowait_rate = 0.2;
	history__tick(f->h, f->m, 1000, 1000, 1000);
	n = history__top(f->h, top);
	assert_int_equal(n, HIST_TOP);
	assert_true(top[0] == 203);
	for (unsigned i = 1; i < HIST_TOP; i++)
		assert_true(top[i] == 100 + 31 - i);
	/* a top of few: the idle one never, the episode one last */
	teardown(state);
	setup(state);
	f = *state;
	add(f->m, 1, "a")->fig.cpu_wait_rate = 0.5;
	add(f->m, 2, "b");
	add(f->m, 3, "c")->active = 1u << CGP_SIG_IO;
	add(f->m, 4, "d")->fig.iowait_rate = 0.1;
	history__tick(f->h, f->m, 1000, 1000, 1000);
	n = history__top(f->h, top);
	assert_int_equal(n, 3);
	assert_true(top[0] == 1 && top[1] == 4 && top[2] == 3);
	for (unsigned i = 0; i < n; i++)
		assert_non_null(history__track(f->h, top[i]));
	assert_null(history__track(f->h, 2));
}

/* A node of many cgroups whose hot set moves on every tick: the tracks stay
 * HIST_TRACK, each of HIST_CG_POINTS at most, the top always has one. */
static void test_tracks_bounded(void **state)
{
	struct fix *f = *state;
	enum { N = 20000 };
	char name[16];
	uint64_t top[HIST_TOP];

	for (unsigned i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "c%u", i);
		add(f->m, 1 + i, name);
	}
	for (unsigned t = 0; t < 2 * HIST_CG_POINTS; t++) {
		unsigned first = (t * 7) % (N - HIST_TOP), tracked = 0;

		for (unsigned k = 0; k < HIST_TOP; k++)
			model__find(f->m, 1 + first + k)->fig.cpu_wait_rate = 0.1 + k;
		history__tick(f->h, f->m, 1000 + 1000ULL * t, 1000ULL * t, 1000);
		for (unsigned k = 0; k < HIST_TOP; k++)
			model__find(f->m, 1 + first + k)->fig.cpu_wait_rate = 0;
		assert_int_equal(history__top(f->h, top), HIST_TOP);
		assert_true(top[0] == 1 + first + HIST_TOP - 1);
		for (unsigned k = 0; k < HIST_TOP; k++)
			assert_non_null(history__track(f->h, top[k]));
		for (unsigned i = 0; i < N; i++) {
			const struct hist_track *tr = history__track(f->h, 1 + i);

			if (tr) {
				tracked++;
				assert_true(tr->n <= HIST_CG_POINTS);
			}
		}
		assert_true(tracked <= HIST_TRACK);
		assert_int_equal(history__tracked(f->h), tracked);
	}
}

/* The one out of the top longest gives its history up first; a history
 * goes on, out of the top, while its cgroup lives, and ends with it. */
static void test_track_eviction(void **state)
{
	struct fix *f = *state;
	struct cg *c[HIST_TRACK + 1];
	char name[16];

	for (unsigned i = 0; i <= HIST_TRACK; i++) {
		snprintf(name, sizeof(name), "c%u", i);
		c[i] = add(f->m, 1 + i, name);
	}
	/* each in turn alone in the top, one tick each */
	for (unsigned i = 0; i < HIST_TRACK; i++) {
		c[i]->fig.cpu_wait_rate = 1;
		history__tick(f->h, f->m, 1000 + 1000ULL * i, 1000ULL * i, 1000);
		c[i]->fig.cpu_wait_rate = 0;
	}
	for (unsigned i = 0; i < HIST_TRACK; i++)
		assert_non_null(history__track(f->h, 1 + i));
	/* out of the top, each got a point every step since */
	assert_int_equal(history__track(f->h, 1)->n, HIST_TRACK);
	assert_int_equal(history__track(f->h, HIST_TRACK)->n, 1);
	c[HIST_TRACK]->fig.cpu_wait_rate = 1;
	history__tick(f->h, f->m, 1000 + 1000ULL * HIST_TRACK, 1000ULL * HIST_TRACK, 1000);
	assert_null(history__track(f->h, 1)); /* the oldest went */
	assert_non_null(history__track(f->h, 2));
	assert_non_null(history__track(f->h, 1 + HIST_TRACK));
	assert_int_equal(history__track(f->h, 1 + HIST_TRACK)->n, 1);
	assert_string_equal(history__track(f->h, 1 + HIST_TRACK)->path, "c20");
	/* removed from the model: its history goes */
	model__remove(f->m, 5);
	history__tick(f->h, f->m, 2000 + 1000ULL * HIST_TRACK, 1000ULL * HIST_TRACK, 1000);
	assert_null(history__track(f->h, 5));
}

static void test_track_points(void **state)
{
	struct fix *f = *state;
	struct cg *c = add(f->m, 7, "busy");
	const struct hist_track *t;
	const struct hist_cg_point *p;

	c->fig.cpu_rate = 0.5;
	c->fig.cpu_wait_rate = 1.5;
	history__tick(f->h, f->m, 1000, 1, 1000);
	t = history__track(f->h, 7);
	assert_non_null(t);
	assert_int_equal(t->n, 1);
	p = hist_track_point(t, 0);
	assert_true(p->cpu == 0.5f && p->cpu_wait == 1.5f);
	/* no PSI read yet: unknown, not 0 */
	assert_true(isnan(p->psi[PSI_CPU]));
	/* PSI: a rate from two sweep readings, kept until the next one */
	c->fig.psi_valid = true;
	c->fig.kernel_ns = 5000000000ULL;
	c->fig.psi[PSI_CPU].some_us = 1000000;
	history__tick(f->h, f->m, 2000, 2, 1000);
	assert_true(isnan(hist_track_point(t, 1)->psi[PSI_CPU]));
	c->fig.kernel_ns = 7000000000ULL;
	c->fig.psi[PSI_CPU].some_us = 2500000;
	c->fig.psi[PSI_IO].some_us = 200000;
	history__tick(f->h, f->m, 3000, 3, 1000);
	p = hist_track_point(t, 2);
	assert_true(fabsf(p->psi[PSI_CPU] - 0.75f) < 1e-6f);
	assert_true(fabsf(p->psi[PSI_IO] - 0.1f) < 1e-6f);
	assert_true(p->psi[PSI_MEMORY] == 0.0f);
	history__tick(f->h, f->m, 4000, 4, 1000);
	assert_true(fabsf(hist_track_point(t, 3)->psi[PSI_CPU] - 0.75f) < 1e-6f);
	/* the ring keeps the last HIST_CG_POINTS, oldest first */
	for (unsigned i = 0; i < HIST_CG_POINTS + 3; i++)
		history__tick(f->h, f->m, 5000 + 1000ULL * i, 100 + i, 1000);
	assert_int_equal(t->n, HIST_CG_POINTS);
	assert_true(hist_track_point(t, 0)->time_ms == 103);
	assert_true(hist_track_point(t, HIST_CG_POINTS - 1)->time_ms == 100 + HIST_CG_POINTS + 2);
}

static void test_events_ring(void **state)
{
	struct fix *f = *state;
	struct hist_event e = { 0 };

	assert_int_equal(history__events_n(f->h), 0);
	for (unsigned i = 1; i <= HIST_EVENTS + 44; i++) {
		e.time_ms = i;
		e.kind = i % 2 ? HEV_ONSET : HEV_ACTION;
		history__note(f->h, &e);
	}
	assert_int_equal(history__events_n(f->h), HIST_EVENTS);
	assert_true(history__event(f->h, 0)->seq == 45);
	assert_true(history__event(f->h, 0)->time_ms == 45);
	assert_true(history__event(f->h, HIST_EVENTS - 1)->seq == HIST_EVENTS + 44);
	assert_int_equal(history__event(f->h, HIST_EVENTS - 1)->kind, HEV_ACTION);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy), T(test_node_steps),     T(test_node_ring_bounded),
		T(test_top_order),	     T(test_tracks_bounded), T(test_track_eviction),
		T(test_track_points),	     T(test_events_ring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
