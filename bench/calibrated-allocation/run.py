#!/usr/bin/env python3
"""Calibrated allocation (docs/calibration.md) against the weight-curve allocation on the real
models, with calibration and evaluation inputs disjoint.

  python3 bench/calibrated-allocation/run.py [--models det,cls,rec,digits] [--ratios 0.5,default] [--samples 8,16,32] [--method svd] [--det-interleaved] [--out DIR]

--ratios default: no --ratio (the default output bound).

Calibration data (made here, deterministic):
  det     scikit-image images that are NOT in the evaluation set (rocket, coins, clock, moon,
          hubble_deep_field, immunohistochemistry, logo, brick) + rendered pages seeds 1-4,
          DB preprocessing at short side --det-side (736 = the evaluation's), one .npz each.
  cls     rendered lines, seed 11 (the evaluation uses seed 0), upright + rotated, and 48x192
          windows of the calibration photos above.
  rec     rendered lines, seed 11 (the evaluation uses seed 1), [N, 3, 48, 320].
  digits  the first 150 test digits; evaluation on the other 300.
Evaluation: Tests/realmodels/rm_helpers.Evaluator (det: the 6 photos + page at 736, mask IoU;
cls: 200 task lines + 48 crops, top-1 agreement and accuracy; rec: 48 lines, line accuracy and
string agreement), digits: held-out accuracy.
"""
import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "Tests" / "realmodels"))
import rm_helpers as H  # noqa: E402

CAL_PHOTOS = ("rocket", "coins", "clock", "moon", "hubble_deep_field", "immunohistochemistry", "logo", "brick")


def cal_photos():
    import skimage.data
    return {n: H.to_bgr_u8(getattr(skimage.data, n)()) for n in CAL_PHOTOS}


def det_calibration(folder: Path, side: int, pages: int = 4, interleaved: bool = False) -> Path:
    """The CLI reads a folder's .npz files in name order and probes sites on the first few (2 for
    det by default): with the plain names those are pages only. interleaved: numbered names that
    alternate photo, page (then the remaining pages), the same inputs in another order."""
    folder.mkdir(parents=True, exist_ok=True)
    photos = [(f"photo_{n}", H.det_preprocess(img, side)) for n, img in cal_photos().items()]
    pages_ = [(f"page_{s}", H.det_preprocess(H.to_bgr_u8(H.rendered_page(seed=s)), side)) for s in range(1, pages + 1)]
    if not interleaved:
        for name, x in photos + pages_:
            np.savez(folder / f"{name}.npz", x=x)
        return folder
    order = [p for pair in zip(photos, pages_) for p in pair] + photos[len(pages_):] + pages_[len(photos):]
    for i, (name, x) in enumerate(order):
        np.savez(folder / f"{i:03d}_{name}.npz", x=x)
    return folder


