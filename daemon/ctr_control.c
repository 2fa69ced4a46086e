// SPDX-License-Identifier: Apache-2.0
/*
 * The CPU protection loop: pushed by the BPF side's onset and cleared
 * events of the guaranteed containers it protects, it moves the containers
 * that crowd them along the ladder (daemon/policy/ladder.h) and writes what
 * each rung means through the actuator, with the signal in the reason. A
 * one-shot timer brings it back when a rung's hold or a release hold ends;
 * nothing is polled.
 *
 * Protected: guaranteed containers in the shared pool (exclusive CPUs have
 * no besteffort neighbour to squeeze), with the class's run-queue delay
 * target ([policy.cpu] target_us per [telemetry] window) set as their BPF
 * threshold unless an operator set one. Squeezed: besteffort containers,
 * then burstable ones using more than their request once every besteffort
 * one is on its top rung. With [policy.cpu] adopted on, adopted guaranteed
 * pods are protected and adopted besteffort and burstable pods squeezed too,
 * on the rungs whose knobs their pattern hands over ([adopt] knobs) and from
 * the values their scheduler wrote, which a release writes back. An adopted
 * cgroup whose knob another writer changed is left to it (backed off): what
 * of the squeeze is still as cgpilot left it is undone, and it is never
 * squeezed again.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ctr_internal.h"
#include "daemon.h"
#include "log.h"
#include "hist.h"
#include "telemetry.h"
#include "util.h"

#define MS 1000000ULL

static bool on(const struct containers *c, const struct container *k)
{
	return c->d->conf.cpu_policy && k->kind != CTR_ADOPTED && !k->dry && k->cgroup_id &&
	       k->state != CTR_QUEUED && !k->releasing;
}

/* Adopted guaranteed pods are protected too where [policy.cpu] adopted says
 * so (their thresholds are cgpilot's own map, no write to their cgroups). */
static bool shielded(const struct containers *c, const struct container *k)
{
	bool adopted_ok = k->kind == CTR_ADOPTED && c->d->conf.cpu_policy_adopted;

	return k->class == CGP_CLASS_GUARANTEED && !k->exclusive && c->d->conf.cpu_policy &&
	       k->cgroup_id && !k->dry && (on(c, k) || adopted_ok);
}

/* An adopted cgroup cgpilot may squeeze: the policy on for adopted ones, a
 * CPU knob handed over, and no other writer met. */
static bool adopted_on(const struct containers *c, const struct container *k)
{
	return k->kind == CTR_ADOPTED && c->d->conf.cpu_policy && c->d->conf.cpu_policy_adopted &&
	       !k->backed_off && k->cgroup_id && !k->releasing &&
	       (ctr_handed(k, "cpu.weight") || ctr_handed(k, "cpu.max") ||
		ctr_handed(k, "cgroup.freeze") || ctr_handed(k, "cgroup.kill"));
}

/* 1: besteffort; 2: burstable above its request; 0: not squeezed. */
static int tier(const struct containers *c, const struct container *k)
{
	if (!on(c, k) && !adopted_on(c, k))
		return 0;
	if (k->class == CGP_CLASS_BESTEFFORT)
		return 1;
	if (k->class == CGP_CLASS_BURSTABLE &&
	    (k->ladder.rung != RUNG_NONE ||
	     (k->cpu_used_valid && k->cpu_used_mc > k->spec.cpu_request_mc)))
		return 2;
	return 0;
}

static uint64_t quota_us(const struct containers *c)
{
	return 100000ULL * c->d->conf.cpu_quota_pct / 100;
}

/* The cap of the quota rung over a limit of its own (@max, cpu.max's
 * form): the lower of the two. */
static void quota_cap(const struct containers *c, const char *max, char *out, size_t len)
{
	unsigned long long q = quota_us(c);
	uint64_t own, period;

	/* a quota alone keeps the kernel's period, 100 ms unless someone
	 * changed it; "max" is no limit; anything else is not cpu.max's form */
	if (!cgfs_parse_cpu_max(max, &own, &period) && own != UINT64_MAX) {
		if (!period)
			period = 100000;
		if ((unsigned __int128)own * 100000 / period < q)
			q = (unsigned long long)((unsigned __int128)own * 100000 / period);
	}
	snprintf(out, len, "%llu 100000", q);
}

void ctr_ladder_knobs(const struct containers *c, const struct container *k, struct class_knobs *kn)
{
	if (k->ladder.rung >= RUNG_WEIGHT)
		snprintf(kn->cpu_weight, sizeof(kn->cpu_weight), "1");
	if (k->ladder.rung >= RUNG_QUOTA) {
		char own[sizeof(kn->cpu_max)];

		/* a limit of its own that is lower stays */
		snprintf(own, sizeof(own), "%s", kn->cpu_max);
		quota_cap(c, own, kn->cpu_max, sizeof(kn->cpu_max));
	}
}

