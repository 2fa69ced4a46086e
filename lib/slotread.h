/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading BPF slots' counters: the per-CPU cg_stats summed over CPUs beside
 * the shared cg_shared, for one slot or many in ascending order, where
 * neighbouring slots come in one batch lookup of each map (the kernel walks
 * the keys: no syscall per slot). The daemon reads its maps through it, and
 * the scale bench the daemon's pinned maps the same way.
 */
#ifndef CGPILOT_SLOTREAD_H
#define CGPILOT_SLOTREAD_H

#include <stdint.h>

#include "../include/telemetry.h"

struct slot_reader {
	int hot_fd, shared_fd; /* cg_stats, cg_shared: not owned */
	int ncpus; /* possible CPUs: the per-CPU values of a slot */
	uint32_t max; /* slots of the maps */
	uint32_t batch; /* slots of one batch lookup */
	struct cgp_cg_hot *hot; /* batch * ncpus */
	struct cgp_cg_shared *shared; /* batch */
	uint32_t *keys; /* batch */
};

/* 0 or -errno (-ENOMEM, or the CPUs cannot be counted). */
int slot_reader_init(struct slot_reader *r, int hot_fd, int shared_fd, uint32_t max);
void slot_reader_free(struct slot_reader *r);
/* One slot, one lookup of each map. 0 or -errno. */
int slot_reader_one(struct slot_reader *r, uint32_t slot, struct cgp_cg_stats *ret);
/* @n slots in ascending order into @ret[0..n). 0 or -errno (-EINVAL: a slot
 * out of range or out of order). */
int slot_reader_many(struct slot_reader *r, const uint32_t *slots, unsigned n,
		     struct cgp_cg_stats *ret);

#endif
