/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Client of cgpilotd's control socket: one JSON object per line each way.
 * Does not log or print; every function returns >= 0 or -errno.
 */
#ifndef CGPILOT_CLIENT_H
#define CGPILOT_CLIENT_H

#include <json-c/json.h>

struct client;

/* Connects to the unix socket at @path. */
int client__new(const char *path, struct client **ret_client);
void client__free(struct client *c);

/* Sends @req as one line. */
int client__send(struct client *c, struct json_object *req);

/*
 * Reads the next line as a JSON object into *ret_obj (the caller puts it).
 * @timeout_ms < 0 waits without limit. -ETIMEDOUT when nothing complete came
 * in time, -ECONNRESET when the daemon closed the connection, -EBADMSG when
 * the line is not a JSON object, -EMSGSIZE when it is too long, -EINTR when a
 * signal interrupted the wait.
 */
int client__recv(struct client *c, int timeout_ms, struct json_object **ret_obj);

/* client__send then client__recv. */
int client__call(struct client *c, struct json_object *req, int timeout_ms,
		 struct json_object **ret_reply);

#endif
