// SPDX-License-Identifier: Apache-2.0
/* linux.seccomp of an OCI bundle, parsed (oci_seccomp.h). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "oci.h"
#include "oci_seccomp.h"
#include "proto.h"
#include "util.h"

#define ERRNO_EPERM 1

struct sctx {
	char *err;
	size_t errlen;
	char path[128];
};

static void set_error(struct sctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct sctx *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "linux.seccomp%s: %s", c->path, msg);
}

/* The message in c->err, and -EINVAL: spelled out at each call, so that the
 * static analyzer, which does not follow variadic calls, sees a failure
 * return as one. */
#define sfail(c, ...) (set_error((c), __VA_ARGS__), -EINVAL)

static size_t push(struct sctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t push(struct sctx *c, const char *fmt, ...)
{
	size_t old = strlen(c->path);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->path + old, sizeof(c->path) - old, fmt, ap);
	va_end(ap);
	return old;
}

static void pop(struct sctx *c, size_t old)
{
	c->path[old] = 0;
}

static const struct {
	const char *name;
	enum oci_scmp_action action;
} actions[] = {
	{ "SCMP_ACT_KILL", OCI_SCMP_KILL_THREAD },
	{ "SCMP_ACT_KILL_THREAD", OCI_SCMP_KILL_THREAD },
	{ "SCMP_ACT_KILL_PROCESS", OCI_SCMP_KILL_PROCESS },
	{ "SCMP_ACT_TRAP", OCI_SCMP_TRAP },
	{ "SCMP_ACT_ERRNO", OCI_SCMP_ERRNO },
	{ "SCMP_ACT_TRACE", OCI_SCMP_TRACE },
	{ "SCMP_ACT_ALLOW", OCI_SCMP_ALLOW },
	{ "SCMP_ACT_LOG", OCI_SCMP_LOG },
};

static int action(struct sctx *c, json_object *v, enum oci_scmp_action *ret)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return sfail(c, "must be a string");
	s = json_object_get_string(v);
	for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
		if (streq(s, actions[i].name)) {
			*ret = actions[i].action;
			return 0;
		}
	if (streq(s, "SCMP_ACT_NOTIFY"))
		return sfail(c, "SCMP_ACT_NOTIFY needs a seccomp agent (listenerPath), which "
				"cgpilot-run does not support");
	return sfail(c, "unknown action '%.60s'", s);
}

static int u64_of(struct sctx *c, json_object *v, uint64_t max, uint64_t *ret)
{
	int64_t x;

	if (!json_object_is_type(v, json_type_int))
		return sfail(c, "must be a number");
	x = json_object_get_int64(v);
	/* json-c keeps values above INT64_MAX as uint64 */
	if (x < 0 && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
		*ret = json_object_get_uint64(v);
	else if (x < 0)
		return sfail(c, "%" PRId64 " is negative", x);
	else
		*ret = (uint64_t)x;
	if (*ret > max)
		return sfail(c, "%" PRIu64 " is above %" PRIu64, *ret, max);
	return 0;
}

static int strings(struct sctx *c, json_object *v, char ***ret, size_t *ret_n)
{
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return sfail(c, "must be an array");
	n = json_object_array_length(v);
	if (n > OCI_ARRAY_MAX)
		return sfail(c, "%zu entries; at most %d", n, OCI_ARRAY_MAX);
	*ret_n = 0; /* the entries of *ret so far, for freeing them on failure */
	*ret = calloc(n + 1, sizeof(char *));
	if (!*ret)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);

		if (!json_object_is_type(e, json_type_string) || !json_object_get_string_len(e)) {
			size_t old = push(c, "[%zu]", i);
			int r = sfail(c, "must be a string, not empty");

			pop(c, old);
			return r;
		}
		(*ret)[i] = strdup(json_object_get_string(e));
		if (!(*ret)[i])
			return -ENOMEM;
		*ret_n = i + 1;
	}
	return 0;
}

