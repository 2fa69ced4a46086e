// SPDX-License-Identifier: Apache-2.0
/* daemon/policy/memguard.c: memory relief for guaranteed containers, and its safety rules. */
#include <stdio.h>
#include <string.h>

#include "policy/memguard.h"
#include "unit.h"

#define MIB (1024ULL * 1024)
#define MS 1000000ULL
#define SEC 1000000000ULL

static struct memguard_conf conf(bool kill)
{
	return (struct memguard_conf){
		.kill = kill,
		.sustain_ns = 2 * SEC,
		.cooldown_ns = 500 * MS,
		.settle_ns = SEC,
		.release_ns = 5 * SEC,
		.calm_ns = SEC,
		.squeeze = 0.25,
		.floor_bytes = 16 * MIB,
		.min_step_bytes = MIB,
	};
}

static struct memguard_victim be(uint64_t id, int prio, uint64_t usage)
{
	return (struct memguard_victim){
		.id = id,
		.priority = prio,
		.usage = usage,
		.squeezed = MEMHIGH_MAX,
		.own_high = MEMHIGH_MAX,
		.populated = true,
	};
}

/* What the caller does with a decision, and what the kernel then does:
 * a squeeze reclaims down to memory.high what is reclaimable (@anon of the
 * victim's usage is not: no swap); a kill empties the cgroup. */
static void carry_out(struct memguard_state *s, struct memguard_decision *d,
		      struct memguard_victim *v, unsigned n, const uint64_t *anon, uint64_t now)
{
	struct memguard_victim *x = NULL;

	for (unsigned i = 0; i < n; i++) {
		if (d->fruitless && v[i].id == d->fruitless)
			v[i].fruitless = true;
		if (d->act != MG_NONE && v[i].id == d->victim)
			x = &v[i];
	}
	if (!x)
		return;
	memguard_done(s, d, x, now);
	switch (d->act) {
	case MG_SQUEEZE:
		x->squeezed = d->high;
		x->usage = d->high > anon[x - v] ? d->high : anon[x - v];
		break;
	case MG_KILL:
		x->populated = false;
		x->usage = 0;
		break;
	case MG_RELEASE:
		x->squeezed = MEMHIGH_MAX;
		break;
	default:
		break;
	}
}

/* The lowest priority first, the larger of one priority first; protected
 * and empty ones never; each squeeze takes a quarter of the use. */
static void test_victim_order(void **state)
{
	struct memguard_conf c = conf(false);
	struct memguard_state s = { 0 };
	struct memguard_victim v[5] = { be(1, 5, 400 * MIB), be(2, 1, 100 * MIB),
					be(3, 1, 300 * MIB), be(4, 0, 900 * MIB),
					be(5, 0, 950 * MIB) };
	struct memguard_decision d;
	uint64_t t = 100 * SEC;

	(void)state;
	v[3].protected_ = true; /* the largest of priority 0 */
	v[4].populated = false; /* no processes: killing or squeezing it frees nothing */
	memguard_pressure(&c, &s, true, t);
	memguard_decide(&c, &s, v, 5, t, &d);
	assert_int_equal(d.act, MG_SQUEEZE);
	assert_int_equal(d.victim, 3);
	assert_true(d.high == 225 * MIB);
	/* never a protected one, whatever is left */
	for (unsigned i = 0; i < 5; i++)
		if (i != 3)
			v[i].fruitless = true;
	memguard_decide(&c, &s, v, 5, t, &d);
	assert_int_equal(d.act, MG_NONE);
	assert_non_null(strstr(d.why, "kills are off"));
	/* a protected one alone: nothing, and said why */
	memguard_decide(&c, &s, &v[3], 1, t, &d);
	assert_int_equal(d.act, MG_NONE);
	assert_non_null(strstr(d.why, "protected"));
	/* no pressure: nothing taken */
	memguard_pressure(&c, &s, false, t + SEC);
	memguard_decide(&c, &s, v, 5, t + SEC, &d);
	assert_int_equal(d.act, MG_NONE);
}

/* After a squeeze nothing more until the freed memory shows (or settle_ns),
 * then the cooldown; a squeeze that freed nothing is not repeated. */
