// SPDX-License-Identifier: Apache-2.0
/*
 * Loader of the empty floor programs for tests/bench/overhead.sh: attaches
 * them, prints one "<program> <id>" line each and then "ready", and holds
 * them until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "empty.skel.h"

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int print_prog(struct bpf_program *prog)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int r;

	memset(&info, 0, sizeof(info));
	r = bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len);
	if (r < 0)
		return -errno;
	printf("%s %u\n", bpf_program__name(prog), info.id);
	return 0;
}

int main(void)
{
	struct empty *skel;
	sigset_t set;
	int r, sig;

	libbpf_set_print(print_libbpf);

	/* Block the stop signals first: one that comes early is then not lost. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);

	skel = empty__open_and_load();
	if (!skel) {
		fprintf(stderr, "Error: failed to load the empty programs: %s\n", strerror(errno));
		return 1;
	}
	r = empty__attach(skel);
	if (r < 0) {
		fprintf(stderr, "Error: failed to attach the empty programs: %s\n", strerror(-r));
		goto destroy;
	}
	r = print_prog(skel->progs.empty_switch);
	if (r >= 0)
		r = print_prog(skel->progs.empty_wakeup);
	if (r < 0) {
		fprintf(stderr, "Error: failed to read the program ids: %s\n", strerror(-r));
		goto destroy;
	}
	printf("ready\n");
	fflush(stdout);

	sigwait(&set, &sig);
	r = 0;
destroy:
	empty__destroy(skel);
	return r < 0 ? 1 : 0;
}
