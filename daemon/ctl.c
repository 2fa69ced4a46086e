// SPDX-License-Identifier: Apache-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "listen.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define OUT_CLIENT_MAX (8u << 20) /* one client this far behind is dropped whatever the total */
/* Requests wait while this much reply is unread, so a client that pipelines
 * and never reads holds about one reply, not one per request. */
#define OUT_SOFT 4096u
#define IN_MIN 4096u
#define IN_MAX (CGP_PROTO_LINE_MAX + 1u)
/* Work per readiness event, so one busy client cannot hold up the others:
 * requests handled, and reply bytes made (a proxy for the CPU they cost). */
#define LINES_PER_DISPATCH 16
#define OUT_PER_DISPATCH 16384u
/* The kernel's share of a client's unread output (it doubles the value):
 * kept small so a client that never reads is not served many replies
 * into a socket buffer that no budget of ours counts. */
#define CLIENT_SNDBUF 32768
#define ACCEPTS_PER_DISPATCH 16
/* Descriptors left to the rest of the daemon (/metrics, cgroup files,
 * timers) when RLIMIT_NOFILE lowers max_clients. */
#define FD_RESERVE 32
#define ROOT_SLOTS_MAX 4 /* slots only root may take, so others cannot lock it out */

struct ctl_client {
	struct ep_source src; /* EP_CLIENT */
	struct ctl *ctl;
	int fd;
	struct ucred cred;
	char *in; /* allocated on the first byte, freed when empty */
	size_t in_len, in_cap;
	bool skip_line; /* discarding the rest of an over-long line */
	char *out; /* unsent bytes are out[out_off..out_end) */
	size_t out_off, out_end, out_cap;
	uint64_t stalled_ns; /* output last moved, or we began to wait for room, then */
	uint64_t produced; /* reply bytes made for it, sent or not */
	uint32_t sub_mask;
	uint32_t ep_events; /* as registered */
	/* the bucket of its requests that change state (ctl_client__take) */
	double tokens;
	uint64_t tokens_ns;
	bool tokens_set;
	bool rd_eof; /* the peer sends no more requests */
	bool closing;
	struct ctl_client *next;
};

struct ctl {
	struct ep_source src; /* EP_LISTEN */
	struct listener lis;
	int fd;
	int epfd;
	char *path;
	dev_t sock_dev; /* the socket inode bind made */
	ino_t sock_ino;
	bool allow_others;
	unsigned max_clients; /* as configured, and lowered to fd_cap */
	unsigned fd_cap; /* clients RLIMIT_NOFILE leaves room for */
	size_t out_limit;
	uint64_t timeout_ns;
	size_t out_held; /* sum of every client's out_cap */
	ctl_request_fn fn;
	ctl_close_fn close_fn;
	void *ctx;
	struct ctl_client *clients;
	unsigned nclients;
	uint64_t accepted, refused, dropped_slow, dropped_budget;
};

static size_t pending(const struct ctl_client *cl)
{
	return cl->out_end - cl->out_off;
}

static bool has_line(const struct ctl_client *cl)
{
	return cl->in_len && memchr(cl->in, '\n', cl->in_len);
}

/* Clients RLIMIT_NOFILE has descriptors for, next to the ones open now. */
static unsigned fd_capacity(void)
{
	struct rlimit rl;
	unsigned open_fds = 0;
	DIR *dir;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return ~0u;
	dir = opendir("/proc/self/fd");
	if (dir) {
		while (readdir(dir))
			open_fds++;
		closedir(dir);
		open_fds = open_fds > 3 ? open_fds - 3 : 0; /* ".", ".." and the dir's own fd */
	} else {
		open_fds = 64; /* no /proc: about what BPF and the loop hold */
	}
	if (rl.rlim_cur <= (rlim_t)open_fds + FD_RESERVE + 1)
		return 1;
	if (rl.rlim_cur - open_fds - FD_RESERVE > ~0u)
		return ~0u;
	return (unsigned)(rl.rlim_cur - open_fds - FD_RESERVE);
}

