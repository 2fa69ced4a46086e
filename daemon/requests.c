// SPDX-License-Identifier: Apache-2.0
/* Control requests: each op turns the model into a JSON reply. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "containers.h"
#include "daemon.h"
#include "export.h"
#include "log.h"
#include "metrics.h"
#include "proto.h"
#include "topology.h"
#include "util.h"

#define MAX_PROGS 32
#define MAX_MAPS 32

struct deferred {
	struct ep_source src; /* EP_DEFERRED */
	struct ctl_client *cl;
	int timer_fd;
	int stats_fd;
	uint64_t sample_ms;
	int nprogs;
	struct telemetry_prog_info before[MAX_PROGS];
	bool dead; /* retired in this epoll batch, freed after it */
	struct deferred *next;
};

static json_object *u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

static void add(json_object *o, const char *k, json_object *v)
{
	json_object_object_add(o, k, v);
}

static json_object *pressure_list(uint32_t active)
{
	json_object *a = json_object_new_array();

	for (uint32_t s = 0; s < CGP_SIG_MAX; s++)
		if (active & (1u << s))
			json_object_array_add(a, json_object_new_string(proto_signal_name(s)));
	return a;
}

static void add_str_opt(json_object *o, const char *k, const char *v)
{
	if (v && *v)
		add(o, k, json_object_new_string(v));
}

/* Who the cgroup belongs to (lib/identity.h, daemon/export.c); {} if nobody known. */
static json_object *identity_json(struct daemon *d, const struct cg *c)
{
	json_object *o = json_object_new_object();
	struct cg_identity id;
	const char *class;

	export_identity(d, c, &id, &class);
	add_str_opt(o, "kind", cg_id_kind_name(id.kind));
	add_str_opt(o, "pod_uid", id.pod_uid);
	add_str_opt(o, "container_id", id.container_id);
	add_str_opt(o, "qos", id.qos);
	add_str_opt(o, "class", class);
	add_str_opt(o, "engine", id.engine);
	add_str_opt(o, "unit", id.unit);
	if (id.sidecar)
		add(o, "sidecar", json_object_new_boolean(true));
	return o;
}

json_object *req_cg_brief(struct daemon *d, const struct cg *c)
{
	const struct cgp_cg_stats *s = &c->fig.bpf;
	json_object *o = json_object_new_object();

	add(o, "id", u64(c->id));
	add(o, "path", json_object_new_string(cg_display_path(c)));
	add(o, "identity", identity_json(d, c));
	add(o, "exported", json_object_new_boolean(c->exported));
	/* files-only mode: the figures BPF measures are absent, not zero */
	if (daemon_files_only(d))
		return o;
	add(o, "cpu_wait_ns", u64(s->rq_delay_ns));
	add(o, "cpu_ns", u64(s->oncpu_ns));
	add(o, "reclaim_ns", u64(s->reclaim_ns));
	add(o, "iowait_ns", u64(s->iowait_ns));
	add(o, "io_bytes", u64(s->io_bytes[0] + s->io_bytes[1]));
	add(o, "cpu_rate", json_object_new_double(c->fig.cpu_rate));
	add(o, "cpu_wait_rate", json_object_new_double(c->fig.cpu_wait_rate));
	add(o, "reclaim_rate", json_object_new_double(c->fig.reclaim_rate));
	add(o, "iowait_rate", json_object_new_double(c->fig.iowait_rate));
	add(o, "pressure", pressure_list(c->active));
	return o;
}

static json_object *psi_json(const struct psi_totals *p)
{
	json_object *o = json_object_new_object();

	add(o, "some_us", u64(p->some_us));
	if (p->has_full)
		add(o, "full_us", u64(p->full_us));
	return o;
}

static json_object *psi_all_json(const struct cg *c)
{
	json_object *psi = json_object_new_object();

	add(psi, "cpu", psi_json(&c->fig.psi[PSI_CPU]));
	add(psi, "memory", psi_json(&c->fig.psi[PSI_MEMORY]));
	add(psi, "io", psi_json(&c->fig.psi[PSI_IO]));
	return psi;
}

/* Files-only mode: what the kernel's files give (cpu.stat, memory.events.local,
 * io.stat, PSI), nothing of what BPF would have measured. */
static json_object *cg_detail_files(struct daemon *d, const struct cg *c)
{
	json_object *o = req_cg_brief(d, c), *cpu = json_object_new_object();
	json_object *mem = json_object_new_object(), *io = json_object_new_object();
	const struct io_stat_totals *t = &c->fig.io_stat;

	add(o, "telemetry", json_object_new_string("files"));
	if (c->fig.usage_valid)
		add(cpu, "usage_usec", u64(c->fig.usage_usec));
	add(o, "cpu", cpu);
	if (c->fig.oom_kill_local_valid)
		add(mem, "oom_kills", u64(c->fig.oom_kill_local));
	if (c->fig.memory_valid)
		add(mem, "current_bytes", u64(c->fig.memory_current));
	add(o, "memory", mem);
	if (c->fig.io_stat_valid) {
		add(io, "read_bytes", u64(t->rbytes));
		add(io, "write_bytes", u64(t->wbytes));
		add(io, "read_ops", u64(t->rios));
		add(io, "write_ops", u64(t->wios));
	}
	add(o, "io", io);
	if (c->fig.psi_valid)
		add(o, "psi", psi_all_json(c));
	return o;
}

static json_object *cg_detail(struct daemon *d, const struct cg *c)
{
	const struct cgp_cg_stats *s = &c->fig.bpf;
	json_object *o, *cpu, *mem, *io, *thr;
	struct cgp_threshold th;
	int defaults;

	if (daemon_files_only(d))
		return cg_detail_files(d, c);
	o = req_cg_brief(d, c);
	defaults = telemetry__get_threshold(d->tel, c->id, &th);
	add(o, "slot", json_object_new_int64(c->slot));
	cpu = json_object_new_object();
	add(cpu, "wait_ns", u64(s->rq_delay_ns));
	add(cpu, "wait_count", u64(s->rq_count));
	add(cpu, "on_cpu_ns", u64(s->oncpu_ns));
	add(cpu, "nvcsw", u64(s->nvcsw));
	add(cpu, "nivcsw", u64(s->nivcsw));
	if (c->fig.usage_valid)
		add(cpu, "usage_usec", u64(c->fig.usage_usec));
	add(cpu, "wait_hist_us", proto_hist_json(s->rq_hist, CGP_HIST_SLOTS));
	add(o, "cpu", cpu);
	mem = json_object_new_object();
	add(mem, "reclaim_ns", u64(s->reclaim_ns));
	add(mem, "reclaim_count", u64(s->reclaim_count));
	add(mem, "oom_kills", u64(s->oom_kills + c->fig.oom_kills_user));
	add(o, "memory", mem);
	io = json_object_new_object();
	add(io, "read_bytes", u64(s->io_bytes[CGP_IO_READ]));
	add(io, "write_bytes", u64(s->io_bytes[CGP_IO_WRITE]));
	add(io, "read_ops", u64(s->io_ops[CGP_IO_READ]));
	add(io, "write_ops", u64(s->io_ops[CGP_IO_WRITE]));
	add(io, "latency_ns", u64(s->io_lat_ns));
	add(io, "iowait_ns", u64(s->iowait_ns));
	add(io, "latency_hist_us", proto_hist_json(s->io_hist, CGP_HIST_SLOTS));
	add(o, "io", io);
	if (c->fig.psi_valid)
		add(o, "psi", psi_all_json(c));
	thr = json_object_new_object();
	add(thr, "cpu_ns", u64(th.ns[CGP_SIG_CPU]));
	add(thr, "memory_ns", u64(th.ns[CGP_SIG_MEM]));
	add(thr, "io_ns", u64(th.ns[CGP_SIG_IO]));
	add(thr, "default", json_object_new_boolean(defaults == 1));
	/* which is in force: the daemon's defaults, a class target cgpilot set
	 * for a guaranteed container ([policy.cpu] target_us), or an operator's */
	add(thr, "source",
	    json_object_new_string(defaults == 1			   ? "default" :
				   containers__class_threshold(d->ctrs, c) ? "class" :
									     "operator"));
	add(o, "thresholds", thr);
	return o;
}

