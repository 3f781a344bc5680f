#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Prepare the kernel tree the modules and selftests are built from:
#   pristine linux-source-6.12  +  patches/series  +  the repo's new files.
#
# $CACHE/src/...       the untouched source (re-extracted only when the
#                      linux-source-6.12 package changes)
# build/src/tree       the prepared tree; updated in place so that only files
#                      whose content changed get a new mtime and make rebuilds
#                      just what depends on them
. "$(dirname "$0")/lib.sh"

SRC=$BUILD/src
ver=$(src_pkg_version)
# The pristine source is shared through the cache: the riscv64 kernel build
# (also cached) refers to it by path.
PRISTINE=$CACHE/src/linux-source-$ver
TREE=$SRC/tree
STAGE=$SRC/stage

# Repo directories overlaid onto the tree (where each lands: tree_path, lib.sh;
# the list is OVERLAY_DIRS there).
overlay_files() {
	local d
	for d in "${OVERLAY_DIRS[@]}"; do
		[ ! -d "$TOP/$d" ] || (cd "$TOP" && find "$d" -type f)
	done | LC_ALL=C sort
}

series() { series_list 2>/dev/null || true; }

# TVMM_SERIES_UPTO=N prepares the tree as of the N-th patch (for bisecting the
# series): later patches, and the new files only they name, are left out, and
# the new files are as the first N patches leave them (see lib.sh).

mkdir -p "$SRC" "$(dirname "$PRISTINE")"
echo "$PRISTINE" > "$SRC/pristine-path"
if ! stamp_ok "$PRISTINE" "$ver"; then
	log "extracting linux-source-6.12 $ver"
	rm -rf "$PRISTINE" "$PRISTINE.tmp" "$TREE"
	# Drop sources of other 6.12.y releases.
	find "$(dirname "$PRISTINE")" -maxdepth 1 -name 'linux-source-*' -exec rm -rf {} +
	mkdir -p "$PRISTINE.tmp"
	tar -xf /usr/src/linux-source-6.12.tar.xz -C "$PRISTINE.tmp" --strip-components=1
	stamp_set "$PRISTINE.tmp" "$ver"
	mv "$PRISTINE.tmp" "$PRISTINE"
fi

mapfile -t files < <(overlay_files)
mapfile -t patches < <(series)
if [ -n "${TVMM_SERIES_UPTO:-}" ]; then
	patches=("${patches[@]:0:$TVMM_SERIES_UPTO}")
	mapfile -t later < <(for p in $(series | tail -n +$((TVMM_SERIES_UPTO + 1))); do
		patch_new_files "$p"; done)
	mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -vxF -f <(printf '%s\n' "${later[@]}" "") )
fi
inputs=("$TOP/Kbuild" "$TOP/scripts/prepare.sh")
for p in "${patches[@]}"; do inputs+=("$TOP/patches/$p"); done
for f in "${files[@]}"; do inputs+=("$TOP/$f"); done
key="$ver $(hash_files "${inputs[@]}")"
if stamp_ok "$TREE" "$key"; then
	exit 0
fi

log "preparing tree (${#patches[@]} patches, ${#files[@]} new files)"
rm -rf "$STAGE"
# The repo holds the new files' final form: the patches' diffs to new files
# are left out, and a partial series takes its new files from UPTO.
UPTO=$SRC/upto
for p in $(series); do
	for f in $(patch_new_files "$p"); do tree_path "$f"; done
done > "$SRC/new-files.list"
if [ -n "${TVMM_SERIES_UPTO:-}" ]; then
	series_new_files_at "$TVMM_SERIES_UPTO" "$UPTO"
fi
# Hard links are cheap; fall back to a copy across file systems.
cp -al "$PRISTINE" "$STAGE" 2>/dev/null || { rm -rf "$STAGE"; cp -a "$PRISTINE" "$STAGE"; }
rm -f "$STAGE/.tvmm-stamp"
for p in "${patches[@]}"; do
	[ -f "$TOP/patches/$p" ] || die "patches/series names $p, which does not exist"
	# Diffs to new files are left out (see above); a patch may have no other.
	patch_filter drop "$SRC/new-files.list" < "$TOP/patches/$p" > "$SRC/upstream.diff"
	[ -s "$SRC/upstream.diff" ] || continue
	rej=$SRC/$p.rej
	if ! out=$(cd "$STAGE" && patch -p1 --forward --batch --no-backup-if-mismatch -r "$rej" < "$SRC/upstream.diff" 2>&1); then
		printf '%s\n' "$out" >&2
		[ -f "$rej" ] && { echo "--- reject:" >&2; cat "$rej" >&2; }
		die "patch $p does not apply to linux-source-6.12 $ver"
	fi
done
for f in "${files[@]}"; do
	d=$STAGE/$(tree_path "$f")
	mkdir -p "$(dirname "$d")"
	rm -f "$d"
	if [ -n "${TVMM_SERIES_UPTO:-}" ] && [ -f "$UPTO/$(tree_path "$f")" ]; then
		cp "$UPTO/$(tree_path "$f")" "$d"
	else
		cp "$TOP/$f" "$d"
	fi
done
# Out-of-tree entry for each arch's KVM directory (see Kbuild).
for a in x86 riscv; do
	rm -f "$STAGE/arch/$a/kvm/Kbuild"
	cp "$TOP/Kbuild" "$STAGE/arch/$a/kvm/Kbuild"
done

# Sync by content: unchanged files keep their mtime, so builds stay incremental.
mkdir -p "$TREE"
rsync -rlc "$STAGE/" "$TREE/"
# Files an earlier overlay added that are gone now.
manifest=$SRC/overlay.list
if [ -f "$manifest" ]; then
	comm -23 "$manifest" <(for f in "${files[@]}"; do tree_path "$f"; done | LC_ALL=C sort) |
		while read -r gone; do [ -e "$PRISTINE/$gone" ] || rm -f "$TREE/$gone"; done
fi
for f in "${files[@]}"; do tree_path "$f"; done | LC_ALL=C sort > "$manifest"
rm -rf "$STAGE"
stamp_set "$TREE" "$key"
