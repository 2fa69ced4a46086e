/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The actuator: the one module through which every write to a cgroup file
 * goes, for the daemon, the launcher and the OCI runtime alike. In the shape
 * of Mesos's isolators: one small table entry per controller (cpu, cpuset,
 * memory, io, pids, freezer, kill), each listing its knobs with the same
 * verbs (check a value, read, write, restore), so that a new knob is a new
 * entry, not a new code path.
 *
 * act_apply() writes one decision's values to one cgroup, together:
 *  1. every value is checked first (known knob, value in range and format,
 *     the cgroup inside the manage set, an adopted cgroup's knob handed to
 *     cgpilot); one bad value and nothing is written;
 *  2. the cgroup is opened beneath the mount (no symlinks, no "..") and must
 *     still have the id the caller knows (not a new cgroup of the same name);
 *  3. the old values are read; where the caller says what it last wrote
 *     (expect) and the file now holds something else, another writer changed
 *     it: nothing is written and the result says so (the caller backs off);
 *  4. the values are written in order (one the file shows already is left
 *     alone: no write, no record); if one fails, those already written
 *     get their old values back, in reverse order, and the result names the
 *     knob that failed, its error, and what was restored;
 *  5. every write (and, in dry run, every write not made) is handed to the
 *     record callback with the old value, the new one and the reason.
 */
#ifndef CGPILOT_ACTUATE_H
#define CGPILOT_ACTUATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest value text a knob takes (io.max lines, the cpulist of a fragmented
 * pool on a machine of hundreds of CPUs). */
#define ACT_VALUE_MAX 4096
/* Largest number of writes in one act_apply(). */
#define ACT_WRITES_MAX 16
/* The xattr that records who made a cgroup (lib/actuate/cgroup.c). */
#define ACT_OWNER_XATTR "trusted.cgpilot.owner"
/* The owner tag of the cgroup cgpilot-run makes as an OCI runtime while
 * cgpilotd is away, and the admission request it keeps beside it (JSON:
 * class, cpu_request_mc, cpu_limit_mc, memory_request, memory_limit,
 * io_weight), for the daemon to take the container over when it is back. */
#define ACT_OWNER_UNADMITTED "cgpilot-run:runtime"
#define ACT_REQUEST_XATTR "trusted.cgpilot.request"

struct act_knob {
	const char *file; /* "cpu.weight" */
	/* 0, or -EINVAL with the reason ("cpu.weight '0': not in 1..10000") in err */
	int (*check)(const char *value, char *err, size_t errlen);
	bool restorable; /* the old value can be written back (not cgroup.kill) */
	/* what a cgroup the kernel just made shows (its defaults), NULL unknown */
	const char *fresh;
};

struct act_isolator {
	const char *name; /* "cpu", "cpuset", "memory", "io", "pids", "freezer", "kill" */
	unsigned controller; /* CGFS_* bit the files need enabled, 0 for cgroup core files */
	const struct act_knob *knobs;
	unsigned nknobs;
};

extern const struct act_isolator act_isolators[];
extern const unsigned act_nisolators;

/* The knob for a file name and its isolator (*ret_iso may be NULL); NULL if unknown. */
const struct act_knob *act_knob_find(const char *file, const struct act_isolator **ret_iso);
/* Check @value for @file: -ENOENT for an unknown knob, -EINVAL for a bad value (err says why). */
int act_check(const char *file, const char *value, char *err, size_t errlen);

enum act_status {
	ACT_WRITTEN = 0,
	ACT_DRY_RUN, /* decided and recorded, not written */
	ACT_FAILED, /* this write failed */
	/* written, then given its old value back after a later failure; the record
	 * keeps the write's old and new values */
	ACT_RESTORED,
	ACT_EXTERNAL, /* found changed by another writer: not written */
};

const char *act_status_name(enum act_status s);

/* One write, for the audit log, `action` events and per-cgroup history. */
struct act_record {
	uint64_t time_ns; /* CLOCK_REALTIME */
	const char *path; /* relative to the mount */
	uint64_t id;
	const char *knob;
	const char *old_value; /* as read before, "" if unreadable */
	const char *new_value;
	const char *reason;
	enum act_status status;
	int err; /* -errno for ACT_FAILED */
};

typedef void (*act_record_fn)(void *ud, const struct act_record *r);

struct actuator {
	int mount_fd; /* O_RDONLY directory fd of the cgroup v2 mount (not owned) */
	bool dry_run;
	/* May cgpilot write to @path (relative, normalised)? The daemon's answer:
	 * under a manage root or matched by an adoption pattern. NULL: yes. */
	bool (*in_manage)(void *ud, const char *path);
	void *manage_ud;
	act_record_fn record; /* NULL: nothing recorded */
	void *record_ud;
	/* called once after the records of one call (act_apply, controller
	 * enabling), so that a caller writes them out together; NULL: none */
	void (*recorded)(void *ud);
	/* a unit test's boundary: the write of one knob (act__write's
	 * contract, -errno), to make the kernel's refusals; NULL: act__write */
	int (*write)(void *ud, int dirfd, const char *file, const char *value);
	void *write_ud;
};

