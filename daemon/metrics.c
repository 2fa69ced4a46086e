// SPDX-License-Identifier: Apache-2.0
/*
 * The /metrics endpoint. The text is rendered from the daemon's model and the
 * BPF programs' own counters: a scrape never reads cgroupfs. MHD runs in
 * external-epoll mode, so rendering happens on the daemon's only thread.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "containers.h"
#include "daemon.h"
#include "expo.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "proto.h"
#include "util.h"

/* Histogram bounds: le = 2^(k+1) us for these slots k: 4us .. 8.4s, x4 apart. */
static const unsigned hist_bounds[] = { 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 22 };

static const char *const sig_label[CGP_SIG_MAX] = { "cpu", "memory", "io" };

struct family {
	const char *name, *type, *help;
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
		    "OOM victims chosen in the cgroup" },
	[F_IO_BYTES] = { "cgpilot_cgroup_io_bytes_total", "counter",
			 "Block I/O bytes completed for the cgroup" },
	[F_IO_OPS] = { "cgpilot_cgroup_io_operations_total", "counter",
		       "Block I/O requests completed for the cgroup" },
	[F_IO_LAT] = { "cgpilot_cgroup_io_latency_seconds", "histogram",
		       "Block request latency, issue to completion" },
	[F_IO_WAIT] = { "cgpilot_cgroup_io_wait_seconds_total", "counter",
			"Time the cgroup's tasks slept in I/O wait" },
	[F_PSI] = { "cgpilot_cgroup_pressure_seconds_total", "counter",
		    "Kernel PSI totals (some: at least one task stalled; full: all)" },
	[F_ACTIVE] = { "cgpilot_cgroup_pressure_active", "gauge",
		       "1 while the cgroup is in a pressure episode (onset seen, not cleared); "
		       "absent otherwise" },
};

/*
 * One family over every exported cgroup: grouping by family keeps the output
 * valid (a family's samples must be contiguous). Sparse: a series whose
 * value is still zero (a counter that never moved, a histogram without
 * observations, a gauge at rest) is left out, so the thousands of idle
 * cgroups of a node cost nothing per scrape; it appears when it first moves.
 */
static void render_family(struct expo *e, int f, struct cg **cgs, char **labels, unsigned n)
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
			if (!s->rq_delay_ns)
				break;
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
			if (!s->oncpu_ns)
				break;
			expo_begin(e, name, NULL);
			expo_label_raw(e, "cgroup", l);
			expo_value_scaled(e, s->oncpu_ns, 9);
			break;
		case F_CSW:
			if (!s->nvcsw && !s->nivcsw)
				break;
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
			if (!s->reclaim_ns)
				break;
			expo_begin(e, name, NULL);
			expo_label_raw(e, "cgroup", l);
			expo_value_scaled(e, s->reclaim_ns, 9);
			break;
		case F_OOM:
			if (!s->oom_kills && !fig->oom_kills_user)
				break;
			expo_begin(e, name, NULL);
			expo_label_raw(e, "cgroup", l);
			expo_value_u64(e, s->oom_kills + fig->oom_kills_user);
			break;
		case F_IO_BYTES:
		case F_IO_OPS:
			if (!s->io_ops[0] && !s->io_ops[1])
				break;
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
			if (!s->iowait_ns)
				break;
			expo_begin(e, name, NULL);
			expo_label_raw(e, "cgroup", l);
			expo_value_scaled(e, s->iowait_ns, 9);
			break;
		case F_PSI:
			if (!fig->psi_valid)
				break;
			for (int r = 0; r < PSI_RES_MAX; r++) {
				if (!fig->psi[r].some_us && !fig->psi[r].full_us)
					continue;
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
				if (!((cgs[i]->active >> sig) & 1))
					continue;
				expo_begin(e, name, NULL);
				expo_label_raw(e, "cgroup", l);
				expo_label_raw(e, "signal", sig_label[sig]);
				expo_value_u64(e, (cgs[i]->active >> sig) & 1);
			}
			break;
		}
	}
}

