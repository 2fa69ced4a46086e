# SPDX-License-Identifier: Apache-2.0
# Service packaging: systemd unit, default configuration, man pages, the
# Grafana dashboard, the container image.
# Included from the top-level Makefile; uses its OUT, PREFIX, DESTDIR, SBINDIR
# and BINDIR. Needs scdoc (man) and systemd (systemd-analyze, test-packaging).

UNITDIR ?= $(PREFIX)/lib/systemd/system
MANDIR ?= $(PREFIX)/share/man
GRAFANADIR ?= $(PREFIX)/share/cgpilot/grafana
SYSCONFDIR ?= /etc
SCDOC ?= scdoc
SYSTEMD_ANALYZE ?= systemd-analyze

PKG_TOP_MAKEFILE := $(firstword $(MAKEFILE_LIST))
MAN_SRCS := $(wildcard docs/man/*.scd)
MAN_PAGES := $(patsubst docs/man/%.scd,$(OUT)/man/%,$(MAN_SRCS))

.PHONY: man install-packaging test-packaging image

# The container image as an OCI archive (packaging/image/build-image.sh):
# the binaries, the libraries ldd names, the default configuration; offline.
IMAGE := $(OUT)/cgpilot-image.tar

image: $(IMAGE)

$(IMAGE): $(OUT)/cgpilotd $(OUT)/cgpilot $(OUT)/cgpilot-run packaging/cgpilotd.conf \
		packaging/image/build-image.sh
	packaging/image/build-image.sh $(OUT) $@

man: $(MAN_PAGES)

$(OUT)/man/%: docs/man/%.scd
	@mkdir -p $(@D)
	$(SCDOC) < $< > $@.tmp && mv $@.tmp $@

# The unit names the daemon by its installed path; the configuration is
# installed only where none exists, so an upgrade keeps the operator's file.
install-packaging: man
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/cgpilot \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(GRAFANADIR)
	sed 's|^ExecStart=/usr/local/sbin/cgpilotd|ExecStart=$(SBINDIR)/cgpilotd|' \
		packaging/cgpilotd.service > $(DESTDIR)$(UNITDIR)/cgpilotd.service.tmp
	chmod 0644 $(DESTDIR)$(UNITDIR)/cgpilotd.service.tmp
	mv $(DESTDIR)$(UNITDIR)/cgpilotd.service.tmp $(DESTDIR)$(UNITDIR)/cgpilotd.service
	test -e $(DESTDIR)$(SYSCONFDIR)/cgpilot/cgpilotd.conf || \
		install -m 0644 packaging/cgpilotd.conf $(DESTDIR)$(SYSCONFDIR)/cgpilot/cgpilotd.conf
	install -m 0644 $(filter %.1,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(filter %.5,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(filter %.8,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 packaging/grafana/cgpilot.json $(DESTDIR)$(GRAFANADIR)/cgpilot.json

# Checks: the default configuration names every key of lib/config.c and (with
# --check-config) parses; scdoc builds every page; the dashboard is JSON;
# `make install` puts every file in place and keeps an existing configuration;
# the installed unit passes systemd-analyze verify. (The dashboard's queries
# are run against a real Prometheus by tests/integration/test_promql.py.)
test-packaging:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	echo "test-packaging: every key of lib/config.c in packaging/cgpilotd.conf"; \
	sed -n -e 's/^[[:space:]]*\(STR\|U32\|BOOL\)("\([a-z_]*\)", "\([a-z_]*\)".*/\2 \3/p' \
		-e 's/^[[:space:]]*{ "\([a-z_]*\)", "\([a-z_]*\)", K_[A-Z]*,.*/\1 \2/p' \
		lib/config.c > $$tmp/keys; \
	test -s $$tmp/keys; \
	while read -r sec key; do \
		awk -v s="[$$sec]" -v k="$$key" -f packaging/has-key.awk \
			packaging/cgpilotd.conf || { echo "missing: [$$sec] $$key" >&2; exit 1; }; \
	done < $$tmp/keys; \
	echo "test-packaging: the configuration parses, every key uncommented"; \
	sed 's/^#\([a-z_]* =\)/\1/' packaging/cgpilotd.conf > $$tmp/all.conf; \
	$(OUT)/cgpilotd --check-config --config $$tmp/all.conf; \
	$(OUT)/cgpilotd --check-config --config packaging/cgpilotd.conf; \
	echo "test-packaging: scdoc builds every page"; \
	$(MAKE) --no-print-directory -f $(PKG_TOP_MAKEFILE) man; \
	for p in $(MAN_PAGES); do test -s $$p || { echo "empty: $$p" >&2; exit 1; }; done; \
	echo "test-packaging: the Grafana dashboard parses"; \
	python3 -m json.tool packaging/grafana/cgpilot.json > /dev/null; \
	echo "test-packaging: make install DESTDIR=$$tmp/root"; \
	$(MAKE) --no-print-directory -f $(PKG_TOP_MAKEFILE) install DESTDIR=$$tmp/root >/dev/null; \
	for f in $(SBINDIR)/cgpilotd $(BINDIR)/cgpilot $(BINDIR)/cgpilot-run \
		$(MANDIR)/man1/cgpilot-run.1 $(PREFIX)/share/bash-completion/completions/cgpilot-run \
		$(UNITDIR)/cgpilotd.service \
		$(SYSCONFDIR)/cgpilot/cgpilotd.conf $(MANDIR)/man8/cgpilotd.8 \
		$(MANDIR)/man8/cgpilot.8 $(MANDIR)/man5/cgpilotd.conf.5 $(GRAFANADIR)/cgpilot.json; do \
		test -s $$tmp/root$$f || { echo "not installed: $$f" >&2; exit 1; }; \
	done; \
	grep -qx 'ExecStart=$(SBINDIR)/cgpilotd --foreground' $$tmp/root$(UNITDIR)/cgpilotd.service || \
		{ echo "ExecStart is not $(SBINDIR)/cgpilotd" >&2; exit 1; }; \
	echo "# edited" >> $$tmp/root$(SYSCONFDIR)/cgpilot/cgpilotd.conf; \
	$(MAKE) --no-print-directory -f $(PKG_TOP_MAKEFILE) install-packaging \
		DESTDIR=$$tmp/root >/dev/null; \
	grep -qx '# edited' $$tmp/root$(SYSCONFDIR)/cgpilot/cgpilotd.conf || \
		{ echo "install replaced an existing configuration" >&2; exit 1; }; \
	echo "test-packaging: systemd-analyze verify cgpilotd.service"; \
	mkdir $$tmp/unit; \
	sed "s|^ExecStart=$(SBINDIR)/|ExecStart=$$tmp/root$(SBINDIR)/|" \
		$$tmp/root$(UNITDIR)/cgpilotd.service > $$tmp/unit/cgpilotd.service; \
	$(SYSTEMD_ANALYZE) verify --man=no $$tmp/unit/cgpilotd.service; \
	echo "test-packaging: ok"
