#!/bin/sh
# Install the Debian packages cgpilot builds and runs with ("build") or also
# tests with ("all", the default). Idempotent: only missing packages are
# installed.
set -eu

BUILD="make clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config libjson-c-dev
libinih-dev libmicrohttpd-dev libcap-dev libseccomp-dev scdoc"
TEST="jq libcmocka-dev libclang-rt-14-dev python3 linux-perf libbpf-tools stress-ng fio rt-tests tmux curl systemd
busybox-static cpio qemu-system-x86 prometheus kmod xz-utils procps util-linux chromium
python3-yaml skopeo strace clang-tidy valgrind"

missing=""
want=$BUILD
[ "${1:-all}" = build ] || want="$BUILD $TEST"
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	if [ "$(id -u)" != 0 ]; then
		echo "error: run as root to install packages" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
