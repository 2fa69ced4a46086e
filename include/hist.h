/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Log2 histogram slots, shared by the BPF programs (which fill them) and
 * user space (which turns them into bounds and cumulative buckets).
 * Slot 0 holds 0..1 us; slot k >= 1 holds [2^k, 2^(k+1)) us; the last slot
 * also takes everything above.
 */
#ifndef CGPILOT_HIST_H
#define CGPILOT_HIST_H

#include "telemetry.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* floor(log2(v)) clamped to the slots, without loops (the verifier likes it). */
static __always_inline __u32 cgp_hist_slot(__u64 v)
{
	__u32 r, s;

	if (v > 0xffffffffULL)
		v = 0xffffffffULL;
	r = (v > 0xffff) << 4;
	v >>= r;
	s = (v > 0xff) << 3;
	v >>= s;
	r |= s;
	s = (v > 0xf) << 2;
	v >>= s;
	r |= s;
	s = (v > 0x3) << 1;
	v >>= s;
	r |= s;
	r |= (__u32)(v >> 1);
	return r < CGP_HIST_SLOTS ? r : CGP_HIST_SLOTS - 1;
}

/* Exclusive upper bound of a slot in microseconds: a value counted in slot k
 * was below 2^(k+1) us. The last slot has no bound (returns 0). */
static __always_inline __u64 cgp_hist_slot_upper_us(__u32 slot)
{
	return slot + 1 < CGP_HIST_SLOTS ? 1ULL << (slot + 1) : 0;
}

#endif
