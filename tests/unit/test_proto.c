// SPDX-License-Identifier: Apache-2.0
/* lib/proto.c: request decoding, typed arguments, event and error lines. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "unit.h"

/* Never dereferenced: shows an out-parameter left untouched. */
static char sentinel_byte;
#define SENTINEL_REQ ((json_object *)(void *)&sentinel_byte)

struct decoded {
	int r;
	json_object *req;
	const char *op, *msg;
};

static struct decoded decode_n(const char *line, size_t len)
{
	struct decoded d = { .req = SENTINEL_REQ };

	d.r = proto_decode_request(line, len, &d.req, &d.op, &d.msg);
	return d;
}

static struct decoded decode(const char *line)
{
	return decode_n(line, strlen(line));
}

static void expect_bad(const char *line, size_t len, const char *msg_word)
{
	struct decoded d = decode_n(line, len);

	if (d.r != -EINVAL)
		fail_msg("accepted (%d): %.*s", d.r, (int)(len < 200 ? len : 200), line);
	assert_ptr_equal(d.req, SENTINEL_REQ);
	if (!d.msg || !strstr(d.msg, msg_word))
		fail_msg("%.*s: message \"%s\" lacks \"%s\"", (int)(len < 200 ? len : 200), line,
			 d.msg ? d.msg : "(null)", msg_word);
}

static void expect_bad_str(const char *line, const char *msg_word)
{
	expect_bad(line, strlen(line), msg_word);
}

/* ---- proto_decode_request ---- */

static void test_decode_valid(void **state)
{
	struct decoded d = decode("{\"op\":\"ping\"}");

	assert_int_equal(d.r, 0);
	assert_string_equal(d.op, "ping");
	assert_true(json_object_is_type(d.req, json_type_object));
	assert_null(d.msg);
	json_object_put(d.req);

	d = decode(" \t{ \"cgroup\": \"a/b\", \"op\" : \"cgroup.show\", \"n\": [1, {}] }\t \r");
	assert_int_equal(d.r, 0);
	assert_string_equal(d.op, "cgroup.show");
	json_object_put(d.req);

	d = decode("{\"op\":\"a\\\"b\\u00e9\"}");
	assert_int_equal(d.r, 0);
	assert_string_equal(d.op, "a\"b\xc3\xa9");
	json_object_put(d.req);

	/* only len bytes are read: what follows in the buffer does not count */
	d = decode_n("{\"op\":\"x\"}garbage", 10);
	assert_int_equal(d.r, 0);
	assert_string_equal(d.op, "x");
	json_object_put(d.req);
}

