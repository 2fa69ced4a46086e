// SPDX-License-Identifier: Apache-2.0
/*
 * lib/actuate/: the isolators' value checks, act_apply() on a fake cgroup
 * tree (a temporary directory whose regular files are named like knobs, so
 * ids, reads and writes behave), cgroup lifecycle and controller enabling.
 * Write failures are real: a knob replaced by a directory fails with EISDIR,
 * for root too; a kernel without openat2 or xattrs is a seccomp filter that
 * makes that one syscall fail, in a child process.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "actuate/actuate.h"
#include "cgroupfs.h"
#include "unit.h"

/* ---- value checks ---- */

struct vcase {
	const char *knob;
	const char *value;
	bool ok;
};

static const struct vcase vcases[] = {
	{ "cpu.weight", "1", true },
	{ "cpu.weight", "100", true },
	{ "cpu.weight", "10000", true },
	{ "cpu.weight", "0", false },
	{ "cpu.weight", "10001", false },
	{ "cpu.weight", "-1", false },
	{ "cpu.weight", "", false },
	{ "cpu.weight", " 100", false },
	{ "cpu.weight", "100 ", false },
	{ "cpu.weight", "1e3", false },
	{ "cpu.weight", "99999999999999999999999", false },
	{ "cpu.max", "max", true },
	{ "cpu.max", "max 100000", true },
	{ "cpu.max", "50000 100000", true },
	{ "cpu.max", "50000", true },
	{ "cpu.max", "1000 1000", true },
	{ "cpu.max", "max 1000000", true },
	{ "cpu.max", "17592186044415 1000000", true },
	{ "cpu.max", "999 100000", false },
	{ "cpu.max", "50000 999", false },
	{ "cpu.max", "50000 1000001", false },
	{ "cpu.max", "17592186044416", false },
	{ "cpu.max", "max max", false },
	{ "cpu.max", "50000  100000", false },
	{ "cpu.max", "50000 100000 1", false },
	{ "cpu.max", "maxx", false },
	{ "cpu.max", "-1 100000", false },
	{ "cpu.max", "", false },
	{ "cpu.max.burst", "0", true },
	{ "cpu.max.burst", "20000", true },
	{ "cpu.max.burst", "-1", false },
	{ "cpu.max.burst", "max", false },
	{ "cpu.max.burst", "17592186044416", false },
	{ "cpu.idle", "0", true },
	{ "cpu.idle", "1", true },
	{ "cpu.idle", "2", false },
	{ "cpu.idle", "", false },
	{ "cpuset.cpus", "", true },
	{ "cpuset.cpus", "0", true },
	{ "cpuset.cpus", "0-3,8,10-11", true },
	{ "cpuset.cpus", "3-1", false },
	{ "cpuset.cpus", "0-", false },
	{ "cpuset.cpus", "a", false },
	{ "cpuset.cpus", "99999", false },
	{ "cpuset.mems", "", true },
	{ "cpuset.mems", "0-1", true },
	{ "cpuset.mems", "x", false },
	{ "cpuset.cpus.partition", "member", true },
	{ "cpuset.cpus.partition", "root", true },
	{ "cpuset.cpus.partition", "isolated", true },
	{ "cpuset.cpus.partition", "Root", false },
	{ "cpuset.cpus.partition", "root invalid", false },
	{ "cpuset.cpus.partition", "", false },
	{ "memory.min", "0", true },
	{ "memory.min", "max", true },
	{ "memory.min", "1x", false },
	{ "memory.low", "64M", true },
	{ "memory.low", "-1", false },
	{ "memory.high", "max", true },
	{ "memory.high", "1048576", true },
	{ "memory.high", "512M", true },
	{ "memory.high", "2g", true },
	{ "memory.high", "1T", true },
	{ "memory.high", "1E", true },
	{ "memory.high", "1.5G", false },
	{ "memory.high", "1GB", false },
	{ "memory.high", "1KiB", false },
	{ "memory.high", "max ", false },
	{ "memory.high", "", false },
	{ "memory.max", "max", true },
	{ "memory.max", "18446744073709551615", true },
	{ "memory.max", "18446744073709551616", false },
	{ "memory.max", "17179869184G", false },
	{ "memory.max", "lots", false },
	{ "memory.swap.max", "0", true },
	{ "memory.swap.max", "max", true },
	{ "memory.swap.max", "none", false },
	{ "memory.oom.group", "0", true },
	{ "memory.oom.group", "1", true },
	{ "memory.oom.group", "true", false },
	{ "io.weight", "100", true },
	{ "io.weight", "default 100", true },
	{ "io.weight", "8:0 200", true },
	{ "io.weight", "8:0 default", true },
	{ "io.weight", "1", true },
	{ "io.weight", "10000", true },
	{ "io.weight", "0", false },
	{ "io.weight", "10001", false },
	{ "io.weight", "8:0", false },
	{ "io.weight", "8:0 0", false },
	{ "io.weight", "default", false },
	{ "io.weight", "default 0", false },
	{ "io.weight", "8:0  100", false },
	{ "io.weight", "x:0 100", false },
	{ "io.max", "8:0 rbps=1048576", true },
	{ "io.max", "8:0 rbps=max wbps=max riops=max wiops=max", true },
	{ "io.max", "259:0 riops=1000 wiops=2000", true },
	{ "io.max", "8:0", false },
	{ "io.max", "8:0 rbps=0", false },
	{ "io.max", "8:0 foo=1", false },
	{ "io.max", "rbps=1", false },
	{ "io.max", "8:0 rbps", false },
	{ "io.max", "8:0 rbps=-1", false },
	{ "io.max", "8:0 rbps=1 ", false },
	{ "io.max", "8:0  rbps=1", false },
	{ "io.max", "4096:0 rbps=1", false },
	{ "io.latency", "8:0 target=1000", true },
	{ "io.latency", "8:0 target=max", true },
	{ "io.latency", "8:0 target=0", true },
	{ "io.latency", "8:0 target=x", false },
	{ "io.latency", "8:0 rbps=1", false },
	{ "io.latency", "8:0", false },
	{ "pids.max", "max", true },
	{ "pids.max", "0", true },
	{ "pids.max", "4194304", true },
	{ "pids.max", "4194305", false },
	{ "pids.max", "-1", false },
	{ "pids.max", "unlimited", false },
	{ "pids.max", "", false },
	{ "cgroup.freeze", "0", true },
	{ "cgroup.freeze", "1", true },
	{ "cgroup.freeze", "2", false },
	{ "cgroup.kill", "1", true },
	{ "cgroup.kill", "0", false },
	{ "cgroup.kill", "", false },
};

static void test_check_values(void **state)
{
	char err[256], quoted[128];

	for (size_t i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		const struct vcase *c = &vcases[i];
		int r;

		strcpy(err, "untouched");
		r = act_check(c->knob, c->value, err, sizeof(err));
		if (c->ok) {
			if (r)
				fail_msg("%s '%s' refused: %s", c->knob, c->value, err);
			continue;
		}
		if (r != -EINVAL)
			fail_msg("%s '%s' accepted (%d)", c->knob, c->value, r);
		snprintf(quoted, sizeof(quoted), "'%s'", c->value);
		assert_starts_with(err, c->knob);
		assert_contains(err, quoted);
	}
}