static void render_node(struct daemon *d, struct expo *e)
{
	const struct telemetry_features *f = telemetry__features(d->tel);
	const struct {
		const char *name;
		bool on;
	} feats[] = {
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
}

static void render_self(struct daemon *d, struct expo *e, unsigned observed, unsigned exported)
{
	struct telemetry_prog_info progs[32];
	struct cgp_self_stats ss;
	struct rusage ru;
	int n = telemetry__progs(d->tel, progs, ARRAY_SIZE(progs));
	long size_pages, rss_pages = 0;
	FILE *f;

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
	render_control(d, e);
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
	f = fopen("/proc/self/statm", "re");
	if (f) {
		if (fscanf(f, "%ld %ld", &size_pages, &rss_pages) != 2)
			rss_pages = 0;
		fclose(f);
	}
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
		   "Cgroups exported one by one ([metrics] max_series_cgroups caps it; the rest "
		   "are only counted in cgpilot_cgroups_observed)",
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
	struct cg **all = model__sorted(d->model, &n);
	struct cg **cgs;
	char **labels;
	char *out;

	if (!all)
		return NULL;
	cgs = calloc(n ? n : 1, sizeof(*cgs));
	labels = calloc(n ? n : 1, sizeof(*labels));
	if (!cgs || !labels) {
		free(cgs);
		free(labels);
		return NULL;
	}
	for (unsigned i = 0; i < n && exported < d->conf.max_series_cgroups; i++) {
		if (all[i]->dead_ns)
			continue;
		labels[exported] = expo_escape(cg_display_path(all[i]));
		if (!labels[exported])
			break;
		cgs[exported++] = all[i];
	}
	expo_init(&e);
	for (int f = 0; f < F_NCG; f++)
		render_family(&e, f, cgs, labels, exported);
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

/*
 * Connection policing. MHD (0.9.75) has only an idle timeout and a limit
 * that refuses newcomers: a client trickling header bytes is never idle, and
 * max_connections idle or trickling clients lock everyone else out. So we
 * accept the connections ourselves (listen.c: EMFILE pauses instead of
 * spinning), hand them to MHD, and track each in one of three lists, each
 * ordered by since_ns:
 *   waiting - no complete request yet (since it opened or since its previous
 *             response was fully sent);
 *   busy    - a request arrived (since then), its response not fully sent;
 *   closing - shut down by us; MHD closes it on its next run.
 * A waiting or busy connection gets request_timeout_s, then is shut down:
 * shutdown() wakes MHD's epoll, MHD reads EOF and closes it at once. At the
 * limit the head of waiting (else of busy) is shut down to admit a newcomer.
 *
 * File descriptors bound the connections too: at most what RLIMIT_NOFILE
 * leaves at start, less a reserve for the rest of the daemon (as ctl.c does
 * for its clients), counting the closing ones; and if accept() still runs
 * out (someone else took them), at most half of what we held then, for a
 * while. At that cap the oldest is shut down as at the connection limit, so
 * a flood is served at full speed instead of stalling in EMFILE pauses.
 */
#define ACCEPT_BATCH 16 /* then let MHD read what came, and the loop run */
#define FD_RESERVE 32 /* fds left to the rest of the daemon */
#define FD_RECOVER_NS (10 * 1000000000ULL) /* after EMFILE, the lower cap holds this long */
/* MHD's own limit must never refuse what we hand over: ours (at most 65536)
 * counts waiting and busy connections, MHD also holds the closing ones */
#define MHD_CONN_LIMIT (2u * 65536u + 4u * ACCEPT_BATCH)

enum conn_state { CONN_WAITING, CONN_BUSY, CONN_CLOSING, CONN_STATES };

struct http_conn {
	struct http_conn *prev, *next;
	enum conn_state state;
	int fd; /* owned by MHD */
	uint64_t since_ns;
};

struct conn_list {
	struct http_conn *head, *tail;
	unsigned n;
};

struct metrics {
	struct daemon *d;
	struct MHD_Daemon *mhd;
	int epfd; /* ours: the listener, MHD's epoll fd and the timer */
	int listen_fd, mhd_fd, timer_fd;
	struct listener listener;
	struct conn_list conns[CONN_STATES];
	struct http_conn *adding; /* for the MHD_CONNECTION_NOTIFY_STARTED it causes */
	uint64_t timer_at_ns; /* what the timer is armed for, 0: not armed */
	unsigned fd_cap_start; /* fds we may hold, from RLIMIT_NOFILE at start */
	unsigned fd_cap; /* the same, lowered for a while after EMFILE */
	uint64_t fd_short_ns; /* when accept() last ran out of fds */
	uint64_t accepted, closed_timeout, closed_evicted;
	char address[96];
};

static void conn_unlink(struct metrics *m, struct http_conn *c)
{
	struct conn_list *l = &m->conns[c->state];

	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
	l->n--;
}

static void conn_append(struct metrics *m, struct http_conn *c, enum conn_state state,
			uint64_t since_ns)
{
	struct conn_list *l = &m->conns[state];

	c->state = state;
	c->since_ns = since_ns;
	c->prev = l->tail;
	c->next = NULL;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->n++;
}

static void conn_move(struct metrics *m, struct http_conn *c, enum conn_state state,
		      uint64_t since_ns)
{
	conn_unlink(m, c);
	conn_append(m, c, state, since_ns);
}

static uint64_t request_timeout_ns(const struct metrics *m)
{
	/* read live: a SIGHUP reload applies to the next deadline */
	return (uint64_t)m->d->conf.metrics_request_timeout_s * 1000000000ULL;
}

static void conn_kill(struct metrics *m, struct http_conn *c, uint64_t *counter, const char *why)
{
	if (c->state == CONN_BUSY) {
		/* a response stuck in the socket buffer: reset rather than let
		 * the kernel keep it for an orphaned socket */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	log_debug("/metrics: closing connection (fd %d): %s", c->fd, why);
	shutdown(c->fd, SHUT_RDWR);
	conn_move(m, c, CONN_CLOSING, c->since_ns);
	(*counter)++;
}

static struct http_conn *conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static void notify_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
			      enum MHD_ConnectionNotificationCode toe)
{
	struct metrics *m = cls;
	struct http_conn *c;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		c = m->adding;
		m->adding = NULL;
		*socket_context = c;
		if (c) {
			conn_append(m, c, CONN_WAITING, mono_now_ns());
		} else {
			/* not from add_connection(): cannot police it, so refuse it */
			const union MHD_ConnectionInfo *ci =
				MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);

			if (ci)
				shutdown(ci->connect_fd, SHUT_RDWR);
		}
		return;
	}
	c = *socket_context;
	if (!c)
		return;
	conn_unlink(m, c);
	free(c);
	*socket_context = NULL;
}

