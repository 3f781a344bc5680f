#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the KVM selftests (upstream's and ours, which the prepared tree holds
# side by side) as static binaries for one arch, plus the guest init.
#   usage: build-selftests.sh x86_64|riscv64
# Output: build/<arch>/selftests/ (objects), build/<arch>/tests/bin/<name>
# (stripped binaries) and build/<arch>/tests/all (one test name per line).
. "$(dirname "$0")/lib.sh"

arch=${1:?usage: build-selftests.sh x86_64|riscv64}
case $arch in
x86_64) karch=x86_64 cross= ;;
riscv64) karch=riscv cross=riscv64-linux-gnu- ;;
*) die "unknown arch $arch" ;;
esac
"$TOP/scripts/prepare.sh"
TREE=$BUILD/src/tree
OUT=$BUILD/$arch
# Benchmarks: bench/*.c for x86-64, bench/riscv64/*.c for riscv64.
case $arch in
x86_64) benches=$(ls "$TOP"/bench/*.c 2>/dev/null || true) ;;
riscv64) benches=$(ls "$TOP"/bench/riscv64/*.c 2>/dev/null || true) ;;
esac
key=$(cat "$TREE/.tvmm-stamp")-$(hash_files "$TOP/scripts/build-selftests.sh" "$TOP/scripts/guest/init.c" $benches)
mkdir -p "$OUT"
stamp_ok "$OUT/tests" "$key" && exit 0

log "building $arch KVM selftests"
make -s -C "$TREE" O="$OUT/hdr-obj" ARCH=${karch%_64} CROSS_COMPILE=$cross \
	INSTALL_HDR_PATH="$OUT/usr" headers_install >/dev/null
sdir=$TREE/tools/testing/selftests/kvm
mk=(-C "$sdir" OUTPUT="$OUT/selftests" ARCH=$karch CROSS_COMPILE=$cross
    KHDR_INCLUDES="-isystem $OUT/usr/include" LDFLAGS=-static)
make -s -j"$JOBS" "${mk[@]}" all
progs=$(make -s "${mk[@]}" -f Makefile -f - tvmm-print-progs <<'MK'
tvmm-print-progs:
	@echo $(TEST_GEN_PROGS)
MK
)

rm -rf "$OUT/tests"
mkdir -p "$OUT/tests/bin"
for p in $progs; do
	name=$(basename "$p")
	${cross}strip -o "$OUT/tests/bin/$name" "$p"
	echo "$name"
done | LC_ALL=C sort > "$OUT/tests/all"

# Benchmarks (above): compiled and linked exactly like a selftest, shipped
# in tests/bin beside them, run by scripts/bench.sh.
# They use the whole series' UAPI, so a partial series (TVMM_SERIES_UPTO,
# as make patches-bisect builds) leaves them out.
if [ -n "${TVMM_SERIES_UPTO:-}" ]; then
	benches=
fi
if [ -n "$benches" ]; then
	# A prerequisite gives CFLAGS' -I$(<D) a directory to name.
	query() {
		make -s "${mk[@]}" -f Makefile -f - tvmm-query <<MK
tvmm-query: Makefile
	@echo $1
MK
	}
	cflags=$(query '$(CFLAGS) $(CPPFLAGS) $(LDFLAGS)')
	objs=$(query '$(LIBKVM_OBJS)')
	libs=$(query '$(LDLIBS)')
	for b in $benches; do
		name=$(basename "$b" .c)
		(cd "$sdir" && ${cross}gcc $cflags "$b" $objs $libs -o "$OUT/tests/bin/$name")
		${cross}strip "$OUT/tests/bin/$name"
		rm -f "$OUT/tests/bin/$name.d"	# the dependency file -MD writes
	done
fi
${cross}gcc -static -O2 -Wall -Wextra -Werror -o "$OUT/tests/init" "$TOP/scripts/guest/init.c"
${cross}strip "$OUT/tests/init"
stamp_set "$OUT/tests" "$key"
log "$arch: $(wc -l < "$OUT/tests/all") selftests"