static void test_decode_not_json(void **state)
{
	static const char *const bad[] = {
		"",  " ",      "hello",	  "{", "{\"op\":", "{\"op\":\"x\"", "{\"op\" \"x\"}",
		"}", "\"op\"", "{op:ping"
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad_str(bad[i], "JSON");
}

static void test_decode_trailing_garbage(void **state)
{
	expect_bad_str("{\"op\":\"x\"}x", "not valid JSON");
	expect_bad_str("{\"op\":\"x\"}{\"op\":\"y\"}", "not valid JSON");
	expect_bad_str("{\"op\":\"x\"}}", "not valid JSON");
	expect_bad_str("{\"op\":\"x\"} ,", "not valid JSON");
	expect_bad_str("{\"op\":\"x\"}\n{}", "not valid JSON");
}

static void test_decode_not_object(void **state)
{
	expect_bad_str("[\"op\",\"ping\"]", "object");
	expect_bad_str("[{\"op\":\"ping\"}]", "object");
	expect_bad_str("\"ping\"", "object");
	expect_bad_str("1.5 ", "object");
	/* refused too, as incomplete: at the end of the buffer the tokenizer waits for more */
	expect_bad_str("true", "");
	expect_bad_str("null", "");
	expect_bad_str("12", "");
}

static void test_decode_op(void **state)
{
	static const char *const bad[] = { "{}",
					   "{\"cmd\":\"ping\"}",
					   "{\"op\":1}",
					   "{\"op\":null}",
					   "{\"op\":true}",
					   "{\"op\":[\"ping\"]}",
					   "{\"op\":{\"name\":\"ping\"}}",
					   "{\"OP\":\"ping\"}" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad_str(bad[i], "\"op\"");
}

static char *request_of_len(size_t len)
{
	static const char head[] = "{\"op\":\"x\",\"pad\":\"";
	char *buf = malloc(len + 1);

	assert_non_null(buf);
	memcpy(buf, head, sizeof(head) - 1);
	memset(buf + sizeof(head) - 1, 'p', len - (sizeof(head) - 1) - 2);
	memcpy(buf + len - 2, "\"}", 3);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static void test_decode_length(void **state)
{
	char *buf = request_of_len(CGP_PROTO_LINE_MAX);
	struct decoded d = decode(buf);

	assert_int_equal(d.r, 0);
	assert_string_equal(d.op, "x");
	json_object_put(d.req);
	free(buf);

	buf = request_of_len(CGP_PROTO_LINE_MAX + 1);
	expect_bad_str(buf, "too long");
	free(buf);
	buf = request_of_len(4 * CGP_PROTO_LINE_MAX);
	expect_bad_str(buf, "too long");
	free(buf);
}

static void test_decode_nul(void **state)
{
	static const char a[] = "{\"op\":\"x\"}";
	static const char b[] = "{\"op\":\"a\0b\"}";
	static const char c[] = "\0{\"op\":\"x\"}";

	expect_bad(a, sizeof(a), "NUL");
	expect_bad(b, sizeof(b) - 1, "NUL");
	expect_bad(c, sizeof(c) - 1, "NUL");
}

static void test_decode_deep_nesting(void **state)
{
	char buf[2048];
	size_t n = 0;

	n += (size_t)snprintf(buf, sizeof(buf), "{\"op\":\"x\",\"a\":");
	for (int i = 0; i < 200; i++)
		buf[n++] = '[';
	for (int i = 0; i < 200; i++)
		buf[n++] = ']';
	buf[n++] = '}';
	buf[n] = 0;
	expect_bad_str(buf, "JSON");
}

/* The message of a refused request: ASCII without control bytes, fits an error line. */
static void expect_clean_msg(const char *line, const char *msg)
{
	char *el;
	json_object *o;

	for (const char *m = msg; *m; m++)
		if ((unsigned char)*m < 0x20 || (unsigned char)*m >= 0x7f)
			fail_msg("%s: byte 0x%02x in message \"%s\"", line, (unsigned char)*m, msg);
	assert_true(strlen(msg) < 256);
	el = proto_error_line(msg);
	assert_non_null(el);
	o = json_tokener_parse(el);
	assert_non_null(o);
	json_object_put(o);
	free(el);
}

/* Refused, and the message holds every one of the words. */
static void expect_refused(const char *line, size_t len, const char *const *words)
{
	struct decoded d = decode_n(line, len);

	if (d.r != -EINVAL)
		fail_msg("accepted (%d): %.*s", d.r, (int)(len < 200 ? len : 200), line);
	assert_ptr_equal(d.req, SENTINEL_REQ);
	assert_non_null(d.msg);
	for (; *words; words++)
		if (!strstr(d.msg, *words))
			fail_msg("%.*s: message \"%s\" lacks \"%s\"", (int)(len < 200 ? len : 200),
				 line, d.msg, *words);
	expect_clean_msg(line, d.msg);
}

#define REFUSED(line, ...) \
	expect_refused(line, strlen(line), (const char *const[]){ __VA_ARGS__, NULL })

static void expect_ok(const char *line)
{
	struct decoded d = decode(line);

	if (d.r)
		fail_msg("refused (%d): %s: %s", d.r, line, d.msg ? d.msg : "(null)");
	json_object_put(d.req);
}

static void test_decode_escaped_nul(void **state)
{
	/* values, named by where they sit */
	REFUSED("{\"op\":\"cgroup.show\",\"cgroup\":\"cgprobe-test\\u0000/../x\"}", "\"cgroup\"",
		"NUL");
	REFUSED("{\"op\":\"\\u0000\"}", "\"op\"", "NUL");
	REFUSED("{\"op\":\"ping\\u0000x\"}", "\"op\"", "NUL");
	REFUSED("{\"op\":\"map.dump\",\"map\":\"cg_slot\\u0000x\"}", "\"map\"", "NUL");
	REFUSED("{\"op\":\"subscribe\",\"events\":[\"onset\",\"cg_slot\\u0000x\"]}",
		"\"events[1]\"", "NUL");
	REFUSED("{\"op\":\"x\",\"a\":{\"b\":[{\"c\":\"\\u0000\"}]}}", "\"a.b[0].c\"", "NUL");
	/* keys: json-c cuts them at the NUL, "op\u0000x" would be "op" */
	REFUSED("{\"op\\u0000x\":\"ping\"}", "key", "op\\u0000x", "NUL");
	REFUSED("{\"op\":\"ping\",\"cg_slot\\u0000x\":1}", "key", "cg_slot", "NUL");
	REFUSED("{\"op\":\"ping\",\"a\":{\"\\u0000\" : 1}}", "key", "NUL");
	/* a value a later duplicate key hides from the object */
	REFUSED("{\"op\":\"x\",\"a\":\"\\u0000\",\"a\":\"ok\"}", "NUL");
	REFUSED("{\"op\":\"x\",\"a\":[\"\\u0000\"],\"a\":1}", "NUL");

	/* an escaped backslash before "u0000" is no NUL; other escapes are fine */
	expect_ok("{\"op\":\"x\",\"a\":\"\\\\u0000\"}");
	expect_ok("{\"op\":\"x\",\"a\\\\u0000\":\"\\u0001\\u00e9\\\"\\\\\\/\\b\\f\\n\\r\\t\"}");
	expect_ok("{\"op\":\"x\",\"a\":\"\\u0100\\u1000\\u0010\"}");
}

static void test_decode_strict(void **state)
{
	static const char *const bad[] = {
		"{\"op\":\"x\"/* comment */}",
		"{\"op\":\"x\"} // comment",
		"/**/{\"op\":\"x\"}",
		"# c\n{\"op\":\"x\"}",
		"{'op':'x'}",
		"{\"op\":'x'}",
		"{'op':\"x\"}",
		"{\"op\":\"x\",'a':1}",
		"{\"op\":\"x\",}",
		"{\"op\":\"x\",\"a\":[1,]}",
		"{\"op\":\"x\",\"a\":1.}",
		"{\"op\":\"x\",\"a\":-1.}",
		"{\"op\":\"x\",\"a\":1.e5}",
		"{\"op\":\"x\",\"a\":-.5}",
		"{\"op\":\"x\",\"a\":01}",
		"{\"op\":\"x\",\"a\":-01}",
		"{\"op\":\"x\",\"a\":00}",
		"{\"op\":\"x\",\"a\":+1}",
		"{\"op\":\"x\",\"a\":0x10}",
		"{\"op\":\"x\",\"a\":True}",
		"{\"op\":\"x\",\"a\":nan}",
		"{\"op\":\"x\",\"a\":\"\\x41\"}",
		"{\"op\":\"x\",\"a\":\"\\'\"}",
		"{\"op\":\"x\",\"a\":\"tab\there\"}",
		"{\"op\":\"x\",\"a\":\"\x01\"}",
		"{\"op\":\"x\",\"a\":\v1}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		REFUSED(bad[i], "not valid JSON");

	/* non-finite numbers, where json-c's strict mode takes them */
	REFUSED("{\"op\":NaN}", "\"op\"", "finite");
	REFUSED("{\"op\":\"x\",\"threshold_ns\":NaN}", "\"threshold_ns\"", "finite");
	REFUSED("{\"op\":\"x\",\"a\":Infinity}", "\"a\"", "finite");
	REFUSED("{\"op\":\"x\",\"a\":-Infinity}", "\"a\"", "finite");
	REFUSED("{\"op\":\"x\",\"a\":{\"b\":[0,NaN]}}", "\"a.b[1]\"", "finite");
	REFUSED("{\"op\":\"x\",\"a\":1e400}", "\"a\"", "finite");
	REFUSED("{\"op\":\"x\",\"a\":-1.5E+999}", "\"a\"", "finite");
	/* and where a later duplicate key hides them from the object */
	REFUSED("{\"op\":\"x\",\"a\":NaN,\"a\":1}", "not valid JSON", "NaN");
	REFUSED("{\"op\":\"x\",\"a\":[1e400],\"a\":1}", "out of range", "1e400");

	/* an integer too big for 64 bits is json-c's to clamp (proto_get_u64 refuses it) */
	{
		char big[512];
		int n = snprintf(big, sizeof(big), "{\"op\":\"x\",\"a\":");

		memset(big + n, '9', 400);
		snprintf(big + n + 400, sizeof(big) - (size_t)n - 400, "}");
		expect_ok(big);
		big[n + 398] = '.'; /* 1e398: a double */
		REFUSED(big, "finite");
	}
	/* the whole grammar of numbers and literals still goes through */
	expect_ok("{\"op\":\"x\",\"n\":[0,-0,1,-1,10,0.5,-0.5e-3,1E+2,1e2,2.50E-07,1e-999]}");
	expect_ok("{\"op\":\"x\",\"t\":true,\"f\":false,\"u\":null,\"e\":[],\"o\":{},\"s\":\"\"}");
	expect_ok("\r\n{ \"op\" :\n\"x\" ,\t\"a\" : [ 1 , { } ] }\r\n");
	expect_ok("{\"op\":\"x\",\"a\":\"#/*not a comment*/ 'q' NaN\"}");
}

static void test_decode_utf8(void **state)
{
	static const char *const bad_values[] = {
		"{\"op\":\"x\",\"a\":\"\xff\"}", /* never in UTF-8 */
		"{\"op\":\"x\",\"a\":\"\xc3\"}", /* cut short */
		"{\"op\":\"x\",\"a\":\"\xc3(\"}", /* bad continuation */
		"{\"op\":\"x\",\"a\":\"\xc0\x80\"}", /* overlong NUL */
		"{\"op\":\"x\",\"a\":\"\xe0\x80\xaf\"}", /* overlong '/' */
		"{\"op\":\"x\",\"a\":\"\xed\xa0\x80\"}", /* surrogate */
		"{\"op\":\"x\",\"a\":\"\xf4\x90\x80\x80\"}", /* past U+10FFFF */
		"{\"op\":\"x\",\"a\":\"\xf8\x88\x80\x80\x80\"}", /* 5 bytes */
		"{\"op\":\"x\",\"a\":\"\x80\"}", /* lone continuation */
	};

	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++)
		REFUSED(bad_values[i], "UTF-8");
	REFUSED("{\"op\":\"x\",\"a\":\"\xc0\x80\"}", "\"a\"", "UTF-8");
	REFUSED("{\"op\":\"\xed\xa0\x80\"}", "\"op\"", "UTF-8");
	REFUSED("{\"op\":\"x\",\"a\":[\"ok\",\"\xf4\x90\x80\x80\"]}", "\"a[1]\"", "UTF-8");
	/* keys, shown with their bytes escaped */
	REFUSED("{\"op\":\"x\",\"k\xc0\x80\":1}", "key", "k\\xc0\\x80", "UTF-8");
	REFUSED("{\"op\":\"x\",\"\xff\":1}", "UTF-8");
	/* bytes json-c's own check lets through, where a duplicate key hides them */
	REFUSED("{\"op\":\"x\",\"a\":\"\xc0\x80\",\"a\":1}", "UTF-8", "byte 14");
	REFUSED("{\"op\":\"x\",\"a\":{\"\xed\xa0\x80\":1},\"a\":1}", "UTF-8");

	expect_ok("{\"op\":\"x\",\"a\":\"\xc3\xa9\xe6\x9c\x8d\xe5\x8a\xa1\xf0\x9f\x98\x80\"}");
	expect_ok("{\"op\":\"x\",\"\xc3\xa9\":\"\xef\xbf\xbd\xf4\x8f\xbf\xbf\xee\x80\x80\"}");
	expect_ok("{\"op\":\"x\",\"a\":\"\\u00e9\\ud83d\\ude00\"}");
}

static void test_decode_message_names(void **state)
{
	char line[4096];
	struct decoded d;
	int n;

	/* a long key is cut in the message, which stays short */
	n = snprintf(line, sizeof(line), "{\"op\":\"x\",\"");
	memset(line + n, 'k', 1000);
	n += 1000;
	snprintf(line + n, sizeof(line) - (size_t)n, "\":\"\\u0000\"}");
	REFUSED(line, "\"kkkk", "...", "NUL");
	/* quotes, backslashes and control bytes in a key are escaped */
	REFUSED("{\"op\":\"x\",\"q\\\"b\\\\n\\n\":NaN}", "\"q\\x22b\\x5cn\\x0a\"", "finite");
	/* a syntax error says where */
	REFUSED("{\"op\":\"x\",\"a\":1.}", "malformed number '1.'", "byte 14");
	REFUSED("{\"op\":\"x\",\"a\":\"\\u0041\tb\"}", "0x09", "byte 21");

	/* the message of one call does not leak into the next */
	d = decode("{\"op\":\"x\",\"first\":NaN}");
	assert_non_null(strstr(d.msg, "first"));
	d = decode("{\"op\":1}");
	assert_null(strstr(d.msg, "first"));
}

/* ---- getters ---- */

static int req_setup(void **state)
{
	static const char line[] =
		"{\"op\":\"t\",\"s\":\"hello\",\"empty\":\"\",\"null\":null,\"int\":42,"
		"\"zero\":0,\"neg\":-1,\"negbig\":-9223372036854775809,\"dbl\":1.5,"
		"\"dblint\":2.0,\"str5\":\"5\",\"bool\":true,\"arr\":[1],\"obj\":{\"a\":1},"
		"\"max\":18446744073709551615,\"big\":9223372036854775808,"
		"\"over\":18446744073709551616}";
	json_object *req;
	const char *op, *msg;

	if (proto_decode_request(line, sizeof(line) - 1, &req, &op, &msg))
		return -1;
	*state = req;
	return 0;
}

static int req_teardown(void **state)
{
	json_object_put(*state);
	return 0;
}

static void test_get_string(void **state)
{
	json_object *req = *state;
	const char *v = "untouched", *msg = NULL;
	static const char *const wrong[] = { "int", "bool", "arr", "obj", "dbl" };

	assert_int_equal(proto_get_string(req, "s", true, &v, &msg), 1);
	assert_string_equal(v, "hello");
	assert_int_equal(proto_get_string(req, "empty", false, &v, &msg), 1);
	assert_string_equal(v, "");

	v = "untouched";
	assert_int_equal(proto_get_string(req, "absent", false, &v, &msg), 0);
	assert_int_equal(proto_get_string(req, "null", false, &v, &msg), 0);
	assert_string_equal(v, "untouched");
	assert_null(msg);

	assert_int_equal(proto_get_string(req, "absent", true, &v, &msg), -EINVAL);
	assert_contains(msg, "missing");
	msg = NULL;
	assert_int_equal(proto_get_string(req, "null", true, &v, &msg), -EINVAL);
	assert_contains(msg, "missing");
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		msg = NULL;
		assert_int_equal(proto_get_string(req, wrong[i], false, &v, &msg), -EINVAL);
		assert_contains(msg, "string");
	}
	assert_string_equal(v, "untouched");
}

static void test_get_u64(void **state)
{
	json_object *req = *state;
	static const char *const wrong[] = { "neg",  "negbig", "dbl", "dblint", "str5",
					     "bool", "arr",    "obj", "s" };
	uint64_t v = 7;
	const char *msg = NULL;

	assert_int_equal(proto_get_u64(req, "int", true, &v, &msg), 1);
	assert_int_equal(v, 42);
	assert_int_equal(proto_get_u64(req, "zero", true, &v, &msg), 1);
	assert_int_equal(v, 0);
	/* json-c clamps overflowing literals to UINT64_MAX, so the top half of the
	 * range is refused: 2^63 and above cannot be told from an overflow */
	v = 7;
	assert_int_equal(proto_get_u64(req, "big", true, &v, &msg), -EINVAL);
	assert_int_equal(proto_get_u64(req, "max", true, &v, &msg), -EINVAL);
	assert_non_null(strstr(msg, "too large"));
	assert_int_equal(v, 7);

	v = 7;
	msg = NULL;
	assert_int_equal(proto_get_u64(req, "absent", false, &v, &msg), 0);
	assert_int_equal(proto_get_u64(req, "null", false, &v, &msg), 0);
	assert_int_equal(v, 7);
	assert_null(msg);
	assert_int_equal(proto_get_u64(req, "absent", true, &v, &msg), -EINVAL);
	assert_contains(msg, "missing");
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		msg = NULL;
		if (proto_get_u64(req, wrong[i], false, &v, &msg) != -EINVAL)
			fail_msg("\"%s\" accepted as u64", wrong[i]);
		assert_contains(msg, "non-negative integer");
	}
	assert_int_equal(v, 7);
}

/* 2^64 does not fit: refusing it beats silently using UINT64_MAX. */
static void test_get_u64_overflow(void **state)
{
	json_object *req = *state;
	uint64_t v = 7;
	const char *msg = NULL;

	if (proto_get_u64(req, "over", false, &v, &msg) != -EINVAL)
		fail_msg("18446744073709551616 accepted as %llu", (unsigned long long)v);
	assert_int_equal(v, 7);
}

/* ---- events ---- */

static json_object *field(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no \"%s\" in %s", key, json_object_to_json_string(o));
	return v;
}

