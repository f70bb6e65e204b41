"""Sequential correction on real models (docs/calibration.md, "Sequential correction").

Rewrites a model with calibration data at --correction-stages K for each K given (0 = response
PCA alone), and scores each result on evaluation inputs disjoint from the calibration data:

  python3 bench/calibration/correction.py det --stages 0 8                 # PP-OCR det, svd --ratio 0.5
  python3 bench/calibration/correction.py det --stages 0 1 2 8 --no-latency-guard
  python3 bench/calibration/correction.py digits --stages 0 1 2 --ratio 0.4 --no-latency-guard

det: calibration = rendered pages (seeds 1..N) and scikit-image images not in the evaluation
set; evaluation = Tests/realmodels' seven det inputs (mask IoU, pooled and per-image minimum).
digits: calibration = the first 150 test digits, evaluation = the other 300 (accuracy).
Writes bench/calibration/results-<model>[-no-latency-guard].json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "Tests/realmodels"))
import rm_helpers as H  # noqa: E402

CLI = Path(os.environ.get("ONNX_RSTD", REPO / ".build/release/onnx-rstd"))
# scikit-image images outside the evaluation set (rm_helpers.SKIMAGE_IMAGES).
CAL_IMAGES = ("rocket", "coins", "moon", "hubble_deep_field")


def rewrite(src: Path, dst: Path, *args: str) -> tuple[dict, float]:
    report = dst.with_suffix(".json")
    t = time.monotonic()
    res = subprocess.run([str(CLI), str(src), str(dst), "--report", str(report), "--quiet", *args],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(res.stderr)
    return json.loads(report.read_text()), time.monotonic() - t


def det_calibration(folder: Path, pages: int) -> None:
    import skimage.data
    folder.mkdir(parents=True, exist_ok=True)
    for s in range(1, pages + 1):
        x = H.det_preprocess(H.to_bgr_u8(H.rendered_page(seed=s)), H.DET_LIMIT_SIDE).astype(np.float32)
        np.savez(folder / f"page{s}.npz", x=x)
    for n in CAL_IMAGES:
        x = H.det_preprocess(H.to_bgr_u8(getattr(skimage.data, n)()), H.DET_LIMIT_SIDE).astype(np.float32)
        np.savez(folder / f"img_{n}.npz", x=x)


def conv_params(report: dict) -> float:
    sites = [s for s in report["sites"] if s["opType"] == "Conv"]
    return sum(s["paramsAfter"] for s in sites) / sum(s["paramsBefore"] for s in sites)


def summary(report: dict, seconds: float) -> dict:
    m = report["measurement"]
    rows = [s for s in report["sites"] if s["status"] == "rewritten"]
    corrected = [s for s in rows if s["format"] and s["format"].endswith("corrected)")]
    return {"calibration_error": m["outputError"], "model_runs": m["modelRuns"], "seconds": round(seconds, 1),
            "conv_params": conv_params(report), "sites_rewritten": len(rows), "sites_corrected": len(corrected),
            "site_error_before_median": float(np.median([s["siteOutputErrorUncorrected"] for s in corrected])) if corrected else None,
            "site_error_after_median": float(np.median([s["siteOutputError"] for s in corrected])) if corrected else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["det", "digits"])
    ap.add_argument("--stages", type=int, nargs="+", default=[0, 4])
    ap.add_argument("--ratio", default="0.5")
    ap.add_argument("--pages", type=int, default=4)
    ap.add_argument("--work", default="/tmp/seqfix-bench")
    ap.add_argument("--no-latency-guard", action="store_true", help="digits: on 8×8 maps no chain is faster")
    a = ap.parse_args()
    work = Path(a.work) / a.model
    work.mkdir(parents=True, exist_ok=True)
    results = {"ratio": a.ratio, "runs": []}
    if a.model == "det":
        src = REPO / ".cache/real-models/ch_PP-OCRv4_det_infer.onnx"
        cal = work / "cal"
        det_calibration(cal, a.pages)
        samples = a.pages + len(CAL_IMAGES)
        ev = H.Evaluator("ppocr-det", "det", src)
        results["calibration"] = f"{a.pages} rendered pages + {', '.join(CAL_IMAGES)} (folder {cal})"
        common = ["--calibration", str(cal), "--calibration-samples", str(samples), "--ratio", a.ratio, "--method", "svd"]
    else:
        src = REPO / "Models/digits_cnn.onnx"
        d = np.load(REPO / "Models/digits_test.npz")
        cal = work / "cal.npz"
        np.savez(cal, input=d["x"][:150])
        x, y = d["x"][150:], d["y"][150:]
        results["calibration"] = "digits_test.npz[:150]; evaluation [150:]"
        common = ["--calibration", str(cal), "--calibration-samples", "150", "--ratio", a.ratio, "--method", "svd"]
    if a.no_latency_guard:
        common.append("--no-latency-guard")
    for k in a.stages:
        dst = work / f"stages{k}.onnx"
        report, seconds = rewrite(src, dst, *common, "--correction-stages", str(k))
        row = {"stages": k, "command": f"onnx-rstd {src.name} out.onnx {' '.join(common)} --correction-stages {k}",
               **summary(report, seconds)}
        if a.model == "det":
            row.update(ev.score(dst, "all"))
        else:
            ref = H.session(src).run(None, {"input": x})[0]
            got = H.session(dst).run(None, {"input": x})[0]
            row.update({"accuracy": float((got.argmax(1) == y).mean()), "accuracy_original": float((ref.argmax(1) == y).mean()),
                        "top1_agreement": float((got.argmax(1) == ref.argmax(1)).mean()), "heldout_rel_l2": H.rel_l2(ref, got)})
        print(json.dumps(row), flush=True)
        results["runs"].append(row)
    suffix = "-no-latency-guard" if a.no_latency_guard else ""
    (Path(__file__).parent / f"results-{a.model}{suffix}.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
