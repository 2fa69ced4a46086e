#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# vmtest: boot Debian's newest 6.1 and 6.12 cloud kernels in QEMU (TCG) as
# pure cgroup v2 nodes and run the guest tests there. See vmtest/README.md.
#
# Prints one line per test per kernel, `PASS|FAIL|SKIP <kernel> <test> [reason]`,
# then `N passed, N failed, N skipped`; exits non-zero on any failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
OUT=${OUT:-build}
[[ $OUT == /* ]] || OUT=$top/$OUT
CACHE=${VMTEST_CACHE:-$here/cache}
TIMEOUT=${VMTEST_TIMEOUT:-480}
MEM_MB=${VMTEST_MEM:-1024}
SMP=${VMTEST_SMP:-2}
DISK_MB=256
# A second, slow disk (/dev/vdb): QEMU throttles it to what a modest real
# device does, so that a writer's requests queue ahead of a reader's as on
# a real node (the first disk, a file in the host's page cache, takes
# writes at memory speed and shows little of it). Used by the I/O loop's test.
SLOW_DISK_MB=64
SLOW_DISK_THROTTLE="throttling.bps-total=33554432,throttling.iops-total=2000"
GUEST_BIN=$OUT/vmtest/guest_tests
TOOLS=(/usr/bin/stress-ng /usr/bin/fio /usr/sbin/bpftool)
# The engines profile: podman and containerd from Debian 12's .debs (their
# own libraries with them; the rest ldd finds on the host), in a bigger guest.
ENGINES_MEM_MB=2048
ENGINE_DEBS=(podman conmon catatonit golang-github-containers-common
	golang-github-containers-image libgpgme11 libdevmapper1.02.1 libsubid4 libassuan0
	libgpg-error0 libseccomp2 libyajl2 containerd runc)
ENGINE_BINS=(usr/bin/podman usr/bin/conmon usr/bin/containerd usr/bin/ctr
	usr/bin/containerd-shim-runc-v2 usr/sbin/runc)
# Left out of the guest (extended regexes of paths, a directory with all in it).
ENGINE_SKIP=(
	'usr/share/(doc|man|zsh|bash-completion|lintian)' 'usr/lib/(systemd|tmpfiles\.d)'
	'usr/lib/podman'                                # rootlessport: no rootless podman
	'etc/cni'                                       # the tests run --network none
	'usr/bin/containerd-(shim|shim-runc-v1|stress)' # ctr runs io.containerd.runc.v2
	'etc/containers/(policy\.json|libpod\.conf)' 'etc/containerd/config\.toml' # run.sh's own
)

kernels=()
tests=()
profiles=()
mode='test'
btf_out=
verbose=0

usage()
{
	cat <<EOF
Usage: vmtest/run.sh [--kernel 6.1|6.12]... [--profile P]... [--test NAME]... [--shell] [-v]
       vmtest/run.sh --kernel 6.1 --btf-dump FILE

  -k, --kernel K     kernel series to boot (default: 6.1 and 6.12)
  -p, --profile P    guest shape (repeatable; default: every profile with tests to run):
                       default  -smp \$SMP -m \$MEM_MB, one node, no SMT
                       numa     -smp 4 (2 sockets of 1 core x 2 threads), 2 NUMA nodes
                                (CPUs 0-1 node 0, 2-3 node 1), -cpu qemu64,vendor=GenuineIntel
                       bench    the engines' shape, for benchmarks (make bench); booted
                                only when named
                       engines  -smp \$SMP -m $ENGINES_MEM_MB, one node, podman and containerd
                                in the initramfs
  -t, --test NAME    run only this guest test (repeatable; see --list), in each
                     profile it is marked for
  -l, --list         list the guest tests
  -s, --shell        interactive shell in the guest (one kernel; Ctrl-a x quits QEMU)
      --btf-dump F   write the kernel's raw BTF (/sys/kernel/btf/vmlinux) to F
      --timeout S    per-kernel timeout in seconds (default $TIMEOUT)
  -v, --verbose      print each guest's console after its run

Environment: OUT (build dir, default build), VMTEST_CACHE, VMTEST_TIMEOUT,
VMTEST_MEM (MiB, default 1024), VMTEST_SMP (default 2), VMTEST_NO_MAKE=1.
EOF
}

die()
{
	echo "vmtest: error: $*" >&2
	exit 2
}

note()
{
	echo "vmtest: $*" >&2
}

while (($#)); do
	case $1 in
	-k | --kernel) kernels+=("${2:?--kernel needs a value}"); shift ;;
	-t | --test) tests+=("${2:?--test needs a value}"); shift ;;
	-p | --profile) profiles+=("${2:?--profile needs a value}"); shift ;;
	-l | --list) mode=list ;;
	-s | --shell) mode=shell ;;
	--btf-dump) mode=btf; btf_out=${2:?--btf-dump needs a file}; shift ;;
	--timeout) TIMEOUT=${2:?--timeout needs seconds}; shift ;;
	-v | --verbose) verbose=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

for k in "${kernels[@]}"; do
	[[ $k =~ ^[0-9]+\.[0-9]+$ ]] || die "--kernel takes a series such as 6.1 or 6.12, not '$k'"
done
if ((${#kernels[@]} == 0)); then
	case $mode in
	shell) kernels=(6.12) ;;
	btf) die "--btf-dump needs --kernel" ;;
	*) kernels=(6.1 6.12) ;;
	esac
fi
if [[ $mode == shell || $mode == btf ]] && ((${#kernels[@]} != 1)); then
	die "--shell and --btf-dump take exactly one --kernel"
fi
for p in "${profiles[@]}"; do
	[[ $p == default || $p == numa || $p == bench || $p == engines ]] ||
		die "--profile takes default, numa, bench or engines, not '$p'"
done
if [[ $mode == shell || $mode == btf ]] && ((${#profiles[@]} > 1)); then
	die "--shell and --btf-dump take at most one --profile"
fi

# ---- host tools ----

ensure_host_tools()
{
	local missing=() cmd pkg

	for cmd in qemu-system-x86_64:qemu-system-x86 cpio:cpio dpkg-deb:dpkg depmod:kmod \
		xz:xz-utils stress-ng:stress-ng fio:fio bpftool:bpftool; do
		command -v "${cmd%%:*}" > /dev/null || missing+=("${cmd#*:}")
	done
	# A static busybox: the guest has no libc for it.
	if [[ ! -x /bin/busybox ]] || ldd /bin/busybox > /dev/null 2>&1; then
		missing+=(busybox-static)
	fi
	((${#missing[@]} == 0)) && return 0
	[[ $(id -u) == 0 ]] || die "missing packages: ${missing[*]} (apt-get install them)"
	note "installing ${missing[*]}"
	apt-get install -y --no-install-recommends "${missing[@]}" > /dev/null ||
		die "apt-get install ${missing[*]} failed"
	for pkg in "${TOOLS[@]}"; do
		[[ -x $pkg ]] || die "$pkg still missing"
	done
}

build_guest()
{
	if [[ ${VMTEST_NO_MAKE:-0} != 1 ]]; then
		make -C "$top" -s OUT="$OUT" "$GUEST_BIN" > /dev/null ||
			die "cannot build $GUEST_BIN"
	fi
	[[ -x $GUEST_BIN ]] || die "$GUEST_BIN is missing (make vmtest-guest)"
}

# ---- kernels ----

# Newest linux-image-<series>.*-cloud-amd64 (the signed image, not -unsigned/-dbg).
resolve_pkg()
{
	local series=$1 re list f

	re="^linux-image-${series//./\\.}\\.[0-9][^ ]*-cloud-amd64\$"
	list=$(apt-cache search --names-only "^linux-image-${series//./\\.}\\." 2> /dev/null |
		awk '{ print $1 }' | grep -E "$re" || true)
	if [[ -z $list ]] && [[ ! -e $CACHE/.apt-updated ]] && [[ $(id -u) == 0 ]]; then
		note "apt-cache knows no $series cloud kernel; running apt-get update once"
		apt-get update > /dev/null 2>&1 && touch "$CACHE/.apt-updated"
		list=$(apt-cache search --names-only "^linux-image-${series//./\\.}\\." 2> /dev/null |
			awk '{ print $1 }' | grep -E "$re" || true)
	fi
	if [[ -z $list ]]; then
		# Offline: the newest one already unpacked in the cache.
		list=$(for f in "$CACHE"/kernels/*; do echo "${f##*/}"; done | grep -E "$re" || true)
	fi
	[[ -n $list ]] || die "no linux-image-$series.*-cloud-amd64 in apt or in $CACHE"
	sort -V <<< "$list" | tail -n 1
}

