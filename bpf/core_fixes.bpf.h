/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every kernel-version difference the BPF side knows about, in one place.
 * Local struct flavors (libbpf ignores the ___suffix when matching) and
 * bpf_core_*_exists() let one object run on 6.1, 6.12 and 6.18.
 */
#ifndef CGPILOT_CORE_FIXES_BPF_H
#define CGPILOT_CORE_FIXES_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>

/* cgroup v2 id of a cgroup: the kernfs node's inode number. kernfs_node::id
 * became a u64 in v5.5 (67c0496e87d1 "kernfs: convert kernfs_node->id from
 * union kernfs_node_id to u64"); every kernel we load on has it. */
static __always_inline __u64 cgp_cgroup_id(const struct cgroup *cgrp)
{
	return BPF_CORE_READ(cgrp, kn, id);
}

/* The task's cgroup on the default (v2) hierarchy, whatever v1 hierarchies
 * are mounted beside it. Direct loads: tp_btf arguments are BTF pointers. */
static __always_inline __u64 cgp_task_cgid(struct task_struct *t)
{
	return t->cgroups->dfl_cgrp->kn->id;
}

static __always_inline int cgp_task_in_iowait(struct task_struct *t)
{
	return BPF_CORE_READ_BITFIELD(t, in_iowait);
}

/* The blkcg's cgroup behind a bio, or 0. bio::bi_blkg exists with
 * CONFIG_BLK_CGROUP (set in every Debian kernel). */
static __always_inline __u64 cgp_bio_blkcg_cgid(struct bio *bio)
{
	struct blkcg_gq *blkg;

	if (!bio || !bpf_core_field_exists(bio->bi_blkg))
		return 0;
	blkg = BPF_CORE_READ(bio, bi_blkg);
	if (!blkg)
		return 0;
	return BPF_CORE_READ(blkg, blkcg, css.cgroup, kn, id);
}

/* The CPU whose run queue holds a task. task_struct::cpu went back into
 * thread_info in v5.16 (bcf9033e5449 "sched: move CPU field back into
 * thread_info if THREAD_INFO_IN_TASK=y"); older kernels have task->cpu. */
struct task_struct___cpu_in_task {
	unsigned int cpu;
};

static __always_inline __u32 cgp_task_cpu(struct task_struct *t)
{
	if (bpf_core_field_exists(t->thread_info.cpu))
		return BPF_CORE_READ(t, thread_info.cpu);
	return BPF_CORE_READ((struct task_struct___cpu_in_task *)t, cpu);
}

/* REQ_OP_MASK: the operation lives in the low 8 bits of cmd_flags since
 * v4.10 (ef295ecf090d "block: better op and flags encoding"). */
#define CGP_REQ_OP_MASK 0xff
#define CGP_REQ_OP_WRITE 1

/*
 * mark_victim changed its arguments in v6.8 (72ba14deb40a "mm: update
 * mark_victim tracepoints fields"): (int pid) before, (struct task_struct *,
 * uid_t) after; stable kernels took it too (Debian's 6.1.0-56 has the task
 * flavor). User space reads btf_trace_mark_victim from the kernel's BTF and
 * enables exactly one of the two programs; see daemon/telemetry.c.
 */

#endif
