/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Adoption: which cgroups that another scheduler made (kubelet, systemd,
 * Mesos) cgpilot manages, with which class, found by path patterns. Pure:
 * paths in, matches out.
 *
 * A pattern is a cgroup path relative to the v2 mount, '/'-separated; in a
 * component, '*' matches any run of characters (possibly none) other than
 * '/', and a capture "{NAME}" matches a non-empty run of the characters
 * NAME allows:
 *   {pod}        a pod UID: 32 lowercase hex digits in the 8-4-4-4-12 form,
 *                with '-' or, as kubelet's systemd driver writes it, '_' (all
 *                four the same: a UID mixing '-' and '_' is refused); the
 *                captured value always has '-' (as the API server knows it).
 *                Also a static pod's UID, 32 hex digits without separators
 *                (the kubelet's hash of its manifest), captured as it is.
 *   {id}         a container id: 1-128 of [0-9A-Za-z_.-], not starting with '.'
 *   {name}       1-255 characters, anything but '/' and control characters
 * Where a component could match in more than one way, '*' and captures
 * take, left to right, the longest run that lets the rest match. No
 * state (place in the pattern, place in the name) is tried twice, so a
 * pattern like "*a*a*a*b" costs polynomial time, not exponential.
 * A pattern's class is fixed ("guaranteed", ...), and its knobs are the
 * cgroup files cgpilot may write there (the rest stay the other scheduler's).
 * Captures must not be adjacent to '*' or another capture (ambiguous).
 */
#ifndef CGPILOT_POLICY_ADOPT_H
#define CGPILOT_POLICY_ADOPT_H

#include <stdbool.h>
#include <stddef.h>

#include "class.h"

#define ADOPT_MAX_PATTERNS 64
#define ADOPT_MAX_CAPTURES 4
#define ADOPT_NAME_MAX 64
#define ADOPT_PATTERN_MAX 512
#define ADOPT_KNOBS_MAX 256

struct adopt_pattern {
	char name[ADOPT_NAME_MAX]; /* the config section's name, "kubelet-systemd-besteffort" */
	char engine[ADOPT_NAME_MAX]; /* "kubelet", "systemd", "mesos", or the config's word */
	char path[ADOPT_PATTERN_MAX];
	enum cgp_class class;
	char knobs[ADOPT_KNOBS_MAX]; /* space-separated cgroup file names; "" none */
};

struct adopt_capture {
	char name[16]; /* "pod", "id", "name" */
	char value[256];
};

struct adopt_match {
	const struct adopt_pattern *pattern;
	unsigned ncaptures;
	struct adopt_capture captures[ADOPT_MAX_CAPTURES];
};

/*
 * Check a pattern's syntax: non-empty, shorter than ADOPT_PATTERN_MAX,
 * relative, valid UTF-8 without control characters, no empty component,
 * "." or "..", balanced '{' '}', known capture names, no capture beside '*' or another capture, at most ADOPT_MAX_CAPTURES
 * captures. -EINVAL with the reason in @err (which may be NULL). A pattern
 * that fails this never matches.
 */
int adopt_pattern_check(const char *path, char *err, size_t errlen);

/*
 * Match @path (normalised, relative to the mount, raw bytes) against the
 * patterns in order; the first that matches wins. Returns true and fills
 * *ret (if not NULL), else false and *ret is untouched. A path matches only
 * if every component matches (no prefix matches: a container's children are
 * not the container). A path that is empty or absolute, has an empty, "."
 * or ".." component, a component longer than 255 bytes (NAME_MAX), a
 * control character or invalid UTF-8 matches nothing.
 */
bool adopt_match(const struct adopt_pattern *patterns, unsigned n, const char *path,
		 struct adopt_match *ret);
/* The value of capture @name in @m (the leftmost, if the pattern has it
 * twice; m->captures has them all, in pattern order), or NULL. */
const char *adopt_capture(const struct adopt_match *m, const char *name);

/*
 * The patterns cgpilot ships (docs/ARCHITECTURE.md, "Adoption"), by preset
 * name: "kubelet-systemd", "kubelet-cgroupfs", "mesos". Each is one or more
 * patterns (kubelet: one per QoS class); the knobs they hand to cgpilot
 * are @knobs (NULL: none). Appends to @out (capacity @cap) and returns how
 * many were added, or -ENOENT for an unknown preset, -EINVAL when @knobs
 * does not fit ADOPT_KNOBS_MAX, -ENOSPC when the patterns do not fit @cap;
 * nothing is written then. The patterns are named "<preset>-<class>"
 * ("mesos" for mesos), their engine "kubelet" or "mesos".
 *   kubelet-systemd:  kubepods.slice/kubepods-pod{pod}.slice                 guaranteed
 *                     kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{pod}.slice
 *                                                                            burstable
 *                     kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{pod}.slice
 *                                                                            besteffort
 *   kubelet-cgroupfs: kubepods/pod{pod}, kubepods/burstable/pod{pod},
 *                     kubepods/besteffort/pod{pod}
 *   mesos:            mesos/{id}                                             burstable
 * (Pods are the unit kubelet gives requests and limits to; their container
 * scopes, cri-containerd-<id>.scope or <id>, are children of the match.)
 */
int adopt_preset(const char *preset, const char *knobs, struct adopt_pattern *out, unsigned cap);
/* Names of the presets, NULL-terminated. */
extern const char *const adopt_preset_names[];

/* Is @knob (a cgroup file name) one of the pattern's knobs, word for word? */
bool adopt_knob_allowed(const struct adopt_pattern *p, const char *knob);

#endif
