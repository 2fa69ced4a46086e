/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io.max of a besteffort container while a guaranteed container's block I/O
 * latency is past its target (the BPF I/O onset): multiplicative decrease
 * on pressure, multiplicative increase on calm, with hysteresis.
 *
 * Under pressure, at most once per hold, the cap halves: the first from what
 * the container did in the last sample (bytes and requests per second,
 * halved), never below a floor. Calm for the release hold, the cap doubles
 * one step at a time; once it is above the ceiling (four times the rate seen
 * when the squeeze began) it is lifted. A step up that brings the pressure
 * back within the release hold doubles that hold (up to release_max), so a
 * writer that keeps hurting stays throttled with rare probes instead of a
 * sawtooth; the hold is reset when the container's own I/O falls under a
 * quarter of its cap. Pure: the caller reads the rates and writes io.max.
 */
#ifndef CGPILOT_POLICY_IOTHROTTLE_H
#define CGPILOT_POLICY_IOTHROTTLE_H

#include <stdbool.h>
#include <stdint.h>

struct iothrottle_conf {
	uint64_t hold_ns; /* at least this long between two tightenings */
	uint64_t release_ns; /* calm this long before a step up */
	uint64_t release_max_ns; /* the release hold doubles up to this */
	uint64_t floor_bps; /* the cap never goes below these */
	uint64_t floor_iops;
};

struct iothrottle_state {
	uint64_t bps, iops; /* the cap in force; 0: none (io.max "max") */
	uint64_t ceil_bps, ceil_iops; /* above these the cap is lifted */
	uint64_t last_ns; /* the last change */
	uint64_t release_ns; /* the release hold in force (0: the configured one) */
	bool probing; /* the last change was a step up: pressure now means backoff */
	unsigned tightened, relaxed, lifted; /* counts, for metrics and tests */
};

enum iothrottle_move {
	IOT_NONE = 0,
	IOT_TIGHTEN, /* the cap is new or lower */
	IOT_RELAX, /* the cap is higher */
	IOT_LIFT, /* no cap any more */
};

/*
 * One decision at @now: @pressure whether a guaranteed container is in an
 * I/O episode, @calm_since when the last one ended (0: never), @bps and
 * @iops the container's own I/O rate (reads and writes) in the last sample.
 * Returns the move, with the new cap in @s (both 0 on IOT_LIFT); *@next_ns
 * when a decision is next due (0: none).
 */
enum iothrottle_move iothrottle_step(const struct iothrottle_conf *c, struct iothrottle_state *s,
				     bool pressure, uint64_t calm_since, uint64_t bps,
				     uint64_t iops, uint64_t now, uint64_t *next_ns);

#endif
