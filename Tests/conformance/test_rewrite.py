"""The rewriter against onnx.checker and onnxruntime.

Every format at full rank (a lossless plan, forced even where it is not smaller), in both
layouts, on every sample model, every pytorch-converted Conv model of the onnx wheel and the
ONNX node tests' Conv models (their weight turned into an initializer): the rewritten model must
pass the full checker and give the original's outputs, compared at the same onnxruntime
optimization level, with optimizations disabled and enabled.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from rstd_testing import (
    REPO,
    ONNX_WHEEL,
    feeds_for,
    ort_outputs,
    rel_l2,
    run_cli,
)

# Float32 factors of a lossless plan: the chain changes summation order only, so outputs agree to
# ~1e-6 relative; 1e-4 leaves room for long reductions. FLOAT16 weights are rounded to 11-bit
# mantissas per factor (≈5e-4 each), so the fp16 models get 1e-2.
TOL_FP32 = 1e-4
TOL_FP16 = 1e-2

NODE_TESTS = Path("/usr/share/libonnx-testdata/data/node")

# (method, layout, shuffle)
PLANS = [
    ("svd", "factorized", "none"),
    ("tucker2", "factorized", "none"),
    ("cp", "factorized", "none"),
    ("kron", "factorized", "none"),
    ("kron", "factorized", "random"),
    ("spatial", "factorized", "none"),
    ("svd", "reconstructed", "none"),
    ("svd", "reconstructed", "random"),
    ("tucker2", "reconstructed", "random"),
]


def _node_test_with_constant_weight(name: str, out_dir: Path) -> tuple[Path, Path]:
    """The node test `name` with its weight input made an initializer."""
    src = NODE_TESTS / name
    m = onnx.load(str(src / "model.onnx"))
    w = onnx.TensorProto()
    w.ParseFromString((src / "test_data_set_0" / "input_1.pb").read_bytes())
    w.name = m.graph.input[1].name
    del m.graph.input[1]
    m.graph.initializer.append(w)
    path = out_dir / f"{name}.onnx"
    onnx.save(m, str(path))
    return path, src / "test_data_set_0" / "input_0.pb"


def _models() -> list[tuple[str, Path, Path | None]]:
    found: list[tuple[str, Path, Path | None]] = []
    for p in sorted((REPO / "Models").rglob("*.onnx")):
        if p.name == "conv2d_weight_input.onnx":
            continue  # weight is a graph input: a bad-input case, tested in test_bad_input.py
        found.append((str(p.relative_to(REPO)), p, None))
    for d in sorted((ONNX_WHEEL / "backend/test/data/pytorch-converted").glob("test_Conv*")):
        if "Transpose" in d.name:
            continue
        found.append((d.name, d / "model.onnx", d / "test_data_set_0" / "input_0.pb"))
    return found


def _node_test_names() -> list[str]:
    # Conv only: ConvTranspose/ConvInteger are never rewritten (see test_kept_ops_are_untouched).
    return sorted(
        p.name for p in NODE_TESTS.glob("test_*conv*")
        if p.name.startswith(("test_conv_", "test_basic_conv_")) and "integer" not in p.name)


MODELS = _models()


def _check_equivalent(original: Path, rewritten: Path, input_pb: Path | None, tol: float) -> None:
    onnx.checker.check_model(onnx.load(str(rewritten)), full_check=True)
    feeds = feeds_for(original, input_pb, seed=0)
    for optimized in (False, True):
        want = ort_outputs(original, feeds, optimized)
        got = ort_outputs(rewritten, feeds, optimized)
        assert len(want) == len(got)
        for a, b in zip(want, got):
            err = rel_l2(a.astype(np.float64), b.astype(np.float64))
            assert err <= tol, f"{rewritten.name} (optimized={optimized}): rel L2 {err:.3g} > {tol}"


def _rewrite_full(model: Path, out: Path, method: str, layout: str, shuffle: str) -> dict:
    report = out.with_suffix(".json")
    code, _, err = run_cli(
        str(model), str(out), "--rank", "full", "--force", "--method", method, "--layout", layout,
        "--shuffle", shuffle, "--include-linear", "--report", str(report), "--quiet")
    assert code == 0, err
    return json.loads(report.read_text())


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: "-".join(p))
@pytest.mark.parametrize("case", MODELS, ids=lambda c: c[0])
def test_full_rank_plan_matches_original(case, plan, tmp_path):
    name, model, input_pb = case
    out = tmp_path / "out.onnx"
    report = _rewrite_full(model, out, *plan)
    for site in report["sites"]:
        assert site["status"] in ("rewritten", "kept")
        assert site["status"] == "rewritten" or site["reason"], site
        if site["status"] == "rewritten":
            assert site["relativeError"] < 1e-3, site
    tol = TOL_FP16 if "fp16" in name else TOL_FP32
    _check_equivalent(model, out, input_pb, tol)


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: "-".join(p))
@pytest.mark.parametrize("name", _node_test_names())
def test_node_test_conv_models(name, plan, tmp_path):
    model, input_pb = _node_test_with_constant_weight(name, tmp_path)
    out = tmp_path / "out.onnx"
    _rewrite_full(model, out, *plan)
    _check_equivalent(model, out, input_pb, TOL_FP32)


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: "-".join(p))
def test_every_plan_rewrites_a_plain_conv(plan, tmp_path):
    report = _rewrite_full(REPO / "Models/zoo/conv2d_bias.onnx", tmp_path / "o.onnx", *plan)
    assert [s["status"] for s in report["sites"]] == ["rewritten"]
    assert report["sites"][0]["format"].startswith(plan[0])


def test_kept_sites_say_why(tmp_path):
    report = _rewrite_full(REPO / "Models/zoo/conv2d_depthwise.onnx", tmp_path / "o.onnx", "svd", "factorized", "none")
    assert [(s["status"], s["reason"]) for s in report["sites"]] == [
        ("kept", "depthwise convolution (one input channel per group): nothing to factor")]


def test_shared_weight_is_factored_once(tmp_path):
    out = tmp_path / "o.onnx"
    report = _rewrite_full(REPO / "Models/zoo/conv2d_shared_weight.onnx", out, "svd", "factorized", "none")
    assert [s["status"] for s in report["sites"]] == ["rewritten", "rewritten"]
    m = onnx.load(str(out))
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    assert len(convs) == 4
    # Both chains read the same two factor initializers.
    weights = {n.input[1] for n in convs}
    assert len(weights) == 2 and weights <= {t.name for t in m.graph.initializer}


def test_unused_weights_and_ir3_inputs_are_dropped(tmp_path):
    src = REPO / "Models/zoo/conv2d_ir3.onnx"
    out = tmp_path / "o.onnx"
    _rewrite_full(src, out, "svd", "factorized", "none")
    before, after = onnx.load(str(src)), onnx.load(str(out))
    old_weight = [n for n in before.graph.node if n.op_type == "Conv"][0].input[1]
    inits = {t.name for t in after.graph.initializer}
    assert old_weight not in inits
    assert old_weight not in {i.name for i in after.graph.input}
    # IR 3: every initializer is still declared as a graph input.
    assert inits <= {i.name for i in after.graph.input}
    assert after.ir_version == before.ir_version and after.opset_import == before.opset_import


def test_constant_node_weight_is_replaced_by_initializers(tmp_path):
    out = tmp_path / "o.onnx"
    _rewrite_full(REPO / "Models/zoo/conv2d_constant_node_weight.onnx", out, "tucker2", "factorized", "none")
    m = onnx.load(str(out))
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    assert len(convs) == 3
    inits = {t.name for t in m.graph.initializer}
    assert all(n.input[1] in inits for n in convs)
    # The weight's Constant node is gone; the bias's Constant node still feeds the last conv.
    consts = [n for n in m.graph.node if n.op_type == "Constant"]
    assert len(consts) == 1 and consts[0].output[0] == convs[-1].input[2]


def test_metadata_records_tool_and_options(tmp_path):
    out = tmp_path / "o.onnx"
    code, _, err = run_cli(str(REPO / "Models/zoo/conv2d_bias.onnx"), str(out), "--rank", "4", "--seed", "7", "--quiet")
    assert code == 0, err
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert props["onnx-rstd.version"]
    assert "ranks=rank=4" in props["onnx-rstd.options"] and "seed=7" in props["onnx-rstd.options"]


def test_value_info_and_dynamic_batch_survive(tmp_path):
    src = REPO / "Models/digits_cnn.onnx"
    out = tmp_path / "o.onnx"
    _rewrite_full(src, out, "tucker2", "factorized", "none")
    m = onnx.load(str(out))
    dim = m.graph.input[0].type.tensor_type.shape.dim[0]
    assert dim.dim_param == "N"
    produced = {o for n in m.graph.node for o in n.output} | {t.name for t in m.graph.initializer}
    assert all(v.name in produced for v in m.graph.value_info)
    # Runs with a batch size the file never mentions.
    x = np.random.default_rng(0).standard_normal((5, 1, 8, 8)).astype(np.float32)
    assert ort_outputs(out, {"input": x}, True)[0].shape == (5, 10)


@pytest.mark.parametrize("name", ["test_convtranspose", "test_convinteger_with_padding", "test_qlinearconv"])
def test_kept_ops_are_untouched(name, tmp_path):
    """ConvTranspose, ConvInteger and QLinearConv are reported as kept and the graph is unchanged."""
    src = NODE_TESTS / name / "model.onnx"
    out = tmp_path / "o.onnx"
    code, _, err = run_cli(str(src), str(out), "--rank", "full", "--force", "--report", str(tmp_path / "r.json"), "--quiet")
    assert code == 0, err
    report = json.loads((tmp_path / "r.json").read_text())
    assert [(s["status"], s["reason"].endswith("is not rewritten")) for s in report["sites"]] == [("kept", True)]
    before, after = onnx.load(str(src)), onnx.load(str(out))
    assert before.graph == after.graph
