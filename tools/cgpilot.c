// SPDX-License-Identifier: Apache-2.0
/*
 * cgpilot: the command-line client of cgpilotd, in bpftool's grammar
 *   cgpilot [OPTIONS] OBJECT { COMMAND | help }
 * Objects and commands are matched by unique prefix; one file per object.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgpilot.h"
#include "client.h"
#include "log.h"
#include "output.h"
#include "util.h"

bool json_output;
bool pretty_output;
const char *bin_name = "cgpilot";
const char *socket_path = CGPILOT_DEFAULT_SOCKET;
/* The object and command being run ("cgroup show"), for messages. */
static char command_words[64];

bool is_prefix(const char *pfx, const char *str)
{
	if (!pfx || !*pfx)
		return false;
	return strncmp(pfx, str, strlen(pfx)) == 0;
}

int match_word(const char *word, const char *const *words)
{
	int i, found = -ENOENT;

	for (i = 0; words[i]; i++) {
		if (streq(word, words[i]))
			return i;
		if (is_prefix(word, words[i]))
			found = found == -ENOENT ? i : -EEXIST;
	}
	return found;
}

static bool is_number(const char *a)
{
	return isdigit((unsigned char)a[0]) || (a[0] == '.' && isdigit((unsigned char)a[1]));
}

int cli_parse_count(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

int cli_option(int *argcp, char ***argvp, const struct cli_opt *opts, const char **ret_val)
{
	const char *a = (*argvp)[0], *val = NULL;
	int i, k = -1;
	size_t n;

	if (a[0] != '-' || !a[1] || is_number(a + 1))
		return CLI_OPT_NONE;
	if (a[1] == '-') {
		n = strcspn(a + 2, "=");
		for (i = 0; n && opts[i].name; i++) {
			if (strncmp(a + 2, opts[i].name, n))
				continue;
			if (strlen(opts[i].name) == n) {
				k = i;
				break;
			}
			if (k >= 0) {
				p_usage("ambiguous option '%.*s'", (int)n + 2, a);
				return CLI_OPT_BAD;
			}
			k = i;
		}
		if (k < 0) {
			p_usage("unknown option '%.*s'", (int)n + 2, a);
			return CLI_OPT_BAD;
		}
		if (a[2 + n] == '=')
			val = a + 3 + n;
	} else {
		for (i = 0; opts[i].name && k < 0; i++)
			if (opts[i].short_name && opts[i].short_name == a[1])
				k = i;
		if (k < 0) {
			p_usage("unknown option '-%c'", a[1]);
			return CLI_OPT_BAD;
		}
		if (a[2]) {
			if (!opts[k].has_arg) {
				p_usage("option '-%c' takes no value", a[1]);
				return CLI_OPT_BAD;
			}
			val = a + 2;
		}
	}
	(*argcp)--;
	(*argvp)++;
	if (opts[k].has_arg && !val) {
		if (*argcp < 1) {
			p_usage("option '%s' needs a value", a);
			return CLI_OPT_BAD;
		}
		val = (*argvp)[0];
		(*argcp)--;
		(*argvp)++;
	} else if (!opts[k].has_arg && val) {
		p_usage("option '--%s' takes no value", opts[k].name);
		return CLI_OPT_BAD;
	}
	*ret_val = val;
	return k;
}

static void print_candidates(char *buf, size_t size, const struct cmd *cmds, const char *word)
{
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; cmds[i].cmd && off < size; i++)
		if (is_prefix(word, cmds[i].cmd))
			off += (size_t)snprintf(buf + off, size - off, "%s%s", off ? " or " : "",
						cmds[i].cmd);
}

/* Runs the entry of @cmds that argv[0] names; @what is "object" or "command". */
static int select_in(const struct cmd *cmds, int argc, char **argv, void (*usage)(FILE *f),
		     const char *what)
{
	const struct cmd *found = NULL;
	char names[256];
	int i, n = 0, r;

	if (argc < 1)
		return cmds[0].func(argc, argv);

	for (i = 0; cmds[i].cmd; i++) {
		if (streq(argv[0], cmds[i].cmd)) {
			found = &cmds[i];
			n = 1;
			break;
		}
		if (is_prefix(argv[0], cmds[i].cmd)) {
			found = &cmds[i];
			n++;
		}
	}
	if (n == 1) {
		if (!streq(found->cmd, "help")) {
			size_t off = strlen(command_words);

			snprintf(command_words + off, sizeof(command_words) - off, "%s%s",
				 off ? " " : "", found->cmd);
		}
		return found->func(argc - 1, argv + 1);
	}

	if (n == 0 && argv[0][0] == '-' && argv[0][1] && !is_number(argv[0] + 1)) {
		r = p_usage("unknown option '%s'", argv[0]);
	} else if (n == 0) {
		r = p_usage("unknown %s '%s'", what, argv[0]);
	} else {
		print_candidates(names, sizeof(names), cmds, argv[0]);
		r = p_usage("ambiguous %s '%s': it may be %s (type more of it)", what, argv[0],
			    names);
	}
	if (!json_output) {
		fputc('\n', stderr);
		usage(stderr);
	}
	return r;
}

