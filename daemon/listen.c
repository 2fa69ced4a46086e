// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "listen.h"
#include "log.h"

#define BACKOFF_MIN_MS 100u
#define BACKOFF_MAX_MS 2000u

int listen__init(struct listener *l, int fd, int epfd, void *ptr, const char *what)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ptr };

	*l = (struct listener){ .fd = fd, .epfd = epfd, .ptr = ptr, .what = what };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	return 0;
}

static void pause_listener(struct listener *l, uint64_t now_ns, int err)
{
	struct epoll_event ev = { .events = 0, .data.ptr = l->ptr };

	l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (l->backoff_ms > BACKOFF_MAX_MS)
		l->backoff_ms = BACKOFF_MAX_MS;
	l->resume_ns = now_ns + (uint64_t)l->backoff_ms * 1000000ULL;
	l->paused = true;
	l->pauses++;
	/* events 0: stays registered (no re-add that could fail for want of memory) */
	epoll_ctl(l->epfd, EPOLL_CTL_MOD, l->fd, &ev);
	log_warn_errno(err,
		       "%s: cannot accept connections: %m; pausing for %u ms (raise "
		       "LimitNOFILE= or lower the client limits)",
		       l->what, l->backoff_ms);
}

int listen__accept(struct listener *l, uint64_t now_ns)
{
	for (;;) {
		int fd;

		if (l->paused)
			return -EAGAIN;
		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			l->backoff_ms = 0;
			return fd;
		}
		switch (errno) {
		case EINTR:
			continue;
		case EAGAIN:
			return -EAGAIN;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			pause_listener(l, now_ns, errno);
			return -EMFILE;
		default:
			/* the peer went away before we took it (ECONNABORTED, ...) */
			return -errno;
		}
	}
}

bool listen__tick(struct listener *l, uint64_t now_ns)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = l->ptr };

	if (!l->paused)
		return true;
	if (now_ns < l->resume_ns)
		return false;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, l->fd, &ev))
		return false;
	l->paused = false;
	return true;
}

int listen__timeout_ms(const struct listener *l, uint64_t now_ns)
{
	if (!l->paused)
		return -1;
	if (now_ns >= l->resume_ns)
		return 0;
	return (int)((l->resume_ns - now_ns + 999999) / 1000000);
}
