// SPDX-License-Identifier: Apache-2.0
/*
 * The exposition text of /metrics, rendered from the daemon's model and the
 * BPF programs' own counters: a scrape never reads cgroupfs. It runs on the
 * daemon's only thread (daemon/metrics.c serves it).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cgroupfs.h"
#include "containers.h"
#include "daemon.h"
#include "export.h"
#include "expo.h"
#include "log.h"
#include "metrics.h"
#include "proto.h"
#include "util.h"

/* Histogram bounds: le = 2^(k+1) us for these slots k: 4us .. 8.4s, x4 apart. */
static const unsigned hist_bounds[] = { 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 22 };

static const char *const sig_label[CGP_SIG_MAX] = { "cpu", "memory", "io" };

/* Where a family's figures come from: the BPF programs, the kernel's cgroup
 * files (PSI, and in files-only mode what replaces the BPF figures), or both. */
enum fam_src { SRC_BPF, SRC_FILES_ONLY, SRC_ANY };

struct family {
	const char *name, *type, *help;
	enum fam_src src;
};

enum {
	F_CPU_WAIT,
	F_CPU_WAIT_HIST,
	F_CPU,
	F_CSW,
	F_RECLAIM,
	F_OOM,
	F_IO_BYTES,
	F_IO_OPS,
	F_IO_LAT,
	F_IO_WAIT,
	F_PSI,
	F_ACTIVE,
	F_USAGE,
	F_IO_STAT_BYTES,
	F_IO_STAT_OPS,
	F_NCG,
};

static const struct family cg_families[F_NCG] = {
	[F_CPU_WAIT] = { "cgpilot_cgroup_cpu_wait_seconds_total", "counter",
			 "Time the cgroup's tasks waited in a run queue (summed over tasks), "
			 "measured in the kernel per switch" },
	[F_CPU_WAIT_HIST] = { "cgpilot_cgroup_cpu_wait_seconds", "histogram",
			      "Run-queue waits of the cgroup's tasks" },
	[F_CPU] = { "cgpilot_cgroup_cpu_seconds_total", "counter",
		    "On-CPU time of the cgroup's own tasks (scheduler clock)" },
	[F_CSW] = { "cgpilot_cgroup_context_switches_total", "counter",
		    "Context switches of the cgroup's tasks: voluntary (slept) or involuntary "
		    "(preempted)" },
	[F_RECLAIM] = { "cgpilot_cgroup_memory_reclaim_seconds_total", "counter",
			"Time the cgroup's tasks stalled in direct or memcg reclaim" },
	[F_OOM] = { "cgpilot_cgroup_oom_kills_total", "counter",
		    "OOM victims chosen in the cgroup (without BPF: memory.events.local oom_kill)",
		    SRC_ANY },
	[F_IO_BYTES] = { "cgpilot_cgroup_io_bytes_total", "counter",
			 "Block I/O bytes completed for the cgroup" },
	[F_IO_OPS] = { "cgpilot_cgroup_io_operations_total", "counter",
		       "Block I/O requests completed for the cgroup" },
	[F_IO_LAT] = { "cgpilot_cgroup_io_latency_seconds", "histogram",
		       "Block request latency, issue to completion" },
	[F_IO_WAIT] = { "cgpilot_cgroup_io_wait_seconds_total", "counter",
			"Time the cgroup's tasks slept in I/O wait" },
	[F_PSI] = { "cgpilot_cgroup_pressure_seconds_total", "counter",
		    "Kernel PSI totals (some: at least one task stalled; full: all)", SRC_ANY },
	[F_ACTIVE] = { "cgpilot_cgroup_pressure_active", "gauge",
		       "1 while the cgroup is in a pressure episode (onset seen, not cleared), "
		       "0 otherwise" },
	[F_USAGE] = { "cgpilot_cgroup_cpu_usage_seconds_total", "counter",
		      "CPU time of the cgroup's tasks and its descendants' (cpu.stat usage_usec), "
		      "exported when the BPF programs are not loaded",
		      SRC_FILES_ONLY },
	[F_IO_STAT_BYTES] = { "cgpilot_cgroup_io_stat_bytes_total", "counter",
			      "Block I/O bytes of the cgroup and its descendants over all disks "
			      "(io.stat), exported when the BPF programs are not loaded",
			      SRC_FILES_ONLY },
	[F_IO_STAT_OPS] = { "cgpilot_cgroup_io_stat_operations_total", "counter",
			    "Block I/O requests of the cgroup and its descendants over all disks "
			    "(io.stat), exported when the BPF programs are not loaded",
			    SRC_FILES_ONLY },
};

