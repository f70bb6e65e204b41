#!/usr/bin/env python3
"""Two executor builds' 1- and 2-thread wall and CPU time per run, interleaved, under SCHED_FIFO,
for a machine whose cores are busy with other work (run as root; each run preempts the other
processes for its few seconds; the kernel's RT throttle still takes 5% of every second).

    python3 bench/executor/rt_compare.py MODEL INPUT_DIR ROUNDS RUNS BEFORE_BIN AFTER_BIN

1-thread runs are pinned to core 0 with core 1 held by an RT shell loop (registers only), so the
neighbours' memory traffic does not land on them; 2-thread runs hold both cores themselves.
Prints medians over rounds and each build's 2-thread throughput (1-thread wall / 2-thread wall).
"""
import statistics, subprocess, sys

model, indir, rounds, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
bins = {"before": sys.argv[5], "after": sys.argv[6]}


def run(binary: str, threads: int) -> tuple[float, float]:
    cmd = [binary, model, "--inputs", indir, "--threads", str(threads), "--repeat", str(runs)]
    blocker = None
    if threads == 1:
        blocker = subprocess.Popen(["chrt", "-f", "10", "taskset", "-c", "1", "sh", "-c", "while :; do :; done"])
        cmd = ["taskset", "-c", "0"] + cmd
    try:
        out = subprocess.run(["chrt", "-f", "10"] + cmd, capture_output=True, text=True, check=True, timeout=300).stdout
    finally:
        if blocker:
            blocker.kill()
            blocker.wait()
    return float(out.split("median_ms=")[1].split()[0]), float(out.split("cpu_ms=")[1])


res: dict = {}
for _ in range(rounds):
    for name, b in bins.items():
        for t in (1, 2):
            res.setdefault((name, t), []).append(run(b, t))
for (name, t), v in res.items():
    print(f"{name:6s} {t} thread(s): wall {statistics.median(x[0] for x in v):7.1f} ms  "
          f"cpu {statistics.median(x[1] for x in v):7.1f} ms  walls {[round(x[0]) for x in v]}")
for name in bins:
    one, two = [x[0] for x in res[(name, 1)]], [x[0] for x in res[(name, 2)]]
    print(f"{name} 2-thread throughput: median of per-round ratios {statistics.median(a / b for a, b in zip(one, two)):.2f}x, "
          f"ratio of medians {statistics.median(one) / statistics.median(two):.2f}x")