static json_object *ok_reply(void)
{
	json_object *o = json_object_new_object();

	add(o, "ok", json_object_new_boolean(true));
	return o;
}

json_object *req_controllers_json(unsigned mask)
{
	json_object *a = json_object_new_array();

	for (unsigned i = 0; i < cgfs_n_controllers; i++)
		if (mask & cgfs_controller_bits[i])
			json_object_array_add(a, json_object_new_string(cgfs_controller_names[i]));
	return a;
}

/* What the kernel offers, as probed when the programs were loaded (none of
 * it when they did not load: files-only mode). */
static json_object *kernel_features_json(struct daemon *d)
{
	const struct telemetry_features *f = telemetry__features(d->tel);
	json_object *feat = json_object_new_object();

	add(feat, "bpf_telemetry", json_object_new_boolean(!daemon_files_only(d)));
	add(feat, "oom_victim_task", json_object_new_boolean(f->oom_task));
	add(feat, "oom_victim_pid", json_object_new_boolean(f->oom_pid));
	add(feat, "memcg_reclaim", json_object_new_boolean(f->memcg_reclaim));
	add(feat, "direct_reclaim", json_object_new_boolean(f->direct_reclaim));
	add(feat, "block_io", json_object_new_boolean(f->block));
	add(feat, "cgroup_events", json_object_new_boolean(f->cgroup_events));
	return feat;
}

/* What the kernel lacks, by feature; the two mark_victim flavors exclude each other:
 * missing only if neither loaded. node.show and status say the same. */
static json_object *missing_features_json(struct daemon *d)
{
	const struct telemetry_features *f = telemetry__features(d->tel);
	json_object *missing = json_object_new_array();

	if (daemon_files_only(d))
		json_object_array_add(missing, json_object_new_string("bpf_telemetry"));
	if (!f->oom_task && !f->oom_pid)
		json_object_array_add(missing, json_object_new_string("oom_victim"));
	if (!f->memcg_reclaim)
		json_object_array_add(missing, json_object_new_string("memcg_reclaim"));
	if (!f->direct_reclaim)
		json_object_array_add(missing, json_object_new_string("direct_reclaim"));
	if (!f->block)
		json_object_array_add(missing, json_object_new_string("block_io"));
	if (!f->cgroup_events)
		json_object_array_add(missing, json_object_new_string("cgroup_events"));
	return missing;
}

static json_object *missing_tracepoints_json(struct daemon *d)
{
	json_object *missing = json_object_new_array();

	if (telemetry__missing(d->tel)[0]) {
		_cleanup_free_ char *m = strdup(telemetry__missing(d->tel));

		for (char *s = m ? strtok(m, ",") : NULL; s; s = strtok(NULL, ","))
			json_object_array_add(missing, json_object_new_string(s));
	}
	return missing;
}

/* Kernel memory of our maps, as the kernel counts it (0 where it does not). */
static uint64_t map_bytes(struct daemon *d)
{
	struct telemetry_map_info maps[MAX_MAPS];
	int n = telemetry__maps(d->tel, maps, MAX_MAPS);
	uint64_t sum = 0;

	for (int i = 0; i < n; i++)
		sum += maps[i].memlock;
	return sum;
}

/*
 * Where the figures come from: "bpf", or "files" (the programs did not load)
 * with the kernel feature found missing and the whole reason; node.show and
 * status.
 */
static void telemetry_json(struct daemon *d, json_object *o)
{
	add(o, "telemetry", json_object_new_string(daemon_files_only(d) ? "files" : "bpf"));
	if (!daemon_files_only(d))
		return;
	add(o, "telemetry_missing", json_object_new_string(d->tel_failure.feature));
	add(o, "telemetry_error", json_object_new_string(d->tel_failure.why));
}

/* The reply to an op that needs the BPF programs, in files-only mode. */
static int no_bpf(struct daemon *d, struct ctl_client *cl, const char *what)
{
	return ctl_client__reply_error(cl,
				       "%s: the BPF programs are not loaded (files-only mode): %s",
				       what, d->tel_failure.why);
}

/* How full the BPF slots are: node.show and status. */
static json_object *slots_fill_json(struct daemon *d)
{
	json_object *sl = json_object_new_object();

	add(sl, "used", u64(d->slots_used));
	add(sl, "capacity", u64(d->conf.max_cgroups));
	add(sl, "capacity_auto", json_object_new_boolean(d->max_cgroups_auto));
	add(sl, "map_bytes", u64(map_bytes(d)));
	return sl;
}

/* BPF's part of status: the ring buffer, the slots, the onset episodes. */
static void status_bpf_json(struct daemon *d, json_object *o)
{
	json_object *rb, *ev, *dr, *sl, *ep;
	struct cgp_self_stats ss;

	telemetry__self_stats(d->tel, &ss);
	rb = json_object_new_object();
	ev = json_object_new_object();
	dr = json_object_new_object();
	for (uint32_t t = 1; t < CGP_EV_MAX; t++) {
		add(ev, proto_event_name(t), u64(ss.events[t]));
		add(dr, proto_event_name(t), u64(ss.drops[t]));
	}
	add(rb, "events", ev);
	add(rb, "drops", dr);
	add(rb, "slot_alloc_failures", u64(ss.slot_alloc_fail));
	add(o, "ringbuf", rb);
	sl = slots_fill_json(d);
	add(sl, "read_ns", u64(d->read_stats.last_ns));
	add(sl, "read_max_ns", u64(d->read_stats.max_ns));
	add(sl, "read_cgroups", u64(d->read_stats.last_cgroups));
	add(sl, "adopted", u64(d->slot_stats.adopted));
	add(sl, "reclaimed", u64(d->slot_stats.reclaimed));
	add(sl, "rescans", u64(d->slot_stats.rescans));
	add(sl, "rescan_found", u64(d->slot_stats.rescan_found));
	add(sl, "thresholds_dropped", u64(d->slot_stats.thresholds_dropped));
	add(o, "slots", sl);
	ep = json_object_new_object();
	add(ep, "cleared_by_sample", u64(ss.cleared_by_sample));
	add(ep, "cleared_by_timer", u64(ss.cleared_by_timer));
	add(ep, "cleared_by_sweep", u64(ss.cleared_by_sweep));
	add(ep, "cleared_no_cgid", u64(ss.cleared_no_cgid));
	add(ep, "track_failures", u64(ss.episode_track_fail));
	add(ep, "timer_setup_failures", u64(ss.timer_setup_fail));
	add(ep, "timer_restarts", u64(ss.timer_restarts));
	add(ep, "resynced", u64(d->slot_stats.episodes_resynced));
	/* looks at the cgroups with a threshold right after drops */
	add(ep, "drop_checks", u64(d->slot_stats.fast_resyncs));
	add(o, "episodes", ep);
}

