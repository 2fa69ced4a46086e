// SPDX-License-Identifier: Apache-2.0
/* OCI config.json parsing and the linux.resources conversions (lib/oci.h). */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <json-c/json.h>

#include "oci.h"
#include "oci_devices.h"
#include "oci_seccomp.h"
#include "topology.h"
#include "proto.h"
#include "util.h"

struct ctx {
	struct oci_spec *s;
	char *err;
	size_t errlen;
	char path[128]; /* the field being read, for messages */
	/* the array entry being read */
	struct oci_rlimit *rl;
	struct oci_mount *mnt;
	struct oci_namespace *ns;
};

static void set_error(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct ctx *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s: %s", c->path[0] ? c->path : "config.json", msg);
}

/* The message in c->err, and -EINVAL: spelled out at each call, so that the
 * static analyzer, which does not follow variadic calls, sees a failure
 * return as one. */
#define fail(c, ...) (set_error((c), __VA_ARGS__), -EINVAL)

static void warn(struct ctx *c, const char *why)
{
	size_t off = strlen(c->s->warnings);

	snprintf(c->s->warnings + off, sizeof(c->s->warnings) - off, "%s: %s\n", c->path, why);
}

/* c->path gets ".key" (or "key" at the top) for the duration of one field */
static size_t enter(struct ctx *c, const char *key)
{
	size_t old = strlen(c->path);

	snprintf(c->path + old, sizeof(c->path) - old, "%s%s", old ? "." : "", key);
	return old;
}

static size_t enter_index(struct ctx *c, size_t i)
{
	size_t old = strlen(c->path);

	snprintf(c->path + old, sizeof(c->path) - old, "[%zu]", i);
	return old;
}

static void leave(struct ctx *c, size_t old)
{
	c->path[old] = 0;
}

static bool is(json_object *v, enum json_type t)
{
	return json_object_is_type(v, t);
}

static int want_string(struct ctx *c, json_object *v, char **ret)
{
	if (!is(v, json_type_string))
		return fail(c, "must be a string");
	free(*ret);
	*ret = strdup(json_object_get_string(v));
	return *ret ? 0 : -ENOMEM;
}

static int want_bool(struct ctx *c, json_object *v, bool *ret)
{
	if (!is(v, json_type_boolean))
		return fail(c, "must be true or false");
	*ret = json_object_get_boolean(v);
	return 0;
}

/* An integer in [min, max]; json-c clamps literals past int64 to its ends,
 * so those ends are refused as too large. */
static int want_int(struct ctx *c, json_object *v, int64_t min, int64_t max, int64_t *ret)
{
	int64_t x;

	if (!is(v, json_type_int))
		return fail(c, "must be an integer");
	x = json_object_get_int64(v);
	if (x == INT64_MAX || x == INT64_MIN || x < min || x > max)
		return fail(c, "%" PRId64 " is out of range (%" PRId64 "..%" PRId64 ")", x, min,
			    max);
	*ret = x;
	return 0;
}

static int want_u32(struct ctx *c, json_object *v, uint32_t *ret)
{
	int64_t x;
	int r = want_int(c, v, 0, UINT32_MAX, &x);

	if (!r)
		*ret = (uint32_t)x;
	return r;
}

/* A uid or gid: 4294967295 is (uid_t)-1, which setresuid(2) and
 * setresgid(2) take as "leave unchanged", so the process would stay root. */
static int want_id(struct ctx *c, json_object *v, uint32_t *ret)
{
	uint32_t id;
	int r = want_u32(c, v, &id);

	if (r)
		return r;
	if (id == UINT32_MAX)
		return fail(c, "4294967295 is (uid_t)-1, which setresuid(2) reads as "
			       "\"unchanged\" (the process would keep root's ids); not an id");
	*ret = id;
	return 0;
}

static int want_array(struct ctx *c, json_object *v, size_t *ret_n)
{
	if (!is(v, json_type_array))
		return fail(c, "must be an array");
	*ret_n = json_object_array_length(v);
	if (*ret_n > OCI_ARRAY_MAX)
		return fail(c, "%zu entries; at most %u", *ret_n, OCI_ARRAY_MAX);
	return 0;
}

static int want_strings(struct ctx *c, json_object *v, char ***ret, size_t *ret_n)
{
	size_t n;
	char **a;
	int r = want_array(c, v, &n);

	if (r)
		return r;
	a = calloc(n + 1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t old = enter_index(c, i);

		r = want_string(c, json_object_array_get_idx(v, i), &a[i]);
		leave(c, old);
		if (r) {
			for (size_t j = 0; j <= i; j++)
				free(a[j]);
			free(a);
			return r;
		}
	}
	*ret = a;
	*ret_n = n;
	return 0;
}

static void free_strings(char **a, size_t n)
{
	for (size_t i = 0; a && i < n; i++)
		free(a[i]);
	free(a);
}

