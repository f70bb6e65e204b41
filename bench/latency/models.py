#!/usr/bin/env python3
"""Whole-model latency of rewritten models against their originals in onnxruntime (issue #13).

For each model (the ResNet-50-shaped benchmark model, PP-OCR det/cls/rec, the digits CNN) and each
setting (the default, --max-error 0.2, --ratio 0.5, --ratio 0.25, --ratio 0.25 --objective
latency, and --ratio 0.25 with the guard and alignment off ("unguarded": the planner before the cost
model), the CLI rewrites the model at a fixed input shape (`--input-shape`, so the planner's
positions are the timed ones), then onnxruntime times original and rewritten side by side: one
intra-op thread, graph optimizations ALL, interleaved rounds in shuffled order, per-thread CPU
time (onnxruntime computes on the calling thread with one intra-op thread; the machine is shared,
so wall time would count other processes), medians. Reported: sites rewritten, conv params ratio,
the report's predicted latency ratio of the sites, the measured whole-model latency ratio, and the
output's relative L2 against the original on the timed input.

Usage: python3 bench/latency/models.py [--bin PATH] [--rounds 15] [--models resnet50,det,...]
                                       [--settings default,ratio25-latency,...] [--write-doc]
Writes bench/latency/models.json; --write-doc replaces the "## Whole models" section of
docs/latency.md.
"""
import argparse
import json
import pathlib
import random
import statistics
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
CACHE = ROOT / ".cache" / "bench" / "latency"
REAL = ROOT / ".cache" / "real-models"

MODELS = {
    "resnet50": (ROOT / ".cache" / "bench-models" / "resnet50_shaped.onnx", [1, 3, 224, 224]),
    "det": (REAL / "ch_PP-OCRv4_det_infer.onnx", [1, 3, 640, 640]),
    "rec": (REAL / "ch_PP-OCRv4_rec_infer.onnx", [1, 3, 48, 320]),
    "cls": (REAL / "ch_ppocr_mobile_v2.0_cls_infer.onnx", [1, 3, 48, 192]),
    "digits": (ROOT / "Models" / "digits_cnn.onnx", [64, 1, 8, 8]),
}
SETTINGS = {
    "default": [],
    "max-error 0.2": ["--max-error", "0.2"],
    "ratio 0.5": ["--ratio", "0.5"],
    "ratio 0.25": ["--ratio", "0.25"],
    "ratio 0.25 latency": ["--ratio", "0.25", "--objective", "latency"],
    "ratio 0.25 unguarded": ["--ratio", "0.25", "--no-latency-guard", "--channel-align", "1"],
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def ensure(name, path):
    if path.exists():
        return path
    if name == "resnet50":
        subprocess.run([sys.executable, str(ROOT / "Scripts" / "make-bench-models"), "--only", "resnet50"], check=True, cwd=ROOT)
    elif name in ("det", "rec", "cls"):
        subprocess.run([sys.executable, str(ROOT / "Scripts" / "fetch-real-models"), "--cache", str(REAL), "--quiet"], check=True, cwd=ROOT)
    return path


def session(path):
    o = ort.SessionOptions()
    o.intra_op_num_threads = 1
    o.inter_op_num_threads = 1
    o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), o, providers=["CPUExecutionProvider"])


class Timed:
    def __init__(self, path, feeds):
        self.sess = session(path)
        self.feeds = feeds
        self.samples = []

    def run(self, n):
        start = time.thread_time()
        for _ in range(n):
            self.sess.run(None, self.feeds)
        return (time.thread_time() - start) / n * 1e3


def timed_ratio(original, rewritten, feeds, rounds, rng):
    a, b = Timed(original, feeds), Timed(rewritten, feeds)
    for t in (a, b):
        t.run(2)
    once = a.run(1)
    inner = max(1, min(50, int(30.0 / max(once, 0.01))))  # ~30 ms of work per sample
    pair = [a, b]
    for _ in range(rounds):
        rng.shuffle(pair)
        for t in pair:
            t.samples.append(t.run(inner))
    ma, mb = statistics.median(a.samples), statistics.median(b.samples)
    return ma, mb