/* The control loops that cannot run without the BPF programs, and why. */
static json_object *inactive_loops_json(struct daemon *d)
{
	json_object *o = json_object_new_object();

	if (!daemon_files_only(d))
		return o;
	if (d->conf.cpu_policy)
		add(o, "cpu", json_object_new_string(CTR_INACTIVE_CPU));
	if (d->conf.io_policy)
		add(o, "io", json_object_new_string(CTR_INACTIVE_IO));
	return o;
}

static int do_status(struct daemon *d, struct ctl_client *cl, json_object *req)
{
	const struct telemetry_features *f = telemetry__features(d->tel);
	json_object *o = ok_reply(), *feat, *cj;
	struct ctl_stats cs;

	add(o, "version", json_object_new_string(CGPILOT_VERSION));
	add(o, "pid", json_object_new_int(getpid()));
	add(o, "uptime_s", json_object_new_double((double)(mono_now_ns() - d->start_ns) / 1e9));
	add(o, "mode", json_object_new_string(d->telemetry_only ? "telemetry-only" : "full"));
	telemetry_json(d, o);
	add(o, "cgroup_root", json_object_new_string(d->cgroup_root));
	add(o, "controllers", req_controllers_json(d->controllers));
	add(o, "missing_controllers", req_controllers_json(d->missing_controllers));
	feat = kernel_features_json(d);
	if (!daemon_files_only(d))
		add(feat, "pinned_maps_reused", json_object_new_boolean(f->maps_reused));
	add(o, "features", feat);
	add(o, "missing_features", missing_features_json(d));
	add(o, "missing_tracepoints", missing_tracepoints_json(d));
	add(o, "inactive_loops", inactive_loops_json(d));
	add(o, "dry_run", json_object_new_boolean(d->conf.dry_run));
	add(o, "cgroups", json_object_new_int64(model__count(d->model)));
	add(o, "window_ms", json_object_new_int64(d->conf.window_ms));
	add(o, "metrics_address",
	    d->metrics ? json_object_new_string(metrics__address(d->metrics)) : NULL);
	if (d->metrics_error[0])
		add(o, "metrics_error", json_object_new_string(d->metrics_error));
	if (containers__state_error(d->ctrs))
		add(o, "state_error", json_object_new_string(containers__state_error(d->ctrs)));
	add(o, "node_cpus", json_object_new_int64(d->node_cpus));
	add(o, "node_memory_bytes", u64(d->node_memory));
	/* files-only mode: no ring buffer, slots or episodes to count */
	if (!daemon_files_only(d))
		status_bpf_json(d, o);
	ctl__stats(d->ctl, &cs);
	cj = json_object_new_object();
	add(cj, "clients", u64(cs.clients));
	add(cj, "max_clients", u64(cs.max_clients));
	add(cj, "accepted", u64(cs.accepted));
	add(cj, "refused", u64(cs.refused));
	add(cj, "dropped_slow", u64(cs.dropped_slow));
	add(cj, "dropped_over_budget", u64(cs.dropped_over_budget));
	add(cj, "output_bytes", u64(cs.output_bytes));
	add(cj, "output_limit_bytes", u64(cs.output_limit_bytes));
	add(cj, "accept_pauses", u64(cs.accept_pauses));
	add(cj, "rate_limited", u64(d->rate_limited));
	add(cj, "changes_per_s", u64(d->conf.changes_per_s));
	add(o, "control", cj);
	return ctl_client__reply(cl, o);
}

static int do_list(struct daemon *d, struct ctl_client *cl, json_object *req)
{
	json_object *o = ok_reply(), *a = json_object_new_array();
	unsigned n;
	struct cg **all = model__sorted(d->model, &n);

	if (!all) {
		json_object_put(o);
		json_object_put(a);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++)
		if (!all[i]->dead_ns)
			json_object_array_add(a, req_cg_brief(d, all[i]));
	add(o, "cgroups", a);
	return ctl_client__reply(cl, o);
}

static int arg_cgroup(struct daemon *d, struct ctl_client *cl, json_object *req, struct cg **ret)
{
	const char *arg = NULL, *msg = NULL;

	if (proto_get_string(req, "cgroup", true, &arg, &msg) < 0)
		return ctl_client__reply_error(cl, "\"cgroup\": %s", msg), 1;
	*ret = daemon_resolve_cgroup(d, arg, &msg);
	if (!*ret)
		return ctl_client__reply_error(cl, "cgroup '%s': %s", arg, msg), 1;
	return 0;
}

static int do_show(struct daemon *d, struct ctl_client *cl, json_object *req)
{
	struct cg *c;
	json_object *o;

	if (arg_cgroup(d, cl, req, &c))
		return 0;
	/* a user asking for one cgroup gets fresh figures */
	daemon_read_bpf_stats(d, c);
	if (daemon_read_kernel_stats(d, c) == -ENOENT)
		return ctl_client__reply_error(cl, "cgroup '%s' was just removed",
					       cg_display_path(c));
	o = ok_reply();
	add(o, "cgroup", cg_detail(d, c));
	return ctl_client__reply(cl, o);
}

static json_object *sums_json(const struct cg_sums *s)
{
	json_object *o = json_object_new_object();

	add(o, "cpu_ns", u64(s->oncpu_ns));
	add(o, "cpu_wait_ns", u64(s->rq_delay_ns));
	add(o, "reclaim_ns", u64(s->reclaim_ns));
	add(o, "iowait_ns", u64(s->iowait_ns));
	add(o, "io_bytes", u64(s->io_bytes[0] + s->io_bytes[1]));
	add(o, "oom_kills", u64(s->oom_kills));
	return o;
}

/* Path order with '/' first: a cgroup's descendants follow it at once. */
static int cmp_tree(const void *a, const void *b)
{
	const unsigned char *x = (const unsigned char *)(*(struct cg *const *)a)->path;
	const unsigned char *y = (const unsigned char *)(*(struct cg *const *)b)->path;

	for (;; x++, y++) {
		unsigned cx = *x == '/' ? 1 : *x, cy = *y == '/' ? 1 : *y;

		if (cx != cy || !cx)
			return (int)cx - (int)cy;
	}
}

