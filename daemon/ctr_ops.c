// SPDX-License-Identifier: Apache-2.0
/* The container.* and policy.show control ops: JSON in, decisions, JSON out. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctr_internal.h"
#include "policy/admit_req.h"
#include "daemon.h"
#include "log.h"
#include "proto.h"
#include "util.h"

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

/* A path as users see it (valid UTF-8, cgfs_display_path). */
static json_object *path_json(const char *raw)
{
	_cleanup_free_ char *disp = NULL;

	if (cgfs_display_path(raw, &disp) < 0)
		return NULL;
	return str(disp ? disp : raw[0] ? raw : "/");
}

json_object *ctr_cpuset_json(const struct topo_cpuset *set)
{
	json_object *a = json_object_new_array_ext((int)set->n);

	for (unsigned i = 0; i < set->n; i++)
		json_object_array_add(a, json_object_new_int64(set->cpu[i]));
	return a;
}

static json_object *res_json(uint64_t cpu_mc, uint64_t mem)
{
	json_object *o = json_object_new_object();

	add(o, "cpu_mc", u64(cpu_mc));
	add(o, "memory_bytes", u64(mem));
	return o;
}

static json_object *words_json(const char *text)
{
	json_object *a = json_object_new_array();

	while (*text) {
		size_t n;

		text += strspn(text, " ");
		n = strcspn(text, " ");
		if (!n)
			break;
		json_object_array_add(a, json_object_new_string_len(text, (int)n));
		text += n;
	}
	return a;
}

json_object *ctr_json(const struct containers *c, const struct container *k, bool detail)
{
	json_object *o = json_object_new_object();
	uint64_t now = mono_now_ns();

	add(o, "id", u64(k->id));
	add(o, "name", path_json(k->name));
	add(o, "kind", str(ctr_kind_name(k->kind)));
	add(o, "state", str(ctr_state_name(k->state)));
	add(o, "class", str(class_name(k->class)));
	add(o, "tenant", str(k->tenant));
	add(o, "priority", json_object_new_int(k->spec.priority));
	add(o, "cgroup", k->path ? path_json(k->path) : NULL);
	add(o, "cgroup_id", k->cgroup_id ? u64(k->cgroup_id) : NULL);
	add(o, "requests", res_json(k->spec.cpu_request_mc, k->spec.mem_request));
	add(o, "limits", res_json(k->spec.cpu_limit_mc, k->spec.mem_limit));
	add(o, "io_weight", json_object_new_int64(k->spec.io_weight));
	add(o, "exclusive", json_object_new_boolean(k->exclusive != 0));
	add(o, "cpus", k->exclusive ? ctr_cpuset_json(&k->cpus) : str("shared"));
	add(o, "mems", ctr_cpuset_json(&k->mems));
	if (k->pinned.n)
		add(o, "pinned", ctr_cpuset_json(&k->pinned));
	add(o, "unenforced", words_json(k->unenforced));
	if (k->degraded[0]) {
		json_object *w = json_object_new_object();

		add(o, "degraded", str(k->degraded));
		add(w, "class", str(class_name(k->want_class)));
		add(w, "requests", res_json(k->want_cpu_request_mc, k->want_mem_request));
		add(o, "asked", w);
	}
	if (k->pid)
		add(o, "pid", json_object_new_int(k->pid));
	if (k->admitted_ns && now > k->admitted_ns)
		add(o, "age_s",
		    json_object_new_double(
			    (double)(now - (k->started_ns ? k->started_ns : k->admitted_ns)) /
			    1e9));
	if (k->command[0])
		add(o, "command", str(k->command));
	if (k->pattern) {
		add(o, "pattern", str(k->pattern->name));
		add(o, "engine", str(k->pattern->engine));
		add(o, "knobs", words_json(k->pattern->knobs));
	}
	if (k->pod_uid[0])
		add(o, "pod_uid", str(k->pod_uid));
	if (k->backed_off) {
		add(o, "backed_off", json_object_new_boolean(true));
		if (k->external_knob[0])
			add(o, "external_knob", str(k->external_knob));
	}
	if (k->dry)
		add(o, "dry_run", json_object_new_boolean(true));
	if (k->releasing)
		add(o, "releasing", json_object_new_boolean(true));
	if (k->state == CTR_ADMITTED && k->deadline_ns > now)
		add(o, "start_deadline_s",
		    json_object_new_double((double)(k->deadline_ns - now) / 1e9));
	if (!detail)
		return o;
	{
		json_object *kn = json_object_new_object(), *h = json_object_new_array();

		for (unsigned i = 0; i < k->nknobs; i++)
			add(kn, k->knobs[i].knob, str(k->knobs[i].value));
		add(o, "written", kn);
		for (unsigned i = 0; i < k->hist_n; i++) {
			const struct ctr_action *a = ctr_history_at(k, i);
			json_object *e = json_object_new_object();

			add(e, "time_ns", u64(a->time_ns));
			add(e, "knob", str(a->knob));
			add(e, "old", str(a->old_value));
			add(e, "new", str(a->new_value));
			add(e, "status", str(act_status_name(a->status)));
			add(e, "reason", str(a->reason));
			json_object_array_add(h, e);
		}
		add(o, "history", h);
	}
	return o;
}

