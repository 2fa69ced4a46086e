/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup v2 filesystem: finding the mount, checking paths, parsing files. */
#ifndef CGPILOT_CGROUPFS_H
#define CGPILOT_CGROUPFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct psi_totals {
	uint64_t some_us;
	uint64_t full_us;
	bool has_full;
};

/* io.stat of a cgroup summed over its disks (hierarchical, as the kernel counts it). */
struct io_stat_totals {
	uint64_t rbytes, wbytes, rios, wios;
};

enum cgfs_controller {
	CGFS_CPU = 1 << 0,
	CGFS_CPUSET = 1 << 1,
	CGFS_MEMORY = 1 << 2,
	CGFS_IO = 1 << 3,
	CGFS_PIDS = 1 << 4,
	CGFS_HUGETLB = 1 << 5,
};

/* Mount point of the first cgroup2 filesystem in a mountinfo text. */
int cgfs_parse_mountinfo(const char *text, char **ret_path);
/* Same, read from /proc/self/mountinfo. */
int cgfs_find_v2_mount(char **ret_path);

/*
 * Check a cgroup path given by a user (relative to the v2 mount; a leading
 * '/' is accepted, "/" or "" is the root) and return it normalised: no
 * leading or trailing '/', no empty components. Refuses "..", ".", a
 * newline (the kernel allows no newline in a cgroup name) and over-long paths with -EINVAL; *ret_msg names
 * the problem.
 */
int cgfs_normalize_path(const char *path, char **ret_norm, const char **ret_msg);

/*
 * The part of @norm (a normalised path) below the cgroup2 mount point @mount
 * (absolute, as mountinfo gives it): "a/b" of "sys/fs/cgroup/a/b" for
 * /sys/fs/cgroup, "" for the mount itself; NULL when @norm is not below it,
 * or @mount is "/". A user may so give a cgroup by its full path.
 */
const char *cgfs_below_mount(const char *mount, const char *norm);

/* Normalised paths (cgfs_normalize_path): @path is @root or below it, a
 * component boundary away ("a" holds "a/b", not "ab"); an empty @root holds
 * nothing. Strictly: below it, not it. */
bool cgfs_path_below(const char *root, const char *path);
bool cgfs_path_strictly_below(const char *root, const char *path);

/*
 * Cgroup names are bytes: anyone who may create a cgroup can give it invalid
 * UTF-8 or control characters, which would make /metrics (UTF-8 text) and
 * JSON replies invalid. The display form percent-encodes every byte that is
 * not part of a valid UTF-8 sequence, control characters and '%' itself
 * ("%XX"), so it is valid UTF-8, printable, and two cgroups never share one
 * (the encoding is one-to-one). Names without such bytes display unchanged.
 * Returns 0 with *ret NULL when nothing needs encoding, 1 with a new string,
 * or -ENOMEM.
 */
int cgfs_display_path(const char *raw, char **ret);
/* The inverse: %XX back to bytes. 0 with *ret NULL if there is nothing to
 * decode, 1 with a new string, -EINVAL for an encoded NUL, -ENOMEM. */
int cgfs_decode_display(const char *display, char **ret);
/* Length of the valid UTF-8 sequence at s (1..4), 0 if not valid. */
size_t cgfs_utf8_seq_len(const unsigned char *s);

/*
 * Numbers in what the kernel writes, checked (no sscanf/atoi: a value past
 * the type is an error, not a wrapped or undefined number).
 * cgfs_parse_u64: decimal digits at @s (no sign, no space) into *@ret, *@end
 * (may be NULL) after them; -EINVAL without a digit, -ERANGE past UINT64_MAX.
 */
int cgfs_parse_u64(const char *s, const char **end, uint64_t *ret);
/* "MAJ:MIN" at the start of @s (as io.stat and io.max lines begin), *@end
 * after it; -EINVAL unless both are numbers in the kernel's ranges (12 and
 * 20 bits). */
int cgfs_parse_devnum_at(const char *s, const char **end, unsigned *ret_major, unsigned *ret_minor);
/* The value of @key in a flat keyed file ("key N" a line, as memory.events,
 * cpu.stat; or "key: N" when @key ends in ':'): 0, -ENOENT without the key,
 * -EINVAL when its value is not a number. */
int cgfs_keyed_u64(const char *text, const char *key, uint64_t *ret);
/* cpu.max ("max 100000", "50000 100000", or a quota alone, which the kernel
 * takes with its period unchanged: *@ret_period 0 then): *@ret_quota is
 * UINT64_MAX for "max". -EINVAL for anything else, or a period of 0. */
int cgfs_parse_cpu_max(const char *text, uint64_t *ret_quota, uint64_t *ret_period);

/* Parse a *.pressure file ("some avg10=.. total=N" / "full ..."). */
int cgfs_parse_psi(const char *text, struct psi_totals *ret);
/* usage_usec from cpu.stat. */
int cgfs_parse_cpu_usage(const char *text, uint64_t *ret_usec);
/* io.stat ("MAJ:MIN rbytes=N wbytes=N rios=N wios=N ..." a line per disk)
 * summed over its lines; an empty file (no I/O yet) is all zero. -EINVAL
 * for a line without a device or with a value that is not a number. */
int cgfs_parse_io_stat(const char *text, struct io_stat_totals *ret);
/* A space-separated controller list into CGFS_* bits (unknown names ignored). */
unsigned cgfs_parse_controllers(const char *text);
/* Controller bit names, for messages: fills "cpu cpuset ..." into buf. */
void cgfs_controllers_str(unsigned mask, char *buf, size_t len);
extern const char *const cgfs_controller_names[];
extern const unsigned cgfs_controller_bits[];
extern const unsigned cgfs_n_controllers;

/*
 * Open a cgroup v2 directory by its id (the kernel's cgroup id, the
 * directory's inode number) through a file handle, as name_to_handle_at()
 * gives them for cgroupfs: no path needed, so nothing is lost when a path
 * was too long for a BPF event or the cgroup was renamed. mount_fd is the
 * v2 mount. -ESTALE (or -ENOENT) when no cgroup has that id any more.
 */
int cgfs_open_by_id(int mount_fd, uint64_t id, int flags);
/* The path of an open cgroup directory relative to the mount mount_path
 * ("" for the mount itself); -EXDEV if it lies outside. */
int cgfs_path_of_fd(int fd, const char *mount_path, char **ret_rel);

/* Read a whole small file relative to dirfd into buf (NUL-terminated). */
int cgfs_read_at(int dirfd, const char *name, char *buf, size_t len);

#endif
