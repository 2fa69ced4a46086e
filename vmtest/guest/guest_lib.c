// SPDX-License-Identifier: Apache-2.0
/* What the guest tests share: verdicts, cgroup files, workers, the daemon and
 * its control socket, a JSON reader for its replies. */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>

#include "guest.h"

bool verbose;

void info(struct ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	printf("  [%s] ", ctx->name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

enum result verdict(struct ctx *ctx, enum result res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->reason, sizeof(ctx->reason), fmt, ap);
	va_end(ap);
	return res;
}

#define fail(ctx, ...) verdict(ctx, RES_FAIL, __VA_ARGS__)
#define skip(ctx, ...) verdict(ctx, RES_SKIP, __VA_ARGS__)

void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- cgroup files ---- */

int write_file(const char *path, const char *val)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(val);

	if (fd < 0)
		return -errno;
	if (write(fd, val, len) != (ssize_t)len)
		return -errno;
	return 0;
}

int cg_write(const char *cg, const char *file, const char *fmt, ...)
{
	char path[PATH_MAX], val[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return write_file(path, val);
}

int read_file(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

/* A "key value" line of a flat-keyed file (cpu.stat, memory.events). */
int cg_read_key(const char *cg, const char *file, const char *key, uint64_t *ret_val)
{
	char path[PATH_MAX], buf[4096], *line, *save = NULL;
	size_t klen = strlen(key);
	int r;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	r = read_file(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			*ret_val = strtoull(line + klen + 1, NULL, 10);
			return 0;
		}
	}
	return -ENOENT;
}

int cg_read_u64(const char *cg, const char *file, uint64_t *ret_val)
{
	char path[PATH_MAX], buf[64];
	int r;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	r = read_file(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	*ret_val = strtoull(buf, NULL, 10);
	return 0;
}

bool cg_populated(const char *cg)
{
	uint64_t v = 1;

	return cg_read_key(cg, "cgroup.events", "populated", &v) < 0 || v != 0;
}

/* Kill everything in the cgroup and remove it; used for leftovers too. */
int cg_remove(const char *cg)
{
	int i;

	if (access(cg, F_OK) < 0)
		return 0;
	cg_write(cg, "cgroup.kill", "1");
	for (i = 0; i < 500 && cg_populated(cg); i++)
		sleep_ms(10);
	for (i = 0; i < 100; i++) {
		if (rmdir(cg) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		sleep_ms(10);
	}
	return -errno;
}

/* Create CG_ROOT/vmtest.<test>.<name> and register it for removal. */
int cg_new(struct ctx *ctx, const char *name, char *ret_path, size_t size)
{
	char path[PATH_MAX];

	if (ctx->ncg >= MAX_CGROUPS)
		return -ENOSPC;
	snprintf(path, sizeof(path), "%s/vmtest.%s.%s", CG_ROOT, ctx->name, name);
	cg_remove(path);
	if (mkdir(path, 0755) < 0)
		return -errno;
	snprintf(ctx->cg[ctx->ncg++], PATH_MAX, "%s", path);
	snprintf(ret_path, size, "%s", path);
	return 0;
}

/* ---- workers ---- */

/*
 * Fork a worker that moves itself into @cg (and onto @cpu when >= 0) before
 * @fn runs; returns once the worker is in place. Workers end by SIGKILL or by
 * returning from @fn.
 */
pid_t spawn(struct ctx *ctx, const char *cg, int cpu, worker_fn fn, void *arg)
{
	int pfd[2];
	pid_t pid;
	char c = 0;

	if (ctx->npids >= MAX_PIDS)
		return -ENOSPC;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (pid == 0) {
		char ok = 'k';

		close(pfd[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* pinned before it joins the cgroup, so that it is on its CPU
		 * when it becomes that cgroup's work (it never waits as such on
		 * another), and again after: joining a cgroup with a cpuset
		 * resets the affinity to the cpuset's CPUs */
		for (int pass = 0; pass < 2 && ok == 'k'; pass++) {
			if (pass == 1 && cg_write(cg, "cgroup.procs", "0") < 0)
				ok = 'c';
			if (ok == 'k' && cpu >= 0) {
				cpu_set_t set;

				CPU_ZERO(&set);
				CPU_SET(cpu, &set);
				if (sched_setaffinity(0, sizeof(set), &set) < 0)
					ok = 'a';
			}
		}
		if (write(pfd[1], &ok, 1) != 1 || ok != 'k')
			_exit(1);
		close(pfd[1]);
		fn(ctx, arg);
		_exit(0);
	}
	close(pfd[1]);
	ctx->pids[ctx->npids++] = pid;
	if (read(pfd[0], &c, 1) != 1 || c != 'k') {
		close(pfd[0]);
		return c == 'c' ? -EPERM : -ECHILD;
	}
	close(pfd[0]);
	return pid;
}

/* Wait for one worker to return, at most @ms; -ETIMEDOUT if it does not. */
int wait_worker(pid_t pid, unsigned int ms, int *ret_status)
{
	uint64_t end = mono_now_ns() + ms * 1000000ULL;
	int status;

	while (mono_now_ns() < end) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid) {
			*ret_status = status;
			return 0;
		}
		if (r < 0)
			return -errno;
		sleep_ms(10);
	}
	return -ETIMEDOUT;
}

void busy_loop(struct ctx *ctx, void *arg)
{
	volatile uint64_t n = 0;

	for (;;)
		n++;
}

/* mkdir -p of @rel, enabling the controllers in each new parent as kubelet does. */
int mk_cg_tree(const char *rel)
{
	char path[PATH_MAX], *p;
	size_t base = strlen(CG_ROOT) + 1;

	snprintf(path, sizeof(path), "%s/%s", CG_ROOT, rel);
	for (p = path + base;; p++) {
		if (*p != '/' && *p)
			continue;
		{
			char c = *p;

			*p = '\0';
			if (mkdir(path, 0755) < 0 && errno != EEXIST)
				return -errno;
			*p = c;
		}
		if (!*p)
			break;
		/* a parent: its children get the controllers (the root has them all) */
		*p = '\0';
		cg_write(path, "cgroup.subtree_control", "+cpu +cpuset +memory +io +pids");
		*p = '/';
	}
	return 0;
}

/* SIGKILL and reap every worker the test spawned. */
void stop_workers(struct ctx *ctx)
{
	for (int i = 0; i < ctx->npids; i++)
		if (ctx->pids[i] > 0) {
			kill(ctx->pids[i], SIGKILL);
			waitpid(ctx->pids[i], NULL, 0);
		}
	ctx->npids = 0;
}

/* container.admit @req on @conn; the container's cgroup (under CG_ROOT) in @cg. */
enum result admit_into(struct ctx *ctx, struct ctl_conn *conn, const char *req, char *cg,
		       size_t len)
{
	char reply[4096], rel[1024];

	if (ctl_call(conn, req, reply, sizeof(reply)) < 0 || !strstr(reply, "\"ok\":true") ||
	    !json_str_at(reply, "container.cgroup", rel, sizeof(rel)))
		return fail(ctx, "%s -> %.300s", req, reply);
	snprintf(cg, len, "%s/%s", CG_ROOT, rel);
	return RES_PASS;
}

/* ---- cgpilotd ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

void rm_tree(const char *dir)
{
	if (dir[0])
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Number of BPF objects of one kind the kernel has (prog or link ids). */
int count_bpf_ids(int cmd)
{
	union bpf_attr attr;
	__u32 id = 0;
	int n = 0;

	for (;;) {
		memset(&attr, 0, sizeof(attr));
		attr.start_id = id;
		if (syscall(SYS_bpf, cmd, &attr, sizeof(attr)) < 0)
			return errno == ENOENT ? n : -errno;
		id = attr.next_id;
		n++;
	}
}

bool socket_ready(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	return fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

/*
 * Run argv with its stdout in @out and its stderr in @err (NULL: the caller's;
 * @out: in @out too), each NUL-terminated, what does not fit read and
 * dropped; its stdin /dev/null when @null_stdin. At most @ms, then SIGKILL:
 * 0 and its status in *ret_status, or -errno.
 */
static int capture(char *const argv[], char *out, size_t osize, char *err, size_t esize,
		   unsigned int ms, int *ret_status, bool null_stdin)
{
	uint64_t end = mono_now_ns() + ms * 1000000ULL;
	struct {
		int fd;
		char *buf;
		size_t size, len;
	} s[2] = { { -1, out, osize, 0 }, { -1, err, esize, 0 } };
	int ofd[2], efd[2] = { -1, -1 }, r, i;
	bool merged = err == out;
	pid_t pid;

	if (pipe2(ofd, O_CLOEXEC) < 0)
		return -errno;
	if (err && !merged && pipe2(efd, O_CLOEXEC) < 0) {
		r = -errno;
		close(ofd[0]);
		close(ofd[1]);
		return r;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(ofd[0]);
		close(ofd[1]);
		if (efd[0] >= 0) {
			close(efd[0]);
			close(efd[1]);
		}
		return r;
	}
	if (pid == 0) {
		if (null_stdin) {
			int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

			if (fd >= 0)
				dup2(fd, STDIN_FILENO);
		}
		dup2(ofd[1], STDOUT_FILENO);
		if (merged)
			dup2(ofd[1], STDERR_FILENO);
		else if (err)
			dup2(efd[1], STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(ofd[1]);
	s[0].fd = ofd[0];
	if (efd[1] >= 0) {
		close(efd[1]);
		s[1].fd = efd[0];
	}
	while (s[0].fd >= 0 || s[1].fd >= 0) {
		struct pollfd p[2] = { { .fd = s[0].fd, .events = POLLIN },
				       { .fd = s[1].fd, .events = POLLIN } };
		int64_t left = (int64_t)(end - mono_now_ns()) / 1000000;
		int n;

		if (left <= 0)
			break;
		n = poll(p, 2, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (i = 0; i < 2; i++) {
			char drop[4096];
			ssize_t k;

			if (s[i].fd < 0 || !p[i].revents)
				continue;
			if (s[i].len < s[i].size - 1)
				k = read(s[i].fd, s[i].buf + s[i].len, s[i].size - 1 - s[i].len);
			else
				k = read(s[i].fd, drop, sizeof(drop));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				close(s[i].fd);
				s[i].fd = -1;
			} else if (s[i].len < s[i].size - 1) {
				s[i].len += k;
			}
		}
	}
	for (i = 0; i < 2; i++) {
		if (s[i].fd >= 0)
			close(s[i].fd);
		if (s[i].buf && s[i].size)
			s[i].buf[s[i].len] = '\0';
	}
	r = wait_worker(pid, 1000, ret_status);
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return r;
}

/* Run argv, capture stdout into @buf; status in *ret_status; at most @ms. */
int run_capture(char *const argv[], char *buf, size_t size, unsigned int ms, int *ret_status)
{
	return run_capture_err(argv, buf, size, ms, ret_status, false);
}

int run_capture_err(char *const argv[], char *buf, size_t size, unsigned int ms, int *ret_status,
		    bool with_stderr)
{
	return capture(argv, buf, size, with_stderr ? buf : NULL, 0, ms, ret_status, false);
}

int run_capture_split(char *const argv[], char *out, size_t osize, char *err, size_t esize,
		      unsigned int ms, int *ret_status)
{
	return capture(argv, out, osize, err, esize, ms, ret_status, true);
}

/* The string value of "key" in a flat JSON object, copied to @val. */
bool json_str(const char *json, const char *key, char *val, size_t size)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	p = strstr(json, pat);
	if (!p)
		return false;
	p += strlen(pat);
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p++ != ':')
		return false;
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p++ != '"')
		return false;
	while (*p && *p != '"' && n < size - 1)
		val[n++] = *p++;
	val[n] = '\0';
	return *p == '"';
}

/*
 * Start cgpilotd with its own runtime dir, pin dir, socket and an empty
 * config, and wait until its socket answers. Telemetry tests build on this.
 */
enum result daemon_start(struct ctx *ctx)
{
	return daemon_start_with(ctx, "", NULL);
}

/* The same with @conf_text as its config and @extra arguments after the others. */
enum result daemon_start_with(struct ctx *ctx, const char *conf_text, const char *const *extra)
{
	const char *argv[24];
	char conf[128];
	uint64_t end;
	size_t len = strlen(conf_text);
	pid_t pid;
	int fd, st, n = 0;

	if (access(CGPILOTD, X_OK) < 0)
		return skip(ctx, "cgpilotd is not in the initramfs (build it first: make all)");
	snprintf(ctx->daemon_dir, sizeof(ctx->daemon_dir), "/run/vmtest-%.32s", ctx->name);
	snprintf(ctx->pin_dir, sizeof(ctx->pin_dir), "/sys/fs/bpf/vmtest-%.32s", ctx->name);
	snprintf(ctx->sock, sizeof(ctx->sock), "%s/cgpilot.sock", ctx->daemon_dir);
	rm_tree(ctx->daemon_dir);
	rm_tree(ctx->pin_dir);
	if (mkdir(ctx->daemon_dir, 0700) < 0)
		return fail(ctx, "mkdir %s: %s", ctx->daemon_dir, strerror(errno));
	snprintf(conf, sizeof(conf), "%s/cgpilotd.conf", ctx->daemon_dir);
	fd = open(conf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(ctx, "cannot create %s: %s", conf, strerror(errno));
	if (write(fd, conf_text, len) != (ssize_t)len) {
		close(fd);
		return fail(ctx, "cannot write %s: %s", conf, strerror(errno));
	}
	close(fd);

	argv[n++] = CGPILOTD;
	argv[n++] = "--foreground";
	argv[n++] = "--runtime-dir";
	argv[n++] = ctx->daemon_dir;
	argv[n++] = "--pin-dir";
	argv[n++] = ctx->pin_dir;
	argv[n++] = "--socket";
	argv[n++] = ctx->sock;
	argv[n++] = "--config";
	argv[n++] = conf;
	while (extra && *extra && n < (int)ARRAY_SIZE(argv) - 1)
		argv[n++] = *extra++;
	argv[n] = NULL;

	pid = fork();
	if (pid < 0)
		return fail(ctx, "fork: %s", strerror(errno));
	if (pid == 0) {
		execv(CGPILOTD, (char *const *)argv);
		_exit(127);
	}
	ctx->daemon_pid = pid;

	/* BPF verification is slow under TCG: allow a minute. */
	for (end = mono_now_ns() + 60 * 1000000000ULL; mono_now_ns() < end; sleep_ms(100)) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			ctx->daemon_pid = 0;
			return fail(ctx, "cgpilotd exited during start (%s %d)",
				    WIFEXITED(st) ? "status" : "signal",
				    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		}
		if (socket_ready(ctx->sock)) {
			info(ctx, "cgpilotd pid %d answers on %s", pid, ctx->sock);
			return RES_PASS;
		}
	}
	return fail(ctx, "cgpilotd did not open %s within 60 s", ctx->sock);
}

/* SIGTERM and wait: a clean stop exits 0. */
enum result daemon_stop(struct ctx *ctx)
{
	pid_t pid = ctx->daemon_pid;
	int st, r;

	if (pid <= 0)
		return RES_PASS;
	kill(pid, SIGTERM);
	r = wait_worker(pid, 20000, &st);
	if (r < 0)
		return fail(ctx, "cgpilotd did not stop within 20 s of SIGTERM");
	ctx->daemon_pid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return fail(ctx, "cgpilotd stopped with %s %d on SIGTERM",
			    WIFEXITED(st) ? "status" : "signal",
			    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return RES_PASS;
}

void daemon_cleanup(struct ctx *ctx)
{
	if (ctx->daemon_pid > 0) {
		kill(ctx->daemon_pid, SIGKILL);
		waitpid(ctx->daemon_pid, NULL, 0);
		ctx->daemon_pid = 0;
	}
	rm_tree(ctx->daemon_dir);
	rm_tree(ctx->pin_dir);
}

enum result daemon_full_run(struct ctx *ctx)
{
	char *argv[] = { CGPILOT, "--socket", ctx->sock, "-j", "node", "show", NULL };
	char out[65536], mode[64];
	int progs, links, st, r;

	if (access(CGPILOT, X_OK) < 0)
		return skip(ctx,
			    "cgpilot (CLI) is not in the initramfs (build it first: make all)");
	r = run_capture(argv, out, sizeof(out), 30000, &st);
	if (r < 0)
		return fail(ctx, "cgpilot -j node show did not finish: %s", strerror(-r));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return fail(ctx, "cgpilot -j node show failed (status %d): %.200s",
			    WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
	if (!json_str(out, "mode", mode, sizeof(mode)))
		return fail(ctx, "no \"mode\" in cgpilot -j node show: %.200s", out);
	info(ctx, "status mode: %s", mode);
	if (!streq(mode, "full"))
		return fail(ctx, "daemon mode is \"%s\", want \"full\" on a pure v2 node: %.300s",
			    mode, out);

	/* Nothing else in the guest uses BPF: what the kernel holds is the daemon's. */
	progs = count_bpf_ids(BPF_PROG_GET_NEXT_ID);
	links = count_bpf_ids(BPF_LINK_GET_NEXT_ID);
	info(ctx, "kernel holds %d BPF programs, %d links", progs, links);
	if (progs <= 0)
		return fail(ctx, "no BPF program loaded (%d)", progs);
	if (links <= 0)
		return fail(ctx, "no BPF program attached: %d links", links);
	return daemon_stop(ctx);
}

/* ---- the daemon's control socket: JSON lines ---- */

int ctl_open(struct ctl_conn *c, const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	c->len = 0;
	if (strlen(sock) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, sock);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(c->fd);
		c->fd = -1;
		return r;
	}
	return 0;
}

/* The next line from the daemon, without its newline, within @ms. */
int ctl_read_line(struct ctl_conn *c, char *line, size_t size, unsigned int ms)
{
	uint64_t end = mono_now_ns() + ms * 1000000ULL;

	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int64_t left;
		ssize_t n;

		if (nl) {
			size_t len = nl - c->buf;

			if (len >= size)
				return -EMSGSIZE;
			memcpy(line, c->buf, len);
			line[len] = '\0';
			c->len -= len + 1;
			memmove(c->buf, nl + 1, c->len);
			return 0;
		}
		if (c->len == sizeof(c->buf))
			return -EMSGSIZE;
		left = (int64_t)(end - mono_now_ns()) / 1000000;
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			c->len += n;
	}
}

/* One request line, one reply line. */
int ctl_call(struct ctl_conn *c, const char *req, char *reply, size_t size)
{
	size_t len = strlen(req), off = 0;
	char msg[512];

	if (len + 1 >= sizeof(msg))
		return -EMSGSIZE;
	memcpy(msg, req, len);
	msg[len++] = '\n';
	while (off < len) {
		ssize_t n = send(c->fd, msg + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += n;
	}
	return ctl_read_line(c, reply, size, 10000);
}

/*
 * Where the value of member @name (@n bytes) of the JSON object opening at @p
 * starts, or NULL: only the object's own members count, not those of nested
 * objects, nor strings inside arrays.
 */
static const char *json_member(const char *p, const char *end, const char *name, size_t n)
{
	int depth = 0;

	for (; p < end; p++) {
		if (*p == '"') {
			const char *s = ++p;

			while (p < end && *p != '"')
				p += *p == '\\' ? 2 : 1;
			if (p >= end)
				return NULL;
			if (depth != 1 || (size_t)(p - s) != n || memcmp(s, name, n) != 0)
				continue;
			s = p + 1;
			while (s < end && (*s == ' ' || *s == '\n'))
				s++;
			if (s == end || *s++ != ':')
				continue;
			while (s < end && (*s == ' ' || *s == '\n'))
				s++;
			return s;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if ((*p == '}' || *p == ']') && --depth == 0) {
			return NULL;
		}
	}
	return NULL;
}

/* Where the value at a dotted path ("container.cpus") of a JSON object starts, or NULL. */
const char *json_at(const char *json, const char *path)
{
	const char *p = json, *end = json + strlen(json);

	while (*p == ' ' || *p == '\n')
		p++;
	for (;;) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		if (*p != '{')
			return NULL;
		p = json_member(p, end, path, n);
		if (!p)
			return NULL;
		if (!dot)
			return p;
		path = dot + 1;
	}
}

/*
 * The unsigned number at a dotted path ("cgroup.memory.oom_kills") of a JSON
 * object, as the daemon and the CLI print them.
 */
bool json_u64(const char *json, const char *path, uint64_t *ret_val)
{
	const char *p = json_at(json, path);

	if (!p || *p < '0' || *p > '9')
		return false;
	*ret_val = strtoull(p, NULL, 10);
	return true;
}

/* Past the JSON value at @p (object, array, string, number, literal). */
const char *json_skip(const char *p)
{
	int depth = 0;

	do {
		if (!*p)
			return p;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p += *p == '\\' && p[1] ? 2 : 1)
				;
			if (*p)
				p++;
		} else if (*p == '{' || *p == '[') {
			depth++;
			p++;
		} else if (*p == '}' || *p == ']') {
			depth--;
			p++;
		} else if (depth == 0) {
			while (*p && *p != ',' && *p != '}' && *p != ']')
				p++;
		} else {
			p++;
		}
	} while (depth > 0);
	return p;
}

/* The string at a dotted path (no unescaping), copied to @val. */
bool json_str_at(const char *json, const char *path, char *val, size_t size)
{
	const char *p = json_at(json, path);
	size_t n = 0;

	if (!p || *p++ != '"')
		return false;
	while (*p && *p != '"' && n < size - 1) {
		if (*p == '\\' && p[1])
			p++;
		val[n++] = *p++;
	}
	val[n] = '\0';
	return *p == '"';
}

/* ---- the scratch disk ---- */

/* Sequential reads of the scratch disk; bytes read are counted in ctx->bytes. */
void disk_reader(struct ctx *ctx, void *arg)
{
	const struct read_job *job = arg;
	const size_t bs = 64 * 1024;
	off_t pos = job->off;
	void *buf;
	int fd;

	fd = open(DISK, O_RDONLY | O_CLOEXEC | (job->direct ? O_DIRECT : 0));
	if (fd < 0 || posix_memalign(&buf, 4096, bs) != 0) {
		atomic_store(&ctx->worker_err, errno ? errno : EIO);
		_exit(1);
	}
	for (;;) {
		ssize_t n = pread(fd, buf, bs, pos);

		if (n <= 0) {
			atomic_store(&ctx->worker_err, n < 0 ? errno : EIO);
			_exit(1);
		}
		atomic_fetch_add(&ctx->bytes, (uint64_t)n);
		pos += n;
		if (pos >= job->off + job->len) {
			if (!job->loop)
				return;
			pos = job->off;
		}
	}
}

enum result needs_disk(struct ctx *ctx)
{
	struct stat st;

	if (stat(DISK, &st) < 0 || !S_ISBLK(st.st_mode))
		return skip(ctx, "no scratch disk %s (virtio_blk not loaded or no -drive)", DISK);
	return RES_PASS;
}

/*
 * Read @len bytes of the disk at @off through the page cache from cgroup @cg.
 * Page cache, not anonymous memory: without swap, anonymous pages over
 * memory.high can only be throttled, never reclaimed down to the limit.
 */
int cached_read(struct ctx *ctx, const char *cg, off_t off, off_t len, uint64_t *ret_peak)
{
	struct read_job job = { .off = off, .len = len };
	uint64_t cur, peak = 0, end = mono_now_ns() + 60 * 1000000000ULL;
	int st, r;
	pid_t pid;

	atomic_store(&ctx->bytes, 0);
	pid = spawn(ctx, cg, -1, disk_reader, &job);
	if (pid < 0)
		return pid;
	/*
	 * While it runs: the block device's page cache is dropped when its last
	 * opener closes it. memory.peak where the kernel has it, else sampled.
	 */
	for (r = -ETIMEDOUT; r == -ETIMEDOUT && mono_now_ns() < end;) {
		if (cg_read_u64(cg, "memory.current", &cur) == 0 && cur > peak)
			peak = cur;
		r = wait_worker(pid, 20, &st);
	}
	if (r < 0)
		return r;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -(ctx->worker_err ? ctx->worker_err : EIO);
	if (cg_read_u64(cg, "memory.peak", &cur) == 0)
		peak = cur;
	*ret_peak = peak;
	return 0;
}

const char *ctr_list_entry(struct ctl_conn *conn, const char *cgroup, char *buf, size_t len)
{
	char cg[PATH_MAX];
	const char *p;

	if (ctl_call(conn, "{\"op\":\"container.list\"}", buf, len) < 0)
		return NULL;
	p = json_at(buf, "containers");
	if (!p || *p != '[')
		return NULL;
	for (p++; *p && *p != ']';) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p != '{')
			break;
		if (json_str_at(p, "cgroup", cg, sizeof(cg)) && streq(cg, cgroup))
			return p;
		p = json_skip(p);
	}
	return NULL;
}