static void apply_limits(struct ctl *c, const struct cgp_conf *conf)
{
	unsigned want = conf->max_clients;

	c->max_clients = want < c->fd_cap ? want : c->fd_cap;
	if (c->max_clients < want)
		log_warn(
			"[control] max_clients %u lowered to %u: that is what RLIMIT_NOFILE leaves "
			"(raise LimitNOFILE= to serve more)",
			want, c->max_clients);
	c->out_limit = (size_t)conf->client_output_limit_kib << 10;
	c->timeout_ns = (uint64_t)conf->client_timeout_s * 1000000000ULL;
}

/* Slots of the cap that only root may fill. */
static unsigned root_slots(const struct ctl *c)
{
	unsigned n = c->max_clients / 4;

	return n < ROOT_SLOTS_MAX ? n : ROOT_SLOTS_MAX;
}

/* The path's socket, opened without following a link and checked to be
 * the inode we bound: an O_PATH fd to chmod through /proc/self/fd. */
static int open_own_socket(const struct ctl *c, int *ret_fd)
{
	_cleanup_close_ int fd = open(c->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		return -errno;
	if (!S_ISSOCK(st.st_mode) || st.st_dev != c->sock_dev || st.st_ino != c->sock_ino)
		return -ESTALE;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int chmod_own_socket(const struct ctl *c, mode_t mode)
{
	_cleanup_close_ int fd = -1;
	char proc[64];
	int r;

	r = open_own_socket(c, &fd);
	if (r)
		return r;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (chmod(proc, mode))
		return -errno;
	return 0;
}

static int bind_socket(struct ctl *c, int fd, bool allow_others)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t mode = allow_others ? 0666 : 0600, old;
	_cleanup_close_ int pfd = -1;
	struct stat st;
	int r = 0;

	/* ctl__new refused a path longer than sun_path */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
	/* the lock file guarantees no other daemon owns this path */
	unlink(c->path);
	/* born with its final mode: no window in which others may connect */
	old = umask(0777 & ~mode);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		r = -errno;
	umask(old);
	if (r)
		return r;
	pfd = open(c->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0 || fstat(pfd, &st))
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ESTALE;
	c->sock_dev = st.st_dev;
	c->sock_ino = st.st_ino;
	if ((st.st_mode & 07777) != mode)
		return chmod_own_socket(c, mode);
	return 0;
}

int ctl__new(const char *path, int epfd, const struct cgp_conf *conf, ctl_request_fn fn,
	     ctl_close_fn close_fn, void *ctx, struct ctl **ret)
{
	_cleanup_close_ int fd = -1;
	struct ctl *c;
	int r;

	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->path = strdup(path);
	if (!c->path) {
		r = -ENOMEM;
		goto err_free;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		goto err_free;
	}
	r = bind_socket(c, fd, conf->allow_read_others);
	if (r)
		goto err_unlink;
	if (listen(fd, 64)) {
		r = -errno;
		goto err_unlink;
	}
	c->src.kind = EP_LISTEN;
	c->epfd = epfd;
	c->fn = fn;
	c->close_fn = close_fn;
	c->ctx = ctx;
	c->allow_others = conf->allow_read_others;
	c->fd_cap = fd_capacity();
	apply_limits(c, conf);
	r = listen__init(&c->lis, fd, epfd, &c->src, "control socket");
	if (r)
		goto err_unlink;
	c->fd = TAKE_FD(fd);
	*ret = c;
	return 0;

err_unlink:
	unlink(path);
err_free:
	free(c->path);
	free(c);
	return r;
}

static void set_out_cap(struct ctl_client *cl, char *buf, size_t cap)
{
	struct ctl *c = cl->ctl;

	c->out_held = c->out_held - cl->out_cap + cap;
	cl->out = buf;
	cl->out_cap = cap;
}

static void release_out(struct ctl_client *cl)
{
	free(cl->out);
	set_out_cap(cl, NULL, 0);
	cl->out_off = cl->out_end = 0;
}

/* Mark for closing; reap frees it. Its memory goes back at once so a drop
 * relieves the budget now. */
static void client_close(struct ctl_client *cl)
{
	if (cl->closing)
		return;
	cl->closing = true;
	cl->sub_mask = 0;
	release_out(cl);
	free(cl->in);
	cl->in = NULL;
	cl->in_len = cl->in_cap = 0;
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
	release_out(cl);
	free(cl->in);
	free(cl);
}

static bool path_is_ours(const struct ctl *c)
{
	struct stat st;

	return !lstat(c->path, &st) && S_ISSOCK(st.st_mode) && st.st_dev == c->sock_dev &&
	       st.st_ino == c->sock_ino;
}

void ctl__free(struct ctl *c)
{
	if (!c)
		return;
	while (c->clients)
		client_free(c->clients);
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (path_is_ours(c))
		unlink(c->path);
	free(c->path);
	free(c);
}

/*
 * What the client waits for: output room while output is pending; input
 * unless the client has enough unread reply or requests still buffered;
 * and output room as the cue to go on with buffered requests (a writable
 * socket reports at once).
 */
static void update_events(struct ctl_client *cl)
{
	struct epoll_event ev = { .data.ptr = &cl->src };
	bool backlog = pending(cl) > OUT_SOFT;
	uint32_t want = 0;

	if (cl->closing)
		return;
	if (pending(cl) || (!backlog && has_line(cl)))
		want |= EPOLLOUT;
	if (!cl->rd_eof && !backlog && !has_line(cl))
		want |= EPOLLIN;
	if (want == cl->ep_events)
		return;
	/* waiting for the client to read (replies, or room to answer the
	 * requests it sent): the clock client_timeout_s is measured on */
	if ((want & EPOLLOUT) && !(cl->ep_events & EPOLLOUT))
		cl->stalled_ns = mono_now_ns();
	ev.events = want;
	if (epoll_ctl(cl->ctl->epfd, EPOLL_CTL_MOD, cl->fd, &ev))
		client_close(cl);
	else
		cl->ep_events = want;
}

static int flush_out(struct ctl_client *cl)
{
	while (pending(cl)) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off, pending(cl),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		cl->out_off += (size_t)n;
		cl->stalled_ns = mono_now_ns();
	}
	/* all sent: an idle client holds no output memory */
	release_out(cl);
	return 0;
}

