// SPDX-License-Identifier: Apache-2.0
/*
 * Degraded runtime containers. Under Kubernetes the cluster's scheduler has
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
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ctr_internal.h"
#include "daemon.h"
#include "log.h"
#include "policy/admit.h"
#include "policy/class.h"
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
	k->exclusive = ctr_exclusive_size(c, k->class, &k->spec);
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
		if (k->exclusive)
			ctr_unplace_exclusive(c, k, "exclusive CPUs returned (placement failed)");
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