static void test_wait_for_freed(void **state)
{
	struct memguard_conf c = conf(false);
	struct memguard_state s = { 0 };
	struct memguard_victim v[2] = { be(1, 0, 400 * MIB), be(2, 1, 400 * MIB) };
	uint64_t anon[2] = { 0, 0 };
	struct memguard_decision d;
	uint64_t t = 100 * SEC;

	(void)state;
	memguard_pressure(&c, &s, true, t);
	memguard_decide(&c, &s, v, 2, t, &d);
	assert_int_equal(d.act, MG_SQUEEZE);
	assert_int_equal(d.victim, 1);
	memguard_done(&s, &d, &v[0], t);
	v[0].squeezed = d.high; /* 300 MiB; the kernel has not reclaimed yet */
	memguard_decide(&c, &s, v, 2, t + 100 * MS, &d);
	assert_int_equal(d.act, MG_NONE);
	assert_non_null(strstr(d.why, "waiting"));
	assert_true(d.next_ns == t + SEC);
	/* freed (half way down is enough), but the cooldown holds */
	v[0].usage = 340 * MIB;
	memguard_decide(&c, &s, v, 2, t + 200 * MS, &d);
	assert_int_equal(d.act, MG_NONE);
	assert_non_null(strstr(d.why, "cooldown"));
	assert_true(d.next_ns == t + 500 * MS);
	/* then the next squeeze of the same one, from where it is */
	memguard_decide(&c, &s, v, 2, t + 500 * MS, &d);
	assert_int_equal(d.act, MG_SQUEEZE);
	assert_int_equal(d.victim, 1);
	assert_true(d.high == 215 * MIB); /* 300 MiB in force, less a quarter of 340 */

	/* anonymous memory, no swap: the squeeze frees nothing by settle_ns */
	s = (struct memguard_state){ 0 };
	v[0] = be(1, 0, 400 * MIB);
	anon[0] = 400 * MIB;
	memguard_pressure(&c, &s, true, t);
	memguard_decide(&c, &s, v, 2, t, &d);
	carry_out(&s, &d, v, 2, anon, t);
	assert_true(v[0].usage == 400 * MIB && v[0].squeezed == 300 * MIB);
	memguard_decide(&c, &s, v, 2, t + SEC, &d);
	assert_int_equal(d.fruitless, 1);
	/* kills off: the next one is squeezed instead */
	assert_int_equal(d.act, MG_SQUEEZE);
	assert_int_equal(d.victim, 2);
}

/* Kills: only opted in, only once squeezing freed nothing, only after
 * sustain_ns of pressure, one at a time, waiting for the cgroup to empty. */
static void test_kill_rules(void **state)
{
	struct memguard_conf c = conf(true);
	struct memguard_state s = { 0 };
	struct memguard_victim v[2] = { be(1, 0, 400 * MIB), be(2, 1, 400 * MIB) };
	uint64_t anon[2] = { 400 * MIB, 400 * MIB };
	struct memguard_decision d;
	uint64_t t = 100 * SEC, kills_at = 0;
	unsigned kills = 0;

	(void)state;
	memguard_pressure(&c, &s, true, t);
	for (uint64_t now = t; now < t + 20 * SEC; now += 50 * MS) {
		memguard_decide(&c, &s, v, 2, now, &d);
		if (d.act == MG_KILL) {
			/* not before the squeeze proved fruitless, nor before 2 s */
			assert_true(now >= t + c.sustain_ns);
			assert_true(v[d.victim - 1].fruitless || d.fruitless == d.victim);
			if (!kills++) {
				assert_int_equal(d.victim, 1); /* the lowest priority first */
			} else {
				assert_int_equal(d.victim, 2);
				/* the first had emptied, and the cooldown passed */
				assert_true(now >= kills_at + c.cooldown_ns);
			}
			kills_at = now;
			/* the cgroup empties a little later */
			memguard_done(&s, &d, &v[d.victim - 1], now);
			continue;
		}
		if (kills_at && now == kills_at + 300 * MS)
			v[kills == 1 ? 0 : 1].populated = false;
		carry_out(&s, &d, v, 2, anon, now);
	}
	assert_int_equal(kills, 2);
	assert_true(s.actions[MG_SQUEEZE] == 2);
	/* a kill decided while its victim still has processes is waited for */
	s = (struct memguard_state){ 0 };
	v[0] = be(1, 0, 400 * MIB);
	v[0].fruitless = true;
	v[1] = be(2, 1, 400 * MIB);
	v[1].fruitless = true;
	memguard_pressure(&c, &s, true, t);
	memguard_decide(&c, &s, v, 2, t + 3 * SEC, &d);
	assert_int_equal(d.act, MG_KILL);
	memguard_done(&s, &d, &v[0], t + 3 * SEC);
	memguard_decide(&c, &s, v, 2, t + 3 * SEC + 800 * MS, &d);
	assert_int_equal(d.act, MG_NONE);
	assert_non_null(strstr(d.why, "waiting"));
}