newest_deb()
{
	local f

	# no match leaves the pattern itself: skip it without failing the pipeline
	for f in "$CACHE/debs/$1"_*.deb; do
		if [[ -e $f ]]; then
			echo "$f"
		fi
	done | sort -V | tail -n 1
}

# Sets kdir (unpacked package), kver (uname -r), vmlinuz.
fetch_kernel()
{
	local series=$1 pkg deb

	pkg=$(resolve_pkg "$series")
	kdir=$CACHE/kernels/$pkg
	if [[ ! -e $kdir/.unpacked ]]; then
		mkdir -p "$CACHE/debs"
		deb=$(newest_deb "$pkg")
		if [[ -z $deb ]]; then
			note "downloading $pkg"
			(cd "$CACHE/debs" && apt-get download "$pkg" > /dev/null 2>&1) ||
				die "apt-get download $pkg failed"
			deb=$(newest_deb "$pkg")
			[[ -n $deb ]] || die "apt-get download $pkg left no .deb in $CACHE/debs"
		fi
		rm -rf "$kdir"
		mkdir -p "$kdir"
		dpkg-deb -x "$deb" "$kdir"
		kver=$(ls "$kdir/lib/modules")
		# The package ships no modules.dep (depmod runs at install).
		depmod -b "$kdir" "$kver"
		touch "$kdir/.unpacked"
	fi
	kver=$(ls "$kdir/lib/modules")
	vmlinuz=$kdir/boot/vmlinuz-$kver
	[[ -f $vmlinuz ]] || die "no $vmlinuz"
}

