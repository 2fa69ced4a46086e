// SPDX-License-Identifier: Apache-2.0
/*
 * The write path of the containers: every write goes through the actuator
 * (lib/actuate/), which records it; here each record becomes an audit line
 * (written together when the call under way ends), an action event for the
 * subscribers and an entry of the container's history with the control
 * loop's why. Also the manage set the actuator asks about, and the knob
 * values kept to notice another writer of an adopted cgroup.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "ctr_internal.h"
#include "daemon.h"
#include "log.h"
#include "page.h"
#include "proto.h"
#include "util.h"

/* ---- the actuator's record: audit log, action events, history ---- */

static void history_add(struct containers *c, struct container *k, const struct act_record *r)
{
	unsigned cap = k->hist_cap;
	struct ctr_action *a;

	if (!cap)
		return;
	if (!k->history) {
		k->history = calloc(cap, sizeof(*k->history));
		if (!k->history)
			return;
	}
	a = &k->history[k->hist_next];
	k->hist_next = (k->hist_next + 1) % cap;
	if (k->hist_n < cap)
		k->hist_n++;
	a->time_ns = r->time_ns;
	snprintf(a->knob, sizeof(a->knob), "%s", r->knob);
	snprintf(a->old_value, sizeof(a->old_value), "%s", r->old_value);
	snprintf(a->new_value, sizeof(a->new_value), "%s", r->new_value);
	snprintf(a->reason, sizeof(a->reason), "%s", r->reason);
	a->status = r->status;
	a->policy[0] = a->for_cgroup[0] = 0;
	a->rung_from = a->rung_to = -1;
	a->value_ns = a->threshold_ns = 0;
	if (c->why) {
		snprintf(a->policy, sizeof(a->policy), "%s", c->why->policy);
		a->rung_from = (signed char)c->why->rung_from;
		a->rung_to = (signed char)c->why->rung_to;
		a->value_ns = c->why->value_ns;
		a->threshold_ns = c->why->threshold_ns;
		snprintf(a->for_cgroup, sizeof(a->for_cgroup), "%s",
			 c->why->for_cgroup ? c->why->for_cgroup : "");
	}
}

static void audit_failed(struct containers *c)
{
	c->stats.audit_failures++;
	log_warn("cannot append to the audit log in %s (%" PRIu64
		 " failures so far); actions go on",
		 c->d->conf.audit_dir, c->stats.audit_failures);
}

/* The lines of one actuator call in one write (actuator.recorded). */
void ctr_audit_flush(struct containers *c)
{
	if (c->audit && c->naudit_pending &&
	    audit_append_lines(c->audit, (const char *const *)c->audit_pending, c->naudit_pending))
		audit_failed(c);
	while (c->naudit_pending)
		free(c->audit_pending[--c->naudit_pending]);
}

void ctr_on_recorded(void *ud)
{
	ctr_audit_flush(ud);
}

void ctr_on_record(void *ud, const struct act_record *r)
{
	struct containers *c = ud;
	struct container *k = c->current;
	json_object *o;

	switch (r->status) {
	case ACT_DRY_RUN:
		c->stats.actions_dry_run++;
		break;
	case ACT_FAILED:
		c->stats.actions_failed++;
		break;
	case ACT_EXTERNAL:
		c->stats.external_changes++;
		break;
	default: {
		const struct act_knob *kn = act_knob_find(r->knob, NULL);
		unsigned i;

		c->stats.actions_ok++;
		for (i = 0; kn && i < c->stats.nknob; i++)
			if (c->stats.by_knob[i].knob == kn->file)
				break;
		if (kn && i == c->stats.nknob && i < ARRAY_SIZE(c->stats.by_knob))
			c->stats.by_knob[c->stats.nknob++].knob = kn->file;
		if (kn && i < c->stats.nknob)
			c->stats.by_knob[i].n++;
	}
	}
	if (r->status == ACT_FAILED)
		log_warn("%s of %s: writing '%s' failed: %s (%s)", r->knob,
			 r->path[0] ? r->path : "/", r->new_value, strerror(-r->err), r->reason);
	else
		log_debug("%s %s of %s: '%s' -> '%s' (%s)", act_status_name(r->status), r->knob,
			  r->path[0] ? r->path : "/", r->old_value, r->new_value, r->reason);
	if (c->audit) {
		char *line = audit_format(r);

		if (c->naudit_pending == ARRAY_SIZE(c->audit_pending))
			ctr_audit_flush(c);
		if (line)
			c->audit_pending[c->naudit_pending++] = line;
		else
			audit_failed(c);
	}
	if (k && k->cgroup_id != r->id && r->id)
		k = NULL;
	if (!k && r->id)
		k = containers__find_cgroup(c, r->id);
	if (k)
		history_add(c, k, r);
	page_note_action(c->d, r, c->why, k);
	if (!c->d->ctl || !ctl__nclients(c->d->ctl))
		return;
	o = json_object_new_object();
	json_object_object_add(o, "event", json_object_new_string("action"));
	json_object_object_add(o, "time_ns", json_object_new_uint64(r->time_ns));
	json_object_object_add(o, "id", json_object_new_uint64(r->id));
	json_object_object_add(o, "cgroup", json_object_new_string(r->path[0] ? r->path : "/"));
	if (k)
		json_object_object_add(o, "container", json_object_new_uint64(k->id));
	json_object_object_add(o, "knob", json_object_new_string(r->knob));
	json_object_object_add(o, "old", json_object_new_string(r->old_value));
	json_object_object_add(o, "new", json_object_new_string(r->new_value));
	json_object_object_add(o, "status", json_object_new_string(act_status_name(r->status)));
	if (r->status == ACT_FAILED)
		json_object_object_add(o, "error", json_object_new_string(strerror(-r->err)));
	json_object_object_add(o, "reason", json_object_new_string(r->reason));
	ctl__broadcast(c->d->ctl, PROTO_EV_ACTION, o);
	json_object_put(o);
}

