"""Sequential correction variants side by side on PP-OCR cls (docs/calibration.md, "Sequential
correction"): per --method, the rewrite without correction (--correction-stages 0), with
last-factor refits only (the default) and with --correction-both-factors (svd sites also try both
factors), each scored on cls's evaluation lines (top-1 agreement with the original, accuracy).

  python3 bench/calibration/correction_variants.py [--methods svd,tucker2,cp] [--ratio 0.5]
        [--samples 32] [--extra '--no-latency-guard'] [--out /tmp/corr-variants]

Calibration data: bench/calibrated-allocation/run.py's cls_calibration (32 samples: 16 lines and
the photo crops). CPU seconds are the rewrite process's user + system time (children rusage).
Writes OUT/results.json and prints one row per run.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "Tests/realmodels"))
import rm_helpers as H  # noqa: E402

_spec = importlib.util.spec_from_file_location("calibrated_allocation", REPO / "bench" / "calibrated-allocation" / "run.py")
CA = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(CA)

CLI = Path(os.environ.get("ONNX_RSTD", REPO / ".build/release/onnx-rstd"))
VARIANTS = {"none": ["--correction-stages", "0"], "last": [], "both": ["--correction-both-factors"]}


def rewrite(src: Path, dst: Path, args: list[str]) -> tuple[dict, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = subprocess.run([str(CLI), str(src), str(dst), "--report", str(dst.with_suffix(".json")), "--quiet", *args],
                         capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise SystemExit(f"{dst.name}: exit {res.returncode}: {res.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(dst.with_suffix(".json").read_text()), cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", default="svd,tucker2,cp")
    ap.add_argument("--variants", default="none,last,both")
    ap.add_argument("--ratio", default="0.5")
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--extra", default="--no-latency-guard", help="extra CLI options, space separated")
    ap.add_argument("--out", default="/tmp/corr-variants")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    src = Path(H.fetch_models()["ppocr-cls"]["path"])
    cal = CA.cls_calibration(out / f"cls_cal_{a.samples}.npz", lines=max(16, a.samples // 2))
    ev = H.Evaluator("ppocr-cls", "cls", src)
    rows = []
    for method in a.methods.split(","):
        for variant in a.variants.split(","):
            dst = out / f"cls-{method}-{variant}.onnx"
            args = ["--method", method, "--ratio", a.ratio, "--calibration", str(cal), "--calibration-samples", str(a.samples),
                    *a.extra.split(), *VARIANTS[variant]]
            report, cpu = rewrite(src, dst, args)
            score = ev.score(dst)
            m = report["measurement"]
            convs = [s for s in report["sites"] if s["opType"] == "Conv"]
            ratio = sum(s["paramsAfter"] for s in convs) / sum(s["paramsBefore"] for s in convs)
            formats = [s["format"] for s in report["sites"] if s["status"] == "rewritten"]
            row = {"method": method, "variant": variant, "conv_ratio": ratio, "output_error": m["outputError"],
                   "model_runs": m["modelRuns"], "cpu_s": cpu, "top1_agreement": score.get("top1_agreement"),
                   "accuracy": score.get("accuracy"), "corrected": sum("corrected" in f for f in formats),
                   "corrected_both": sum("corrected both" in f for f in formats), "rewritten": len(formats)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    (out / "results.json").write_text(json.dumps({"cli": str(CLI), "args": vars(a), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
