// SPDX-License-Identifier: Apache-2.0
/* libFuzzer: proto_decode_request and the argument getters on arbitrary bytes. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static const char *const keys[] = { "op",	    "cgroup",	 "events", "signal",
				    "threshold_ns", "sample_ms", "",	   "id" };

/* One line, ending in its only newline. */
static void check_line(char *line)
{
	size_t n;

	if (!line)
		abort();
	n = strlen(line);
	if (n < 2 || line[n - 1] != '\n' || memchr(line, '\n', n - 1))
		abort();
}

static void check_getters(json_object *req)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		for (int required = 0; required < 2; required++) {
			const char *s = NULL, *msg = NULL;
			uint64_t v = 0;
			int r;

			r = proto_get_string(req, keys[i], required, &s, &msg);
			if (!(r == 1 && s) && !(r == 0 && !required) && !(r == -EINVAL && msg))
				abort();
			msg = NULL;
			r = proto_get_u64(req, keys[i], required, &v, &msg);
			if (!(r == 1 || (r == 0 && !required) || (r == -EINVAL && msg)))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *req = NULL, *again = NULL, *ev;
	const char *op = NULL, *msg = NULL, *op2 = NULL;
	struct cgp_event e;
	char *line;
	int r;

	r = proto_decode_request((const char *)data, size, &req, &op, &msg);
	if (r) {
		if (r != -EINVAL || !msg || req)
			abort();
		line = proto_error_line(msg);
		check_line(line);
		free(line);
	} else {
		if (!req || !op)
			abort();
		check_getters(req);
		/* what we write we read back */
		line = proto_line(req);
		check_line(line);
		if (strlen(line) - 1 <= CGP_PROTO_LINE_MAX) {
			if (proto_decode_request(line, strlen(line) - 1, &again, &op2, &msg) ||
			    strcmp(op, op2))
				abort();
			json_object_put(again);
		}
		free(line);
		line = proto_error_line(op);
		check_line(line);
		free(line);
	}

	/* the same bytes as a ring buffer record */
	memset(&e, 0, sizeof(e));
	memcpy(&e, data, size < sizeof(e) ? size : sizeof(e));
	ev = proto_event_json(&e, r ? NULL : op);
	if (!ev)
		abort();
	line = proto_line(ev);
	check_line(line);
	free(line);
	json_object_put(ev);
	json_object_put(req);
	return 0;
}
