// SPDX-License-Identifier: Apache-2.0
/* The live page and its JSON endpoint (see page.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "containers.h"
#include "daemon.h"
#include "history.h"
#include "page.h"
#include "proto.h"
#include "util.h"

/* daemon/page.html, embedded by the Makefile ($(OUT)/page_html.c) */
extern const unsigned char page_html[];
extern const size_t page_html_len;

#define PAGE_CONTAINERS 50 /* the newest containers listed; all are counted */

int page_init(struct daemon *d)
{
	d->hist = history__new();
	return d->hist ? 0 : -ENOMEM;
}

void page_free(struct daemon *d)
{
	history__free(d->hist);
	d->hist = NULL;
}

static uint64_t real_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void page_tick(struct daemon *d)
{
	unsigned step = d->conf.sample_interval_ms > 1000 ? d->conf.sample_interval_ms : 1000;

	if (d->hist)
		history__tick(d->hist, d->model, mono_now_ns() / 1000000, real_now_ms(), step);
}

void page_note_event(struct daemon *d, const struct cgp_event *e, const struct cg *c)
{
	struct hist_event he = { 0 };

	if (!d->hist)
		return;
	switch (e->type) {
	case CGP_EV_ONSET:
		he.kind = HEV_ONSET;
		break;
	case CGP_EV_CLEARED:
		he.kind = HEV_CLEARED;
		break;
	case CGP_EV_OOM_KILL:
		he.kind = HEV_OOM_KILL;
		break;
	default:
		return;
	}
	he.time_ms = real_now_ms();
	he.cgroup_id = c ? c->id : e->cgid;
	hist_copy(he.cgroup, sizeof(he.cgroup), c ? cg_display_path(c) : "");
	he.signal = e->signal;
	he.value_ns = e->value;
	he.threshold_ns = e->threshold;
	if (he.kind == HEV_OOM_KILL) {
		char comm[CGP_COMM_LEN + 1];
		_cleanup_free_ char *shown = NULL;

		/* the victim's own choice of bytes */
		memcpy(comm, e->comm, CGP_COMM_LEN);
		comm[CGP_COMM_LEN] = 0;
		cgfs_display_path(comm, &shown);
		hist_copy(he.comm, sizeof(he.comm), shown ? shown : comm);
		he.pid = e->pid;
	}
	history__note(d->hist, &he);
}

void page_note_action(struct daemon *d, const struct act_record *r, const struct ctr_why *why,
		      const struct container *k)
{
	struct hist_event he = { .kind = HEV_ACTION };
	_cleanup_free_ char *shown = NULL;

	if (!d->hist)
		return;
	cgfs_display_path(r->path, &shown);
	he.time_ms = r->time_ns / 1000000;
	he.cgroup_id = r->id;
	hist_copy(he.cgroup, sizeof(he.cgroup), shown ? shown : r->path[0] ? r->path : "/");
	he.container = k ? k->id : 0;
	hist_copy(he.knob, sizeof(he.knob), r->knob);
	hist_copy(he.old_value, sizeof(he.old_value), r->old_value);
	hist_copy(he.new_value, sizeof(he.new_value), r->new_value);
	hist_copy(he.status, sizeof(he.status), act_status_name(r->status));
	hist_copy(he.reason, sizeof(he.reason), r->reason);
	if (why && why->policy) {
		hist_copy(he.policy, sizeof(he.policy), why->policy);
		if (why->rung_from >= 0) {
			hist_copy(he.rung_from, sizeof(he.rung_from),
				  ladder_rung_name((enum ladder_rung)why->rung_from));
			hist_copy(he.rung_to, sizeof(he.rung_to),
				  ladder_rung_name((enum ladder_rung)why->rung_to));
		}
		hist_copy(he.for_cgroup, sizeof(he.for_cgroup), why->for_cgroup);
		he.value_ns = why->value_ns;
		he.threshold_ns = why->threshold_ns;
	}
	history__note(d->hist, &he);
}

/* ---- the overview ---- */

static void add(json_object *o, const char *k, json_object *v)
{
	json_object_object_add(o, k, v);
}

static json_object *u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

