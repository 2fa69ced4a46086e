// SPDX-License-Identifier: Apache-2.0
/* cgpilot-run --standalone: the cgroup made and written without cgpilotd (standalone.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actuate/actuate.h"
#include "cgroupfs.h"
#include "config.h"
#include "oci.h"
#include "policy/class.h"
#include "run.h"
#include "standalone.h"
#include "util.h"

#define OWNER "cgpilot-run"

struct standalone {
	struct actuator act;
	int mount_fd;
	char mount[4096]; /* the v2 mount, as configured or found */
	char path[4096];
	char owner[64];
	uint64_t id;
	bool made;
};

static int open_mount(const char *configured, int *ret_fd, char *mount, size_t mlen, char *err,
		      size_t errlen)
{
	char *found = NULL;
	int r = 0;

	if (!configured[0]) {
		r = cgfs_find_v2_mount(&found);
		if (r < 0) {
			snprintf(err, errlen, "no cgroup v2 mount: %s", strerror(-r));
			return r;
		}
	}
	snprintf(mount, mlen, "%s", found ? found : configured);
	*ret_fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*ret_fd < 0) {
		r = -errno;
		snprintf(err, errlen, "open the cgroup v2 mount %s: %s", found ? found : configured,
			 strerror(errno));
	}
	free(found);
	return r;
}

static unsigned available(int mount_fd)
{
	char buf[256];

	if (cgfs_read_at(mount_fd, "cgroup.controllers", buf, sizeof(buf)) < 0)
		return 0;
	return cgfs_parse_controllers(buf);
}

int standalone_create(const struct run_opts *o, const char *class_text, const struct oci_request *q,
		      struct standalone **ret, char *cgroup, size_t cglen, char *err, size_t errlen)
{
	char owner[64];

	snprintf(owner, sizeof(owner), OWNER ":%d", (int)getpid());
	return standalone_create_at(o->config, NULL, o->name, owner, NULL, class_text, q, ret,
				    cgroup, cglen, err, errlen);
}