/* The rungs that exist here for a container of @class, and the holds. */
static void class_conf(const struct containers *c, enum cgp_class class, struct ladder_conf *lc)
{
	const struct cgp_conf *cf = &c->d->conf;

	*lc = (struct ladder_conf){
		.hold_ns = cf->cpu_hold_ms * MS,
		.release_ns = cf->cpu_release_ms * MS,
		.release_max_ns = cf->cpu_release_max_ms * MS,
	};
	/* besteffort has cpu.weight 1 already: that rung would change nothing */
	lc->on[RUNG_WEIGHT] = (c->enforce & CGFS_CPU) && class != CGP_CLASS_BESTEFFORT;
	lc->on[RUNG_QUOTA] = c->enforce & CGFS_CPU;
	/* one CPU of the pool is a squeeze only where the pool has two */
	lc->on[RUNG_CPUSET] = c->pool_ok && (c->enforce & CGFS_CPUSET) &&
			      c->books.shared_mc >= 2ULL * CGP_MILLI;
	lc->on[RUNG_FREEZE] = cf->cpu_freeze;
	lc->on[RUNG_KILL] = cf->cpu_kill;
}

/* ... for container @k: an adopted one has the rungs whose knobs its
 * pattern hands over, and never the cpuset rung (its CPUs are its
 * scheduler's placement, not cgpilot's pool). */
static void conf_for(const struct containers *c, const struct container *k, struct ladder_conf *lc)
{
	class_conf(c, k->class, lc);
	if (k->kind != CTR_ADOPTED)
		return;
	lc->on[RUNG_WEIGHT] &= ctr_handed(k, "cpu.weight");
	lc->on[RUNG_QUOTA] &= ctr_handed(k, "cpu.max");
	lc->on[RUNG_CPUSET] = false;
	lc->on[RUNG_FREEZE] &= ctr_handed(k, "cgroup.freeze");
	lc->on[RUNG_KILL] &= ctr_handed(k, "cgroup.kill");
}

/* An adopted container's writes from rung @from to @to: cpu.weight and
 * cpu.max against the values its scheduler left, read before the first
 * rung. The number of writes, or -errno. */
static int adopted_writes(struct containers *c, struct container *k, enum ladder_rung from,
			  enum ladder_rung to, struct act_write *w, char (*buf)[48])
{
	unsigned n = 0;

	/* each knob's scheduler value read just before cgpilot first changes it
	 * (a resize by the scheduler before then is its value) */
	if (ctr_handed(k, "cpu.weight") && !k->saved_weight && from < RUNG_WEIGHT &&
	    to >= RUNG_WEIGHT) {
		if (act_read(&c->act, k->path, "cpu.weight", k->cpu_saved_weight,
			     sizeof(k->cpu_saved_weight)) < 0)
			return -EIO;
		k->saved_weight = true;
	}
	if (ctr_handed(k, "cpu.max") && !k->saved_max && from < RUNG_QUOTA && to >= RUNG_QUOTA) {
		if (act_read(&c->act, k->path, "cpu.max", k->cpu_saved_max,
			     sizeof(k->cpu_saved_max)) < 0)
			return -EIO;
		k->saved_max = true;
	}
	if (ctr_handed(k, "cpu.weight") && (from >= RUNG_WEIGHT) != (to >= RUNG_WEIGHT))
		w[n++] = (struct act_write){
			.knob = "cpu.weight",
			.value = to >= RUNG_WEIGHT ? "1" : k->cpu_saved_weight,
		};
	if (ctr_handed(k, "cpu.max") && (from >= RUNG_QUOTA) != (to >= RUNG_QUOTA)) {
		if (to >= RUNG_QUOTA)
			quota_cap(c, k->cpu_saved_max, buf[n], sizeof(buf[n]));
		else
			snprintf(buf[n], sizeof(buf[n]), "%s", k->cpu_saved_max);
		w[n] = (struct act_write){ .knob = "cpu.max", .value = buf[n] };
		n++;
	}
	return (int)n;
}

/* The squeezed container's own demand fell: its tasks (the BPF rate of the
 * last sample tick) use under a quarter of the quota rung's cap while not
 * frozen. */
static bool demand_fell(const struct containers *c, const struct container *k)
{
	const struct cg *cg;

	if (k->ladder.rung == RUNG_NONE || k->ladder.rung >= RUNG_FREEZE)
		return false;
	cg = model__find(c->d->model, k->cgroup_id);
	return cg && cg->fig.bpf_ns && cg->fig.cpu_rate * 4 * 100 < c->d->conf.cpu_quota_pct;
}

/* Protected work's wait per CPU over the last tick or two (the BPF figures
 * now less those of the tick before the last), into c->prot_tick's room of
 * @out; the number of CPUs, 0 when there are none. */
static unsigned recent_prot_wait(struct containers *c, uint64_t *out, unsigned max)
{
	int n;

	if (!c->d->tel || !c->prot_prev)
		return 0;
	n = telemetry__prot_wait(c->d->tel, out, max < c->nprot ? max : c->nprot);
	if (n <= 0)
		return 0;
	for (int i = 0; i < n; i++)
		out[i] =
			(out[i] > c->prot_prev[i] ? out[i] - c->prot_prev[i] : 0) + c->prot_tick[i];
	return (unsigned)n;
}

/* The cpuset rung's CPU for @k: of the shared pool, the one where
 * protected work waited least lately (BPF's per-CPU view). */