static void expect_str(json_object *o, const char *key, const char *want)
{
	json_object *v = field(o, key);

	assert_true(json_object_is_type(v, json_type_string));
	assert_string_equal(json_object_get_string(v), want);
}

static void expect_u64(json_object *o, const char *key, uint64_t want)
{
	json_object *v = field(o, key);

	assert_true(json_object_is_type(v, json_type_int));
	assert_true(json_object_get_uint64(v) == want);
}

static void expect_absent(json_object *o, const char *key)
{
	if (json_object_object_get_ex(o, key, NULL))
		fail_msg("unexpected \"%s\" in %s", key, json_object_to_json_string(o));
}

/* Serialise and parse back, as a subscriber would see it. */
static json_object *wire(json_object *o)
{
	char *line = proto_line(o);
	json_object *back;
	size_t n;

	assert_non_null(line);
	n = strlen(line);
	assert_true(n > 1 && line[n - 1] == '\n');
	assert_null(memchr(line, '\n', n - 1));
	back = json_tokener_parse(line);
	assert_non_null(back);
	free(line);
	json_object_put(o);
	return back;
}

static void test_event_onset_cleared(void **state)
{
	struct cgp_event e = { .type = CGP_EV_ONSET,
			       .signal = CGP_SIG_CPU,
			       .ts_ns = UINT64_MAX,
			       .cgid = 1234,
			       .value = 25000000,
			       .threshold = 20000000 };
	json_object *o = wire(proto_event_json(&e, "system.slice/a b.service"));

	expect_str(o, "event", "onset");
	expect_u64(o, "ts_ns", UINT64_MAX);
	expect_u64(o, "id", 1234);
	expect_str(o, "cgroup", "system.slice/a b.service");
	expect_str(o, "signal", "cpu");
	expect_u64(o, "value_ns", 25000000);
	expect_u64(o, "threshold_ns", 20000000);
	expect_absent(o, "pid");
	expect_absent(o, "comm");
	assert_int_equal(json_object_object_length(o), 7);
	json_object_put(o);

	e.type = CGP_EV_CLEARED;
	e.signal = CGP_SIG_MEM;
	e.value = 0;
	o = wire(proto_event_json(&e, ""));
	expect_str(o, "event", "cleared");
	expect_str(o, "signal", "memory");
	expect_u64(o, "value_ns", 0);
	expect_str(o, "cgroup", "");
	json_object_put(o);

	/* an I/O onset names the disk of the request that crossed */
	e.type = CGP_EV_ONSET;
	e.signal = CGP_SIG_IO;
	e.pid = 259u << 20 | 16;
	o = wire(proto_event_json(&e, "a"));
	expect_str(o, "signal", "io");
	expect_str(o, "device", "259:16");
	expect_absent(o, "pid");
	json_object_put(o);
	e.pid = 0;

	e.signal = CGP_SIG_MAX;
	o = wire(proto_event_json(&e, NULL));
	expect_str(o, "signal", "unknown");
	expect_absent(o, "cgroup");
	json_object_put(o);
}

