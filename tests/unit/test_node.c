// SPDX-License-Identifier: Apache-2.0
/* daemon/policy/node.c: the node's allocatable from its topology and the reserve. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/node.h"
#include "unit.h"

#define GIB (1024ULL * 1024 * 1024)

/* A machine of @n CPUs numbered from @cpus (ascending), some offline. */
static struct topology *machine(const unsigned *cpus, unsigned n, const bool *online, uint64_t mem)
{
	struct topology *t = calloc(1, sizeof(*t));

	t->ncpus = n;
	t->cpus = calloc(n, sizeof(*t->cpus));
	for (unsigned i = 0; i < n; i++) {
		t->cpus[i].cpu = cpus[i];
		t->cpus[i].online = online ? online[i] : true;
	}
	t->memory_bytes = mem;
	return t;
}

static void free_machine(struct topology *t)
{
	free(t->cpus);
	free(t);
}

static void expect_cpus(const struct topo_cpuset *set, const char *want)
{
	char buf[64];

	assert_int_equal(topo_format_cpulist(set, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void test_no_reserve(void **state)
{
	static const unsigned cpus[] = { 0, 1, 2, 3 };
	struct topology *t = machine(cpus, 4, NULL, 8 * GIB);
	struct node_alloc a;
	char err[200];

	(void)state;
	assert_int_equal(node_alloc__compute(t, "", 0, &a, err, sizeof(err)), 0);
	expect_cpus(&a.cpus, "0-3");
	expect_cpus(&a.reserved_cpus, "");
	assert_true(a.memory_bytes == 8 * GIB && a.reserved_memory_bytes == 0);
	assert_true(node_alloc__millicores(&a) == 4000);
	node_alloc__free(&a);
	free_machine(t);
}

static void test_reserve_and_offline(void **state)
{
	/* odd numbering, CPU 5 offline: neither it nor the reserve is allocatable */
	static const unsigned cpus[] = { 0, 1, 4, 5, 8, 9 };
	static const bool online[] = { true, true, true, false, true, true };
	struct topology *t = machine(cpus, 6, online, 16 * GIB);
	struct node_alloc a;
	char err[200];

	(void)state;
	assert_int_equal(node_alloc__compute(t, "0-1", 2 * GIB, &a, err, sizeof(err)), 0);
	expect_cpus(&a.cpus, "4,8-9");
	expect_cpus(&a.reserved_cpus, "0-1");
	assert_true(a.memory_bytes == 14 * GIB && a.reserved_memory_bytes == 2 * GIB);
	assert_true(node_alloc__millicores(&a) == 3000);
	node_alloc__free(&a);
	free_machine(t);
}

static void test_bad_reserve(void **state)
{
	static const unsigned cpus[] = { 0, 1 };
	static const bool online[] = { true, false };
	struct topology *t = machine(cpus, 2, online, 4 * GIB);
	struct node_alloc a = { .memory_bytes = 42 };
	char err[200];

	(void)state;
	/* a CPU the machine lacks, named */
	assert_int_equal(node_alloc__compute(t, "0,7", 0, &a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "CPU 7"));
	/* the only online CPU reserved */
	assert_int_equal(node_alloc__compute(t, "0", 0, &a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no online CPU"));
	/* all the memory, or more */
	assert_int_equal(node_alloc__compute(t, "", 4 * GIB, &a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "reserved_memory"));
	assert_int_equal(node_alloc__compute(t, "x", 0, &a, err, sizeof(err)), -EINVAL);
	/* untouched on failure */
	assert_true(a.memory_bytes == 42);
	free_machine(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_reserve),
		cmocka_unit_test(test_reserve_and_offline),
		cmocka_unit_test(test_bad_reserve),
	};

	return cmocka_run_group_tests_name("node", tests, NULL, NULL);
}
