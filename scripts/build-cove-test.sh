#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# riscv64: the CoVE TSM conformance test (tests/riscv64/cove): a module
# built against the riscv64 kernel scripts/build-riscv.sh built (and caches),
# and the static program that loads it.  The harness adds both to the
# guest's tests/bin (build/riscv64/extra-tests).
. "$(dirname "$0")/lib.sh"

export ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu-
KOUT=$(cat "$BUILD/riscv64/kbuild-path" 2>/dev/null) ||
	die "no riscv64 kernel: run scripts/build-riscv.sh first"
CT=$BUILD/riscv64/cove-test
EXTRA=$BUILD/riscv64/extra-tests
mkdir -p "$CT" "$EXTRA"
for f in cove_tsm_test.c Kbuild; do
	cmp -s "$TOP/tests/riscv64/cove/$f" "$CT/$f" || cp "$TOP/tests/riscv64/cove/$f" "$CT/$f"
done
log "building the riscv64 CoVE TSM test"
# The TVM payload: two pages at its GPA, and payload.h with its bytes and
# the measurement the TSM must give it (Python's SHA-384, not the TSM's).
${CROSS_COMPILE}gcc -nostdlib -nostartfiles -static -march=rv64imac_zicsr -mabi=lp64 \
	-Wl,-Ttext=0x80000000 -Wl,--build-id=none -o "$CT/payload.elf" \
	"$TOP/tests/riscv64/cove/payload.S"
${CROSS_COMPILE}objcopy -O binary -j .text "$CT/payload.elf" "$CT/payload.bin"
python3 "$TOP/tests/riscv64/cove/gen_payload.py" "$CT/payload.bin" "$CT/payload.h.new"
cmp -s "$CT/payload.h.new" "$CT/payload.h" || mv "$CT/payload.h.new" "$CT/payload.h"
rm -f "$CT/payload.h.new"
make -s -C "$KOUT" M="$CT" -j"$JOBS" modules
cmp -s "$CT/cove_tsm_test.ko" "$EXTRA/cove_tsm_test.ko" || cp "$CT/cove_tsm_test.ko" "$EXTRA/"
${CROSS_COMPILE}gcc -static -O2 -Wall -Wextra -Werror -o "$CT/cove_tsm_run" \
	"$TOP/tests/riscv64/cove/cove_tsm_run.c"
${CROSS_COMPILE}strip "$CT/cove_tsm_run"
cmp -s "$CT/cove_tsm_run" "$EXTRA/cove_tsm_run" || cp "$CT/cove_tsm_run" "$EXTRA/"
