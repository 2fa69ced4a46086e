// SPDX-License-Identifier: Apache-2.0
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroupfs.h"
#include "slotread.h"
#include "telemetry.h"
#include "telemetry.skel.h"
#include "util.h"

struct telemetry {
	struct telemetry_bpf *skel;
	struct ring_buffer *rb;
	telemetry_event_fn fn;
	void *ctx;
	struct telemetry_features feat;
	char missing[512];
	int ncpus;
	struct cgp_cg_hot *percpu; /* ncpus entries, scratch for lookups */
	struct slot_reader reader; /* of cg_stats and cg_shared, once loaded */
};

/* Number of parameters of a tracepoint's BTF prototype (the leading void *
 * included), or -ENOENT if the kernel has no such tracepoint. *ret_arg1_kind
 * gets the BTF kind of the first real argument. */
static int tp_proto(const struct btf *btf, const char *tp, int *ret_arg1_kind)
{
	char name[128];
	const struct btf_type *t;
	int id;

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id < 0)
		return -ENOENT;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	if (!t || !btf_is_ptr(t))
		return -EINVAL;
	t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_func_proto(t))
		return -EINVAL;
	if (ret_arg1_kind && btf_vlen(t) >= 2) {
		const struct btf_type *a =
			btf__type_by_id(btf, btf__resolve_type(btf, btf_params(t)[1].type));

		*ret_arg1_kind = a ? (int)btf_kind(a) : -1;
	}
	return btf_vlen(t);
}

static void note_missing(struct telemetry *t, const char *tp)
{
	size_t n = strlen(t->missing);

	snprintf(t->missing + n, sizeof(t->missing) - n, "%s%s", n ? "," : "", tp);
}

/* Disable every tp_btf program whose tracepoint this kernel lacks, and pick
 * the mark_victim flavor. */
static int probe_kernel(struct telemetry *t)
{
	struct bpf_program *prog;
	struct btf *btf = btf__load_vmlinux_btf();
	int kind = -1, r;

	if (!btf)
		return -errno;
	bpf_object__for_each_program(prog, t->skel->obj) {
		const char *sec = bpf_program__section_name(prog);

		if (strncmp(sec, "tp_btf/", 7))
			continue;
		if (tp_proto(btf, sec + 7, NULL) < 0) {
			bpf_program__set_autoload(prog, false);
			note_missing(t, sec + 7);
		}
	}
	r = tp_proto(btf, "mark_victim", &kind);
	t->feat.oom_task = r >= 2 && kind == BTF_KIND_PTR;
	t->feat.oom_pid = r >= 2 && kind == BTF_KIND_INT;
	bpf_program__set_autoload(t->skel->progs.cgp_mark_victim_task, t->feat.oom_task);
	bpf_program__set_autoload(t->skel->progs.cgp_mark_victim_pid, t->feat.oom_pid);
	t->feat.memcg_reclaim = tp_proto(btf, "mm_vmscan_memcg_reclaim_begin", NULL) > 0;
	t->feat.direct_reclaim = tp_proto(btf, "mm_vmscan_direct_reclaim_begin", NULL) > 0;
	t->feat.block = tp_proto(btf, "block_rq_issue", NULL) > 0 &&
			tp_proto(btf, "block_rq_complete", NULL) > 0;
	t->feat.cgroup_events = tp_proto(btf, "cgroup_mkdir", NULL) > 0;
	btf__free(btf);
	return 0;
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct telemetry *t = ctx;

	if (len < sizeof(struct cgp_event))
		return 0;
	return t->fn ? t->fn(t->ctx, data) : 0;
}

static struct bpf_map *pinned_maps(struct telemetry_bpf *s, int i)
{
	struct bpf_map *maps[] = { s->maps.cg_slot, s->maps.slot_free, s->maps.cg_stats,
				   s->maps.cg_shared, s->maps.thresholds };

	return i < (int)ARRAY_SIZE(maps) ? maps[i] : NULL;
}

/* Names of the pinned maps of every layout so far (a set of another layout
 * is removed by these names only). */
static const char *const pin_names[] = { "cg_slot", "slot_free", "cg_stats", "cg_shared",
					 "thresholds" };

static void note(struct telemetry *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct telemetry *t, const char *fmt, ...)
{
	size_t n = strlen(t->feat.pins_note);
	va_list ap;

	if (n + 3 >= sizeof(t->feat.pins_note))
		return;
	if (n)
		n += (size_t)snprintf(t->feat.pins_note + n, sizeof(t->feat.pins_note) - n, "; ");
	va_start(ap, fmt);
	vsnprintf(t->feat.pins_note + n, sizeof(t->feat.pins_note) - n, fmt, ap);
	va_end(ap);
}

