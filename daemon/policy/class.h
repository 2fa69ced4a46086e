/* SPDX-License-Identifier: Apache-2.0 */
/*
 * QoS classes and what a container asks for (requests and limits), and the
 * one place where those become cgroup knob values, and back (an adopted
 * cgroup's requests read from the files a scheduler wrote). Pure: no
 * syscalls, no globals.
 *
 * What `--cpus` and `--memory` mean is defined here, once (docs/ARCHITECTURE.md,
 * "Resource model"):
 *   guaranteed  request = limit (a limit that differs is refused); a CPU
 *               request of whole CPUs gets exclusive cores;
 *   burstable   the request is reserved; the limit is optional, >= request;
 *   besteffort  the request is admitted against slack, not reserved; the
 *               limit is optional.
 */
#ifndef CGPILOT_POLICY_CLASS_H
#define CGPILOT_POLICY_CLASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cgp_class {
	CGP_CLASS_GUARANTEED = 0,
	CGP_CLASS_BURSTABLE,
	CGP_CLASS_BESTEFFORT,
	CGP_CLASS_MAX,
};

/* "guaranteed", "burstable", "besteffort"; NULL past the end. */
const char *class_name(enum cgp_class c);
/* -EINVAL for any other text. */
int class_parse(const char *text, enum cgp_class *ret);

/* Millicores per CPU; cpu.max's period. */
#define CGP_MILLI 1000u
#define CGP_CPU_PERIOD_US 100000u

/* What a container asks for. 0 in a limit means none. */
struct res_spec {
	uint64_t cpu_request_mc; /* millicores */
	uint64_t cpu_limit_mc;
	uint64_t mem_request; /* bytes */
	uint64_t mem_limit;
	uint32_t io_weight; /* 1..10000; 0: the class default */
	int32_t priority; /* higher is served first in a queue, killed last */
};

/* Per-class defaults the config may change ([class.NAME]). */
struct class_conf {
	uint32_t io_weight; /* io.weight when the request names none */
	int32_t priority; /* when the request names none */
};

/* Built-in class defaults: io.weight 1000 / 100 / 10, priority 0. */
void class_conf_defaults(struct class_conf conf[CGP_CLASS_MAX]);

/*
 * Check @spec for @class and complete it: a guaranteed container's missing
 * limits become its requests, io_weight 0 and priority 0 become the class
 * defaults. @conf is the per-class table (conf[CGP_CLASS_MAX], as
 * class_conf_defaults fills it, indexed by @class); NULL for the built-in
 * defaults. *@spec is untouched on failure. -EINVAL
 * with the reason (naming the field and values) in @err: a guaranteed
 * container without a CPU or memory request or with a limit that differs, a
 * limit below its request, values past what cgroup files take (CPU past
 * 2^32 millicores, memory past 2^62 bytes, io_weight past 10000).
 */
int class_check(enum cgp_class class, const struct class_conf *conf, struct res_spec *spec,
		char *err, size_t errlen);

/* Exclusive placement: a guaranteed container whose CPU request is whole CPUs. */
bool class_exclusive(enum cgp_class class, const struct res_spec *spec);

/* The knob values a decision writes, as text in the kernel's formats. */
struct class_knobs {
	char cpu_weight[16]; /* "1".."10000" */
	char cpu_max[32]; /* "max 100000" or "QUOTA 100000" */
	char memory_min[24]; /* bytes; "0" */
	char memory_low[24];
	char memory_max[24]; /* bytes or "max" */
	char io_weight[16]; /* "default N" */
};

/*
 * Knobs from a checked spec:
 * - cpu.weight from the CPU request as kubelet converts shares
 *   (shares = mc * 1024 / 1000, at least 2; weight = 1 + (shares - 2) * 9999 / 262142),
 *   so a node mixing kubelet pods and cgpilot containers weighs them alike;
 *   besteffort gets 1;
 * - cpu.max the limit over a 100 ms period (at least 1 ms of quota), else "max";
 * - memory.min the request for guaranteed, memory.low the request for
 *   burstable, both "0" otherwise; memory.max the limit or "max";
 * - io.weight "default N".
 */
void class_knobs(enum cgp_class class, const struct res_spec *spec, struct class_knobs *ret);

/* cpu.weight of a CPU request (the conversion above). */
uint32_t class_cpu_weight(uint64_t request_mc);

/*
 * What an adopted cgroup's own files say it was given, the inverse of the
 * conversions above, for a cgroup another scheduler created: cpu.weight
 * gives the CPU request (weight 1 -> 0 mc: besteffort), cpu.max the CPU
 * limit, memory.min (else memory.low) the memory request, memory.max the
 * limit. Each argument is the file's text, or NULL where the file is
 * missing (the controller is not enabled there). A weight stands for a run
 * of about 25 millicores; the request given back is the roundest value in
 * it (kubelet's 250m gives 250), so class_cpu_weight() of it is the weight.
 * io_weight and priority are 0 (the class defaults). -EINVAL if a text does
 * not parse, including "max" in memory.min/memory.low (no request is that
 * large) and a weight outside 1..10000. (docs/ARCHITECTURE.md, "Adoption",
 * has the table.)
 */
int class_spec_from_files(const char *cpu_weight, const char *cpu_max, const char *memory_min,
			  const char *memory_low, const char *memory_max, struct res_spec *ret);

#endif
