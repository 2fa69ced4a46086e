/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgpilotd configuration: INI file (inih) over built-in defaults. Pure: no
 * globals, the caller owns the struct. Errors name the file, line, key and
 * value.
 */
#ifndef CGPILOT_CONFIG_H
#define CGPILOT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CGP_CONF_PATH_DEFAULT "/etc/cgpilot/cgpilotd.conf"
#define CGP_CONF_STR_MAX 256
/* The control socket in runtime_dir when [daemon] socket is empty. */
#define CGP_CONF_SOCKET_NAME "cgpilot.sock"

#define CGP_CONF_MAX_PATTERNS 32
#define CGP_CONF_MAX_TENANTS 64

/* [adopt.NAME]: one adoption pattern; the daemon checks the path's syntax
 * (daemon/policy/adopt.h) and reports bad ones with @line. */
struct cgp_conf_pattern {
	char name[64];
	char path[CGP_CONF_STR_MAX];
	char class_name[16]; /* guaranteed, burstable, besteffort */
	char knobs[CGP_CONF_STR_MAX]; /* cgroup files cgpilot may write there */
	char engine[64]; /* a word for labels; default the section's name */
	char file[CGP_CONF_STR_MAX]; /* where it was defined, with @line, for messages */
	int line; /* of the section header */
	bool has_path, has_class;
};

/* [tenant.NAME]: weight in Dominant Resource Fairness order. */
struct cgp_conf_tenant {
	char name[64];
	uint32_t weight; /* 1..1000000 */
};

struct cgp_conf {
	/* [daemon] */
	char runtime_dir[CGP_CONF_STR_MAX];
	char pin_dir[CGP_CONF_STR_MAX];
	char socket_path[CGP_CONF_STR_MAX]; /* empty: <runtime_dir>/cgpilot.sock */
	char cgroup_root[CGP_CONF_STR_MAX]; /* empty: found in /proc/self/mountinfo */
	/* "auto": a leaf of our own (cgpilot.slice/cgpilotd) when started in the
	 * root cgroup, else stay (systemd unit, container); "none"; or a path */
	char own_cgroup[CGP_CONF_STR_MAX];
	int log_level; /* 0 error .. 3 debug */
	bool dry_run;
	/* [telemetry] */
	uint32_t window_ms;
	uint32_t cpu_threshold_ms; /* per window; 0 disables */
	uint32_t io_threshold_us; /* a request's latency over it counts; 0 disables */
	uint32_t memory_threshold_ms; /* per window; 0 disables */
	uint32_t max_cgroups; /* BPF slots; 0: auto (cgp_auto_max_cgroups) */
	uint32_t sample_interval_ms; /* BPF counters into the model */
	uint32_t psi_sweep_s; /* every cgroup's PSI/cpu.stat read once per sweep */
	/* [metrics] */
	char metrics_address[CGP_CONF_STR_MAX];
	uint32_t max_series_cgroups;
	uint32_t metrics_max_connections; /* open HTTP connections at once */
	uint32_t metrics_request_timeout_s; /* a whole request must arrive within this */
	/* [node] */
	char reserved_cpus[CGP_CONF_STR_MAX]; /* cpulist kept for the system, "" none */
	/* the cgroup whose cpuset becomes reserved_cpus (where both are set) */
	char system_slice[CGP_CONF_STR_MAX];
	uint64_t reserved_memory; /* bytes kept for the system */
	/* [containers] */
	/* where launched containers live: "auto" (cgpilot.slice, or the unit's
	 * delegated cgroup under systemd) or a cgroup path */
	char container_root[CGP_CONF_STR_MAX];
	/* roots engines create their containers in (runtime-created kind), space-separated */
	char engine_roots[CGP_CONF_STR_MAX];
	/* cgpilot-run as an OCI runtime ([runtime]): when cgpilotd cannot be
	 * reached, "apply" linux.resources itself or "fail"; when admission
	 * refuses for want of room, "degrade" (start in the shared pool) or
	 * "fail" */
	char runtime_unreachable[CGP_CONF_STR_MAX];
	char runtime_on_refusal[CGP_CONF_STR_MAX];
	uint32_t start_deadline_s; /* an admitted container without a process this long is released */
	uint32_t max_containers; /* admitted and queued together */
	uint32_t max_queued;
	uint32_t slack_margin_pct; /* measured use counts this much more */
	uint32_t slack_half_life_s; /* smoothing of measured use */
	/* [audit] */
	char audit_dir[CGP_CONF_STR_MAX]; /* "" none */
	uint32_t audit_max_kib; /* rotated past this */
	uint32_t audit_keep; /* rotated files kept */
	uint32_t history; /* actions kept in memory per container */
	/* [adopt] */
	char adopt_presets[CGP_CONF_STR_MAX]; /* space-separated preset names */
	char adopt_knobs[CGP_CONF_STR_MAX]; /* knobs the presets hand over, space-separated */
	struct cgp_conf_pattern patterns[CGP_CONF_MAX_PATTERNS]; /* [adopt.NAME] */
	unsigned npatterns;
	/* [class.NAME], indexed guaranteed, burstable, besteffort */
	uint32_t class_io_weight[3];
	int32_t class_priority[3];
	/* [policy.cpu]: the CPU protection ladder (daemon/policy/ladder.h) */
	bool cpu_policy; /* on for the containers cgpilot admitted */
	bool cpu_policy_adopted; /* on for adopted ones too (targets and protected) */
	bool cpu_freeze, cpu_kill; /* the opt-in rungs */
	uint32_t cpu_target_us; /* a guaranteed container's run-queue delay per window */
	uint32_t cpu_hold_ms, cpu_release_ms, cpu_release_max_ms;
	uint32_t cpu_quota_pct; /* the quota rung: this much of one CPU */
	/* [policy.memory]: memory.high of burstable and besteffort (policy/memhigh.h) */
	bool mem_policy;
	bool mem_policy_adopted; /* adopted pods sized and protected, where memory.high is handed over */
	uint32_t mem_interval_ms;
	uint32_t mem_target_us; /* reclaim stall per second under which memory is tightened */
	uint32_t mem_tighten_pct; /* of the memory in use, taken per interval at no stall */
	uint32_t mem_backoff_pct; /* of memory.high, given back per interval past target */
	uint64_t mem_floor; /* bytes: memory.high is never set below */
	/* relief for guaranteed containers stalled in memory (policy/memguard.h) */
	bool mem_relief, mem_kill;
	char mem_protected[CGP_CONF_STR_MAX]; /* container names (globs) never taken from */
	uint32_t mem_psi_stall_us, mem_psi_window_us; /* the PSI trigger, 0: none */
	uint32_t mem_psi_max; /* triggers at most (each has a kernel thread) */
	uint32_t mem_kill_after_ms, mem_cooldown_ms, mem_settle_ms;
	uint32_t mem_squeeze_pct, mem_squeeze_release_ms;
	/* [policy.io]: io.max of besteffort on guaranteed I/O latency (policy/iothrottle.h) */
	bool io_policy;
	bool io_policy_adopted; /* adopted pods protected, and capped where io.max is handed over */
	uint32_t io_target_us; /* a guaranteed container's I/O latency target per request */
	uint32_t io_hold_ms, io_release_ms, io_release_max_ms;
	uint64_t io_floor_bps; /* the cap never below (bytes a second) */
	uint32_t io_floor_iops;
	/* [tenant.NAME] */
	struct cgp_conf_tenant tenants[CGP_CONF_MAX_TENANTS];
	unsigned ntenants;
	/* [control] */
	bool allow_read_others;
	uint32_t max_clients; /* control connections at once; more are refused */
	uint32_t client_output_limit_kib; /* output all clients together may hold */
	uint32_t client_timeout_s; /* a client whose output does not move this long is dropped */
	uint32_t changes_per_s; /* requests that change state, per client; 0: unbounded */
};

