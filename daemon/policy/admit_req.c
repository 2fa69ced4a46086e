// SPDX-License-Identifier: Apache-2.0
/* The container.admit request decoded (see admit_req.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit_req.h"
#include "cgroupfs.h"
#include "proto.h"
#include "util.h"

bool admit_name_ok(const char *n)
{
	size_t len = strlen(n);

	return len && len < 64 && n[0] != '.' &&
	       strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
		       len;
}

static enum admit_req_error get_i32(json_object *req, const char *key, int32_t lo, int32_t hi,
				    int32_t *ret, bool *given, const char **ret_msg)
{
	json_object *v;
	int64_t x;

	*given = false;
	if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null))
		return ADMIT_REQ_OK;
	if (!json_object_is_type(v, json_type_int)) {
		*ret_msg = "must be an integer";
		return ADMIT_REQ_TYPE;
	}
	x = json_object_get_int64(v);
	if (x < lo || x > hi) {
		*ret_msg = "out of range";
		return ADMIT_REQ_TYPE;
	}
	*ret = (int32_t)x;
	*given = true;
	return ADMIT_REQ_OK;
}

enum admit_req_error admit_spec_parse(json_object *req, struct res_spec *s, char *why,
				      size_t whylen)
{
	static const struct {
		const char *key;
		size_t off;
	} u[] = {
		{ "cpu_request_mc", offsetof(struct res_spec, cpu_request_mc) },
		{ "cpu_limit_mc", offsetof(struct res_spec, cpu_limit_mc) },
		{ "memory_request", offsetof(struct res_spec, mem_request) },
		{ "memory_limit", offsetof(struct res_spec, mem_limit) },
	};
	const char *msg = NULL;
	uint64_t v;
	int32_t i32;
	bool given;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(u); i++) {
		r = proto_get_u64(req, u[i].key, false, &v, &msg);
		if (r < 0) {
			snprintf(why, whylen, "\"%s\": %s", u[i].key, msg);
			return ADMIT_REQ_TYPE;
		}
		if (r > 0)
			*(uint64_t *)((char *)s + u[i].off) = v;
	}
	if (get_i32(req, "io_weight", 0, 10000, &i32, &given, &msg)) {
		snprintf(why, whylen, "\"io_weight\": %s (0 for the class default, else 1..10000)",
			 msg);
		return ADMIT_REQ_TYPE;
	}
	if (given)
		s->io_weight = (uint32_t)i32;
	if (get_i32(req, "priority", -1000, 1000, &i32, &given, &msg)) {
		snprintf(why, whylen, "\"priority\": %s (-1000..1000)", msg);
		return ADMIT_REQ_TYPE;
	}
	if (given)
		s->priority = i32;
	return ADMIT_REQ_OK;
}

static enum admit_req_error get_str(json_object *req, const char *key, const char **ret, char *why,
				    size_t whylen)
{
	const char *msg = NULL;

	if (proto_get_string(req, key, false, ret, &msg) >= 0)
		return ADMIT_REQ_OK;
	snprintf(why, whylen, "\"%s\": %s", key, msg);
	return ADMIT_REQ_TYPE;
}

static enum admit_req_error get_bool(json_object *req, const char *key, bool *ret, char *why,
				     size_t whylen)
{
	const char *msg = NULL;

	if (proto_get_bool(req, key, false, ret, &msg) >= 0)
		return ADMIT_REQ_OK;
	snprintf(why, whylen, "\"%s\": %s", key, msg);
	return ADMIT_REQ_TYPE;
}

/* A refusal: the value is not one (counted as "invalid"). */
static enum admit_req_error invalid(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum admit_req_error invalid(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return ADMIT_REQ_INVALID;
}

enum admit_req_error admit_req_parse(json_object *req, struct admit_req *ar, char *why,
				     size_t whylen)
{
	const char *kind = "launched", *class = "burstable", *cpus = NULL, *msg = NULL;
	enum admit_req_error e;

	*ar = (struct admit_req){ .tenant = "" };
	if ((e = get_str(req, "kind", &kind, why, whylen)) ||
	    (e = get_str(req, "name", &ar->name, why, whylen)) ||
	    (e = get_str(req, "path", &ar->path, why, whylen)) ||
	    (e = get_str(req, "class", &class, why, whylen)) ||
	    (e = get_str(req, "tenant", &ar->tenant, why, whylen)) ||
	    (e = get_bool(req, "wait", &ar->wait, why, whylen)) ||
	    (e = get_bool(req, "degrade", &ar->degrade, why, whylen)))
		return e;
	if (ar->degrade && strcmp(kind, "runtime")) {
		snprintf(why, whylen,
			 "\"degrade\": only for kind \"runtime\" (an engine's "
			 "container, placed by its cluster)");
		return ADMIT_REQ_TYPE;
	}
	if (ar->degrade && ar->wait) {
		snprintf(why, whylen, "\"degrade\" and \"wait\" exclude each other");
		return ADMIT_REQ_TYPE;
	}
	if ((e = get_str(req, "cpus", &cpus, why, whylen)))
		return e;
	if (cpus && strcmp(kind, "runtime")) {
		snprintf(why, whylen,
			 "\"cpus\": only for kind \"runtime\" (an engine's own CPUs); "
			 "cgpilot places the others");
		return ADMIT_REQ_TYPE;
	}
	if ((e = admit_spec_parse(req, &ar->spec, why, whylen)))
		return e;
	if (class_parse(class, &ar->class))
		return invalid(why, whylen,
			       "unknown class '%.40s' (guaranteed, burstable or besteffort)",
			       class);
	if (strlen(ar->tenant) >= 64 || (ar->tenant[0] && !admit_name_ok(ar->tenant)))
		return invalid(why, whylen,
			       "tenant '%.80s' is not a name (1-63 of A-Z a-z 0-9 _ . -)",
			       ar->tenant);
	if (!strcmp(kind, "launched")) {
		ar->kind = ADMIT_LAUNCHED;
		if (ar->path)
			return invalid(why, whylen,
				       "a launched container's cgroup is <root>/<class>/<name>: "
				       "give \"name\", not \"path\" (or kind \"runtime\")");
		if (ar->name && !admit_name_ok(ar->name))
			return invalid(why, whylen,
				       "name '%.80s' is not a container name (1-63 of A-Z a-z "
				       "0-9 _ . -, not starting with '.')",
				       ar->name);
	} else if (!strcmp(kind, "runtime")) {
		ar->kind = ADMIT_RUNTIME;
		if (!ar->path)
			return invalid(why, whylen,
				       "a runtime-created container needs \"path\", its cgroup");
		if (cgfs_normalize_path(ar->path, &ar->norm, &msg))
			return invalid(why, whylen, "path '%.200s': %s", ar->path,
				       msg ? msg : "not a cgroup path");
		if (!ar->norm[0])
			return invalid(why, whylen, "path '%.200s': the root is not a container",
				       ar->path);
		if (ar->name && !admit_name_ok(ar->name))
			return invalid(why, whylen, "name '%.80s' is not a container name",
				       ar->name);
	} else {
		return invalid(why, whylen, "unknown kind '%.40s' (launched or runtime)", kind);
	}
	if (cpus && (topo_parse_cpulist(cpus, &ar->pinned) || !ar->pinned.n))
		return invalid(why, whylen, "\"cpus\" '%.100s': not a CPU list (as \"0-1,8\")",
			       cpus);
	return ADMIT_REQ_OK;
}

void admit_req_free(struct admit_req *ar)
{
	free(ar->norm);
	ar->norm = NULL;
	topo_cpuset_free(&ar->pinned);
}
