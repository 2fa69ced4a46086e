/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The launcher's and the OCI runtime's side of cgpilotd's container
 * requests: the container as the daemon made it, from its reply, and the
 * small JSON helpers both use.
 */
#ifndef CGPILOT_RUN_ADMISSION_H
#define CGPILOT_RUN_ADMISSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#define ADM_TIMEOUT_MS 30000

struct client;
struct standalone;
struct oci_request;

/* the container, as the daemon (or the standalone path) made it */
struct ctr {
	uint64_t id; /* the daemon's; 0 standalone */
	char cgroup[4096]; /* relative to the mount */
	uint64_t cgroup_id;
	char unenforced[512];
	uint64_t memory_limit; /* as admitted, for the OOM message */
	struct client *cl;
	struct standalone *sa;
};

json_object *adm_jget(json_object *o, const char *key);
/* @key: @v, left out when 0 */
void adm_add_u64(json_object *o, const char *key, uint64_t v);
/* One request (consumed) and its reply: 0 and *ret, or -errno. */
int adm_call(struct client *cl, json_object *req, json_object **ret);
/* @k from the reply's "container"; -EBADMSG without one, -EROFS for a
 * dry-run daemon's (no cgroup made). */
int adm_take(struct ctr *k, json_object *c);
/* A limit asked for that the node cannot enforce ("cpu", "memory",
 * "cpuset"), or NULL. */
const char *adm_unenforced_limit(const struct ctr *k, const struct oci_request *q,
				 const char *class);

/* container.started of @k's process @pid running @argv; with @hold the
 * connection holds the container (the launcher's). The daemon's error, or
 * NULL. */
const char *adm_started(struct ctr *k, pid_t pid, char *const *argv, bool hold);

#endif
