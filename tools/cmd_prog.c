// SPDX-License-Identifier: Apache-2.0
/* cgpilot prog show [sample MS]: cgpilot's BPF programs and what they cost. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgpilot.h"
#include "output.h"
#include "util.h"

#define SAMPLE_MS_DEFAULT 1000
#define SAMPLE_MS_MAX 10000

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s prog { show [sample MS] | help }\n"
		"\n"
		"       MS := 0..%d milliseconds, default %d\n"
		"       OPTIONS := { -j | -p | -v | --socket PATH }\n"
		"\n"
		"show: cgpilot's BPF programs with their run count, run time and average\n"
		"      nanoseconds per run. The daemon switches the kernel's run-time statistics\n"
		"      on (bpf_enable_stats) for MS and reports the counts of that interval;\n"
		"      with 'sample 0' the counters as they stand, which only grow while\n"
		"      statistics are on (sysctl kernel.bpf_stats_enabled).\n",
		bin_name, SAMPLE_MS_MAX, SAMPLE_MS_DEFAULT);
}

static int do_help(int argc, char **argv)
{
	usage(stdout);
	return CLI_OK;
}

static int parse_sample(int argc, char **argv, int *ret_ms)
{
	static const char *const keywords[] = { "sample", NULL };
	unsigned long ms;
	char *end;

	if (argc == 0) {
		*ret_ms = SAMPLE_MS_DEFAULT;
		return CLI_OK;
	}
	if (match_word(argv[0], keywords) != 0)
		return p_usage("unexpected argument '%s' (expected 'sample MS')", argv[0]);
	NEXT_ARG();
	if (argc < 1)
		return p_usage("'sample' needs a duration in milliseconds (0..%d)", SAMPLE_MS_MAX);
	errno = 0;
	ms = strtoul(argv[0], &end, 10);
	if (errno || end == argv[0] || *end || argv[0][0] == '-' || ms > SAMPLE_MS_MAX)
		return p_usage("sample '%s' is not a number of milliseconds in 0..%d", argv[0],
			       SAMPLE_MS_MAX);
	NEXT_ARG();
	NO_MORE_ARGS();
	*ret_ms = (int)ms;
	return CLI_OK;
}

static int prog_cmp(const void *pa, const void *pb)
{
	struct json_object *a = *(struct json_object *const *)pa;
	struct json_object *b = *(struct json_object *const *)pb;
	uint64_t id_a = 0, id_b = 0;

	jget_u64(a, "id", &id_a);
	jget_u64(b, "id", &id_b);
	return id_a < id_b ? -1 : id_a > id_b;
}

static void print_progs(struct json_object *progs, struct json_object *reply)
{
	char id[24], name[64], type[32], cnt[24], run_time[16], avg[24];
	size_t i, n = json_object_array_length(progs);
	uint64_t run_cnt, run_ns, avg_ns, sample;
	int name_w = 4, type_w = 0;
	struct json_object *p;
	const char *s;

	/* Columns as wide as the longest name and type; no TYPE column when none is given. */
	for (i = 0; i < n; i++) {
		p = json_object_array_get_idx(progs, i);
		s = jget_str(p, "name");
		if (s && (int)strlen(s) > name_w)
			name_w = strlen(s) < sizeof(name) ? (int)strlen(s) : (int)sizeof(name) - 1;
		s = jget_str(p, "type");
		if (s && (int)strlen(s) + 1 > type_w)
			type_w = strlen(s) < sizeof(type) ? (int)strlen(s) + 1 : (int)sizeof(type);
	}
	if (type_w && type_w < 5)
		type_w = 5;

	printf("%-8s %-*s %-*s%12s %10s %8s\n", "ID", name_w, "NAME", type_w, type_w ? "TYPE" : "",
	       "RUN COUNT", "RUN TIME", "AVG NS");
	for (i = 0; i < n; i++) {
		p = json_object_array_get_idx(progs, i);
		if (!p || !json_object_is_type(p, json_type_object))
			continue;
		fmt_u64_key(id, sizeof(id), p, "id");
		fmt_escaped(name, sizeof(name), (s = jget_str(p, "name")) ? s : "?");
		fmt_escaped(type, sizeof(type), (s = jget_str(p, "type")) ? s : "-");
		fmt_u64_key(cnt, sizeof(cnt), p, "run_cnt");
		fmt_duration_key(run_time, sizeof(run_time), p, "run_time_ns");
		snprintf(avg, sizeof(avg), "-");
		if (jget_u64(p, "run_cnt", &run_cnt) && run_cnt > 0) {
			if (jget_u64(p, "avg_ns", &avg_ns))
				snprintf(avg, sizeof(avg), "%" PRIu64, avg_ns);
			else if (jget_u64(p, "run_time_ns", &run_ns))
				snprintf(avg, sizeof(avg), "%" PRIu64, run_ns / run_cnt);
		}
		printf("%-8s %-*s %-*s%12s %10s %8s\n", id, name_w, name, type_w,
		       type_w ? type : "", cnt, run_time, avg);
	}

	if (jget_u64(reply, "sample_ms", &sample) && sample > 0)
		printf("(run-time statistics on for %" PRIu64 " ms)\n", sample);
	else
		printf("(counters as they stand; they grow only while statistics are on)\n");
}

static int do_show(int argc, char **argv)
{
	struct json_object *req, *reply = NULL, *progs;
	int r, ms = SAMPLE_MS_DEFAULT;

	r = parse_sample(argc, argv, &ms);
	if (r != CLI_OK)
		return r;

	req = json_object_new_object();
	if (!req)
		return p_err("out of memory");
	json_object_object_add(req, "op", json_object_new_string("prog.show"));
	json_object_object_add(req, "sample_ms", json_object_new_int(ms));
	r = cli_call(req, CLI_TIMEOUT_MS + ms, &reply);
	json_object_put(req);
	if (r != CLI_OK)
		return r;

	progs = jget_array(reply, "progs");
	if (!progs) {
		json_object_put(reply);
		return cli_bad_reply("a \"progs\" array");
	}
	json_object_array_sort(progs, prog_cmp);

	if (!json_print_reply(reply))
		print_progs(progs, reply);
	json_object_put(reply);
	return CLI_OK;
}

int do_prog(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "show", do_show },
		{ "help", do_help },
		{ NULL, NULL },
	};

	return cmd_select(cmds, argc, argv, usage);
}