/*
 * One family over every exported cgroup: grouping by family keeps the output
 * valid (a family's samples must be contiguous). An exported cgroup
 * (daemon/export.c) has every counter from 0, so that increase() sees its
 * first OOM kill and avg_over_time() of pressure_active its quiet time; the
 * histograms stay sparse (only with observations), and the thousands of idle
 * cgroups of a node that never ran anything are not exported at all.
 */
static void render_family(struct expo *e, int f, bool files, struct cg **cgs, char **labels,
			  unsigned n)
{
	static const char *const psi_res[PSI_RES_MAX] = { "cpu", "memory", "io" };
	static const char *const dirs[CGP_IO_DIRS] = { "read", "write" };

	expo_family(e, cg_families[f].name, cg_families[f].type, cg_families[f].help);
	for (unsigned i = 0; i < n; i++) {
		const struct cg_figures *fig = &cgs[i]->fig;
		const struct cgp_cg_stats *s = &fig->bpf;
		const char *name = cg_families[f].name, *l = labels[i];

		switch (f) {
		case F_CPU_WAIT:
			expo_begin(e, name, NULL);
			expo_label_raw(e, "cgroup", l);
			expo_value_scaled(e, s->rq_delay_ns, 9);
			break;
		case F_CPU_WAIT_HIST:
			if (!s->rq_count)
				break;
			expo_histogram_log2(e, name, "cgroup", l, s->rq_hist, s->rq_delay_ns,
					    hist_bounds, ARRAY_SIZE(hist_bounds));
			break;
		case F_CPU:
			expo_begin(e, name, NULL);
			expo_label_raw(e, "cgroup", l);
			expo_value_scaled(e, s->oncpu_ns, 9);
			break;
		case F_CSW:
			expo_begin(e, name, NULL);
			expo_label_raw(e, "cgroup", l);
			expo_label_raw(e, "kind", "voluntary");
			expo_value_u64(e, s->nvcsw);
			expo_begin(e, name, NULL);
			expo_label_raw(e, "cgroup", l);
			expo_label_raw(e, "kind", "involuntary");
			expo_value_u64(e, s->nivcsw);
			break;
		case F_RECLAIM:
			expo_begin(e, name, NULL);
			expo_label_raw(e, "cgroup", l);
			expo_value_scaled(e, s->reclaim_ns, 9);
			break;
		case F_OOM:
			if (files && !fig->oom_kill_local_valid)
				break; /* no memory controller: not known, so no series */
			expo_begin(e, name, NULL);
			expo_label_raw(e, "cgroup", l);
			expo_value_u64(e, files ? fig->oom_kill_local :
						  s->oom_kills + fig->oom_kills_user);
			break;
		case F_USAGE:
			if (!fig->usage_valid)
				break;
			expo_begin(e, name, NULL);
			expo_label_raw(e, "cgroup", l);
			expo_value_scaled(e, fig->usage_usec, 6);
			break;
		case F_IO_STAT_BYTES:
		case F_IO_STAT_OPS:
			if (!fig->io_stat_valid)
				break;
			for (int dir = 0; dir < CGP_IO_DIRS; dir++) {
				const struct io_stat_totals *t = &fig->io_stat;

				expo_begin(e, name, NULL);
				expo_label_raw(e, "cgroup", l);
				expo_label_raw(e, "direction", dirs[dir]);
				expo_value_u64(e, f == F_IO_STAT_BYTES ?
							  (dir == CGP_IO_READ ? t->rbytes :
										t->wbytes) :
							  (dir == CGP_IO_READ ? t->rios : t->wios));
			}
			break;
		case F_IO_BYTES:
		case F_IO_OPS:
			for (int dir = 0; dir < CGP_IO_DIRS; dir++) {
				expo_begin(e, name, NULL);
				expo_label_raw(e, "cgroup", l);
				expo_label_raw(e, "direction", dirs[dir]);
				expo_value_u64(e,
					       f == F_IO_BYTES ? s->io_bytes[dir] : s->io_ops[dir]);
			}
			break;
		case F_IO_LAT:
			if (!s->io_ops[0] && !s->io_ops[1])
				break;
			expo_histogram_log2(e, name, "cgroup", l, s->io_hist, s->io_lat_ns,
					    hist_bounds, ARRAY_SIZE(hist_bounds));
			break;
		case F_IO_WAIT:
			expo_begin(e, name, NULL);
			expo_label_raw(e, "cgroup", l);
			expo_value_scaled(e, s->iowait_ns, 9);
			break;
		case F_PSI:
			if (!fig->psi_valid)
				break;
			for (int r = 0; r < PSI_RES_MAX; r++) {
				expo_begin(e, name, NULL);
				expo_label_raw(e, "cgroup", l);
				expo_label_raw(e, "resource", psi_res[r]);
				expo_label_raw(e, "kind", "some");
				expo_value_scaled(e, fig->psi[r].some_us, 6);
				if (!fig->psi[r].has_full)
					continue;
				expo_begin(e, name, NULL);
				expo_label_raw(e, "cgroup", l);
				expo_label_raw(e, "resource", psi_res[r]);
				expo_label_raw(e, "kind", "full");
				expo_value_scaled(e, fig->psi[r].full_us, 6);
			}
			break;
		case F_ACTIVE:
			for (int sig = 0; sig < CGP_SIG_MAX; sig++) {
				expo_begin(e, name, NULL);
				expo_label_raw(e, "cgroup", l);
				expo_label_raw(e, "signal", sig_label[sig]);
				expo_value_u64(e, (cgs[i]->active >> sig) & 1);
			}
			break;
		}
	}
}

