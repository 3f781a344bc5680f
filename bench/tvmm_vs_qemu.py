#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""tvmm against QEMU (-M microvm, KVM), side by side in one environment.

Runs in the x86-64 test guest (our KVM modules) through the host's root file
system (tests/x86_64/scripts/tvmm_bench).  Each trial boots the same
Debian 6.12 vmlinuz and tvmm guest (tools/tvmm/guest/init.c) with 1 vCPU,
128 MiB of anonymous memory, a virtio-blk disk and the same command line,
in tvmm (kicks as MMIO exits, interrupts by KVM_IRQ_LINE), in tvmm with
KVM's eventfds ("tvmm_eventfd": TVMM_NOTIFY=eventfd, kicks through
ioeventfds and interrupts through resampling irqfds) and with only one of
the two ("tvmm_ioeventfd", "tvmm_irqfd"), in QEMU's microvm as it comes
("qemu") and in microvm without its RTC ("qemu_nortc": probing it cost the
guest 5.4 s here, "rtc_cmos: broken or not accessible"), and with 2 vCPUs,
a 2-queue disk and one blk job per vCPU in tvmm and microvm without its
RTC ("tvmm_2q", "qemu_2q"; "tvmm_eventfd_2q" with TVMM_NOTIFY=eventfd, its
kicks taken by a thread per queue; "tvmm_eventfd_loop_2q" and, with one
queue, "tvmm_eventfd_loop" the same with one loop for the VM's queues,
TVMM_NOTIFY_THREADS=loop),
one after the other (each trial starting one VMM later than the one
before), and measures in each run:

  boot      seconds from spawning the VMM to the guest's first userspace
            line on the serial console ("tvmm-guest: userspace up"), the
            same clock for both VMMs (tvmm's own boot timer is printed too)
  overhead  the VMM's RSS minus guest memory, sampled while the guest holds
            after its benchmarks: the sum of Rss over every mapping in
            /proc/PID/smaps except those of guest-memory size or larger
  pio       the guest's best ns per one-byte write to port 0x80, which no
            device claims in either VMM (one exit to userspace and back)
  blk       the guest's 4 KiB random O_DIRECT read IOPS at QD 32 (Linux
            AIO) on the disk: tvmm's virtio-blk (io_uring) against QEMU's
            virtio-blk-device with aio=io_uring, the same raw image

Prints one "result NAME VALUE UNIT" line per median (NAME = vmm_metric) and
every trial's raw figures.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time

MEM_MIB = 128
HOLD_S = 3
MARK_UP = "tvmm-guest: userspace up"
MARK_HOLD = "tvmm-guest: holding"


def rss_outside_guest(pid):
    """KiB of Rss in mappings smaller than guest memory, and total KiB."""
    other = total = 0
    size = 0
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if line.startswith("Size:"):
                size = int(line.split()[1])
            elif line.startswith("Rss:"):
                rss = int(line.split()[1])
                total += rss
                if size < MEM_MIB * 1024:
                    other += rss
    return other, total


def wait_for_hang_report(watch, pid, what):
    """Asks the watcher (tests/x86_64/scripts/tvmm_bench) for a hang report
    on @pid and waits, at most 120 s, until it is written; without a
    watcher there is none."""
    if not watch:
        return [f"{what} (no hang report: tests/x86_64/scripts/tvmm_bench writes one)"]
    done = os.path.join(watch, f"tvmm-bench-hang-{pid}.done")
    print(f"hang-watch: pid {pid}: {what}", flush=True)
    deadline = time.monotonic() + 120
    while not os.path.exists(done) and time.monotonic() < deadline:
        time.sleep(0.2)
    if not os.path.exists(done):
        return [f"{what} (no hang report came within 120 s)"]
    os.unlink(done)
    return [f"{what} (hang report for pid {pid} above)"]


