// SPDX-License-Identifier: Apache-2.0
/*
 * node show's allocation part: what containers may have of the machine, what
 * they requested and what is free, the controllers that enforce it, and who
 * owns each allocatable CPU (node.show's "requested", "free", "pools", ...).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cgpilot.h"
#include "output.h"
#include "util.h"

/* One row of CPUs and memory; "-" for what the reply lacks. */
static void print_res(const char *label, struct json_object *res, const char *cpu_key,
		      const char *extra)
{
	char cpus[24], mem[16];
	uint64_t mc;

	snprintf(cpus, sizeof(cpus), "-");
	if (jget_u64(res, cpu_key, &mc))
		fmt_millicpus(cpus, sizeof(cpus), mc);
	fmt_bytes_key(mem, sizeof(mem), res, "memory_bytes");
	if (*extra)
		printf("%-14s%-10s%-10s%s\n", label, cpus, mem, extra);
	else
		printf("%-14s%-10s%s\n", label, cpus, mem);
}

static size_t list_len(struct json_object *list)
{
	return list ? json_object_array_length(list) : 0;
}

static bool in_list(struct json_object *list, uint64_t cpu)
{
	for (size_t i = 0; i < list_len(list); i++)
		if (json_object_get_int64(json_object_array_get_idx(list, i)) == (int64_t)cpu)
			return true;
	return false;
}

/* The system's share: a count of CPUs, not millicores. */
static void print_system(struct json_object *reserved)
{
	struct json_object *cpus = jget_array(reserved, "cpus");
	char list[128] = "", mem[16];

	if (!reserved)
		return;
	fmt_bytes_key(mem, sizeof(mem), reserved, "memory_bytes");
	if (list_len(cpus)) {
		snprintf(list, sizeof(list), "CPUs ");
		fmt_cpulist(list + 5, sizeof(list) - 5, cpus);
	}
	if (list[0])
		printf("%-14s%-10zu%-10s%s\n", "system", list_len(cpus), mem, list);
	else
		printf("%-14s%-10zu%s\n", "system", list_len(cpus), mem);
}

void print_enforceable(int width, struct json_object *enf)
{
	static const struct {
		const char *name, *without;
	} ctrl[] = {
		{ "cpu", "CPU limits are refused, cpu.weight is not written" },
		{ "cpuset", "exclusive CPUs (guaranteed, whole CPUs) are refused" },
		{ "memory", "memory limits are refused, memory.min/low are not written" },
		{ "io", "io.weight is not written" },
	};
	struct json_object *v;
	size_t n = list_len(enf);
	bool have;

	if (!enf) {
		printf("%-*s-\n", width, "enforceable");
		return;
	}
	if (n == 0) {
		printf("%-*snone: telemetry-only, limits are refused\n", width, "enforceable");
		return;
	}
	printf("%-*s", width, "enforceable");
	for (size_t i = 0; i < n; i++) {
		v = json_object_array_get_idx(enf, i);
		printf("%s", i ? " " : "");
		print_escaped(stdout, v ? json_object_get_string(v) : "?");
	}
	putchar('\n');
	for (size_t k = 0; k < ARRAY_SIZE(ctrl); k++) {
		have = false;
		for (size_t i = 0; i < n && !have; i++) {
			v = json_object_array_get_idx(enf, i);
			have = v && streq(json_object_get_string(v), ctrl[k].name);
		}
		if (!have)
			printf("%-*sno %s: %s\n", width, "", ctrl[k].name, ctrl[k].without);
	}
}

static void print_pools(struct json_object *pools)
{
	char cpus[128], size[24], req[24];
	struct json_object *p;
	const char *name;
	uint64_t mc;

	for (size_t i = 0; i < list_len(pools); i++) {
		p = json_object_array_get_idx(pools, i);
		name = jget_str(p, "name");
		fmt_cpulist(cpus, sizeof(cpus), jget_array(p, "cpus"));
		snprintf(size, sizeof(size), "-");
		snprintf(req, sizeof(req), "-");
		if (jget_u64(p, "millicores", &mc))
			fmt_millicpus(size, sizeof(size), mc);
		if (jget_u64(p, "requested_mc", &mc))
			fmt_millicpus(req, sizeof(req), mc);
		printf("%-14s", i ? "" : "pools");
		print_escaped(stdout, name ? name : "?");
		printf(": CPUs %s, %s CPUs, %s requested\n", cpus, size, req);
	}
}