static int want_object(struct ctx *c, json_object *v)
{
	if (!is(v, json_type_object))
		return fail(c, "must be an object");
	return 0;
}

static int want_kv(struct ctx *c, json_object *v, struct oci_kv **ret, size_t *ret_n, size_t max)
{
	size_t n = 0;
	struct oci_kv *a;
	int r = want_object(c, v);

	if (r)
		return r;
	if ((size_t)json_object_object_length(v) > max)
		return fail(c, "%d entries; at most %zu", json_object_object_length(v), max);
	a = calloc((size_t)json_object_object_length(v) + 1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	*ret = a;
	json_object_object_foreach(v, key, val)
	{
		size_t old = enter(c, key);

		a[n].key = strdup(key);
		r = a[n].key ? want_string(c, val, &a[n].value) : -ENOMEM;
		n++;
		*ret_n = n;
		leave(c, old);
		if (r)
			return r;
	}
	return 0;
}

/* Known keys of one object, each with its reader; a key not in the table is
 * refused, or warned about where the table says it is safe to ignore. */
struct field {
	const char *key;
	int (*read)(struct ctx *c, json_object *v);
	const char *ignore; /* non-NULL: safe to ignore, with this reason */
};

static int read_fields(struct ctx *c, json_object *obj, const struct field *f)
{
	int r = want_object(c, obj);

	if (r)
		return r;
	json_object_object_foreach(obj, key, val)
	{
		const struct field *x = f;
		size_t old = enter(c, key);

		while (x->key && !streq(x->key, key))
			x++;
		if (!x->key)
			r = fail(c, "unknown or unsupported field");
		else if (x->ignore)
			warn(c, x->ignore), r = 0;
		else if (is(val, json_type_null))
			r = 0; /* null is absent, as Go's encoding/json writes it */
		else
			r = x->read(c, val);
		leave(c, old);
		if (r)
			return r;
	}
	return 0;
}

/* A field that may be there only empty (a list, object or string with
 * nothing in it, false, 0): cgpilot-run does not support setting it. */
static int read_empty(struct ctx *c, json_object *v)
{
	bool empty = (is(v, json_type_array) && !json_object_array_length(v)) ||
		     (is(v, json_type_object) && !json_object_object_length(v)) ||
		     (is(v, json_type_string) && !json_object_get_string_len(v)) ||
		     (is(v, json_type_boolean) && !json_object_get_boolean(v)) ||
		     (is(v, json_type_int) && !json_object_get_int64(v));

	return empty ? 0 : fail(c, "not supported by cgpilot-run");
}

/* ---- capabilities ---- */

static const char *const cap_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

int oci_cap_number(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (!strcasecmp(name, cap_names[i]) ||
		    (!strncasecmp(cap_names[i], "CAP_", 4) && !strcasecmp(name, cap_names[i] + 4)))
			return (int)i;
	return -1;
}

const char *oci_cap_name(int n)
{
	return n >= 0 && (size_t)n < ARRAY_SIZE(cap_names) ? cap_names[n] : NULL;
}

#define CAP(n) (1ULL << (n))
uint64_t oci_default_caps(void)
{
	/* CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP
	 * SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE */
	return CAP(0) | CAP(1) | CAP(4) | CAP(3) | CAP(27) | CAP(13) | CAP(6) | CAP(7) | CAP(31) |
	       CAP(8) | CAP(10) | CAP(18) | CAP(5) | CAP(29);
}

int oci_parse_caps(const char *list, uint64_t *ret, char *err, size_t errlen)
{
	char buf[1024], *save = NULL;
	uint64_t m = 0;

	if (streq(list, "none") || !list[0]) {
		*ret = 0;
		return 0;
	}
	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf)) {
		snprintf(err, errlen, "capability list too long");
		return -EINVAL;
	}
	for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		int n = oci_cap_number(t);

		if (n < 0) {
			snprintf(err, errlen, "unknown capability '%s'", t);
			return -EINVAL;
		}
		m |= CAP(n);
	}
	*ret = m;
	return 0;
}

static int read_cap_set(struct ctx *c, json_object *v, enum oci_caps_set set)
{
	size_t n;
	int r = want_array(c, v, &n);

	if (r)
		return r;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		size_t old = enter_index(c, i);
		int cap = is(e, json_type_string) ? oci_cap_number(json_object_get_string(e)) : -2;

		if (cap == -2)
			r = fail(c, "must be a string");
		else if (cap < 0)
			r = fail(c, "unknown capability '%s'", json_object_get_string(e));
		else
			c->s->caps[set] |= CAP(cap);
		leave(c, old);
		if (r)
			return r;
	}
	return 0;
}

#define CAPSET(name, set)                                     \
	static int read_##name(struct ctx *c, json_object *v) \
	{                                                     \
		return read_cap_set(c, v, set);               \
	}