static void label_opt(struct expo *e, const char *key, const char *value)
{
	if (value && *value)
		expo_label(e, key, value);
}

/* cgpilot_cgroup_info: who each exported cgroup belongs to, for joins. */
static void render_info(struct daemon *d, struct expo *e, struct cg **cgs, char **labels,
			unsigned n)
{
	expo_family(
		e, "cgpilot_cgroup_info", "gauge",
		"Identity of an exported cgroup, always 1: its pod (pod_uid as the API server "
		"knows it), container, QoS, cgpilot class, engine and systemd unit, from its "
		"path and cgpilot's own containers; join with * on(instance, cgroup) group_left(...)");
	for (unsigned i = 0; i < n; i++) {
		struct cg_identity id;
		const char *class;

		export_identity(d, cgs[i], &id, &class);
		expo_begin(e, "cgpilot_cgroup_info", NULL);
		expo_label_raw(e, "cgroup", labels[i]);
		label_opt(e, "kind", cg_id_kind_name(id.kind));
		label_opt(e, "pod_uid", id.pod_uid);
		label_opt(e, "container_id", id.container_id);
		label_opt(e, "qos", id.qos);
		label_opt(e, "class", class);
		label_opt(e, "engine", id.engine);
		label_opt(e, "unit", id.unit);
		if (id.sidecar)
			expo_label_raw(e, "sidecar", "true");
		expo_value_u64(e, 1);
	}
}

/*
 * cgpilot_subtree_*: for the exported subtree roots (pods, the kubelet's QoS
 * parents, containers' parents), the root's own figures plus every
 * descendant's, those retired from the model included, so the sums are
 * counters that never go back when a container goes.
 */
