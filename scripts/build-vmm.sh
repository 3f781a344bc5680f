#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build tvmm, the C++ VMM (tools/tvmm), and its unit tests with CMake into
# build/tvmm.  KVM's UAPI comes from the prepared tree's installed headers
# (build/x86_64/usr/include, made by the x86-64 selftest build), because
# Debian 12's linux-libc-dev predates guest_memfd.
#   usage: build-vmm.sh [--test]         (--test also runs the unit tests)
#          build-vmm.sh --fuzz SECONDS  (builds the libFuzzer targets with clang
#                                        and runs each for SECONDS)
. "$(dirname "$0")/lib.sh"

OUT=$BUILD/tvmm
HDRS=$BUILD/x86_64/usr/include
[ -f "$HDRS/linux/kvm.h" ] || "$TOP/scripts/build-selftests.sh" x86_64
if [ "${1:-}" = --fuzz ]; then
	secs=${2:?usage: build-vmm.sh --fuzz SECONDS}
	FOUT=$BUILD/tvmm-fuzz
	mkdir -p "$FOUT/corpus"
	log "building the tvmm fuzz targets (clang, libFuzzer + ASan/UBSan)"
	CXX=clang++-14 cmake -S "$TOP/tools/tvmm" -B "$FOUT" -DTVMM_FUZZ=ON \
		-DTVMM_KERNEL_HEADERS="$HDRS" >/dev/null
	cmake --build "$FOUT" --target virtqueue_fuzz -j"$JOBS" >/dev/null
	log "fuzzing the virtqueue for $secs s"
	"$FOUT/virtqueue_fuzz" -max_total_time="$secs" -max_len=16384 -timeout=10 -print_final_stats=1 \
		"$FOUT/corpus" 2>&1 | tail -n 12
	exit "${PIPESTATUS[0]}"
fi
mkdir -p "$OUT"
log "building tvmm (tools/tvmm)"
cmake -S "$TOP/tools/tvmm" -B "$OUT" -DTVMM_KERNEL_HEADERS="$HDRS" >/dev/null
cmake --build "$OUT" -j"$JOBS" >/dev/null
if [ "${1:-}" = --test ]; then
	"$OUT/tvmm_unit_tests" --gtest_brief=1
fi
