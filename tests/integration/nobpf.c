// SPDX-License-Identifier: Apache-2.0
/*
 * nobpf PROGRAM [ARG]...: run PROGRAM with the bpf(2) syscall failing with
 * EPERM, under a seccomp filter that allows everything else, as a service
 * manager's or container runtime's profile would. The files-only tests
 * start cgpilotd so: the real failure of the BPF programs to load, not a
 * setting that pretends it.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	scmp_filter_ctx ctx;
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: nobpf PROGRAM [ARG]...\n");
		return 2;
	}
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		fprintf(stderr, "nobpf: seccomp_init failed\n");
		return 1;
	}
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(bpf), 0);
	if (!r)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r) {
		fprintf(stderr, "nobpf: cannot load the filter: %s\n", strerror(-r));
		return 1;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "nobpf: cannot run %s: %s\n", argv[1], strerror(errno));
	return 127;
}