static void test_event_mkdir_rmdir(void **state)
{
	struct cgp_event e = { .type = CGP_EV_CGROUP_MKDIR, .ts_ns = 5, .cgid = 99 };
	json_object *o;

	snprintf(e.path, sizeof(e.path), "/ignored/by/encoder");
	o = wire(proto_event_json(&e, "a/b"));
	expect_str(o, "event", "mkdir");
	expect_u64(o, "ts_ns", 5);
	expect_u64(o, "id", 99);
	expect_str(o, "cgroup", "a/b");
	assert_int_equal(json_object_object_length(o), 4);
	json_object_put(o);

	e.type = CGP_EV_CGROUP_RMDIR;
	o = wire(proto_event_json(&e, NULL));
	expect_str(o, "event", "rmdir");
	expect_absent(o, "cgroup");
	expect_absent(o, "signal");
	expect_absent(o, "value_ns");
	assert_int_equal(json_object_object_length(o), 3);
	json_object_put(o);
}

static void test_event_oom(void **state)
{
	struct cgp_event e = { .type = CGP_EV_OOM_KILL, .ts_ns = 1, .cgid = 7, .pid = 4242 };
	json_object *o;

	memcpy(e.comm, "stress-ng", 10);
	o = wire(proto_event_json(&e, "leaf"));
	expect_str(o, "event", "oom");
	expect_u64(o, "pid", 4242);
	expect_str(o, "comm", "stress-ng");
	expect_str(o, "cgroup", "leaf");
	expect_absent(o, "signal");
	expect_absent(o, "threshold_ns");
	json_object_put(o);

	/* a comm filling all 16 bytes without a NUL */
	memcpy(e.comm, "0123456789abcdef", CGP_COMM_LEN);
	e.pid = UINT32_MAX;
	o = wire(proto_event_json(&e, NULL));
	expect_str(o, "comm", "0123456789abcdef");
	expect_u64(o, "pid", UINT32_MAX);
	json_object_put(o);
}

