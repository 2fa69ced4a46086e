// SPDX-License-Identifier: Apache-2.0
/* libFuzzer: the value parsers that take a user's or the kernel's text:
 * sizes, millicores, durations, CPU lists (a round trip through the
 * formatter), and the cgroup files the daemon reads. The first byte picks
 * the parser, the rest is its text. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgroupfs.h"
#include "config.h"
#include "topology.h"

static void cpulist_round_trip(const char *text)
{
	struct topo_cpuset a = { 0 }, b = { 0 };
	char buf[4096];
	int r = topo_parse_cpulist(text, &a);

	if (r) {
		if (r > 0 || a.n || a.cpu)
			abort(); /* an error leaves nothing behind */
		return;
	}
	for (unsigned i = 1; i < a.n; i++)
		if (a.cpu[i] <= a.cpu[i - 1])
			abort();
	if (!topo_format_cpulist(&a, buf, sizeof(buf))) {
		if (topo_parse_cpulist(buf, &b) || b.n != a.n ||
		    (a.n && memcmp(a.cpu, b.cpu, a.n * sizeof(*a.cpu))))
			abort(); /* what is written reads back as the same set */
		for (unsigned i = 0; i < a.n; i++)
			if (!topo_cpuset_has(&b, a.cpu[i]))
				abort();
	}
	topo_cpuset_free(&a);
	topo_cpuset_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	uint64_t v = 0, w = 0;
	int r;

	if (!size)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	switch (data[0] % 8) {
	case 0:
		r = cgp_parse_size(text, &v);
		if (r && r != -EINVAL && r != -ERANGE)
			abort();
		if (!r && v > INT64_MAX)
			abort();
		break;
	case 1:
		r = cgp_parse_cpus(text, &v);
		if (r && r != -EINVAL && r != -ERANGE)
			abort();
		break;
	case 2:
		r = cgp_parse_duration(text, 1000000000ULL, &v);
		if (r && r != -EINVAL && r != -ERANGE)
			abort();
		r = cgp_parse_duration(text, 0, &w);
		if (!r && w && cgp_parse_duration(text, 1000000000ULL, &v))
			abort(); /* with a unit it reads with any default unit */
		break;
	case 3:
		cpulist_round_trip(text);
		break;
	case 4: {
		struct psi_totals p;

		cgfs_parse_psi(text, &p);
		break;
	}
	case 5: {
		struct io_stat_totals io;

		r = cgfs_parse_io_stat(text, &io);
		if (r && r != -EINVAL)
			abort();
		break;
	}
	case 6: {
		char buf[64];
		unsigned mask = cgfs_parse_controllers(text);

		cgfs_controllers_str(mask, buf, sizeof(buf));
		if (cgfs_parse_controllers(buf) != mask)
			abort(); /* the names it writes are the ones it reads */
		cgfs_parse_cpu_usage(text, &v);
		break;
	}
	default: {
		unsigned maj, min;
		int n;

		uint64_t q, per;
		const char *end;

		topo_parse_devnum(text, &maj, &min);
		topo_parse_int(text, &n);
		topo_parse_meminfo(text, "MemTotal", &v);
		if (!cgfs_parse_devnum_at(text, &end, &maj, &min) &&
		    (maj > 4095 || min > 1048575 || end <= text))
			abort();
		if (!cgfs_parse_cpu_max(text, &q, &per) && q != UINT64_MAX && !per &&
		    strchr(text, ' '))
			abort(); /* a period was written: it is not 0 */
		cgfs_keyed_u64(text, "oom_kill", &v);
		break;
	}
	}
	free(text);
	return 0;
}