static void pick_squeeze_cpu(struct containers *c, struct container *k)
{
	struct topo_cpuset s = { 0 };
	uint64_t wait[1024];
	unsigned n;
	int cpu;

	k->squeeze_cpu1 = 0;
	if (!c->pool_ok || place_cpus_of(&c->pool, 0, &s))
		return;
	n = recent_prot_wait(c, wait, 1024);
	cpu = place_quiet_cpu(&s, wait, n);
	if (cpu >= 0) {
		char seen[256] = "";
		size_t o = 0;

		k->squeeze_cpu1 = (unsigned)cpu + 1;
		for (unsigned i = 0; i < s.n && o < sizeof(seen) - 32; i++)
			o += (size_t)snprintf(seen + o, sizeof(seen) - o, "%s%u: %" PRIu64 " us",
					      i ? ", " : "", s.cpu[i],
					      s.cpu[i] < n ? wait[s.cpu[i]] / 1000 : 0);
		log_info("container %" PRIu64 " (%s): cpuset rung on CPU %d; protected work "
			 "waited lately on CPU %s",
			 k->id, k->path, cpu, seen);
	}
	topo_cpuset_free(&s);
}

/* Write what moving @k from rung @from to its current rung means. */
static int write_rung(struct containers *c, struct container *k, enum ladder_rung from,
		      const char *why)
{
	enum ladder_rung to = k->ladder.rung;
	struct act_write w[ACT_WRITES_MAX];
	struct ctr_plan before, after;
	char unenf[sizeof(k->unenforced)], reason[320], abuf[2][48];
	struct act_result res;
	bool op_frozen = false;
	unsigned n = 0;
	int r;

	if (k->kind == CTR_ADOPTED) {
		r = adopted_writes(c, k, from, to, w, abuf);
		if (r < 0)
			return r;
		n = (unsigned)r;
	} else {
		if (to >= RUNG_CPUSET && from < RUNG_CPUSET)
			pick_squeeze_cpu(c, k);
		k->ladder.rung = from;
		r = ctr_plan_knobs(c, k, &before, unenf, sizeof(unenf));
		k->ladder.rung = to;
		if (r || ctr_plan_knobs(c, k, &after, unenf, sizeof(unenf)))
			return -ENOSPC;
		/* the knobs whose value the rung changes, and nothing else */
		for (unsigned i = 0; i < after.n; i++)
			for (unsigned j = 0; j < before.n; j++)
				if (streq(after.w[i].knob, before.w[j].knob) &&
				    !streq(after.w[i].value, before.w[j].value) &&
				    n < ACT_WRITES_MAX - 2)
					w[n++] = after.w[i];
	}
	if (to >= RUNG_FREEZE && from < RUNG_FREEZE) {
		char fz[8];

		/* frozen already (container.freeze): the freeze is not the ladder's */
		op_frozen = act_read(&c->act, k->path, "cgroup.freeze", fz, sizeof(fz)) >= 0 &&
			    streq(fz, "1");
		if (!op_frozen)
			w[n++] = (struct act_write){ .knob = "cgroup.freeze", .value = "1" };
	}
	if (to < RUNG_FREEZE && from >= RUNG_FREEZE && k->ladder_frozen)
		w[n++] = (struct act_write){ .knob = "cgroup.freeze", .value = "0" };
	if (to == RUNG_KILL && from < RUNG_KILL)
		w[n++] = (struct act_write){ .knob = "cgroup.kill", .value = "1" };
	snprintf(reason, sizeof(reason), "cpu ladder %s -> %s: %s", ladder_rung_name(from),
		 ladder_rung_name(to), why);
	{
		bool up = to > from;
		struct ctr_why cw = {
			.policy = "cpu",
			.rung_from = (int)from,
			.rung_to = (int)to,
			.value_ns = up ? c->pressure_value_ns : 0,
			.threshold_ns = up ? c->pressure_threshold_ns : 0,
			.for_cgroup = up ? c->pressure_cg : "",
		};

		c->why = &cw;
		r = n ? ctr_apply(c, k, w, n, reason, &res) : 0;
		c->why = NULL;
	}
	if (r) {
		if (r != -EAGAIN) /* another writer's change: ctr_apply said so */
			log_warn("container %" PRIu64 " (%s): %s", k->id, k->path, res.msg);
		return r;
	}
	if (to >= RUNG_FREEZE && from < RUNG_FREEZE)
		k->ladder_frozen = !op_frozen;
	else if (to < RUNG_FREEZE)
		k->ladder_frozen = false;
	/* its scheduler's values are read again the next time */
	if (to < RUNG_WEIGHT)
		k->saved_weight = false;
	if (to < RUNG_QUOTA)
		k->saved_max = false;
	c->ladder_moves++;
	if (to > from)
		c->ladder_up[to]++;
	else
		c->ladder_down[from]++;
	if (to > from && n && c->reaction_pending) {
		uint64_t now = mono_now_ns(), dt = now > c->onset_ts_ns ? now - c->onset_ts_ns : 0;

		c->reaction_pending = false;
		c->reaction_slots[cgp_hist_slot(dt / 1000)]++;
		c->reaction_sum_ns += dt;
	}
	log_info("container %" PRIu64 " (%s): %s", k->id, k->path, reason);
	ctr_state_put(c, k);
	return 0;
}

/* An adopted container whose knob another writer changed: every knob of
 * the squeeze still as cgpilot left it gets its scheduler's value back, one
 * write each (the changed one is the other writer's: -EAGAIN, left alone),
 * and the container leaves the ladder for good. */