struct act_target {
	const char *path; /* relative to the mount, normalised, not "" (the root is never written) */
	uint64_t id; /* the cgroup id it must have; 0 only right after act_mkdir() gave it */
	/* adopted cgroups: the space-separated knobs cgpilot may write there;
	 * NULL for cgroups cgpilot owns (every knob) */
	const char *knobs;
	/* made by act_mkdir() for this decision: the old values are the
	 * kernel's defaults (act_knob.fresh), not read, so a value equal to
	 * the default is not written at all; a failure restores nothing: the
	 * caller removes the cgroup as a whole */
	bool fresh;
	/* an open directory fd of the cgroup (act_mkdir_open's) to write
	 * through instead of opening @path again; not closed. NULL: open @path
	 * and check its id */
	const int *fd;
};

struct act_write {
	const char *knob;
	const char *value;
	/* what cgpilot last wrote (as read back), NULL: do not compare */
	const char *expect;
	/* where to put the value read back after a successful write, or NULL */
	char *readback;
	size_t readback_len;
};

struct act_result {
	unsigned written; /* writes that took effect and stayed */
	/* index of the write that failed, was refused (bad value, not handed over)
	 * or found changed (-EAGAIN); -1 when no one write is to blame */
	int failed;
	int err; /* the -errno act_apply() returned, 0 */
	bool restored; /* the earlier writes got their old values back */
	bool external; /* a value was found changed by another writer */
	char msg[512]; /* one line a person reads: what failed, where, and what was left */
};

/*
 * Apply @n writes (at most ACT_WRITES_MAX) to one cgroup, as described at the
 * top. 0 when every write took effect (or, in dry run, would have); else
 * -EINVAL (a bad value or unknown knob: nothing written), -EPERM (outside the
 * manage set, the root "" or "/", or a knob not handed over: nothing
 * written), -ESTALE (the cgroup is gone or has another id), -ELOOP (the path
 * leads through a symlink), -EAGAIN (changed by another writer: nothing
 * written, ACT_EXTERNAL recorded), or the -errno of the write that failed
 * (the earlier ones restored). @res is always filled. Values are given
 * without a newline; each is written as one write() of the value and "\n".
 * In dry run, expect is not compared (cgpilot never wrote what it expects).
 */
int act_apply(const struct actuator *a, const struct act_target *t, const struct act_write *w,
	      unsigned n, const char *reason, struct act_result *res);

/* Whether @shown, read back right after writing @written to @knob, is that
 * value as the kernel shows it (the same text, bytes rounded down to a
 * page, cpu.max's period filled in, a CPU list spelled otherwise); false:
 * another writer's, which cgpilot must not take for its own. */
bool act_value_matches(const char *knob, const char *written, const char *shown);

/* @word is one of the space-separated words of @list (a pattern's knobs). */
bool act_word_in(const char *list, const char *word);

/* Read one knob of a cgroup ("" the root; trailing newline removed): its length, or
 * -errno (-EFBIG when it does not fit in @len). */
int act_read(const struct actuator *a, const char *path, const char *knob, char *buf, size_t len);

/*
 * The directory of cgroup @path ("" the mount itself) opened O_RDONLY beneath
 * a->mount_fd, with no symlink, magic link or ".." on the way (openat2, or a
 * walk one component at a time before 5.6). An fd, or -errno: -ELOOP through
 * a symlink, -EINVAL for "..", -ENOENT when it does not exist.
 */
int act_open_cgroup(const struct actuator *a, const char *path);

/* Internal to the files of lib/actuate/ (the one writer), not for callers:
 * one write() of @value and a newline; a read with the newline removed
 * (-EFBIG if cut short); one record stamped with CLOCK_REALTIME. */
int act__write(int dirfd, const char *file, const char *value);
int act__read(int dirfd, const char *file, char *buf, size_t len);
/* The end of one call's records (actuator.recorded). */
void act__recorded(const struct actuator *a);
void act__record(const struct actuator *a, const char *path, uint64_t id, const char *knob,
		 const char *old_value, const char *new_value, const char *reason,
		 enum act_status status, int err);
