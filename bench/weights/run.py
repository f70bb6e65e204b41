#!/usr/bin/env python3
"""Weight storage benchmark (not a test): file size, onnxruntime latency and fidelity of
`--weights fp32|fp16|int8`, alone and with low-rank, against onnxruntime's quantize_dynamic and
quantize_static, all measured side by side in one run.

    python3 bench/weights/run.py                 # Models/ + real models, writes bench/weights/results.json
                                                 # (real models from Scripts/fetch-real-models; cache
                                                 # folder $RSTD_REAL_MODELS_DIR, default .cache/real-models)
    python3 bench/weights/run.py --no-real       # only Models/digits_cnn.onnx and Models/zoo/conv_chain.onnx
    python3 bench/weights/run.py --markdown      # also print the table for docs/benchmarks.md

Variants per model:
  storage only   `--include '__none__' --weights W`: no site is factored, every Conv/Gemm/MatMul
                 weight is re-stored (kept weights).
  low-rank       `--max-error E --weights W` (and `--ratio R` for the real models).
  quantize_dynamic  int8 weights (QInt8), after PP-OCR's Constant weights are made initializers.
  quantize_static   QDQ, per-channel, QInt8 weights and QUInt8 activations, calibrated on the
                    model's own evaluation inputs (the same ones fidelity is measured on: an
                    optimistic setting for it). PP-OCR is first converted to opset 13 (as shipped
                    it produces a model that does not load); a failure is recorded, never fatal.

Latency: one intra-op thread, ORT_ENABLE_ALL, the candidate and the original run in alternation
(order flipped every round), median of per-round ratios. Fidelity: digits test accuracy; PP-OCR
task metrics from Tests/realmodels/rm_helpers.py (cls accuracy, det map IoU, rec line accuracy);
relative L2 of the outputs against the original at the same optimization level.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "Tests" / "realmodels"))
sys.path.insert(0, str(REPO / "bench" / "real-models"))
import rm_helpers as H  # noqa: E402


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def session(path, threads=1):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def paired_latency(orig: Path, cand: Path, feed_of, rounds: int) -> dict:
    so, sc = session(orig), session(cand)
    fo, fc = feed_of(so), feed_of(sc)
    for _ in range(2):
        so.run(None, fo)
        sc.run(None, fc)
    to, tc = [], []
    for r in range(rounds):
        order = [(so, fo, to), (sc, fc, tc)]
        if r % 2:
            order.reverse()
        for s, f, acc in order:
            t0 = time.perf_counter()
            s.run(None, f)
            acc.append(time.perf_counter() - t0)
    return {"ms": 1e3 * statistics.median(tc), "ms_original": 1e3 * statistics.median(to),
            "ratio": statistics.median(c / o for c, o in zip(tc, to))}


def optimized_ops(path: Path) -> dict:
    """Op counts and initializer element types of onnxruntime's ORT_ENABLE_ALL graph: equal for
    the fp32, fp16 and int8 forms of one plan when the rebuild is folded."""
    import collections
    out = path.with_name(path.stem + ".opt.onnx")
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.optimized_model_filepath = str(out)
    so.log_severity_level = 3
    ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    m = onnx.load(str(out))
    return {"ops": dict(collections.Counter(n.op_type for n in m.graph.node)),
            "types": sorted({t.data_type for t in m.graph.initializer})}


# ----------------------------------------------------------------------------- models

class Digits:
    """Models/digits_cnn.onnx on its held-out test split."""
    task = "digits"

    def __init__(self):
        d = np.load(REPO / "Models" / "digits_test.npz")
        self.x, self.y = d["x"], d["y"]

    def score(self, ref_path, path):
        ref = session(ref_path).run(None, {"input": self.x})[0]
        got = session(path).run(None, {"input": self.x})[0]
        return {"accuracy": float((got.argmax(1) == self.y).mean()), "rel_l2": H.rel_l2(ref, got)}

    def feed(self, s):
        return {s.get_inputs()[0].name: self.x[:64]}

    def calibration(self):
        return [{"input": self.x[i:i + 50]} for i in range(0, 200, 50)]


class Synthetic:
    """A sample model without a task: relative L2 on seeded random inputs."""
    task = "rel-l2"

    def __init__(self, path):
        sys.path.insert(0, str(REPO / "Tests" / "conformance"))
        from rstd_testing import random_feeds
        self.feeds = random_feeds(path, seed=0)

    def score(self, ref_path, path):
        ref = session(ref_path).run(None, self.feeds)
        got = session(path).run(None, self.feeds)
        return {"rel_l2": max(H.rel_l2(a, b) for a, b in zip(ref, got))}

    def feed(self, s):
        return self.feeds

    def calibration(self):
        return [self.feeds]


class RealModel:
    """A PP-OCR model scored by rm_helpers.Evaluator (ORT_ENABLE_ALL)."""

    def __init__(self, name, entry):
        self.task = entry["task"]
        self.ev = H.Evaluator(name, self.task, Path(entry["path"]))

    def score(self, ref_path, path):
        m = self.ev.score(Path(path), "all")
        key = {"cls": "accuracy", "det": "iou", "rec": "accuracy"}[self.task]
        return {key: m[key], "rel_l2": m["rel_l2"]}

    def feed(self, s):
        shape = {"det": (1, 3, 736, 736), "cls": (6, 3, 48, 192), "rec": (6, 3, 48, 320)}[self.task]
        return {s.get_inputs()[0].name: np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)}

    def calibration(self):
        if self.task == "det":
            xs = list(self.ev.inputs.values())
        elif self.task == "cls":
            xs = list(np.array_split(self.ev.cls_x, 4))
        else:
            xs = self.ev.rec_batches
        return [{"x": x} for x in xs]


# ----------------------------------------------------------------------------- variants

def rstd(cli, src, dst, *opts):
    report = dst.with_suffix(".json")
    res = H.run_cli(cli, src, dst, *opts, report=report, timeout=3600)
    if res.returncode != 0 or not dst.is_file():
        raise RuntimeError((res.stderr.strip() or "no output").splitlines()[-1][:200])
    return res.report


def quantize_dynamic(src, dst):
    from onnxruntime.quantization import QuantType, quantize_dynamic as qd
    from run import constants_to_initializers  # bench/real-models/run.py
    tmp = dst.with_name(dst.stem + ".init.onnx")
    constants_to_initializers(src, tmp)
    qd(str(tmp), str(dst), weight_type=QuantType.QInt8)


def quantize_static(src, dst, calibration):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static as qs
    from run import constants_to_initializers
    tmp = dst.with_name(dst.stem + ".init.onnx")
    constants_to_initializers(src, tmp)
    m = onnx.load(str(tmp))
    if m.opset_import[0].version < 13:
        m = onnx.version_converter.convert_version(m, 13)
        onnx.save(m, str(tmp))
    name = m.graph.input[0].name
    batches = [{name: next(iter(b.values()))} for b in calibration]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(batches)

        def get_next(self):
            return next(self.it, None)

    qs(str(tmp), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
       weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)


def run_model(name, src, scorer, args, outdir):
    rows = []
    # Every weight stored as asked: fp16's storage bound (1e-3 by default, which keeps the most
    # sensitive weights float32) is turned off, so the rows show plain fp16 storage.
    store = lambda w: ["--weights", w] + (["--storage-error", "none"] if w == "fp16" else [])
    variants = [("storage only", w, ["--include", "__none__"] + store(w)) for w in ("fp32", "fp16", "int8")]
    policies = [["--max-error", "0.1"]] + ([["--ratio", "0.25"], ["--ratio", "0.15"]] if scorer.task != "rel-l2" else [])
    for p in policies:
        variants += [(" ".join(p), w, p + store(w)) for w in ("fp32", "fp16", "int8")]
    variants += [("quantize_dynamic", None, None), ("quantize_static", None, None)]
    size0 = src.stat().st_size
    fp32_ops = None  # the optimized graph of the current plan's fp32 variant (listed first)
    tmp_original = outdir / f"{name}-original.onnx"
    tmp_original.write_bytes(src.read_bytes())
    original_ops = optimized_ops(tmp_original)
    for label, weights, opts in variants:
        row = {"model": name, "variant": label, "weights": weights, "command": None}
        dst = outdir / f"{name}-{len(rows)}.onnx"
        try:
            if opts is not None:
                row["command"] = "onnx-rstd IN OUT " + " ".join(opts)
                rep = rstd(args.cli, src, dst, *opts)
                t = rep["totals"]
                row["sites"] = f"{t['sitesRewritten']} rewritten / {t['sitesKept']} kept"
                row["bytes_by_type"] = t.get("tensorBytesByType")
            elif label == "quantize_dynamic":
                quantize_dynamic(src, dst)
            else:
                quantize_static(src, dst, scorer.calibration())
            if opts is not None:
                ops = optimized_ops(dst)
                if weights == "fp32":
                    fp32_ops = ops
                # Same plan (storage only): the optimized graphs must be equal op for op. Any plan:
                # folded when no INT8/FLOAT16 initializer and no extra Cast is left.
                row["optimized_as_fp32"] = ops == fp32_ops
                row["folded"] = (not {onnx.TensorProto.INT8, onnx.TensorProto.FLOAT16} & set(ops["types"])
                                 and ops["ops"].get("Cast", 0) == original_ops["ops"].get("Cast", 0))
            row["file_ratio"] = dst.stat().st_size / size0
            row["metrics"] = scorer.score(src, dst)
            row["latency"] = paired_latency(src, dst, scorer.feed, args.rounds)
            row["status"] = "ok"
        except Exception as e:  # noqa: BLE001 - a failing variant is a result
            row["status"] = f"{type(e).__name__}: {str(e).strip().splitlines()[0][:160] if str(e).strip() else ''}"
            if args.verbose:
                traceback.print_exc()
        log(f"{name} {label} {weights}: {row.get('file_ratio', float('nan')):.3f}x "
            f"{row.get('metrics')} {row.get('latency', {}).get('ratio')} {row['status']}")
        rows.append(row)
    return rows


def markdown(rows):
    out = ["| model | variant | weights | file | latency (1 thread, vs original) | rebuild folded | fidelity | rel L2 |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["status"] != "ok":
            out.append(f"| {r['model']} | {r['variant']} | {r['weights'] or '-'} | **{r['status']}** | | | | |")
            continue
        m = dict(r["metrics"])
        rel = m.pop("rel_l2")
        fid = ", ".join(f"{k} {v:.3f}" for k, v in m.items()) or "-"
        lat = r["latency"]
        same = {True: "yes", False: "**no**", None: "-"}[r.get("folded")]
        out.append(f"| {r['model']} | {r['variant']} | {r['weights'] or '-'} | {r['file_ratio']:.3f}× | "
                   f"{lat['ms']:.2f} ms ({lat['ratio']:.2f}×) | {same} | {fid} | {rel:.2e} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", type=Path, default=None, help="onnx-rstd binary (default: the usual build products)")
    ap.add_argument("--no-real", action="store_true", help="only the sample models")
    ap.add_argument("--only", nargs="*", help="model names to run")
    ap.add_argument("--rounds", type=int, default=30, help="paired latency rounds")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    args.cli = args.cli or H.find_cli()
    if args.cli is None:
        sys.exit("onnx-rstd not found: build it or pass --cli")
    models = [("digits_cnn", REPO / "Models/digits_cnn.onnx", Digits()),
              ("conv_chain", REPO / "Models/zoo/conv_chain.onnx", Synthetic(REPO / "Models/zoo/conv_chain.onnx"))]
    manifest = {}
    if not args.no_real:
        # Scripts/fetch-real-models fills the cache ($RSTD_REAL_MODELS_DIR, default .cache/real-models).
        manifest = json.loads((H.CACHE / "manifest.json").read_text())
        for name in ("ppocr-cls", "ppocr-det", "ppocr-rec"):
            models.append((name, Path(manifest[name]["path"]), None))
    if args.only:
        models = [m for m in models if m[0] in args.only]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path, scorer in models:
            if scorer is None:
                scorer = RealModel(name, manifest[name])
            log(f"{name}: {path}")
            rows += run_model(name, path, scorer, args, Path(tmp))
    result = {"command": "python3 " + " ".join(sys.argv), "onnxruntime": ort.__version__, "onnx": onnx.__version__,
              "machine": platform.machine(), "date": time.strftime("%Y-%m-%d"), "rows": rows}
    (HERE / "results.json").write_text(json.dumps(result, indent=1))
    if args.markdown:
        print(markdown(rows))


if __name__ == "__main__":
    main()
