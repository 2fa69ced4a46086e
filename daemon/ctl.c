// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define OUT_MAX (8u << 20) /* a subscriber this far behind is dropped */

struct ctl_client {
	struct ep_source src; /* EP_CLIENT */
	struct ctl *ctl;
	int fd;
	struct ucred cred;
	char *in;
	size_t in_len;
	bool skip_line; /* discarding the rest of an over-long line */
	char *out;
	size_t out_len, out_cap;
	uint32_t sub_mask;
	bool closing;
	struct ctl_client *next;
};

struct ctl {
	struct ep_source src; /* EP_LISTEN */
	int fd;
	int epfd;
	char *path;
	ctl_request_fn fn;
	ctl_close_fn close_fn;
	void *ctx;
	struct ctl_client *clients;
	unsigned nclients;
};

int ctl__new(const char *path, int epfd, bool allow_others, ctl_request_fn fn,
	     ctl_close_fn close_fn, void *ctx, struct ctl **ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	struct epoll_event ev = { .events = EPOLLIN };
	struct ctl *c;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* the lock file guarantees no other daemon owns this path */
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	if (chmod(path, allow_others ? 0666 : 0600))
		return -errno;
	if (listen(fd, 64))
		return -errno;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->path = strdup(path);
	if (!c->path) {
		free(c);
		return -ENOMEM;
	}
	c->src.kind = EP_LISTEN;
	c->epfd = epfd;
	c->fn = fn;
	c->close_fn = close_fn;
	c->ctx = ctx;
	ev.data.ptr = &c->src;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		int r = -errno;

		free(c->path);
		free(c);
		return r;
	}
	c->fd = TAKE_FD(fd);
	*ret = c;
	return 0;
}

static void client_free(struct ctl_client *cl)
{
	struct ctl *c = cl->ctl;

	if (c->close_fn)
		c->close_fn(c->ctx, cl);
	for (struct ctl_client **pp = &c->clients; *pp; pp = &(*pp)->next) {
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	}
	c->nclients--;
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	free(cl->in);
	free(cl->out);
	free(cl);
}

void ctl__free(struct ctl *c)
{
	if (!c)
		return;
	while (c->clients)
		client_free(c->clients);
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	unlink(c->path);
	free(c->path);
	free(c);
}

static void update_events(struct ctl_client *cl)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (cl->out_len ? EPOLLOUT : 0),
				  .data.ptr = &cl->src };

	epoll_ctl(cl->ctl->epfd, EPOLL_CTL_MOD, cl->fd, &ev);
}

