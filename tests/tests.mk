# Test layers (see docs/ARCHITECTURE.md, "Tests"). Included by the Makefile.

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/tests/unit/%,$(UNIT_SRCS))
# Pure daemon modules the unit tests may link besides lib/.
UNIT_DAEMON_OBJS := $(OUT)/daemon/model.o $(OUT)/daemon/history.o \
	$(patsubst %.c,$(OUT)/%.o,$(wildcard daemon/policy/*.c))
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

$(OUT)/tests/unit/%: tests/unit/%.c $(OUT)/libcgpilot.a $(UNIT_DAEMON_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Idaemon -o $@ $< $(UNIT_DAEMON_OBJS) $(OUT)/libcgpilot.a $(LDLIBS) \
		$(CMOCKA_LIBS)

# The launcher's pure option parsing (tools/run/args.c) has a test of its own.
$(OUT)/tests/unit/test_run_args: tests/unit/test_run_args.c $(OUT)/tools/run/args.o $(OUT)/libcgpilot.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itools/run -o $@ $< $(OUT)/tools/run/args.o $(OUT)/libcgpilot.a $(LDLIBS) \
		$(CMOCKA_LIBS)

# The OCI runtime's command line and state file (tools/run/rt_args.c, rt_state.c).
RT_UNIT_OBJS := $(OUT)/tools/run/rt_args.o $(OUT)/tools/run/rt_state.o
$(OUT)/tests/unit/test_rt_args: tests/unit/test_rt_args.c $(RT_UNIT_OBJS) $(OUT)/libcgpilot.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itools/run -o $@ $< $(RT_UNIT_OBJS) $(OUT)/libcgpilot.a $(LDLIBS) \
		$(CMOCKA_LIBS)

# Unit tests: no root, no kernel.
check: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || fail=1; done; exit $$fail

# The same unit tests under AddressSanitizer + UndefinedBehaviorSanitizer, and
# the daemon built so too, for the hostile-client integration tests: a
# use-after-free there only shows under the sanitizer.
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_MAKE = $(MAKE) OUT=$(OUT)/asan CC=clang CFLAGS="-O1 -g $(SAN_FLAGS)" LDFLAGS="$(SAN_FLAGS)"
test-asan:
	$(SAN_MAKE) check

# Leaks are the unit tests' business; here a sanitizer report fails the daemon.
test-asan-integration:
	$(SAN_MAKE) all test-helpers
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 OUT=$(OUT)/asan python3 tests/integration/run.py \
		-m test_hostile -m test_control -m test_parse -m test_containers -m test_policy -m test_run -m test_runtime \
		-m test_page -m test_filesonly

# libFuzzer harnesses (clang). `make fuzz` runs each for FUZZ_SECONDS.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUT)/fuzz/%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

$(OUT)/fuzz/%: tests/fuzz/%.c $(LIB_SRCS) $(wildcard lib/*.h lib/actuate/*.h include/*.h)
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -std=gnu11 -D_GNU_SOURCE -Iinclude -Ilib $(PKG_CFLAGS) -o $@ $< \
		$(LIB_SRCS) $(PKG_LIBS)

# the runtime's command line and state file are cgpilot-run's, not lib/'s
$(OUT)/fuzz/fuzz_runtime: tests/fuzz/fuzz_runtime.c tools/run/rt_args.c tools/run/rt_state.c \
		tools/run/runtime.h $(LIB_SRCS) $(wildcard lib/*.h lib/actuate/*.h include/*.h)
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -std=gnu11 -D_GNU_SOURCE -Iinclude -Ilib -Itools/run $(PKG_CFLAGS) -o $@ \
		$< tools/run/rt_args.c tools/run/rt_state.c $(LIB_SRCS) $(PKG_LIBS)

# the admission request and the adoption patterns are daemon/policy/'s (pure)
FUZZ_POLICY_DEPS := $(LIB_SRCS) $(wildcard lib/*.h lib/actuate/*.h include/*.h daemon/policy/*.h)
$(OUT)/fuzz/fuzz_admit: tests/fuzz/fuzz_admit.c daemon/policy/admit_req.c daemon/policy/class.c \
		$(FUZZ_POLICY_DEPS)
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -std=gnu11 -D_GNU_SOURCE -Iinclude -Ilib -Idaemon $(PKG_CFLAGS) -o $@ \
		$< daemon/policy/admit_req.c daemon/policy/class.c $(LIB_SRCS) $(PKG_LIBS)
$(OUT)/fuzz/fuzz_path: tests/fuzz/fuzz_path.c daemon/policy/adopt.c $(FUZZ_POLICY_DEPS)
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -std=gnu11 -D_GNU_SOURCE -Iinclude -Ilib -Idaemon $(PKG_CFLAGS) -o $@ \
		$< daemon/policy/adopt.c $(LIB_SRCS) $(PKG_LIBS)

fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do \
		c=$(OUT)/fuzz/corpus-$$(basename $$f); mkdir -p $$c; \
		echo "== $$f ($(FUZZ_SECONDS) s)"; \
		if ! $$f -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(OUT)/fuzz/ $$c \
			tests/fuzz/seeds/$${f##*/fuzz_} > $$c.log 2>&1; then \
			cat $$c.log; echo "fuzzer $$f failed"; exit 1; fi; tail -n 1 $$c.log; \
	done

fuzz-short:
	$(MAKE) fuzz FUZZ_SECONDS=15

# Static analysis: clang-tidy with the checked-in .clang-tidy (bugprone,
# cert, the clang static analyzer), every finding an error. One stamp per
# file, so `make -j lint` spreads it and a clean file is not checked again.
LINT_SRCS := $(LIB_SRCS) $(DAEMON_SRCS) $(CLI_SRCS) $(RUN_SRCS)
LINT_STAMPS := $(patsubst %.c,$(OUT)/lint/%.ok,$(LINT_SRCS))
LINT_FLAGS := -std=gnu11 -D_GNU_SOURCE -Iinclude -Ilib -I$(OUT) -Idaemon -Itools -Itools/run \
	$(PKG_CFLAGS)
$(OUT)/lint/%.ok: %.c .clang-tidy $(SKELS) $(wildcard include/*.h lib/*.h lib/actuate/*.h \
		daemon/*.h daemon/policy/*.h tools/*.h tools/run/*.h)
	@mkdir -p $(@D)
	@clang-tidy --quiet $< -- $(LINT_FLAGS) 2>/dev/null || \
		{ echo "lint: $< has findings (above)" >&2; exit 1; }
	@touch $@

lint:
	@$(MAKE) --no-print-directory -j$$(nproc) $(LINT_STAMPS)
	@echo "lint: $(words $(LINT_SRCS)) files clean"

# The daemon under valgrind (memcheck) for the control requests and the
# container life cycle (admission, queue, restart, kill -9, state on a full
# disk, adoption, freezing): every invalid read or write, use of an
# uninitialised value, or definite leak fails the run (--error-exitcode on a
# clean stop, and the logs are checked besides, for the daemons a test
# kills). Not here: tests that time or weigh the daemon (valgrind is 20-50x
# slower and its RSS its own), cap its fds with prlimit (valgrind needs fds
# of its own), or signal through pidfd_open (valgrind 3.19 has no such
# syscall; nor openat2, so the daemon's fallback path is the one run).
# tests/valgrind.supp: libbpf's partly set union bpf_attr.
VALGRIND_LOG := $(OUT)/valgrind
VALGRIND_OPTS := -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	--suppressions=tests/valgrind.supp --log-file=$(VALGRIND_LOG)/daemon.%p.log
VALGRIND_TESTS := control_change_rate control_reply_too_large control_socket_mode \
	admit_burstable_telemetry_only refused_with_numbers queue_and_cancel restart_keeps_containers \
	kill9_keeps_acknowledged state_disk_full_or_read_only adoption_kubelet_tree freeze_audited
test-valgrind: all test-helpers
	@rm -rf $(VALGRIND_LOG) && mkdir -p $(VALGRIND_LOG)
	CGPILOT_TEST_SLOW=10 CGPILOT_TEST_WRAP="valgrind $(VALGRIND_OPTS)" \
		python3 tests/integration/run.py -m test_control -m test_containers \
		$(addprefix -k ,$(VALGRIND_TESTS))
	@bad=$$(grep -l '^==[0-9]*== [^ ]' $(VALGRIND_LOG)/*.log 2>/dev/null); \
	if [ -n "$$bad" ]; then cat $$bad; echo "valgrind: errors in $$bad" >&2; exit 1; fi; \
	echo "valgrind: $$(ls $(VALGRIND_LOG) | wc -l) daemon runs clean"

# Helpers the host integration tests run: nobpf starts a program with bpf(2)
# denied by seccomp (test_filesonly.py).
TEST_HELPERS := $(OUT)/tests/integration/nobpf
$(OUT)/tests/integration/nobpf: tests/integration/nobpf.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDFLAGS) $(shell $(PKG_CONFIG) --libs libseccomp 2>/dev/null || echo -lseccomp)

test-helpers: $(TEST_HELPERS)

# Host integration tests: root, BPF on the running kernel, own daemon per test.
test-integration: all test-helpers
	python3 tests/integration/run.py

# Every layer this machine supports. Packages first (a fresh Debian 12 has
# none of them), then a fresh build so pkg-config sees the libraries.
test:
	$(MAKE) deps
	$(MAKE) test-layers

test-layers: all lint check test-asan fuzz-short test-integration test-asan-integration test-valgrind \
	test-packaging \
	vmtest vmtest-btf61
	@echo "all test layers passed"