/* Below (or at) one of the roots: the manage set, with the adoption patterns. */
bool ctr_in_manage(void *ud, const char *path)
{
	struct containers *c = ud;
	struct adopt_match m;

	if (cgfs_path_below(c->root, path))
		return true;
	for (unsigned i = 0; i < c->nengine; i++)
		if (cgfs_path_below(c->engine_roots[i], path))
			return true;
	return adopt_match(c->patterns, c->npatterns, path, &m);
}

int ctr_apply_to(struct containers *c, struct container *k, const struct act_write *w, unsigned n,
		 const int *fd, const char *reason, struct act_result *res)
{
	struct act_write ws[ACT_WRITES_MAX] = { 0 };
	char rb[ACT_WRITES_MAX][ACT_VALUE_MAX];
	struct act_target t = {
		.path = k->path,
		.id = k->cgroup_id,
		.knobs = k->kind == CTR_ADOPTED ? (k->pattern ? k->pattern->knobs : "") : NULL,
		.fresh = k->fresh,
		.fd = fd,
	};
	int r;

	if (n > ACT_WRITES_MAX)
		return -E2BIG;
	for (unsigned i = 0; i < n; i++) {
		ws[i] = w[i];
		/* what the kernel shows after the write is what another writer's
		 * change is told from: read back where others write too */
		if (k->kind == CTR_ADOPTED) {
			ws[i].readback = rb[i];
			ws[i].readback_len = sizeof(rb[i]);
		}
		snprintf(rb[i], sizeof(rb[i]), "%s", w[i].value);
		/* another writer's change is noticed where we wrote before */
		for (unsigned j = 0; k->kind == CTR_ADOPTED && j < k->nknobs; j++)
			if (k->knobs[j].known && streq(k->knobs[j].knob, w[i].knob))
				ws[i].expect = k->knobs[j].value;
	}
	c->current = k;
	r = act_apply(&c->act, &t, ws, n, reason, res);
	c->current = NULL;
	ctr_state_touch(c, k); /* what an adopted one's squeeze is may have changed */
	if (r == -EAGAIN) {
		k->backed_off = true;
		if (res->failed >= 0 && (unsigned)res->failed < n)
			snprintf(k->external_knob, sizeof(k->external_knob), "%s",
				 w[res->failed].knob);
		log_warn("%s: %s; cgpilot leaves it to the other writer", k->path, res->msg);
		return r;
	}
	for (unsigned i = 0; i < n && !r && !c->act.dry_run; i++) {
		struct ctr_knob *kn = NULL;

		for (unsigned j = 0; j < k->nknobs; j++)
			if (streq(k->knobs[j].knob, w[i].knob))
				kn = &k->knobs[j];
		if (!kn && k->nknobs < CTR_KNOBS_MAX)
			kn = &k->knobs[k->nknobs++];
		if (!kn)
			continue;
		snprintf(kn->knob, sizeof(kn->knob), "%s", w[i].knob);
		kn->known = strlen(rb[i]) < sizeof(kn->value);
		snprintf(kn->value, sizeof(kn->value), "%s", kn->known ? rb[i] : "");
	}
	return r;
}

int ctr_apply(struct containers *c, struct container *k, const struct act_write *w, unsigned n,
	      const char *reason, struct act_result *res)
{
	return ctr_apply_to(c, k, w, n, NULL, reason, res);
}
