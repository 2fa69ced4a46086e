// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"
#include "util.h"

static const struct topo_cpu *cpu_of(const struct topology *t, unsigned cpu)
{
	for (unsigned i = 0; i < t->ncpus; i++)
		if (t->cpus[i].cpu == cpu)
			return &t->cpus[i];
	return NULL;
}

int node_alloc__compute(const struct topology *t, const char *reserved_cpus,
			uint64_t reserved_memory, struct node_alloc *ret, char *err, size_t errlen)
{
	struct topo_cpuset res = { 0 };
	struct node_alloc a = { 0 };
	int r;

	r = topo_parse_cpulist(reserved_cpus, &res);
	if (r) {
		snprintf(err, errlen, "reserved_cpus '%s' is not a CPU list", reserved_cpus);
		return -EINVAL;
	}
	for (unsigned i = 0; i < res.n; i++) {
		if (!cpu_of(t, res.cpu[i])) {
			snprintf(
				err, errlen,
				"reserved_cpus '%s' names CPU %u, which this machine does not have "
				"(%u CPUs present)",
				reserved_cpus, res.cpu[i], t->ncpus);
			topo_cpuset_free(&res);
			return -EINVAL;
		}
	}
	a.cpus.cpu = calloc(t->ncpus ? t->ncpus : 1, sizeof(*a.cpus.cpu));
	if (!a.cpus.cpu) {
		topo_cpuset_free(&res);
		return -ENOMEM;
	}
	/* t->cpus ascend by number: the set stays sorted */
	for (unsigned i = 0; i < t->ncpus; i++)
		if (t->cpus[i].online && !topo_cpuset_has(&res, t->cpus[i].cpu))
			a.cpus.cpu[a.cpus.n++] = t->cpus[i].cpu;
	if (!a.cpus.n) {
		snprintf(err, errlen, "reserved_cpus '%s' leaves no online CPU for containers",
			 reserved_cpus);
		goto err;
	}
	if (reserved_memory >= t->memory_bytes) {
		snprintf(err, errlen,
			 "reserved_memory %" PRIu64 " bytes is not less than the machine's memory "
			 "(%" PRIu64 " bytes)",
			 reserved_memory, t->memory_bytes);
		goto err;
	}
	a.reserved_cpus = res;
	a.memory_bytes = t->memory_bytes - reserved_memory;
	a.reserved_memory_bytes = reserved_memory;
	*ret = a;
	return 0;
err:
	topo_cpuset_free(&a.cpus);
	topo_cpuset_free(&res);
	return -EINVAL;
}

void node_alloc__free(struct node_alloc *a)
{
	if (!a)
		return;
	topo_cpuset_free(&a->cpus);
	topo_cpuset_free(&a->reserved_cpus);
}
