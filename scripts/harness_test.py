#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tests of the harness's verdicts: what counts as a failure, what gets
its one retry, and what proves that the outer QEMU broke a boot.

No guest boots here.  make_initrd() and boot() are replaced by a scripted
guest that answers each boot, by its log name, with a console written in
the guest's own formats (scripts/guest/init.c's KTAP lines, the hang
report of tests/x86_64/scripts/tvmm_hostenv); everything between the
console and the verdict is the harness's own code: run(), parse(),
outer_walk_from_l1_cr3(), run_multi(), retry_once() and check().

  python3 scripts/harness_test.py [-v] [--summary FILE]
                                            (make check runs it; FILE: its
                                            result as a summary.json)
  HARNESS=path/to/harness.py python3 scripts/harness_test.py
                                            another harness, e.g. an old one
                                            (git show REV:scripts/harness.py)

The policy these tests hold (issue 12, item 5): a test of ours that boots
a real guest under tvmm (tests/x86_64/tvmm-multi.list) gets no free retry;
its boot is retried once only when the console proves the outer QEMU
broke it.  A harness that retried such a test and called it flaky, as
3385267's did, fails test_nested_hang_without_proof_fails.
"""

import contextlib
import importlib.util
import io
import json
import os
import sys
import tempfile
import unittest
from unittest import mock
from pathlib import Path

HARNESS = Path(os.environ.get("HARNESS",
                              Path(__file__).resolve().parent / "harness.py"))


def load_harness():
    spec = importlib.util.spec_from_file_location("harness_under_test", HARNESS)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


H = load_harness()

# One L1 process hung in the emulator's loop, as tvmm_hostenv reports it.
PID, VCPU0, VCPU1 = 812, 815, 816
L1_CR3 = 0x10ad78000
SVM_RUN = (0xffffffffc045bad0, 0xffffffffc045bcf0)
RIP_AFTER_VMRUN = 0xffffffffc045bc60


def hang_report(prefix="   | ", *, gpa=L1_CR3 + 0xff8, error_code=0x20000000e,
                count=44911, rip=RIP_AFTER_VMRUN, nmi_pid=VCPU1, cr3=L1_CR3,
                svm_run=SVM_RUN, backtrace=True):
    """The lines of tvmm_hostenv's hang_report for a vCPU thread (VCPU1)
    that keeps taking nested page faults in the guest's page walk at gpa,
    each line after prefix (tvmm_e2e's "   | ", tvmm_bench's "   hang| ")."""
    lines = [
        f"== hang report: pid {PID} at 1234.56 s of uptime",
        "-- threads: tid comm state ticks-used-in-2s cpu",
        f"  {PID} tvmm S 0 cpu0",
        f"  {VCPU0} vcpu0 S 0 cpu0",
        f"  {VCPU1} vcpu1 R 241 cpu1",
        f"-- {VCPU0} vcpu0: wchan kvm_vcpu_block",
        "     [<0>] kvm_vcpu_block+0x4f/0xb0 [kvm]",
        f"-- {VCPU1} vcpu1: wchan 0",
        "-- KVM events in 2 s, per thread (task-tid event count)",
        f"  vcpu1-{VCPU1} kvm_exit: {count}",
        f"  vcpu1-{VCPU1} kvm_page_fault: {count}",
        "-- the last KVM events of each thread",
    ]
    for i in range(3):
        lines.append(
            f"           vcpu1-{VCPU1}     [001] d..1.  1236.{i:06d}: "
            f"kvm_page_fault: vcpu 1 rip {rip:#x} address {gpa:#018x} "
            f"error_code {error_code:#x}")
    lines.append("-- KVM statistics of the VM that moved in 2 s "
                 f"(/sys/kernel/debug/kvm/{PID}-11)")
    lines.append(f"  exits 120311 -> {120311 + count}")
    if svm_run:
        lines.append(f"-- L1's __svm_vcpu_run: {svm_run[0]:#x} to {svm_run[1]:#x}")
    lines.append("-- this guest's CPUs (sysrq l, 1)")
    lines += ["  dmesg| [ 1236.5] sysrq: Show backtrace of all active CPUs",
              "  dmesg| [ 1236.5] NMI backtrace for cpu 0 skipped: idling"]
    if backtrace:
        lines += [
            "  dmesg| [ 1236.5] NMI backtrace for cpu 1",
            f"  dmesg| [ 1236.5] CPU: 1 UID: 0 PID: {nmi_pid} Comm: vcpu1 "
            "Tainted: G           OE      6.12.57+deb13-amd64 #1  Debian 6.12.57-1",
            "  dmesg| [ 1236.5] RIP: 0010:svm_vcpu_run+0x3a1/0x860 [kvm_amd]",
            "  dmesg| [ 1236.5] FS:  00007f3c2dffb6c0(0000) GS:ffff8c00fbd00000(0000) "
            "knlGS:0000000000000000",
            f"  dmesg| [ 1236.5] CR2: 0000000000000000 CR3: {cr3:016x} "
            "CR4: 0000000000350ef0",
        ]
    lines.append("== end of hang report")
    return [prefix + line for line in lines]


RESULT = {
    "pass": "ok {i} selftests: kvm: {name}",
    "skip": "ok {i} selftests: kvm: {name} # SKIP",
    "fail": "not ok {i} selftests: kvm: {name} # exit=1",
    "timeout": "not ok {i} selftests: kvm: {name} # TIMEOUT {t} seconds",
}


def console(tests, plan):
    """A console of scripts/guest/init.c running tests [(name, timeout,
    args)]: each test passes unless plan maps its name to a status, or to
    (status, lines it printed); plan["splat"] adds a kernel log line."""
    out = ["TAP version 13", f"1..{len(tests)}"]
    for i, (name, timeout, _) in enumerate(tests, 1):
        status, printed = plan.get(name, "pass"), []
        if isinstance(status, tuple):
            status, printed = status
        out.append(f"# selftests: kvm: {name}")
        out.append(f"# {name}: running")
        out += ["# " + line for line in printed]
        out.append(f"# {name}: 1.0 s")
        out.append(RESULT[status].format(i=i, name=name, t=timeout))
    if "splat" in plan:
        out.append(f"# dmesg: {plan['splat']}")
    out.append("# tvmm-init: done")
    return "\n".join(out) + "\n"


class Guest:
    """Stands in for make_initrd() and boot(): answers each boot from
    plans[log name] (console()'s plan; no entry: every test passes) and
    records the boots in order."""

    def __init__(self, plans):
        self.plans, self.boots, self.pending = plans, [], None
        self.tcg = {}   # log name: the TCG threading it booted with

    def make_initrd(self, arch, which, tests, name):
        self.pending = (name, tests)
        return Path("/nonexistent/initrd")

    def boot(self, arch, initrd, logfile, timeout, tcg_thread=None, *args, **kw):
        name, tests = self.pending
        self.boots.append(name)
        self.tcg[name] = tcg_thread
        return console(tests, self.plans.get(name, {})), 0


class Harness(unittest.TestCase):
    """Runs check() on a scripted guest."""

    OURS = [("vtl_memory_attributes_test", 300, [])]
    MULTI = [("tvmm_e2e", 700, ["@TOP@", "@BUILD@"])]
    UPSTREAM = [("hyperv_clock", 300, []), ("kvm_clock_test", 300, [])]

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.logged = []
        self.stock = {}
        patches = {
            "BUILD": Path(tmp.name),
            # This checkout's splat patterns, also for a harness.py
            # copied out of its tree (HARNESS=).
            "GUEST": Path(__file__).resolve().parent / "guest",
            "log": self.logged.append,
            "selections": lambda arch, full: (list(self.OURS), list(self.MULTI),
                                              list(self.UPSTREAM), {}, {}),
            "stock_results": lambda *a, **kw: {
                "results": self.stock, "problems": [], "seconds": 0, "log": "-"},
            "Progress": Quiet,
        }
        for attr, value in patches.items():
            self.patch(attr, value)

    def patch(self, attr, value):
        """The harness's @attr is @value for this test (also one an old
        harness lacks)."""
        patcher = mock.patch.object(H, attr, value, create=True)
        patcher.start()
        self.addCleanup(patcher.stop)

    def check(self, plans, stock=None):
        """check() on a guest that answers plans; returns (summary, guest)."""
        guest = Guest(plans)
        self.stock = {n: {"status": s} for n, s in (stock or {}).items()}
        for attr in ("make_initrd", "boot"):
            self.patch(attr, getattr(guest, attr))
        with contextlib.redirect_stdout(io.StringIO()):
            summary = H.check("x86_64", False)
        return summary, guest

    def failures(self, summary):
        return [f["name"] for f in summary["failures"]]

    def flaky(self, summary):
        return [f["name"] for f in summary["flaky"]]

    def multi_boots(self, guest):
        return [b for b in guest.boots if b.startswith("ours-multi")]

    # -- our tests that boot a real guest: no free retry

    def test_nested_hang_without_proof_fails(self):
        """A tvmm run that hangs without a proof that the outer QEMU broke
        it fails the check, and its boot is not retried (3385267 retried
        it, passed it and called it flaky)."""
        summary, guest = self.check({
            "ours-multi": {"tvmm_e2e": ("timeout", ["== hugetlb: 2 vCPUs"])},
        })
        self.assertEqual(self.failures(summary), ["tvmm_e2e"])
        self.assertEqual(self.flaky(summary), [])
        self.assertEqual(summary["statuses"]["tvmm_e2e"], "timeout")
        self.assertEqual(self.multi_boots(guest), ["ours-multi"])

    def test_nested_failure_without_proof_fails(self):
        summary, guest = self.check({"ours-multi": {"tvmm_e2e": "fail"}})
        self.assertEqual(self.failures(summary), ["tvmm_e2e"])
        self.assertEqual(self.multi_boots(guest), ["ours-multi"])

    def test_nested_hang_with_a_report_that_proves_nothing_fails(self):
        """A hang report alone is no proof: here the faulting page is not
        the CR3 of the process's thread."""
        report = hang_report(cr3=L1_CR3 + 0x5000)
        summary, guest = self.check({
            "ours-multi": {"tvmm_e2e": ("timeout", report)},
        })
        self.assertEqual(self.failures(summary), ["tvmm_e2e"])
        self.assertEqual(self.multi_boots(guest), ["ours-multi"])
        self.assertFalse(any(H.OUTER_WALK in p for p in summary["problems"]))

    def test_proved_outer_walk_retries_the_boot_once(self):
        summary, guest = self.check({
            "ours-multi": {"tvmm_e2e": ("timeout", hang_report())},
        })
        self.assertEqual(summary["failed"], 0, summary)
        self.assertEqual(self.multi_boots(guest), ["ours-multi", "ours-multi-again"])
        proof = [m for m in self.logged if H.OUTER_WALK in m]
        self.assertEqual(len(proof), 1, self.logged)
        self.assertIn(f"thread {VCPU1}'s CR3 is {L1_CR3:#x}", proof[0])

    def test_proved_outer_walk_twice_fails(self):
        """One retry, not a loop: the second boot's proof is a failure."""
        plan = {"tvmm_e2e": ("timeout", hang_report())}
        summary, guest = self.check({"ours-multi": plan, "ours-multi-again": plan})
        self.assertIn("tvmm_e2e", self.failures(summary))
        self.assertEqual(self.multi_boots(guest), ["ours-multi", "ours-multi-again"])
        self.assertTrue(any(H.OUTER_WALK in p for p in summary["problems"]))

    def test_nested_boot_is_multi_threaded_and_alone(self):
        """The tests that boot a real guest run in a boot of their own
        with multi-threaded TCG (a nested boot takes minutes on one
        thread); the others in the default boot."""
        summary, guest = self.check({})
        self.assertEqual(summary["failed"], 0, summary)
        self.assertEqual(guest.boots, ["ours", "ours-multi"])
        self.assertEqual(guest.tcg["ours-multi"], "multi")
        self.assertEqual(guest.tcg["ours"], H.TCG_THREAD)

    def test_splat_in_the_nested_boot_fails(self):
        summary, _ = self.check({"ours-multi": {"splat": "BUG: KASAN: use-after-free in x"}})
        self.assertGreater(summary["failed"], 0)
        self.assertTrue(any("splat" in p for p in summary["problems"]), summary)

    def test_outer_qemu_abort_retries_the_boot_once(self):
        plan = {"tvmm_e2e": ("timeout", [
            "qemu-system-x86_64: ../accel/tcg/cpu-exec.c:1013: "
            "Assertion `bql_locked()' failed."])}
        summary, guest = self.check({"ours-multi": plan})
        self.assertEqual(summary["failed"], 0, summary)
        self.assertEqual(self.multi_boots(guest), ["ours-multi", "ours-multi-again"])

    # -- the other tests: one retry in a fresh guest

    def test_failure_that_passes_on_retry_is_flaky(self):
        summary, guest = self.check({"ours": {"hyperv_clock": "fail"}})
        self.assertEqual(summary["failed"], 0, summary)
        self.assertEqual(self.flaky(summary), ["hyperv_clock"])
        self.assertEqual(guest.boots, ["ours", "ours-multi", "ours-retry"])

    def test_failure_on_retry_fails(self):
        plan = {"vtl_memory_attributes_test": "fail"}
        summary, _ = self.check({"ours": plan, "ours-retry": plan})
        self.assertEqual(self.failures(summary), ["vtl_memory_attributes_test"])
        self.assertEqual(self.flaky(summary), [])

    def test_newly_skipping_gets_one_retry(self):
        summary, guest = self.check({"ours": {"kvm_clock_test": "skip"}},
                                    stock={"kvm_clock_test": "pass"})
        self.assertEqual(summary["failed"], 0, summary)
        self.assertEqual(self.flaky(summary), ["kvm_clock_test"])
        self.assertIn("ours-skip-retry", guest.boots)

    def test_newly_skipping_twice_is_a_regression(self):
        plan = {"kvm_clock_test": "skip"}
        summary, _ = self.check({"ours": plan, "ours-skip-retry": plan},
                                stock={"kvm_clock_test": "pass"})
        self.assertEqual(self.failures(summary), ["kvm_clock_test"])

    def test_skipping_on_stock_too_is_no_failure_and_no_retry(self):
        summary, guest = self.check({"ours": {"kvm_clock_test": "skip"}},
                                    stock={"kvm_clock_test": "skip"})
        self.assertEqual(summary["failed"], 0, summary)
        self.assertEqual(summary["skipped"], 1)
        self.assertNotIn("ours-skip-retry", guest.boots)

    def test_failed_then_skipped_has_had_its_retry(self):
        summary, guest = self.check({"ours": {"hyperv_clock": "fail"},
                                     "ours-retry": {"hyperv_clock": "skip"}},
                                    stock={"hyperv_clock": "pass"})
        self.assertEqual(self.failures(summary), ["hyperv_clock"])
        self.assertEqual(guest.boots, ["ours", "ours-multi", "ours-retry"])

    def test_splat_in_the_retry_fails_though_the_test_passed(self):
        summary, _ = self.check({
            "ours": {"hyperv_clock": "fail"},
            "ours-retry": {"splat": "WARNING: CPU: 1 PID: 9 at virt/kvm/kvm_main.c:1 x"},
        })
        self.assertEqual(self.flaky(summary), ["hyperv_clock"])
        self.assertGreater(summary["failed"], 0)
        self.assertTrue(any("retry" in p and "splat" in p for p in summary["problems"]),
                        summary["problems"])

    def test_splat_fails_even_when_every_test_passes(self):
        summary, _ = self.check({
            "ours": {"splat": "WARNING: CPU: 0 PID: 1 at arch/x86/kvm/mmu/mmu.c:1 x"},
        })
        self.assertGreater(summary["failed"], 0)
        self.assertTrue(any("splat" in p for p in summary["problems"]))