static bool sums_zero(const struct cg_sums *s)
{
	return !s->oncpu_ns && !s->rq_delay_ns && !s->reclaim_ns && !s->iowait_ns &&
	       !s->oom_kills && !s->io_ops[0] && !s->io_ops[1];
}

/*
 * cgroup.tree: the hierarchy below "cgroup" (default the root), each
 * cgroup's own figures and its subtree's (own plus every live descendant's;
 * a subtree root adds what its retired descendants counted), at most
 * "depth" levels down, idle subtrees left out unless "all".
 */
static int do_tree(struct daemon *d, struct ctl_client *cl, json_object *req)
{
	const char *arg = "/", *msg = NULL;
	uint64_t max_depth = INT32_MAX;
	bool all_nodes = false;
	unsigned n = model__count(d->model), nsel = 0;
	struct cg *const *all = model__all(d->model, &n);
	struct cg_sums *sums = NULL, own;
	struct cg **sel = NULL, *top;
	json_object *o, *a;
	size_t tl;

	if (proto_get_string(req, "cgroup", false, &arg, &msg) < 0)
		return ctl_client__reply_error(cl, "\"cgroup\": %s", msg);
	if (proto_get_u64(req, "depth", false, &max_depth, &msg) < 0)
		return ctl_client__reply_error(cl, "\"depth\": %s", msg);
	if (proto_get_bool(req, "all", false, &all_nodes, &msg) < 0)
		return ctl_client__reply_error(cl, "\"all\": %s", msg);
	if (!arg)
		arg = "/";
	if (daemon_files_only(d))
		return no_bpf(d, cl, "the subtree sums are of BPF's figures");
	top = daemon_resolve_cgroup(d, arg, &msg);
	if (!top)
		return ctl_client__reply_error(cl, "cgroup '%s': %s", arg, msg);
	tl = strlen(top->path);
	sums = calloc(n ? n : 1, sizeof(*sums));
	sel = calloc(n ? n : 1, sizeof(*sel));
	if (!sums || !sel) {
		free(sums);
		free(sel);
		return -ENOMEM;
	}
	model__subtree_sums(d->model, sums, false);
	for (unsigned i = 0; i < n; i++) {
		struct cg *c = all[i];

		if (c->dead_ns || c->path_partial)
			continue;
		if (c != top &&
		    (tl ? strncmp(c->path, top->path, tl) || c->path[tl] != '/' : false))
			continue;
		if (!all_nodes && c != top && sums_zero(&sums[c->idx]))
			continue;
		sel[nsel++] = c;
	}
	qsort(sel, nsel, sizeof(*sel), cmp_tree);
	o = ok_reply();
	a = json_object_new_array();
	for (unsigned i = 0; i < nsel; i++) {
		const char *rest = sel[i]->path + tl;
		json_object *e;
		int depth = 0;

		for (; *rest; rest++)
			depth += *rest == '/';
		if (!tl && sel[i] != top)
			depth++; /* below the root: "a" is one down */
		if ((uint64_t)depth > max_depth)
			continue;
		e = json_object_new_object();
		add(e, "path", json_object_new_string(cg_display_path(sel[i])));
		add(e, "id", u64(sel[i]->id));
		add(e, "depth", json_object_new_int(depth));
		add(e, "identity", identity_json(d, sel[i]));
		add(e, "subtree_root", json_object_new_boolean(sel[i]->gone != NULL));
		cg_local_sums(sel[i], &own);
		add(e, "own", sums_json(&own));
		add(e, "subtree", sums_json(&sums[sel[i]->idx]));
		json_object_array_add(a, e);
	}
	add(o, "cgroup", json_object_new_string(cg_display_path(top)));
	add(o, "nodes", a);
	free(sums);
	free(sel);
	return ctl_client__reply(cl, o);
}

static int do_why(struct daemon *d, struct ctl_client *cl, json_object *req)
{
	struct cg *c;
	json_object *o;

	if (arg_cgroup(d, cl, req, &c))
		return 0;
	o = ok_reply();
	add(o, "cgroup", json_object_new_string(cg_display_path(c)));
	add(o, "id", u64(c->id));
	add(o, "why", containers__why(d->ctrs, c->id));
	return ctl_client__reply(cl, o);
}

static int do_subscribe(struct daemon *d, struct ctl_client *cl, json_object *req)
{
	json_object *evs, *o, *names;
	uint32_t mask = 0;

	if (json_object_object_get_ex(req, "events", &evs) &&
	    !json_object_is_type(evs, json_type_null)) {
		if (!json_object_is_type(evs, json_type_array))
			return ctl_client__reply_error(cl, "\"events\" must be an array of names");
		for (size_t i = 0; i < json_object_array_length(evs); i++) {
			json_object *e = json_object_array_get_idx(evs, i);
			int t = json_object_is_type(e, json_type_string) ?
					proto_event_type(json_object_get_string(e)) :
					-1;

			if (t <= 0)
				return ctl_client__reply_error(
					cl,
					"unknown event type %s (known: mkdir, rmdir, oom, onset, cleared, "
					"action)",
					json_object_to_json_string(e));
			mask |= 1u << t;
		}
	} else {
		for (uint32_t t = 1; t < PROTO_EV_MAX; t++)
			mask |= 1u << t;
	}
	o = ok_reply();
	names = json_object_new_array();
	for (uint32_t t = 1; t < PROTO_EV_MAX; t++)
		if (mask & (1u << t))
			json_object_array_add(names, json_object_new_string(proto_event_name(t)));
	add(o, "subscribed", names);
	ctl_client__subscribe(cl, mask);
	(void)d;
	return ctl_client__reply(cl, o);
}

static json_object *progs_json(const struct telemetry_prog_info *now,
			       const struct telemetry_prog_info *before, int n)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < n; i++) {
		json_object *p = json_object_new_object();
		uint64_t cnt = now[i].run_cnt - (before ? before[i].run_cnt : 0);
		uint64_t ns = now[i].run_time_ns - (before ? before[i].run_time_ns : 0);

		add(p, "name", json_object_new_string(now[i].name));
		add(p, "id", json_object_new_int64(now[i].id));
		add(p, "run_cnt", u64(cnt));
		add(p, "run_time_ns", u64(ns));
		add(p, "avg_ns", json_object_new_double(cnt ? (double)ns / (double)cnt : 0));
		json_object_array_add(a, p);
	}
	return a;
}

/*
 * Retire a pending reply. Its memory outlives the current epoll batch: an
 * event of the same batch may still point at it (its timer fired while its
 * client closed), so it is only unlinked, closed and marked here, and freed
 * by requests_reap() once the batch is done.
 */
