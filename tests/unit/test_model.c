// SPDX-License-Identifier: Apache-2.0
/* daemon/model.c: the cgroup table, BPF events applied to it, rates. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "unit.h"

static int setup(void **state)
{
	struct model *m = model__new();

	if (!m)
		return -1;
	*state = m;
	return 0;
}

static int teardown(void **state)
{
	model__free(*state);
	return 0;
}

static struct cg *add(struct model *m, uint64_t id, const char *path, int want)
{
	struct cg *c = NULL;

	assert_int_equal(model__add(m, id, path, &c), want);
	assert_non_null(c);
	return c;
}

static void test_add_find(void **state)
{
	struct model *m = *state;
	struct cg *a, *b;

	assert_int_equal(model__count(m), 0);
	assert_null(model__find(m, 1));
	assert_null(model__find_path(m, ""));
	a = add(m, 1, "", 1);
	b = add(m, 42, "system.slice", 1);
	assert_int_equal(model__count(m), 2);
	assert_ptr_equal(model__find(m, 1), a);
	assert_ptr_equal(model__find(m, 42), b);
	assert_null(model__find(m, 43));
	assert_ptr_equal(model__find_path(m, ""), a);
	assert_ptr_equal(model__find_path(m, "system.slice"), b);
	assert_null(model__find_path(m, "system"));
	assert_string_equal(cg_display_path(a), "/");
	assert_string_equal(cg_display_path(b), "system.slice");
	assert_true(b->id == 42);
	assert_true(b->slot == -1);
	assert_int_equal(b->active, 0);
	assert_true(b->dead_ns == 0);
	/* NULL ret is allowed */
	assert_int_equal(model__add(m, 7, "x", NULL), 1);
	assert_non_null(model__find(m, 7));
}

static void test_add_existing_updates(void **state)
{
	struct model *m = *state;
	struct cg *a = add(m, 5, "old", 1);

	a->slot = 3;
	assert_ptr_equal(add(m, 5, "old", 0), a);
	assert_ptr_equal(add(m, 5, "renamed", 0), a);
	assert_int_equal(model__count(m), 1);
	assert_string_equal(a->path, "renamed");
	assert_true(a->slot == 3);
	assert_null(model__find_path(m, "old"));
	assert_ptr_equal(model__find_path(m, "renamed"), a);
}

static void test_remove(void **state)
{
	struct model *m = *state;

	add(m, 1, "a", 1);
	add(m, 2, "b", 1);
	model__remove(m, 1);
	assert_null(model__find(m, 1));
	assert_null(model__find_path(m, "a"));
	assert_non_null(model__find(m, 2));
	assert_int_equal(model__count(m), 1);
	model__remove(m, 1);
	model__remove(m, 999);
	assert_int_equal(model__count(m), 1);
	/* the id may come back */
	add(m, 1, "a2", 1);
	assert_int_equal(model__count(m), 2);
}

static uint64_t id_of(unsigned i)
{
	/* inode-like ids: large, clustered, not multiples of the bucket count */
	return 0x100000000ULL + (uint64_t)i * 4099;
}

static void test_growth(void **state)
{
	struct model *m = *state;
	const unsigned n = 12000;
	char path[64];

	for (unsigned i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "kubepods/pod%u/c", i);
		assert_int_equal(model__add(m, id_of(i), path, NULL), 1);
	}
	assert_int_equal(model__count(m), n);
	for (unsigned i = 0; i < n; i++) {
		struct cg *c = model__find(m, id_of(i));

		snprintf(path, sizeof(path), "kubepods/pod%u/c", i);
		assert_non_null(c);
		assert_string_equal(c->path, path);
	}
	assert_ptr_equal(model__find_path(m, "kubepods/pod11999/c"), model__find(m, id_of(11999)));
	for (unsigned i = 0; i < n; i += 2)
		model__remove(m, id_of(i));
	assert_int_equal(model__count(m), n / 2);
	for (unsigned i = 0; i < n; i++)
		assert_true((model__find(m, id_of(i)) != NULL) == (i % 2 == 1));
}