static void request_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct metrics *m = cls;
	struct http_conn *c = conn_of(mc);

	/* the response is out (or the request failed and MHD closes it): the
	 * next request's time starts now */
	if (c && c->state == CONN_BUSY)
		conn_move(m, c, CONN_WAITING, mono_now_ns());
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];
	size_t n;

	/* MHD reports every aborted connection: a client's doing, not ours */
	if (log_get_level() < LOG_LVL_DEBUG)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	log_debug("libmicrohttpd: %s", buf);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct metrics *m = cls;
	struct http_conn *c = conn_of(conn);
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned status = MHD_HTTP_OK;
	const char *type = "text/plain; version=0.0.4; charset=utf-8";
	char *body;
	size_t len;

	/*
	 * First call: the header is complete, from now on the response has the
	 * time. Answer on a later call only: MHD 0.9.75 closes the connection
	 * after a response queued in the first (it cannot know the body was
	 * read), which would end every keep-alive.
	 */
	if (!*con_cls) {
		static char header_seen;

		*con_cls = &header_seen;
		if (c && c->state == CONN_WAITING)
			conn_move(m, c, CONN_BUSY, mono_now_ns());
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* a body we do not want */
		return MHD_YES;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		static const char msg[] = "only GET\n";

		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
						       MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (!strcmp(url, "/metrics")) {
		body = metrics_render(m->d, &len);
		if (!body)
			return MHD_NO;
		resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	} else if (!strcmp(url, "/")) {
		static const char msg[] =
			"<html><body><h1>cgpilotd</h1><a href=\"/metrics\">/metrics</a></body></html>\n";

		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
						       MHD_RESPMEM_PERSISTENT);
		type = "text/html";
	} else {
		static const char msg[] = "not found: try /metrics\n";

		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
						       MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_NOT_FOUND;
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static unsigned conns_live(const struct metrics *m)
{
	return m->conns[CONN_WAITING].n + m->conns[CONN_BUSY].n;
}

static struct http_conn *oldest_live(const struct metrics *m)
{
	return m->conns[CONN_WAITING].head ? m->conns[CONN_WAITING].head : m->conns[CONN_BUSY].head;
}

/* Hand one accepted connection to MHD, making room first if at the limit. */
static void add_connection(struct metrics *m, int fd, uint64_t now)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct http_conn *c;

	if (getpeername(fd, (struct sockaddr *)&ss, &sl)) {
		close(fd); /* reset before we got to it */
		return;
	}
	while (conns_live(m) >= m->d->conf.metrics_max_connections)
		conn_kill(m, oldest_live(m), &m->closed_evicted,
			  m->conns[CONN_WAITING].head ? "evicted: oldest without a request" :
							"evicted: oldest response in flight");
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	m->adding = c;
	/* MHD owns fd now, closed on failure too; c is on a list once
	 * MHD_CONNECTION_NOTIFY_STARTED ran, freed by ..._CLOSED */
	if (MHD_add_connection(m->mhd, fd, (struct sockaddr *)&ss, sl) == MHD_YES)
		m->accepted++;
	else
		log_debug("/metrics: libmicrohttpd refused a connection: %m");
	if (m->adding) {
		free(m->adding);
		m->adding = NULL;
	}
}

