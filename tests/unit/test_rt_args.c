// SPDX-License-Identifier: Apache-2.0
/* tools/run/rt_args.c and rt_state.c: the OCI runtime's command line as the
 * engines call it, the state file, the features JSON, --systemd-cgroup's
 * mapping. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "runtime.h"
#include "unit.h"

static int parse(struct rt_opts *o, char *err, const char *const *args)
{
	static char *argv[40];
	int argc = 0;

	argv[argc++] = "cgpilot-run";
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	err[0] = 0;
	return rt_parse_args(argc, argv, o, err, 256);
}

static bool form(const char *const *args)
{
	static char *argv[40];
	int argc = 0;

	argv[argc++] = "cgpilot-run";
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	return rt_is_runtime_form(argc, argv);
}

static void test_forms(void **state)
{
	const char *launcher1[] = { "--cpus", "1", "--", "sleep", "1", NULL };
	const char *launcher2[] = { "sleep", "1", NULL };
	const char *launcher3[] = { "--", "create", NULL };
	const char *rt1[] = { "create", "--bundle", "b", "x", NULL };
	const char *rt2[] = { "--root", "/r", "state", "x", NULL };
	const char *rt3[] = { "--log-format=json", "--log", "/l", "kill", "x", NULL };
	const char *rt4[] = { "--systemd-cgroup", "--help", NULL };
	const char *rt5[] = { "--socket", "/s", "--config=/c", "delete", "x", NULL };
	const char *launcher4[] = { "--socket", "/s", "--cpus", "1", "true", NULL };

	(void)state;
	assert_false(form(launcher1));
	assert_false(form(launcher2));
	assert_false(form(launcher3));
	assert_true(form(rt1));
	assert_true(form(rt2));
	assert_true(form(rt3));
	assert_true(form(rt4));
	assert_true(form(rt5));
	assert_false(form(launcher4));
}

/* what containerd's go-runc passes */
static void test_go_runc(void **state)
{
	struct rt_opts o;
	char err[256];
	const char *create[] = { "--root",
				 "/run/containerd/runc/default",
				 "--log",
				 "/run/x/log.json",
				 "--log-format",
				 "json",
				 "create",
				 "--bundle",
				 "/run/x/b",
				 "--pid-file",
				 "/run/x/init.pid",
				 "--console-socket",
				 "/tmp/pty.sock",
				 "c1",
				 NULL };
	const char *exec[] = { "--root",       "/r",	   "--log",	 "/l",
			       "--log-format", "json",	   "exec",	 "--process",
			       "/tmp/p.json",  "--detach", "--pid-file", "/tmp/e.pid",
			       "c1",	       NULL };
	const char *kill[] = { "--root", "/r", "kill", "--all", "c1", "9", NULL };
	const char *del[] = { "--root", "/r", "delete", "--force", "c1", NULL };
	const char *ps[] = { "--root", "/r", "ps", "--format", "json", "c1", NULL };
	const char *upd[] = { "--root", "/r", "update", "--resources", "-", "c1", NULL };

	(void)state;
	assert_int_equal(parse(&o, err, create), 0);
	assert_int_equal(o.cmd, RT_CREATE);
	assert_string_equal(o.root, "/run/containerd/runc/default");
	assert_string_equal(o.log, "/run/x/log.json");
	assert_true(o.log_json);
	assert_string_equal(o.bundle, "/run/x/b");
	assert_string_equal(o.pid_file, "/run/x/init.pid");
	assert_string_equal(o.console_socket, "/tmp/pty.sock");
	assert_string_equal(o.id, "c1");
	assert_int_equal(parse(&o, err, exec), 0);
	assert_int_equal(o.cmd, RT_EXEC);
	assert_string_equal(o.process, "/tmp/p.json");
	assert_true(o.detach);
	assert_null(o.argv);
	assert_int_equal(parse(&o, err, kill), 0);
	assert_true(o.all);
	assert_int_equal(o.signal, 9);
	assert_int_equal(parse(&o, err, del), 0);
	assert_true(o.force);
	assert_int_equal(parse(&o, err, ps), 0);
	assert_string_equal(o.format, "json");
	assert_int_equal(parse(&o, err, upd), 0);
	assert_string_equal(o.resources, "-");
}

