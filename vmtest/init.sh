#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# /init of the vmtest guest (busybox sh). Stage 1 runs from the initramfs and
# moves everything to a tmpfs root, because the initramfs root cannot be
# pivot_root'ed away from (a launcher or crun needs a real mount as /).
# Stage 2 sets up a pure cgroup v2 node, runs the guest tests, prints the
# results on the second serial port (ttyS1) and powers off.

PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

out=/dev/ttyS1

mark()
{
	echo "@@VMTEST $*" > "$out"
}

poweroff_now()
{
	sync
	echo 1 > /proc/sys/kernel/sysrq
	echo o > /proc/sysrq-trigger
	sleep 30
}

cmdline_arg()
{
	# shellcheck disable=SC2013 # words, not lines
	for a in $(cat /proc/cmdline); do
		case "$a" in
		"$1"=*) echo "${a#*=}" ;;
		esac
	done
}

if [ "$1" != stage2 ]; then
	/bin/busybox mkdir -p /proc /sys /dev /newroot
	/bin/busybox --install -s /bin
	mount -t tmpfs -o mode=0755 tmpfs /newroot
	for f in /*; do
		[ "$f" = /newroot ] || cp -a "$f" /newroot/
	done
	exec switch_root /newroot /init stage2
	echo "vmtest: switch_root failed" > /dev/console
	exit 1
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /run /tmp
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
hostname vmtest
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/mounts /etc/mtab

# shellcheck disable=SC2013 # words, not lines
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
	echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control ||
		echo "vmtest: cannot enable controller $c" > /dev/console
done

# Modules in dependency order, written by run.sh.
if [ -f /lib/modules/vmtest.load ]; then
	while read -r m; do
		insmod "/lib/modules/$m" || echo "vmtest: insmod $m failed" > /dev/console
	done < /lib/modules/vmtest.load
fi

i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done

mode=$(cmdline_arg vmtest.mode)
test_name=$(cmdline_arg vmtest.test)
# The guest tests read vmtest.profile themselves (guest_tests --profile overrides).
profile=$(cmdline_arg vmtest.profile)

mark BOOTED "$(cut -d' ' -f1 /proc/uptime)"

case "$mode" in
shell)
	echo "vmtest: $(uname -r), profile ${profile:-default}, cgroup v2 at /sys/fs/cgroup," \
		"controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
	echo "vmtest: guest tests: /usr/libexec/vmtest/guest_tests [-v] [NAME...];" \
		"exit the shell to power off"
	setsid cttyhack sh -l
	;;
btf)
	# Raw BTF to the start of the disk; the host cuts it out by size.
	if [ -r /sys/kernel/btf/vmlinux ] &&
	   bpftool btf dump file /sys/kernel/btf/vmlinux format c > /tmp/vmlinux.h; then
		cat /sys/kernel/btf/vmlinux > /tmp/btf
		dd if=/tmp/btf of=/dev/vda bs=1M conv=fsync 2>/dev/null &&
			mark BTF "$(stat -c %s /tmp/btf)" "$(wc -l < /tmp/vmlinux.h)"
	else
		mark BTF-FAILED
	fi
	;;
*)
	mark BEGIN
	# shellcheck disable=SC2046 # vmtest.test=a,b,c: split on purpose
	/usr/libexec/vmtest/guest_tests -v --results "$out" $(echo "$test_name" | tr , ' ')
	mark EXIT $?
	;;
esac

mark DMESG-BEGIN
dmesg > "$out"
mark DMESG-END
mark DONE "$(cut -d' ' -f1 /proc/uptime)"
poweroff_now
