// SPDX-License-Identifier: Apache-2.0
/* daemon/policy/admit_req.c: the container.admit request decoded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroupfs.h"
#include "policy/admit_req.h"
#include "unit.h"

static enum admit_req_error parse(const char *json, struct admit_req *ar, char *why, size_t len)
{
	json_object *req = json_tokener_parse(json);
	enum admit_req_error e;

	assert_non_null(req);
	why[0] = 0;
	e = admit_req_parse(req, ar, why, len);
	/* the borrowed strings die with the request: keep copies for the checks */
	if (!e) {
		ar->name = ar->name ? strdup(ar->name) : NULL;
		ar->path = ar->path ? strdup(ar->path) : NULL;
		ar->tenant = strdup(ar->tenant);
	}
	json_object_put(req);
	return e;
}

static void done(struct admit_req *ar)
{
	free((char *)ar->name);
	free((char *)ar->path);
	free((char *)ar->tenant);
	admit_req_free(ar);
}

static void test_launched(void **state)
{
	struct admit_req ar;
	char why[256];

	(void)state;
	assert_int_equal(parse("{\"op\":\"container.admit\",\"name\":\"web-1\",\"class\":"
			       "\"guaranteed\",\"cpu_request_mc\":500,\"memory_request\":"
			       "1048576,\"cpu_limit_mc\":500,\"memory_limit\":1048576,"
			       "\"priority\":-5,\"io_weight\":300,\"tenant\":\"team.a\"}",
			       &ar, why, sizeof(why)),
			 ADMIT_REQ_OK);
	assert_int_equal(ar.kind, ADMIT_LAUNCHED);
	assert_string_equal(ar.name, "web-1");
	assert_string_equal(ar.tenant, "team.a");
	assert_int_equal(ar.class, CGP_CLASS_GUARANTEED);
	assert_int_equal(ar.spec.cpu_request_mc, 500);
	assert_int_equal(ar.spec.mem_limit, 1048576);
	assert_int_equal(ar.spec.priority, -5);
	assert_int_equal(ar.spec.io_weight, 300);
	assert_int_equal(ar.pinned.n, 0);
	assert_null(ar.norm);
	done(&ar);
	/* the defaults: launched, burstable, no name */
	assert_int_equal(parse("{}", &ar, why, sizeof(why)), ADMIT_REQ_OK);
	assert_int_equal(ar.kind, ADMIT_LAUNCHED);
	assert_int_equal(ar.class, CGP_CLASS_BURSTABLE);
	assert_null(ar.name);
	done(&ar);
}

static void test_runtime(void **state)
{
	struct admit_req ar;
	char why[256];

	(void)state;
	assert_int_equal(parse("{\"kind\":\"runtime\",\"path\":\"/machine.slice//libpod-1.scope/\","
			       "\"cpus\":\"0-1,3\",\"degrade\":true}",
			       &ar, why, sizeof(why)),
			 ADMIT_REQ_OK);
	assert_int_equal(ar.kind, ADMIT_RUNTIME);
	assert_string_equal(ar.norm, "machine.slice/libpod-1.scope");
	assert_int_equal(ar.pinned.n, 3);
	assert_true(ar.degrade);
	done(&ar);
}

