#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Telemetry overhead, measured side by side in one run under a context-switch
# heavy load (perf bench sched pipe, both tasks pinned to one CPU so every
# round trip is two switches and two wakeups on that CPU, with no cross-CPU
# noise):
#  (a) ns per event of each of our BPF programs (run_time_ns / run_cnt with
#      kernel.bpf_stats_enabled=1 for this part only), beside an empty tp_btf
#      program (the floor) and runqlat from libbpf-tools (a peer), all attached
#      at once under the same load;
#  (b) the load's throughput with the daemon running divided by without, from
#      interleaved runs, stats off; the floor and runqlat are run the same way
#      (off, floor, runqlat, ours, off, ...) to show the share that no
#      tracer can avoid;
#  (c) ns per block request of the I/O programs, 4 KiB O_DIRECT reads of a
#      file, with the I/O latency signal off (the built-in default: only the
#      guaranteed containers the I/O policy protects have a threshold) and on
#      for every cgroup ([telemetry] io_threshold_us = 1).
# Not pass/fail: it prints the figures and whether each target is met.
#
# Environment: CGPILOTD, EMPTY_LOADER, BPFTOOL (set by `make bench`), RUNS
# (interleaved runs of each kind, default 10), LOOPS (round trips per run),
# BENCH_CPU (CPUs the load is pinned to, taskset list, default the last one;
# "0,1" lets the tasks switch across CPUs, far noisier on a VM), CGPILOTD_BEFORE
# (another build's cgpilotd, e.g. of the last release: attached beside ours in
# (a) as group "before", so a change of the programs' cost is seen side by
# side under the same load).

set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin # runqlat, bpftool

CGPILOTD=${CGPILOTD:-build/cgpilotd}
EMPTY_LOADER=${EMPTY_LOADER:-build/bench/empty}
BPFTOOL=${BPFTOOL:-bpftool}
RUNS=${RUNS:-10}
LOOPS=${LOOPS:-500000}
STATS_LOOPS=${STATS_LOOPS:-$((LOOPS * 2))}
BENCH_CPU=${BENCH_CPU:-$(($(nproc) - 1))}
STATS_SYSCTL=/proc/sys/kernel/bpf_stats_enabled

# Targets (see issue "Foundation", Benchmark).
TARGET_SWITCH_VS_RUNQLAT=0.5
TARGET_LOSS_PCT=5

die()
{
	echo "Error: $*" >&2
	exit 1
}

log()
{
	echo "# $*" >&2
}

[ "$(id -u)" = 0 ] || die "the overhead bench loads BPF programs: run it as root"
[ "$RUNS" -ge 10 ] 2>/dev/null || die "RUNS must be a number >= 10, not '$RUNS'"
[ -x "$CGPILOTD" ] || die "$CGPILOTD not found: build it with 'make all'"
[ -x "$EMPTY_LOADER" ] || die "$EMPTY_LOADER not found: build it with 'make bench'"

# Tools the bench needs, from Debian's packages.
need_pkgs=()
command -v perf >/dev/null || need_pkgs+=(linux-perf)
command -v runqlat >/dev/null || need_pkgs+=(libbpf-tools)
command -v "$BPFTOOL" >/dev/null || need_pkgs+=(bpftool)
command -v jq >/dev/null || need_pkgs+=(jq)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
	log "installing ${need_pkgs[*]}"
	apt-get install -y "${need_pkgs[@]}" >/dev/null ||
		die "could not install ${need_pkgs[*]} (try apt-get update first)"
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf ||
	die "bpffs is not mounted at /sys/fs/bpf and mounting it failed"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cgpilot-bench.XXXXXX")
# Not mktemp: bpffs refuses names with a dot (EPERM).
PIN_DIR=/sys/fs/bpf/cgpilot-bench-$$
mkdir "$PIN_DIR" || { rm -rf "$WORK"; die "cannot create the pin directory $PIN_DIR"; }
SOCKET=$WORK/cgpilot.sock
DAEMON_PID=
EMPTY_PID=
BEFORE_PID=
RUNQLAT_PID=
STATS_PREV=
STATS_CHANGED=0
DAEMON_ARGS=()

