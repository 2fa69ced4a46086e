// SPDX-License-Identifier: Apache-2.0
/*
 * The OCI runtime's command line, as runc and crun take it and as podman's
 * conmon and containerd's go-runc call it (pure: unit-tested in
 * tests/unit/test_rt_args.c). Global options come before the command; each
 * command takes its own options, then the container ID.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "oci.h"
#include "runtime.h"
#include "util.h"
#include "version.h"

static const struct {
	const char *name;
	enum rt_cmd cmd;
} commands[] = {
	{ "create", RT_CREATE },     { "start", RT_START },   { "run", RT_RUN },
	{ "state", RT_STATE },	     { "kill", RT_KILL },     { "delete", RT_DELETE },
	{ "list", RT_LIST },	     { "ps", RT_PS },	      { "pause", RT_PAUSE },
	{ "resume", RT_RESUME },     { "update", RT_UPDATE }, { "exec", RT_EXEC },
	{ "features", RT_FEATURES },
};

static enum rt_cmd command(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (streq(s, commands[i].name))
			return commands[i].cmd;
	return RT_NONE;
}

/* The global options only the runtime has, and whether each takes a value. */
static const struct {
	const char *name;
	bool value;
} globals[] = {
	{ "--root", true },	  { "--log", true },
	{ "--log-format", true }, { "--systemd-cgroup", false },
	{ "--debug", false },	  { "--rootless", true },
	{ "--criu", true },
};

/* 1 + 1 if @a is a runtime global option that takes its value from the next
 * argument; 1 if one with the value in it or none; 0 if not one. */
static int global_option(const char *a)
{
	for (size_t i = 0; i < ARRAY_SIZE(globals); i++) {
		size_t n = strlen(globals[i].name);

		if (strncmp(a, globals[i].name, n))
			continue;
		if (!a[n])
			return globals[i].value ? 2 : 1;
		if (a[n] == '=')
			return 1;
	}
	return 0;
}

bool rt_is_runtime_form(int argc, char **argv)
{
	bool global = false;

	for (int i = 1; i < argc; i++) {
		int g = global_option(argv[i]);

		if (g) {
			global = true;
			i += g - 1;
			continue;
		}
		/* both forms have these: the next word decides */
		if (streq(argv[i], "--socket") || streq(argv[i], "--config")) {
			i++;
			continue;
		}
		if (!strncmp(argv[i], "--socket=", 9) || !strncmp(argv[i], "--config=", 9))
			continue;
		if (argv[i][0] == '-')
			/* a launcher option (or --help, --version) */
			return global;
		return global || command(argv[i]) != RT_NONE;
	}
	return global;
}

void rt_usage(FILE *f)
{
	fprintf(f,
		"Usage: cgpilot-run [GLOBAL OPTIONS] COMMAND [OPTIONS] ID [ARGS]\n"
		"cgpilot-run as an OCI runtime (the command line of runc and crun): podman,\n"
		"containerd and Kubernetes start containers through cgpilotd's admission.\n"
		"\n"
		"Global options:\n"
		"  --root DIR            state directory (default %s)\n"
		"  --log FILE            log file; --log-format text (default) or json\n"
		"  --systemd-cgroup      cgroupsPath is slice:prefix:name (systemd's scopes)\n"
		"  --socket PATH         cgpilotd's socket (default /run/cgpilot/cgpilot.sock)\n"
		"  --config FILE         cgpilotd's configuration, for [runtime]\n"
		"  --debug, --help, --version\n"
		"\n"
		"Commands:\n"
		"  create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot]\n"
		"         [--no-new-keyring] [--preserve-fds N] ID\n"
		"  start ID            run [create's options] [--detach] ID\n"
		"  state ID            kill [--all] ID [SIGNAL]      delete [--force] ID\n"
		"  list [--format table|json] [--quiet]          ps [--format table|json] ID\n"
		"  pause ID            resume ID                 update --resources FILE|- ID\n"
		"  exec [--process F] [--detach] [--pid-file F] [--console-socket S] [--tty]\n"
		"       [--cwd DIR] [--env K=V]... [--user UID[:GID]] ID [CMD [ARGS]...]\n"
		"  features\n",
		RT_ROOT_DEFAULT);
}