int cmd_select(const struct cmd *cmds, int argc, char **argv, void (*usage)(FILE *f))
{
	return select_in(cmds, argc, argv, usage, "command");
}

int object_select(const struct cmd *objects, int argc, char **argv, void (*usage)(FILE *f))
{
	return select_in(objects, argc, argv, usage, "object");
}

static const char *client_error_text(int r)
{
	switch (r) {
	case -ETIMEDOUT:
		return "no reply in time";
	case -ECONNRESET:
	case -EPIPE:
		return "the daemon closed the connection";
	case -EBADMSG:
		return "the daemon sent a line that is not a JSON object";
	case -EMSGSIZE:
		return "the daemon's reply is too long";
	default:
		return strerror(-r);
	}
}

int cli_report_client_error(int r)
{
	return p_err("talking to cgpilotd at %s: %s", socket_path, client_error_text(r));
}

const char *cli_command(void)
{
	return command_words;
}

int cli_daemon_error(const char *err)
{
	/* the CLI asked for something this daemon does not have: an older one */
	if (!strncmp(err, "unknown op ", 11))
		return p_err("cgpilotd at %s cannot do '%s %s': it is older than this cgpilot "
			     "%s; restart it with the same version",
			     socket_path, bin_name, command_words, CGPILOT_VERSION);
	return p_err("%s", err);
}

int cli_bad_reply(const char *missing)
{
	return p_err("cgpilotd at %s answered '%s %s' without %s (is it another version than "
		     "this cgpilot %s?)",
		     socket_path, bin_name, command_words, missing, CGPILOT_VERSION);
}

int cli_connect(struct client **ret_client)
{
	int r;

	r = client__new(socket_path, ret_client);
	if (r == -ENAMETOOLONG)
		return p_err("socket path '%s' is too long for a unix socket", socket_path);
	if (r == -EACCES || r == -EPERM)
		return p_err("cannot reach cgpilotd at %s: %s (run as root, or set "
			     "allow_read_others = true in the daemon's [control] section)",
			     socket_path, strerror(-r));
	if (r < 0)
		return p_err("cannot reach cgpilotd at %s: %s (is the daemon running?)",
			     socket_path, strerror(-r));
	log_debug("connected to %s", socket_path);
	return CLI_OK;
}

int cli_call(struct json_object *req, int timeout_ms, struct json_object **ret_reply)
{
	struct client *c = NULL;
	struct json_object *reply = NULL, *ok;
	const char *err;
	int r;

	r = cli_connect(&c);
	if (r != CLI_OK)
		return r;
	log_debug("request: %s", json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
	r = client__call(c, req, timeout_ms, &reply);
	client__free(c);
	if (r < 0)
		return cli_report_client_error(r);
	log_debug("reply: %.4000s", json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));

	err = jget_str(reply, "error");
	if (err) {
		r = cli_daemon_error(err);
		json_object_put(reply);
		return r;
	}
	if (!json_object_object_get_ex(reply, "ok", &ok) || !json_object_get_boolean(ok)) {
		json_object_put(reply);
		return p_err("cgpilotd at %s sent a reply with neither \"ok\" nor \"error\"",
			     socket_path);
	}
	*ret_reply = reply;
	return CLI_OK;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTIONS] OBJECT { COMMAND | help }\n"
		"       %s help\n"
		"       %s --version\n"
		"\n"
		"       OBJECT := { cgroup | container | event | map | node | policy | prog |\n"
		"                   top }\n"
		"       OPTIONS := { -j|--json | -p|--pretty | -v|--verbose | --socket PATH |\n"
		"                    -h|--help | -V|--version }\n"
		"\n"
		"Talks to cgpilotd on its control socket: --socket, else $%s, else\n"
		"%s. Objects and commands may be shortened to a unique prefix;\n"
		"'%s OBJECT help' describes each object. -j prints JSON (the daemon's reply\n"
		"without \"ok\"), -p pretty-printed JSON.\n"
		"\n"
		"Exit status: 0 success, 1 error, 2 usage error, 3 admission refused,\n"
		"124 'event --timeout' ran out before its --count of events.\n",
		bin_name, bin_name, bin_name, CGPILOT_SOCKET_ENV, CGPILOT_DEFAULT_SOCKET, bin_name);
}

