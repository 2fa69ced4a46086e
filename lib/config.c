// SPDX-License-Identifier: Apache-2.0
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "cgroupfs.h"
#include "actuate/actuate.h"
#include "config.h"
#include "topology.h"
#include "util.h"

/* What bind() takes for a unix socket path, with its NUL. */
#define SUN_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)
_Static_assert(SUN_PATH_MAX == 108, "the socket message says 108 bytes");

void cgp_conf_defaults(struct cgp_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->runtime_dir, sizeof(c->runtime_dir), "/run/cgpilot");
	snprintf(c->pin_dir, sizeof(c->pin_dir), "/sys/fs/bpf/cgpilot");
	snprintf(c->own_cgroup, sizeof(c->own_cgroup), "auto");
	snprintf(c->system_slice, sizeof(c->system_slice), "system.slice");
	c->cpu_policy = true;
	c->cpu_target_us = 5000;
	c->cpu_hold_ms = 100;
	c->cpu_release_ms = 2000;
	c->cpu_release_max_ms = 60000;
	c->cpu_quota_pct = 10;
	c->mem_policy = true;
	c->mem_interval_ms = 2000;
	c->mem_target_us = 1000;
	c->mem_tighten_pct = 2;
	c->mem_backoff_pct = 10;
	c->mem_floor = 16ULL << 20;
	c->mem_relief = true;
	c->mem_psi_stall_us = 50000;
	c->mem_psi_window_us = 500000;
	c->mem_psi_max = 256;
	c->mem_kill_after_ms = 2000;
	c->mem_cooldown_ms = 1000;
	c->mem_settle_ms = 2000;
	c->mem_squeeze_pct = 25;
	c->mem_squeeze_release_ms = 10000;
	c->io_policy = true;
	c->io_target_us = 10000;
	c->io_hold_ms = 250;
	c->io_release_ms = 3000;
	c->io_release_max_ms = 60000;
	c->io_floor_bps = 1ULL << 20;
	c->io_floor_iops = 20;
	c->log_level = 2;
	c->window_ms = 100;
	c->cpu_threshold_ms = 20;
	c->memory_threshold_ms = 10;
	c->max_cgroups = 0; /* auto: cgp_auto_max_cgroups() */
	c->sample_interval_ms = 1000;
	c->psi_sweep_s = 10;
	snprintf(c->metrics_address, sizeof(c->metrics_address), "127.0.0.1:9930");
	c->max_series_cgroups = 2000;
	c->metrics_max_connections = 256;
	c->metrics_request_timeout_s = 5;
	c->allow_read_others = false;
	c->max_clients = 256;
	c->client_output_limit_kib = 65536;
	c->client_timeout_s = 10;
	c->changes_per_s = 200;
	snprintf(c->container_root, sizeof(c->container_root), "auto");
	/* podman (cgroupfs and systemd managers), containerd's ctr and CRI
	 * namespaces, kubelet's pod slices (both drivers) */
	snprintf(c->engine_roots, sizeof(c->engine_roots),
		 "machine.slice libpod_parent default k8s.io kubepods.slice kubepods");
	snprintf(c->runtime_unreachable, sizeof(c->runtime_unreachable), "apply");
	snprintf(c->runtime_on_refusal, sizeof(c->runtime_on_refusal), "degrade");
	c->start_deadline_s = 30;
	c->max_containers = 10000;
	c->max_queued = 1000;
	c->slack_margin_pct = 10;
	c->slack_half_life_s = 30;
	snprintf(c->audit_dir, sizeof(c->audit_dir), "/var/log/cgpilot");
	c->audit_max_kib = 10240;
	c->audit_keep = 5;
	c->history = 32;
	snprintf(c->adopt_presets, sizeof(c->adopt_presets),
		 "kubelet-systemd kubelet-cgroupfs mesos");
	c->class_io_weight[0] = 1000;
	c->class_io_weight[1] = 100;
	c->class_io_weight[2] = 10;
}

/* K_U32A: a K_U32 that may also be "auto", kept as 0 */
enum key_type { K_STR, K_U32, K_U32A, K_BOOL, K_LEVEL, K_SIZE };

struct key_desc {
	const char *section;
	const char *name;
	enum key_type type;
	size_t off;
	uint32_t min, max; /* K_U32 */
};

#define STR(sec, key, field)                                            \
	{                                                               \
		sec, key, K_STR, offsetof(struct cgp_conf, field), 0, 0 \
	}
#define U32(sec, key, field, lo, hi)                                      \
	{                                                                 \
		sec, key, K_U32, offsetof(struct cgp_conf, field), lo, hi \
	}
#define BOOL(sec, key, field)                                            \
	{                                                                \
		sec, key, K_BOOL, offsetof(struct cgp_conf, field), 0, 0 \
	}