/* Remove the sets of other layout versions under @pin_dir: each holds its
 * kernel memory for as long as it stays pinned. */
static void remove_other_layouts(struct telemetry *t, const char *pin_dir)
{
	char dir[512], path[600];

	for (int v = 1; v < 2 * CGP_LAYOUT_VERSION + 8; v++) {
		int removed = 0;

		if (v == CGP_LAYOUT_VERSION)
			continue;
		snprintf(dir, sizeof(dir), "%s/v%d", pin_dir, v);
		for (size_t i = 0; i < ARRAY_SIZE(pin_names); i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, pin_names[i]);
			removed += unlink(path) == 0;
		}
		if (rmdir(dir) == 0 || removed)
			note(t, "removed the maps of layout v%d from %s (another cgpilot build)", v,
			     dir);
	}
}

/* Why the pinned map at @path cannot serve as @m: "" if it can. */
static void pin_mismatch(int fd, const struct bpf_map *m, char *why, size_t len)
{
	struct bpf_map_info info = { 0 };
	__u32 ilen = sizeof(info);

	why[0] = 0;
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &ilen))
		snprintf(why, len, "%s cannot be opened (%s)", bpf_map__name(m), strerror(errno));
	else if (info.type != (__u32)bpf_map__type(m) || info.key_size != bpf_map__key_size(m) ||
		 info.value_size != bpf_map__value_size(m))
		snprintf(why, len, "%s has another layout", bpf_map__name(m));
	else if (info.max_entries != bpf_map__max_entries(m))
		snprintf(why, len, "%s has %u slots where max_cgroups is %u", bpf_map__name(m),
			 info.max_entries, bpf_map__max_entries(m));
}

/*
 * Pin the maps that hold counters so a restarted daemon continues them. All
 * or nothing: a partial set (an interrupted start) is removed, and so is a
 * set of another shape (another max_cgroups, a build that got the layout
 * version wrong), which is never misread: a fresh set is made, and
 * feat.pins_note says why the counters start from zero.
 */
static int setup_pins(struct telemetry *t, const char *pin_dir)
{
	char dir[512], path[600], why[160] = "";
	int present = 0, total = 0;
	struct bpf_map *m;

	if (mkdir(pin_dir, 0700) && errno != EEXIST)
		return -errno;
	remove_other_layouts(t, pin_dir);
	snprintf(dir, sizeof(dir), "%s/v%d", pin_dir, CGP_LAYOUT_VERSION);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	for (int i = 0; (m = pinned_maps(t->skel, i)); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(m));
		total++;
		if (access(path, F_OK))
			continue;
		present++;
		if (!why[0]) {
			int fd = bpf_obj_get(path);

			pin_mismatch(fd, m, why, sizeof(why));
			if (fd >= 0)
				close(fd);
		}
	}
	if (present && present != total)
		note(t, "an incomplete set of pinned maps in %s was removed", dir);
	else if (present && why[0])
		note(t, "the pinned maps in %s were removed and made afresh: %s", dir, why);
	if (present == total && why[0])
		present = 0;
	for (int i = 0; (m = pinned_maps(t->skel, i)); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(m));
		if (present != total)
			unlink(path);
		if (bpf_map__set_pin_path(m, path))
			return -errno;
	}
	t->feat.maps_reused = present == total;
	return 0;
}

static int fill_free_slots(struct telemetry *t, uint32_t max)
{
	int fd = bpf_map__fd(t->skel->maps.slot_free);

	for (uint32_t s = 0; s < max; s++)
		if (bpf_map_update_elem(fd, NULL, &s, 0))
			return -errno;
	return 0;
}

/* Offset of the cgroup id in a cg_win value (struct win_val of the BPF side):
 * the windows come first. */
#define WIN_CGID_OFF (sizeof(struct cgp_window) * CGP_SIG_MAX)
#define RESTORE_BATCH 256

/*
 * cg_win is not pinned: a daemon that reuses the pinned cg_slot gets fresh
 * onset state with cgroup id 0 in every slot, and BPF writes the id only when
 * it hands out a new slot. The window timer and the sweep report a cleared
 * with the id of the slot (and look its thresholds up by it), so put back the
 * id of every slot cg_slot maps. Before the programs attach: nothing else
 * writes cg_win yet. Returns the number of slots or -errno.
 */
