/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --standalone: the container without cgpilotd. The cgroup is made under the
 * daemon's container root (cgpilot.slice/<class>/<name>), tagged as the
 * launcher's, with the class's knobs written through the actuator as the
 * daemon would write them (daemon/policy/class.c decides them), and removed
 * when the workload ends. No admission, no placement, no control loop.
 */
#ifndef CGPILOT_RUN_STANDALONE_H
#define CGPILOT_RUN_STANDALONE_H

#include <stddef.h>
#include <stdint.h>

struct run_opts;
struct oci_request;
struct standalone;

/* Make the cgroup; its path (relative to the mount) in @cgroup. -errno with @err. */
int standalone_create(const struct run_opts *o, const char *class, const struct oci_request *q,
		      struct standalone **ret, char *cgroup, size_t cglen, char *err,
		      size_t errlen);
/* The same at @path (NULL: <root>/<class>/<name or run-PID>), tagged @owner,
 * with @request (if not NULL) in ACT_REQUEST_XATTR: the OCI runtime's
 * container when cgpilotd cannot be reached. */
int standalone_create_at(const char *config, const char *path, const char *name, const char *owner,
			 const char *request, const char *class_text, const struct oci_request *q,
			 struct standalone **ret, char *cgroup, size_t cglen, char *err,
			 size_t errlen);
/* A cgroup made so before (by an earlier create), to remove it. */
int standalone_attach(const char *config, const char *path, uint64_t id, const char *owner,
		      struct standalone **ret, char *err, size_t errlen);
uint64_t standalone_id(const struct standalone *sa);
/* The further files of @q (pids.max, memory.swap.max, unified) on the standalone cgroup. */
int standalone_apply_extra(struct standalone *sa, int cgfd, const struct oci_request *q, char *err,
			   size_t errlen);
/* The same for a cgroup cgpilotd made (@path relative to the v2 mount at
 * @mount), checked and written by the same actuator. */
int standalone_write_knobs(int cgfd, const char *mount, const char *path,
			   const struct oci_request *q, char *err, size_t errlen);
/* The v2 mount the standalone cgroup is under (configured, or found). */
const char *standalone_mount(const struct standalone *sa);
/* Kill what is left, wait for it, remove the cgroup (the parents stay: shared). */
void standalone_remove(struct standalone *sa);
/* After standalone_remove: the parents the launcher made, where empty. */
void standalone_prune_parents(struct standalone *sa);
void standalone_free(struct standalone *sa);

#endif
