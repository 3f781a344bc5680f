#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Prove the series bisectable: after each patch, the x86-64 and riscv64 KVM
# modules and the selftests build.  Uses its own build directory.
. "$(dirname "$0")/lib.sh"

n=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TOP/patches/series" | wc -l)
export TVMM_BUILD=$BUILD/bisect
for i in $(seq 1 "$n"); do
	p=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TOP/patches/series" | sed -n "${i}p")
	log "bisect: building with patches 1..$i ($p)"
	export TVMM_SERIES_UPTO=$i
	for step in build-x86.sh build-riscv.sh "build-selftests.sh x86_64" "build-selftests.sh riscv64"; do
		# shellcheck disable=SC2086
		"$TOP"/scripts/$step >/dev/null || die "$p: scripts/$step fails"
	done
done
log "bisect: all $n steps build"