static const struct key_desc keys[] = {
	STR("daemon", "runtime_dir", runtime_dir),
	STR("daemon", "pin_dir", pin_dir),
	STR("daemon", "socket", socket_path),
	STR("daemon", "cgroup_root", cgroup_root),
	STR("daemon", "own_cgroup", own_cgroup),
	{ "daemon", "log_level", K_LEVEL, offsetof(struct cgp_conf, log_level), 0, 0 },
	BOOL("daemon", "dry_run", dry_run),
	U32("telemetry", "window_ms", window_ms, 10, 60000),
	U32("telemetry", "cpu_threshold_ms", cpu_threshold_ms, 0, 3600000),
	U32("telemetry", "memory_threshold_ms", memory_threshold_ms, 0, 3600000),
	U32("telemetry", "io_threshold_us", io_threshold_us, 0, 60000000),
	{ "telemetry", "max_cgroups", K_U32A, offsetof(struct cgp_conf, max_cgroups), 64, 1048576 },
	U32("telemetry", "sample_interval_ms", sample_interval_ms, 50, 60000),
	U32("telemetry", "psi_sweep_s", psi_sweep_s, 1, 3600),
	STR("metrics", "address", metrics_address),
	U32("metrics", "max_series_cgroups", max_series_cgroups, 0, 1000000),
	STR("node", "reserved_cpus", reserved_cpus),
	STR("node", "system_slice", system_slice),
	{ "node", "reserved_memory", K_SIZE, offsetof(struct cgp_conf, reserved_memory), 0, 0 },
	U32("metrics", "max_connections", metrics_max_connections, 4, 65536),
	U32("metrics", "request_timeout_s", metrics_request_timeout_s, 1, 3600),
	BOOL("control", "allow_read_others", allow_read_others),
	U32("control", "max_clients", max_clients, 1, 65536),
	U32("control", "output_limit_kib", client_output_limit_kib, 64, 16777216),
	U32("control", "client_timeout_s", client_timeout_s, 1, 3600),
	U32("control", "changes_per_s", changes_per_s, 0, 1000000),
	STR("containers", "root", container_root),
	STR("containers", "engine_roots", engine_roots),
	STR("runtime", "daemon_unreachable", runtime_unreachable),
	STR("runtime", "on_refusal", runtime_on_refusal),
	U32("containers", "start_deadline_s", start_deadline_s, 1, 86400),
	U32("containers", "max_containers", max_containers, 1, 1000000),
	U32("containers", "max_queued", max_queued, 0, 100000),
	U32("containers", "slack_margin_pct", slack_margin_pct, 0, 1000),
	U32("containers", "slack_half_life_s", slack_half_life_s, 1, 86400),
	STR("audit", "dir", audit_dir),
	U32("audit", "max_kib", audit_max_kib, 4, 16777216),
	U32("audit", "keep", audit_keep, 0, 99),
	U32("audit", "history", history, 0, 256),
	BOOL("policy.cpu", "enabled", cpu_policy),
	BOOL("policy.cpu", "adopted", cpu_policy_adopted),
	BOOL("policy.cpu", "freeze", cpu_freeze),
	BOOL("policy.cpu", "kill", cpu_kill),
	U32("policy.cpu", "target_us", cpu_target_us, 0, 60000000),
	U32("policy.cpu", "hold_ms", cpu_hold_ms, 1, 600000),
	U32("policy.cpu", "release_ms", cpu_release_ms, 10, 3600000),
	U32("policy.cpu", "release_max_ms", cpu_release_max_ms, 10, 86400000),
	U32("policy.cpu", "quota_pct", cpu_quota_pct, 1, 100),
	BOOL("policy.memory", "enabled", mem_policy),
	BOOL("policy.memory", "adopted", mem_policy_adopted),
	U32("policy.memory", "interval_ms", mem_interval_ms, 100, 3600000),
	U32("policy.memory", "target_us", mem_target_us, 1, 1000000),
	U32("policy.memory", "tighten_pct", mem_tighten_pct, 1, 50),
	U32("policy.memory", "backoff_pct", mem_backoff_pct, 1, 100),
	{ "policy.memory", "floor", K_SIZE, offsetof(struct cgp_conf, mem_floor), 0, 0 },
	BOOL("policy.memory", "relief", mem_relief),
	BOOL("policy.memory", "kill", mem_kill),
	STR("policy.memory", "protected", mem_protected),
	U32("policy.memory", "psi_stall_us", mem_psi_stall_us, 0, 10000000),
	U32("policy.memory", "psi_window_us", mem_psi_window_us, 500000, 10000000),
	U32("policy.memory", "psi_max", mem_psi_max, 0, 65536),
	U32("policy.memory", "kill_after_ms", mem_kill_after_ms, 0, 3600000),
	U32("policy.memory", "cooldown_ms", mem_cooldown_ms, 10, 3600000),
	U32("policy.memory", "settle_ms", mem_settle_ms, 10, 3600000),
	U32("policy.memory", "squeeze_pct", mem_squeeze_pct, 1, 90),
	U32("policy.memory", "squeeze_release_ms", mem_squeeze_release_ms, 10, 86400000),
	BOOL("policy.io", "enabled", io_policy),
	BOOL("policy.io", "adopted", io_policy_adopted),
	U32("policy.io", "target_us", io_target_us, 0, 60000000),
	U32("policy.io", "hold_ms", io_hold_ms, 1, 600000),
	U32("policy.io", "release_ms", io_release_ms, 10, 3600000),
	U32("policy.io", "release_max_ms", io_release_max_ms, 10, 86400000),
	{ "policy.io", "floor_rate", K_SIZE, offsetof(struct cgp_conf, io_floor_bps), 0, 0 },
	U32("policy.io", "floor_iops", io_floor_iops, 1, 10000000),
	STR("adopt", "presets", adopt_presets),
	STR("adopt", "knobs", adopt_knobs),
};

static const char *const class_names[] = { "guaranteed", "burstable", "besteffort" };

static const char *const level_names[] = { "error", "warning", "info", "debug" };

/* Digits only, 0..65535. */
static bool port_ok(const char *s)
{
	unsigned long v = 0;
	size_t n = strspn(s, "0123456789");

	if (!n || s[n] || n > 5)
		return false;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	return v <= 65535;
}

bool cgp_conf_metrics_address_ok(const char *addr)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *port, *end;
	size_t hl;

	if (!strcmp(addr, "none"))
		return true;
	if (addr[0] == '[') {
		char *scope;

		end = strchr(addr, ']');
		if (!end || end[1] != ':')
			return false;
		hl = (size_t)(end - addr - 1);
		if (hl >= sizeof(host))
			return false;
		memcpy(host, addr + 1, hl);
		host[hl] = 0;
		port = end + 2;
		/* fe80::1%eth0: the interface must exist only when the daemon binds */
		scope = strchr(host, '%');
		if (scope) {
			size_t sl = strlen(scope + 1);

			if (!sl || sl >= IF_NAMESIZE || strpbrk(scope + 1, "/% \t"))
				return false;
			*scope = 0;
		}
		if (inet_pton(AF_INET6, host, bin) != 1)
			return false;
	} else {
		port = strrchr(addr, ':');
		if (!port)
			return false;
		hl = (size_t)(port - addr);
		if (hl >= sizeof(host))
			return false;
		memcpy(host, addr, hl);
		host[hl] = 0;
		port++;
		/* dotted quad only; an IPv6 address needs its brackets */
		if (inet_pton(AF_INET, host, bin) != 1)
			return false;
	}
	return port_ok(port);
}

/* A non-empty cgroup path below the root, without "." or "..". */
static bool cgroup_path_ok(const char *v)
{
	char *norm = NULL;
	int r = cgfs_normalize_path(v, &norm, NULL);

	if (r == -ENOMEM)
		return true; /* not the value's fault; the daemon checks again */
	r = r ? r : norm[0] ? 0 : -EINVAL;
	free(norm);
	return r == 0;
}

/* A container name, or an fnmatch(3) pattern of one: 1-63 of A-Z a-z 0-9
 * _ . - and * ? [ ] !. */
static bool glob_ok(const char *v)
{
	size_t n = strlen(v);

	return n && n < 64 &&
	       strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_.-*?[]!") == n;
}

static bool knob_ok(const char *v)
{
	return act_knob_find(v, NULL) != NULL;
}

/* Every space-separated word of @v passes @ok ("" passes). */
static bool words_ok(const char *v, bool (*ok)(const char *))
{
	char word[CGP_CONF_STR_MAX];

	while (*v) {
		size_t n;

		v += strspn(v, " \t");
		n = strcspn(v, " \t");
		if (!n)
			break;
		if (n >= sizeof(word))
			return false;
		memcpy(word, v, n);
		word[n] = 0;
		if (!ok(word))
			return false;
		v += n;
	}
	return true;
}

/*
 * The value of a string key, as the daemon will use it. NULL if fine, else
 * what it must be (for "'KEY' in [SECTION] must be ..., not 'VALUE'").
 */
static const char *check_str(const char *section, const char *name, const char *v)
{
	if (!strcmp(section, "daemon")) {
		if (!strcmp(name, "runtime_dir") || !strcmp(name, "pin_dir"))
			return v[0] == '/' ? NULL : "an absolute path";
		if (!strcmp(name, "cgroup_root"))
			return !v[0] || v[0] == '/' ? NULL : "empty or an absolute path";
		if (!strcmp(name, "socket")) {
			if (v[0] && v[0] != '/')
				return "empty or an absolute path";
			if (strlen(v) >= SUN_PATH_MAX)
				return "a path shorter than 108 bytes (a unix socket's limit)";
			return NULL;
		}
		if (!strcmp(name, "own_cgroup"))
			return !strcmp(v, "auto") || !strcmp(v, "none") || cgroup_path_ok(v) ?
				       NULL :
				       "auto, none or a cgroup path below the root without '.' or '..'";
	}
	if (!strcmp(section, "node") && !strcmp(name, "reserved_cpus")) {
		struct topo_cpuset set = { 0 };

		if (topo_parse_cpulist(v, &set))
			return "a CPU list (as \"0-1,8\") or empty";
		topo_cpuset_free(&set);
		return NULL;
	}
	if (!strcmp(section, "node") && !strcmp(name, "system_slice"))
		return !*v || cgroup_path_ok(v) ? NULL :
						  "empty or a cgroup path below the root "
						  "without '.' or '..'";
	if (!strcmp(section, "containers") && !strcmp(name, "root"))
		return !strcmp(v, "auto") || cgroup_path_ok(v) ?
			       NULL :
			       "auto or a cgroup path below the root "
			       "without '.' or '..'";
	if (!strcmp(section, "containers") && !strcmp(name, "engine_roots"))
		return words_ok(v, cgroup_path_ok) ? NULL :
						     "cgroup paths below the root (without '.' or "
						     "'..'), separated by spaces";
	if (!strcmp(section, "runtime") && !strcmp(name, "daemon_unreachable"))
		return !strcmp(v, "apply") || !strcmp(v, "fail") ? NULL : "apply or fail";
	if (!strcmp(section, "runtime") && !strcmp(name, "on_refusal"))
		return !strcmp(v, "degrade") || !strcmp(v, "fail") ? NULL : "degrade or fail";
	if (!strcmp(section, "policy.memory") && !strcmp(name, "protected"))
		return words_ok(v, glob_ok) ? NULL :
					      "container names or shell patterns of them (as "
					      "\"db-* cache\"), separated by spaces";
	if (!strcmp(section, "audit") && !strcmp(name, "dir"))
		return !v[0] || v[0] == '/' ? NULL : "empty or an absolute path";
	if (!strcmp(name, "knobs"))
		return words_ok(v, knob_ok) ? NULL :
					      "cgroup files cgpilot can write (as \"cpu.max "
					      "memory.high\"), separated by spaces";
	if (!strcmp(section, "metrics") && !strcmp(name, "address"))
		return cgp_conf_metrics_address_ok(v) ? NULL :
							"IP:PORT, [IPv6]:PORT (numeric, port "
							"0..65535) or none";
	return NULL;
}

