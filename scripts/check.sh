#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check: build everything, run each arch's tests and regression gate in
# its own TCG guest (the two arches side by side), prove the patch series,
# and end with one line: "N passed, N failed, N skipped".
#   usage: check.sh [--full] [--arch ARCH]
. "$(dirname "$0")/lib.sh"

full= arches="x86_64 riscv64"
while [ $# -gt 0 ]; do
	case $1 in
	--full) full=--full ;;
	--arch) arches=$2; shift ;;
	*) die "unknown option $1" ;;
	esac
	shift
done

"$TOP/scripts/prepare.sh"
rm -f "$BUILD"/*/summary.json "$BUILD"/riscv64-tvmmfw/check.txt

# Builds first, sequentially (they share the prepared tree and two cores).
for a in $arches; do
	mkdir -p "$BUILD/$a"
	case $a in
	x86_64) "$TOP/scripts/build-x86.sh" ;;
	riscv64) "$TOP/scripts/build-riscv.sh"; "$TOP/scripts/build-vepc-riscv.sh"
		"$TOP/scripts/build-cove-test.sh"
		"$TOP/scripts/build-opensbi.sh" ;;
	esac
	"$TOP/scripts/build-selftests.sh" "$a"
done

# The modules must also build with the kernel's own config, every option of
# the config deltas off (the default a user gets); checked in "patches".
config_off_ok=1
for a in $arches; do
	case $a in
	x86_64) s=build-x86.sh ;;
	riscv64) s=build-riscv.sh ;;
	esac
	TVMM_BUILD=$BUILD/config-off TVMM_CONFIG_DELTA=off "$TOP/scripts/$s" \
		> "$BUILD/config-off-$a.txt" 2>&1 || config_off_ok=0
done

# The VMM (tools/tvmm); its unit tests run below, next to the guests.
mkdir -p "$BUILD/vmm"
vmm_built=0
if "$TOP/scripts/build-vmm.sh" > "$BUILD/vmm/check.txt" 2>&1; then
	vmm_built=1
fi
# The guest tvmm boots in tests/x86_64/scripts/tvmm_e2e.
"$TOP/scripts/build-guest.sh"

# Each guest runs one TCG thread; the arches run side by side.  Their output
# goes to check.txt, printed below once both are done; meanwhile each
# finished test is one line on our stderr ("[x86_64 ours 12/60] ..."), which
# the harness writes to fd 3.
# riscv64 runs its selection twice, one boot after the other: on the
# OpenSBI QEMU ships and on ours with the CoVE TSM (results in
# build/riscv64-tvmmfw); the summary compares the two.
pids=()
results=
for a in $arches; do
	(
		python3 "$TOP/scripts/harness.py" check "$a" $full --progress-fd 3 \
			3>&2 > "$BUILD/$a/check.txt" 2>&1
		if [ "$a" = riscv64 ]; then
			mkdir -p "$BUILD/riscv64-tvmmfw"
			TVMM_FIRMWARE=tvmm python3 "$TOP/scripts/harness.py" check "$a" $full \
				--progress-fd 3 3>&2 > "$BUILD/riscv64-tvmmfw/check.txt" 2>&1
		fi
	) &
	pids+=($!)
	results="$results $a"
	[ "$a" != riscv64 ] || results="$results riscv64-tvmmfw"
done

# Meanwhile: the exported series must git-am and be checkpatch-clean.
mkdir -p "$BUILD/patches"
if "$TOP/scripts/export-patches.sh" "$TOP/out/patches" > "$BUILD/patches/check.txt" 2>&1; then
	p_pass=1 p_fail=0 p_problems=
else
	p_pass=0 p_fail=1
	p_problems='"patch export, git am or checkpatch failed (build/patches/check.txt)"'
fi
if "$TOP/scripts/export-opensbi.sh" "$TOP/out/opensbi-patches" >> "$BUILD/patches/check.txt" 2>&1; then
	p_pass=$((p_pass + 1))
else
	p_fail=$((p_fail + 1))
	p_problems="${p_problems:+$p_problems, }\"OpenSBI patch export, git am or checkpatch failed (build/patches/check.txt)\""
fi
if [ "$config_off_ok" = 1 ]; then
	p_pass=$((p_pass + 1))
	echo "modules build without the config deltas ($arches)" >> "$BUILD/patches/check.txt"
else
	p_fail=$((p_fail + 1))
	p_problems="${p_problems:+$p_problems, }\"modules do not build without the config deltas (build/config-off-*.txt)\""
	cat "$BUILD"/config-off-*.txt >> "$BUILD/patches/check.txt"
fi
echo "{\"passed\": $p_pass, \"failed\": $p_fail, \"skipped\": 0, \"problems\": [$p_problems]}" \
	> "$BUILD/patches/summary.json"

# Meanwhile: the harness's own verdicts on a scripted guest (what fails,
# what gets its one retry, what proves the outer QEMU broke a boot).
# Its summary.json is its own; without one (a crash, the time limit) the
# summary counts "harness" as failed.
mkdir -p "$BUILD/harness"
timeout 120 python3 "$TOP/scripts/harness_test.py" --summary "$BUILD/harness/summary.json" \
	> "$BUILD/harness/check.txt" 2>&1 || true

# Meanwhile: the VMM's unit tests (built before the guests started), again
# built with ASan+UBSan and with TSan, and its fuzz targets for a fixed
# number of inputs from a fixed seed (TVMM_FUZZ_RUNS, TVMM_FUZZ_SEED; --full
# runs ten times as many, keeping a corpus in build/tvmm-fuzz/corpus).
passed=0 failed=0 problems=
vmm_fail() {
	failed=$((failed + 1))
	problems="${problems:+$problems, }\"$1\""
}
# A test that skips (it needs what this machine lacks: /dev/vhost-vsock,
# FUSE) is counted as skipped, and gtest names it in check.txt.
skipped=0
rm -f "$BUILD/vmm/unit.txt"
if [ "$vmm_built" = 1 ] && "$BUILD/tvmm/tvmm_unit_tests" --gtest_brief=1 > "$BUILD/vmm/unit.txt" 2>&1; then
	passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\{0,1\}\..*/\1/p' "$BUILD/vmm/unit.txt")
	skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9][0-9]*\) tests\{0,1\}[,.].*/\1/p' "$BUILD/vmm/unit.txt")
	skipped=${skipped:-0}
