// SPDX-License-Identifier: Apache-2.0
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cgroupfs.h"
#include "proto.h"
#include "util.h"

/*
 * Messages that name a key or a position are built here. Like strerror()'s
 * buffer: valid until the next proto_decode_request() in the same thread.
 */
static _Thread_local char msg_buf[256];

/* Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF), by the same decoder as cgroup names; a NUL passes here (it is
 * refused by a check of its own, with its own message). */
static bool utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	for (size_t i = 0, k; i < n; i += k) {
		k = s[i] ? cgfs_utf8_seq_len(s + i) : 1;
		if (!k || k > n - i)
			return false;
	}
	return true;
}

/*
 * Where in the request a value sits, for messages: keys joined by '.', array
 * indexes in brackets. Bytes that could upset a reader (or the reply, which
 * must stay valid UTF-8) are written as \xNN; "..." marks a cut.
 */
struct jpath {
	char buf[96];
	size_t len;
	bool cut;
};

/* ESC_CTRL: control bytes and non-ASCII as \\xNN; ESC_ALL: quote and backslash too */
enum { ESC_NONE, ESC_CTRL, ESC_ALL };

static void jpath_put(struct jpath *p, const char *s, size_t n, int escape)
{
	for (size_t i = 0; i < n && !p->cut; i++) {
		unsigned char c = (unsigned char)s[i];
		bool plain =
			escape == ESC_NONE ||
			(c >= 0x20 && c < 0x7f && (escape == ESC_CTRL || (c != '"' && c != '\\')));

		if (p->len + (plain ? 1 : 4) >= sizeof(p->buf)) {
			p->cut = true;
			break;
		}
		if (plain)
			p->buf[p->len++] = (char)c;
		else
			p->len += (size_t)snprintf(p->buf + p->len, 5, "\\x%02x", c);
	}
	p->buf[p->len] = 0;
}

static void jpath_key(struct jpath *p, const char *key)
{
	if (p->len)
		jpath_put(p, ".", 1, ESC_NONE);
	jpath_put(p, key, strlen(key), ESC_ALL);
}

static void jpath_index(struct jpath *p, size_t i)
{
	char idx[32];

	jpath_put(p, idx, (size_t)snprintf(idx, sizeof(idx), "[%zu]", i), ESC_NONE);
}

static const char *jpath_msg(const struct jpath *p, const char *what, const char *problem)
{
	snprintf(msg_buf, sizeof(msg_buf), "%s \"%s%s\" %s", what, p->buf, p->cut ? "..." : "",
		 problem);
	return msg_buf;
}

/*
 * Every string (key or value) valid UTF-8 without a NUL, every number finite,
 * at any depth. The tokener bounds the depth, and so this recursion.
 */
static int check_tree(json_object *v, struct jpath *p, const char **ret_msg)
{
	struct jpath saved = *p;

	switch (json_object_get_type(v)) {
	case json_type_object: {
		json_object_object_foreach(v, key, child)
		{
			jpath_key(p, key);
			if (!utf8_valid(key, strlen(key))) {
				*ret_msg = jpath_msg(p, "key", "is not valid UTF-8");
				return -EINVAL;
			}
			if (check_tree(child, p, ret_msg))
				return -EINVAL;
			*p = saved;
		}
		break;
	}
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			jpath_index(p, i);
			if (check_tree(json_object_array_get_idx(v, i), p, ret_msg))
				return -EINVAL;
			*p = saved;
		}
		break;
	case json_type_string: {
		const char *s = json_object_get_string(v);
		size_t n = (size_t)json_object_get_string_len(v);

		if (memchr(s, 0, n)) {
			*ret_msg = jpath_msg(p, "value of", "contains a NUL character (\\u0000)");
			return -EINVAL;
		}
		if (!utf8_valid(s, n)) {
			*ret_msg = jpath_msg(p, "value of", "is not valid UTF-8");
			return -EINVAL;
		}
		break;
	}
	case json_type_double:
		if (!isfinite(json_object_get_double(v))) {
			*ret_msg = jpath_msg(p, "value of",
					     "is not a finite number (NaN, Infinity and numbers "
					     "out of range are refused)");
			return -EINVAL;
		}
		break;
	default:
		break;
	}
	return 0;
}

static bool json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number_ok(const char *s, size_t n)
{
	size_t i = 0, d;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0') {
		i++;
	} else {
		for (d = i; i < n && isdigit((unsigned char)s[i]); i++)
			;
		if (i == d)
			return false;
	}
	if (i < n && s[i] == '.') {
		for (d = ++i; i < n && isdigit((unsigned char)s[i]); i++)
			;
		if (i == d)
			return false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < n && isdigit((unsigned char)s[i]); i++)
			;
		if (i == d)
			return false;
	}
	return i == n;
}