static void back_off(struct containers *c, struct container *k)
{
	struct act_write w[3];
	struct act_result res;
	unsigned n = 0;

	if (k->saved_weight && ctr_handed(k, "cpu.weight") && k->ladder.rung >= RUNG_WEIGHT)
		w[n++] = (struct act_write){ .knob = "cpu.weight", .value = k->cpu_saved_weight };
	if (k->saved_max && ctr_handed(k, "cpu.max") && k->ladder.rung >= RUNG_QUOTA)
		w[n++] = (struct act_write){ .knob = "cpu.max", .value = k->cpu_saved_max };
	if (k->ladder_frozen)
		w[n++] = (struct act_write){ .knob = "cgroup.freeze", .value = "0" };
	for (unsigned i = 0; i < n; i++)
		if (!streq(w[i].knob, k->external_knob))
			ctr_apply(c, k, &w[i], 1,
				  "cpu ladder: another writer changed a knob; the rest of the "
				  "squeeze undone, the cgroup left to its scheduler",
				  &res);
	log_info("container %" PRIu64 " (%s): off the cpu ladder (rung %s): another writer "
		 "changed %s",
		 k->id, k->path, ladder_rung_name(k->ladder.rung),
		 k->external_knob[0] ? k->external_knob : "one of its knobs");
	k->ladder = (struct ladder_state){ 0 };
	k->ladder_frozen = false;
	k->saved_weight = k->saved_max = false;
}

void ctr_control_unsqueeze(struct containers *c, struct container *k, const char *reason)
{
	enum ladder_rung from = k->ladder.rung;

	if (k->kind != CTR_ADOPTED || from == RUNG_NONE || !k->cgroup_id)
		return;
	k->ladder.rung = RUNG_NONE;
	if (!k->backed_off && !write_rung(c, k, from, reason))
		return;
	/* another writer's change (now, or before): the rest undone one by one */
	k->ladder.rung = from;
	back_off(c, k);
}

static void arm(struct containers *c, uint64_t at)
{
	struct itimerspec its = { 0 };

	if (c->control_fd < 0 || at == c->control_next_ns)
		return;
	if (at) {
		its.it_value.tv_sec = (time_t)(at / 1000000000ULL);
		its.it_value.tv_nsec = (long)(at % 1000000000ULL);
	}
	if (!timerfd_settime(c->control_fd, TFD_TIMER_ABSTIME, &its, NULL))
		c->control_next_ns = at;
}

/* Every squeezed container one decision further; the timer for the next. */
static void run(struct containers *c, uint64_t now)
{
	bool exhausted = true, any1 = false;
	uint64_t next = 0;
	char why[256];

	if (c->cpu_pressure)
		snprintf(why, sizeof(why), "%s", c->pressure_why);
	else
		snprintf(why, sizeof(why),
			 "no guaranteed container above its target for %" PRIu64 " ms",
			 (uint64_t)(c->calm_since_ns && now > c->calm_since_ns ?
					    (now - c->calm_since_ns) / MS :
					    0));
	/* besteffort first; burstable above its request once they are all on top */
	for (int t = 1; t <= 2; t++) {
		for (struct container *k = c->list; k; k = k->next) {
			struct ladder_conf lc;
			enum ladder_rung from = k->ladder.rung, to;
			uint64_t at;

			struct ladder_state saved;

			if (tier(c, k) != t) {
				/* an adopted one no longer squeezable (the policy off
				 * for adopted ones, a knob another writer changed):
				 * its scheduler's values back, once */
				if (t == 1 && k->kind == CTR_ADOPTED &&
				    k->ladder.rung != RUNG_NONE && !tier(c, k))
					ctr_control_unsqueeze(c, k,
							      "cpu ladder: no longer a target");
				continue;
			}
			conf_for(c, k, &lc);
			/* burstable waits, rung held, while besteffort has rungs left */
			if (t == 2 && c->cpu_pressure && !exhausted)
				continue;
			saved = k->ladder;
			to = ladder_step(&lc, &k->ladder, c->cpu_pressure, c->calm_since_ns,
					 demand_fell(c, k), now, &at);
			if (to != from && write_rung(c, k, from, why)) {
				/* not written: as it was, tried again after the hold */
				k->ladder = saved;
				at = now + lc.hold_ns;
				if (k->backed_off) {
					back_off(c, k);
					continue;
				}
			}
			if (t == 1) {
				any1 = true;
				exhausted &= ladder_on_top(&lc, k->ladder.rung);
			}
			if (at && (!next || at < next))
				next = at;
		}
		if (!any1)
			exhausted = true;
	}
	arm(c, next);
}

/* Is any protected container (but @skip) in a CPU episode? The calm starts
 * when the last one's ends; several at once count as one pressure. */
static void recompute(struct containers *c, const struct container *skip, uint64_t now)
{
	bool was = c->cpu_pressure, p = false;

	for (struct container *g = c->list; g && !p; g = g->next) {
		const struct cg *gc;

		if (g == skip || !shielded(c, g))
			continue;
		gc = model__find(c->d->model, g->cgroup_id);
		p = gc && (gc->active & (1u << CGP_SIG_CPU));
		/* or one of the cgroups below it that count for it */
		for (unsigned i = 0; i < g->nsub_threshold && !p; i++) {
			gc = model__find(c->d->model, g->sub_threshold[i]);
			p = gc && !gc->dead_ns && (gc->active & (1u << CGP_SIG_CPU));
		}
	}
	c->cpu_pressure = p;
	if (was && !p)
		c->calm_since_ns = now;
}

