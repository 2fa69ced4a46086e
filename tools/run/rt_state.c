// SPDX-License-Identifier: Apache-2.0
/*
 * The runtime's state of one container, <root>/<id>/state.json, as JSON
 * (pure: the files themselves are runtime.c's). Decoding is strict: a field
 * of the wrong type, a path with "..", an ID that is not one, or a file
 * larger than any state is refused, naming the field, so a corrupt or
 * planted state file is never acted on.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cgroupfs.h"
#include "proto.h"
#include "runtime.h"
#include "util.h"

#define STATE_MAX (256u << 10)
#define STATE_VERSION 1

const char *rt_status_name(enum rt_status s)
{
	static const char *const n[] = { "creating", "created", "running", "paused", "stopped" };

	return (unsigned)s < ARRAY_SIZE(n) ? n[s] : "unknown";
}

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

static char *dump(json_object *o, int flags)
{
	char *s = strdup(json_object_to_json_string_ext(o, flags | JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(o);
	return s;
}

char *rt_state_encode(const struct rt_state *s)
{
	json_object *o = json_object_new_object();

	add_u64(o, "version", STATE_VERSION);
	add_str(o, "id", s->id);
	add_u64(o, "pid", (uint64_t)s->pid);
	add_u64(o, "pid_start", s->pid_start);
	add_str(o, "bundle", s->bundle);
	add_str(o, "cgroup", s->cgroup);
	add_u64(o, "cgroup_id", s->cgroup_id);
	add_u64(o, "daemon_id", s->daemon_id);
	json_object_object_add(o, "own_cgroup", json_object_new_boolean(s->own_cgroup));
	add_str(o, "degraded", s->degraded);
	add_str(o, "created", s->created);
	json_object_object_add(o, "created_ns", json_object_new_int64(s->created_ns));
	if (s->annotations) {
		json_object *a = json_tokener_parse(s->annotations);

		if (a)
			json_object_object_add(o, "annotations", a);
	}
	return dump(o, JSON_C_TO_STRING_PLAIN);
}

static int get_str(json_object *o, const char *k, char *dst, size_t size, char *err, size_t errlen)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "\"%s\": missing or not a string", k);
		return -EINVAL;
	}
	if ((size_t)json_object_get_string_len(v) >= size ||
	    memchr(json_object_get_string(v), 0, (size_t)json_object_get_string_len(v))) {
		snprintf(err, errlen, "\"%s\": too long or has a NUL", k);
		return -EINVAL;
	}
	snprintf(dst, size, "%s", json_object_get_string(v));
	return 0;
}

static int get_u64(json_object *o, const char *k, uint64_t max, uint64_t *ret, char *err,
		   size_t errlen)
{
	json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "\"%s\": missing or not a number", k);
		return -EINVAL;
	}
	x = json_object_get_int64(v);
	if (x < 0 || (uint64_t)x > max) {
		snprintf(err, errlen, "\"%s\": %" PRId64 " is out of range", k, x);
		return -EINVAL;
	}
	*ret = (uint64_t)x;
	return 0;
}

int rt_state_decode(const char *text, size_t len, struct rt_state *s, char *err, size_t errlen)
{
	json_object *o = NULL, *v;
	const char *msg = NULL;
	uint64_t u;
	char cerr[160];
	int r;

	memset(s, 0, sizeof(*s));
	r = proto_decode_json(text, len, STATE_MAX, "state.json", &o, &msg);
	if (r) {
		snprintf(err, errlen, "%s", msg ? msg : strerror(-r));
		return -EINVAL;
	}
	r = -EINVAL;
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "not a JSON object");
		goto out;
	}
	if (get_u64(o, "version", UINT32_MAX, &u, err, errlen))
		goto out;
	if (u != STATE_VERSION) {
		snprintf(err, errlen, "\"version\": %" PRIu64 ", this cgpilot-run writes %d", u,
			 STATE_VERSION);
		goto out;
	}
	if (get_str(o, "id", s->id, sizeof(s->id), err, errlen) ||
	    get_str(o, "bundle", s->bundle, sizeof(s->bundle), err, errlen) ||
	    get_str(o, "cgroup", s->cgroup, sizeof(s->cgroup), err, errlen) ||
	    get_str(o, "degraded", s->degraded, sizeof(s->degraded), err, errlen) ||
	    get_str(o, "created", s->created, sizeof(s->created), err, errlen))
		goto out;
	if (rt_check_id(s->id, cerr, sizeof(cerr))) {
		snprintf(err, errlen, "\"id\": %s", cerr);
		goto out;
	}
	if (s->cgroup[0]) {
		_cleanup_free_ char *norm = NULL;

		if (cgfs_normalize_path(s->cgroup, &norm, &msg) || !streq(norm, s->cgroup)) {
			snprintf(err, errlen, "\"cgroup\": '%.200s' is not a cgroup path (%s)",
				 s->cgroup, msg ? msg : "not normalized");
			goto out;
		}
	}
	if (get_u64(o, "pid", INT32_MAX, &u, err, errlen))
		goto out;
	s->pid = (pid_t)u;
	if (get_u64(o, "pid_start", UINT64_MAX >> 1, &s->pid_start, err, errlen) ||
	    get_u64(o, "cgroup_id", UINT64_MAX >> 1, &s->cgroup_id, err, errlen) ||
	    get_u64(o, "daemon_id", UINT64_MAX >> 1, &s->daemon_id, err, errlen) ||
	    get_u64(o, "created_ns", UINT64_MAX >> 1, &u, err, errlen))
		goto out;
	s->created_ns = (int64_t)u;
	if (!json_object_object_get_ex(o, "own_cgroup", &v) ||
	    !json_object_is_type(v, json_type_boolean)) {
		snprintf(err, errlen, "\"own_cgroup\": missing or not true/false");
		goto out;
	}
	s->own_cgroup = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "annotations", &v)) {
		if (!json_object_is_type(v, json_type_object)) {
			snprintf(err, errlen, "\"annotations\": not an object");
			goto out;
		}
		s->annotations = strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		if (!s->annotations) {
			r = -ENOMEM;
			goto out;
		}
	}
	r = 0;
out:
	json_object_put(o);
	return r;
}

void rt_state_free(struct rt_state *s)
{
	free(s->annotations);
	s->annotations = NULL;
}

char *rt_state_oci_json(const struct rt_state *s, enum rt_status st)
{
	json_object *o = json_object_new_object(), *a;

	add_str(o, "ociVersion", "1.2.0");
	add_str(o, "id", s->id);
	/* the engines know created, running, paused and stopped */
	add_str(o, "status", rt_status_name(st == RT_CREATING ? RT_CREATED : st));
	json_object_object_add(o, "pid", json_object_new_int(st == RT_STOPPED ? 0 : s->pid));
	add_str(o, "bundle", s->bundle);
	add_str(o, "created", s->created);
	a = s->annotations ? json_tokener_parse(s->annotations) : NULL;
	json_object_object_add(o, "annotations", a ? a : json_object_new_object());
	return dump(o, JSON_C_TO_STRING_PRETTY);
}
