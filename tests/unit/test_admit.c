// SPDX-License-Identifier: Apache-2.0
/* daemon/policy/admit.c: admission against the books, the slack estimate, the DRF queue. */
#include <errno.h>
#include <math.h> /* NAN, INFINITY */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/admit.h"
#include "unit.h"

#define MIB (1024ULL * 1024)
#define GIB (1024ULL * MIB)
#define SEC 1000000000ULL

static bool near(double a, double b, double eps)
{
	return a > b ? a - b <= eps : b - a <= eps;
}

/* 4 CPUs and 8 GiB allocatable, 3 CPUs and 7 GiB reserved by shared containers. */
static struct admit_books busy_node(void)
{
	return (struct admit_books){
		.alloc = { .cpu_mc = 4000, .mem = 8 * GIB },
		.reserved = { .cpu_mc = 3000, .mem = 7 * GIB },
		.shared_mc = 4000,
		.shared_reserved_mc = 3000,
	};
}

static struct admit_books empty_node(void)
{
	return (struct admit_books){
		.alloc = { .cpu_mc = 4000, .mem = 8 * GIB },
		.shared_mc = 4000,
	};
}

static struct res_spec req(uint64_t mc, uint64_t mem)
{
	return (struct res_spec){ .cpu_request_mc = mc, .mem_request = mem };
}

static enum admit_verdict decide(const struct admit_books *b, enum cgp_class c, struct res_spec s,
				 unsigned excl, char *why, size_t whylen)
{
	return admit_decide(b, c, &s, excl, why, whylen);
}

/* Admission */

static void test_exactly_full(void **state)
{
	struct admit_books b = busy_node();
	char why[256] = "x";

	(void)state;
	assert_int_equal(decide(&b, CGP_CLASS_BURSTABLE, req(1000, GIB), 0, why, sizeof(why)),
			 ADMIT_FITS);
	assert_string_equal(why, "");
	assert_int_equal(decide(&b, CGP_CLASS_GUARANTEED, req(1000, GIB), 0, why, sizeof(why)),
			 ADMIT_FITS);
	/* booked in, the node is full to the byte, and nothing more fits */
	admit_book(&b, CGP_CLASS_BURSTABLE,
		   &(struct res_spec){ .cpu_request_mc = 1000, .mem_request = GIB }, 0);
	assert_true(b.reserved.cpu_mc == 4000 && b.reserved.mem == 8 * GIB);
	assert_int_equal(decide(&b, CGP_CLASS_BURSTABLE, req(1, 0), 0, why, sizeof(why)),
			 ADMIT_NO_FIT);
	assert_int_equal(decide(&b, CGP_CLASS_BURSTABLE, req(0, 1), 0, why, sizeof(why)),
			 ADMIT_NO_FIT);
}

static void test_over_by_one_byte(void **state)
{
	struct admit_books b = busy_node();
	char why[256];

	(void)state;
	assert_int_equal(decide(&b, CGP_CLASS_BURSTABLE, req(1000, GIB + 1), 0, why, sizeof(why)),
			 ADMIT_NO_FIT);
	assert_string_equal(why, "memory: requested 1073741825 bytes, free 1073741824 of "
				 "allocatable 8589934592 (reserved 7516192768)");
	assert_int_equal(decide(&b, CGP_CLASS_GUARANTEED, req(1000, GIB + 1), 0, why, sizeof(why)),
			 ADMIT_NO_FIT);
	assert_starts_with(why, "memory: requested 1073741825 bytes");
}

static void test_over_by_one_millicore(void **state)
{
	struct admit_books b = busy_node();
	char why[256];

	(void)state;
	assert_int_equal(decide(&b, CGP_CLASS_BURSTABLE, req(1001, GIB), 0, why, sizeof(why)),
			 ADMIT_NO_FIT);
	assert_string_equal(why, "cpu: requested 1001 millicores, free 1000 of allocatable 4000 "
				 "(reserved 3000)");
	/* a short buffer truncates, a missing one is fine */
	assert_int_equal(decide(&b, CGP_CLASS_BURSTABLE, req(1001, GIB), 0, why, 10), ADMIT_NO_FIT);
	assert_string_equal(why, "cpu: requ");
	assert_int_equal(decide(&b, CGP_CLASS_BURSTABLE, req(1001, GIB), 0, NULL, 0), ADMIT_NO_FIT);
}

static void test_zero_requests(void **state)
{
	struct admit_books b = busy_node();
	char why[256];

	(void)state;
	b.reserved = b.alloc; /* full */
	b.shared_reserved_mc = b.shared_mc;
	for (unsigned c = 0; c < CGP_CLASS_MAX; c++) {
		assert_int_equal(decide(&b, (enum cgp_class)c, req(0, 0), 0, why, sizeof(why)),
				 ADMIT_FITS);
		assert_string_equal(why, "");
	}
}