static json_object *ok(void)
{
	json_object *o = json_object_new_object();

	add(o, "ok", json_object_new_boolean(true));
	return o;
}

/* ---- arguments ---- */

/* The spec fields of admit and update (daemon/policy/admit_req.c). */
static int parse_spec(struct ctl_client *cl, json_object *req, struct res_spec *s, bool *replied)
{
	char why[256];

	if (admit_spec_parse(req, s, why, sizeof(why)) == ADMIT_REQ_OK)
		return 0;
	*replied = true;
	return ctl_client__reply_error(cl, "%s", why);
}

/* Copy @src into @dst, cut at a character boundary (UTF-8 stays valid). */
static void utf8_copy(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	while (src[n]) {
		size_t l = cgfs_utf8_seq_len((const unsigned char *)src + n);

		if (!l || n + l >= size)
			break;
		n += l;
	}
	memcpy(dst, src, n);
	dst[n] = 0;
}

static int refuse(struct containers *c, struct ctl_client *cl, enum ctr_refusal r, const char *why)
{
	json_object *o = json_object_new_object();

	c->stats.refused[r]++;
	add(o, "error", str(why));
	add(o, "refused", str(ctr_refusal_name(r)));
	log_info("admission refused (%s): %s", ctr_refusal_name(r), why);
	return ctl_client__reply(cl, o);
}

