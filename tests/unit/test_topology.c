// SPDX-License-Identifier: Apache-2.0
/* lib/topology.c: cpulists, cache selection, meminfo, and a whole fake sysfs tree. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "topology.h"
#include "unit.h"
#include "util.h"

/* ---- cpulist ---- */

static void expect_cpulist(const char *text, const unsigned *want, unsigned n)
{
	struct topo_cpuset set = { 0 };

	if (topo_parse_cpulist(text, &set))
		fail_msg("'%s' refused", text);
	assert_int_equal(set.n, n);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(set.cpu[i], want[i]);
	topo_cpuset_free(&set);
}

static void test_cpulist_parse(void **state)
{
	static const unsigned a[] = { 0, 1, 2, 3, 8, 10, 11 }, b[] = { 5 }, c[] = { 0, 4 };

	expect_cpulist("0-3,8,10-11\n", a, ARRAY_SIZE(a));
	expect_cpulist("5", b, 1);
	expect_cpulist("0,4\n", c, 2);
	expect_cpulist("", NULL, 0);
	expect_cpulist("\n", NULL, 0);
}

static void test_cpulist_refused(void **state)
{
	static const char *const bad[] = { "a",	 "3-1",	  "1,",	 "1,,2", ",1",	   "1-", "1 2",
					   "-1", "0-3,2", "2,1", "8192", "0-8192", "1x", "0-2a" };
	unsigned sentinel = 42;

	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		struct topo_cpuset set = { .n = 7, .cpu = &sentinel };

		if (topo_parse_cpulist(bad[i], &set) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(set.n, 7);
		assert_ptr_equal(set.cpu, &sentinel);
	}
}

static void test_cpulist_format(void **state)
{
	static const char *const lists[] = { "0-3,8,10-11", "5", "0,2,4", "", "0-8191" };
	struct topo_cpuset set = { 0 };
	char buf[64];

	for (unsigned i = 0; i < ARRAY_SIZE(lists); i++) {
		assert_int_equal(topo_parse_cpulist(lists[i], &set), 0);
		assert_int_equal(topo_format_cpulist(&set, buf, sizeof(buf)), 0);
		assert_string_equal(buf, lists[i]);
		topo_cpuset_free(&set);
	}
	assert_int_equal(topo_parse_cpulist("0-3,8,10-11", &set), 0);
	assert_int_equal(topo_format_cpulist(&set, buf, 6), -ENOSPC);
	assert_string_equal(buf, "0-3,8");
	assert_true(topo_cpuset_has(&set, 8));
	assert_false(topo_cpuset_has(&set, 9));
	topo_cpuset_free(&set);
	assert_null(set.cpu);
}

/* ---- small files ---- */