def cls_calibration(path: Path, lines: int = 16) -> Path:
    x, _ = H.cls_dataset(lines, seed=11)
    rng = np.random.default_rng(11)
    crops = []
    for _, img in cal_photos().items():
        h, w = img.shape[:2]
        ch = int(rng.integers(24, max(25, min(h // 3, w // 8))))
        cw = min(w, ch * 4)
        y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        c = np.ascontiguousarray(img[y0:y0 + ch, x0:x0 + cw])
        crops += [H.line_preprocess(c, H.CLS_SHAPE), H.line_preprocess(np.ascontiguousarray(c[::-1, ::-1]), H.CLS_SHAPE)]
    # interleave so that the first --calibration-samples N take both kinds
    xs = np.concatenate([np.stack(crops), x])
    order = np.argsort(np.arange(len(xs)) % 4, kind="stable")
    np.savez(path, x=xs[order].astype(np.float32))
    return path


def rec_calibration(path: Path, lines: int = 64) -> Path:
    batches, _ = H.rec_dataset(lines, seed=11)
    np.savez(path, x=np.concatenate(batches).astype(np.float32))
    return path


def digits_split(path: Path):
    d = np.load(REPO / "Models" / "digits_test.npz")
    np.savez(path, input=d["x"][:150])
    return d["x"][150:], d["y"][150:]


def latency_ratio(model: str, src: Path, dst: Path, rounds: int) -> float:
    """Written ÷ original onnxruntime latency at the shape bench/latency/models.py times the model."""
    import importlib.util
    import random
    spec = importlib.util.spec_from_file_location("latency_models", REPO / "bench" / "latency" / "models.py")
    lm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lm)
    shape = lm.MODELS[model][1]
    x = np.random.default_rng(20261130).standard_normal(shape).astype(np.float32)
    if model == "digits":
        x = np.load(REPO / "Models" / "digits_test.npz")["x"][:shape[0]].astype(np.float32).reshape(shape)
    name = lm.session(src).get_inputs()[0].name
    before, after = lm.timed_ratio(src, dst, {name: x}, rounds, random.Random(1810))
    return round(after / before, 4)


def conv_ratio(src, dst) -> float:
    return H.conv_weight_params(dst) / H.conv_weight_params(src)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="det,cls,digits")
    ap.add_argument("--ratios", default="0.5", help="comma separated; 'default' = no --ratio (the default bound)")
    ap.add_argument("--fits", default="weights,calibrated", help="weights: weight-curve ranks, response factors; calibrated: this allocation")
    ap.add_argument("--samples", default="", help="--calibration-samples, comma separated for a study "
                    "(default: 150 for digits, 12 otherwise)")
    ap.add_argument("--det-side", type=int, default=736)
    ap.add_argument("--det-interleaved", action="store_true",
                    help="det calibration files named so that photos and pages alternate (the CLI probes on the first few)")
    ap.add_argument("--method", default="svd", help="--method of every run (svd, spatial, ...)")
    ap.add_argument("--extra", default="", help="extra CLI options, space separated")
    ap.add_argument("--out", default="/tmp/calibrated-allocation")
    ap.add_argument("--time", type=int, default=0, metavar="ROUNDS",
                    help="also time each written model against its original in onnxruntime (bench/latency/models.py's "
                         "harness: 1 thread, interleaved ROUNDS, per-thread CPU time) and report the ratio")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    cli = H.find_cli()
    manifest = H.fetch_models()
    rows = []
    for model in a.models.split(","):
        counts = [int(n) for n in a.samples.split(",")] if a.samples else [150 if model == "digits" else 12]
        most = max(counts)
        if model == "digits":
            src = REPO / "Models" / "digits_cnn.onnx"
            cal = out / "digits_cal.npz"
            ex, ey = digits_split(cal)
            base = H.session(src).run(None, {"input": ex})[0]
        else:
            src = Path(manifest[f"ppocr-{model}"]["path"])
            # enough calibration inputs for the largest count asked (det: more rendered pages)
            cal = {"det": lambda: det_calibration(out / f"det_cal_{a.det_side}_{most}{'_interleaved' if a.det_interleaved else ''}",
                                                  a.det_side, pages=max(4, most - len(CAL_PHOTOS)),
                                                  interleaved=a.det_interleaved),
                   "cls": lambda: cls_calibration(out / f"cls_cal_{most}.npz", lines=max(16, most // 2)),
                   "rec": lambda: rec_calibration(out / f"rec_cal_{most}.npz", lines=max(64, most))}[model]()
            ev = H.Evaluator(f"ppocr-{model}", model, src)
        for count, ratio, fit in ((c, r, f) for c in counts for r in a.ratios.split(",") for f in a.fits.split(",")):
            dst = out / f"{model}.{count}.{ratio}.{fit}.onnx"
            # ratio "default": no --ratio, the default output bound
            opts = ["--calibration", str(cal), "--calibration-samples", str(count), "--method", a.method]
            opts += [] if ratio == "default" else ["--ratio", ratio]
            if fit == "weights":
                opts += ["--allocation", "weights"]
            opts += a.extra.split()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            res = H.run_cli(cli, src, dst, *opts)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            if res.returncode != 0:
                print(res.describe())
                continue
            m = res.report["measurement"]
            row = {"model": model, "method": a.method, "samples": count, "ratio": ratio if ratio == "default" else float(ratio), "fit": fit,
                   "seconds": round(res.seconds, 1), "cpu": round(cpu, 1), "conv": round(conv_ratio(src, dst), 4),
                   "calError": m["outputError"], "estimate": m.get("estimatedError"), "runs": m["modelRuns"]}
            if model == "digits":
                got = H.session(dst).run(None, {"input": ex})[0]
                row["accuracy"] = float((got.argmax(1) == ey).mean())
                row["accuracyOriginal"] = float((base.argmax(1) == ey).mean())
                row["top1Agreement"] = float((got.argmax(1) == base.argmax(1)).mean())
                row["rel_l2"] = H.rel_l2(base, got)  # output error on the held-out digits
            else:
                row.update({k: v for k, v in ev.score(dst).items() if k in (
                    "iou", "iou_min", "rel_l2", "top1_agreement", "accuracy", "accuracy_original", "crops_top1_agreement",
                    "string_agreement", "cer")})
            if a.time:
                row["latency"] = latency_ratio(model, src, dst, a.time)
            print(json.dumps(row), flush=True)
            rows.append(row)
    (out / "results.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