static void test_unknown_class(void **state)
{
	struct admit_books b = empty_node();
	enum cgp_class c = CGP_CLASS_GUARANTEED;
	char why[256];

	(void)state;
	assert_int_equal(class_parse("gold", &c), -EINVAL);
	assert_int_equal(c, CGP_CLASS_GUARANTEED);
	assert_int_equal(decide(&b, CGP_CLASS_MAX, req(0, 0), 0, why, sizeof(why)), ADMIT_NEVER);
	assert_contains(why, "unknown class");
}

static void test_besteffort_zero_slack(void **state)
{
	struct admit_books b = empty_node();
	char why[256];

	(void)state;
	/* slack 0: nothing known yet, or all used */
	assert_int_equal(decide(&b, CGP_CLASS_BESTEFFORT, req(1, 0), 0, why, sizeof(why)),
			 ADMIT_NO_FIT);
	assert_string_equal(why, "cpu: requested 1 millicores, free 0 of slack 0 (besteffort "
				 "admitted 0, allocatable 4000)");
	assert_int_equal(decide(&b, CGP_CLASS_BESTEFFORT, req(0, 1), 0, why, sizeof(why)),
			 ADMIT_NO_FIT);
	assert_starts_with(why, "memory: requested 1 bytes, free 0 of slack 0");
	assert_int_equal(decide(&b, CGP_CLASS_BESTEFFORT, req(0, 0), 0, why, sizeof(why)),
			 ADMIT_FITS);
	assert_string_equal(why, "");
}

static void test_besteffort_slack(void **state)
{
	struct admit_books b = busy_node();
	struct res_spec s = req(1500, GIB);
	char why[256];

	(void)state;
	/* reserved does not matter to besteffort, the slack does */
	b.slack = (struct res_vec){ .cpu_mc = 2000, .mem = 2 * GIB };
	assert_int_equal(decide(&b, CGP_CLASS_BESTEFFORT, s, 0, why, sizeof(why)), ADMIT_FITS);
	admit_book(&b, CGP_CLASS_BESTEFFORT, &s, 0);
	assert_true(b.be_admitted.cpu_mc == 1500 && b.be_admitted.mem == GIB);
	assert_true(b.reserved.cpu_mc == 3000 && b.shared_reserved_mc == 3000);
	assert_int_equal(decide(&b, CGP_CLASS_BESTEFFORT, req(500, GIB), 0, why, sizeof(why)),
			 ADMIT_FITS);
	assert_int_equal(decide(&b, CGP_CLASS_BESTEFFORT, req(501, 0), 0, why, sizeof(why)),
			 ADMIT_NO_FIT);
	assert_string_equal(why, "cpu: requested 501 millicores, free 500 of slack 2000 "
				 "(besteffort admitted 1500, allocatable 4000)");
	/* the slack shrank below what besteffort has: nothing more */
	b.slack.mem = GIB / 2;
	assert_int_equal(decide(&b, CGP_CLASS_BESTEFFORT, req(0, 1), 0, why, sizeof(why)),
			 ADMIT_NO_FIT);
	assert_contains(why, "free 0 of slack 536870912");
	admit_unbook(&b, CGP_CLASS_BESTEFFORT, &s, 0);
	assert_true(b.be_admitted.cpu_mc == 0 && b.be_admitted.mem == 0);
}

static void test_exclusive_shrinks_pool(void **state)
{
	struct admit_books b = empty_node(), orig;
	struct res_spec g = req(2000, GIB), s = req(2500, GIB);
	char why[256];

	(void)state;
	orig = b;
	assert_int_equal(decide(&b, CGP_CLASS_BURSTABLE, s, 0, why, sizeof(why)), ADMIT_FITS);
	/* a guaranteed container takes 2 CPUs out of the pool */
	assert_int_equal(decide(&b, CGP_CLASS_GUARANTEED, g, 2, why, sizeof(why)), ADMIT_FITS);
	admit_book(&b, CGP_CLASS_GUARANTEED, &g, 2);
	assert_true(b.shared_mc == 2000 && b.shared_reserved_mc == 0);
	assert_true(b.reserved.cpu_mc == 2000 && b.reserved.mem == GIB);
	/* the shared request no longer fits, a smaller one does */
	assert_int_equal(decide(&b, CGP_CLASS_BURSTABLE, s, 0, why, sizeof(why)), ADMIT_NO_FIT);
	assert_starts_with(why, "cpu: requested 2500 millicores, free 2000");
	assert_int_equal(decide(&b, CGP_CLASS_BURSTABLE, req(2000, GIB), 0, why, sizeof(why)),
			 ADMIT_FITS);
	/* shared containers hold the rest: no exclusive CPU is left to give */
	admit_book(&b, CGP_CLASS_BURSTABLE, &(struct res_spec){ .cpu_request_mc = 1500 }, 0);
	assert_int_equal(decide(&b, CGP_CLASS_GUARANTEED, req(1000, 0), 1, why, sizeof(why)),
			 ADMIT_NO_FIT);
	assert_string_equal(why, "cpu: requested 1 exclusive CPUs (1000 millicores), free 500 of "
				 "allocatable 4000 (reserved 3500)");
	admit_unbook(&b, CGP_CLASS_BURSTABLE, &(struct res_spec){ .cpu_request_mc = 1500 }, 0);
	admit_unbook(&b, CGP_CLASS_GUARANTEED, &g, 2);
	assert_memory_equal(&b, &orig, sizeof(b));
}