void containers__on_pressure(struct containers *c, const struct cg *cg, const struct cgp_event *e)
{
	struct container *k;
	uint64_t now = mono_now_ns();

	if (!c || !cg)
		return;
	k = ctr_owner(c, cg);
	if (!k)
		return;
	if (e->signal == CGP_SIG_MEM) {
		/* the relief watches the container's own cgroup (its PSI is the
		 * subtree's): a cgroup below it adds nothing */
		if (k->cgroup_id == cg->id)
			ctr_guard_on_event(c, k, e);
		return;
	}
	if (e->signal == CGP_SIG_IO) {
		ctr_io_on_event(c, k, e);
		return;
	}
	if (e->signal != CGP_SIG_CPU)
		return;
	/* one that is no longer protected (releasing) may end the pressure */
	if (!shielded(c, k)) {
		if (c->cpu_pressure) {
			recompute(c, NULL, now);
			run(c, now);
		}
		return;
	}
	if (e->type == CGP_EV_ONSET && !c->cpu_pressure) {
		c->onset_ts_ns = e->ts_ns;
		c->reaction_pending = true;
	}
	if (e->type == CGP_EV_ONSET) {
		snprintf(c->pressure_cg, sizeof(c->pressure_cg), "%s", k->path);
		c->pressure_value_ns = e->value;
		c->pressure_threshold_ns = e->threshold;
	}
	if (e->type == CGP_EV_ONSET)
		snprintf(c->pressure_why, sizeof(c->pressure_why),
			 "guaranteed %s waited %" PRIu64 " us for CPU in a window (target %" PRIu64
			 " us)",
			 k->path, (uint64_t)e->value / 1000, (uint64_t)e->threshold / 1000);
	recompute(c, NULL, now);
	run(c, now);
}

void containers__control_timer(struct containers *c)
{
	uint64_t ticks;

	if (!c || c->control_fd < 0)
		return;
	if (read(c->control_fd, &ticks, sizeof(ticks)) < 0 && errno == EAGAIN)
		return;
	c->control_next_ns = 0;
	run(c, mono_now_ns());
}

void containers__operator_threshold(struct containers *c, uint64_t cgroup_id)
{
	struct container *k = c ? containers__find_cgroup(c, cgroup_id) : NULL;

	if (k) {
		k->threshold_ours = false; /* the operator's from now on: it wins, and stays */
		return;
	}
	for (k = c ? c->list : NULL; k; k = k->next)
		for (unsigned i = 0; i < k->nsub_threshold; i++)
			if (k->sub_threshold[i] == cgroup_id)
				k->sub_threshold[i] = k->sub_threshold[--k->nsub_threshold];
}

bool containers__class_threshold(struct containers *c, const struct cg *cg)
{
	const struct container *k = c ? ctr_owner(c, cg) : NULL;

	if (!k)
		return false;
	if (k->cgroup_id == cg->id)
		return k->threshold_ours;
	for (unsigned i = 0; i < k->nsub_threshold; i++)
		if (k->sub_threshold[i] == cg->id)
			return true;
	return false;
}

/* The sample tick: protected work's wait per CPU in this tick; a squeezed
 * container's fallen demand is seen within a tick. */
void ctr_control_tick(struct containers *c, uint64_t now)
{
	if (c->prot_prev && c->d->tel) {
		uint64_t cur[1024];
		int n = telemetry__prot_wait(c->d->tel, cur, c->nprot);

		for (int i = 0; i < n; i++) {
			c->prot_tick[i] = cur[i] > c->prot_prev[i] ? cur[i] - c->prot_prev[i] : 0;
			c->prot_prev[i] = cur[i];
		}
	}
	for (struct container *k = c->list; k; k = k->next)
		if (k->ladder.rung != RUNG_NONE) {
			run(c, now);
			return;
		}
}

int containers__control_fd(const struct containers *c)
{
	return c ? c->control_fd : -1;
}

/* The class targets a container's BPF thresholds carry: the CPU ladder's
 * (shielded) and the I/O loop's. */
static bool wants_class(const struct containers *c, const struct container *k)
{
	return shielded(c, k) || ctr_io_shielded(c, k);
}

/* Cgroup @id's BPF thresholds set to @k's class targets (the daemon's
 * defaults for a signal no loop protects) unless an operator set them
 * (threshold.set wins, and stays); @ours: the ones there are cgpilot's.
 * Whether cgpilot's are in force now. */
