#!/usr/bin/env python3
"""Executor latency against onnxruntime, and agreement (relative L2), on one model.

    python3 bench/executor/run.py MODEL [--threads 1] [--rounds 3] [--runs 10]

Both sides get the same seeded N(0,1) input (dynamic dims → 1). Rounds alternate: the release
`bench-executor --repeat RUNS` (one warm-up, median of RUNS), then onnxruntime with RUNS runs
(one warm-up, median; intra-op threads = --threads, graph optimizations ALL, sequential). The
figure is the median over rounds of each side, as wall time and as process CPU time per run
(steadier on a busy machine). Build first: `swift build -c release --product
bench-executor`. Absolute times on a shared machine are indicative; the ratio is the figure.
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "conformance"))
from rstd_testing import random_feeds, rel_l2  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--runs", type=int, default=10)
    a = p.parse_args()
    binary = ROOT / ".build" / "release" / "bench-executor"
    feeds = random_feeds(a.model, seed=0)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = a.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(a.model, options, providers=["CPUExecutionProvider"])
    with tempfile.TemporaryDirectory() as work:
        for i, v in enumerate(feeds.values()):
            Path(work, f"input_{i}.pb").write_bytes(numpy_helper.from_array(v).SerializeToString())
        ours, theirs, ours_cpu, theirs_cpu = [], [], [], []
        for _ in range(a.rounds):
            out = subprocess.run(
                [str(binary), a.model, "--inputs", work, "--outputs", work, "--threads", str(a.threads),
                 "--repeat", str(a.runs)], capture_output=True, text=True, check=True).stdout
            ours.append(float(out.split("median_ms=")[1].split()[0]))
            ours_cpu.append(float(out.split("cpu_ms=")[1]))
            session.run(None, feeds)
            times = []
            cpu = time.process_time()
            for _ in range(a.runs):
                t = time.perf_counter()
                want = session.run(None, feeds)
                times.append((time.perf_counter() - t) * 1e3)
            theirs.append(statistics.median(times))
            theirs_cpu.append((time.process_time() - cpu) * 1e3 / a.runs)
        got = numpy_helper.to_array(onnx.load_tensor(str(Path(work, "output_0.pb"))))
    e, o = statistics.median(ours), statistics.median(theirs)
    ec, oc = statistics.median(ours_cpu), statistics.median(theirs_cpu)
    print(f"{Path(a.model).name}: threads {a.threads}: wall executor {e:.2f} ms, onnxruntime {o:.2f} ms, "
          f"ratio {e / o:.2f}; CPU per run executor {ec:.2f} ms, onnxruntime {oc:.2f} ms, ratio {ec / oc:.2f}; "
          f"rel L2 {rel_l2(want[0], got):.2e}")


if __name__ == "__main__":
    main()
