// SPDX-License-Identifier: Apache-2.0
/* The CLI's single JSON writer, its error reporting and its human formatting. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgpilot.h"
#include "output.h"
#include "proto.h"
#include "topology.h"

void json_print(struct json_object *obj)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE;

	if (pretty_output)
		flags |= JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED;
	else
		flags |= JSON_C_TO_STRING_PLAIN;
	/* what the daemon sent, or the CLI made, at a measurement's precision */
	proto_round_doubles(obj);
	fputs(json_object_to_json_string_ext(obj, flags), stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

bool json_print_reply(struct json_object *reply)
{
	if (!json_output)
		return false;
	json_object_object_del(reply, "ok");
	json_print(reply);
	return true;
}

static void vp_err(const char *fmt, va_list ap)
{
	struct json_object *obj;
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!json_output) {
		fflush(stdout);
		fprintf(stderr, "Error: %s\n", msg);
		return;
	}
	obj = json_object_new_object();
	if (!obj || json_object_object_add(obj, "error", json_object_new_string(msg)) < 0) {
		fprintf(stderr, "Error: %s\n", msg);
		json_object_put(obj);
		return;
	}
	json_print(obj);
	json_object_put(obj);
}

int p_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vp_err(fmt, ap);
	va_end(ap);
	return CLI_ERR;
}

int p_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vp_err(fmt, ap);
	va_end(ap);
	return CLI_USAGE;
}

void fmt_duration(char *buf, size_t size, double ns)
{
	double s = ns / 1e9;
	uint64_t whole;

	if (!(ns > 0)) {
		snprintf(buf, size, "0");
	} else if (ns < 999.5) {
		snprintf(buf, size, "%.0fns", ns);
	} else if (ns < 999.95e3) {
		snprintf(buf, size, "%.1fus", ns / 1e3);
	} else if (ns < 999.95e6) {
		snprintf(buf, size, "%.1fms", ns / 1e6);
	} else if (s < 59.995) {
		snprintf(buf, size, "%.2fs", s);
	} else {
		whole = (uint64_t)(s + 0.5);
		if (whole < 3600)
			snprintf(buf, size, "%" PRIu64 "m%02" PRIu64 "s", whole / 60, whole % 60);
		else if (whole < 86400)
			snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", whole / 3600,
				 whole % 3600 / 60);
		else
			snprintf(buf, size, "%" PRIu64 "d%02" PRIu64 "h", whole / 86400,
				 whole % 86400 / 3600);
	}
}

void fmt_bytes(char *buf, size_t size, double bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	size_t i = 0;

	if (!(bytes > 0)) {
		snprintf(buf, size, "0");
		return;
	}
	if (bytes < 1024) {
		snprintf(buf, size, "%.0fB", bytes);
		return;
	}
	bytes /= 1024;
	while (bytes >= 1023.95 && i + 1 < sizeof(units) / sizeof(units[0])) {
		bytes /= 1024;
		i++;
	}
	snprintf(buf, size, "%.1f%s", bytes, units[i]);
}

void fmt_cpulist(char *buf, size_t size, struct json_object *list)
{
	size_t n = list && json_object_is_type(list, json_type_array) ?
			   json_object_array_length(list) :
			   0;
	unsigned *cpu = calloc(n ? n : 1, sizeof(*cpu));
	struct topo_cpuset set = { .n = 0, .cpu = cpu };

	snprintf(buf, size, "-");
	if (!n || !cpu) {
		free(cpu);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t v = json_object_get_int64(json_object_array_get_idx(list, i));

		if (v < 0 || (set.n && (unsigned)v <= cpu[set.n - 1])) {
			free(cpu);
			return;
		}
		cpu[set.n++] = (unsigned)v;
	}
	if (topo_format_cpulist(&set, buf, size))
		snprintf(buf, size, "(too many)");
	free(cpu);
}

void fmt_millicpus(char *buf, size_t size, uint64_t mc)
{
	int len;

	len = snprintf(buf, size, "%" PRIu64 ".%03" PRIu64, mc / 1000, mc % 1000);
	if (len <= 0 || (size_t)len >= size)
		return;
	while (buf[len - 1] == '0')
		buf[--len] = '\0';
	if (buf[len - 1] == '.')
		buf[--len] = '\0';
}

/* Length of the valid UTF-8 sequence at @s, or 0; also sets *ret_cp. */
static size_t utf8_seq(const unsigned char *s, uint32_t *ret_cp)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80) {
		*ret_cp = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	*ret_cp = cp;
	return len;
}

void fmt_escaped(char *buf, size_t size, const char *str)
{
	FILE *f;

	if (size)
		buf[0] = '\0';
	f = size ? fmemopen(buf, size, "w") : NULL;
	if (!f) {
		if (size)
			buf[0] = '\0';
		return;
	}
	/* fmemopen truncates at size - 1 and terminates on fclose. */
	print_escaped(f, str);
	fclose(f);
}

