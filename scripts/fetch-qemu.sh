#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The outer QEMU of the x86-64 test guest: Debian 12's backport of QEMU
# 10.0 (bookworm-backports: qemu-system-x86 with its data and modules, and
# the SeaBIOS it needs), unpacked into the cache, never installed, so that
# this system's QEMU 7.2 stays as it is (the L2 VMM of the QEMU controls
# and benchmarks inside the test guest).  QEMU 7.2's multi-threaded TCG
# corrupts L1's memory under nested SVM (README, "What nested TCG breaks
# by itself").  Each package is pinned by its SHA-256.
# Output: $BUILD/qemu-x86/qemu-system-x86_64, a wrapper that runs it on its
# own firmware and modules.  If the packages cannot be fetched the wrapper
# is not made and the harness boots Debian 12's QEMU, saying so.
. "$(dirname "$0")/lib.sh"

VER=10.0.2+ds-2+deb13u1~bpo12+1
SEABIOS_VER=1.16.3-2~bpo12+1
# package file, SHA-256, SHA-1 (snapshot.debian.org's key)
PKGS=(
	"q/qemu/qemu-system-x86_${VER}_amd64.deb
	 4a6b1856c8b0d7df4ff8e70249e12c473ccf8d516aadb4ae14d3d938faed0c65
	 3e738765a5f41149b7e308a85b853857079e0449"
	"q/qemu/qemu-system-common_${VER}_amd64.deb
	 23a4672a138832d7173855e981aa8282c73ef5e04e080fa7ada9f82c6b34f507
	 7b8b7bfa931a61a9d866e63a96c6d57803c57607"
	"q/qemu/qemu-system-data_${VER}_all.deb
	 2d831088187087013b3fcbd19bdfb955b182a2d5a08f6dafa0ad1c6d2007fb4e
	 87a9a71b73c693363a986fd8a8c411a1c50f9376"
	"s/seabios/seabios_${SEABIOS_VER}_all.deb
	 48390d0a534c66d11789e39518aa219773a9d3677b29fe1af8799dfb563ec713
	 cc01b34e4ebb3b0da072fdf667cf8607e979290a"
)
# The unpacked tree is keyed by the packages' pins (not by this script's
# text), so checkouts that share the cache share it.
DIR=$CACHE/qemu-x86/$VER-$(printf '%s\n' "${PKGS[@]}" | sha256sum | cut -c1-12)
OUT=$BUILD/qemu-x86

give_up() {
	log "warning: $*; the x86-64 test guest boots on Debian 12's QEMU 7.2"
	rm -rf "$OUT"
	exit 0
}

sha_is() { [ -f "$1" ] && [ "$(sha256sum < "$1" | cut -d' ' -f1)" = "$2" ]; }

# Through apt, with a private state for bookworm-backports (this system's
# sources stay as they are); what that misses, from the archive's pool.
apt_download() {  # apt_download DEST-DIR
	local apt=$CACHE/qemu-x86/apt f
	mkdir -p "$apt/lists/partial" "$apt/cache"
	cat > "$apt/tvmm-bpo.sources" <<-SRC
	Types: deb
	URIs: http://deb.debian.org/debian
	Suites: bookworm-backports
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	SRC
	local -a A=(-o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$apt"
		    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
		    -o APT::Sandbox::User=root -o Acquire::Retries=1)
	apt-get "${A[@]}" -qq update >&2 || return 0
	(cd "$1" && apt-get "${A[@]}" -qq download "qemu-system-x86=1:$VER" \
		"qemu-system-common=1:$VER" "qemu-system-data=1:$VER" \
		"seabios=$SEABIOS_VER" >/dev/null 2>&1) || true
	for f in "$1"/*%3a*; do
		[ -e "$f" ] && mv "$f" "${f/1%3a/}"
	done
	return 0
}

fetch() {  # fetch POOL-PATH SHA256 SHA1 DEST
	local url
	sha_is "$4" "$2" && return
	for url in "http://deb.debian.org/debian/pool/main/$1" \
		   "https://snapshot.debian.org/file/$3"; do
		wget -q -T 60 --tries=2 -O "$4" "$url" >&2 ||
			curl -fsSL --connect-timeout 20 -m 300 -o "$4" "$url" >&2 || true
		sha_is "$4" "$2" && return
	done
	rm -f "$4"
	return 1
}

[ "${TVMM_FETCH_QEMU:-1}" != 0 ] || give_up "TVMM_FETCH_QEMU=0"
if [ ! -x "$DIR/root/usr/bin/qemu-system-x86_64" ]; then
	# Every make target runs deps: a failed fetch waits an hour for its retry.
	if [ -n "$(find "$DIR.failed" -mmin -60 2>/dev/null)" ]; then
		give_up "fetching QEMU $VER failed less than an hour ago (remove $DIR.failed to retry)"
	fi
	log "fetching QEMU $VER (bookworm-backports) for the x86-64 test guest (once)"
	mkdir -p "$CACHE/qemu-x86"
	# Unpacked beside its final place and moved there whole.
	tmp=$(mktemp -d "$DIR.XXXXXX")
	mkdir -p "$tmp/debs" "$tmp/root"
	apt_download "$tmp/debs"
	for p in "${PKGS[@]}"; do
		read -r path sha256 sha1 <<< "${p//[$'\n\t']/ }"
		deb=$tmp/debs/${path##*/}
		if ! fetch "$path" "$sha256" "$sha1" "$deb" || ! dpkg-deb -x "$deb" "$tmp/root"; then
			rm -rf "$tmp"
			touch "$DIR.failed"
			give_up "could not fetch or unpack ${path##*/} (SHA-256 $sha256)"
		fi
	done
	rm -rf "$tmp/debs" "$DIR" "$DIR.failed"
	mv "$tmp" "$DIR"
fi
# The wrapper, and the binary it runs (the harness boots 7.2 when that is
# gone, e.g. with another TVMM_CACHE), each only once it runs.
mkdir -p "$OUT"
cat > "$OUT/qemu-system-x86_64.tmp" <<WRAP
#!/bin/sh
# QEMU $VER from bookworm-backports (scripts/fetch-qemu.sh).
R='$DIR/root'
QEMU_MODULE_DIR="\$R/usr/lib/x86_64-linux-gnu/qemu" exec "\$R/usr/bin/qemu-system-x86_64" \\
	-L "\$R/usr/share/qemu" -L "\$R/usr/share/seabios" "\$@"
WRAP
chmod +x "$OUT/qemu-system-x86_64.tmp"
if ! "$OUT/qemu-system-x86_64.tmp" --version 2>&1 | head -1 | grep -q "version 10\.0\.2"; then
	msg=$("$OUT/qemu-system-x86_64.tmp" --version 2>&1 | head -2 | tr '\n' ' ')
	give_up "QEMU $VER does not run here: $msg"
fi
printf '%s\n' "$DIR/root/usr/bin/qemu-system-x86_64" > "$OUT/target"
mv "$OUT/qemu-system-x86_64.tmp" "$OUT/qemu-system-x86_64"
