/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /metrics over HTTP: libmicrohttpd parses and answers, driven from the
 * daemon's epoll loop; the connections are accepted and policed here.
 *
 * Every connection must deliver a complete request within
 * [metrics] request_timeout_s of opening or of its previous response, and a
 * response must be fully sent within the same time of its request arriving;
 * otherwise the connection is shut down ("timeout"). At
 * [metrics] max_connections, a newcomer evicts the oldest connection that
 * has not delivered a complete request (if none, the oldest response in
 * flight) instead of being refused ("evicted"). So slow, idle or
 * non-reading clients cannot keep Prometheus out, wherever they come from.
 */
#ifndef CGPILOT_METRICS_H
#define CGPILOT_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct daemon;
struct metrics;

struct metrics_stats {
	uint64_t connections; /* open now */
	uint64_t accepted; /* connections handed to the HTTP server */
	uint64_t closed_timeout; /* shut down: request or response too slow */
	uint64_t closed_evicted; /* shut down to make room for a newcomer */
	uint64_t accept_pauses; /* times accepting paused for want of fds */
};

/* Listen on addr ("IP:PORT", "[IPv6]:PORT"; port 0 picks one). */
int metrics__new(struct daemon *d, const char *addr, struct metrics **ret);
void metrics__free(struct metrics *m);
/* One fd to watch for readiness (EPOLLIN), and the call to make when it is
 * ready; it also becomes ready for the server's own deadlines. Calling
 * metrics__run at other times is harmless. */
int metrics__fd(const struct metrics *m);
void metrics__run(struct metrics *m);
/* The address actually bound, e.g. "127.0.0.1:9477". */
const char *metrics__address(const struct metrics *m);
void metrics__stats(const struct metrics *m, struct metrics_stats *ret);

/* Render the exposition text from the model (no cgroupfs reads). */
char *metrics_render(struct daemon *d, size_t *ret_len);

#endif
