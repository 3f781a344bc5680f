#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A static riscv64 busybox for "make shell ARCH=riscv64".  Debian 12 has no
# riscv64 binaries, so it is cross-built from Debian's busybox source package
# (this adds a deb-src entry for the archive the machine already uses) and
# cached by the source version.  Not needed by make check.
. "$(dirname "$0")/lib.sh"

OUT=$BUILD/riscv64/busybox
srcs=/etc/apt/sources.list.d/tvmm-deb-src.sources
if ! apt-cache showsrc busybox >/dev/null 2>&1 || [ -z "$(apt-cache showsrc busybox 2>/dev/null)" ]; then
	[ "$(id -u)" = 0 ] || die "adding $srcs needs root"
	cat > "$srcs" <<SRC
# Added by tvmm (scripts/build-busybox-riscv.sh): source packages to cross-build.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	apt-get update -qq >&2
fi
dpkg-query -W dpkg-dev >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends dpkg-dev >&2
ver=$(apt-cache showsrc busybox | sed -n 's/^Version: //p' | sort -V | tail -1)
# No ":" (the epoch) in paths: make cannot handle it.
dir_ver=$(echo "$ver" | tr ":" "_")
bin=$CACHE/busybox-riscv64/$dir_ver/busybox
if [ ! -x "$bin" ]; then
	log "cross-building busybox $ver for riscv64 (once)"
	work=$CACHE/busybox-riscv64/$dir_ver/src
	rm -rf "$work"
	mkdir -p "$work"
	(cd "$work" && apt-get source -qq "busybox=$ver" >/dev/null)
	dir=$(find "$work" -maxdepth 1 -mindepth 1 -type d -name 'busybox-*' | head -1)
	make -s -C "$dir" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- defconfig >/dev/null
	# Static; drop applets that do not build against newer kernel headers.
	sed -i -e 's/^# CONFIG_STATIC is not set/CONFIG_STATIC=y/' \
	       -e 's/^CONFIG_TC=y/# CONFIG_TC is not set/' "$dir/.config"
	make -s -C "$dir" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- oldconfig </dev/null >/dev/null
	make -s -C "$dir" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- -j"$JOBS" busybox >/dev/null
	cp "$dir/busybox" "$bin"
	rm -rf "$work"
fi
mkdir -p "$(dirname "$OUT")"
cp -u "$bin" "$OUT"
