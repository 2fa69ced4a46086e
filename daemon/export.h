/* SPDX-License-Identifier: Apache-2.0 */
/* The cgroups /metrics exports one by one, and the subtree roots (daemon/export.c). */
#ifndef CGPILOT_EXPORT_H
#define CGPILOT_EXPORT_H

#include <stdint.h>

#include "identity.h"

struct daemon;
struct cg;

/* At each sample tick: sets each cgroup's exported, tier and identity. */
void export_update(struct daemon *d, uint64_t now_ns);

/* A cgroup's identity from its path (lib/identity.h), completed from its
 * container record if it has one: the class (*ret_class, else NULL), the
 * container's name as its ID, an adopted pod's UID, engine "cgpilot" for a
 * launched one. */
void export_identity(struct daemon *d, const struct cg *c, struct cg_identity *id,
		     const char **ret_class);

#endif
