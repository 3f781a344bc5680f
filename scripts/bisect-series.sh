#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Prove the series bisectable: after each patch, the x86-64 and riscv64 KVM
# modules and the selftests build, with the config deltas
# (arch/*/kvm/tvmm.config) applied and without them (the options' defaults).
# Uses its own build directories.  FROM=i TO=j (1-based, inclusive) build
# only those steps, e.g. the patches a change touched.
. "$(dirname "$0")/lib.sh"

n=$(series_list | wc -l)
from=${FROM:-1} to=${TO:-$n}
[ "$from" -ge 1 ] && [ "$to" -le "$n" ] && [ "$from" -le "$to" ] ||
	die "FROM=$from TO=$to: the series has steps 1..$n"
for i in $(seq "$from" "$to"); do
	p=$(series_list | sed -n "${i}p")
	export TVMM_SERIES_UPTO=$i
	for delta in on off; do
		log "bisect: building with patches 1..$i ($p), config delta $delta"
		export TVMM_BUILD=$BUILD/bisect-$delta TVMM_CONFIG_DELTA=$delta
		for step in build-x86.sh build-riscv.sh; do
			"$TOP"/scripts/$step >/dev/null || die "$p: scripts/$step fails (delta $delta)"
		done
	done
	# The selftests do not depend on the kernel's config.
	for a in x86_64 riscv64; do
		"$TOP"/scripts/build-selftests.sh $a >/dev/null ||
			die "$p: scripts/build-selftests.sh $a fails"
	done
done
log "bisect: steps $from..$to of $n build, with and without the config deltas"