static void test_exclusive_smt(void **state)
{
	/* 3 CPUs on SMT-2 take 4: all 4 count, against the pool and allocatable */
	struct admit_books b = (struct admit_books){ .alloc = { .cpu_mc = 8000, .mem = 8 * GIB },
						     .shared_mc = 8000 },
			   orig = b;
	struct res_spec g = req(3000, GIB);
	char why[256];

	(void)state;
	assert_int_equal(decide(&b, CGP_CLASS_GUARANTEED, g, 4, why, sizeof(why)), ADMIT_FITS);
	admit_book(&b, CGP_CLASS_GUARANTEED, &g, 4);
	assert_true(b.reserved.cpu_mc == 4000 && b.shared_mc == 4000);
	assert_int_equal(decide(&b, CGP_CLASS_BURSTABLE, req(4001, 0), 0, why, sizeof(why)),
			 ADMIT_NO_FIT);
	assert_int_equal(decide(&b, CGP_CLASS_BURSTABLE, req(4000, 0), 0, why, sizeof(why)),
			 ADMIT_FITS);
	admit_unbook(&b, CGP_CLASS_GUARANTEED, &g, 4);
	assert_memory_equal(&b, &orig, sizeof(b));
}

static void test_shared_pool_tighter(void **state)
{
	/* CPUs given out where the books' reserved does not see them (another owner) */
	struct admit_books b = {
		.alloc = { .cpu_mc = 8000, .mem = 8 * GIB },
		.reserved = { .cpu_mc = 2000 },
		.shared_mc = 4000,
		.shared_reserved_mc = 2000,
	};
	char why[256];

	(void)state;
	assert_int_equal(decide(&b, CGP_CLASS_BURSTABLE, req(2001, 0), 0, why, sizeof(why)),
			 ADMIT_NO_FIT);
	assert_string_equal(why,
			    "cpu: requested 2001 millicores, free 2000 of the shared pool 4000 "
			    "(reserved 2000 by shared containers; allocatable 8000)");
	assert_int_equal(decide(&b, CGP_CLASS_GUARANTEED, req(3000, GIB), 3, why, sizeof(why)),
			 ADMIT_NO_FIT);
	assert_contains(why, "3 exclusive CPUs (3000 millicores), free 2000 of the shared pool");
	assert_int_equal(decide(&b, CGP_CLASS_GUARANTEED, req(2000, GIB), 2, why, sizeof(why)),
			 ADMIT_FITS);
}

static void test_never(void **state)
{
	struct admit_books b = busy_node();
	char why[256];

	(void)state;
	assert_int_equal(decide(&b, CGP_CLASS_BURSTABLE, req(4001, 0), 0, why, sizeof(why)),
			 ADMIT_NEVER);
	assert_string_equal(
		why, "cpu: requested 4001 millicores, more than allocatable 4000 millicores");
	assert_int_equal(decide(&b, CGP_CLASS_GUARANTEED, req(1000, 8 * GIB + 1), 0, why,
				sizeof(why)),
			 ADMIT_NEVER);
	assert_string_equal(why, "memory: requested 8589934593 bytes, more than allocatable "
				 "8589934592 bytes");
	assert_int_equal(decide(&b, CGP_CLASS_GUARANTEED, req(4000, GIB), 5, why, sizeof(why)),
			 ADMIT_NEVER);
	assert_contains(why, "5 exclusive CPUs");
	assert_int_equal(decide(&b, CGP_CLASS_BESTEFFORT, req(0, 9 * GIB), 0, why, sizeof(why)),
			 ADMIT_NEVER);
	/* all of it is not never, only not now */
	assert_int_equal(decide(&b, CGP_CLASS_BURSTABLE, req(4000, 8 * GIB), 0, why, sizeof(why)),
			 ADMIT_NO_FIT);
	/* never even on an empty node: nothing waiting can make it fit */
	b = empty_node();
	assert_int_equal(decide(&b, CGP_CLASS_BURSTABLE, req(4001, 0), 0, why, sizeof(why)),
			 ADMIT_NEVER);
}

static void test_book_unbook(void **state)
{
	struct admit_books b = empty_node(), orig = b;
	struct res_spec s = req(1500, 2 * GIB), g = req(1000, GIB), e = req(100, MIB);

	(void)state;
	admit_book(&b, CGP_CLASS_BURSTABLE, &s, 0);
	admit_book(&b, CGP_CLASS_GUARANTEED, &g, 1);
	admit_book(&b, CGP_CLASS_BESTEFFORT, &e, 0);
	assert_true(b.reserved.cpu_mc == 2500 && b.reserved.mem == 3 * GIB);
	assert_true(b.shared_mc == 3000 && b.shared_reserved_mc == 1500);
	assert_true(b.be_admitted.cpu_mc == 100 && b.be_admitted.mem == MIB);
	admit_unbook(&b, CGP_CLASS_BESTEFFORT, &e, 0);
	admit_unbook(&b, CGP_CLASS_BURSTABLE, &s, 0);
	admit_unbook(&b, CGP_CLASS_GUARANTEED, &g, 1);
	assert_memory_equal(&b, &orig, sizeof(b));
	/* unbooking more than was booked stops at 0 */
	admit_unbook(&b, CGP_CLASS_BURSTABLE, &s, 0);
	assert_true(b.reserved.cpu_mc == 0 && b.reserved.mem == 0 && b.shared_reserved_mc == 0);
}