static void render_subtrees(struct daemon *d, struct expo *e, struct cg **cgs, char **labels,
			    unsigned n)
{
	static const struct {
		const char *name, *help;
		size_t off;
		unsigned decimals;
	} fams[] = {
		{ "cgpilot_subtree_cpu_seconds_total", "On-CPU time of the subtree's tasks",
		  offsetof(struct cg_sums, oncpu_ns), 9 },
		{ "cgpilot_subtree_cpu_wait_seconds_total",
		  "Run-queue wait of the subtree's tasks (summed over tasks)",
		  offsetof(struct cg_sums, rq_delay_ns), 9 },
		{ "cgpilot_subtree_memory_reclaim_seconds_total",
		  "Reclaim stalls of the subtree's tasks", offsetof(struct cg_sums, reclaim_ns),
		  9 },
		{ "cgpilot_subtree_io_wait_seconds_total", "I/O wait of the subtree's tasks",
		  offsetof(struct cg_sums, iowait_ns), 9 },
		{ "cgpilot_subtree_oom_kills_total", "OOM victims chosen in the subtree",
		  offsetof(struct cg_sums, oom_kills), 0 },
	};
	static const char *const dirs[CGP_IO_DIRS] = { "read", "write" };
	unsigned roots = 0, total = model__count(d->model);
	struct cg_sums *sums;

	for (unsigned i = 0; i < n; i++)
		roots += !!cgs[i]->gone;
	if (!roots)
		return;
	sums = calloc(total ? total : 1, sizeof(*sums));
	if (!sums)
		return;
	model__subtree_sums(d->model, sums, true);
	for (unsigned f = 0; f < ARRAY_SIZE(fams); f++) {
		expo_family(e, fams[f].name, "counter", fams[f].help);
		for (unsigned i = 0; i < n; i++) {
			const struct cg_sums *s = &sums[cgs[i]->idx];
			uint64_t v;

			if (!cgs[i]->gone)
				continue;
			memcpy(&v, (const char *)s + fams[f].off, sizeof(v));
			expo_begin(e, fams[f].name, NULL);
			expo_label_raw(e, "cgroup", labels[i]);
			if (fams[f].decimals)
				expo_value_scaled(e, v, fams[f].decimals);
			else
				expo_value_u64(e, v);
		}
	}
	expo_family(e, "cgpilot_subtree_io_bytes_total", "counter",
		    "Block I/O bytes completed for the subtree");
	for (unsigned i = 0; i < n; i++) {
		if (!cgs[i]->gone)
			continue;
		for (int dir = 0; dir < CGP_IO_DIRS; dir++) {
			expo_begin(e, "cgpilot_subtree_io_bytes_total", NULL);
			expo_label_raw(e, "cgroup", labels[i]);
			expo_label_raw(e, "direction", dirs[dir]);
			expo_value_u64(e, sums[cgs[i]->idx].io_bytes[dir]);
		}
	}
	free(sums);
}

static void render_node(struct daemon *d, struct expo *e)
{
	const struct telemetry_features *f = telemetry__features(d->tel);
	const struct {
		const char *name;
		bool on;
	} feats[] = {
		{ "bpf_telemetry", !daemon_files_only(d) },
		{ "oom_victim_task", f->oom_task },
		{ "oom_victim_pid", f->oom_pid },
		{ "memcg_reclaim", f->memcg_reclaim },
		{ "direct_reclaim", f->direct_reclaim },
		{ "block_io", f->block },
		{ "cgroup_events", f->cgroup_events },
		{ "controllers_complete", !d->telemetry_only },
	};

	expo_gauge(e, "cgpilot_node_cpus", "Online CPUs of the node", d->node_cpus);
	expo_gauge(e, "cgpilot_node_memory_bytes", "Memory of the node", d->node_memory);
	if (d->alloc_valid) {
		expo_gauge(e, "cgpilot_node_allocatable_cpus",
			   "Online CPUs containers may have: all but [node] reserved_cpus",
			   d->alloc.cpus.n);
		expo_gauge(e, "cgpilot_node_allocatable_memory_bytes",
			   "Memory containers may have: MemTotal less [node] reserved_memory",
			   d->alloc.memory_bytes);
		expo_gauge(e, "cgpilot_node_reserved_cpus",
			   "CPUs kept for the system ([node] reserved_cpus)",
			   d->alloc.reserved_cpus.n);
		expo_gauge(e, "cgpilot_node_reserved_memory_bytes",
			   "Memory kept for the system ([node] reserved_memory)",
			   d->alloc.reserved_memory_bytes);
	}
	expo_family(e, "cgpilot_node_controller_available", "gauge",
		    "1 if the cgroup v2 controller is available at the cgroup root");
	for (unsigned i = 0; i < cgfs_n_controllers; i++) {
		expo_begin(e, "cgpilot_node_controller_available", NULL);
		expo_label_raw(e, "controller", cgfs_controller_names[i]);
		expo_value_u64(e, !!(d->controllers & cgfs_controller_bits[i]));
	}
	expo_family(e, "cgpilot_node_feature_available", "gauge",
		    "1 if the kernel feature was found when the programs loaded");
	for (unsigned i = 0; i < ARRAY_SIZE(feats); i++) {
		expo_begin(e, "cgpilot_node_feature_available", NULL);
		expo_label_raw(e, "feature", feats[i].name);
		expo_value_u64(e, feats[i].on);
	}
	expo_family(e, "cgpilot_telemetry_info", "gauge",
		    "Where the figures come from, always 1: source=\"bpf\" (the programs loaded) "
		    "or \"files\" (they did not: the kernel's cgroup files alone), with the kernel "
		    "feature found missing");
	expo_begin(e, "cgpilot_telemetry_info", NULL);
	expo_label_raw(e, "source", daemon_files_only(d) ? "files" : "bpf");
	if (daemon_files_only(d))
		expo_label(e, "missing", d->tel_failure.feature);
	expo_value_u64(e, 1);
}