int rt_parse_signal(const char *s)
{
	char *end;
	long n;

	if (!s || !*s)
		return -1;
	errno = 0;
	n = strtol(s, &end, 10);
	if (!*end && !errno)
		return n >= 1 && n < NSIG ? (int)n : -1;
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (int i = 1; i < NSIG; i++) {
		const char *abbrev = sigabbrev_np(i);

		if (abbrev && !strcasecmp(s, abbrev))
			return i;
	}
	if (!strncasecmp(s, "RTMIN+", 6) || !strncasecmp(s, "RTMAX-", 6)) {
		n = strtol(s + 6, &end, 10);
		if (*end || n < 0 || n > SIGRTMAX - SIGRTMIN)
			return -1;
		return s[3] == 'I' || s[3] == 'i' ? SIGRTMIN + (int)n : SIGRTMAX - (int)n;
	}
	if (!strcasecmp(s, "RTMIN"))
		return SIGRTMIN;
	if (!strcasecmp(s, "RTMAX"))
		return SIGRTMAX;
	return -1;
}

int rt_check_id(const char *id, char *err, size_t errlen)
{
	size_t n = strlen(id);

	if (!n || n > RT_ID_MAX || streq(id, ".") || streq(id, "..")) {
		snprintf(err, errlen, "container ID '%.100s': must be 1-%d characters, not . or ..",
			 id, RT_ID_MAX);
		return -EINVAL;
	}
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '+' || *p == '-' ||
		      *p == '.')) {
			snprintf(err, errlen,
				 "container ID '%.100s': character %zu (0x%02x) is not one of "
				 "A-Z a-z 0-9 _ + - .",
				 id, (size_t)(p - id), (unsigned char)*p);
			return -EINVAL;
		}
	return 0;
}

static bool unit_name_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr(":_.-\\@", s[i])) ||
		    s[i] == ':')
			return false;
	return n > 0;
}

/* "-.slice", or a-b.slice: ends in .slice, no empty part between dashes */
static bool slice_ok(const char *s)
{
	size_t n = strlen(s);

	if (streq(s, "-.slice"))
		return true;
	if (n < 7 || !streq(s + n - 6, ".slice") || !unit_name_ok(s, n - 6) || s[0] == '-' ||
	    s[n - 7] == '-' || strstr(s, "--") || memchr(s, '.', n - 6))
		return false;
	return true;
}

int rt_systemd_path(const char *spec, char *out, size_t outlen, char *err, size_t errlen)
{
	const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	char slice[256], prefix[256], name[512];
	size_t off = 0;

	if (!c1 || !c2 || strchr(c2 + 1, ':')) {
		snprintf(err, errlen,
			 "cgroupsPath '%.200s': with --systemd-cgroup it is slice:prefix:name "
			 "(machine.slice:libpod:ID)",
			 spec);
		return -EINVAL;
	}
	if ((size_t)(c1 - spec) >= sizeof(slice) || (size_t)(c2 - c1 - 1) >= sizeof(prefix) ||
	    strlen(c2 + 1) >= sizeof(name)) {
		snprintf(err, errlen, "cgroupsPath '%.200s': too long", spec);
		return -EINVAL;
	}
	snprintf(slice, sizeof(slice), "%.*s", (int)(c1 - spec), spec);
	snprintf(prefix, sizeof(prefix), "%.*s", (int)(c2 - c1 - 1), c1 + 1);
	snprintf(name, sizeof(name), "%s", c2 + 1);
	if (!slice[0])
		snprintf(slice, sizeof(slice), "system.slice");
	if (!slice_ok(slice)) {
		snprintf(err, errlen,
			 "cgroupsPath '%.200s': '%s' is not a slice unit name (a-b.slice)", spec,
			 slice);
		return -EINVAL;
	}
	if (!unit_name_ok(name, strlen(name)) ||
	    (prefix[0] && !unit_name_ok(prefix, strlen(prefix)))) {
		snprintf(err, errlen, "cgroupsPath '%.200s': '%s' cannot be in a unit name", spec,
			 prefix[0] && !unit_name_ok(prefix, strlen(prefix)) ? prefix : name);
		return -EINVAL;
	}
	/* a-b-c.slice is a.slice/a-b.slice/a-b-c.slice; -.slice the root */
	if (!streq(slice, "-.slice")) {
		const char *end = slice + strlen(slice) - 6;

		for (const char *p = slice; p <= end; p++) {
			if (p != end && *p != '-')
				continue;
			off += (size_t)snprintf(out + off, outlen > off ? outlen - off : 0,
						"%.*s.slice/", (int)(p - slice), slice);
			if (off >= outlen)
				break;
		}
	}
	/* a name that is a unit already (kubelet's pod slices' children) stays */
	if (strlen(name) > 6 && streq(name + strlen(name) - 6, ".slice"))
		off += (size_t)snprintf(out + off, outlen > off ? outlen - off : 0, "%s", name);
	else if (prefix[0])
		off += (size_t)snprintf(out + off, outlen > off ? outlen - off : 0, "%s-%s.scope",
					prefix, name);
	else
		off += (size_t)snprintf(out + off, outlen > off ? outlen - off : 0, "%s.scope",
					name);
	if (off >= outlen) {
		snprintf(err, errlen, "cgroupsPath '%.200s': too long", spec);
		return -EINVAL;
	}
	return 0;
}