static bool class_threshold(struct containers *c, const struct container *k, uint64_t id, bool ours)
{
	const struct cgp_conf *cf = &c->d->conf;
	struct cgp_threshold th, want;

	if (telemetry__get_threshold(c->d->tel, id, &th) != 1 && !ours)
		return false;
	want.ns[CGP_SIG_CPU] = shielded(c, k) ? (uint64_t)cf->cpu_target_us * 1000 :
						(uint64_t)cf->cpu_threshold_ms * MS;
	want.ns[CGP_SIG_MEM] = (uint64_t)cf->memory_threshold_ms * MS;
	want.ns[CGP_SIG_IO] = ctr_io_shielded(c, k) ? (uint64_t)cf->io_target_us * 1000 :
						      (uint64_t)cf->io_threshold_us * 1000;
	/* its waits counted per CPU too, for the cpuset rung */
	want.flags = shielded(c, k) ? CGP_TH_PROTECTED : 0;
	if (ours && !memcmp(&th, &want, sizeof(th)))
		return true;
	return !telemetry__set_threshold(c->d->tel, id, &want);
}

/* A guaranteed container's class target as its BPF threshold, unless an
 * operator set one (threshold.set wins, and stays). */
void ctr_control_admitted(struct containers *c, struct container *k)
{
	ctr_guard_admitted(c, k);
	/* a newcomer beside a guaranteed container under pressure climbs now */
	if (c->cpu_pressure && tier(c, k))
		run(c, mono_now_ns());
	if (!wants_class(c, k) || !c->d->tel || c->act.dry_run)
		return;
	k->threshold_ours = class_threshold(c, k, k->cgroup_id, k->threshold_ours);
}

/* The container @cg counts for: its own, or the nearest one above it (a
 * pod's container scopes count for the pod), or NULL. */
struct container *ctr_owner(struct containers *c, const struct cg *cg)
{
	struct container *k = containers__find_cgroup(c, cg->id);
	char p[PATH_MAX];
	char *s;

	if (k || !cg->path || snprintf(p, sizeof(p), "%s", cg->path) >= (int)sizeof(p))
		return k;
	while ((s = strrchr(p, '/'))) {
		*s = '\0';
		if ((k = ctr_find_path(c, p)))
			return k;
	}
	return NULL;
}

/* A cgroup below protected container @k (not a container itself) gets the
 * class target as its BPF threshold too, since BPF sums each task's waits
 * in the task's own cgroup: a pod's threshold alone would see nothing of
 * its container scopes. Remembered, to be taken back with @k's. */
static void sub_threshold(struct containers *c, struct container *k, uint64_t id)
{
	unsigned j = 0;

	for (unsigned i = 0; i < k->nsub_threshold; i++)
		if (k->sub_threshold[i] == id) {
			class_threshold(c, k, id, true); /* the targets as they are now */
			return;
		}
	if (k->nsub_threshold == CTR_SUB_MAX) {
		/* the ones gone make room */
		for (unsigned i = 0; i < k->nsub_threshold; i++) {
			const struct cg *g = model__find(c->d->model, k->sub_threshold[i]);

			if (g && !g->dead_ns)
				k->sub_threshold[j++] = k->sub_threshold[i];
			else if (c->d->tel)
				telemetry__forget_threshold(c->d->tel, k->sub_threshold[i]);
		}
		k->nsub_threshold = j;
	}
	if (k->nsub_threshold == CTR_SUB_MAX) {
		if (!k->sub_full_said)
			log_warn("%s: more than %d cgroups below it; the others keep the default "
				 "thresholds",
				 k->path, CTR_SUB_MAX);
		k->sub_full_said = true;
		return;
	}
	if (class_threshold(c, k, id, false))
		k->sub_threshold[k->nsub_threshold++] = id;
}

void ctr_control_cgroup_added(struct containers *c, const struct cg *cg)
{
	struct container *k;

	if (!c->d->tel || c->act.dry_run || !cg->path[0])
		return;
	k = ctr_owner(c, cg);
	if (k && k->cgroup_id != cg->id && k->threshold_ours && wants_class(c, k))
		sub_threshold(c, k, cg->id);
}

/* Every squeezed container of cgpilot's back to no rung (whatever the
 * policy says now: it may be the policy that went off). */
static void release_all(struct containers *c, const char *reason)
{
	for (struct container *k = c->list; k; k = k->next) {
		enum ladder_rung from = k->ladder.rung;

		if (from == RUNG_NONE || k->dry || !k->cgroup_id)
			continue;
		k->ladder.rung = RUNG_NONE;
		if (write_rung(c, k, from, reason)) {
			k->ladder.rung = from;
			if (k->backed_off)
				back_off(c, k);
		}
	}
}

/* A reload: the policy turned off releases every rung and the class
 * thresholds; on, or with new settings, it takes them from now on. */
void containers__reconfigured(struct containers *c)
{
	uint64_t now = mono_now_ns();

	if (!c)
		return;
	if (!c->d->conf.mem_policy)
		ctr_memory_release(c, "[policy.memory] turned off");
	if (!c->d->conf.mem_policy || !c->d->conf.mem_relief)
		ctr_guard_release(c, "[policy.memory] relief turned off");
	for (struct container *k = c->list; k; k = k->next)
		ctr_guard_admitted(c, k);
	if (!c->d->conf.io_policy)
		ctr_io_release(c, "[policy.io] turned off");
	if (!c->d->conf.cpu_policy) {
		release_all(c, "[policy.cpu] turned off");
		c->cpu_pressure = false;
		arm(c, 0);
	}
	for (struct container *k = c->list; k; k = k->next) {
		if (!wants_class(c, k))
			ctr_control_forget_threshold(c, k);
		ctr_control_admitted(c, k);
	}
	/* the cgroups below protected containers that count for them */
	{
		unsigned n;
		struct cg *const *all = model__all(c->d->model, &n);

		for (unsigned i = 0; i < n; i++)
			if (!all[i]->dead_ns)
				ctr_control_cgroup_added(c, all[i]);
	}
	if (!c->d->conf.cpu_policy)
		return;
	recompute(c, NULL, now);
	run(c, now);
}