static int arch_name(struct sctx *c, char *a)
{
	if (strncmp(a, "SCMP_ARCH_", 10))
		return sfail(c, "'%.60s' is not an SCMP_ARCH_ name", a);
	memmove(a, a + 10, strlen(a + 10) + 1);
	for (char *p = a; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

static const char *const ops[] = { "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",	      "SCMP_CMP_EQ",
				   "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ" };

static int read_arg(struct sctx *c, json_object *o, struct oci_scmp_arg *a)
{
	bool has_index = false, has_op = false, has_value = false;
	uint64_t x;
	int r = 0;

	if (!json_object_is_type(o, json_type_object))
		return sfail(c, "must be an object");
	json_object_object_foreach(o, key, val)
	{
		size_t old = push(c, ".%s", key);

		if (streq(key, "index")) {
			r = u64_of(c, val, 5, &x);
			if (!r)
				a->index = (unsigned)x;
			has_index = true;
		} else if (streq(key, "value")) {
			r = u64_of(c, val, UINT64_MAX, &a->value);
			has_value = true;
		} else if (streq(key, "valueTwo")) {
			r = u64_of(c, val, UINT64_MAX, &a->value_two);
		} else if (streq(key, "op")) {
			const char *s = json_object_is_type(val, json_type_string) ?
						json_object_get_string(val) :
						"";
			size_t i;

			for (i = 0; i < ARRAY_SIZE(ops) && !streq(s, ops[i]); i++)
				;
			if (i == ARRAY_SIZE(ops))
				r = sfail(c, "unknown operator '%.60s'", s);
			a->op = (enum oci_scmp_op)i;
			has_op = true;
		} else {
			r = sfail(c, "unknown or unsupported field");
		}
		pop(c, old);
		if (r)
			return r;
	}
	if (!has_index || !has_op || !has_value)
		return sfail(c, "needs index, value and op");
	return 0;
}

static int read_rule(struct sctx *c, json_object *o, struct oci_scmp_rule *rule)
{
	bool has_action = false, has_errno = false;
	uint64_t x;
	int r = 0;

	if (!json_object_is_type(o, json_type_object))
		return sfail(c, "must be an object");
	json_object_object_foreach(o, key, val)
	{
		size_t old = push(c, ".%s", key);

		if (json_object_is_type(val, json_type_null) || streq(key, "comment") ||
		    streq(key, "includes") || streq(key, "excludes")) {
			/* absent; or the engines' own profile keys, already applied
			 * by them */
			r = 0;
		} else if (streq(key, "names")) {
			r = strings(c, val, &rule->names, &rule->nnames);
		} else if (streq(key, "action")) {
			r = action(c, val, &rule->action);
			has_action = true;
		} else if (streq(key, "errnoRet")) {
			r = u64_of(c, val, 4095, &x);
			if (!r)
				rule->errno_ret = (uint32_t)x;
			has_errno = true;
		} else if (streq(key, "args")) {
			size_t n;

			if (!json_object_is_type(val, json_type_array)) {
				r = sfail(c, "must be an array");
			} else if ((n = json_object_array_length(val)) > 6) {
				r = sfail(c, "%zu conditions; at most 6", n);
			} else {
				rule->args = calloc(n + 1, sizeof(*rule->args));
				if (!rule->args)
					r = -ENOMEM;
				for (size_t i = 0; !r && i < n; i++) {
					size_t o2 = push(c, "[%zu]", i);

					r = read_arg(c, json_object_array_get_idx(val, i),
						     &rule->args[i]);
					pop(c, o2);
					rule->nargs = i + 1;
				}
			}
		} else {
			r = sfail(c, "unknown or unsupported field");
		}
		pop(c, old);
		if (r)
			return r;
	}
	if (!has_action)
		return sfail(c, "needs an action");
	if (!rule->nnames)
		return sfail(c, "needs names");
	if (!has_errno && rule->action == OCI_SCMP_ERRNO)
		rule->errno_ret = ERRNO_EPERM;
	return 0;
}

static const char *const flag_names[] = { "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
					  "SECCOMP_FILTER_FLAG_SPEC_ALLOW" };

int oci_seccomp_parse(const char *json, size_t len, struct oci_seccomp *s, char *err, size_t errlen)
{
	struct sctx c = { .err = err, .errlen = errlen };
	json_object *o = NULL;
	const char *msg = NULL;
	bool has_default = false, has_errno = false;
	uint64_t x;
	int r = 0;

	memset(s, 0, sizeof(*s));
	if (proto_decode_json(json, len, OCI_CONFIG_MAX, "linux.seccomp", &o, &msg)) {
		snprintf(err, errlen, "linux.seccomp: %s", msg ? msg : "not a JSON object");
		return -EINVAL;
	}
	json_object_object_foreach(o, key, val)
	{
		size_t old = push(&c, ".%s", key);

		if (json_object_is_type(val, json_type_null)) {
			r = 0;
		} else if (streq(key, "defaultAction")) {
			r = action(&c, val, &s->default_action);
			has_default = true;
		} else if (streq(key, "defaultErrnoRet")) {
			r = u64_of(&c, val, 4095, &x);
			if (!r)
				s->default_errno = (uint32_t)x;
			has_errno = true;
		} else if (streq(key, "architectures")) {
			r = strings(&c, val, &s->archs, &s->narchs);
			for (size_t i = 0; !r && i < s->narchs; i++) {
				size_t o2 = push(&c, "[%zu]", i);

				r = arch_name(&c, s->archs[i]);
				pop(&c, o2);
			}
		} else if (streq(key, "flags")) {
			char **f = NULL;
			size_t nf = 0;

			r = strings(&c, val, &f, &nf);
			for (size_t i = 0; !r && i < nf; i++) {
				size_t k;

				for (k = 0;
				     k < ARRAY_SIZE(flag_names) && !streq(f[i], flag_names[k]); k++)
					;
				if (k == ARRAY_SIZE(flag_names))
					r = sfail(&c, "unknown flag '%.60s'", f[i]);
				else
					s->flags |= 1u << k;
			}
			for (size_t i = 0; f && i < nf; i++)
				free(f[i]);
			free(f);
		} else if (streq(key, "syscalls")) {
			size_t n;

			if (!json_object_is_type(val, json_type_array)) {
				r = sfail(&c, "must be an array");
			} else if ((n = json_object_array_length(val)) > OCI_ARRAY_MAX) {
				r = sfail(&c, "%zu rules; at most %d", n, OCI_ARRAY_MAX);
			} else {
				s->rules = calloc(n + 1, sizeof(*s->rules));
				if (!s->rules)
					r = -ENOMEM;
				for (size_t i = 0; !r && i < n; i++) {
					size_t o2 = push(&c, "[%zu]", i);

					r = read_rule(&c, json_object_array_get_idx(val, i),
						      &s->rules[i]);
					pop(&c, o2);
					s->nrules = i + 1;
				}
			}
		} else if (streq(key, "listenerPath") || streq(key, "listenerMetadata")) {
			r = json_object_is_type(val, json_type_string) &&
					    !json_object_get_string_len(val) ?
				    0 :
				    sfail(&c, "a seccomp agent is not supported by cgpilot-run");
		} else {
			r = sfail(&c, "unknown or unsupported field");
		}
		pop(&c, old);
		if (r)
			break;
	}
	json_object_put(o);
	if (r)
		return r;
	if (!has_default)
		return sfail(&c, "needs defaultAction");
	if (!has_errno)
		s->default_errno = ERRNO_EPERM;
	return 0;
}

void oci_seccomp_free(struct oci_seccomp *s)
{
	for (size_t i = 0; i < s->narchs; i++)
		free(s->archs[i]);
	free(s->archs);
	for (size_t i = 0; i < s->nrules; i++) {
		for (size_t j = 0; j < s->rules[i].nnames; j++)
			free(s->rules[i].names[j]);
		free(s->rules[i].names);
		free(s->rules[i].args);
	}
	free(s->rules);
	memset(s, 0, sizeof(*s));
}