int containers__op_admit(struct containers *c, struct ctl_client *cl, json_object *req)
{
	_cleanup_free_ char *norm = NULL;
	char why[512];
	struct admit_req ar;
	struct res_spec spec;
	struct topo_cpuset pinned;
	const char *name, *tenant;
	unsigned excl;
	enum cgp_class cls;
	enum ctr_refusal rr;
	enum admit_req_error e;
	bool wait, degrade, runtime;
	struct container *k;
	int r;

	/* every argument's type and form (daemon/policy/admit_req.c) */
	e = admit_req_parse(req, &ar, why, sizeof(why));
	if (e) {
		admit_req_free(&ar);
		if (e == ADMIT_REQ_TYPE)
			return ctl_client__reply_error(cl, "%s", why);
		return refuse(c, cl, REFUSE_INVALID, why);
	}
	spec = ar.spec;
	pinned = ar.pinned; /* ours now */
	ar.pinned = (struct topo_cpuset){ 0 };
	norm = TAKE_PTR(ar.norm);
	name = ar.name;
	tenant = ar.tenant;
	cls = ar.class;
	wait = ar.wait;
	degrade = ar.degrade;
	runtime = ar.kind == ADMIT_RUNTIME;
	admit_req_free(&ar);
	if (!spec.priority)
		spec.priority = c->classes[cls].priority;
	if (class_check(cls, c->classes, &spec, why, sizeof(why))) {
		topo_cpuset_free(&pinned);
		return refuse(c, cl, REFUSE_INVALID, why);
	}
	if (runtime) {
		/* a full path under the mount: the part below it */
		const char *below = cgfs_below_mount(c->d->cgroup_root, norm);
		bool inside = false;

		if (below)
			memmove(norm, below, strlen(below) + 1);
		if (!norm[0]) {
			topo_cpuset_free(&pinned);
			snprintf(why, sizeof(why), "path '%.200s': the root is not a container",
				 ar.path);
			return refuse(c, cl, REFUSE_INVALID, why);
		}
		for (unsigned i = 0; i < c->nengine && !inside; i++)
			inside = cgfs_path_strictly_below(c->engine_roots[i], norm);
		if (!inside || below_own(c, norm)) {
			topo_cpuset_free(&pinned);
			snprintf(why, sizeof(why),
				 "path '%.200s' is not below an engine root ([containers] "
				 "engine_roots: %.200s)",
				 norm, c->d->conf.engine_roots);
			return refuse(c, cl, REFUSE_INVALID, why);
		}
		/* not inside another container: its books and knobs are its own */
		for (char *s = strchr(norm, '/'); s; s = strchr(s + 1, '/')) {
			struct container *up;

			*s = 0;
			up = ctr_find_path(c, norm);
			*s = '/';
			if (up) {
				topo_cpuset_free(&pinned);
				snprintf(why, sizeof(why),
					 "path '%.200s' is inside container %" PRIu64
					 " (%.100s): containers do not nest",
					 norm, up->id, up->path);
				return refuse(c, cl, REFUSE_INVALID, why);
			}
		}
	}
	if (c->n - c->nadopted >= c->d->conf.max_containers) {
		snprintf(why, sizeof(why), "max_containers (%" PRIu32 ") reached",
			 c->d->conf.max_containers);
		topo_cpuset_free(&pinned);
		return refuse(c, cl, REFUSE_LIMIT, why);
	}
	/* the engine's CPUs are its own: reserved, so never best-effort */
	if (pinned.n && cls == CGP_CLASS_BESTEFFORT)
		cls = CGP_CLASS_BURSTABLE;
	excl = pinned.n ? pinned.n : ctr_exclusive_size(c, cls, &spec);
	r = ctr_check_enforceable(c, cls, &spec, excl, why, sizeof(why));
	if (r) {
		topo_cpuset_free(&pinned);
		return refuse(c, cl, REFUSE_CONTROLLER, why);
	}
	k = ctr_alloc(c);
	if (!k) {
		topo_cpuset_free(&pinned);
		return -ENOMEM;
	}
	k->pinned = pinned;
	k->kind = runtime ? CTR_RUNTIME : CTR_LAUNCHED;
	k->class = cls;
	k->spec = spec;
	k->exclusive = excl;
	snprintf(k->tenant, sizeof(k->tenant), "%s", tenant);
	if (name)
		snprintf(k->name, sizeof(k->name), "%s", name);
	else if (k->kind == CTR_RUNTIME)
		utf8_copy(k->name, sizeof(k->name), strrchr(norm, '/') + 1);
	else
		snprintf(k->name, sizeof(k->name), "c%" PRIu64, k->id);
	if (k->kind == CTR_RUNTIME)
		k->path = TAKE_PTR(norm);
	else if (asprintf(&k->path, "%s/%s/%s", c->root, class_name(cls), k->name) < 0)
		k->path = NULL;
	if (!k->path) {
		ctr_free_one(k);
		return -ENOMEM;
	}
	if (ctr_find_path(c, k->path)) {
		snprintf(why, sizeof(why), "a container at %s exists already", k->path);
		ctr_free_one(k);
		return refuse(c, cl, REFUSE_INVALID, why);
	}
	k->queued_ns = mono_now_ns();
	ctr_link(c, k);
	r = ctr_admit_now(c, k, why, sizeof(why), &rr);
	if (r && degrade && r != -ENOMEM &&
	    (rr == REFUSE_CPU || rr == REFUSE_MEMORY || rr == REFUSE_EXCLUSIVE ||
	     rr == REFUSE_SLACK)) {
		char refused[sizeof(why)];

		snprintf(refused, sizeof(refused), "%s", why);
		r = ctr_admit_degraded(c, k, refused, why, sizeof(why), &rr);
	}
	if (!r) {
		json_object *o = ok();

		add(o, "container", ctr_json(c, k, false));
		return ctl_client__reply(cl, o);
	}
	if (wait && (r == -ENOSPC) && c->drf.n < c->d->conf.max_queued) {
		struct drf_entry e = {
			.id = k->id, .class = cls, .spec = spec, .enqueued_ns = k->queued_ns
		};
		json_object *o;

		snprintf(e.tenant, sizeof(e.tenant), "%s", tenant);
		if (drf_enqueue(&c->drf, &e) == 0) {
			k->waiter = cl;
			c->stats.queued++;
			o = ok();
			add(o, "queued", json_object_new_boolean(true));
			add(o, "reason", str(why));
			add(o, "container", ctr_json(c, k, false));
			log_info("container %" PRIu64 " queued: %s", k->id, why);
			return ctl_client__reply(cl, o);
		}
	}
	ctr_unlink(c, k);
	ctr_free_one(k);
	if (r == -ENOMEM)
		return r;
	return refuse(c, cl, rr, why);
}