static void expect_sorted(struct model *m, const char *const *want, unsigned nwant)
{
	unsigned n = 12345;
	struct cg **s = model__sorted(m, &n);

	assert_non_null(s);
	assert_int_equal(n, nwant);
	for (unsigned i = 0; i < n; i++)
		assert_string_equal(s[i]->path, want[i]);
}

static void test_sorted(void **state)
{
	static const char *const ins[] = { "b", "a/b", "", "c", "a", "a/a", "a b" };
	static const char *const want1[] = { "", "a", "a b", "a/a", "a/b", "b", "c" };
	static const char *const want2[] = { "", "a", "a b", "a/a", "a/b", "aa", "c" };
	static const char *const want3[] = { "", "a", "a b", "a/b", "aa", "c" };
	struct model *m = *state;
	unsigned n = 99;

	assert_non_null(model__sorted(m, &n));
	assert_int_equal(n, 0);
	for (unsigned i = 0; i < 7; i++)
		add(m, 100 + i, ins[i], 1);
	expect_sorted(m, want1, 7);
	/* a rename, then a removal, show in the next call */
	add(m, 100, "aa", 0);
	expect_sorted(m, want2, 7);
	model__remove(m, 105);
	expect_sorted(m, want3, 6);
}

static struct cgp_event ev(uint32_t type, uint64_t cgid, const char *path)
{
	struct cgp_event e = { .type = type, .cgid = cgid, .ts_ns = 1 };

	if (path)
		strncpy(e.path, path, sizeof(e.path));
	return e;
}

static void test_mkdir(void **state)
{
	struct model *m = *state;
	struct cgp_event e = ev(CGP_EV_CGROUP_MKDIR, 10, "/system.slice/a b.service");
	struct cg *c = model__apply_event(m, &e, 100);

	assert_non_null(c);
	assert_ptr_equal(model__find(m, 10), c);
	assert_string_equal(c->path, "system.slice/a b.service");
	e = ev(CGP_EV_CGROUP_MKDIR, 11, "//x/y");
	assert_string_equal(model__apply_event(m, &e, 100)->path, "x/y");
	e = ev(CGP_EV_CGROUP_MKDIR, 12, "rel");
	assert_string_equal(model__apply_event(m, &e, 100)->path, "rel");
	e = ev(CGP_EV_CGROUP_MKDIR, 13, "/");
	assert_string_equal(model__apply_event(m, &e, 100)->path, "");
	assert_int_equal(model__count(m), 4);
}

static void test_mkdir_full_path(void **state)
{
	struct model *m = *state;
	struct cgp_event e = ev(CGP_EV_CGROUP_MKDIR, 20, NULL);
	struct cg *c;

	/* CGP_PATH_MAX bytes, no NUL: nothing past the field is read */
	memset(e.path, 'p', CGP_PATH_MAX);
	c = model__apply_event(m, &e, 1);
	assert_non_null(c);
	assert_int_equal(strlen(c->path), CGP_PATH_MAX);
	/* a full buffer may be a cut path: the daemon resolves it by id */
	assert_true(c->path_partial);
	/* shown apart from any real name, and not found by its cut path */
	assert_non_null(strstr(cg_display_path(c), "%00(cut, id 20)"));
	assert_null(model__find_path(m, c->path));
	e.cgid = 21;
	e.path[0] = '/';
	c = model__apply_event(m, &e, 1);
	assert_int_equal(strlen(c->path), CGP_PATH_MAX - 1);
	assert_int_equal(c->path[0], 'p');
	/* the resolved path replaces it, and is found by path */
	assert_int_equal(model__set_path(m, c, "a/much/longer/path"), 0);
	assert_false(c->path_partial);
	assert_ptr_equal(model__find_path(m, "a/much/longer/path"), c);
	/* a short path fits: not partial */
	e = ev(CGP_EV_CGROUP_MKDIR, 22, "/short");
	assert_false(model__apply_event(m, &e, 1)->path_partial);
}

