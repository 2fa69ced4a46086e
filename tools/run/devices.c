// SPDX-License-Identifier: Apache-2.0
/*
 * The device cgroup program of a bundle's container (cgroup v2 has no
 * devices file: access to device nodes is a BPF_PROG_TYPE_CGROUP_DEVICE
 * program on the cgroup, as runc and crun attach it). The rules are
 * linux.resources.devices in order, then an allow rule for each node of
 * linux.devices, then the nodes every container has (null, zero, full,
 * random, urandom, tty, console, ptmx, the devpts ones) and mknod of any
 * node (opening it is what the rules decide), as runc appends them; the
 * last rule that matches decides, and nothing matching is a denial. The
 * program is made of these rules directly, no compiler, and attached with
 * BPF_F_ALLOW_MULTI before the container's first process exists.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci.h"
#include "oci_devices.h"
#include "run.h"
#include "util.h"

#define ALL (OCI_DEV_READ | OCI_DEV_WRITE | OCI_DEV_MKNOD)

static const struct oci_devrule always[] = {
	{ true, 'c', -1, -1, OCI_DEV_MKNOD },
	{ true, 'b', -1, -1, OCI_DEV_MKNOD },
	{ true, 'c', 1, 3, ALL },
	{ true, 'c', 1, 5, ALL },
	{ true, 'c', 1, 7, ALL },
	{ true, 'c', 1, 8, ALL },
	{ true, 'c', 1, 9, ALL },
	{ true, 'c', 5, 0, ALL },
	{ true, 'c', 5, 1, ALL },
	{ true, 'c', 5, 2, ALL },
	{ true, 'c', 136, -1, ALL },
};

struct prog {
	struct bpf_insn *insn;
	size_t n, cap;
};

static int emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct bpf_insn *x = realloc(p->insn, cap * sizeof(*x));

		if (!x)
			return -ENOMEM;
		p->insn = x;
		p->cap = cap;
	}
	p->insn[p->n++] = (struct bpf_insn){
		.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm
	};
	return 0;
}

/* One rule: its tests jump to the next rule when they fail. */
static int emit_rule(struct prog *p, const struct oci_devrule *r)
{
	size_t start = p->n;
	int e = 0;

	if (r->type != 'a')
		e |= emit(p, BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_2, 0, 0,
			  r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
	if ((r->access & ALL) != ALL) {
		/* every access asked for must be one the rule has */
		e |= emit(p, BPF_ALU | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_3, 0, 0);
		e |= emit(p, BPF_ALU | BPF_AND | BPF_K, BPF_REG_6, 0, 0,
			  (int32_t)(~r->access & ALL));
		e |= emit(p, BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_6, 0, 0, 0);
	}
	if (r->major >= 0)
		e |= emit(p, BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int32_t)r->major);
	if (r->minor >= 0)
		e |= emit(p, BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int32_t)r->minor);
	e |= emit(p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r->allow ? 1 : 0);
	e |= emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	if (e)
		return -ENOMEM;
	/* the tests' jumps: past this rule */
	for (size_t i = start; i < p->n - 2; i++)
		if (BPF_CLASS(p->insn[i].code) == BPF_JMP32)
			p->insn[i].off = (int16_t)(p->n - (i + 1));
	return 0;
}

int devices_attach(const struct oci_spec *spec, int cgfd, char *err, size_t errlen)
{
	struct prog p = { 0 };
	char log[4096] = "";
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = sizeof(log),
		    .log_level = 0);
	size_t nrules = spec->ndevrules + spec->ndevices + ARRAY_SIZE(always);
	struct oci_devrule *rules = calloc(nrules, sizeof(*rules));
	int fd, r = 0, e = 0;
	bool covered = false;
	size_t k = 0;

	if (!rules)
		return -ENOMEM;
	for (size_t i = 0; i < spec->ndevrules; i++)
		rules[k++] = spec->devrules[i];
	for (size_t i = 0; i < spec->ndevices; i++) {
		const struct oci_device *d = &spec->devices[i];

		if (d->type != 'p')
			rules[k++] = (struct oci_devrule){ true, d->type, d->major, d->minor, ALL };
	}
	for (size_t i = 0; i < ARRAY_SIZE(always); i++)
		rules[k++] = always[i];
	/* r2 type, r3 access, r4 major, r5 minor (struct bpf_cgroup_dev_ctx) */
	e |= emit(&p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0);
	e |= emit(&p, BPF_ALU | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0);
	e |= emit(&p, BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);
	e |= emit(&p, BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
	e |= emit(&p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0);
	e |= emit(&p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0);
	/* the last rule that matches decides: tried from the last; one that
	 * matches everything ends the program (what is before it is never
	 * reached, and the verifier refuses unreachable code) */
	for (size_t i = k; !e && i-- > 0;) {
		const struct oci_devrule *x = &rules[i];

		e |= emit_rule(&p, x);
		if (x->type == 'a' && x->major < 0 && x->minor < 0 && (x->access & ALL) == ALL) {
			covered = true;
			break;
		}
	}
	if (!covered) {
		e |= emit(&p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
		e |= emit(&p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}
	free(rules);
	if (e) {
		free(p.insn);
		return -ENOMEM;
	}
	fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, "cgpilot_dev", "Apache-2.0", p.insn, p.n,
			   &opts);
	if (fd < 0) {
		r = fd;
		/* the verifier's word, when it has one */
		opts.log_level = 1;
		fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, "cgpilot_dev", "Apache-2.0", p.insn,
				   p.n, &opts);
		snprintf(err, errlen,
			 "the device cgroup program (%zu rules) is refused: %s%s%.300s", k,
			 strerror(-r), log[0] ? ": " : "", log);
		free(p.insn);
		if (fd >= 0)
			close(fd);
		return r;
	}
	free(p.insn);
	if (bpf_prog_attach(fd, cgfd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) < 0) {
		r = -errno;
		snprintf(err, errlen, "attach the device cgroup program: %s", strerror(errno));
	}
	close(fd);
	return r;
}