/* The container an op names: "id". */
static struct container *arg_container(struct containers *c, struct ctl_client *cl,
				       json_object *req)
{
	const char *msg = NULL;
	uint64_t id = 0;
	struct container *k;

	if (proto_get_u64(req, "id", true, &id, &msg) < 0) {
		ctl_client__reply_error(cl, "\"id\": %s (the container's id)", msg);
		return NULL;
	}
	k = containers__find(c, id);
	if (!k)
		ctl_client__reply_error(cl, "no container with id %" PRIu64, id);
	return k;
}

int containers__op_started(struct containers *c, struct ctl_client *cl, json_object *req)
{
	const char *cmd = "", *msg = NULL;
	struct container *k = arg_container(c, cl, req);
	json_object *hv;
	bool hold = false;
	uint64_t pid = 0;

	if (!k)
		return 0;
	if (proto_get_u64(req, "pid", true, &pid, &msg) < 0 || !pid || pid > INT32_MAX)
		return ctl_client__reply_error(cl, "\"pid\": %s", msg ? msg : "not a pid");
	if (proto_get_string(req, "command", false, &cmd, &msg) < 0)
		return ctl_client__reply_error(cl, "\"command\": %s", msg);
	if (json_object_object_get_ex(req, "hold", &hv) &&
	    !json_object_is_type(hv, json_type_null)) {
		if (!json_object_is_type(hv, json_type_boolean))
			return ctl_client__reply_error(cl, "\"hold\": must be true or false");
		hold = json_object_get_boolean(hv);
	}
	if (hold && k->kind != CTR_LAUNCHED)
		return ctl_client__reply_error(cl, "\"hold\": only a launched container is held "
						   "by its launcher's connection");
	if (k->state == CTR_QUEUED)
		return ctl_client__reply_error(cl, "container %" PRIu64 " is still queued", k->id);
	k->pid = (pid_t)pid;
	utf8_copy(k->command, sizeof(k->command), cmd);
	if (hold) {
		if (!k->owner)
			c->owned++;
		k->owner = cl;
	}
	if (k->state == CTR_ADMITTED) {
		k->state = CTR_RUNNING;
		k->started_ns = mono_now_ns();
	}
	ctr_state_put(c, k);
	return ctl_client__reply(cl, ok());
}

json_object *containers__list_json(struct containers *c, unsigned max)
{
	json_object *a = json_object_new_array();

	/* the newest @max, oldest first: the list is newest first */
	for (struct container *k = c->list; k && max; k = k->next, max--)
		json_object_array_add(a, ctr_json(c, k, false));
	{
		size_t n = json_object_array_length(a);

		for (size_t i = 0; i < n / 2; i++) {
			json_object *x = json_object_get(json_object_array_get_idx(a, i));
			json_object *y = json_object_get(json_object_array_get_idx(a, n - 1 - i));

			json_object_array_put_idx(a, i, y);
			json_object_array_put_idx(a, n - 1 - i, x);
		}
	}
	return a;
}

int containers__op_list(struct containers *c, struct ctl_client *cl, json_object *req)
{
	json_object *o = ok();

	add(o, "containers", containers__list_json(c, UINT_MAX));
	(void)req;
	return ctl_client__reply(cl, o);
}

int containers__op_show(struct containers *c, struct ctl_client *cl, json_object *req)
{
	struct container *k = arg_container(c, cl, req);
	json_object *o;

	if (!k)
		return 0;
	o = ok();
	add(o, "container", ctr_json(c, k, true));
	return ctl_client__reply(cl, o);
}

/* update's "cpus": the engine's new CPUs for a runtime container, in *pin
 * (left empty when unchanged). */
static int parse_pinned(struct ctl_client *cl, json_object *req, const struct container *k,
			struct topo_cpuset *pin, bool *replied)
{
	const char *cpus = NULL, *msg = NULL;
	bool same;