static void test_dead_fifo(void **state)
{
	struct model *m = *state;
	struct cg *a = add(m, 1, "a", 1), *b = add(m, 2, "b", 1), *c = add(m, 3, "c", 1);

	assert_null(model__oldest_dead(m, UINT64_MAX));
	model__mark_dead(m, b, 100);
	model__mark_dead(m, a, 200);
	model__mark_dead(m, c, 300);
	model__mark_dead(m, b, 400); /* already dead: keeps its time and place */
	assert_true(b->dead_ns == 100);
	assert_null(model__oldest_dead(m, 99));
	assert_ptr_equal(model__oldest_dead(m, 100), b);
	/* a (dead at 200) comes back to life: it leaves the queue */
	assert_int_equal(model__add(m, 1, "a", NULL), 0);
	assert_true(a->dead_ns == 0);
	model__remove(m, 2);
	assert_ptr_equal(model__oldest_dead(m, UINT64_MAX), c);
	assert_null(model__oldest_dead(m, 299));
	model__remove(m, 3);
	assert_null(model__oldest_dead(m, UINT64_MAX));
	assert_int_equal(model__count(m), 1);
	/* and dies again later, at the end of the queue */
	model__mark_dead(m, a, 500);
	assert_ptr_equal(model__oldest_dead(m, 500), a);
}

/* Removal keeps the dense array exact: every cgroup once, indexes right. */
static void test_all_after_removals(void **state)
{
	struct model *m = *state;
	const unsigned n = 3000;
	struct cg *const *all;
	unsigned cnt, seen = 0;
	char path[32];

	for (unsigned i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "job%u", i);
		assert_int_equal(model__add(m, 1000 + i, path, NULL), 1);
	}
	for (unsigned i = 0; i < n; i += 2)
		model__remove(m, 1000 + i);
	all = model__all(m, &cnt);
	assert_int_equal(cnt, n / 2);
	for (unsigned i = 0; i < cnt; i++) {
		assert_int_equal(all[i]->idx, i);
		assert_true((all[i]->id - 1000) % 2 == 1);
		seen++;
	}
	assert_int_equal(seen, n / 2);
	for (unsigned i = 1; i < n; i += 2) {
		snprintf(path, sizeof(path), "job%u", i);
		assert_ptr_equal(model__find_path(m, path), model__find(m, 1000 + i));
		snprintf(path, sizeof(path), "job%u", i - 1);
		assert_null(model__find_path(m, path));
	}
}

/* One path, thousands of short-lived cgroups: the dead leave the path hash at
 * once, so the live one is found and removals stay exact. */
static void test_same_path_churn(void **state)
{
	struct model *m = *state;
	struct cg *c, *dead;

	for (unsigned i = 0; i < 20000; i++) {
		assert_int_equal(model__add(m, 5000 + i, "pods/same", &c), 1);
		assert_ptr_equal(model__find_path(m, "pods/same"), c);
		model__mark_dead(m, c, 10 + i);
		assert_null(model__find_path(m, "pods/same"));
	}
	assert_int_equal(model__count(m), 20000);
	while ((dead = model__oldest_dead(m, UINT64_MAX)))
		model__remove(m, dead->id);
	assert_int_equal(model__count(m), 0);
	/* a revived cgroup is found by path again, a removed one is not */
	c = add(m, 1, "x", 1);
	model__mark_dead(m, c, 1);
	assert_int_equal(model__add(m, 1, "x", NULL), 0);
	assert_ptr_equal(model__find_path(m, "x"), c);
	model__remove(m, 1);
	assert_null(model__find_path(m, "x"));
}

/* Names that are not UTF-8 get a display form; the raw path still finds them. */
static void test_display_names(void **state)
{
	struct model *m = *state;
	struct cg *bad = add(m, 1, "pods/\xff\xfe", 1), *pct = add(m, 2, "pods/%FF", 1);
	struct cg *ok = add(m, 3, "pods/caf\xc3\xa9", 1);

	assert_string_equal(cg_display_path(bad), "pods/%FF%FE");
	/* a literal '%' is encoded too, so the two never share a name */
	assert_string_equal(cg_display_path(pct), "pods/%25FF");
	assert_string_equal(cg_display_path(ok), "pods/caf\xc3\xa9");
	assert_null(ok->display);
	assert_ptr_equal(model__find_path(m, "pods/\xff\xfe"), bad);
	assert_int_equal(model__set_path(m, bad, "pods/fine"), 0);
	assert_null(bad->display);
	assert_string_equal(cg_display_path(bad), "pods/fine");
}