static void drop_over_budget(struct ctl_client *victim, size_t want)
{
	struct ctl *c = victim->ctl;

	log_warn("control client pid %d (uid %u) dropped: %zu bytes of output unread, the most "
		 "of any client, and all clients together would hold more than "
		 "[control] output_limit_kib = %zu",
		 (int)victim->cred.pid, (unsigned)victim->cred.uid, pending(victim) + want,
		 c->out_limit >> 10);
	c->dropped_budget++;
	client_close(victim);
}

/*
 * Make room for grow more bytes of output buffer for cl within the total:
 * drop the clients with the most pending output until it fits. What cl
 * waits to queue does not count for it, so a client that reads is not
 * dropped for the sake of those that do not. False if cl itself had to go.
 */
static bool budget_room(struct ctl_client *cl, size_t grow, size_t cl_want)
{
	struct ctl *c = cl->ctl;

	while (c->out_held + grow > c->out_limit) {
		struct ctl_client *big = cl;
		size_t big_n = pending(cl);

		for (struct ctl_client *o = c->clients; o; o = o->next) {
			if (!o->closing && o != cl && pending(o) > big_n) {
				big = o;
				big_n = pending(o);
			}
		}
		drop_over_budget(big, big == cl ? cl_want : 0);
		if (big == cl)
			return false;
	}
	return true;
}

/* The largest reply that may be queued at all. */
static size_t reply_max(const struct ctl *c)
{
	return c->out_limit < OUT_CLIENT_MAX ? c->out_limit : OUT_CLIENT_MAX;
}

