// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer: oci_parse on arbitrary bytes (seeds: a crun spec, podman's and
 * containerd's shapes), then the linux.resources conversion of what parsed.
 * A crash, a leak, an error without a message or a success without the
 * fields the launcher needs is a bug.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_spec s;
	struct oci_request q;
	char err[512];
	int r;

	err[0] = 0;
	r = oci_parse((const char *)data, size, &s, err, sizeof(err));
	if (r) {
		if (!memchr(err, 0, sizeof(err)) || !err[0])
			abort();
	} else {
		if (!s.nargs || !s.args[0] || !s.root_path || !s.oci_version)
			abort();
		err[0] = 0;
		if (oci_to_request(&s.res, &q, err, sizeof(err)) && !err[0])
			abort();
		if (q.memory_limit && q.memory_request > q.memory_limit)
			abort();
	}
	oci_spec_free(&s);
	return 0;
}