void cgp_conf_defaults(struct cgp_conf *c);

/*
 * Parse INI text over *c (which holds defaults or a previous config). On
 * error returns -EINVAL and writes "NAME:LINE: message" to errbuf; *c may be
 * partly updated, so parse into a copy and commit on success. Each value is
 * checked on its line as far as that needs no I/O: numbers in range, paths
 * absolute, the socket path short enough for a unix socket, own_cgroup a
 * cgroup path, [metrics] address IP:PORT, [IPv6]:PORT or "none".
 */
int cgp_conf_parse_string(struct cgp_conf *c, const char *text, const char *name, char *errbuf,
			  size_t errlen);
/*
 * Same from a file; -ENOENT if it does not exist, -EISDIR for a directory,
 * -EIO for a read error (errbuf set, naming the path, every time).
 */
int cgp_conf_parse_file(struct cgp_conf *c, const char *path, char *errbuf, size_t errlen);

/* A number of CPUs as millicores: "1.5" -> 1500, ".25" -> 250, "500m" -> 500.
 * -EINVAL if it is not one (a sign, more than 3 decimals: finer than a
 * millicore), -ERANGE past 2^32 CPUs or millicores. */
int cgp_parse_cpus(const char *text, uint64_t *ret_mc);

/* A size: bytes, or a number with K, M, G, T (powers of 1024; KiB.. and
 * KB.. are read the same), with a fraction where there is a unit (1.5G,
 * rounded down to a byte). -EINVAL if it is not one, -ERANGE past 2^63. */
int cgp_parse_size(const char *text, uint64_t *ret);

/*
 * A duration as nanoseconds: a number with a fraction of at most 9 digits
 * and a unit, ns, us, ms, s, m or h ("5ms", "1.5s", "200us"). A bare number
 * is in units of @unit_ns ("2" with 1e9: two seconds); with @unit_ns 0 it
 * needs a unit, except 0. Rounded down to a nanosecond. -EINVAL if it is
 * not one (a sign, a space, another unit), -ERANGE past 2^64 ns.
 */
int cgp_parse_duration(const char *text, uint64_t unit_ns, uint64_t *ret_ns);

/*
 * Check what a single line cannot: values set after parsing (the command
 * line), and constraints across keys (the control socket path that
 * runtime_dir implies, max_cgroups a power of two). No file:line in errbuf.
 */
int cgp_conf_validate(const struct cgp_conf *c, char *errbuf, size_t errlen);

/* "none", a dotted-quad IPv4 address:PORT or [IPv6]:PORT, numeric, port 0..65535. */
bool cgp_conf_metrics_address_ok(const char *addr);

/* Write the config back as INI (every key), for `status` and docs. */
void cgp_conf_dump(const struct cgp_conf *c, FILE *f);

/*
 * BPF slots by default: as many as keep the maps' kernel memory within 1/256
 * of the machine's memory and at most CGP_AUTO_MAPS_MAX, a power of two in
 * CGP_AUTO_SLOTS_MIN..CGP_AUTO_SLOTS_MAX. cgp_slot_bytes() is the kernel
 * memory of one slot on @ncpus CPUs.
 */
#define CGP_AUTO_SLOTS_MIN 1024u
#define CGP_AUTO_SLOTS_MAX 16384u
#define CGP_AUTO_MAPS_MAX (256ULL << 20)
uint64_t cgp_slot_bytes(unsigned ncpus);
uint32_t cgp_auto_max_cgroups(unsigned ncpus, uint64_t mem_bytes);

#endif
