// SPDX-License-Identifier: Apache-2.0
/*
 * The HTTP server of /metrics: MHD in external-epoll mode, driven from the
 * daemon's loop, with the connections accepted and policed here. The text
 * comes from daemon/metrics_text.c.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "daemon.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "page.h"
#include "util.h"

/*
 * Connection policing. MHD (0.9.75) has only an idle timeout and a limit
 * that refuses newcomers: a client trickling header bytes is never idle, and
 * max_connections idle or trickling clients lock everyone else out. So we
 * accept the connections ourselves (listen.c: EMFILE pauses instead of
 * spinning), hand them to MHD, and track each in one of three lists, each
 * ordered by since_ns:
 *   waiting - no complete request yet (since it opened or since its previous
 *             response was fully sent);
 *   busy    - a request arrived (since then), its response not fully sent;
 *   closing - shut down by us; MHD closes it on its next run.
 * A waiting or busy connection gets request_timeout_s, then is shut down:
 * shutdown() wakes MHD's epoll, MHD reads EOF and closes it at once. At the
 * limit the head of waiting (else of busy) is shut down to admit a newcomer.
 *
 * File descriptors bound the connections too: at most what RLIMIT_NOFILE
 * leaves at start, less a reserve for the rest of the daemon (as ctl.c does
 * for its clients), counting the closing ones; and if accept() still runs
 * out (someone else took them), at most half of what we held then, for a
 * while. At that cap the oldest is shut down as at the connection limit, so
 * a flood is served at full speed instead of stalling in EMFILE pauses.
 */
#define ACCEPT_BATCH 16 /* then let MHD read what came, and the loop run */
#define FD_RESERVE 32 /* fds left to the rest of the daemon */
#define FD_RECOVER_NS (10 * 1000000000ULL) /* after EMFILE, the lower cap holds this long */
/* MHD's own limit must never refuse what we hand over: ours (at most 65536)
 * counts waiting and busy connections, MHD also holds the closing ones */
#define MHD_CONN_LIMIT (2u * 65536u + 4u * ACCEPT_BATCH)

enum conn_state { CONN_WAITING, CONN_BUSY, CONN_CLOSING, CONN_STATES };

struct http_conn {
	struct http_conn *prev, *next;
	enum conn_state state;
	int fd; /* owned by MHD */
	uint64_t since_ns;
};

struct conn_list {
	struct http_conn *head, *tail;
	unsigned n;
};

struct metrics {
	struct daemon *d;
	struct MHD_Daemon *mhd;
	int epfd; /* ours: the listener, MHD's epoll fd and the timer */
	int listen_fd, mhd_fd, timer_fd;
	struct listener listener;
	struct conn_list conns[CONN_STATES];
	struct http_conn *adding; /* for the MHD_CONNECTION_NOTIFY_STARTED it causes */
	uint64_t timer_at_ns; /* what the timer is armed for, 0: not armed */
	unsigned fd_cap_start; /* fds we may hold, from RLIMIT_NOFILE at start */
	unsigned fd_cap; /* the same, lowered for a while after EMFILE */
	uint64_t fd_short_ns; /* when accept() last ran out of fds */
	uint64_t accepted, closed_timeout, closed_evicted;
	char address[96];
};

static void conn_unlink(struct metrics *m, struct http_conn *c)
{
	struct conn_list *l = &m->conns[c->state];

	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
	l->n--;
}

static void conn_append(struct metrics *m, struct http_conn *c, enum conn_state state,
			uint64_t since_ns)
{
	struct conn_list *l = &m->conns[state];

	c->state = state;
	c->since_ns = since_ns;
	c->prev = l->tail;
	c->next = NULL;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->n++;
}

static void conn_move(struct metrics *m, struct http_conn *c, enum conn_state state,
		      uint64_t since_ns)
{
	conn_unlink(m, c);
	conn_append(m, c, state, since_ns);
}

static uint64_t request_timeout_ns(const struct metrics *m)
{
	/* read live: a SIGHUP reload applies to the next deadline */
	return (uint64_t)m->d->conf.metrics_request_timeout_s * 1000000000ULL;
}

