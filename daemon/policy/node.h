/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the node offers its containers: the machine's CPUs and memory minus
 * the system reserve ([node] reserved_cpus, reserved_memory), which is also
 * what system daemons keep. Pure: the topology and the reserve in, the
 * allocatable out; no syscalls. The first piece of the resource model that
 * admission and placement decide on.
 */
#ifndef CGPILOT_POLICY_NODE_H
#define CGPILOT_POLICY_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "topology.h"

struct node_alloc {
	struct topo_cpuset cpus; /* online CPUs containers may have */
	struct topo_cpuset reserved_cpus; /* kept for the system */
	uint64_t memory_bytes; /* MemTotal minus the reserve */
	uint64_t reserved_memory_bytes;
};

/*
 * Allocatable from @t and the reserve (@reserved_cpus a cpulist, "" none).
 * -EINVAL with a message naming the value in @err when the reserve names a
 * CPU the machine does not have, leaves no online CPU, or is not less than
 * the memory; *ret is untouched then.
 */
int node_alloc__compute(const struct topology *t, const char *reserved_cpus,
			uint64_t reserved_memory, struct node_alloc *ret, char *err, size_t errlen);
void node_alloc__free(struct node_alloc *a);
/* Allocatable CPU in millicores (1000 per CPU). */
static inline uint64_t node_alloc__millicores(const struct node_alloc *a)
{
	return (uint64_t)a->cpus.n * 1000;
}

#endif