/* Adopted pods whose scheduler did not hand a knob over: one without
 * memory.high is never squeezed (the next in line is), one without
 * cgroup.kill never killed, and with nothing left the reason says why. */
static void test_handed_knobs(void **state)
{
	struct memguard_conf c = conf(true);
	struct memguard_state s = { 0 };
	struct memguard_victim v[2] = { be(1, 0, 400 * MIB), be(2, 1, 200 * MIB) };
	uint64_t anon[2] = { 400 * MIB, 200 * MIB };
	struct memguard_decision d;
	uint64_t t = 100 * SEC;
	unsigned kills = 0;

	(void)state;
	/* first in line, but its memory.high is not cgpilot's: as a squeeze
	 * that freed nothing, its kill comes next (after sustain_ns), before
	 * the higher priority one is squeezed */
	v[0].no_squeeze = true;
	v[1].no_kill = true;
	memguard_pressure(&c, &s, true, t);
	memguard_decide(&c, &s, v, 2, t, &d);
	assert_int_equal(d.act, MG_NONE);
	assert_non_null(strstr(d.why, "kill waits"));
	for (uint64_t now = t; now < t + 20 * SEC; now += 50 * MS) {
		memguard_decide(&c, &s, v, 2, now, &d);
		assert_false(d.act == MG_SQUEEZE && d.victim == 1);
		assert_false(d.act == MG_KILL && d.victim == 2);
		if (d.act == MG_KILL) {
			assert_true(now >= t + c.sustain_ns);
			kills++;
			memguard_done(&s, &d, &v[0], now);
			v[0].populated = false;
			v[0].usage = 0;
			continue;
		}
		carry_out(&s, &d, v, 2, anon, now);
	}
	assert_int_equal(kills, 1);
	/* then the next in line squeezed, and never killed */
	assert_true(s.actions[MG_SQUEEZE] >= 1);
	/* both unkillable and nothing left to squeeze: none, and why */
	s = (struct memguard_state){ 0 };
	v[0] = be(1, 0, 400 * MIB);
	v[0].no_kill = v[0].no_squeeze = true;
	v[1] = be(2, 1, 400 * MIB);
	v[1].no_kill = true;
	v[1].fruitless = true;
	memguard_pressure(&c, &s, true, t);
	memguard_decide(&c, &s, v, 2, t + 5 * SEC, &d);
	assert_int_equal(d.act, MG_NONE);
	assert_non_null(strstr(d.why, "cgroup.kill"));
}

/* Squeezes come back one at a time after release_ns of calm, the highest
 * priority first; a new pressure stops the giving back. */
static void test_release(void **state)
{
	struct memguard_conf c = conf(false);
	struct memguard_state s = { 0 };
	struct memguard_victim v[3] = { be(1, 0, 300 * MIB), be(2, 3, 300 * MIB),
					be(3, 1, 300 * MIB) };
	struct memguard_decision d;
	uint64_t t = 100 * SEC;

	(void)state;
	v[0].squeezed = v[1].squeezed = v[2].squeezed = 200 * MIB;
	v[1].own_high = 500 * MIB; /* the memory loop's value comes back */
	memguard_pressure(&c, &s, true, t);
	/* a gap shorter than calm_ns is no calm */
	assert_true(memguard_pressure(&c, &s, false, t + 500 * MS) == t + SEC);
	assert_true(s.pressure_since == t);
	memguard_pressure(&c, &s, false, t + 2 * SEC);
	assert_true(s.pressure_since == 0 && s.calm_since == t + SEC);
	memguard_decide(&c, &s, v, 3, t + 2 * SEC, &d);
	assert_int_equal(d.act, MG_NONE);
	assert_true(d.next_ns == t + 6 * SEC);
	/* besteffort near the slack: the squeezes stay */
	s.hold_release = true;
	memguard_decide(&c, &s, v, 3, t + 6 * SEC, &d);
	assert_int_equal(d.act, MG_NONE);
	assert_non_null(strstr(d.why, "slack"));
	s.hold_release = false;
	memguard_decide(&c, &s, v, 3, t + 6 * SEC, &d);
	assert_int_equal(d.act, MG_RELEASE);
	assert_int_equal(d.victim, 2);
	assert_true(d.high == 500 * MIB);
	memguard_done(&s, &d, &v[1], t + 6 * SEC);
	v[1].squeezed = MEMHIGH_MAX;
	memguard_decide(&c, &s, v, 3, t + 7 * SEC, &d);
	assert_int_equal(d.act, MG_NONE);
	assert_true(d.next_ns == t + 11 * SEC);
	memguard_decide(&c, &s, v, 3, t + 11 * SEC, &d);
	assert_int_equal(d.act, MG_RELEASE);
	assert_int_equal(d.victim, 3);
	assert_true(d.high == MEMHIGH_MAX);
	/* pressure again: no release, a squeeze if anything */
	memguard_done(&s, &d, &v[2], t + 11 * SEC);
	v[2].squeezed = MEMHIGH_MAX;
	memguard_pressure(&c, &s, true, t + 12 * SEC);
	memguard_decide(&c, &s, v, 3, t + 20 * SEC, &d);
	assert_true(d.act == MG_SQUEEZE);
}