CAPSET(bounding, OCI_CAP_BOUNDING)
CAPSET(effective, OCI_CAP_EFFECTIVE)
CAPSET(inheritable, OCI_CAP_INHERITABLE)
CAPSET(permitted, OCI_CAP_PERMITTED)
CAPSET(ambient, OCI_CAP_AMBIENT)

static int read_caps(struct ctx *c, json_object *v)
{
	static const struct field f[] = {
		{ "bounding", read_bounding },	     { "effective", read_effective },
		{ "inheritable", read_inheritable }, { "permitted", read_permitted },
		{ "ambient", read_ambient },	     { NULL },
	};
	c->s->has_caps = true;
	return read_fields(c, v, f);
}

/* ---- process ---- */

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "RLIMIT_CPU", RLIMIT_CPU },		{ "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_DATA", RLIMIT_DATA },		{ "RLIMIT_STACK", RLIMIT_STACK },
	{ "RLIMIT_CORE", RLIMIT_CORE },		{ "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },	{ "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },	{ "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS },	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
};

static int rl_type(struct ctx *c, json_object *v)
{
	if (!is(v, json_type_string))
		return fail(c, "must be a string");
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++)
		if (streq(json_object_get_string(v), rlimit_names[i].name)) {
			c->rl->resource = rlimit_names[i].resource;
			return 0;
		}
	return fail(c, "unknown resource limit '%s'", json_object_get_string(v));
}

/* soft and hard are uint64 in the spec; json-c reads past 2^63 as the end of
 * its range, which is RLIM_INFINITY's meaning anyway */
static int rl_value(struct ctx *c, json_object *v, uint64_t *ret)
{
	if (!is(v, json_type_int) || json_object_get_int64(v) < 0)
		return fail(c, "must be a non-negative integer");
	*ret = json_object_get_uint64(v);
	return 0;
}

static int rl_soft(struct ctx *c, json_object *v)
{
	return rl_value(c, v, &c->rl->soft);
}

static int rl_hard(struct ctx *c, json_object *v)
{
	return rl_value(c, v, &c->rl->hard);
}

static int read_rlimits(struct ctx *c, json_object *v)
{
	static const struct field f[] = {
		{ "type", rl_type },
		{ "soft", rl_soft },
		{ "hard", rl_hard },
		{ NULL },
	};
	size_t n;
	int r = want_array(c, v, &n);

	if (r)
		return r;
	c->s->rlimits = calloc(n + 1, sizeof(*c->s->rlimits));
	if (!c->s->rlimits)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t old = enter_index(c, i);

		c->rl = &c->s->rlimits[i];
		c->rl->resource = -1;
		r = read_fields(c, json_object_array_get_idx(v, i), f);
		if (!r && c->rl->resource < 0)
			r = fail(c, "needs a type");
		if (!r && c->rl->soft > c->rl->hard)
			r = fail(c, "soft %" PRIu64 " is above hard %" PRIu64, c->rl->soft,
				 c->rl->hard);
		leave(c, old);
		if (r)
			return r;
		c->s->nrlimits = i + 1;
	}
	return 0;
}

static int u_uid(struct ctx *c, json_object *v)
{
	return want_id(c, v, &c->s->uid);
}

static int u_gid(struct ctx *c, json_object *v)
{
	return want_id(c, v, &c->s->gid);
}

static int u_umask(struct ctx *c, json_object *v)
{
	int r = want_u32(c, v, &c->s->umask);

	if (!r && c->s->umask > 0777)
		return fail(c, "%o is not a file mode mask", c->s->umask);
	c->s->has_umask = true;
	return r;
}

static int u_gids(struct ctx *c, json_object *v)
{
	size_t n;
	int r = want_array(c, v, &n);

	if (r)
		return r;
	c->s->gids = calloc(n + 1, sizeof(*c->s->gids));
	if (!c->s->gids)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t old = enter_index(c, i);

		r = want_id(c, json_object_array_get_idx(v, i), &c->s->gids[i]);
		leave(c, old);
		if (r)
			return r;
	}
	c->s->ngids = n;
	return 0;
}

static int read_user(struct ctx *c, json_object *v)
{
	static const struct field f[] = {
		{ "uid", u_uid },
		{ "gid", u_gid },
		{ "umask", u_umask },
		{ "additionalGids", u_gids },
		{ "username", NULL, "a Windows field, ignored" },
		{ NULL },
	};
	return read_fields(c, v, f);
}

static int p_terminal(struct ctx *c, json_object *v)
{
	return want_bool(c, v, &c->s->terminal);
}

static int p_args(struct ctx *c, json_object *v)
{
	int r = want_strings(c, v, &c->s->args, &c->s->nargs);

	if (!r && !c->s->nargs)
		return fail(c, "needs at least the program");
	return r;
}