static void test_event_unknown_type(void **state)
{
	struct cgp_event e = { .type = 77, .cgid = 1 };
	json_object *o = wire(proto_event_json(&e, NULL));

	expect_str(o, "event", "unknown");
	expect_u64(o, "id", 1);
	json_object_put(o);
}

static void test_event_names(void **state)
{
	static const char *const names[] = {
		[CGP_EV_CGROUP_MKDIR] = "mkdir", [CGP_EV_CGROUP_RMDIR] = "rmdir",
		[CGP_EV_OOM_KILL] = "oom",	 [CGP_EV_ONSET] = "onset",
		[CGP_EV_CLEARED] = "cleared",	 [PROTO_EV_ACTION] = "action"
	};

	for (uint32_t t = CGP_EV_CGROUP_MKDIR; t < PROTO_EV_MAX; t++) {
		assert_string_equal(proto_event_name(t), names[t]);
		assert_int_equal(proto_event_type(names[t]), (int)t);
	}
	assert_null(proto_event_name(0));
	assert_null(proto_event_name(PROTO_EV_MAX));
	assert_null(proto_event_name(UINT32_MAX));
	assert_int_equal(proto_event_type("unknown"), -1);
	assert_int_equal(proto_event_type(""), -1);
	assert_int_equal(proto_event_type("ONSET"), -1);

	assert_string_equal(proto_signal_name(CGP_SIG_CPU), "cpu");
	assert_string_equal(proto_signal_name(CGP_SIG_MEM), "memory");
	assert_string_equal(proto_signal_name(CGP_SIG_IO), "io");
	assert_null(proto_signal_name(CGP_SIG_MAX));
	assert_int_equal(proto_signal("io"), CGP_SIG_IO);
	assert_int_equal(proto_signal("cpu"), CGP_SIG_CPU);
	assert_int_equal(proto_signal("memory"), CGP_SIG_MEM);
	assert_int_equal(proto_signal("mem"), -1);
	assert_int_equal(proto_signal(""), -1);
}