def rel_l2(a, b):
    return float(np.linalg.norm((a - b).ravel()) / max(np.linalg.norm(a.ravel()), 1e-30))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / ".build" / "release" / "onnx-rstd"))
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--settings", default=",".join(SETTINGS))
    ap.add_argument("--write-doc", action="store_true")
    args = ap.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = random.Random(1810)
    rows = []
    for name in args.models.split(","):
        path, shape = MODELS[name]
        ensure(name, path)
        model = onnx.load(str(path), load_external_data=False)
        input_name = [i.name for i in model.graph.input if i.name not in {x.name for x in model.graph.initializer}][0]
        x = np.random.default_rng(20261130).standard_normal(shape).astype(np.float32)
        if name == "digits":
            x = np.load(ROOT / "Models" / "digits_test.npz")["x"][:shape[0]].astype(np.float32).reshape(shape)
        feeds = {input_name: x}
        reference = session(path).run(None, feeds)[0]
        for setting in args.settings.split(","):
            flags = SETTINGS[setting]
            out = CACHE / f"{name}-{setting.replace(' ', '_').replace(',', '')}.onnx"
            report = out.with_suffix(".json")
            cmd = [args.bin, str(path), str(out), "--quiet", "--report", str(report),
                   "--input-shape", f"{input_name}={'x'.join(map(str, shape))}", *flags]
            log("$", " ".join(cmd[1:]))
            started = time.time()
            r = subprocess.run(cmd, capture_output=True, text=True)
            seconds = time.time() - started
            if r.returncode != 0:
                log(r.stderr.strip())
                rows.append({"model": name, "setting": setting, "exit": r.returncode, "error": r.stderr.strip()[-300:]})
                continue
            rep = json.loads(report.read_text())
            t = rep["totals"]
            ma, mb = timed_ratio(path, out, feeds, args.rounds, rng)
            got = session(out).run(None, feeds)[0]
            rows.append({
                "model": name, "setting": setting, "exit": 0, "seconds": round(seconds, 1),
                "rewritten": t["sitesRewritten"], "sites": t["sitesRewritten"] + t["sitesKept"],
                "params": t["paramsAfter"] / max(t["paramsBefore"], 1),
                "predicted": t["predictedMicrosAfter"] / max(t["predictedMicrosBefore"], 1e-9),
                "ms_before": ma, "ms_after": mb, "measured": mb / ma, "rel_l2": rel_l2(reference, got),
                "positions": rep["latency"]["positions"],
            })
            log(f"  {name} {setting}: {rows[-1]['rewritten']}/{rows[-1]['sites']} sites, params ×{rows[-1]['params']:.3f}, "
                f"predicted ×{rows[-1]['predicted']:.3f}, measured ×{rows[-1]['measured']:.3f}, rel L2 {rows[-1]['rel_l2']:.3g}")
    (HERE / "models.json").write_text(json.dumps({"ort": ort.__version__, "rounds": args.rounds, "rows": rows}, indent=1) + "\n")
    table = table_of(rows)
    print(table)
    if args.write_doc:
        write_doc(table, args)


def table_of(rows):
    lines = ["| model | setting | sites rewritten | conv params | predicted (sites) | measured (model) | ms (orig → new) | output rel L2 |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r["exit"] != 0:
            lines.append(f"| {r['model']} | {r['setting']} | exit {r['exit']} | | | | | |")
            continue
        lines.append(f"| {r['model']} | {r['setting']} | {r['rewritten']}/{r['sites']} | {r['params']:.3f}× | {r['predicted']:.3f}× | "
                     f"**{r['measured']:.3f}×** | {r['ms_before']:.2f} → {r['ms_after']:.2f} | {r['rel_l2']:.3g} |")
    return "\n".join(lines)


def write_doc(table, args):
    doc = ROOT / "docs" / "latency.md"
    text = doc.read_text()
    head = "## Whole models"
    section = (f"{head}\n\nRewritten models against their originals in onnxruntime {ort.__version__} (1 intra-op thread, "
               f"optimizations ALL, {args.rounds} interleaved rounds, per-thread CPU time, medians; ratios are rewritten ÷ original). "
               "*predicted* is the report's total over the sites only; *measured* is the whole model. Made by\n"
               f"`python3 bench/latency/models.py --rounds {args.rounds} --write-doc`.\n\n{table}\n")
    if head in text:
        start = text.index(head)
        end = text.find("\n## ", start + len(head))
        text = text[:start] + section + (text[end:] if end != -1 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    doc.write_text(text)


if __name__ == "__main__":
    main()