static int p_env(struct ctx *c, json_object *v)
{
	int r = want_strings(c, v, &c->s->env, &c->s->nenv);

	for (size_t i = 0; !r && i < c->s->nenv; i++)
		if (!strchr(c->s->env[i], '=') || c->s->env[i][0] == '=') {
			size_t old = enter_index(c, i);

			r = fail(c, "'%s' is not NAME=VALUE", c->s->env[i]);
			leave(c, old);
		}
	return r;
}

static int p_cwd(struct ctx *c, json_object *v)
{
	int r = want_string(c, v, &c->s->cwd);

	if (!r && c->s->cwd[0] != '/')
		return fail(c, "'%s' must be an absolute path", c->s->cwd);
	return r;
}

static int p_nnp(struct ctx *c, json_object *v)
{
	return want_bool(c, v, &c->s->no_new_privs);
}

static int p_oom(struct ctx *c, json_object *v)
{
	int64_t x;
	int r = want_int(c, v, -1000, 1000, &x);

	if (r)
		return r;
	c->s->oom_score_adj = (int)x;
	c->s->has_oom_score_adj = true;
	return 0;
}

static int read_process(struct ctx *c, json_object *v)
{
	static const struct field f[] = {
		{ "terminal", p_terminal },
		{ "consoleSize", NULL, "the terminal's size is the caller's" },
		{ "user", read_user },
		{ "args", p_args },
		{ "env", p_env },
		{ "cwd", p_cwd },
		{ "capabilities", read_caps },
		{ "rlimits", read_rlimits },
		{ "noNewPrivileges", p_nnp },
		{ "oomScoreAdj", p_oom },
		{ "apparmorProfile", read_empty },
		{ "selinuxLabel", read_empty },
		{ "ioPriority", read_empty },
		{ "scheduler", read_empty },
		{ "execCPUAffinity", read_empty },
		{ NULL },
	};
	return read_fields(c, v, f);
}

/* ---- root, mounts, hostname ---- */

static int r_path(struct ctx *c, json_object *v)
{
	int r = want_string(c, v, &c->s->root_path);

	if (!r && !c->s->root_path[0])
		return fail(c, "must not be empty");
	return r;
}

static int r_ro(struct ctx *c, json_object *v)
{
	return want_bool(c, v, &c->s->root_readonly);
}

static int read_root(struct ctx *c, json_object *v)
{
	static const struct field f[] = { { "path", r_path }, { "readonly", r_ro }, { NULL } };

	return read_fields(c, v, f);
}

static int m_dest(struct ctx *c, json_object *v)
{
	int r = want_string(c, v, &c->mnt->destination);

	if (!r && c->mnt->destination[0] != '/')
		return fail(c, "'%s' must be an absolute path", c->mnt->destination);
	return r;
}

static int m_type(struct ctx *c, json_object *v)
{
	return want_string(c, v, &c->mnt->type);
}

static int m_source(struct ctx *c, json_object *v)
{
	return want_string(c, v, &c->mnt->source);
}

static int m_options(struct ctx *c, json_object *v)
{
	return want_strings(c, v, &c->mnt->options, &c->mnt->noptions);
}

static int read_mounts(struct ctx *c, json_object *v)
{
	static const struct field f[] = {
		{ "destination", m_dest },
		{ "type", m_type },
		{ "source", m_source },
		{ "options", m_options },
		{ "uidMappings", read_empty },
		{ "gidMappings", read_empty },
		{ NULL },
	};
	size_t n;
	int r = want_array(c, v, &n);

	if (r)
		return r;
	c->s->mounts = calloc(n + 1, sizeof(*c->s->mounts));
	if (!c->s->mounts)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t old = enter_index(c, i);

		c->mnt = &c->s->mounts[i];
		c->s->nmounts = i + 1;
		r = read_fields(c, json_object_array_get_idx(v, i), f);
		if (!r && !c->mnt->destination)
			r = fail(c, "needs a destination");
		leave(c, old);
		if (r)
			return r;
	}
	return 0;
}

static int t_hostname(struct ctx *c, json_object *v)
{
	int r = want_string(c, v, &c->s->hostname);

	if (!r && strlen(c->s->hostname) > 64)
		return fail(c, "longer than 64 bytes");
	return r;
}

static int t_version(struct ctx *c, json_object *v)
{
	int r = want_string(c, v, &c->s->oci_version);

	if (!r && strncmp(c->s->oci_version, "1.", 2))
		return fail(c, "version '%s': only 1.x is known", c->s->oci_version);
	return r;
}

static int t_annotations(struct ctx *c, json_object *v)
{
	return want_kv(c, v, &c->s->annotations, &c->s->nannotations, OCI_ARRAY_MAX);
}

/* ---- linux ---- */

static const struct {
	const char *name;
	int flag;
} ns_names[] = {
	{ "pid", CLONE_NEWPID },       { "network", CLONE_NEWNET }, { "mount", CLONE_NEWNS },
	{ "ipc", CLONE_NEWIPC },       { "uts", CLONE_NEWUTS },	    { "user", CLONE_NEWUSER },
	{ "cgroup", CLONE_NEWCGROUP },
};

