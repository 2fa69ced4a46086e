#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Scrape and daemon cost with many cgroups, measured side by side in one run:
#  (a) /metrics: time to serve and size, beside a file-polling baseline
#      (tests/bench/poll_baseline.c) that reads the same figures from cgroupfs
#      for the same cgroups the way cAdvisor does; alternated, ROUNDS each;
#  (b) cgpilotd over DURATION seconds: its CPU share (user+sys), our BPF
#      programs' run time (kernel.bpf_stats_enabled on for this part only),
#      resident memory (VmRSS once steady, VmHWM);
#  (c) the per-cgroup view: every cgroup's counters as the daemon reads them
#      each tick (its pinned maps, batch lookups: tests/bench/scale_read.c),
#      beside the same slots read one lookup each, and beside reading
#      cpu.stat, the three *.pressure files, memory.current and io.stat of
#      every cgroup as cAdvisor does; alternated in one process, ROUNDS each;
#      and the daemon's own figure of its last tick's read (status).
# With NCG cgroups observed (default 1000), NWORK of them running light work
# (tests/bench/lightwork.c: 20 us of CPU every 100 ms, no fork).
# Not pass/fail: prints the figures and whether each target is met.

set -euo pipefail

CGPILOTD=${CGPILOTD:-build/cgpilotd}
CGPILOT=${CGPILOT:-build/cgpilot}
BASELINE=${BASELINE:-build/bench/poll_baseline}
LIGHTWORK=${LIGHTWORK:-build/bench/lightwork}
SCALE_READ=${SCALE_READ:-build/bench/scale_read}
NCG=${NCG:-1000}
NWORK=${NWORK:-100}
ROUNDS=${ROUNDS:-20}
DURATION=${DURATION:-60}
STATS_SYSCTL=/proc/sys/kernel/bpf_stats_enabled

