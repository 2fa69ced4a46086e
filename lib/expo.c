// SPDX-License-Identifier: Apache-2.0
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expo.h"
#include "hist.h"

void expo_init(struct expo *e)
{
	memset(e, 0, sizeof(*e));
}

void expo_free(struct expo *e)
{
	free(e->buf);
	expo_init(e);
}

static bool reserve(struct expo *e, size_t n)
{
	size_t cap;
	char *b;

	if (e->failed)
		return false;
	if (e->len + n + 1 <= e->cap)
		return true;
	cap = e->cap ? e->cap : 65536;
	while (cap < e->len + n + 1)
		cap *= 2;
	b = realloc(e->buf, cap);
	if (!b) {
		e->failed = true;
		return false;
	}
	e->buf = b;
	e->cap = cap;
	return true;
}

static void put(struct expo *e, const char *s, size_t n)
{
	if (!reserve(e, n))
		return;
	memcpy(e->buf + e->len, s, n);
	e->len += n;
	e->buf[e->len] = 0;
}

static void puts_(struct expo *e, const char *s)
{
	put(e, s, strlen(s));
}

static void putc_(struct expo *e, char c)
{
	put(e, &c, 1);
}

char *expo_take(struct expo *e, size_t *ret_len)
{
	char *b;

	if (!reserve(e, 0)) {
		expo_free(e);
		return NULL;
	}
	b = e->buf;
	*ret_len = e->len;
	expo_init(e);
	return b;
}

/* HELP text escapes only backslash and newline. */
void expo_family(struct expo *e, const char *name, const char *type, const char *help)
{
	puts_(e, "# HELP ");
	puts_(e, name);
	putc_(e, ' ');
	for (const char *p = help; *p; p++) {
		if (*p == '\\')
			puts_(e, "\\\\");
		else if (*p == '\n')
			puts_(e, "\\n");
		else
			putc_(e, *p);
	}
	puts_(e, "\n# TYPE ");
	puts_(e, name);
	putc_(e, ' ');
	puts_(e, type);
	putc_(e, '\n');
}

void expo_begin(struct expo *e, const char *name, const char *suffix)
{
	puts_(e, name);
	if (suffix)
		puts_(e, suffix);
	e->in_labels = false;
}

void expo_label_raw(struct expo *e, const char *key, const char *escaped)
{
	putc_(e, e->in_labels ? ',' : '{');
	e->in_labels = true;
	puts_(e, key);
	puts_(e, "=\"");
	puts_(e, escaped);
	putc_(e, '"');
}

char *expo_escape(const char *s)
{
	size_t n = 0;
	char *out, *w;

	for (const char *p = s; *p; p++)
		n += (*p == '\\' || *p == '"' || *p == '\n') ? 2 : 1;
	out = malloc(n + 1);
	if (!out)
		return NULL;
	w = out;
	for (const char *p = s; *p; p++) {
		if (*p == '\\' || *p == '"') {
			*w++ = '\\';
			*w++ = *p;
		} else if (*p == '\n') {
			*w++ = '\\';
			*w++ = 'n';
		} else {
			*w++ = *p;
		}
	}
	*w = 0;
	return out;
}

void expo_label(struct expo *e, const char *key, const char *value)
{
	char *esc = expo_escape(value);

	if (!esc) {
		e->failed = true;
		return;
	}
	expo_label_raw(e, key, esc);
	free(esc);
}

static void end_labels(struct expo *e)
{
	if (e->in_labels)
		putc_(e, '}');
	e->in_labels = false;
	putc_(e, ' ');
}

static size_t fmt_u64(char *out, uint64_t v)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

void expo_value_u64(struct expo *e, uint64_t v)
{
	char b[24];
	size_t n;

	end_labels(e);
	n = fmt_u64(b, v);
	b[n++] = '\n';
	put(e, b, n);
}