struct parse_ctx {
	struct cgp_conf *c;
	const char *name; /* the file, for patterns' messages */
	/* input, one of the two */
	FILE *f;
	const char *text;
	int line; /* lines handed to inih so far */
	int err_line; /* first handler error (0: none) */
	int long_line; /* first over-long line (0: none) */
	size_t long_limit; /* inih's line buffer, for the message */
	char err[400];
	char *buf; /* FILE input: getline() buffer */
	size_t bufcap;
	int read_err; /* FILE input: errno of a failed read (0: none) */
};

static int set_err(struct parse_ctx *p, const char *fmt, const char *a, const char *b,
		   const char *v)
{
	if (!p->err_line) {
		snprintf(p->err, sizeof(p->err), fmt, a, b, v);
		p->err_line = p->line;
	}
	return 0; /* inih: report this line */
}

/* Lines go to inih whole or not at all: its fixed buffer would split a long
 * line into several, and the pieces would parse as lines of their own. */
static char *reader(char *str, int num, void *stream)
{
	struct parse_ctx *p = stream;
	const char *line;
	size_t len;

	if (p->long_line)
		return NULL;
	if (p->f) {
		ssize_t n;

		errno = 0;
		n = getline(&p->buf, &p->bufcap, p->f);
		if (n <= 0) {
			if (ferror(p->f))
				p->read_err = errno ? errno : EIO;
			return NULL;
		}
		line = p->buf;
		len = (size_t)n;
	} else {
		if (!*p->text)
			return NULL;
		line = p->text;
		len = strcspn(line, "\n");
		if (line[len] == '\n')
			len++;
		p->text += len;
	}
	p->line++;
	/* a comment says nothing, whatever its length */
	{
		size_t sp = strspn(line, " \t");

		if (sp < len && (line[sp] == '#' || line[sp] == ';')) {
			line = "\n";
			len = 1;
		}
	}
	if (len + 1 > (size_t)num) {
		p->long_line = p->line;
		p->long_limit = (size_t)num - 2;
		return NULL;
	}
	memcpy(str, line, len);
	str[len] = 0;
	return str;
}

static int parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(v, yes[i])) {
			*ret = true;
			return 0;
		}
		if (!strcasecmp(v, no[i])) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* A word for a [kind.NAME] section: 1-63 of [A-Za-z0-9_.-]. */
static bool section_name_ok(const char *n)
{
	size_t len = strlen(n);

	return len && len < 64 &&
	       strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
		       len;
}

static int parse_u32(const char *value, uint32_t lo, uint32_t hi, uint32_t *ret)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(value, &end, 10);
	if (!*value || *end || errno || value[0] == '-' || v < lo || v > hi)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