/* Whether a valid JSON number that json-c reads as a double (a fraction or an
 * exponent; integers it clamps) stays finite. */
static bool number_finite(const char *s, size_t n)
{
	char small[64], *buf;
	bool ok;

	if (!memchr(s, '.', n) && !memchr(s, 'e', n) && !memchr(s, 'E', n))
		return true;
	buf = n < sizeof(small) ? small : malloc(n + 1);
	if (!buf)
		return true; /* the tree walk checked json-c's value already */
	memcpy(buf, s, n);
	buf[n] = 0;
	ok = isfinite(strtod(buf, NULL));
	if (buf != small)
		free(buf);
	return ok;
}

static const char *text_msg(const char *problem, const char *tok, size_t n, size_t at)
{
	struct jpath t = { 0 };

	jpath_put(&t, tok, n < 40 ? n : 40, ESC_CTRL);
	snprintf(msg_buf, sizeof(msg_buf), "request is not valid JSON: %s '%s%s' at byte %zu",
		 problem, t.buf, n > 40 || t.cut ? "..." : "", at);
	return msg_buf;
}

/*
 * json-c's strict mode still lets through single-quoted keys, numbers such
 * as 1. -.5 00, NaN and Infinity, raw control characters in strings and
 * UTF-8 its check misses (overlong forms, surrogates); and it keeps keys as C
 * strings, so an escaped NUL cuts a key short ("op\u0000x" becomes "op").
 * The structure it checked; this checks the tokens, on text json-c accepted
 * as a whole. That covers what a duplicate key hides from the object, too.
 */
static int check_text(const char *s, size_t len, const char **ret_msg)
{
	size_t i = 0, j;

	while (i < len) {
		char c = s[i];

		if (json_ws(c) || (c && strchr("{}[]:,", c))) {
			i++;
			continue;
		}
		if (c == '"') {
			size_t close;
			bool nul = false;

			for (j = i + 1; j < len && s[j] != '"'; j++) {
				if ((unsigned char)s[j] < 0x20) {
					snprintf(msg_buf, sizeof(msg_buf),
						 "request is not valid JSON: raw control character "
						 "0x%02x in a string at byte %zu (write it as an "
						 "escape)",
						 (unsigned char)s[j], j);
					*ret_msg = msg_buf;
					return -EINVAL;
				}
				if (s[j] != '\\')
					continue;
				if (j + 5 < len && s[j + 1] == 'u' && !memcmp(s + j + 2, "0000", 4))
					nul = true;
				j += j + 1 < len && s[j + 1] == 'u' ? 5 : 1;
			}
			if (j >= len) {
				*ret_msg = text_msg("unterminated string", s + i, len - i, i);
				return -EINVAL;
			}
			close = j;
			/* escapes are ASCII: the raw bytes of a string must be UTF-8 */
			if (!utf8_valid(s + i + 1, close - i - 1)) {
				snprintf(msg_buf, sizeof(msg_buf),
					 "request is not valid UTF-8: the string at byte %zu", i);
				*ret_msg = msg_buf;
				return -EINVAL;
			}
			if (nul) {
				struct jpath t = { 0 };

				for (j++; j < len && json_ws(s[j]); j++)
					;
				/* as written, escapes and all */
				jpath_put(&t, s + i + 1, close - i - 1, ESC_CTRL);
				*ret_msg = jpath_msg(&t, j < len && s[j] == ':' ? "key" : "string",
						     "contains a NUL character (\\u0000)");
				return -EINVAL;
			}
			i = close + 1;
			continue;
		}
		if (c == '\'') {
			snprintf(
				msg_buf, sizeof(msg_buf),
				"request is not valid JSON: single quote at byte %zu (JSON strings "
				"take double quotes)",
				i);
			*ret_msg = msg_buf;
			return -EINVAL;
		}
		for (j = i;
		     j < len && (isalnum((unsigned char)s[j]) || (s[j] && strchr("+-.", s[j])));
		     j++)
			;
		if (j == i) {
			*ret_msg = text_msg("unexpected character", s + i, 1, i);
			return -EINVAL;
		}
		if (c == '-' || isdigit((unsigned char)c)) {
			if (!json_number_ok(s + i, j - i)) {
				*ret_msg = text_msg("malformed number", s + i, j - i, i);
				return -EINVAL;
			}
			if (!number_finite(s + i, j - i)) {
				*ret_msg = text_msg("number out of range", s + i, j - i, i);
				return -EINVAL;
			}
		} else if (!((j - i == 4 &&
			      (!memcmp(s + i, "true", 4) || !memcmp(s + i, "null", 4))) ||
			     (j - i == 5 && !memcmp(s + i, "false", 5)))) {
			*ret_msg = text_msg("unknown literal", s + i, j - i, i);
			return -EINVAL;
		}
		i = j;
	}
	return 0;
}