static void deferred_retire(struct daemon *d, struct deferred *df)
{
	if (df->dead)
		return;
	for (struct deferred **pp = &d->deferred; *pp; pp = &(*pp)->next) {
		if (*pp == df) {
			*pp = df->next;
			break;
		}
	}
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, df->timer_fd, NULL);
	close(df->timer_fd);
	if (df->stats_fd >= 0)
		close(df->stats_fd);
	df->dead = true;
	df->cl = NULL;
	df->next = d->deferred_dead;
	d->deferred_dead = df;
}

void requests_reap(struct daemon *d)
{
	while (d->deferred_dead) {
		struct deferred *df = d->deferred_dead;

		d->deferred_dead = df->next;
		free(df);
	}
}

static int do_prog_show(struct daemon *d, struct ctl_client *cl, json_object *req)
{
	struct telemetry_prog_info now[MAX_PROGS];
	struct itimerspec its = { 0 };
	struct epoll_event ev = { .events = EPOLLIN };
	uint64_t sample_ms = 0;
	const char *msg = NULL;
	struct deferred *df;
	int n;

	if (proto_get_u64(req, "sample_ms", false, &sample_ms, &msg) < 0 || sample_ms > 10000)
		return ctl_client__reply_error(cl, "\"sample_ms\": %s",
					       msg ? msg : "must be at most 10000");
	if (daemon_files_only(d))
		return no_bpf(d, cl, "no programs to show");
	if (!sample_ms) {
		json_object *o;

		n = telemetry__progs(d->tel, now, MAX_PROGS);
		if (n < 0)
			return n;
		o = ok_reply();
		add(o, "sample_ms", json_object_new_int(0));
		add(o, "progs", progs_json(now, NULL, n));
		return ctl_client__reply(cl, o);
	}
	df = calloc(1, sizeof(*df));
	if (!df)
		return -ENOMEM;
	df->src.kind = EP_DEFERRED;
	df->cl = cl;
	df->sample_ms = sample_ms;
	/* run-time stats cost a little on every program run: on only while asked */
	df->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (df->stats_fd < 0) {
		int r = -errno;

		free(df);
		return ctl_client__reply_error(cl, "cannot enable BPF run-time stats: %s",
					       strerror(-r));
	}
	df->nprogs = telemetry__progs(d->tel, df->before, MAX_PROGS);
	df->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	its.it_value.tv_sec = (time_t)(sample_ms / 1000);
	its.it_value.tv_nsec = (long)(sample_ms % 1000) * 1000000L;
	ev.data.ptr = &df->src;
	if (df->nprogs < 0 || df->timer_fd < 0 || timerfd_settime(df->timer_fd, 0, &its, NULL) ||
	    epoll_ctl(d->epfd, EPOLL_CTL_ADD, df->timer_fd, &ev)) {
		int r = df->nprogs < 0 ? df->nprogs : -errno;

		if (df->timer_fd >= 0)
			close(df->timer_fd);
		close(df->stats_fd);
		free(df);
		return r;
	}
	df->next = d->deferred;
	d->deferred = df;
	return 0;
}

void requests_deferred_ready(struct daemon *d, struct ep_source *src)
{
	struct deferred *df = (struct deferred *)src;
	struct telemetry_prog_info now[MAX_PROGS];
	int n;

	if (df->dead)
		return; /* its client left earlier in this batch */
	n = telemetry__progs(d->tel, now, MAX_PROGS);
	if (n != df->nprogs) {
		ctl_client__reply_error(df->cl, "the BPF programs changed while they were "
						"sampled; ask again");
	} else {
		json_object *o = ok_reply();

		add(o, "sample_ms", u64(df->sample_ms));
		add(o, "progs", progs_json(now, df->before, n));
		ctl_client__reply(df->cl, o);
	}
	deferred_retire(d, df);
}

void requests_client_closed(void *ctx, struct ctl_client *cl)
{
	struct daemon *d = ctx;
	struct deferred *df = d->deferred;

	if (d->ctrs)
		containers__client_closed(d->ctrs, cl);
	while (df) {
		struct deferred *next = df->next;

		if (df->cl == cl)
			deferred_retire(d, df);
		df = next;
	}
}

void requests_free_all(struct daemon *d)
{
	while (d->deferred)
		deferred_retire(d, d->deferred);
	requests_reap(d);
	topology__free(d->topo);
	d->topo = NULL;
}

static int do_threshold_set(struct daemon *d, struct ctl_client *cl, json_object *req)
{
	const char *sig_name = NULL, *msg = NULL;
	struct cgp_threshold th;
	uint64_t ns = 0;
	json_object *o;
	struct cg *c;
	int sig, r;

	if (arg_cgroup(d, cl, req, &c))
		return 0;
	if (proto_get_string(req, "signal", true, &sig_name, &msg) < 0)
		return ctl_client__reply_error(cl, "\"signal\": %s", msg);
	sig = proto_signal(sig_name);
	if (sig < 0)
		return ctl_client__reply_error(cl, "unknown signal '%s' (cpu, memory or io)",
					       sig_name);
	if (proto_get_u64(req, "threshold_ns", true, &ns, &msg) < 0)
		return ctl_client__reply_error(cl, "\"threshold_ns\": %s", msg);
	if (daemon_files_only(d))
		return no_bpf(d, cl, "thresholds are the BPF onset detection's");
	telemetry__get_threshold(d->tel, c->id, &th);
	th.ns[sig] = ns;
	if (d->conf.dry_run) {
		log_info("dry run: would set %s threshold of %s to %" PRIu64 " ns", sig_name,
			 cg_display_path(c), ns);
	} else {
		r = telemetry__set_threshold(d->tel, c->id, &th);
		if (r)
			return r;
		containers__operator_threshold(d->ctrs, c->id);
		log_info("%s threshold of %s set to %" PRIu64 " ns (by uid %u)", sig_name,
			 cg_display_path(c), ns, (unsigned)ctl_client__uid(cl));
	}
	o = ok_reply();
	if (d->conf.dry_run)
		add(o, "dry_run", json_object_new_boolean(true));
	return ctl_client__reply(cl, o);
}

/* An id or a count that sysfs did not give (-1) is null. */
static json_object *int_or_null(int v)
{
	return v < 0 ? NULL : json_object_new_int(v);
}

static json_object *cpuset_json(const struct topo_cpuset *set)
{
	json_object *a = json_object_new_array_ext((int)set->n);

	for (unsigned i = 0; i < set->n; i++)
		json_object_array_add(a, json_object_new_int64(set->cpu[i]));
	return a;
}

static json_object *topo_cpu_json(const struct topo_cpu *c)
{
	json_object *o = json_object_new_object(), *llc = NULL;

	add(o, "cpu", json_object_new_int64(c->cpu));
	add(o, "online", json_object_new_boolean(c->online));
	add(o, "core_id", int_or_null(c->core_id));
	add(o, "package_id", int_or_null(c->package_id));
	add(o, "node", int_or_null(c->node));
	add(o, "siblings", cpuset_json(&c->siblings));
	if (c->llc_level > 0) {
		llc = json_object_new_object();
		add(llc, "level", json_object_new_int(c->llc_level));
		add(llc, "id", int_or_null(c->llc_id));
		add(llc, "cpus", cpuset_json(&c->llc_cpus));
	}
	add(o, "llc", llc);
	return o;
}

