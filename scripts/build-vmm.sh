#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build tvmm, the C++ VMM (tools/tvmm), and its unit tests with CMake into
# build/tvmm.  KVM's UAPI comes from the prepared tree's installed headers
# (build/x86_64/usr/include, made by the x86-64 selftest build), because
# Debian 12's linux-libc-dev predates guest_memfd.
#   usage: build-vmm.sh [--test]        (--test also runs the unit tests)
#          build-vmm.sh --sanitize asan|tsan
#                      the unit tests built with ASan+UBSan (build/tvmm-asan)
#                      or TSan (build/tvmm-tsan), and run; any report fails
#          build-vmm.sh --fuzz RUNS [SEED]
#                      the libFuzzer targets (clang, ASan+UBSan, build/tvmm-fuzz),
#                      each run for RUNS inputs from SEED (default 1) on an
#                      empty corpus, so that a run is reproducible; with
#                      TVMM_FUZZ_CORPUS=DIR each target keeps its corpus in
#                      DIR/<target> instead (longer, cumulative runs)
. "$(dirname "$0")/lib.sh"

HDRS=$BUILD/x86_64/usr/include
[ -f "$HDRS/linux/kvm.h" ] || "$TOP/scripts/build-selftests.sh" x86_64
FUZZ_TARGETS="virtqueue_fuzz mmio_fuzz blk_fuzz"
# A unit test run that hangs fails instead (they take 10-60 s here).
UNIT_TIMEOUT=900

case ${1:-} in
--fuzz)
	runs=${2:?usage: build-vmm.sh --fuzz RUNS [SEED]} seed=${3:-1}
	OUT=$BUILD/tvmm-fuzz
	log "building the tvmm fuzz targets (clang, libFuzzer + ASan/UBSan)"
	CXX=clang++-14 cmake -S "$TOP/tools/tvmm" -B "$OUT" -DTVMM_FUZZ=ON \
		-DTVMM_KERNEL_HEADERS="$HDRS" >/dev/null
	# shellcheck disable=SC2086
	cmake --build "$OUT" --target $FUZZ_TARGETS -j"$JOBS" >/dev/null
	rc=0
	for t in $FUZZ_TARGETS; do
		corpus=()
		if [ -n "${TVMM_FUZZ_CORPUS:-}" ]; then
			mkdir -p "$TVMM_FUZZ_CORPUS/$t"
			corpus=("$TVMM_FUZZ_CORPUS/$t")
		fi
		log "fuzz: $t -runs=$runs -seed=$seed${corpus:+ corpus ${corpus[0]}}"
		(cd "$OUT" && "./$t" -runs="$runs" -seed="$seed" -max_len=4096 -timeout=20 \
			-rss_limit_mb=1024 -print_final_stats=1 "${corpus[@]}") > "$OUT/$t.log" 2>&1
		r=$?
		grep -E '^(stat::number_of_executed_units|stat::new_units_added|.*ERROR|.*SUMMARY)' \
			"$OUT/$t.log" | sed "s/^/  $t: /"
		if [ "$r" != 0 ]; then
			rc=1
			echo "  $t FAILED (exit $r): build/tvmm-fuzz/$t.log; the input is saved there as crash-*/timeout-*"
			tail -n 40 "$OUT/$t.log"
		fi
	done
	exit "$rc"
	;;
--sanitize)
	case ${2:-} in
	asan) flags=address,undefined ;;
	tsan) flags=thread ;;
	*) die "usage: build-vmm.sh --sanitize asan|tsan" ;;
	esac
	OUT=$BUILD/tvmm-$2
	log "building tvmm's unit tests with -fsanitize=$flags"
	# The ASan build is also the Release (-O3) build: GCC's warnings at -O3
	# (-Werror) are checked there.
	type=RelWithDebInfo
	[ "$2" = asan ] && type=Release
	cmake -S "$TOP/tools/tvmm" -B "$OUT" -DTVMM_KERNEL_HEADERS="$HDRS" \
		-DTVMM_SANITIZE="$flags" -DCMAKE_BUILD_TYPE=$type >/dev/null
	cmake --build "$OUT" -j"$JOBS" >/dev/null
	# TSan needs the old mmap layout on kernels with more mmap randomness
	# than its shadow allows; setarch -R gives it that everywhere.
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		timeout -k 10 $UNIT_TIMEOUT setarch "$(uname -m)" -R "$OUT/tvmm_unit_tests" --gtest_brief=1
	exit
	;;
esac

OUT=$BUILD/tvmm
mkdir -p "$OUT"
log "building tvmm (tools/tvmm)"
cmake -S "$TOP/tools/tvmm" -B "$OUT" -DTVMM_KERNEL_HEADERS="$HDRS" >/dev/null
cmake --build "$OUT" -j"$JOBS" >/dev/null
if [ "${1:-}" = --test ]; then
	timeout -k 10 $UNIT_TIMEOUT "$OUT/tvmm_unit_tests" --gtest_brief=1
fi
