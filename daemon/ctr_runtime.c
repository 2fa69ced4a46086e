// SPDX-License-Identifier: Apache-2.0
/*
 * Runtime-created containers' two special paths.
 *
 * Unadmitted ones: when cgpilot-run (the OCI runtime) could not reach the
 * daemon, it made the cgroup itself, tagged ACT_OWNER_UNADMITTED with the
 * request in ACT_REQUEST_XATTR. The daemon that finds such a cgroup below an
 * engine root (at its start, or as it appears) admits it as a runtime
 * container, degraded if it does not fit, takes the cgroup over (the tag
 * becomes its own) and writes its knobs: from then on the container is
 * managed as if admitted at create.
 *
 * Degraded ones. Under Kubernetes the cluster's scheduler has
 * placed a pod on this node already; when cgpilot-run (as the OCI runtime,
 * [runtime] on_refusal = degrade) asks for a container that does not fit
 * as asked (no whole cores free, not enough unreserved memory), it is
 * admitted in the shared pool without reservations, with its limits, and
 * the reason kept (container show, cgpilot_containers_degraded). As room
 * frees up, the tick tries each again as asked, and where it fits now it
 * gets its class, reservations and CPUs; nothing is killed or moved to make
 * room for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctr_internal.h"
#include "daemon.h"
#include "log.h"
#include "policy/admit.h"
#include "policy/class.h"
#include "proto.h"
#include "util.h"

#define DEGRADED_RETRY_NS (1000ULL * 1000000) /* once a second at most */

int ctr_admit_degraded(struct containers *c, struct container *k, const char *refused, char *why,
		       size_t whylen, enum ctr_refusal *ret_reason)
{
	enum cgp_class want = k->class;
	uint64_t cpu = k->spec.cpu_request_mc, mem = k->spec.mem_request;
	int r;

	k->want_class = want;
	k->want_cpu_request_mc = cpu;
	k->want_mem_request = mem;
	/* best-effort stays best-effort; the others share the pool as burstable */
	k->class = want == CGP_CLASS_BESTEFFORT ? CGP_CLASS_BESTEFFORT : CGP_CLASS_BURSTABLE;
	k->spec.cpu_request_mc = 0;
	k->spec.mem_request = 0;
	k->exclusive = 0;
	snprintf(k->degraded, sizeof(k->degraded), "%s", refused);
	r = ctr_admit_now(c, k, why, whylen, ret_reason);
	if (r) {
		k->class = want;
		k->spec.cpu_request_mc = cpu;
		k->spec.mem_request = mem;
		k->degraded[0] = 0;
		return r;
	}
	c->stats.degraded++;
	c->stats.ndegraded++;
	log_warn("container %" PRIu64 " (%s) admitted degraded (shared pool, no reservations; "
		 "asked: %s, cpu %" PRIu64 " mc, memory %" PRIu64 " bytes): %s",
		 k->id, k->path, class_name(want), cpu, mem, refused);
	return 0;
}

/* @k as asked, if it fits now: true when it was placed so. */
static bool try_replace(struct containers *c, struct container *k)
{
	enum cgp_class old_class = k->class;
	struct res_spec old = k->spec;
	char why[512], unenf[sizeof(k->unenforced)], reason[160];
	struct act_result res;
	struct ctr_plan p;
	int r;

	ctr_unbook(c, k);
	k->class = k->want_class;
	k->spec.cpu_request_mc = k->want_cpu_request_mc;
	k->spec.mem_request = k->want_mem_request;
	k->exclusive = k->pinned.n ? k->pinned.n : ctr_exclusive_size(c, k->class, &k->spec);
	if (admit_decide(&c->books, k->class, &k->spec, k->exclusive, why, sizeof(why)) !=
	    ADMIT_FITS)
		goto back;
	if (k->exclusive && ctr_place_exclusive(c, k, why, sizeof(why)))
		goto back;
	snprintf(reason, sizeof(reason),
		 "container %" PRIu64 " placed as asked (%s) after running degraded", k->id,
		 class_name(k->class));
	r = ctr_plan_knobs(c, k, &p, unenf, sizeof(unenf));
	if (!r)
		r = p.n ? ctr_apply(c, k, p.w, p.n, reason, &res) : 0;
	if (r) {
		/* shared again first, so that the pool's rebalance gives it back
		 * its cpuset */
		if (k->exclusive) {
			k->exclusive = 0;
			ctr_unplace_exclusive(c, k, "exclusive CPUs returned (placement failed)");
		}
		goto back;
	}
	snprintf(k->unenforced, sizeof(k->unenforced), "%s", unenf);
	c->stats.count[k->kind][old_class]--;
	c->stats.count[k->kind][k->class]++;
	ctr_book(c, k);
	log_info("container %" PRIu64 " (%s) placed as asked: %s%s (was degraded: %s)", k->id,
		 k->path, class_name(k->class), k->exclusive ? " with exclusive CPUs" : "",
		 k->degraded);
	k->degraded[0] = 0;
	c->stats.ndegraded--;
	c->stats.replaced++;
	ctr_state_put(c, k);
	ctr_protect(c, k->path);
	return true;
back:
	k->class = old_class;
	k->spec = old;
	k->exclusive = 0;
	ctr_book(c, k);
	return false;
}