static void test_rmdir(void **state)
{
	struct model *m = *state;
	struct cgp_event mk = ev(CGP_EV_CGROUP_MKDIR, 30, "/a");
	struct cgp_event rm = ev(CGP_EV_CGROUP_RMDIR, 30, NULL);
	struct cg *c = model__apply_event(m, &mk, 10), *c2;

	assert_ptr_equal(model__apply_event(m, &rm, 500), c);
	assert_true(c->dead_ns == 500);
	/* still known by id (last figures), but no longer by path */
	assert_ptr_equal(model__find(m, 30), c);
	assert_null(model__find_path(m, "a"));
	assert_int_equal(model__count(m), 1);
	/* a second rmdir keeps the first time */
	model__apply_event(m, &rm, 900);
	assert_true(c->dead_ns == 500);
	/* the path comes back under a new id: that one is found */
	mk.cgid = 31;
	c2 = model__apply_event(m, &mk, 1000);
	assert_ptr_equal(model__find_path(m, "a"), c2);
	/* removed at time 0 still counts as removed */
	rm.cgid = 31;
	model__apply_event(m, &rm, 0);
	assert_true(c2->dead_ns != 0);
	assert_null(model__find_path(m, "a"));
	/* unknown id */
	rm.cgid = 77;
	assert_null(model__apply_event(m, &rm, 5));
	/* mkdir of a known id brings it back to life */
	mk.cgid = 30;
	assert_ptr_equal(model__apply_event(m, &mk, 2000), c);
	assert_true(c->dead_ns == 0);
}

static void test_onset_cleared_bits(void **state)
{
	struct model *m = *state;
	struct cg *c = add(m, 40, "p", 1);
	struct cgp_event e = ev(CGP_EV_ONSET, 40, NULL);

	e.signal = CGP_SIG_CPU;
	assert_ptr_equal(model__apply_event(m, &e, 1), c);
	assert_int_equal(c->active, 1u << CGP_SIG_CPU);
	e.signal = CGP_SIG_MEM;
	model__apply_event(m, &e, 1);
	assert_int_equal(c->active, (1u << CGP_SIG_CPU) | (1u << CGP_SIG_MEM));
	e.signal = CGP_SIG_MAX;
	model__apply_event(m, &e, 1);
	e.signal = 31;
	model__apply_event(m, &e, 1);
	assert_int_equal(c->active, (1u << CGP_SIG_CPU) | (1u << CGP_SIG_MEM));
	e.type = CGP_EV_CLEARED;
	e.signal = CGP_SIG_CPU;
	assert_ptr_equal(model__apply_event(m, &e, 1), c);
	assert_int_equal(c->active, 1u << CGP_SIG_MEM);
	model__apply_event(m, &e, 1);
	assert_int_equal(c->active, 1u << CGP_SIG_MEM);
	e.signal = CGP_SIG_MEM;
	model__apply_event(m, &e, 1);
	assert_int_equal(c->active, 0);
	e.cgid = 41;
	assert_null(model__apply_event(m, &e, 1));
	e.type = CGP_EV_ONSET;
	assert_null(model__apply_event(m, &e, 1));
}

static void test_other_events(void **state)
{
	struct model *m = *state;
	struct cg *c = add(m, 50, "o", 1);
	struct cgp_event e = ev(CGP_EV_OOM_KILL, 50, NULL);

	assert_ptr_equal(model__apply_event(m, &e, 1), c);
	e.cgid = 0;
	assert_null(model__apply_event(m, &e, 1));
	e = ev(0, 50, NULL);
	assert_null(model__apply_event(m, &e, 1));
	e = ev(CGP_EV_MAX, 50, NULL);
	assert_null(model__apply_event(m, &e, 1));
	assert_int_equal(c->active, 0);
	assert_true(c->dead_ns == 0);
}

