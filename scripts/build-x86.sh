#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build kvm.ko, kvm-amd.ko and kvm-intel.ko from the prepared tree against
# Debian's headers for the matching 6.12 kernel, applying arch/x86/kvm/tvmm.config,
# then vepc.ko, the virtual EPC device (drivers/virt/vepc), with CONFIG_VEPC=m.
# All land in build/x86_64/modules/.
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

# The virtual EPC device.  It needs nothing of KVM's and none of the
# series' changes to existing headers, so it is built against Debian's
# headers as they are; only its new UAPI header, <asm/sgx_vepc.h>, is not
# there, and comes from the prepared tree's arch/x86/include/uapi (searched
# after the kernel's own include directories).  CONFIG_VEPC=m stands in
# for the kernel's config, which does not have the option (vepc_make in
# lib.sh).  A tree prepared with part of the
# series (TVMM_SERIES_UPTO, make patches-bisect) may not have the driver yet.
# The tests need the debugfs test hooks (CONFIG_VEPC_TEST_HOOKS); the
# build with every option off (TVMM_CONFIG_DELTA=off) leaves them out, as a
# kernel's default config would.
VEPC=$TREE/drivers/virt/vepc
vepc_hooks=(CONFIG_VEPC_TEST_HOOKS=y)
[ "${TVMM_CONFIG_DELTA:-}" != off ] || vepc_hooks=()
if [ -f "$VEPC/Makefile" ]; then
	log "building vepc.ko for $(krelease)"
	vepc_make "$(headers_dir)" "$VEPC" "-I$TREE/arch/x86/include/uapi" \
		CONFIG_VEPC=m "${vepc_hooks[@]}" -- modules
	cmp -s "$VEPC/vepc.ko" "$OUT/vepc.ko" 2>/dev/null ||
		cp "$VEPC/vepc.ko" "$OUT/vepc.ko"
	# The hardware backend (CONFIG_VEPC_SGX) links only into a kernel whose
	# SGX core exports its EPC pages (the series' patch that adds sgx.c);
	# Debian's does not.  So it is compiled here, as a check, in a scratch
	# copy of the directory, with the tree's new <asm/sgx_epc.h>.
	if [ -f "$VEPC/sgx.c" ]; then
		chk=$BUILD/x86_64/vepc-sgx-check
		rm -rf "$chk"
		mkdir -p "$chk"
		cp "$VEPC"/*.[ch] "$VEPC/Makefile" "$chk/"
		vepc_make "$(headers_dir)" "$chk" \
			"-I$TREE/arch/x86/include/uapi -I$TREE/arch/x86/include" \
			CONFIG_VEPC=m CONFIG_VEPC_SGX=y -- sgx.o main.o
		log "vepc: the SGX backend compiles (not linked: Debian's SGX core exports no EPC pages)"
	fi
else
	log "no drivers/virt/vepc in the prepared tree: vepc.ko not built"
	rm -f "$OUT/vepc.ko"
fi