static json_object *str(const char *s)
{
	return json_object_new_string(s);
}

/* A figure at 4 significant digits (a chart needs no more, and the JSON
 * stays small); unknown (NaN) is null. */
static json_object *num(double v)
{
	char buf[32];

	if (isnan(v) || isinf(v))
		return NULL;
	snprintf(buf, sizeof(buf), "%.4g", v);
	return json_object_new_double_s(v, buf);
}

/* A name as users see it (valid UTF-8, cgfs_display_path). */
static json_object *shown_json(const char *raw)
{
	_cleanup_free_ char *disp = NULL;

	if (cgfs_display_path(raw, &disp) < 0)
		return NULL;
	return str(disp ? disp : raw);
}

static const char *const psi_names[PSI_RES_MAX] = { "cpu", "memory", "io" };

/* Columns of one cgroup's history: "t" and a series per figure. */
static json_object *track_json(const struct hist_track *t)
{
	json_object *o = json_object_new_object();
	json_object *col[4 + PSI_RES_MAX + 1];
	static const char *const names[] = { "t",      "cpu",	  "cpu_wait",	"reclaim",
					     "iowait", "psi_cpu", "psi_memory", "psi_io" };

	for (unsigned k = 0; k < ARRAY_SIZE(col); k++)
		col[k] = json_object_new_array_ext((int)t->n);
	for (unsigned i = 0; i < t->n; i++) {
		const struct hist_cg_point *p = hist_track_point(t, i);

		json_object_array_add(col[0], u64(p->time_ms));
		json_object_array_add(col[1], num(p->cpu));
		json_object_array_add(col[2], num(p->cpu_wait));
		json_object_array_add(col[3], num(p->reclaim));
		json_object_array_add(col[4], num(p->iowait));
		for (int r = 0; r < PSI_RES_MAX; r++)
			json_object_array_add(col[5 + r], num(p->psi[r]));
	}
	for (unsigned k = 0; k < ARRAY_SIZE(col); k++)
		add(o, names[k], col[k]);
	return o;
}

/* cgpilot's container in the cgroup, if any (its pod or unit is the brief's
 * "identity"). */
static void container_json(struct daemon *d, const struct cg *c, json_object *o)
{
	const struct container *k = d->ctrs ? containers__find_cgroup(d->ctrs, c->id) : NULL;
	json_object *ct;

	if (!k)
		return;
	ct = json_object_new_object();
	add(ct, "id", u64(k->id));
	add(ct, "name", shown_json(k->name));
	add(ct, "kind", str(ctr_kind_name(k->kind)));
	add(ct, "class", str(class_name(k->class)));
	add(o, "container", ct);
}