/* PSI's way: one signal per 500 ms window, nothing between. One episode:
 * one squeeze of the anonymous hog, found fruitless, then its kill once
 * the pressure has lasted sustain_ns; the protected one never. */
static void test_intermittent(void **state)
{
	struct memguard_conf c = conf(true);
	struct memguard_state s = { 0 };
	struct memguard_victim v[2] = { be(1, 0, 330 * MIB), be(2, 0, 16 * MIB) };
	uint64_t anon[2] = { 330 * MIB, 16 * MIB };
	struct memguard_decision d;
	uint64_t t = 100 * SEC, killed = 0;

	(void)state;
	v[1].protected_ = true;
	for (uint64_t now = t; now < t + 10 * SEC && !killed; now += 10 * MS) {
		memguard_pressure(&c, &s, (now - t) % (500 * MS) == 0, now);
		assert_true(s.pressure_since == t);
		memguard_decide(&c, &s, v, 2, now, &d);
		assert_true(d.act == MG_NONE || d.victim == 1);
		if (d.act == MG_KILL)
			killed = now;
		carry_out(&s, &d, v, 2, anon, now);
	}
	assert_true(killed >= t + c.sustain_ns && killed < t + c.sustain_ns + 100 * MS);
	assert_true(s.actions[MG_SQUEEZE] == 1);
}

/* A signal that flips every 50 ms for a minute: actions bounded by the
 * cooldown, no squeeze given back while the flapping goes on. */
static void test_oscillating(void **state)
{
	struct memguard_conf c = conf(false);
	struct memguard_state s = { 0 };
	struct memguard_victim v[4] = { be(1, 0, 2000 * MIB), be(2, 0, 2000 * MIB),
					be(3, 0, 2000 * MIB), be(4, 0, 2000 * MIB) };
	uint64_t anon[4] = { 0, 0, 0, 0 };
	struct memguard_decision d;
	uint64_t t = 100 * SEC;
	unsigned acts = 0;

	(void)state;
	for (uint64_t now = t; now < t + 60 * SEC; now += 10 * MS) {
		memguard_pressure(&c, &s, ((now - t) / (50 * MS)) % 2 == 0, now);
		memguard_decide(&c, &s, v, 4, now, &d);
		if (d.act != MG_NONE)
			acts++;
		assert_true(d.act != MG_RELEASE);
		carry_out(&s, &d, v, 4, anon, now);
	}
	printf("pressure flipping every 50 ms for 60 s: %u actions (cooldown 500 ms)\n", acts);
	assert_true(acts <= 60 * SEC / c.cooldown_ns);
	assert_true(acts >= 8); /* it does act */
	for (unsigned i = 0; i < 4; i++)
		assert_true(v[i].squeezed >= 16 * MIB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_victim_order), cmocka_unit_test(test_wait_for_freed),
		cmocka_unit_test(test_kill_rules),   cmocka_unit_test(test_release),
		cmocka_unit_test(test_handed_knobs), cmocka_unit_test(test_intermittent),
		cmocka_unit_test(test_oscillating),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