	*replied = false;
	if (proto_get_string(req, "cpus", false, &cpus, &msg) < 0) {
		*replied = true;
		return ctl_client__reply_error(cl, "\"cpus\": %s", msg);
	}
	if (!cpus)
		return 0;
	if (k->kind != CTR_RUNTIME || (!k->pinned.n && k->exclusive)) {
		*replied = true;
		return ctl_client__reply_error(cl,
					       "\"cpus\": container %" PRIu64 "'s CPUs are "
					       "cgpilot's placement, not an engine's",
					       k->id);
	}
	if (topo_parse_cpulist(cpus, pin) || !pin->n) {
		topo_cpuset_free(pin);
		*replied = true;
		return ctl_client__reply_error(cl, "\"cpus\" '%.100s': not a CPU list", cpus);
	}
	same = pin->n == k->pinned.n && !memcmp(pin->cpu, k->pinned.cpu, pin->n * sizeof(unsigned));
	if (same)
		topo_cpuset_free(pin);
	return 0;
}

/* The engine's CPUs of @k become @pin (moved in): the old ones back to the
 * pool first, the new taken; on failure the old are taken again. */
static int repin(struct containers *c, struct container *k, struct topo_cpuset *pin, unsigned excl,
		 char *why, size_t whylen)
{
	struct topo_cpuset old = { 0 };
	unsigned old_excl = k->exclusive;
	int r;

	if (ctr_cpuset_copy(&old, k->exclusive ? &k->cpus : &k->pinned)) {
		topo_cpuset_free(pin);
		return -ENOMEM;
	}
	if (k->exclusive)
		ctr_unplace_exclusive(c, k, "the engine's CPUs changed (container.update)");
	topo_cpuset_free(&k->pinned);
	k->pinned = *pin;
	*pin = (struct topo_cpuset){ 0 };
	k->exclusive = excl;
	r = ctr_place_exclusive(c, k, why, whylen);
	if (!r) {
		topo_cpuset_free(&old);
		return 0;
	}
	/* as it was */
	topo_cpuset_free(&k->pinned);
	k->pinned = old;
	k->exclusive = old_excl;
	if (old_excl && ctr_place_exclusive(c, k, why, whylen))
		log_warn("container %" PRIu64 ": its CPUs could not be taken back", k->id);
	return r;
}

