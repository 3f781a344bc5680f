#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# riscv64: the virtual EPC device (drivers/virt/vepc, an x86 device) built
# for tvmm's riscv64 test kernel, which scripts/build-riscv.sh built (run it
# first).  The device's emulated backend has nothing x86-specific, and that
# kernel has lockdep, which Debian's x86-64 kernel lacks: so the device's
# locking is checked there (tests/riscv64/tvmm.list runs sgx_vepc_test).
# Built in a scratch copy, with CONFIG_VEPC=m and the test hooks standing in
# for the config (its Kconfig entry is x86-64 only), and the device's UAPI
# headers, <asm/sgx_vepc.h> and upstream's <uapi/asm/sgx.h>, from x86's
# include directories, searched after everything else.
#   Output: build/riscv64/modules/vepc.ko (none if the prepared tree has no
#   drivers/virt/vepc)
. "$(dirname "$0")/lib.sh"

export ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu-
OUT=$BUILD/riscv64
TREE=$BUILD/src/tree
KOUT=$(cat "$OUT/kbuild-path" 2>/dev/null) ||
	die "no riscv64 kernel: run scripts/build-riscv.sh first"
VEPC=$TREE/drivers/virt/vepc
if [ ! -f "$VEPC/Makefile" ]; then
	log "no drivers/virt/vepc in the prepared tree: riscv64 vepc.ko not built"
	rm -f "$OUT/modules/vepc.ko"
	exit 0
fi
log "building riscv64 vepc.ko (lockdep coverage)"
vb=$OUT/vepc-build
mkdir -p "$vb"
# Only what changed, so that make rebuilds only that.
for f in "$VEPC"/*.[ch] "$VEPC/Makefile"; do
	[ "${f##*/}" = sgx.c ] && continue
	cmp -s "$f" "$vb/${f##*/}" || cp "$f" "$vb/"
done
vepc_make "$KOUT" "$vb" \
	"-idirafter $TREE/arch/x86/include/uapi -idirafter $TREE/arch/x86/include" \
	CONFIG_VEPC=m CONFIG_VEPC_TEST_HOOKS=y -- modules
mkdir -p "$OUT/modules"
cmp -s "$vb/vepc.ko" "$OUT/modules/vepc.ko" 2>/dev/null ||
	cp "$vb/vepc.ko" "$OUT/modules/vepc.ko"
