/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bundle's linux.seccomp (runtime-spec config-linux.md, "Seccomp"), parsed
 * for cgpilot-run (pure: no syscalls, no libseccomp; tools/run/seccomp.c
 * builds the filter). Every field is read or refused by its path
 * ("linux.seccomp.syscalls[3].action: unknown action 'SCMP_ACT_X'");
 * listenerPath (a seccomp agent) is refused.
 */
#ifndef CGPILOT_OCI_SECCOMP_H
#define CGPILOT_OCI_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum oci_scmp_action {
	OCI_SCMP_KILL_THREAD, /* SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD */
	OCI_SCMP_KILL_PROCESS,
	OCI_SCMP_TRAP,
	OCI_SCMP_ERRNO,
	OCI_SCMP_TRACE,
	OCI_SCMP_ALLOW,
	OCI_SCMP_LOG,
};

enum oci_scmp_op {
	OCI_SCMP_NE,
	OCI_SCMP_LT,
	OCI_SCMP_LE,
	OCI_SCMP_EQ,
	OCI_SCMP_GE,
	OCI_SCMP_GT,
	OCI_SCMP_MASKED_EQ
};

/* flags */
#define OCI_SCMP_FLAG_TSYNC (1u << 0)
#define OCI_SCMP_FLAG_LOG (1u << 1)
#define OCI_SCMP_FLAG_SPEC_ALLOW (1u << 2)

struct oci_scmp_arg {
	unsigned index; /* 0..5 */
	uint64_t value, value_two;
	enum oci_scmp_op op;
};

struct oci_scmp_rule {
	char **names;
	size_t nnames;
	enum oci_scmp_action action;
	uint32_t errno_ret; /* ERRNO, TRACE: the value (default EPERM for ERRNO) */
	struct oci_scmp_arg *args;
	size_t nargs;
};

struct oci_seccomp {
	enum oci_scmp_action default_action;
	uint32_t default_errno; /* defaultErrnoRet, default EPERM */
	char **archs; /* "x86_64", "x86", "x32", ... (SCMP_ARCH_ dropped, lower case) */
	size_t narchs;
	struct oci_scmp_rule *rules;
	size_t nrules;
	unsigned flags;
};

/* Parse linux.seccomp's JSON text into @s (zeroed first; free it with
 * oci_seccomp_free, also on failure). 0, or -EINVAL naming the field. */
int oci_seccomp_parse(const char *json, size_t len, struct oci_seccomp *s, char *err,
		      size_t errlen);
void oci_seccomp_free(struct oci_seccomp *s);

#endif
