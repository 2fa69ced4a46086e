// SPDX-License-Identifier: Apache-2.0
/* cgpilot map { show [NAME] | dump NAME }: cgpilot's BPF maps and their decoded entries. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cgpilot.h"
#include "output.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s map { show | list } [NAME]\n"
		"       %s map dump NAME\n"
		"       %s map help\n"
		"\n"
		"       NAME := { cg_slot | slot_free | cg_stats | cg_win | thresholds |\n"
		"                 rq_start | bio_cg | ... }\n"
		"       OPTIONS := { -j | -p | -v | --socket PATH }\n"
		"\n"
		"show: the BPF maps of cgpilotd's programs with id, type, key and value size,\n"
		"      capacity, the pinned path and, where cheap, the entries in use\n"
		"      (cg_slot: cgroups with a slot at the last sample; slot_free: slots left).\n"
		"dump: a map's entries decoded: cg_slot (cgroup -> slot), thresholds (per\n"
		"      cgroup), cg_stats (counters summed over CPUs, slots in use), cg_win (onset\n"
		"      windows per signal), slot_free (a count), rq_start and bio_cg (block I/O\n"
		"      in flight; kernel addresses shown to root only). The ring buffer (events),\n"
		"      task storage (task_ctx) and global data cannot be dumped.\n",
		bin_name, bin_name, bin_name);
}

static int do_help(int argc, char **argv)
{
	usage(stdout);
	return CLI_OK;
}

static void print_maps(struct json_object *maps)
{
	char id[24], type[24], key[16], val[16], max[24], entries[24], name[64];
	size_t n = json_object_array_length(maps);
	struct json_object *m;
	const char *s;

	printf("%-6s %-18s %-14s %5s %6s %8s %8s %s\n", "ID", "NAME", "TYPE", "KEY", "VALUE", "MAX",
	       "ENTRIES", "PINNED");
	for (size_t i = 0; i < n; i++) {
		m = json_object_array_get_idx(maps, i);
		fmt_u64_key(id, sizeof(id), m, "id");
		fmt_escaped(name, sizeof(name), (s = jget_str(m, "name")) ? s : "?");
		fmt_escaped(type, sizeof(type), (s = jget_str(m, "type")) ? s : "?");
		fmt_u64_key(key, sizeof(key), m, "key_size");
		fmt_u64_key(val, sizeof(val), m, "value_size");
		fmt_u64_key(max, sizeof(max), m, "max_entries");
		fmt_u64_key(entries, sizeof(entries), m, "entries");
		printf("%-6s %-18s %-14s %5s %6s %8s %8s ", id, name, type, key, val, max, entries);
		print_escaped(stdout, (s = jget_str(m, "pinned")) ? s : "-");
		putchar('\n');
	}
}

/* A request with an optional "map" argument; the reply on success. */
static int map_call(const char *op, const char *name, struct json_object **ret_reply)
{
	struct json_object *req = json_object_new_object();
	int r;

	if (!req)
		return p_err("out of memory");
	json_object_object_add(req, "op", json_object_new_string(op));
	if (name)
		json_object_object_add(req, "map", json_object_new_string(name));
	r = cli_call(req, CLI_TIMEOUT_MS, ret_reply);
	json_object_put(req);
	return r;
}

static int do_show(int argc, char **argv)
{
	struct json_object *reply = NULL, *maps, *one;
	const char *name = NULL;
	size_t i, n;
	int r;

	if (argc > 0) {
		name = argv[0];
		NEXT_ARG();
	}
	NO_MORE_ARGS();
	r = map_call("map.list", NULL, &reply);
	if (r != CLI_OK)
		return r;
	maps = jget_array(reply, "maps");
	if (!maps) {
		json_object_put(reply);
		return cli_bad_reply("a \"maps\" array");
	}
	if (name) {
		one = json_object_new_array();
		n = json_object_array_length(maps);
		for (i = 0; i < n; i++) {
			struct json_object *m = json_object_array_get_idx(maps, i);
			const char *s = jget_str(m, "name");

			if (s && streq(s, name))
				json_object_array_add(one, json_object_get(m));
		}
		json_object_object_add(reply, "maps", one);
		maps = one;
		if (!json_object_array_length(maps)) {
			json_object_put(reply);
			return p_err("no map '%s' (see '%s map show')", name, bin_name);
		}
	}
	if (!json_print_reply(reply))
		print_maps(maps);
	json_object_put(reply);
	return CLI_OK;
}

static void print_path(struct json_object *e)
{
	const char *path = jget_str(e, "path");

	print_escaped(stdout, path ? path : "-");
	putchar('\n');
}

static void print_cg_slot(struct json_object *e)
{
	char slot[16], id[24];

	fmt_u64_key(slot, sizeof(slot), e, "slot");
	fmt_u64_key(id, sizeof(id), e, "id");
	printf("%-6s %-10s ", slot, id);
	print_path(e);
}

static void print_threshold(struct json_object *e)
{
	char id[24], cpu[16], mem[16], io[16];

	fmt_u64_key(id, sizeof(id), e, "id");
	fmt_duration_key(cpu, sizeof(cpu), e, "cpu_ns");
	fmt_duration_key(mem, sizeof(mem), e, "memory_ns");
	fmt_duration_key(io, sizeof(io), e, "io_ns");
	printf("%-10s %9s %9s %9s ", id, cpu, mem, io);
	print_path(e);
}

