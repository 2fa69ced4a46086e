/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit log: one JSON line per action (lib/actuate/actuate.h's
 * act_record), appended to <dir>/audit.log, size-capped with rotation
 * (audit.log.1 .. audit.log.KEEP, oldest dropped). It survives a reboot
 * (/var/log/cgpilot, the unit's LogsDirectory=). A write that fails (full
 * disk, read-only directory) returns -errno and never blocks the caller.
 */
#ifndef CGPILOT_AUDIT_H
#define CGPILOT_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "actuate.h"

struct audit_log;

/*
 * Open (create, mode 0640) <dir>/audit.log for appending; the directory must
 * exist. @max_bytes the size at which it is rotated (at least 4096), @keep
 * rotated files kept (0..99). -errno.
 */
int audit_open(const char *dir, uint64_t max_bytes, unsigned keep, struct audit_log **ret);
void audit_close(struct audit_log *l);
/*
 * Append one line (a newline is added; -EINVAL if it holds one); rotates first
 * when it would pass max_bytes. A rotation that fails leaves the current file
 * in place (it grows on) and its -errno is returned, though the line was
 * written; a write cut short is taken back, so the file holds whole lines.
 */
int audit_append(struct audit_log *l, const char *line);
/* The same for @n lines in one write (the records of one decision): all or,
 * when one holds a newline, none. */
int audit_append_lines(struct audit_log *l, const char *const *lines, unsigned n);
/*
 * One record as a JSON line (no newline), caller frees:
 * {"time":"2026-12-02T10:00:00.123Z","cgroup":"...","id":N,"knob":"...",
 *  "old":"...","new":"...","status":"written","error":"...","reason":"..."}
 * ("error" only for a failed write). NULL on allocation failure.
 */
char *audit_format(const struct act_record *r);
/* Bytes in the current file, rotations done, appends that returned an error. */
uint64_t audit_size(const struct audit_log *l);
uint64_t audit_rotations(const struct audit_log *l);
uint64_t audit_failures(const struct audit_log *l);

#endif