/* [adopt.NAME], [class.NAME], [tenant.NAME]. */
static int named_section(struct parse_ctx *p, const char *section, const char *name,
			 const char *value)
{
	const char *sub = strchr(section, '.') + 1;
	struct cgp_conf *c = p->c;

	if (!section_name_ok(sub))
		return set_err(p,
			       "[%s]: '%s' is not a name (1-63 of A-Z a-z 0-9 _ . -) (value '%s')",
			       section, sub, value);
	if (section[0] == 'a') {
		struct cgp_conf_pattern *pat = NULL;

		for (unsigned i = 0; i < c->npatterns; i++)
			if (!strcmp(c->patterns[i].name, sub))
				pat = &c->patterns[i];
		if (!pat) {
			if (c->npatterns == CGP_CONF_MAX_PATTERNS)
				return set_err(p, "[%s]: more than %s adoption patterns%s", section,
					       "32", "");
			pat = &c->patterns[c->npatterns++];
			memset(pat, 0, sizeof(*pat));
			snprintf(pat->name, sizeof(pat->name), "%s", sub);
			snprintf(pat->engine, sizeof(pat->engine), "%s", sub);
			snprintf(pat->file, sizeof(pat->file), "%s", p->name ? p->name : "");
			pat->line = p->line;
		}
		if (strlen(value) >= CGP_CONF_STR_MAX)
			return set_err(p, "value of '%s' in [%s] is too long: '%.40s...'", name,
				       section, value);
		if (!strcmp(name, "path")) {
			snprintf(pat->path, sizeof(pat->path), "%s", value);
			pat->has_path = true;
			pat->line = p->line;
			return 1;
		}
		if (!strcmp(name, "class")) {
			for (size_t i = 0; i < ARRAY_SIZE(class_names); i++) {
				if (!strcmp(value, class_names[i])) {
					snprintf(pat->class_name, sizeof(pat->class_name), "%s",
						 value);
					pat->has_class = true;
					return 1;
				}
			}
			return set_err(p,
				       "'%s' in [%s] must be guaranteed, burstable or besteffort, "
				       "not '%s'",
				       name, section, value);
		}
		if (!strcmp(name, "knobs")) {
			if (check_str(section, name, value))
				return set_err(p,
					       "'%s' in [%s] must be cgroup files cgpilot can "
					       "write, separated by spaces, not '%s'",
					       name, section, value);
			snprintf(pat->knobs, sizeof(pat->knobs), "%s", value);
			return 1;
		}
		if (!strcmp(name, "engine")) {
			if (!section_name_ok(value))
				return set_err(p, "'%s' in [%s] must be a word, not '%s'", name,
					       section, value);
			snprintf(pat->engine, sizeof(pat->engine), "%s", value);
			return 1;
		}
		return set_err(p, "unknown key '%s' in section [%s] (value '%s')", name, section,
			       value);
	}
	if (section[0] == 'c') {
		size_t k;
		uint32_t v;

		for (k = 0; k < ARRAY_SIZE(class_names); k++)
			if (!strcmp(sub, class_names[k]))
				break;
		if (k == ARRAY_SIZE(class_names))
			return set_err(p,
				       "unknown class [%s] (guaranteed, burstable or besteffort; "
				       "key '%s' = '%s')",
				       section, name, value);
		if (!strcmp(name, "io_weight")) {
			if (parse_u32(value, 1, 10000, &v))
				return set_err(p,
					       "'%s' in [%s] must be an integer in 1..10000, "
					       "not '%s'",
					       name, section, value);
			c->class_io_weight[k] = v;
			return 1;
		}
		if (!strcmp(name, "priority")) {
			long long pv;
			char *end;

			errno = 0;
			pv = strtoll(value, &end, 10);
			if (!*value || *end || errno || pv < -1000 || pv > 1000)
				return set_err(p,
					       "'%s' in [%s] must be an integer in -1000..1000, "
					       "not '%s'",
					       name, section, value);
			c->class_priority[k] = (int32_t)pv;
			return 1;
		}
		return set_err(p, "unknown key '%s' in section [%s] (value '%s')", name, section,
			       value);
	}
	/* tenant */
	if (strcmp(name, "weight"))
		return set_err(p, "unknown key '%s' in section [%s] (value '%s')", name, section,
			       value);
	{
		struct cgp_conf_tenant *t = NULL;
		uint32_t v;

		if (parse_u32(value, 1, 1000000, &v))
			return set_err(p, "'%s' in [%s] must be an integer in 1..1000000, not '%s'",
				       name, section, value);
		for (unsigned i = 0; i < c->ntenants; i++)
			if (!strcmp(c->tenants[i].name, sub))
				t = &c->tenants[i];
		if (!t) {
			if (c->ntenants == CGP_CONF_MAX_TENANTS)
				return set_err(p, "[%s]: more than %s tenants%s", section, "64",
					       "");
			t = &c->tenants[c->ntenants++];
			snprintf(t->name, sizeof(t->name), "%s", sub);
		}
		t->weight = v;
	}
	return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *p = user;
	const struct key_desc *k = NULL;
	char *field;

	if (p->err_line)
		return 0;
	if (!name) /* a section header alone */
		return 1;
	if (!strncmp(section, "adopt.", 6) || !strncmp(section, "class.", 6) ||
	    !strncmp(section, "tenant.", 7))
		return named_section(p, section, name, value);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strcmp(keys[i].section, section) && !strcmp(keys[i].name, name))
			k = &keys[i];
	if (!k) {
		bool known_section = false;

		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			known_section |= !strcmp(keys[i].section, section);
		if (!known_section)
			return set_err(p, "unknown section [%s] (key '%s' = '%s')", section, name,
				       value);
		return set_err(p, "unknown key '%s' in section [%s] (value '%s')", name, section,
			       value);
	}
	field = (char *)p->c + k->off;
	switch (k->type) {
	case K_STR: {
		const char *want;

		if (strlen(value) >= CGP_CONF_STR_MAX)
			return set_err(p, "value of '%s' in [%s] is too long: '%.40s...'", name,
				       section, value);
		want = check_str(section, name, value);
		if (want) {
			if (!p->err_line) {
				snprintf(p->err, sizeof(p->err),
					 "'%s' in [%s] must be %s, not '%s'", name, section, want,
					 value);
				p->err_line = p->line;
			}
			return 0;
		}
		snprintf(field, CGP_CONF_STR_MAX, "%s", value);
		return 1;
	}
	case K_SIZE:
		if (cgp_parse_size(value, (uint64_t *)field))
			return set_err(p,
				       "'%s' in [%s] must be a size (bytes, or with K, M, G or T), "
				       "not '%s'",
				       name, section, value);
		return 1;
	case K_BOOL:
		if (parse_bool(value, (bool *)field))
			return set_err(p, "'%s' in [%s] must be true or false, not '%s'", name,
				       section, value);
		return 1;
	case K_LEVEL:
		for (int i = 0; i < (int)ARRAY_SIZE(level_names); i++) {
			if (!strcasecmp(value, level_names[i])) {
				*(int *)field = i;
				return 1;
			}
		}
		return set_err(p, "'%s' in [%s] must be error, warning, info or debug, not '%s'",
			       name, section, value);
	case K_U32:
	case K_U32A: {
		char *end;
		unsigned long long v;
		char range[64];

		if (k->type == K_U32A && !strcmp(value, "auto")) {
			*(uint32_t *)field = 0;
			return 1;
		}
		errno = 0;
		v = strtoull(value, &end, 10);
		if (!*value || *end || errno || value[0] == '-' || v < k->min || v > k->max) {
			snprintf(range, sizeof(range), "%" PRIu32 "..%" PRIu32, k->min, k->max);
			if (!p->err_line) {
				snprintf(p->err, sizeof(p->err),
					 "'%s' in [%s] must be %san integer in %s, not '%s'", name,
					 section, k->type == K_U32A ? "auto or " : "", range,
					 value);
				p->err_line = p->line;
			}
			return 0;
		}
		*(uint32_t *)field = (uint32_t)v;
		return 1;
	}
	}
	return 0;
}