/* ---- lines ---- */

static void expect_error_line(const char *msg)
{
	char *line = proto_error_line(msg);
	json_object *o;
	size_t n;

	assert_non_null(line);
	n = strlen(line);
	assert_true(n > 1 && line[n - 1] == '\n');
	for (size_t i = 0; i + 1 < n; i++)
		if ((unsigned char)line[i] < 0x20)
			fail_msg("raw control byte 0x%02x in %s", line[i], line);
	o = json_tokener_parse(line);
	assert_non_null(o);
	assert_true(json_object_is_type(o, json_type_object));
	expect_str(o, "error", msg);
	assert_int_equal(json_object_object_length(o), 1);
	json_object_put(o);
	free(line);
}

static void test_error_line(void **state)
{
	expect_error_line("request is not valid JSON");
	expect_error_line("");
	expect_error_line("quote \" and backslash \\ and slash /");
	expect_error_line("two\nlines\r\nand a tab\t and \x01\x1f");
	expect_error_line("cgroup 'a b/c\xc3\xa9' not found\n");
}

static void test_line_and_hist(void **state)
{
	__u64 slots[CGP_HIST_SLOTS];
	json_object *o = json_object_new_object(), *a;
	char *line;

	for (unsigned i = 0; i < CGP_HIST_SLOTS; i++)
		slots[i] = i == CGP_HIST_SLOTS - 1 ? UINT64_MAX : (__u64)i * 1000;
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "cgroup", json_object_new_string("a/b"));
	json_object_object_add(o, "h", proto_hist_json(slots, CGP_HIST_SLOTS));
	json_object_object_add(o, "e", proto_hist_json(slots, 0));
	line = proto_line(o);
	assert_non_null(line);
	assert_contains(line, "\"cgroup\":\"a/b\"");
	free(line);
	o = wire(o);
	a = field(o, "h");
	assert_true(json_object_is_type(a, json_type_array));
	assert_int_equal(json_object_array_length(a), CGP_HIST_SLOTS);
	for (unsigned i = 0; i < CGP_HIST_SLOTS; i++)
		assert_true(json_object_get_uint64(json_object_array_get_idx(a, i)) == slots[i]);
	assert_int_equal(json_object_array_length(field(o, "e")), 0);
	json_object_put(o);
}

