/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The machine's CPU topology and memory, from sysfs and procfs: SMT siblings,
 * last-level cache, NUMA nodes, memory totals and the kernel release. The
 * parsers are pure (text in, structs out); topology__read() reads the files
 * under a root directory ("" for the running system) once.
 */
#ifndef CGPILOT_TOPOLOGY_H
#define CGPILOT_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Highest CPU number accepted in a cpulist (the kernel's NR_CPUS limit is 8192). */
#define TOPO_CPU_LIMIT 8192

/* A set of CPUs, ascending and without duplicates. */
struct topo_cpuset {
	unsigned n;
	unsigned *cpu;
};

enum topo_cache_type {
	TOPO_CACHE_UNKNOWN = 0,
	TOPO_CACHE_DATA,
	TOPO_CACHE_INSTRUCTION,
	TOPO_CACHE_UNIFIED,
};

/* One cpuN/cache/indexK directory. */
struct topo_cache {
	int level;
	enum topo_cache_type type;
	int id; /* -1 where sysfs has no id file */
};

/* One logical CPU; -1 (or an empty set) where sysfs says nothing, as for an offline CPU. */
struct topo_cpu {
	unsigned cpu;
	bool online;
	int core_id;
	int package_id;
	int node; /* NUMA node */
	int llc_level; /* level of the last-level cache, 0 when unknown */
	int llc_id; /* its id; the first CPU sharing it where sysfs has no id */
	struct topo_cpuset siblings; /* SMT siblings, this CPU included */
	struct topo_cpuset llc_cpus; /* CPUs sharing the last-level cache */
};

struct topo_node {
	unsigned id;
	uint64_t memory_bytes; /* the node's MemTotal */
	struct topo_cpuset cpus;
};

/* A whole block device (/sys/block/NAME), the unit io.weight and io.max name. */
struct topo_blockdev {
	char name[32];
	unsigned major, minor;
	uint64_t size_bytes; /* 512-byte sectors in /sys/block/NAME/size, as bytes */
	bool rotational;
	bool removable;
};

#define TOPO_BLOCK_MAX 256

/* A read-only snapshot; fields are public, free it with topology__free(). */
struct topology {
	unsigned ncpus; /* present CPUs */
	struct topo_cpu *cpus;
	unsigned nnodes;
	struct topo_node *nodes;
	uint64_t memory_bytes; /* MemTotal of /proc/meminfo */
	char kernel_release[65];
	/* block devices with a size, by name; loop and ram devices left out */
	unsigned nblock;
	struct topo_blockdev *block;
};

/*
 * Parses the kernel's cpulist format ("0-3,8,10-11", a trailing newline
 * allowed, "" is the empty set). -EINVAL on anything else, on a descending
 * range or a CPU past TOPO_CPU_LIMIT; *ret is untouched on failure.
 */
int topo_parse_cpulist(const char *text, struct topo_cpuset *ret);
/* Writes @set in cpulist format ("" when empty); -ENOSPC if @size is too small. */
int topo_format_cpulist(const struct topo_cpuset *set, char *buf, size_t size);
bool topo_cpuset_has(const struct topo_cpuset *set, unsigned cpu);
void topo_cpuset_free(struct topo_cpuset *set);

/* A single decimal integer (core_id, level, id), surrounding whitespace allowed. */
int topo_parse_int(const char *text, int *ret);
/* "Data", "Instruction", "Unified" (a cache's type file). */
enum topo_cache_type topo_parse_cache_type(const char *text);
/*
 * Index of the last-level cache among a CPU's caches: the highest level that
 * holds data (level 3 where there is one); -ENOENT when none does.
 */
int topo_pick_llc(const struct topo_cache *caches, unsigned n);
/*
 * A "KEY: N kB" line of /proc/meminfo, or of a node's meminfo ("Node 0 KEY:
 * N kB"), in bytes. -ENOENT without such a line, -EINVAL if it does not parse.
 */
int topo_parse_meminfo(const char *text, const char *key, uint64_t *ret_bytes);

/* "MAJ:MIN" (a block device's dev file, a newline allowed); -EINVAL otherwise. */
int topo_parse_devnum(const char *text, unsigned *ret_major, unsigned *ret_minor);

/*
 * Reads the topology from <root>/sys/devices/system/{cpu,node}, <root>/sys/block and
 * <root>/proc/{meminfo,sys/kernel/osrelease}; @root "" is the running
 * system. Without NUMA information in sysfs there is one node 0 with every
 * CPU and MemTotal. -errno when the list of present CPUs cannot be read.
 */
int topology__read(const char *root, struct topology **ret);
void topology__free(struct topology *t);
/* The node with id @id, or NULL. */
const struct topo_node *topology__node(const struct topology *t, unsigned id);

#endif
