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

bench: all $(BENCH_OUT)/empty $(BENCH_OUT)/poll_baseline
	CGPILOTD=$(OUT)/cgpilotd EMPTY_LOADER=$(BENCH_OUT)/empty BPFTOOL=$(BPFTOOL) \
		tests/bench/overhead.sh
	CGPILOTD=$(OUT)/cgpilotd CGPILOT=$(OUT)/cgpilot BASELINE=$(BENCH_OUT)/poll_baseline \
		tests/bench/scrape.sh
