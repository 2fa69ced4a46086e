/* SPDX-License-Identifier: Apache-2.0 */
/* Control protocol: JSON lines (see docs/ARCHITECTURE.md). Pure encode/decode. */
#ifndef CGPILOT_PROTO_H
#define CGPILOT_PROTO_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "telemetry.h"

#define CGP_PROTO_LINE_MAX 65536

/*
 * Decode one request line (without the newline). On success *ret_req holds
 * the object (caller puts it) and *ret_op its "op" string (owned by the
 * object). On failure returns -EINVAL and *ret_msg says why, naming the key
 * or byte offset where there is one; it may point into a per-thread buffer
 * that the next call overwrites.
 *
 * Strict JSON (RFC 8259) only: no comments, single quotes, trailing commas,
 * NaN/Infinity or other non-finite numbers, raw control characters in
 * strings. Every string, key or value at any depth, must be valid UTF-8
 * without a NUL (an escaped \u0000 too): replies echo strings back, and C
 * strings end at the first NUL.
 */
int proto_decode_request(const char *line, size_t len, json_object **ret_req, const char **ret_op,
			 const char **ret_msg);
/* The same strict decoding of any JSON object of at most @max_len bytes
 * (an OCI config.json); @what names it in messages ("config.json"). */
int proto_decode_json(const char *text, size_t len, size_t max_len, const char *what,
		      json_object **ret_obj, const char **ret_msg);

/* Optional typed arguments of a request; -EINVAL with *ret_msg if present but wrong. */
int proto_get_string(json_object *req, const char *key, bool required, const char **ret,
		     const char **ret_msg);
int proto_get_u64(json_object *req, const char *key, bool required, uint64_t *ret,
		  const char **ret_msg);
int proto_get_bool(json_object *req, const char *key, bool required, bool *ret,
		   const char **ret_msg);

/* {"error": msg} as one line with the newline, caller frees. */
char *proto_error_line(const char *msg);
/* Serialise a reply object as one line with the newline, its doubles
 * rounded (proto_round_doubles), caller frees. */
char *proto_line(json_object *obj);

/* Event type names used on the wire; NULL for an unknown type. */
/* Event types of the stream: the BPF ones (enum cgp_event_type) and those
 * only user space makes. */
#define PROTO_EV_ACTION CGP_EV_MAX /* a write the actuator made, with its reason */
#define PROTO_EV_MAX (CGP_EV_MAX + 1)
const char *proto_event_name(uint32_t type);
int proto_event_type(const char *name); /* -1 if unknown */
const char *proto_signal_name(uint32_t sig);
int proto_signal(const char *name); /* -1 if unknown */

/* Encode a BPF event; path is the cgroup's path (may be NULL). */
json_object *proto_event_json(const struct cgp_event *e, const char *path);

/* JSON array of histogram counts. */
json_object *proto_hist_json(const __u64 *slots, unsigned n);

/*
 * A double as a JSON number at the precision a measurement has: three
 * decimals, four significant digits below 1, trailing zeros cut but one
 * decimal kept (54.026, 0.01235, 2.5, 0.0); "%.4g" past 1e15 and below
 * 1e-14, "null" for a non-finite value. json-c's own "%.17g" writes the
 * binary's noise (54.025616335999999).
 */
void proto_fmt_double(char *buf, size_t size, double v);
/*
 * Makes every double in @o (at any depth) serialise as proto_fmt_double()
 * prints it, but for one whose text was chosen (json_object_new_double_s(),
 * or parsed: the CLI prints the daemon's numbers as sent). proto_line() does
 * it to every reply and event; the CLI's JSON writer to what it prints.
 */
void proto_round_doubles(json_object *o);

#endif
