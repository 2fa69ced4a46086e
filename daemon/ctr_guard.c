// SPDX-License-Identifier: Apache-2.0
/*
 * Memory relief for guaranteed containers (daemon/policy/memguard.h): the
 * pressure comes pushed, from BPF's reclaim-stall onset and cleared events
 * of a guaranteed container cgpilot admitted, and from a kernel PSI trigger
 * on its memory.pressure (memory.high throttling and refaults, which BPF
 * does not see), woken through the daemon's epoll as EPOLLPRI. While any is
 * under pressure, the besteffort containers cgpilot admitted are squeezed
 * (memory.high) and, with [policy.memory] kill, killed, one at a time, as
 * the policy decides; a one-shot timer brings the loop back for the waits,
 * the cooldown and the giving back. Revocation is pressure too: when what
 * besteffort holds grows past the slack (the reserved containers' use grew).
 * The memory loop (ctr_memory.c) leaves a squeezed container alone until
 * the squeeze is given back. With [policy.memory] adopted, adopted
 * guaranteed pods are protected too (their PSI trigger: their tasks run in
 * cgroups below them, where BPF's onset is counted) and adopted besteffort
 * pods are victims where their pattern hands memory.high (the squeeze) or
 * cgroup.kill (the kill) over; a release writes back the memory.high their
 * scheduler left. Revocation counts cgpilot's own besteffort containers
 * alone: the slack is cgpilot's books.
 */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ctl.h"
#include "ctr_internal.h"
#include "daemon.h"
#include "log.h"
#include "telemetry.h"
#include "util.h"

#define MS 1000000ULL

/* A PSI trigger's fd and whose it is; freed only after the epoll batch
 * that may still point at it (containers__reap). */
struct ctr_psi {
	struct ep_source src; /* first: the epoll data points here */
	uint64_t id; /* the container, 0: dead */
	int fd;
	struct ctr_psi *next; /* on the dead list */
};

static bool relief_on(const struct containers *c)
{
	return c->d->conf.mem_policy && c->d->conf.mem_relief && (c->enforce & CGFS_MEMORY);
}

static bool managed(const struct container *k)
{
	return k->kind != CTR_ADOPTED && !k->dry && k->cgroup_id && k->state != CTR_QUEUED &&
	       !k->releasing;
}

/* An adopted pod the relief sees: [policy.memory] adopted, and running. */
static bool adopted_seen(const struct containers *c, const struct container *k)
{
	return k->kind == CTR_ADOPTED && c->d->conf.mem_policy_adopted && !k->dry && k->cgroup_id &&
	       k->state != CTR_QUEUED && !k->releasing;
}

/* Protected from memory pressure: every guaranteed container cgpilot
 * admitted, and adopted guaranteed pods with [policy.memory] adopted
 * (nothing is written to them). */
static bool guarded(const struct containers *c, const struct container *k)
{
	return relief_on(c) && (managed(k) || adopted_seen(c, k)) &&
	       k->class == CGP_CLASS_GUARANTEED;
}

/* A besteffort one memory may be taken from: cgpilot's own, and adopted
 * pods whose pattern hands memory.high or cgroup.kill over, until another
 * writer changes one of their knobs. */
static bool victim_ok(const struct containers *c, const struct container *k)
{
	if (k->class != CGP_CLASS_BESTEFFORT)
		return false;
	if (managed(k))
		return true;
	return adopted_seen(c, k) && !k->backed_off &&
	       (ctr_handed(k, "memory.high") || ctr_handed(k, "cgroup.kill"));
}

static bool is_protected(const struct containers *c, const struct container *k)
{
	const char *v = c->d->conf.mem_protected;
	char word[64];

	while (*v) {
		size_t n;

		v += strspn(v, " \t");
		n = strcspn(v, " \t");
		if (!n)
			break;
		if (n < sizeof(word)) {
			memcpy(word, v, n);
			word[n] = 0;
			if (!fnmatch(word, k->name, 0))
				return true;
		}
		v += n;
	}
	return false;
}

