/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the cmocka unit tests: includes cmocka needs and a few assertions. */
#ifndef CGPILOT_TEST_UNIT_H
#define CGPILOT_TEST_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* Substring checks that print both strings when they fail. */
#define assert_contains(hay, needle)                                                        \
	do {                                                                                \
		const char *h_ = (hay), *n_ = (needle);                                     \
		if (!h_ || !strstr(h_, n_))                                                 \
			fail_msg("\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)", n_); \
	} while (0)

#define assert_starts_with(str, prefix)                                                        \
	do {                                                                                   \
		const char *s_ = (str), *p_ = (prefix);                                        \
		if (!s_ || strncmp(s_, p_, strlen(p_)))                                        \
			fail_msg("\"%s\" does not start with \"%s\"", s_ ? s_ : "(null)", p_); \
	} while (0)

#endif