int containers__op_update(struct containers *c, struct ctl_client *cl, json_object *req)
{
	struct container *k = arg_container(c, cl, req);
	struct topo_cpuset pin = { 0 }, old_pin = { 0 };
	unsigned excl, old_excl = 0;
	bool repinned = false;
	struct res_spec spec;
	struct act_result res;
	char why[512], reason[160], unenf[128];
	bool replied = false;
	enum admit_verdict v;
	int r;

	if (!k)
		return 0;
	if (k->state == CTR_QUEUED)
		return ctl_client__reply_error(cl,
					       "container %" PRIu64 " is queued: cancel it and "
					       "admit it again",
					       k->id);
	if (ctr_state_check(c, why, sizeof(why)))
		return ctl_client__reply_error(cl, "%s", why);
	if (k->kind == CTR_ADOPTED)
		return ctl_client__reply_error(cl,
					       "container %" PRIu64 " is adopted: its "
					       "requests are %s's to change",
					       k->id, k->pattern ? k->pattern->engine : "another");
	spec = k->spec;
	if (k->degraded[0]) {
		/* what it asked for is what an update changes */
		spec.cpu_request_mc = k->want_cpu_request_mc;
		spec.mem_request = k->want_mem_request;
	}
	r = parse_spec(cl, req, &spec, &replied);
	if (replied)
		return r;
	r = parse_pinned(cl, req, k, &pin, &replied);
	if (replied)
		return r;
	if (class_check(k->degraded[0] ? k->want_class : k->class, c->classes, &spec, why,
			sizeof(why))) {
		topo_cpuset_free(&pin);
		return ctl_client__reply_error(cl, "%s", why);
	}
	if (k->degraded[0]) {
		/* still in the shared pool without reservations: the new ask is
		 * kept for when it is placed as asked (the tick tries), the
		 * limits hold now */
		k->want_cpu_request_mc = spec.cpu_request_mc;
		k->want_mem_request = spec.mem_request;
		spec.cpu_request_mc = 0;
		spec.mem_request = 0;
		if (pin.n) {
			topo_cpuset_free(&k->pinned);
			k->pinned = pin;
			pin = (struct topo_cpuset){ 0 };
		}
		excl = 0;
	} else {
		excl = pin.n	   ? pin.n :
		       k->pinned.n ? k->pinned.n :
				     ctr_exclusive_size(c, k->class, &spec);
	}
	if (!pin.n && excl != k->exclusive)
		return ctl_client__reply_error(cl,
					       "container %" PRIu64 " would change its "
					       "exclusive CPUs (%u now): release it and admit "
					       "it again",
					       k->id, k->exclusive);
	r = ctr_check_enforceable(c, k->class, &spec, excl, why, sizeof(why));
	if (r) {
		topo_cpuset_free(&pin);
		return ctl_client__reply_error(cl, "%s", why);
	}
	admit_unbook(&c->books, k->class, &k->spec, k->exclusive);
	v = admit_decide(&c->books, k->class, &spec, excl, why, sizeof(why));
	if (v != ADMIT_FITS) {
		admit_book(&c->books, k->class, &k->spec, k->exclusive);
		topo_cpuset_free(&pin);
		return ctl_client__reply_error(cl, "update refused: %s", why);
	}
	if (pin.n) {
		old_excl = k->exclusive;
		if (ctr_cpuset_copy(&old_pin, &k->pinned) ||
		    repin(c, k, &pin, excl, why, sizeof(why))) {
			topo_cpuset_free(&pin);
			topo_cpuset_free(&old_pin);
			admit_book(&c->books, k->class, &k->spec, k->exclusive);
			return ctl_client__reply_error(cl, "update refused: %s", why);
		}
		repinned = true;
	}
	snprintf(reason, sizeof(reason), "container.update of %" PRIu64 " by uid %u", k->id,
		 (unsigned)ctl_client__uid(cl));
	{
		struct res_spec old = k->spec;
		struct ctr_plan p;

		k->spec = spec;
		r = ctr_plan_knobs(c, k, &p, unenf, sizeof(unenf));
		if (r)
			snprintf(res.msg, sizeof(res.msg), "its cpuset is empty or too long");
		else
			r = k->dry || !p.n ? 0 : ctr_apply(c, k, p.w, p.n, reason, &res);
		if (r) {
			k->spec = old;
			/* the engine's old CPUs again: nothing of the update stays */
			if (repinned && repin(c, k, &old_pin, old_excl, why, sizeof(why)))
				log_warn("container %" PRIu64 ": its old CPUs not taken back: %s",
					 k->id, why);
			topo_cpuset_free(&old_pin);
			admit_book(&c->books, k->class, &k->spec, k->exclusive);
			return ctl_client__reply_error(cl, "update of %s failed: %s", k->path,
						       res.msg);
		}
		topo_cpuset_free(&old_pin);
		snprintf(k->unenforced, sizeof(k->unenforced), "%s", unenf);
		{
			struct res_vec o = { old.cpu_request_mc, old.mem_request };
			struct res_vec n = { spec.cpu_request_mc, spec.mem_request };

			drf_refund(&c->drf, k->tenant, &o);
			drf_charge(&c->drf, k->tenant, &n);
		}
	}
	admit_book(&c->books, k->class, &k->spec, k->exclusive);
	ctr_state_put(c, k);
	/* the ancestors' protection with the new request (or without the old) */
	ctr_protect(c, k->path);
	{
		json_object *o = ok();

		add(o, "container", ctr_json(c, k, false));
		return ctl_client__reply(cl, o);
	}
}

int containers__op_kill(struct containers *c, struct ctl_client *cl, json_object *req)
{
	struct container *k = arg_container(c, cl, req);
	const char *msg = NULL;
	char reason[160];
	uint64_t sig = SIGKILL;
	int r;

	if (!k)
		return 0;
	if (proto_get_u64(req, "signal", false, &sig, &msg) < 0 || !sig || sig >= 65)
		return ctl_client__reply_error(cl, "\"signal\": %s",
					       msg ? msg : "a signal number, 1..64");
	if (k->state == CTR_QUEUED || !k->cgroup_id)
		return ctl_client__reply_error(cl, "container %" PRIu64 " has no cgroup yet",
					       k->id);
	/* another scheduler's container: only if its pattern hands over killing */
	if (k->kind == CTR_ADOPTED &&
	    !(k->pattern && adopt_knob_allowed(k->pattern, "cgroup.kill")))
		return ctl_client__reply_error(cl,
					       "container %" PRIu64 " is adopted (%s) and its "
					       "pattern does not hand cgroup.kill to cgpilot",
					       k->id, k->pattern ? k->pattern->name : "?");
	snprintf(reason, sizeof(reason),
		 "container.kill of %" PRIu64 " (signal %" PRIu64 ") by uid %u", k->id, sig,
		 (unsigned)ctl_client__uid(cl));
	if (sig == SIGKILL) {
		struct act_write w = { .knob = "cgroup.kill", .value = "1" };
		struct act_result res;

		r = ctr_apply(c, k, &w, 1, reason, &res);
		if (r)
			return ctl_client__reply_error(cl, "%s", res.msg);
		return ctl_client__reply(cl, ok());
	}
	r = ctr_signal(c, k, (int)sig, reason);
	if (r < 0)
		return ctl_client__reply_error(cl, "cannot signal the processes of %s: %s", k->path,
					       strerror(-r));
	{
		json_object *o = ok();

		add(o, "signalled", json_object_new_int(r));
		return ctl_client__reply(cl, o);
	}
}

