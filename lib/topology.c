// SPDX-License-Identifier: Apache-2.0
/* CPU topology and memory from sysfs and procfs: pure parsers and one reader. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroupfs.h"
#include "topology.h"
#include "util.h"

#define TOPO_MAX_CACHES 16
#define SYS_LEN 256 /* <root>/sys/devices/system */
#define PATH_LEN 512

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	return s;
}

/* A decimal number without sign; NULL when there is none or it overflows @max. */
static const char *parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
	unsigned long v = 0;

	if (!isdigit((unsigned char)*s))
		return NULL;
	for (; isdigit((unsigned char)*s); s++) {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return NULL;
	}
	*ret = v;
	return s;
}

int topo_parse_cpulist(const char *text, struct topo_cpuset *ret)
{
	_cleanup_free_ unsigned *cpu = NULL;
	unsigned n = 0, cap = 0, last = 0;
	const char *s = skip_space(text);
	unsigned long lo, hi;

	while (*s) {
		s = parse_uint(s, TOPO_CPU_LIMIT - 1, &lo);
		if (!s)
			return -EINVAL;
		hi = lo;
		if (*s == '-') {
			s = parse_uint(s + 1, TOPO_CPU_LIMIT - 1, &hi);
			if (!s || hi < lo)
				return -EINVAL;
		}
		/* the kernel writes ascending ranges; refuse overlaps rather than sort */
		if (n && lo <= last)
			return -EINVAL;
		for (unsigned long c = lo; c <= hi; c++) {
			if (n == cap) {
				unsigned *p;

				cap = cap ? cap * 2 : 16;
				p = realloc(cpu, cap * sizeof(*cpu));
				if (!p)
					return -ENOMEM;
				cpu = p;
			}
			cpu[n++] = (unsigned)c;
		}
		last = (unsigned)hi;
		if (*s == ',')
			s++;
		else if (*skip_space(s))
			return -EINVAL;
		else
			break;
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
	}
	ret->n = n;
	ret->cpu = TAKE_PTR(cpu);
	return 0;
}

int topo_format_cpulist(const struct topo_cpuset *set, char *buf, size_t size)
{
	size_t off = 0;
	int w;

	if (!size)
		return -ENOSPC;
	buf[0] = '\0';
	for (unsigned i = 0; i < set->n;) {
		unsigned j = i;

		while (j + 1 < set->n && set->cpu[j + 1] == set->cpu[j] + 1)
			j++;
		if (j == i)
			w = snprintf(buf + off, size - off, "%s%u", off ? "," : "", set->cpu[i]);
		else
			w = snprintf(buf + off, size - off, "%s%u-%u", off ? "," : "", set->cpu[i],
				     set->cpu[j]);
		if (w < 0 || (size_t)w >= size - off) {
			buf[off] = '\0';
			return -ENOSPC;
		}
		off += (size_t)w;
		i = j + 1;
	}
	return 0;
}

bool topo_cpuset_has(const struct topo_cpuset *set, unsigned cpu)
{
	for (unsigned i = 0; i < set->n; i++)
		if (set->cpu[i] == cpu)
			return true;
	return false;
}

void topo_cpuset_free(struct topo_cpuset *set)
{
	free(set->cpu);
	set->cpu = NULL;
	set->n = 0;
}

int topo_parse_int(const char *text, int *ret)
{
	const char *s = skip_space(text);
	bool neg = *s == '-';
	unsigned long v;

	s = parse_uint(s + neg, INT_MAX, &v);
	if (!s || *skip_space(s))
		return -EINVAL;
	*ret = neg ? -(int)v : (int)v;
	return 0;
}

enum topo_cache_type topo_parse_cache_type(const char *text)
{
	static const char *const names[] = { [TOPO_CACHE_DATA] = "Data",
					     [TOPO_CACHE_INSTRUCTION] = "Instruction",
					     [TOPO_CACHE_UNIFIED] = "Unified" };
	const char *s = skip_space(text);
	size_t word = strcspn(s, " \t\n");

	if (*skip_space(s + word))
		return TOPO_CACHE_UNKNOWN; /* more than one word */
	for (unsigned i = 1; i < ARRAY_SIZE(names); i++)
		if (word == strlen(names[i]) && !memcmp(s, names[i], word))
			return (enum topo_cache_type)i;
	return TOPO_CACHE_UNKNOWN;
}