static int ns_type(struct ctx *c, json_object *v)
{
	const char *t;

	if (!is(v, json_type_string))
		return fail(c, "must be a string");
	t = json_object_get_string(v);
	for (size_t i = 0; i < ARRAY_SIZE(ns_names); i++)
		if (streq(t, ns_names[i].name)) {
			c->ns->flag = ns_names[i].flag;
			return 0;
		}
	return fail(c, "unknown or unsupported namespace '%s'", t);
}

static int ns_path(struct ctx *c, json_object *v)
{
	int r = want_string(c, v, &c->ns->path);

	if (!r && c->ns->path[0] != '/')
		return fail(c, "'%s' must be an absolute path", c->ns->path);
	return r;
}

static int read_namespaces(struct ctx *c, json_object *v)
{
	static const struct field f[] = { { "type", ns_type }, { "path", ns_path }, { NULL } };
	size_t n;
	int r = want_array(c, v, &n);

	if (r)
		return r;
	c->s->namespaces = calloc(n + 1, sizeof(*c->s->namespaces));
	if (!c->s->namespaces)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t old = enter_index(c, i);

		c->ns = &c->s->namespaces[i];
		c->s->nnamespaces = i + 1;
		r = read_fields(c, json_object_array_get_idx(v, i), f);
		if (!r && !c->ns->flag)
			r = fail(c, "needs a type");
		for (size_t j = 0; !r && j < i; j++)
			if (c->s->namespaces[j].flag == c->ns->flag)
				r = fail(c, "the same namespace type twice");
		if (!r && c->ns->flag == CLONE_NEWUSER)
			r = fail(c, "user namespaces are not supported by cgpilot-run");
		if (!r && !c->ns->path)
			c->s->ns_new |= (unsigned)c->ns->flag;
		leave(c, old);
		if (r)
			return r;
	}
	return 0;
}

static int l_cgpath(struct ctx *c, json_object *v)
{
	return want_string(c, v, &c->s->cgroups_path);
}

static int l_masked(struct ctx *c, json_object *v)
{
	return want_strings(c, v, &c->s->masked_paths, &c->s->nmasked);
}

static int l_readonly(struct ctx *c, json_object *v)
{
	return want_strings(c, v, &c->s->readonly_paths, &c->s->nreadonly);
}

static int l_sysctl(struct ctx *c, json_object *v)
{
	int r = want_kv(c, v, &c->s->sysctl, &c->s->nsysctl, OCI_ARRAY_MAX);

	for (size_t i = 0; !r && i < c->s->nsysctl; i++)
		if (strstr(c->s->sysctl[i].key, "..") || strchr(c->s->sysctl[i].key, '/'))
			r = fail(c, "'%s' is not a sysctl name", c->s->sysctl[i].key);
	return r;
}

static int l_propagation(struct ctx *c, json_object *v)
{
	static const char *const ok[] = { "private", "rprivate", "slave", "rslave", NULL };

	if (!is(v, json_type_string))
		return fail(c, "must be a string");
	for (int i = 0; ok[i]; i++)
		if (streq(json_object_get_string(v), ok[i]))
			return 0;
	return fail(c, "'%s': only private and slave (the launcher's own) are supported",
		    json_object_get_string(v));
}

/* resources */

static int cpu_shares(struct ctx *c, json_object *v)
{
	int64_t x;
	int r = want_int(c, v, 2, 262144, &x);

	if (r)
		return r;
	c->s->res.shares = (uint64_t)x;
	c->s->res.has_shares = true;
	return 0;
}

static int cpu_quota(struct ctx *c, json_object *v)
{
	int64_t x;
	int r = want_int(c, v, -1, INT64_MAX - 1, &x);

	if (r)
		return r;
	if (x != -1 && x < 1000)
		return fail(c, "%" PRId64 " us is below the kernel's 1000 us minimum", x);
	c->s->res.quota = x;
	return 0;
}

static int cpu_period(struct ctx *c, json_object *v)
{
	int64_t x;
	int r = want_int(c, v, 1000, 1000000, &x);

	if (r)
		return r;
	c->s->res.period = (uint64_t)x;
	return 0;
}

static int cpu_cpus(struct ctx *c, json_object *v)
{
	return want_string(c, v, &c->s->res.cpus);
}

static int cpu_mems(struct ctx *c, json_object *v)
{
	return want_string(c, v, &c->s->res.mems);
}

static int read_cpu(struct ctx *c, json_object *v)
{
	static const struct field f[] = {
		{ "shares", cpu_shares },
		{ "quota", cpu_quota },
		{ "period", cpu_period },
		{ "cpus", cpu_cpus },
		{ "mems", cpu_mems },
		{ "realtimeRuntime", read_empty },
		{ "realtimePeriod", read_empty },
		{ "idle", read_empty },
		{ NULL },
	};
	return read_fields(c, v, f);
}

