# SPDX-License-Identifier: Apache-2.0
# Benchmarks (`make bench`): not pass/fail, each prints ratios measured side
# by side in one run. Included by the top Makefile.

BENCH_OUT := $(OUT)/bench

$(BENCH_OUT)/empty.bpf.o: tests/bench/empty.bpf.c $(OUT)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -I$(OUT) -c $< -o $@

$(BENCH_OUT)/empty.skel.h: $(BENCH_OUT)/empty.bpf.o
	$(BPFTOOL) gen skeleton $< name empty > $@.tmp && mv $@.tmp $@

$(BENCH_OUT)/empty: tests/bench/empty.c $(BENCH_OUT)/empty.skel.h
	$(CC) $(ALL_CFLAGS) -I$(BENCH_OUT) $< -o $@ $(LDLIBS)

$(BENCH_OUT)/poll_baseline: tests/bench/poll_baseline.c $(OUT)/libcgpilot.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(OUT)/libcgpilot.a $(LDLIBS)

$(BENCH_OUT)/lightwork: tests/bench/lightwork.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $< -o $@

$(BENCH_OUT)/scale_read: tests/bench/scale_read.c $(OUT)/libcgpilot.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(OUT)/libcgpilot.a $(LDLIBS)

SCRAPE_BENCH = CGPILOTD=$(OUT)/cgpilotd CGPILOT=$(OUT)/cgpilot BASELINE=$(BENCH_OUT)/poll_baseline \
	LIGHTWORK=$(BENCH_OUT)/lightwork SCALE_READ=$(BENCH_OUT)/scale_read tests/bench/scrape.sh
SCRAPE_DEPS = all $(BENCH_OUT)/poll_baseline $(BENCH_OUT)/lightwork $(BENCH_OUT)/scale_read

# The daemon at 1,000 cgroups (100 working) and at 10,000 (1,000 working):
# its reads beside cgroupfs polling, /metrics beside a file-polling exporter,
# its CPU and memory over a minute.
.PHONY: bench-scale
bench-scale: $(SCRAPE_DEPS)
	NCG=1000 NWORK=100 $(SCRAPE_BENCH)
	NCG=10000 NWORK=1000 $(SCRAPE_BENCH)

bench: all $(BENCH_OUT)/empty $(SCRAPE_DEPS)
	CGPILOTD=$(OUT)/cgpilotd EMPTY_LOADER=$(BENCH_OUT)/empty BPFTOOL=$(BPFTOOL) \
		tests/bench/overhead.sh
	NCG=1000 NWORK=100 $(SCRAPE_BENCH)
	NCG=10000 NWORK=1000 $(SCRAPE_BENCH)
	OUT=$(OUT) python3 tests/bench/reaction.py

# Decision cost where limits can be written: in a 6.12 guest (vmtest), the
# time from container.admit to its reply (cgroup made, knobs written) at 1,
# 100 and 1,000 containers, beside mkdir and the same writes.
.PHONY: bench-admit
bench-admit: all vmtest-guest
	OUT=$(OUT) VMTEST_NO_MAKE=1 vmtest/run.sh --kernel 6.12 --profile bench --test bench_admit -v 2>&1 | \
		grep -E '^bench admit:|passed|failed'

bench: bench-admit

# Launcher start cost in both kernels' guests: 100 containers of /bin/true
# with cgpilot-run and with crun on the same bundle, and a plain fork+exec.
.PHONY: bench-run
bench-run: all vmtest-guest
	OUT=$(OUT) VMTEST_NO_MAKE=1 vmtest/run.sh --kernel 6.12 --kernel 6.1 --profile bench \
		--test bench_run -v 2>&1 | grep -E '^bench run:|passed|failed'

bench: bench-run

# The engines' start cost with cgpilot-run as their OCI runtime against crun
# (target: no slower), podman and containerd in the 6.12 and 6.1 guests.
.PHONY: bench-engines
bench-engines: all vmtest-guest
	OUT=$(OUT) VMTEST_NO_MAKE=1 vmtest/run.sh --kernel 6.12 --kernel 6.1 --profile bench \
		--test bench_engines -v 2>&1 | grep -E '^bench engines:|passed|failed'

bench: bench-engines

# QoS outcome in both kernels' guests: the guaranteed probe's p99 alone,
# beside a CPU hog without cgpilot and with its policy (target: 1.25 of solo).
.PHONY: bench-qos
bench-qos: all vmtest-guest
	OUT=$(OUT) VMTEST_NO_MAKE=1 vmtest/run.sh --kernel 6.1 --kernel 6.12 --profile bench \
		--test bench_qos -v 2>&1 | grep -E '^bench qos:|passed|failed'

bench: bench-qos

# Reaction of the CPU loop in both kernels' guests (the quota rung: onset,
# decision, first write), with a PSI trigger's wake-up on the same pressure
# beside it: what the in-kernel onset buys over a PSI-driven loop.
.PHONY: bench-reaction
bench-reaction: all vmtest-guest
	OUT=$(OUT) VMTEST_NO_MAKE=1 vmtest/run.sh --kernel 6.1 --kernel 6.12 --profile bench \
		--test bench_reaction -v 2>&1 | grep -E '^bench reaction|passed|failed'

bench: bench-reaction
