"""Sequential correction (docs/calibration.md): after response PCA, each svd site's last factor
and bias are refitted by least squares on the compressed network's own activations. Checked
against onnxruntime on the digits CNN, calibration and evaluation digits disjoint."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx

from rstd_testing import REPO, ort_outputs, rel_l2, run_cli

DIGITS = REPO / "Models/digits_cnn.onnx"
SAMPLES = 64


def _rewrite(tmp_path: Path, name: str, *args: str) -> tuple[Path, dict]:
    out, rep = tmp_path / f"{name}.onnx", tmp_path / f"{name}.json"
    code, _, err = run_cli(str(DIGITS), str(out), "--report", str(rep), "--quiet", *args)
    assert code == 0, err
    return out, json.loads(rep.read_text())


def _ort_error(model: Path, x: np.ndarray) -> float:
    ref = ort_outputs(DIGITS, {"input": x}, optimized=False)[0]
    got = ort_outputs(model, {"input": x}, optimized=False)[0]
    return rel_l2(ref, got)


def test_correction_is_measured_never_worse_and_reproducible(tmp_path):
    d = np.load(REPO / "Models/digits_test.npz")
    cal = tmp_path / "cal.npz"
    np.savez(cal, input=d["x"][:SAMPLES])
    held_x, held_y = d["x"][SAMPLES:], d["y"][SAMPLES:]
    common = ("--calibration", str(cal), "--calibration-samples", str(SAMPLES), "--ratio", "0.4", "--method", "svd",
              "--no-latency-guard")  # both 3×3 convs: on 8×8 maps no chain is faster
    plain, plain_report = _rewrite(tmp_path, "plain", *common, "--correction-stages", "0")
    fixed, report = _rewrite(tmp_path, "fixed", *common)
    onnx.checker.check_model(onnx.load(str(fixed)), full_check=True)

    # The stated error is onnxruntime's on the calibration digits (run one by one, as the tool does).
    cal_x = d["x"][:SAMPLES]
    per_sample = [(ort_outputs(DIGITS, {"input": s[None]}, optimized=False)[0],
                   ort_outputs(fixed, {"input": s[None]}, optimized=False)[0]) for s in cal_x]
    ort = rel_l2(np.concatenate([a.ravel() for a, _ in per_sample]), np.concatenate([b.ravel() for _, b in per_sample]))
    m, m0 = report["measurement"], plain_report["measurement"]
    assert abs(ort - m["outputError"]) <= 1e-4 + 1e-3 * ort, (ort, m["outputError"])
    # Never worse than response PCA alone, on the data it measured.
    assert m["outputError"] <= m0["outputError"], (m["outputError"], m0["outputError"])

    rewritten = [s for s in report["sites"] if s["status"] == "rewritten"]
    corrected = [s for s in rewritten if s["format"] == "svd (responses, corrected)"]
    assert corrected, [s["format"] for s in rewritten]
    for s in corrected:
        # The refit is least squares on the measured pairs: it cannot raise the site's error.
        assert s["siteOutputError"] <= s["siteOutputErrorUncorrected"] + 1e-9, s
    assert all(s["siteOutputError"] is None for s in plain_report["sites"]), "no correction, no per-site figure"

    # Held-out digits: the corrected model stays within the tolerance of the uncorrected one.
    acc = {}
    for name, path in (("plain", plain), ("fixed", fixed)):
        logits = ort_outputs(path, {"input": held_x}, optimized=True)[0]
        acc[name] = float((logits.argmax(1) == held_y).mean())
    print(f"digits --ratio 0.4 svd, {SAMPLES} calibration digits: output error {m0['outputError']:.4f} -> "
          f"{m['outputError']:.4f}; held-out accuracy {acc}; held-out error "
          f"{_ort_error(plain, held_x):.4f} -> {_ort_error(fixed, held_x):.4f}")
    assert acc["fixed"] >= acc["plain"] - 0.02, acc

    # Same inputs and options: the same bytes.
    again, _ = _rewrite(tmp_path, "again", *common)
    assert again.read_bytes() == fixed.read_bytes()