static void test_parse_int(void **state)
{
	int v = 7;

	assert_int_equal(topo_parse_int("12\n", &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(topo_parse_int("-1\n", &v), 0);
	assert_int_equal(v, -1);
	assert_int_equal(topo_parse_int("", &v), -EINVAL);
	assert_int_equal(topo_parse_int("3 4", &v), -EINVAL);
	assert_int_equal(topo_parse_int("99999999999", &v), -EINVAL);
	assert_int_equal(v, -1);
}

static void test_cache_type(void **state)
{
	assert_int_equal(topo_parse_cache_type("Data\n"), TOPO_CACHE_DATA);
	assert_int_equal(topo_parse_cache_type("Instruction\n"), TOPO_CACHE_INSTRUCTION);
	assert_int_equal(topo_parse_cache_type("Unified"), TOPO_CACHE_UNIFIED);
	assert_int_equal(topo_parse_cache_type("Unifiedx"), TOPO_CACHE_UNKNOWN);
	assert_int_equal(topo_parse_cache_type(""), TOPO_CACHE_UNKNOWN);
}

static void test_pick_llc(void **state)
{
	const struct topo_cache x86[] = { { 1, TOPO_CACHE_DATA, 0 },
					  { 1, TOPO_CACHE_INSTRUCTION, 0 },
					  { 2, TOPO_CACHE_UNIFIED, 0 },
					  { 3, TOPO_CACHE_UNIFIED, 0 } };
	const struct topo_cache no_l3[] = { { 2, TOPO_CACHE_UNIFIED, 1 },
					    { 1, TOPO_CACHE_DATA, 1 } };
	const struct topo_cache icache[] = { { 1, TOPO_CACHE_INSTRUCTION, 0 },
					     { 4, TOPO_CACHE_UNKNOWN, 0 } };

	assert_int_equal(topo_pick_llc(x86, ARRAY_SIZE(x86)), 3);
	assert_int_equal(topo_pick_llc(no_l3, ARRAY_SIZE(no_l3)), 0);
	assert_int_equal(topo_pick_llc(icache, ARRAY_SIZE(icache)), -ENOENT);
	assert_int_equal(topo_pick_llc(NULL, 0), -ENOENT);
}

static const char meminfo[] = "MemTotalX:      1 kB\n"
			      "MemTotal:       16318412 kB\n"
			      "MemFree:         1202304 kB\n";
static const char node_meminfo[] = "Node 1 MemTotal:       8159206 kB\n"
				   "Node 1 MemFree:         601152 kB\n";

static void test_meminfo(void **state)
{
	uint64_t v = 7;

	assert_int_equal(topo_parse_meminfo(meminfo, "MemTotal", &v), 0);
	assert_int_equal(v, 16318412ULL * 1024);
	assert_int_equal(topo_parse_meminfo(meminfo, "MemFree", &v), 0);
	assert_int_equal(v, 1202304ULL * 1024);
	assert_int_equal(topo_parse_meminfo(node_meminfo, "MemTotal", &v), 0);
	assert_int_equal(v, 8159206ULL * 1024);
	v = 7;
	assert_int_equal(topo_parse_meminfo(meminfo, "SwapTotal", &v), -ENOENT);
	assert_int_equal(topo_parse_meminfo("MemTotal: lots\n", "MemTotal", &v), -EINVAL);
	assert_int_equal(topo_parse_meminfo("MemTotal: 12 MB\n", "MemTotal", &v), -EINVAL);
	assert_int_equal(topo_parse_meminfo("", "MemTotal", &v), -ENOENT);
	assert_int_equal(v, 7);
}

/* ---- topology__read on a fake tree ---- */

struct tree {
	char root[64];
};

static void put(const char *root, const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void put_cpu(const char *root, unsigned cpu, int core, const char *siblings, const char *llc,
		    bool llc_id)
{
	static const char *const types[] = { "Data", "Instruction", "Unified", "Unified" };
	static const char *const levels[] = { "1", "1", "2", "3" };
	char rel[256], val[32];

	snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%u/topology/core_id", cpu);
	snprintf(val, sizeof(val), "%d\n", core);
	put(root, rel, val);
	snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%u/topology/physical_package_id",
		 cpu);
	put(root, rel, "0\n");
	snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%u/topology/thread_siblings_list",
		 cpu);
	put(root, rel, siblings);
	for (unsigned i = 0; i < 4; i++) {
		snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%u/cache/index%u/level", cpu,
			 i);
		put(root, rel, levels[i]);
		snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%u/cache/index%u/type", cpu,
			 i);
		put(root, rel, types[i]);
		snprintf(rel, sizeof(rel),
			 "sys/devices/system/cpu/cpu%u/cache/index%u/shared_cpu_list", cpu, i);
		put(root, rel, i == 3 ? llc : siblings);
		if (llc_id || i < 3) {
			snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%u/cache/index%u/id",
				 cpu, i);
			put(root, rel, i == 3 ? "7\n" : "0\n");
		}
	}
}

