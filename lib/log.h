/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One logger for the daemon and tools: stderr, or syslog-style prefixes.
 *
 * Every log_*() call site is rate limited on its own, as systemd's
 * log_ratelimit_*() are: a burst of lines per interval, then silence, and
 * when the interval is over one line saying how many were suppressed. A
 * hostile client that makes one line fail a million times thus costs a
 * handful of lines, and one noisy site cannot hide the others.
 */
#ifndef CGPILOT_LOG_H
#define CGPILOT_LOG_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN = 1,
	LOG_LVL_INFO = 2,
	LOG_LVL_DEBUG = 3,
};

#define LOG_RATELIMIT_INTERVAL_NS (5ULL * 1000000000ULL)
#define LOG_RATELIMIT_BURST 10

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_ident(const char *ident);
/* Lines per call site per interval; burst 0 turns rate limiting off. */
void log_set_ratelimit(uint64_t interval_ns, unsigned burst);

/* The pure decision, state kept by the caller. */
struct log_ratelimit {
	uint64_t begin_ns; /* start of the current interval; 0: no interval yet */
	unsigned printed; /* lines let through in it */
	unsigned suppressed; /* lines swallowed in it */
};

/*
 * A line at now: true to print it, false to swallow it. When now starts a
 * new interval, *ret_report gets the count the previous one swallowed (to
 * be reported before this line), else 0.
 */
bool log_ratelimit_test(struct log_ratelimit *rl, uint64_t now_ns, uint64_t interval_ns,
			unsigned burst, unsigned *ret_report);
/* No line: if the interval is over, return what it swallowed (and forget
 * it), else 0. */
unsigned log_ratelimit_expire(struct log_ratelimit *rl, uint64_t now_ns, uint64_t interval_ns);

/* One per call site (static, made by the macros below). */
struct log_site {
	struct log_ratelimit rl;
	enum log_level level; /* of the lines swallowed, for their summary */
	bool listed; /* on the list of sites with lines to report */
	struct log_site *next;
	char last[120]; /* the last line printed, for the summary */
};

/* Logs and returns -|err| so callers can `return log_error_errno(r, ...)`.
 * %m in fmt prints strerror(|err|). site NULL: not rate limited. */
int log_site_internal(struct log_site *site, enum log_level level, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Not rate limited: for one-off lines only. */
int log_errno_internal(enum log_level level, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Report the sites whose interval is over with lines swallowed; the
 * daemon calls it on its timer so a summary does not wait for the next
 * line of that site. */
void log_flush_suppressed(void);

#define log_full_errno(level, err, ...)                                     \
	({                                                                  \
		static struct log_site _log_site;                           \
		log_site_internal(&_log_site, (level), (err), __VA_ARGS__); \
	})

#define log_error_errno(err, ...) log_full_errno(LOG_LVL_ERROR, (err), __VA_ARGS__)
#define log_warn_errno(err, ...) log_full_errno(LOG_LVL_WARN, (err), __VA_ARGS__)
#define log_error(...) ((void)log_full_errno(LOG_LVL_ERROR, 0, __VA_ARGS__))
#define log_warn(...) ((void)log_full_errno(LOG_LVL_WARN, 0, __VA_ARGS__))
#define log_info(...) ((void)log_full_errno(LOG_LVL_INFO, 0, __VA_ARGS__))
#define log_debug(...) ((void)log_full_errno(LOG_LVL_DEBUG, 0, __VA_ARGS__))

#endif
