/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The containers cgpilot manages, and the books behind them: the daemon's
 * shell around the pure decisions (policy/: class, admit, place, adopt) and
 * the actuator (lib/actuate/), which alone writes cgroup files.
 *
 * Three kinds (docs/ARCHITECTURE.md, "Containers"):
 *   launched  admitted and created under the container root
 *             (<root>/<class>/<name>); cgpilot owns every knob and removes
 *             the cgroup after release;
 *   runtime   admitted at a path an engine chose, inside an engine root;
 *             created and removed by cgpilot, every knob its own;
 *   adopted   made and removed by another scheduler, matched by a pattern;
 *             only the pattern's knobs are written, external changes are
 *             noticed and not fought.
 * A container's life: queued (waiting for admission) -> admitted (cgroup
 * made and written, no process yet) -> running (a process is in it, or the
 * launcher said so) -> gone. An admitted container without a process by
 * its deadline is released and removed.
 */
#ifndef CGPILOT_CONTAINERS_H
#define CGPILOT_CONTAINERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "actuate/actuate.h"
#include "policy/admit.h"
#include "policy/adopt.h"
#include "policy/class.h"
#include "policy/iothrottle.h"
#include "policy/ladder.h"
#include "policy/memguard.h"
#include "policy/memhigh.h"
#include "topology.h"

struct daemon;
struct ctl_client;
struct cg;

enum ctr_kind { CTR_LAUNCHED = 0, CTR_RUNTIME, CTR_ADOPTED, CTR_KIND_MAX };
enum ctr_state { CTR_QUEUED = 0, CTR_ADMITTED, CTR_RUNNING, CTR_STATE_MAX };

const char *ctr_kind_name(enum ctr_kind k);
const char *ctr_state_name(enum ctr_state s);

/* One knob as cgpilot last wrote it (read back), to notice other writers. */
struct ctr_knob {
	char knob[32];
	char value[128];
	bool known; /* false: the value was too long to keep (nothing to compare) */
};

#define CTR_KNOBS_MAX 12
#define CTR_SUB_MAX 16

/* Files-only mode (no BPF programs): why the loops pushed by BPF onsets
 * do nothing (policy.show, status). */
#define CTR_INACTIVE_CPU                                                            \
	"inactive: the BPF programs are not loaded (files-only mode), and the CPU " \
	"ladder is pushed by their run-queue onsets"
#define CTR_INACTIVE_IO                                                                  \
	"inactive: the BPF programs are not loaded (files-only mode), and the I/O loop " \
	"is pushed by their block latency onsets"

/* One action in a container's in-memory history. */
struct ctr_action {
	uint64_t time_ns; /* CLOCK_REALTIME */
	char knob[32];
	char old_value[64];
	char new_value[64];
	char reason[160];
	enum act_status status;
	/* a control loop's action: which, the rungs, and the signal it answered
	 * (for_cgroup: the protected container whose pressure it was) */
	char policy[8]; /* "" none */
	signed char rung_from, rung_to;
	uint64_t value_ns, threshold_ns;
	char for_cgroup[128];
};

/* What the control loop under way tells history_add (ctr_control.c). */
struct ctr_why {
	const char *policy;
	int rung_from, rung_to;
	uint64_t value_ns, threshold_ns;
	const char *for_cgroup;
};