static void print_stats(struct json_object *e)
{
	char slot[16], id[24], cpu[16], wait[16], waits[24], csw[48], rec[16], iow[16], io[16];
	char oom[24];
	uint64_t r = 0, w = 0, v = 0, iv = 0;

	fmt_u64_key(slot, sizeof(slot), e, "slot");
	fmt_u64_key(id, sizeof(id), e, "id");
	fmt_duration_key(cpu, sizeof(cpu), e, "oncpu_ns");
	fmt_duration_key(wait, sizeof(wait), e, "rq_delay_ns");
	fmt_u64_key(waits, sizeof(waits), e, "rq_count");
	jget_u64(e, "nvcsw", &v);
	jget_u64(e, "nivcsw", &iv);
	snprintf(csw, sizeof(csw), "%" PRIu64 "/%" PRIu64, v, iv);
	fmt_duration_key(rec, sizeof(rec), e, "reclaim_ns");
	fmt_duration_key(iow, sizeof(iow), e, "iowait_ns");
	jget_u64(e, "io_read_bytes", &r);
	jget_u64(e, "io_write_bytes", &w);
	fmt_bytes(io, sizeof(io), (double)(r + w));
	fmt_u64_key(oom, sizeof(oom), e, "oom_kills");
	printf("%-6s %-10s %9s %9s %8s %15s %9s %9s %9s %4s ", slot, id, cpu, wait, waits, csw, rec,
	       iow, io, oom);
	print_path(e);
}

static void print_win(struct json_object *e)
{
	static const char *const sigs[] = { "cpu", "memory" };
	char slot[16], id[24], start[24], sum[16], last[16], thr[16];
	struct json_object *w, *a;

	fmt_u64_key(slot, sizeof(slot), e, "slot");
	fmt_u64_key(id, sizeof(id), e, "id");
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		w = jget_obj(e, sigs[i]);
		if (!w)
			continue;
		fmt_u64_key(start, sizeof(start), w, "start_ns");
		fmt_duration_key(sum, sizeof(sum), w, "sum_ns");
		fmt_duration_key(last, sizeof(last), w, "last_sum_ns");
		fmt_duration_key(thr, sizeof(thr), w, "threshold_ns");
		printf("%-6s %-10s %-7s %-6s %16s %9s %9s %9s", i ? "" : slot, i ? "" : id, sigs[i],
		       json_object_object_get_ex(w, "active", &a) && json_object_get_boolean(a) ?
			       "yes" :
			       "no",
		       start, sum, last, thr);
		if (i) {
			putchar('\n');
		} else {
			putchar(' ');
			print_path(e);
		}
	}
}

static void print_rq(struct json_object *e)
{
	char id[24], age[16];
	const char *rq = jget_str(e, "request");

	fmt_u64_key(id, sizeof(id), e, "id");
	fmt_duration_key(age, sizeof(age), e, "age_ns");
	printf("%-18s %-10s %9s ", rq ? rq : "-", id, age);
	print_path(e);
}

static void print_bio(struct json_object *e)
{
	char id[24];
	const char *bio = jget_str(e, "bio");

	fmt_u64_key(id, sizeof(id), e, "id");
	printf("%-18s %-10s ", bio ? bio : "-", id);
	print_path(e);
}

struct decoder {
	const char *map;
	const char *header;
	void (*print)(struct json_object *e);
};

static const struct decoder decoders[] = {
	{ "cg_slot", "SLOT   ID         PATH", print_cg_slot },
	{ "thresholds", "ID               CPU    MEMORY        IO PATH", print_threshold },
	{ "cg_stats",
	  "SLOT   ID               CPU      WAIT    WAITS     CSW VOL/INV   RECLAIM    IOWAIT"
	  "        IO  OOM PATH",
	  print_stats },
	{ "cg_win",
	  "SLOT   ID         SIGNAL  ACTIVE     WINDOW START       SUM  LAST SUM THRESHOLD PATH",
	  print_win },
	{ "rq_start", "REQUEST            ID               AGE PATH", print_rq },
	{ "bio_cg", "BIO                ID         PATH", print_bio },
};

static void print_dump(const char *name, struct json_object *reply)
{
	struct json_object *entries = jget_array(reply, "entries");
	const struct decoder *dec = NULL;
	char count[24];
	size_t n;

	fmt_u64_key(count, sizeof(count), reply, "count");
	if (!entries) {
		printf("%s: %s entries\n", name, count);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(decoders); i++)
		if (streq(decoders[i].map, name))
			dec = &decoders[i];
	n = json_object_array_length(entries);
	if (dec)
		printf("%s\n", dec->header);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(entries, i);

		if (dec)
			dec->print(e);
		else
			printf("%s\n", json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN));
	}
	printf("(%s entries)\n", count);
}

static int do_dump(int argc, char **argv)
{
	struct json_object *reply = NULL;
	const char *name;
	int r;

	if (argc < 1)
		return p_usage("expected a map NAME (see '%s map show')", bin_name);
	name = argv[0];
	NEXT_ARG();
	NO_MORE_ARGS();
	r = map_call("map.dump", name, &reply);
	if (r != CLI_OK)
		return r;
	if (!json_print_reply(reply))
		print_dump(name, reply);
	json_object_put(reply);
	return CLI_OK;
}

int do_map(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "show", do_show }, { "list", do_show }, { "dump", do_dump },
		{ "help", do_help }, { NULL, NULL },
	};

	return cmd_select(cmds, argc, argv, usage);
}
