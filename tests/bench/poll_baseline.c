// SPDX-License-Identifier: Apache-2.0
/*
 * The file-polling baseline of the scrape bench: what a cAdvisor-style
 * exporter does per scrape, for the same cgroups: open and read each
 * cgroup's cpu.stat, the three *.pressure files, memory.stat and io.stat
 * where they exist, parse them and render Prometheus text. Prints the time
 * of each of N rounds (ms) and the output size, so the bench can set it
 * beside cgpilot's /metrics.
 *
 * Usage: poll_baseline ROUNDS CGROUP_DIR...
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroupfs.h"
#include "expo.h"

static const char *const files[] = { "cpu.stat",    "cpu.pressure", "memory.pressure",
				     "io.pressure", "memory.stat",  "io.stat" };

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Every "key value" line of a flat-keyed file becomes a sample. */
static void render_flat(struct expo *e, const char *file, const char *label, const char *text)
{
	char name[128];
	const char *p = text;

	while (*p) {
		char key[64];
		unsigned long long v;
		int n = 0;

		if (sscanf(p, "%63s %llu%n", key, &v, &n) == 2 && n > 0) {
			snprintf(name, sizeof(name), "baseline_%.*s_%s", (int)strcspn(file, "."),
				 file, key);
			expo_begin(e, name, NULL);
			expo_label_raw(e, "cgroup", label);
			expo_value_u64(e, v);
		}
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 0;
	char buf[16384];

	if (rounds <= 0 || argc < 3) {
		fprintf(stderr, "usage: poll_baseline ROUNDS CGROUP_DIR...\n");
		return 2;
	}
	for (int r = 0; r < rounds; r++) {
		double t0 = now_ms();
		struct expo e;
		size_t len;
		char *out;

		expo_init(&e);
		for (int i = 2; i < argc; i++) {
			int dfd = open(argv[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			char *label;

			if (dfd < 0)
				continue;
			label = expo_escape(argv[i]);
			for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
				struct psi_totals psi;

				if (cgfs_read_at(dfd, files[f], buf, sizeof(buf)) < 0)
					continue;
				if (strstr(files[f], "pressure") && !cgfs_parse_psi(buf, &psi)) {
					expo_begin(&e, "baseline_pressure_some_us", NULL);
					expo_label_raw(&e, "cgroup", label);
					expo_label_raw(&e, "file", files[f]);
					expo_value_u64(&e, psi.some_us);
					expo_begin(&e, "baseline_pressure_full_us", NULL);
					expo_label_raw(&e, "cgroup", label);
					expo_label_raw(&e, "file", files[f]);
					expo_value_u64(&e, psi.full_us);
				} else {
					render_flat(&e, files[f], label, buf);
				}
			}
			free(label);
			close(dfd);
		}
		out = expo_take(&e, &len);
		printf("%.3f %zu\n", now_ms() - t0, len);
		free(out);
	}
	return 0;
}