static void conf_of(const struct containers *c, struct memguard_conf *mc)
{
	const struct cgp_conf *cf = &c->d->conf;

	*mc = (struct memguard_conf){
		.kill = cf->mem_kill,
		.sustain_ns = cf->mem_kill_after_ms * MS,
		.cooldown_ns = cf->mem_cooldown_ms * MS,
		.settle_ns = cf->mem_settle_ms * MS,
		.release_ns = cf->mem_squeeze_release_ms * MS,
		/* two PSI windows without a signal end the episode */
		.calm_ns = 2ULL * cf->mem_psi_window_us * 1000,
		.squeeze = (double)cf->mem_squeeze_pct / 100,
		.floor_bytes = cf->mem_floor,
		.min_step_bytes = 1ULL << 20,
	};
}

static void arm(struct containers *c, uint64_t at)
{
	struct itimerspec its = { 0 };

	if (c->guard_fd < 0 || at == c->guard_next_ns)
		return;
	if (at) {
		its.it_value.tv_sec = (time_t)(at / 1000000000ULL);
		its.it_value.tv_nsec = (long)(at % 1000000000ULL);
	}
	if (!timerfd_settime(c->guard_fd, TFD_TIMER_ABSTIME, &its, NULL))
		c->guard_next_ns = at;
}

/* Is any guarded container stalled now (and till when, by PSI)? */
static bool pressure_now(struct containers *c, uint64_t now, uint64_t *psi_end)
{
	bool p = false;

	*psi_end = 0;
	for (struct container *g = c->list; g; g = g->next) {
		const struct cg *gc;

		if (!guarded(c, g))
			continue;
		if (g->psi_until_ns > now) {
			p = true;
			if (!*psi_end || g->psi_until_ns < *psi_end)
				*psi_end = g->psi_until_ns;
		}
		gc = model__find(c->d->model, g->cgroup_id);
		if (gc && (gc->active & (1u << CGP_SIG_MEM)))
			p = true;
	}
	return p || c->revoke_mem;
}

/*
 * Revocation, as Mesos's QoS controller treats revocable resources:
 * besteffort containers run on the slack (allocatable less what the
 * reserved ones use, daemon/policy/admit.h); once the guaranteed and
 * burstable ones' use has grown until besteffort holds more memory than
 * the slack, besteffort gives memory back the same way (squeezed first,
 * killed last, and only with kill on). Memory only: CPU is compressible,
 * and besteffort's cpu.weight of 1 already yields it. From the model's
 * memory.current (the sweep's), each tick; squeezes are not given back
 * while besteffort is within a tenth of the slack.
 */
static void revocation(struct containers *c)
{
	uint64_t be = 0, slack = c->books.slack.mem;

	c->revoke_mem = false;
	c->guard.hold_release = false;
	if (!relief_on(c) || !c->slack.last_ns)
		return;
	for (struct container *k = c->list; k; k = k->next) {
		const struct cg *cg;

		if (!managed(k) || k->class != CGP_CLASS_BESTEFFORT)
			continue;
		cg = model__find(c->d->model, k->cgroup_id);
		if (cg && cg->fig.memory_valid)
			be += cg->fig.memory_current;
	}
	c->revoke_be_bytes = be;
	c->revoke_slack_bytes = slack;
	c->revoke_mem = be > slack;
	c->guard.hold_release = be + be / 10 > slack;
}

static int write_knob(struct containers *c, struct container *k, const char *knob,
		      const char *value, const char *reason)
{
	struct act_write w = { .knob = knob, .value = value };
	struct ctr_why cw = {
		.policy = "memory",
		.rung_from = -1,
		.rung_to = -1,
		.value_ns = c->guard_value_ns,
		.threshold_ns = c->guard_threshold_ns,
		.for_cgroup = c->guard_cg,
	};
	struct act_result res;
	int r;

	c->why = &cw;
	r = ctr_apply(c, k, &w, 1, reason, &res);
	c->why = NULL;
	if (r)
		log_warn("container %" PRIu64 " (%s): %s", k->id, k->path, res.msg);
	return r;
}

