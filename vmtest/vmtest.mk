# SPDX-License-Identifier: Apache-2.0
# vmtest: the guest tests in QEMU on Debian's 6.1 and 6.12 kernels (vmtest/README.md).
# Included by the top-level Makefile, which defines OUT, CC, WARN, DAEMON_SRCS and CLI_SRCS.

VMTEST_GUEST := $(OUT)/vmtest/guest_tests
VMTEST_BTF61 := vmtest/cache/btf-6.1
# The project's binaries go into the guest when their sources exist; the
# image of `make image` into the engines profile's (guest_image.c).
VMTEST_BINS := $(if $(DAEMON_SRCS),$(OUT)/cgpilotd $(OUT)/cgpilot-image.tar) \
	$(if $(CLI_SRCS),$(OUT)/cgpilot)

.PHONY: vmtest vmtest-guest vmtest-btf61

# Static: the guest needs no libc for it, and it runs on the host for --list.
VMTEST_GUEST_SRCS := $(wildcard vmtest/guest/*.c)

$(VMTEST_GUEST): $(VMTEST_GUEST_SRCS) vmtest/guest/guest.h lib/util.h
	@mkdir -p $(@D)
	$(CC) -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -Ilib -static -o $@ $(VMTEST_GUEST_SRCS)

vmtest-guest: $(VMTEST_GUEST)

vmtest: $(VMTEST_GUEST) $(VMTEST_BINS)
	OUT=$(OUT) VMTEST_NO_MAKE=1 vmtest/run.sh

# The 6.1 kernel's raw BTF, dumped once in a 6.1 guest and cached.
$(VMTEST_BTF61):
	OUT=$(OUT) vmtest/run.sh --kernel 6.1 --btf-dump $@

vmtest-btf61: $(VMTEST_BTF61)
	$(MAKE) bpf-check CHECK_BTF=$(VMTEST_BTF61)