static int mem_value(struct ctx *c, json_object *v, int64_t *ret)
{
	int r = want_int(c, v, -1, INT64_MAX - 1, ret);

	if (!r && *ret == 0)
		*ret = -1; /* 0 is "not set" in runc's Go structs */
	return r;
}

static int mem_limit(struct ctx *c, json_object *v)
{
	return mem_value(c, v, &c->s->res.mem_limit);
}

static int mem_reservation(struct ctx *c, json_object *v)
{
	return mem_value(c, v, &c->s->res.mem_reservation);
}

static int mem_swap(struct ctx *c, json_object *v)
{
	c->s->res.has_swap = true;
	return want_int(c, v, -1, INT64_MAX - 1, &c->s->res.mem_swap);
}

static int mem_oomkiller(struct ctx *c, json_object *v)
{
	bool off = false;
	int r = want_bool(c, v, &off);

	if (!r && off)
		return fail(c, "cgroup v2 has no way to disable the OOM killer");
	return r;
}

static int read_memory(struct ctx *c, json_object *v)
{
	static const struct field f[] = {
		{ "limit", mem_limit },
		{ "reservation", mem_reservation },
		{ "swap", mem_swap },
		{ "disableOOMKiller", mem_oomkiller },
		{ "kernel", NULL, "kernel memory is part of memory.max on cgroup v2" },
		{ "kernelTCP", NULL, "TCP buffers are part of memory.max on cgroup v2" },
		{ "swappiness", NULL, "cgroup v2 has no per-cgroup swappiness" },
		{ "useHierarchy", NULL, "cgroup v2 is always hierarchical" },
		{ "checkBeforeUpdate", NULL, "an update-time check" },
		{ NULL },
	};
	return read_fields(c, v, f);
}

static int blk_weight(struct ctx *c, json_object *v)
{
	int64_t x;
	int r = want_int(c, v, 10, 1000, &x);

	if (r)
		return r;
	c->s->res.blkio_weight = (uint16_t)x;
	return 0;
}

static int read_blockio(struct ctx *c, json_object *v)
{
	static const struct field f[] = {
		{ "weight", blk_weight },
		{ "leafWeight", NULL, "cgroup v2 has no leaf weight" },
		{ "weightDevice", read_empty },
		{ "throttleReadBpsDevice", read_empty },
		{ "throttleWriteBpsDevice", read_empty },
		{ "throttleReadIOPSDevice", read_empty },
		{ "throttleWriteIOPSDevice", read_empty },
		{ NULL },
	};
	return read_fields(c, v, f);
}

static int pids_limit(struct ctx *c, json_object *v)
{
	c->s->res.has_pids = true;
	return want_int(c, v, -1, INT64_MAX - 1, &c->s->res.pids_limit);
}

static int read_pids(struct ctx *c, json_object *v)
{
	static const struct field f[] = { { "limit", pids_limit }, { NULL } };

	return read_fields(c, v, f);
}

static int res_unified(struct ctx *c, json_object *v)
{
	return want_kv(c, v, &c->s->res.unified, &c->s->res.nunified, OCI_UNIFIED_MAX);
}

/* Device rules: the device cgroup program cgpilot-run attaches (oci_devices.c). */
static int res_devices(struct ctx *c, json_object *v)
{
	const char *text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

	return oci_devrules_parse(text, strlen(text), &c->s->devrules, &c->s->ndevrules, c->err,
				  c->errlen);
}

/* Device nodes made in the container's /dev. */
static int l_devices(struct ctx *c, json_object *v)
{
	const char *text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

	return oci_devices_parse(text, strlen(text), &c->s->devices, &c->s->ndevices, c->err,
				 c->errlen);
}

static int read_resources(struct ctx *c, json_object *v)
{
	static const struct field f[] = {
		{ "cpu", read_cpu },
		{ "memory", read_memory },
		{ "blockIO", read_blockio },
		{ "pids", read_pids },
		{ "unified", res_unified },
		{ "devices", res_devices },
		{ "hugepageLimits", read_empty },
		{ "network", read_empty },
		{ "rdma", read_empty },
		{ NULL },
	};
	return read_fields(c, v, f);
}

/* checked and kept here, built into a filter by the runtime (oci_seccomp.c) */
static int l_seccomp(struct ctx *c, json_object *v)
{
	const char *text;
	int r;

	if (!is(v, json_type_object))
		return fail(c, "must be an object");
	c->s->seccomp = calloc(1, sizeof(*c->s->seccomp));
	if (!c->s->seccomp)
		return -ENOMEM;
	text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	r = oci_seccomp_parse(text, strlen(text), c->s->seccomp, c->err, c->errlen);
	if (r) {
		oci_seccomp_free(c->s->seccomp);
		free(c->s->seccomp);
		c->s->seccomp = NULL;
	}
	return r;
}

