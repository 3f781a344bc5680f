# SPDX-License-Identifier: GPL-2.0
#
# tvmm: out-of-tree KVM extensions for Linux 6.12 LTS and the VMM that drives
# them.  See README.md.  Everything below is a thin front for scripts/.
#
#   make check            all tests, both arches, + the patch-series proof
#   make check-full       the same with every upstream KVM selftest
#   make shell ARCH=...   boot the dev kernel with our modules, interactively
#   make patches          export patches/series (and OpenSBI's) as git-am-able series
#   make firmware         riscv64: OpenSBI with the CoVE TSM-driver, and the TSM
#   make patches-bisect   build after every patch of the series
#   make bench            run the benchmarks in bench/
#   make vmm              build tvmm (tools/tvmm) and run its unit tests
#   make run              tvmm boots its bundled guest (in the x86-64 dev kernel)

ARCH ?= x86_64
ARCHES := x86_64 riscv64

.PHONY: all deps prepare modules selftests check check-full shell patches \
	patches-bisect bench vmm run firmware \
	clean distclean $(addprefix modules-,$(ARCHES)) \
	$(addprefix selftests-,$(ARCHES)) $(addprefix check-,$(ARCHES))

all: modules selftests

deps:
	@scripts/deps.sh

prepare: deps
	@scripts/prepare.sh

modules: $(addprefix modules-,$(ARCHES))
selftests: $(addprefix selftests-,$(ARCHES))

# prepare is ordered first so that parallel makes never prepare twice at once.
modules-x86_64: prepare
	@scripts/build-x86.sh
modules-riscv64: prepare
	@scripts/build-riscv.sh
	@scripts/build-vepc-riscv.sh
$(addprefix selftests-,$(ARCHES)): selftests-%: prepare
	@scripts/build-selftests.sh $*

vmm: prepare
	@scripts/build-vmm.sh --test

# The main job: tvmm boots its bundled guest inside the x86-64 dev kernel.
run: deps
	@scripts/run.sh

check: deps
	@scripts/check.sh

check-full: deps
	@scripts/check.sh --full

$(addprefix check-,$(ARCHES)): check-%: deps
	@scripts/check.sh --arch $*

# FIRMWARE=tvmm (riscv64): boot on our OpenSBI with the CoVE TSM.
shell: modules-$(ARCH) selftests-$(ARCH)
	@if [ $(ARCH) = riscv64 ]; then scripts/build-busybox-riscv.sh; fi
	@if [ "$(FIRMWARE)" = tvmm ]; then scripts/build-opensbi.sh; fi
	@scripts/harness.py shell $(ARCH) $(if $(FIRMWARE),--firmware $(FIRMWARE))

# Benchmarks (bench/): results and the command go into bench/RESULTS.md.
bench: deps
	@scripts/bench.sh

patches: prepare
	@scripts/export-patches.sh out/patches
	@scripts/export-opensbi.sh out/opensbi-patches

firmware: deps
	@scripts/build-opensbi.sh

# Every prefix of the series builds (slow: a full module build per patch).
patches-bisect: prepare
	@scripts/bisect-series.sh

clean:
	rm -rf build out

# Also drop the content-keyed cache (riscv64 kernel, stock results, sources).
distclean: clean
	rm -rf "$${TVMM_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/tvmm}"
