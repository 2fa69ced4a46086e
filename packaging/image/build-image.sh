#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The cgpilot container image, built offline from the build output: an OCI
# image layout (one layer, its config and manifest, index.json) in a tar, the
# form `skopeo copy oci-archive:FILE ...`, `podman load -i FILE` and
# `ctr images import FILE` read.
#
# The layer holds the three binaries (debug info stripped), the shared
# libraries `ldd` names for them and the dynamic loader, copied from this
# machine, the packaged default configuration, and the licences of what it
# ships: cgpilot's, and the copyright file of each library's Debian package
# where dpkg knows it. Nothing comes from the network.
#
# Reproducible: the same binaries give the same bytes (and digests). Every
# entry has the same mtime (SOURCE_DATE_EPOCH, else the last commit's time,
# else 0), owner 0:0 and a fixed mode; entries are sorted; gzip stores no
# name or time.
#
# Usage: packaging/image/build-image.sh BUILD_DIR ARCHIVE
set -euo pipefail

die()
{
	echo "build-image: error: $*" >&2
	exit 1
}

(($# == 2)) || die "usage: $0 BUILD_DIR ARCHIVE"
build=$1
archive=$2
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bins=(cgpilotd:usr/sbin cgpilot:usr/bin cgpilot-run:usr/bin)
for b in "${bins[@]}"; do
	[[ -x $build/${b%%:*} ]] || die "no $build/${b%%:*}: run make first"
done
for tool in tar gzip sha256sum ldd strip; do
	command -v "$tool" > /dev/null || die "$tool is missing"
done

version=$("$build/cgpilotd" --version | awk '{print $2}')
[[ $version =~ ^[0-9A-Za-z.+~-]+$ ]] || die "cgpilotd --version printed '$version'"
revision=$(git -C "$top" rev-parse HEAD 2> /dev/null || true)
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2> /dev/null || echo 0)}
[[ $epoch =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH is not a number: $epoch"
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*) die "no OCI architecture name for $(uname -m)" ;;
esac
name=localhost/cgpilot:$version

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"

# The shared libraries (and loader) ldd names for $1, one path a line.
ldd_libs()
{
	ldd "$1" | awk '
		/=>/ { if ($3 ~ /^\//) print $3; else print "NOTFOUND:" $1; next }
		$1 ~ /^\// { print $1 }'
}

declare -A libs=()
for b in "${bins[@]}"; do
	bin=${b%%:*}
	install -D -m 0755 "$build/$bin" "$root/${b#*:}/$bin"
	strip --strip-debug "$root/${b#*:}/$bin"
	while read -r lib; do
		[[ $lib == NOTFOUND:* ]] && die "$bin needs ${lib#NOTFOUND:}, which ldd cannot find"
		libs[$lib]=1
	done < <(ldd_libs "$build/$bin")
done
paths=()
for lib in "${!libs[@]}"; do
	# the loader is executable, as on the host; the libraries need not be
	mode=0644
	[[ $lib == */ld-linux* ]] && mode=0755
	install -D -m "$mode" "$(readlink -f "$lib")" "$root$lib"
	# dpkg knows a library by its soname link, its file, or (merged /usr) either under /usr
	paths+=("$lib" "/usr$lib" "$(readlink -f "$lib")")
done
install -D -m 0644 "$top/packaging/cgpilotd.conf" "$root/etc/cgpilot/cgpilotd.conf"
install -D -m 0644 "$top/LICENSE" "$root/usr/share/doc/cgpilot/LICENSE"
for f in "$top"/LICENSES/*; do
	install -D -m 0644 "$f" "$root/usr/share/doc/cgpilot/LICENSES/${f##*/}"
done
# the Debian packages of the libraries: their copyright files (none elsewhere)
if command -v dpkg-query > /dev/null; then
	for p in $(dpkg-query -S "${paths[@]}" 2> /dev/null | cut -d: -f1 | LC_ALL=C sort -u); do
		f=/usr/share/doc/$p/copyright
		[[ -r $f ]] && install -D -m 0644 "$f" "$root$f"
	done
fi
find "$root" -type d -exec chmod 0755 {} +

# One tar, the same bytes for the same tree: sorted names without "./",
# one mtime, root's numeric owner, ustar headers (no pax times).
det_tar()
{
	local dir=$1 out=$2

	(cd "$dir" && find . -mindepth 1 | sed 's,^\./,,' | LC_ALL=C sort) > "$work/list"
	tar -C "$dir" --format=ustar --no-recursion --mtime="@$epoch" --owner=0 --group=0 \
		--numeric-owner -cf "$out" -T "$work/list"
}

det_tar "$root" "$work/layer.tar"
gzip -n < "$work/layer.tar" > "$work/layer.tar.gz"
diff_id=$(sha256sum < "$work/layer.tar" | cut -d' ' -f1)

oci=$work/oci
mkdir -p "$oci/blobs/sha256"
# A file in blobs/sha256 named by its digest; sets blob_digest and blob_size.
put_blob()
{
	blob_digest=$(sha256sum < "$1" | cut -d' ' -f1)
	blob_size=$(stat -c %s "$1")
	cp "$1" "$oci/blobs/sha256/$blob_digest"
}

put_blob "$work/layer.tar.gz"
layer_digest=$blob_digest layer_size=$blob_size

labels="\"org.opencontainers.image.title\":\"cgpilot\""
labels+=",\"org.opencontainers.image.description\":\"cgpilotd, the cgpilot node agent, with the cgpilot CLI and the cgpilot-run launcher and OCI runtime\""
labels+=",\"org.opencontainers.image.version\":\"$version\""
labels+=",\"org.opencontainers.image.created\":\"$created\""
labels+=",\"org.opencontainers.image.licenses\":\"Apache-2.0 AND (GPL-2.0-only OR BSD-2-Clause)\""
[[ -n $revision ]] && labels+=",\"org.opencontainers.image.revision\":\"$revision\""
printf '%s' "{\"architecture\":\"$arch\",\"os\":\"linux\",\"created\":\"$created\"," \
	"\"config\":{\"Entrypoint\":[\"/usr/sbin/cgpilotd\"],\"Cmd\":[\"--foreground\"]," \
	"\"Env\":[\"PATH=/usr/sbin:/usr/bin\"],\"Labels\":{$labels}}," \
	"\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff_id\"]}," \
	"\"history\":[{\"created\":\"$created\",\"created_by\":\"make image\"}]}" \
	> "$work/config.json"
put_blob "$work/config.json"
config_digest=$blob_digest config_size=$blob_size

printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," \
	"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\"," \
	"\"digest\":\"sha256:$config_digest\",\"size\":$config_size}," \
	"\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\"," \
	"\"digest\":\"sha256:$layer_digest\",\"size\":$layer_size}]}" > "$work/manifest.json"
put_blob "$work/manifest.json"

# ref.name is the tag (skopeo's oci-archive:FILE:TAG); podman and containerd
# take the whole name from io.containerd.image.name.
printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\"," \
	"\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," \
	"\"digest\":\"sha256:$blob_digest\",\"size\":$blob_size," \
	"\"annotations\":{\"io.containerd.image.name\":\"$name\"," \
	"\"org.opencontainers.image.ref.name\":\"$version\"}}]}" > "$oci/index.json"
printf '%s' '{"imageLayoutVersion":"1.0.0"}' > "$oci/oci-layout"
find "$oci" -type d -exec chmod 0755 {} +
find "$oci" -type f -exec chmod 0644 {} +

mkdir -p "$(dirname "$archive")"
det_tar "$oci" "$work/archive.tar"
mv "$work/archive.tar" "$archive"
echo "build-image: $archive: $name, manifest sha256:$blob_digest," \
	"layer $((layer_size / 1024)) KiB (${#libs[@]} libraries)"