int containers__op_freeze(struct containers *c, struct ctl_client *cl, json_object *req)
{
	struct container *k = arg_container(c, cl, req);
	struct act_write w = { .knob = "cgroup.freeze" };
	struct act_result res;
	const char *msg = NULL;
	char reason[160];
	bool frozen = true;
	int r;

	if (!k)
		return 0;
	if (proto_get_bool(req, "frozen", false, &frozen, &msg) < 0)
		return ctl_client__reply_error(cl, "\"frozen\": %s", msg);
	if (k->state == CTR_QUEUED || !k->cgroup_id)
		return ctl_client__reply_error(cl, "container %" PRIu64 " has no cgroup yet",
					       k->id);
	w.value = frozen ? "1" : "0";
	snprintf(reason, sizeof(reason), "container.freeze of %" PRIu64 " (%s) by uid %u", k->id,
		 frozen ? "freeze" : "thaw", (unsigned)ctl_client__uid(cl));
	/* an adopted container only where its pattern hands cgroup.freeze over */
	r = ctr_apply(c, k, &w, 1, reason, &res);
	if (r)
		return ctl_client__reply_error(cl, "%s", res.msg);
	return ctl_client__reply(cl, ok());
}

int containers__op_release(struct containers *c, struct ctl_client *cl, json_object *req)
{
	struct container *k = arg_container(c, cl, req);
	const char *msg = NULL;
	char reason[160];
	bool kill = false;
	uint64_t id;
	int r;

	if (!k)
		return 0;
	if (proto_get_bool(req, "kill", false, &kill, &msg) < 0)
		return ctl_client__reply_error(cl, "\"kill\": %s", msg);
	id = k->id;
	snprintf(reason, sizeof(reason), "container.release of %" PRIu64 " by uid %u", id,
		 (unsigned)ctl_client__uid(cl));
	r = ctr_release(c, k, reason, kill);
	if (r == -EINPROGRESS) {
		json_object *o = ok();

		add(o, "releasing", json_object_new_boolean(true));
		return ctl_client__reply(cl, o);
	}
	if (r == -EBUSY)
		return ctl_client__reply_error(cl,
					       "container %" PRIu64 " still has processes: stop "
					       "them, or release with \"kill\": true",
					       id);
	if (r)
		return ctl_client__reply_error(cl, "cannot release container %" PRIu64 ": %s", id,
					       strerror(-r));
	ctr_serve_queue(c, mono_now_ns());
	return ctl_client__reply(cl, ok());
}

int containers__op_cancel(struct containers *c, struct ctl_client *cl, json_object *req)
{
	struct container *k = arg_container(c, cl, req);

	if (!k)
		return 0;
	if (k->state != CTR_QUEUED)
		return ctl_client__reply_error(cl,
					       "container %" PRIu64 " is not queued (%s): "
					       "release it instead",
					       k->id, ctr_state_name(k->state));
	c->stats.cancelled++;
	ctr_release(c, k, "cancelled (container.cancel)", false);
	return ctl_client__reply(cl, ok());
}