int topo_pick_llc(const struct topo_cache *caches, unsigned n)
{
	int best = -ENOENT;

	for (unsigned i = 0; i < n; i++) {
		if (caches[i].type != TOPO_CACHE_DATA && caches[i].type != TOPO_CACHE_UNIFIED)
			continue;
		if (best < 0 || caches[i].level > caches[best].level)
			best = (int)i;
	}
	return best;
}

int topo_parse_meminfo(const char *text, const char *key, uint64_t *ret_bytes)
{
	size_t klen = strlen(key);

	for (const char *line = text; line && *line;) {
		const char *s = line, *eol = strchr(line, '\n');
		unsigned long long kb;
		char *end;

		line = eol ? eol + 1 : NULL;
		/* a node's meminfo prefixes every line with "Node N " */
		if (!strncmp(s, "Node ", 5)) {
			s += 5;
			while (isdigit((unsigned char)*s))
				s++;
			s = skip_space(s);
		}
		if (strncmp(s, key, klen) || s[klen] != ':')
			continue;
		s = skip_space(s + klen + 1);
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		errno = 0;
		kb = strtoull(s, &end, 10);
		if (errno || kb > UINT64_MAX / 1024)
			return -EINVAL;
		s = end;
		while (*s == ' ')
			s++;
		if (strncmp(s, "kB", 2))
			return -EINVAL;
		*ret_bytes = (uint64_t)kb * 1024;
		return 0;
	}
	return -ENOENT;
}

/* ---- reading the files ---- */