die()
{
	echo "Error: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "the scrape bench creates cgroups and loads BPF: run it as root"
[ -x "$CGPILOTD" ] && [ -x "$CGPILOT" ] || die "build first: make all"
for b in "$BASELINE" "$LIGHTWORK" "$SCALE_READ"; do
	[ -x "$b" ] || die "$b not found: make bench builds it"
done
command -v curl >/dev/null || die "curl is needed (apt-get install curl)"

V2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$V2" ] || die "no cgroup2 mount"
grep -q ' /sys/fs/bpf bpf ' /proc/self/mounts || mount -t bpf bpf /sys/fs/bpf

PARENT="$V2/cgpilot-bench-$$"
TMP=$(mktemp -d /tmp/cgpilot-bench.XXXXXX)
PIN=/sys/fs/bpf/cgpilot-bench-$$
DPID=
STATS_OLD=$(cat "$STATS_SYSCTL")
WPID=

cleanup()
{
	set +e
	echo "$STATS_OLD" > "$STATS_SYSCTL"
	[ -n "$WPID" ] && kill "$WPID" 2>/dev/null && wait "$WPID" 2>/dev/null
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	if [ -d "$PARENT" ]; then
		for d in "$PARENT"/*/; do
			[ -s "$d/cgroup.procs" ] && echo 1 > "$d/cgroup.kill" 2>/dev/null
		done
		sleep 0.2
		find "$PARENT" -mindepth 1 -depth -type d -delete 2>/dev/null
		rmdir "$PARENT" 2>/dev/null
	fi
	rm -rf "$PIN" "$TMP"
}
trap cleanup EXIT INT TERM

median()
{
	sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

mkdir "$PARENT"
seq -f "$PARENT/c%05g" 0 $((NCG - 1)) | xargs mkdir
mapfile -t WDIRS < <(seq -f "$PARENT/c%05g" 0 $((NWORK - 1)))
"$LIGHTWORK" 100 20 "${WDIRS[@]}" > "$TMP/work.out" &
WPID=$!
for _ in $(seq 600); do grep -q ready "$TMP/work.out" && break; sleep 0.1; done
grep -q ready "$TMP/work.out" || die "the light workers did not start"

"$CGPILOTD" --foreground --runtime-dir "$TMP" --pin-dir "$PIN" --socket "$TMP/s.sock" \
	--metrics-address 127.0.0.1:0 --config /dev/null > "$TMP/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 100); do [ -S "$TMP/s.sock" ] && break; sleep 0.1; done
ADDR=$("$CGPILOT" --socket "$TMP/s.sock" -j node status | sed -n 's/.*"metrics_address":"\([^"]*\)".*/\1/p')
[ -n "$ADDR" ] || die "daemon did not come up: $(cat "$TMP/daemon.log")"
echo "# $NCG cgroups ($NWORK working), daemon pid $DPID, metrics on $ADDR; warming up 12 s" >&2
sleep 12 # one PSI sweep (psi_sweep_s = 10) and a few samples

# (c) first, before the minute of (b): the per-cgroup view
PINV=$(ls -d "$PIN"/v* | head -1)
"$SCALE_READ" "$PINV" "$ROUNDS" "$PARENT"/c* > "$TMP/reads"
READ_NS=$("$CGPILOT" --socket "$TMP/s.sock" -j node status |
	python3 -c 'import json,sys; s=json.load(sys.stdin)["slots"]; print(s["read_ns"], s["read_max_ns"], s["read_cgroups"], s["used"], s["capacity"], s.get("map_bytes", 0))')

: > "$TMP/ours"
: > "$TMP/base"
for _ in $(seq "$ROUNDS"); do
	curl -s -o "$TMP/scrape.txt" -w '%{time_total} %{size_download} %{time_connect} %{time_starttransfer}\n' "http://$ADDR/metrics" | tee -a "$TMP/curl.log" |
		awk '{ printf "%.3f %d\n", $1 * 1000, $2 }' >> "$TMP/ours"
	"$BASELINE" 1 "$PARENT"/c* >> "$TMP/base"
done
cat "$TMP/curl.log" >&2
OURS_MS=$(cut -d' ' -f1 "$TMP/ours" | median)
OURS_MIN=$(cut -d' ' -f1 "$TMP/ours" | sort -g | head -1)
OURS_MAX=$(cut -d' ' -f1 "$TMP/ours" | sort -g | tail -1)
OURS_B=$(tail -1 "$TMP/ours" | cut -d' ' -f2)
BASE_MS=$(cut -d' ' -f1 "$TMP/base" | median)
BASE_MIN=$(cut -d' ' -f1 "$TMP/base" | sort -g | head -1)
BASE_MAX=$(cut -d' ' -f1 "$TMP/base" | sort -g | tail -1)
BASE_B=$(tail -1 "$TMP/base" | cut -d' ' -f2)
RENDER_S=$(sed -n 's/^cgpilot_scrape_duration_seconds \(.*\)/\1/p' "$TMP/scrape.txt")
SERIES=$(grep -c '^cgpilot_' "$TMP/scrape.txt" || true)

# (b) a minute of the daemon's life
ticks=$(getconf CLK_TCK)
cpu_of() { awk '{ print $14 + $15 }' "/proc/$DPID/stat"; }
bpf_ns() {
	"$CGPILOT" --socket "$TMP/s.sock" -j prog show sample 0 |
		python3 -c 'import json,sys; print(sum(p["run_time_ns"] for p in json.load(sys.stdin)["progs"]))'
}
echo 1 > "$STATS_SYSCTL"
c0=$(cpu_of)
b0=$(bpf_ns)
t0=$(date +%s.%N)
sleep "$DURATION"
c1=$(cpu_of)
b1=$(bpf_ns)
t1=$(date +%s.%N)
echo "$STATS_OLD" > "$STATS_SYSCTL"
RSS_KB=$(awk '/^VmRSS/ { print $2 }' "/proc/$DPID/status")
HWM_KB=$(awk '/^VmHWM/ { print $2 }' "/proc/$DPID/status")

python3 - "$OURS_MS" "$OURS_MIN" "$OURS_MAX" "$OURS_B" "$BASE_MS" "$BASE_MIN" "$BASE_MAX" \
	"$BASE_B" "${RENDER_S:-0}" "$SERIES" "$c0" "$c1" "$ticks" "$b0" "$b1" "$t0" "$t1" \
	"$RSS_KB" "$HWM_KB" "$NCG" "$NWORK" "$ROUNDS" "$TMP/reads" "$READ_NS" <<'PY'
import statistics, sys
(ours, omin, omax, ob, base, bmin, bmax, bb, render, series, c0, c1, tck, b0, b1, t0, t1, rss,
 hwm, ncg, nwork, rounds, reads, read_ns) = sys.argv[1:]
ours, omin, omax, base, bmin, bmax = map(float, (ours, omin, omax, base, bmin, bmax))
wall = float(t1) - float(t0)
cpu_pct = (float(c1) - float(c0)) / float(tck) / wall * 100
bpf_pct = (int(b1) - int(b0)) / 1e9 / wall * 100
ratio = base / ours if ours else float("inf")
met = lambda ok: "target met" if ok else "target MISSED"
print("scrape bench: %s cgroups observed (%s running work), %s alternated rounds" % (ncg, nwork, rounds))
print("  cgpilot /metrics   median %8.2f ms (min %.2f, max %.2f), %d bytes, %s cgpilot_ samples, render %.2f ms"
      % (ours, omin, omax, int(ob), series, float(render) * 1e3))
print("  file polling       median %8.2f ms (min %.2f, max %.2f), %d bytes" % (base, bmin, bmax, int(bb)))
print("  baseline / cgpilot = %.1fx   [target >= 20x: %s; scrape < 20 ms: %s]"
      % (ratio, met(ratio >= 20), met(ours < 20)))
print("daemon over %.0f s:" % wall)
print("  cgpilotd CPU       %.3f %% of one core   [target < 1%%: %s]" % (cpu_pct, met(cpu_pct < 1)))
print("  BPF programs       %.3f %% of one core (run time with bpf_stats on)" % bpf_pct)
print("  resident memory    VmRSS %.1f MiB, VmHWM %.1f MiB   [target steady RSS < 16 MiB: %s]"
      % (int(rss) / 1024, int(hwm) / 1024, met(int(rss) < 16 * 1024)))
rows = [list(map(float, l.split())) for l in open(reads) if l.strip()]
med = lambda k: statistics.median(r[k] for r in rows)
walk, batch, single, files = med(0), med(1), med(2), med(3)
nslots, nfiles = int(rows[-1][4]), int(rows[-1][5])
view = walk + batch
rns, rmax, rcg, used, cap, mbytes = map(int, read_ns.split())
print("per-cgroup view, %d alternated rounds (medians):" % len(rows))
print("  cg_slot walk       %8.2f ms   the cgroups that have a slot (those that ran): %d" % (walk, nslots))
print("  BPF maps, batch    %8.2f ms   their counters, neighbouring slots in one lookup of each map" % batch)
print("  BPF maps, single   %8.2f ms   the same, one lookup of each map per slot (batch/single %.2f)"
      % (single, batch / single if single else 0))
print("  cgroupfs files     %8.2f ms   %d files of %s cgroups" % (files, nfiles, ncg))
print("  cgroupfs / (walk + batch) = %.1fx   [target >= 20x: %s; under 20 ms: %s]"
      % (files / view if view else float("inf"), met(files >= 20 * view), met(view < 20)))
print("  the daemon's last tick read %d cgroups in %.2f ms (max %.2f ms since start), model updates included"
      % (rcg, rns / 1e6, rmax / 1e6))
print("  BPF slots %d of %d in use; maps %.1f MiB (the kernel's memlock figure)" % (used, cap, mbytes / 2**20))
PY