void ctr_control_forget_threshold(struct containers *c, struct container *k)
{
	if (k->threshold_ours && c->d->tel)
		telemetry__forget_threshold(c->d->tel, k->cgroup_id);
	for (unsigned i = 0; i < k->nsub_threshold && c->d->tel; i++)
		telemetry__forget_threshold(c->d->tel, k->sub_threshold[i]);
	k->nsub_threshold = 0;
	k->threshold_ours = false;
}

void ctr_control_forget(struct containers *c, struct container *k)
{
	ctr_control_forget_threshold(c, k);
	ctr_guard_forget(c, k);
	ctr_io_forget(c, k);
	/* a protected one that goes takes its pressure with it (also when it
	 * stopped counting as protected before, while releasing) */
	if (c->cpu_pressure) {
		uint64_t now = mono_now_ns();

		recompute(c, k, now);
		if (!c->cpu_pressure)
			run(c, now);
	}
}

void ctr_control_init(struct containers *c)
{
	ctr_guard_init(c);
	ctr_io_init(c);
	/* protected waits per CPU: from the program's load (prot_wait is not
	 * pinned), so an onset before the first tick has figures too */
	c->nprot = 1024;
	c->prot_prev = calloc(c->nprot, sizeof(*c->prot_prev));
	c->prot_tick = calloc(c->nprot, sizeof(*c->prot_tick));
	if (!c->prot_prev || !c->prot_tick) {
		free(c->prot_prev);
		free(c->prot_tick);
		c->prot_prev = c->prot_tick = NULL;
		log_warn("out of memory: the cpuset rung takes the pool's last CPU");
	}
	c->control_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->control_fd < 0)
		log_warn("cannot create the control loop's timer: %m; rungs step only on events");
	for (struct container *k = c->list; k; k = k->next)
		ctr_control_admitted(c, k);
	/* rungs taken back from the state: held as long as calm lasts, then
	 * down; a policy off now releases them at once */
	c->calm_since_ns = mono_now_ns();
	if (!c->d->conf.cpu_policy || !c->d->conf.mem_policy)
		containers__reconfigured(c);
	if (c->d->conf.cpu_policy)
		run(c, c->calm_since_ns);
}

/* A clean stop: every squeezed container gets its settings back. */
void ctr_control_stop(struct containers *c)
{
	release_all(c, "clean stop: every rung released");
	ctr_guard_stop(c);
	ctr_io_release(c, "clean stop: io.max lifted");
	ctr_io_free(c);
	closep(&c->control_fd);
}

/* ---- cgroup.why ---- */

static json_object *action_json(const struct container *k, const struct ctr_action *a)
{
	json_object *e = json_object_new_object();

	json_object_object_add(e, "time_ns", json_object_new_uint64(a->time_ns));
	json_object_object_add(e, "container", json_object_new_uint64(k->id));
	json_object_object_add(e, "cgroup", json_object_new_string(k->path));
	json_object_object_add(e, "knob", json_object_new_string(a->knob));
	json_object_object_add(e, "old", json_object_new_string(a->old_value));
	json_object_object_add(e, "new", json_object_new_string(a->new_value));
	json_object_object_add(e, "status", json_object_new_string(act_status_name(a->status)));
	json_object_object_add(e, "reason", json_object_new_string(a->reason));
	if (a->policy[0]) {
		json_object_object_add(e, "policy", json_object_new_string(a->policy));
		if (a->rung_from >= 0) {
			json_object_object_add(
				e, "rung_before",
				json_object_new_string(ladder_rung_name(a->rung_from)));
			json_object_object_add(
				e, "rung_after",
				json_object_new_string(ladder_rung_name(a->rung_to)));
		}
		if (a->for_cgroup[0]) {
			json_object_object_add(e, "for", json_object_new_string(a->for_cgroup));
			json_object_object_add(
				e, "signal",
				json_object_new_string(streq(a->policy, "cpu") ? "cpu" : "memory"));
			json_object_object_add(e, "value_ns", json_object_new_uint64(a->value_ns));
			json_object_object_add(e, "threshold_ns",
					       json_object_new_uint64(a->threshold_ns));
		}
	}
	return e;
}

/* What takes a container's rung back: the calm it needs, or the config. */
static void undo_json(struct containers *c, const struct container *k, json_object *o)
{
	char buf[256];

	if (k->ladder.rung == RUNG_NONE) {
		json_object_object_add(o, "undo", json_object_new_string("nothing: on no rung"));
		return;
	}
	{
		struct ladder_conf lc;

		conf_for(c, k, &lc);
		snprintf(buf, sizeof(buf),
			 "one rung down after %" PRIu64 " ms with no guaranteed container above "
			 "its target%s; all of them at once: [policy.cpu] enabled = false and a "
			 "reload, or a clean stop",
			 (uint64_t)(ladder_release_hold(&lc, &k->ladder, k->ladder.rung) / MS),
			 c->cpu_pressure ? " (there is pressure now)" : "");
	}
	json_object_object_add(o, "undo", json_object_new_string(buf));
}