struct container {
	uint64_t id; /* the handle of every op; never reused (persisted) */
	char name[64];
	enum ctr_kind kind;
	enum ctr_state state;
	enum cgp_class class;
	struct res_spec spec;
	char tenant[64];
	char *path; /* relative to the mount, raw */
	uint64_t cgroup_id; /* 0 while queued */
	unsigned exclusive; /* CPUs held exclusively (0: the shared pool) */
	struct topo_cpuset cpus; /* exclusive CPUs; empty in the shared pool */
	/* runtime-created: the CPUs its engine chose (linux.resources.cpu.cpus,
	 * kubelet's static CPU manager): honoured as its exclusive CPUs, taken
	 * out of the pools; empty: cgpilot places it */
	struct topo_cpuset pinned;
	struct topo_cpuset mems; /* cpuset.mems written, empty: not written */
	uint64_t queued_ns, admitted_ns, started_ns; /* CLOCK_MONOTONIC, 0: not yet */
	uint64_t deadline_ns; /* admitted: released unless running by then */
	pid_t pid; /* the workload's pid, as the launcher reported it */
	char command[256];
	const struct adopt_pattern *pattern; /* adopted */
	char pod_uid[40]; /* adopted from a kubelet pattern */
	struct ctl_client *waiter; /* queued: the client that waits for the reply */
	/* launched: the launcher that reported the workload with "hold"
	 * (container.started); its connection closing before it released the
	 * container (killed, even by SIGKILL) releases it, killing what is left
	 * of the workload */
	struct ctl_client *owner;
	bool booked; /* counted in the books */
	bool backed_off; /* adopted: a knob was changed by someone else */
	char external_knob[32]; /* ... the knob, as the write that found it says */
	bool releasing; /* killed; removed once its processes are gone */
	bool dry; /* admitted in dry run: no cgroup was made */
	bool fresh; /* its cgroup was made for the writes under way (act_target.fresh) */
	/* measured use, for slack: CPU from cpu.stat usage_usec (hierarchical: a
	 * pod's use is its containers'), memory.current read in turns */
	uint64_t usage_prev_usec, usage_prev_ns;
	uint64_t start_checked_ns; /* cgroup.events last read for its start */
	uint64_t cpu_used_mc, mem_used;
	bool cpu_used_valid, mem_used_valid;
	char unenforced[128]; /* knobs a missing controller left unwritten */
	/* runtime-created, admitted degraded (on_refusal = degrade): why it did
	 * not fit as asked, and what was asked, tried again as room frees up
	 * (daemon/ctr_degrade.c); "" placed as asked */
	char degraded[256];
	/* runtime-created while the daemon was away: its cgroup (of this id)
	 * is taken over, not made (daemon/ctr_runtime.c) */
	bool take_over;
	uint64_t take_over_id;
	enum cgp_class want_class;
	uint64_t want_cpu_request_mc, want_mem_request;
	/* the CPU ladder (daemon/ctr_control.c): its rung (persisted), whether
	 * cgroup.freeze 1 is the ladder's, whether its BPF CPU threshold is the
	 * class target cgpilot set (not an operator's) */
	struct ladder_state ladder;
	/* memory.high as the memory loop sizes it (daemon/ctr_memory.c) and the
	 * BPF reclaim stall total at its last step */
	struct memhigh_state memhigh;
	uint64_t mem_stall_prev;
	bool mem_stall_valid;
	/* adopted, its memory.high sized or squeezed by cgpilot: the value its
	 * scheduler left ("max" or bytes), read before cgpilot's first write,
	 * written back when both loops have given it back */
	char mem_saved[24];
	bool mem_saved_valid;
	bool ladder_frozen;
	bool threshold_ours;
	/* adopted, on the CPU ladder: cpu.weight and cpu.max as its scheduler
	 * left them, read before the first rung, written back on release */
	char cpu_saved_weight[16], cpu_saved_max[48];
	bool saved_weight, saved_max;
	/* the cpuset rung's CPU + 1 (0: none chosen): the pool's CPU where
	 * protected work waited least when the rung was taken */
	unsigned squeeze_cpu1;
	/* a protected one: the cgroups below it (a pod's container scopes)
	 * whose BPF CPU threshold cgpilot set to its class target, since BPF
	 * counts each task's wait in the task's own cgroup */
	uint64_t sub_threshold[CTR_SUB_MAX];
	unsigned nsub_threshold;
	bool sub_full_said;
	/* the I/O loop (daemon/ctr_io.c): its io.max cap and the device it is
	 * on, and the I/O BPF counted at the last sample tick, for the rate */
	struct iothrottle_state iot;
	uint32_t iot_dev;
	char io_saved[128]; /* adopted: its io.max line of iot_dev before the cap */
	uint64_t io_prev_bytes, io_prev_ops, io_prev_ns, io_bps, io_iops;
	/* adopted: its io.stat line of ios_dev at the last read */
	uint64_t ios_prev_bytes, ios_prev_ops, ios_prev_ns;
	uint32_t ios_dev;
	/* memory relief (daemon/ctr_guard.c): the squeeze it holds (MEMHIGH_MAX:
	 * none; the memory loop leaves the container alone meanwhile), a squeeze
	 * that freed nothing this episode; a guaranteed one's PSI trigger, the
	 * end of its last PSI pressure */
	uint64_t guard_high;
	bool guard_fruitless, psi_failed;
	struct ctr_psi *psi;
	uint64_t psi_until_ns, psi_window_ns;
	struct ctr_knob knobs[CTR_KNOBS_MAX];
	unsigned nknobs;
	/* adopted: its squeeze changed since the journal had it; the journal
	 * holds a record of it; that record's hash (daemon/ctr_state.c) */
	bool sq_dirty, sq_logged;
	uint64_t sq_sig;
	struct ctr_action *history; /* ring of hist_cap, allocated on the first action */
	unsigned hist_cap, hist_n, hist_next;
	struct container *next;
};