static int tree_setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	snprintf(t->root, sizeof(t->root), "/tmp/cgpilot-test-topo-XXXXXX");
	if (!mkdtemp(t->root))
		return -1;
	/* 5 present CPUs, cpu4 offline; two SMT cores and one without a sibling */
	put(t->root, "sys/devices/system/cpu/present", "0-4\n");
	put(t->root, "sys/devices/system/cpu/online", "0-3\n");
	put_cpu(t->root, 0, 0, "0,2\n", "0-3\n", true);
	put_cpu(t->root, 1, 1, "1,3\n", "0-3\n", true);
	put_cpu(t->root, 2, 0, "0,2\n", "0-3\n", true);
	put_cpu(t->root, 3, 1, "1,3\n", "0-3\n", false);
	put(t->root, "proc/meminfo", meminfo);
	put(t->root, "proc/sys/kernel/osrelease", "6.1.0-test\n");
	*state = t;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;

	nftw(t->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

static void check_common(const struct topology *topo)
{
	char buf[64];

	assert_int_equal(topo->ncpus, 5);
	assert_string_equal(topo->kernel_release, "6.1.0-test");
	assert_int_equal(topo->memory_bytes, 16318412ULL * 1024);
	for (unsigned i = 0; i < 4; i++) {
		const struct topo_cpu *c = &topo->cpus[i];

		assert_int_equal(c->cpu, i);
		assert_true(c->online);
		assert_int_equal(c->core_id, (int)(i % 2));
		assert_int_equal(c->package_id, 0);
		assert_int_equal(c->llc_level, 3);
		assert_int_equal(c->siblings.n, 2);
		assert_true(topo_cpuset_has(&c->siblings, i));
		assert_int_equal(topo_format_cpulist(&c->llc_cpus, buf, sizeof(buf)), 0);
		assert_string_equal(buf, "0-3");
	}
	/* no id file: the first CPU sharing the cache stands for it */
	assert_int_equal(topo->cpus[2].llc_id, 7);
	assert_int_equal(topo->cpus[3].llc_id, 0);
	assert_false(topo->cpus[4].online);
	assert_int_equal(topo->cpus[4].core_id, -1);
	assert_int_equal(topo->cpus[4].node, -1);
	assert_int_equal(topo->cpus[4].siblings.n, 0);
	assert_int_equal(topo->cpus[4].llc_level, 0);
}

static void test_read_without_numa(void **state)
{
	struct tree *t = *state;
	struct topology *topo = NULL;

	assert_int_equal(topology__read(t->root, &topo), 0);
	check_common(topo);
	assert_int_equal(topo->nnodes, 1);
	assert_int_equal(topo->nodes[0].id, 0);
	assert_int_equal(topo->nodes[0].memory_bytes, topo->memory_bytes);
	assert_int_equal(topo->nodes[0].cpus.n, 4);
	assert_int_equal(topo->cpus[1].node, 0);
	assert_non_null(topology__node(topo, 0));
	assert_null(topology__node(topo, 1));
	topology__free(topo);
}

static void test_read_numa(void **state)
{
	struct tree *t = *state;
	struct topology *topo = NULL;

	put(t->root, "sys/devices/system/node/online", "0-1\n");
	put(t->root, "sys/devices/system/node/node0/cpulist", "0,2\n");
	put(t->root, "sys/devices/system/node/node0/meminfo", "Node 0 MemTotal: 1000 kB\n");
	put(t->root, "sys/devices/system/node/node1/cpulist", "1,3\n");
	put(t->root, "sys/devices/system/node/node1/meminfo", node_meminfo);
	assert_int_equal(topology__read(t->root, &topo), 0);
	check_common(topo);
	assert_int_equal(topo->nnodes, 2);
	assert_int_equal(topology__node(topo, 0)->memory_bytes, 1000 * 1024);
	assert_int_equal(topology__node(topo, 1)->memory_bytes, 8159206ULL * 1024);
	assert_int_equal(topo->cpus[0].node, 0);
	assert_int_equal(topo->cpus[1].node, 1);
	assert_int_equal(topo->cpus[2].node, 0);
	assert_int_equal(topo->cpus[3].node, 1);
	topology__free(topo);
}

static void test_read_block(void **state)
{
	struct tree *t = *state;
	struct topology *topo = NULL;
	unsigned ma = 0, mi = 0;

	/* a disk, an NVMe namespace, a loop device and an empty drive */
	put(t->root, "sys/block/vda/dev", "254:0\n");
	put(t->root, "sys/block/vda/size", "2097152\n");
	put(t->root, "sys/block/vda/queue/rotational", "1\n");
	put(t->root, "sys/block/nvme0n1/dev", "259:0\n");
	put(t->root, "sys/block/nvme0n1/size", "1000\n");
	put(t->root, "sys/block/nvme0n1/queue/rotational", "0\n");
	put(t->root, "sys/block/nvme0n1/removable", "0\n");
	put(t->root, "sys/block/loop0/dev", "7:0\n");
	put(t->root, "sys/block/loop0/size", "100\n");
	put(t->root, "sys/block/sr0/dev", "11:0\n");
	put(t->root, "sys/block/sr0/size", "0\n");
	put(t->root, "sys/block/bad/dev", "x:y\n");
	put(t->root, "sys/block/bad/size", "8\n");
	assert_int_equal(topology__read(t->root, &topo), 0);
	assert_int_equal(topo->nblock, 2);
	assert_string_equal(topo->block[0].name, "nvme0n1");
	assert_int_equal(topo->block[0].major, 259);
	assert_int_equal(topo->block[0].size_bytes, 512000);
	assert_false(topo->block[0].rotational);
	assert_string_equal(topo->block[1].name, "vda");
	assert_int_equal(topo->block[1].major, 254);
	assert_int_equal(topo->block[1].minor, 0);
	assert_int_equal(topo->block[1].size_bytes, 1ULL << 30);
	assert_true(topo->block[1].rotational);
	topology__free(topo);

	assert_int_equal(topo_parse_devnum("8:16\n", &ma, &mi), 0);
	assert_true(ma == 8 && mi == 16);
	assert_int_equal(topo_parse_devnum("8:", &ma, &mi), -EINVAL);
	assert_int_equal(topo_parse_devnum("-1:0", &ma, &mi), -EINVAL);
	assert_int_equal(topo_parse_devnum("8:1 x", &ma, &mi), -EINVAL);
	assert_int_equal(topo_parse_devnum("5000:0", &ma, &mi), -EINVAL);
}

static void test_read_missing_tree(void **state)
{
	struct tree *t = *state;
	struct topology *topo = (struct topology *)state;
	char root[128];

	snprintf(root, sizeof(root), "%s/nonexistent", t->root);
	assert_int_equal(topology__read(root, &topo), -ENOENT);
	assert_ptr_equal(topo, (struct topology *)state);
	topology__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpulist_parse),
		cmocka_unit_test(test_cpulist_refused),
		cmocka_unit_test(test_cpulist_format),
		cmocka_unit_test(test_parse_int),
		cmocka_unit_test(test_cache_type),
		cmocka_unit_test(test_pick_llc),
		cmocka_unit_test(test_meminfo),
		cmocka_unit_test_setup_teardown(test_read_without_numa, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_read_numa, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_read_block, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_read_missing_tree, tree_setup, tree_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