#define NS 1000000000ULL

static void test_rates(void **state)
{
	struct cg_figures f = { 0 };
	struct cgp_cg_stats s = { 0 };

	s.oncpu_ns = 10 * NS;
	s.rq_delay_ns = 3 * NS;
	s.rq_hist[4] = 9;
	/* the first reading gives no rate */
	model_update_bpf(&f, &s, 100 * NS);
	assert_true(f.cpu_rate == 0 && f.cpu_wait_rate == 0 && f.reclaim_rate == 0);
	assert_true(f.iowait_rate == 0 && f.io_bytes_rate == 0);
	assert_true(f.bpf_ns == 100 * NS);
	assert_true(f.bpf.oncpu_ns == 10 * NS);
	assert_true(f.bpf.rq_hist[4] == 9);

	/* two seconds later */
	s.oncpu_ns += NS;
	s.rq_delay_ns += NS / 2;
	s.reclaim_ns += NS / 4;
	s.iowait_ns += 2 * NS;
	s.io_bytes[CGP_IO_READ] += 3000000;
	s.io_bytes[CGP_IO_WRITE] += 1000000;
	model_update_bpf(&f, &s, 102 * NS);
	assert_float_equal(f.cpu_rate, 0.5, 1e-9);
	assert_float_equal(f.cpu_wait_rate, 0.25, 1e-9);
	assert_float_equal(f.reclaim_rate, 0.125, 1e-9);
	assert_float_equal(f.iowait_rate, 1.0, 1e-9);
	assert_float_equal(f.io_bytes_rate, 2000000.0, 1e-3);
	assert_true(f.bpf_ns == 102 * NS);
}

static void test_rates_counters_backwards(void **state)
{
	struct cg_figures f = { 0 };
	struct cgp_cg_stats s = { 0 };

	s.oncpu_ns = 10 * NS;
	s.rq_delay_ns = 10 * NS;
	s.reclaim_ns = 10 * NS;
	s.iowait_ns = 10 * NS;
	s.io_bytes[CGP_IO_READ] = 1000;
	model_update_bpf(&f, &s, 1 * NS);
	/* a slot reused by a new cgroup starts from zero */
	memset(&s, 0, sizeof(s));
	s.oncpu_ns = NS / 10;
	model_update_bpf(&f, &s, 2 * NS);
	assert_true(f.cpu_rate == 0);
	assert_true(f.cpu_wait_rate == 0);
	assert_true(f.reclaim_rate == 0);
	assert_true(f.iowait_rate == 0);
	assert_true(f.io_bytes_rate == 0);
	/* and counts from there */
	s.oncpu_ns += NS / 10;
	model_update_bpf(&f, &s, 3 * NS);
	assert_float_equal(f.cpu_rate, 0.1, 1e-9);
	/* a reading at the same time divides by nothing */
	s.oncpu_ns += NS;
	model_update_bpf(&f, &s, 3 * NS);
	assert_true(isfinite(f.cpu_rate) && isfinite(f.io_bytes_rate));
}

/* Subtree sums: own plus descendants'; a root keeps what its retired
 * descendants counted, so its sums never go back. */