/* Topology does not change while the daemon runs: sysfs is read on first use only. */
static int node_topology(struct daemon *d)
{
	return d->topo ? 0 : topology__read("", &d->topo);
}

/* What containers may have, or what the system keeps ([node] reserve). */
json_object *req_alloc_json(struct daemon *d, bool reserved)
{
	const struct node_alloc *a = &d->alloc;
	json_object *o;

	if (!d->alloc_valid)
		return NULL;
	o = json_object_new_object();
	add(o, "cpus", cpuset_json(reserved ? &a->reserved_cpus : &a->cpus));
	if (!reserved)
		add(o, "millicores", u64(node_alloc__millicores(a)));
	add(o, "memory_bytes", u64(reserved ? a->reserved_memory_bytes : a->memory_bytes));
	return o;
}

static int do_node_show(struct daemon *d, struct ctl_client *cl, json_object *req)
{
	json_object *o, *cpus, *nodes;
	unsigned online = 0;
	int r;

	r = node_topology(d);
	if (r)
		return ctl_client__reply_error(cl,
					       "cannot read the CPU topology from "
					       "/sys/devices/system/cpu: %s",
					       strerror(-r));
	o = ok_reply();
	add(o, "version", json_object_new_string(CGPILOT_VERSION));
	add(o, "pid", json_object_new_int(getpid()));
	add(o, "kernel_release", json_object_new_string(d->topo->kernel_release));
	add(o, "mode", json_object_new_string(d->telemetry_only ? "telemetry-only" : "full"));
	telemetry_json(d, o);
	cpus = json_object_new_array_ext((int)d->topo->ncpus);
	for (unsigned i = 0; i < d->topo->ncpus; i++) {
		online += d->topo->cpus[i].online;
		json_object_array_add(cpus, topo_cpu_json(&d->topo->cpus[i]));
	}
	add(o, "cpus_present", json_object_new_int64(d->topo->ncpus));
	add(o, "cpus_online", json_object_new_int64(online));
	add(o, "cpus", cpus);
	add(o, "memory_bytes", u64(d->topo->memory_bytes));
	if (!daemon_files_only(d))
		add(o, "slots", slots_fill_json(d));
	add(o, "allocatable", req_alloc_json(d, false));
	add(o, "reserved", req_alloc_json(d, true));
	if (d->ctrs)
		containers__node_json(d->ctrs, o);
	nodes = json_object_new_array();
	for (unsigned i = 0; i < d->topo->nnodes; i++) {
		const struct topo_node *nd = &d->topo->nodes[i];
		json_object *n = json_object_new_object();

		add(n, "id", json_object_new_int64(nd->id));
		add(n, "memory_bytes", u64(nd->memory_bytes));
		add(n, "cpus", cpuset_json(&nd->cpus));
		json_object_array_add(nodes, n);
	}
	add(o, "nodes", nodes);
	{
		json_object *blk = json_object_new_array();

		for (unsigned i = 0; i < d->topo->nblock; i++) {
			const struct topo_blockdev *b = &d->topo->block[i];
			json_object *e = json_object_new_object();
			char dev[24];

			snprintf(dev, sizeof(dev), "%u:%u", b->major, b->minor);
			add(e, "name", json_object_new_string(b->name));
			add(e, "dev", json_object_new_string(dev));
			add(e, "size_bytes", u64(b->size_bytes));
			add(e, "rotational", json_object_new_boolean(b->rotational));
			add(e, "removable", json_object_new_boolean(b->removable));
			json_object_array_add(blk, e);
		}
		add(o, "block_devices", blk);
	}
	add(o, "cgroup_root", json_object_new_string(d->cgroup_root));
	add(o, "controllers", req_controllers_json(d->controllers));
	add(o, "missing_controllers", req_controllers_json(d->missing_controllers));
	add(o, "features", kernel_features_json(d));
	add(o, "missing_features", missing_features_json(d));
	add(o, "missing_tracepoints", missing_tracepoints_json(d));
	return ctl_client__reply(cl, o);
}

static const char *map_type_name(uint32_t type)
{
	const char *s = libbpf_bpf_map_type_str((enum bpf_map_type)type);

	return s ? s : "unknown";
}

static int do_map_list(struct daemon *d, struct ctl_client *cl, json_object *req)
{
	struct telemetry_map_info maps[MAX_MAPS];
	json_object *o, *a;
	int n;

	if (daemon_files_only(d))
		return no_bpf(d, cl, "no maps");
	n = telemetry__maps(d->tel, maps, MAX_MAPS);
	if (n < 0)
		return ctl_client__reply_error(cl, "cannot read our BPF maps: %s", strerror(-n));
	a = json_object_new_array();
	for (int i = 0; i < n; i++) {
		json_object *m = json_object_new_object();

		add(m, "name", json_object_new_string(maps[i].name));
		add(m, "id", json_object_new_int64(maps[i].id));
		add(m, "type", json_object_new_string(map_type_name(maps[i].type)));
		add(m, "key_size", json_object_new_int64(maps[i].key_size));
		add(m, "value_size", json_object_new_int64(maps[i].value_size));
		add(m, "max_entries", json_object_new_int64(maps[i].max_entries));
		add(m, "internal", json_object_new_boolean(maps[i].internal));
		if (maps[i].memlock)
			add(m, "memlock_bytes", u64(maps[i].memlock));
		if (maps[i].pin_path[0])
			add(m, "pinned", json_object_new_string(maps[i].pin_path));
		/* cheap counts only: the slots seen at the last sample */
		if (!strcmp(maps[i].name, "cg_slot"))
			add(m, "entries", json_object_new_int64(d->slots_used));
		else if (!strcmp(maps[i].name, "slot_free"))
			add(m, "entries",
			    json_object_new_int64(maps[i].max_entries >= d->slots_used ?
							  maps[i].max_entries - d->slots_used :
							  0));
		json_object_array_add(a, m);
	}
	o = ok_reply();
	add(o, "maps", a);
	return ctl_client__reply(cl, o);
}

struct dump {
	struct daemon *d;
	json_object *entries;
	uint64_t *slot_id; /* slot -> cgroup id, 0 for a free slot */
	uint32_t nslots;
	bool show_addresses; /* kernel addresses go to root only */
	uint64_t now;
};

/* "id" and "path" of a cgroup; path null where the model does not know the id. */
static void add_cgroup(json_object *o, struct daemon *d, uint64_t cgid)
{
	struct cg *c = cgid ? model__find(d->model, cgid) : NULL;

	add(o, "id", u64(cgid));
	add(o, "path", c ? json_object_new_string(cg_display_path(c)) : NULL);
}