/* The control socket's clients: what the limits refused and dropped. */
static void render_control(struct daemon *d, struct expo *e)
{
	struct ctl_stats cs;

	ctl__stats(d->ctl, &cs);
	expo_gauge(e, "cgpilot_control_clients", "Control socket connections open now", cs.clients);
	expo_gauge(e, "cgpilot_control_output_bytes",
		   "Replies and events buffered for control clients (all together, bounded by "
		   "[control] output_limit_kib)",
		   cs.output_bytes);
	{
		const struct expo_labeled closed[] = { { "refused", cs.refused },
						       { "slow", cs.dropped_slow },
						       { "over_budget", cs.dropped_over_budget } };

		expo_counters(e, "cgpilot_control_clients_closed_total",
			      "Control connections the daemon closed: over max_clients (refused), "
			      "output not read for client_timeout_s (slow), most output when all "
			      "clients held too much (over_budget)",
			      "reason", closed, ARRAY_SIZE(closed));
	}
	expo_counter(e, "cgpilot_control_accept_pauses_total",
		     "Times accepting control connections paused: no file descriptor left",
		     cs.accept_pauses);
	expo_counter(e, "cgpilot_control_rate_limited_total",
		     "Requests that change state refused by [control] changes_per_s",
		     d->rate_limited);
}