/* "shared", "container 3 (db)", "system (reserved)" or "-". */
static void fmt_owner(char *buf, size_t size, uint64_t cpu, struct json_object *node)
{
	struct json_object *excl = jget_array(node, "exclusive"),
			   *pools = jget_array(node, "pools");
	struct json_object *e;
	char name[80];
	uint64_t id;

	for (size_t i = 0; i < list_len(excl); i++) {
		e = json_object_array_get_idx(excl, i);
		if (!in_list(jget_array(e, "cpus"), cpu))
			continue;
		fmt_escaped(name, sizeof(name), jget_str(e, "name") ? jget_str(e, "name") : "?");
		if (jget_u64(e, "container", &id))
			snprintf(buf, size, "container %" PRIu64 " (%s)", id, name);
		else
			snprintf(buf, size, "container ? (%s)", name);
		return;
	}
	for (size_t i = 0; i < list_len(pools); i++) {
		e = json_object_array_get_idx(pools, i);
		if (in_list(jget_array(e, "cpus"), cpu)) {
			fmt_escaped(buf, size, jget_str(e, "name") ? jget_str(e, "name") : "?");
			return;
		}
	}
	if (in_list(jget_array(jget_obj(node, "reserved"), "cpus"), cpu))
		snprintf(buf, size, "system (reserved)");
	else
		snprintf(buf, size, "-");
}

/* One row per CPU that is allocatable or kept for the system, in topology order. */
static void print_owners(struct json_object *node)
{
	struct json_object *cpus = jget_array(node, "cpus"), *c, *v;
	struct json_object *alloc = jget_array(jget_obj(node, "allocatable"), "cpus");
	struct json_object *reserved = jget_array(jget_obj(node, "reserved"), "cpus");
	char owner[128], nd[16], core[16];
	uint64_t cpu;

	printf("\n%-5s %-5s %-6s %s\n", "CPU", "NODE", "CORE", "OWNER");
	for (size_t i = 0; i < list_len(cpus); i++) {
		c = json_object_array_get_idx(cpus, i);
		if (!jget_u64(c, "cpu", &cpu) || (!in_list(alloc, cpu) && !in_list(reserved, cpu)))
			continue;
		snprintf(nd, sizeof(nd), "-");
		snprintf(core, sizeof(core), "-");
		if (json_object_object_get_ex(c, "node", &v) &&
		    json_object_is_type(v, json_type_int))
			snprintf(nd, sizeof(nd), "%" PRId64, json_object_get_int64(v));
		if (json_object_object_get_ex(c, "core_id", &v) &&
		    json_object_is_type(v, json_type_int))
			snprintf(core, sizeof(core), "%" PRId64, json_object_get_int64(v));
		fmt_owner(owner, sizeof(owner), cpu, node);
		printf("%-5" PRIu64 " %-5s %-6s %s\n", cpu, nd, core, owner);
	}
}

void node_print_alloc(struct json_object *node)
{
	struct json_object *alloc = jget_obj(node, "allocatable");
	char list[128] = "", admitted[24], queued[24];

	if (!alloc && !jget_obj(node, "requested"))
		return;
	printf("\n%-14s%-10s%s\n", "allocation", "CPUS", "MEMORY");
	if (list_len(jget_array(alloc, "cpus"))) {
		snprintf(list, sizeof(list), "CPUs ");
		fmt_cpulist(list + 5, sizeof(list) - 5, jget_array(alloc, "cpus"));
	}
	print_res("allocatable", alloc, "millicores", list);
	print_system(jget_obj(node, "reserved"));
	if (!jget_obj(node, "requested"))
		return; /* a daemon without containers */
	print_res("requested", jget_obj(node, "requested"), "cpu_mc",
		  "guaranteed and burstable, reserved");
	print_res("free", jget_obj(node, "free"), "cpu_mc", "");
	print_res("slack", jget_obj(node, "slack"), "cpu_mc", "measured unused, for besteffort");
	print_res("besteffort", jget_obj(node, "besteffort"), "cpu_mc", "admitted against slack");
	fmt_u64_key(admitted, sizeof(admitted), node, "containers");
	fmt_u64_key(queued, sizeof(queued), node, "queued");
	printf("%-14s%s admitted, %s queued\n", "containers", admitted, queued);
	print_pools(jget_array(node, "pools"));
	print_enforceable(14, jget_array(node, "enforceable"));
	print_owners(node);
}
