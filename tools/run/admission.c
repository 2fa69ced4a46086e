// SPDX-License-Identifier: Apache-2.0
/* The launcher's and the OCI runtime's side of cgpilotd's container requests (admission.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "actuate/actuate.h"
#include "admission.h"
#include "client.h"
#include "oci.h"
#include "util.h"

json_object *adm_jget(json_object *o, const char *key)
{
	json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

void adm_add_u64(json_object *o, const char *key, uint64_t v)
{
	if (v)
		json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

/* The daemon's reply to one request: 0 and *ret, or an error printed. */
int adm_call(struct client *cl, json_object *req, json_object **ret)
{
	int r = client__call(cl, req, ADM_TIMEOUT_MS, ret);

	json_object_put(req);
	return r;
}

int adm_take(struct ctr *k, json_object *c)
{
	json_object *v, *u;

	if (!c || !(v = adm_jget(c, "id")) || !json_object_is_type(v, json_type_int))
		return -EBADMSG;
	k->id = (uint64_t)json_object_get_int64(v);
	if (!(v = adm_jget(c, "cgroup")) || !json_object_is_type(v, json_type_string))
		return -EBADMSG;
	snprintf(k->cgroup, sizeof(k->cgroup), "%s", json_object_get_string(v));
	if ((v = adm_jget(c, "cgroup_id")))
		k->cgroup_id = (uint64_t)json_object_get_int64(v);
	k->unenforced[0] = 0;
	if ((u = adm_jget(c, "unenforced")) && json_object_is_type(u, json_type_array))
		for (size_t i = 0; i < json_object_array_length(u); i++) {
			size_t off = strlen(k->unenforced);

			snprintf(k->unenforced + off, sizeof(k->unenforced) - off, "%s%s",
				 off ? " " : "",
				 json_object_get_string(json_object_array_get_idx(u, i)));
		}
	if ((v = adm_jget(c, "limits")) && (v = adm_jget(v, "memory_bytes")))
		k->memory_limit = (uint64_t)json_object_get_int64(v);
	if ((v = adm_jget(c, "dry_run")) && json_object_get_boolean(v))
		return -EROFS;
	return 0;
}

/* A limit asked for that the node cannot enforce: refused, as the issue of
 * a container that would run without it. */
const char *adm_unenforced_limit(const struct ctr *k, const struct oci_request *q,
				 const char *class)
{
	bool g = class && streq(class, "guaranteed");

	if ((q->cpu_limit_mc || (g && q->cpu_request_mc)) &&
	    (act_word_in(k->unenforced, "cpu.max") || act_word_in(k->unenforced, "cpu.weight")))
		return "cpu";
	if ((q->memory_limit || (g && q->memory_request)) &&
	    act_word_in(k->unenforced, "memory.max"))
		return "memory";
	if (g && act_word_in(k->unenforced, "cpuset.cpus"))
		return "cpuset";
	return NULL;
}

const char *adm_started(struct ctr *k, pid_t pid, char *const *argv, bool hold)
{
	static char why[256];
	json_object *req = json_object_new_object(), *rep = NULL;
	char cmd[1024] = "";

	for (size_t i = 0; argv && argv[i]; i++) {
		size_t off = strlen(cmd);

		snprintf(cmd + off, sizeof(cmd) - off, "%s%s", i ? " " : "", argv[i]);
	}
	json_object_object_add(req, "op", json_object_new_string("container.started"));
	json_object_object_add(req, "id", json_object_new_int64((int64_t)k->id));
	json_object_object_add(req, "pid", json_object_new_int64(pid));
	json_object_object_add(req, "command", json_object_new_string(cmd));
	if (hold)
		json_object_object_add(req, "hold", json_object_new_boolean(true));
	why[0] = 0;
	if (adm_call(k->cl, req, &rep) >= 0 && adm_jget(rep, "error"))
		snprintf(why, sizeof(why), "%s", json_object_get_string(adm_jget(rep, "error")));
	json_object_put(rep);
	return why[0] ? why : NULL;
}
