#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build tvmm, the C++ VMM (tools/tvmm), and its unit tests with CMake into
# build/tvmm.  KVM's UAPI comes from the prepared tree's installed headers
# (build/x86_64/usr/include, made by the x86-64 selftest build), because
# Debian 12's linux-libc-dev predates guest_memfd.
#   usage: build-vmm.sh [--test]    (--test also runs the unit tests)
. "$(dirname "$0")/lib.sh"

OUT=$BUILD/tvmm
HDRS=$BUILD/x86_64/usr/include
[ -f "$HDRS/linux/kvm.h" ] || "$TOP/scripts/build-selftests.sh" x86_64
mkdir -p "$OUT"
log "building tvmm (tools/tvmm)"
cmake -S "$TOP/tools/tvmm" -B "$OUT" -DTVMM_KERNEL_HEADERS="$HDRS" >/dev/null
cmake --build "$OUT" -j"$JOBS" >/dev/null
if [ "${1:-}" = --test ]; then
	"$OUT/tvmm_unit_tests" --gtest_brief=1
fi
