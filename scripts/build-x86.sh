#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build kvm.ko, kvm-amd.ko and kvm-intel.ko from the prepared tree against
# Debian's headers for the matching 6.12 kernel, applying arch/x86/kvm/tvmm.config.
. "$(dirname "$0")/lib.sh"
. "$TOP/scripts/kconfig-delta.sh"

TREE=$BUILD/src/tree
OUT=$BUILD/x86_64/modules
"$TOP/scripts/prepare.sh"

mapfile -t args < <(kconfig_delta_args "$TOP/arch/x86/kvm/tvmm.config" "$(headers_dir)/.config")
log "building x86-64 KVM modules for $(krelease)"
make -s -C "$(headers_dir)" M="$TREE/arch/x86/kvm" -j"$JOBS" "${args[@]}" modules
mkdir -p "$OUT"
for m in kvm kvm-amd kvm-intel; do
	cmp -s "$TREE/arch/x86/kvm/$m.ko" "$OUT/$m.ko" 2>/dev/null ||
		cp "$TREE/arch/x86/kvm/$m.ko" "$OUT/$m.ko"
done