static int read_linux(struct ctx *c, json_object *v)
{
	static const struct field f[] = {
		{ "namespaces", read_namespaces },
		{ "resources", read_resources },
		{ "cgroupsPath", l_cgpath },
		{ "maskedPaths", l_masked },
		{ "readonlyPaths", l_readonly },
		{ "sysctl", l_sysctl },
		{ "rootfsPropagation", l_propagation },
		{ "uidMappings", read_empty },
		{ "gidMappings", read_empty },
		{ "devices", l_devices },
		{ "seccomp", l_seccomp },
		{ "mountLabel", read_empty },
		{ "intelRdt", read_empty },
		{ "personality", read_empty },
		{ "timeOffsets", read_empty },
		{ NULL },
	};
	return read_fields(c, v, f);
}

int oci_parse(const char *text, size_t len, struct oci_spec *spec, char *err, size_t errlen)
{
	static const struct field top[] = {
		{ "ociVersion", t_version },  { "process", read_process },
		{ "root", read_root },	      { "hostname", t_hostname },
		{ "domainname", read_empty }, { "mounts", read_mounts },
		{ "linux", read_linux },      { "annotations", t_annotations },
		{ "hooks", read_empty },      { NULL },
	};
	struct ctx c = { .s = spec, .err = err, .errlen = errlen };
	json_object *obj;
	const char *msg;
	int r;

	memset(spec, 0, sizeof(*spec));
	spec->res.quota = -1;
	spec->res.mem_limit = spec->res.mem_reservation = spec->res.mem_swap = -1;
	r = proto_decode_json(text, len, OCI_CONFIG_MAX, "config.json", &obj, &msg);
	if (r) {
		if (r == -EINVAL)
			snprintf(err, errlen, "config.json: %s", msg);
		return r;
	}
	r = read_fields(&c, obj, top);
	json_object_put(obj);
	if (r)
		return r;
	if (!spec->oci_version)
		return fail(&c, "ociVersion is missing");
	if (!spec->nargs)
		return fail(&c, "process.args is missing");
	if (!spec->root_path)
		return fail(&c, "root.path is missing");
	return 0;
}

void oci_spec_free(struct oci_spec *s)
{
	free(s->oci_version);
	free_strings(s->args, s->nargs);
	free_strings(s->env, s->nenv);
	free(s->cwd);
	free(s->gids);
	free(s->rlimits);
	free(s->root_path);
	free(s->hostname);
	for (size_t i = 0; s->mounts && i < s->nmounts; i++) {
		free(s->mounts[i].destination);
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		free_strings(s->mounts[i].options, s->mounts[i].noptions);
	}
	free(s->mounts);
	for (size_t i = 0; s->namespaces && i < s->nnamespaces; i++)
		free(s->namespaces[i].path);
	free(s->namespaces);
	free(s->cgroups_path);
	if (s->seccomp) {
		oci_seccomp_free(s->seccomp);
		free(s->seccomp);
	}
	free(s->devrules);
	oci_devices_free(s->devices, s->ndevices);
	free_strings(s->masked_paths, s->nmasked);
	free_strings(s->readonly_paths, s->nreadonly);
	for (size_t i = 0; s->sysctl && i < s->nsysctl; i++)
		free(s->sysctl[i].key), free(s->sysctl[i].value);
	free(s->sysctl);
	for (size_t i = 0; s->annotations && i < s->nannotations; i++)
		free(s->annotations[i].key), free(s->annotations[i].value);
	free(s->annotations);
	free(s->res.cpus);
	free(s->res.mems);
	for (size_t i = 0; s->res.unified && i < s->res.nunified; i++)
		free(s->res.unified[i].key), free(s->res.unified[i].value);
	free(s->res.unified);
	memset(s, 0, sizeof(*s));
}

const char *oci_annotation(const struct oci_spec *s, const char *key)
{
	for (size_t i = 0; i < s->nannotations; i++)
		if (streq(s->annotations[i].key, key))
			return s->annotations[i].value;
	return NULL;
}

/* ---- linux.resources to the admission request ---- */

uint32_t oci_shares_to_weight(uint64_t shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return (uint32_t)(1 + ((shares - 2) * 9999) / 262142);
}

uint32_t oci_blkio_to_io_weight(uint32_t w)
{
	if (w < 10)
		w = 10;
	if (w > 1000)
		w = 1000;
	return 1 + ((w - 10) * 9999) / 990;
}

