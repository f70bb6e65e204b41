#!/usr/bin/env python3
"""Two executor builds and onnxruntime (graph optimizations ALL, sequential) interleaved in every
round on one input: latency at 1 thread (ratios to onnxruntime, wall and process CPU time) and the
2-thread throughput of both builds and of onnxruntime. Medians over rounds of per-round
medians. On a shared machine the CPU-time ratio is the steadier figure.

    python3 bench/executor/compare.py MODEL INPUT_DIR ROUNDS RUNS BEFORE_BIN AFTER_BIN

INPUT_DIR holds input_0.pb (one TensorProto, the model's single input).
"""
import sys, subprocess, statistics, time, onnx, numpy as np, onnxruntime as ort
from onnx import numpy_helper as h
model, indir, rounds, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
before_bin, after_bin = sys.argv[5], sys.argv[6]
x = h.to_array(onnx.load_tensor(f"{indir}/input_0.pb"))
def sess(t):
    o = ort.SessionOptions(); o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    o.intra_op_num_threads = t; o.inter_op_num_threads = 1; o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(model, o, providers=["CPUExecutionProvider"])
S = {1: sess(1), 2: sess(2)}
feeds = {S[1].get_inputs()[0].name: x}
res = {}
def add(k, w, c): res.setdefault(k, ([], []))[0].append(w); res[k][1].append(c)
for _ in range(rounds):
    for name, b, t in [("before", before_bin, 1), ("before-2t", before_bin, 2), ("after", after_bin, 1), ("after-2t", after_bin, 2)]:
        out = subprocess.run([b, model, "--inputs", indir, "--threads", str(t), "--repeat", str(runs)], capture_output=True, text=True, check=True).stdout
        add(name, float(out.split("median_ms=")[1].split()[0]), float(out.split("cpu_ms=")[1]))
    for t in (1, 2):
        s = S[t]; s.run(None, feeds); ts = []; c = time.process_time()
        for _ in range(runs):
            t0 = time.perf_counter(); s.run(None, feeds); ts.append((time.perf_counter() - t0) * 1e3)
        add(f"ort-{t}t", statistics.median(ts), (time.process_time() - c) * 1e3 / runs)
med = {k: (statistics.median(v[0]), statistics.median(v[1])) for k, v in res.items()}
for k, (w, c) in med.items(): print(f"{k:9s} wall {w:8.1f} ms  cpu {c:8.1f} ms   walls {['%.0f' % q for q in res[k][0]]}")
o = med["ort-1t"]
for k in ("before", "after"): print(f"{k} / ort-1t: wall {med[k][0] / o[0]:.2f}  cpu {med[k][1] / o[1]:.2f}")
print(f"2-thread throughput (wall 1 thread / wall 2 threads): before {med['before'][0] / med['before-2t'][0]:.2f}x, "
      f"after {med['after'][0] / med['after-2t'][0]:.2f}x, ort {med['ort-1t'][0] / med['ort-2t'][0]:.2f}x")
