/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container.admit request decoded, and the spec fields of admit and
 * update: every argument's type, range and form checked, nothing of the
 * daemon's state looked at (the engine roots, the containers, the class
 * limits are the caller's). Pure, for the unit tests and the fuzzer.
 */
#ifndef CGPILOT_POLICY_ADMIT_REQ_H
#define CGPILOT_POLICY_ADMIT_REQ_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "class.h"
#include "topology.h"

enum admit_kind { ADMIT_LAUNCHED = 0, ADMIT_RUNTIME };

struct admit_req {
	enum admit_kind kind;
	/* borrowed from the request object (it outlives the decoded form) */
	const char *name; /* NULL: not given */
	const char *path; /* runtime: as given */
	const char *tenant; /* "" none */
	char *norm; /* runtime: the path normalised, not yet made relative to the mount */
	enum cgp_class class;
	bool wait, degrade;
	struct res_spec spec;
	struct topo_cpuset pinned; /* runtime "cpus", empty: not given */
};

/* Why a request was not decoded: a field of the wrong type (an error
 * reply), or a value that is not one (a refusal counted as "invalid"). */
enum admit_req_error { ADMIT_REQ_OK = 0, ADMIT_REQ_TYPE, ADMIT_REQ_INVALID };

/* 1-63 of [A-Za-z0-9_.-], not starting with '.': a container or tenant name. */
bool admit_name_ok(const char *n);

/* The spec fields (cpu_request_mc, cpu_limit_mc, memory_request,
 * memory_limit, io_weight, priority) into @s, those given only; on an
 * error, @why names the field and what is wrong. */
enum admit_req_error admit_spec_parse(json_object *req, struct res_spec *s, char *why,
				      size_t whylen);

/* A container.admit request into @ar (admit_req_free after, also on an
 * error); on an error, @why names the field and the value. */
enum admit_req_error admit_req_parse(json_object *req, struct admit_req *ar, char *why,
				     size_t whylen);
void admit_req_free(struct admit_req *ar);

#endif
