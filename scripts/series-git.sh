#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Edit the series as git commits, the way kernel series are edited:
#
#   series-git.sh export DIR   a git repository in DIR: a commit (and tag)
#                              "pristine" of the upstream files the series
#                              touches, then one commit per patch (its
#                              subject is the patch's file name) with the new
#                              files as that patch leaves them
#   series-git.sh import DIR   write patches/ back from DIR's commits (after an
#                              interactive rebase, say; keep the subjects):
#                              each patch keeps its message and notes, gets
#                              its diff from its commit, and the repo's new
#                              files take their form at DIR's HEAD
#
# Needs a prepared tree (scripts/prepare.sh) for the pristine source.  A patch
# that a commit adds needs its message first: patches/NAME with a "Subject:",
# the body and a "---" line, and NAME in patches/series.
. "$(dirname "$0")/lib.sh"

usage() { die "usage: series-git.sh export|import DIR"; }
[ $# = 2 ] || usage
cmd=$1 dir=$2

# Every new file of the series, as tree paths.
all_new_files() {
	local p f
	for p in $(series_list); do
		for f in $(patch_new_files "$p"); do tree_path "$f"; done
	done
}

# A tree path as a repo path (tree_path's inverse).
repo_path() {
	case $1 in
	tools/testing/selftests/*) echo "${1#tools/testing/}" ;;
	*) echo "$1" ;;
	esac
}

export_series() {
	local pristine p i=0 f
	pristine=$(cat "$BUILD/src/pristine-path" 2>/dev/null) ||
		die "no prepared tree: run scripts/prepare.sh first"
	[ ! -e "$dir" ] || die "$dir exists"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	all_new_files | sort -u > "$tmp/new"
	git init -q "$dir"
	# The upstream files any patch changes, as they are upstream.
	for p in $(series_list); do
		patch_filter drop "$tmp/new" < "$TOP/patches/$p" |
			sed -n 's|^diff --git a/\([^ ]*\) .*|\1|p'
	done | sort -u | while read -r f; do
		[ -f "$pristine/$f" ] || continue
		mkdir -p "$dir/$(dirname "$f")"
		cp "$pristine/$f" "$dir/$f"
	done
	git -C "$dir" add -A
	git -C "$dir" commit -q -m pristine
	git -C "$dir" tag pristine
	for p in $(series_list); do
		i=$((i + 1))
		patch_filter drop "$tmp/new" < "$TOP/patches/$p" > "$tmp/diff"
		if [ -s "$tmp/diff" ]; then
			patch -d "$dir" -p1 -F0 --batch --no-backup-if-mismatch -s \
				< "$tmp/diff" || die "$p does not apply"
		fi
		series_new_files_at "$i" "$tmp/at"
		(cd "$tmp/at" && find . -type f) | while read -r f; do
			mkdir -p "$dir/$(dirname "$f")"
			cp "$tmp/at/$f" "$dir/$f"
		done
		git -C "$dir" add -A
		git -C "$dir" commit -q --allow-empty -m "$p"
	done
	log "$dir: pristine + $i commits"
}

import_series() {
	local base c p added notes out f
	base=$(git -C "$dir" rev-list --reverse HEAD | head -n1)
	[ "$(git -C "$dir" log -1 --format=%s "$base")" = pristine ] ||
		die "$dir: its first commit is not \"pristine\""
	for c in $(git -C "$dir" rev-list --reverse "$base..HEAD"); do
		p=$(git -C "$dir" log -1 --format=%s "$c")
		[ -f "$TOP/patches/$p" ] || die "$p (commit $c): no patches/$p for its message"
		series_list | grep -xF "$p" > /dev/null || die "$p is not in patches/series"
		added=$(git -C "$dir" diff --no-renames --diff-filter=A --name-only "$c^" "$c" |
			while read -r f; do repo_path "$f"; done)
		out=$(mktemp)
		sed '/^---$/q' "$TOP/patches/$p" > "$out"
		notes=$(awk '/^---$/ { f = 1; next } f && /^diff --git / { exit } f' \
			"$TOP/patches/$p" | { grep -v '^tvmm-new-files:' || true; } | sed '/^$/d')
		if [ -n "$added" ]; then
			echo "tvmm-new-files: $(echo "$added" | sort_like_notes "$p" | tr '\n' ' ' |
				sed 's/ $//')" >> "$out"
		fi
		[ -z "$notes" ] || echo "$notes" >> "$out"
		echo >> "$out"
		git -C "$dir" diff --no-renames "$c^" "$c" -- . \
			$(for f in $added; do echo ":(exclude)$(tree_path "$f")"; done) >> "$out"
		mv "$out" "$TOP/patches/$p"
	done
	for f in $(all_new_files); do
		[ -f "$dir/$f" ] || die "$f: a new file the series names is not in $dir"
		cp "$dir/$f" "$TOP/$(repo_path "$f")"
	done
	log "patches/ and the new files written from $dir"
}

# The files on stdin in the order patch $1's tvmm-new-files line has them,
# files it does not name last.
sort_like_notes() {
	local f
	local -a old mine
	read -r -a old <<< "$(patch_new_files "$1" | tr '\n' ' ')"
	mapfile -t mine
	for f in "${old[@]}"; do
		printf "%s\n" "${mine[@]}" | grep -xF "$f" > /dev/null && echo "$f"
	done
	for f in "${mine[@]}"; do
		printf "%s\n" "${old[@]}" | grep -xF "$f" > /dev/null || echo "$f"
	done
}

case $cmd in
export) export_series ;;
import) import_series ;;
*) usage ;;
esac