static int queue_out(struct ctl_client *cl, const char *data, size_t n)
{
	size_t need = pending(cl) + n, cap;
	char *o;

	if (need > OUT_CLIENT_MAX) {
		log_warn("control client pid %d (uid %u) is not reading (%zu bytes of output "
			 "unread); dropping it",
			 (int)cl->cred.pid, (unsigned)cl->cred.uid, need);
		cl->ctl->dropped_budget++;
		client_close(cl);
		return -ENOBUFS;
	}
	if (cl->out_off && cl->out_end + n > cl->out_cap) {
		memmove(cl->out, cl->out + cl->out_off, pending(cl));
		cl->out_end -= cl->out_off;
		cl->out_off = 0;
	}
	if (need > cl->out_cap) {
		size_t exact = (need + 4095) & ~(size_t)4095;

		cap = cl->out_cap ? cl->out_cap * 2 : 4096;
		if (cap < exact)
			cap = exact;
		/* near the limit, grow only as far as needed */
		if (cl->ctl->out_held + cap - cl->out_cap > cl->ctl->out_limit)
			cap = exact;
		if (!budget_room(cl, cap - cl->out_cap, n))
			return -ENOBUFS;
		o = realloc(cl->out, cap);
		if (!o)
			return -ENOMEM;
		set_out_cap(cl, o, cap);
	}
	memcpy(cl->out + cl->out_end, data, n);
	cl->out_end += n;
	return 0;
}