static int restore_win_ids(struct telemetry *t)
{
	struct bpf_map *win = t->skel->maps.cg_win;
	uint32_t max = bpf_map__max_entries(t->skel->maps.cg_slot);
	size_t vsz = bpf_map__value_size(win);
	_cleanup_free_ uint64_t *ids = calloc(max, sizeof(*ids));
	_cleanup_free_ uint32_t *slots = calloc(max, sizeof(*slots));
	_cleanup_free_ char *vals = calloc(RESTORE_BATCH, vsz);
	uint32_t keys[RESTORE_BATCH];
	int n, fd = bpf_map__fd(win);

	if (vsz < WIN_CGID_OFF + sizeof(uint64_t))
		return -EPROTO;
	if (!ids || !slots || !vals)
		return -ENOMEM;
	n = telemetry__slots(t, ids, slots, max);
	if (n < 0)
		return n;
	for (int i = 0; i < n;) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		uint32_t count = 0;

		for (; i < n && count < RESTORE_BATCH; i++) {
			if (slots[i] >= bpf_map__max_entries(win))
				continue; /* not a slot of ours: BPF never uses it */
			keys[count] = slots[i];
			memset(vals + count * vsz, 0, vsz);
			memcpy(vals + count * vsz + WIN_CGID_OFF, &ids[i], sizeof(ids[i]));
			count++;
		}
		if (count && bpf_map_update_batch(fd, keys, vals, &count, &opts))
			return -errno;
	}
	return n;
}

/* Local storage for every task that existed before the programs attached. */
static int run_task_iter(struct telemetry *t)
{
	_cleanup_close_ int fd = bpf_iter_create(bpf_link__fd(t->skel->links.cgp_iter_task));
	char buf[256];
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	return n < 0 ? -errno : 0;
}

int telemetry__new(const struct telemetry_opts *o, telemetry_event_fn fn, void *ctx,
		   struct telemetry **ret)
{
	struct telemetry *t = calloc(1, sizeof(*t));
	struct bpf_map *sized[6];
	int r;

	if (!t)
		return -ENOMEM;
	t->fn = fn;
	t->ctx = ctx;
	t->ncpus = libbpf_num_possible_cpus();
	if (t->ncpus <= 0) {
		r = t->ncpus ? t->ncpus : -EINVAL;
		goto err_free;
	}
	t->percpu = calloc((size_t)t->ncpus, sizeof(*t->percpu));
	if (!t->percpu) {
		r = -ENOMEM;
		goto err_free;
	}
	t->skel = telemetry_bpf__open();
	if (!t->skel) {
		r = -errno;
		goto err_free;
	}
	r = probe_kernel(t);
	if (r)
		goto err_destroy;
	sized[0] = t->skel->maps.cg_slot;
	sized[1] = t->skel->maps.slot_free;
	sized[2] = t->skel->maps.cg_stats;
	sized[3] = t->skel->maps.cg_shared;
	sized[4] = t->skel->maps.cg_win;
	sized[5] = t->skel->maps.thresholds;
	for (unsigned i = 0; i < ARRAY_SIZE(sized); i++)
		bpf_map__set_max_entries(sized[i], o->max_cgroups);
	t->skel->rodata->io_blkcg_v2 = o->io_blkcg_v2;
	t->skel->rodata->nr_slots = o->max_cgroups;
	t->skel->data->cfg.window_ns = o->window_ns;
	memcpy(t->skel->data->cfg.default_threshold_ns, o->default_threshold_ns,
	       sizeof(t->skel->data->cfg.default_threshold_ns));
	if (o->pin_dir) {
		r = setup_pins(t, o->pin_dir);
		if (r)
			goto err_destroy;
	}
	r = telemetry_bpf__load(t->skel);
	if (r && t->feat.maps_reused) {
		/* checked above, so only if they changed in between */
		r = -ESTALE;
		goto err_destroy;
	}
	if (r)
		goto err_destroy;
	r = slot_reader_init(&t->reader, bpf_map__fd(t->skel->maps.cg_stats),
			     bpf_map__fd(t->skel->maps.cg_shared), o->max_cgroups);
	if (r)
		goto err_destroy;
	if (!t->feat.maps_reused)
		r = fill_free_slots(t, o->max_cgroups);
	else
		r = restore_win_ids(t);
	if (r < 0)
		goto err_destroy;
	/* Setting the window timer up allocates without locks and may fail
	 * for a moment; telemetry__maintain() retries, so go on without it. */
	for (int i = 0; i < 3; i++) {
		r = telemetry__init_timers(t);
		if (r != -ENOMEM)
			break;
		usleep(1000);
	}
	if (r && r != -ENOMEM)
		goto err_destroy;
	r = telemetry_bpf__attach(t->skel);
	if (r)
		goto err_destroy;
	r = run_task_iter(t);
	if (r)
		goto err_destroy;
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), on_event, t, NULL);
	if (!t->rb) {
		r = -errno;
		goto err_destroy;
	}
	*ret = t;
	return 0;

err_destroy:
	telemetry_bpf__destroy(t->skel);