void ctr_replace_degraded(struct containers *c, uint64_t now_ns)
{
	if (!c->stats.ndegraded || now_ns < c->degraded_next_ns)
		return;
	c->degraded_next_ns = now_ns + DEGRADED_RETRY_NS;
	for (struct container *k = c->list; k; k = k->next)
		if (k->degraded[0] && k->booked && !k->releasing && !k->dry)
			try_replace(c, k);
}

/* The request the runtime kept on the cgroup, checked as container.admit's. */
static int read_request(int fd, enum cgp_class *cls, struct res_spec *spec,
			struct topo_cpuset *pinned, char *why, size_t whylen)
{
	static const struct {
		const char *key;
		size_t off;
	} u[] = {
		{ "cpu_request_mc", offsetof(struct res_spec, cpu_request_mc) },
		{ "cpu_limit_mc", offsetof(struct res_spec, cpu_limit_mc) },
		{ "memory_request", offsetof(struct res_spec, mem_request) },
		{ "memory_limit", offsetof(struct res_spec, mem_limit) },
	};
	char buf[1024];
	const char *msg = NULL, *cl = "burstable";
	json_object *o = NULL;
	uint64_t v;
	int r;

	r = act_get_xattr(fd, ACT_REQUEST_XATTR, buf, sizeof(buf));
	if (r < 0) {
		snprintf(why, whylen, "no %s (%s)", ACT_REQUEST_XATTR, strerror(-r));
		return r;
	}
	r = proto_decode_json(buf, (size_t)r, sizeof(buf), ACT_REQUEST_XATTR, &o, &msg);
	if (r) {
		snprintf(why, whylen, "%s: %s", ACT_REQUEST_XATTR, msg ? msg : "not JSON");
		return -EINVAL;
	}
	r = -EINVAL;
	if (proto_get_string(o, "class", false, &cl, &msg) < 0 || class_parse(cl, cls)) {
		snprintf(why, whylen, "%s: \"class\": %s", ACT_REQUEST_XATTR,
			 msg ? msg : "not a class");
		goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(u); i++) {
		v = 0;
		if (proto_get_u64(o, u[i].key, false, &v, &msg) < 0) {
			snprintf(why, whylen, "%s: \"%s\": %s", ACT_REQUEST_XATTR, u[i].key, msg);
			goto out;
		}
		*(uint64_t *)((char *)spec + u[i].off) = v;
	}
	v = 0;
	if (proto_get_u64(o, "io_weight", false, &v, &msg) < 0 || v > 10000) {
		snprintf(why, whylen, "%s: \"io_weight\": %s", ACT_REQUEST_XATTR,
			 msg ? msg : "not in 0..10000");
		goto out;
	}
	spec->io_weight = (uint32_t)v;
	{
		const char *cpus = NULL;

		if (proto_get_string(o, "cpus", false, &cpus, &msg) < 0 ||
		    (cpus && (topo_parse_cpulist(cpus, pinned) || !pinned->n))) {
			snprintf(why, whylen, "%s: \"cpus\": %s", ACT_REQUEST_XATTR,
				 msg ? msg : "not a CPU list");
			goto out;
		}
	}
	r = 0;
out:
	json_object_put(o);
	return r;
}

