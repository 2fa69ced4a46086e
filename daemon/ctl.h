/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Control socket: a unix stream socket speaking JSON lines. Owns the listener
 * and the client connections, frames lines, enforces the line limit, buffers
 * output, and streams events to subscribers. Requests go to a callback.
 *
 * Clients are local users, some of them not root: none of them may make
 * the daemon spin, log without end, or hold memory it cannot give back.
 * So the number of clients is capped (max_clients, lowered to what
 * RLIMIT_NOFILE leaves; a few slots kept for root), the output all clients
 * together may hold is bounded (output_limit_kib: over it, the client with
 * the most pending output is dropped), a client whose output does not move
 * for client_timeout_s is dropped, and a client's next request is not read
 * while it has more than a few KiB of reply unread.
 */
#ifndef CGPILOT_CTL_H
#define CGPILOT_CTL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

/* First member of every epoll registration, so the loop can dispatch. */
enum ep_kind {
	EP_RINGBUF = 1,
	EP_TIMER,
	EP_SIGNAL,
	EP_LISTEN,
	EP_CLIENT,
	EP_DEFERRED,
	EP_METRICS,
	EP_CONTROL, /* the control loops' one-shot timer (daemon/ctr_control.c) */
	EP_GUARD, /* the memory relief's one-shot timer (daemon/ctr_guard.c) */
	EP_IO, /* the I/O loop's one-shot timer (daemon/ctr_io.c) */
	EP_PSI, /* a PSI trigger of a guaranteed container (daemon/ctr_guard.c) */
};

struct ep_source {
	enum ep_kind kind;
};

struct ctl;
struct ctl_client;

/* Handle one request. Return 0 after replying (ctl_client__reply*), or
 * -errno; the caller of the callback turns an error into {"error":...}. */
typedef int (*ctl_request_fn)(void *ctx, struct ctl_client *cl, json_object *req, const char *op);
/* A client is going away: drop anything that refers to it. */
typedef void (*ctl_close_fn)(void *ctx, struct ctl_client *cl);

/* Listen on path, with the [control] settings of conf (allow_read_others
 * decides the socket's mode from its creation on). */
int ctl__new(const char *path, int epfd, const struct cgp_conf *conf, ctl_request_fn fn,
	     ctl_close_fn close_fn, void *ctx, struct ctl **ret);
void ctl__free(struct ctl *c);

/* Apply a reloaded [control] section: limits, and the socket's mode via
 * ctl__set_allow_others(). Logs what it could not apply; -errno then. */
int ctl__reconfigure(struct ctl *c, const struct cgp_conf *conf);
/* Socket mode 0666 or 0600, changed through an O_PATH fd of the path that
 * is checked to still be the socket we bound. Revoking also drops the
 * connected non-root clients (subscribers would go on streaming). */
int ctl__set_allow_others(struct ctl *c, bool allow);

/* epoll readiness on a source owned by ctl (EP_LISTEN or EP_CLIENT). */
void ctl__dispatch(struct ctl *c, struct ep_source *src, uint32_t events);
/* Time-driven work, on every timer tick: re-arm a listener paused for want
 * of file descriptors, drop clients whose output is stuck, and report log
 * lines suppressed by the rate limit. */
void ctl__tick(struct ctl *c, uint64_t now_ns);
/* Milliseconds until ctl__tick() has work (a paused listener), -1: none. */
int ctl__timeout_ms(const struct ctl *c, uint64_t now_ns);

int ctl_client__reply(struct ctl_client *cl, json_object *obj); /* consumes obj */
int ctl_client__reply_error(struct ctl_client *cl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
uid_t ctl_client__uid(const struct ctl_client *cl);
/* One request that changes state, from a bucket of @per_s a second (twice
 * that at once); false: none left, *ret_wait_ms until there is. @per_s 0:
 * always true. */
bool ctl_client__take(struct ctl_client *cl, unsigned per_s, uint64_t now_ns,
		      uint64_t *ret_wait_ms);
pid_t ctl_client__pid(const struct ctl_client *cl);
/* Stream events of the types in mask (bit per enum cgp_event_type). */
void ctl_client__subscribe(struct ctl_client *cl, uint32_t mask);

/* Send one line to every subscriber of type. */
void ctl__broadcast(struct ctl *c, uint32_t type, json_object *obj);
unsigned ctl__nclients(const struct ctl *c);
/* Free clients marked for closing; call after each epoll batch (a client
 * is never freed while the batch may still name it). */
void ctl__reap(struct ctl *c);

struct ctl_stats {
	unsigned clients; /* connected now */
	unsigned max_clients; /* the cap in force */
	uint64_t accepted; /* connections taken, since start */
	uint64_t refused; /* over the cap: told so and closed */
	uint64_t dropped_slow; /* output made no progress for client_timeout_s */
	uint64_t dropped_over_budget; /* most pending output when the total was over the limit */
	uint64_t output_bytes; /* buffered for all clients now (allocated) */
	uint64_t output_limit_bytes;
	uint64_t accept_pauses; /* accept ran out of file descriptors */
};

void ctl__stats(const struct ctl *c, struct ctl_stats *ret);

#endif