/* The first problem in the file wins: a syntax error inih found, a value we
 * refused, or an over-long line. */
static int finish(struct parse_ctx *p, int r, const char *name, char *errbuf, size_t errlen)
{
	int line = 0;
	char msg[512];

	if (r < 0) {
		snprintf(errbuf, errlen, "%s: %s", name,
			 r == -1 ? "cannot open file" : "out of memory");
		return -EINVAL;
	}
	if (p->read_err) {
		/* what was read is not the whole file: its lines prove nothing */
		snprintf(errbuf, errlen, "%s:%d: read error: %s", name, p->line + 1,
			 strerror(p->read_err));
		return -EIO;
	}
	if (r > 0 && (!p->err_line || r < p->err_line)) {
		line = r;
		snprintf(msg, sizeof(msg), "syntax error (expected [section] or key = value)");
	} else if (p->err_line) {
		line = p->err_line;
		snprintf(msg, sizeof(msg), "%s", p->err);
	}
	if (p->long_line && (!line || p->long_line < line)) {
		line = p->long_line;
		snprintf(msg, sizeof(msg), "line is longer than %zu bytes", p->long_limit);
	}
	if (!line)
		return 0;
	snprintf(errbuf, errlen, "%s:%d: %s", name, line, msg);
	return -EINVAL;
}

int cgp_conf_parse_string(struct cgp_conf *c, const char *text, const char *name, char *errbuf,
			  size_t errlen)
{
	struct parse_ctx p = { .c = c, .text = text, .name = name };
	int r = ini_parse_stream(reader, &p, handler, &p);

	return finish(&p, r, name, errbuf, errlen);
}

int cgp_conf_parse_file(struct cgp_conf *c, const char *path, char *errbuf, size_t errlen)
{
	struct parse_ctx p = { .c = c, .name = path };
	struct stat st;
	int r = 0;

	p.f = fopen(path, "re");
	if (!p.f) {
		r = -errno;
		snprintf(errbuf, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	/* a directory opens, and reads as an empty file: refuse what cannot be
	 * a configuration (a FIFO and /dev/null still read as text) */
	if (fstat(fileno(p.f), &st)) {
		r = -errno;
		snprintf(errbuf, errlen, "%s: %s", path, strerror(-r));
	} else if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		snprintf(errbuf, errlen, "%s: is a directory, not a configuration file", path);
	} else if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		r = -EINVAL;
		snprintf(errbuf, errlen, "%s: is not a regular file", path);
	}
	if (r) {
		fclose(p.f);
		return r;
	}
	r = ini_parse_stream(reader, &p, handler, &p);
	fclose(p.f);
	free(p.buf);
	return finish(&p, r, path, errbuf, errlen);
}