bool entry_backed_off(const char *entry)
{
	const char *b = entry ? json_at(entry, "backed_off") : NULL;

	/* json_at may look past the object: only this entry's field counts */
	return b && b < json_skip(entry) && !strncmp(b, "true", 4);
}

/* The guest's /init leaves lo down (nothing else needs a network): up. */
static int loopback_up(void)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		r = -errno;
	else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			r = -errno;
	}
	close(fd);
	return r;
}

/*
 * GET http://@addr@path ("IP:PORT", IPv4) into @out (NUL-terminated, the
 * body only): 0, or -errno (-EPROTO: not a 200 answer). HTTP/1.0, so the
 * server closes when it is done.
 */
int http_get(const char *addr, const char *path, char *out, size_t size, unsigned int ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[64], req[256], *colon, *body;
	uint64_t end = mono_now_ns() + ms * 1000000ULL;
	size_t len = 0;
	int fd, r;

	r = loopback_up();
	if (r < 0)
		return r;
	snprintf(host, sizeof(host), "%s", addr);
	colon = strrchr(host, ':');
	if (!colon || !size)
		return -EINVAL;
	*colon = '\0';
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, addr);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return -EIO;
	}
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = mono_now_ns();
		ssize_t n;

		if (now >= end || poll(&pfd, 1, (int)((end - now) / 1000000) + 1) <= 0) {
			close(fd);
			return -ETIMEDOUT;
		}
		n = read(fd, out + len, size - 1 - len);
		if (n < 0) {
			r = -errno;
			close(fd);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == size - 1) {
			close(fd);
			return -E2BIG;
		}
	}
	close(fd);
	out[len] = '\0';
	if (strncmp(out, "HTTP/1.", 7) || strncmp(out + 8, " 200", 4))
		return -EPROTO;
	body = strstr(out, "\r\n\r\n");
	if (!body)
		return -EPROTO;
	body += 4;
	memmove(out, body, len + 1 - (size_t)(body - out));
	return 0;
}

/* The value of the sample "@family{cgroup=\"@cgroup\"}" in exposition @text,
 * or -1 if absent. */
double metric_value(const char *text, const char *family, const char *cgroup)
{
	char want[PATH_MAX + 128];
	const char *p;
	int n = snprintf(want, sizeof(want), "\n%s{cgroup=\"%s\"} ", family, cgroup);

	if (n < 0 || (size_t)n >= sizeof(want))
		return -1;
	p = strstr(text, want);
	return p ? strtod(p + n, NULL) : -1;
}

bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p += n)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
			return true;
	return false;
}
