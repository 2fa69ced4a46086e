/* SPDX-License-Identifier: Apache-2.0 */
/* State of one cgpilotd instance, shared by the loop and the request handlers. */
#ifndef CGPILOT_DAEMON_H
#define CGPILOT_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "ctl.h"
#include "model.h"
#include "policy/node.h"
#include "telemetry.h"
#include "version.h"

struct containers;
struct deferred;
struct history;
struct rescan;

struct daemon {
	struct cgp_conf conf;
	bool max_cgroups_auto; /* conf.max_cgroups was auto, sized from the machine */
	uint64_t metrics_retry_ns; /* the metrics address was taken: next try */
	uint64_t rate_limited; /* requests refused by [control] changes_per_s */
	unsigned retired_since_trim; /* cgroups retired since malloc_trim() */
	char metrics_error[384]; /* why /metrics is not served, "" if it is */
	const char *config_path;
	bool config_explicit;
	bool config_read; /* the running configuration came from the file, not defaults */
	char socket_path[CGP_CONF_STR_MAX + 32];
	char *cgroup_root; /* v2 mount (or configured root) */
	int root_fd; /* O_RDONLY directory fd of cgroup_root (open_by_handle_at needs one) */
	char *own_cgroup; /* the leaf we moved into (relative), NULL: stayed */
	char *orig_cgroup; /* where we were before (relative) */
	unsigned own_made; /* path components of own_cgroup we created */
	unsigned controllers;
	unsigned missing_controllers; /* of cpu, cpuset, memory, io */
	bool telemetry_only;
	int epfd;
	int lock_fd; /* flock on <runtime_dir>/cgpilotd.lock */
	int pin_lock_fd; /* flock on the pin directory */
	/* NULL: files-only mode, the BPF programs did not load (tel_failure says
	 * why); figures then come from the kernel's files at the sweep */
	struct telemetry *tel;
	struct telemetry_failure tel_failure;
	uint64_t files_walk_ns; /* files-only: when the last walk of the tree began */
	struct model *model;
	struct ctl *ctl;
	struct metrics *metrics;
	struct ep_source timer_src, signal_src, ringbuf_src, metrics_src, control_src, guard_src,
		io_src;
	int timer_fd, signal_fd;
	uint64_t start_ns;
	unsigned sweep_cursor;
	struct deferred *deferred; /* pending sampled replies */
	struct deferred *deferred_dead; /* retired in this batch, freed after it */
	bool stop;
	unsigned node_cpus;
	uint64_t node_memory;
	unsigned slots_used; /* cgroups with a BPF slot at the last sample */
	struct {
		uint64_t adopted; /* slot owners found by id that the model lacked */
		uint64_t reclaimed; /* slots of cgroups that no longer exist, released */
		int check_failed; /* -errno of a failed check this tick, logged once */
		uint64_t mkdir_drops_seen; /* ring buffer mkdir drops when last looked */
		uint64_t rescans; /* walks of the tree started because of them */
		uint64_t rescan_found; /* cgroups those walks found */
		uint64_t episode_drops_seen; /* onset + cleared drops when last looked */
		uint64_t episodes_resynced; /* cgroups whose episode bits were corrected */
		uint64_t fast_drops_seen; /* ... as the drained ring buffer last saw them */
		uint64_t fast_next_ns; /* the next look for them, at most one a window */
		uint64_t fast_resyncs; /* looks at the cgroups with a threshold after drops */
		uint64_t thresholds_dropped; /* thresholds of cgroups gone while we were down */
	} slot_stats;
	unsigned batch_events; /* ring buffer events handled in this loop iteration */
	struct rescan *rescan; /* a walk of the tree in progress (observe.c) */
	bool thresholds_clean; /* no threshold of a vanished cgroup is left (since start) */
	struct {
		struct cgp_event kills[32]; /* OOM kills waiting for their cgroup */
		unsigned n;
		unsigned cursor, left; /* the scan of memory.events.local: next, to go */
	} oom;
	uint64_t last_scrape_ns; /* time the previous /metrics render took */
	uint64_t export_ns; /* the export set's last update (daemon/export.c), 0 never */
	/* scratch for telemetry__slots */
	uint64_t *slot_ids;
	uint32_t *slot_vals;
	struct cg **slot_cg; /* by slot, scratch of a tick's reads (all NULL between) */
	struct {
		uint64_t last_ns, max_ns; /* a tick's read of every cgroup's BPF counters */
		unsigned last_cgroups; /* the cgroups it read */
	} read_stats;
	struct topology *topo; /* the machine, read once (lib/topology.h) */
	struct node_alloc alloc; /* what containers may have (policy/node.h) */
	bool alloc_valid; /* false while the topology could not be read */
	struct containers *ctrs; /* managed containers (daemon/containers.h) */
	struct history *hist; /* the live page's last minutes (daemon/page.h), NULL: no page */
};

/* The BPF programs did not load: figures come from the kernel's files. */
static inline bool daemon_files_only(const struct daemon *d)
{
	return !d->tel;
}

/* The observed set (daemon/observe.c): discovery at start, the ring
 * buffer's events (the telemetry callback), the sample tick. */
int observe_discover(struct daemon *d);
int observe_on_event(void *ctx, const struct cgp_event *e);
/* Handle a bounded batch of ring buffer events. */
void observe_consume(struct daemon *d);
void observe_sample(struct daemon *d);
/* Work left for the loop between events (the OOM attribution scan): while
 * observe_busy(), poll without blocking and call observe_work(). */
bool observe_busy(const struct daemon *d);
void observe_work(struct daemon *d);
void observe_free(struct daemon *d);

/* Read PSI and cpu.stat of one cgroup into its figures. */
int daemon_read_kernel_stats(struct daemon *d, struct cg *c);
/* Read one cgroup's BPF counters now (slot looked up if unknown). */
int daemon_read_bpf_stats(struct daemon *d, struct cg *c);
/*
 * Resolve a user's cgroup argument: an id, a path relative to the v2 mount,
 * or a full path under it. *ret_msg may point to a buffer the next call
 * overwrites.
 */
struct cg *daemon_resolve_cgroup(struct daemon *d, const char *arg, const char **ret_msg);

/* Control requests (daemon/requests.c). */
int requests_handle(void *ctx, struct ctl_client *cl, json_object *req, const char *op);
void requests_client_closed(void *ctx, struct ctl_client *cl);
void requests_deferred_ready(struct daemon *d, struct ep_source *src);
void requests_free_all(struct daemon *d);
/* Free what the batch retired; after each epoll batch. */
void requests_reap(struct daemon *d);
/* Parts of the replies the live page shows the same way (daemon/page.c). */
json_object *req_cg_brief(struct daemon *d, const struct cg *c);
json_object *req_alloc_json(struct daemon *d, bool reserved);
json_object *req_controllers_json(unsigned mask);

#endif
