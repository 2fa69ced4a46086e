// SPDX-License-Identifier: Apache-2.0
/* libFuzzer: the container.admit request decoder (daemon/policy/admit_req.c)
 * on arbitrary bytes, read as the control socket reads a line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/admit_req.h"

static void check_why(const char *why, size_t len)
{
	if (!memchr(why, 0, len) || !why[0])
		abort(); /* an error always says why, NUL-terminated */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), why[160];
	json_object *req;
	struct admit_req ar;
	enum admit_req_error e;
	struct res_spec s = { 0 };

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	req = json_tokener_parse(text);
	free(text);
	if (!req || !json_object_is_type(req, json_type_object)) {
		json_object_put(req);
		return 0;
	}
	memset(why, 'x', sizeof(why));
	e = admit_req_parse(req, &ar, why, sizeof(why));
	if (e != ADMIT_REQ_OK) {
		if (e != ADMIT_REQ_TYPE && e != ADMIT_REQ_INVALID)
			abort();
		check_why(why, sizeof(why));
	} else {
		/* what it accepted is what the daemon may act on */
		if ((unsigned)ar.class >= CGP_CLASS_MAX || !ar.tenant)
			abort();
		if (ar.tenant[0] && !admit_name_ok(ar.tenant))
			abort();
		if (ar.name && !admit_name_ok(ar.name))
			abort();
		if (ar.kind == ADMIT_RUNTIME) {
			if (!ar.norm || !ar.norm[0] || ar.norm[0] == '/' || strstr(ar.norm, "//") ||
			    !strcmp(ar.norm, "..") || !strncmp(ar.norm, "../", 3) ||
			    strstr(ar.norm, "/../") || strchr(ar.norm, '\n'))
				abort();
			if (ar.degrade && ar.wait)
				abort();
		} else if (ar.kind != ADMIT_LAUNCHED || ar.norm || ar.path || ar.pinned.n ||
			   ar.degrade) {
			abort();
		}
		if (ar.spec.io_weight > 10000 || ar.spec.priority < -1000 ||
		    ar.spec.priority > 1000)
			abort();
		for (unsigned i = 1; i < ar.pinned.n; i++)
			if (ar.pinned.cpu[i] <= ar.pinned.cpu[i - 1])
				abort(); /* sorted, no duplicates */
	}
	admit_req_free(&ar);
	/* the update's spec fields alone, into a spec given before */
	memset(why, 'x', sizeof(why));
	e = admit_spec_parse(req, &s, why, sizeof(why));
	if (e != ADMIT_REQ_OK)
		check_why(why, sizeof(why));
	json_object_put(req);
	return 0;
}