# Stop a child of ours: SIGTERM (or $2), then SIGKILL after 10 s, then reap.
stop_pid()
{
	local pid=$1 sig=${2:-TERM} i state

	[ -n "$pid" ] || return 0
	kill "-$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || break
		[ "$state" = Z ] && break
		sleep 0.1
	done
	if [ "$i" -ge 100 ]; then
		log "pid $pid ignored SIG$sig for 10 s: killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

set_stats()
{
	echo "$1" >"$STATS_SYSCTL"
}

cleanup()
{
	local rc=$?

	trap - EXIT INT TERM
	stop_pid "$RUNQLAT_PID" INT
	stop_pid "$EMPTY_PID"
	stop_pid "$DAEMON_PID"
	stop_pid "$BEFORE_PID"
	if [ "$STATS_CHANGED" = 1 ]; then
		set_stats "$STATS_PREV" || log "could not restore kernel.bpf_stats_enabled=$STATS_PREV"
	fi
	[ "$rc" = 0 ] || [ ! -s "$WORK/cgpilotd.log" ] || {
		echo "--- last lines of the daemon's log:" >&2
		tail -n 20 "$WORK/cgpilotd.log" >&2
	}
	rm -rf "$PIN_DIR" "$PIN_DIR-before" "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The BPF program ids that process $1 holds (program and link fds).
prog_ids_of()
{
	{ cat "/proc/$1/fdinfo/"* 2>/dev/null || true; } | awk '/^prog_id:/ {print $2}' | sort -un
}

# "id name run_time_ns run_cnt" for every id given on stdin.
prog_stats()
{
	local ids

	ids=$(jq -R -s -c 'split("\n") | map(select(length > 0) | tonumber)')
	"$BPFTOOL" prog show -j | jq -r --argjson ids "$ids" \
		'.[] | select(.id as $i | $ids | index($i)) |
		 "\(.id) \(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"'
}

daemon_start()
{
	local i

	rm -f "$SOCKET"
	"$CGPILOTD" --foreground --runtime-dir "$WORK/run" --pin-dir "$PIN_DIR" \
		--socket "$SOCKET" --metrics-address 127.0.0.1:0 "${DAEMON_ARGS[@]}" \
		>>"$WORK/cgpilotd.log" 2>&1 &
	DAEMON_PID=$!
	for ((i = 0; i < 300; i++)); do
		kill -0 "$DAEMON_PID" 2>/dev/null || {
			wait "$DAEMON_PID" || true
			DAEMON_PID=
			die "cgpilotd exited during start"
		}
		if [ -e "$SOCKET" ]; then
			prog_ids_of "$DAEMON_PID" | prog_stats |
				awk '$2 == "cgp_sched_switch" {f = 1} END {exit !f}' && return 0
		fi
		sleep 0.1
	done
	die "cgpilotd did not attach cgp_sched_switch and open $SOCKET within 30 s"
}

# The other build's daemon, beside ours (part (a) only).
before_start()
{
	local i sock=$WORK/before.sock

	"$CGPILOTD_BEFORE" --foreground --runtime-dir "$WORK/run-before" \
		--pin-dir "$PIN_DIR-before" --socket "$sock" --metrics-address 127.0.0.1:0 \
		>>"$WORK/before.log" 2>&1 &
	BEFORE_PID=$!
	for ((i = 0; i < 300; i++)); do
		kill -0 "$BEFORE_PID" 2>/dev/null || die "$CGPILOTD_BEFORE exited during start: $(tail -n 5 "$WORK/before.log")"
		if [ -e "$sock" ]; then
			prog_ids_of "$BEFORE_PID" | prog_stats |
				awk '$2 == "cgp_sched_switch" {f = 1} END {exit !f}' && return 0
		fi
		sleep 0.1
	done
	die "$CGPILOTD_BEFORE did not attach cgp_sched_switch within 30 s"
}

# Stop the daemon and make sure none of its programs stays attached.
daemon_stop()
{
	local ids i

	ids=$(prog_ids_of "$DAEMON_PID")
	stop_pid "$DAEMON_PID"
	DAEMON_PID=
	# Pinned objects would keep programs (pinned links) loaded: unpin them.
	find "$PIN_DIR" -mindepth 1 -delete
	for ((i = 0; i < 50; i++)); do
		[ -z "$(echo "$ids" | prog_stats)" ] && return 0
		sleep 0.1
	done
	die "programs of cgpilotd are still loaded after it stopped: $(echo "$ids" | prog_stats |
		awk '{print $2}' | tr '\n' ' ')"
}

# One run of the load; prints its ops/sec.
load()
{
	local out

	out=$(taskset -c "$BENCH_CPU" perf bench sched pipe -l "$1" 2>&1) ||
		die "perf bench sched pipe failed: $out"
	echo "$out" | awk '/ops\/sec/ {print $1; found = 1} END {exit !found}' ||
		die "no ops/sec in the output of perf bench sched pipe: $out"
}

# Start the empty floor programs and wait until they are attached.
floor_start()
{
	local i

	"$EMPTY_LOADER" >"$WORK/empty.out" 2>&1 &
	EMPTY_PID=$!
	for ((i = 0; i < 300; i++)); do
		grep -q '^ready$' "$WORK/empty.out" && return 0
		kill -0 "$EMPTY_PID" 2>/dev/null || break
		sleep 0.1
	done
	die "the empty loader did not attach: $(cat "$WORK/empty.out")"
}

floor_stop()
{
	stop_pid "$EMPTY_PID"
	EMPTY_PID=
}

# Start runqlat and wait until its three programs are attached (link fds).
peer_start()
{
	local i

	runqlat >"$WORK/runqlat.out" 2>&1 &
	RUNQLAT_PID=$!
	for ((i = 0; i < 300; i++)); do
		[ "$({ cat "/proc/$RUNQLAT_PID/fdinfo/"* 2>/dev/null || true; } |
			grep -c '^link_id:')" -ge 3 ] && return 0
		kill -0 "$RUNQLAT_PID" 2>/dev/null || break
		sleep 0.1
	done
	die "runqlat did not attach: $(cat "$WORK/runqlat.out")"
}

peer_stop()
{
	stop_pid "$RUNQLAT_PID" INT
	RUNQLAT_PID=
}

echo "cgpilot telemetry overhead: perf bench sched pipe pinned to CPU $BENCH_CPU," \
	"kernel $(uname -r), $(nproc) CPUs"

# ---- (a) ns per event, all side by side under one load ----
daemon_start
floor_start
peer_start
[ -z "${CGPILOTD_BEFORE:-}" ] || before_start
{
	prog_ids_of "$DAEMON_PID" | sed 's/^/ours /'
	[ -z "$BEFORE_PID" ] || prog_ids_of "$BEFORE_PID" | sed 's/^/before /'
	awk '$1 ~ /^empty_/ {print "floor", $2}' "$WORK/empty.out"
	prog_ids_of "$RUNQLAT_PID" | sed 's/^/runqlat /'
} >"$WORK/groups"

STATS_PREV=$(cat "$STATS_SYSCTL")
STATS_CHANGED=1
set_stats 1
awk '{print $2}' "$WORK/groups" | prog_stats >"$WORK/before"
stats_ops=$(load "$STATS_LOOPS")
awk '{print $2}' "$WORK/groups" | prog_stats >"$WORK/after"
set_stats "$STATS_PREV"
STATS_CHANGED=0
peer_stop
floor_stop
stop_pid "$BEFORE_PID"
BEFORE_PID=
daemon_stop

# group name events ns_per_event, for programs that ran
awk 'FILENAME == ARGV[1] {group[$2] = $1; next}
     FILENAME == ARGV[2] {t0[$1] = $3; c0[$1] = $4; next}
     {
	dc = $4 - c0[$1]; dt = $3 - t0[$1]
	printf "%s %s %d %s\n", group[$1], $2, dc, (dc > 0 ? sprintf("%.1f", dt / dc) : "-")
     }' "$WORK/groups" "$WORK/before" "$WORK/after" | sort -k1,1 -k2,2 >"$WORK/cost"

# ns/event of the program of group $1 whose name, less the cgp_/empty_/handle_
# and sched_ prefixes, is $2 (switch, wakeup)
cost_of()
{
	awk -v g="$1" -v n="$2" '$1 == g {
		name = $2; sub(/^(cgp_|empty_|handle_)/, "", name); sub(/^sched_/, "", name)
		if (name == n) {print $4; exit}
	}' "$WORK/cost"
}

