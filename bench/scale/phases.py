#!/usr/bin/env python3
"""Times the phases of one onnx-rstd run from its progress lines.

The CLI prints progress only to a terminal, so the command runs under a pseudo-terminal; each
line whose text (digits ignored) differs from the previous one starts a phase, printed with the
seconds since the start. Usage:

    python3 bench/scale/phases.py BIN chain_8000.onnx out.onnx --layout reconstructed --shuffle random
"""
import os
import pty
import re
import sys
import time


def main(argv):
    if not argv:
        sys.exit(__doc__)
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    start, pending, last = time.time(), b"", None
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        pending += chunk
        while True:
            ends = [i for i in (pending.find(b"\r"), pending.find(b"\n")) if i >= 0]
            if not ends:
                break
            i = min(ends)
            line, pending = pending[:i].decode(errors="replace"), pending[i + 1:]
            line = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", line).strip()
            key = re.sub(r"[0-9]+", "#", line)[:40]
            if line and key != last:
                print(f"{time.time() - start:7.2f}  {line[:110]}")
                last = key
    _, status = os.waitpid(pid, 0)
    print(f"{time.time() - start:7.2f}  end (exit {os.waitstatus_to_exitcode(status)})")


if __name__ == "__main__":
    main(sys.argv[1:])