static int do_help(int argc, char **argv)
{
	usage(stdout);
	return CLI_OK;
}

static int do_version(void)
{
	struct json_object *obj;

	if (!json_output) {
		printf("%s %s\n", bin_name, CGPILOT_VERSION);
		return CLI_OK;
	}
	obj = json_object_new_object();
	if (!obj)
		return p_err("out of memory");
	json_object_object_add(obj, "version", json_object_new_string(CGPILOT_VERSION));
	json_print(obj);
	json_object_put(obj);
	return CLI_OK;
}

static const struct cmd objects[] = {
	{ "help", do_help },	 { "cgroup", do_cgroup }, { "container", do_container },
	{ "event", do_event },	 { "map", do_map },	  { "node", do_node },
	{ "policy", do_policy }, { "prog", do_prog },	  { "top", do_top },
	{ NULL, NULL },
};

enum {
	OPT_SOCKET = 256,
};

/* -j, -pv, --json, --sock=PATH, ...: the CLI's own options, by name or prefix. */
static bool is_global_option(const char *a)
{
	static const char *const longs[] = { "json", "pretty",	"verbose", "socket",
					     "help", "version", NULL };
	size_t n;

	if (a[0] != '-' || !a[1])
		return false;
	if (a[1] == '-') {
		n = strcspn(a + 2, "=");
		for (int i = 0; n && longs[i]; i++)
			if (!strncmp(a + 2, longs[i], n))
				return true;
		return false;
	}
	for (const char *p = a + 1; *p; p++)
		if (!strchr("jpvhV", *p))
			return false;
	return true;
}

/*
 * Options may come anywhere, as in bpftool: puts the CLI's own first, then
 * "--", then the words in their order. After the object, anything else that
 * starts with '-' is a word: a command's own option (event --count, top -n)
 * or a negative value (priority -5). NULL when out of memory.
 */
static char **order_args(int argc, char **argv)
{
	char **out = calloc((size_t)argc + 2, sizeof(*out));
	char **words = calloc((size_t)argc + 1, sizeof(*words));
	int i, n = 0, nw = 0;

	if (!out || !words) {
		free(out);
		free(words);
		return NULL;
	}
	out[n++] = argv[0];
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (streq(a, "--")) {
			while (++i < argc)
				words[nw++] = argv[i];
			break;
		}
		if (a[0] != '-' || !a[1] || (nw && !is_global_option(a))) {
			words[nw++] = argv[i];
			continue;
		}
		out[n++] = argv[i];
		/* --socket PATH (or an abbreviation of it) takes the next word */
		if (a[1] == '-' && a[2] && !strchr(a, '=') && is_prefix(a + 2, "socket") &&
		    i + 1 < argc)
			out[n++] = argv[++i];
	}
	out[n++] = "--";
	memcpy(out + n, words, (size_t)nw * sizeof(*words));
	free(words);
	return out;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	bool want_help = false, want_version = false;
	_cleanup_free_ char **args = NULL;
	const char *env;
	int opt;

	bin_name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	log_set_ident(bin_name);
	log_set_level(LOG_LVL_WARN);

	env = getenv(CGPILOT_SOCKET_ENV);
	if (env && *env)
		socket_path = env;

	args = order_args(argc, argv);
	if (!args)
		return p_err("out of memory");
	argv = args;
	for (argc = 0; argv[argc]; argc++)
		;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":jpvhV", options, NULL)) >= 0) {
		switch (opt) {
		case 'j':
			json_output = true;
			break;
		case 'p':
			json_output = true;
			pretty_output = true;
			break;
		case 'v':
			log_set_level(LOG_LVL_DEBUG);
			break;
		case OPT_SOCKET:
			if (!*optarg)
				return p_usage("--socket needs a path");
			socket_path = optarg;
			break;
		case 'h':
			want_help = true;
			break;
		case 'V':
			want_version = true;
			break;
		case ':':
			return p_usage("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				return p_usage("unknown option '-%c'", optopt);
			return p_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	argc -= optind;
	argv += optind;

	if (want_version)
		return do_version();
	if (want_help)
		return do_help(argc, argv);
	if (argc < 1) {
		if (json_output)
			return p_usage("expected an object");
		usage(stderr);
		return CLI_USAGE;
	}
	return object_select(objects, argc, argv, usage);
}
