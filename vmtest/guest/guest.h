/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest tests' shared parts: the context a test fills (shared memory),
 * the verdicts, cgroup files, workers, the daemon and its control socket
 * (guest_lib.c), and the tests of each area (guest_enforce.c,
 * guest_telemetry.c), joined by one table in guest_tests.c.
 */
#ifndef CGPILOT_GUEST_H
#define CGPILOT_GUEST_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <linux/bpf.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define CG_ROOT "/sys/fs/cgroup"
#define DISK "/dev/vda"
#define SLOW_DISK "/dev/vdb" /* 64 MiB, throttled by QEMU to 32 MB/s, 2000 IO/s */
#define CGPILOTD "/usr/sbin/cgpilotd"
#define CGPILOT "/usr/bin/cgpilot"
#define MiB (1024ULL * 1024)

#define MAX_CGROUPS 8
#define MAX_PIDS 16
#define MAX_ENGINE_CTRS 16
#define TEST_DEADLINE_S 120

enum result {
	RES_PASS,
	RES_SKIP,
	RES_FAIL,
};

/* Lives in shared memory: the test child fills it, the parent cleans up after it. */
struct ctx {
	const char *name;
	char reason[512];
	int ncg;
	char cg[MAX_CGROUPS][PATH_MAX];
	int npids;
	pid_t pids[MAX_PIDS];
	/* Test-specific state, e.g. the daemon's directories. */
	pid_t daemon_pid;
	char daemon_dir[64];
	char pin_dir[64];
	char sock[96];
	/* Container engines (guest_engines.c): what engines_cleanup() removes. */
	pid_t containerd_pid;
	char containerd_cg[PATH_MAX];
	char engine_runtime[128]; /* the OCI runtime podman's cleanup names */
	char rootfs[64];
	int npodman;
	char podman_names[MAX_ENGINE_CTRS][48];
	int nctr;
	char ctr_ids[MAX_ENGINE_CTRS][48];
	/* Workers report here. */
	_Atomic uint64_t bytes;
	_Atomic uint64_t on_cpu[4];
	_Atomic uint64_t on_other_cpu;
	_Atomic uint64_t bad_affinity;
	_Atomic int worker_err;
};

/*
 * Boot profiles (vmtest/run.sh --profile): the guest's shape. A test runs in
 * the profiles its mask names; 0 means the default profile only.
 *   default  -smp 2, one NUMA node, no SMT: every timing test
 *   numa     -smp 4 as 2 sockets x 1 core x 2 threads, two NUMA nodes
 *            (CPUs 0-1 node 0, 2-3 node 1): placement only, no timing
 *   bench    the default shape, for benchmarks (make bench), never booted
 *            unless asked for
 *   engines  the default shape with 2 GiB, podman and containerd in the
 *            initramfs
 */
enum profile {
	PROF_DEFAULT = 1u << 0,
	PROF_NUMA = 1u << 1,
	PROF_BENCH = 1u << 2, /* the default shape, booted only when asked (make bench) */
	PROF_ENGINES = 1u << 3, /* podman and containerd in the initramfs, 2 GiB */
};

struct guest_test {
	const char *name;
	const char *desc;
	enum result (*setup)(struct ctx *ctx);
	enum result (*run)(struct ctx *ctx);
	void (*cleanup)(struct ctx *ctx);
	unsigned profiles; /* PROF_* mask; 0: PROF_DEFAULT */
};

extern bool verbose;