def run_vm(cmd, timeout, env=None, watch=""):
    """Runs one VM; returns its console, the measurements and, for a VMM
    that ran out of time, what became of it (empty otherwise), with a hang
    report before SIGKILL (wait_for_hang_report()).  One whose exit the
    kernel still holds 30 s after SIGKILL gets a second report and is left
    behind (status "held"), so that one such VMM cannot stop the whole
    run."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, errors="replace",
                         env=dict(os.environ, **env) if env else None)
    out, m = [], {}

    def reader():
        for line in p.stdout:
            out.append(line)
            if MARK_UP in line and "boot" not in m:
                m["boot"] = time.monotonic() - start
            if MARK_HOLD in line and "overhead" not in m:
                # Any VMM thread a device started has run by now.
                time.sleep(1)
                try:
                    other, total = rss_outside_guest(p.pid)
                    m["overhead"], m["rss"] = other / 1024, total / 1024
                except OSError:
                    pass

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    report = []
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        report = wait_for_hang_report(watch, p.pid, f"out of time after {timeout} s")
        p.kill()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            report += wait_for_hang_report(watch, p.pid,
                                           "still there 30 s after SIGKILL, left behind")
    t.join(5)
    text = "".join(out)
    if r := re.search(r"bench pio (\d+) ns/exit", text):
        m["pio"] = float(r[1])
    if r := re.search(r"bench blk (\d+) IOPS", text):
        m["blk"] = float(r[1])
    if r := re.search(r"boot time: ([0-9.]+) ms", text):
        m["boot_timer"] = float(r[1]) / 1000
    if r := re.search(r"VM ready in ([0-9.]+) ms", text):
        m["setup"] = float(r[1]) / 1000
    m["status"] = "held" if p.returncode is None else p.returncode
    return text, m, report


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tvmm", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--image", required=True, help="raw disk image to read")
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--cmdline", default="", help="extra kernel arguments")
    ap.add_argument("--pio-exits", type=int, default=20000)
    ap.add_argument("--blk-seconds", type=int, default=5)
    ap.add_argument("--timeout", type=int, default=240)
    ap.add_argument("--console", action="store_true", help="print every console")
    ap.add_argument("--tvmm-base", default="",
                    help="another tvmm binary (an older commit's), run as \"tvmm_base\" "
                    "with tvmm's arguments and as \"tvmm_base_2q\" with tvmm_2q's: "
                    "the baseline side by side")
    ap.add_argument("--hang-watch", default="", metavar="DIR",
                    help="a VMM out of time is reported (\"hang-watch: pid N: ...\" on "
                    "stdout) and killed once DIR/tvmm-bench-hang-N.done exists")
    ap.add_argument("--vmms", default="",
                    help="comma-separated subset of the VMMs to run (default: all)")
    a = ap.parse_args()

    guest = (f"quiet {a.cmdline} tvmm_guest.bench=pio,blk "
             f"tvmm_guest.pio_exits={a.pio_exits} "
             f"tvmm_guest.blk_seconds={a.blk_seconds} tvmm_guest.hold={HOLD_S}")
    # tvmm adds these itself (arch/x86/machine.cc); QEMU gets them spelled out.
    base = "console=ttyS0 reboot=k panic=-1 pci=off"
    # Two vCPUs, two queues, one job on each: the multi-queue figure.
    guest_2q = f"{guest} tvmm_guest.blk_jobs=2"
    def qemu(machine, cpus=1, cmdline=guest):
        return ["qemu-system-x86_64", "-M", machine, "-accel", "kvm",
                "-cpu", "host", "-m", f"{MEM_MIB}M", "-smp", str(cpus),
                "-nographic", "-nodefaults", "-no-user-config", "-no-reboot",
                "-serial", "stdio", "-kernel", a.kernel, "-initrd", a.initrd,
                "-drive", f"file={a.image},if=none,id=vda,format=raw,"
                "readonly=on,aio=io_uring",
                "-device", f"virtio-blk-device,drive=vda,num-queues={cpus}",
                "-append", f"{base} {cmdline}"]
    def tvmm(cpus=1, cmdline=guest, binary=None):
        return [binary or a.tvmm, "run", "--kernel", a.kernel, "--initrd", a.initrd,
                "--memory", f"{MEM_MIB}M", "--cpus", str(cpus),
                "--memory-backend", "anon", "--disk", f"{a.image},ro",
                "--cmdline", cmdline]

    # name: (command, environment)
    vmms = {
        # The default: kicks exit to tvmm, interrupts by KVM_IRQ_LINE.
        "tvmm": (tvmm(), None),
        # KVM's eventfds, both or one: what they are worth, in the same run.
        "tvmm_eventfd": (tvmm(), {"TVMM_NOTIFY": "eventfd", "TVMM_NOTIFY_THREADS": "queue"}),
        "tvmm_ioeventfd": (tvmm(), {"TVMM_NOTIFY": "ioeventfd"}),
        "tvmm_irqfd": (tvmm(), {"TVMM_NOTIFY": "irqfd"}),
        # The kicks taken by one loop instead of a thread per queue.
        "tvmm_eventfd_loop": (tvmm(), {"TVMM_NOTIFY": "eventfd",
                                       "TVMM_NOTIFY_THREADS": "loop"}),
        "qemu": (qemu("microvm"), None),
        "qemu_nortc": (qemu("microvm,rtc=off"), None),
        "tvmm_2q": (tvmm(2, guest_2q), None),
        "tvmm_eventfd_2q": (tvmm(2, guest_2q), {"TVMM_NOTIFY": "eventfd",
                                                "TVMM_NOTIFY_THREADS": "queue"}),
        "tvmm_eventfd_loop_2q": (tvmm(2, guest_2q), {"TVMM_NOTIFY": "eventfd",
                                                     "TVMM_NOTIFY_THREADS": "loop"}),
        "qemu_2q": (qemu("microvm,rtc=off", 2, guest_2q), None),
    }
    if a.tvmm_base:
        vmms["tvmm_base"] = (tvmm(binary=a.tvmm_base), None)
        vmms["tvmm_base_2q"] = (tvmm(2, guest_2q, binary=a.tvmm_base), None)
    if a.vmms:
        unknown = [v for v in a.vmms.split(",") if v not in vmms]
        if unknown:
            ap.error(f"--vmms: unknown {','.join(unknown)}; known: {','.join(vmms)}")
        vmms = {v: vmms[v] for v in a.vmms.split(",")}
    trials = {v: [] for v in vmms}
    failed = 0
    names = list(vmms)
    for i in range(a.trials):
        # Trial i starts at the i-th VMM: with as many trials as VMMs (or a
        # multiple) each VMM runs in each position equally often, so what
        # the position in a trial is worth (the first run after another
        # VMM's boots faster, say) does not favour one VMM.
        for vmm in names[i % len(names):] + names[:i % len(names)]:
            cmd, env = vmms[vmm]
            text, m, report = run_vm(cmd, a.timeout, env, a.hang_watch)
            trials[vmm].append(m)
            print(f"trial {i + 1} {vmm}: " + " ".join(
                f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                for k, v in sorted(m.items())), flush=True)
            if a.console:
                sys.stdout.write("".join(f"   {vmm}| {l}" for l in text.splitlines(True)))
            missing = [k for k in ("boot", "overhead", "pio", "blk") if k not in m]
            if missing or m["status"] != 0 or "done, 0 failed" not in text:
                failed += 1
                print(f"trial {i + 1} {vmm} FAILED (missing {missing}, status "
                      f"{m['status']}); its console:")
                sys.stdout.write("".join(f"   | {l}" for l in text.splitlines(True)[-40:]))
                sys.stdout.write("".join(f"   | {l}\n" for l in report))
    units = {"boot": "s", "boot_timer": "s", "setup": "s", "overhead": "MiB", "rss": "MiB",
             "pio": "ns", "blk": "IOPS"}
    for vmm, ms in trials.items():
        for k, unit in units.items():
            vals = [m[k] for m in ms if k in m]
            if vals:
                print(f"result {vmm}_{k} {statistics.median(vals):.3f} {unit}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
