#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install, from Debian's archive, everything the pipeline needs.  Idempotent and
# fast when nothing is missing.  The 6.12.y point release is whatever
# linux-source-6.12 currently is; the amd64 headers and image are chosen to match.
. "$(dirname "$0")/lib.sh"

PKGS=(linux-source-6.12 python3-ply python3-git qemu-system-x86 qemu-system-misc gcc-riscv64-linux-gnu
      libc6-dev-riscv64-cross busybox-static bc flex bison libelf-dev libssl-dev
      dwarves cpio kmod xz-utils rsync git make gcc g++ python3 perl
      cmake libabsl-dev liburing-dev googletest clang-14 libclang-rt-14-dev e2fsprogs
      device-tree-compiler)

missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			echo "$p"
	done
}

apt_install() {
	[ "$(id -u)" = 0 ] || die "installing $* needs root"
	if [ -z "${TVMM_APT_UPDATED:-}" ]; then
		apt-get update -qq >&2
		TVMM_APT_UPDATED=1
	fi
	log "installing: $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

need=$(missing "${PKGS[@]}")
# shellcheck disable=SC2086
[ -z "$need" ] || apt_install $need

# A newer linux-source-6.12 may have replaced the one the headers matched.
if [ -n "$need" ] || [ ! -d "$(headers_dir 2>/dev/null || echo /nonexistent)" ]; then
	rm -f "$BUILD/krelease"
fi
kr=$(krelease)
need=$(missing "linux-headers-$kr" "linux-image-$kr-unsigned")
if [ -n "$need" ]; then
	# The signed image satisfies the same need; do not fight it.
	if [ "$need" = "linux-image-$kr-unsigned" ] && [ -f "/boot/vmlinuz-$kr" ]; then
		need=
	fi
fi
# shellcheck disable=SC2086
[ -z "$need" ] || apt_install $need
[ -f "$(vmlinuz)" ] || die "$(vmlinuz) missing after install"
[ -d "$(headers_dir)" ] || die "$(headers_dir) missing after install"
log "kernel $(krelease) from linux-source-6.12 $(src_pkg_version)"

# The outer QEMU of the x86-64 test guest (QEMU 10.0 from bookworm-backports).
"$TOP/scripts/fetch-qemu.sh"