void info(struct ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
enum result verdict(struct ctx *ctx, enum result res, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define fail(ctx, ...) verdict(ctx, RES_FAIL, __VA_ARGS__)
#define skip(ctx, ...) verdict(ctx, RES_SKIP, __VA_ARGS__)

/* guest_lib.c */
typedef void (*worker_fn)(struct ctx *ctx, void *arg);

/* A connection to the daemon's control socket: JSON lines. */
struct ctl_conn {
	int fd;
	size_t len; /* bytes buffered in buf */
	char buf[65536];
};

void sleep_ms(unsigned int ms);
int write_file(const char *path, const char *val);
int cg_write(const char *cg, const char *file, const char *fmt, ...);
int read_file(const char *path, char *buf, size_t size);
int cg_read_key(const char *cg, const char *file, const char *key, uint64_t *ret_val);
int cg_read_u64(const char *cg, const char *file, uint64_t *ret_val);
bool cg_populated(const char *cg);
int cg_remove(const char *cg);
int cg_new(struct ctx *ctx, const char *name, char *ret_path, size_t size);
pid_t spawn(struct ctx *ctx, const char *cg, int cpu, worker_fn fn, void *arg);
int wait_worker(pid_t pid, unsigned int ms, int *ret_status);
void busy_loop(struct ctx *ctx, void *arg);
void rm_tree(const char *dir);
/* Remove the cgroup tree at @rel (relative to CG_ROOT), deepest first. */
void rm_cg_tree(const char *rel);
/* mkdir -p of @rel (relative to CG_ROOT), each new parent with the controllers
 * enabled for its children, as kubelet does; -errno. */
int mk_cg_tree(const char *rel);
/* SIGKILL and reap every worker the test spawned (ctx->npids back to 0). */
void stop_workers(struct ctx *ctx);
int count_bpf_ids(int cmd);
bool socket_ready(const char *path);
/* Is @line one of the lines of @text? */
bool has_line(const char *text, const char *line);
int run_capture(char *const argv[], char *buf, size_t size, unsigned int ms, int *ret_status);
/* The same, standard error into @buf too. */
int run_capture_err(char *const argv[], char *buf, size_t size, unsigned int ms, int *ret_status,
		    bool with_stderr);
/* The same with stdout in @out, stderr in @err (each NUL-terminated) and stdin /dev/null. */
int run_capture_split(char *const argv[], char *out, size_t osize, char *err, size_t esize,
		      unsigned int ms, int *ret_status);
bool json_str(const char *json, const char *key, char *val, size_t size);
/* A GET on loopback (the daemon's /metrics), and one sample of its text. */
int http_get(const char *addr, const char *path, char *out, size_t size, unsigned int ms);
double metric_value(const char *text, const char *family, const char *cgroup);
enum result daemon_start(struct ctx *ctx);
/* daemon_start() with this config text and extra arguments (NULL-terminated, or NULL). */
enum result daemon_start_with(struct ctx *ctx, const char *conf_text, const char *const *extra);
enum result daemon_stop(struct ctx *ctx);
void daemon_cleanup(struct ctx *ctx);
enum result daemon_full_run(struct ctx *ctx);
int ctl_open(struct ctl_conn *c, const char *sock);
int ctl_read_line(struct ctl_conn *c, char *line, size_t size, unsigned int ms);
int ctl_call(struct ctl_conn *c, const char *req, char *reply, size_t size);
/* container.admit @req on @conn; the container's cgroup (under CG_ROOT) in @cg. */
enum result admit_into(struct ctx *ctx, struct ctl_conn *conn, const char *req, char *cg,
		       size_t len);
/* container.list on @conn into @buf: the entry whose cgroup is @cgroup, or NULL. */
const char *ctr_list_entry(struct ctl_conn *conn, const char *cgroup, char *buf, size_t len);
/* Does that entry say another writer changed a knob (backed_off)? */
bool entry_backed_off(const char *entry);
bool json_u64(const char *json, const char *path, uint64_t *ret_val);
/* Where the value at a dotted path of a JSON object starts, or NULL. */
const char *json_at(const char *json, const char *path);
/* Past the JSON value at @p (object, array, string, number, literal). */
const char *json_skip(const char *p);
/* The string at a dotted path (no unescaping), copied to @val. */
bool json_str_at(const char *json, const char *path, char *val, size_t size);

/* the scratch disk (DISK) */
struct read_job {
	off_t off;
	off_t len;
	bool direct;
	bool loop;
};
void disk_reader(struct ctx *ctx, void *arg);
enum result needs_disk(struct ctx *ctx);
int cached_read(struct ctx *ctx, const char *cg, off_t off, off_t len, uint64_t *ret_peak);

/* guest_enforce.c: limits and weights, measured on the workload */
enum result cpu_max_setup(struct ctx *ctx);
enum result cpu_max_run(struct ctx *ctx);
enum result cpu_weight_setup(struct ctx *ctx);
enum result cpu_weight_run(struct ctx *ctx);
enum result cpuset_setup(struct ctx *ctx);
enum result cpuset_run(struct ctx *ctx);
enum result memory_high_setup(struct ctx *ctx);
enum result memory_high_run(struct ctx *ctx);
enum result io_max_setup(struct ctx *ctx);
enum result io_max_run(struct ctx *ctx);

/* guest_telemetry.c: the daemon's figures against the kernel's */
enum result telemetry_oom_setup(struct ctx *ctx);
enum result telemetry_oom_run(struct ctx *ctx);
enum result telemetry_reclaim_setup(struct ctx *ctx);
enum result telemetry_reclaim_run(struct ctx *ctx);
enum result telemetry_runqueue_setup(struct ctx *ctx);
enum result telemetry_runqueue_run(struct ctx *ctx);
enum result telemetry_io_blkcg_setup(struct ctx *ctx);
enum result telemetry_io_blkcg_run(struct ctx *ctx);

/* guest_io.c: the I/O loop */
enum result qos_io_setup(struct ctx *ctx);
enum result qos_io_run(struct ctx *ctx);
void qos_io_cleanup(struct ctx *ctx);
enum result qos_io_adopt_setup(struct ctx *ctx);
enum result qos_io_adopt_run(struct ctx *ctx);
void qos_io_adopt_cleanup(struct ctx *ctx);

/* guest_adopt.c: adopted pods under the CPU loop */
enum result qos_adopt_setup(struct ctx *ctx);
enum result qos_adopt_run(struct ctx *ctx);
void qos_adopt_cleanup(struct ctx *ctx);

/* guest_alloc.c: the allocation core (admission, placement, knobs, adoption) */
enum result alloc_exclusive_setup(struct ctx *ctx);
enum result alloc_exclusive_run(struct ctx *ctx);
enum result alloc_knobs_setup(struct ctx *ctx);
enum result alloc_knobs_run(struct ctx *ctx);
enum result alloc_protection_setup(struct ctx *ctx);
enum result alloc_protection_run(struct ctx *ctx);
enum result alloc_system_cpus_setup(struct ctx *ctx);
enum result alloc_system_cpus_run(struct ctx *ctx);
enum result qos_cpu_setup(struct ctx *ctx);
enum result qos_cpu_run(struct ctx *ctx);
enum result qos_cpuset_run(struct ctx *ctx);
void qos_cpu_cleanup(struct ctx *ctx);
enum result bench_qos_run(struct ctx *ctx);
enum result qos_memory_setup(struct ctx *ctx);
enum result qos_memory_run(struct ctx *ctx);
enum result qos_memory_adopt_setup(struct ctx *ctx);
enum result qos_memory_adopt_run(struct ctx *ctx);
void qos_memory_adopt_cleanup(struct ctx *ctx);
enum result qos_guard_setup(struct ctx *ctx);
enum result qos_guard_run(struct ctx *ctx);
void qos_guard_cleanup(struct ctx *ctx);
enum result qos_revoke_setup(struct ctx *ctx);
enum result qos_revoke_run(struct ctx *ctx);
enum result bench_reaction_setup(struct ctx *ctx);
enum result bench_reaction_run(struct ctx *ctx);
enum result alloc_dry_run_setup(struct ctx *ctx);
enum result alloc_dry_run_run(struct ctx *ctx);
enum result alloc_adopt_setup(struct ctx *ctx);
enum result alloc_adopt_run(struct ctx *ctx);
void alloc_cleanup(struct ctx *ctx);

/* guest_run.c: the launcher */
enum result run_launcher_setup(struct ctx *ctx);
enum result run_launcher_run(struct ctx *ctx);
void run_launcher_cleanup(struct ctx *ctx);
enum result bench_run_setup(struct ctx *ctx);
enum result bench_run_run(struct ctx *ctx);

/* guest_bench.c: benchmarks that need enforcement (profile bench) */
enum result bench_admit_setup(struct ctx *ctx);
enum result bench_admit_run(struct ctx *ctx);
void bench_admit_cleanup(struct ctx *ctx);

/*
 * guest_engines.c: podman and containerd (profile engines), the OCI runtime
 * a parameter. Containers run --network none on a busybox root directory,
 * their cgroups under CG_ROOT/ENGINES_CG (podman's --cgroup-parent, with its
 * conmon; ctr's --cgroup ENGINES_CG/ID); containerd in a cgroup of the
 * test's, its shims with it. engines_cleanup() removes what they made.
 */
#define ENGINES_CG "vmtest-engines"
#define ROOTFS_DIR "/tmp/rootfs"
#define CRUN "/usr/bin/crun"
#define PODMAN "/usr/bin/podman"
#define CTR "/usr/bin/ctr"
#define CONTAINERD "/usr/bin/containerd"
#define CONTAINERD_SOCK "/run/containerd/containerd.sock"

/* What an engine's command gave. */
struct engine_out {
	int status; /* exit status; 128 + N when killed by signal N; -1 when it did not finish */
	double secs; /* wall time */
	char out[8192]; /* standard output */
	char err[8192]; /* standard error */
};

/* One container for podman_run() or ctr_run(). */
struct engine_run {
	const char *runtime; /* the OCI runtime binary: CRUN, /usr/bin/cgpilot-run */
	const char *rootfs; /* engine_rootfs()'s directory */
	const char *name; /* podman's --name, ctr's container id */
	bool detach; /* -d; else --rm, and wait for it */
	const char *const *opts; /* more options of run (NULL-terminated), or NULL */
	const char *const *cmd; /* the command, NULL-terminated */
};

/* Skip unless podman, ctr and containerd are in the guest (the engines profile). */
enum result needs_engines(struct ctx *ctx);
/* A busybox root at @dir: /bin/busybox and a link per applet, /etc/passwd and
 * /etc/group with root, the mount points; removed by engines_cleanup(). */
enum result engine_rootfs(struct ctx *ctx, const char *dir);
/* podman --runtime @runtime --cgroup-manager cgroupfs --events-backend file @args...
 * (NULL-terminated); -errno when it could not run, else 0 with its figures in @o. */
int podman(struct ctx *ctx, const char *runtime, struct engine_out *o, const char *const *args);
/* podman ... run --rm|-d --network none --cgroup-parent /ENGINES_CG --name NAME
 * OPTS... --rootfs DIR CMD...; the name is registered for engines_cleanup(). */
int podman_run(struct ctx *ctx, const struct engine_run *run, struct engine_out *o);
/* containerd (/etc/containerd/config.toml) in the background, in cgroup
 * vmtest.<test>.containerd, its log in /run; waits for its socket (60 s). */
enum result containerd_start(struct ctx *ctx);
/* SIGTERM to the containerd containerd_start() started (SIGKILL after 20 s). */
enum result containerd_stop(struct ctx *ctx);
/* ctr --address CONTAINERD_SOCK @args... (NULL-terminated), as podman(). */
int ctr(struct ctx *ctx, struct engine_out *o, const char *const *args);
/* ctr run --rm|-d --runc-binary RUNTIME --cgroup /ENGINES_CG/ID OPTS... --rootfs
 * DIR ID CMD... (with -d also --null-io); the id is registered for engines_cleanup(). */
int ctr_run(struct ctx *ctx, const struct engine_run *run, struct engine_out *o);
/* Removes the registered containers (podman rm -f, ctr task/container delete),
 * stops containerd, kills and removes its cgroup and ENGINES_CG, unmounts
 * what is left under the engines' directories and removes them and the rootfs. */
void engines_cleanup(struct ctx *ctx);
/* @r and @o of an engine's command: RES_PASS if it ran and exited @want,
 * else a failure naming @what with its stderr. */
enum result engine_expect(struct ctx *ctx, int r, const struct engine_out *o, int want,
			  const char *what);
/* What every runtime must give the engines: podman run's exit status and
 * output, run -d + ps + exec + pause/unpause + stop + rm; the same with ctr
 * (run, task exec, pause/resume, kill, delete). The wall times of 3 runs of
 * /bin/true in @true_s. */
enum result podman_lifecycle(struct ctx *ctx, const char *runtime, double *true_s);
enum result ctr_lifecycle(struct ctx *ctx, const char *runtime, double *true_s);
enum result engines_crun_setup(struct ctx *ctx);
/* guest_runtime.c: cgpilot-run as the engines' OCI runtime */
enum result engines_cgpilot_setup(struct ctx *ctx);
enum result engines_cgpilot_run(struct ctx *ctx);
void engines_cgpilot_cleanup(struct ctx *ctx);
enum result bench_engines_setup(struct ctx *ctx);
enum result bench_engines_run(struct ctx *ctx);
enum result engines_crun_run(struct ctx *ctx);
/* guest_image.c: the image of `make image` in podman */
enum result engines_image_setup(struct ctx *ctx);
enum result engines_image_run(struct ctx *ctx);

#endif
