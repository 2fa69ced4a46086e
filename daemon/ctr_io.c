// SPDX-License-Identifier: Apache-2.0
/*
 * The I/O loop: when a guaranteed container's block I/O latency passes its
 * target (the BPF I/O onset: a request's issue-to-complete time over the
 * class target adds its excess to the window, [policy.io] target_us), the
 * besteffort containers cgpilot admitted that do I/O get io.max on the
 * device of that onset, halved per hold while the pressure lasts and
 * doubled back after calm until lifted (daemon/policy/iothrottle.h). Pushed
 * by the onset and cleared events; a one-shot timer brings it back when a
 * hold ends; the sample tick keeps each target's I/O rate. A clean stop,
 * or the policy turned off, lifts every cap.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ctr_internal.h"
#include "daemon.h"
#include "log.h"
#include "telemetry.h"
#include "util.h"

#define MS 1000000ULL

/* A guaranteed container whose I/O latency the loop protects: cgpilot's
 * own, and adopted pods where [policy.io] adopted says so (their
 * thresholds are cgpilot's map, nothing is written to them). */
bool ctr_io_shielded(const struct containers *c, const struct container *k)
{
	return c->d->conf.io_policy && k->class == CGP_CLASS_GUARANTEED &&
	       (k->kind != CTR_ADOPTED || c->d->conf.io_policy_adopted) && !k->dry &&
	       k->cgroup_id && k->state != CTR_QUEUED && !k->releasing;
}

/* A besteffort container the loop may cap (or has capped): cgpilot's own,
 * and adopted pods whose pattern hands io.max over, with [policy.io]
 * adopted, until another writer changes it. */
static bool target(const struct containers *c, const struct container *k)
{
	bool adopted_ok = c->d->conf.io_policy_adopted && ctr_handed(k, "io.max") && !k->backed_off;

	return c->d->conf.io_policy && (c->enforce & CGFS_IO) &&
	       (k->kind != CTR_ADOPTED || adopted_ok) && !k->dry && k->cgroup_id &&
	       k->state != CTR_QUEUED && !k->releasing && k->class == CGP_CLASS_BESTEFFORT;
}

static void conf_of(const struct containers *c, struct iothrottle_conf *ic)
{
	const struct cgp_conf *cf = &c->d->conf;

	*ic = (struct iothrottle_conf){
		.hold_ns = cf->io_hold_ms * MS,
		.release_ns = cf->io_release_ms * MS,
		.release_max_ns = cf->io_release_max_ms * MS,
		.floor_bps = cf->io_floor_bps,
		.floor_iops = cf->io_floor_iops,
	};
}

/* The container's cumulative I/O (bytes, requests) as BPF counts it now. */
static bool io_now(struct containers *c, const struct container *k, uint64_t *bytes, uint64_t *ops)
{
	const struct cg *cg = model__find(c->d->model, k->cgroup_id);
	struct cgp_cg_stats st;

	if (!cg || cg->slot < 0 || !c->d->tel ||
	    telemetry__read_slot(c->d->tel, (uint32_t)cg->slot, &st))
		return false;
	*bytes = st.io_bytes[CGP_IO_READ] + st.io_bytes[CGP_IO_WRITE];
	*ops = st.io_ops[CGP_IO_READ] + st.io_ops[CGP_IO_WRITE];
	return true;
}

/*
 * An adopted pod's I/O on disk @dev from its io.stat (hierarchical: its
 * tasks run in container scopes below it, where BPF counts them), as a rate
 * since the last read. False when there is no earlier read to compare with
 * (one is taken now: the caller comes back shortly).
 */
/* The line of disk @dev in @knob of @k (io.stat, io.max) into @buf: 1,
 * 0 when it has none ("" in @buf), -errno when unreadable. */
