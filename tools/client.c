// SPDX-License-Identifier: Apache-2.0
/* Line-oriented JSON client of the control socket (docs/ARCHITECTURE.md). */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "util.h"

/* A reply lists every cgroup; far past any real one, short of eating the machine. */
#define CLIENT_MAX_LINE (256u << 20)
#define CLIENT_READ_CHUNK 65536

struct client {
	int fd;
	char *buf;
	size_t len; /* bytes received and not yet consumed */
	size_t cap;
};

int client__new(const char *path, struct client **ret_client)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	struct client *c;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = TAKE_FD(fd);
	*ret_client = c;
	return 0;
}

void client__free(struct client *c)
{
	if (!c)
		return;
	closep(&c->fd);
	free(c->buf);
	free(c);
}

int client__send(struct client *c, struct json_object *req)
{
	const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN |
								    JSON_C_TO_STRING_NOSLASHESCAPE);
	_cleanup_free_ char *line = NULL;
	size_t len, off = 0;
	ssize_t n;

	if (!s)
		return -ENOMEM;
	len = strlen(s);
	line = malloc(len + 1);
	if (!line)
		return -ENOMEM;
	memcpy(line, s, len);
	line[len++] = '\n';

	while (off < len) {
		n = send(c->fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parses buf[0..len) (a line without its newline) as one JSON object. */
static int parse_line(char *line, size_t len, struct json_object **ret_obj)
{
	struct json_tokener *tok;
	struct json_object *obj;
	size_t end;

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 0)
		return -EBADMSG;

	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	obj = json_tokener_parse_ex(tok, line, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (!obj || json_tokener_get_error(tok) != json_tokener_success || end != len ||
	    !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		json_tokener_free(tok);
		return -EBADMSG;
	}
	json_tokener_free(tok);
	*ret_obj = obj;
	return 0;
}

/* Takes one complete line out of the buffer, if there is one. */
static int take_line(struct client *c, struct json_object **ret_obj)
{
	char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
	size_t line_len;
	int r;

	if (!nl)
		return -EAGAIN;
	line_len = (size_t)(nl - c->buf);
	r = parse_line(c->buf, line_len, ret_obj);
	memmove(c->buf, nl + 1, c->len - line_len - 1);
	c->len -= line_len + 1;
	return r;
}

int client__recv(struct client *c, int timeout_ms, struct json_object **ret_obj)
{
	int64_t deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : -1;
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	size_t want;
	ssize_t n;
	char *nbuf;
	int r, wait;

	for (;;) {
		r = take_line(c, ret_obj);
		if (r != -EAGAIN)
			return r;
		if (c->len >= CLIENT_MAX_LINE)
			return -EMSGSIZE;

		wait = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			wait = left > INT32_MAX ? INT32_MAX : (int)left;
		}
		r = poll(&pfd, 1, wait);
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;

		want = c->len + CLIENT_READ_CHUNK;
		if (want > c->cap) {
			nbuf = realloc(c->buf, want);
			if (!nbuf)
				return -ENOMEM;
			c->buf = nbuf;
			c->cap = want;
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0) {
			if (errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0) {
			/* A last line without its newline still counts. */
			if (c->len == 0)
				return -ECONNRESET;
			r = parse_line(c->buf, c->len, ret_obj);
			c->len = 0;
			return r;
		}
		c->len += (size_t)n;
	}
}

int client__call(struct client *c, struct json_object *req, int timeout_ms,
		 struct json_object **ret_reply)
{
	int r;

	r = client__send(c, req);
	if (r < 0)
		return r;
	return client__recv(c, timeout_ms, ret_reply);
}