char *rt_features_json(void)
{
	static const char *const mount_options[] = {
		"async",       "atime",	 "bind",	"dev",	      "diratime",   "exec",
		"noatime",     "nodev",	 "nodiratime",	"noexec",     "norelatime", "nosuid",
		"private",     "rbind",	 "relatime",	"remount",    "ro",	    "rprivate",
		"rshared",     "rslave", "runbindable", "rw",	      "shared",	    "slave",
		"strictatime", "suid",	 "sync",	"unbindable",
	};
	static const char *const namespaces[] = {
		"cgroup", "ipc", "mount", "network", "pid", "uts"
	};
	json_object *o = json_object_new_object(), *l = json_object_new_object(), *a, *cg;
	char *text;

	json_object_object_add(o, "ociVersionMin", json_object_new_string("1.0.0"));
	json_object_object_add(o, "ociVersionMax", json_object_new_string("1.2.0"));
	json_object_object_add(o, "hooks", json_object_new_array());
	a = json_object_new_array();
	for (size_t i = 0; i < ARRAY_SIZE(mount_options); i++)
		json_object_array_add(a, json_object_new_string(mount_options[i]));
	json_object_object_add(o, "mountOptions", a);
	a = json_object_new_array();
	for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++)
		json_object_array_add(a, json_object_new_string(namespaces[i]));
	json_object_object_add(l, "namespaces", a);
	a = json_object_new_array();
	for (int i = 0; oci_cap_name(i); i++)
		json_object_array_add(a, json_object_new_string(oci_cap_name(i)));
	json_object_object_add(l, "capabilities", a);
	cg = json_object_new_object();
	json_object_object_add(cg, "v1", json_object_new_boolean(false));
	json_object_object_add(cg, "v2", json_object_new_boolean(true));
	json_object_object_add(cg, "systemd", json_object_new_boolean(false));
	json_object_object_add(cg, "systemdUser", json_object_new_boolean(false));
	json_object_object_add(cg, "rdma", json_object_new_boolean(false));
	json_object_object_add(l, "cgroup", cg);
	for (int i = 0; i < 3; i++) {
		static const char *const off[] = { "seccomp", "apparmor", "selinux" };
		json_object *e = json_object_new_object();

		json_object_object_add(e, "enabled", json_object_new_boolean(false));
		json_object_object_add(l, off[i], e);
	}
	json_object_object_add(o, "linux", l);
	a = json_object_new_object();
	json_object_object_add(a, "io.cgpilot.version", json_object_new_string(CGPILOT_VERSION));
	json_object_object_add(a, "io.cgpilot.class",
			       json_object_new_string("guaranteed, burstable or besteffort: "
						      "the container's class"));
	json_object_object_add(o, "annotations", a);
	text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return text;
}