static int read_text(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t off = 0;
	ssize_t n;

	buf[0] = '\0'; /* empty, whatever the caller makes of a failure */
	if (fd < 0)
		return -errno;
	while (off + 1 < size && (n = read(fd, buf + off, size - 1 - off)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	buf[off] = '\0';
	return (int)off;
}

static int read_int(const char *path, int *ret)
{
	char buf[64];
	int r = read_text(path, buf, sizeof(buf));

	return r < 0 ? r : topo_parse_int(buf, ret);
}

static int read_cpulist(const char *path, struct topo_cpuset *ret)
{
	/* one CPU of 8192 takes up to 5 bytes */
	_cleanup_free_ char *buf = malloc((size_t)TOPO_CPU_LIMIT * 6);
	int r;

	if (!buf)
		return -ENOMEM;
	r = read_text(path, buf, (size_t)TOPO_CPU_LIMIT * 6);
	return r < 0 ? r : topo_parse_cpulist(buf, ret);
}

static void read_caches(const char *cpu_dir, struct topo_cpu *c)
{
	struct topo_cache caches[TOPO_MAX_CACHES];
	char path[PATH_LEN], buf[64];
	unsigned n;
	int best;

	for (n = 0; n < TOPO_MAX_CACHES; n++) {
		struct topo_cache *k = &caches[n];

		snprintf(path, sizeof(path), "%s/cache/index%u/level", cpu_dir, n);
		if (read_int(path, &k->level))
			break;
		snprintf(path, sizeof(path), "%s/cache/index%u/type", cpu_dir, n);
		k->type = read_text(path, buf, sizeof(buf)) < 0 ? TOPO_CACHE_UNKNOWN :
								  topo_parse_cache_type(buf);
		snprintf(path, sizeof(path), "%s/cache/index%u/id", cpu_dir, n);
		if (read_int(path, &k->id))
			k->id = -1;
	}
	best = topo_pick_llc(caches, n);
	if (best < 0)
		return;
	snprintf(path, sizeof(path), "%s/cache/index%d/shared_cpu_list", cpu_dir, best);
	if (read_cpulist(path, &c->llc_cpus))
		return;
	c->llc_level = caches[best].level;
	c->llc_id = caches[best].id;
	if (c->llc_id < 0 && c->llc_cpus.n)
		c->llc_id = (int)c->llc_cpus.cpu[0];
}

static void read_cpu(const char *sys, struct topo_cpu *c)
{
	char dir[SYS_LEN + 32], path[SYS_LEN + 96];

	snprintf(dir, sizeof(dir), "%s/cpu/cpu%u", sys, c->cpu);
	snprintf(path, sizeof(path), "%s/topology/core_id", dir);
	if (read_int(path, &c->core_id))
		c->core_id = -1;
	snprintf(path, sizeof(path), "%s/topology/physical_package_id", dir);
	if (read_int(path, &c->package_id))
		c->package_id = -1;
	/* thread_siblings_list is the older name of core_cpus_list */
	snprintf(path, sizeof(path), "%s/topology/core_cpus_list", dir);
	if (read_cpulist(path, &c->siblings)) {
		snprintf(path, sizeof(path), "%s/topology/thread_siblings_list", dir);
		read_cpulist(path, &c->siblings);
	}
	read_caches(dir, c);
}

/* Without NUMA in the kernel all of the machine is node 0. */
static int single_node(struct topology *t)
{
	struct topo_node *nd;

	t->nodes = calloc(1, sizeof(*t->nodes));
	if (!t->nodes)
		return -ENOMEM;
	t->nnodes = 1;
	nd = &t->nodes[0];
	nd->memory_bytes = t->memory_bytes;
	nd->cpus.cpu = calloc(t->ncpus ? t->ncpus : 1, sizeof(*nd->cpus.cpu));
	if (!nd->cpus.cpu)
		return -ENOMEM;
	for (unsigned i = 0; i < t->ncpus; i++) {
		if (!t->cpus[i].online)
			continue;
		t->cpus[i].node = 0;
		nd->cpus.cpu[nd->cpus.n++] = t->cpus[i].cpu;
	}
	return 0;
}

static int read_nodes(const char *sys, struct topology *t)
{
	struct topo_cpuset ids = { 0 };
	_cleanup_free_ char *buf = NULL;
	char path[PATH_LEN];

	snprintf(path, sizeof(path), "%s/node/online", sys);
	if (read_cpulist(path, &ids) || !ids.n) {
		topo_cpuset_free(&ids);
		return single_node(t);
	}
	t->nodes = calloc(ids.n, sizeof(*t->nodes));
	buf = malloc(8192);
	if (!t->nodes || !buf) {
		topo_cpuset_free(&ids);
		return -ENOMEM;
	}
	t->nnodes = ids.n;
	for (unsigned i = 0; i < ids.n; i++) {
		struct topo_node *nd = &t->nodes[i];

		nd->id = ids.cpu[i];
		snprintf(path, sizeof(path), "%s/node/node%u/cpulist", sys, nd->id);
		read_cpulist(path, &nd->cpus);
		snprintf(path, sizeof(path), "%s/node/node%u/meminfo", sys, nd->id);
		if (read_text(path, buf, 8192) >= 0)
			topo_parse_meminfo(buf, "MemTotal", &nd->memory_bytes);
		for (unsigned k = 0; k < t->ncpus; k++)
			if (topo_cpuset_has(&nd->cpus, t->cpus[k].cpu))
				t->cpus[k].node = (int)nd->id;
	}
	topo_cpuset_free(&ids);
	return 0;
}

int topo_parse_devnum(const char *text, unsigned *ret_major, unsigned *ret_minor)
{
	unsigned ma, mi;
	const char *end;

	/* the whole text, a newline at most after it */
	if (cgfs_parse_devnum_at(text, &end, &ma, &mi) || (*end && strcmp(end, "\n")))
		return -EINVAL;
	*ret_major = ma;
	*ret_minor = mi;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct topo_blockdev *)a)->name,
		      ((const struct topo_blockdev *)b)->name);
}