static void conn_kill(struct metrics *m, struct http_conn *c, uint64_t *counter, const char *why)
{
	if (c->state == CONN_BUSY) {
		/* a response stuck in the socket buffer: reset rather than let
		 * the kernel keep it for an orphaned socket */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	log_debug("/metrics: closing connection (fd %d): %s", c->fd, why);
	shutdown(c->fd, SHUT_RDWR);
	conn_move(m, c, CONN_CLOSING, c->since_ns);
	(*counter)++;
}

static struct http_conn *conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static void notify_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
			      enum MHD_ConnectionNotificationCode toe)
{
	struct metrics *m = cls;
	struct http_conn *c;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		c = m->adding;
		m->adding = NULL;
		*socket_context = c;
		if (c) {
			conn_append(m, c, CONN_WAITING, mono_now_ns());
		} else {
			/* not from add_connection(): cannot police it, so refuse it */
			const union MHD_ConnectionInfo *ci =
				MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);

			if (ci)
				shutdown(ci->connect_fd, SHUT_RDWR);
		}
		return;
	}
	c = *socket_context;
	if (!c)
		return;
	conn_unlink(m, c);
	free(c);
	*socket_context = NULL;
}

static void request_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct metrics *m = cls;
	struct http_conn *c = conn_of(mc);

	/* the response is out (or the request failed and MHD closes it): the
	 * next request's time starts now */
	if (c && c->state == CONN_BUSY)
		conn_move(m, c, CONN_WAITING, mono_now_ns());
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];
	size_t n;

	/* MHD reports every aborted connection: a client's doing, not ours */
	if (log_get_level() < LOG_LVL_DEBUG)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	log_debug("libmicrohttpd: %s", buf);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct metrics *m = cls;
	struct http_conn *c = conn_of(conn);
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned status = MHD_HTTP_OK;
	const char *type = "text/plain; version=0.0.4; charset=utf-8";
	char *body;
	size_t len;
	int r;

	/*
	 * First call: the header is complete, from now on the response has the
	 * time. Answer on a later call only: MHD 0.9.75 closes the connection
	 * after a response queued in the first (it cannot know the body was
	 * read), which would end every keep-alive.
	 */
	if (!*con_cls) {
		static char header_seen;

		*con_cls = &header_seen;
		if (c && c->state == CONN_WAITING)
			conn_move(m, c, CONN_BUSY, mono_now_ns());
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* a body we do not want */
		return MHD_YES;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		static const char msg[] = "only GET and HEAD: nothing here changes state\n";

		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
						       MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		if (resp)
			MHD_add_response_header(resp, "Allow", "GET, HEAD");
	} else if (!strcmp(url, "/metrics")) {
		body = metrics_render(m->d, &len);
		if (!body)
			return MHD_NO;
		resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	} else if ((r = page_respond(m->d, url, &resp)) != -ENOENT) {
		if (r < 0)
			return MHD_NO;
		type = NULL; /* the page sets its own headers */
	} else {
		static const char msg[] = "not found: try /metrics, / or /api/v1/overview\n";

		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
						       MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_NOT_FOUND;
	}
	if (!resp)
		return MHD_NO;
	if (type)
		MHD_add_response_header(resp, "Content-Type", type);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static unsigned conns_live(const struct metrics *m)
{
	return m->conns[CONN_WAITING].n + m->conns[CONN_BUSY].n;
}

static struct http_conn *oldest_live(const struct metrics *m)
{
	return m->conns[CONN_WAITING].head ? m->conns[CONN_WAITING].head : m->conns[CONN_BUSY].head;
}