/* Slack */

static struct slack_conf conf_of(uint64_t half_life_ns, uint32_t margin_pct)
{
	return (struct slack_conf){ .half_life_ns = half_life_ns, .margin_pct = margin_pct };
}

static void test_slack_defaults(void **state)
{
	struct slack_conf c;

	(void)state;
	memset(&c, 0xff, sizeof(c));
	slack_conf_defaults(&c);
	assert_true(c.half_life_ns == 30 * SEC);
	assert_int_equal(c.margin_pct, 10);
}

static void test_slack_before_first_sample(void **state)
{
	struct res_vec alloc = { 4000, 8 * GIB }, reserved = { 0, 0 }, s;
	struct slack_est e = { 0 };
	struct slack_conf c = conf_of(10 * SEC, 10);

	(void)state;
	/* nothing known yet: 0, even on an idle node with nothing reserved */
	s = slack_update(&e, &c, 5 * SEC, &alloc, &reserved, NULL);
	assert_true(s.cpu_mc == 0 && s.mem == 0);
	assert_true(e.last_ns == 0);
	/* the first sample is known at once */
	s = slack_update(&e, &c, 5 * SEC, &alloc, &reserved, &(struct res_vec){ 0, 0 });
	assert_true(s.cpu_mc == 4000 && s.mem == 8 * GIB);
	assert_true(e.last_ns == 5 * SEC);
	/* a sample at time 0 is still a sample */
	e = (struct slack_est){ 0 };
	s = slack_update(&e, &c, 0, &alloc, &reserved, &(struct res_vec){ 0, 0 });
	assert_true(s.cpu_mc == 4000 && e.last_ns != 0);
}

static void test_slack_margin(void **state)
{
	struct res_vec alloc = { 4000, 8 * GIB }, reserved = { 3000, 6 * GIB }, s;
	struct slack_est e = { 0 };
	struct slack_conf c;

	(void)state;
	slack_conf_defaults(&c);
	/* use 1000 mc counts 1100; 2 GiB counts 2362232012.8, rounded up */
	s = slack_update(&e, &c, SEC, &alloc, &reserved, &(struct res_vec){ 1000, 2 * GIB });
	assert_true(s.cpu_mc == 2900);
	assert_true(s.mem == 8 * GIB - 2362232013ULL);
	/* NULL conf: the defaults */
	e = (struct slack_est){ 0 };
	s = slack_update(&e, NULL, SEC, &alloc, &reserved, &(struct res_vec){ 1000, 2 * GIB });
	assert_true(s.cpu_mc == 2900);
	/* 50%: 1000 counts 1500 */
	c = conf_of(10 * SEC, 50);
	e = (struct slack_est){ 0 };
	s = slack_update(&e, &c, SEC, &alloc, &reserved, &(struct res_vec){ 1000, GIB });
	assert_true(s.cpu_mc == 2500 && s.mem == 8 * GIB - GIB - GIB / 2);
	/* the margin never counts more than reserved: 2500 * 1.5 is capped at 3000 */
	s = slack_update(&e, &c, 2 * SEC, &alloc, &reserved, &(struct res_vec){ 2500, GIB });
	assert_true(s.cpu_mc == 1000);
}

static void test_slack_spike(void **state)
{
	struct res_vec alloc = { 4000, 8 * GIB }, reserved = { 4000, 8 * GIB }, s;
	struct slack_est e = { 0 };
	struct slack_conf c = conf_of(30 * SEC, 0);

	(void)state;
	s = slack_update(&e, &c, SEC, &alloc, &reserved, &(struct res_vec){ 1000, GIB });
	assert_true(s.cpu_mc == 3000 && s.mem == 7 * GIB);
	/* a spike counts at once, however short the time since */
	s = slack_update(&e, &c, SEC + 1, &alloc, &reserved, &(struct res_vec){ 3500, 6 * GIB });
	assert_true(s.cpu_mc == 500 && s.mem == 2 * GIB);
	/* and goes slowly: 1 ms later, nearly all of it still counts */
	s = slack_update(&e, &c, SEC + 1000000, &alloc, &reserved, &(struct res_vec){ 0, 0 });
	assert_true(s.cpu_mc >= 500 && s.cpu_mc <= 501);
}

