/* SPDX-License-Identifier: Apache-2.0 */
/* One logger for the daemon and tools: stderr, or syslog-style prefixes. */
#ifndef CGPILOT_LOG_H
#define CGPILOT_LOG_H

#include <errno.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN = 1,
	LOG_LVL_INFO = 2,
	LOG_LVL_DEBUG = 3,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_ident(const char *ident);

/* Logs and returns -|err| so callers can `return log_error_errno(r, ...)`.
 * %m in fmt prints strerror(|err|). */
int log_errno_internal(enum log_level level, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error_errno(err, ...) log_errno_internal(LOG_LVL_ERROR, (err), __VA_ARGS__)
#define log_warn_errno(err, ...) log_errno_internal(LOG_LVL_WARN, (err), __VA_ARGS__)
#define log_error(...) ((void)log_errno_internal(LOG_LVL_ERROR, 0, __VA_ARGS__))
#define log_warn(...) ((void)log_errno_internal(LOG_LVL_WARN, 0, __VA_ARGS__))
#define log_info(...) ((void)log_errno_internal(LOG_LVL_INFO, 0, __VA_ARGS__))
#define log_debug(...) ((void)log_errno_internal(LOG_LVL_DEBUG, 0, __VA_ARGS__))

#endif
