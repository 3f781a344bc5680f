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
