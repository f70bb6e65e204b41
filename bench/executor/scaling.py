#!/usr/bin/env python3
"""Executor 2-thread throughput and peak memory, side by side with onnxruntime, on one model.

    python3 bench/executor/scaling.py MODEL [--shape NAME=1x3x736x736] [--rounds 5] [--runs 5]

Throughput: each round runs, interleaved, the release `bench-executor --repeat RUNS` with 1 and
with 2 threads, then onnxruntime (graph optimizations ALL, sequential) with intra-op threads 1
and 2 (one warm-up, median of RUNS). The figure is each side's 2-thread speed-up, median(1
thread) / median(2 threads) over rounds — a ratio, so the machine's load cancels as far as it
is the same within a round. Process CPU time per run is printed too. On a machine whose cores
are busy with other work that ratio cannot show what 2 idle cores would give, so the executor's
load-independent estimate is printed next to it (`bench-executor --threads 2 --schedule R`:
every parallel piece timed in thread CPU time on one thread, then scheduled on 2 workers as the
real split would be; it leaves out wake-ups and shared memory bandwidth, so it is an upper bound).

Peak memory: the maximum resident set (`/usr/bin/time -f %M`) of `onnx-rstd run MODEL` and of a
Python process that creates an onnxruntime session and runs it once, each minus the same process
on a tiny model (Models/zoo/matmul.onnx): what the model itself costs. Next to them, the issue's
bound: weights (initializer bytes) + 2 × the largest live activation set, from shape inference at
the given input shapes and liveness in node order (a value is live from its producer to its last
reader; graph inputs included; Constant nodes count as weights).

Inputs: seeded N(0, 1) (rstd_testing.random_feeds); --shape fixes a dynamic input's shape.
Build first: `swift build -c release --product bench-executor --product onnx-rstd`.
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
from onnx import numpy_helper, shape_inference

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "conformance"))
from rstd_testing import random_feeds  # noqa: E402

BENCH = ROOT / ".build" / "release" / "bench-executor"
CLI = ROOT / ".build" / "release" / "onnx-rstd"
TINY = ROOT / "Models" / "zoo" / "matmul.onnx"


def feeds_for(model: str, shapes: dict) -> dict:
    feeds = random_feeds(model, seed=0)
    rng = np.random.default_rng(0)
    for name, shape in shapes.items():
        feeds[name] = rng.standard_normal(shape).astype(feeds[name].dtype)
    return feeds


def session(model: str, threads: int) -> ort.InferenceSession:
    o = ort.SessionOptions()
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    o.log_severity_level = 3
    return ort.InferenceSession(model, o, providers=["CPUExecutionProvider"])


def ort_median(sess, feeds, runs):
    sess.run(None, feeds)
    times, cpu = [], time.process_time()
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, feeds)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), (time.process_time() - cpu) * 1e3 / runs


def executor_median(model, work, threads, runs):
    out = subprocess.run([str(BENCH), model, "--inputs", work, "--threads", str(threads), "--repeat", str(runs)],
                         capture_output=True, text=True, check=True).stdout
    return float(out.split("median_ms=")[1].split()[0]), float(out.split("cpu_ms=")[1])


def executor_schedule(model, work, rounds) -> str:
    out = subprocess.run([str(BENCH), model, "--inputs", work, "--threads", "2", "--schedule", str(rounds)],
                         capture_output=True, text=True, check=True).stdout
    return out.split("schedule ")[1].strip()


def max_rss_kb(command) -> int:
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *command], capture_output=True, text=True, check=True)
    return int(done.stderr.strip().splitlines()[-1])


def ort_process(model: str, npz: str):
    script = ("import sys, numpy as np, onnxruntime as ort\n"
              "o = ort.SessionOptions(); o.intra_op_num_threads = 1; o.log_severity_level = 3\n"
              "s = ort.InferenceSession(sys.argv[1], o, providers=['CPUExecutionProvider'])\n"
              "z = np.load(sys.argv[2]); s.run(None, {k: z[k] for k in z.files})\n")
    return [sys.executable, "-c", script, model, npz]


def bound_bytes(model_path: str, feeds: dict) -> tuple[int, int]:
    """(initializer bytes, largest live activation set in bytes)."""
    m = onnx.load(model_path)
    # Weights are initializers, or Constant nodes' tensors (PaddlePaddle exports use those).
    weights = sum(numpy_helper.to_array(t).nbytes for t in m.graph.initializer)
    weights += sum(numpy_helper.to_array(a.t).nbytes for n in m.graph.node if n.op_type == "Constant"
                   for a in n.attribute if a.name == "value")
    initializers = {t.name for t in m.graph.initializer}
    constants = {o for n in m.graph.node if n.op_type == "Constant" for o in n.output}
    for i in m.graph.input:
        if i.name in feeds:
            dims = i.type.tensor_type.shape.dim
            for d, n in zip(dims, feeds[i.name].shape):
                d.Clear()
                d.dim_value = n
    inferred = shape_inference.infer_shapes(m, strict_mode=False)
    size = {k: v.nbytes for k, v in feeds.items()}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        t = vi.type.tensor_type
        if all(d.HasField("dim_value") for d in t.shape.dim):
            n = int(np.prod([d.dim_value for d in t.shape.dim])) if t.shape.dim else 1
            size[vi.name] = n * onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).itemsize
    nodes = list(m.graph.node)
    last = {}
    for i, n in enumerate(nodes):
        for v in n.input:
            last[v] = i
    for o in m.graph.output:
        last[o.name] = len(nodes)
    live = {k for k in feeds}
    peak = sum(size.get(k, 0) for k in live)
    for i, n in enumerate(nodes):
        live |= {v for v in n.output if v}
        if n.op_type != "Constant":
            peak = max(peak, sum(size.get(v, 0) for v in live if v not in initializers and v not in constants))
        live = {v for v in live if last.get(v, -1) > i}
    return weights, peak


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--shape", action="append", default=[], help="NAME=1x3x224x224")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--runs", type=int, default=5)
    a = p.parse_args()
    shapes = {s.rsplit("=", 1)[0]: [int(d) for d in s.rsplit("=", 1)[1].split("x")] for s in a.shape}
    feeds = feeds_for(a.model, shapes)
    sessions = {t: session(a.model, t) for t in (1, 2)}
    with tempfile.TemporaryDirectory() as work:
        for i, v in enumerate(feeds.values()):
            Path(work, f"input_{i}.pb").write_bytes(numpy_helper.from_array(v).SerializeToString())
        wall = {(side, t): [] for side in ("executor", "onnxruntime") for t in (1, 2)}
        cpu = {k: [] for k in wall}
        for _ in range(a.rounds):
            for t in (1, 2):
                w, c = executor_median(a.model, work, t, a.runs)
                wall[("executor", t)].append(w)
                cpu[("executor", t)].append(c)
            for t in (1, 2):
                w, c = ort_median(sessions[t], feeds, a.runs)
                wall[("onnxruntime", t)].append(w)
                cpu[("onnxruntime", t)].append(c)
        schedule = executor_schedule(a.model, work, a.rounds)
        npz = str(Path(work, "x.npz"))
        np.savez(npz, **feeds)
        tiny = str(Path(work, "tiny.npz"))
        np.savez(tiny, **random_feeds(TINY, seed=0))
        ours = max_rss_kb([str(CLI), "run", a.model, "--inputs", npz, "--threads", "1"])
        ours0 = max_rss_kb([str(CLI), "run", str(TINY), "--inputs", tiny, "--threads", "1"])
        theirs = max_rss_kb(ort_process(a.model, npz))
        theirs0 = max_rss_kb(ort_process(str(TINY), tiny))
    weights, activations = bound_bytes(a.model, feeds)
    name = Path(a.model).name
    for side in ("executor", "onnxruntime"):
        w1, w2 = statistics.median(wall[(side, 1)]), statistics.median(wall[(side, 2)])
        c1, c2 = statistics.median(cpu[(side, 1)]), statistics.median(cpu[(side, 2)])
        print(f"{name}: {side}: wall 1 thread {w1:.1f} ms, 2 threads {w2:.1f} ms, 2-thread throughput "
              f"{w1 / w2:.2f}x; CPU per run {c1:.1f} / {c2:.1f} ms")
    print(f"{name}: executor 2-thread estimate on idle cores (load-independent): {schedule}")
    mib = 1 / (1 << 20)
    print(f"{name}: peak RSS over a tiny model: executor (onnx-rstd run) {(ours - ours0) / 1024:.1f} MiB, "
          f"onnxruntime {(theirs - theirs0) / 1024:.1f} MiB, ratio {(ours - ours0) / max(1, theirs - theirs0):.2f}; "
          f"weights {weights * mib:.1f} MiB + 2 x largest live activations {activations * mib:.1f} MiB = "
          f"{(weights + 2 * activations) * mib:.1f} MiB")


if __name__ == "__main__":
    main()
