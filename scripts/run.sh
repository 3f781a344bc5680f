#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make run: build what tvmm needs (our x86-64 KVM modules, the test-guest
# base, tvmm and its bundled guest), boot Debian's 6.12 kernel in QEMU (TCG)
# with our modules, and run tvmm there with the bundled guest on its default
# memory backend, showing the console.  Extra tvmm flags: TVMM_FLAGS.
. "$(dirname "$0")/lib.sh"

"$TOP/scripts/prepare.sh"
"$TOP/scripts/build-x86.sh"
"$TOP/scripts/build-selftests.sh" x86_64
"$TOP/scripts/build-vmm.sh"
"$TOP/scripts/build-guest.sh"
# Multi-threaded TCG: a nested boot took 13-17 s with it and from 20 s to
# minutes without (README, "tvmm, the VMM").
export TVMM_TCG_THREAD=${TVMM_TCG_THREAD:-multi}
# shellcheck disable=SC2086
exec python3 "$TOP/scripts/harness.py" vmm-run -- ${TVMM_FLAGS:-}