echo
echo "(a) cost per event, all attached at once, kernel.bpf_stats_enabled=1 during this" \
	"part only; $STATS_LOOPS round trips at $stats_ops ops/s"
printf "    %-8s %-26s %12s %10s\n" group program events ns/event
awk '$3 > 0 {printf "    %-8s %-26s %12s %10s\n", $1, $2, $3, $4}' "$WORK/cost"
idle=$(awk '$3 == 0 {print $2}' "$WORK/cost" | paste -sd ' ')
if [ -n "$idle" ]; then
	echo "    attached, no events during the load:"
	echo "$idle" | fold -s -w 88 | sed 's/ *$//; s/^/        /'
fi

echo
printf "    %-13s %9s %9s %9s %11s %13s   %s\n" hook ours floor runqlat ours/floor \
	ours/runqlat target
for hook in switch wakeup; do
	awk -v h="sched_$hook" -v o="$(cost_of ours "$hook")" -v f="$(cost_of floor "$hook")" \
		-v p="$(cost_of runqlat "$hook")" -v t="$TARGET_SWITCH_VS_RUNQLAT" '
		function r(a, b) {
			if (a == "" || b == "" || a == "-" || b == "-" || b == 0)
				return "-"
			return sprintf("%.3f", a / b)
		}
		BEGIN {
			target = "(no target)"
			if (h == "sched_switch" && r(o, p) == "-")
				target = "target unknown"
			else if (h == "sched_switch" && o / p <= t)
				target = sprintf("target met (<= %.2f x runqlat)", t)
			else if (h == "sched_switch")
				target = sprintf("target missed (<= %.2f x runqlat)", t)
			printf "    %-13s %9s %9s %9s %11s %13s   %s\n", h, (o == "" ? "-" : o),
				(f == "" ? "-" : f), (p == "" ? "-" : p), r(o, f), r(o, p), target
		}'