/* Hand one accepted connection to MHD, making room first if at the limit. */
static void add_connection(struct metrics *m, int fd, uint64_t now)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct http_conn *c;

	if (getpeername(fd, (struct sockaddr *)&ss, &sl)) {
		close(fd); /* reset before we got to it */
		return;
	}
	while (conns_live(m) >= m->d->conf.metrics_max_connections)
		conn_kill(m, oldest_live(m), &m->closed_evicted,
			  m->conns[CONN_WAITING].head ? "evicted: oldest without a request" :
							"evicted: oldest response in flight");
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	m->adding = c;
	/* MHD owns fd now, closed on failure too; c is on a list once
	 * MHD_CONNECTION_NOTIFY_STARTED ran, freed by ..._CLOSED */
	if (MHD_add_connection(m->mhd, fd, (struct sockaddr *)&ss, sl) == MHD_YES)
		m->accepted++;
	else
		log_debug("/metrics: libmicrohttpd refused a connection: %m");
	if (m->adding) {
		free(m->adding);
		m->adding = NULL;
	}
}

/* Returns true if any connection was added or shut down. */
static bool accept_some(struct metrics *m, uint64_t now)
{
	unsigned limit = m->d->conf.metrics_max_connections;
	/* a small limit takes small batches: a newcomer must get its request
	 * read before the rest of the batch could evict it */
	unsigned batch = limit / 4 < ACCEPT_BATCH ? (limit / 4 ? limit / 4 : 1) : ACCEPT_BATCH;
	bool changed = false;

	if (m->fd_cap < m->fd_cap_start && now - m->fd_short_ns >= FD_RECOVER_NS)
		m->fd_cap = m->fd_cap_start;
	for (unsigned i = 0; i < batch; i++) {
		int fd;

		if (conns_live(m) + m->conns[CONN_CLOSING].n >= m->fd_cap) {
			/* the closing ones free their fds in MHD_run; the listener,
			 * still readable, brings us back then */
			if (!m->conns[CONN_CLOSING].n && oldest_live(m))
				conn_kill(m, oldest_live(m), &m->closed_evicted,
					  "evicted: at the file descriptor cap");
			changed = true;
			break;
		}
		fd = listen__accept(&m->listener, now);
		if (fd == -EAGAIN)
			break;
		if (fd == -EMFILE) {
			/* someone else took the fds: hold fewer for a while
			 * (the listener pauses meanwhile, see listen.h) */
			unsigned held = conns_live(m) + m->conns[CONN_CLOSING].n;

			m->fd_cap = held / 2 ? held / 2 : 1;
			m->fd_short_ns = now;
			log_debug("/metrics: out of file descriptors at %u connections; holding at "
				  "most %u for %llu s",
				  held, m->fd_cap, FD_RECOVER_NS / 1000000000ULL);
			if (oldest_live(m)) {
				conn_kill(m, oldest_live(m), &m->closed_evicted,
					  "evicted: out of file descriptors");
				changed = true;
			}
			break;
		}
		if (fd < 0)
			continue;
		add_connection(m, fd, now);
		changed = true;
	}
	return changed;
}

static unsigned fds_open(void)
{
	DIR *dir = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!dir)
		return 64; /* no /proc: about what BPF and the loop hold */
	while (readdir(dir))
		n++;
	closedir(dir);
	return n > 3 ? n - 3 : 0; /* ".", ".." and the dir's own fd */
}

/* File descriptors the connections may take: what RLIMIT_NOFILE leaves now
 * less FD_RESERVE, or half of it when that is little. */
static unsigned fd_budget(void)
{
	struct rlimit rl;
	uint64_t left, open = fds_open();

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return UINT_MAX;
	left = rl.rlim_cur > open ? rl.rlim_cur - open : 0;
	if (left > 2 * (rlim_t)FD_RESERVE)
		return left - FD_RESERVE > UINT_MAX ? UINT_MAX : (unsigned)(left - FD_RESERVE);
	return left / 2 ? (unsigned)(left / 2) : 1;
}

/* Shut down what overran its deadline; true if any. */
static bool expire(struct metrics *m, uint64_t now)
{
	uint64_t t = request_timeout_ns(m);
	bool changed = false;
	struct http_conn *c;

	while ((c = m->conns[CONN_WAITING].head) && now - c->since_ns >= t) {
		conn_kill(m, c, &m->closed_timeout, "no complete request in time");
		changed = true;
	}
	while ((c = m->conns[CONN_BUSY].head) && now - c->since_ns >= t) {
		conn_kill(m, c, &m->closed_timeout, "response not taken in time");
		changed = true;
	}
	return changed;
}