/* Every knob of every isolator has a good and a bad case above. */
static void test_check_covers_every_knob(void **state)
{
	for (unsigned i = 0; i < act_nisolators; i++) {
		for (unsigned k = 0; k < act_isolators[i].nknobs; k++) {
			const char *file = act_isolators[i].knobs[k].file;
			bool good = false, bad = false;

			for (size_t j = 0; j < sizeof(vcases) / sizeof(vcases[0]); j++) {
				if (strcmp(vcases[j].knob, file))
					continue;
				good |= vcases[j].ok;
				bad |= !vcases[j].ok;
			}
			if (!good || !bad)
				fail_msg("%s lacks a %s case", file, good ? "bad" : "good");
		}
	}
}

static void test_check_messages(void **state)
{
	char err[256], longv[ACT_VALUE_MAX + 100];

	assert_int_equal(act_check("cpu.weight", "0", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "cpu.weight '0': not in 1..10000");
	assert_int_equal(act_check("cpu.weight.nice", "0", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "unknown knob 'cpu.weight.nice'");
	assert_int_equal(act_check("cpu.weight", "100\n", err, sizeof(err)), -EINVAL);
	assert_contains(err, "newline");
	memset(longv, '1', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = 0;
	assert_int_equal(act_check("cpuset.cpus", longv, err, sizeof(err)), -EINVAL);
	assert_contains(err, "longer than");
	assert_int_equal(act_check("cpu.weight", NULL, err, sizeof(err)), -EINVAL);
	/* a tiny or missing buffer is no crash */
	assert_int_equal(act_check("cpu.weight", "0", err, 4), -EINVAL);
	assert_int_equal(strlen(err), 3);
	assert_int_equal(act_check("cpu.weight", "0", NULL, 0), -EINVAL);
}

static void test_knob_find(void **state)
{
	const struct act_isolator *iso = NULL;
	const struct act_knob *k;

	k = act_knob_find("memory.high", &iso);
	assert_non_null(k);
	assert_string_equal(k->file, "memory.high");
	assert_true(k->restorable);
	assert_string_equal(iso->name, "memory");
	assert_int_equal(iso->controller, CGFS_MEMORY);
	k = act_knob_find("cgroup.kill", &iso);
	assert_false(k->restorable);
	assert_string_equal(iso->name, "kill");
	assert_int_equal(iso->controller, 0);
	assert_string_equal(act_knob_find("cgroup.freeze", &iso)->file, "cgroup.freeze");
	assert_string_equal(iso->name, "freezer");
	iso = (const struct act_isolator *)&iso;
	assert_null(act_knob_find("memory.hig", &iso));
	assert_ptr_equal(iso, (const struct act_isolator *)&iso);
	assert_null(act_knob_find(NULL, NULL));
	assert_int_equal(act_nisolators, 7);

	assert_string_equal(act_status_name(ACT_WRITTEN), "written");
	assert_string_equal(act_status_name(ACT_DRY_RUN), "dry_run");
	assert_string_equal(act_status_name(ACT_FAILED), "failed");
	assert_string_equal(act_status_name(ACT_RESTORED), "restored");
	assert_string_equal(act_status_name(ACT_EXTERNAL), "external");
}

/* ---- a fake cgroup tree ---- */

struct rec {
	char path[64], knob[64], old_value[256], new_value[256], reason[64];
	uint64_t id, time_ns;
	enum act_status status;
	int err;
};

struct fx {
	char root[64];
	int mount_fd;
	struct actuator a;
	const char *manage; /* the one manage root */
	struct rec recs[32];
	unsigned nrecs;
	unsigned batches; /* actuator.recorded calls */
	unsigned batch_end; /* nrecs at the last one */
};

static void on_recorded(void *ud)
{
	struct fx *f = ud;

	f->batches++;
	f->batch_end = f->nrecs;
}

static void on_record(void *ud, const struct act_record *r)
{
	struct fx *f = ud;
	struct rec *c;

	assert_true(f->nrecs < sizeof(f->recs) / sizeof(f->recs[0]));
	c = &f->recs[f->nrecs++];
	snprintf(c->path, sizeof(c->path), "%s", r->path);
	snprintf(c->knob, sizeof(c->knob), "%s", r->knob);
	snprintf(c->old_value, sizeof(c->old_value), "%s", r->old_value);
	snprintf(c->new_value, sizeof(c->new_value), "%s", r->new_value);
	snprintf(c->reason, sizeof(c->reason), "%s", r->reason);
	c->id = r->id;
	c->time_ns = r->time_ns;
	c->status = r->status;
	c->err = r->err;
}

static bool in_manage(void *ud, const char *path)
{
	struct fx *f = ud;
	size_t n = strlen(f->manage);

	if (!n)
		return true;
	return !strncmp(path, f->manage, n) && (path[n] == 0 || path[n] == '/');
}

static void put(struct fx *f, const char *rel, const char *content)
{
	char p[256];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", f->root, rel);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs(content, fp);
	fclose(fp);
}

static void mkd(struct fx *f, const char *rel)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", f->root, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static const char *get(struct fx *f, const char *rel)
{
	static char buf[1024];
	char p[256];
	size_t n;
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", f->root, rel);
	fp = fopen(p, "r");
	if (!fp)
		return "(missing)";
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = 0;
	fclose(fp);
	return buf;
}

static uint64_t ino(struct fx *f, const char *rel)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", f->root, rel);
	assert_int_equal(lstat(p, &st), 0);
	return (uint64_t)st.st_ino;
}

static bool exists(struct fx *f, const char *rel)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", f->root, rel);
	return lstat(p, &st) == 0;
}

/* A knob replaced by a directory: open(O_WRONLY) fails with EISDIR, for root too. */
static void make_unwritable(struct fx *f, const char *rel)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", f->root, rel);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkdir(p, 0755), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "%s/cgp-act-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->root));
	put(f, "cgroup.subtree_control", "cpu\n");
	mkd(f, "a");
	put(f, "a/cgroup.subtree_control", "memory\n");
	mkd(f, "a/b");
	put(f, "a/b/cgroup.subtree_control", "");
	put(f, "a/b/cpu.weight", "100\n");
	put(f, "a/b/cpu.max", "max 100000\n");
	put(f, "a/b/memory.high", "max\n");
	put(f, "a/b/memory.max", "max\n");
	put(f, "a/b/pids.max", "max\n");
	put(f, "a/b/cgroup.freeze", "0\n");
	put(f, "a/b/cgroup.kill", "");
	put(f, "a/b/io.max", "8:0 rbps=100 wbps=max riops=max wiops=max\n");
	mkd(f, "other");
	put(f, "other/cpu.weight", "100\n");
	f->mount_fd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->mount_fd >= 0);
	f->manage = "a";
	f->a = (struct actuator){
		.mount_fd = f->mount_fd,
		.in_manage = in_manage,
		.manage_ud = f,
		.record = on_record,
		.recorded = on_recorded,
		.record_ud = f,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	close(f->mount_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static struct act_target target(struct fx *f, const char *path)
{
	return (struct act_target){ .path = path, .id = ino(f, "a/b") };
}

/* ---- act_apply: refusals ---- */

static void test_apply_unknown_knob(void **state)
{
	struct fx *f = *state;
	struct act_target t = target(f, "a/b");
	struct act_write w[] = { { "cpu.weight", "200" }, { "bogus.knob", "1" } };
	struct act_result res;

	assert_int_equal(act_apply(&f->a, &t, w, 2, "test", &res), -EINVAL);
	assert_int_equal(res.failed, 1);
	assert_int_equal(res.err, -EINVAL);
	assert_int_equal(res.written, 0);
	assert_contains(res.msg, "bogus.knob");
	assert_contains(res.msg, "nothing written");
	assert_string_equal(get(f, "a/b/cpu.weight"), "100\n");
	assert_int_equal(f->nrecs, 0);
}

static void test_apply_bad_value(void **state)
{
	struct fx *f = *state;
	struct act_target t = target(f, "a/b");
	struct act_write w[] = { { "cpu.weight", "200" }, { "memory.high", "lots" } };
	struct act_result res;

	assert_int_equal(act_apply(&f->a, &t, w, 2, "test", &res), -EINVAL);
	assert_int_equal(res.failed, 1);
	assert_contains(res.msg, "memory.high 'lots'");
	assert_contains(res.msg, "a/b");
	assert_string_equal(get(f, "a/b/cpu.weight"), "100\n");
	assert_int_equal(f->nrecs, 0);
}

static void test_apply_outside_manage(void **state)
{
	struct fx *f = *state;
	struct act_target t = { .path = "other", .id = ino(f, "other") };
	struct act_write w[] = { { "cpu.weight", "200" } };
	struct act_result res;

	assert_int_equal(act_apply(&f->a, &t, w, 1, "test", &res), -EPERM);
	assert_contains(res.msg, "outside the manage set");
	assert_string_equal(get(f, "other/cpu.weight"), "100\n");
	assert_int_equal(f->nrecs, 0);
	/* "ab" is not under "a" */
	t.path = "ab";
	assert_int_equal(act_apply(&f->a, &t, w, 1, "test", &res), -EPERM);
}

static void test_apply_adopted(void **state)
{
	struct fx *f = *state;
	struct act_target t = target(f, "a/b");
	struct act_write w[] = { { "cpu.weight", "200" }, { "memory.high", "1G" } };
	struct act_result res;

	/* only whole words count: memory.highx and cpu.weigh hand over nothing */
	t.knobs = "cpu.weight memory.highx";
	assert_int_equal(act_apply(&f->a, &t, w, 2, "test", &res), -EPERM);
	assert_int_equal(res.failed, 1);
	assert_contains(res.msg, "memory.high");
	assert_contains(res.msg, "handed over");
	assert_string_equal(get(f, "a/b/cpu.weight"), "100\n");
	t.knobs = "cpu.weigh";
	assert_int_equal(act_apply(&f->a, &t, w, 1, "test", &res), -EPERM);
	t.knobs = "";
	assert_int_equal(act_apply(&f->a, &t, w, 1, "test", &res), -EPERM);
	assert_int_equal(f->nrecs, 0);

	t.knobs = "memory.high\tcpu.weight";
	assert_int_equal(act_apply(&f->a, &t, w, 2, "test", &res), 0);
	assert_string_equal(get(f, "a/b/cpu.weight"), "200\n");
	assert_string_equal(get(f, "a/b/memory.high"), "1G\n");
}

static void test_apply_id_mismatch(void **state)
{
	struct fx *f = *state;
	struct act_target t = target(f, "a/b");
	struct act_write w[] = { { "cpu.weight", "200" } };
	struct act_result res;

	t.id += 12345;
	assert_int_equal(act_apply(&f->a, &t, w, 1, "test", &res), -ESTALE);
	assert_contains(res.msg, "a new cgroup of the same name");
	assert_string_equal(get(f, "a/b/cpu.weight"), "100\n");
	t.path = "a/gone";
	assert_int_equal(act_apply(&f->a, &t, w, 1, "test", &res), -ESTALE);
	assert_contains(res.msg, "gone");
	assert_int_equal(f->nrecs, 0);
	/* id 0: right after act_mkdir, any id */
	t = (struct act_target){ .path = "a/b" };
	assert_int_equal(act_apply(&f->a, &t, w, 1, "test", &res), 0);
}

static void test_apply_symlink(void **state)
{
	struct fx *f = *state;
	struct act_target t = target(f, "a/b");
	struct act_write w[] = { { "cpu.weight", "200" } };
	struct act_result res;
	char p[256], outside[128];

	/* a symlink inside the tree to a real cgroup */
	f->manage = "";
	snprintf(p, sizeof(p), "%s/a/link", f->root);
	assert_int_equal(symlink("b", p), 0);
	t.path = "a/link";
	assert_int_equal(act_apply(&f->a, &t, w, 1, "test", &res), -ELOOP);
	assert_contains(res.msg, "symlink");
	assert_string_equal(get(f, "a/b/cpu.weight"), "100\n");

	/* one that leads out of the mount, as a component in the middle */
	snprintf(outside, sizeof(outside), "%s/../", f->root);
	snprintf(p, sizeof(p), "%s/escape", f->root);
	assert_int_equal(symlink(outside, p), 0);
	t.path = "escape/a/b";
	assert_true(act_apply(&f->a, &t, w, 1, "test", &res) < 0);
	assert_string_equal(get(f, "a/b/cpu.weight"), "100\n");
	assert_int_equal(act_open_cgroup(&f->a, "escape"), -ELOOP);
	assert_int_equal(act_open_cgroup(&f->a, "a/../a"), -EINVAL);

	/* a knob that is a symlink is not followed */
	put(f, "victim", "untouched\n");
	snprintf(p, sizeof(p), "%s/a/b/cpu.weight", f->root);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("../../victim", p), 0);
	t.path = "a/b";
	assert_int_equal(act_apply(&f->a, &t, w, 1, "test", &res), -ELOOP);
	assert_string_equal(get(f, "victim"), "untouched\n");
	assert_int_equal(f->nrecs, 1);
	assert_int_equal(f->recs[0].status, ACT_FAILED);
}

static void test_apply_root_and_dotdot(void **state)
{
	struct fx *f = *state;
	struct act_target t = target(f, "a/b");
	struct act_write w[] = { { "cpu.weight", "200" } };
	struct act_result res;

	f->manage = "";
	t.path = "";
	assert_int_equal(act_apply(&f->a, &t, w, 1, "test", &res), -EPERM);
	assert_contains(res.msg, "root");
	t.path = "/";
	assert_int_equal(act_apply(&f->a, &t, w, 1, "test", &res), -EPERM);
	t.path = "//";
	assert_int_equal(act_apply(&f->a, &t, w, 1, "test", &res), -EPERM);
	t.path = "a/../a/b";
	assert_int_equal(act_apply(&f->a, &t, w, 1, "test", &res), -EINVAL);
	assert_contains(res.msg, "'..'");
	t.path = "..";
	assert_int_equal(act_apply(&f->a, &t, w, 1, "test", &res), -EINVAL);
	t.path = NULL;
	assert_int_equal(act_apply(&f->a, &t, w, 1, "test", &res), -EINVAL);
	t.path = "a/b";
	assert_int_equal(act_apply(&f->a, &t, w, ACT_WRITES_MAX + 1, "test", &res), -EINVAL);
	assert_string_equal(get(f, "a/b/cpu.weight"), "100\n");
	assert_int_equal(f->nrecs, 0);
	/* a leading and a trailing '/' are fine: the path is normalised */
	t.path = "/a/b/";
	assert_int_equal(act_apply(&f->a, &t, w, 1, "test", &res), 0);
	assert_string_equal(f->recs[0].path, "a/b");
}

/* ---- act_apply: writes ---- */

static uint64_t real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A value the file shows already is neither written nor recorded, and a
 * later failure does not "restore" it. */
static void test_apply_unchanged(void **state)
{
	struct fx *f = *state;
	struct act_target t = target(f, "a/b");
	char rb[32] = "x";
	struct act_write w[] = {
		{ "cpu.weight", "100", .readback = rb, .readback_len = sizeof(rb) },
		{ "cpu.max", "50000 100000" },
	};
	struct act_result res;

	assert_int_equal(act_apply(&f->a, &t, w, 2, "same", &res), 0);
	assert_int_equal(res.written, 2);
	assert_string_equal(rb, "100");
	assert_int_equal(f->nrecs, 1);
	assert_string_equal(f->recs[0].knob, "cpu.max");
	assert_string_equal(get(f, "a/b/cpu.max"), "50000 100000\n");
}

/* What the kernel shows for what cgpilot wrote, told from another writer's
 * value that came in between the write and the read back. */
static void test_value_matches(void **state)
{
	(void)state;
	assert_true(act_value_matches("cpu.weight", "300", "300\n"));
	assert_false(act_value_matches("cpu.weight", "300", "200"));
	assert_true(act_value_matches("cpu.max", "max", "max 100000"));
	assert_true(act_value_matches("cpu.max", "10000 100000", "10000 100000"));
	assert_false(act_value_matches("cpu.max", "10000 100000", "150000 100000"));
	assert_false(act_value_matches("cpu.max", "10000 100000", "10000 50000"));
	assert_true(act_value_matches("cpuset.cpus", "0,1,2", "0-2"));
	assert_false(act_value_matches("cpuset.cpus", "0", "1"));
	assert_true(act_value_matches("memory.high", "100000", "98304"));
	assert_false(act_value_matches("memory.high", "100000", "200000"));
	assert_false(act_value_matches("memory.high", "100000", "max"));
	assert_true(act_value_matches("memory.high", "max", "max"));
	assert_false(act_value_matches("cgroup.freeze", "1", "0"));
	/* io.max: the device's line among others; all "max" is no line */
	assert_true(act_value_matches("io.max", "8:0 rbps=100 wbps=100 riops=max wiops=max",
				      "8:16 rbps=5 wbps=max riops=max wiops=max\n"
				      "8:0 rbps=100 wbps=100 riops=max wiops=max\n"));
	assert_false(act_value_matches("io.max", "8:0 rbps=100 wbps=100 riops=max wiops=max",
				       "8:0 rbps=200 wbps=100 riops=max wiops=max\n"));
	assert_true(act_value_matches("io.max", "8:0 rbps=max wbps=max riops=max wiops=max", ""));
	assert_true(act_value_matches("io.max", "8:0 rbps=max wbps=max riops=max wiops=max",
				      "8:16 rbps=5 wbps=max riops=max wiops=max\n"));
	assert_false(act_value_matches("io.max", "8:0 rbps=max wbps=max riops=max wiops=max",
				       "8:0 rbps=5 wbps=max riops=max wiops=max\n"));
	/* 8:1 is not 8:10 */
	assert_true(act_value_matches("io.max", "8:1 rbps=max wbps=max riops=max wiops=max",
				      "8:10 rbps=5 wbps=max riops=max wiops=max\n"));
}

static void test_apply_writes_and_readback(void **state)
{
	struct fx *f = *state;
	struct act_target t = target(f, "a/b");
	char rb1[32] = "x", rb2[4] = "x";
	struct act_write w[] = {
		{ "cpu.weight", "300", .expect = "100", .readback = rb1,
		  .readback_len = sizeof(rb1) },
		{ "cpu.max", "50000 100000", .readback = rb2, .readback_len = sizeof(rb2) },
		{ "cpuset.cpus", "" },
	};
	struct act_result res;
	uint64_t before = real_now(), after;

	put(f, "a/b/cpuset.cpus", "0-3\n");
	assert_int_equal(act_apply(&f->a, &t, w, 3, "psi high", &res), 0);
	after = real_now();
	assert_int_equal(res.written, 3);
	assert_int_equal(res.failed, -1);
	assert_int_equal(res.err, 0);
	assert_false(res.restored);
	assert_false(res.external);
	assert_string_equal(get(f, "a/b/cpu.weight"), "300\n");
	assert_string_equal(get(f, "a/b/cpu.max"), "50000 100000\n");
	/* "" (inherit) is written as a newline, as echo would */
	assert_string_equal(get(f, "a/b/cpuset.cpus"), "\n");
	assert_string_equal(rb1, "300");
	assert_string_equal(rb2, ""); /* does not fit: empty, not cut */

	assert_int_equal(f->nrecs, 3);
	assert_string_equal(f->recs[0].knob, "cpu.weight");
	assert_string_equal(f->recs[0].old_value, "100");
	assert_string_equal(f->recs[0].new_value, "300");
	assert_string_equal(f->recs[0].reason, "psi high");
	assert_string_equal(f->recs[0].path, "a/b");
	assert_int_equal(f->recs[0].id, ino(f, "a/b"));
	assert_int_equal(f->recs[0].status, ACT_WRITTEN);
	assert_true(f->recs[0].time_ns >= before && f->recs[0].time_ns <= after);
	assert_string_equal(f->recs[1].old_value, "max 100000");
	assert_string_equal(f->recs[2].old_value, "0-3");
	assert_string_equal(f->recs[2].new_value, "");

	/* a value found as cgpilot left it, give or take whitespace */
	put(f, "a/b/cpu.weight", " 300 \n");
	w[0].value = "400";
	w[0].expect = "300";
	assert_int_equal(act_apply(&f->a, &t, w, 1, "again", &res), 0);
	assert_string_equal(get(f, "a/b/cpu.weight"), "400\n");

	/* nothing to do is no error */
	assert_int_equal(act_apply(&f->a, &t, w, 0, "none", &res), 0);
}

static void test_apply_external_change(void **state)
{
	struct fx *f = *state;
	struct act_target t = target(f, "a/b");
	struct act_write w[] = {
		{ "memory.high", "1G" },
		{ "cpu.weight", "200", .expect = "100" },
	};
	struct act_result res;

	put(f, "a/b/cpu.weight", "150\n");
	assert_int_equal(act_apply(&f->a, &t, w, 2, "test", &res), -EAGAIN);
	assert_true(res.external);
	assert_int_equal(res.written, 0);
	assert_int_equal(res.failed, 1);
	assert_contains(res.msg, "cpu.weight is '150'");
	assert_contains(res.msg, "another writer");
	assert_string_equal(get(f, "a/b/cpu.weight"), "150\n");
	assert_string_equal(get(f, "a/b/memory.high"), "max\n");
	assert_int_equal(f->nrecs, 1);
	assert_int_equal(f->recs[0].status, ACT_EXTERNAL);
	assert_string_equal(f->recs[0].knob, "cpu.weight");
	assert_string_equal(f->recs[0].old_value, "150");
	assert_string_equal(f->recs[0].new_value, "200");
}

static void test_apply_rollback(void **state)
{
	struct fx *f = *state;
	struct act_target t = target(f, "a/b");
	struct act_write w[] = {
		{ "cpu.weight", "200" },
		{ "memory.high", "1G" },
		{ "pids.max", "100" },
		{ "memory.max", "2G" },
	};
	struct act_result res;

	put(f, "a/b/memory.max", "4294967296");
	make_unwritable(f, "a/b/pids.max");
	assert_int_equal(act_apply(&f->a, &t, w, 4, "test", &res), -EISDIR);
	assert_int_equal(res.failed, 2);
	assert_int_equal(res.err, -EISDIR);
	assert_int_equal(res.written, 0);
	assert_true(res.restored);
	assert_contains(res.msg, "writing pids.max '100' failed");
	assert_contains(res.msg, "restored memory.high, cpu.weight");

	assert_string_equal(get(f, "a/b/cpu.weight"), "100\n");
	assert_string_equal(get(f, "a/b/memory.high"), "max\n");
	assert_string_equal(get(f, "a/b/memory.max"), "4294967296"); /* never touched */

	assert_int_equal(f->nrecs, 5);
	assert_string_equal(f->recs[0].knob, "cpu.weight");
	assert_int_equal(f->recs[0].status, ACT_WRITTEN);
	assert_string_equal(f->recs[1].knob, "memory.high");
	assert_int_equal(f->recs[1].status, ACT_WRITTEN);
	assert_string_equal(f->recs[2].knob, "pids.max");
	assert_int_equal(f->recs[2].status, ACT_FAILED);
	assert_int_equal(f->recs[2].err, -EISDIR);
	assert_string_equal(f->recs[3].knob, "memory.high");
	assert_int_equal(f->recs[3].status, ACT_RESTORED);
	assert_string_equal(f->recs[3].old_value, "max");
	assert_string_equal(f->recs[3].new_value, "1G");
	assert_string_equal(f->recs[4].knob, "cpu.weight");
	assert_int_equal(f->recs[4].status, ACT_RESTORED);
}

static void test_apply_rollback_first_fails(void **state)
{
	struct fx *f = *state;
	struct act_target t = target(f, "a/b");
	struct act_write w[] = { { "pids.max", "100" }, { "cpu.weight", "200" } };
	struct act_result res;

	make_unwritable(f, "a/b/pids.max");
	assert_int_equal(act_apply(&f->a, &t, w, 2, "test", &res), -EISDIR);
	assert_int_equal(res.failed, 0);
	assert_false(res.restored);
	assert_int_equal(res.written, 0);
	assert_contains(res.msg, "nothing written");
	assert_int_equal(f->nrecs, 1);
	assert_string_equal(get(f, "a/b/cpu.weight"), "100\n");
}

/* The kernel's refusals of a write, as a test's boundary makes them: the
 * knob fails with @fault_err, the others are written. */
static const char *fault_knob;
static int fault_err;

static int faulty_write(void *ud, int dirfd, const char *file, const char *value)
{
	(void)ud;
	if (fault_knob && !strcmp(file, fault_knob))
		return -fault_err;
	return act__write(dirfd, file, value);
}

/* EBUSY (a cpuset in use), EINVAL (a value the kernel will not take),
 * ENOENT (the cgroup or file gone), EACCES (delegation taken away): each
 * fails the call with its errno, names the knob, the value and the error,
 * and gives what was written before it its old value back. */
static void test_apply_kernel_refusals(void **state)
{
	static const int errs[] = { EBUSY, EINVAL, ENOENT, EACCES };
	struct fx *f = *state;

	f->a.write = faulty_write;
	fault_knob = "memory.high";
	for (size_t e = 0; e < sizeof(errs) / sizeof(errs[0]); e++) {
		struct act_target t = target(f, "a/b");
		struct act_write w[] = { { "cpu.weight", "200" }, { "memory.high", "1G" } };
		struct act_result res;
		char want[160];

		fault_err = errs[e];
		f->nrecs = 0;
		assert_int_equal(act_apply(&f->a, &t, w, 2, "test", &res), -errs[e]);
		assert_int_equal(res.failed, 1);
		assert_int_equal(res.err, -errs[e]);
		assert_true(res.restored);
		snprintf(want, sizeof(want), "writing memory.high '1G' failed: %s",
			 strerror(errs[e]));
		assert_contains(res.msg, want);
		assert_contains(res.msg, "restored cpu.weight");
		assert_string_equal(get(f, "a/b/cpu.weight"), "100\n");
		assert_string_equal(get(f, "a/b/memory.high"), "max\n");
		assert_int_equal(f->nrecs, 3);
		assert_int_equal(f->recs[0].status, ACT_WRITTEN);
		assert_int_equal(f->recs[1].status, ACT_FAILED);
		assert_int_equal(f->recs[1].err, -errs[e]);
		assert_int_equal(f->recs[2].status, ACT_RESTORED);
	}
	fault_knob = NULL;
	f->a.write = NULL;
}

/* cgroup.kill cannot be taken back: the result says what stayed. */
static void test_apply_rollback_not_restorable(void **state)
{
	struct fx *f = *state;
	struct act_target t = target(f, "a/b");
	struct act_write w[] = {
		{ "cgroup.freeze", "1" },
		{ "cgroup.kill", "1" },
		{ "pids.max", "100" },
	};
	struct act_result res;

	make_unwritable(f, "a/b/pids.max");
	assert_int_equal(act_apply(&f->a, &t, w, 3, "test", &res), -EISDIR);
	assert_false(res.restored);
	assert_int_equal(res.written, 1);
	assert_contains(res.msg, "cgroup.kill cannot be undone");
	assert_string_equal(get(f, "a/b/cgroup.freeze"), "0\n");
	assert_string_equal(get(f, "a/b/cgroup.kill"), "1\n");
	assert_int_equal(f->nrecs, 4);
	assert_int_equal(f->recs[3].status, ACT_RESTORED);
	assert_string_equal(f->recs[3].knob, "cgroup.freeze");
}

/* Per-device files get their lines back, and a new device's line its reset. */
static void test_apply_rollback_per_device(void **state)
{
	struct fx *f = *state;
	struct act_target t = target(f, "a/b");
	struct act_write w[] = { { "io.max", "8:16 rbps=5" }, { "pids.max", "100" } };
	struct act_result res;

	make_unwritable(f, "a/b/pids.max");
	assert_int_equal(act_apply(&f->a, &t, w, 2, "test", &res), -EISDIR);
	assert_true(res.restored);
	assert_string_equal(get(f, "a/b/io.max"), "8:16 rbps=max wbps=max riops=max wiops=max\n"
						  "8:0 rbps=100 wbps=max riops=max wiops=max\n");
}

static void test_apply_dry_run(void **state)
{
	struct fx *f = *state;
	struct act_target t = target(f, "a/b");
	char rb[32] = "x";
	struct act_write w[] = {
		{ "cpu.weight", "200", .expect = "999", .readback = rb,
		  .readback_len = sizeof(rb) },
		{ "memory.high", "1G" },
	};
	struct act_result res;

	f->a.dry_run = true;
	assert_int_equal(act_apply(&f->a, &t, w, 2, "test", &res), 0);
	assert_int_equal(res.written, 0);
	assert_contains(res.msg, "dry run");
	assert_string_equal(get(f, "a/b/cpu.weight"), "100\n");
	assert_string_equal(get(f, "a/b/memory.high"), "max\n");
	assert_string_equal(rb, "x");
	assert_int_equal(f->nrecs, 2);
	assert_int_equal(f->recs[0].status, ACT_DRY_RUN);
	assert_string_equal(f->recs[0].old_value, "100");
	assert_string_equal(f->recs[0].new_value, "200");
	assert_int_equal(f->recs[1].status, ACT_DRY_RUN);
	assert_string_equal(f->recs[1].old_value, "max");
	/* checks still apply */
	w[1].value = "lots";
	assert_int_equal(act_apply(&f->a, &t, w, 2, "test", &res), -EINVAL);
	t.id++;
	assert_int_equal(act_apply(&f->a, &t, w, 1, "test", &res), -ESTALE);
}

static void test_apply_no_recorder(void **state)
{
	struct fx *f = *state;
	struct act_target t = target(f, "a/b");
	struct act_write w[] = { { "cpu.weight", "200" } };

	f->a.record = NULL;
	f->a.in_manage = NULL;
	t.path = "other";
	t.id = 0;
	assert_int_equal(act_apply(&f->a, &t, w, 1, "test", NULL), 0);
	assert_string_equal(get(f, "other/cpu.weight"), "200\n");
}

static void test_read(void **state)
{
	struct fx *f = *state;
	char buf[16], tiny[3];

	assert_int_equal(act_read(&f->a, "a/b", "cpu.weight", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "100");
	assert_int_equal(act_read(&f->a, "/a/b/", "cpu.max", buf, sizeof(buf)), 10);
	assert_string_equal(buf, "max 100000");
	assert_int_equal(act_read(&f->a, "", "cgroup.subtree_control", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "cpu");
	/* exactly filling is fine, one byte more is not */
	assert_int_equal(act_read(&f->a, "a/b", "cpu.weight", buf, 4), 3);
	strcpy(tiny, "x");
	assert_int_equal(act_read(&f->a, "a/b", "cpu.weight", tiny, sizeof(tiny)), -EFBIG);
	assert_int_equal(act_read(&f->a, "a/b", "../b/cpu.weight", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(act_read(&f->a, "a/b", "..", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(act_read(&f->a, "a/..", "cpu.weight", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(act_read(&f->a, "a/b", "nope", buf, sizeof(buf)), -ENOENT);
}

/* ---- lifecycle ---- */

static bool xattr_unsupported(int r)
{
	return r == -EPERM || r == -ENOTSUP || r == -EOPNOTSUPP;
}

static void test_mkdir(void **state)
{
	struct fx *f = *state;
	char p[256], tag[64];
	uint64_t id = 0;
	ssize_t n;
	int r;

	r = act_mkdir(&f->a, "a/new", "cgpilot-test", &id);
	if (xattr_unsupported(r)) {
		/* the directory is not left behind untagged */
		assert_false(exists(f, "a/new"));
		skip();
	}
	assert_int_equal(r, 0);
	assert_int_equal(id, ino(f, "a/new"));
	snprintf(p, sizeof(p), "%s/a/new", f->root);
	n = getxattr(p, ACT_OWNER_XATTR, tag, sizeof(tag) - 1);
	assert_int_equal(n, 12);
	tag[n] = 0;
	assert_string_equal(tag, "cgpilot-test");
	assert_int_equal(act_owner(&f->a, "a/new", tag, sizeof(tag)), 12);
	assert_string_equal(tag, "cgpilot-test");
	assert_int_equal(act_owner(&f->a, "a", tag, sizeof(tag)), -ENODATA);

	id = 77;
	assert_int_equal(act_mkdir(&f->a, "a/new", "cgpilot-test", &id), -EEXIST);
	assert_int_equal(id, 77);
	assert_int_equal(act_mkdir(&f->a, "other/x", "cgpilot-test", &id), -EPERM);
	assert_false(exists(f, "other/x"));
	assert_int_equal(act_mkdir(&f->a, "a/nope/x", "cgpilot-test", &id), -ENOENT);
	assert_int_equal(act_mkdir(&f->a, "", "cgpilot-test", &id), -EPERM);
	assert_int_equal(act_mkdir(&f->a, "a/../x", "cgpilot-test", &id), -EINVAL);
	assert_int_equal(act_mkdir(&f->a, "a/y", "", &id), -EINVAL);
	assert_int_equal(id, 77);

	f->a.dry_run = true;
	assert_int_equal(act_mkdir(&f->a, "a/dry", "cgpilot-test", &id), 0);
	assert_int_equal(id, 0);
	assert_false(exists(f, "a/dry"));
	assert_int_equal(act_mkdir(&f->a, "a/new", "cgpilot-test", &id), -EEXIST);
}

/* The fd act_mkdir_open gives is the cgroup's: act_apply writes through it
 * without opening the path again, even once the name means another
 * directory; one act_apply ends its records with one recorded() call. */
static void test_mkdir_open_and_apply_fd(void **state)
{
	struct fx *f = *state;
	struct act_write w[] = { { .knob = "cpu.weight", .value = "50" },
				 { .knob = "memory.high", .value = "1048576" } };
	struct act_result res;
	char from[256], to[256];
	uint64_t id = 0;
	int fd = 77, r;

	r = act_mkdir_open(&f->a, "a/n", "cgpilot-test", &id, &fd);
	if (xattr_unsupported(r))
		skip();
	assert_int_equal(r, 0);
	assert_true(fd >= 0);
	assert_int_equal(id, ino(f, "a/n"));
	/* a cgroup fresh from mkdir has the kernel's files; the fake one needs them */
	put(f, "a/n/cpu.weight", "100\n");
	put(f, "a/n/memory.high", "max\n");
	snprintf(from, sizeof(from), "%s/a/n", f->root);
	snprintf(to, sizeof(to), "%s/a/n2", f->root);
	assert_int_equal(rename(from, to), 0);
	mkd(f, "a/n");
	put(f, "a/n/cpu.weight", "100\n");
	f->batches = 0;
	r = act_apply(&f->a, &(struct act_target){ .path = "a/n", .id = id, .fd = &fd }, w, 2,
		      "test", &res);
	assert_int_equal(r, 0);
	assert_string_equal(get(f, "a/n2/cpu.weight"), "50\n");
	assert_string_equal(get(f, "a/n2/memory.high"), "1048576\n");
	assert_string_equal(get(f, "a/n/cpu.weight"), "100\n");
	assert_int_equal(f->nrecs, 2);
	assert_int_equal(f->batches, 1);
	assert_int_equal(f->batch_end, 2);
	/* not closed by act_apply */
	assert_int_equal(fcntl(fd, F_GETFD) >= 0, 1);
	close(fd);

	/* a refusal ends its (empty) batch too */
	w[0].value = "0";
	assert_int_equal(act_apply(&f->a, &(struct act_target){ .path = "a/n2", .id = id }, w, 1,
				   "test", &res),
			 -EINVAL);
	assert_int_equal(f->batches, 2);

	fd = 77;
	assert_int_equal(act_mkdir_open(&f->a, "a/n2", "cgpilot-test", &id, &fd), -EEXIST);
	assert_int_equal(fd, -1);
	f->a.dry_run = true;
	fd = 77;
	assert_int_equal(act_mkdir_open(&f->a, "a/dry", "cgpilot-test", &id, &fd), 0);
	assert_int_equal(fd, -1);
	assert_false(exists(f, "a/dry"));
}

/* The enable-only protection write: outside the manage set too, only
 * memory.min/low, only when the value differs, the old value given back. */
static void test_protect(void **state)
{
	struct fx *f = *state;
	struct act_result res;
	char old[32];

	put(f, "other/memory.min", "1024\n");
	put(f, "other/memory.low", "0\n");
	assert_int_equal(
		act_protect(&f->a, "other", "memory.min", 4096, "need", old, sizeof(old), &res), 0);
	assert_string_equal(old, "1024");
	assert_string_equal(get(f, "other/memory.min"), "4096\n");
	assert_int_equal(f->nrecs, 1);
	assert_string_equal(f->recs[0].knob, "memory.min");
	assert_string_equal(f->recs[0].old_value, "1024");
	assert_string_equal(f->recs[0].new_value, "4096");
	assert_int_equal(f->recs[0].status, ACT_WRITTEN);
	assert_int_equal(f->batches, 1);
	/* the same value: neither written nor recorded */
	assert_int_equal(
		act_protect(&f->a, "other", "memory.min", 4096, "need", old, sizeof(old), &res), 0);
	assert_int_equal(f->nrecs, 1);
	/* nothing but the two protection knobs, never the root */
	assert_int_equal(act_protect(&f->a, "other", "memory.max", 1, "x", old, sizeof(old), &res),
			 -EINVAL);
	assert_int_equal(act_protect(&f->a, "other", "cpu.weight", 1, "x", old, sizeof(old), &res),
			 -EINVAL);
	assert_int_equal(act_protect(&f->a, "", "memory.min", 1, "x", old, sizeof(old), &res),
			 -EPERM);
	assert_int_equal(act_protect(&f->a, "gone", "memory.low", 1, "x", old, sizeof(old), &res),
			 -ENOENT);
	assert_int_equal(act_protect(&f->a, "other", "memory.low", 1, "x", old, 8, &res), -EINVAL);
	/* dry run: recorded, not written */
	f->a.dry_run = true;
	assert_int_equal(
		act_protect(&f->a, "other", "memory.low", 2048, "need", old, sizeof(old), &res), 0);
	assert_string_equal(get(f, "other/memory.low"), "0\n");
	assert_int_equal(f->nrecs, 2);
	assert_int_equal(f->recs[1].status, ACT_DRY_RUN);
}

static void test_mkdir_parents(void **state)
{
	struct fx *f = *state;
	char tag[64];
	int r;

	f->a.dry_run = true;
	assert_int_equal(act_mkdir_parents(&f->a, "a/p/q/r", "cgpilot-test"), 0);
	assert_false(exists(f, "a/p"));
	assert_int_equal(act_mkdir_parents(&f->a, "other/p/q", "cgpilot-test"), -EPERM);
	f->a.dry_run = false;

	r = act_mkdir_parents(&f->a, "a/p/q/r", "cgpilot-test");
	if (xattr_unsupported(r))
		skip();
	assert_int_equal(r, 0);
	assert_true(exists(f, "a/p/q"));
	assert_false(exists(f, "a/p/q/r"));
	assert_int_equal(act_owner(&f->a, "a/p", tag, sizeof(tag)), 12);
	assert_int_equal(act_owner(&f->a, "a/p/q", tag, sizeof(tag)), 12);
	/* all there already: nothing to do, nothing asked of the manage set */
	assert_int_equal(act_mkdir_parents(&f->a, "a/p/q/r", "cgpilot-test"), 0);
	assert_int_equal(act_mkdir_parents(&f->a, "other/x", "cgpilot-test"), 0);
	assert_int_equal(act_mkdir_parents(&f->a, "other/p/q", "cgpilot-test"), -EPERM);
}

static void unlink_rel(struct fx *f, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", f->root, rel);
	assert_int_equal(unlink(p), 0);
}

static void test_rmdir(void **state)
{
	struct fx *f = *state;
	char p[256];
	uint64_t id;
	int r;

	/* untagged: not cgpilot's */
	mkd(f, "a/untagged");
	assert_int_equal(act_rmdir(&f->a, "a/untagged", 0, "cgpilot-test"), -EPERM);
	assert_true(exists(f, "a/untagged"));
	assert_int_equal(act_rmdir(&f->a, "", 0, "cgpilot-test"), -EPERM);
	assert_int_equal(act_rmdir(&f->a, "a/gone", 0, "cgpilot-test"), -ENOENT);

	r = act_mkdir(&f->a, "a/mine", "cgpilot-test", &id);
	if (xattr_unsupported(r))
		skip();
	assert_int_equal(r, 0);
	/* another's tag, and a tag this one only starts with */
	mkd(f, "a/theirs");
	snprintf(p, sizeof(p), "%s/a/theirs", f->root);
	assert_int_equal(setxattr(p, ACT_OWNER_XATTR, "someone-else", 12, 0), 0);
	assert_int_equal(act_rmdir(&f->a, "a/theirs", 0, "cgpilot-test"), -EPERM);
	assert_int_equal(act_rmdir(&f->a, "a/mine", 0, "cgpilot"), -EPERM);
	assert_int_equal(act_rmdir(&f->a, "a/mine", 0, "cgpilot-test-2"), -EPERM);
	assert_true(exists(f, "a/theirs"));

	assert_int_equal(act_rmdir(&f->a, "a/mine", id + 1, "cgpilot-test"), -ESTALE);
	f->a.dry_run = true;
	assert_int_equal(act_rmdir(&f->a, "a/mine", id, "cgpilot-test"), 0);
	assert_true(exists(f, "a/mine"));
	f->a.dry_run = false;
	put(f, "a/mine/child", "");
	assert_true(act_rmdir(&f->a, "a/mine", id, "cgpilot-test") < 0);
	snprintf(p, sizeof(p), "%s/a/mine/child", f->root);
	unlink(p);
	assert_int_equal(act_rmdir(&f->a, "a/mine", id, "cgpilot-test"), 0);
	assert_false(exists(f, "a/mine"));
}

/* A container's own children (untagged, inside it) go with it, deepest first. */
static void test_rmdir_tree(void **state)
{
	struct fx *f = *state;
	uint64_t id;
	int r;

	r = act_mkdir(&f->a, "a/pod", "cgpilot-test", &id);
	if (xattr_unsupported(r))
		skip();
	assert_int_equal(r, 0);
	mkd(f, "a/pod/init.scope");
	mkd(f, "a/pod/ctr");
	mkd(f, "a/pod/ctr/inner");
	assert_true(act_rmdir(&f->a, "a/pod", id, "cgpilot-test") < 0);
	/* not ours at the top: nothing below is touched either */
	mkd(f, "a/foreign");
	mkd(f, "a/foreign/child");
	assert_int_equal(act_rmdir_tree(&f->a, "a/foreign", 0, "cgpilot-test"), -EPERM);
	assert_true(exists(f, "a/foreign/child"));
	/* a child with something in it stays, and so does the container */
	put(f, "a/pod/ctr/inner/busy", "");
	assert_true(act_rmdir_tree(&f->a, "a/pod", id, "cgpilot-test") < 0);
	assert_true(exists(f, "a/pod"));
	unlink_rel(f, "a/pod/ctr/inner/busy");
	assert_int_equal(act_rmdir_tree(&f->a, "a/pod", id, "cgpilot-test"), 0);
	assert_false(exists(f, "a/pod"));
}

/* ---- one syscall failing, in a child ---- */

#if defined(__x86_64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* 0 when @fn (a check returning 0 or its failing line) passed with syscall @nr giving @err. */
static int with_failing_syscall(long nr, int err, int (*fn)(struct fx *), struct fx *f)
{
#ifdef TEST_AUDIT_ARCH
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(insns) / sizeof(insns[0]), .filter = insns };
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
			_exit(255);
		_exit(fn(f));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 255)
		skip();
	return WEXITSTATUS(status);
#else
	skip();
	return 0;
#endif
}

#define CHILD_CHECK(cond)                          \
	do {                                       \
		if (!(cond))                       \
			return __LINE__ % 250 + 1; \
	} while (0)

static int walk_checks(struct fx *f)
{
	struct act_target t = { .path = "a/b", .id = ino(f, "a/b") };
	struct act_write w[] = { { "cpu.weight", "200" } };
	struct act_result res;
	struct stat st;
	int fd;

	CHILD_CHECK(syscall(SYS_openat2, AT_FDCWD, ".", NULL, 0) < 0 && errno == ENOSYS);
	fd = act_open_cgroup(&f->a, "/a//b/");
	CHILD_CHECK(fd >= 0 && fstat(fd, &st) == 0 && (uint64_t)st.st_ino == ino(f, "a/b"));
	close(fd);
	fd = act_open_cgroup(&f->a, "");
	CHILD_CHECK(fd >= 0);
	close(fd);
	CHILD_CHECK(act_open_cgroup(&f->a, "a/link") == -ELOOP);
	CHILD_CHECK(act_open_cgroup(&f->a, "a/link/x") == -ELOOP);
	CHILD_CHECK(act_open_cgroup(&f->a, "a/nope") == -ENOENT);
	CHILD_CHECK(act_open_cgroup(&f->a, "a/b/cpu.weight") == -ENOTDIR);
	CHILD_CHECK(act_apply(&f->a, &t, w, 1, "test", &res) == 0);
	t.path = "a/link";
	CHILD_CHECK(act_apply(&f->a, &t, w, 1, "test", &res) == -ELOOP);
	return 0;
}

/* Before 5.6 there is no openat2: the walk one component at a time refuses the same. */
static void test_open_without_openat2(void **state)
{
	struct fx *f = *state;
	char p[256];

	snprintf(p, sizeof(p), "%s/a/link", f->root);
	assert_int_equal(symlink("b", p), 0);
	assert_int_equal(with_failing_syscall(SYS_openat2, ENOSYS, walk_checks, f), 0);
	assert_string_equal(get(f, "a/b/cpu.weight"), "200\n");
}

static int untagged_checks(struct fx *f)
{
	uint64_t id = 5;

	CHILD_CHECK(act_mkdir(&f->a, "a/new", "cgpilot-test", &id) == -EPERM);
	CHILD_CHECK(id == 5);
	CHILD_CHECK(!exists(f, "a/new"));
	return 0;
}

/* A cgroup that cannot be tagged is not left behind. */
static void test_mkdir_untaggable(void **state)
{
	assert_int_equal(with_failing_syscall(SYS_fsetxattr, EPERM, untagged_checks, *state), 0);
}

/* ---- controllers ---- */

static void test_enable_controllers(void **state)
{
	struct fx *f = *state;
	struct act_undo undo = { 0 };
	struct act_result res;
	static const struct {
		const char *path, *new_value;
	} want[] = {
		{ "", "+memory" }, { "", "+pids" },	 { "a", "+cpu" },    { "a", "+pids" },
		{ "a/b", "+cpu" }, { "a/b", "+memory" }, { "a/b", "+pids" },
	};

	/* the enable-only writes are allowed outside the manage set */
	f->manage = "nowhere";
	assert_int_equal(act_enable_controllers(&f->a, "a/b/c", CGFS_CPU | CGFS_MEMORY | CGFS_PIDS,
						&undo, "start", &res),
			 0);
	assert_int_equal(f->nrecs, 7);
	for (unsigned i = 0; i < 7; i++) {
		assert_string_equal(f->recs[i].path, want[i].path);
		assert_string_equal(f->recs[i].new_value, want[i].new_value);
		assert_string_equal(f->recs[i].knob, "cgroup.subtree_control");
		assert_string_equal(f->recs[i].reason, "start");
		assert_int_equal(f->recs[i].status, ACT_WRITTEN);
	}
	assert_string_equal(f->recs[0].old_value, "cpu");
	assert_int_equal(f->recs[2].id, ino(f, "a"));
	assert_int_equal(undo.n, 3);
	assert_string_equal(undo.e[0].path, "");
	assert_int_equal(undo.e[0].added, CGFS_MEMORY | CGFS_PIDS);
	assert_string_equal(undo.e[1].path, "a");
	assert_int_equal(undo.e[1].added, CGFS_CPU | CGFS_PIDS);
	assert_string_equal(undo.e[2].path, "a/b");
	assert_int_equal(undo.e[2].added, CGFS_CPU | CGFS_MEMORY | CGFS_PIDS);

	/* undo: deepest first */
	f->nrecs = 0;
	act_undo(&f->a, &undo, "stop");
	assert_int_equal(f->nrecs, 7);
	assert_string_equal(f->recs[0].path, "a/b");
	assert_string_equal(f->recs[0].new_value, "-pids");
	assert_string_equal(f->recs[2].new_value, "-cpu");
	assert_string_equal(f->recs[3].path, "a");
	assert_string_equal(f->recs[5].path, "");
	assert_string_equal(f->recs[6].new_value, "-memory");
	assert_string_equal(f->recs[6].reason, "stop");
	assert_string_equal(get(f, "cgroup.subtree_control"), "-memory\n");
	assert_int_equal(undo.n, 0);
	act_undo_free(&undo);
	assert_null(undo.e);

	/* the root has no ancestors */
	f->nrecs = 0;
	assert_int_equal(act_enable_controllers(&f->a, "", CGFS_CPU, &undo, "r", &res), 0);
	assert_int_equal(f->nrecs, 0);
}

static void test_enable_controllers_dry_run(void **state)
{
	struct fx *f = *state;
	struct act_undo undo = { 0 };
	struct act_result res;

	f->a.dry_run = true;
	assert_int_equal(act_enable_controllers(&f->a, "a/b", CGFS_CPU | CGFS_MEMORY, &undo,
						"start", &res),
			 0);
	assert_int_equal(f->nrecs, 2);
	assert_int_equal(f->recs[0].status, ACT_DRY_RUN);
	assert_string_equal(f->recs[0].new_value, "+memory");
	assert_string_equal(f->recs[1].path, "a");
	assert_string_equal(f->recs[1].new_value, "+cpu");
	assert_string_equal(get(f, "cgroup.subtree_control"), "cpu\n");
	assert_string_equal(get(f, "a/cgroup.subtree_control"), "memory\n");
	assert_int_equal(undo.n, 0);
	act_undo_free(&undo);
}

static void test_enable_controllers_failure(void **state)
{
	struct fx *f = *state;
	struct act_undo undo = { 0 };
	struct act_result res;

	make_unwritable(f, "a/cgroup.subtree_control");
	assert_int_equal(act_enable_controllers(&f->a, "a/b", CGFS_CPU | CGFS_MEMORY, &undo,
						"start", &res),
			 -EISDIR);
	assert_int_equal(res.err, -EISDIR);
	assert_contains(res.msg, "'a'");
	/* what the root got stays, and is in undo */
	assert_int_equal(undo.n, 1);
	assert_string_equal(undo.e[0].path, "");
	assert_int_equal(undo.e[0].added, CGFS_MEMORY);

	/* an undo that fails keeps its entry */
	make_unwritable(f, "cgroup.subtree_control");
	f->nrecs = 0;
	act_undo(&f->a, &undo, "stop");
	assert_int_equal(f->nrecs, 1);
	assert_int_equal(f->recs[0].status, ACT_FAILED);
	assert_int_equal(undo.n, 1);
	assert_int_equal(undo.e[0].added, CGFS_MEMORY);
	act_undo_free(&undo);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_values),
		cmocka_unit_test(test_check_covers_every_knob),
		cmocka_unit_test(test_check_messages),
		cmocka_unit_test(test_knob_find),
		T(test_apply_unknown_knob),
		T(test_apply_bad_value),
		T(test_apply_outside_manage),
		T(test_apply_adopted),
		T(test_apply_id_mismatch),
		T(test_apply_symlink),
		T(test_apply_root_and_dotdot),
		T(test_apply_unchanged),
		cmocka_unit_test(test_value_matches),
		T(test_apply_kernel_refusals),
		T(test_apply_writes_and_readback),
		T(test_apply_external_change),
		T(test_apply_rollback),
		T(test_apply_rollback_first_fails),
		T(test_apply_rollback_not_restorable),
		T(test_apply_rollback_per_device),
		T(test_apply_dry_run),
		T(test_apply_no_recorder),
		T(test_read),
		T(test_open_without_openat2),
		T(test_mkdir),
		T(test_mkdir_untaggable),
		T(test_mkdir_open_and_apply_fd),
		T(test_protect),
		T(test_mkdir_parents),
		T(test_rmdir),
		T(test_rmdir_tree),
		T(test_enable_controllers),
		T(test_enable_controllers_dry_run),
		T(test_enable_controllers_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
