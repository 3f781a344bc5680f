#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# riscv64: build the kernel Image ONCE from the pristine tree with
# arch/riscv/configs/tvmm_qemu.config (cached by content hash), then our kvm.ko
# out of tree from the prepared tree against that build, exactly as on x86-64.
# The pristine build's own kvm.ko is the "stock" module.
. "$(dirname "$0")/lib.sh"
. "$TOP/scripts/kconfig-delta.sh"

export ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu-
FRAG=$TOP/arch/riscv/configs/tvmm_qemu.config
"$TOP/scripts/prepare.sh"
PRISTINE=$(cat "$BUILD/src/pristine-path")

key=$(src_pkg_version)-$(hash_files "$FRAG" "$TOP/scripts/build-riscv.sh")
KOUT=$CACHE/riscv64-kernel/$key
OUT=$BUILD/riscv64
if ! stamp_ok "$KOUT" "$key"; then
	log "building riscv64 kernel (cache key $key; this takes a while once)"
	rm -rf "$KOUT"
	mkdir -p "$KOUT"
	make -s -C "$PRISTINE" O="$KOUT" KCONFIG_ALLCONFIG="$FRAG" allnoconfig >/dev/null
	bad=0
	while read -r line; do
		case $line in CONFIG_*=*) ;; *) continue ;; esac
		grep -qx "$line" "$KOUT/.config" || { log "config: $line did not stick"; bad=1; }
	done < "$FRAG"
	[ $bad = 0 ] || die "$FRAG does not apply cleanly (see above)"
	make -s -C "$PRISTINE" O="$KOUT" -j"$JOBS" Image modules
	stamp_set "$KOUT" "$key"
	# Keep only the newest few kernels.
	ls -1dt "$CACHE"/riscv64-kernel/*/ | tail -n +4 | xargs -r rm -rf
fi

mkdir -p "$OUT/stock" "$OUT/modules"
# Not cp -u: a kernel from another cache key may be newer yet wrong.
cmp -s "$KOUT/arch/riscv/boot/Image" "$OUT/Image" || cp "$KOUT/arch/riscv/boot/Image" "$OUT/Image"
cmp -s "$KOUT/arch/riscv/kvm/kvm.ko" "$OUT/stock/kvm.ko" || cp "$KOUT/arch/riscv/kvm/kvm.ko" "$OUT/stock/kvm.ko"
echo "$KOUT" > "$OUT/kbuild-path"

TREE=$BUILD/src/tree
mapfile -t args < <(kconfig_delta_args "$TOP/arch/riscv/kvm/tvmm.config" "$KOUT/.config")
log "building riscv64 KVM module"
make -s -C "$KOUT" M="$TREE/arch/riscv/kvm" -j"$JOBS" "${args[@]}" modules
cmp -s "$TREE/arch/riscv/kvm/kvm.ko" "$OUT/modules/kvm.ko" 2>/dev/null ||
	cp "$TREE/arch/riscv/kvm/kvm.ko" "$OUT/modules/kvm.ko"