int containers__op_policy_show(struct containers *c, struct ctl_client *cl, json_object *req)
{
	json_object *o = ok(), *classes = json_object_new_object(), *pats = json_object_new_array();
	json_object *roots = json_object_new_array(), *tenants = json_object_new_array();
	char buf[32];

	for (int i = 0; i < CGP_CLASS_MAX; i++) {
		json_object *e = json_object_new_object();

		add(e, "io_weight", json_object_new_int64(c->classes[i].io_weight));
		add(e, "priority", json_object_new_int(c->classes[i].priority));
		add(classes, class_name(i), e);
	}
	for (unsigned i = 0; i < c->npatterns; i++) {
		json_object *e = json_object_new_object();

		add(e, "name", str(c->patterns[i].name));
		add(e, "engine", str(c->patterns[i].engine));
		add(e, "path", str(c->patterns[i].path));
		add(e, "class", str(class_name(c->patterns[i].class)));
		add(e, "knobs", words_json(c->patterns[i].knobs));
		json_object_array_add(pats, e);
	}
	for (unsigned i = 0; i < c->nengine; i++)
		json_object_array_add(roots, str(c->engine_roots[i]));
	for (unsigned i = 0; i < c->drf.nt; i++) {
		json_object *e = json_object_new_object();

		add(e, "name", str(c->drf.t[i].name));
		add(e, "weight", json_object_new_double(c->drf.t[i].weight));
		add(e, "allocated",
		    res_json(c->drf.t[i].allocated.cpu_mc, c->drf.t[i].allocated.mem));
		add(e, "dominant_share",
		    json_object_new_double(drf_share(&c->drf, c->drf.t[i].name, &c->books.alloc)));
		json_object_array_add(tenants, e);
	}
	add(o, "dry_run", json_object_new_boolean(c->act.dry_run));
	add(o, "container_root", str(c->root));
	add(o, "engine_roots", roots);
	add(o, "classes", classes);
	add(o, "adoption", pats);
	add(o, "tenants", tenants);
	cgfs_controllers_str(c->enforce, buf, sizeof(buf));
	add(o, "enforceable", words_json(buf));
	add(o, "start_deadline_s", json_object_new_int64(c->d->conf.start_deadline_s));
	add(o, "slack_margin_pct", json_object_new_int64(c->slack_conf.margin_pct));
	add(o, "slack_half_life_s",
	    json_object_new_double((double)c->slack_conf.half_life_ns / 1e9));
	add(o, "audit_log", c->audit ? str(c->d->conf.audit_dir) : NULL);
	add(o, "policies", ctr_control_json(c));
	(void)req;
	return ctl_client__reply(cl, o);
}

json_object *containers__policies_json(struct containers *c)
{
	return ctr_control_json(c);
}

const char *containers__state_error(const struct containers *c)
{
	return c && c->state_error[0] ? c->state_error : NULL;
}

void containers__node_json(struct containers *c, json_object *o)
{
	const struct admit_books *b = &c->books;
	json_object *pools = json_object_new_array(), *excl = json_object_new_array();
	struct topo_cpuset shared = { 0 };
	char buf[32];
	uint64_t free_cpu =
		b->alloc.cpu_mc > b->reserved.cpu_mc ? b->alloc.cpu_mc - b->reserved.cpu_mc : 0;
	uint64_t free_mem = b->alloc.mem > b->reserved.mem ? b->alloc.mem - b->reserved.mem : 0;

	add(o, "requested", res_json(b->reserved.cpu_mc, b->reserved.mem));
	add(o, "free", res_json(free_cpu, free_mem));
	add(o, "besteffort", res_json(b->be_admitted.cpu_mc, b->be_admitted.mem));
	add(o, "slack", res_json(b->slack.cpu_mc, b->slack.mem));
	if (c->pool_ok && !place_cpus_of(&c->pool, 0, &shared)) {
		json_object *p = json_object_new_object();

		add(p, "name", str("shared"));
		add(p, "cpus", ctr_cpuset_json(&shared));
		add(p, "millicores", u64(b->shared_mc));
		add(p, "requested_mc", u64(b->shared_reserved_mc));
		json_object_array_add(pools, p);
		topo_cpuset_free(&shared);
	}
	for (struct container *k = c->list; k; k = k->next) {
		json_object *e;

		if (!k->exclusive || k->state == CTR_QUEUED)
			continue;
		e = json_object_new_object();
		add(e, "container", u64(k->id));
		add(e, "name", path_json(k->name));
		add(e, "cpus", ctr_cpuset_json(&k->cpus));
		add(e, "mems", ctr_cpuset_json(&k->mems));
		json_object_array_add(excl, e);
	}
	add(o, "pools", pools);
	add(o, "exclusive", excl);
	cgfs_controllers_str(c->enforce, buf, sizeof(buf));
	add(o, "enforceable", words_json(buf));
	add(o, "containers", json_object_new_int64(c->n - c->drf.n));
	add(o, "queued", json_object_new_int64(c->drf.n));
	if (c->state_error[0])
		add(o, "state_error", str(c->state_error));
}
