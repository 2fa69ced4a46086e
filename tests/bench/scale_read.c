// SPDX-License-Identifier: Apache-2.0
/*
 * The scale bench's reads, side by side in one process, round after round:
 *  (1) every used slot's counters from the daemon's pinned maps as the
 *      daemon reads them each tick (lib/slotread.c: the slots in order,
 *      neighbours in one batch lookup of each map), the cgroup-to-slot map
 *      walked first (batch lookups of cg_slot);
 *  (2) the same slots one lookup of each map per slot (how the daemon read
 *      them before batches);
 *  (3) what a cAdvisor-style poller reads for the same figures: each
 *      cgroup's cpu.stat, cpu/memory/io.pressure, memory.current and io.stat
 *      (where they exist), opened by path, read and parsed.
 * Prints one line per round: "ms_walk ms_batch ms_single ms_files slots files"
 * (walk: the used slots from cg_slot, which the daemon's tick also does).
 *
 * Usage: scale_read PIN_DIR ROUNDS CGROUP_DIR...  (PIN_DIR: <pin_dir>/v<layout>)
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "slotread.h"

static const char *const files[] = { "cpu.stat",    "cpu.pressure",   "memory.pressure",
				     "io.pressure", "memory.current", "io.stat" };

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int open_pin(const char *dir, const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		fprintf(stderr, "scale_read: cannot open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The used slots, ascending, from the cg_slot hash (batch lookups). */
static unsigned used_slots(int fd, uint32_t *slots, uint32_t max)
{
	uint64_t keys[256], in = 0, out;
	uint32_t vals[256];
	unsigned n = 0;
	int first = 1;

	for (;;) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		uint32_t count = 256;
		int r = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &count,
					     &opts);

		for (uint32_t i = 0; i < count && n < max; i++)
			slots[n++] = vals[i];
		if (r)
			break; /* ENOENT: the end */
		in = out;
		first = 0;
	}
	qsort(slots, n, sizeof(*slots), cmp_u32);
	return n;
}

/* Sum of every number in a file: the parse a poller does, kept. */
static unsigned long long parse_numbers(const char *s)
{
	unsigned long long sum = 0;

	while (*s) {
		if (*s >= '0' && *s <= '9') {
			char *end;

			sum += strtoull(s, &end, 10);
			s = end;
		} else {
			s++;
		}
	}
	return sum;
}

int main(int argc, char **argv)
{
	struct slot_reader r;
	struct bpf_map_info info = { 0 };
	__u32 ilen = sizeof(info);
	int rounds, hot, shared, cgslot;
	uint32_t *slots;
	struct cgp_cg_stats *st;
	unsigned long long keep = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: %s PIN_DIR ROUNDS CGROUP_DIR...\n", argv[0]);
		return 2;
	}
	rounds = atoi(argv[2]);
	hot = open_pin(argv[1], "cg_stats");
	shared = open_pin(argv[1], "cg_shared");
	cgslot = open_pin(argv[1], "cg_slot");
	if (bpf_obj_get_info_by_fd(hot, &info, &ilen) ||
	    slot_reader_init(&r, hot, shared, info.max_entries)) {
		fprintf(stderr, "scale_read: cannot read the maps\n");
		return 1;
	}
	slots = calloc(info.max_entries, sizeof(*slots));
	st = calloc(info.max_entries, sizeof(*st));
	if (!slots || !st)
		return 1;
	for (int round = 0; round < rounds; round++) {
		double t0, t1, t2, t3, t4;
		unsigned n, nfiles = 0;
		char buf[4096];

		t0 = now_ms();
		n = used_slots(cgslot, slots, info.max_entries);
		t4 = now_ms();
		if (slot_reader_many(&r, slots, n, st)) {
			fprintf(stderr, "scale_read: batch read failed: %s\n", strerror(errno));
			return 1;
		}
		t1 = now_ms();
		for (unsigned i = 0; i < n; i++)
			if (slot_reader_one(&r, slots[i], &st[i]))
				return 1;
		t2 = now_ms();
		for (int c = 3; c < argc; c++) {
			for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
				char path[4096];
				ssize_t len;
				int fd;

				snprintf(path, sizeof(path), "%s/%s", argv[c], files[f]);
				fd = open(path, O_RDONLY | O_CLOEXEC);
				if (fd < 0)
					continue;
				len = read(fd, buf, sizeof(buf) - 1);
				close(fd);
				if (len <= 0)
					continue;
				buf[len] = 0;
				keep += parse_numbers(buf);
				nfiles++;
			}
		}
		t3 = now_ms();
		for (unsigned i = 0; i < n; i++)
			keep += st[i].oncpu_ns;
		printf("%.3f %.3f %.3f %.3f %u %u\n", t4 - t0, t1 - t4, t2 - t1, t3 - t2, n,
		       nfiles);
		fflush(stdout);
	}
	slot_reader_free(&r);
	return keep == 42; /* keep the reads */
}