/* ---- parsing ---- */

enum {
	G_ROOT = 1000,
	G_LOG,
	G_LOG_FORMAT,
	G_SYSTEMD,
	G_DEBUG,
	G_ROOTLESS,
	G_CRIU,
	G_SOCKET,
	G_CONFIG,
	G_VERSION,
	C_BUNDLE,
	C_PID_FILE,
	C_CONSOLE,
	C_NO_PIVOT,
	C_NO_KEYRING,
	C_PRESERVE,
	C_RESOURCES,
	C_PROCESS,
	C_CWD,
	C_NOTIFY,
};

static int bad(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
	snprintf(err, errlen, fmt, a, b);
	return -EINVAL;
}

static int parse_global(int argc, char **argv, struct rt_opts *o, char *err, size_t errlen)
{
	static const struct option g[] = {
		{ "root", required_argument, NULL, G_ROOT },
		{ "log", required_argument, NULL, G_LOG },
		{ "log-format", required_argument, NULL, G_LOG_FORMAT },
		{ "systemd-cgroup", no_argument, NULL, G_SYSTEMD },
		{ "debug", no_argument, NULL, G_DEBUG },
		{ "rootless", required_argument, NULL, G_ROOTLESS },
		{ "criu", required_argument, NULL, G_CRIU },
		{ "socket", required_argument, NULL, G_SOCKET },
		{ "config", required_argument, NULL, G_CONFIG },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, G_VERSION },
		{ NULL },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+:hv", g, NULL)) != -1) {
		const char *a = optarg;

		switch (c) {
		case G_ROOT:
			if (a[0] != '/')
				return bad(err, errlen, "--root '%s': %s", a,
					   "must be an absolute path");
			o->root = a;
			break;
		case G_LOG:
			o->log = a;
			break;
		case G_LOG_FORMAT:
			if (!streq(a, "json") && !streq(a, "text"))
				return bad(err, errlen, "--log-format '%s': %s", a,
					   "not text or json");
			o->log_json = streq(a, "json");
			break;
		case G_SYSTEMD:
			o->systemd_cgroup = true;
			break;
		case G_DEBUG:
			o->debug = true;
			break;
		case G_ROOTLESS:
			if (streq(a, "true"))
				return bad(err, errlen, "--rootless '%s': %s", a,
					   "cgpilot-run runs as root only");
			if (!streq(a, "false") && !streq(a, "auto"))
				return bad(err, errlen, "--rootless '%s': %s", a,
					   "not true, false or auto");
			break;
		case G_CRIU:
			break; /* checkpoints are refused by having no checkpoint command */
		case G_SOCKET:
			o->socket = a;
			break;
		case G_CONFIG:
			o->config = a;
			break;
		case 'h':
			rt_usage(stdout);
			return 1;
		case 'v':
		case G_VERSION:
			printf("cgpilot-run version %s\nspec: 1.2.0\n", CGPILOT_VERSION);
			return 1;
		case ':':
			return bad(err, errlen, "%s needs a value%s", argv[optind - 1], "");
		default:
			return bad(err, errlen, "unknown global option '%s'%s", argv[optind - 1],
				   " (see cgpilot-run --help)");
		}
	}
	return 0;
}

static int parse_count(const char *opt, const char *a, unsigned max, unsigned *ret, char *err,
		       size_t errlen)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(a, &end, 10);
	if (errno || *end || end == a || a[0] == '-' || v > max) {
		snprintf(err, errlen, "%s '%s': not a number in 0..%u", opt, a, max);
		return -EINVAL;
	}
	*ret = (unsigned)v;
	return 0;
}

static const char *option_of(const struct option *opts, int val)
{
	for (; opts->name; opts++)
		if (opts->val == val)
			return opts->name;
	return "?";
}