static void test_subtree_sums(void **state)
{
	struct model *m = model__new();
	struct cg *a, *b, *c, *x;
	struct cg_sums *s;

	(void)state;
	assert_int_equal(model__add(m, 1, "a", &a), 1);
	assert_int_equal(model__add(m, 2, "a/b", &b), 1);
	assert_int_equal(model__add(m, 3, "a/b/c", &c), 1);
	assert_int_equal(model__add(m, 4, "a-x", &x), 1); /* a prefix, not a child */
	a->fig.bpf.oncpu_ns = 1;
	b->fig.bpf.oncpu_ns = 10;
	c->fig.bpf.oncpu_ns = 100;
	c->fig.bpf.io_bytes[1] = 7;
	c->fig.oom_kills_user = 2;
	x->fig.bpf.oncpu_ns = 1000;
	assert_ptr_equal(model__parent(m, c), b);
	assert_ptr_equal(model__parent(m, b), a);
	assert_null(model__parent(m, a));
	assert_null(model__parent(m, x));
	assert_int_equal(model__make_root(m, a), 0);
	s = calloc(model__count(m), sizeof(*s));
	model__subtree_sums(m, s, false);
	assert_int_equal(s[a->idx].oncpu_ns, 111);
	assert_int_equal(s[b->idx].oncpu_ns, 110);
	assert_int_equal(s[c->idx].oncpu_ns, 100);
	assert_int_equal(s[x->idx].oncpu_ns, 1000);
	assert_int_equal(s[a->idx].io_bytes[1], 7);
	assert_int_equal(s[a->idx].oom_kills, 2);
	memset(s, 0, model__count(m) * sizeof(*s));
	model__subtree_sums(m, s, true); /* only roots */
	assert_int_equal(s[a->idx].oncpu_ns, 111);
	assert_int_equal(s[b->idx].oncpu_ns, 0);
	/* c dies and is retired: a keeps its figures, b (no root) does not */
	model__mark_dead(m, c, 5);
	model__remove(m, 3);
	assert_int_equal(a->gone->oncpu_ns, 100);
	free(s);
	s = calloc(model__count(m), sizeof(*s));
	model__subtree_sums(m, s, false);
	assert_int_equal(s[a->idx].oncpu_ns, 111);
	assert_int_equal(s[b->idx].oncpu_ns, 10);
	/* a rename re-finds the parent by path */
	assert_int_equal(model__set_path(m, b, "a-x/b"), 0);
	assert_ptr_equal(model__parent(m, b), x);
	free(s);
	model__free(m);
}

/* The sweep backs off from a cgroup whose files stay the same: passed by
 * 1, 3, then 7 times; at once back when its BPF counters move or a file
 * changed. */
static void test_sweep_backoff(void **state)
{
	struct cg_figures f = { 0 }, before;
	struct cgp_cg_stats st = { 0 };
	unsigned reads = 0;

	(void)state;
	f.psi_valid = f.usage_valid = true;
	f.usage_usec = 100;
	f.kernel_ns = 1;
	/* read at visits 0, 2, 6, 14, 22 and 30: then every 8th */
	for (unsigned v = 0; v < 31; v++) {
		if (!model_sweep_due(&f))
			continue;
		before = f;
		f.kernel_ns = 10 + v; /* read again: the same figures */
		model_sweep_note(&f, &before);
		reads++;
	}
	assert_int_equal(reads, 6);
	assert_int_equal(f.sweep_quiet, MODEL_SWEEP_QUIET_MAX);
	assert_int_equal(f.sweep_skip, 7);
	/* its tasks run: BPF says so, the next visit reads */
	st.oncpu_ns = 5;
	model_update_bpf(&f, &st, 100);
	assert_true(model_sweep_due(&f));
	assert_int_equal(f.sweep_skip, 0);
	/* a file that changed resets it */
	before = f;
	f.kernel_ns = 200;
	f.psi[PSI_MEMORY].some_us = 7;
	model_sweep_note(&f, &before);
	assert_int_equal(f.sweep_quiet, 0);
	assert_true(model_sweep_due(&f));
	/* the same BPF reading again is no movement */
	model_update_bpf(&f, &st, 300);
	assert_true(f.bpf_moved_ns == 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_add_find),
		T(test_add_existing_updates),
		T(test_remove),
		T(test_growth),
		T(test_sorted),
		T(test_mkdir),
		T(test_mkdir_full_path),
		T(test_rmdir),
		T(test_dead_fifo),
		T(test_all_after_removals),
		T(test_display_names),
		T(test_same_path_churn),
		T(test_onset_cleared_bits),
		T(test_other_events),
		cmocka_unit_test(test_subtree_sums),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_sweep_backoff),
		cmocka_unit_test(test_rates_counters_backwards),
#undef T
	};

	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