int cgp_conf_validate(const struct cgp_conf *c, char *errbuf, size_t errlen)
{
	/* the file's values were checked on their lines; the command line's were not */
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *v = (const char *)c + keys[i].off, *want;

		if (keys[i].type != K_STR)
			continue;
		want = check_str(keys[i].section, keys[i].name, v);
		if (want) {
			snprintf(errbuf, errlen, "'%s' in [%s] must be %s, not '%s'", keys[i].name,
				 keys[i].section, want, v);
			return -EINVAL;
		}
	}
	if (!c->socket_path[0] &&
	    strlen(c->runtime_dir) + 1 + strlen(CGP_CONF_SOCKET_NAME) >= SUN_PATH_MAX) {
		snprintf(errbuf, errlen,
			 "the control socket %s/%s would be longer than the %zu bytes of a unix "
			 "socket path: shorten runtime_dir or set [daemon] socket",
			 c->runtime_dir, CGP_CONF_SOCKET_NAME, SUN_PATH_MAX - 1);
		return -EINVAL;
	}
	for (unsigned i = 0; i < c->npatterns; i++) {
		const struct cgp_conf_pattern *pat = &c->patterns[i];

		if (!pat->has_path || !pat->has_class) {
			snprintf(errbuf, errlen, "%s:%d: [adopt.%s] needs both path and class",
				 pat->file, pat->line, pat->name);
			return -EINVAL;
		}
	}
	if (c->cpu_release_max_ms < c->cpu_release_ms) {
		snprintf(errbuf, errlen,
			 "[policy.cpu] release_max_ms (%" PRIu32
			 ") must be at least release_ms (%" PRIu32 ")",
			 c->cpu_release_max_ms, c->cpu_release_ms);
		return -EINVAL;
	}
	if (c->io_release_max_ms < c->io_release_ms) {
		snprintf(errbuf, errlen,
			 "[policy.io] release_max_ms (%" PRIu32
			 ") must be at least release_ms (%" PRIu32 ")",
			 c->io_release_max_ms, c->io_release_ms);
		return -EINVAL;
	}
	if (c->io_floor_bps < 4096) {
		snprintf(errbuf, errlen,
			 "[policy.io] floor_rate (%" PRIu64
			 ") must be at least 4096 bytes a second",
			 c->io_floor_bps);
		return -EINVAL;
	}
	if (c->mem_psi_stall_us && c->mem_psi_stall_us >= c->mem_psi_window_us) {
		snprintf(errbuf, errlen,
			 "[policy.memory] psi_stall_us (%" PRIu32
			 ") must be less than psi_window_us (%" PRIu32 "), or 0 for no trigger",
			 c->mem_psi_stall_us, c->mem_psi_window_us);
		return -EINVAL;
	}
	if (c->max_cgroups & (c->max_cgroups - 1)) {
		snprintf(errbuf, errlen, "max_cgroups must be auto or a power of two, not %" PRIu32,
			 c->max_cgroups);
		return -EINVAL;
	}
	/* a sweep shorter than a tick would read every cgroup several times a tick */
	if ((uint64_t)c->psi_sweep_s * 1000 < c->sample_interval_ms) {
		snprintf(errbuf, errlen,
			 "psi_sweep_s (%" PRIu32 " s) must be at least sample_interval_ms (%" PRIu32
			 " ms): each cgroup is read once per sweep, spread over the ticks",
			 c->psi_sweep_s, c->sample_interval_ms);
		return -EINVAL;
	}
	return 0;
}

int cgp_parse_cpus(const char *text, uint64_t *ret_mc)
{
	uint64_t whole = 0, frac = 0;
	int digits = 0, decimals = 0;
	const char *p = text;

	for (; isdigit((unsigned char)*p); p++, digits++) {
		whole = whole * 10 + (uint64_t)(*p - '0');
		if (whole > UINT32_MAX)
			return -ERANGE;
	}
	if (digits && streq(p, "m")) {
		*ret_mc = whole;
		return 0;
	}
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++, decimals++) {
			if (decimals == 3)
				return -EINVAL; /* finer than a millicore */
			frac = frac * 10 + (uint64_t)(*p - '0');
		}
	if (*p || (!digits && !decimals))
		return -EINVAL;
	for (; decimals < 3; decimals++)
		frac *= 10;
	*ret_mc = whole * 1000 + frac;
	return 0;
}

/*
 * The number @text starts with: digits, with a fraction of at most 9 digits
 * after a '.', as frac / scale (scale 1 without one); *ret_end past it.
 */
static int parse_decimal(const char *text, unsigned long long *ret_v, unsigned long long *ret_frac,
			 unsigned long long *ret_scale, char **ret_end)
{
	unsigned long long v, frac = 0, scale = 1;
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno)
		return errno == ERANGE ? -ERANGE : -EINVAL;
	if (*end == '.') {
		if (!isdigit((unsigned char)end[1]))
			return -EINVAL;
		for (end++; isdigit((unsigned char)*end); end++) {
			if (scale >= 1000000000ULL)
				return -EINVAL;
			frac = frac * 10 + (unsigned long long)(*end - '0');
			scale *= 10;
		}
	}
	*ret_v = v;
	*ret_frac = frac;
	*ret_scale = scale;
	*ret_end = end;
	return 0;
}