struct act_result;
/* res->msg from a format */
void act__set_msg(struct act_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Cgroup lifecycle (lib/actuate/cgroup.c). act_mkdir creates @path (its
 * parent must exist) and tags it with @owner in ACT_OWNER_XATTR before
 * anything else is done with it; returns its id. -EEXIST if it exists,
 * -EPERM outside the manage set. In dry run nothing is made and the id is 0.
 */
int act_mkdir(const struct actuator *a, const char *path, const char *owner, uint64_t *ret_id);
/* The same, also returning an O_RDONLY directory fd of the new cgroup in
 * @ret_fd (the caller closes it; -1 in dry run) to hand to act_apply
 * (act_target.fd) without opening it again. */
int act_mkdir_open(const struct actuator *a, const char *path, const char *owner, uint64_t *ret_id,
		   int *ret_fd);
/* Create the missing directories of @path's parents, each tagged @owner
 * (@path itself is not made; those that exist are left alone). */
int act_mkdir_parents(const struct actuator *a, const char *path, const char *owner);
/*
 * Remove @path if it still has id @id (0: any) and its owner tag is @owner:
 * -EPERM when the tag is missing or another's (nothing cgpilot did not make
 * is deleted), -ESTALE for another id, -ENOENT when it is gone, -EBUSY
 * while it has processes or children. In dry run it is checked, not removed.
 */
int act_rmdir(const struct actuator *a, const char *path, uint64_t id, const char *owner);
/* The same, removing the empty cgroups below it first (deepest first: a
 * workload's own children need no tag, they are inside a cgroup that is
 * this owner's); -EBUSY while any of them has processes. */
int act_rmdir_tree(const struct actuator *a, const char *path, uint64_t id, const char *owner);
/* The owner tag of @path into @buf: its length, -ENODATA without one. */
int act_owner(const struct actuator *a, const char *path, char *buf, size_t len);
/* Take over cgroup @path (id @id, 0: any) whose tag is @from: the tag
 * becomes @to and an O_RDONLY fd of it is given in *ret_fd. -EPERM when the
 * tag is not @from, -ESTALE for another id; in dry run nothing is changed. */
int act_take_over(const struct actuator *a, const char *path, uint64_t id, const char *from,
		  const char *to, int *ret_fd);
/* Set (replace) or read xattr @name of the cgroup open at @fd: 0 / its
 * length, or -errno (-ENODATA: not set). */
int act_set_xattr(int fd, const char *name, const char *value);
int act_get_xattr(int fd, const char *name, char *buf, size_t len);

/*
 * Enable-only writes outside the manage set: add the controllers in @mask
 * (CGFS_* bits) to cgroup.subtree_control of every ancestor of @path, root
 * first, so @path can have them. What was added (not there before) is
 * remembered in @undo for act_undo(), and recorded with @reason. -errno and
 * the ancestor in @res->msg when one cannot be enabled (what was added
 * before stays, and is in @undo).
 */
struct act_undo_entry {
	char path[256];
	unsigned added; /* CGFS_* bits this module added there */
};

struct act_undo {
	struct act_undo_entry *e;
	unsigned n, cap;
};

int act_enable_controllers(const struct actuator *a, const char *path, unsigned mask,
			   struct act_undo *undo, const char *reason, struct act_result *res);
/*
 * The enable-only protection write DESIGN.md allows outside the manage set:
 * @knob (memory.min or memory.low) of the cgroup at @path set to @value
 * bytes, so that the protection of managed cgroups below it takes effect
 * (a child's is bounded by its ancestors'). The caller decides the value
 * (raised only as far as the managed children need); the old value is
 * given back in @old (at least 24 bytes). Recorded like act_apply's
 * writes; nothing is written when the value is there already. -errno.
 */
int act_protect(const struct actuator *a, const char *path, const char *knob, uint64_t value,
		const char *reason, char *old, size_t oldlen, struct act_result *res);
/* The same for any enable-only knob (memory.min, memory.low, and the
 * system slice's cpuset.cpus) with the value as text. */
int act_enable_only(const struct actuator *a, const char *path, const char *knob, const char *value,
		    const char *reason, char *old, size_t oldlen, struct act_result *res);
/* Take back what @undo holds, deepest first (a clean stop); EBUSY ones stay,
 * recorded as ACT_FAILED, and stay in @undo for a later try. In dry run the
 * writes are recorded, not made, and @undo is unchanged. */
void act_undo(const struct actuator *a, struct act_undo *undo, const char *reason);
void act_undo_free(struct act_undo *undo);

/*
 * A PSI trigger on @file (memory.pressure, io.pressure, cpu.pressure) of the
 * cgroup at @path: "some" stall of @stall_us within each @window_us, an fd
 * that polls EPOLLPRI when it is crossed (EPOLLERR once the cgroup is gone)
 * and holds the trigger until closed. It changes nothing in the cgroup and
 * is not recorded. Without CAP_SYS_RESOURCE the kernel takes only windows
 * of whole multiples of 2 s: then the window becomes 2 s and the stall
 * grows in proportion, and *ret_window_us says what is in force. An fd, or
 * -errno (-ENOENT without PSI, -EINVAL for values the kernel refuses).
 */
int act_psi_trigger(const struct actuator *a, const char *path, const char *file, uint32_t stall_us,
		    uint32_t window_us, uint32_t *ret_window_us);

#endif