/* The BPF programs' own counters and the slots'. */
static void render_bpf_self(struct daemon *d, struct expo *e)
{
	struct telemetry_prog_info progs[32];
	struct cgp_self_stats ss;
	int n = telemetry__progs(d->tel, progs, ARRAY_SIZE(progs));

	expo_family(e, "cgpilot_bpf_program_runs_total", "counter",
		    "Runs of each BPF program (counted while kernel.bpf_stats_enabled is on)");
	for (int i = 0; i < n; i++) {
		expo_begin(e, "cgpilot_bpf_program_runs_total", NULL);
		expo_label(e, "program", progs[i].name);
		expo_value_u64(e, progs[i].run_cnt);
	}
	expo_family(e, "cgpilot_bpf_program_run_seconds_total", "counter",
		    "Run time of each BPF program (counted while kernel.bpf_stats_enabled is on)");
	for (int i = 0; i < n; i++) {
		expo_begin(e, "cgpilot_bpf_program_run_seconds_total", NULL);
		expo_label(e, "program", progs[i].name);
		expo_value_scaled(e, progs[i].run_time_ns, 9);
	}
	telemetry__self_stats(d->tel, &ss);
	expo_family(e, "cgpilot_ringbuf_events_total", "counter",
		    "Events the BPF programs submitted to the ring buffer");
	for (uint32_t t = 1; t < CGP_EV_MAX; t++) {
		expo_begin(e, "cgpilot_ringbuf_events_total", NULL);
		expo_label_raw(e, "type", proto_event_name(t));
		expo_value_u64(e, ss.events[t]);
	}
	expo_family(e, "cgpilot_ringbuf_drops_total", "counter",
		    "Events lost because the ring buffer was full");
	for (uint32_t t = 1; t < CGP_EV_MAX; t++) {
		expo_begin(e, "cgpilot_ringbuf_drops_total", NULL);
		expo_label_raw(e, "type", proto_event_name(t));
		expo_value_u64(e, ss.drops[t]);
	}
	expo_family(e, "cgpilot_bpf_map_entries", "gauge", "Entries in use in a BPF map");
	expo_begin(e, "cgpilot_bpf_map_entries", NULL);
	expo_label_raw(e, "map", "cg_slot");
	expo_value_u64(e, d->slots_used);
	expo_family(e, "cgpilot_bpf_map_capacity", "gauge", "Capacity of a BPF map");
	expo_begin(e, "cgpilot_bpf_map_capacity", NULL);
	expo_label_raw(e, "map", "cg_slot");
	expo_value_u64(e, d->conf.max_cgroups);
	expo_family(e, "cgpilot_bpf_slot_alloc_failures_total", "counter",
		    "Times the BPF side found no free slot for a cgroup (max_cgroups too small)");
	expo_begin(e, "cgpilot_bpf_slot_alloc_failures_total", NULL);
	expo_value_u64(e, ss.slot_alloc_fail);
	expo_counter(e, "cgpilot_bpf_slots_reclaimed_total",
		     "BPF slots of cgroups that no longer existed (removed while the daemon was "
		     "down, or their rmdir event was lost), released by reconciliation",
		     d->slot_stats.reclaimed);
	{
		const struct expo_labeled ended[] = { { "sample", ss.cleared_by_sample },
						      { "timer", ss.cleared_by_timer },
						      { "sweep", ss.cleared_by_sweep } };

		expo_counters(
			e, "cgpilot_pressure_episodes_ended_total",
			"Pressure episodes ended, by what noticed: a sample of the cgroup, the "
			"window timer, or the maintenance sweep (the timer had missed it)",
			"by", ended, ARRAY_SIZE(ended));
	}
	expo_counter(e, "cgpilot_pressure_episodes_resynced_total",
		     "Cgroups whose episode state was corrected from the BPF windows (an onset or "
		     "cleared event was lost)",
		     d->slot_stats.episodes_resynced);
	expo_counter(e, "cgpilot_bpf_window_timer_restarts_total",
		     "Times the BPF window timer had stopped and the sweep started it again",
		     ss.timer_restarts);
	{
		const struct expo_labeled recovered[] = {
			{ "slot", d->slot_stats.adopted }, { "rescan", d->slot_stats.rescan_found }
		};

		expo_counters(
			e, "cgpilot_cgroups_recovered_total",
			"Cgroups the model learnt of although their mkdir event was lost: through "
			"their BPF slot (via=\"slot\") or a walk of the tree (via=\"rescan\")",
			"via", recovered, ARRAY_SIZE(recovered));
	}
}

