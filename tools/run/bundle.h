/* SPDX-License-Identifier: Apache-2.0 */
/* An OCI bundle turned into what spawn.c starts (bundle.c). */
#ifndef CGPILOT_RUN_BUNDLE_H
#define CGPILOT_RUN_BUNDLE_H

#include <stddef.h>

struct oci_spec;
struct spawn_spec;
struct spawn_mount;

/* Read and parse @bundle/config.json into @spec (free it with
 * oci_spec_free, also on failure); the root filesystem's path in @root.
 * -errno with the file and the field in @err. */
int bundle_read(const char *bundle, struct oci_spec *spec, char *root, size_t rootlen, char *err,
		size_t errlen);

/* What a spawn_spec made from a bundle points to. */
struct bundle_run {
	struct spawn_mount *mounts;
	char (*mdata)[512];
	const char *ns_join[8];
	void *seccomp; /* linux.seccomp's filter */
	int pidns_fd; /* a pid namespace to join (by path), -1 */
};

/* @ss from @spec (process, identity, root at @root, mounts, namespaces);
 * -EINVAL naming the mount that cannot be made. */
int bundle_spawn_spec(struct bundle_run *b, const struct oci_spec *spec, const char *root,
		      struct spawn_spec *ss, char *err, size_t errlen);
void bundle_run_free(struct bundle_run *b);

#endif
