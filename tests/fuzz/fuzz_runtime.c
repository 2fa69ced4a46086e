// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer: the OCI runtime's inputs besides config.json (fuzz_oci has
 * that): its command line (the input's NUL-separated words after a first
 * byte 'a'), its state file (after 's'), and --systemd-cgroup's
 * slice:prefix:name (after 'm'). A crash, a leak, an error without a
 * message, an accepted container ID with '/' or "..", or a path with a ".."
 * component (a mapped one, or a state file's cgroup) is a bug.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

static void check_id(const char *id)
{
	if (id && (strchr(id, '/') || !strcmp(id, "..") || !strcmp(id, ".") || !id[0]))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, err[512], out[4096];
	struct rt_opts o;
	struct rt_state s;

	if (!size)
		return 0;
	text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	err[0] = 0;
	switch (data[0]) {
	case 'a': {
		char *argv[64];
		int argc = 0;

		argv[argc++] = "cgpilot-run";
		for (char *p = text; p < text + size - 1 && argc < 63; p += strlen(p) + 1)
			argv[argc++] = p;
		argv[argc] = NULL;
		rt_is_runtime_form(argc, argv);
		if (rt_parse_args(argc, argv, &o, err, sizeof(err)) < 0) {
			if (!err[0])
				abort();
		} else {
			check_id(o.id);
		}
		break;
	}
	case 's':
		if (rt_state_decode(text, size - 1, &s, err, sizeof(err))) {
			if (!err[0])
				abort();
		} else {
			char *again = rt_state_encode(&s);

			check_id(s.id);
			if (!strncmp(s.cgroup, "../", 3) || strstr(s.cgroup, "/../") ||
			    !strcmp(s.cgroup, "..") || s.cgroup[0] == '/' || !again)
				abort();
			free(again);
			free(rt_state_oci_json(&s, RT_RUNNING));
			rt_state_free(&s);
		}
		break;
	case 'm':
		if (rt_systemd_path(text, out, sizeof(out), err, sizeof(err))) {
			if (!err[0])
				abort();
		} else if (out[0] == '/' || strstr(out, "//") || !strcmp(out, "..") ||
			   !strncmp(out, "../", 3) || strstr(out, "/../") || strstr(out, "/./")) {
			abort();
		}
		break;
	}
	free(text);
	return 0;
}