done
if [ -n "${CGPILOTD_BEFORE:-}" ]; then
	for hook in switch wakeup; do
		awk -v h="sched_$hook" -v o="$(cost_of ours "$hook")" -v b="$(cost_of before "$hook")" '
			BEGIN {
				if (o == "" || b == "" || o == "-" || b == "-" || b == 0)
					exit
				printf "    %-13s ours %s ns, before %s ns: ours/before %.3f\n", h, o, b, o / b
			}'
	done
fi

# ---- (b) throughput, interleaved, stats off ----
if [ "$(cat "$STATS_SYSCTL")" != 0 ]; then
	STATS_PREV=$(cat "$STATS_SYSCTL")
	STATS_CHANGED=1
	set_stats 0
fi

# run_time_ns of the running daemon's cgp_sched_switch: grows only if stats are on
switch_time()
{
	prog_ids_of "$DAEMON_PID" | prog_stats | awk '$2 == "cgp_sched_switch" {print $3}'
}

# Names of scheduler programs loaded by someone else (another cgpilotd, a
# tracer): they run in every round, "off" included, and blur the ratios.
foreign_sched_progs()
{
	"$BPFTOOL" prog show -j |
		jq -r '.[] | select(.name // "" | test("sched_(switch|wakeup)")) | .name'
}

foreign=$(foreign_sched_progs)
stats_seen=0
load "$LOOPS" >/dev/null # warm-up, not counted
: >"$WORK/runs"
for ((i = 0; i < RUNS; i++)); do
	off=$(load "$LOOPS")
	floor_start
	floor=$(load "$LOOPS")
	floor_stop
	peer_start
	peer=$(load "$LOOPS")
	peer_stop
	daemon_start
	sleep 1 # let the daemon's start-up sweep pass
	t0=$(switch_time)
	ours=$(load "$LOOPS")
	[ "$(switch_time)" = "$t0" ] || stats_seen=1
	daemon_stop
	echo "$off $floor $peer $ours" >>"$WORK/runs"
done

foreign=$( (echo "$foreign"; foreign_sched_progs) | sort -u | paste -sd ' ')
if [ "$STATS_CHANGED" = 1 ]; then
	set_stats "$STATS_PREV"
	STATS_CHANGED=0
fi

# Quantile $1 (0..1) of the numbers on stdin, linear interpolation, printf format $2.
quantile()
{
	sort -g | awk -v q="$1" -v fmt="$2\n" '{v[NR] = $1}
		END {
			x = 1 + (NR - 1) * q; i = int(x); f = x - i
			printf fmt, (i < NR ? v[i] + f * (v[i + 1] - v[i]) : v[i])
		}'
}