/* One-shot timer for the earliest of: a deadline, the listener's re-arm,
 * MHD's own wish (0 while it has buffered data to process). */
static void arm_timer(struct metrics *m, uint64_t now)
{
	uint64_t t = request_timeout_ns(m), at = UINT64_MAX;
	struct itimerspec its = { 0 };
	MHD_UNSIGNED_LONG_LONG ms;

	for (int s = CONN_WAITING; s <= CONN_BUSY; s++)
		if (m->conns[s].head && m->conns[s].head->since_ns + t < at)
			at = m->conns[s].head->since_ns + t;
	if (m->listener.paused && m->listener.resume_ns < at)
		at = m->listener.resume_ns;
	if (MHD_get_timeout(m->mhd, &ms) == MHD_YES && ms < 3600000 &&
	    now + (uint64_t)ms * 1000000ULL < at)
		at = now + (uint64_t)ms * 1000000ULL;
	if (at == UINT64_MAX)
		at = 0;
	if (at == m->timer_at_ns)
		return;
	its.it_value.tv_sec = (time_t)(at / 1000000000ULL);
	its.it_value.tv_nsec = (long)(at % 1000000000ULL);
	/* absolute: a deadline already past fires at once; 0 disarms */
	if (!timerfd_settime(m->timer_fd, TFD_TIMER_ABSTIME, &its, NULL))
		m->timer_at_ns = at;
}

void metrics__run(struct metrics *m)
{
	struct epoll_event evs[4];
	bool accept_ready = false, was_paused = m->listener.paused, changed;
	uint64_t now, ticks;
	int n = epoll_wait(m->epfd, evs, ARRAY_SIZE(evs), 0);

	for (int i = 0; i < n; i++) {
		if (evs[i].data.ptr == &m->listener)
			accept_ready = true;
		else if (evs[i].data.ptr == &m->timer_fd &&
			 read(m->timer_fd, &ticks, sizeof(ticks)) > 0)
			m->timer_at_ns = 0;
	}
	/* first what has arrived: a request read now still counts as in time */
	MHD_run(m->mhd);
	now = mono_now_ns();
	changed = expire(m, now);
	if (listen__tick(&m->listener, now) && was_paused)
		accept_ready = true;
	if (accept_ready)
		changed |= accept_some(m, now);
	/* read the newcomers' requests, close what we shut down */
	if (changed)
		MHD_run(m->mhd);
	arm_timer(m, mono_now_ns());
}

void metrics__stats(const struct metrics *m, struct metrics_stats *ret)
{
	*ret = (struct metrics_stats){
		.connections =
			m->conns[CONN_WAITING].n + m->conns[CONN_BUSY].n + m->conns[CONN_CLOSING].n,
		.accepted = m->accepted,
		.closed_timeout = m->closed_timeout,
		.closed_evicted = m->closed_evicted,
		.accept_pauses = m->listener.pauses,
	};
}

