// SPDX-License-Identifier: Apache-2.0
/*
 * Light periodic work in many cgroups for the scrape and scale benches: one
 * process per cgroup directory given, each moved into its cgroup before it
 * works, then spinning SPIN_US microseconds every PERIOD_MS milliseconds
 * (no fork per period, so a thousand of them stay light). Prints "ready"
 * once every worker is in its cgroup; SIGTERM or SIGINT ends them all.
 *
 * Usage: lightwork PERIOD_MS SPIN_US CGROUP_DIR...
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int join(const char *dir)
{
	char path[4096];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = write(fd, "0", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

static void work(unsigned period_ms, unsigned spin_us)
{
	struct timespec ts = { period_ms / 1000, (long)(period_ms % 1000) * 1000000L };

	for (;;) {
		uint64_t end = now_ns() + spin_us * 1000ULL;

		while (now_ns() < end)
			;
		nanosleep(&ts, NULL);
	}
}

int main(int argc, char **argv)
{
	unsigned period, spin;
	int n = argc - 3, sync[2], sig;
	sigset_t set;
	pid_t *pids;

	if (argc < 4) {
		fprintf(stderr, "usage: %s PERIOD_MS SPIN_US CGROUP_DIR...\n", argv[0]);
		return 2;
	}
	period = (unsigned)strtoul(argv[1], NULL, 10);
	spin = (unsigned)strtoul(argv[2], NULL, 10);
	pids = calloc((size_t)n, sizeof(*pids));
	if (!pids || pipe(sync))
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fork");
			n = i;
			break;
		}
		if (!pids[i]) {
			char b = join(argv[3 + i]) ? 'x' : 'o';

			sigprocmask(SIG_UNBLOCK, &set, NULL);
			if (write(sync[1], &b, 1) != 1 || b == 'x')
				_exit(1);
			close(sync[0]);
			close(sync[1]);
			work(period, spin);
		}
	}
	close(sync[1]);
	for (int i = 0, failed = 0; i < n; i++) {
		char b;

		if (read(sync[0], &b, 1) != 1 || b != 'o') {
			if (!failed++)
				fprintf(stderr, "lightwork: a worker could not join its cgroup\n");
		}
	}
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
	for (int i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		waitpid(pids[i], NULL, 0);
	return 0;
}