static void test_slack_decay(void **state)
{
	struct res_vec alloc = { 4000, 8 * GIB }, reserved = { 4000, 8 * GIB }, s;
	struct slack_est e = { 0 };
	struct slack_conf c = conf_of(10 * SEC, 0);
	uint64_t t = 100 * SEC;

	(void)state;
	s = slack_update(&e, &c, t, &alloc, &reserved, &(struct res_vec){ 2000, 4 * GIB });
	assert_true(s.cpu_mc == 2000 && s.mem == 4 * GIB);
	/* one half-life after the use dropped to 0, half of it still counts */
	t += 10 * SEC;
	s = slack_update(&e, &c, t, &alloc, &reserved, &(struct res_vec){ 0, 0 });
	assert_true(s.cpu_mc == 3000 && s.mem == 6 * GIB);
	/* two: a quarter */
	t += 10 * SEC;
	s = slack_update(&e, &c, t, &alloc, &reserved, &(struct res_vec){ 0, 0 });
	assert_true(s.cpu_mc == 3500 && s.mem == 7 * GIB);
	/* half a half-life: 500 * 2^-0.5 = 353.55 counts, rounded up */
	t += 5 * SEC;
	s = slack_update(&e, &c, t, &alloc, &reserved, &(struct res_vec){ 0, 0 });
	assert_true(s.cpu_mc == 4000 - 354);
	/* the same in many small steps */
	e = (struct slack_est){ 0 };
	t = SEC;
	slack_update(&e, &c, t, &alloc, &reserved, &(struct res_vec){ 2000, 0 });
	for (unsigned i = 0; i < 100; i++) {
		t += SEC / 10;
		s = slack_update(&e, &c, t, &alloc, &reserved, &(struct res_vec){ 0, 0 });
	}
	assert_true(near(e.cpu_mc, 1000.0, 1e-6));
	assert_true(s.cpu_mc == 3000);
	/* a long time later, all gone */
	t += 3600 * SEC;
	s = slack_update(&e, &c, t, &alloc, &reserved, &(struct res_vec){ 0, 0 });
	assert_true(s.cpu_mc == 4000);
	/* time going back changes nothing but the current use */
	s = slack_update(&e, &c, t - SEC, &alloc, &reserved, &(struct res_vec){ 100, 0 });
	assert_true(s.cpu_mc == 3900);
	/* half-life 0: no memory at all */
	c = conf_of(0, 0);
	s = slack_update(&e, &c, t + 1, &alloc, &reserved, &(struct res_vec){ 0, 0 });
	assert_true(s.cpu_mc == 4000);
}

static void test_slack_bounds(void **state)
{
	struct slack_conf c = conf_of(30 * SEC, 10);
	struct slack_est e = { 0 };
	struct res_vec alloc = { 1000, GIB }, reserved = { 2000, 2 * GIB }, s;
	uint64_t x = 12345, t = SEC;

	(void)state;
	/* reserved past allocatable, used past both: 0, not negative */
	s = slack_update(&e, &c, t, &alloc, &reserved, &(struct res_vec){ 5000, 5 * GIB });
	assert_true(s.cpu_mc == 0 && s.mem == 0);
	s = slack_update(&e, &c, t, &alloc, &reserved, &(struct res_vec){ UINT64_MAX, UINT64_MAX });
	assert_true(s.cpu_mc == 0 && s.mem == 0);
	/* nothing used: all of allocatable, never more */
	e = (struct slack_est){ 0 };
	s = slack_update(&e, &c, t, &alloc, &(struct res_vec){ 0, 0 }, &(struct res_vec){ 0, 0 });
	assert_true(s.cpu_mc == 1000 && s.mem == GIB);
	/* anything in between stays within [0, alloc] */
	e = (struct slack_est){ 0 };
	for (unsigned i = 0; i < 10000; i++) {
		struct res_vec r, u;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		r = (struct res_vec){ (x >> 33) % 3000, (x >> 20) % (3 * GIB) };
		u = (struct res_vec){ (x >> 11) % 4000, (x >> 7) % (4 * GIB) };
		t += (x >> 40) % (5 * SEC);
		s = slack_update(&e, &c, t, &alloc, &r, &u);
		assert_true(s.cpu_mc <= alloc.cpu_mc && s.mem <= alloc.mem);
		/* and at least what nobody reserved */
		if (r.cpu_mc < alloc.cpu_mc)
			assert_true(s.cpu_mc >= alloc.cpu_mc - r.cpu_mc);
	}
}

/* DRF queue */

struct drf_fixture {
	struct drf_queue d;
	struct res_vec alloc;
};

static int drf_setup(void **state)
{
	struct drf_fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	drf_init(&f->d);
	f->alloc = (struct res_vec){ .cpu_mc = 10000, .mem = 100 * GIB };
	*state = f;
	return 0;
}

static int drf_teardown(void **state)
{
	struct drf_fixture *f = *state;

	drf_free(&f->d);
	drf_free(NULL);
	free(f);
	return 0;
}

static void enqueue(struct drf_queue *d, uint64_t id, const char *tenant, int32_t priority)
{
	struct drf_entry e = { .id = id, .class = CGP_CLASS_BURSTABLE };

	snprintf(e.tenant, sizeof(e.tenant), "%s", tenant);
	e.spec.priority = priority;
	e.spec.cpu_request_mc = 100;
	e.enqueued_ns = id * SEC;
	assert_int_equal(drf_enqueue(d, &e), 0);
}

