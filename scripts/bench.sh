#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run the benchmarks (bench/) in the x86-64 test guest and print every result
# next to its baseline as a ratio.  The protection-change and guest_memfd
# numbers all come from one boot with our modules (each ratio's two sides in
# the same run); the VTL fault-path numbers compare a boot with the stock
# modules against a boot with ours, one right after the other.  tvmm
# against QEMU (bench/tvmm_vs_qemu.py) runs in a third boot, both VMMs
# alternating in it.
#   usage: bench.sh [memslots]   (default 30000, at most 32753)
#   BENCH="kvm vmm icount cove vepc" (the default) picks the parts; TRIALS=N the VMM
#   trials.  "icount" repeats the VTL fault-path comparison with QEMU's
#   -icount (the test guest's clock counts instructions, 1 ns each), which
#   resolves what wall-clock time under TCG cannot.  "cove" runs
#   bench/riscv64/cove_tvm_bench.c in the riscv64 test guest on tvmm's
#   firmware: a CoVE TVM against a normal VM.  "vepc" runs bench/vepc_bench.c
#   (the virtual EPC's faults, reclaim and reload against anonymous memory).
. "$(dirname "$0")/lib.sh"

slots=${1:-30000}
what=${BENCH:-kvm vmm icount cove vepc}
if [[ " $what " == *" cove "* ]]; then
	"$TOP/scripts/build-riscv.sh"
	"$TOP/scripts/build-opensbi.sh"
	"$TOP/scripts/build-selftests.sh" riscv64
	log "benchmark: a CoVE TVM against a normal VM (riscv64, tvmm's firmware)"
	"$TOP/scripts/harness.py" run riscv64 --firmware tvmm --timeout 1800 --log bench-cove \
		cove_tvm_bench >/dev/null ||
		die "the CoVE run failed, see $BUILD/riscv64/logs/bench-cove-tvmmfw.log"
	python3 - "$BUILD/riscv64/logs/bench-cove-tvmmfw.log" <<'PY'
import re, sys

r = {m[1]: float(m[2]) for m in re.finditer(r"result (\S+) ([0-9.]+) (\S+)",
                                            open(sys.argv[1], errors="replace").read())}
print(f"{'CoVE TVM / normal VM (medians)':40} {'TVM':>10} {'normal':>10} {'ratio':>7}")
for name, k in (("SBI call round trip, in-kernel (ns)", "ecall_ns"),
                ("MMIO exit round trip, to the VMM (ns)", "mmio_ns"),
                ("launch, per MiB of content (ms)", "launch_ms_per_mib")):
    t, n = r[f"tvm_{k}"], r[f"normal_{k}"]
    print(f"{name:40} {t:10.3f} {n:10.3f} {t / n:7.2f}")
PY
fi
[[ " $what " == *" kvm "* || " $what " == *" vmm "* || " $what " == *" icount "* ||
   " $what " == *" vepc "* ]] || exit 0
"$TOP/scripts/build-x86.sh"
"$TOP/scripts/build-selftests.sh" x86_64
h=$TOP/scripts/harness.py
logs=$BUILD/x86_64/logs
b=vtl_memory_attributes_bench

if [[ " $what " == *" vepc "* ]]; then
	log "benchmark: the virtual EPC (emulated backend) against anonymous memory"
	"$h" run x86_64 --timeout 1800 --log bench-vepc vepc_bench >/dev/null ||
		die "the vepc run failed, see $logs/bench-vepc.log"
	python3 - "$logs/bench-vepc.log" <<'PY'
import re, sys

text = open(sys.argv[1], errors="replace").read()
r = {m[1]: float(m[2]) for m in re.finditer(r"result (\S+) ([0-9.]+) (\S+)", text)}
for line in re.findall(r"^# (/dev/.*)$", text, re.M):
    print(line)