# One row of the table: label $1, then median min p25 p75 max of the numbers
# on stdin in printf format $2.
row()
{
	local vals q

	vals=$(cat)
	printf "    %-22s" "$1"
	for q in 0.5 0 0.25 0.75 1; do
		printf " %9s" "$(echo "$vals" | quantile "$q" "$2")"
	done
	echo
}

echo
echo "(b) throughput of the load, $RUNS interleaved runs each of $LOOPS round trips" \
	"(off, floor, runqlat, ours, off, ...), stats off"
printf "    %-22s %9s %9s %9s %9s %9s\n" "" median min p25 p75 max
awk '{print $1}' "$WORK/runs" | row "off (ops/s)" %.0f
awk '{print $2}' "$WORK/runs" | row "empty floor (ops/s)" %.0f
awk '{print $3}' "$WORK/runs" | row "runqlat (ops/s)" %.0f
awk '{print $4}' "$WORK/runs" | row "cgpilotd (ops/s)" %.0f
echo "    ratio to the off run of the same round:"
awk '{print $2 / $1}' "$WORK/runs" | row "empty floor / off" %.3f
awk '{print $3 / $1}' "$WORK/runs" | row "runqlat / off" %.3f
awk '{print $4 / $1}' "$WORK/runs" | row "cgpilotd / off" %.3f
med=$(awk '{print $4 / $1}' "$WORK/runs" | quantile 0.5 %.4f)
awk -v m="$med" -v t="$TARGET_LOSS_PCT" 'BEGIN {
	loss = (1 - m) * 100
	printf "    cgpilotd throughput loss (median): %.1f%%   %s (<= %d%%)\n", loss,
		(loss <= t ? "target met" : "target missed"), t
}'
if [ -n "${foreign// /}" ]; then
	echo "    note: other scheduler programs were attached during (b), in every round:" \
		"$foreign"
fi
if [ "$stats_seen" = 1 ]; then
	echo "    note: BPF run-time stats were on during (b) (bpf_enable_stats by another" \
		"process?): the losses include their cost"
fi

# ---- (c) block I/O requests, the I/O latency signal off and on ----
IO_MB=${IO_MB:-64}
dd if=/dev/zero of="$WORK/io.dat" bs=1M count="$IO_MB" oflag=direct status=none ||
	die "cannot write $WORK/io.dat with O_DIRECT"
STATS_PREV=$(cat "$STATS_SYSCTL")

# "name events ns/event" of the I/O programs for a read of the file, with the
# config text $1.
io_cost()
{
	local ids

	printf '%s\n' "$1" >"$WORK/io.conf"
	DAEMON_ARGS=(--config "$WORK/io.conf")
	daemon_start
	ids=$(prog_ids_of "$DAEMON_PID")
	STATS_CHANGED=1
	set_stats 1
	echo "$ids" | prog_stats >"$WORK/io.before"
	dd if="$WORK/io.dat" of=/dev/null bs=4k iflag=direct status=none
	echo "$ids" | prog_stats >"$WORK/io.after"
	set_stats "$STATS_PREV"
	STATS_CHANGED=0
	daemon_stop
	DAEMON_ARGS=()
	awk 'FILENAME == ARGV[1] {t0[$1] = $3; c0[$1] = $4; next}
	     $2 ~ /^cgp_block_rq_(issue|complete)$/ {
		dc = $4 - c0[$1]; dt = $3 - t0[$1]
		printf "%s %d %s\n", $2, dc, (dc > 0 ? sprintf("%.1f", dt / dc) : "-")
	     }' "$WORK/io.before" "$WORK/io.after" | sort
}

io_cost "[telemetry]
io_threshold_us = 0" >"$WORK/io.off"
io_cost "[telemetry]
io_threshold_us = 1" >"$WORK/io.on"
echo
echo "(c) block I/O, $IO_MB MiB read in 4 KiB O_DIRECT requests, kernel.bpf_stats_enabled=1"
printf "    %-24s %12s %14s %14s %10s\n" program requests "ns/req (off)" "ns/req (on)" on/off
join "$WORK/io.off" "$WORK/io.on" | awk '{
	printf "    %-24s %12s %14s %14s %10s\n", $1, $2, $3, $5,
		($3 > 0 && $5 != "-" ? sprintf("%.2f", $5 / $3) : "-")
}'
