"""`--weights fp16|int8` on the real models (issue 12): every Conv/Gemm/MatMul weight re-stored
without factoring (`--include '__none__'`), checked, run, folded by onnxruntime and scored.

Asserted: onnx.checker (full) passes; onnxruntime's optimized model (ORT_ENABLE_ALL) holds no
INT8/FLOAT16 initializer (the rebuild is folded at load); the task metric holds (det map IoU ≥
0.95, cls and rec accuracy within 2 points of the original).

fp16: rounding every weight to fp16 moves these deep networks' outputs by 2.1e-3 (cls), 2.8e-3
(det) and 1.1e-2 (rec) on the evaluation inputs (measured 2026-11-30 by casting the original's
weights, no rewrite) — above the issue's 1e-3 for any fp16 storage. The storage bound
(`--storage-error`) keeps float32 the few weights whose rounding moves the outputs most, measured
on calibration data drawn like the evaluation data but disjoint (`H.write_calibration`). Held at
5e-4 on the calibration data, the outputs on the evaluation inputs must stay within 1e-3 at both
optimization levels, from a file still well under the original's size (≤ 0.85×; measured at
1e-3: det 0.51×, cls 0.58×, rec 0.60×; at 5e-4 rec keeps 37 of 47 weights float32, 0.77×).
"""
from pathlib import Path

import onnx
import onnxruntime as ort
import pytest

import rm_helpers as H

FP16_REL_L2 = 1e-3
FP16_STORAGE_BOUND = 5e-4
FP16_FILE_RATIO = 0.85
ACCURACY_DROP = 0.02
DET_IOU = 0.95


def _folded(path, tmp_path) -> set:
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.optimized_model_filepath = str(tmp_path / "opt.onnx")
    so.log_severity_level = 3
    ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    types = {t.data_type for t in onnx.load(so.optimized_model_filepath).graph.initializer}
    return types & {onnx.TensorProto.INT8, onnx.TensorProto.FLOAT16}


@pytest.mark.parametrize("weights", ["fp16", "int8"])
@pytest.mark.parametrize("model", H.PPOCR_MODELS)
def test_stored_weights_keep_the_task_and_fold(rewrites, evaluators, model, weights, tmp_path):
    options = ["--include", "__none__", "--weights", weights]
    ev = evaluators.get(model)
    if weights == "fp16":
        cal = H.write_calibration(ev.task, tmp_path / "cal")
        options += ["--calibration", str(cal), "--calibration-samples", "16", "--storage-error", str(FP16_STORAGE_BOUND)]
    dst, res = rewrites.get(model, f"storage-{weights}", options)
    assert res.returncode == 0 and dst.is_file(), res.describe()
    rows = res.report["sites"]
    assert any((s["weights"] or "").startswith(weights) for s in rows), "no weight was re-stored"
    H.check_model(dst)
    assert not _folded(dst, tmp_path), "INT8/FLOAT16 initializers left after onnxruntime's optimization"
    m = ev.score(dst, "all")
    if ev.task == "det":
        assert m["iou"] >= DET_IOU, m
    else:
        assert m["accuracy"] >= m["accuracy_original"] - ACCURACY_DROP, m
    if weights == "fp16":
        storage = res.report["measurement"]["storage"]
        assert storage["bound"] == FP16_STORAGE_BOUND and storage["storedError"] <= FP16_STORAGE_BOUND, storage
        size = dst.stat().st_size / Path(H.fetch_models()[model]["path"]).stat().st_size
        assert size <= FP16_FILE_RATIO, f"{model} fp16 file {size:.2f}x the original ({len(storage['kept'])} weights kept)"
        for opt in ("all", "disable"):
            err = ev.score(dst, opt)["rel_l2"] if opt != "all" else m["rel_l2"]
            assert err <= FP16_REL_L2, f"{model} fp16 ({opt}): rel L2 {err:.3g}"
