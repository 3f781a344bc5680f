# SPDX-License-Identifier: GPL-2.0
# Shared settings for the tvmm pipeline scripts.  Source it; do not run it.
#
# Everything derived from the installed Debian packages lives here so that the
# source tree, the headers and the boot image always agree on one 6.12.y.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${TVMM_BUILD:-$TOP/build}
# Content-keyed artifacts (riscv64 kernel, stock test results) survive clones.
CACHE=${TVMM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tvmm}
JOBS=${JOBS:-$(nproc)}

log() { printf '[tvmm] %s\n' "$*" >&2; }
die() { printf '[tvmm] error: %s\n' "$*" >&2; exit 1; }

# Debian version of linux-source-6.12, e.g. "6.12.117-1~deb12u1".
src_pkg_version() {
	dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null ||
		die "linux-source-6.12 is not installed (run: make deps)"
}

# Kernel release of the Debian amd64 flavour built from that same source,
# e.g. "6.12.117+deb12-amd64".  Found by matching the package version, never
# by pinning a point release.
debian_krelease() {
	local want pkg ver
	want=$(src_pkg_version)
	for pkg in $(apt-cache pkgnames linux-headers-6.12. 2>/dev/null | grep -E '^linux-headers-6\.12\.[0-9]+\+[a-z0-9.]+-amd64$' | sort -rV); do
		ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p')
		if [ "$ver" = "$want" ]; then
			echo "${pkg#linux-headers-}"
			return
		fi
	done
	die "no linux-headers-6.12.*-amd64 package matches linux-source-6.12 $want"
}

# Cheap accessors once deps are installed (no apt queries).
krelease() {
	local f=$BUILD/krelease
	if [ ! -s "$f" ] || [ "$(sed -n 2p "$f")" != "$(src_pkg_version)" ]; then
		mkdir -p "$BUILD"
		printf '%s\n%s\n' "$(debian_krelease)" "$(src_pkg_version)" > "$f"
	fi
	sed -n 1p "$f"
}

headers_dir() { echo "/usr/src/linux-headers-$(krelease)"; }
vmlinuz() { echo "/boot/vmlinuz-$(krelease)"; }
moddir() { echo "/lib/modules/$(krelease)"; }

# sha256 of the named files' contents and names, for cache keys and stamps.
hash_files() {
	local f
	for f in "$@"; do
		printf '%s\n' "${f#$TOP/}"
		cat "$f"
	done | sha256sum | cut -c1-16
}

# Print a stamp key; compare with stamp_ok DIR KEY, write with stamp_set.
stamp_ok() { [ -f "$1/.tvmm-stamp" ] && [ "$(cat "$1/.tvmm-stamp")" = "$2" ]; }
stamp_set() { printf '%s\n' "$2" > "$1/.tvmm-stamp"; }

# Build drivers/virt/vepc, or a copy of it in DIR, out of tree against the
# kernel build KDIR, with the options OPTION... (NAME=y or NAME=m) standing
# in for the kernel's config, which has none of them: each is both the make
# variable the Makefile reads and the define autoconf.h would carry.
#   vepc_make KDIR DIR "EXTRA_KCFLAGS" OPTION... -- TARGET...
vepc_make() {
	local kdir=$1 dir=$2 kcflags=$3
	local -a vars=()
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		vars+=("$1")
		case $1 in
		*=m) kcflags+=" -D${1%=m}_MODULE=1" ;;
		*=y) kcflags+=" -D${1%=y}=1" ;;
		*) die "vepc_make: $1: not NAME=y or NAME=m" ;;
		esac
		shift
	done
	[ $# -gt 0 ] && shift
	make -s -C "$kdir" M="$dir" -j"$JOBS" "${vars[@]}" KCFLAGS="$kcflags" "$@"
}

# ------------------------------------------------------------ the series
# patches/series holds the series in order.  A patch names the new files it
# adds on its "tvmm-new-files:" line; the repo holds each new file at its
# upstream path in its final form (selftests/ for tools/testing/selftests/).
# A later patch may change a new file with an ordinary diff, as a kernel
# series grows a file it added: the file as an earlier patch left it is the
# final one with those later diffs taken back (series_new_files_at).

#
# The same holds for OpenSBI's series (opensbi/patches, new files under
# opensbi/ at OpenSBI's paths): use_series opensbi switches these helpers to it.
SERIES_DIR=$TOP/patches
NEW_ROOT=$TOP
use_series() {
	case $1 in
	linux) SERIES_DIR=$TOP/patches NEW_ROOT=$TOP ;;
	opensbi) SERIES_DIR=$TOP/opensbi/patches NEW_ROOT=$TOP/opensbi ;;
	*) die "use_series: unknown series $1" ;;
	esac
}

series_list() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$SERIES_DIR/series"; }

# The kernel series' repo directories of new files, overlaid onto the
# prepared tree (prepare.sh) and each file of which some patch must name
# (export-patches.sh).  All land at the same path in the tree but
# selftests/ (tree_path).
OVERLAY_DIRS=(virt arch include drivers Documentation selftests)

