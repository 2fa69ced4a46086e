/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by daemon/containers.c, ctr_ops.c and ctr_state.c only. */
#ifndef CGPILOT_CTR_INTERNAL_H
#define CGPILOT_CTR_INTERNAL_H

#include "actuate/audit.h"
#include "containers.h"
#include "policy/place.h"
#include "telemetry.h"

#define CTR_BUCKETS 4096
/* What a cgroup cgpilot made says in ACT_OWNER_XATTR: parents, containers. */
#define CTR_OWNER "cgpilotd"
/* ... and what cgpilot-run's parents say (tools/run/standalone.c) */
#define CTR_RUN_OWNER "cgpilot-run"

struct containers {
	struct daemon *d;
	unsigned owned; /* containers with an owner (a launcher's connection) */
	char *root; /* launched containers: <root>/<class>/<name> */
	char **engine_roots;
	unsigned nengine;
	struct adopt_pattern patterns[ADOPT_MAX_PATTERNS];
	unsigned npatterns;
	struct class_conf classes[CGP_CLASS_MAX];
	struct actuator act;
	struct act_undo undo; /* enable-only writes to take back on a clean stop */
	struct audit_log *audit;
	/* audit lines of the call under way, written together when it ends */
	char *audit_pending[2 * ACT_WRITES_MAX];
	unsigned naudit_pending;
	struct admit_books books;
	struct place_pool pool;
	bool pool_ok;
	struct drf_queue drf;
	struct slack_est slack;
	struct slack_conf slack_conf;
	struct container *list; /* every container, newest first */
	struct container *by_id[CTR_BUCKETS];
	struct container *by_cg[CTR_BUCKETS];
	struct container *by_path[CTR_BUCKETS];
	uint64_t path_seed;
	unsigned n; /* containers, queued ones included */
	unsigned nadopted; /* of them adopted (max_containers counts each side) */
	uint64_t next_id;
	struct ctr_stats stats;
	int journal_fd; /* <runtime_dir>/state.journal, -1: none (dry run, or unwritable) */
	unsigned journal_lines; /* since the last snapshot */
	char state_path[512]; /* <runtime_dir>/state.json */
	char journal_path[512]; /* <runtime_dir>/state.journal */
	/* adopted cgroups squeezed by the previous run, not adopted again yet:
	 * cgroup id (decimal) -> its record (ctr_state.c); a container changed
	 * since the state last heard of its squeeze */
	json_object *sq_pending;
	bool sq_dirty;
	/* why the state cannot be written now ("" it can): no admission or
	 * update is acknowledged meanwhile, a snapshot is tried every tick */
	char state_error[320];
	unsigned enforce; /* CGFS_* controllers writable for containers */
	struct container *current; /* whose act_apply is running (history) */
	const struct ctr_why *why; /* the control loop's, while it writes */
	char *parents[64]; /* controllers seen enabled above these (containers.c) */
	unsigned nparents;
	struct ctr_anc *anc; /* ancestors whose memory protection cgpilot keeps */
	unsigned nanc, canc;
	char *sys_cpus_old; /* the system slice's cpuset.cpus before cgpilot's */
	/* the CPU ladder (ctr_control.c) */
	int control_fd; /* one-shot timerfd for the next ladder step, -1: none */
	uint64_t control_next_ns; /* when it is armed for, 0: not */
	uint64_t degraded_next_ns; /* the next try to place degraded containers */
	bool cpu_pressure; /* a protected guaranteed container is above its target */
	uint64_t calm_since_ns; /* since when none is (0: never was) */
	char pressure_why[200]; /* the last onset, for the reasons */
	char pressure_cg[128]; /* whose onset, its window sum and threshold */
	uint64_t pressure_value_ns, pressure_threshold_ns;
	/* protected work's run-queue wait per CPU (BPF prot_wait): at the last
	 * sample tick, and in the tick before it */
	uint64_t *prot_prev, *prot_tick;
	unsigned nprot;
	uint64_t ladder_moves; /* rung changes made */
	uint64_t ladder_up[RUNG_MAX], ladder_down[RUNG_MAX]; /* moves to / from a rung */
	/* reaction: from the onset (BPF's time) to the first write it caused */
	uint64_t onset_ts_ns;
	bool reaction_pending;
	__u64 reaction_slots[CGP_HIST_SLOTS];
	uint64_t reaction_sum_ns;
	/* the memory relief (ctr_guard.c) */
	struct memguard_state guard;
	int guard_fd; /* its one-shot timerfd, -1: none */
	uint64_t guard_next_ns;
	struct ctr_psi *psi_dead; /* closed triggers, freed after the batch */
	unsigned npsi; /* open triggers */
	/* revocation: besteffort holds more memory than the slack */
	bool revoke_mem;
	uint64_t revoke_be_bytes, revoke_slack_bytes;
	bool psi_full_said;
	char guard_cg[128]; /* whose pressure, for the reasons and why */
	char guard_why[200];
	char guard_last[160]; /* the last decision's words */
	uint64_t guard_value_ns, guard_threshold_ns;
	struct {
		uint64_t psi_events, onsets, revocations;
	} guard_stats;
	/* the I/O loop (ctr_io.c) */
	int io_fd; /* its one-shot timerfd, -1: none */
	uint64_t io_next_ns;
	bool io_pressure; /* a protected container's I/O latency is past its target */
	uint64_t io_calm_since_ns;
	uint32_t io_dev; /* the device of the last onset (major << 20 | minor) */
	uint32_t io_bad_dev; /* one whose io.max refused a cap (ENODEV, EINVAL) */
	char io_cg[128], io_why[200];
	uint64_t io_value_ns, io_threshold_ns;
	uint64_t io_moves[4]; /* by enum iothrottle_move */
	uint64_t io_onset_ns, io_reaction_ns; /* the last onset to its first cap */
	bool io_reaction_pending;
};