int standalone_create_at(const char *config, const char *path, const char *name, const char *owner,
			 const char *request, const char *class_text, const struct oci_request *q,
			 struct standalone **ret, char *cgroup, size_t cglen, char *err,
			 size_t errlen)
{
	struct cgp_conf conf;
	struct standalone *sa;
	struct res_spec spec = { 0 };
	struct class_knobs kn;
	struct act_result res;
	struct act_write w[8];
	struct act_undo undo = { 0 }; /* the controllers stay enabled: shared with the daemon */
	enum cgp_class class = CGP_CLASS_BURSTABLE;
	unsigned on, n = 0;
	char cerr[512];
	int r, fd = -1;

	cgp_conf_defaults(&conf);
	r = cgp_conf_parse_file(&conf, config, cerr, sizeof(cerr));
	if (r && r != -ENOENT) {
		snprintf(err, errlen, "%s", cerr);
		return r;
	}
	if (class_text)
		class_parse(class_text, &class);
	spec.cpu_request_mc = q->cpu_request_mc;
	spec.cpu_limit_mc = q->cpu_limit_mc;
	spec.mem_request = q->memory_request;
	spec.mem_limit = q->memory_limit;
	spec.io_weight = q->io_weight;
	if (class_check(class, NULL, &spec, cerr, sizeof(cerr))) {
		snprintf(err, errlen, "%s", cerr);
		return -EINVAL;
	}
	class_knobs(class, &spec, &kn);
	sa = calloc(1, sizeof(*sa));
	if (!sa)
		return -ENOMEM;
	*ret = sa;
	r = open_mount(conf.cgroup_root, &sa->mount_fd, sa->mount, sizeof(sa->mount), err, errlen);
	if (r)
		return r;
	sa->act.mount_fd = sa->mount_fd;
	if (path)
		snprintf(sa->path, sizeof(sa->path), "%s", path);
	else if (name)
		snprintf(sa->path, sizeof(sa->path), "%s/%s/%s", conf.container_root,
			 class_name(class), name);
	else
		snprintf(sa->path, sizeof(sa->path), "%s/%s/run-%d", conf.container_root,
			 class_name(class), (int)getpid());
	snprintf(sa->owner, sizeof(sa->owner), "%s", owner);
	on = available(sa->mount_fd) & (CGFS_CPU | CGFS_MEMORY | CGFS_IO | CGFS_PIDS);
	/* a limit no controller takes: refused, as with the daemon */
	if ((spec.cpu_limit_mc && !(on & CGFS_CPU)) || (spec.mem_limit && !(on & CGFS_MEMORY))) {
		snprintf(err, errlen,
			 "refused: a %s limit was asked for, but the %s controller is not "
			 "available on this node's cgroup v2 hierarchy",
			 spec.cpu_limit_mc && !(on & CGFS_CPU) ? "cpu" : "memory",
			 spec.cpu_limit_mc && !(on & CGFS_CPU) ? "cpu" : "memory");
		return -EOPNOTSUPP;
	}
	r = act_mkdir_parents(&sa->act, sa->path, OWNER);
	if (!r && on)
		r = act_enable_controllers(&sa->act, sa->path, on, &undo,
					   "cgpilot-run --standalone", &res);
	free(undo.e);
	if (r) {
		snprintf(err, errlen, "cannot prepare the parents of cgroup %s: %s", sa->path,
			 strerror(-r));
		return r;
	}
	r = act_mkdir_open(&sa->act, sa->path, sa->owner, &sa->id, &fd);
	if (r) {
		snprintf(err, errlen, "cannot create cgroup %s: %s", sa->path,
			 r == -EEXIST ? "it exists already (another container of this name?)" :
					strerror(-r));
		return r;
	}
	sa->made = true;
	/* beside the owner tag from the start: what a daemon back needs to
	 * take the container over */
	if (request && act_set_xattr(fd, ACT_REQUEST_XATTR, request) < 0) {
		r = -errno;
		snprintf(err, errlen, "keep the request on cgroup %s: %s", sa->path,
			 strerror(errno));
		close(fd);
		return r;
	}
	if (on & CGFS_CPU) {
		w[n++] = (struct act_write){ .knob = "cpu.weight", .value = kn.cpu_weight };
		w[n++] = (struct act_write){ .knob = "cpu.max", .value = kn.cpu_max };
	}
	if (on & CGFS_MEMORY) {
		w[n++] = (struct act_write){
			.knob = class == CGP_CLASS_GUARANTEED ? "memory.min" : "memory.low",
			.value = class == CGP_CLASS_GUARANTEED ? kn.memory_min : kn.memory_low
		};
		w[n++] = (struct act_write){ .knob = "memory.max", .value = kn.memory_max };
	}
	if (on & CGFS_IO)
		w[n++] = (struct act_write){ .knob = "io.weight", .value = kn.io_weight };
	if (n) {
		struct act_target t = { .path = sa->path, .id = sa->id, .fresh = true, .fd = &fd };

		r = act_apply(&sa->act, &t, w, n, "cgpilot-run --standalone", &res);
		if (r) {
			snprintf(err, errlen, "%s", res.msg);
			close(fd);
			return r;
		}
	}
	close(fd);
	snprintf(cgroup, cglen, "%s", sa->path);
	return 0;
}