/* The queue's ids in try order, as "1 2 3". */
static const char *order_of(struct drf_fixture *f, unsigned n, char *buf, size_t len)
{
	unsigned order[64], k;
	size_t off = 0;

	k = drf_order(&f->d, &f->alloc, order, n);
	buf[0] = '\0';
	for (unsigned i = 0; i < k; i++)
		off += snprintf(buf + off, len - off, "%s%llu", i ? " " : "",
				(unsigned long long)f->d.q[order[i]].id);
	return buf;
}

static void test_drf_weighted_order(void **state)
{
	struct drf_fixture *f = *state;
	char buf[256];

	/* a holds 30% of the CPU, b 40% of the memory: a is served first */
	assert_int_equal(drf_charge(&f->d, "a", &(struct res_vec){ 3000, 10 * GIB }), 0);
	assert_int_equal(drf_charge(&f->d, "b", &(struct res_vec){ 1000, 40 * GIB }), 0);
	assert_true(near(drf_share(&f->d, "a", &f->alloc), 0.3, 1e-12));
	assert_true(near(drf_share(&f->d, "b", &f->alloc), 0.4, 1e-12));
	enqueue(&f->d, 1, "b", 0);
	enqueue(&f->d, 2, "a", 0);
	enqueue(&f->d, 3, "b", 0);
	enqueue(&f->d, 4, "a", 0);
	assert_string_equal(order_of(f, 64, buf, sizeof(buf)), "2 4 1 3");
	/* weight 2 halves b's share to 0.2: b first */
	assert_int_equal(drf_set_weight(&f->d, "b", 2), 0);
	assert_true(near(drf_share(&f->d, "b", &f->alloc), 0.2, 1e-12));
	assert_string_equal(order_of(f, 64, buf, sizeof(buf)), "1 3 2 4");
	/* a admitted more: its share grows and b stays ahead */
	assert_int_equal(drf_charge(&f->d, "a", &(struct res_vec){ 1000, 0 }), 0);
	assert_string_equal(order_of(f, 64, buf, sizeof(buf)), "1 3 2 4");
	/* a released: a's share falls to 0.1, ahead again */
	drf_refund(&f->d, "a", &(struct res_vec){ 3000, 0 });
	assert_true(near(drf_share(&f->d, "a", &f->alloc), 0.1, 1e-12));
	assert_string_equal(order_of(f, 64, buf, sizeof(buf)), "2 4 1 3");
	/* an unknown tenant has nothing: first of all */
	assert_true(drf_share(&f->d, "c", &f->alloc) == 0.0);
	enqueue(&f->d, 5, "c", 0);
	assert_string_equal(order_of(f, 64, buf, sizeof(buf)), "5 2 4 1 3");
}

static void test_drf_ties(void **state)
{
	struct drf_fixture *f = *state;
	char buf[256];

	/* equal weighted shares: 0.2 held at weight 1, 0.4 held at weight 2 */
	assert_int_equal(drf_charge(&f->d, "x", &(struct res_vec){ 2000, 0 }), 0);
	assert_int_equal(drf_charge(&f->d, "y", &(struct res_vec){ 0, 40 * GIB }), 0);
	assert_int_equal(drf_set_weight(&f->d, "y", 2), 0);
	assert_true(
		near(drf_share(&f->d, "x", &f->alloc), drf_share(&f->d, "y", &f->alloc), 1e-12));
	/* then higher priority first, then arrival */
	enqueue(&f->d, 1, "x", 0);
	enqueue(&f->d, 2, "y", 0);
	enqueue(&f->d, 3, "y", 5);
	enqueue(&f->d, 4, "x", 5);
	enqueue(&f->d, 5, "x", -1);
	assert_string_equal(order_of(f, 64, buf, sizeof(buf)), "3 4 1 2 5");
	/* within one tenant too */
	assert_int_equal(drf_charge(&f->d, "x", &(struct res_vec){ 1000, 0 }), 0);
	assert_string_equal(order_of(f, 64, buf, sizeof(buf)), "3 2 4 1 5");
	/* fewer slots than entries: the first ones of the same order */
	assert_string_equal(order_of(f, 2, buf, sizeof(buf)), "3 2");
	assert_string_equal(order_of(f, 4, buf, sizeof(buf)), "3 2 4 1");
	assert_string_equal(order_of(f, 0, buf, sizeof(buf)), "");
}