static int dump_threshold(void *ctx, uint64_t cgid, const struct cgp_threshold *th)
{
	struct dump *x = ctx;
	json_object *e = json_object_new_object();

	add_cgroup(e, x->d, cgid);
	add(e, "cpu_ns", u64(th->ns[CGP_SIG_CPU]));
	add(e, "memory_ns", u64(th->ns[CGP_SIG_MEM]));
	add(e, "io_ns", u64(th->ns[CGP_SIG_IO]));
	add(e, "protected", json_object_new_boolean(th->flags & CGP_TH_PROTECTED));
	return json_object_array_add(x->entries, e) ? -ENOMEM : 0;
}

static int dump_stats(void *ctx, uint32_t slot, const struct cgp_cg_stats *s)
{
	struct dump *x = ctx;
	json_object *e = json_object_new_object();

	add(e, "slot", json_object_new_int64(slot));
	add_cgroup(e, x->d, slot < x->nslots ? x->slot_id[slot] : 0);
	add(e, "rq_delay_ns", u64(s->rq_delay_ns));
	add(e, "rq_count", u64(s->rq_count));
	add(e, "oncpu_ns", u64(s->oncpu_ns));
	add(e, "nvcsw", u64(s->nvcsw));
	add(e, "nivcsw", u64(s->nivcsw));
	add(e, "reclaim_ns", u64(s->reclaim_ns));
	add(e, "reclaim_count", u64(s->reclaim_count));
	add(e, "iowait_ns", u64(s->iowait_ns));
	add(e, "io_read_bytes", u64(s->io_bytes[CGP_IO_READ]));
	add(e, "io_write_bytes", u64(s->io_bytes[CGP_IO_WRITE]));
	add(e, "io_read_ops", u64(s->io_ops[CGP_IO_READ]));
	add(e, "io_write_ops", u64(s->io_ops[CGP_IO_WRITE]));
	add(e, "io_lat_ns", u64(s->io_lat_ns));
	add(e, "oom_kills", u64(s->oom_kills));
	add(e, "rq_hist_us", proto_hist_json(s->rq_hist, CGP_HIST_SLOTS));
	add(e, "io_hist_us", proto_hist_json(s->io_hist, CGP_HIST_SLOTS));
	return json_object_array_add(x->entries, e) ? -ENOMEM : 0;
}

static int dump_win(void *ctx, uint32_t slot, const struct telemetry_win *w)
{
	struct dump *x = ctx;
	json_object *e = json_object_new_object();

	add(e, "slot", json_object_new_int64(slot));
	add_cgroup(e, x->d, w->cgid);
	for (uint32_t s = 0; s < CGP_SIG_MAX; s++) {
		json_object *o = json_object_new_object();

		add(o, "start_ns", u64(w->w[s].start_ns));
		add(o, "sum_ns", u64(w->w[s].sum_ns));
		add(o, "last_sum_ns", u64(w->w[s].last_sum_ns));
		add(o, "threshold_ns", u64(w->w[s].threshold_ns));
		add(o, "event_start_ns", u64(w->w[s].event_start_ns));
		add(o, "active", json_object_new_boolean(w->w[s].active));
		add(e, proto_signal_name(s), o);
	}
	return json_object_array_add(x->entries, e) ? -ENOMEM : 0;
}

static json_object *address(uint64_t a)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, a);
	return json_object_new_string(buf);
}

static int dump_rq(void *ctx, const struct telemetry_rq *rq)
{
	struct dump *x = ctx;
	json_object *e = json_object_new_object();

	if (x->show_addresses)
		add(e, "request", address(rq->rq));
	add_cgroup(e, x->d, rq->cgid);
	add(e, "issue_ns", u64(rq->issue_ns));
	{
		char dev[24];

		snprintf(dev, sizeof(dev), "%u:%u", rq->dev >> 20, rq->dev & 0xfffff);
		add(e, "device", json_object_new_string(dev));
	}
	add(e, "age_ns", u64(x->now > rq->issue_ns ? x->now - rq->issue_ns : 0));
	return json_object_array_add(x->entries, e) ? -ENOMEM : 0;
}

static int dump_bio(void *ctx, uint64_t bio, uint64_t cgid)
{
	struct dump *x = ctx;
	json_object *e = json_object_new_object();

	if (x->show_addresses)
		add(e, "bio", address(bio));
	add_cgroup(e, x->d, cgid);
	return json_object_array_add(x->entries, e) ? -ENOMEM : 0;
}

static int entry_cmp_key(json_object *const *a, json_object *const *b, const char *key)
{
	json_object *va = NULL, *vb = NULL;
	uint64_t x, y;

	json_object_object_get_ex(*a, key, &va);
	json_object_object_get_ex(*b, key, &vb);
	x = va ? json_object_get_uint64(va) : 0;
	y = vb ? json_object_get_uint64(vb) : 0;
	return x < y ? -1 : x > y;
}

static int by_slot(const void *a, const void *b)
{
	return entry_cmp_key(a, b, "slot");
}

static int by_id(const void *a, const void *b)
{
	return entry_cmp_key(a, b, "id");
}

/* Why a map cannot be listed entry by entry, or NULL if it can. */
static const char *undumpable(const struct telemetry_map_info *m)
{
	if (m->type == BPF_MAP_TYPE_RINGBUF)
		return "is a ring buffer: its records are consumed by cgpilotd, its one consumer, "
		       "and are not stored as entries; watch them with 'cgpilot event'";
	if (m->type == BPF_MAP_TYPE_TASK_STORAGE)
		return "is task local storage: its entries belong to tasks and the kernel offers "
		       "no way to list them from user space";
	if (m->internal)
		return "holds the BPF programs' global variables, not entries; their values are "
		       "in the daemon's status";
	return NULL;
}