err_free:
	free(t->percpu);
	slot_reader_free(&t->reader);
	free(t);
	return r < 0 ? r : -EINVAL;
}

void telemetry__free(struct telemetry *t)
{
	if (!t)
		return;
	ring_buffer__free(t->rb);
	telemetry_bpf__destroy(t->skel);
	free(t->percpu);
	slot_reader_free(&t->reader);
	free(t);
}

static void failed(struct telemetry_failure *ret, const char *feature, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void failed(struct telemetry_failure *ret, const char *feature, const char *fmt, ...)
{
	va_list ap;

	snprintf(ret->feature, sizeof(ret->feature), "%s", feature);
	va_start(ap, fmt);
	vsnprintf(ret->why, sizeof(ret->why), fmt, ap);
	va_end(ap);
}

/* The value of a "Key:" line of /proc/self/status, "" if there is none. */
static void self_status(const char *key, char *buf, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
	size_t kl = strlen(key);
	char line[256];

	buf[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, kl) || line[kl] != ':')
			continue;
		snprintf(buf, len, "%s", line + kl + 1 + strspn(line + kl + 1, " \t"));
		buf[strcspn(buf, "\n")] = '\0';
		return;
	}
}

/* A one-line file's first word, "" if it cannot be read. */
static void read_word(const char *path, char *buf, size_t len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, " \n")] = '\0';
}

/* The kernel lockdown mode in force ("integrity", "confidentiality"), "" for none. */
static void lockdown_mode(char *buf, size_t len)
{
	char s[128], *open_b, *close_b;
	_cleanup_close_ int fd = open("/sys/kernel/security/lockdown", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, s, sizeof(s) - 1) : -1;

	buf[0] = '\0';
	s[n > 0 ? n : 0] = '\0';
	open_b = strchr(s, '[');
	close_b = open_b ? strchr(open_b, ']') : NULL;
	if (!close_b || !strncmp(open_b + 1, "none", 4))
		return;
	*close_b = '\0';
	snprintf(buf, len, "%s", open_b + 1);
}

#define CAP_SYS_ADMIN_BIT 21
#define CAP_BPF_BIT 39

/* Who denies bpf(2) to cgpilotd: a seccomp filter, missing capabilities,
 * lockdown, or else a security module. */
static void why_denied(char *buf, size_t len)
{
	char v[64], lock[32], unpriv[16];
	unsigned long long caps;

	self_status("Seccomp", v, sizeof(v));
	if (streq(v, "2")) {
		snprintf(
			buf, len,
			"a seccomp filter on cgpilotd denies it (Seccomp: 2 in /proc/self/status): "
			"allow bpf in the profile of the service manager or container runtime "
			"that starts it");
		return;
	}
	self_status("CapEff", v, sizeof(v));
	caps = strtoull(v, NULL, 16);
	if (!(caps & (1ULL << CAP_BPF_BIT)) && !(caps & (1ULL << CAP_SYS_ADMIN_BIT))) {
		read_word("/proc/sys/kernel/unprivileged_bpf_disabled", unpriv, sizeof(unpriv));
		snprintf(
			buf, len,
			"cgpilotd has neither CAP_BPF nor CAP_SYS_ADMIN (CapEff %s), and unprivileged "
			"bpf(2) is off (kernel.unprivileged_bpf_disabled = %s): give it those "
			"capabilities",
			v[0] ? v : "?", unpriv[0] ? unpriv : "?");
		return;
	}
	lockdown_mode(lock, sizeof(lock));
	if (lock[0])
		snprintf(buf, len, "kernel lockdown (%s, /sys/kernel/security/lockdown) denies it",
			 lock);
	else
		snprintf(buf, len,
			 "a security module (SELinux, AppArmor, BPF LSM) or the "
			 "container runtime denies it");
}

