// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "util.h"

int proto_decode_request(const char *line, size_t len, json_object **ret_req, const char **ret_op,
			 const char **ret_msg)
{
	json_tokener *tok;
	json_object *req, *op;
	enum json_tokener_error jerr;

	if (len > CGP_PROTO_LINE_MAX) {
		*ret_msg = "request too long";
		return -EINVAL;
	}
	if (memchr(line, 0, len)) {
		*ret_msg = "request contains a NUL byte";
		return -EINVAL;
	}
	tok = json_tokener_new_ex(32);
	if (!tok)
		return -ENOMEM;
	req = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	if (!req || jerr != json_tokener_success || json_tokener_get_parse_end(tok) != len) {
		/* trailing garbage after a complete value counts as malformed */
		size_t end = json_tokener_get_parse_end(tok);

		while (req && end < len &&
		       (line[end] == ' ' || line[end] == '\t' || line[end] == '\r'))
			end++;
		if (!req || jerr != json_tokener_success || end != len) {
			json_object_put(req);
			json_tokener_free(tok);
			*ret_msg = "request is not valid JSON";
			return -EINVAL;
		}
	}
	json_tokener_free(tok);
	if (!json_object_is_type(req, json_type_object)) {
		json_object_put(req);
		*ret_msg = "request must be a JSON object";
		return -EINVAL;
	}
	if (!json_object_object_get_ex(req, "op", &op) ||
	    !json_object_is_type(op, json_type_string)) {
		json_object_put(req);
		*ret_msg = "request needs an \"op\" string";
		return -EINVAL;
	}
	*ret_op = json_object_get_string(op);
	*ret_req = req;
	return 0;
}

int proto_get_string(json_object *req, const char *key, bool required, const char **ret,
		     const char **ret_msg)
{
	json_object *v;

	if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null)) {
		if (!required)
			return 0;
		*ret_msg = "missing argument";
		return -EINVAL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		*ret_msg = "argument must be a string";
		return -EINVAL;
	}
	*ret = json_object_get_string(v);
	return 1;
}

int proto_get_u64(json_object *req, const char *key, bool required, uint64_t *ret,
		  const char **ret_msg)
{
	json_object *v;

	if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null)) {
		if (!required)
			return 0;
		*ret_msg = "missing argument";
		return -EINVAL;
	}
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0) {
		*ret_msg = "argument must be a non-negative integer";
		return -EINVAL;
	}
	/* json-c clamps overflowing literals to UINT64_MAX: refuse the top half */
	if (json_object_get_uint64(v) > (uint64_t)INT64_MAX) {
		*ret_msg = "argument is too large";
		return -EINVAL;
	}
	*ret = json_object_get_uint64(v);
	return 1;
}

char *proto_line(json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
								    JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(s);
	char *out = malloc(n + 2);

	if (!out)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\n';
	out[n + 1] = 0;
	return out;
}

char *proto_error_line(const char *msg)
{
	json_object *o = json_object_new_object();
	char *line;

	if (!o)
		return NULL;
	json_object_object_add(o, "error", json_object_new_string(msg));
	line = proto_line(o);
	json_object_put(o);
	return line;
}

static const char *const event_names[CGP_EV_MAX] = {
	[CGP_EV_CGROUP_MKDIR] = "mkdir", [CGP_EV_CGROUP_RMDIR] = "rmdir", [CGP_EV_OOM_KILL] = "oom",
	[CGP_EV_ONSET] = "onset",	 [CGP_EV_CLEARED] = "cleared",
};

static const char
	*const signal_names[CGP_SIG_MAX] = { [CGP_SIG_CPU] = "cpu", [CGP_SIG_MEM] = "memory" };

const char *proto_event_name(uint32_t type)
{
	return type < CGP_EV_MAX ? event_names[type] : NULL;
}

int proto_event_type(const char *name)
{
	for (int i = 0; i < CGP_EV_MAX; i++)
		if (event_names[i] && !strcmp(event_names[i], name))
			return i;
	return -1;
}

const char *proto_signal_name(uint32_t sig)
{
	return sig < CGP_SIG_MAX ? signal_names[sig] : NULL;
}

int proto_signal(const char *name)
{
	for (int i = 0; i < CGP_SIG_MAX; i++)
		if (!strcmp(signal_names[i], name))
			return i;
	return -1;
}

json_object *proto_event_json(const struct cgp_event *e, const char *path)
{
	json_object *o = json_object_new_object();
	const char *name = proto_event_name(e->type);

	if (!o)
		return NULL;
	json_object_object_add(o, "event", json_object_new_string(name ? name : "unknown"));
	json_object_object_add(o, "ts_ns", json_object_new_uint64(e->ts_ns));
	json_object_object_add(o, "id", json_object_new_uint64(e->cgid));
	if (path)
		json_object_object_add(o, "cgroup", json_object_new_string(path));
	switch (e->type) {
	case CGP_EV_ONSET:
	case CGP_EV_CLEARED: {
		const char *sig = proto_signal_name(e->signal);

		json_object_object_add(o, "signal", json_object_new_string(sig ? sig : "unknown"));
		json_object_object_add(o, "value_ns", json_object_new_uint64(e->value));
		json_object_object_add(o, "threshold_ns", json_object_new_uint64(e->threshold));
		break;
	}
	case CGP_EV_OOM_KILL: {
		char comm[CGP_COMM_LEN + 1];

		memcpy(comm, e->comm, CGP_COMM_LEN);
		comm[CGP_COMM_LEN] = 0;
		json_object_object_add(o, "pid", json_object_new_int64(e->pid));
		json_object_object_add(o, "comm", json_object_new_string(comm));
		break;
	}
	default:
		break;
	}
	return o;
}

json_object *proto_hist_json(const __u64 *slots, unsigned n)
{
	json_object *a = json_object_new_array_ext((int)n);

	if (!a)
		return NULL;
	for (unsigned i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_uint64(slots[i]));
	return a;
}
