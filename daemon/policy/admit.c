// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static uint64_t cpus_mc(unsigned cpus)
{
	return (uint64_t)cpus * CGP_MILLI;
}

static void say(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/*
 * What a reserved request takes of allocatable CPU: exclusive CPUs are gone
 * whole from everyone (SMT rounding may make them more than the request).
 */
static uint64_t cpu_charge(const struct res_spec *spec, unsigned exclusive_cpus)
{
	uint64_t excl = cpus_mc(exclusive_cpus);

	return excl > spec->cpu_request_mc ? excl : spec->cpu_request_mc;
}

static enum admit_verdict decide_reserved(const struct admit_books *b, const struct res_spec *spec,
					  unsigned excl, char *why, size_t whylen)
{
	uint64_t cpu = cpu_charge(spec, excl), mem = spec->mem_request;
	uint64_t cpu_free = sat_sub(b->alloc.cpu_mc, b->reserved.cpu_mc);
	uint64_t mem_free = sat_sub(b->alloc.mem, b->reserved.mem);
	uint64_t pool_free = sat_sub(b->shared_mc, b->shared_reserved_mc);
	char what[64];

	if (excl)
		snprintf(what, sizeof(what), "%u exclusive CPUs (%" PRIu64 " millicores)", excl,
			 cpu);
	else
		snprintf(what, sizeof(what), "%" PRIu64 " millicores", cpu);

	if (cpu > b->alloc.cpu_mc) {
		say(why, whylen, "cpu: requested %s, more than allocatable %" PRIu64 " millicores",
		    what, b->alloc.cpu_mc);
		return ADMIT_NEVER;
	}
	if (mem > b->alloc.mem) {
		say(why, whylen,
		    "memory: requested %" PRIu64 " bytes, more than allocatable %" PRIu64 " bytes",
		    mem, b->alloc.mem);
		return ADMIT_NEVER;
	}
	/*
	 * Shared requests run in the pool, exclusive CPUs come out of it: both
	 * must fit; the reason names the tighter of the two.
	 */
	if ((cpu > cpu_free || cpu > pool_free) && pool_free < cpu_free) {
		say(why, whylen,
		    "cpu: requested %s, free %" PRIu64 " of the shared pool %" PRIu64
		    " (reserved %" PRIu64 " by shared containers; allocatable %" PRIu64 ")",
		    what, pool_free, b->shared_mc, b->shared_reserved_mc, b->alloc.cpu_mc);
		return ADMIT_NO_FIT;
	}
	if (cpu > cpu_free) {
		say(why, whylen,
		    "cpu: requested %s, free %" PRIu64 " of allocatable %" PRIu64
		    " (reserved %" PRIu64 ")",
		    what, cpu_free, b->alloc.cpu_mc, b->reserved.cpu_mc);
		return ADMIT_NO_FIT;
	}
	if (mem > mem_free) {
		say(why, whylen,
		    "memory: requested %" PRIu64 " bytes, free %" PRIu64 " of allocatable %" PRIu64
		    " (reserved %" PRIu64 ")",
		    mem, mem_free, b->alloc.mem, b->reserved.mem);
		return ADMIT_NO_FIT;
	}
	return ADMIT_FITS;
}

static enum admit_verdict decide_besteffort(const struct admit_books *b,
					    const struct res_spec *spec, char *why, size_t whylen)
{
	uint64_t cpu = spec->cpu_request_mc, mem = spec->mem_request;
	uint64_t cpu_free = sat_sub(b->slack.cpu_mc, b->be_admitted.cpu_mc);
	uint64_t mem_free = sat_sub(b->slack.mem, b->be_admitted.mem);

	if (cpu > b->alloc.cpu_mc) {
		say(why, whylen,
		    "cpu: requested %" PRIu64 " millicores, more than allocatable %" PRIu64
		    " millicores",
		    cpu, b->alloc.cpu_mc);
		return ADMIT_NEVER;
	}
	if (mem > b->alloc.mem) {
		say(why, whylen,
		    "memory: requested %" PRIu64 " bytes, more than allocatable %" PRIu64 " bytes",
		    mem, b->alloc.mem);
		return ADMIT_NEVER;
	}
	if (cpu > cpu_free) {
		say(why, whylen,
		    "cpu: requested %" PRIu64 " millicores, free %" PRIu64 " of slack %" PRIu64
		    " (besteffort admitted %" PRIu64 ", allocatable %" PRIu64 ")",
		    cpu, cpu_free, b->slack.cpu_mc, b->be_admitted.cpu_mc, b->alloc.cpu_mc);
		return ADMIT_NO_FIT;
	}
	if (mem > mem_free) {
		say(why, whylen,
		    "memory: requested %" PRIu64 " bytes, free %" PRIu64 " of slack %" PRIu64
		    " (besteffort admitted %" PRIu64 ", allocatable %" PRIu64 ")",
		    mem, mem_free, b->slack.mem, b->be_admitted.mem, b->alloc.mem);
		return ADMIT_NO_FIT;
	}
	return ADMIT_FITS;
}

enum admit_verdict admit_decide(const struct admit_books *b, enum cgp_class class,
				const struct res_spec *spec, unsigned exclusive_cpus, char *why,
				size_t whylen)
{
	enum admit_verdict v;

	say(why, whylen, "%s", "");
	switch (class) {
	case CGP_CLASS_GUARANTEED:
	case CGP_CLASS_BURSTABLE:
		v = decide_reserved(b, spec, exclusive_cpus, why, whylen);
		break;
	case CGP_CLASS_BESTEFFORT:
		v = decide_besteffort(b, spec, why, whylen);
		break;
	default:
		say(why, whylen, "class: unknown class %d", (int)class);
		v = ADMIT_NEVER;
		break;
	}
	return v;
}

/* Book @spec in (@in) or out: the same sums both ways, never below zero. */
static void book(struct admit_books *b, enum cgp_class class, const struct res_spec *spec,
		 unsigned exclusive_cpus, bool in)
{
	uint64_t (*more)(uint64_t, uint64_t) = in ? sat_add : sat_sub;
	uint64_t (*less)(uint64_t, uint64_t) = in ? sat_sub : sat_add;

	switch (class) {
	case CGP_CLASS_GUARANTEED:
	case CGP_CLASS_BURSTABLE:
		b->reserved.cpu_mc = more(b->reserved.cpu_mc, cpu_charge(spec, exclusive_cpus));
		b->reserved.mem = more(b->reserved.mem, spec->mem_request);
		if (exclusive_cpus)
			b->shared_mc = less(b->shared_mc, cpus_mc(exclusive_cpus));
		else
			b->shared_reserved_mc = more(b->shared_reserved_mc, spec->cpu_request_mc);
		break;
	case CGP_CLASS_BESTEFFORT:
		b->be_admitted.cpu_mc = more(b->be_admitted.cpu_mc, spec->cpu_request_mc);
		b->be_admitted.mem = more(b->be_admitted.mem, spec->mem_request);
		break;
	default:
		break;
	}
}

void admit_book(struct admit_books *b, enum cgp_class class, const struct res_spec *spec,
		unsigned exclusive_cpus)
{
	book(b, class, spec, exclusive_cpus, true);
}

void admit_unbook(struct admit_books *b, enum cgp_class class, const struct res_spec *spec,
		  unsigned exclusive_cpus)
{
	book(b, class, spec, exclusive_cpus, false);
}

/* Slack */

#define NS_PER_S 1000000000ULL

void slack_conf_defaults(struct slack_conf *c)
{
	c->half_life_ns = 30 * NS_PER_S;
	c->margin_pct = 10;
}

/* 2^-(dt/half_life), the weight the old average keeps; no libm. */
static double decay(uint64_t dt, uint64_t half_life)
{
	double x, f, term, sum;
	unsigned k;

	if (!half_life)
		return 0.0;
	x = (double)dt / (double)half_life;
	if (x >= 1100.0) /* below the smallest double */
		return 0.0;
	k = (unsigned)x;
	f = (x - k) * 0.69314718055994530942; /* e^-f for f in [0, ln 2) */
	term = 1.0;
	sum = 1.0;
	for (unsigned n = 1; n < 24; n++) {
		term *= -f / n;
		sum += term;
	}
	while (k--)
		sum *= 0.5;
	return sum;
}

/* The EWMA, but a use above it is taken at once. */
static double smooth(double avg, uint64_t cur, double keep)
{
	double c = (double)cur, v = c + keep * (avg - c);

	return c > v ? c : v;
}

/* alloc - min(reserved, use * (1 + margin)), with the use rounded up (counted against slack). */
static uint64_t slack_of(uint64_t alloc, uint64_t reserved, double use, uint32_t margin_pct)
{
	double counted = use * (100.0 + margin_pct) / 100.0;
	uint64_t taken;

	if (!(counted < (double)reserved)) {
		taken = reserved;
	} else {
		/* up, but not for the rounding noise of the EWMA */
		taken = counted > 0 ? (uint64_t)counted : 0;
		if (counted - (double)taken > 1e-6)
			taken++;
		if (taken > reserved)
			taken = reserved;
	}
	return sat_sub(alloc, taken);
}

struct res_vec slack_update(struct slack_est *e, const struct slack_conf *c, uint64_t now_ns,
			    const struct res_vec *alloc, const struct res_vec *reserved,
			    const struct res_vec *used)
{
	struct res_vec out = { 0 };
	struct slack_conf dc;
	double keep;

	if (!c) {
		slack_conf_defaults(&dc);
		c = &dc;
	}
	if (used) {
		if (!e->last_ns) {
			e->cpu_mc = (double)used->cpu_mc;
			e->mem = (double)used->mem;
		} else {
			keep = now_ns > e->last_ns ? decay(now_ns - e->last_ns, c->half_life_ns) :
						     1.0;
			e->cpu_mc = smooth(e->cpu_mc, used->cpu_mc, keep);
			e->mem = smooth(e->mem, used->mem, keep);
		}
		/* time runs forward only; 0 is "no sample" */
		if (now_ns > e->last_ns)
			e->last_ns = now_ns;
		if (!e->last_ns)
			e->last_ns = 1;
	}
	if (!e->last_ns)
		return out;
	out.cpu_mc = slack_of(alloc->cpu_mc, reserved->cpu_mc, e->cpu_mc, c->margin_pct);
	out.mem = slack_of(alloc->mem, reserved->mem, e->mem, c->margin_pct);
	return out;
}

/* DRF queue */

#define DRF_WEIGHT_MAX 1e6

static bool name_ok(const char *name)
{
	return strnlen(name, sizeof(((struct drf_tenant *)0)->name)) <
	       sizeof(((struct drf_tenant *)0)->name);
}

void drf_init(struct drf_queue *d)
{
	memset(d, 0, sizeof(*d));
}

void drf_free(struct drf_queue *d)
{
	if (!d)
		return;
	free(d->q);
	free(d->t);
	memset(d, 0, sizeof(*d));
}

/* Room for one more of @size in *@arr (cap doubles). */
static int grow(void **arr, unsigned n, unsigned *cap, size_t size)
{
	unsigned ncap;
	void *p;

	if (n < *cap)
		return 0;
	if (*cap > UINT32_MAX / 2)
		return -ENOMEM;
	ncap = *cap ? *cap * 2 : 8;
	p = realloc(*arr, (size_t)ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static struct drf_tenant *tenant_find(const struct drf_queue *d, const char *name)
{
	for (unsigned i = 0; i < d->nt; i++)
		if (strcmp(d->t[i].name, name) == 0)
			return &d->t[i];
	return NULL;
}

static int tenant_get(struct drf_queue *d, const char *name, struct drf_tenant **ret)
{
	struct drf_tenant *t;
	int r;

	if (!name)
		name = "";
	if (!name_ok(name))
		return -EINVAL;
	t = tenant_find(d, name);
	if (!t) {
		r = grow((void **)&d->t, d->nt, &d->tcap, sizeof(*d->t));
		if (r)
			return r;
		t = &d->t[d->nt++];
		memset(t, 0, sizeof(*t));
		snprintf(t->name, sizeof(t->name), "%s", name); /* name_ok: it fits */
		t->weight = 1.0;
	}
	*ret = t;
	return 0;
}

int drf_set_weight(struct drf_queue *d, const char *tenant, double weight)
{
	struct drf_tenant *t;
	int r;

	if (!(weight > 0 && weight <= DRF_WEIGHT_MAX))
		return -EINVAL;
	r = tenant_get(d, tenant, &t);
	if (r)
		return r;
	t->weight = weight;
	return 0;
}

int drf_charge(struct drf_queue *d, const char *tenant, const struct res_vec *r)
{
	struct drf_tenant *t;
	int err;

	if (!r)
		return -EINVAL;
	err = tenant_get(d, tenant, &t);
	if (err)
		return err;
	t->allocated.cpu_mc = sat_add(t->allocated.cpu_mc, r->cpu_mc);
	t->allocated.mem = sat_add(t->allocated.mem, r->mem);
	return 0;
}

void drf_refund(struct drf_queue *d, const char *tenant, const struct res_vec *r)
{
	struct drf_tenant *t = tenant_find(d, tenant ? tenant : "");

	if (!t || !r)
		return;
	t->allocated.cpu_mc = sat_sub(t->allocated.cpu_mc, r->cpu_mc);
	t->allocated.mem = sat_sub(t->allocated.mem, r->mem);
	/* a tenant with nothing left, no waiting request and the default
	 * weight is forgotten: names come and go with the callers */
	if (!t->allocated.cpu_mc && !t->allocated.mem && t->weight == 1.0) {
		for (unsigned i = 0; i < d->n; i++)
			if (!strcmp(d->q[i].tenant, t->name))
				return;
		*t = d->t[--d->nt];
	}
}

static int entry_index(const struct drf_queue *d, uint64_t id)
{
	for (unsigned i = 0; i < d->n; i++)
		if (d->q[i].id == id)
			return (int)i;
	return -1;
}

int drf_enqueue(struct drf_queue *d, const struct drf_entry *e)
{
	struct drf_entry *slot;
	int r;

	if (!e || !name_ok(e->tenant) || d->n >= INT32_MAX)
		return -EINVAL;
	if (entry_index(d, e->id) >= 0)
		return -EEXIST;
	r = grow((void **)&d->q, d->n, &d->cap, sizeof(*d->q));
	if (r)
		return r;
	slot = &d->q[d->n++];
	*slot = *e;
	slot->seq = ++d->seq;
	return 0;
}

int drf_remove(struct drf_queue *d, uint64_t id)
{
	int i = entry_index(d, id);

	if (i < 0)
		return -ENOENT;
	memmove(&d->q[i], &d->q[i + 1], (d->n - (unsigned)i - 1) * sizeof(*d->q));
	d->n--;
	return 0;
}

const struct drf_entry *drf_find(const struct drf_queue *d, uint64_t id)
{
	int i = entry_index(d, id);

	return i < 0 ? NULL : &d->q[i];
}

static double fraction(uint64_t part, uint64_t whole)
{
	return whole ? (double)part / (double)whole : 0.0;
}

double drf_share(const struct drf_queue *d, const char *tenant, const struct res_vec *alloc)
{
	const struct drf_tenant *t = tenant_find(d, tenant ? tenant : "");
	double cpu, mem;

	if (!t || !alloc)
		return 0.0;
	cpu = fraction(t->allocated.cpu_mc, alloc->cpu_mc);
	mem = fraction(t->allocated.mem, alloc->mem);
	return (cpu > mem ? cpu : mem) / t->weight;
}

struct order_ctx {
	const struct drf_queue *d;
	const struct res_vec *alloc;
};

/* Shares this close are equal (1/3 of one tenant against 2/6 weighted of another). */
static bool share_eq(double a, double b)
{
	double m = a > b ? a : b, diff = a > b ? a - b : b - a;

	return diff <= m * 1e-9;
}

/* <0 when entry @i is tried before entry @j: lower share, higher priority, earlier. */
static int order_cmp(const struct order_ctx *c, unsigned i, unsigned j)
{
	const struct drf_entry *a = &c->d->q[i], *b = &c->d->q[j];
	double sa = drf_share(c->d, a->tenant, c->alloc), sb = drf_share(c->d, b->tenant, c->alloc);

	if (!share_eq(sa, sb))
		return sa < sb ? -1 : 1;
	if (a->spec.priority != b->spec.priority)
		return a->spec.priority > b->spec.priority ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return 0;
}

static int order_qsort_cmp(const void *x, const void *y, void *ctx)
{
	return order_cmp(ctx, *(const unsigned *)x, *(const unsigned *)y);
}

unsigned drf_order(const struct drf_queue *d, const struct res_vec *alloc, unsigned *order,
		   unsigned n)
{
	struct order_ctx c = { .d = d, .alloc = alloc };
	unsigned k, prev = 0;

	if (!order || !n)
		return 0;
	if (n >= d->n) {
		for (k = 0; k < d->n; k++)
			order[k] = k;
		qsort_r(order, d->n, sizeof(*order), order_qsort_cmp, &c);
		return d->n;
	}
	/* fewer slots than entries: the first n, picked one after another without a buffer */
	for (k = 0; k < n; k++) {
		unsigned best = d->n;

		for (unsigned i = 0; i < d->n; i++) {
			if (k && order_cmp(&c, i, prev) <= 0)
				continue;
			if (best == d->n || order_cmp(&c, i, best) < 0)
				best = i;
		}
		order[k] = prev = best;
	}
	return n;
}