/* Returns true if any connection was added or shut down. */
static bool accept_some(struct metrics *m, uint64_t now)
{
	unsigned limit = m->d->conf.metrics_max_connections;
	/* a small limit takes small batches: a newcomer must get its request
	 * read before the rest of the batch could evict it */
	unsigned batch = limit / 4 < ACCEPT_BATCH ? (limit / 4 ? limit / 4 : 1) : ACCEPT_BATCH;
	bool changed = false;

	if (m->fd_cap < m->fd_cap_start && now - m->fd_short_ns >= FD_RECOVER_NS)
		m->fd_cap = m->fd_cap_start;
	for (unsigned i = 0; i < batch; i++) {
		int fd;

		if (conns_live(m) + m->conns[CONN_CLOSING].n >= m->fd_cap) {
			/* the closing ones free their fds in MHD_run; the listener,
			 * still readable, brings us back then */
			if (!m->conns[CONN_CLOSING].n && oldest_live(m))
				conn_kill(m, oldest_live(m), &m->closed_evicted,
					  "evicted: at the file descriptor cap");
			changed = true;
			break;
		}
		fd = listen__accept(&m->listener, now);
		if (fd == -EAGAIN)
			break;
		if (fd == -EMFILE) {
			/* someone else took the fds: hold fewer for a while
			 * (the listener pauses meanwhile, see listen.h) */
			unsigned held = conns_live(m) + m->conns[CONN_CLOSING].n;

			m->fd_cap = held / 2 ? held / 2 : 1;
			m->fd_short_ns = now;
			log_debug("/metrics: out of file descriptors at %u connections; holding at "
				  "most %u for %llu s",
				  held, m->fd_cap, FD_RECOVER_NS / 1000000000ULL);
			if (oldest_live(m)) {
				conn_kill(m, oldest_live(m), &m->closed_evicted,
					  "evicted: out of file descriptors");
				changed = true;
			}
			break;
		}
		if (fd < 0)
			continue;
		add_connection(m, fd, now);
		changed = true;
	}
	return changed;
}

static unsigned fds_open(void)
{
	DIR *dir = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!dir)
		return 64; /* no /proc: about what BPF and the loop hold */
	while (readdir(dir))
		n++;
	closedir(dir);
	return n > 3 ? n - 3 : 0; /* ".", ".." and the dir's own fd */
}

/* File descriptors the connections may take: what RLIMIT_NOFILE leaves now
 * less FD_RESERVE, or half of it when that is little. */