/* Whole block devices; a missing /sys/block is no device, not an error. */
static void read_block(const char *root, struct topology *t)
{
	char path[PATH_LEN], buf[64];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/sys/block", root);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir)) && t->nblock < TOPO_BLOCK_MAX) {
		struct topo_blockdev b = { 0 };
		unsigned long long sectors = 0;
		int v;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(b.name) ||
		    !strncmp(de->d_name, "loop", 4) || !strncmp(de->d_name, "ram", 3))
			continue;
		snprintf(b.name, sizeof(b.name), "%s", de->d_name);
		snprintf(path, sizeof(path), "%s/sys/block/%s/dev", root, de->d_name);
		if (read_text(path, buf, sizeof(buf)) < 0 ||
		    topo_parse_devnum(buf, &b.major, &b.minor))
			continue;
		snprintf(path, sizeof(path), "%s/sys/block/%s/size", root, de->d_name);
		if (read_text(path, buf, sizeof(buf)) >= 0)
			sectors = strtoull(buf, NULL, 10);
		if (!sectors)
			continue;
		b.size_bytes = sectors * 512;
		snprintf(path, sizeof(path), "%s/sys/block/%s/queue/rotational", root, de->d_name);
		b.rotational = read_text(path, buf, sizeof(buf)) >= 0 && !topo_parse_int(buf, &v) &&
			       v == 1;
		snprintf(path, sizeof(path), "%s/sys/block/%s/removable", root, de->d_name);
		b.removable = read_text(path, buf, sizeof(buf)) >= 0 && !topo_parse_int(buf, &v) &&
			      v == 1;
		{
			struct topo_blockdev *nb = realloc(t->block, (t->nblock + 1) * sizeof(*nb));

			if (!nb)
				break;
			t->block = nb;
			t->block[t->nblock++] = b;
		}
	}
	closedir(dir);
	if (t->nblock > 1)
		qsort(t->block, t->nblock, sizeof(*t->block), by_name);
}

int topology__read(const char *root, struct topology **ret)
{
	struct topology *t = calloc(1, sizeof(*t));
	struct topo_cpuset present = { 0 }, online = { 0 };
	char sys[SYS_LEN], path[PATH_LEN];
	_cleanup_free_ char *buf = malloc(8192);
	bool have_online;
	int r;

	if (!t || !buf) {
		free(t);
		return -ENOMEM;
	}
	snprintf(sys, sizeof(sys), "%s/sys/devices/system", root);
	snprintf(path, sizeof(path), "%s/cpu/present", sys);
	r = read_cpulist(path, &present);
	if (r) {
		snprintf(path, sizeof(path), "%s/cpu/possible", sys);
		r = read_cpulist(path, &present);
	}
	if (r)
		goto err_free;
	snprintf(path, sizeof(path), "%s/cpu/online", sys);
	have_online = !read_cpulist(path, &online);
	t->cpus = calloc(present.n ? present.n : 1, sizeof(*t->cpus));
	if (!t->cpus) {
		r = -ENOMEM;
		goto err_free;
	}
	t->ncpus = present.n;
	for (unsigned i = 0; i < present.n; i++) {
		struct topo_cpu *c = &t->cpus[i];

		c->cpu = present.cpu[i];
		/* without an online file every present CPU counts as online */
		c->online = !have_online || topo_cpuset_has(&online, c->cpu);
		c->core_id = c->package_id = c->node = c->llc_id = -1;
		if (c->online)
			read_cpu(sys, c);
	}
	snprintf(path, sizeof(path), "%s/proc/meminfo", root);
	if (read_text(path, buf, 8192) >= 0)
		topo_parse_meminfo(buf, "MemTotal", &t->memory_bytes);
	snprintf(path, sizeof(path), "%s/proc/sys/kernel/osrelease", root);
	if (read_text(path, t->kernel_release, sizeof(t->kernel_release)) >= 0)
		t->kernel_release[strcspn(t->kernel_release, "\n")] = '\0';
	r = read_nodes(sys, t);
	if (r)
		goto err_free;
	read_block(root, t);
	topo_cpuset_free(&present);
	topo_cpuset_free(&online);
	*ret = t;
	return 0;

err_free:
	topo_cpuset_free(&present);
	topo_cpuset_free(&online);
	topology__free(t);
	return r;
}

void topology__free(struct topology *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < t->ncpus; i++) {
		topo_cpuset_free(&t->cpus[i].siblings);
		topo_cpuset_free(&t->cpus[i].llc_cpus);
	}
	for (unsigned i = 0; i < t->nnodes; i++)
		topo_cpuset_free(&t->nodes[i].cpus);
	free(t->cpus);
	free(t->nodes);
	free(t->block);
	free(t);
}

const struct topo_node *topology__node(const struct topology *t, unsigned id)
{
	for (unsigned i = 0; i < t->nnodes; i++)
		if (t->nodes[i].id == id)
			return &t->nodes[i];
	return NULL;
}
