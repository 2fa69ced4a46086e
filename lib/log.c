// SPDX-License-Identifier: Apache-2.0
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static enum log_level cur_level = LOG_LVL_INFO;
static const char *cur_ident = "cgpilot";

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

static const char *const prefixes[] = { "error", "warning", "info", "debug" };

int log_errno_internal(enum log_level level, int err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (err < 0)
		err = -err;
	if (level <= cur_level) {
		errno = err;
		fprintf(stderr, "%s: %s: ", cur_ident, prefixes[level]);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	errno = saved;
	return -err;
}