/* Doubles at a measurement's precision, not json-c's %.17g noise. */
static void expect_double(double v, const char *want)
{
	char buf[64];

	proto_fmt_double(buf, sizeof(buf), v);
	if (strcmp(buf, want))
		fail_msg("%.17g printed as \"%s\", expected \"%s\"", v, buf, want);
}

static void test_double_precision(void **state)
{
	json_object *o = json_object_new_object(), *back, *a, *inner;
	char *line;

	expect_double(54.025616335999999, "54.026");
	expect_double(3.0001104399999998, "3.0");
	expect_double(0.012345678, "0.01235");
	expect_double(0.5, "0.5");
	expect_double(0.99996, "1.0");
	expect_double(2.5, "2.5");
	expect_double(123456.7891, "123456.789");
	expect_double(1234.0, "1234.0");
	expect_double(0, "0.0");
	expect_double(-0.0, "0.0");
	expect_double(-1.23456, "-1.235");
	expect_double(0.000001234567, "0.000001235");
	expect_double(1.5e-20, "1.5e-20");
	expect_double(2e18, "2e+18");
	expect_double(NAN, "null");
	expect_double(INFINITY, "null");

	/* at any depth of a reply line, and read back as doubles */
	json_object_object_add(o, "uptime_s", json_object_new_double(54.025616335999999));
	json_object_object_add(o, "rate", json_object_new_double(0.0));
	json_object_object_add(o, "n", json_object_new_int(3));
	a = json_object_new_array();
	json_object_array_add(a, json_object_new_double(0.1 + 0.2));
	inner = json_object_new_object();
	json_object_object_add(inner, "avg_ns", json_object_new_double(1234.56789));
	json_object_array_add(a, inner);
	json_object_object_add(o, "deep", a);
	json_object_object_add(o, "chosen", json_object_new_double_s(0.5, "5e-1"));
	line = proto_line(o);
	assert_non_null(line);
	assert_string_equal(line, "{\"uptime_s\":54.026,\"rate\":0.0,\"n\":3,"
				  "\"deep\":[0.3,{\"avg_ns\":1234.568}],\"chosen\":5e-1}\n");
	back = json_tokener_parse(line);
	assert_true(json_object_is_type(field(back, "uptime_s"), json_type_double));
	assert_true(json_object_is_type(field(back, "rate"), json_type_double));
	assert_true(json_object_get_double(field(back, "uptime_s")) == 54.026);
	json_object_put(back);
	free(line);
	json_object_put(o);
}