a = r["fault_anon"]
print(f"{'virtual EPC (medians)':44} {'value':>12} {'/ anon fault':>12}")
for name, k in (("first touch, vEPC (ns/page)", "fault_vepc"),
                ("first touch, anonymous (ns/page)", "fault_anon"),
                ("reclaim: zap + seal (ns/page)", "reclaim"),
                ("reload: verify + decrypt + map (ns/page)", "reload")):
    print(f"{name:44} {r[k]:12.0f} {r[k] / a:12.2f}")
f, o = r["hot_fit"], r["hot_oversub"]
print(f"{'hot set, mapping fits the pool (touches/s)':44} {f:12.0f}")
print(f"{'hot set, mapping 2x the pool (touches/s)':44} {o:12.0f} {o / f:12.3f} of fit")
print(f"{'  reclaims per 1000 touches':44} {r['hot_oversub_reclaims']:12.1f}")
PY
fi
[[ " $what " == *" kvm "* || " $what " == *" vmm "* || " $what " == *" icount "* ]] || exit 0

if [[ " $what " == *" vmm "* ]]; then
	"$TOP/scripts/build-vmm.sh"
	"$TOP/scripts/build-guest.sh"
	log "benchmark: tvmm against QEMU (multi-threaded TCG)"
	# A run that failed fails the benchmark, after the medians of the runs
	# that finished (the log names the failed ones).
	vmm_ok=1
	TVMM_TCG_THREAD=multi "$h" run x86_64 --timeout 2400 --log bench-vmm \
		"tvmm_bench:@TOP@:@BUILD@:${TRIALS:-3}" >/dev/null || vmm_ok=
	python3 - "$logs/bench-vmm.log" <<'PY'
import re, sys

text = open(sys.argv[1], errors="replace").read()
r = {m[1]: float(m[2]) for m in re.finditer(r"result (\S+) ([0-9.]+) (\S+)", text)}
for line in re.findall(r"^# (trial .*)$", text, re.M):
    print(line)
rows = [("boot to guest userspace (s)", "boot", "<= 0.5", lambda x: x <= 0.5),
        ("PIO exit round trip (ns)", "pio", "<= 1.0", lambda x: x <= 1.0),
        ("blk 4K randread QD32 (IOPS)", "blk", ">= 1.0", lambda x: x >= 1.0),
        ("RSS minus guest memory (MiB)", "overhead", "", None)]
for base in ("qemu", "qemu_nortc"):
    print(f"\n{'tvmm / ' + base + ' (medians)':36} {'tvmm':>10} {base:>10} {'ratio':>7}  target  met")
    for name, k, target, ok in rows:
        t, q = r[f"tvmm_{k}"], r[f"{base}_{k}"]
        met = "" if ok is None else ("yes" if ok(t / q) else "NO")
        print(f"{name:36} {t:10.3f} {q:10.3f} {t / q:7.3f}  {target:6}  {met}")
t, q = r["tvmm_2q_blk"], r["qemu_2q_blk"]
print(f"\n{'2 vCPUs, 2 queues, 2 jobs (medians)':36} {'tvmm_2q':>10} {'qemu_2q':>10} {'ratio':>7}")
print(f"{'blk 4K randread 2 x QD32 (IOPS)':36} {t:10.3f} {q:10.3f} {t / q:7.3f}  >= 1.0  "
      f"{'yes' if t / q >= 1.0 else 'NO'}")
for variant in ("tvmm_eventfd", "tvmm_ioeventfd", "tvmm_irqfd"):
    print(f"\n{variant + ' against tvmm (medians)':36} {variant:>14} {'tvmm':>10} {'ratio':>7}")
    for name, k in (("boot to guest userspace (s)", "boot"), ("PIO exit round trip (ns)", "pio"),
                    ("blk 4K randread QD32 (IOPS)", "blk")):
        t, q = r[f"{variant}_{k}"], r[f"tvmm_{k}"]
        print(f"{name:36} {t:14.3f} {q:10.3f} {t / q:7.3f}")
