// SPDX-License-Identifier: Apache-2.0
/*
 * The /metrics endpoint. The text is rendered from the daemon's model and the
 * BPF programs' own counters: a scrape never reads cgroupfs. MHD runs in
 * external-epoll mode, so rendering happens on the daemon's only thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "expo.h"
#include "log.h"
#include "metrics.h"
#include "proto.h"
#include "util.h"

struct metrics {
	struct daemon *d;
	struct MHD_Daemon *mhd;
	int fd;
	char address[96];
};

/* Histogram bounds: le = 2^(k+1) us for these slots k: 4us .. 8.4s, x4 apart. */
static const unsigned hist_bounds[] = { 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 22 };

static const char *const sig_label[CGP_SIG_MAX] = { "cpu", "memory" };

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

static void gauge(struct expo *e, const char *name, const char *help, uint64_t v)
{
	expo_family(e, name, "gauge", help);
	expo_begin(e, name, NULL);
	expo_value_u64(e, v);
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

	gauge(e, "cgpilot_node_cpus", "Online CPUs of the node", d->node_cpus);
	gauge(e, "cgpilot_node_memory_bytes", "Memory of the node", d->node_memory);
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
	gauge(e, "cgpilot_daemon_resident_memory_bytes", "Resident memory of cgpilotd",
	      (uint64_t)rss_pages * (uint64_t)sysconf(_SC_PAGESIZE));
	expo_family(e, "cgpilot_scrape_duration_seconds", "gauge",
		    "Time the previous scrape took to render");
	expo_begin(e, "cgpilot_scrape_duration_seconds", NULL);
	expo_value_scaled(e, d->last_scrape_ns, 9);
	gauge(e, "cgpilot_cgroups_observed", "Cgroups in the observed set", observed);
	gauge(e, "cgpilot_cgroups_exported",
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
	uint64_t t0 = now_ns();
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
	render_self(d, &e, n, exported);
	for (unsigned i = 0; i < exported; i++)
		free(labels[i]);
	free(labels);
	free(cgs);
	out = expo_take(&e, ret_len);
	d->last_scrape_ns = now_ns() - t0;
	return out;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct metrics *m = cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned status = MHD_HTTP_OK;
	const char *type = "text/plain; version=0.0.4; charset=utf-8";
	char *body;
	size_t len;

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

int metrics__new(struct daemon *d, const char *addr, struct metrics **ret)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = 0;
	const union MHD_DaemonInfo *info;
	struct metrics *m;
	char host[64];
	uint16_t port;

	if (parse_addr(addr, &ss, &sl))
		return log_error_errno(EINVAL, "metrics address '%s' is not IP:PORT or [IPv6]:PORT",
				       addr);
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->d = d;
	port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	m->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
					  (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				  port, NULL, NULL, handle, m, MHD_OPTION_SOCK_ADDR, &ss,
				  MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_CONNECTION_LIMIT,
				  64u, MHD_OPTION_END);
	if (!m->mhd) {
		free(m);
		return log_error_errno(
			EADDRNOTAVAIL,
			"Failed to serve /metrics on %s (address in use? set [metrics] "
			"address or --metrics-address)",
			addr);
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	m->fd = info ? info->epoll_fd : -1;
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_BIND_PORT);
	if (info)
		port = info->port;
	if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
		snprintf(m->address, sizeof(m->address), "[%s]:%u", host, port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
		snprintf(m->address, sizeof(m->address), "%s:%u", host, port);
	}
	if (m->fd < 0) {
		MHD_stop_daemon(m->mhd);
		free(m);
		return log_error_errno(EINVAL, "libmicrohttpd gave no epoll fd");
	}
	*ret = m;
	return 0;
}

void metrics__free(struct metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->mhd);
	free(m);
}

int metrics__fd(const struct metrics *m)
{
	return m->fd;
}

void metrics__run(struct metrics *m)
{
	MHD_run(m->mhd);
}

const char *metrics__address(const struct metrics *m)
{
	return m->address;
}
