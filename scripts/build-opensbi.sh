#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# riscv64 firmware: OpenSBI 1.8.1 from Debian's source package (the upstream
# orig tarball, checked against the SHA-256 pinned below), with
# opensbi/patches/series and the new files under opensbi/, built for QEMU's
# virt machine (PLATFORM=generic, fw_dynamic.bin), and the reference CoVE
# TSM (tsm/, tsm.bin).  The result is cached by content (tarball, series,
# new files, TSM sources, this script) in $CACHE/opensbi-fw and copied to
# build/riscv64/firmware/.
#   usage: build-opensbi.sh [--tree-only | --pristine-path]
#     --tree-only       only prepare build/opensbi/tree
#     --pristine-path   print where the pristine source is
. "$(dirname "$0")/lib.sh"
use_series opensbi

VER=1.8.1
DEB_VER=1.8.1-1
SHA256=fb1ae61a85e966322101acb1c982f84d9eaafc4de7dd474a7d7546d9bb321c6f
TARBALL=$CACHE/opensbi/opensbi_$VER.orig.tar.gz
PRISTINE=$CACHE/opensbi/opensbi-$VER
TREE=$BUILD/opensbi/tree
OUT=$BUILD/riscv64/firmware
export CROSS_COMPILE=riscv64-linux-gnu-

sha_ok() { [ -f "$1" ] && [ "$(sha256sum < "$1" | cut -d' ' -f1)" = "$SHA256" ]; }

# Debian 12 has no OpenSBI 1.8: its source package comes from the newer
# suites' sources, through a private apt state (this system's sources stay
# as they are), or straight from the archive's pool, where the orig tarball
# stays as long as any suite still lists the version.
fetch_tarball() {
	local apt=$CACHE/opensbi/apt tmp=$CACHE/opensbi/dl
	sha_ok "$TARBALL" && return
	log "fetching OpenSBI $DEB_VER's source from Debian's archive (once)"
	rm -rf "$tmp"
	mkdir -p "$apt/lists/partial" "$apt/cache" "$tmp"
	cat > "$apt/tvmm-newer.sources" <<-SRC
	Types: deb-src
	URIs: http://deb.debian.org/debian
	Suites: sid trixie-backports trixie
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	SRC
	local -a A=(-o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$apt"
		    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
		    -o APT::Sandbox::User=root)
	if apt-get "${A[@]}" -qq update >&2; then
		# The Debian part (.debian.tar.xz) may be gone from the archive;
		# only the orig tarball is needed, so a failed download of the
		# rest is not an error as long as the tarball is right.
		(cd "$tmp" && apt-get "${A[@]}" -qq source --download-only "opensbi=$DEB_VER" \
			>/dev/null 2>&1) || true
	fi
	if ! sha_ok "$tmp/opensbi_$VER.orig.tar.gz"; then
		local url
		for url in "http://deb.debian.org/debian/pool/main/o/opensbi/opensbi_$VER.orig.tar.gz" \
			   "https://snapshot.debian.org/archive/debian/20251201T000000Z/pool/main/o/opensbi/opensbi_$VER.orig.tar.gz"; do
			wget -q -O "$tmp/opensbi_$VER.orig.tar.gz" "$url" >&2 ||
				curl -fsSL -o "$tmp/opensbi_$VER.orig.tar.gz" "$url" >&2 || true
			sha_ok "$tmp/opensbi_$VER.orig.tar.gz" && break
		done
	fi
	sha_ok "$tmp/opensbi_$VER.orig.tar.gz" ||
		die "could not fetch opensbi_$VER.orig.tar.gz with SHA-256 $SHA256"
	mv "$tmp/opensbi_$VER.orig.tar.gz" "$TARBALL"
	rm -rf "$tmp"
}