/* daemon/ctr_protect.c: the memory.min/low of @path's ancestors made to
 * cover the managed containers below them; after each admission, release
 * and change of a container with protection (ctr_protected), and at start. */
struct ctr_anc;
bool ctr_protected(const struct container *k);
void ctr_protect(struct containers *c, const char *path);
void ctr_protect_free(struct containers *c);
/* The system slice's cpuset.cpus to [node] reserved_cpus (at start), and
 * back (a clean stop that leaves no container). */
void ctr_system_cpus(struct containers *c);
void ctr_system_cpus_undo(struct containers *c);

/* daemon/ctr_control.c: the CPU ladder. Its rung's values over the class
 * knobs (cpu.weight, cpu.max; the cpuset rung is target_cpus'); pressure
 * events; the timer; a clean stop's release of every rung; the class
 * threshold of a guaranteed container. */
void ctr_ladder_knobs(const struct containers *c, const struct container *k,
		      struct class_knobs *kn);
void ctr_control_init(struct containers *c);
void ctr_control_stop(struct containers *c);
void ctr_control_forget(struct containers *c, struct container *k);
/* An adopted container squeezed by the CPU ladder gets its scheduler's
 * values back (what of them is still as cgpilot left it). */
void ctr_control_unsqueeze(struct containers *c, struct container *k, const char *reason);
void ctr_control_forget_threshold(struct containers *c, struct container *k);
void ctr_control_tick(struct containers *c, uint64_t now);
/* daemon/ctr_memory.c: the memory loop, each sample tick; memory.high back
 * to max (a clean stop, the policy off); a restarted container's value. */
void ctr_memory_tick(struct containers *c, uint64_t now);
void ctr_memory_release(struct containers *c, const char *reason);
void ctr_memory_adopt(struct containers *c, struct container *k);
/* An adopted pod whose memory.high cgpilot may write: [policy.memory]
 * adopted, the knob handed over, no other writer's change seen. */
bool ctr_memory_handed(const struct containers *c, const struct container *k);
/* Before cgpilot's first write of an adopted pod's memory.high: its
 * scheduler's value kept; -errno when it cannot be read (no write then). */
int ctr_memory_save(struct containers *c, struct container *k);
/* memory.high @high as written to @k: MEMHIGH_MAX is "max", or for an
 * adopted pod the value its scheduler left. */
void ctr_memory_value(const struct container *k, uint64_t high, char *buf, size_t len);
/* Both loops' hold of memory.high given back (or taken by another writer):
 * the scheduler's value forgotten. */
void ctr_memory_settled(struct container *k);
/* An adopted pod's memory.high back as its scheduler left it, both loops'
 * state reset (the pod released, no longer a target, the policy off). */
void ctr_memory_unsqueeze(struct containers *c, struct container *k, const char *reason);
/* daemon/ctr_guard.c: memory relief for guaranteed containers. */
void ctr_guard_init(struct containers *c);
void ctr_guard_stop(struct containers *c);
void ctr_guard_free(struct containers *c); /* triggers and timer, nothing written */
void ctr_guard_admitted(struct containers *c, struct container *k);
void ctr_guard_forget(struct containers *c, struct container *k);
void ctr_guard_tick(struct containers *c, uint64_t now);
void ctr_guard_on_event(struct containers *c, struct container *k, const struct cgp_event *e);
void ctr_guard_release(struct containers *c, const char *reason);
json_object *ctr_guard_json(struct containers *c);
json_object *ctr_memory_json(struct containers *c);
/* policy.show's "policies": each loop, its state, the containers on each rung. */
json_object *ctr_control_json(struct containers *c);
void ctr_control_admitted(struct containers *c, struct container *k);
/* daemon/ctr_io.c: the I/O loop (io.max of besteffort on guaranteed I/O
 * latency onsets). */
bool ctr_io_shielded(const struct containers *c, const struct container *k);
void ctr_io_on_event(struct containers *c, struct container *k, const struct cgp_event *e);
void ctr_io_tick(struct containers *c, uint64_t now);
void ctr_io_release(struct containers *c, const char *reason);
/* One container's cap lifted (an adopted pod's: its scheduler's line back). */
void ctr_io_unsqueeze(struct containers *c, struct container *k, const char *reason);
void ctr_io_forget(struct containers *c, struct container *k);
void ctr_io_init(struct containers *c);
void ctr_io_free(struct containers *c);
json_object *ctr_io_json(struct containers *c);
/* A cgroup that is not a container came alive: below a protected one it
 * gets the class target as its CPU threshold too. */
void ctr_control_cgroup_added(struct containers *c, const struct cg *cg);
/* The container @cg counts for: its own, or the nearest one above it. */
struct container *ctr_owner(struct containers *c, const struct cg *cg);

/* An adopted container's pattern hands @knob over to cgpilot ([adopt] knobs). */
static inline bool ctr_handed(const struct container *k, const char *knob)
{
	return k->kind == CTR_ADOPTED && k->pattern && act_word_in(k->pattern->knobs, knob);
}

/* The @i-th oldest of a container's remembered actions (i < hist_n). */
static inline const struct ctr_action *ctr_history_at(const struct container *k, unsigned i)
{
	return &k->history[(k->hist_next + k->hist_cap - k->hist_n + i) % k->hist_cap];
}

/* Knob values of a container's decision, only where the controller is on. */
struct ctr_plan {
	struct class_knobs kn;
	char cpus[ACT_VALUE_MAX], mems[ACT_VALUE_MAX];
	struct act_write w[ACT_WRITES_MAX];
	unsigned n;
};

/* ctr_record.c: the actuator's record hooks (audit, action events,
 * history), its manage set, and the writes of a container (@fd: its open
 * directory, or NULL). */
void ctr_on_record(void *ud, const struct act_record *r);
void ctr_on_recorded(void *ud);
bool ctr_in_manage(void *ud, const char *path);
void ctr_audit_flush(struct containers *c);
int ctr_apply_to(struct containers *c, struct container *k, const struct act_write *w, unsigned n,
		 const int *fd, const char *reason, struct act_result *res);

/* containers.c */
/* -ENOSPC when a cpuset would be empty or does not fit a value (nothing planned). */
int ctr_plan_knobs(struct containers *c, const struct container *k, struct ctr_plan *p,
		   char *unenforced, size_t ulen);
int ctr_check_enforceable(const struct containers *c, enum cgp_class class,
			  const struct res_spec *spec, unsigned exclusive, char *why,
			  size_t whylen);
/* Forget a container: its journal line, books, CPUs and links; freed. */
void ctr_forget(struct containers *c, struct container *k);
/* Give @k the path @path (taken over), rehashed. */
void ctr_set_path(struct containers *c, struct container *k, char *path);
/* The container at @path (raw), or NULL. */
struct container *ctr_find_path(struct containers *c, const char *path);
/* In the container root or our own cgroup: not for an engine's containers. */
bool below_own(const struct containers *c, const char *path);
/* Send @sig to every process of the container; the number signalled, or -errno. */
int ctr_signal(struct containers *c, struct container *k, int sig, const char *reason);
void ctr_link(struct containers *c, struct container *k);
void ctr_unlink(struct containers *c, struct container *k);
void ctr_set_cgroup(struct containers *c, struct container *k, uint64_t cgroup_id);
void ctr_free_one(struct container *k);
struct container *ctr_alloc(struct containers *c);
int ctr_cpuset_copy(struct topo_cpuset *dst, const struct topo_cpuset *src);
/* Exclusive CPUs for @k from the pool (its pinned ones, if any), the shared containers shrunk
 * first; -EBUSY when one could not be (nothing given), else place's error. */
int ctr_place_exclusive(struct containers *c, struct container *k, char *why, size_t whylen);
/* ... and back to the shared pool. */
void ctr_unplace_exclusive(struct containers *c, struct container *k, const char *reason);
/* @k's requests in (out of) the books and its tenant's DRF share. */
void ctr_book(struct containers *c, struct container *k);
void ctr_unbook(struct containers *c, struct container *k);
/* daemon/ctr_degrade.c: admit @k in the shared pool, without reservations,
 * after its request was refused for want of room (@refused says why); and,
 * on the tick, place the degraded ones as asked where they fit now. */
int ctr_admit_degraded(struct containers *c, struct container *k, const char *refused, char *why,
		       size_t whylen, enum ctr_refusal *ret_reason);
void ctr_replace_degraded(struct containers *c, uint64_t now_ns);
/* A cgroup cgpilot-run made while the daemon was away (tagged
 * ACT_OWNER_UNADMITTED below an engine root): admitted and taken over;
 * true if @cg was one (taken over or refused with a warning). */
bool ctr_take_unadmitted(struct containers *c, const struct cg *cg);
int ctr_admit_now(struct containers *c, struct container *k, char *why, size_t whylen,
		  enum ctr_refusal *ret_reason);
int ctr_release(struct containers *c, struct container *k, const char *reason, bool kill);
void ctr_serve_queue(struct containers *c, uint64_t now_ns);
int ctr_apply(struct containers *c, struct container *k, const struct act_write *w, unsigned n,
	      const char *reason, struct act_result *res);
unsigned ctr_exclusive_size(const struct containers *c, enum cgp_class class,
			    const struct res_spec *spec);
json_object *ctr_json(const struct containers *c, const struct container *k, bool detail);
json_object *ctr_cpuset_json(const struct topo_cpuset *set);

/* ctr_state.c: the snapshot (state.json) and the journal of changes since */
int ctr_state_load(struct containers *c);
/* A snapshot of every persisted container, then an empty journal. */
int ctr_state_save(struct containers *c);
/* A snapshot when the journal has grown long (the tick). */
void ctr_state_compact(struct containers *c);
/* Record a container as it is now, or its end, before the reply goes out;
 * -errno: not recorded (c->state_error says why). */
int ctr_state_put(struct containers *c, const struct container *k);
/* The state cannot be written: @why says so for a refusal; 0 if it can. */
int ctr_state_check(struct containers *c, char *why, size_t whylen);
void ctr_state_del(struct containers *c, uint64_t id);
void ctr_state_close(struct containers *c);
/* An adopted container's squeeze (its rung, what cgpilot wrote, its
 * scheduler's values) may have changed: recorded at the end of the batch. */
void ctr_state_touch(struct containers *c, struct container *k);
/* Every touched container's squeeze into the journal (the loop, per batch). */
void ctr_state_sync(struct containers *c);
/* An adopted cgroup's squeeze of the previous run, if one was kept: taken
 * from the pending set (the caller puts it). */
json_object *ctr_state_claim(struct containers *c, uint64_t cgroup_id);
/* The cgroup's scheduler's cpu.weight / cpu.max as the record kept them. */
const char *ctr_state_saved_knob(json_object *sq, const char *knob);
/* Adopted again: the previous run's squeeze given back (its scheduler's
 * values, unless another writer changed a knob since). */
void ctr_state_undo_squeeze(struct containers *c, struct container *k, json_object *sq);
/* Cgroups below @root tagged as made for a container the state does not
 * have (a run killed between the mkdir and its journal line): removed. */
void ctr_state_sweep(struct containers *c, const char *root);
/* A test's hook: with CGPILOTD_TEST_STOP_AT=@at in the environment the
 * daemon stops itself (SIGSTOP) here, for a test to kill it at that point;
 * inert otherwise. "mkdir": a container's cgroup made and written, its
 * journal line not yet. */
void ctr_test_stop(const char *at);
/* The container goes: its squeeze record too. */
void ctr_state_forget(struct containers *c, struct container *k);

#endif