json_object *containers__why(struct containers *c, uint64_t cgroup_id)
{
	const struct container *k = c ? containers__find_cgroup(c, cgroup_id) : NULL;
	json_object *o = json_object_new_object(), *acts = json_object_new_array();

	if (!k) {
		json_object_object_add(o, "managed", json_object_new_boolean(false));
		json_object_object_add(o, "actions", acts);
		return o;
	}
	json_object_object_add(o, "managed", json_object_new_boolean(true));
	json_object_object_add(o, "container", json_object_new_uint64(k->id));
	json_object_object_add(o, "class", json_object_new_string(class_name(k->class)));
	json_object_object_add(o, "rung", json_object_new_string(ladder_rung_name(k->ladder.rung)));
	undo_json(c, k, o);
	/* its own actions, oldest first */
	for (unsigned i = 0; i < k->hist_n; i++)
		json_object_array_add(acts, action_json(k, ctr_history_at(k, i)));
	json_object_object_add(o, "actions", acts);
	/* a protected one: what was done to others for it */
	if (k->class == CGP_CLASS_GUARANTEED) {
		json_object *for_it = json_object_new_array();

		for (const struct container *x = c->list; x; x = x->next)
			for (unsigned i = 0; i < x->hist_n; i++) {
				const struct ctr_action *a = ctr_history_at(x, i);

				if (a->for_cgroup[0] && streq(a->for_cgroup, k->path))
					json_object_array_add(for_it, action_json(x, a));
			}
		json_object_object_add(o, "for_it", for_it);
		json_object_object_add(o, "under_pressure",
				       json_object_new_boolean(c->cpu_pressure &&
							       streq(c->pressure_cg, k->path)));
	}
	return o;
}

json_object *ctr_control_json(struct containers *c)
{
	const struct cgp_conf *cf = &c->d->conf;
	json_object *o = json_object_new_object(), *cpu = json_object_new_object();
	json_object *rungs = json_object_new_array(), *on = json_object_new_object();
	struct ladder_conf lbe, lbu;
	uint64_t now = mono_now_ns();

	class_conf(c, CGP_CLASS_BESTEFFORT, &lbe);
	class_conf(c, CGP_CLASS_BURSTABLE, &lbu);
	json_object_object_add(cpu, "enabled", json_object_new_boolean(cf->cpu_policy));
	json_object_object_add(cpu, "adopted", json_object_new_boolean(cf->cpu_policy_adopted));
	/* the rungs there are here, for besteffort (burstable adds weight) */
	for (int r = RUNG_WEIGHT; r < RUNG_MAX; r++)
		if (lbe.on[r] || lbu.on[r])
			json_object_array_add(rungs, json_object_new_string(ladder_rung_name(
							     (enum ladder_rung)r)));
	json_object_object_add(cpu, "rungs", rungs);
	if (!json_object_array_length(rungs))
		json_object_object_add(cpu, "note",
				       json_object_new_string(
					       "no rung: no cpu or cpuset controller here, and "
					       "[policy.cpu] freeze and kill are off"));
	if (daemon_files_only(c->d) && cf->cpu_policy)
		json_object_object_add(cpu, "inactive", json_object_new_string(CTR_INACTIVE_CPU));
	json_object_object_add(cpu, "target_us", json_object_new_uint64(cf->cpu_target_us));
	json_object_object_add(cpu, "hold_ms", json_object_new_uint64(cf->cpu_hold_ms));
	json_object_object_add(cpu, "release_ms", json_object_new_uint64(cf->cpu_release_ms));
	json_object_object_add(cpu, "release_max_ms",
			       json_object_new_uint64(cf->cpu_release_max_ms));
	json_object_object_add(cpu, "quota_pct", json_object_new_uint64(cf->cpu_quota_pct));
	json_object_object_add(cpu, "pressure", json_object_new_boolean(c->cpu_pressure));
	if (c->cpu_pressure)
		json_object_object_add(cpu, "pressure_from",
				       json_object_new_string(c->pressure_cg));
	else if (c->calm_since_ns && now > c->calm_since_ns)
		json_object_object_add(cpu, "calm_ms",
				       json_object_new_uint64((now - c->calm_since_ns) / MS));
	for (struct container *k = c->list; k; k = k->next) {
		json_object *list;
		const char *name = ladder_rung_name(k->ladder.rung);

		if (k->ladder.rung == RUNG_NONE)
			continue;
		if (!json_object_object_get_ex(on, name, &list)) {
			list = json_object_new_array();
			json_object_object_add(on, name, list);
		}
		json_object_array_add(list, json_object_new_string(k->path));
	}
	json_object_object_add(cpu, "on_rungs", on);
	json_object_object_add(cpu, "moves", json_object_new_uint64(c->ladder_moves));
	json_object_object_add(o, "cpu", cpu);
	json_object_object_add(o, "memory", ctr_memory_json(c));
	json_object_object_add(o, "memory_relief", ctr_guard_json(c));
	json_object_object_add(o, "io", ctr_io_json(c));
	return o;
}
