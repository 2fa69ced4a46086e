// SPDX-License-Identifier: Apache-2.0
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* The daemon and tools are single-threaded (libmicrohttpd runs in our
 * loop), so the rate-limit state needs no lock. */
static enum log_level cur_level = LOG_LVL_INFO;
static const char *cur_ident = "cgpilot";
static uint64_t rl_interval_ns = LOG_RATELIMIT_INTERVAL_NS;
static unsigned rl_burst = LOG_RATELIMIT_BURST;
static struct log_site *listed; /* sites with swallowed lines not yet reported */

void log_set_level(enum log_level level)
{
	cur_level = level;
}

enum log_level log_get_level(void)
{
	return cur_level;
}

void log_set_ident(const char *ident)
{
	cur_ident = ident;
}

void log_set_ratelimit(uint64_t interval_ns, unsigned burst)
{
	rl_interval_ns = interval_ns;
	rl_burst = burst;
}

bool log_ratelimit_test(struct log_ratelimit *rl, uint64_t now_ns, uint64_t interval_ns,
			unsigned burst, unsigned *ret_report)
{
	*ret_report = 0;
	/* now before begin (a clock step in a test) counts as inside */
	if (!rl->begin_ns || (now_ns >= rl->begin_ns && now_ns - rl->begin_ns >= interval_ns)) {
		*ret_report = rl->suppressed;
		*rl = (struct log_ratelimit){ .begin_ns = now_ns };
	}
	if (rl->printed < burst) {
		rl->printed++;
		return true;
	}
	if (rl->suppressed < ~0u)
		rl->suppressed++;
	return false;
}

unsigned log_ratelimit_expire(struct log_ratelimit *rl, uint64_t now_ns, uint64_t interval_ns)
{
	unsigned n;

	if (!rl->begin_ns || now_ns < rl->begin_ns || now_ns - rl->begin_ns < interval_ns)
		return 0;
	n = rl->suppressed;
	*rl = (struct log_ratelimit){ 0 };
	return n;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static const char *const prefixes[] = { "error", "warning", "info", "debug" };

static void unlist(struct log_site *site)
{
	for (struct log_site **pp = &listed; *pp; pp = &(*pp)->next) {
		if (*pp == site) {
			*pp = site->next;
			break;
		}
	}
	site->next = NULL;
	site->listed = false;
}

static void report(struct log_site *site, unsigned n)
{
	fprintf(stderr, "%s: %s: %u similar messages suppressed; the last one printed was: %s\n",
		cur_ident, prefixes[site->level], n, site->last);
}

static void flush_at(uint64_t now_ns)
{
	struct log_site *site = listed;

	while (site) {
		struct log_site *next = site->next;
		unsigned n = log_ratelimit_expire(&site->rl, now_ns, rl_interval_ns);

		if (n) {
			report(site, n);
			unlist(site);
		}
		site = next;
	}
}

void log_flush_suppressed(void)
{
	if (listed)
		flush_at(mono_ns());
}

static void emit(struct log_site *site, enum log_level level, int err, const char *fmt, va_list ap)
{
	char buf[2048], *big = NULL;
	const char *line = buf;
	va_list aq;
	int n;

	va_copy(aq, ap);
	errno = err;
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n >= (int)sizeof(buf) && (big = malloc((size_t)n + 1))) {
		errno = err;
		vsnprintf(big, (size_t)n + 1, fmt, aq);
		line = big;
	}
	va_end(aq);
	if (n < 0)
		line = fmt;
	fprintf(stderr, "%s: %s: %s\n", cur_ident, prefixes[level], line);
	if (site) {
		/* truncated on purpose: enough to say which line it was */
		size_t k = strnlen(line, sizeof(site->last) - 1);

		memcpy(site->last, line, k);
		site->last[k] = 0;
	}
	free(big);
}

static int log_va(struct log_site *site, enum log_level level, int err, const char *fmt, va_list ap)
{
	if (err < 0)
		err = -err;
	if (level > cur_level)
		return -err;
	if (site && rl_burst) {
		uint64_t now = mono_ns();
		unsigned n;
		bool allow;

		if (listed)
			flush_at(now);
		allow = log_ratelimit_test(&site->rl, now, rl_interval_ns, rl_burst, &n);
		if (n) {
			/* the previous interval's summary goes before this line */
			report(site, n);
			unlist(site);
		}
		if (!allow) {
			site->level = level;
			if (!site->listed) {
				site->listed = true;
				site->next = listed;
				listed = site;
			}
			return -err;
		}
	}
	emit(site, level, err, fmt, ap);
	return -err;
}

int log_site_internal(struct log_site *site, enum log_level level, int err, const char *fmt, ...)
{
	int saved = errno, r;
	va_list ap;

	va_start(ap, fmt);
	r = log_va(site, level, err, fmt, ap);
	va_end(ap);
	errno = saved;
	return r;
}

int log_errno_internal(enum log_level level, int err, const char *fmt, ...)
{
	int saved = errno, r;
	va_list ap;

	va_start(ap, fmt);
	r = log_va(NULL, level, err, fmt, ap);
	va_end(ap);
	errno = saved;
	return r;
}
