// SPDX-License-Identifier: Apache-2.0
/*
 * An OCI bundle turned into what spawn.c starts: config.json read and
 * parsed (lib/oci.c), its mounts turned into mount(2) arguments, its
 * process, root and namespaces into a struct spawn_spec. Shared by the
 * launcher's --bundle and the OCI runtime's create.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "oci.h"
#include "run.h"
#include "util.h"

int bundle_read(const char *bundle, struct oci_spec *spec, char *root, size_t rootlen, char *err,
		size_t errlen)
{
	char path[4096];
	_cleanup_close_ int fd = -1;
	struct stat st;
	char *text;
	ssize_t n;
	int r;

	if (snprintf(path, sizeof(path), "%s/config.json", bundle) >= (int)sizeof(path)) {
		snprintf(err, errlen, "bundle path '%.200s' too long", bundle);
		return -ENAMETOOLONG;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)OCI_CONFIG_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %u bytes", path,
			 OCI_CONFIG_MAX);
		return -EINVAL;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text)
		return -ENOMEM;
	n = read(fd, text, (size_t)st.st_size);
	if (n != st.st_size) {
		snprintf(err, errlen, "%s: short read", path);
		free(text);
		return -EIO;
	}
	r = oci_parse(text, (size_t)n, spec, err, errlen);
	free(text);
	if (r) {
		char inner[512];

		snprintf(inner, sizeof(inner), "%s", err);
		snprintf(err, errlen, "%s: %s", path, inner);
		return r;
	}
	if (spec->root_path[0] == '/')
		snprintf(root, rootlen, "%s", spec->root_path);
	else
		snprintf(root, rootlen, "%s/%s", bundle, spec->root_path);
	return 0;
}

static const struct {
	const char *name;
	unsigned long set, clear;
	unsigned long propagation;
} mount_opts[] = {
	{ "ro", MS_RDONLY, 0, 0 },
	{ "rw", 0, MS_RDONLY, 0 },
	{ "nosuid", MS_NOSUID, 0, 0 },
	{ "suid", 0, MS_NOSUID, 0 },
	{ "nodev", MS_NODEV, 0, 0 },
	{ "dev", 0, MS_NODEV, 0 },
	{ "noexec", MS_NOEXEC, 0, 0 },
	{ "exec", 0, MS_NOEXEC, 0 },
	{ "sync", MS_SYNCHRONOUS, 0, 0 },
	{ "async", 0, MS_SYNCHRONOUS, 0 },
	{ "noatime", MS_NOATIME, 0, 0 },
	{ "atime", 0, MS_NOATIME, 0 },
	{ "relatime", MS_RELATIME, 0, 0 },
	{ "norelatime", 0, MS_RELATIME, 0 },
	{ "strictatime", MS_STRICTATIME, 0, 0 },
	{ "nodiratime", MS_NODIRATIME, 0, 0 },
	{ "bind", MS_BIND, 0, 0 },
	{ "rbind", MS_BIND | MS_REC, 0, 0 },
	{ "private", 0, 0, MS_PRIVATE },
	{ "rprivate", 0, 0, MS_PRIVATE | MS_REC },
	{ "slave", 0, 0, MS_SLAVE },
	{ "rslave", 0, 0, MS_SLAVE | MS_REC },
	{ "shared", 0, 0, MS_SHARED },
	{ "rshared", 0, 0, MS_SHARED | MS_REC },
	{ "unbindable", 0, 0, MS_UNBINDABLE },
	{ "runbindable", 0, 0, MS_UNBINDABLE | MS_REC },
};

/* The bundle's mounts as mount(2) arguments; the data strings live in @data. */
static int convert_mounts(const struct oci_spec *o, struct spawn_mount *out, char (*data)[512],
			  char *err, size_t errlen)
{
	for (size_t i = 0; i < o->nmounts; i++) {
		const struct oci_mount *m = &o->mounts[i];
		struct spawn_mount *s = &out[i];
		size_t dl = 0;

		*s = (struct spawn_mount){ .destination = m->destination, .source = m->source };
		data[i][0] = 0;
		/* "cgroup" is the v2 hierarchy on a v2 host, as runc and crun read it */
		s->type = m->type && !streq(m->type, "bind") ?
				  (streq(m->type, "cgroup") ? "cgroup2" : m->type) :
				  NULL;
		for (size_t j = 0; j < m->noptions; j++) {
			const char *opt = m->options[j];
			size_t k;

			for (k = 0; k < ARRAY_SIZE(mount_opts); k++)
				if (streq(opt, mount_opts[k].name))
					break;
			if (k < ARRAY_SIZE(mount_opts)) {
				s->flags |= mount_opts[k].set;
				s->flags &= ~mount_opts[k].clear;
				s->propagation |= mount_opts[k].propagation;
				continue;
			}
			if (streq(opt, "tmpcopyup") || streq(opt, "nocopyup") ||
			    streq(opt, "idmap") || streq(opt, "ridmap")) {
				snprintf(err, errlen,
					 "mounts[%zu] (%s): option '%s' is not supported", i,
					 m->destination, opt);
				return -EINVAL;
			}
			/* the rest is the filesystem's own (mode=755, size=65536k) */
			if (dl + strlen(opt) + 2 > sizeof(data[i])) {
				snprintf(err, errlen, "mounts[%zu] (%s): options too long", i,
					 m->destination);
				return -EINVAL;
			}
			dl += (size_t)snprintf(data[i] + dl, sizeof(data[i]) - dl, "%s%s",
					       dl ? "," : "", opt);
		}
		if (!(s->flags & MS_BIND) && !s->type) {
			snprintf(err, errlen, "mounts[%zu] (%s): no type and not a bind mount", i,
				 m->destination);
			return -EINVAL;
		}
		if (s->flags & MS_BIND) {
			s->bind_ro = s->flags & MS_RDONLY;
			s->type = NULL;
		}
		s->data = data[i][0] ? data[i] : NULL;
	}
	return 0;
}

