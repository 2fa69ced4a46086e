# SPDX-License-Identifier: Apache-2.0
# cgpilot top-level build. Output goes to $(OUT) (default ./build).

OUT ?= build
PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
# BTF the BPF code is compiled against; `make VMLINUX_BTF=... bpf-check`
# compiles against another kernel's BTF (see vmtest/).
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

LIBS_PKG := libbpf json-c inih libmicrohttpd
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIBS_PKG) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(LIBS_PKG) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
# CFLAGS/LDFLAGS are the user's (e.g. sanitizers); the project's flags are added
# in ALL_CFLAGS so a CFLAGS on the command line does not drop them.
CFLAGS ?= -O2 -g
ALL_CFLAGS = $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -Ilib -I$(OUT) $(PKG_CFLAGS)
LDLIBS = $(LDFLAGS) $(PKG_LIBS) -lelf -lz

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-Iinclude -Ibpf

# lib/actuate/: the isolators, the only code that writes cgroup files
LIB_SRCS := $(wildcard lib/*.c lib/actuate/*.c)
# daemon/policy/: the pure decisions (no syscalls), below the loop and requests
DAEMON_SRCS := $(wildcard daemon/*.c daemon/policy/*.c)
CLI_SRCS := $(wildcard tools/*.c)
# tools/run/: the launcher, cgpilot-run (with the CLI's client and the class
# decisions of daemon/policy/class.c, for --standalone)
RUN_SRCS := $(wildcard tools/run/*.c)
BPF_SRCS := $(wildcard bpf/*.bpf.c)

LIB_OBJS := $(patsubst %.c,$(OUT)/%.o,$(LIB_SRCS))
DAEMON_OBJS := $(patsubst %.c,$(OUT)/%.o,$(DAEMON_SRCS)) $(OUT)/daemon/page_html.o
CLI_OBJS := $(patsubst %.c,$(OUT)/%.o,$(CLI_SRCS))
RUN_OBJS := $(patsubst %.c,$(OUT)/%.o,$(RUN_SRCS)) $(OUT)/tools/client.o $(OUT)/daemon/policy/class.o
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))

.PHONY: all clean install deps run check test test-unit test-asan test-asan-integration test-integration test-helpers \
	fuzz fuzz-short lint test-valgrind bench vmtest bpf-check format

all: $(OUT)/cgpilotd $(OUT)/cgpilot $(OUT)/cgpilot-run

# keep generated objects and skeletons between runs
.SECONDARY:

$(OUT)/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c $(OUT)/vmlinux.h $(wildcard bpf/*.h include/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -I$(OUT) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(OUT)/%.o: %.c $(SKELS) $(wildcard include/*.h lib/*.h lib/actuate/*.h daemon/*.h daemon/policy/*.h \
		tools/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The live page (daemon/page.c serves it), embedded as a C array: od is in
# coreutils, and the page is one file with nothing to fetch at run time.
$(OUT)/daemon/page_html.c: daemon/page.html
	@mkdir -p $(@D)
	{ echo '/* generated from daemon/page.html */'; echo '#include <stddef.h>'; \
	  echo 'const unsigned char page_html[] = {'; \
	  od -An -v -tx1 $< | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; echo 'const size_t page_html_len = sizeof(page_html);'; } > $@.tmp
	mv $@.tmp $@

$(OUT)/daemon/page_html.o: $(OUT)/daemon/page_html.c
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUT)/libcgpilot.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

$(OUT)/cgpilotd: $(DAEMON_OBJS) $(OUT)/libcgpilot.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(OUT)/cgpilot: $(CLI_OBJS) $(OUT)/libcgpilot.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(OUT)/tools/run/%.o: tools/run/%.c $(wildcard include/*.h lib/*.h lib/actuate/*.h tools/*.h \
		tools/run/*.h daemon/policy/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itools -Idaemon -c $< -o $@

# only the libraries it uses: each shared library costs its start-up time
RUN_LDLIBS = $(LDFLAGS) $(shell $(PKG_CONFIG) --libs json-c inih libseccomp libbpf 2>/dev/null)
$(OUT)/cgpilot-run: $(RUN_OBJS) $(OUT)/libcgpilot.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(RUN_LDLIBS)

# The BPF code also compiles against another kernel's BTF (6.1 on Debian 12).
bpf-check:
	@test -n "$(CHECK_BTF)" || { echo "usage: make bpf-check CHECK_BTF=/path/to/btf"; exit 2; }
	$(MAKE) OUT=$(OUT)/btf-check VMLINUX_BTF=$(CHECK_BTF) $(OUT)/btf-check/bpf/telemetry.bpf.o

install: all install-packaging
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR)
	install -m 0755 $(OUT)/cgpilotd $(DESTDIR)$(SBINDIR)/cgpilotd
	install -m 0755 $(OUT)/cgpilot $(DESTDIR)$(BINDIR)/cgpilot
	install -m 0755 $(OUT)/cgpilot-run $(DESTDIR)$(BINDIR)/cgpilot-run
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0644 tools/cgpilot.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/cgpilot
	install -m 0644 tools/run/cgpilot-run.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/cgpilot-run

deps:
	./tests/deps.sh $(DEPS)

run:
	$(MAKE) deps DEPS=build
	$(MAKE) all
	./tests/ensure-bpffs.sh
	$(OUT)/cgpilotd --foreground

include tests/tests.mk
-include tests/bench/bench.mk
-include vmtest/vmtest.mk
include packaging/packaging.mk

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(OUT)