# Module paths (relative to lib/modules/$kver) of $1 and its dependencies, deps first.
mod_closure()
{
	local moddir=$1 name=$2 line path dep

	line=$(grep -E "^([^:]*/)?${name}\\.ko(\\.xz|\\.zst|\\.gz)?:" "$moddir/modules.dep" || true)
	[[ -n $line ]] || return 0
	path=${line%%:*}
	for dep in ${line#*:}; do
		dep=${dep##*/}
		mod_closure "$moddir" "${dep%%.ko*}"
	done
	echo "$path"
}

# ---- initramfs ----

# The shared libraries (and loader) ldd names for $1, a path a line;
# NOTFOUND:<name> for those it cannot find.
ldd_libs()
{
	ldd "$1" 2> /dev/null | awk '
		/=>/ { if ($3 ~ /^\//) print $3; else if ($3 == "not") print "NOTFOUND:" $1; next }
		$1 ~ /^\// { print $1 }' || true
}

copy_with_libs()
{
	local root=$1 bin=$2 dest=${3:-$2} lib

	mkdir -p "$root$(dirname "$dest")"
	cp -L "$bin" "$root$dest"
	while read -r lib; do
		[[ $lib == NOTFOUND:* ]] && die "$bin needs ${lib#NOTFOUND:}, which ldd cannot find"
		[[ -e $root$lib ]] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done < <(ldd_libs "$bin")
}

# Userland shared by all kernels: busybox, /init, tests, cgpilot, tools.
build_common_cpio()
{
	local root=$work/root a bin

	rm -rf "$root"
	mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,usr/libexec/vmtest,etc}
	mkdir -p "$root"/{dev,proc,sys,run,tmp,root}
	ln -s usr/bin "$root/bin"
	ln -s usr/sbin "$root/sbin"
	ln -s usr/lib "$root/lib"
	ln -s usr/lib64 "$root/lib64"
	cp /bin/busybox "$root/usr/bin/busybox"
	for a in $(/bin/busybox --list); do
		[[ -e $root/usr/bin/$a ]] || ln -s busybox "$root/usr/bin/$a"
	done
	install -m 0755 "$here/init.sh" "$root/init"
	copy_with_libs "$root" "$GUEST_BIN" /usr/libexec/vmtest/guest_tests
	for bin in "${TOOLS[@]}"; do
		copy_with_libs "$root" "$bin"
	done
	if [[ -x $OUT/cgpilotd ]]; then
		copy_with_libs "$root" "$OUT/cgpilotd" /usr/sbin/cgpilotd
	else
		note "no $OUT/cgpilotd: the daemon tests will be skipped"
	fi
	[[ -x $OUT/cgpilot ]] && copy_with_libs "$root" "$OUT/cgpilot" /usr/bin/cgpilot
	[[ -x $OUT/cgpilot-run ]] && copy_with_libs "$root" "$OUT/cgpilot-run" /usr/bin/cgpilot-run
	# crun, for the launcher's start-cost bench against it
	[[ -x /usr/bin/crun ]] && copy_with_libs "$root" /usr/bin/crun
	echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
	echo 'root:x:0:' > "$root/etc/group"
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) \
		> "$work/common.cpio"
}

# Per kernel: the modules /init loads (virtio_pci where it is a module, virtio_blk).
build_initrd()
{
	local series=$1 root=$work/$1/mods moddir=$kdir/lib/modules/$kver m dst

	rm -rf "$root"
	mkdir -p "$root/usr/lib/modules"
	for m in $( (mod_closure "$moddir" virtio_pci; mod_closure "$moddir" virtio_blk) |
		awk '!seen[$0]++'); do
		dst=$(basename "$m")
		case $m in
		*.xz) xz -dc "$moddir/$m" > "$root/usr/lib/modules/${dst%.xz}"; dst=${dst%.xz} ;;
		*.zst) zstd -qdc "$moddir/$m" > "$root/usr/lib/modules/${dst%.zst}"; dst=${dst%.zst} ;;
		*) cp "$moddir/$m" "$root/usr/lib/modules/$dst" ;;
		esac
		echo "$dst" >> "$root/usr/lib/modules/vmtest.load"
	done
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) \
		> "$work/$series/mods.cpio"
	cat "$work/common.cpio" "$work/$series/mods.cpio" > "$work/$series/initrd.cpio"
	if ((want_engines)); then
		cat "$work/$series/initrd.cpio" "$work/engines.cpio" > "$work/$series/initrd-engines.cpio"
	fi
}