struct containers;

/* Counters for status and /metrics. */
enum ctr_refusal {
	REFUSE_INVALID = 0, /* a bad request */
	REFUSE_CPU,
	REFUSE_MEMORY,
	REFUSE_EXCLUSIVE, /* no whole free cores */
	REFUSE_SLACK, /* besteffort beyond slack */
	REFUSE_CONTROLLER, /* a limit a missing controller cannot enforce */
	REFUSE_LIMIT, /* max_containers / max_queued */
	REFUSE_CGROUP, /* the cgroup could not be made or written */
	REFUSE_STATE, /* the state file cannot be written (a full or read-only disk) */
	REFUSE_MAX,
};
const char *ctr_refusal_name(enum ctr_refusal r);

struct ctr_stats {
	uint64_t admitted[CGP_CLASS_MAX];
	uint64_t refused[REFUSE_MAX];
	uint64_t queued, cancelled, released, expired, vanished, adopted;
	uint64_t orphaned; /* released because their launcher went away */
	uint64_t degraded, replaced; /* admitted degraded; placed as asked later */
	uint64_t taken_over; /* unadmitted runtime containers admitted when found */
	unsigned ndegraded; /* degraded now */
	uint64_t actions_ok, actions_failed, actions_dry_run, external_changes;
	uint64_t audit_failures;
	uint64_t state_failures; /* journal lines or snapshots not written */
	struct {
		const char *knob; /* act_knob's file name (static) */
		uint64_t n;
	} by_knob[48]; /* writes made, by knob */
	unsigned nknob;
	unsigned count[CTR_KIND_MAX][CGP_CLASS_MAX]; /* containers now */
	unsigned waiting;
};

/*
 * Set up from the daemon's config, topology and allocatable: roots, the
 * actuator, the audit log (a failure to open it is logged, not fatal),
 * adoption patterns; then the state file of an earlier run is read back
 * (containers whose cgroup still has its id keep their books and CPUs).
 * -errno with a message logged (a bad pattern in the config).
 */
int containers__new(struct daemon *d, struct containers **ret);
void containers__free(struct containers *c);
/* A clean stop: enable-only writes undone, state written. */
void containers__stop(struct containers *c);

/* The model saw a cgroup appear (its path known) or go: adoption, and
 * release of a container whose cgroup disappeared. */