static const char *syntax_msg(enum json_tokener_error jerr, size_t at)
{
	if (jerr == json_tokener_continue)
		return "request is not valid JSON: it ends inside a value";
	if (jerr == json_tokener_error_parse_utf8_string)
		snprintf(msg_buf, sizeof(msg_buf), "request is not valid UTF-8 (at byte %zu)", at);
	else
		snprintf(msg_buf, sizeof(msg_buf), "request is not valid JSON: %s at byte %zu",
			 jerr == json_tokener_success ? "trailing characters" :
							json_tokener_error_desc(jerr),
			 at);
	return msg_buf;
}

int proto_decode_json(const char *text, size_t len, size_t max_len, const char *what,
		      json_object **ret_obj, const char **ret_msg)
{
	json_tokener *tok;
	json_object *obj;
	enum json_tokener_error jerr;
	struct jpath path = { 0 };
	size_t end;

	if (len > max_len || len > INT32_MAX) {
		snprintf(msg_buf, sizeof(msg_buf), "%s too long (more than %zu bytes)", what,
			 max_len);
		*ret_msg = msg_buf;
		return -EINVAL;
	}
	if (memchr(text, 0, len)) {
		snprintf(msg_buf, sizeof(msg_buf), "%s contains a NUL byte", what);
		*ret_msg = msg_buf;
		return -EINVAL;
	}
	tok = json_tokener_new_ex(32);
	if (!tok)
		return -ENOMEM;
	/* no comments, single-quoted values, trailing commas or bytes that are not UTF-8 */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	/* strict mode refuses anything but whitespace after the value */
	if (!obj || jerr != json_tokener_success || end != len) {
		json_object_put(obj);
		*ret_msg = syntax_msg(jerr, end);
		return -EINVAL;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		snprintf(msg_buf, sizeof(msg_buf), "%s must be a JSON object", what);
		*ret_msg = msg_buf;
		return -EINVAL;
	}
	if (check_tree(obj, &path, ret_msg) || check_text(text, len, ret_msg)) {
		json_object_put(obj);
		return -EINVAL;
	}
	*ret_obj = obj;
	return 0;
}

