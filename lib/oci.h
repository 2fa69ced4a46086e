/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An OCI runtime bundle's config.json (runtime-spec 1.0-1.2), parsed for
 * cgpilot-run (--bundle, and the OCI runtime command line): pure, no
 * syscalls. Every field the launcher acts on is read into struct oci_spec;
 * a field it does not know is refused with its path ("linux.seccomp: not
 * supported"), except for the few documented as safe to ignore, which give
 * a warning. A resource limit or a security setting is never dropped
 * silently.
 */
#ifndef CGPILOT_OCI_H
#define CGPILOT_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest config.json read (crun's and runc's are a few KiB; podman's with
 * a seccomp profile about 20 KiB). */
#define OCI_CONFIG_MAX (4u << 20)
/* Largest number of entries in any one array (args, env, mounts, ...). */
#define OCI_ARRAY_MAX 4096
/* Largest unified (cgroup v2 file -> value) entries. */
#define OCI_UNIFIED_MAX 64

enum oci_caps_set {
	OCI_CAP_BOUNDING,
	OCI_CAP_EFFECTIVE,
	OCI_CAP_INHERITABLE,
	OCI_CAP_PERMITTED,
	OCI_CAP_AMBIENT,
	OCI_CAP_SETS
};

struct oci_seccomp;
struct oci_devrule;
struct oci_device;

struct oci_mount {
	char *destination;
	char *type; /* NULL: a bind mount when options say bind */
	char *source;
	char **options;
	size_t noptions;
};

struct oci_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard;
};

struct oci_namespace {
	int flag; /* CLONE_NEW* */
	char *path; /* join this one (setns) instead of a new one; NULL: new */
};

struct oci_kv {
	char *key, *value;
};

/* linux.resources, as given (-1 / 0 / false where absent) */
struct oci_resources {
	bool has_shares;
	uint64_t shares;
	int64_t quota; /* -1: none */
	uint64_t period; /* 0: none given */
	char *cpus, *mems; /* cpuset asked for by the bundle */
	int64_t mem_limit, mem_reservation, mem_swap; /* -1: none; swap -1 given: unlimited */
	bool has_swap;
	uint16_t blkio_weight; /* 0: none */
	int64_t pids_limit; /* 0: none; -1 given: unlimited */
	bool has_pids;
	struct oci_kv *unified;
	size_t nunified;
};

struct oci_spec {
	char *oci_version;
	char **args;
	size_t nargs;
	char **env;
	size_t nenv;
	char *cwd;
	bool terminal;
	uint32_t uid, gid;
	uint32_t *gids;
	size_t ngids;
	uint32_t umask;
	bool has_umask;
	struct oci_rlimit *rlimits;
	size_t nrlimits;
	bool has_caps;
	uint64_t caps[OCI_CAP_SETS]; /* bit n: capability n */
	bool no_new_privs;
	int oom_score_adj;
	bool has_oom_score_adj;
	char *root_path;
	bool root_readonly;
	char *hostname;
	struct oci_mount *mounts;
	size_t nmounts;
	struct oci_namespace *namespaces;
	size_t nnamespaces;
	unsigned ns_new; /* CLONE_NEW* flags of the namespaces to create */
	char *cgroups_path;
	char **masked_paths;
	size_t nmasked;
	char **readonly_paths;
	size_t nreadonly;
	struct oci_kv *sysctl;
	size_t nsysctl;
	struct oci_kv *annotations;
	size_t nannotations;
	struct oci_resources res;
	struct oci_seccomp *seccomp; /* linux.seccomp; NULL: none */
	struct oci_devrule *devrules; /* linux.resources.devices, in order */
	size_t ndevrules;
	struct oci_device *devices; /* linux.devices */
	size_t ndevices;
	/* what was ignored, one "field: why" per line (documented as safe) */
	char warnings[1024];
};

/*
 * Parse @len bytes of config.json into @spec (zeroed first; free it with
 * oci_spec_free, also on failure). 0, or -EINVAL with the problem in @err,
 * naming the field ("process.args[2]: must be a string"), -ENOMEM.
 */
int oci_parse(const char *text, size_t len, struct oci_spec *spec, char *err, size_t errlen);
void oci_spec_free(struct oci_spec *spec);

/* The value of annotation @key, or NULL. */
const char *oci_annotation(const struct oci_spec *spec, const char *key);

/* A capability's number from its name ("CAP_NET_ADMIN"), -1 if unknown. */
int oci_cap_number(const char *name);
/* The name of capability @n ("CAP_CHOWN" for 0), NULL past the last known. */
const char *oci_cap_name(int n);
/* Docker's default capability set (moby's oci/caps/defaults.go). */
uint64_t oci_default_caps(void);
/* Parse a comma-separated list of capability names ("CAP_CHOWN,CAP_KILL",
 * or "none"); -EINVAL naming the unknown one in @err. */
int oci_parse_caps(const char *list, uint64_t *ret, char *err, size_t errlen);

/*
 * linux.resources turned into what cgpilot admits and writes, by the
 * conversions the runtimes use (crun, runc on cgroup v2):
 *   cpu.shares S        -> cpu.weight 1 + (S - 2) * 9999 / 262142
 *   cpu.quota/period    -> cpu.max "Q P", and a CPU request of Q/P CPUs
 *   memory.limit        -> memory.max (and the memory request when no
 *                          reservation is given)
 *   memory.reservation  -> memory.low (the memory request)
 *   memory.swap         -> memory.swap.max = swap - limit (swap is memory
 *                          plus swap), "max" for -1
 *   blockIO.weight W    -> io.weight 1 + (W - 10) * 9999 / 990
 *   pids.limit          -> pids.max ("max" for -1 or 0)
 *   unified             -> written as given, each file checked by the
 *                          actuator's knob table
 * cpu.cpus (an engine's own CPUs, as kubelet's static CPU manager sets
 * them) is passed on as given, for the daemon to honour (the CPUs leave
 * its pools); mems is cgpilot's placement: a bundle asking for some is
 * refused. -EINVAL with the field in @err.
 */
struct oci_request {
	uint64_t cpu_request_mc, cpu_limit_mc; /* 0: none */
	uint64_t cpu_period_us; /* of cpu.max; 0: the default */
	uint32_t cpu_weight; /* from shares; 0: none */
	uint64_t memory_request, memory_limit; /* 0: none */
	uint32_t io_weight; /* 0: none */
	char cpus[1024]; /* linux.resources.cpu.cpus, a CPU list; "" none */
	/* further cgroup files (pids.max, memory.swap.max, unified) */
	struct {
		char knob[64];
		char value[256];
	} knobs[OCI_UNIFIED_MAX + 4];
	unsigned nknobs;
};

int oci_to_request(const struct oci_resources *res, struct oci_request *req, char *err,
		   size_t errlen);

/* cpu.shares to cpu.weight, and blockIO weight to io.weight, as the runtimes convert. */
uint32_t oci_shares_to_weight(uint64_t shares);
uint32_t oci_blkio_to_io_weight(uint32_t weight);

#endif