static unsigned fd_budget(void)
{
	struct rlimit rl;
	uint64_t left, open = fds_open();

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return UINT_MAX;
	left = rl.rlim_cur > open ? rl.rlim_cur - open : 0;
	if (left > 2 * FD_RESERVE)
		return left - FD_RESERVE > UINT_MAX ? UINT_MAX : (unsigned)(left - FD_RESERVE);
	return left / 2 ? (unsigned)(left / 2) : 1;
}

/* Shut down what overran its deadline; true if any. */
static bool expire(struct metrics *m, uint64_t now)
{
	uint64_t t = request_timeout_ns(m);
	bool changed = false;
	struct http_conn *c;

	while ((c = m->conns[CONN_WAITING].head) && now - c->since_ns >= t) {
		conn_kill(m, c, &m->closed_timeout, "no complete request in time");
		changed = true;
	}
	while ((c = m->conns[CONN_BUSY].head) && now - c->since_ns >= t) {
		conn_kill(m, c, &m->closed_timeout, "response not taken in time");
		changed = true;
	}
	return changed;
}

/* One-shot timer for the earliest of: a deadline, the listener's re-arm,
 * MHD's own wish (0 while it has buffered data to process). */
static void arm_timer(struct metrics *m, uint64_t now)
{
	uint64_t t = request_timeout_ns(m), at = UINT64_MAX;
	struct itimerspec its = { 0 };
	MHD_UNSIGNED_LONG_LONG ms;

	for (int s = CONN_WAITING; s <= CONN_BUSY; s++)
		if (m->conns[s].head && m->conns[s].head->since_ns + t < at)
			at = m->conns[s].head->since_ns + t;
	if (m->listener.paused && m->listener.resume_ns < at)
		at = m->listener.resume_ns;
	if (MHD_get_timeout(m->mhd, &ms) == MHD_YES && ms < 3600000 &&
	    now + (uint64_t)ms * 1000000ULL < at)
		at = now + (uint64_t)ms * 1000000ULL;
	if (at == UINT64_MAX)
		at = 0;
	if (at == m->timer_at_ns)
		return;
	its.it_value.tv_sec = (time_t)(at / 1000000000ULL);
	its.it_value.tv_nsec = (long)(at % 1000000000ULL);
	/* absolute: a deadline already past fires at once; 0 disarms */
	if (!timerfd_settime(m->timer_fd, TFD_TIMER_ABSTIME, &its, NULL))
		m->timer_at_ns = at;
}

void metrics__run(struct metrics *m)
{
	struct epoll_event evs[4];
	bool accept_ready = false, was_paused = m->listener.paused, changed;
	uint64_t now, ticks;
	int n = epoll_wait(m->epfd, evs, ARRAY_SIZE(evs), 0);

	for (int i = 0; i < n; i++) {
		if (evs[i].data.ptr == &m->listener)
			accept_ready = true;
		else if (evs[i].data.ptr == &m->timer_fd &&
			 read(m->timer_fd, &ticks, sizeof(ticks)) > 0)
			m->timer_at_ns = 0;
	}
	/* first what has arrived: a request read now still counts as in time */
	MHD_run(m->mhd);
	now = mono_now_ns();
	changed = expire(m, now);
	if (listen__tick(&m->listener, now) && was_paused)
		accept_ready = true;
	if (accept_ready)
		changed |= accept_some(m, now);
	/* read the newcomers' requests, close what we shut down */
	if (changed)
		MHD_run(m->mhd);
	arm_timer(m, mono_now_ns());
}

void metrics__stats(const struct metrics *m, struct metrics_stats *ret)
{
	*ret = (struct metrics_stats){
		.connections =
			m->conns[CONN_WAITING].n + m->conns[CONN_BUSY].n + m->conns[CONN_CLOSING].n,
		.accepted = m->accepted,
		.closed_timeout = m->closed_timeout,
		.closed_evicted = m->closed_evicted,
		.accept_pauses = m->listener.pauses,
	};
}