int cgp_parse_size(const char *text, uint64_t *ret)
{
	static const char units[] = "KMGT";
	unsigned long long v, frac, scale;
	const char *u;
	char *end;
	int shift = 0, r;

	r = parse_decimal(text, &v, &frac, &scale, &end);
	if (r)
		return r;
	/* a fraction of a unit: 1.5G (bytes are whole) */
	if (scale > 1 && !*end)
		return -EINVAL;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u)
			return -EINVAL;
		shift = 10 * (int)(u - units + 1);
		end++;
		if (!strcasecmp(end, "ib") || !strcasecmp(end, "b"))
			end += strlen(end);
		if (*end)
			return -EINVAL;
	}
	if (v > (UINT64_C(1) << 63) >> shift)
		return -ERANGE;
	*ret = (uint64_t)v << shift;
	if (frac) {
		/* frac / scale of a unit, rounded down to a byte; scale <= 1e9
		 * and a unit <= 2^40, so the product fits */
		uint64_t part = (uint64_t)(((unsigned __int128)frac << shift) / scale);

		if (*ret > (UINT64_C(1) << 63) - part)
			return -ERANGE;
		*ret += part;
	}
	return 0;
}

int cgp_parse_duration(const char *text, uint64_t unit_ns, uint64_t *ret_ns)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = { { "ns", 1 },
		      { "us", 1000 },
		      { "ms", 1000000 },
		      { "s", 1000000000 },
		      { "m", UINT64_C(60000000000) },
		      { "h", UINT64_C(3600000000000) } };
	unsigned long long v, frac, scale;
	unsigned __int128 ns;
	char *end;
	int r;

	r = parse_decimal(text, &v, &frac, &scale, &end);
	if (r)
		return r;
	if (*end) {
		unit_ns = 0;
		for (size_t i = 0; i < ARRAY_SIZE(units); i++)
			if (!strcmp(end, units[i].name))
				unit_ns = units[i].ns;
		if (!unit_ns)
			return -EINVAL;
	} else if (!unit_ns) {
		/* a bare number needs a unit, except 0, which is 0 in any */
		if (v || frac)
			return -EINVAL;
		unit_ns = 1;
	}
	/* v * unit + frac / scale of a unit, rounded down to a nanosecond */
	ns = (unsigned __int128)v * unit_ns + (unsigned __int128)frac * unit_ns / scale;
	if (ns > UINT64_MAX)
		return -ERANGE;
	*ret_ns = (uint64_t)ns;
	return 0;
}

void cgp_conf_dump(const struct cgp_conf *c, FILE *f)
{
	const char *sec = "";

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct key_desc *k = &keys[i];
		const char *field = (const char *)c + k->off;

		if (strcmp(sec, k->section)) {
			fprintf(f, "%s[%s]\n", i ? "\n" : "", k->section);
			sec = k->section;
		}
		switch (k->type) {
		case K_STR:
			fprintf(f, "%s = %s\n", k->name, field);
			break;
		case K_BOOL:
			fprintf(f, "%s = %s\n", k->name, *(const bool *)field ? "true" : "false");
			break;
		case K_SIZE:
			fprintf(f, "%s = %" PRIu64 "\n", k->name, *(const uint64_t *)field);
			break;
		case K_LEVEL:
			fprintf(f, "%s = %s\n", k->name, level_names[*(const int *)field & 3]);
			break;
		case K_U32:
			fprintf(f, "%s = %" PRIu32 "\n", k->name, *(const uint32_t *)field);
			break;
		case K_U32A:
			if (*(const uint32_t *)field)
				fprintf(f, "%s = %" PRIu32 "\n", k->name, *(const uint32_t *)field);
			else
				fprintf(f, "%s = auto\n", k->name);
			break;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(class_names); i++)
		fprintf(f, "\n[class.%s]\nio_weight = %" PRIu32 "\npriority = %" PRId32 "\n",
			class_names[i], c->class_io_weight[i], c->class_priority[i]);
	for (unsigned i = 0; i < c->npatterns; i++)
		fprintf(f, "\n[adopt.%s]\npath = %s\nclass = %s\nknobs = %s\nengine = %s\n",
			c->patterns[i].name, c->patterns[i].path, c->patterns[i].class_name,
			c->patterns[i].knobs, c->patterns[i].engine);
	for (unsigned i = 0; i < c->ntenants; i++)
		fprintf(f, "\n[tenant.%s]\nweight = %" PRIu32 "\n", c->tenants[i].name,
			c->tenants[i].weight);
}

uint64_t cgp_slot_bytes(unsigned ncpus)
{
	/* cg_stats per CPU, cg_shared and cg_win, and the hash entries of
	 * cg_slot and thresholds with the kernel's per-element overhead */
	return (uint64_t)ncpus * 48 + 576 + 160 + 48 + 96;
}

uint32_t cgp_auto_max_cgroups(unsigned ncpus, uint64_t mem_bytes)
{
	uint64_t budget = mem_bytes / 256, slots;
	uint32_t r = CGP_AUTO_SLOTS_MIN;

	if (budget > CGP_AUTO_MAPS_MAX)
		budget = CGP_AUTO_MAPS_MAX;
	slots = budget / cgp_slot_bytes(ncpus ? ncpus : 1);
	while (r < CGP_AUTO_SLOTS_MAX && (uint64_t)r * 2 <= slots)
		r *= 2;
	return r;
}
