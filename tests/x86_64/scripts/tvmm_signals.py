#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# Run by tvmm_e2e (in the host root file system it chroots into): tvmm on a
# pseudo-terminal, as a user at a terminal runs it.  Once tvmm reports the
# VM ready, the terminal must be raw (the guest gets every key); SIGNAL
# must then end tvmm with exit status 128+SIGNAL and the terminal restored
# as it was.  Prints "ok" or what went wrong, exits 0 or 1.
#   usage: tvmm_signals.py SIGNAL TVMM ARGS...
import fcntl
import os
import select
import signal
import sys
import termios
import time

sig = getattr(signal, sys.argv[1])
cmd = sys.argv[2:]
# The terminal as tvmm will find it, read before tvmm can change it.
fd, slave = os.openpty()
before = termios.tcgetattr(slave)
pid = os.fork()
if pid == 0:
    os.close(fd)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for i in range(3):
        os.dup2(slave, i)
    os.close(slave)
    os.execv(cmd[0], cmd)
os.close(slave)
out = b""
deadline = time.monotonic() + 120
while b"VM ready" not in out and time.monotonic() < deadline:
    r, _, _ = select.select([fd], [], [], 1)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
if b"VM ready" not in out:
    os.kill(pid, signal.SIGKILL)
    sys.exit("tvmm never reported the VM ready: %r" % out[-400:])
raw = termios.tcgetattr(fd)
problems = []
if raw[3] & (termios.ICANON | termios.ECHO):
    problems.append("the terminal is not raw while the VM runs")
os.kill(pid, sig)
deadline = time.monotonic() + 60
status = None
while time.monotonic() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            os.read(fd, 4096)
        except OSError:
            pass
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
else:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    sys.exit("tvmm still running 60 s after %s" % sys.argv[1])
if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 128 + sig:
    problems.append("wait status 0x%x, not exit status %d" % (status, 128 + sig))
after = termios.tcgetattr(fd)
if after != before:
    problems.append("the terminal was not restored: %r, was %r" % (after[:4], before[:4]))
print("\n".join(problems) if problems else "ok")
sys.exit(1 if problems else 0)