static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[80];
	const char *port;
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM },
			*res = NULL;
	size_t hl;

	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		hl = (size_t)(end - addr - 1);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, addr + 1, hl);
		port = end + 2;
	} else {
		port = strrchr(addr, ':');
		if (!port)
			return -EINVAL;
		hl = (size_t)(port - addr);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, addr, hl);
		port++;
	}
	host[hl] = 0;
	if (!*port || getaddrinfo(host, port, &hints, &res) || !res)
		return -EINVAL;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int open_listener(struct sockaddr_storage *ss, socklen_t sl)
{
	int fd, one = 1, r;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* as MHD did: a restart must not wait for TIME_WAIT to pass */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)ss, sl) || listen(fd, SOMAXCONN) ||
	    getsockname(fd, (struct sockaddr *)ss, &sl)) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int watch(int epfd, int fd, void *ptr)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ptr };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int metrics__new(struct daemon *d, const char *addr, struct metrics **ret)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = 0;
	const union MHD_DaemonInfo *info;
	struct metrics *m;
	char host[64];
	int r;

	if (parse_addr(addr, &ss, &sl))
		return log_error_errno(EINVAL, "metrics address '%s' is not IP:PORT or [IPv6]:PORT",
				       addr);
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->d = d;
	m->epfd = m->timer_fd = -1;
	m->listen_fd = open_listener(&ss, sl);
	if (m->listen_fd < 0) {
		r = log_error_errno(m->listen_fd,
				    "Failed to serve /metrics on %s: %m (address in use? set "
				    "[metrics] address or --metrics-address)",
				    addr);
		goto err_free;
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(m->address, sizeof(m->address), "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(m->address, sizeof(m->address), "%s:%u", host, ntohs(s4->sin_port));
	}
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (m->epfd < 0 || m->timer_fd < 0) {
		r = log_error_errno(errno, "Failed to set up the metrics server: %m");
		goto err_close;
	}
	/* no MHD idle timeout: our deadlines replace it (see above) */
	m->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG, 0,
				  NULL, NULL, handle, m, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, m,
				  MHD_OPTION_CONNECTION_TIMEOUT, 0u, MHD_OPTION_CONNECTION_LIMIT,
				  MHD_CONN_LIMIT, MHD_OPTION_NOTIFY_CONNECTION, notify_connection,
				  m, MHD_OPTION_NOTIFY_COMPLETED, request_completed, m,
				  MHD_OPTION_END);
	if (!m->mhd) {
		r = log_error_errno(errno ? errno : EINVAL,
				    "Failed to start libmicrohttpd for /metrics: %m");
		goto err_close;
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	m->mhd_fd = info ? info->epoll_fd : -1;
	if (m->mhd_fd < 0) {
		r = log_error_errno(EINVAL, "libmicrohttpd gave no epoll fd");
		goto err_stop;
	}
	r = watch(m->epfd, m->mhd_fd, &m->mhd_fd);
	if (!r)
		r = watch(m->epfd, m->timer_fd, &m->timer_fd);
	if (!r)
		r = listen__init(&m->listener, m->listen_fd, m->epfd, &m->listener, "/metrics");
	if (r) {
		log_error_errno(r, "Failed to watch the metrics server's fds: %m");
		goto err_stop;
	}
	m->fd_cap_start = m->fd_cap = fd_budget();
	if (m->fd_cap < d->conf.metrics_max_connections)
		log_warn("[metrics] max_connections %u: only %u connections fit in what "
			 "RLIMIT_NOFILE leaves (raise LimitNOFILE= to serve more)",
			 d->conf.metrics_max_connections, m->fd_cap);
	*ret = m;
	return 0;

err_stop:
	MHD_stop_daemon(m->mhd);
err_close:
	if (m->timer_fd >= 0)
		close(m->timer_fd);
	if (m->epfd >= 0)
		close(m->epfd);
	close(m->listen_fd);
err_free:
	free(m);
	return r;
}

void metrics__free(struct metrics *m)
{
	if (!m)
		return;
	/* closes every connection, each through notify_connection(CLOSED) */
	MHD_stop_daemon(m->mhd);
	for (int s = 0; s < CONN_STATES; s++) {
		while (m->conns[s].head) {
			struct http_conn *c = m->conns[s].head;

			conn_unlink(m, c);
			free(c);
		}
	}
	close(m->timer_fd);
	close(m->epfd);
	close(m->listen_fd);
	free(m);
}

int metrics__fd(const struct metrics *m)
{
	return m->epfd;
}

const char *metrics__address(const struct metrics *m)
{
	return m->address;
}