int proto_decode_request(const char *line, size_t len, json_object **ret_req, const char **ret_op,
			 const char **ret_msg)
{
	json_object *req, *op;
	int r = proto_decode_json(line, len, CGP_PROTO_LINE_MAX, "request", &req, ret_msg);

	if (r)
		return r;
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

/* The argument @key: 1 and *ret_v if given (null counts as absent), 0 if
 * absent and optional, -EINVAL if absent and required. */
static int arg_lookup(json_object *req, const char *key, bool required, json_object **ret_v,
		      const char **ret_msg)
{
	if (json_object_object_get_ex(req, key, ret_v) &&
	    !json_object_is_type(*ret_v, json_type_null))
		return 1;
	if (!required)
		return 0;
	*ret_msg = "missing argument";
	return -EINVAL;
}

int proto_get_string(json_object *req, const char *key, bool required, const char **ret,
		     const char **ret_msg)
{
	json_object *v;
	int r = arg_lookup(req, key, required, &v, ret_msg);

	if (r <= 0)
		return r;
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
	int r = arg_lookup(req, key, required, &v, ret_msg);

	if (r <= 0)
		return r;
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

int proto_get_bool(json_object *req, const char *key, bool required, bool *ret,
		   const char **ret_msg)
{
	json_object *v;
	int r = arg_lookup(req, key, required, &v, ret_msg);

	if (r <= 0)
		return r;
	if (!json_object_is_type(v, json_type_boolean)) {
		*ret_msg = "must be true or false";
		return -EINVAL;
	}
	*ret = json_object_get_boolean(v);
	return 1;
}

/*
 * json-c writes a string's bytes as they are. Whatever reaches a reply is
 * meant to be valid UTF-8 already (cgroup names in display form, requests
 * checked); this is the writer's guarantee for the rest (a message cut in a
 * character, a byte no one cleaned): a byte that starts no valid UTF-8
 * sequence becomes \ufffd. JSON's syntax is ASCII, so such a byte can only
 * be inside a string.
 */
char *proto_line(json_object *obj)
{
	size_t n, bad = 0, w = 0, k;
	const char *s;
	char *out;

	proto_round_doubles(obj);
	s = json_object_to_json_string_ext(obj,
					   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	n = strlen(s);

	for (size_t i = 0; i < n; i += k ? k : 1) {
		k = cgfs_utf8_seq_len((const unsigned char *)s + i);
		bad += !k;
	}
	out = malloc(n + bad * 5 + 2);
	if (!out)
		return NULL;
	if (!bad) {
		/* the usual case: one pass to check, a copy */
		memcpy(out, s, n);
		w = n;
	}
	for (size_t i = 0; bad && i < n; i += k ? k : 1) {
		k = cgfs_utf8_seq_len((const unsigned char *)s + i);
		if (k) {
			memcpy(out + w, s + i, k);
			w += k;
		} else {
			memcpy(out + w, "\\ufffd", 6);
			w += 6;
		}
	}
	out[w] = '\n';
	out[w + 1] = 0;
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

static const char *const event_names[PROTO_EV_MAX] = {
	[CGP_EV_CGROUP_MKDIR] = "mkdir", [CGP_EV_CGROUP_RMDIR] = "rmdir",
	[CGP_EV_OOM_KILL] = "oom",	 [CGP_EV_ONSET] = "onset",
	[CGP_EV_CLEARED] = "cleared",	 [PROTO_EV_ACTION] = "action",
};

static const char *const signal_names
	[CGP_SIG_MAX] = { [CGP_SIG_CPU] = "cpu", [CGP_SIG_MEM] = "memory", [CGP_SIG_IO] = "io" };

const char *proto_event_name(uint32_t type)
{
	return type < PROTO_EV_MAX ? event_names[type] : NULL;
}

int proto_event_type(const char *name)
{
	for (int i = 0; i < PROTO_EV_MAX; i++)
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
		if (e->signal == CGP_SIG_IO && e->pid) {
			char dev[24];

			/* the disk of the request that crossed, as io.max names it */
			snprintf(dev, sizeof(dev), "%u:%u", e->pid >> 20, e->pid & 0xfffff);
			json_object_object_add(o, "device", json_object_new_string(dev));
		}
		break;
	}
	case CGP_EV_OOM_KILL: {
		char comm[CGP_COMM_LEN + 1];

		char *shown = NULL;

		memcpy(comm, e->comm, CGP_COMM_LEN);
		comm[CGP_COMM_LEN] = 0;
		/* any task may name itself anything: shown as cgroup names are */
		if (cgfs_display_path(comm, &shown) < 0) {
			json_object_put(o);
			return NULL;
		}
		json_object_object_add(o, "pid", json_object_new_int64(e->pid));
		json_object_object_add(o, "comm", json_object_new_string(shown ? shown : comm));
		free(shown);
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

void proto_fmt_double(char *buf, size_t size, double v)
{
	double a = fabs(v);
	int decimals = 3, len;

	if (!isfinite(v)) {
		snprintf(buf, size, "null");
		return;
	}
	if (a == 0) {
		snprintf(buf, size, "0.0");
		return;
	}
	/* below 1, four significant digits: one more decimal per factor of ten */
	for (double x = a; x < 1 && decimals <= 17; decimals++)
		x *= 10;
	if (a >= 1e15 || decimals > 17) {
		snprintf(buf, size, "%.4g", v);
		return;
	}
	len = snprintf(buf, size, "%.*f", decimals, v);
	if (len <= 0 || (size_t)len >= size)
		return;
	/* trailing zeros go, one decimal stays: the number reads back as a double */
	while (len > 2 && buf[len - 1] == '0' && buf[len - 2] != '.')
		buf[--len] = '\0';
}

static int double_to_json(json_object *o, struct printbuf *pb, int level, int flags)
{
	char buf[64];

	proto_fmt_double(buf, sizeof(buf), json_object_get_double(o));
	return printbuf_memappend(pb, buf, (int)strlen(buf));
}

void proto_round_doubles(json_object *o)
{
	size_t n;

	switch (json_object_get_type(o)) {
	case json_type_double:
		/* a text chosen for it (json_object_new_double_s, or as parsed) stays */
		if (!json_object_get_userdata(o))
			json_object_set_serializer(o, double_to_json, NULL, NULL);
		break;
	case json_type_object: {
		json_object_object_foreach(o, key, val)
		{
			(void)key;
			proto_round_doubles(val);
		}
		break;
	}
	case json_type_array:
		n = json_object_array_length(o);
		for (size_t i = 0; i < n; i++)
			proto_round_doubles(json_object_array_get_idx(o, i));
		break;
	default:
		break;
	}
}
