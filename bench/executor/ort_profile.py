#!/usr/bin/env python3
"""onnxruntime's own per-op-type time (SessionOptions.enable_profiling), 1 thread, on one input,
to set beside the executor's `perf` profile (perf_groups.py).

    python3 bench/executor/ort_profile.py MODEL INPUT_DIR [--runs 4] [--opt all|off]

INPUT_DIR holds input_0.pb (one TensorProto, the model's single input). Prints the mean time per
run of each op type (kernel time only) and their total.
"""
import argparse, collections, json, tempfile
import onnx, onnxruntime as ort
from onnx import numpy_helper

ap = argparse.ArgumentParser()
ap.add_argument("model"); ap.add_argument("indir")
ap.add_argument("--runs", type=int, default=4); ap.add_argument("--opt", choices=["all", "off"], default="all")
a = ap.parse_args()
x = numpy_helper.to_array(onnx.load_tensor(f"{a.indir}/input_0.pb"))
so = ort.SessionOptions()
so.intra_op_num_threads = so.inter_op_num_threads = 1
so.enable_profiling = True
so.profile_file_prefix = tempfile.mkdtemp() + "/ort"
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL if a.opt == "all" else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
s = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
feeds = {s.get_inputs()[0].name: x}
for _ in range(a.runs):
    s.run(None, feeds)
events = json.load(open(s.end_profiling()))
per_op = collections.Counter()
for e in events:
    if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
        per_op[e["args"]["op_name"]] += e["dur"]
total = sum(per_op.values())
for op, us in per_op.most_common():
    print(f"{op:24s} {us / a.runs / 1000:8.2f} ms  {100 * us / total:5.1f}%")
print(f"{'total':24s} {total / a.runs / 1000:8.2f} ms")