/* v / 10^decimals in decimal, exactly; returns the length (no NUL). */
static size_t fmt_scaled(char *b, uint64_t v, unsigned decimals)
{
	static const uint64_t pow10[] = { 1,	  10,	   100,	     1000,	10000,
					  100000, 1000000, 10000000, 100000000, 1000000000 };
	uint64_t ip, fp;
	size_t n;

	if (decimals > 9)
		decimals = 9;
	ip = v / pow10[decimals];
	fp = v % pow10[decimals];
	n = fmt_u64(b, ip);
	if (decimals && fp) {
		char d[16];
		size_t k = fmt_u64(d, fp);

		b[n++] = '.';
		for (size_t z = k; z < decimals; z++)
			b[n++] = '0';
		while (k > 1 && d[k - 1] == '0')
			k--; /* trailing zeros say nothing */
		memcpy(b + n, d, k);
		n += k;
	}
	return n;
}

void expo_value_scaled(struct expo *e, uint64_t v, unsigned decimals)
{
	char b[48];
	size_t n;

	end_labels(e);
	n = fmt_scaled(b, v, decimals);
	b[n++] = '\n';
	put(e, b, n);
}

void expo_value_double(struct expo *e, double v)
{
	char b[48];
	int n;

	end_labels(e);
	if (isnan(v))
		n = snprintf(b, sizeof(b), "NaN\n");
	else if (isinf(v))
		n = snprintf(b, sizeof(b), "%s\n", v > 0 ? "+Inf" : "-Inf");
	else
		n = snprintf(b, sizeof(b), "%.17g\n", v);
	put(e, b, (size_t)n);
}

void expo_histogram_log2(struct expo *e, const char *name, const char *label_key,
			 const char *label_escaped, const __u64 *slots, uint64_t sum_ns,
			 const unsigned *bounds_k, unsigned nbounds)
{
	uint64_t cum = 0, total = 0;
	unsigned next = 0;

	for (unsigned k = 0; k < CGP_HIST_SLOTS; k++)
		total += slots[k];
	for (unsigned b = 0; b < nbounds; b++) {
		unsigned k = bounds_k[b];

		if (k + 1 >= CGP_HIST_SLOTS)
			break; /* the last slot is open-ended: only +Inf holds it */
		for (; next <= k; next++)
			cum += slots[next];
		expo_begin(e, name, "_bucket");
		if (label_key)
			expo_label_raw(e, label_key, label_escaped);
		/* le = 2^(k+1) us, in seconds, exact in decimal */
		{
			char le[48];

			le[fmt_scaled(le, cgp_hist_slot_upper_us(k), 6)] = 0;
			expo_label_raw(e, "le", le);
		}
		expo_value_u64(e, cum);
	}
	expo_begin(e, name, "_bucket");
	if (label_key)
		expo_label_raw(e, label_key, label_escaped);
	expo_label_raw(e, "le", "+Inf");
	expo_value_u64(e, total);
	expo_begin(e, name, "_sum");
	if (label_key)
		expo_label_raw(e, label_key, label_escaped);
	expo_value_scaled(e, sum_ns, 9);
	expo_begin(e, name, "_count");
	if (label_key)
		expo_label_raw(e, label_key, label_escaped);
	expo_value_u64(e, total);
}

static void single(struct expo *e, const char *name, const char *type, const char *help, uint64_t v)
{
	expo_family(e, name, type, help);
	expo_begin(e, name, NULL);
	expo_value_u64(e, v);
}

void expo_gauge(struct expo *e, const char *name, const char *help, uint64_t v)
{
	single(e, name, "gauge", help, v);
}

void expo_counter(struct expo *e, const char *name, const char *help, uint64_t v)
{
	single(e, name, "counter", help, v);
}

static void labeled(struct expo *e, const char *name, const char *type, const char *help,
		    const char *key, const struct expo_labeled *v, unsigned n)
{
	expo_family(e, name, type, help);
	for (unsigned i = 0; i < n; i++) {
		expo_begin(e, name, NULL);
		expo_label_raw(e, key, v[i].value);
		expo_value_u64(e, v[i].n);
	}
}

void expo_counters(struct expo *e, const char *name, const char *help, const char *key,
		   const struct expo_labeled *v, unsigned n)
{
	labeled(e, name, "counter", help, key, v, n);
}

void expo_gauges(struct expo *e, const char *name, const char *help, const char *key,
		 const struct expo_labeled *v, unsigned n)
{
	labeled(e, name, "gauge", help, key, v, n);
}
