/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The live page on the metrics listener, for operators without Prometheus:
 *   /                  one HTML file (daemon/page.html, embedded at build
 *                      time) that polls the endpoint below;
 *   /api/v1/overview   JSON from the daemon's model and daemon/history.h:
 *                      node, books and pools, containers, policies, the top
 *                      cgroups by stall with their last minutes, node
 *                      figures of the last 10 minutes, recent events.
 * Read-only: nothing here reads cgroupfs or changes state. Strings are
 * display forms (valid UTF-8) and JSON-escaped; the page inserts them as
 * text only.
 */
#ifndef CGPILOT_PAGE_H
#define CGPILOT_PAGE_H

#include <json-c/json.h>

struct act_record;
struct cg;
struct cgp_event;
struct container;
struct ctr_why;
struct daemon;
struct MHD_Response;

/* d->hist for the page (with the metrics listener); -ENOMEM. */
int page_init(struct daemon *d);
void page_free(struct daemon *d);
/* After each sample tick. */
void page_tick(struct daemon *d);
/* An onset, cleared or OOM kill event (others are ignored), @c its cgroup
 * or NULL; and an action the actuator recorded, with the control loop's
 * why (NULL: none) and its container (NULL: none). */
void page_note_event(struct daemon *d, const struct cgp_event *e, const struct cg *c);
void page_note_action(struct daemon *d, const struct act_record *r, const struct ctr_why *why,
		      const struct container *k);

/* The overview the endpoint serves (also for tests of its shape). */
json_object *page_overview(struct daemon *d);
/* The response for @url with its headers: 0 and *ret set; -ENOENT if @url
 * is not the page's; -ENOMEM. */
int page_respond(struct daemon *d, const char *url, struct MHD_Response **ret);

#endif
