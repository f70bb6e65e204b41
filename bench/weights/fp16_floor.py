"""The fp16 floor of the PP-OCR models: how far rounding their Conv/Gemm/MatMul weights to fp16
moves the outputs, with no rewrite at all, and which weights carry it.

For each model: the original with every such weight cast to fp16 and back (stored as float, so
nothing but the rounding changes), scored against the original on the evaluation inputs of
Tests/realmodels (quick sets) in onnxruntime; with --per-weight, the same with one weight rounded
at a time, sorted by the error it causes, with the running estimate √(Σ e²) of what is left once
the first k are kept float32. docs/methods.md ("The storage bound") quotes its figures.

    python3 bench/weights/fp16_floor.py [--per-weight] [det cls rec]
"""
import argparse
import copy
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Tests/realmodels"))
import rm_helpers as H  # noqa: E402

LINEAR = ("Conv", "Gemm", "MatMul")


def weights(model):
    """(name, TensorProto) of every FLOAT weight (input 1) of a Conv/Gemm/MatMul, initializer or
    Constant node, in graph order."""
    inits = {t.name: t for t in model.graph.initializer}
    consts = {n.output[0]: n.attribute[0].t for n in model.graph.node if n.op_type == "Constant"}
    names = dict.fromkeys(n.input[1] for n in model.graph.node if n.op_type in LINEAR and len(n.input) > 1)
    found = [(w, inits.get(w) or consts.get(w)) for w in names]
    return [(w, t) for w, t in found if t is not None and t.data_type == onnx.TensorProto.FLOAT]


def rounded(model, only=None):
    m = copy.deepcopy(model)
    for w, t in weights(m):
        if only is None or w == only:
            a = numpy_helper.to_array(t).astype(np.float16).astype(np.float32)
            t.CopyFrom(numpy_helper.from_array(a, t.name))
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*", default=["det", "cls", "rec"])
    ap.add_argument("--per-weight", action="store_true")
    args = ap.parse_args()
    paths = H.fetch_models()
    out = Path("/tmp/fp16-floor")
    out.mkdir(exist_ok=True)
    for name in args.models:
        src = Path(paths["ppocr-" + name]["path"])
        model = onnx.load(str(src))
        ev = H.Evaluator(name, name, src, quick=True)
        dst = out / f"{name}.onnx"
        onnx.save(rounded(model), str(dst))
        print(f"{name}: every weight rounded to fp16: rel L2 {ev.score(dst, 'all')['rel_l2']:.3g}", flush=True)
        if not args.per_weight:
            continue
        rows = []
        for w, t in weights(model):
            onnx.save(rounded(model, only=w), str(dst))
            rows.append((ev.score(dst, "all")["rel_l2"], w, int(np.prod(t.dims))))
        rows.sort(reverse=True)
        total = sum(e * e for e, _, _ in rows)
        size = sum(n for _, _, n in rows)
        left, kept = total, 0
        for k, (e, w, n) in enumerate(rows[:15]):
            left -= e * e
            kept += n
            print(f"  {k:2d} {e:.2e} {w} ({n} weights): estimate left {max(left, 0) ** 0.5:.2e}, "
                  f"float32 share {kept / size:.3f}")


if __name__ == "__main__":
    main()