/* a bundle without process.env: the workload gets none of the launcher's */
static char *no_env[] = { NULL };

int bundle_spawn_spec(struct bundle_run *b, const struct oci_spec *spec, const char *root,
		      struct spawn_spec *ss, char *err, size_t errlen)
{
	ss->argv = spec->args;
	ss->envp = spec->env ? spec->env : no_env;
	ss->cwd = spec->cwd ? spec->cwd : "/";
	ss->set_user = true;
	ss->uid = spec->uid;
	ss->gid = spec->gid;
	ss->gids = spec->gids;
	ss->ngids = spec->ngids;
	ss->umask = spec->has_umask ? (int)spec->umask : -1;
	ss->oci = spec;
	if (spec->has_caps)
		memcpy(ss->caps, spec->caps, sizeof(ss->caps));
	ss->no_new_privs = spec->no_new_privs;
	ss->has_oom_score_adj = spec->has_oom_score_adj;
	ss->oom_score_adj = spec->oom_score_adj;
	ss->rootfs = root;
	ss->rootfs_readonly = spec->root_readonly;
	ss->hostname = spec->hostname;
	b->mounts = calloc(spec->nmounts + 1, sizeof(*b->mounts));
	b->mdata = calloc(spec->nmounts + 1, sizeof(*b->mdata));
	if (!b->mounts || !b->mdata) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (convert_mounts(spec, b->mounts, b->mdata, err, errlen))
		return -EINVAL;
	ss->mounts = b->mounts;
	ss->nmounts = spec->nmounts;
	ss->ns_new = spec->ns_new;
	b->pidns_fd = -1;
	for (size_t i = 0, j = 0; i < spec->nnamespaces && j < ARRAY_SIZE(b->ns_join) - 1; i++) {
		const struct oci_namespace *ns = &spec->namespaces[i];

		if (!ns->path)
			continue;
		/* a pid namespace takes the children of who joins it: the
		 * launcher joins it before clone3, the child would be too late */
		if (ns->flag == CLONE_NEWPID) {
			b->pidns_fd = open(ns->path, O_RDONLY | O_CLOEXEC);
			if (b->pidns_fd < 0) {
				snprintf(err, errlen, "linux.namespaces: the pid namespace %s: %s",
					 ns->path, strerror(errno));
				return -errno;
			}
			ss->pidns_fd = b->pidns_fd;
			continue;
		}
		b->ns_join[j++] = ns->path;
	}
	ss->ns_join = b->ns_join;
	if (spec->seccomp) {
		int r = seccomp_build(spec->seccomp, &b->seccomp, err, errlen);

		if (r)
			return r;
		ss->seccomp = b->seccomp;
	}
	return 0;
}

void bundle_run_free(struct bundle_run *b)
{
	free(b->mounts);
	free(b->mdata);
	seccomp_free(b->seccomp);
	if (b->pidns_fd > 0)
		close(b->pidns_fd);
	b->pidns_fd = -1;
	b->mounts = NULL;
	b->mdata = NULL;
	b->seccomp = NULL;
}