/* Each wrong field named, with the value where it is not a type error. */
static void test_errors(void **state)
{
	static const struct {
		const char *json;
		enum admit_req_error e;
		const char *msg;
	} cases[] = {
		{ "{\"kind\":7}", ADMIT_REQ_TYPE, "\"kind\"" },
		{ "{\"name\":[]}", ADMIT_REQ_TYPE, "\"name\"" },
		{ "{\"wait\":\"yes\"}", ADMIT_REQ_TYPE, "\"wait\"" },
		{ "{\"cpu_request_mc\":-1}", ADMIT_REQ_TYPE, "\"cpu_request_mc\"" },
		{ "{\"cpu_request_mc\":1.5}", ADMIT_REQ_TYPE, "\"cpu_request_mc\"" },
		{ "{\"io_weight\":10001}", ADMIT_REQ_TYPE, "\"io_weight\": out of range" },
		{ "{\"priority\":\"high\"}", ADMIT_REQ_TYPE, "\"priority\": must be an integer" },
		{ "{\"priority\":1001}", ADMIT_REQ_TYPE, "(-1000..1000)" },
		{ "{\"degrade\":true}", ADMIT_REQ_TYPE, "only for kind \"runtime\"" },
		{ "{\"kind\":\"runtime\",\"path\":\"a/b\",\"degrade\":true,\"wait\":true}",
		  ADMIT_REQ_TYPE, "exclude each other" },
		{ "{\"cpus\":\"0\"}", ADMIT_REQ_TYPE, "only for kind \"runtime\"" },
		{ "{\"class\":\"gold\"}", ADMIT_REQ_INVALID, "unknown class 'gold'" },
		{ "{\"tenant\":\"a b\"}", ADMIT_REQ_INVALID, "tenant 'a b' is not a name" },
		{ "{\"name\":\"../x\"}", ADMIT_REQ_INVALID, "name '../x' is not a container name" },
		{ "{\"name\":\".hidden\"}", ADMIT_REQ_INVALID, "not a container name" },
		{ "{\"path\":\"a/b\"}", ADMIT_REQ_INVALID, "give \"name\", not \"path\"" },
		{ "{\"kind\":\"runtime\"}", ADMIT_REQ_INVALID, "needs \"path\"" },
		{ "{\"kind\":\"runtime\",\"path\":\"a/../../etc\"}", ADMIT_REQ_INVALID,
		  "path 'a/../../etc'" },
		{ "{\"kind\":\"runtime\",\"path\":\"a/b\\nc\"}", ADMIT_REQ_INVALID, "path 'a/b" },
		{ "{\"kind\":\"runtime\",\"path\":\"/\"}", ADMIT_REQ_INVALID,
		  "the root is not a container" },
		{ "{\"kind\":\"runtime\",\"path\":\"a/b\",\"cpus\":\"3-1\"}", ADMIT_REQ_INVALID,
		  "\"cpus\" '3-1': not a CPU list" },
		{ "{\"kind\":\"runtime\",\"path\":\"a/b\",\"cpus\":\"\"}", ADMIT_REQ_INVALID,
		  "not a CPU list" },
		{ "{\"kind\":\"vm\"}", ADMIT_REQ_INVALID, "unknown kind 'vm'" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct admit_req ar;
		char why[256];
		enum admit_req_error e = parse(cases[i].json, &ar, why, sizeof(why));

		if (e != cases[i].e)
			fail_msg("%s: error %d, not %d (%s)", cases[i].json, e, cases[i].e, why);
		assert_contains(why, cases[i].msg);
		admit_req_free(&ar);
	}
}

/* A reason that does not fit its buffer is cut, never overrun. */
static void test_short_buffer(void **state)
{
	struct admit_req ar;
	char why[8];

	(void)state;
	assert_int_equal(parse("{\"class\":\"gold\"}", &ar, why, sizeof(why)), ADMIT_REQ_INVALID);
	assert_int_equal(strlen(why), sizeof(why) - 1);
	admit_req_free(&ar);
}

static void test_name_ok(void **state)
{
	char long_name[70];

	(void)state;
	assert_true(admit_name_ok("a"));
	assert_true(admit_name_ok("A-b_c.9"));
	assert_false(admit_name_ok(""));
	assert_false(admit_name_ok(".x"));
	assert_false(admit_name_ok("a/b"));
	assert_false(admit_name_ok("a\xc3\xa9"));
	memset(long_name, 'x', 64);
	long_name[64] = 0;
	assert_false(admit_name_ok(long_name));
	long_name[63] = 0;
	assert_true(admit_name_ok(long_name));
}

/* Paths below a root, a component boundary away. */
static void test_path_below(void **state)
{
	(void)state;
	assert_true(cgfs_path_below("a", "a"));
	assert_true(cgfs_path_below("a", "a/b"));
	assert_false(cgfs_path_below("a", "ab"));
	assert_false(cgfs_path_below("a/b", "a"));
	assert_false(cgfs_path_below("", "a"));
	assert_true(cgfs_path_strictly_below("a", "a/b"));
	assert_false(cgfs_path_strictly_below("a", "a"));
	assert_false(cgfs_path_strictly_below("a", "a/"));
	assert_false(cgfs_path_strictly_below("a", "ab/c"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_launched), cmocka_unit_test(test_runtime),
		cmocka_unit_test(test_errors),	 cmocka_unit_test(test_short_buffer),
		cmocka_unit_test(test_name_ok),	 cmocka_unit_test(test_path_below),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