# The initramfs a kernel boots in a profile.
initrd_of()
{
	if [[ $2 == engines || $2 == bench ]]; then
		echo "$work/$1/initrd-engines.cpio"
	else
		echo "$work/$1/initrd.cpio"
	fi
}

# ---- the engines profile: podman and containerd ----

# Sets engine_debs: the newest cached .deb of each of ENGINE_DEBS, those not
# cached apt-get download'ed first (after one apt-get update if apt knows
# some of them not). Offline, the cached ones are enough.
fetch_engine_debs()
{
	local pkg deb
	local -a missing=()

	mkdir -p "$CACHE/debs"
	for pkg in "${ENGINE_DEBS[@]}"; do
		[[ -n $(newest_deb "$pkg") ]] || missing+=("$pkg")
	done
	if ((${#missing[@]})); then
		for pkg in "${missing[@]}"; do
			apt-cache show "$pkg" > /dev/null 2>&1 && continue
			if [[ ! -e $CACHE/.apt-updated ]] && [[ $(id -u) == 0 ]]; then
				note "apt-cache knows no $pkg; running apt-get update once"
				apt-get update > /dev/null 2>&1 && touch "$CACHE/.apt-updated"
			fi
			break
		done
		note "downloading ${missing[*]}"
		(cd "$CACHE/debs" && apt-get download "${missing[@]}" > /dev/null 2>&1) ||
			die "apt-get download ${missing[*]} failed"
	fi
	engine_debs=()
	for pkg in "${ENGINE_DEBS[@]}"; do
		deb=$(newest_deb "$pkg")
		[[ -n $deb ]] || die "apt-get download $pkg left no .deb in $CACHE/debs"
		engine_debs+=("$deb")
	done
}

# The .debs unpacked (dpkg-deb -x) into $CACHE/engines/root in the guest's
# merged-/usr layout; again only when the set of .debs changed. Sets edir.
unpack_engines()
{
	local list deb d

	edir=$CACHE/engines/root
	list=$(printf '%s\n' "${engine_debs[@]##*/}")
	if [[ -e $CACHE/engines/.unpacked ]] && [[ $(< "$CACHE/engines/debs.list") == "$list" ]]; then
		return 0
	fi
	note "unpacking ${#engine_debs[@]} .debs into $edir"
	rm -rf "$CACHE/engines"
	mkdir -p "$edir"
	for deb in "${engine_debs[@]}"; do
		dpkg-deb -x "$deb" "$edir" || die "dpkg-deb -x $deb failed"
	done
	# Some packages still ship /lib: the guest's /lib, /bin, /sbin are
	# symlinks into /usr, which an archive's directory of that name must
	# not replace.
	for d in lib bin sbin; do
		if [[ -d $edir/$d && ! -L $edir/$d ]]; then
			mkdir -p "$edir/usr/$d"
			cp -a "$edir/$d/." "$edir/usr/$d/"
			rm -rf "${edir:?}/$d"
		fi
	done
	echo "$list" > "$CACHE/engines/debs.list"
	touch "$CACHE/engines/.unpacked"
}

# The engines' archive, once per run: the unpacked packages but ENGINE_SKIP,
# the host's libraries that ldd names for ENGINE_BINS (those neither in the
# packages nor in the common archive), and the engines' configuration.
build_engines_cpio()
{
	local root=$work/engines bin lib d skip

	skip="^\./($(IFS='|'; echo "${ENGINE_SKIP[*]}"))(/|\$)"
	rm -rf "$root"
	mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc/containers,etc/containerd}
	mkdir -p "$root"/var/{lib/containers,lib/containerd,tmp}
	for d in bin sbin lib lib64; do
		ln -s "usr/$d" "$root/$d"
	done
	for bin in "${ENGINE_BINS[@]}"; do
		[[ -x $edir/$bin ]] || die "no $bin in the engine packages ($edir)"
		while read -r lib; do
			[[ $lib == NOTFOUND:* ]] &&
				die "$bin needs ${lib#NOTFOUND:}, which neither the packages nor the host have"
			[[ $lib == "$edir"/* || -e $work/root$lib || -e $root$lib ]] && continue
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done < <(LD_LIBRARY_PATH=$edir/usr/lib/x86_64-linux-gnu ldd_libs "$edir/$bin")
	done
	# vfs: no overlay module in the guest; both on the guest's tmpfs root.
	cat > "$root/etc/containers/storage.conf" <<-'EOF'
		[storage]
		driver = "vfs"
		graphroot = "/var/lib/containers/storage"
		runroot = "/run/containers/storage"
	EOF
	echo '{ "default": [{ "type": "insecureAcceptAnything" }] }' \
		> "$root/etc/containers/policy.json"
	# No systemd, no journald. Only the runtimes named in runtime_supports_json
	# get --log-format=json --log from podman.
	cat > "$root/etc/containers/containers.conf" <<-'EOF'
		[containers]
		log_driver = "k8s-file"

		[engine]
		cgroup_manager = "cgroupfs"
		events_logger = "file"
		runtime_supports_json = ["crun", "runc", "cgpilot-run"]

		[engine.runtimes]
		cgpilot-run = ["/usr/bin/cgpilot-run"]
	EOF
	# the container image of `make image`, for guest_image.c
	if [[ -f $OUT/cgpilot-image.tar ]]; then
		install -D -m 0644 "$OUT/cgpilot-image.tar" "$root/usr/share/vmtest/cgpilot-image.tar"
	else
		note "no $OUT/cgpilot-image.tar (make image): engines_image will be skipped"
	fi
	cat > "$root/etc/containerd/config.toml" <<-'EOF'
		version = 2
		root = "/var/lib/containerd"
		state = "/run/containerd"
		# The CRI plugin does not start here (and no test talks CRI).
		disabled_plugins = ["io.containerd.grpc.v1.cri"]

		[grpc]
		  address = "/run/containerd/containerd.sock"
	EOF
	{
		(cd "$edir" && find . -mindepth 1 | grep -Ev "$skip" | LC_ALL=C sort |
			cpio -o -H newc --quiet -R 0:0)
		# without the /lib, /bin ... symlinks: the common archive has them
		(cd "$root" && find . -mindepth 1 | grep -Ev '^\./(bin|sbin|lib|lib64)$' |
			LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0)
	} > "$work/engines.cpio"
}

# ---- running ----

# The run directory of a kernel in a profile: <series> (default), <series>-<profile>.
run_dir()
{
	if [[ $2 == default ]]; then
		echo "$work/$1"
	else
		echo "$work/$1-$2"
	fi
}

# QEMU's machine shape for a profile, into the array machine.
machine_args()
{
	local half

	case $1 in
	default) machine=(-smp "$SMP" -m "$MEM_MB") ;;
	# the engines' binaries (~130 MB) are in the initramfs, then in its tmpfs
	# copy; the bench profile has them too (the engines' start-cost bench)
	engines | bench) machine=(-smp "$SMP" -m "$ENGINES_MEM_MB") ;;
	numa)
		# A socket per node: one socket of two cores over two nodes gives an
		# LLC across nodes, which 6.1 warns about at boot (topology_sane).
		# Both memory backends together are -m; SMT siblings need the Intel
		# vendor on 6.1 (its AMD path shows no siblings for qemu64).
		half=$((MEM_MB / 2))
		machine=(-cpu "qemu64,vendor=GenuineIntel" -smp "4,sockets=2,cores=1,threads=2"
			-m "$((half * 2))"
			-object "memory-backend-ram,id=m0,size=${half}M"
			-object "memory-backend-ram,id=m1,size=${half}M"
			-numa "node,memdev=m0,cpus=0-1,nodeid=0"
			-numa "node,memdev=m1,cpus=2-3,nodeid=1")
		;;
	esac
}

# Boots one kernel in one profile, running the tests named after the profile
# (all of the profile's when none); sets vm_rc (QEMU's status, 124 on
# timeout) and vm_ms.
boot()
{
	local series=$1 gmode=$2 profile=$3 dir append t0
	local -a qemu machine run_tests=("${@:4}")

	dir=$(run_dir "$series" "$profile")
	mkdir -p "$dir"
	rm -f "$dir/disk.img" "$dir/slow.img" "$dir/console.log" "$dir/results.log"
	truncate -s "${DISK_MB}M" "$dir/disk.img"
	truncate -s "${SLOW_DISK_MB}M" "$dir/slow.img"
	: > "$dir/results.log"
	# A soft lockup panics (and so ends the VM at once, with its backtrace:
	# loglevel=5 lets warnings such as the stack dump reach the console),
	# instead of leaving a dead guest to the timeout.
	append="console=ttyS0 panic=-1 softlockup_panic=1 psi=1 loglevel=5"
	append+=" vmtest.mode=$gmode vmtest.profile=$profile"
	if ((${#run_tests[@]})); then
		append+=" vmtest.test=$(IFS=,; echo "${run_tests[*]}")"
	fi
	machine_args "$profile"
	qemu=(qemu-system-x86_64 -accel tcg "${machine[@]}" -no-reboot -nographic
		-kernel "$vmlinuz" -initrd "$(initrd_of "$series" "$profile")" -append "$append"
		-drive "file=$dir/disk.img,format=raw,if=virtio"
		-drive "file=$dir/slow.img,format=raw,if=virtio,$SLOW_DISK_THROTTLE" -nic none)
	t0=$(date +%s%N)
	if [[ $gmode == shell ]]; then
		vm_rc=0
		"${qemu[@]}" -serial mon:stdio -serial "file:$dir/results.log" || vm_rc=$?
	else
		vm_rc=0
		timeout -k 5 "$TIMEOUT" "${qemu[@]}" -monitor none \
			-serial "file:$dir/console.log" -serial "file:$dir/results.log" \
			< /dev/null > "$dir/qemu.out" 2>&1 || vm_rc=$?
	fi
	vm_ms=$((($(date +%s%N) - t0) / 1000000))
	tr -d '\r' < "$dir/results.log" > "$dir/results.txt"
}

# Kernel log problems: splats anywhere in the console or in the final dmesg dump.
splats()
{
	local dir=$1

	cat "$dir/console.log" "$dir/results.txt" 2> /dev/null | tr -d '\r' |
		grep -E 'BUG:|WARNING:|Oops|Kernel panic' | grep -v '^@@VMTEST' | head -n 3 || true
}

npass=0
nfail=0
nskip=0

result()
{
	local status=$1 series=$2 name=$3 reason=${4:-}

	echo "$status $series $name${reason:+ $reason}"
	case $status in
	PASS) npass=$((npass + 1)) ;;
	SKIP) nskip=$((nskip + 1)) ;;
	*) nfail=$((nfail + 1)) ;;
	esac
}

# Reads the guest's @@VMTEST RESULT lines of the last boot into res (only
# for the names res already has).
read_results()
{
	local dir=$1
	local -a w

	while read -ra w; do
		[[ ${w[0]:-} == @@VMTEST && ${w[1]:-} == RESULT && -n ${res[${w[2]:-}]+x} ]] ||
			continue
		res[${w[2]}]="${w[*]:3}"
	done < "$dir/results.txt"
}

# Boots a kernel in a profile with the tests given after them: once, or again
# after an emulator fault (below).
run_kernel()
{
	local series=$1 profile=$2 dir name status reason booted done_at splat label attempt
	local hung=0 nohang=${VMTEST_NO_HANG_RETRY:-0} how
	local -A res=()
	local -a order=() pending

	dir=$(run_dir "$series" "$profile")
	label=$series
	[[ $profile == default ]] || label=$series/$profile
	# Every test counts as failed until the guest says otherwise.
	for name in "${@:3}"; do
		order+=("$name")
		res[$name]="FAIL no result from the guest (crashed or hung)"
	done
	pending=("${order[@]}")
	for attempt in 1 2 3; do
		# The names only when some were asked for: else the guest runs its
		# profile's.
		if ((${#tests[@]} || attempt > 1)); then
			boot "$series" test "$profile" "${pending[@]}"
		else
			boot "$series" test "$profile"
		fi
		read_results "$dir"
		if ((vm_rc != 0)) || ! grep -qs '^@@VMTEST DONE' "$dir/results.txt"; then
			note "$label: the guest did not finish (QEMU status $vm_rc); the end of its console:"
			tr -d '\r' < "$dir/console.log" | tail -n 40 | sed 's/^/  | /' >&2
		fi
		((attempt < 3)) || break
		# An int3 trap in the kernel's own text that no text_poke_bp() owns is
		# QEMU's multi-threaded TCG executing a stale translation of code the
		# kernel just patched (static keys flip as BPF programs attach and
		# detach), not a fault of the code under test: boot again (up to
		# twice; seen in about one 6.12 boot in four), say so. Single-threaded
		# TCG (thread=single) would avoid it, but lets a busy vCPU keep the one
		# host thread for up to 100 ms, which no latency test survives.
		if grep -qs 'Oops: int3' "$dir/console.log" "$dir/results.txt"; then
			note "$label: the guest kernel trapped on an int3 in its own text" \
				"($(grep -hs -m1 -A3 'Oops: int3' "$dir/console.log" | grep -m1 'RIP:' | tr -s ' ')):" \
				"an emulator race on patched kernel text; booting it once more" \
				"(that console: $dir/console.$attempt.log)"
			cp "$dir/console.log" "$dir/console.$attempt.log"
			for name in "${order[@]}"; do
				res[$name]="FAIL no result from the guest (crashed or hung)"
			done
			pending=("${order[@]}")
			continue
		fi
		# A guest whose kernel locked up (a vCPU stuck in the kernel with
		# interrupts off: seen on 6.1 guests while a test's daemon attached
		# its BPF programs, in one 6.1 boot of four here, the same emulator
		# race on patched text as above) or that stopped answering
		# altogether gets one more boot for the tests still to report: the
		# test that was running has no verdict; a second lockup is one. The
		# console's end is printed above either way. VMTEST_NO_HANG_RETRY=1
		# turns this off.
		pending=()
		for name in "${order[@]}"; do
			[[ ${res[$name]} == "FAIL no result from the guest (crashed or hung)" ]] &&
				pending+=("$name")
		done
		if ((${#pending[@]} && !hung && !nohang)) &&
			{ ((vm_rc == 124 || vm_rc == 137)) ||
				grep -qs 'soft lockup - CPU' "$dir/console.log"; }; then
			hung=1
			cp "$dir/console.log" "$dir/console.$attempt.log"
			how=$(grep -hs -m1 'soft lockup - CPU' "$dir/console.log" | tr -s ' ')
			note "$label: the guest locked up with ${#pending[@]} tests to report" \
				"(${how:-no answer within $TIMEOUT s}); booting once more" \
				"for those (that console: $dir/console.$attempt.log)"
			continue
		fi
		break
	done
	for name in "${order[@]}"; do
		status=${res[$name]%% *}
		reason=${res[$name]#"$status"}
		result "$status" "$label" "$name" "${reason# }"
	done

	booted=$(awk '$1 == "@@VMTEST" && $2 == "BOOTED" { print $3 }' "$dir/results.txt")
	done_at=$(awk '$1 == "@@VMTEST" && $2 == "DONE" { print $3 }' "$dir/results.txt")
	splat=$(splats "$dir")
	if ((vm_rc == 124 || vm_rc == 137)); then
		result FAIL "$label" guest "timed out after $TIMEOUT s (console: $dir/console.log)"
	elif [[ -z $done_at ]]; then
		result FAIL "$label" guest "guest did not finish (QEMU status $vm_rc," \
			"console: $dir/console.log)"
	elif [[ -n $splat ]]; then
		result FAIL "$label" guest "kernel log: $(head -n 1 <<< "$splat")"
	else
		result PASS "$label" guest
	fi
	note "$label ($kver): /init reached at ${booted:-?} s guest uptime," \
		"tests done at ${done_at:-?} s, VM wall time $((vm_ms / 1000)).$((vm_ms % 1000 / 100)) s"
	if ((verbose)); then
		tr -d '\r' < "$dir/console.log" >&2
	fi
}

run_btf()
{
	local series=$1 dir=$work/$1 size

	boot "$series" btf default
	size=$(awk '$1 == "@@VMTEST" && $2 == "BTF" { print $3 }' "$dir/results.txt")
	[[ -n $size ]] || die "the $series guest did not dump its BTF (see $dir/console.log)"
	mkdir -p "$(dirname "$btf_out")"
	head -c "$size" "$dir/disk.img" > "$btf_out.tmp"
	bpftool btf dump file "$btf_out.tmp" format c > /dev/null ||
		die "the BTF read back from the $series guest does not parse"
	mv "$btf_out.tmp" "$btf_out"
	note "$series ($kver): raw BTF, $size bytes, in $btf_out"
}

# ---- main ----

if [[ $mode == list ]]; then
	build_guest
	"$GUEST_BIN" --list
	exit 0
fi

mkdir -p "$CACHE"
exec 9> "$CACHE/.lock"
flock 9 || die "cannot lock $CACHE/.lock"
ensure_host_tools
build_guest

# Is $1 one of the other arguments?
in_list()
{
	local x=$1 y

	shift
	for y; do
		[[ $x == "$y" ]] && return 0
	done
	return 1
}

# NAME<TAB>PROFILES<TAB>DESCRIPTION: each profile's tests, in table order.
declare -A prof_tests=()
mapfile -t test_list < <("$GUEST_BIN" --list)
all_names=()
for line in "${test_list[@]}"; do
	all_names+=("${line%%$'\t'*}")
done
for name in "${tests[@]}"; do
	in_list "$name" "${all_names[@]}" || die "no guest test '$name' (vmtest/run.sh --list)"
done
for line in "${test_list[@]}"; do
	IFS=$'\t' read -r name plist _ <<< "$line"
	if ((${#tests[@]})) && ! in_list "$name" "${tests[@]}"; then
		continue
	fi
	for p in ${plist//,/ }; do
		prof_tests[$p]+="$name "
	done
done
if ((${#profiles[@]} == 0)); then
	case $mode in
	shell | btf) profiles=(default) ;;
	*)
		for p in default numa engines; do
			[[ -n ${prof_tests[$p]:-} ]] && profiles+=("$p")
		done
		;;
	esac
fi
if [[ $mode == test ]]; then
	for p in "${profiles[@]}"; do
		[[ -n ${prof_tests[$p]:-} ]] ||
			note "no test selected runs in the $p profile: it is not booted"
	done
fi

# The engines' archive only for a guest that boots in that profile.
want_engines=0
for p in "${profiles[@]}"; do
	if [[ $p == engines || $p == bench ]] &&
		{ [[ $mode == shell ]] || [[ -n ${prof_tests[$p]:-} ]]; }; then
		want_engines=1
	fi
done

work=$CACHE/run
mkdir -p "$work"
build_common_cpio
if ((want_engines)); then
	t_eng=$(date +%s%N)
	fetch_engine_debs
	unpack_engines
	build_engines_cpio
	note "engines archive: $(($(stat -c %s "$work/engines.cpio") / 1048576)) MiB" \
		"(common $(($(stat -c %s "$work/common.cpio") / 1048576)) MiB)," \
		"built in $((($(date +%s%N) - t_eng) / 1000000)) ms"
fi
t_start=$(date +%s)
for series in "${kernels[@]}"; do
	fetch_kernel "$series"
	mkdir -p "$work/$series"
	build_initrd "$series"
	case $mode in
	shell) boot "$series" shell "${profiles[0]}"; exit 0 ;;
	btf) run_btf "$series"; exit 0 ;;
	*)
		for p in "${profiles[@]}"; do
			[[ -n ${prof_tests[$p]:-} ]] || continue
			# shellcheck disable=SC2086 # the names: split on purpose
			run_kernel "$series" "$p" ${prof_tests[$p]}
		done
		;;
	esac
done
note "total $(($(date +%s) - t_start)) s for ${kernels[*]}"
if ((nskip)); then
	echo "$npass passed, $nfail failed, $nskip skipped"
else
	echo "$npass passed, $nfail failed"
fi
((nfail == 0))
