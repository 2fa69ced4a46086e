/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus text exposition (format 0.0.4) into a growing buffer. Pure: no
 * I/O. Numbers are formatted by hand (a scrape of thousands of cgroups is
 * mostly number formatting); label values are escaped as the format says.
 */
#ifndef CGPILOT_EXPO_H
#define CGPILOT_EXPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "telemetry.h"

struct expo {
	char *buf;
	size_t len, cap;
	bool failed; /* out of memory: output is incomplete */
	bool in_labels;
};

void expo_init(struct expo *e);
void expo_free(struct expo *e);
/* Hand the buffer over (NUL-terminated); the expo is reset. */
char *expo_take(struct expo *e, size_t *ret_len);

/* "# HELP name help\n# TYPE name type\n" */
void expo_family(struct expo *e, const char *name, const char *type, const char *help);

/* Start a sample: name{ ; then labels; then a value ends the line. */
void expo_begin(struct expo *e, const char *name, const char *suffix);
/* label="value", escaped; the first label opens the brace. */
void expo_label(struct expo *e, const char *key, const char *value);
/* A label whose value is already escaped (expo_escape) and quoted content. */
void expo_label_raw(struct expo *e, const char *key, const char *escaped);
void expo_value_u64(struct expo *e, uint64_t v);
/* v / 10^decimals, exactly (ns -> seconds with decimals = 9). */
void expo_value_scaled(struct expo *e, uint64_t v, unsigned decimals);
void expo_value_double(struct expo *e, double v);

/* Escape a label value (\\, \", \n) into a new string, caller frees. */
char *expo_escape(const char *s);

/* One family of one unlabelled sample. */
void expo_gauge(struct expo *e, const char *name, const char *help, uint64_t v);
void expo_counter(struct expo *e, const char *name, const char *help, uint64_t v);

/* A counter (or gauge) family with one sample per value of one label
 * (values already escaped). */
struct expo_labeled {
	const char *value;
	uint64_t n;
};
void expo_counters(struct expo *e, const char *name, const char *help, const char *key,
		   const struct expo_labeled *v, unsigned n);
void expo_gauges(struct expo *e, const char *name, const char *help, const char *key,
		 const struct expo_labeled *v, unsigned n);

/*
 * A histogram from log2 microsecond slots (include/hist.h): cumulative
 * buckets at le = 2^(k+1) us for every k in bounds_k (ascending), then +Inf,
 * _sum (sum_ns as seconds) and _count. Every bound holds the count of the
 * slots at and below it, so merging slots loses no exactness.
 */
void expo_histogram_log2(struct expo *e, const char *name, const char *label_key,
			 const char *label_escaped, const __u64 *slots, uint64_t sum_ns,
			 const unsigned *bounds_k, unsigned nbounds);

#endif
