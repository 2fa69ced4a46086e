/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Control socket: a unix stream socket speaking JSON lines. Owns the listener
 * and the client connections, frames lines, enforces the line limit, buffers
 * output, and streams events to subscribers. Requests go to a callback.
 */
#ifndef CGPILOT_CTL_H
#define CGPILOT_CTL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* First member of every epoll registration, so the loop can dispatch. */
enum ep_kind { EP_RINGBUF = 1, EP_TIMER, EP_SIGNAL, EP_LISTEN, EP_CLIENT, EP_DEFERRED, EP_METRICS };

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

int ctl__new(const char *path, int epfd, bool allow_others, ctl_request_fn fn,
	     ctl_close_fn close_fn, void *ctx, struct ctl **ret);
void ctl__free(struct ctl *c);

/* epoll readiness on a source owned by ctl (EP_LISTEN or EP_CLIENT). */
void ctl__dispatch(struct ctl *c, struct ep_source *src, uint32_t events);

int ctl_client__reply(struct ctl_client *cl, json_object *obj); /* consumes obj */
int ctl_client__reply_error(struct ctl_client *cl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
uid_t ctl_client__uid(const struct ctl_client *cl);
pid_t ctl_client__pid(const struct ctl_client *cl);
/* Stream events of the types in mask (bit per enum cgp_event_type). */
void ctl_client__subscribe(struct ctl_client *cl, uint32_t mask);

/* Send one line to every subscriber of type. */
void ctl__broadcast(struct ctl *c, uint32_t type, json_object *obj);
unsigned ctl__nclients(const struct ctl *c);
/* Free clients marked for closing outside their own dispatch; call after
 * each epoll batch. */
void ctl__reap(struct ctl *c);

#endif