static void test_drf_cancel(void **state)
{
	struct drf_fixture *f = *state;
	const struct drf_entry *e;
	char buf[256];

	enqueue(&f->d, 10, "", 0);
	enqueue(&f->d, 11, "", 0);
	enqueue(&f->d, 12, "", 0);
	enqueue(&f->d, 13, "", 1);
	assert_string_equal(order_of(f, 64, buf, sizeof(buf)), "13 10 11 12");
	e = drf_find(&f->d, 11);
	assert_non_null(e);
	assert_true(e->seq == 2 && e->enqueued_ns == 11 * SEC);
	assert_string_equal(e->tenant, "");
	assert_int_equal(drf_remove(&f->d, 11), 0);
	assert_null(drf_find(&f->d, 11));
	assert_int_equal(drf_remove(&f->d, 11), -ENOENT);
	assert_int_equal(f->d.n, 3);
	assert_string_equal(order_of(f, 64, buf, sizeof(buf)), "13 10 12");
	/* requeued, it goes to the back */
	enqueue(&f->d, 11, "", 0);
	assert_string_equal(order_of(f, 64, buf, sizeof(buf)), "13 10 12 11");
	assert_int_equal(drf_remove(&f->d, 13), 0);
	assert_int_equal(drf_remove(&f->d, 11), 0);
	assert_string_equal(order_of(f, 64, buf, sizeof(buf)), "10 12");
	assert_int_equal(drf_remove(&f->d, 10), 0);
	assert_int_equal(drf_remove(&f->d, 12), 0);
	assert_int_equal(f->d.n, 0);
	assert_string_equal(order_of(f, 64, buf, sizeof(buf)), "");
	assert_int_equal(drf_remove(&f->d, 12), -ENOENT);
}

static void test_drf_duplicate(void **state)
{
	struct drf_fixture *f = *state;
	struct drf_entry e = { .id = 7, .tenant = "t" };

	assert_int_equal(drf_enqueue(&f->d, &e), 0);
	e.spec.priority = 9;
	assert_int_equal(drf_enqueue(&f->d, &e), -EEXIST);
	assert_int_equal(f->d.n, 1);
	assert_int_equal(drf_find(&f->d, 7)->spec.priority, 0);
	/* a tenant name that is not a string */
	memset(e.tenant, 'x', sizeof(e.tenant));
	e.id = 8;
	assert_int_equal(drf_enqueue(&f->d, &e), -EINVAL);
	assert_int_equal(f->d.n, 1);
}

/* Tenants with nothing left are forgotten unless weighted or waiting. */
static void test_drf_forget(void **state)
{
	struct drf_fixture *f = *state;
	struct res_vec r = { 100, 1000 };
	struct drf_entry e = { .id = 7 };

	assert_int_equal(drf_charge(&f->d, "gone", &r), 0);
	assert_int_equal(drf_charge(&f->d, "heavy", &r), 0);
	assert_int_equal(drf_set_weight(&f->d, "heavy", 3), 0);
	assert_int_equal(drf_charge(&f->d, "waits", &r), 0);
	snprintf(e.tenant, sizeof(e.tenant), "waits");
	assert_int_equal(drf_enqueue(&f->d, &e), 0);
	assert_int_equal(f->d.nt, 3);
	drf_refund(&f->d, "gone", &r);
	drf_refund(&f->d, "heavy", &r);
	drf_refund(&f->d, "waits", &r);
	assert_int_equal(f->d.nt, 2);
	for (unsigned i = 0; i < f->d.nt; i++)
		assert_true(strcmp(f->d.t[i].name, "gone") != 0);
	assert_true(drf_share(&f->d, "heavy", &f->alloc) == 0);
}

static void test_drf_weights(void **state)
{
	struct drf_fixture *f = *state;
	char long_name[100];

	assert_int_equal(drf_set_weight(&f->d, "a", 0), -EINVAL);
	assert_int_equal(drf_set_weight(&f->d, "a", -1), -EINVAL);
	assert_int_equal(drf_set_weight(&f->d, "a", 1e6 + 1), -EINVAL);
	assert_int_equal(drf_set_weight(&f->d, "a", NAN), -EINVAL);
	assert_int_equal(drf_set_weight(&f->d, "a", INFINITY), -EINVAL);
	assert_int_equal(f->d.nt, 0);
	assert_int_equal(drf_set_weight(&f->d, "a", 1e6), 0);
	assert_int_equal(drf_set_weight(&f->d, "a", 0.5), 0);
	assert_int_equal(f->d.nt, 1);
	assert_true(f->d.t[0].weight == 0.5);
	/* weight 0.5 doubles the share */
	assert_int_equal(drf_charge(&f->d, "a", &(struct res_vec){ 1000, 0 }), 0);
	assert_true(near(drf_share(&f->d, "a", &f->alloc), 0.2, 1e-12));
	/* refunds stop at 0, and unknown tenants are ignored */
	drf_refund(&f->d, "a", &(struct res_vec){ 5000, GIB });
	assert_true(drf_share(&f->d, "a", &f->alloc) == 0.0);
	drf_refund(&f->d, "nobody", &(struct res_vec){ 5000, GIB });
	assert_int_equal(f->d.nt, 1);
	/* no allocatable of a resource: it does not count */
	assert_int_equal(drf_charge(&f->d, "a", &(struct res_vec){ 1000, GIB }), 0);
	assert_true(near(drf_share(&f->d, "a", &(struct res_vec){ 0, 10 * GIB }), 0.2, 1e-12));
	assert_true(drf_share(&f->d, "a", &(struct res_vec){ 0, 0 }) == 0.0);
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(drf_set_weight(&f->d, long_name, 1), -EINVAL);
	assert_int_equal(drf_charge(&f->d, long_name, &(struct res_vec){ 1, 1 }), -EINVAL);
}