static void render_self(struct daemon *d, struct expo *e, unsigned observed, unsigned exported)
{
	struct rusage ru;
	uint64_t size_pages, rss_pages = 0;
	char statm[256];
	const char *p;

	/* without the programs there are no such counters: none shown as 0 */
	if (!daemon_files_only(d))
		render_bpf_self(d, e);
	render_control(d, e);
	getrusage(RUSAGE_SELF, &ru);
	expo_family(e, "cgpilot_daemon_cpu_seconds_total", "counter", "CPU time of cgpilotd");
	expo_begin(e, "cgpilot_daemon_cpu_seconds_total", NULL);
	expo_label_raw(e, "mode", "user");
	expo_value_scaled(e, (uint64_t)ru.ru_utime.tv_sec * 1000000 + (uint64_t)ru.ru_utime.tv_usec,
			  6);
	expo_begin(e, "cgpilot_daemon_cpu_seconds_total", NULL);
	expo_label_raw(e, "mode", "system");
	expo_value_scaled(e, (uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec,
			  6);
	/* statm: size resident shared ... in pages */
	if (cgfs_read_at(AT_FDCWD, "/proc/self/statm", statm, sizeof(statm)) < 0 ||
	    cgfs_parse_u64(statm, &p, &size_pages) || *p != ' ' ||
	    cgfs_parse_u64(p + 1, NULL, &rss_pages))
		rss_pages = 0;
	expo_gauge(e, "cgpilot_daemon_resident_memory_bytes", "Resident memory of cgpilotd",
		   (uint64_t)rss_pages * (uint64_t)sysconf(_SC_PAGESIZE));
	expo_family(e, "cgpilot_scrape_duration_seconds", "gauge",
		    "Time the previous scrape took to render");
	expo_begin(e, "cgpilot_scrape_duration_seconds", NULL);
	expo_value_scaled(e, d->last_scrape_ns, 9);
	if (d->metrics) {
		struct metrics_stats ms;

		metrics__stats(d->metrics, &ms);
		expo_gauge(e, "cgpilot_http_connections", "Open /metrics HTTP connections",
			   ms.connections);
		const struct expo_labeled closed[] = { { "timeout", ms.closed_timeout },
						       { "evicted", ms.closed_evicted } };

		expo_counters(
			e, "cgpilot_http_connections_closed_total",
			"HTTP connections the daemon shut down: timeout (no complete request, or "
			"its response not taken, within [metrics] request_timeout_s), evicted (to "
			"admit a newcomer at [metrics] max_connections)",
			"reason", closed, ARRAY_SIZE(closed));
		expo_counter(e, "cgpilot_http_connections_accepted_total",
			     "HTTP connections accepted (keep-alive clients reuse theirs)",
			     ms.accepted);
		expo_counter(e, "cgpilot_http_accept_pauses_total",
			     "Times accepting HTTP connections paused for want of file descriptors",
			     ms.accept_pauses);
	}
	expo_gauge(e, "cgpilot_cgroups_observed", "Cgroups in the observed set", observed);
	expo_gauge(e, "cgpilot_cgroups_exported",
		   "Cgroups exported one by one: containers, pods and the busiest of those that "
		   "ran anything, at most [metrics] max_series_cgroups; the rest are only "
		   "counted in cgpilot_cgroups_observed",
		   exported);
	expo_family(e, "cgpilot_build_info", "gauge", "Version of cgpilotd");
	expo_begin(e, "cgpilot_build_info", NULL);
	expo_label_raw(e, "version", CGPILOT_VERSION);
	expo_value_u64(e, 1);
}

char *metrics_render(struct daemon *d, size_t *ret_len)
{
	uint64_t t0 = mono_now_ns();
	struct expo e;
	unsigned n, exported = 0;
	struct cg **all;
	struct cg **cgs;
	char **labels;
	char *out;

	if (!d->export_ns)
		export_update(d, t0); /* a scrape before the first tick */
	all = model__sorted(d->model, &n);
	if (!all)
		return NULL;
	cgs = calloc(n ? n : 1, sizeof(*cgs));
	labels = calloc(n ? n : 1, sizeof(*labels));
	if (!cgs || !labels) {
		free(cgs);
		free(labels);
		return NULL;
	}
	for (unsigned i = 0; i < n; i++) {
		if (!all[i]->exported || all[i]->dead_ns)
			continue;
		labels[exported] = expo_escape(cg_display_path(all[i]));
		if (!labels[exported])
			break;
		cgs[exported++] = all[i];
	}
	expo_init(&e);
	/* files-only mode: the BPF figures are absent, not zero */
	for (int f = 0; f < F_NCG; f++)
		if (cg_families[f].src == SRC_ANY ||
		    (cg_families[f].src == SRC_FILES_ONLY) == daemon_files_only(d))
			render_family(&e, f, daemon_files_only(d), cgs, labels, exported);
	render_info(d, &e, cgs, labels, exported);
	if (!daemon_files_only(d))
		render_subtrees(d, &e, cgs, labels, exported);
	render_node(d, &e);
	if (d->ctrs)
		containers__metrics(d->ctrs, &e);
	render_self(d, &e, n, exported);
	for (unsigned i = 0; i < exported; i++)
		free(labels[i]);
	free(labels);
	free(cgs);
	out = expo_take(&e, ret_len);
	d->last_scrape_ns = mono_now_ns() - t0;
	return out;
}