/* The besteffort containers cgpilot admitted, as the policy sees them; the
 * memory of each read only while there is pressure. */
static unsigned victims(struct containers *c, bool pressure, struct memguard_victim *v,
			unsigned cap)
{
	unsigned n = 0;

	for (struct container *k = c->list; k && n < cap; k = k->next) {
		struct memguard_victim *x;
		char buf[64];

		if (!victim_ok(c, k))
			continue;
		if (!pressure && k->guard_high == MEMHIGH_MAX)
			continue;
		x = &v[n];
		*x = (struct memguard_victim){
			.id = k->id,
			.priority = k->spec.priority,
			.request = k->spec.mem_request,
			.squeezed = k->guard_high,
			.own_high = k->memhigh.high,
			.protected_ = is_protected(c, k),
			.populated = k->state == CTR_RUNNING,
			.fruitless = k->guard_fruitless,
			.no_squeeze = k->kind == CTR_ADOPTED && !ctr_handed(k, "memory.high"),
			.no_kill = k->kind == CTR_ADOPTED && !ctr_handed(k, "cgroup.kill"),
		};
		if (pressure) {
			if (act_read(&c->act, k->path, "memory.current", buf, sizeof(buf)) < 0)
				continue;
			x->usage = strtoull(buf, NULL, 10);
			/* the one waited for: is it empty yet? */
			if (k->id == c->guard.victim &&
			    act_read(&c->act, k->path, "cgroup.events", buf, sizeof(buf)) >= 0)
				x->populated = !strstr(buf, "populated 0");
		}
		n++;
	}
	return n;
}

static void run(struct containers *c, uint64_t now)
{
	struct memguard_conf mc;
	struct memguard_decision d;
	struct memguard_victim *v;
	struct container *k;
	uint64_t psi_end, gap_end, next;
	bool p;
	unsigned n;
	char val[24], reason[400];

	if (!relief_on(c)) {
		arm(c, 0);
		return;
	}
	conf_of(c, &mc);
	gap_end = memguard_pressure(&mc, &c->guard, pressure_now(c, now, &psi_end), now);
	p = c->guard.pressure_since != 0;
	if (!p)
		for (k = c->list; k; k = k->next)
			k->guard_fruitless = false; /* a new episode tries squeezes again */
	v = calloc(c->n ? c->n : 1, sizeof(*v));
	if (!v) {
		arm(c, now + 100 * MS);
		return;
	}
	n = victims(c, p, v, c->n);
	memguard_decide(&mc, &c->guard, v, n, now, &d);
	if (d.fruitless && (k = containers__find(c, d.fruitless)))
		k->guard_fruitless = true;
	k = d.act != MG_NONE ? containers__find(c, d.victim) : NULL;
	if (k) {
		const struct memguard_victim *x = NULL;
		int r = 0;

		for (unsigned i = 0; i < n; i++)
			if (v[i].id == k->id)
				x = &v[i];
		snprintf(reason, sizeof(reason), "memory relief %s: %s%s%s",
			 memguard_act_name(d.act), d.why, d.act == MG_RELEASE ? "" : "; for ",
			 d.act == MG_RELEASE ? "" : c->guard_why);
		switch (d.act) {
		case MG_SQUEEZE:
		case MG_RELEASE:
			/* an adopted pod: its scheduler's value kept first, and
			 * what "max" means for it */
			r = ctr_memory_save(c, k);
			if (r)
				break;
			ctr_memory_value(k, d.high, val, sizeof(val));
			r = write_knob(c, k, "memory.high", val, reason);
			if (!r) {
				k->guard_high = d.act == MG_SQUEEZE ? d.high : MEMHIGH_MAX;
				if (d.act == MG_RELEASE)
					k->memhigh.last_ns =
						now; /* the memory loop goes on from here */
			} else if (r == -EAGAIN) {
				/* another writer's now: nothing of it is cgpilot's */
				k->guard_high = MEMHIGH_MAX;
				k->memhigh = (struct memhigh_state){ .high = MEMHIGH_MAX };
			}
			ctr_memory_settled(k);
			break;
		case MG_KILL:
			r = write_knob(c, k, "cgroup.kill", "1", reason);
			break;
		default:
			break;
		}
		if (!r) {
			memguard_done(&c->guard, &d, x, now);
			log_info("container %" PRIu64 " (%s): %s", k->id, k->path, reason);
		} else {
			d.next_ns = now + mc.cooldown_ns; /* tried again after a cooldown */
		}
	}
	snprintf(c->guard_last, sizeof(c->guard_last), "%s", d.why);
	free(v);
	next = d.next_ns;
	/* a PSI pressure ends when its window passes with no new event */
	if (psi_end && (!next || psi_end < next))
		next = psi_end;
	if (gap_end && (!next || gap_end < next))
		next = gap_end;
	arm(c, next);
}