static pid_t first_pid(int fd)
{
	char buf[64];
	uint64_t pid;

	if (cgfs_read_at(fd, "cgroup.procs", buf, sizeof(buf)) <= 0 ||
	    cgfs_parse_u64(buf, NULL, &pid) || pid > INT32_MAX)
		return 0;
	return (pid_t)pid;
}

bool ctr_take_unadmitted(struct containers *c, const struct cg *cg)
{
	_cleanup_close_ int fd = -1;
	char tag[64], why[512];
	struct res_spec spec = { 0 };
	struct topo_cpuset pinned = { 0 };
	enum cgp_class cls = CGP_CLASS_BURSTABLE;
	enum ctr_refusal rr = REFUSE_CONTROLLER;
	struct container *k;
	bool inside = false;
	int r;

	for (unsigned i = 0; i < c->nengine && !inside; i++)
		inside = cgfs_path_below(c->engine_roots[i], cg->path) &&
			 strcmp(c->engine_roots[i], cg->path);
	if (!inside || ctr_find_path(c, cg->path))
		return false;
	fd = act_open_cgroup(&c->act, cg->path);
	if (fd < 0 || act_get_xattr(fd, ACT_OWNER_XATTR, tag, sizeof(tag)) < 0 ||
	    strcmp(tag, ACT_OWNER_UNADMITTED))
		return false;
	if (read_request(fd, &cls, &spec, &pinned, why, sizeof(why)) ||
	    class_check(cls, c->classes, &spec, why, sizeof(why))) {
		topo_cpuset_free(&pinned);
		log_warn("cgroup %s was made by cgpilot-run while cgpilotd was away, but is not "
			 "taken over: %s",
			 cg->path, why);
		return true;
	}
	if (!spec.priority)
		spec.priority = c->classes[cls].priority;
	if (pinned.n && cls == CGP_CLASS_BESTEFFORT)
		cls = CGP_CLASS_BURSTABLE;
	k = ctr_alloc(c);
	if (!k) {
		topo_cpuset_free(&pinned);
		return true;
	}
	k->kind = CTR_RUNTIME;
	k->class = cls;
	k->spec = spec;
	k->pinned = pinned;
	k->exclusive = pinned.n ? pinned.n : ctr_exclusive_size(c, cls, &spec);
	k->take_over = true;
	k->take_over_id = cg->id;
	k->path = strdup(cg->path);
	if (!k->path) {
		ctr_free_one(k);
		return true;
	}
	snprintf(k->name, sizeof(k->name), "%.63s", strrchr(cg->path, '/') + 1);
	k->queued_ns = mono_now_ns();
	ctr_link(c, k);
	r = ctr_check_enforceable(c, cls, &spec, k->exclusive, why, sizeof(why));
	if (!r)
		r = ctr_admit_now(c, k, why, sizeof(why), &rr);
	if (r && r != -ENOMEM &&
	    (rr == REFUSE_CPU || rr == REFUSE_MEMORY || rr == REFUSE_EXCLUSIVE ||
	     rr == REFUSE_SLACK)) {
		char refused[sizeof(why)];

		snprintf(refused, sizeof(refused), "%s", why);
		r = ctr_admit_degraded(c, k, refused, why, sizeof(why), &rr);
	}
	k->take_over = false;
	if (r) {
		log_warn("cgroup %s (made by cgpilot-run while cgpilotd was away) not taken over: "
			 "%s",
			 cg->path, why);
		ctr_unlink(c, k);
		ctr_free_one(k);
		return true;
	}
	k->pid = first_pid(fd);
	snprintf(k->command, sizeof(k->command), "(started while cgpilotd was away)");
	if (k->pid) {
		k->state = CTR_RUNNING;
		k->started_ns = mono_now_ns();
	}
	c->stats.taken_over++;
	ctr_state_put(c, k);
	log_info("container %" PRIu64 " (%s) taken over: made by cgpilot-run while cgpilotd "
		 "was away",
		 k->id, k->path);
	return true;
}