static int write_knobs(const struct actuator *a, const char *path, uint64_t id, int cgfd,
		       const struct oci_request *q, char *err, size_t errlen)
{
	struct act_write w[ACT_WRITES_MAX];
	struct act_result res;
	struct act_target t = { .path = path, .id = id, .fd = &cgfd };
	char cerr[256];
	int r;

	for (unsigned i = 0; i < q->nknobs; i += ACT_WRITES_MAX) {
		unsigned n = 0;

		for (unsigned j = i; j < q->nknobs && n < ACT_WRITES_MAX; j++, n++) {
			r = act_check(q->knobs[j].knob, q->knobs[j].value, cerr, sizeof(cerr));
			if (r) {
				snprintf(err, errlen, "config.json: linux.resources: %s",
					 r == -ENOENT ? "unknown cgroup file" : cerr);
				if (r == -ENOENT)
					snprintf(err, errlen,
						 "config.json: linux.resources: %s: not a cgroup "
						 "file cgpilot knows",
						 q->knobs[j].knob);
				return -EINVAL;
			}
			w[n] = (struct act_write){ .knob = q->knobs[j].knob,
						   .value = q->knobs[j].value };
		}
		r = act_apply(a, &t, w, n, "OCI bundle linux.resources", &res);
		if (r) {
			snprintf(err, errlen, "%s", res.msg);
			return r;
		}
	}
	return 0;
}

int standalone_apply_extra(struct standalone *sa, int cgfd, const struct oci_request *q, char *err,
			   size_t errlen)
{
	return write_knobs(&sa->act, sa->path, sa->id, cgfd, q, err, errlen);
}

const char *standalone_mount(const struct standalone *sa)
{
	return sa->mount;
}

int standalone_write_knobs(int cgfd, const char *mount, const char *path,
			   const struct oci_request *q, char *err, size_t errlen)
{
	struct actuator a = { 0 };
	int r;

	a.mount_fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a.mount_fd < 0) {
		snprintf(err, errlen, "open the cgroup v2 mount: %s", strerror(errno));
		return -errno;
	}
	r = write_knobs(&a, path, 0, cgfd, q, err, errlen);
	close(a.mount_fd);
	return r;
}

void standalone_remove(struct standalone *sa)
{
	char buf[256];

	if (!sa->made)
		return;
	/* what is left of the workload (none, after a pid namespace's init) */
	for (int i = 0; i < 200; i++) {
		int r = act_rmdir(&sa->act, sa->path, sa->id, sa->owner);

		if (r != -EBUSY)
			break;
		if (i == 0) {
			int fd = act_open_cgroup(&sa->act, sa->path);

			if (fd >= 0) {
				if (cgfs_read_at(fd, "cgroup.events", buf, sizeof(buf)) >= 0 &&
				    strstr(buf, "populated 1"))
					act__write(fd, "cgroup.kill", "1");
				close(fd);
			}
		}
		usleep(5000);
	}
	sa->made = false;
}

void standalone_prune_parents(struct standalone *sa)
{
	char p[4096], *slash;

	snprintf(p, sizeof(p), "%s", sa->path);
	/* the empty parents this launcher made, up to one another made or
	 * one in use (EBUSY) */
	while ((slash = strrchr(p, '/'))) {
		*slash = 0;
		if (act_rmdir(&sa->act, p, 0, OWNER))
			break;
	}
}

int standalone_attach(const char *config, const char *path, uint64_t id, const char *owner,
		      struct standalone **ret, char *err, size_t errlen)
{
	struct cgp_conf conf;
	struct standalone *sa;
	char cerr[512];
	int r;

	cgp_conf_defaults(&conf);
	r = cgp_conf_parse_file(&conf, config, cerr, sizeof(cerr));
	if (r && r != -ENOENT) {
		snprintf(err, errlen, "%s", cerr);
		return r;
	}
	sa = calloc(1, sizeof(*sa));
	if (!sa)
		return -ENOMEM;
	*ret = sa;
	r = open_mount(conf.cgroup_root, &sa->mount_fd, sa->mount, sizeof(sa->mount), err, errlen);
	if (r)
		return r;
	sa->act.mount_fd = sa->mount_fd;
	snprintf(sa->path, sizeof(sa->path), "%s", path);
	snprintf(sa->owner, sizeof(sa->owner), "%s", owner);
	sa->id = id;
	sa->made = true;
	return 0;
}

uint64_t standalone_id(const struct standalone *sa)
{
	return sa->id;
}

void standalone_free(struct standalone *sa)
{
	if (!sa)
		return;
	if (sa->mount_fd > 0)
		close(sa->mount_fd);
	free(sa);
}