fetch_tarball
if ! stamp_ok "$PRISTINE" "$SHA256"; then
	rm -rf "$PRISTINE" "$PRISTINE.tmp"
	mkdir -p "$PRISTINE.tmp"
	tar -xzf "$TARBALL" -C "$PRISTINE.tmp" --strip-components=1
	stamp_set "$PRISTINE.tmp" "$SHA256"
	mv "$PRISTINE.tmp" "$PRISTINE"
fi
[ "${1:-}" != --pristine-path ] || { echo "$PRISTINE"; exit 0; }

# The tree: pristine + the series' diffs to upstream files + the new files
# in their final form (as scripts/prepare.sh does for the kernel).
mapfile -t patches < <(series_list)
mapfile -t files < <(cd "$NEW_ROOT" && find . -path ./patches -prune -o -type f -print |
		     sed 's|^\./||' | LC_ALL=C sort)
inputs=("$TOP/scripts/build-opensbi.sh")
for p in "${patches[@]}"; do inputs+=("$SERIES_DIR/$p"); done
for f in "${files[@]}"; do inputs+=("$NEW_ROOT/$f"); done
key=$VER-$(hash_files "${inputs[@]}")
mapfile -t tsm_files < <(cd "$TOP" && find tsm -type f | LC_ALL=C sort)
fw_key=$key-$(hash_files "${tsm_files[@]/#/$TOP/}")
if ! stamp_ok "$TREE" "$key"; then
	log "preparing OpenSBI $VER (${#patches[@]} patches, ${#files[@]} new files)"
	rm -rf "$TREE"
	mkdir -p "$(dirname "$TREE")"
	cp -a "$PRISTINE" "$TREE"
	for p in "${patches[@]}"; do
		for f in $(patch_new_files "$p"); do tree_path "$f"; done
	done > "$TREE.new-files"
	for p in "${patches[@]}"; do
		[ -f "$SERIES_DIR/$p" ] || die "opensbi/patches/series names $p, which does not exist"
		patch_filter drop "$TREE.new-files" < "$SERIES_DIR/$p" > "$TREE.diff"
		[ -s "$TREE.diff" ] || continue
		(cd "$TREE" && patch -p1 --forward --batch --no-backup-if-mismatch -s < "$TREE.diff") >&2 ||
			die "patch $p does not apply to OpenSBI $VER"
	done
	for f in "${files[@]}"; do
		mkdir -p "$TREE/$(dirname "$f")"
		cp "$NEW_ROOT/$f" "$TREE/$f"
	done
	rm -f "$TREE.diff" "$TREE.new-files" "$TREE/.tvmm-stamp"
	stamp_set "$TREE" "$key"
fi
[ "${1:-}" != --tree-only ] || exit 0

FW=$CACHE/opensbi-fw/$fw_key
if ! stamp_ok "$FW" "$fw_key"; then
	log "building OpenSBI $VER for QEMU virt and the TSM (cache key $fw_key)"
	rm -rf "$FW"
	mkdir -p "$FW"
	make -s -C "$TREE" O="$FW/build" PLATFORM=generic -j"$JOBS" >/dev/null
	cp "$FW/build/platform/generic/firmware/fw_dynamic.bin" \
	   "$FW/build/platform/generic/firmware/fw_dynamic.elf" "$FW/"
	make -s -C "$TOP/tsm" O="$FW/tsm" test >&2
	make -s -C "$TOP/tsm" O="$FW/tsm" >&2
	cp "$FW/tsm/tsm.bin" "$FW/tsm/tsm.elf" "$FW/"
	rm -rf "$FW/build" "$FW/tsm"
	stamp_set "$FW" "$fw_key"
	ls -1dt "$CACHE"/opensbi-fw/*/ | tail -n +4 | xargs -r rm -rf
fi
mkdir -p "$OUT"
for f in fw_dynamic.bin fw_dynamic.elf tsm.bin tsm.elf; do
	cmp -s "$FW/$f" "$OUT/$f" || cp "$FW/$f" "$OUT/$f"
done