static int flush_out(struct ctl_client *cl)
{
	size_t off = 0;

	while (off < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + off, cl->out_len - off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	memmove(cl->out, cl->out + off, cl->out_len - off);
	cl->out_len -= off;
	update_events(cl);
	return 0;
}

static int send_line(struct ctl_client *cl, const char *line)
{
	size_t n = strlen(line);

	if (cl->closing)
		return -EPIPE;
	if (cl->out_len + n > OUT_MAX) {
		log_warn("control client pid %d is not reading; dropping it", (int)cl->cred.pid);
		cl->closing = true;
		return -ENOBUFS;
	}
	if (cl->out_len + n > cl->out_cap) {
		size_t cap = cl->out_cap ? cl->out_cap : 4096;
		char *o;

		while (cap < cl->out_len + n)
			cap *= 2;
		o = realloc(cl->out, cap);
		if (!o)
			return -ENOMEM;
		cl->out = o;
		cl->out_cap = cap;
	}
	memcpy(cl->out + cl->out_len, line, n);
	cl->out_len += n;
	if (flush_out(cl) < 0)
		cl->closing = true;
	return 0;
}

int ctl_client__reply(struct ctl_client *cl, json_object *obj)
{
	_cleanup_free_ char *line = NULL;

	if (!obj)
		return -ENOMEM;
	line = proto_line(obj);
	json_object_put(obj);
	if (!line)
		return -ENOMEM;
	return send_line(cl, line);
}

int ctl_client__reply_error(struct ctl_client *cl, const char *fmt, ...)
{
	_cleanup_free_ char *line = NULL;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	line = proto_error_line(msg);
	if (!line)
		return -ENOMEM;
	return send_line(cl, line);
}

uid_t ctl_client__uid(const struct ctl_client *cl)
{
	return cl->cred.uid;
}

pid_t ctl_client__pid(const struct ctl_client *cl)
{
	return cl->cred.pid;
}

void ctl_client__subscribe(struct ctl_client *cl, uint32_t mask)
{
	cl->sub_mask = mask;
}

unsigned ctl__nclients(const struct ctl *c)
{
	return c->nclients;
}

void ctl__broadcast(struct ctl *c, uint32_t type, json_object *obj)
{
	_cleanup_free_ char *line = NULL;

	for (struct ctl_client *cl = c->clients; cl; cl = cl->next) {
		if (!(cl->sub_mask & (1u << type)) || cl->closing)
			continue;
		if (!line && !(line = proto_line(obj)))
			return;
		send_line(cl, line);
	}
}

static void handle_line(struct ctl_client *cl, const char *line, size_t len)
{
	struct ctl *c = cl->ctl;
	json_object *req = NULL;
	const char *op = NULL, *msg = NULL;
	int r;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (!len)
		return;
	r = proto_decode_request(line, len, &req, &op, &msg);
	if (r) {
		ctl_client__reply_error(cl, "%s", msg ? msg : strerror(-r));
		return;
	}
	r = c->fn(c->ctx, cl, req, op);
	if (r < 0)
		ctl_client__reply_error(cl, "%s: %s", op, strerror(-r));
	json_object_put(req);
}

static void client_read(struct ctl_client *cl)
{
	for (;;) {
		size_t room = CGP_PROTO_LINE_MAX + 1 - cl->in_len;
		ssize_t n = recv(cl->fd, cl->in + cl->in_len, room, 0);
		char *start, *nl;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				cl->closing = true;
			return;
		}
		if (n == 0) {
			cl->closing = true;
			return;
		}
		cl->in_len += (size_t)n;
		start = cl->in;
		while ((nl = memchr(start, '\n', cl->in_len - (size_t)(start - cl->in)))) {
			if (cl->skip_line)
				cl->skip_line = false;
			else
				handle_line(cl, start, (size_t)(nl - start));
			start = nl + 1;
			if (cl->closing)
				return;
		}
		cl->in_len -= (size_t)(start - cl->in);
		memmove(cl->in, start, cl->in_len);
		if (cl->in_len > CGP_PROTO_LINE_MAX) {
			/* over-long line: answer once, then drop bytes up to its newline */
			if (!cl->skip_line)
				ctl_client__reply_error(cl, "request too long (limit %d bytes)",
							CGP_PROTO_LINE_MAX);
			cl->skip_line = true;
			cl->in_len = 0;
		}
	}
}

static void accept_clients(struct ctl *c)
{
	for (;;) {
		int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
		socklen_t len = sizeof(struct ucred);
		struct ctl_client *cl;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn_errno(errno, "accept on control socket: %m");
			return;
		}
		cl = calloc(1, sizeof(*cl));
		if (!cl || !(cl->in = malloc(CGP_PROTO_LINE_MAX + 1))) {
			free(cl);
			close(fd);
			continue;
		}
		cl->src.kind = EP_CLIENT;
		cl->ctl = c;
		cl->fd = fd;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cl->cred, &len)) {
			/* unknown peer: treat as the least privileged */
			cl->cred.uid = (uid_t)-1;
			cl->cred.pid = 0;
		}
		ev.data.ptr = &cl->src;
		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(cl->in);
			free(cl);
			continue;
		}
		cl->next = c->clients;
		c->clients = cl;
		c->nclients++;
	}
}

void ctl__dispatch(struct ctl *c, struct ep_source *src, uint32_t events)
{
	struct ctl_client *cl;

	if (src->kind == EP_LISTEN) {
		accept_clients(c);
		return;
	}
	cl = (struct ctl_client *)src;
	if (events & EPOLLIN)
		client_read(cl);
	if ((events & EPOLLOUT) && !cl->closing && flush_out(cl) < 0)
		cl->closing = true;
	if ((events & (EPOLLHUP | EPOLLERR)) || ((events & EPOLLRDHUP) && !(events & EPOLLIN)))
		cl->closing = true;
	if (cl->closing)
		client_free(cl);
}

void ctl__reap(struct ctl *c)
{
	struct ctl_client *cl = c->clients;

	while (cl) {
		struct ctl_client *next = cl->next;

		if (cl->closing)
			client_free(cl);
		cl = next;
	}
}