else
	vmm_fail "tvmm build or unit tests failed (build/vmm/check.txt)"
fi
[ -f "$BUILD/vmm/unit.txt" ] && cat "$BUILD/vmm/unit.txt" >> "$BUILD/vmm/check.txt"
for s in asan tsan; do
	if "$TOP/scripts/build-vmm.sh" --sanitize $s >> "$BUILD/vmm/check.txt" 2>&1; then
		passed=$((passed + 1))
	else
		vmm_fail "tvmm unit tests under $s failed (build/vmm/check.txt)"
	fi
done
fuzz_runs=${TVMM_FUZZ_RUNS:-60000}
if [ -n "$full" ]; then
	fuzz_runs=$((fuzz_runs * 10))
	export TVMM_FUZZ_CORPUS=$BUILD/tvmm-fuzz/corpus
fi
if "$TOP/scripts/build-vmm.sh" --fuzz "$fuzz_runs" "${TVMM_FUZZ_SEED:-1}" >> "$BUILD/vmm/check.txt" 2>&1; then
	passed=$((passed + 1))
else
	vmm_fail "tvmm fuzzing found a crash (build/vmm/check.txt, build/tvmm-fuzz)"
fi
echo "{\"passed\": $passed, \"failed\": $failed, \"skipped\": $skipped, \"problems\": [$problems]}" \
	> "$BUILD/vmm/summary.json"

for p in "${pids[@]}"; do wait "$p" || true; done
for a in $results vmm patches harness; do
	echo "==== $a"
	cat "$BUILD/$a/check.txt"
done
python3 "$TOP/scripts/harness.py" summary $results vmm patches harness
