/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Admission: does a container's request fit what the node has left, and in
 * which order are waiting requests served (weighted Dominant Resource
 * Fairness between tenants, as Mesos's allocator). Also the slack estimate
 * besteffort work is admitted against (Mesos's oversubscription resource
 * estimator). Pure: time and figures are arguments, no syscalls, no globals.
 */
#ifndef CGPILOT_POLICY_ADMIT_H
#define CGPILOT_POLICY_ADMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "class.h"

/* The resources admission counts. */
struct res_vec {
	uint64_t cpu_mc;
	uint64_t mem;
};

/*
 * The node's books, kept by the daemon and handed in.
 * - alloc: allocatable (policy/node.h);
 * - reserved: requests of admitted guaranteed and burstable containers;
 * - shared_mc: millicores of the CPUs not given exclusively (the shared pool);
 * - shared_reserved_mc: requests of admitted non-exclusive guaranteed and
 *   burstable containers (they run in the shared pool);
 * - be_admitted: requests of admitted besteffort containers;
 * - slack: the current estimate (slack_update), what besteffort may still have.
 */
struct admit_books {
	struct res_vec alloc;
	struct res_vec reserved;
	uint64_t shared_mc;
	uint64_t shared_reserved_mc;
	struct res_vec be_admitted;
	struct res_vec slack;
};

enum admit_verdict {
	ADMIT_FITS = 0,
	ADMIT_NO_FIT, /* not now: refuse, or queue if the caller waits */
	ADMIT_NEVER, /* more than the node has at all: refuse even a waiting caller */
};

/*
 * Decide on one checked request (class_check) of @class. @exclusive_cpus is
 * the number of CPUs exclusive placement takes for it (0 when it shares the
 * pool; the placement module says how many whole cores that is). A
 * guaranteed or burstable request fits when requests plus reserved stay
 * within allocatable for CPU and memory, and its CPU fits what is left of
 * the pool: shared requests within the shared pool, which exclusive CPUs
 * shrink. A besteffort request fits when it is within the slack minus what
 * besteffort already has (a zero request always fits). @why gets the
 * reason with the numbers when it does not fit ("memory: requested N bytes,
 * free M of allocatable A (reserved R)"), "" when it fits.
 */
enum admit_verdict admit_decide(const struct admit_books *b, enum cgp_class class,
				const struct res_spec *spec, unsigned exclusive_cpus, char *why,
				size_t whylen);

/*
 * Book an admitted request in, or out on release. Exclusive CPUs count in
 * reserved whole (at least the request) and leave the shared pool
 * (shared_mc); a shared request counts in shared_reserved_mc.
 */
void admit_book(struct admit_books *b, enum cgp_class class, const struct res_spec *spec,
		unsigned exclusive_cpus);
void admit_unbook(struct admit_books *b, enum cgp_class class, const struct res_spec *spec,
		  unsigned exclusive_cpus);

/*
 * Slack: allocatable minus what the reserved (guaranteed and burstable)
 * containers actually use, smoothed and with a safety margin, as Mesos's
 * oversubscription resource estimator. The daemon feeds their measured use
 * (CPU rate in millicores, memory.current in bytes) every sample tick.
 */
struct slack_est {
	uint64_t last_ns; /* 0: no sample yet */
	double cpu_mc; /* smoothed use */
	double mem;
};

struct slack_conf {
	uint64_t half_life_ns; /* default 30 s */
	uint32_t margin_pct; /* default 10: use counts 10% more */
};

void slack_conf_defaults(struct slack_conf *c);
/*
 * Feed one measurement and return the slack: per resource,
 * alloc - min(reserved, smoothed use * (1 + margin)), where the smoothed use
 * is the EWMA above, taken as the current use whenever that is higher
 * (spikes count at once, drops slowly). Never negative. Before the first
 * sample the slack is 0 (nothing is known yet). @used NULL feeds nothing
 * and returns the slack of the estimate so far. @c NULL: the defaults.
 */
struct res_vec slack_update(struct slack_est *e, const struct slack_conf *c, uint64_t now_ns,
			    const struct res_vec *alloc, const struct res_vec *reserved,
			    const struct res_vec *used);

/*
 * The queue of requests waiting for admission. Tenants are named (the empty
 * name is a tenant too) and weighted; the daemon keeps each tenant's
 * admitted allocation here (drf_charge/drf_refund) as well as its waiting
 * requests. drf_order() gives the order to try them in: the tenant with the
 * lowest weighted dominant share (max over CPU and memory of
 * allocated / alloc, divided by its weight) goes first; within a tenant,
 * higher priority first, then first come first served. The caller tries
 * each in that order (drf_order) and admits what fits, so a small request
 * can pass a large one that does not fit yet (backfilling; the large one
 * keeps its place).
 */
struct drf_entry {
	uint64_t id; /* the caller's handle (the container id) */
	char tenant[64];
	enum cgp_class class;
	struct res_spec spec;
	uint64_t seq; /* arrival order, set by drf_enqueue */
	uint64_t enqueued_ns;
};

struct drf_tenant {
	char name[64];
	double weight; /* > 0; 1 by default */
	struct res_vec allocated;
};

struct drf_queue {
	struct drf_entry *q;
	unsigned n, cap;
	struct drf_tenant *t;
	unsigned nt, tcap;
	uint64_t seq;
};

void drf_init(struct drf_queue *d);
void drf_free(struct drf_queue *d);
/* Set a tenant's weight (created if new). -EINVAL unless 0 < weight <= 1e6. */
int drf_set_weight(struct drf_queue *d, const char *tenant, double weight);
/* Add or take away a tenant's admitted allocation (-EINVAL for a name past 63
 * bytes); a tenant left with nothing, no queued request and the default
 * weight is forgotten: tenants' names come and go with their callers. */
int drf_charge(struct drf_queue *d, const char *tenant, const struct res_vec *r);
void drf_refund(struct drf_queue *d, const char *tenant, const struct res_vec *r);
/*
 * Queue a request (copied; seq set). -ENOMEM, -EEXIST for an id already queued,
 * -EINVAL for a tenant name not terminated within its 64 bytes.
 */
int drf_enqueue(struct drf_queue *d, const struct drf_entry *e);
/* Take a queued request out (admitted or cancelled); -ENOENT if not queued. */
int drf_remove(struct drf_queue *d, uint64_t id);
const struct drf_entry *drf_find(const struct drf_queue *d, uint64_t id);
/* Weighted dominant share of @tenant against @alloc (0 for an unknown tenant). */
double drf_share(const struct drf_queue *d, const char *tenant, const struct res_vec *alloc);
/*
 * The queued entries' indexes (into d->q, valid until the queue changes) in
 * the order they are to be tried (see above) into @order (n entries; d->n at
 * most). Returns the count.
 */
unsigned drf_order(const struct drf_queue *d, const struct res_vec *alloc, unsigned *order,
		   unsigned n);

#endif