static int parse_command(int argc, char **argv, struct rt_opts *o, char *err, size_t errlen)
{
	static const struct option c_opts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "pid-file", required_argument, NULL, C_PID_FILE },
		{ "console-socket", required_argument, NULL, C_CONSOLE },
		{ "no-pivot", no_argument, NULL, C_NO_PIVOT },
		{ "no-new-keyring", no_argument, NULL, C_NO_KEYRING },
		{ "preserve-fds", required_argument, NULL, C_PRESERVE },
		{ "notify-socket", required_argument, NULL, C_NOTIFY },
		{ "detach", no_argument, NULL, 'd' },
		{ "all", no_argument, NULL, 'a' },
		{ "force", no_argument, NULL, 'f' },
		{ "format", required_argument, NULL, 'F' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "resources", required_argument, NULL, 'r' },
		{ "process", required_argument, NULL, 'p' },
		{ "tty", no_argument, NULL, 't' },
		{ "cwd", required_argument, NULL, C_CWD },
		{ "env", required_argument, NULL, 'e' },
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL },
	};
	/* the options each command takes */
	static const struct {
		enum rt_cmd cmd;
		const char *takes;
	} allowed[] = {
		{ RT_CREATE, "b"
			     "P"
			     "C"
			     "N"
			     "K"
			     "R"
			     "n" },
		{ RT_RUN, "b"
			  "P"
			  "C"
			  "N"
			  "K"
			  "R"
			  "n"
			  "d" },
		{ RT_KILL, "a" },
		{ RT_DELETE, "f" },
		{ RT_LIST, "F"
			   "q" },
		{ RT_PS, "F" },
		{ RT_UPDATE, "r" },
		{ RT_EXEC, "p"
			   "d"
			   "P"
			   "C"
			   "t"
			   "W"
			   "e"
			   "u"
			   "R" },
	};
	const char *name = argv[0], *takes = "";
	int c, need_id;

	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
		if (allowed[i].cmd == o->cmd)
			takes = allowed[i].takes;
	optind = 1;
	/* list's -f is --format, delete's -f is --force */
	while ((c = getopt_long(argc, argv,
				o->cmd == RT_LIST || o->cmd == RT_PS ? "+:b:daf:qr:p:te:u:h" :
								       "+:b:dafqr:p:te:u:h",
				c_opts, NULL)) != -1) {
		const char *a = optarg;
		char key;

		switch (c) {
		case 'b':
			key = 'b';
			break;
		case C_PID_FILE:
			key = 'P';
			break;
		case C_CONSOLE:
			key = 'C';
			break;
		case C_NO_PIVOT:
			key = 'N';
			break;
		case C_NO_KEYRING:
			key = 'K';
			break;
		case C_PRESERVE:
			key = 'R';
			break;
		case C_NOTIFY:
			key = 'n';
			break;
		case 'd':
			key = 'd';
			break;
		case 'a':
			key = 'a';
			break;
		case 'f':
			key = o->cmd == RT_LIST || o->cmd == RT_PS ? 'F' : 'f';
			break;
		case 'F':
			key = 'F';
			break;
		case 'q':
			key = 'q';
			break;
		case 'r':
			key = 'r';
			break;
		case 'p':
			key = 'p';
			break;
		case 't':
			key = 't';
			break;
		case C_CWD:
			key = 'W';
			break;
		case 'e':
			key = 'e';
			break;
		case 'u':
			key = 'u';
			break;
		case 'h':
			rt_usage(stdout);
			return 1;
		case ':':
			return bad(err, errlen, "%s %s needs a value", name, argv[optind - 1]);
		default:
			return bad(err, errlen, "%s: unknown option '%s'", name, argv[optind - 1]);
		}
		if (!strchr(takes, key))
			return bad(err, errlen, "%s does not take --%s", name,
				   option_of(c_opts, c));
		switch (key) {
		case 'b':
			o->bundle = a;
			break;
		case 'P':
			o->pid_file = a;
			break;
		case 'C':
			o->console_socket = a;
			break;
		case 'N':
			o->no_pivot = true;
			break;
		case 'K':
			o->no_new_keyring = true;
			break;
		case 'R':
			if (parse_count("--preserve-fds", a, 1000, &o->preserve_fds, err, errlen))
				return -EINVAL;
			break;
		case 'n':
			break; /* sd_notify is systemd's; the container's own if it wants */
		case 'd':
			o->detach = true;
			break;
		case 'a':
			o->all = true;
			break;
		case 'f':
			o->force = true;
			break;
		case 'F':
			if (!streq(a, "table") && !streq(a, "json"))
				return bad(err, errlen, "--format '%s': %s", a,
					   "not table or json");
			o->format = a;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'r':
			o->resources = a;
			break;
		case 'p':
			o->process = a;
			break;
		case 't':
			o->tty = true;
			break;
		case 'W':
			o->cwd = a;
			break;
		case 'e':
			if (!strchr(a, '=') || a[0] == '=')
				return bad(err, errlen, "--env '%s': %s", a, "not KEY=VALUE");
			if (o->nenv >= ARRAY_SIZE(o->env))
				return bad(err, errlen, "--env '%s': %s", a, "too many");
			o->env[o->nenv++] = a;
			break;
		case 'u':
			o->user = a;
			break;
		}
	}
	argc -= optind;
	argv += optind;
	need_id = o->cmd != RT_LIST && o->cmd != RT_FEATURES;
	if (!need_id) {
		if (argc)
			return bad(err, errlen, "%s takes no operand ('%s')", name, argv[0]);
		return 0;
	}
	if (!argc)
		return bad(err, errlen, "%s needs a container ID%s", name, "");
	o->id = argv[0];
	if (rt_check_id(o->id, err, errlen))
		return -EINVAL;
	argc--, argv++;
	if (o->cmd == RT_KILL) {
		if (argc > 1)
			return bad(err, errlen, "kill: one signal, not '%s %s'", argv[0], argv[1]);
		if (argc && (o->signal = rt_parse_signal(argv[0])) < 0)
			return bad(err, errlen,
				   "kill: '%s' is not a signal (a name, KILL or SIGKILL, "
				   "or a number)%s",
				   argv[0], "");
		return 0;
	}
	if (o->cmd == RT_EXEC) {
		if (!o->process && !argc)
			return bad(err, errlen, "exec needs --process FILE or a command%s%s", "",
				   "");
		if (o->process && argc)
			return bad(err, errlen,
				   "exec: --process and a command ('%s') exclude "
				   "each other%s",
				   argv[0], "");
		o->argv = argc ? argv : NULL;
		o->argc = argc;
		return 0;
	}
	if (argc)
		return bad(err, errlen, "%s: '%s' is one operand too many", name, argv[0]);
	if (o->cmd == RT_UPDATE && !o->resources)
		return bad(err, errlen,
			   "update needs --resources FILE (or - for standard input)%s%s", "", "");
	return 0;
}