static json_object *top_json(struct daemon *d)
{
	json_object *a = json_object_new_array();
	uint64_t ids[HIST_TOP];
	unsigned n = history__top(d->hist, ids);

	for (unsigned i = 0; i < n; i++) {
		const struct cg *c = model__find(d->model, ids[i]);
		const struct hist_track *t = history__track(d->hist, ids[i]);
		json_object *o, *psi;

		if (!c)
			continue;
		o = req_cg_brief(d, c);
		add(o, "score", num(history_score(c)));
		container_json(d, c, o);
		psi = json_object_new_object();
		for (int r = 0; r < PSI_RES_MAX; r++)
			add(psi, psi_names[r], t ? num(t->psi_rate[r]) : NULL);
		add(o, "psi_some", psi);
		if (t)
			add(o, "history", track_json(t));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *node_history_json(struct daemon *d, unsigned step_ms)
{
	json_object *o = json_object_new_object();
	unsigned n = history__node_n(d->hist);
	static const char *const names[] = { "t",	    "cpu",	     "cpu_wait",
					     "reclaim",	    "iowait",	     "io_bytes",
					     "cgroups",	    "pressured_cpu", "pressured_memory",
					     "pressured_io" };
	json_object *col[ARRAY_SIZE(names)];

	add(o, "step_ms", json_object_new_int64(step_ms));
	add(o, "tracked", json_object_new_int(history__tracked(d->hist)));
	for (unsigned k = 0; k < ARRAY_SIZE(col); k++)
		col[k] = json_object_new_array_ext((int)n);
	for (unsigned i = 0; i < n; i++) {
		const struct hist_node_point *p = history__node_point(d->hist, i);

		json_object_array_add(col[0], u64(p->time_ms));
		json_object_array_add(col[1], num(p->cpu));
		json_object_array_add(col[2], num(p->cpu_wait));
		json_object_array_add(col[3], num(p->reclaim));
		json_object_array_add(col[4], num(p->iowait));
		json_object_array_add(col[5], num(p->io_bytes));
		json_object_array_add(col[6], u64(p->cgroups));
		for (int s = 0; s < CGP_SIG_MAX; s++)
			json_object_array_add(col[7 + s], u64(p->pressured[s]));
	}
	for (unsigned k = 0; k < ARRAY_SIZE(col); k++)
		add(o, names[k], col[k]);
	return o;
}

static const char *const kind_names[HEV_KIND_MAX] = { "onset", "cleared", "oom_kill", "action" };

static json_object *event_json(const struct hist_event *e)
{
	json_object *o = json_object_new_object();

	add(o, "seq", u64(e->seq));
	add(o, "time_ms", u64(e->time_ms));
	add(o, "kind", str(kind_names[e->kind]));
	add(o, "cgroup", e->cgroup[0] ? str(e->cgroup) : NULL);
	add(o, "id", e->cgroup_id ? u64(e->cgroup_id) : NULL);
	switch (e->kind) {
	case HEV_ONSET:
	case HEV_CLEARED:
		add(o, "signal", str(proto_signal_name(e->signal) ?: "?"));
		add(o, "value_ns", u64(e->value_ns));
		add(o, "threshold_ns", u64(e->threshold_ns));
		break;
	case HEV_OOM_KILL:
		add(o, "pid", u64(e->pid));
		add(o, "comm", str(e->comm));
		break;
	default:
		if (e->container)
			add(o, "container", u64(e->container));
		add(o, "knob", str(e->knob));
		add(o, "old", str(e->old_value));
		add(o, "new", str(e->new_value));
		add(o, "status", str(e->status));
		add(o, "reason", str(e->reason));
		if (!e->policy[0])
			break;
		add(o, "policy", str(e->policy));
		if (e->rung_from[0]) {
			add(o, "rung_before", str(e->rung_from));
			add(o, "rung_after", str(e->rung_to));
		}
		if (e->for_cgroup[0]) {
			add(o, "for", str(e->for_cgroup));
			add(o, "value_ns", u64(e->value_ns));
			add(o, "threshold_ns", u64(e->threshold_ns));
		}
	}
	return o;
}

static json_object *node_json(struct daemon *d)
{
	json_object *o = json_object_new_object();
	unsigned n, alive = 0;
	struct cg *const *all = model__all(d->model, &n);

	for (unsigned i = 0; i < n; i++)
		alive += !all[i]->dead_ns;
	add(o, "cpus", json_object_new_int64(d->node_cpus));
	add(o, "memory_bytes", u64(d->node_memory));
	add(o, "controllers", req_controllers_json(d->controllers));
	add(o, "missing_controllers", req_controllers_json(d->missing_controllers));
	add(o, "allocatable", req_alloc_json(d, false));
	add(o, "reserved", req_alloc_json(d, true));
	/* requested, free, besteffort, slack, pools, exclusive, containers, queued */
	if (d->ctrs)
		containers__node_json(d->ctrs, o);
	add(o, "cgroups", json_object_new_int64(alive));
	return o;
}

json_object *page_overview(struct daemon *d)
{
	json_object *o = json_object_new_object(), *ev, *lim;
	unsigned step = d->conf.sample_interval_ms > 1000 ? d->conf.sample_interval_ms : 1000;

	add(o, "version", str(CGPILOT_VERSION));
	add(o, "time_ms", u64(real_now_ms()));
	add(o, "uptime_s", num((double)(mono_now_ns() - d->start_ns) / 1e9));
	add(o, "mode", str(d->telemetry_only ? "telemetry-only" : "full"));
	add(o, "telemetry", str(daemon_files_only(d) ? "files" : "bpf"));
	add(o, "dry_run", json_object_new_boolean(d->conf.dry_run));
	add(o, "sample_interval_ms", json_object_new_int64(d->conf.sample_interval_ms));
	add(o, "node", node_json(d));
	if (d->ctrs) {
		add(o, "containers", containers__list_json(d->ctrs, PAGE_CONTAINERS));
		add(o, "policies", containers__policies_json(d->ctrs));
	}
	if (d->hist) {
		add(o, "top", top_json(d));
		add(o, "history", node_history_json(d, step));
		ev = json_object_new_array();
		/* newest first: what the page shows on top */
		for (unsigned i = history__events_n(d->hist); i-- > 0;)
			json_object_array_add(ev, event_json(history__event(d->hist, i)));
		add(o, "events", ev);
	}
	lim = json_object_new_object();
	add(lim, "top", json_object_new_int(HIST_TOP));
	add(lim, "tracked", json_object_new_int(HIST_TRACK));
	add(lim, "node_points", json_object_new_int(HIST_NODE_POINTS));
	add(lim, "cgroup_points", json_object_new_int(HIST_CG_POINTS));
	add(lim, "events", json_object_new_int(HIST_EVENTS));
	add(lim, "containers", json_object_new_int(PAGE_CONTAINERS));
	add(o, "limits", lim);
	return o;
}

/* ---- HTTP ---- */

/*
 * The page runs its own inline script and style, those with the nonce of
 * the response, and talks to its own origin only: markup a name smuggled
 * in would neither load nor run (an inline handler needs the nonce too).
 * The nonce placeholders of page.html are replaced in each response.
 */
#define NONCE_PLACEHOLDER "CGPILOT_NONCE_PLACEHOLDER_012345"
#define NONCE_LEN (sizeof(NONCE_PLACEHOLDER) - 1)
#define PAGE_CSP                                                                    \
	"default-src 'none'; script-src 'nonce-%s'; style-src 'nonce-%s'; "         \
	"connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; " \
	"frame-ancestors 'none'"

/* The page with a fresh nonce (NONCE_LEN hex digits, into @nonce). */
static char *page_with_nonce(char nonce[NONCE_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[NONCE_LEN / 2];
	char *body, *at, *end;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return NULL;
	for (size_t i = 0; i < sizeof(rnd); i++) {
		nonce[2 * i] = hex[rnd[i] >> 4];
		nonce[2 * i + 1] = hex[rnd[i] & 15];
	}
	nonce[NONCE_LEN] = 0;
	body = malloc(page_html_len);
	if (!body)
		return NULL;
	memcpy(body, page_html, page_html_len);
	end = body + page_html_len;
	for (at = body; (at = memmem(at, (size_t)(end - at), NONCE_PLACEHOLDER, NONCE_LEN));
	     at += NONCE_LEN)
		memcpy(at, nonce, NONCE_LEN);
	return body;
}

int page_respond(struct daemon *d, const char *url, struct MHD_Response **ret)
{
	struct MHD_Response *resp;
	const char *type;

	if (!strcmp(url, "/")) {
		char nonce[NONCE_LEN + 1], csp[sizeof(PAGE_CSP) + 2 * NONCE_LEN];
		char *body = page_with_nonce(nonce);

		if (!body)
			return -ENOMEM;
		resp = MHD_create_response_from_buffer(page_html_len, body, MHD_RESPMEM_MUST_FREE);
		if (!resp)
			free(body);
		type = "text/html; charset=utf-8";
		snprintf(csp, sizeof(csp), PAGE_CSP, nonce, nonce);
		if (resp)
			MHD_add_response_header(resp, "Content-Security-Policy", csp);
	} else if (!strcmp(url, "/api/v1/overview")) {
		json_object *o = page_overview(d);
		char *body = o ? proto_line(o) : NULL;

		json_object_put(o);
		if (!body)
			return -ENOMEM;
		resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
		if (!resp)
			free(body);
		type = "application/json";
	} else {
		return -ENOENT;
	}
	if (!resp)
		return -ENOMEM;
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	*ret = resp;
	return 0;
}