static void test_drf_many(void **state)
{
	struct drf_fixture *f = *state;
	unsigned *order, k;
	char tenant[16];

	/* growth past the first allocations; the order is a permutation */
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(tenant, sizeof(tenant), "t%u", i % 37);
		if (i % 3 == 0)
			assert_int_equal(drf_charge(&f->d, tenant, &(struct res_vec){ i, i * MIB }),
					 0);
		enqueue(&f->d, i + 1, tenant, (int32_t)(i % 5));
	}
	assert_int_equal(f->d.n, 1000);
	order = calloc(1000, sizeof(*order));
	assert_non_null(order);
	k = drf_order(&f->d, &f->alloc, order, 1000);
	assert_int_equal(k, 1000);
	for (unsigned i = 1; i < k; i++) {
		const struct drf_entry *a = &f->d.q[order[i - 1]], *b = &f->d.q[order[i]];
		double sa = drf_share(&f->d, a->tenant, &f->alloc);
		double sb = drf_share(&f->d, b->tenant, &f->alloc);

		assert_true(sa <= sb + 1e-12);
		if (sa == sb && a->spec.priority == b->spec.priority)
			assert_true(a->seq < b->seq);
	}
	free(order);
	for (unsigned i = 0; i < 1000; i += 2)
		assert_int_equal(drf_remove(&f->d, i + 1), 0);
	assert_int_equal(f->d.n, 500);
	assert_non_null(drf_find(&f->d, 2));
	assert_null(drf_find(&f->d, 1));
}

/* The daemon's loop in small: try in DRF order, admit what fits, the large one keeps its place. */
static void test_drf_backfill(void **state)
{
	struct drf_fixture *f = *state;
	struct admit_books b = busy_node(); /* 1000 mc and 1 GiB free */
	struct drf_entry big = {
		.id = 1, .tenant = "a", .class = CGP_CLASS_BURSTABLE, .spec = req(2000, GIB)
	};
	struct drf_entry small = {
		.id = 2, .tenant = "a", .class = CGP_CLASS_BURSTABLE, .spec = req(500, GIB / 2)
	};
	unsigned order[4], k, admitted = 0;
	uint64_t admitted_id = 0;

	f->alloc = b.alloc;
	assert_int_equal(drf_enqueue(&f->d, &big), 0);
	assert_int_equal(drf_enqueue(&f->d, &small), 0);
	k = drf_order(&f->d, &f->alloc, order, 4);
	assert_int_equal(k, 2);
	for (unsigned i = 0; i < k; i++) {
		const struct drf_entry *e = &f->d.q[order[i]];
		struct res_vec r = { e->spec.cpu_request_mc, e->spec.mem_request };

		if (admit_decide(&b, e->class, &e->spec, 0, NULL, 0) != ADMIT_FITS)
			continue;
		admit_book(&b, e->class, &e->spec, 0);
		assert_int_equal(drf_charge(&f->d, e->tenant, &r), 0);
		/* removed after the loop: removal moves the entries the indexes point at */
		admitted_id = e->id;
		admitted++;
	}
	assert_int_equal(admitted, 1);
	assert_true(admitted_id == 2);
	assert_int_equal(drf_remove(&f->d, admitted_id), 0);
	assert_int_equal(f->d.n, 1);
	assert_non_null(drf_find(&f->d, 1));
	assert_true(b.reserved.cpu_mc == 3500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exactly_full),
		cmocka_unit_test(test_over_by_one_byte),
		cmocka_unit_test(test_over_by_one_millicore),
		cmocka_unit_test(test_zero_requests),
		cmocka_unit_test(test_unknown_class),
		cmocka_unit_test(test_besteffort_zero_slack),
		cmocka_unit_test(test_besteffort_slack),
		cmocka_unit_test(test_exclusive_shrinks_pool),
		cmocka_unit_test(test_exclusive_smt),
		cmocka_unit_test(test_shared_pool_tighter),
		cmocka_unit_test(test_never),
		cmocka_unit_test(test_book_unbook),
		cmocka_unit_test(test_slack_defaults),
		cmocka_unit_test(test_slack_before_first_sample),
		cmocka_unit_test(test_slack_margin),
		cmocka_unit_test(test_slack_spike),
		cmocka_unit_test(test_slack_decay),
		cmocka_unit_test(test_slack_bounds),
		cmocka_unit_test_setup_teardown(test_drf_weighted_order, drf_setup, drf_teardown),
		cmocka_unit_test_setup_teardown(test_drf_ties, drf_setup, drf_teardown),
		cmocka_unit_test_setup_teardown(test_drf_cancel, drf_setup, drf_teardown),
		cmocka_unit_test_setup_teardown(test_drf_duplicate, drf_setup, drf_teardown),
		cmocka_unit_test_setup_teardown(test_drf_forget, drf_setup, drf_teardown),
		cmocka_unit_test_setup_teardown(test_drf_weights, drf_setup, drf_teardown),
		cmocka_unit_test_setup_teardown(test_drf_many, drf_setup, drf_teardown),
		cmocka_unit_test_setup_teardown(test_drf_backfill, drf_setup, drf_teardown),
	};

	return cmocka_run_group_tests_name("admit", tests, NULL, NULL);
}