/* ---- PSI triggers ---- */

static void psi_drop(struct containers *c, struct container *k)
{
	struct ctr_psi *w = k->psi;

	if (!w)
		return;
	k->psi = NULL;
	c->npsi--;
	closep(&w->fd); /* the last reference: epoll forgets it */
	w->id = 0;
	w->next = c->psi_dead;
	c->psi_dead = w;
}

static void psi_watch(struct containers *c, struct container *k)
{
	const struct cgp_conf *cf = &c->d->conf;
	struct epoll_event ev = { .events = EPOLLPRI };
	struct ctr_psi *w;
	uint32_t window = 0;
	int fd;

	if (k->psi || k->psi_failed || !cf->mem_psi_stall_us || c->d->epfd < 0)
		return;
	/* each cgroup with a trigger has a kernel thread (psimon): a bounded
	 * number; the others have BPF's onset alone, and get one when a
	 * trigger is closed (the tick looks again) */
	if (c->npsi >= cf->mem_psi_max) {
		if (!c->psi_full_said)
			log_info("%u PSI triggers open ([policy.memory] psi_max): more guaranteed "
				 "containers have BPF's reclaim stall alone",
				 c->npsi);
		c->psi_full_said = true;
		return;
	}
	fd = act_psi_trigger(&c->act, k->path, "memory.pressure", cf->mem_psi_stall_us,
			     cf->mem_psi_window_us, &window);
	if (fd < 0) {
		k->psi_failed = true; /* BPF's onset alone, said once */
		log_info("container %" PRIu64 " (%s): no PSI trigger on memory.pressure (%s); "
			 "its memory pressure is BPF's reclaim stall alone",
			 k->id, k->path, strerror(-fd));
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		close(fd);
		return;
	}
	w->src.kind = EP_PSI;
	w->id = k->id;
	w->fd = fd;
	ev.data.ptr = &w->src;
	if (epoll_ctl(c->d->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		log_warn("container %" PRIu64 ": cannot watch its PSI trigger: %m", k->id);
		close(fd);
		free(w);
		k->psi_failed = true;
		return;
	}
	k->psi = w;
	c->npsi++;
	k->psi_window_ns = (uint64_t)window * 1000;
	if (window != cf->mem_psi_window_us)
		log_info("container %" PRIu64 ": PSI trigger with a %" PRIu32
			 " us window (unprivileged: whole 2 s only)",
			 k->id, window);
}

void containers__psi_event(struct containers *c, struct ep_source *src, uint32_t events)
{
	struct ctr_psi *w = (struct ctr_psi *)((char *)src - offsetof(struct ctr_psi, src));
	struct container *k = w->id ? containers__find(c, w->id) : NULL;
	uint64_t now = mono_now_ns();

	if (!k || k->psi != w)
		return;
	if (events & EPOLLERR) {
		psi_drop(c, k); /* the cgroup is gone */
		return;
	}
	if (!guarded(c, k))
		return;
	c->guard_stats.psi_events++;
	k->psi_until_ns = now + k->psi_window_ns;
	/* an episode under way with its timer armed: the new window is all
	 * there is to note (many guaranteed containers under pressure wake
	 * the daemon a few times a window each; one decision serves them) */
	if (c->guard.pressure_since && c->guard_next_ns)
		return;
	if (!c->guard.pressure_since) {
		snprintf(c->guard_cg, sizeof(c->guard_cg), "%s", k->path);
		c->guard_value_ns = (uint64_t)c->d->conf.mem_psi_stall_us * 1000;
		c->guard_threshold_ns = c->guard_value_ns;
		snprintf(c->guard_why, sizeof(c->guard_why),
			 "guaranteed %s stalled on memory %" PRIu32 " us within %" PRIu64
			 " ms (PSI trigger)",
			 k->path, c->d->conf.mem_psi_stall_us, (uint64_t)(k->psi_window_ns / MS));
	}
	run(c, now);
}

/* ---- the daemon's hooks ---- */

void ctr_guard_on_event(struct containers *c, struct container *k, const struct cgp_event *e)
{
	if (!guarded(c, k))
		return;
	/* as for PSI: an onset inside an armed episode changes nothing */
	if (e->type == CGP_EV_ONSET && c->guard.pressure_since && c->guard_next_ns)
		return;
	if (e->type == CGP_EV_ONSET) {
		c->guard_stats.onsets++;
		snprintf(c->guard_cg, sizeof(c->guard_cg), "%s", k->path);
		c->guard_value_ns = e->value;
		c->guard_threshold_ns = e->threshold;
		snprintf(c->guard_why, sizeof(c->guard_why),
			 "guaranteed %s stalled %" PRIu64
			 " us in reclaim in a window (threshold %" PRIu64 " us)",
			 k->path, (uint64_t)e->value / 1000, (uint64_t)e->threshold / 1000);
	}
	run(c, mono_now_ns());
}

void containers__guard_timer(struct containers *c)
{
	uint64_t ticks;

	if (!c || c->guard_fd < 0)
		return;
	if (read(c->guard_fd, &ticks, sizeof(ticks)) < 0 && errno == EAGAIN)
		return;
	c->guard_next_ns = 0;
	run(c, mono_now_ns());
}

int containers__guard_fd(const struct containers *c)
{
	return c ? c->guard_fd : -1;
}

/* Admitted, restarted with, or reconfigured: a guaranteed one's trigger. */
void ctr_guard_admitted(struct containers *c, struct container *k)
{
	if (guarded(c, k))
		psi_watch(c, k);
	else
		psi_drop(c, k);
}

/* The sample tick: triggers of containers that had none (the daemon's epoll
 * comes after the state is read back), and a pressure that ended unseen. */
void ctr_guard_tick(struct containers *c, uint64_t now)
{
	bool was = c->revoke_mem;

	for (struct container *k = c->list; k; k = k->next)
		if (guarded(c, k) && !k->psi && !k->psi_failed)
			psi_watch(c, k);
	revocation(c);
	if (c->revoke_mem && !was && !c->guard.pressure_since) {
		c->guard_stats.revocations++;
		c->guard_cg[0] = 0;
		c->guard_value_ns = c->guard_threshold_ns = 0;
		snprintf(c->guard_why, sizeof(c->guard_why),
			 "revocation: besteffort holds %" PRIu64 " MiB, the slack is %" PRIu64
			 " MiB",
			 c->revoke_be_bytes >> 20, c->revoke_slack_bytes >> 20);
	}
	/* the pressure came or went with the slack, or goes on unarmed */
	if (c->revoke_mem != was || (c->revoke_mem && !c->guard_next_ns)) {
		run(c, now);
		return;
	}
	if (c->guard.pressure_since || c->guard_next_ns)
		return;
	for (struct container *k = c->list; k; k = k->next)
		if (k->guard_high != MEMHIGH_MAX) {
			run(c, now);
			return;
		}
}

void ctr_guard_forget(struct containers *c, struct container *k)
{
	psi_drop(c, k);
	if (c->guard.pressure_since && k->class == CGP_CLASS_GUARANTEED)
		run(c, mono_now_ns());
}

void containers__reap(struct containers *c)
{
	/* the batch's changes to squeezes into the journal, before the next */
	ctr_state_sync(c);
	while (c && c->psi_dead) {
		struct ctr_psi *w = c->psi_dead;

		c->psi_dead = w->next;
		free(w);
	}
}

void ctr_guard_init(struct containers *c)
{
	c->guard_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->guard_fd < 0)
		log_warn("cannot create the memory relief's timer: %m; it acts on events only");
	for (struct container *k = c->list; k; k = k->next)
		k->guard_high = MEMHIGH_MAX;
}

