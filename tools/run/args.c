// SPDX-License-Identifier: Apache-2.0
/* cgpilot-run's command line (pure: unit-tested in tests/unit/test_run_args.c). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "oci.h"
#include "run.h"
#include "util.h"
#include "version.h"

void run_usage(FILE *f)
{
	fprintf(f,
		"Usage: cgpilot-run [OPTIONS] -- CMD [ARGS]...\n"
		"       cgpilot-run [OPTIONS] --bundle DIR\n"
		"       cgpilot-run [GLOBAL OPTIONS] COMMAND ... ID (the OCI runtime: --root X --help)\n"
		"Start a workload in a container that cgpilotd admitted and placed.\n"
		"\n"
		"  -c, --class CLASS        guaranteed, burstable (default) or besteffort\n"
		"      --cpus N             CPU request (1.5, 500m); for guaranteed also the limit\n"
		"      --cpu-limit N        CPU limit (burstable, besteffort)\n"
		"  -m, --memory SIZE        memory request (512M, 2G, 1.5G); guaranteed: also the limit\n"
		"      --memory-limit SIZE  memory limit (burstable, besteffort)\n"
		"      --io-weight W        io.weight 1..10000\n"
		"      --priority P         -1000..1000, the order among a tenant's waiting requests\n"
		"  -n, --name NAME          container name (1-63 of A-Za-z0-9_.-)\n"
		"  -t, --tenant T           tenant, for Dominant Resource Fairness\n"
		"      --hostname NAME      hostname in the container's UTS namespace\n"
		"      --rootfs DIR         pivot_root into DIR with /proc, /dev and /sys\n"
		"      --bundle DIR         an OCI bundle: DIR/config.json and its root\n"
		"      --net                a new, empty network namespace\n"
		"      --no-pid, --no-mount, --no-uts, --no-ipc\n"
		"                           leave out one of the default namespaces\n"
		"      --cap LIST           the capability set (CAP_CHOWN,CAP_KILL or none);\n"
		"                           default Docker's set without CAP_MKNOD\n"
		"  -w, --wait               queue for admission instead of failing\n"
		"      --standalone         without the daemon: create the cgroup and apply\n"
		"                           the flags, no admission\n"
		"      --socket PATH        the daemon's socket (default /run/cgpilot/cgpilot.sock)\n"
		"      --config FILE        the daemon's configuration, for --standalone\n"
		"  -q, --quiet              no messages but errors\n"
		"  -v, --verbose            say where the time goes\n"
		"  -h, --help, --version\n"
		"\n"
		"Exit status: the workload's (128+N when signal N killed it; 137 and a\n"
		"message after an OOM kill); %d admission refused; %d cgpilot-run failed;\n"
		"%d the command cannot be run; %d the command was not found.\n",
		RUN_EXIT_REFUSED, RUN_EXIT_FAILED, RUN_EXIT_NOEXEC, RUN_EXIT_NOTFOUND);
}

static int bad(char *err, size_t errlen, const char *opt, const char *val, const char *why)
{
	snprintf(err, errlen, "%s '%s': %s", opt, val, why);
	return -EINVAL;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 63 || streq(s, ".") || streq(s, ".."))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return false;
	return true;
}

enum {
	O_CPUS = 1000,
	O_CPU_LIMIT,
	O_MEMORY_LIMIT,
	O_IO_WEIGHT,
	O_PRIORITY,
	O_HOSTNAME,
	O_ROOTFS,
	O_BUNDLE,
	O_NET,
	O_NO_PID,
	O_NO_MOUNT,
	O_NO_UTS,
	O_NO_IPC,
	O_CAP,
	O_STANDALONE,
	O_SOCKET,
	O_CONFIG,
	O_VERSION,
	O_MEMORY_REQUEST,
};

int run_parse_args(int argc, char **argv, struct run_opts *o, char *err, size_t errlen)
{
	static const struct option opts[] = {
		{ "class", required_argument, NULL, 'c' },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "cpu-limit", required_argument, NULL, O_CPU_LIMIT },
		{ "memory", required_argument, NULL, 'm' },
		{ "memory-request", required_argument, NULL, O_MEMORY_REQUEST },
		{ "memory-limit", required_argument, NULL, O_MEMORY_LIMIT },
		{ "io-weight", required_argument, NULL, O_IO_WEIGHT },
		{ "priority", required_argument, NULL, O_PRIORITY },
		{ "name", required_argument, NULL, 'n' },
		{ "tenant", required_argument, NULL, 't' },
		{ "hostname", required_argument, NULL, O_HOSTNAME },
		{ "rootfs", required_argument, NULL, O_ROOTFS },
		{ "bundle", required_argument, NULL, O_BUNDLE },
		{ "net", no_argument, NULL, O_NET },
		{ "no-pid", no_argument, NULL, O_NO_PID },
		{ "no-mount", no_argument, NULL, O_NO_MOUNT },
		{ "no-uts", no_argument, NULL, O_NO_UTS },
		{ "no-ipc", no_argument, NULL, O_NO_IPC },
		{ "cap", required_argument, NULL, O_CAP },
		{ "wait", no_argument, NULL, 'w' },
		{ "standalone", no_argument, NULL, O_STANDALONE },
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL },
	};
	char caperr[128];
	int c, r;
	long long x;
	char *end;

	memset(o, 0, sizeof(*o));
	o->socket = "/run/cgpilot/cgpilot.sock";
	o->config = "/etc/cgpilot/cgpilotd.conf";
	optind = 1;
	opterr = 0;
	/* '+': options end at the first operand, so the command's own stay its own */
	while ((c = getopt_long(argc, argv, "+:c:m:n:t:wqvh", opts, NULL)) != -1) {
		const char *a = optarg;

		switch (c) {
		case 'c':
			if (!streq(a, "guaranteed") && !streq(a, "burstable") &&
			    !streq(a, "besteffort"))
				return bad(err, errlen, "--class", a,
					   "not guaranteed, burstable or besteffort");
			o->class = a;
			break;
		case O_CPUS:
		case O_CPU_LIMIT:
			r = cgp_parse_cpus(a, c == O_CPUS ? &o->cpu_request_mc : &o->cpu_limit_mc);
			if (r)
				return bad(err, errlen, c == O_CPUS ? "--cpus" : "--cpu-limit", a,
					   r == -ERANGE ? "too large" :
							  "not a number of CPUs (1.5, 2, 500m; "
							  "at most 3 decimals)");
			if (c == O_CPUS ? !o->cpu_request_mc : !o->cpu_limit_mc)
				return bad(err, errlen, c == O_CPUS ? "--cpus" : "--cpu-limit", a,
					   "must be more than 0");
			break;
		case 'm':
		case O_MEMORY_REQUEST:
		case O_MEMORY_LIMIT: {
			const char *opt = c == O_MEMORY_LIMIT ? "--memory-limit" : "--memory";
			uint64_t *dst = c == O_MEMORY_LIMIT ? &o->memory_limit : &o->memory_request;

			r = cgp_parse_size(a, dst);
			if (r)
				return bad(err, errlen, opt, a,
					   r == -ERANGE ? "too large" :
							  "not a size (bytes, or a number with K, "
							  "M, G or T: 512M, 1.5G)");
			if (!*dst)
				return bad(err, errlen, opt, a, "must be more than 0");
			break;
		}
		case O_IO_WEIGHT:
			errno = 0;
			x = strtoll(a, &end, 10);
			if (errno || *end || end == a || x < 1 || x > 10000)
				return bad(err, errlen, "--io-weight", a, "not in 1..10000");
			o->io_weight = (uint32_t)x;
			break;
		case O_PRIORITY:
			errno = 0;
			x = strtoll(a, &end, 10);
			if (errno || *end || end == a || x < -1000 || x > 1000)
				return bad(err, errlen, "--priority", a, "not in -1000..1000");
			o->priority = (int)x;
			o->has_priority = true;
			break;
		case 'n':
			if (!name_ok(a))
				return bad(err, errlen, "--name", a,
					   "must be 1-63 of A-Za-z0-9_.- (not . or ..)");
			o->name = a;
			break;
		case 't':
			if (!a[0] || strlen(a) > 63)
				return bad(err, errlen, "--tenant", a, "must be 1-63 bytes");
			o->tenant = a;
			break;
		case O_HOSTNAME:
			if (!a[0] || strlen(a) > 64)
				return bad(err, errlen, "--hostname", a, "must be 1-64 bytes");
			o->hostname = a;
			break;
		case O_ROOTFS:
			o->rootfs = a;
			break;
		case O_BUNDLE:
			o->bundle = a;
			break;
		case O_NET:
			o->net = true;
			break;
		case O_NO_PID:
			o->no_pid = true;
			break;
		case O_NO_MOUNT:
			o->no_mount = true;
			break;
		case O_NO_UTS:
			o->no_uts = true;
			break;
		case O_NO_IPC:
			o->no_ipc = true;
			break;
		case O_CAP:
			if (oci_parse_caps(a, &o->caps, caperr, sizeof(caperr)))
				return bad(err, errlen, "--cap", a, caperr);
			if (o->caps & (1ULL << 27))
				return bad(err, errlen, "--cap", a,
					   "CAP_MKNOD needs a device cgroup program, which "
					   "cgpilot-run does not load");
			o->caps_set = true;
			break;
		case 'w':
			o->wait = true;
			break;
		case O_STANDALONE:
			o->standalone = true;
			break;
		case O_SOCKET:
			o->socket = a;
			break;
		case O_CONFIG:
			o->config = a;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			run_usage(stdout);
			return 1;
		case O_VERSION:
			printf("cgpilot-run %s\n", CGPILOT_VERSION);
			return 1;
		case ':':
			snprintf(err, errlen, "%s needs a value", argv[optind - 1]);
			return -EINVAL;
		default:
			snprintf(err, errlen, "unknown option '%s' (see --help)", argv[optind - 1]);
			return -EINVAL;
		}
	}
	o->argv = argv + optind;
	o->argc = argc - optind;
	if (o->rootfs && o->bundle) {
		snprintf(err, errlen, "--rootfs and --bundle exclude each other");
		return -EINVAL;
	}
	if (o->bundle && o->argc) {
		snprintf(err, errlen,
			 "with --bundle the command is the bundle's process.args; "
			 "'%s' is one too many",
			 o->argv[0]);
		return -EINVAL;
	}
	if (!o->bundle && !o->argc) {
		snprintf(err, errlen, "no command (cgpilot-run [OPTIONS] -- CMD [ARGS]...)");
		return -EINVAL;
	}
	if (o->hostname && o->no_uts) {
		snprintf(err, errlen, "--hostname needs the uts namespace (drop --no-uts)");
		return -EINVAL;
	}
	if (o->rootfs && o->no_mount) {
		snprintf(err, errlen, "--rootfs needs the mount namespace (drop --no-mount)");
		return -EINVAL;
	}
	if (!o->argc)
		o->argv = NULL;
	return 0;
}