void telemetry__why_failed(int err, struct telemetry_failure *ret)
{
	union bpf_attr attr = {
		.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1
	};
	static const struct {
		enum bpf_map_type type;
		const char *feature, *what;
	} maps[] = {
		{ BPF_MAP_TYPE_RINGBUF, "ringbuf",
		  "BPF ring buffer maps (BPF_MAP_TYPE_RINGBUF, Linux 5.8)" },
		{ BPF_MAP_TYPE_TASK_STORAGE, "task_storage",
		  "BPF task local storage (BPF_MAP_TYPE_TASK_STORAGE, Linux 5.11)" },
	};
	static const struct {
		enum bpf_func_id fn;
		const char *feature, *what;
	} helpers[] = {
		{ BPF_FUNC_timer_init, "bpf_timer", "BPF timers (bpf_timer_init, Linux 5.15)" },
		{ BPF_FUNC_loop, "bpf_loop", "the bpf_loop helper (Linux 5.17)" },
	};
	char why[400], lock[32];
	int fd, e;

	memset(ret, 0, sizeof(*ret));
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		failed(ret, "btf",
		       "no kernel BTF at /sys/kernel/btf/vmlinux (%s): the kernel was built without "
		       "CONFIG_DEBUG_INFO_BTF, which the CO-RE programs need",
		       strerror(errno));
		return;
	}
	fd = (int)syscall(__NR_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	if (fd < 0) {
		e = errno;
		if (e == ENOSYS)
			failed(ret, "bpf_syscall",
			       "the kernel has no bpf(2) syscall (CONFIG_BPF_SYSCALL is off)");
		else if (e == EPERM || e == EACCES) {
			why_denied(why, sizeof(why));
			failed(ret, "bpf_syscall", "bpf(2) denied: %s (%s): %s", strerrorname_np(e),
			       strerror(e), why);
		} else {
			failed(ret, "bpf_syscall", "bpf(2) cannot create a map: %s (%s)",
			       strerrorname_np(e) ? strerrorname_np(e) : "?", strerror(e));
		}
		return;
	}
	close(fd);
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++)
		if (!libbpf_probe_bpf_map_type(maps[i].type, NULL)) {
			failed(ret, maps[i].feature, "the kernel has no %s", maps[i].what);
			return;
		}
	if (!libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SYSCALL, NULL)) {
		failed(ret, "syscall_programs",
		       "the kernel has no syscall BPF programs (BPF_PROG_TYPE_SYSCALL, Linux 5.14)");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(helpers); i++)
		if (!libbpf_probe_bpf_helper(BPF_PROG_TYPE_SYSCALL, helpers[i].fn, NULL)) {
			failed(ret, helpers[i].feature, "the kernel has no %s", helpers[i].what);
			return;
		}
	lockdown_mode(lock, sizeof(lock));
	if (err == -EPERM && !strcmp(lock, "confidentiality")) {
		failed(ret, "lockdown",
		       "kernel lockdown (confidentiality, /sys/kernel/security/lockdown) forbids "
		       "the programs' reads of kernel memory");
		return;
	}
	failed(ret, "load",
	       "the programs failed to load: %s (run with -v for libbpf's and the verifier's log)",
	       strerror(err < 0 ? -err : err));
}

/*
 * Every accessor below takes a NULL handle: the daemon then serves without
 * BPF (files-only mode). Verbs that would act on a map return -ENODEV,
 * readers nothing (0 entries, zero counters, no features, no events).
 */
const struct telemetry_features *telemetry__features(const struct telemetry *t)
{
	static const struct telemetry_features none;

	return t ? &t->feat : &none;
}

const char *telemetry__missing(const struct telemetry *t)
{
	return t ? t->missing : "";
}

int telemetry__ringbuf_fd(const struct telemetry *t)
{
	return t ? ring_buffer__epoll_fd(t->rb) : -ENODEV;
}

int telemetry__consume(struct telemetry *t)
{
	return t ? ring_buffer__consume(t->rb) : 0;
}

void telemetry__set_window(struct telemetry *t, uint64_t window_ns,
			   const uint64_t default_threshold_ns[CGP_SIG_MAX])
{
	if (!t)
		return;
	t->skel->data->cfg.window_ns = window_ns;
	for (int i = 0; i < CGP_SIG_MAX; i++)
		t->skel->data->cfg.default_threshold_ns[i] = default_threshold_ns[i];
}

int telemetry__set_threshold(struct telemetry *t, uint64_t cgid, const struct cgp_threshold *th)
{
	int fd;

	if (!t)
		return -ENODEV;
	fd = bpf_map__fd(t->skel->maps.thresholds);
	return bpf_map_update_elem(fd, &cgid, th, BPF_ANY) ? -errno : 0;
}

int telemetry__forget_threshold(struct telemetry *t, uint64_t cgid)
{
	int fd;

	if (!t)
		return -ENODEV;
	fd = bpf_map__fd(t->skel->maps.thresholds);
	return bpf_map_delete_elem(fd, &cgid) ? -errno : 0;
}

int telemetry__get_threshold(struct telemetry *t, uint64_t cgid, struct cgp_threshold *ret)
{
	int fd;

	if (!t)
		return -ENODEV;
	fd = bpf_map__fd(t->skel->maps.thresholds);
	if (!bpf_map_lookup_elem(fd, &cgid, ret))
		return 0;
	for (int i = 0; i < CGP_SIG_MAX; i++)
		ret->ns[i] = t->skel->data->cfg.default_threshold_ns[i];
	ret->flags = 0;
	return 1; /* defaults */
}