/* Every squeeze given back (a clean stop, the policy off); the triggers closed. */
void ctr_guard_release(struct containers *c, const char *reason)
{
	for (struct container *k = c->list; k; k = k->next) {
		if (k->guard_high != MEMHIGH_MAX && k->kind == CTR_ADOPTED)
			ctr_memory_unsqueeze(c, k, reason);
		if (k->guard_high != MEMHIGH_MAX && managed(k) &&
		    !write_knob(c, k, "memory.high", "max", reason)) {
			k->guard_high = MEMHIGH_MAX;
			k->memhigh.high = MEMHIGH_MAX;
		}
		if (!relief_on(c))
			psi_drop(c, k);
	}
	/* a new start; the counts go on */
	{
		struct memguard_state fresh = { 0 };

		memcpy(fresh.actions, c->guard.actions, sizeof(fresh.actions));
		c->guard = fresh;
	}
	arm(c, 0);
}

void ctr_guard_free(struct containers *c)
{
	for (struct container *k = c->list; k; k = k->next)
		psi_drop(c, k);
	containers__reap(c);
	closep(&c->guard_fd);
}

void ctr_guard_stop(struct containers *c)
{
	ctr_guard_release(c, "clean stop: memory.high back to max");
	ctr_guard_free(c);
}

json_object *ctr_guard_json(struct containers *c)
{
	const struct cgp_conf *cf = &c->d->conf;
	json_object *o = json_object_new_object(), *sq = json_object_new_array();
	json_object *acts = json_object_new_object();
	unsigned watched = 0;

	json_object_object_add(o, "enabled", json_object_new_boolean(relief_on(c)));
	json_object_object_add(o, "adopted", json_object_new_boolean(cf->mem_policy_adopted));
	if (!(c->enforce & CGFS_MEMORY))
		json_object_object_add(o, "note",
				       json_object_new_string(
					       "no memory controller here: nothing to "
					       "squeeze or kill"));
	if (daemon_files_only(c->d))
		json_object_object_add(o, "files_only",
				       json_object_new_string(
					       "the BPF programs are not loaded: pushed by the PSI "
					       "triggers alone, without reclaim onsets"));
	json_object_object_add(o, "kill", json_object_new_boolean(cf->mem_kill));
	json_object_object_add(o, "protected", json_object_new_string(cf->mem_protected));
	json_object_object_add(o, "pressure",
			       json_object_new_boolean(c->guard.pressure_since != 0));
	if (c->guard.pressure_since)
		json_object_object_add(o, "pressure_from", json_object_new_string(c->guard_cg));
	json_object_object_add(o, "last_decision", json_object_new_string(c->guard_last));
	{
		json_object *rv = json_object_new_object();

		json_object_object_add(rv, "over", json_object_new_boolean(c->revoke_mem));
		json_object_object_add(rv, "besteffort_bytes",
				       json_object_new_uint64(c->revoke_be_bytes));
		json_object_object_add(rv, "slack_bytes",
				       json_object_new_uint64(c->revoke_slack_bytes));
		json_object_object_add(o, "revocation", rv);
	}
	for (struct container *k = c->list; k; k = k->next) {
		if (k->psi)
			watched++;
		if (k->guard_high != MEMHIGH_MAX)
			json_object_array_add(sq, json_object_new_string(k->path));
	}
	json_object_object_add(o, "psi_triggers", json_object_new_uint64(watched));
	json_object_object_add(o, "squeezed", sq);
	for (int a = MG_SQUEEZE; a <= MG_RELEASE; a++)
		json_object_object_add(acts, memguard_act_name((enum memguard_act)a),
				       json_object_new_uint64(c->guard.actions[a]));
	json_object_object_add(o, "actions", acts);
	return o;
}