void containers__cgroup_added(struct containers *c, const struct cg *cg);
void containers__cgroup_removed(struct containers *c, uint64_t cgroup_id);
/* Every sample tick: deadlines, started detection, slack, the queue. */
void containers__tick(struct containers *c, uint64_t now_ns);
/* The CPU protection loop (daemon/ctr_control.c): an onset or cleared event
 * of a cgroup (model updated); its one-shot timer's fd for the daemon's
 * epoll, and what to do when it fires. */
struct cgp_event;
void containers__on_pressure(struct containers *c, const struct cg *cg, const struct cgp_event *e);
int containers__control_fd(const struct containers *c);
/* cgroup.why: a cgroup's container, rung, what undoes it, its actions with
 * their signals, and for a guaranteed one the actions taken for it. */
json_object *containers__why(struct containers *c, uint64_t cgroup_id);
/* After a reload (SIGHUP): [policy.cpu] as it is now. */
void containers__reconfigured(struct containers *c);
/* threshold.set gave @cgroup_id its own threshold: it wins over the class
 * target from now on (kept on reloads, left in place when it goes). */
void containers__operator_threshold(struct containers *c, uint64_t cgroup_id);
/* Are the BPF thresholds of @cg the class targets cgpilot set (for its
 * container, or the one it counts for)? */
bool containers__class_threshold(struct containers *c, const struct cg *cg);
void containers__control_timer(struct containers *c);
/* The I/O loop (daemon/ctr_io.c): its one-shot timer's fd and what wakes it. */
int containers__io_fd(const struct containers *c);
void containers__io_timer(struct containers *c);
/* The memory relief (daemon/ctr_guard.c): its one-shot timer's fd and what
 * to do when it fires; a PSI trigger's event (@src an EP_PSI source); what
 * the epoll batch may still have pointed at, freed after it. */
int containers__guard_fd(const struct containers *c);
void containers__guard_timer(struct containers *c);
struct ep_source;
void containers__psi_event(struct containers *c, struct ep_source *src, uint32_t events);
void containers__reap(struct containers *c);
/* Why the daemon's state cannot be written now, NULL if it can. */
const char *containers__state_error(const struct containers *c);
/* A client went away: its queued requests are cancelled. */
void containers__client_closed(struct containers *c, struct ctl_client *cl);

struct container *containers__find(struct containers *c, uint64_t id);
struct container *containers__find_cgroup(struct containers *c, uint64_t cgroup_id);
const struct ctr_stats *containers__stats(struct containers *c);
const struct admit_books *containers__books(struct containers *c);

/* Control ops (daemon/req_container.c uses these). */
int containers__op_admit(struct containers *c, struct ctl_client *cl, json_object *req);
int containers__op_started(struct containers *c, struct ctl_client *cl, json_object *req);
int containers__op_list(struct containers *c, struct ctl_client *cl, json_object *req);
int containers__op_show(struct containers *c, struct ctl_client *cl, json_object *req);
int containers__op_update(struct containers *c, struct ctl_client *cl, json_object *req);
int containers__op_kill(struct containers *c, struct ctl_client *cl, json_object *req);
int containers__op_freeze(struct containers *c, struct ctl_client *cl, json_object *req);
int containers__op_release(struct containers *c, struct ctl_client *cl, json_object *req);
int containers__op_cancel(struct containers *c, struct ctl_client *cl, json_object *req);
int containers__op_policy_show(struct containers *c, struct ctl_client *cl, json_object *req);
/* The allocation families of /metrics (daemon/ctr_metrics.c). */
struct expo;
void containers__metrics(struct containers *c, struct expo *e);
/* node.show's allocation part: reserved, slack, pools, exclusive assignments. */
void containers__node_json(struct containers *c, json_object *o);
/* container.list's entries, the newest @max of them (oldest first); and
 * policy.show's "policies" (the live page shows both). */
json_object *containers__list_json(struct containers *c, unsigned max);
json_object *containers__policies_json(struct containers *c);

#endif