int rt_parse_args(int argc, char **argv, struct rt_opts *o, char *err, size_t errlen)
{
	int r;

	memset(o, 0, sizeof(*o));
	o->root = RT_ROOT_DEFAULT;
	o->socket = "/run/cgpilot/cgpilot.sock";
	o->config = "/etc/cgpilot/cgpilotd.conf";
	o->signal = SIGTERM;
	o->format = "table";
	o->bundle = ".";
	optind = 1;
	opterr = 0;
	r = parse_global(argc, argv, o, err, errlen);
	if (r)
		return r;
	if (optind >= argc) {
		snprintf(err, errlen, "no command (cgpilot-run --help lists them)");
		return -EINVAL;
	}
	o->cmd = command(argv[optind]);
	if (o->cmd == RT_NONE) {
		if (streq(argv[optind], "checkpoint") || streq(argv[optind], "restore") ||
		    streq(argv[optind], "events") || streq(argv[optind], "spec"))
			snprintf(err, errlen, "command '%s' is not supported by cgpilot-run",
				 argv[optind]);
		else
			snprintf(err, errlen,
				 "unknown command '%s' (cgpilot-run --help lists them)",
				 argv[optind]);
		return -EINVAL;
	}
	return parse_command(argc - optind, argv + optind, o, err, errlen);
}