static int dev_line(struct containers *c, const struct container *k, const char *knob, uint32_t dev,
		    char *buf, size_t len)
{
	char cur[2048], want[24], *l, *save = NULL;
	int r;

	buf[0] = '\0';
	snprintf(want, sizeof(want), "%u:%u ", dev >> 20, dev & 0xfffff);
	r = act_read(&c->act, k->path, knob, cur, sizeof(cur));
	if (r < 0)
		return r;
	for (l = strtok_r(cur, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (!strncmp(l, want, strlen(want))) {
			snprintf(buf, len, "%s", l);
			return 1;
		}
	return 0;
}

static bool io_rate_stat(struct containers *c, struct container *k, uint32_t dev, uint64_t now,
			 uint64_t *bps, uint64_t *iops)
{
	struct io_stat_totals t = { 0 };
	char line[256];
	uint64_t b, o, dt;
	bool fresh;
	int r;

	*bps = *iops = 0;
	r = dev_line(c, k, "io.stat", dev, line, sizeof(line));
	if (r < 0)
		return true; /* unreadable: no I/O seen */
	if (r > 0 && cgfs_parse_io_stat(line, &t))
		t = (struct io_stat_totals){ 0 }; /* not io.stat's form: no I/O seen */
	b = t.rbytes + t.wbytes;
	o = t.rios + t.wios;
	fresh = k->ios_prev_ns && k->ios_dev == dev && now > k->ios_prev_ns &&
		now - k->ios_prev_ns < 5000 * MS && b >= k->ios_prev_bytes && o >= k->ios_prev_ops;
	dt = fresh ? now - k->ios_prev_ns : 0;
	if (fresh && dt >= 20 * MS) {
		*bps = (uint64_t)((double)(b - k->ios_prev_bytes) * 1e9 / (double)dt);
		*iops = (uint64_t)((double)(o - k->ios_prev_ops) * 1e9 / (double)dt);
	}
	if (!fresh || dt >= 20 * MS) {
		k->ios_prev_bytes = b;
		k->ios_prev_ops = o;
		k->ios_prev_ns = now;
		k->ios_dev = dev;
	}
	return fresh;
}

/* Its rate since the last sample tick (a writer that started a moment ago
 * is seen at once), per second. */
static void io_rate(struct containers *c, struct container *k, uint64_t now, uint64_t *bps,
		    uint64_t *iops)
{
	uint64_t b, o, dt;

	*bps = *iops = 0;
	if (!k->io_prev_ns || !io_now(c, k, &b, &o) || now <= k->io_prev_ns)
		return;
	dt = now - k->io_prev_ns;
	if (dt < 20 * MS || b < k->io_prev_bytes || o < k->io_prev_ops) {
		/* too short to tell, or counters that went back (a reset) */
		*bps = k->io_bps;
		*iops = k->io_iops;
		return;
	}
	*bps = (uint64_t)((double)(b - k->io_prev_bytes) * 1e9 / (double)dt);
	*iops = (uint64_t)((double)(o - k->io_prev_ops) * 1e9 / (double)dt);
}

/* An adopted pod's io.max line for @dev as its scheduler left it ("" when
 * it has none), read before cgpilot first caps it. */
static void save_line(struct containers *c, struct container *k, uint32_t dev)
{
	dev_line(c, k, "io.max", dev, k->io_saved, sizeof(k->io_saved));
}

static int write_cap(struct containers *c, struct container *k, uint32_t dev,
		     const struct iothrottle_state *s, const char *reason, bool up)
{
	char val[128];
	struct act_write w = { .knob = "io.max", .value = val };
	struct ctr_why cw = {
		.policy = "io",
		.rung_from = -1,
		.rung_to = -1,
		.value_ns = up ? c->io_value_ns : 0,
		.threshold_ns = up ? c->io_threshold_ns : 0,
		.for_cgroup = up ? c->io_cg : "",
	};
	struct act_result res;
	int r;

	if (s->bps)
		snprintf(val, sizeof(val),
			 "%u:%u rbps=%" PRIu64 " wbps=%" PRIu64 " riops=%" PRIu64 " wiops=%" PRIu64,
			 dev >> 20, dev & 0xfffff, s->bps, s->bps, s->iops, s->iops);
	else if (k->kind == CTR_ADOPTED && k->io_saved[0])
		snprintf(val, sizeof(val), "%s", k->io_saved); /* its scheduler's limits */
	else
		snprintf(val, sizeof(val), "%u:%u rbps=max wbps=max riops=max wiops=max", dev >> 20,
			 dev & 0xfffff);
	c->why = &cw;
	r = ctr_apply(c, k, &w, 1, reason, &res);
	c->why = NULL;
	if (r && r != -EAGAIN)
		log_warn("container %" PRIu64 " (%s): %s", k->id, k->path, res.msg);
	return r;
}

static void arm(struct containers *c, uint64_t at)
{
	struct itimerspec its = { 0 };

	if (c->io_fd < 0 || at == c->io_next_ns)
		return;
	if (at) {
		its.it_value.tv_sec = (time_t)(at / 1000000000ULL);
		its.it_value.tv_nsec = (long)(at % 1000000000ULL);
	}
	if (!timerfd_settime(c->io_fd, TFD_TIMER_ABSTIME, &its, NULL))
		c->io_next_ns = at;
}

/* Every target one decision further; the timer for the next. */
static void run(struct containers *c, uint64_t now)
{
	struct iothrottle_conf ic;
	uint64_t next = 0;

	conf_of(c, &ic);
	for (struct container *k = c->list; k; k = k->next) {
		struct iothrottle_state saved = k->iot;
		enum iothrottle_move m;
		uint64_t bps, iops, at = 0;
		uint32_t dev;
		char reason[320];
		int r;

		if (!target(c, k)) {
			/* an adopted pod capped that is no target now ([policy.io]
			 * adopted off, or another writer changed one of its knobs
			 * and cgpilot leaves it): its scheduler's limits back, once,
			 * unless io.max itself is the other writer's now */
			if (k->kind == CTR_ADOPTED && k->iot.bps)
				ctr_io_unsqueeze(c, k, "io throttle lifted: no longer a target");
			continue;
		}
		/* capped on one device: that one until lifted */
		dev = k->iot.bps ? k->iot_dev : c->io_dev;
		if (!dev || (!k->iot.bps && dev == c->io_bad_dev))
			continue;
		if (k->kind == CTR_ADOPTED) {
			/* no earlier read of its io.stat: one now, the decision in 100 ms */
			if (!io_rate_stat(c, k, dev, now, &bps, &iops)) {
				at = now + 100 * MS;
				if (!next || at < next)
					next = at;
				continue;
			}
		} else {
			io_rate(c, k, now, &bps, &iops);
		}
		m = iothrottle_step(&ic, &k->iot, c->io_pressure, c->io_calm_since_ns, bps, iops,
				    now, &at);
		if (m == IOT_TIGHTEN && !saved.bps && k->kind == CTR_ADOPTED)
			save_line(c, k, dev);
		if (m != IOT_NONE) {
			if (m == IOT_TIGHTEN)
				snprintf(reason, sizeof(reason),
					 "io throttle on %u:%u: %s; it did %" PRIu64
					 " B/s, %" PRIu64 " IO/s",
					 dev >> 20, dev & 0xfffff, c->io_why, bps, iops);
			else
				snprintf(reason, sizeof(reason),
					 "io throttle on %u:%u %s: no guaranteed container above "
					 "its I/O latency target for %" PRIu64 " ms",
					 dev >> 20, dev & 0xfffff,
					 m == IOT_LIFT ? "lifted" : "relaxed",
					 (uint64_t)(c->io_calm_since_ns &&
								    now > c->io_calm_since_ns ?
							    (now - c->io_calm_since_ns) / MS :
							    0));
			r = write_cap(c, k, dev, &k->iot, reason, m == IOT_TIGHTEN);
			if (r == -EAGAIN) {
				/* an adopted pod's io.max changed by another writer:
				 * theirs now, and the pod off the loop (backed off) */
				k->iot = (struct iothrottle_state){ 0 };
				k->iot_dev = 0;
				continue;
			}
			if (r) {
				/* not written: as it was, tried again after the hold;
				 * a disk io.max does not take is not tried again */
				k->iot = saved;
				at = now + ic.hold_ns;
				if ((r == -ENODEV || r == -EINVAL) && !k->iot.bps) {
					c->io_bad_dev = dev;
					log_warn(
						"%u:%u takes no io.max (%s): the I/O loop leaves it",
						dev >> 20, dev & 0xfffff, strerror(-r));
					at = 0;
				}
			} else {
				k->iot_dev = k->iot.bps ? dev : 0;
				c->io_moves[m]++;
				if (m == IOT_TIGHTEN && c->io_reaction_pending) {
					c->io_reaction_pending = false;
					c->io_reaction_ns =
						now > c->io_onset_ns ? now - c->io_onset_ns : 0;
				}
				log_info("container %" PRIu64 " (%s): %s", k->id, k->path, reason);
			}
		}
		if (at && (!next || at < next))
			next = at;
	}
	arm(c, next);
}

/* Is any protected container (or a cgroup that counts for one) in an I/O
 * episode? */
static void recompute(struct containers *c, const struct container *skip, uint64_t now)
{
	bool was = c->io_pressure, p = false;

	for (struct container *g = c->list; g && !p; g = g->next) {
		const struct cg *gc;

		if (g == skip || !ctr_io_shielded(c, g))
			continue;
		gc = model__find(c->d->model, g->cgroup_id);
		p = gc && (gc->active & (1u << CGP_SIG_IO));
		for (unsigned i = 0; i < g->nsub_threshold && !p; i++) {
			gc = model__find(c->d->model, g->sub_threshold[i]);
			p = gc && !gc->dead_ns && (gc->active & (1u << CGP_SIG_IO));
		}
	}
	c->io_pressure = p;
	if (was && !p)
		c->io_calm_since_ns = now;
}

void ctr_io_on_event(struct containers *c, struct container *k, const struct cgp_event *e)
{
	uint64_t now = mono_now_ns();

	if (!ctr_io_shielded(c, k)) {
		if (c->io_pressure) {
			recompute(c, NULL, now);
			run(c, now);
		}
		return;
	}
	if (e->type == CGP_EV_ONSET) {
		if (!c->io_pressure) {
			c->io_onset_ns = e->ts_ns;
			c->io_reaction_pending = true;
		}
		if (e->pid)
			c->io_dev = e->pid;
		snprintf(c->io_cg, sizeof(c->io_cg), "%s", k->path);
		c->io_value_ns = e->value;
		c->io_threshold_ns = e->threshold;
		snprintf(c->io_why, sizeof(c->io_why),
			 "guaranteed %s's requests on %u:%u were %" PRIu64 " us past their %" PRIu64
			 " us latency target in a window",
			 k->path, c->io_dev >> 20, c->io_dev & 0xfffff, (uint64_t)e->value / 1000,
			 (uint64_t)e->threshold / 1000);
	}
	recompute(c, NULL, now);
	run(c, now);
}

void containers__io_timer(struct containers *c)
{
	uint64_t ticks;

	if (!c || c->io_fd < 0)
		return;
	if (read(c->io_fd, &ticks, sizeof(ticks)) < 0 && errno == EAGAIN)
		return;
	c->io_next_ns = 0;
	run(c, mono_now_ns());
}

int containers__io_fd(const struct containers *c)
{
	return c ? c->io_fd : -1;
}

/* The sample tick: each target's I/O so far, for its rate; a capped one
 * whose I/O fell is seen within a tick. */
void ctr_io_tick(struct containers *c, uint64_t now)
{
	bool capped = false;

	for (struct container *k = c->list; k; k = k->next) {
		uint64_t b, o;

		/* any cap brings the loop: a target's to decide, an adopted pod's
		 * that is no target now to be given back */
		capped |= k->iot.bps != 0;
		/* an adopted pod's rate comes from its io.stat, read as decided */
		if (!target(c, k) || k->kind == CTR_ADOPTED || !io_now(c, k, &b, &o))
			continue;
		if (k->io_prev_ns && now > k->io_prev_ns && b >= k->io_prev_bytes &&
		    o >= k->io_prev_ops) {
			double dt = (double)(now - k->io_prev_ns) / 1e9;

			k->io_bps = (uint64_t)((double)(b - k->io_prev_bytes) / dt);
			k->io_iops = (uint64_t)((double)(o - k->io_prev_ops) / dt);
		}
		k->io_prev_bytes = b;
		k->io_prev_ops = o;
		k->io_prev_ns = now;
	}
	if (capped || c->io_pressure)
		run(c, now);
}

void ctr_io_unsqueeze(struct containers *c, struct container *k, const char *reason)
{
	struct iothrottle_state none = { 0 };

	if (!k->iot.bps || !k->iot_dev || k->dry || !k->cgroup_id)
		return;
	/* written, or found changed by another writer (theirs now): off the loop */
	if (!write_cap(c, k, k->iot_dev, &none, reason, false))
		c->io_moves[IOT_LIFT]++;
	k->iot = none;
	k->iot_dev = 0;
}

/* Every cap cgpilot set lifted (a clean stop, the policy off, a release). */
void ctr_io_release(struct containers *c, const char *reason)
{
	for (struct container *k = c->list; k; k = k->next) {
		struct iothrottle_state none = { 0 };

		if (!k->iot.bps || !k->iot_dev || k->dry || !k->cgroup_id)
			continue;
		if (k->kind == CTR_ADOPTED) {
			ctr_io_unsqueeze(c, k, reason);
			continue;
		}
		if (!write_cap(c, k, k->iot_dev, &none, reason, false)) {
			c->io_moves[IOT_LIFT]++;
			k->iot = none;
			k->iot_dev = 0;
		}
	}
	c->io_pressure = false;
	arm(c, 0);
}

void ctr_io_forget(struct containers *c, struct container *k)
{
	/* also one no longer protected (releasing): its episode may be the one */
	if (c->io_pressure) {
		uint64_t now = mono_now_ns();

		recompute(c, k, now);
		if (!c->io_pressure)
			run(c, now);
	}
}

/* At start: caps a daemon that is gone left behind (it was killed while a
 * writer was capped; cgpilot writes io.max of its containers for nothing
 * else) are lifted, so that no container stays capped with nobody watching. */
static void lift_leftovers(struct containers *c)
{
	for (struct container *k = c->list; k; k = k->next) {
		char cur[1024], *line, *save = NULL;

		if (!target(c, k) || act_read(&c->act, k->path, "io.max", cur, sizeof(cur)) <= 0)
			continue;
		for (line = strtok_r(cur, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			struct iothrottle_state none = { 0 };
			unsigned maj, min;

			if (cgfs_parse_devnum_at(line, NULL, &maj, &min))
				continue;
			write_cap(c, k, maj << 20 | min, &none,
				  "io throttle lifted: a cap left by a daemon that stopped unclean",
				  false);
		}
	}
}

void ctr_io_init(struct containers *c)
{
	lift_leftovers(c);
	c->io_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->io_fd < 0)
		log_warn("no timer for the I/O loop (%s): it steps at the sample tick only",
			 strerror(errno));
}

void ctr_io_free(struct containers *c)
{
	closep(&c->io_fd);
}

json_object *ctr_io_json(struct containers *c)
{
	const struct cgp_conf *cf = &c->d->conf;
	json_object *o = json_object_new_object(), *capped = json_object_new_array();
	json_object *acts = json_object_new_object();
	uint64_t now = mono_now_ns();

	json_object_object_add(o, "enabled", json_object_new_boolean(cf->io_policy));
	json_object_object_add(o, "adopted", json_object_new_boolean(cf->io_policy_adopted));
	if (!(c->enforce & CGFS_IO))
		json_object_object_add(o, "note",
				       json_object_new_string(
					       "no io controller here: the latency onset is "
					       "seen, nothing is capped"));
	if (daemon_files_only(c->d) && cf->io_policy)
		json_object_object_add(o, "inactive", json_object_new_string(CTR_INACTIVE_IO));
	json_object_object_add(o, "target_us", json_object_new_uint64(cf->io_target_us));
	json_object_object_add(o, "hold_ms", json_object_new_uint64(cf->io_hold_ms));
	json_object_object_add(o, "release_ms", json_object_new_uint64(cf->io_release_ms));
	json_object_object_add(o, "pressure", json_object_new_boolean(c->io_pressure));
	if (c->io_pressure)
		json_object_object_add(o, "pressure_from", json_object_new_string(c->io_cg));
	else if (c->io_calm_since_ns && now > c->io_calm_since_ns)
		json_object_object_add(o, "calm_ms",
				       json_object_new_uint64((now - c->io_calm_since_ns) / MS));
	for (struct container *k = c->list; k; k = k->next) {
		json_object *e;
		char dev[24];

		if (!k->iot.bps)
			continue;
		e = json_object_new_object();
		snprintf(dev, sizeof(dev), "%u:%u", k->iot_dev >> 20, k->iot_dev & 0xfffff);
		json_object_object_add(e, "cgroup", json_object_new_string(k->path));
		json_object_object_add(e, "device", json_object_new_string(dev));
		json_object_object_add(e, "bps", json_object_new_uint64(k->iot.bps));
		json_object_object_add(e, "iops", json_object_new_uint64(k->iot.iops));
		json_object_array_add(capped, e);
	}
	json_object_object_add(o, "capped", capped);
	json_object_object_add(acts, "tighten", json_object_new_uint64(c->io_moves[IOT_TIGHTEN]));
	json_object_object_add(acts, "relax", json_object_new_uint64(c->io_moves[IOT_RELAX]));
	json_object_object_add(acts, "lift", json_object_new_uint64(c->io_moves[IOT_LIFT]));
	json_object_object_add(o, "actions", acts);
	if (c->io_reaction_ns)
		json_object_object_add(o, "last_reaction_us",
				       json_object_new_uint64(c->io_reaction_ns / 1000));
	return o;
}
