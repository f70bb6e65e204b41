#!/usr/bin/env python3
"""Times the phases of one onnx-rstd run from its progress lines.

The CLI prints progress only to a terminal, so the command runs under a pseudo-terminal; each
line whose text (digits ignored) differs from the previous one starts a phase, printed once it
has ended with the seconds from the start to when it began, and the process's resident memory
when it ended (VmRSS) and its peak up to then (VmHWM), in MiB. Usage:

    python3 bench/scale/phases.py BIN chain_8000.onnx out.onnx --layout reconstructed --shuffle random
"""
import os
import pty
import re
import sys
import time


def memory(pid):
    """(VmRSS, VmHWM) of `pid` in MiB, or None once it has exited."""
    try:
        fields = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status").read().splitlines() if ":" in l)
        return tuple(int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))
    except (OSError, KeyError, ValueError):
        return None


def main(argv):
    if not argv:
        sys.exit(__doc__)
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    start, pending, last = time.time(), b"", None
    began = start  # when the text in `pending` arrived
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        now = time.time()
        if not pending:
            began = now
        pending += chunk
        while True:
            ends = [i for i in (pending.find(b"\r"), pending.find(b"\n")) if i >= 0]
            if not ends:
                break
            i = min(ends)
            line, pending = pending[:i].decode(errors="replace"), pending[i + 1:]
            # A status line ends with the next one's "\r": it is printed when its phase has
            # ended, stamped with when it began.
            line_began, began = began, now
            line = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", line).strip()
            key = re.sub(r"[0-9]+", "#", line)[:40]
            if line and key != last:
                m = memory(pid)
                rss = f"{m[0]:7.1f} {m[1]:7.1f}" if m else " " * 15
                print(f"{line_began - start:7.2f} {rss}  {line[:100]}")
                last = key
    _, status, usage = os.wait4(pid, 0)
    print(f"{time.time() - start:7.2f} {'':7} {usage.ru_maxrss / 1024:7.1f}  end (exit {os.waitstatus_to_exitcode(status)})")


if __name__ == "__main__":
    main(sys.argv[1:])