int telemetry__slot_of(struct telemetry *t, uint64_t cgid, uint32_t *ret_slot)
{
	uint32_t slot;

	if (!t)
		return -ENODEV;
	if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.cg_slot), &cgid, &slot))
		return -errno;
	*ret_slot = slot;
	return 0;
}

int telemetry__slots(struct telemetry *t, uint64_t *ids, uint32_t *slots, uint32_t max)
{
	uint64_t batch = 0;
	uint32_t total = 0, count;
	bool first = true;
	int fd, r;

	if (!t)
		return 0;
	fd = bpf_map__fd(t->skel->maps.cg_slot);

	/* one syscall per max entries rather than two per cgroup */
	for (;;) {
		count = max - total;
		if (!count)
			break;
		r = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, ids + total,
					 slots + total, &count, NULL);
		first = false;
		if (r && errno != ENOENT)
			return -errno;
		total += count;
		if (r)
			break;
	}
	return (int)total;
}

int telemetry__read_slot(struct telemetry *t, uint32_t slot, struct cgp_cg_stats *ret)
{
	if (!t)
		return -ENODEV;
	return slot_reader_one(&t->reader, slot, ret);
}

int telemetry__read_slots(struct telemetry *t, const uint32_t *slots, unsigned n,
			  struct cgp_cg_stats *ret)
{
	if (!t)
		return -ENODEV;
	return slot_reader_many(&t->reader, slots, n, ret);
}

int telemetry__prot_wait(struct telemetry *t, uint64_t *ret, unsigned max)
{
	__u32 zero = 0;
	unsigned n;
	_cleanup_free_ __u64 *v = NULL;
	int fd;

	if (!t)
		return -ENODEV;
	fd = bpf_map__fd(t->skel->maps.prot_wait);
	n = (unsigned)t->ncpus < max ? (unsigned)t->ncpus : max;
	v = calloc((size_t)t->ncpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &zero, v))
		return -errno;
	for (unsigned c = 0; c < n; c++)
		ret[c] = v[c];
	return (int)n;
}

int telemetry__init_timers(struct telemetry *t)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	if (!t)
		return -ENODEV;
	if (bpf_prog_test_run_opts(bpf_program__fd(t->skel->progs.cgp_init_timers), &opts))
		return -errno;
	return (int)opts.retval < 0 ? (int)opts.retval : 0;
}

int telemetry__maintain(struct telemetry *t)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	if (!t)
		return 0; /* no episodes to end */
	if (bpf_prog_test_run_opts(bpf_program__fd(t->skel->progs.cgp_maintain), &opts))
		return -errno;
	return (int)opts.retval;
}

int telemetry__win(struct telemetry *t, uint32_t slot, uint64_t *ret_cgid,
		   struct cgp_window ret[CGP_SIG_MAX])
{
	struct bpf_map *m;
	size_t vsz;
	_cleanup_free_ char *val = NULL;

	if (!t)
		return -ENODEV;
	m = t->skel->maps.cg_win;
	vsz = bpf_map__value_size(m);
	val = calloc(1, vsz); /* zeroed: the lookup fills it, the analyzer cannot tell */
	if (vsz < WIN_CGID_OFF + sizeof(*ret_cgid))
		return -EPROTO;
	if (!val)
		return -ENOMEM;
	if (slot >= bpf_map__max_entries(m))
		return -ENOENT;
	if (bpf_map_lookup_elem(bpf_map__fd(m), &slot, val))
		return -errno;
	memcpy(ret, val, sizeof(struct cgp_window) * CGP_SIG_MAX);
	memcpy(ret_cgid, val + WIN_CGID_OFF, sizeof(*ret_cgid));
	return 0;
}

int telemetry__win_active(struct telemetry *t, uint32_t slot, uint64_t *ret_cgid,
			  uint32_t *ret_active_mask)
{
	struct cgp_window w[CGP_SIG_MAX] = { 0 };
	uint32_t mask = 0;
	int r = telemetry__win(t, slot, ret_cgid, w);

	if (r)
		return r;
	for (int s = 0; s < CGP_SIG_MAX; s++)
		if (w[s].active)
			mask |= 1u << s;
	*ret_active_mask = mask;
	return 0;
}

/* Clean onset state for @slot, owned by @cgid (see cgp_reset_slot). */
static int reset_slot(struct telemetry *t, uint64_t cgid, uint32_t slot)
{
	struct cgp_slot_args args = { .cgid = cgid, .slot = slot };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &args, .ctx_size_in = sizeof(args));

	if (bpf_prog_test_run_opts(bpf_program__fd(t->skel->progs.cgp_reset_slot), &opts))
		return -errno;
	return (int)opts.retval;
}

