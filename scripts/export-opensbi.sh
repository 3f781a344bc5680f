#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Export opensbi/patches/series as a git format-patch series against
# pristine OpenSBI 1.8.1, each new file (opensbi/...) in the patch that names
# it, and prove it as scripts/export-patches.sh proves the kernel's: it must
# "git am" onto a fresh pristine tree, and the kernel's checkpatch.pl
# --strict (OpenSBI follows the kernel's style) must find no errors.
#   usage: export-opensbi.sh [outdir]      (default: out/opensbi-patches)
# The submitter: AUTHOR="Name <mail>" or git's user.name and user.email.
. "$(dirname "$0")/lib.sh"
use_series opensbi

case ${1:-} in
-h|--help) sed -n '3,9s/^# \{0,1\}//p' "$0"; exit 0 ;;
-*) die "unknown option $1 (usage: export-opensbi.sh [outdir])" ;;
esac
OUTDIR=$(realpath -m "${1:-$TOP/out/opensbi-patches}")
series_author
PRISTINE=$("$TOP/scripts/build-opensbi.sh" --pristine-path)
REPO=$CACHE/git/opensbi-$(basename "$PRISTINE" | sed 's/^opensbi-//')
export GIT_AUTHOR_DATE="@0 +0000" GIT_COMMITTER_DATE="@0 +0000"
git_() { git -C "$REPO" -c user.name=tvmm -c user.email=tvmm@localhost \
		-c advice.detachedHead=false "$@"; }

if ! git -C "$REPO" rev-parse -q --verify refs/tags/pristine >/dev/null 2>&1; then
	log "creating the pristine OpenSBI git tree (once)"
	rm -rf "$REPO"
	mkdir -p "$(dirname "$REPO")"
	cp -a "$PRISTINE" "$REPO"
	rm -f "$REPO/.tvmm-stamp"
	git_ init -q
	git_ add -A -f .
	git_ commit -q -m "OpenSBI $(basename "$PRISTINE")"
	git_ tag pristine
fi

git_ checkout -q -f --detach pristine
git_ clean -q -fdx
i=0
for p in $(series_list); do
	i=$((i + 1))
	f=$SERIES_DIR/$p
	if grep -q '^--- ' "$f"; then
		git_ apply --index "$f" || die "$p does not apply"
	fi
	series_new_files_at "$i" "$BUILD/opensbi-export-new"
	for n in $(patch_new_files "$p"); do
		[ -f "$NEW_ROOT/$n" ] || die "$p names opensbi/$n, which does not exist"
		mkdir -p "$REPO/$(dirname "$n")"
		cp "$BUILD/opensbi-export-new/$n" "$REPO/$n"
		git_ add -f "$n"
	done
	series_commit_msg "$f" "$BUILD/opensbi-commit-msg"
	git_ commit -q --author="$AUTHOR" -F "$BUILD/opensbi-commit-msg" ||
		die "$p: nothing to commit"
done

# Every new file belongs to a patch, and the series ends with the repo's.
for n in $(cd "$NEW_ROOT" && find . -path ./patches -prune -o -type f -print | sed 's|^\./||'); do
	grep -qx "tvmm-new-files:.*\b$n\b.*" "$SERIES_DIR"/*.patch ||
		die "opensbi/$n is not named by any patch's tvmm-new-files line"
	cmp -s "$NEW_ROOT/$n" "$REPO/$n" || die "opensbi/$n: the series does not end with the repo's version"
done
rm -rf "$BUILD/opensbi-export-new" "$BUILD/opensbi-export-new.list"

series_format_and_am "$REPO" "$OUTDIR" ||
	die "the exported OpenSBI series does not git-am onto pristine OpenSBI"
# checkpatch.pl from the kernel's prepared tree, outside any kernel tree;
# OpenSBI's SPDX lines sit inside its comment blocks.
CHECKPATCH=$BUILD/src/tree/scripts/checkpatch.pl
[ -x "$CHECKPATCH" ] || "$TOP/scripts/prepare.sh"
series_checkpatch "$CHECKPATCH" "$REPO" "$OUTDIR" --no-tree \
	--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG
