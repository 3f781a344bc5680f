#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Export patches/series as a git format-patch series against the pristine
# 6.12 tree, with each new file in the patch that names it on its
# "tvmm-new-files:" line, as the series has it there (later patches may
# change it with ordinary diffs, see lib.sh); patches with a "tvmm-local:"
# line (tvmm's own tests of the build) are left out.  Then prove the series:
# it must "git am" onto a fresh pristine tree and checkpatch.pl --strict must
# find no errors.
#   usage: export-patches.sh [outdir]      (default: out/patches)
#
# The patches in the repo carry no author and no Signed-off-by: the
# submitter's identity is AUTHOR="Name <mail>" or, by default, git's
# user.name and user.email; each exported patch gets it as author and as
# its Signed-off-by.
. "$(dirname "$0")/lib.sh"

case ${1:-} in
-h|--help) sed -n '3,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
-*) die "unknown option $1 (usage: export-patches.sh [outdir])" ;;
esac
OUTDIR=$(realpath -m "${1:-$TOP/out/patches}")
series_author
"$TOP/scripts/prepare.sh"
PRISTINE=$(cat "$BUILD/src/pristine-path")
ver=$(src_pkg_version)
REPO=$CACHE/git/linux-source-$ver
# One export at a time: they share that git tree (two checkouts may run
# make check side by side).
mkdir -p "$CACHE/git"
exec 9>"$CACHE/git/.export.lock"
flock 9
export GIT_AUTHOR_DATE="@0 +0000" GIT_COMMITTER_DATE="@0 +0000"
git_() { git -C "$REPO" -c user.name=tvmm -c user.email=tvmm@localhost \
		-c advice.detachedHead=false "$@"; }

if ! git -C "$REPO" rev-parse -q --verify refs/tags/pristine >/dev/null 2>&1; then
	log "creating the pristine git tree for $ver (once)"
	rm -rf "$REPO"
	mkdir -p "$(dirname "$REPO")"
	cp -a "$PRISTINE" "$REPO"
	rm -f "$REPO/.tvmm-stamp"
	git_ init -q
	git_ add -A -f .
	git_ commit -q -m "linux-source-6.12 $ver"
	git_ tag pristine
fi

git_ checkout -q -f --detach pristine
git_ clean -q -fdx
i=0
for p in $(series_list); do
	i=$((i + 1))
	f=$TOP/patches/$p
	# tvmm's own test of the build: applied by prepare.sh, never exported.
	grep -q '^tvmm-local:' "$f" && continue
	# Diffs to upstream files and to new files earlier patches added.
	if grep -q '^--- ' "$f"; then
		git_ apply --index "$f" || die "$p does not apply"
	fi
	# The new files it adds, as this patch leaves them (see lib.sh).
	series_new_files_at "$i" "$BUILD/export-new"
	for n in $(patch_new_files "$p"); do
		dest=$(tree_path "$n")
		[ -f "$TOP/$n" ] || die "$p names $n, which does not exist"
		mkdir -p "$REPO/$(dirname "$dest")"
		cp "$BUILD/export-new/$dest" "$REPO/$dest"
		git_ add -f "$dest"
	done
	series_commit_msg "$f" "$BUILD/commit-msg"
	git_ commit -q --author="$AUTHOR" -F "$BUILD/commit-msg" ||
		die "$p: nothing to commit"
done

# Every new file must belong to some patch (a local one counts).
for n in $(cd "$TOP" && find "${OVERLAY_DIRS[@]}" -type f \
		! -name tvmm.config ! -path 'arch/riscv/configs/*' 2>/dev/null || true); do
	grep -qx "tvmm-new-files:.*\b$n\b.*" "$TOP"/patches/*.patch ||
		die "$n is not named by any patch's tvmm-new-files line"
done

# The series ends with the new files exactly as the repo holds them.
for p in $(series_list); do
	grep -q '^tvmm-local:' "$TOP/patches/$p" && continue
	for n in $(patch_new_files "$p"); do
		cmp -s "$TOP/$n" "$REPO/$(tree_path "$n")" ||
			die "$n: the series does not end with the repo's version"
	done
done
rm -rf "$BUILD/export-new" "$BUILD/export-new.list"

# Proof 1: git am onto a fresh pristine tree.
series_format_and_am "$REPO" "$OUTDIR" ||
	die "the exported series does not git-am onto the pristine tree"
# Proof 2: checkpatch --strict, zero errors.
series_checkpatch ./scripts/checkpatch.pl "$REPO" "$OUTDIR"