int telemetry__release(struct telemetry *t, uint64_t cgid, uint32_t slot)
{
	int r;

	if (!t)
		return -ENODEV;
	/* unmap first so BPF cannot count into a slot being recycled */
	if (bpf_map_delete_elem(bpf_map__fd(t->skel->maps.cg_slot), &cgid) && errno != ENOENT)
		return -errno;
	bpf_map_delete_elem(bpf_map__fd(t->skel->maps.thresholds), &cgid);
	memset(t->percpu, 0, (size_t)t->ncpus * sizeof(*t->percpu));
	if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.cg_stats), &slot, t->percpu, BPF_ANY))
		return -errno;
	{
		const struct cgp_cg_shared zero = { 0 };

		if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.cg_shared), &slot, &zero,
					BPF_ANY))
			return -errno;
	}
	/* through BPF: the slot also leaves the window timer's episodes */
	r = reset_slot(t, 0, slot);
	if (r < 0)
		return r;
	if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.slot_free), NULL, &slot, 0))
		return -errno;
	return 0;
}

void telemetry__self_stats(const struct telemetry *t, struct cgp_self_stats *ret)
{
	if (!t) {
		memset(ret, 0, sizeof(*ret));
		return;
	}
	memcpy(ret, (const void *)&t->skel->bss->self_stats, sizeof(*ret));
}

int telemetry__progs(struct telemetry *t, struct telemetry_prog_info *ret, int max)
{
	struct bpf_program *prog;
	int n = 0;

	if (!t)
		return 0;
	bpf_object__for_each_program(prog, t->skel->obj) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || n >= max)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			return -errno;
		snprintf(ret[n].name, sizeof(ret[n].name), "%s", bpf_program__name(prog));
		ret[n].id = info.id;
		ret[n].run_cnt = info.run_cnt;
		ret[n].run_time_ns = info.run_time_ns;
		n++;
	}
	return n;
}

/* The kernel's own figure of a map's memory (fdinfo "memlock": since 6.4 its
 * allocations as they are), 0 where it gives none. */
static uint64_t map_memlock(int fd)
{
	char path[64], buf[1024];
	uint64_t v;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (cgfs_read_at(AT_FDCWD, path, buf, sizeof(buf)) < 0 ||
	    cgfs_keyed_u64(buf, "memlock:", &v))
		return 0;
	return v;
}

int telemetry__maps(struct telemetry *t, struct telemetry_map_info *ret, int max)
{
	struct bpf_map *m;
	int n = 0;

	if (!t)
		return 0;
	bpf_object__for_each_map(m, t->skel->obj) {
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = bpf_map__fd(m);

		if (fd < 0 || n >= max)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			return -errno;
		snprintf(ret[n].name, sizeof(ret[n].name), "%s", bpf_map__name(m));
		ret[n].id = info.id;
		ret[n].type = info.type;
		ret[n].key_size = info.key_size;
		ret[n].value_size = info.value_size;
		ret[n].max_entries = info.max_entries;
		ret[n].internal = bpf_map__is_internal(m);
		ret[n].memlock = map_memlock(fd);
		snprintf(ret[n].pin_path, sizeof(ret[n].pin_path), "%s",
			 bpf_map__is_pinned(m) && bpf_map__pin_path(m) ? bpf_map__pin_path(m) : "");
		n++;
	}
	return n;
}

#define DUMP_BATCH 256

/* Every entry of a hash map, a batch of keys and values per syscall. */
static int hash_walk(int fd, size_t ksz, size_t vsz,
		     int (*fn)(void *ctx, const void *key, const void *val), void *ctx)
{
	_cleanup_free_ char *keys = malloc(DUMP_BATCH * ksz);
	_cleanup_free_ char *vals = malloc(DUMP_BATCH * vsz);
	uint64_t batch = 0;
	bool first = true;
	int r, done;

	if (!keys || !vals)
		return -ENOMEM;
	do {
		__u32 count = DUMP_BATCH;

		r = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, keys, vals, &count,
					 NULL);
		done = r && errno == ENOENT;
		if (r && !done)
			return -errno;
		first = false;
		for (__u32 i = 0; i < count; i++) {
			r = fn(ctx, keys + i * ksz, vals + i * vsz);
			if (r)
				return r;
		}
	} while (!done);
	return 0;
}

struct walk_ctx {
	union {
		telemetry_threshold_fn threshold;
		telemetry_rq_fn rq;
		telemetry_bio_fn bio;
	};
	void *ctx;
};

static int threshold_entry(void *ctx, const void *key, const void *val)
{
	struct walk_ctx *w = ctx;
	uint64_t cgid;

	memcpy(&cgid, key, sizeof(cgid));
	return w->threshold(w->ctx, cgid, val);
}

int telemetry__dump_thresholds(struct telemetry *t, telemetry_threshold_fn fn, void *ctx)
{
	struct walk_ctx w = { .threshold = fn, .ctx = ctx };

	if (!t)
		return 0;
	return hash_walk(bpf_map__fd(t->skel->maps.thresholds), sizeof(uint64_t),
			 sizeof(struct cgp_threshold), threshold_entry, &w);
}

static bool all_zero(const void *p, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

int telemetry__dump_stats(struct telemetry *t, telemetry_stats_fn fn, void *ctx)
{
	uint32_t max, slots[64];
	struct cgp_cg_stats s[64];
	int r;

	if (!t)
		return 0;
	max = bpf_map__max_entries(t->skel->maps.cg_stats);

	for (uint32_t first = 0; first < max; first += 64) {
		unsigned n = max - first < 64 ? max - first : 64;

		for (unsigned i = 0; i < n; i++)
			slots[i] = first + i;
		r = telemetry__read_slots(t, slots, n, s);
		if (r)
			return r;
		for (unsigned i = 0; i < n; i++) {
			if (all_zero(&s[i], sizeof(s[i])))
				continue;
			r = fn(ctx, slots[i], &s[i]);
			if (r)
				return r;
		}
	}
	return 0;
}

int telemetry__dump_win(struct telemetry *t, telemetry_win_fn fn, void *ctx)
{
	struct bpf_map *m;
	size_t vsz;
	_cleanup_free_ char *val = NULL;
	uint32_t max;
	struct telemetry_win w;
	int fd, r;

	memset(&w, 0, sizeof(w)); /* its padding too: all_zero() reads every byte */
	if (!t)
		return 0;
	m = t->skel->maps.cg_win;
	vsz = bpf_map__value_size(m);
	val = calloc(1, vsz); /* zeroed: the lookup fills it, the analyzer cannot tell */
	max = bpf_map__max_entries(m);
	fd = bpf_map__fd(m);

	/* the value starts with the windows and the cgroup id; a bpf_timer follows */
	if (vsz < sizeof(w.w) + sizeof(w.cgid))
		return -EPROTO;
	if (!val)
		return -ENOMEM;
	for (uint32_t slot = 0; slot < max; slot++) {
		if (bpf_map_lookup_elem(fd, &slot, val))
			return -errno;
		memcpy(w.w, val, sizeof(w.w));
		memcpy(&w.cgid, val + sizeof(w.w), sizeof(w.cgid));
		if (all_zero(&w, sizeof(w)))
			continue;
		r = fn(ctx, slot, &w);
		if (r)
			return r;
	}
	return 0;
}

static int rq_entry(void *ctx, const void *key, const void *val)
{
	struct walk_ctx *w = ctx;
	struct telemetry_rq rq;

	memcpy(&rq.rq, key, sizeof(rq.rq));
	memcpy(&rq.issue_ns, val, sizeof(rq.issue_ns));
	memcpy(&rq.cgid, (const char *)val + sizeof(rq.issue_ns), sizeof(rq.cgid));
	memcpy(&rq.dev, (const char *)val + 2 * sizeof(uint64_t), sizeof(rq.dev));
	return w->rq(w->ctx, &rq);
}

int telemetry__dump_rq(struct telemetry *t, telemetry_rq_fn fn, void *ctx)
{
	struct walk_ctx w = { .rq = fn, .ctx = ctx };
	struct bpf_map *m;

	if (!t)
		return 0;
	m = t->skel->maps.rq_start;
	/* key: the request's address; value: { issue_ns, cgid, dev, pad } */
	if (bpf_map__key_size(m) != 8 || bpf_map__value_size(m) != 24)
		return -EPROTO;
	return hash_walk(bpf_map__fd(m), 8, 24, rq_entry, &w);
}

static int bio_entry(void *ctx, const void *key, const void *val)
{
	struct walk_ctx *w = ctx;
	uint64_t bio, cgid;

	memcpy(&bio, key, sizeof(bio));
	memcpy(&cgid, val, sizeof(cgid));
	return w->bio(w->ctx, bio, cgid);
}

int telemetry__dump_bio(struct telemetry *t, telemetry_bio_fn fn, void *ctx)
{
	struct walk_ctx w = { .bio = fn, .ctx = ctx };
	struct bpf_map *m;

	if (!t)
		return 0;
	m = t->skel->maps.bio_cg;
	if (bpf_map__key_size(m) != 8 || bpf_map__value_size(m) != 8)
		return -EPROTO;
	return hash_walk(bpf_map__fd(m), 8, 8, bio_entry, &w);
}