class OuterWalkProof(unittest.TestCase):
    """outer_walk_from_l1_cr3() on hang reports: what proves the outer
    QEMU walked a nested guest's page tables from L1's CR3, and what
    does not."""

    def proof(self, report, prefix="# "):
        return H.outer_walk_from_l1_cr3(
            "\n".join(["# booting", *(prefix + line for line in report), "ok 1 x"]))

    def test_proved_by_the_cr3_of_a_thread_of_the_process(self):
        p = self.proof(hang_report())
        self.assertIsNotNone(p)
        self.assertIn(f"thread {VCPU1}'s CR3 is {L1_CR3:#x}", p)

    def test_proved_in_the_benchmark_format(self):
        self.assertIsNotNone(self.proof(hang_report("   hang| ")))

    def test_proved_by_rip_when_no_backtrace_caught_the_process(self):
        p = self.proof(hang_report(backtrace=False))
        self.assertIsNotNone(p)
        self.assertIn("inside L1's __svm_vcpu_run", p)

    def test_cr3_of_another_process_proves_nothing(self):
        self.assertIsNone(self.proof(hang_report(nmi_pid=4242, svm_run=None)))

    def test_another_root_proves_nothing(self):
        self.assertIsNone(self.proof(hang_report(cr3=L1_CR3 + 0x1000, svm_run=None)))

    def test_another_root_is_not_overruled_by_the_rip(self):
        """The process's own root, seen in a backtrace, outweighs a RIP
        that lies in __svm_vcpu_run."""
        self.assertIsNone(self.proof(hang_report(cr3=L1_CR3 + 0x1000)))

    def test_fault_outside_a_page_walk_proves_nothing(self):
        self.assertIsNone(self.proof(hang_report(error_code=0x10000000e)))

    def test_a_few_faults_prove_nothing(self):
        self.assertIsNone(self.proof(hang_report(count=999)))

    def test_rip_outside_svm_vcpu_run_proves_nothing(self):
        self.assertIsNone(self.proof(hang_report(
            backtrace=False, rip=SVM_RUN[1])))

    def test_no_range_and_no_backtrace_proves_nothing(self):
        self.assertIsNone(self.proof(hang_report(backtrace=False, svm_run=None)))

    def test_no_report_proves_nothing(self):
        self.assertIsNone(H.outer_walk_from_l1_cr3(
            "# selftests: kvm: tvmm_e2e\nnot ok 1 selftests: kvm: tvmm_e2e\n"))


class Quiet:
    """Progress without output or a durations file."""

    def __init__(self, *args, **kw):
        pass

    def __getattr__(self, name):
        return lambda *args, **kw: None


def main():
    """unittest's command line, and with --summary FILE the result as the
    harness's summary.json (make check's line for these tests)."""
    argv, summary = list(sys.argv), None
    if "--summary" in argv:
        i = argv.index("--summary")
        summary = Path(argv[i + 1])
        del argv[i:i + 2]
    result = unittest.main(argv=argv, exit=False).result
    bad = len(result.failures) + len(result.errors)
    if summary:
        summary.write_text(json.dumps({
            "passed": result.testsRun - bad - len(result.skipped), "failed": bad,
            "skipped": len(result.skipped),
            "problems": [f"harness self-test {t.id()} failed"
                         for t, _ in result.failures + result.errors]}))
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