/* Every line the writer makes is UTF-8, whatever bytes its strings held. */
static void test_line_always_utf8(void **state)
{
	json_object *o = json_object_new_object();
	struct cgp_event e = { .type = CGP_EV_OOM_KILL, .cgid = 7, .pid = 42 };
	char *line;

	(void)state;
	/* a message cut inside a character, and a byte that starts nothing */
	json_object_object_add(o, "error", json_object_new_string("caf\xc3"));
	json_object_object_add(o, "x",
			       json_object_new_string("a\xff"
						      "b"));
	line = proto_line(o);
	assert_non_null(line);
	assert_non_null(strstr(line, "\"caf\\ufffd\""));
	assert_non_null(strstr(line, "\"a\\ufffdb\""));
	free(line);
	json_object_put(o);
	/* a task's comm is its own choice: shown in display form */
	memcpy(e.comm,
	       "ev\x1b"
	       "[2J\xc3",
	       7);
	o = proto_event_json(&e, NULL);
	line = proto_line(o);
	assert_non_null(strstr(line, "\"comm\":\"ev%1B[2J%C3\""));
	free(line);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_valid),
		cmocka_unit_test(test_decode_not_json),
		cmocka_unit_test(test_decode_trailing_garbage),
		cmocka_unit_test(test_decode_not_object),
		cmocka_unit_test(test_decode_op),
		cmocka_unit_test(test_decode_length),
		cmocka_unit_test(test_decode_nul),
		cmocka_unit_test(test_decode_deep_nesting),
		cmocka_unit_test(test_decode_escaped_nul),
		cmocka_unit_test(test_decode_strict),
		cmocka_unit_test(test_decode_utf8),
		cmocka_unit_test(test_decode_message_names),
		cmocka_unit_test_setup_teardown(test_get_string, req_setup, req_teardown),
		cmocka_unit_test_setup_teardown(test_get_u64, req_setup, req_teardown),
		cmocka_unit_test_setup_teardown(test_get_u64_overflow, req_setup, req_teardown),
		cmocka_unit_test(test_event_onset_cleared),
		cmocka_unit_test(test_event_mkdir_rmdir),
		cmocka_unit_test(test_event_oom),
		cmocka_unit_test(test_event_unknown_type),
		cmocka_unit_test(test_event_names),
		cmocka_unit_test(test_error_line),
		cmocka_unit_test(test_line_and_hist),
		cmocka_unit_test(test_line_always_utf8),
		cmocka_unit_test(test_double_precision),
	};

	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