print(f"\ntvmm's overhead {r['tvmm_overhead']:.2f} MiB: target <= 5 MiB: "
      f"{'yes' if r['tvmm_overhead'] <= 5 else 'NO'}")
print(f"tvmm (medians): VM ready {r['tvmm_setup']:.3f} s after start; "
      f"its boot timer {r['tvmm_boot_timer']:.3f} s")
for line in re.findall(r"^# (trial \d+ \S+ FAILED.*)$", text, re.M):
    print(line)
PY
	[ -n "$vmm_ok" ] || die "a VMM run failed, see $logs/bench-vmm.log"
fi
if [[ " $what " == *" icount "* ]]; then
	log "benchmark: VTL fault path, instruction counts (QEMU -icount), stock modules"
	TVMM_ICOUNT=0 "$h" run x86_64 --stock --timeout 2400 --log bench-icount-stock "$b:-f" \
		>/dev/null || die "the stock icount run failed, see $logs/bench-icount-stock.log"
	log "benchmark: VTL fault path, instruction counts, our modules"
	TVMM_ICOUNT=0 "$h" run x86_64 --timeout 2400 --log bench-icount-ours "$b:-F" \
		>/dev/null || die "our icount run failed, see $logs/bench-icount-ours.log"
	python3 - "$logs/bench-icount-stock.log" "$logs/bench-icount-ours.log" <<'PY'
import re, sys

def results(path):
    return {m[1]: float(m[2]) for m in re.finditer(
        r"result (\S+) ([0-9.]+) (\S+)", open(path, errors="replace").read())}

stock, ours = results(sys.argv[1]), results(sys.argv[2])
print("VTL fault path under -icount (guest ns = instructions executed per fault,")
print("the L2 guest's and the test guest's together), min and median of 11 VMs:")
print(f"{'configuration':40} {'min':>10} {'median':>10}")
print(f"{'stock modules':40} {stock['fault_plain']:10.0f} {stock['fault_plain_median']:10.0f}")
for n in ("fault_plain", "fault_layers_empty", "fault_layers_populated"):
    print(f"{'ours, ' + n[6:]:40} {ours[n]:10.0f} {ours[n + '_median']:10.0f}")
print(f"\n{'ratio (target <= 1.03)':48} {'min':>8} {'median':>8}")
for name, a, b, ra, rb in [
        ("ours, no layers / stock", "fault_plain", "fault_plain", ours, stock),
        ("ours, layers empty / stock", "fault_layers_empty", "fault_plain", ours, stock),
        ("ours, layer populated / stock", "fault_layers_populated", "fault_plain", ours, stock),
        ("ours, layer populated / ours, no layers", "fault_layers_populated", "fault_plain",
         ours, ours)]:
    print(f"{name:48} {ra[a] / rb[b]:8.4f} {ra[a + '_median'] / rb[b + '_median']:8.4f}")
PY
fi
[[ " $what " == *" kvm "* ]] || exit 0

log "benchmark: stock modules (fault path only)"
"$h" run x86_64 --stock --timeout 1200 --log bench-stock "$b:-f" >/dev/null ||
	die "the stock run failed, see $logs/bench-stock.log"
log "benchmark: our modules"
"$h" run x86_64 --timeout 3600 --log bench-ours "$b:-m:$slots" guest_memfd_bench >/dev/null ||
	die "our run failed, see $logs/bench-ours.log"

python3 - "$logs/bench-stock.log" "$logs/bench-ours.log" <<'PY'
import re, sys

def results(path):
    out = {}
    for m in re.finditer(r"result (\S+) ([0-9.]+) (\S+)", open(path, errors="replace").read()):
        out[m[1]] = (float(m[2]), m[3])
    return out

stock, ours = results(sys.argv[1]), results(sys.argv[2])
need = ["fault_plain"]
for n in need:
    if n not in stock:
        sys.exit(f"missing result {n} in the stock run")
