"""Issue #11's PP-OCR rec criterion: with calibration data, line accuracy within 2 points of the
original at ≤ 0.75× conv parameters. Calibration = 128 rendered lines (seed 11); evaluation =
the suite's 48 lines (seed 1): disjoint. Settings as measured in docs/calibration.md ("How many
samples"): svd, --ratio 0.71, the calibrated allocation and sequential correction (defaults
with --calibration), default alignment and latency guard."""
import numpy as np
import onnx

import rm_helpers as H

REC_SAMPLES = 128
REC_RATIO = "0.71"
REC_ACCURACY_DROP = 0.02


def test_calibrated_rec_keeps_line_accuracy_at_three_quarters(rewrites, evaluators, manifest, workdir):
    cal = workdir / "rec_cal_128.npz"
    batches, _ = H.rec_dataset(REC_SAMPLES, seed=11)
    x = np.concatenate(batches).astype(np.float32)
    np.savez(cal, x=x)
    src = manifest["ppocr-rec"]["path"]
    dst, res = rewrites.get("ppocr-rec", "calibrated-0.71", [
        "--calibration", str(cal), "--calibration-samples", str(REC_SAMPLES), "--method", "svd", "--ratio", REC_RATIO])
    assert res.returncode == 0, res.describe()
    onnx.checker.check_model(onnx.load(str(dst)), full_check=True)
    ratio = H.conv_weight_params(dst) / H.conv_weight_params(src)
    assert ratio <= 0.75, ratio
    m = res.report["measurement"]
    # The stated error is onnxruntime's on the calibration lines.
    ref = H.run_batches(H.session(src, "disable"), list(np.array_split(x, 16)))
    got = H.run_batches(H.session(dst, "disable"), list(np.array_split(x, 16)))
    assert abs(H.rel_l2(ref, got) - m["outputError"]) <= 1e-3 * max(m["outputError"], 1e-3), (H.rel_l2(ref, got), m)
    score = evaluators.get("ppocr-rec").score(dst, "all")
    print(f"ppocr-rec calibrated svd --ratio {REC_RATIO}, {REC_SAMPLES} samples: conv ×{ratio:.4f}, "
          f"error {m['outputError']:.4f} on calibration, {score}")
    # Measured 2026-11-30: 0.724× (0.748× before the roofline cost model), line accuracy 100%
    # (original 97.9%), evaluation error 0.159.
    assert score["accuracy"] >= score["accuracy_original"] - REC_ACCURACY_DROP, score


def test_calibrated_allocation_is_not_worse_with_a_larger_budget(rewrites, manifest, workdir):
    """PP-OCR cls without the latency guard, 32 rendered lines (seed 11): --ratio 0.5 once gave a
    collapsed plan (measured error 0.685) where --ratio 0.4, a smaller budget, gave 0.719 → the
    first and unaligned allocations are now measured beside the refined one (0.059 vs 0.154,
    2026-12-01), and with probes on 32 inputs by default (2 logits per input) 0.038 vs 0.061.
    The stated errors are onnxruntime's."""
    cal = workdir / "cls_cal_lines_32.npz"
    x, _ = H.cls_dataset(16, seed=11)
    x = x.astype(np.float32)
    np.savez(cal, x=x)
    src = manifest["ppocr-cls"]["path"]
    errors = {}
    for ratio in ("0.5", "0.4"):
        dst, res = rewrites.get("ppocr-cls", f"calibrated-lines-{ratio}", [
            "--calibration", str(cal), "--calibration-samples", "32", "--method", "svd", "--ratio", ratio,
            "--no-latency-guard"])
        assert res.returncode == 0, res.describe()
        onnx.checker.check_model(onnx.load(str(dst)), full_check=True)
        m = res.report["measurement"]
        ref = H.run_batches(H.session(src, "disable"), list(np.array_split(x, 4)))
        got = H.run_batches(H.session(dst, "disable"), list(np.array_split(x, 4)))
        assert abs(H.rel_l2(ref, got) - m["outputError"]) <= 1e-3 * max(m["outputError"], 1e-3), (ratio, H.rel_l2(ref, got), m)
        errors[ratio] = m["outputError"]
    print(f"ppocr-cls calibrated, no latency guard, measured error by --ratio: {errors}")
    assert errors["0.5"] <= errors["0.4"], errors
    assert errors["0.5"] < 0.3, errors
