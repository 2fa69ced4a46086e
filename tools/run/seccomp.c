// SPDX-License-Identifier: Apache-2.0
/*
 * A bundle's linux.seccomp (lib/oci_seccomp.c parsed it) built into a filter
 * with libseccomp, in the parent before clone3; the child loads it as its
 * last step before exec (or before it gives up its capabilities, when
 * noNewPrivileges is false: loading a filter then needs CAP_SYS_ADMIN), as
 * runc and crun do. Syscalls this kernel's architecture does not know are
 * skipped, rules whose action is the default are dropped, and conditions on
 * one argument index given more than once become one rule each (libseccomp
 * takes one comparison per argument and rule): runc's rules.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

#include "oci_seccomp.h"
#include "run.h"
#include "util.h"

static uint32_t act_of(enum oci_scmp_action a, uint32_t errno_ret)
{
	switch (a) {
	case OCI_SCMP_KILL_THREAD:
		return SCMP_ACT_KILL_THREAD;
	case OCI_SCMP_KILL_PROCESS:
		return SCMP_ACT_KILL_PROCESS;
	case OCI_SCMP_TRAP:
		return SCMP_ACT_TRAP;
	case OCI_SCMP_ERRNO:
		return SCMP_ACT_ERRNO(errno_ret);
	case OCI_SCMP_TRACE:
		return SCMP_ACT_TRACE(errno_ret);
	case OCI_SCMP_LOG:
		return SCMP_ACT_LOG;
	case OCI_SCMP_ALLOW:
	default:
		return SCMP_ACT_ALLOW;
	}
}

static const enum scmp_compare cmp_of[] = {
	[OCI_SCMP_NE] = SCMP_CMP_NE,
	[OCI_SCMP_LT] = SCMP_CMP_LT,
	[OCI_SCMP_LE] = SCMP_CMP_LE,
	[OCI_SCMP_EQ] = SCMP_CMP_EQ,
	[OCI_SCMP_GE] = SCMP_CMP_GE,
	[OCI_SCMP_GT] = SCMP_CMP_GT,
	[OCI_SCMP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

static int add_rule(scmp_filter_ctx ctx, const struct oci_scmp_rule *rule, int nr, uint32_t act,
		    char *err, size_t errlen, const char *name)
{
	struct scmp_arg_cmp cmp[6];
	bool repeated = false;
	unsigned seen = 0;
	int r;

	for (size_t i = 0; i < rule->nargs; i++) {
		const struct oci_scmp_arg *a = &rule->args[i];

		repeated |= (seen >> a->index) & 1;
		seen |= 1u << a->index;
		cmp[i] = (struct scmp_arg_cmp){ .arg = a->index,
						.op = cmp_of[a->op],
						.datum_a = a->value,
						.datum_b = a->value_two };
	}
	if (!repeated) {
		r = seccomp_rule_add_array(ctx, act, nr, (unsigned)rule->nargs, cmp);
	} else {
		r = 0;
		for (size_t i = 0; !r && i < rule->nargs; i++)
			r = seccomp_rule_add_array(ctx, act, nr, 1, &cmp[i]);
	}
	if (r)
		snprintf(err, errlen, "linux.seccomp: the rule for %s: %s", name, strerror(-r));
	return r;
}

int seccomp_build(const struct oci_seccomp *s, void **ret, char *err, size_t errlen)
{
	uint32_t def = act_of(s->default_action, s->default_errno);
	scmp_filter_ctx ctx = seccomp_init(def);
	int r;

	*ret = NULL;
	if (!ctx) {
		snprintf(err, errlen, "linux.seccomp: seccomp_init failed");
		return -ENOMEM;
	}
	/* no_new_privs is the bundle's to say, and spawn.c's to set */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (!r && (s->flags & OCI_SCMP_FLAG_TSYNC))
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!r && (s->flags & OCI_SCMP_FLAG_LOG))
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	if (!r && (s->flags & OCI_SCMP_FLAG_SPEC_ALLOW))
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
	if (r) {
		snprintf(err, errlen, "linux.seccomp.flags: %s", strerror(-r));
		goto fail;
	}
	for (size_t i = 0; i < s->narchs; i++) {
		uint32_t arch = seccomp_arch_resolve_name(s->archs[i]);

		if (!arch) {
			snprintf(err, errlen, "linux.seccomp.architectures[%zu]: unknown '%s'", i,
				 s->archs[i]);
			r = -EINVAL;
			goto fail;
		}
		r = seccomp_arch_add(ctx, arch);
		if (r && r != -EEXIST) {
			snprintf(err, errlen, "linux.seccomp.architectures[%zu] (%s): %s", i,
				 s->archs[i], strerror(-r));
			goto fail;
		}
	}
	for (size_t i = 0; i < s->nrules; i++) {
		const struct oci_scmp_rule *rule = &s->rules[i];
		uint32_t act = act_of(rule->action, rule->errno_ret);

		if (act == def)
			continue;
		for (size_t j = 0; j < rule->nnames; j++) {
			int nr = seccomp_syscall_resolve_name(rule->names[j]);

			if (nr == __NR_SCMP_ERROR)
				continue; /* not a syscall of this architecture */
			r = add_rule(ctx, rule, nr, act, err, errlen, rule->names[j]);
			if (r)
				goto fail;
		}
	}
	*ret = ctx;
	return 0;
fail:
	seccomp_release(ctx);
	return r ? r : -EINVAL;
}

int seccomp_apply(void *ctx)
{
	return seccomp_load(ctx);
}

void seccomp_free(void *ctx)
{
	if (ctx)
		seccomp_release(ctx);
}
