/* SPDX-License-Identifier: Apache-2.0 */
/* /metrics over HTTP (libmicrohttpd driven from the daemon's epoll loop). */
#ifndef CGPILOT_METRICS_H
#define CGPILOT_METRICS_H

#include <stddef.h>

struct daemon;
struct metrics;

/* Listen on addr ("IP:PORT", "[IPv6]:PORT"; port 0 picks one). */
int metrics__new(struct daemon *d, const char *addr, struct metrics **ret);
void metrics__free(struct metrics *m);
/* The fd to watch for readiness, and the call to make on it (and now and
 * then for timeouts). */
int metrics__fd(const struct metrics *m);
void metrics__run(struct metrics *m);
/* The address actually bound, e.g. "127.0.0.1:9477". */
const char *metrics__address(const struct metrics *m);

/* Render the exposition text from the model (no cgroupfs reads). */
char *metrics_render(struct daemon *d, size_t *ret_len);

#endif