# Where a file under NEW_ROOT lands in the upstream tree.
tree_path() {
	case $NEW_ROOT:$1 in
	"$TOP":selftests/*) echo "tools/testing/$1" ;;
	*) echo "$1" ;;
	esac
}

# The new files one patch adds, as paths under NEW_ROOT.
patch_new_files() { sed -n 's/^tvmm-new-files://p' "$SERIES_DIR/$1" | tr ' ' '\n' | sed '/^$/d'; }

# The diff sections of a patch (stdin) whose file is (keep) or is not (drop)
# one of the tree paths listed in the file $2.  The text before the first
# section (the commit message) goes.
patch_filter() {
	awk -v mode="$1" -v list="$2" '
		BEGIN { while ((getline l < list) > 0) f[l] = 1 }
		/^diff --git / { p = $3; sub(/^a\//, "", p); sect = 1
				 keep = (mode == "keep") == (p in f) }
		sect && keep'
}

# Write into the directory $2 (tree layout) the new files as the first $1
# patches of the series leave them, and their tree paths into "$2.list".
series_new_files_at() {
	local upto=$1 dest=$2 p f t i
	local -a pl
	mapfile -t pl < <(series_list)
	rm -rf "$dest"
	mkdir -p "$dest"
	for p in "${pl[@]:0:upto}"; do
		for f in $(patch_new_files "$p"); do
			t=$(tree_path "$f")
			mkdir -p "$dest/$(dirname "$t")"
			cp "$NEW_ROOT/$f" "$dest/$t"
			echo "$t"
		done
	done > "$dest.list"
	for ((i = ${#pl[@]} - 1; i >= upto; i--)); do
		patch_filter keep "$dest.list" < "$SERIES_DIR/${pl[i]}" > "$dest.diff"
		[ -s "$dest.diff" ] || continue
		patch -d "$dest" -p1 -R -F0 --batch --no-backup-if-mismatch -s \
			< "$dest.diff" >&2 ||
			die "${pl[i]}: its changes to new files do not come off their final form"
	done
	rm -f "$dest.diff"
}

# ------------------------------------------------------- exporting a series
# Shared by export-patches.sh (the kernel's) and export-opensbi.sh.

# The submitter: AUTHOR, else git's user.name and user.email (a warning and
# a placeholder if neither is set).
series_author() {
	local name mail
	[ -z "${AUTHOR:-}" ] || return 0
	name=$(git -C "$TOP" config user.name || true)
	mail=$(git -C "$TOP" config user.email || true)
	if [ -n "$name" ] && [ -n "$mail" ]; then
		AUTHOR="$name <$mail>"
	else
		AUTHOR="Unknown Submitter <unknown@invalid>"
		log "warning: no AUTHOR and no git user.name/user.email: the series is signed by '$AUTHOR' and is not fit to submit"
	fi
}

# The commit message of patch file $1 into $2: its subject (less "[PATCH]")
# and body up to "---", trailing blank lines dropped, signed off by AUTHOR.
series_commit_msg() {
	sed -n '/^Subject: /,/^---$/p' "$1" | sed -e '$d' \
		-e '1s/^Subject: \(\[PATCH[^]]*\] \)\{0,1\}//' > "$2"
	sed -i -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$2"
	printf '\nSigned-off-by: %s\n' "$AUTHOR" >> "$2"
}

# The commits pristine..HEAD of the git repository $1 as a format-patch
# series in $2 (emptied first), then proof that it git-ams onto pristine.
series_format_and_am() {
	local repo=$1 out=$2
	local -a g=(git -C "$repo" -c user.name=tvmm -c user.email=tvmm@localhost
		    -c advice.detachedHead=false)
	rm -rf "$out"
	mkdir -p "$out"
	"${g[@]}" format-patch -q --no-signature -o "$out" pristine..HEAD
	"${g[@]}" checkout -q -f --detach pristine
	"${g[@]}" clean -q -fdx
	"${g[@]}" -c am.threeWay=false am -q "$out"/*.patch || {
		"${g[@]}" am --abort 2>/dev/null || true
		return 1
	}
	"${g[@]}" checkout -q -f --detach pristine
}

# checkpatch.pl ($1, run in directory $2, with the options after $3) on
# every patch in $3: prints each patch's counts and findings, and fails
# if any has an error.
series_checkpatch() {
	local checkpatch=$1 dir=$2 outdir=$3 f out e w errors=0
	shift 3
	for f in "$outdir"/*.patch; do
		out=$(cd "$dir" && PATH=/usr/bin:$PATH "$checkpatch" --strict -q "$@" "$f" 2>&1) || true
		e=$(printf '%s\n' "$out" | grep -c '^ERROR:' || true)
		w=$(printf '%s\n' "$out" | grep -c -E '^(WARNING|CHECK):' || true)
		errors=$((errors + e))
		printf '%-70s %d errors, %d warnings/checks\n' "$(basename "$f")" "$e" "$w"
		[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/    /'
	done
	log "$(ls "$outdir" | wc -l) patches in ${outdir#$TOP/}: git am clean, checkpatch --strict: $errors errors"
	[ "$errors" = 0 ]
}