/* what podman's conmon passes (no --root) */
static void test_conmon(void **state)
{
	struct rt_opts o;
	char err[256];
	const char *create[] = { "--log-format=json",
				 "--log=/var/l/oci-log",
				 "create",
				 "--bundle=/var/b",
				 "--pid-file=/run/p",
				 "--no-pivot",
				 "--no-new-keyring",
				 "--preserve-fds",
				 "2",
				 "abc123",
				 NULL };
	const char *exec[] = { "exec", "-d", "--pid-file", "/p", "--process", "/f", "abc", NULL };
	const char *cmd[] = { "exec",	   "-t",  "-e", "A=1", "--cwd", "/w", "-u",
			      "1000:1000", "abc", "sh", "-c",  "id",	NULL };
	const char *kill[] = { "kill", "abc", "SIGTERM", NULL };
	const char *kill2[] = { "kill", "abc", "kill", NULL };
	const char *kill3[] = { "kill", "abc", NULL };

	(void)state;
	assert_int_equal(parse(&o, err, create), 0);
	assert_string_equal(o.root, RT_ROOT_DEFAULT);
	assert_true(o.log_json);
	assert_string_equal(o.log, "/var/l/oci-log");
	assert_string_equal(o.bundle, "/var/b");
	assert_true(o.no_pivot);
	assert_true(o.no_new_keyring);
	assert_int_equal(o.preserve_fds, 2);
	assert_int_equal(parse(&o, err, exec), 0);
	assert_true(o.detach);
	assert_int_equal(parse(&o, err, cmd), 0);
	assert_true(o.tty);
	assert_int_equal(o.nenv, 1);
	assert_string_equal(o.cwd, "/w");
	assert_string_equal(o.user, "1000:1000");
	assert_int_equal(o.argc, 3);
	assert_string_equal(o.argv[2], "id");
	assert_int_equal(parse(&o, err, kill), 0);
	assert_int_equal(o.signal, SIGTERM);
	assert_int_equal(parse(&o, err, kill2), 0);
	assert_int_equal(o.signal, SIGKILL);
	assert_int_equal(parse(&o, err, kill3), 0);
	assert_int_equal(o.signal, SIGTERM);
}

static void test_refused(void **state)
{
	static const struct {
		const char *args[8];
		const char *want;
	} cases[] = {
		{ { "create", "a/b", NULL }, "character 1 (0x2f)" },
		{ { "state", "..", NULL }, "not . or .." },
		{ { "state", NULL }, "needs a container ID" },
		{ { "start", "x", "y", NULL }, "one operand too many" },
		{ { "kill", "x", "SIGFOO", NULL }, "'SIGFOO' is not a signal" },
		{ { "kill", "x", "0", NULL }, "'0' is not a signal" },
		{ { "delete", "--all", "x", NULL }, "delete does not take --all" },
		{ { "--log-format", "xml", "list", NULL }, "--log-format 'xml': not text or json" },
		{ { "--root", "rel", "list", NULL }, "must be an absolute path" },
		{ { "--rootless", "true", "list", NULL }, "runs as root only" },
		{ { "checkpoint", "x", NULL }, "command 'checkpoint' is not supported" },
		{ { "update", "x", NULL }, "update needs --resources" },
		{ { "exec", "x", NULL }, "exec needs --process FILE or a command" },
		{ { "exec", "--process", "p", "x", "sh", NULL }, "exclude each other" },
		{ { "exec", "-e", "NOEQUALS", "x", "sh", NULL }, "not KEY=VALUE" },
		{ { "create", "--preserve-fds", "-1", "x", NULL }, "not a number in 0..1000" },
		{ { "list", "extra", NULL }, "takes no operand" },
		{ { "--root", NULL }, "--root needs a value" },
	};
	struct rt_opts o;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(&o, err, cases[i].args), -EINVAL);
		if (!strstr(err, cases[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].want);
	}
}

static void test_signals(void **state)
{
	(void)state;
	assert_int_equal(rt_parse_signal("KILL"), SIGKILL);
	assert_int_equal(rt_parse_signal("SIGKILL"), SIGKILL);
	assert_int_equal(rt_parse_signal("sigterm"), SIGTERM);
	assert_int_equal(rt_parse_signal("15"), SIGTERM);
	assert_int_equal(rt_parse_signal("WINCH"), SIGWINCH);
	assert_int_equal(rt_parse_signal("RTMIN+2"), SIGRTMIN + 2);
	assert_int_equal(rt_parse_signal("65"), -1);
	assert_int_equal(rt_parse_signal(""), -1);
	assert_int_equal(rt_parse_signal("9x"), -1);
}

static void test_systemd_path(void **state)
{
	char out[512], err[256];

	(void)state;
	assert_int_equal(
		rt_systemd_path("machine.slice:libpod:abc", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "machine.slice/libpod-abc.scope");
	assert_int_equal(rt_systemd_path("kubepods-burstable-pod12_34.slice:cri-containerd:c1", out,
					 sizeof(out), err, sizeof(err)),
			 0);
	assert_string_equal(out, "kubepods.slice/kubepods-burstable.slice/"
				 "kubepods-burstable-pod12_34.slice/cri-containerd-c1.scope");
	assert_int_equal(rt_systemd_path(":docker:x", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "system.slice/docker-x.scope");
	assert_int_equal(rt_systemd_path("-.slice::x", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "x.scope");
	assert_int_equal(rt_systemd_path("a.slice:p:b.slice", out, sizeof(out), err, sizeof(err)),
			 0);
	assert_string_equal(out, "a.slice/b.slice");
	assert_int_equal(rt_systemd_path("machine.slice:x", out, sizeof(out), err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "slice:prefix:name"));
	assert_int_equal(rt_systemd_path("../x.slice:p:n", out, sizeof(out), err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(rt_systemd_path("a--b.slice:p:n", out, sizeof(out), err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(rt_systemd_path("a.slice:p:n/../../x", out, sizeof(out), err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(rt_systemd_path("notaslice:p:n", out, sizeof(out), err, sizeof(err)),
			 -EINVAL);
}

static void test_state_round_trip(void **state)
{
	struct rt_state s = { .pid = 4242,
			      .pid_start = 123456,
			      .cgroup_id = 99,
			      .daemon_id = 7,
			      .own_cgroup = true,
			      .created_ns = 1700000000123456789LL };
	struct rt_state t;
	char err[256], *text, *oci;
	json_object *o;

	(void)state;
	snprintf(s.id, sizeof(s.id), "abc+1.x_y-z");
	snprintf(s.bundle, sizeof(s.bundle), "/var/lib/b \"quoted\"");
	snprintf(s.cgroup, sizeof(s.cgroup), "libpod_parent/libpod-abc");
	snprintf(s.degraded, sizeof(s.degraded), "no whole core free");
	snprintf(s.created, sizeof(s.created), "2026-12-04T10:00:00.000000001Z");
	s.annotations = strdup("{\"io.cgpilot.class\":\"guaranteed\"}");
	text = rt_state_encode(&s);
	assert_non_null(text);
	assert_int_equal(rt_state_decode(text, strlen(text), &t, err, sizeof(err)), 0);
	assert_string_equal(t.id, s.id);
	assert_string_equal(t.bundle, s.bundle);
	assert_string_equal(t.cgroup, s.cgroup);
	assert_string_equal(t.degraded, s.degraded);
	assert_string_equal(t.created, s.created);
	assert_int_equal(t.pid, 4242);
	assert_int_equal(t.pid_start, 123456);
	assert_int_equal(t.cgroup_id, 99);
	assert_int_equal(t.daemon_id, 7);
	assert_true(t.own_cgroup);
	assert_int_equal(t.created_ns, s.created_ns);
	assert_string_equal(t.annotations, s.annotations);
	/* the spec's state as the engines read it */
	oci = rt_state_oci_json(&t, RT_STOPPED);
	o = json_tokener_parse(oci);
	assert_non_null(o);
	{
		json_object *v;

		assert_true(json_object_object_get_ex(o, "status", &v));
		assert_string_equal(json_object_get_string(v), "stopped");
		assert_true(json_object_object_get_ex(o, "pid", &v));
		assert_int_equal(json_object_get_int(v), 0);
		assert_true(json_object_object_get_ex(o, "annotations", &v));
		assert_true(json_object_object_get_ex(v, "io.cgpilot.class", &v));
	}
	json_object_put(o);
	free(oci);
	rt_state_free(&t);
	/* corrupt ones are refused, naming the field */
	{
		static const char *const bad[][2] = {
			{ "[]", "must be a JSON object" },
			{ "{\"version\":2}", "\"version\": 2" },
			{ "{\"version\":1,\"id\":\"../x\"}", "\"bundle\"" },
		};

		for (size_t i = 0; i < 3; i++) {
			assert_int_equal(rt_state_decode(bad[i][0], strlen(bad[i][0]), &t, err,
							 sizeof(err)),
					 -EINVAL);
			if (!strstr(err, bad[i][1]))
				fail_msg("'%s' lacks '%s'", err, bad[i][1]);
		}
	}
	/* a planted id or cgroup path */
	{
		char *p = strstr(text, "abc+1.x_y-z");

		memcpy(p, "abc/1", 5);
		assert_int_equal(rt_state_decode(text, strlen(text), &t, err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, "\"id\""));
	}
	free(text);
	free(s.annotations);
}

static void test_features(void **state)
{
	char *f = rt_features_json();
	json_object *o = json_tokener_parse(f), *l, *v;

	(void)state;
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "ociVersionMax", &v));
	assert_true(json_object_object_get_ex(o, "linux", &l));
	assert_true(json_object_object_get_ex(l, "cgroup", &v));
	assert_true(json_object_object_get_ex(v, "v2", &v));
	assert_true(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(l, "capabilities", &v));
	assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)), "CAP_CHOWN");
	assert_true(json_object_object_get_ex(l, "seccomp", &v));
	assert_true(json_object_object_get_ex(v, "enabled", &v));
	assert_false(json_object_get_boolean(v));
	json_object_put(o);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_go_runc),
		cmocka_unit_test(test_conmon),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_systemd_path),
		cmocka_unit_test(test_state_round_trip),
		cmocka_unit_test(test_features),
	};

	return cmocka_run_group_tests_name("rt_args", tests, NULL, NULL);
}