static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[80];
	const char *port;
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM },
			*res = NULL;
	size_t hl;

	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		hl = (size_t)(end - addr - 1);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, addr + 1, hl);
		port = end + 2;
	} else {
		port = strrchr(addr, ':');
		if (!port)
			return -EINVAL;
		hl = (size_t)(port - addr);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, addr, hl);
		port++;
	}
	host[hl] = 0;
	if (!*port || getaddrinfo(host, port, &hints, &res) || !res)
		return -EINVAL;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int open_listener(struct sockaddr_storage *ss, socklen_t sl)
{
	int fd, one = 1, r;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* as MHD did: a restart must not wait for TIME_WAIT to pass */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)ss, sl) || listen(fd, SOMAXCONN) ||
	    getsockname(fd, (struct sockaddr *)ss, &sl)) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int watch(int epfd, int fd, void *ptr)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ptr };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int metrics__new(struct daemon *d, const char *addr, struct metrics **ret)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = 0;
	const union MHD_DaemonInfo *info;
	struct metrics *m;
	char host[64];
	int r;

	if (parse_addr(addr, &ss, &sl))
		return log_error_errno(EINVAL, "metrics address '%s' is not IP:PORT or [IPv6]:PORT",
				       addr);
	m = calloc(1, sizeof(*m));
	if (!m || page_init(d)) {
		free(m);
		return -ENOMEM;
	}
	m->d = d;
	m->epfd = m->timer_fd = -1;
	m->listen_fd = open_listener(&ss, sl);
	if (m->listen_fd == -EADDRINUSE || m->listen_fd == -EADDRNOTAVAIL) {
		r = m->listen_fd; /* the caller serves on without, and says so */
		goto err_free;
	}
	if (m->listen_fd < 0) {
		r = log_error_errno(m->listen_fd,
				    "Failed to serve /metrics on %s: %m (address in use? set "
				    "[metrics] address or --metrics-address)",
				    addr);
		goto err_free;
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(m->address, sizeof(m->address), "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(m->address, sizeof(m->address), "%s:%u", host, ntohs(s4->sin_port));
	}
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (m->epfd < 0 || m->timer_fd < 0) {
		r = log_error_errno(errno, "Failed to set up the metrics server: %m");
		goto err_close;
	}
	/* no MHD idle timeout: our deadlines replace it (see above) */
	m->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG, 0,
				  NULL, NULL, handle, m, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, m,
				  MHD_OPTION_CONNECTION_TIMEOUT, 0u, MHD_OPTION_CONNECTION_LIMIT,
				  MHD_CONN_LIMIT, MHD_OPTION_NOTIFY_CONNECTION, notify_connection,
				  m, MHD_OPTION_NOTIFY_COMPLETED, request_completed, m,
				  MHD_OPTION_END);
	if (!m->mhd) {
		r = log_error_errno(errno ? errno : EINVAL,
				    "Failed to start libmicrohttpd for /metrics: %m");
		goto err_close;
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	m->mhd_fd = info ? info->epoll_fd : -1;
	if (m->mhd_fd < 0) {
		r = log_error_errno(EINVAL, "libmicrohttpd gave no epoll fd");
		goto err_stop;
	}
	r = watch(m->epfd, m->mhd_fd, &m->mhd_fd);
	if (!r)
		r = watch(m->epfd, m->timer_fd, &m->timer_fd);
	if (!r)
		r = listen__init(&m->listener, m->listen_fd, m->epfd, &m->listener, "/metrics");
	if (r) {
		log_error_errno(r, "Failed to watch the metrics server's fds: %m");
		goto err_stop;
	}
	m->fd_cap_start = m->fd_cap = fd_budget();
	if (m->fd_cap < d->conf.metrics_max_connections)
		log_warn("[metrics] max_connections %u: only %u connections fit in what "
			 "RLIMIT_NOFILE leaves (raise LimitNOFILE= to serve more)",
			 d->conf.metrics_max_connections, m->fd_cap);
	*ret = m;
	return 0;

err_stop:
	MHD_stop_daemon(m->mhd);
err_close:
	if (m->timer_fd >= 0)
		close(m->timer_fd);
	if (m->epfd >= 0)
		close(m->epfd);
	close(m->listen_fd);
err_free:
	page_free(d);
	free(m);
	return r;
}

void metrics__free(struct metrics *m)
{
	if (!m)
		return;
	/* closes every connection, each through notify_connection(CLOSED) */
	MHD_stop_daemon(m->mhd);
	for (int s = 0; s < CONN_STATES; s++) {
		while (m->conns[s].head) {
			struct http_conn *c = m->conns[s].head;

			conn_unlink(m, c);
			free(c);
		}
	}
	close(m->timer_fd);
	close(m->epfd);
	close(m->listen_fd);
	page_free(m->d);
	free(m);
}

int metrics__fd(const struct metrics *m)
{
	return m->epfd;
}

const char *metrics__address(const struct metrics *m)
{
	return m->address;
}