static int do_map_dump(struct daemon *d, struct ctl_client *cl, json_object *req)
{
	struct telemetry_map_info maps[MAX_MAPS], *m = NULL;
	const char *name = NULL, *msg = NULL, *why;
	struct dump x = { .d = d,
			  .show_addresses = ctl_client__uid(cl) == 0,
			  .now = mono_now_ns() };
	json_object *o;
	int n, r, nslots;

	if (proto_get_string(req, "map", true, &name, &msg) < 0)
		return ctl_client__reply_error(cl, "\"map\": %s", msg);
	if (daemon_files_only(d))
		return no_bpf(d, cl, "no maps");
	n = telemetry__maps(d->tel, maps, MAX_MAPS);
	if (n < 0)
		return ctl_client__reply_error(cl, "cannot read our BPF maps: %s", strerror(-n));
	for (int i = 0; i < n; i++)
		if (!strcmp(maps[i].name, name))
			m = &maps[i];
	if (!m)
		return ctl_client__reply_error(cl, "no map '%s' ('cgpilot map show' lists ours)",
					       name);
	why = undumpable(m);
	if (why)
		return ctl_client__reply_error(cl, "map '%s' cannot be dumped: it %s", name, why);

	nslots = telemetry__slots(d->tel, d->slot_ids, d->slot_vals, d->conf.max_cgroups);
	if (nslots < 0)
		return ctl_client__reply_error(cl, "cannot read map cg_slot: %s",
					       strerror(-nslots));
	o = ok_reply();
	add(o, "map", json_object_new_string(name));
	add(o, "type", json_object_new_string(map_type_name(m->type)));
	if (!strcmp(name, "slot_free")) {
		/* a queue can only be popped: its length follows from the slots in use */
		add(o, "count", json_object_new_int64(m->max_entries - (uint32_t)nslots));
		return ctl_client__reply(cl, o);
	}
	x.entries = json_object_new_array();
	add(o, "entries", x.entries);
	if (!strcmp(name, "cg_slot")) {
		for (int i = 0; i < nslots; i++) {
			json_object *e = json_object_new_object();

			add_cgroup(e, d, d->slot_ids[i]);
			add(e, "slot", json_object_new_int64(d->slot_vals[i]));
			json_object_array_add(x.entries, e);
		}
		json_object_array_sort(x.entries, by_slot);
		r = 0;
	} else if (!strcmp(name, "thresholds")) {
		r = telemetry__dump_thresholds(d->tel, dump_threshold, &x);
		json_object_array_sort(x.entries, by_id);
	} else if (!strcmp(name, "cg_stats") || !strcmp(name, "cg_shared") ||
		   !strcmp(name, "cg_win")) {
		x.nslots = d->conf.max_cgroups;
		x.slot_id = calloc(x.nslots, sizeof(*x.slot_id));
		if (!x.slot_id) {
			json_object_put(o);
			return -ENOMEM;
		}
		for (int i = 0; i < nslots; i++)
			if (d->slot_vals[i] < x.nslots)
				x.slot_id[d->slot_vals[i]] = d->slot_ids[i];
		if (strcmp(name, "cg_win"))
			r = telemetry__dump_stats(d->tel, dump_stats, &x);
		else
			r = telemetry__dump_win(d->tel, dump_win, &x);
		free(x.slot_id);
	} else if (!strcmp(name, "rq_start")) {
		r = telemetry__dump_rq(d->tel, dump_rq, &x);
		json_object_array_sort(x.entries, by_id);
	} else if (!strcmp(name, "bio_cg")) {
		r = telemetry__dump_bio(d->tel, dump_bio, &x);
		json_object_array_sort(x.entries, by_id);
	} else {
		r = -EOPNOTSUPP;
	}
	if (r) {
		json_object_put(o);
		if (r == -EOPNOTSUPP)
			return ctl_client__reply_error(cl,
						       "map '%s' has no decoder in this "
						       "cgpilotd",
						       name);
		return ctl_client__reply_error(cl, "cannot read map '%s': %s", name, strerror(-r));
	}
	add(o, "count", json_object_new_int64((int64_t)json_object_array_length(x.entries)));
	return ctl_client__reply(cl, o);
}

static int do_ping(struct daemon *d, struct ctl_client *cl, json_object *req)
{
	json_object *o = ok_reply();

	add(o, "version", json_object_new_string(CGPILOT_VERSION));
	add(o, "pid", json_object_new_int(getpid()));
	return ctl_client__reply(cl, o);
}

/* The container ops live in daemon/ctr_ops.c. */
#define CONTAINER_OP(name, fn)                                                     \
	static int name(struct daemon *d, struct ctl_client *cl, json_object *req) \
	{                                                                          \
		return fn(d->ctrs, cl, req);                                       \
	}
CONTAINER_OP(do_container_admit, containers__op_admit)
CONTAINER_OP(do_container_started, containers__op_started)
CONTAINER_OP(do_container_list, containers__op_list)
CONTAINER_OP(do_container_show, containers__op_show)
CONTAINER_OP(do_container_update, containers__op_update)
CONTAINER_OP(do_container_kill, containers__op_kill)
CONTAINER_OP(do_container_freeze, containers__op_freeze)
CONTAINER_OP(do_container_release, containers__op_release)
CONTAINER_OP(do_container_cancel, containers__op_cancel)
CONTAINER_OP(do_policy_show, containers__op_policy_show)

/* Who may call an op: readers are root, and others where the config allows;
 * CHANGE ops are root's too and count against the client's rate
 * ([control] changes_per_s). */
enum caller { READERS, ROOT, CHANGE };

struct op {
	const char *name;
	enum caller who;
	int (*fn)(struct daemon *d, struct ctl_client *cl, json_object *req);
	const char *denied; /* ROOT, CHANGE: what a non-root caller is told */
};

/* Every control op, one line each (bpftool's command tables). */
static const struct op ops[] = {
	{ "ping", READERS, do_ping, NULL },
	{ "status", READERS, do_status, NULL },
	{ "cgroup.list", READERS, do_list, NULL },
	{ "cgroup.show", READERS, do_show, NULL },
	{ "cgroup.why", READERS, do_why, NULL },
	{ "cgroup.tree", READERS, do_tree, NULL },
	{ "subscribe", READERS, do_subscribe, NULL },
	{ "node.show", READERS, do_node_show, NULL },
	{ "map.list", READERS, do_map_list, NULL },
	{ "map.dump", READERS, do_map_dump, NULL },
	{ "prog.show", ROOT, do_prog_show, "sampling BPF programs turns on BPF stats, root only" },
	{ "threshold.set", CHANGE, do_threshold_set, "only root may change thresholds" },
	{ "container.admit", CHANGE, do_container_admit, "only root may admit containers" },
	{ "container.started", CHANGE, do_container_started, "only root may report a start" },
	{ "container.list", READERS, do_container_list, NULL },
	{ "container.show", READERS, do_container_show, NULL },
	{ "container.update", CHANGE, do_container_update, "only root may change containers" },
	{ "container.kill", CHANGE, do_container_kill, "only root may kill containers" },
	{ "container.freeze", CHANGE, do_container_freeze, "only root may freeze containers" },
	{ "container.release", CHANGE, do_container_release, "only root may release containers" },
	{ "container.cancel", CHANGE, do_container_cancel, "only root may cancel requests" },
	{ "policy.show", READERS, do_policy_show, NULL },
};

int requests_handle(void *ctx, struct ctl_client *cl, json_object *req, const char *name)
{
	struct daemon *d = ctx;
	uid_t uid = ctl_client__uid(cl);
	uint64_t wait_ms = 0;

	if (uid != 0 && !d->conf.allow_read_others)
		return ctl_client__reply_error(cl, "permission denied: only root may use the "
						   "control socket ([control] allow_read_others)");
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		if (strcmp(ops[i].name, name))
			continue;
		if (ops[i].who != READERS && uid != 0)
			return ctl_client__reply_error(cl, "permission denied: %s", ops[i].denied);
		if (ops[i].who == CHANGE &&
		    !ctl_client__take(cl, d->conf.changes_per_s, mono_now_ns(), &wait_ms)) {
			json_object *o = json_object_new_object();

			d->rate_limited++;
			add(o, "error",
			    json_object_new_string(
				    "rate limited: at most [control] changes_per_s "
				    "requests that change state a second on one connection"));
			add(o, "retry_after_ms", u64(wait_ms));
			return ctl_client__reply(cl, o);
		}
		return ops[i].fn(d, cl, req);
	}
	return ctl_client__reply_error(cl, "unknown op '%s'", name);
}
