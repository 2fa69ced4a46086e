// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer: cg_identity_parse on arbitrary cgroup paths (a local user names
 * cgroups as they like). Checked: every field NUL-terminated within its
 * size, a pod UID only of the characters a UID has with '-' (never the
 * systemd driver's '_'), a container ID only with a kind that has one, the
 * kind's name known.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_identity id;
	char *path = malloc(size + 1);

	if (!path)
		return 0;
	memcpy(path, data, size);
	path[size] = '\0'; /* a path ends at its first NUL, as the kernel's do */
	cg_identity_parse(path, &id);
	if (!memchr(id.pod_uid, '\0', sizeof(id.pod_uid)) ||
	    !memchr(id.container_id, '\0', sizeof(id.container_id)) ||
	    !memchr(id.unit, '\0', sizeof(id.unit)))
		abort();
	for (const char *p = id.pod_uid; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || *p == '-'))
			abort();
	if (id.container_id[0] && id.kind != CGID_CONTAINER)
		abort();
	if (id.pod_uid[0] && id.kind != CGID_POD && id.kind != CGID_CONTAINER)
		abort();
	if (id.kind > CGID_CONTAINER || (id.kind && !cg_id_kind_name(id.kind)[0]))
		abort();
	if (id.qos && strcmp(id.qos, "guaranteed") && strcmp(id.qos, "burstable") &&
	    strcmp(id.qos, "besteffort"))
		abort();
	free(path);
	return 0;
}
