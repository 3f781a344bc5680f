#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the small guest that tvmm boots in the end-to-end test and in
# `make run`: Debian's 6.12 vmlinuz (used as is), an initramfs with our init
# (tools/tvmm/guest/init.c) and Debian's virtio/vsock/ext4 modules, and an
# ext2 disk image holding the file the guest checks.
# Output: build/tvmm-guest/{initrd.cpio,disk.img}, keyed by content.
. "$(dirname "$0")/lib.sh"

OUT=$BUILD/tvmm-guest
SRC=$TOP/tools/tvmm/guest/init.c
GUEST_MODULES=$TOP/tools/tvmm/guest/modules
# Load order: dependencies first (modinfo -F depends); ext4 also wants a
# crc32c implementation, which it asks the crypto API for.
MODULES=(virtio_mmio virtio_blk virtio-rng crc16 crc32c_generic mbcache jbd2 ext4
	 vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport)
kr=$(krelease)
key=$(hash_files "$SRC" "$GUEST_MODULES"/* "$0")-$kr
mkdir -p "$OUT"
stamp_ok "$OUT" "$key" && exit 0

log "building the tvmm guest (initramfs, disk image)"
stage=$OUT/stage
rm -rf "$stage"
mkdir -p "$stage"/{dev,proc,sys,mnt,modules}
gcc -static -O2 -Wall -Wextra -Werror -o "$stage/init" "$SRC"
strip "$stage/init"
for m in "${MODULES[@]}"; do
	ko=$(modinfo -k "$kr" -n "$m") || die "module $m not found for $kr"
	case $ko in
	*.xz) xz -dc "$ko" > "$stage/modules/$m.ko" ;;
	*) cp "$ko" "$stage/modules/$m.ko" ;;
	esac
	echo "$m.ko"
done > "$stage/modules/order"
# Our modules, last: they read the launch measurement of a --tvm guest and
# convert a page of its memory (built against Debian's headers for the
# kernel the guest runs, in a copy so that the source tree stays clean).
rm -rf "$OUT/modules"
cp -r "$GUEST_MODULES" "$OUT/modules"
make -s -C "$(headers_dir)" M="$OUT/modules" modules
for m in tvmm_measure tvmm_convert; do
	cp "$OUT/modules/$m.ko" "$stage/modules/"
	echo "$m.ko" >> "$stage/modules/order"
done
(cd "$stage" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) > "$OUT/initrd.cpio"

# The disk: hello.txt and its length, which the guest compares.
files=$OUT/disk-files
rm -rf "$files"
mkdir -p "$files"
for i in $(seq 1 200); do
	echo "tvmm virtio-blk test file, line $i"
done > "$files/hello.txt"
stat -c %s "$files/hello.txt" > "$files/hello.len"
rm -f "$OUT/disk.img"
/sbin/mke2fs -q -t ext2 -b 1024 -d "$files" -E root_owner=0:0 "$OUT/disk.img" 4M >/dev/null
rm -rf "$stage" "$files"
stamp_set "$OUT" "$key"
