/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A listening socket in the daemon's epoll set that survives running out of
 * file descriptors. accept() failing with EMFILE/ENFILE leaves the pending
 * connection queued, so a level-triggered listener would fire again at once
 * and the loop would spin: instead the listener is taken out of the epoll
 * set for a back-off (100 ms, doubling to 2 s while the shortage lasts) and
 * put back by listen__tick(). Shared by the control socket and /metrics.
 */
#ifndef CGPILOT_LISTEN_H
#define CGPILOT_LISTEN_H

#include <stdbool.h>
#include <stdint.h>

struct listener {
	int fd; /* the listening socket (not owned) */
	int epfd;
	void *ptr; /* epoll data of the registration */
	const char *what; /* for messages: "control socket", "/metrics" */
	bool paused;
	uint64_t resume_ns; /* when paused: CLOCK_MONOTONIC time to re-arm */
	unsigned backoff_ms; /* current back-off, 0 when not short of fds */
	uint64_t pauses; /* times accept ran out of file descriptors */
};

/* Register fd (EPOLLIN, data ptr) in epfd. */
int listen__init(struct listener *l, int fd, int epfd, void *ptr, const char *what);
/* Accept one connection (SOCK_NONBLOCK | SOCK_CLOEXEC): the new fd, -EAGAIN
 * when none is pending or the listener is paused, -EMFILE/-ENFILE after
 * pausing it, other -errno for a connection that failed (accept again). */
int listen__accept(struct listener *l, uint64_t now_ns);
/* Re-arm a paused listener whose back-off is over; call now and then (the
 * loop's timer). Returns true if it is listening. */
bool listen__tick(struct listener *l, uint64_t now_ns);
/* Milliseconds until a paused listener wants a tick, -1 if not paused. */
int listen__timeout_ms(const struct listener *l, uint64_t now_ns);

#endif