static int add_knob(struct oci_request *q, const char *knob, const char *value, char *err,
		    size_t errlen)
{
	if (q->nknobs >= ARRAY_SIZE(q->knobs) || strlen(knob) >= sizeof(q->knobs[0].knob) ||
	    strlen(value) >= sizeof(q->knobs[0].value)) {
		snprintf(err, errlen, "linux.resources: %s: too many files or too long a value",
			 knob);
		return -EINVAL;
	}
	for (unsigned i = 0; i < q->nknobs; i++)
		if (streq(q->knobs[i].knob, knob)) {
			snprintf(err, errlen,
				 "linux.resources: %s is set twice (unified and a field)", knob);
			return -EINVAL;
		}
	snprintf(q->knobs[q->nknobs].knob, sizeof(q->knobs[0].knob), "%s", knob);
	snprintf(q->knobs[q->nknobs].value, sizeof(q->knobs[0].value), "%s", value);
	q->nknobs++;
	return 0;
}

/* cgroup files the admission request carries itself, or that are placement */
static bool knob_of_admission(const char *knob)
{
	static const char *const own[] = { "cpu.weight",   "cpu.max",	  "memory.max",
					   "memory.low",   "memory.min",  "memory.high",
					   "io.weight",	   "cpuset.cpus", "cpuset.mems",
					   "cgroup.procs", "cgroup.kill", NULL };

	for (int i = 0; own[i]; i++)
		if (streq(knob, own[i]))
			return true;
	return false;
}

int oci_to_request(const struct oci_resources *res, struct oci_request *q, char *err, size_t errlen)
{
	char v[64];
	int r;

	memset(q, 0, sizeof(*q));
	if (res->mems && res->mems[0]) {
		snprintf(err, errlen,
			 "linux.resources.cpu.mems: memory nodes are cgpilot's placement (they "
			 "follow the container's CPUs)");
		return -EINVAL;
	}
	if (res->cpus && res->cpus[0]) {
		struct topo_cpuset set = { 0 };

		if (strlen(res->cpus) >= sizeof(q->cpus) || topo_parse_cpulist(res->cpus, &set) ||
		    !set.n) {
			topo_cpuset_free(&set);
			snprintf(err, errlen,
				 "linux.resources.cpu.cpus '%.100s': not a CPU list (as \"0-1,8\")",
				 res->cpus);
			return -EINVAL;
		}
		topo_cpuset_free(&set);
		snprintf(q->cpus, sizeof(q->cpus), "%s", res->cpus);
	}
	if (res->has_shares)
		q->cpu_weight = oci_shares_to_weight(res->shares);
	if (res->quota > 0) {
		uint64_t period = res->period ? res->period : 100000;

		q->cpu_period_us = period;
		/* quota/period CPUs, rounded up to a millicore */
		q->cpu_limit_mc = ((uint64_t)res->quota * 1000 + period - 1) / period;
		q->cpu_request_mc = q->cpu_limit_mc;
	}
	if (res->mem_limit > 0)
		q->memory_limit = (uint64_t)res->mem_limit;
	if (res->mem_reservation > 0)
		q->memory_request = (uint64_t)res->mem_reservation;
	else if (res->mem_limit > 0)
		q->memory_request = (uint64_t)res->mem_limit;
	if (q->memory_limit && q->memory_request > q->memory_limit) {
		snprintf(err, errlen,
			 "linux.resources.memory: reservation %" PRIu64 " is above limit %" PRIu64,
			 q->memory_request, q->memory_limit);
		return -EINVAL;
	}
	if (res->has_swap) {
		if (res->mem_swap == -1) {
			snprintf(v, sizeof(v), "max");
		} else if (res->mem_limit <= 0) {
			snprintf(err, errlen,
				 "linux.resources.memory.swap: %" PRId64
				 " needs a memory limit (swap is memory plus swap)",
				 res->mem_swap);
			return -EINVAL;
		} else if (res->mem_swap < res->mem_limit) {
			snprintf(err, errlen,
				 "linux.resources.memory.swap: %" PRId64
				 " is below the memory limit %" PRId64
				 " (swap is memory plus swap)",
				 res->mem_swap, res->mem_limit);
			return -EINVAL;
		} else {
			snprintf(v, sizeof(v), "%" PRId64, res->mem_swap - res->mem_limit);
		}
		if ((r = add_knob(q, "memory.swap.max", v, err, errlen)))
			return r;
	}
	if (res->blkio_weight)
		q->io_weight = oci_blkio_to_io_weight(res->blkio_weight);
	if (res->has_pids) {
		if (res->pids_limit > 0)
			snprintf(v, sizeof(v), "%" PRId64, res->pids_limit);
		else
			snprintf(v, sizeof(v), "max");
		if ((r = add_knob(q, "pids.max", v, err, errlen)))
			return r;
	}
	for (size_t i = 0; i < res->nunified; i++) {
		const char *k = res->unified[i].key;

		if (knob_of_admission(k)) {
			snprintf(err, errlen,
				 "linux.resources.unified.%s: set through the admission request "
				 "(cpu, memory, blockIO), not unified",
				 k);
			return -EINVAL;
		}
		if ((r = add_knob(q, k, res->unified[i].value, err, errlen)))
			return r;
	}
	return 0;
}
