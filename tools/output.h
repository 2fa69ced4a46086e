/* SPDX-License-Identifier: Apache-2.0 */
/* Everything the CLI prints: the one JSON writer, errors, human formatting. */
#ifndef CGPILOT_OUTPUT_H
#define CGPILOT_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

/* Writes @obj as one JSON document on stdout (pretty with -p), then flushes;
 * doubles as proto_fmt_double() prints them (54.026). */
void json_print(struct json_object *obj);
/* In JSON mode, prints a daemon reply without its "ok" and returns true;
 * otherwise prints nothing and returns false (the caller prints for people). */
bool json_print_reply(struct json_object *reply);

/* "Error: ..." on stderr, or {"error": "..."} on stdout in JSON mode. */
int p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* As p_err for a malformed command line; returns CLI_USAGE. */
int p_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Human units: "0", "870ns", "12.3us", "4.5ms", "2.31s", "3m07s", "1h02m", "2d03h". */
void fmt_duration(char *buf, size_t size, double ns);
/* "0", "512B", "1.5KiB", ..., "3.2TiB". */
void fmt_bytes(char *buf, size_t size, double bytes);

/* A JSON array of ascending CPU numbers in cpulist format ("0-3,8"), or "-". */
void fmt_cpulist(char *buf, size_t size, struct json_object *list);
/* Millicores as CPUs: 1500 -> "1.5", 250 -> "0.25", 2000 -> "2". */
void fmt_millicpus(char *buf, size_t size, uint64_t mc);

/*
 * Prints @s with control characters (and an invalid UTF-8 byte) as \xNN so a
 * cgroup name cannot move the cursor or change the terminal; UTF-8 passes.
 */
void print_escaped(FILE *f, const char *s);
/* The same into @buf, cut to fit. */
void fmt_escaped(char *buf, size_t size, const char *s);

/*
 * A bcc-style log2 histogram of microseconds from a JSON array of counts
 * (slot 0 = 0..1 us, slot k = [2^k, 2^(k+1)) us, the last slot open-ended),
 * without its empty leading and trailing slots.
 */
void print_log2_hist(const char *title, struct json_object *counts);

/* Typed lookups in a reply; false when the key is absent or of another type. */
bool jget_u64(struct json_object *obj, const char *key, uint64_t *ret_val);
bool jget_double(struct json_object *obj, const char *key, double *ret_val);
const char *jget_str(struct json_object *obj, const char *key);
struct json_object *jget_obj(struct json_object *obj, const char *key);
struct json_object *jget_array(struct json_object *obj, const char *key);

/* fmt_duration/fmt_bytes of a key of @obj, or "-" when it is missing. */
void fmt_duration_key(char *buf, size_t size, struct json_object *obj, const char *key);
void fmt_bytes_key(char *buf, size_t size, struct json_object *obj, const char *key);
/* A seconds-per-second rate as a duration per second ("12.5ms"), or "-". */
void fmt_rate_key(char *buf, size_t size, struct json_object *obj, const char *key);
/* A count, or "-". */
void fmt_u64_key(char *buf, size_t size, struct json_object *obj, const char *key);

#endif