void print_escaped(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t cp;
	size_t len, i;

	while (*s) {
		len = utf8_seq(s, &cp);
		/* C0 and C1 controls and DEL drive terminals: show them as bytes. */
		if (len == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
			len = len ? len : 1;
			for (i = 0; i < len; i++)
				fprintf(f, "\\x%02x", s[i]);
		} else {
			fwrite(s, 1, len, f);
		}
		s += len;
	}
}

#define HIST_BAR_WIDTH 40
#define HIST_MAX_SLOTS 64

static void print_stars(uint64_t val, uint64_t val_max)
{
	uint64_t stars = val_max ? (val < val_max ? val : val_max) * HIST_BAR_WIDTH / val_max : 0;
	uint64_t i;

	for (i = 0; i < HIST_BAR_WIDTH; i++)
		putchar(i < stars ? '*' : ' ');
	if (val > val_max)
		putchar('+');
}

void print_log2_hist(const char *title, struct json_object *counts)
{
	uint64_t vals[HIST_MAX_SLOTS] = { 0 }, val_max = 0, low, high;
	size_t n = 0, i, first = SIZE_MAX, last = 0;
	struct json_object *v;
	char high_s[24];

	if (counts && json_object_is_type(counts, json_type_array))
		n = json_object_array_length(counts);
	if (n > HIST_MAX_SLOTS)
		n = HIST_MAX_SLOTS;
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(counts, i);
		if (!v || !json_object_is_type(v, json_type_int) || json_object_get_int64(v) <= 0)
			continue;
		vals[i] = json_object_get_uint64(v);
		if (first == SIZE_MAX)
			first = i;
		last = i;
		if (vals[i] > val_max)
			val_max = vals[i];
	}

	printf("%s\n", title);
	if (first == SIZE_MAX) {
		printf("%15s(no samples)\n", "");
		return;
	}
	printf("%5s%-19s : count    distribution\n", "", "usecs");
	for (i = first; i <= last; i++) {
		low = i == 0 ? 0 : UINT64_C(1) << i;
		high = (UINT64_C(1) << (i + 1)) - 1;
		if (i + 1 == n)
			snprintf(high_s, sizeof(high_s), "inf");
		else
			snprintf(high_s, sizeof(high_s), "%" PRIu64, high);
		printf("%10" PRIu64 " -> %-10s : %-8" PRIu64 " |", low, high_s, vals[i]);
		print_stars(vals[i], val_max);
		printf("|\n");
	}
}

bool jget_u64(struct json_object *obj, const char *key, uint64_t *ret_val)
{
	struct json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v))
		return false;
	if (json_object_is_type(v, json_type_int)) {
		*ret_val = json_object_get_int64(v) < 0 ? 0 : json_object_get_uint64(v);
		return true;
	}
	if (json_object_is_type(v, json_type_double) && json_object_get_double(v) >= 0) {
		*ret_val = (uint64_t)json_object_get_double(v);
		return true;
	}
	return false;
}

bool jget_double(struct json_object *obj, const char *key, double *ret_val)
{
	struct json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v))
		return false;
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return false;
	*ret_val = json_object_get_double(v);
	return true;
}

const char *jget_str(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *jget_type(struct json_object *obj, const char *key, json_type type)
{
	struct json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

struct json_object *jget_obj(struct json_object *obj, const char *key)
{
	return jget_type(obj, key, json_type_object);
}

struct json_object *jget_array(struct json_object *obj, const char *key)
{
	return jget_type(obj, key, json_type_array);
}

void fmt_duration_key(char *buf, size_t size, struct json_object *obj, const char *key)
{
	uint64_t v;

	if (jget_u64(obj, key, &v))
		fmt_duration(buf, size, (double)v);
	else
		snprintf(buf, size, "-");
}

void fmt_bytes_key(char *buf, size_t size, struct json_object *obj, const char *key)
{
	uint64_t v;

	if (jget_u64(obj, key, &v))
		fmt_bytes(buf, size, (double)v);
	else
		snprintf(buf, size, "-");
}

void fmt_rate_key(char *buf, size_t size, struct json_object *obj, const char *key)
{
	double v;

	if (jget_double(obj, key, &v))
		fmt_duration(buf, size, v * 1e9);
	else
		snprintf(buf, size, "-");
}

void fmt_u64_key(char *buf, size_t size, struct json_object *obj, const char *key)
{
	uint64_t v;

	if (jget_u64(obj, key, &v))
		snprintf(buf, size, "%" PRIu64, v);
	else
		snprintf(buf, size, "-");
}