static int send_line(struct ctl_client *cl, const char *line)
{
	size_t n = strlen(line), off = 0;
	int r;

	if (cl->closing)
		return -EPIPE;
	cl->produced += n;
	/* straight into the socket when nothing waits before it */
	while (!pending(cl) && off < n) {
		ssize_t k = send(cl->fd, line + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k < 0) {
			r = -errno;
			if (r == -EINTR)
				continue;
			if (r == -EAGAIN || r == -EWOULDBLOCK)
				break;
			client_close(cl);
			return r;
		}
		off += (size_t)k;
		cl->stalled_ns = mono_now_ns();
	}
	if (off == n)
		return 0;
	r = queue_out(cl, line + off, n - off);
	if (!cl->closing)
		update_events(cl);
	return r;
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
	if (strlen(line) > reply_max(cl->ctl)) {
		/* refused with a reason rather than a connection dropped halfway */
		log_warn("control client pid %d (uid %u): a reply of %zu bytes is more than "
			 "[control] output_limit_kib = %zu allows",
			 (int)cl->cred.pid, (unsigned)cl->cred.uid, strlen(line),
			 cl->ctl->out_limit >> 10);
		return ctl_client__reply_error(
			cl,
			"reply too large (%zu bytes; the daemon holds at "
			"most %zu KiB of output, [control] output_limit_kib)",
			strlen(line), reply_max(cl->ctl) >> 10);
	}
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

bool ctl_client__take(struct ctl_client *cl, unsigned per_s, uint64_t now_ns, uint64_t *ret_wait_ms)
{
	double burst = 2.0 * per_s;

	if (!per_s)
		return true;
	if (!cl->tokens_set) {
		cl->tokens = burst;
		cl->tokens_set = true;
	} else if (now_ns > cl->tokens_ns) {
		cl->tokens += (double)(now_ns - cl->tokens_ns) * per_s / 1e9;
		if (cl->tokens > burst)
			cl->tokens = burst;
	}
	cl->tokens_ns = now_ns;
	if (cl->tokens >= 1.0) {
		cl->tokens -= 1.0;
		return true;
	}
	*ret_wait_ms = (uint64_t)((1.0 - cl->tokens) * 1000.0 / per_s) + 1;
	return false;
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
	if (!cl->closing)
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

/* Handle buffered requests while the client reads its replies. */
static void handle_lines(struct ctl_client *cl)
{
	uint64_t produced = cl->produced;
	unsigned handled = 0;
	size_t off = 0;
	char *nl;

	while (!cl->closing && pending(cl) <= OUT_SOFT && handled < LINES_PER_DISPATCH &&
	       cl->produced - produced < OUT_PER_DISPATCH &&
	       (nl = memchr(cl->in + off, '\n', cl->in_len - off))) {
		size_t start = off;

		off = (size_t)(nl - cl->in) + 1;
		if (cl->skip_line) {
			cl->skip_line = false;
			continue;
		}
		/* the handler may drop the client, and its buffer with it */
		handle_line(cl, cl->in + start, off - 1 - start);
		handled++;
	}
	if (cl->closing)
		return;
	cl->in_len -= off;
	memmove(cl->in, cl->in + off, cl->in_len);
	if (cl->skip_line) {
		/* still inside an over-long line: nothing of it is kept */
		if (!memchr(cl->in, '\n', cl->in_len))
			cl->in_len = 0;
	} else if (cl->in_len >= IN_MAX && !has_line(cl)) {
		/* over-long line: answer once, then drop bytes up to its newline */
		ctl_client__reply_error(cl, "request too long (limit %d bytes)",
					CGP_PROTO_LINE_MAX);
		cl->skip_line = true;
		cl->in_len = 0;
	}
	if (!cl->in_len) {
		free(cl->in);
		cl->in = NULL;
		cl->in_cap = 0;
	}
}

/* One read per readiness event, sized to what the client sent so far. */
static void client_read(struct ctl_client *cl)
{
	ssize_t n;

	if (cl->in_cap - cl->in_len < IN_MIN / 2 && cl->in_cap < IN_MAX) {
		size_t cap = cl->in_cap ? cl->in_cap * 2 : IN_MIN;
		char *p;

		if (cap > IN_MAX)
			cap = IN_MAX;
		p = realloc(cl->in, cap);
		if (p) {
			cl->in = p;
			cl->in_cap = cap;
		}
	}
	if (cl->in_len == cl->in_cap)
		return; /* no memory now: the data waits in the socket */
	do
		n = recv(cl->fd, cl->in + cl->in_len, cl->in_cap - cl->in_len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			client_close(cl);
		return;
	}
	if (n == 0) {
		cl->rd_eof = true;
		return;
	}
	cl->in_len += (size_t)n;
}

/* Connections one non-root uid may hold: a quarter of what non-root may. */
static unsigned uid_cap(const struct ctl *c)
{
	unsigned n = (c->max_clients - root_slots(c)) / 4;

	return n ? n : 1;
}

static unsigned uid_clients(const struct ctl *c, uid_t uid)
{
	unsigned n = 0;

	for (const struct ctl_client *cl = c->clients; cl; cl = cl->next)
		n += cl->cred.uid == uid && !cl->closing;
	return n;
}

static void refuse(struct ctl *c, int fd, unsigned limit)
{
	struct ucred cred = { .pid = 0, .uid = (uid_t)-1 };
	socklen_t len = sizeof(cred);
	_cleanup_free_ char *line = NULL;
	char msg[200], sink[512];

	getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
	snprintf(msg, sizeof(msg),
		 "too many control clients (limit %u); close idle connections or raise "
		 "[control] max_clients",
		 limit);
	line = proto_error_line(msg);
	/* a fresh socket has room for one line: the client learns why */
	if (line)
		send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
	/* a request already sent, left unread, would make close() reset the
	 * connection, and the client might never see the line */
	recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
	close(fd);
	c->refused++;
	log_warn("refused control client pid %d (uid %u): %u clients connected, the limit for it "
		 "is %u ([control] max_clients)",
		 (int)cred.pid, (unsigned)cred.uid, c->nclients, limit);
}

static void accept_clients(struct ctl *c)
{
	for (unsigned i = 0; i < ACCEPTS_PER_DISPATCH; i++) {
		struct epoll_event ev = { .events = EPOLLIN };
		socklen_t len = sizeof(struct ucred);
		struct ctl_client *cl;
		unsigned limit;
		int fd = listen__accept(&c->lis, mono_now_ns());

		if (fd == -EAGAIN || fd == -EMFILE)
			return; /* none pending, or paused until a tick (listen.c logged) */
		if (fd < 0)
			continue; /* that peer went away first */
		c->accepted++;
		cl = calloc(1, sizeof(*cl));
		if (!cl) {
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
		limit = c->max_clients - (cl->cred.uid ? root_slots(c) : 0);
		if (c->nclients >= limit) {
			free(cl);
			refuse(c, fd, limit);
			continue;
		}
		/* one user may not fill the others' share: idle connections cost
		 * nothing to hold, so a cap per uid is what keeps them usable */
		if (cl->cred.uid && uid_clients(c, cl->cred.uid) >= uid_cap(c)) {
			free(cl);
			refuse(c, fd, uid_cap(c));
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &(int){ CLIENT_SNDBUF }, sizeof(int));
		ev.data.ptr = &cl->src;
		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(cl);
			continue;
		}
		cl->ep_events = EPOLLIN;
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
	if (cl->closing)
		return; /* dropped earlier in this batch; reap frees it */
	if ((events & EPOLLOUT) && flush_out(cl) < 0)
		client_close(cl);
	if (!cl->closing && (events & EPOLLIN))
		client_read(cl);
	if (!cl->closing && cl->in_len)
		handle_lines(cl);
	/* the peer is gone (nobody reads replies), or it said all and got all */
	if ((events & (EPOLLHUP | EPOLLERR)) ||
	    (!cl->closing && cl->rd_eof && !pending(cl) && !has_line(cl)))
		client_close(cl);
	update_events(cl);
}

int ctl__timeout_ms(const struct ctl *c, uint64_t now_ns)
{
	return listen__timeout_ms(&c->lis, now_ns);
}

void ctl__tick(struct ctl *c, uint64_t now_ns)
{
	listen__tick(&c->lis, now_ns);
	for (struct ctl_client *cl = c->clients; cl; cl = cl->next) {
		/* waiting for room counts, whether the unread replies are in our
		 * buffer or already all in the socket's */
		if (cl->closing || !(cl->ep_events & EPOLLOUT) || now_ns < cl->stalled_ns ||
		    now_ns - cl->stalled_ns < c->timeout_ns)
			continue;
		log_warn("control client pid %d (uid %u) dropped: it has not read its replies for "
			 "%u s ([control] client_timeout_s)",
			 (int)cl->cred.pid, (unsigned)cl->cred.uid,
			 (unsigned)(c->timeout_ns / 1000000000ULL));
		c->dropped_slow++;
		client_close(cl);
	}
	log_flush_suppressed();
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

int ctl__set_allow_others(struct ctl *c, bool allow)
{
	unsigned dropped = 0;
	int r;

	if (c->allow_others && !allow) {
		for (struct ctl_client *cl = c->clients; cl; cl = cl->next) {
			if (cl->cred.uid != 0 && !cl->closing) {
				client_close(cl);
				dropped++;
			}
		}
		if (dropped)
			log_info("allow_read_others is off: closed %u non-root control clients",
				 dropped);
	}
	c->allow_others = allow;
	r = chmod_own_socket(c, allow ? 0666 : 0600);
	if (r == -ESTALE)
		return log_warn_errno(r,
				      "%s is no longer the socket we made; its mode stays "
				      "(restart the daemon)",
				      c->path);
	if (r)
		return log_warn_errno(r, "Failed to change the mode of %s: %m", c->path);
	return 0;
}

int ctl__reconfigure(struct ctl *c, const struct cgp_conf *conf)
{
	apply_limits(c, conf);
	return ctl__set_allow_others(c, conf->allow_read_others);
}

void ctl__stats(const struct ctl *c, struct ctl_stats *ret)
{
	*ret = (struct ctl_stats){
		.clients = c->nclients,
		.max_clients = c->max_clients,
		.accepted = c->accepted,
		.refused = c->refused,
		.dropped_slow = c->dropped_slow,
		.dropped_over_budget = c->dropped_budget,
		.output_bytes = c->out_held,
		.output_limit_bytes = c->out_limit,
		.accept_pauses = c->lis.pauses,
	};
}