for n in ["vtl_batch", "vtl_single", "private_single", "memslot",
          "memslot_count", "fault_plain", "fault_layers_empty",
          "fault_layers_populated"]:
    if n not in ours:
        sys.exit(f"missing result {n} in our run")

v = lambda r, n: r[n][0]
rows = [
    ("per page: batched / memslot approach", v(ours, "vtl_batch"), v(ours, "memslot"),
     "<= 0.01 (100x faster)", v(ours, "vtl_batch") <= v(ours, "memslot") / 100),
    ("per page: batched / upstream PRIVATE set", v(ours, "vtl_batch"), v(ours, "private_single"),
     "<= 0.5", v(ours, "vtl_batch") <= 0.5 * v(ours, "private_single")),
    ("per page: unbatched / upstream PRIVATE set", v(ours, "vtl_single"), v(ours, "private_single"),
     "<= 1.5", v(ours, "vtl_single") <= 1.5 * v(ours, "private_single")),
    ("fault: ours, no layers / stock", v(ours, "fault_plain"), v(stock, "fault_plain"),
     "<= 1.03", v(ours, "fault_plain") <= 1.03 * v(stock, "fault_plain")),
    ("fault: ours, layers empty / stock", v(ours, "fault_layers_empty"), v(stock, "fault_plain"),
     "<= 1.03", v(ours, "fault_layers_empty") <= 1.03 * v(stock, "fault_plain")),
    ("fault: ours, layer populated / stock", v(ours, "fault_layers_populated"), v(stock, "fault_plain"),
     "<= 1.03", v(ours, "fault_layers_populated") <= 1.03 * v(stock, "fault_plain")),
    ("fault: ours, layer populated / ours, no layers", v(ours, "fault_layers_populated"),
     v(ours, "fault_plain"), "<= 1.03",
     v(ours, "fault_layers_populated") <= 1.03 * v(ours, "fault_plain")),
]
print("raw results (per page or per fault):")
for name, run in (("stock", stock), ("ours", ours)):
    for n, (val, unit) in sorted(run.items()):
        print(f"  {name:5} {n:24} {val:12.3f} {unit}")
print(f"memslot approach: {int(v(ours, 'memslot_count'))} slots created "
      f"(100,000 protections cannot be expressed: KVM allows 32764 slots)")
print()
print(f"{'ratio':48} {'value':>8}  {'target':22} met")
for name, a, b, target, ok in rows:
    print(f"{name:48} {a / b:8.4f}  {target:22} {'yes' if ok else 'NO'}")

gmem = [
    ("fault: guest_memfd only / anonymous", "fault_gmem_only", "fault_anon"),
    ("fault: guest_memfd shared, in place / anonymous", "fault_gmem_shared", "fault_anon"),
    ("fault: guest_memfd private / anonymous", "fault_gmem_private", "fault_anon"),
]
conv = [
    ("to private, 4 KiB: in place / upstream layout", "conv_4k_private"),
    ("to shared, 4 KiB: in place / upstream layout", "conv_4k_shared"),
    ("to private, 2 MiB: in place / upstream layout", "conv_2m_private"),
    ("to shared, 2 MiB: in place / upstream layout", "conv_2m_shared"),
]
for n in [f"{k}_{s}" for _, k, _ in gmem for s in ("min", "median")] + \
         [f"{k}_{s}" for _, k in conv for s in ("inplace", "upstream")] + \
         ["fault_anon_min", "fault_anon_median"]:
    if n not in ours:
        sys.exit(f"missing result {n} in our run")
print()
print(f"{'guest_memfd ratio':48} {'min':>8} {'median':>8}")
for name, a, b in gmem:
    print(f"{name:48} {v(ours, a + '_min') / v(ours, b + '_min'):8.3f} "
          f"{v(ours, a + '_median') / v(ours, b + '_median'):8.3f}")
print(f"{'conversion ratio (per call)':48} {'value':>8}")
for name, k in conv:
    print(f"{name:48} {v(ours, k + '_inplace') / v(ours, k + '_upstream'):8.3f}")
PY
