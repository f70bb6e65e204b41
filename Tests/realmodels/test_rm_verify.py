"""Scripts/verify: exit codes, bounds, inputs. Uses small models built here and the PP-OCR
classifier; does not need the onnx-rstd CLI."""
import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import rm_helpers as H


def conv_model(path, weight, dynamic=True, out_name="y", nan=False, opset=13):
    """x[N,3,H,W] -> Conv(weight, pad 1) -> Relu -> y. Symbolic N/H/W when dynamic."""
    dims = ["N", 3, "H", "W"] if dynamic else [2, 3, 16, 16]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)
    y = helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ["N", 8, "H", "W"] if dynamic else [2, 8, 16, 16])
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu")]
    if nan:
        nodes.append(helper.make_node("Div", ["r", "zero"], [out_name], name="div"))
    else:
        nodes.append(helper.make_node("Identity", ["r"], [out_name], name="id"))
    inits = [numpy_helper.from_array(weight.astype(np.float32), "w"),
             numpy_helper.from_array(np.zeros((), np.float32), "zero")]
    g = helper.make_graph(nodes, "g", [x], [y], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return path


def verify(*args):
    r = subprocess.run([sys.executable, str(H.VERIFY), *map(str, args)], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


@pytest.fixture
def models(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((8, 3, 3, 3))
    a = conv_model(tmp_path / "a.onnx", w)
    same = conv_model(tmp_path / "same.onnx", w.copy())
    small = conv_model(tmp_path / "small.onnx", w + 1e-7 * rng.standard_normal(w.shape))
    big = conv_model(tmp_path / "big.onnx", w + 0.05 * rng.standard_normal(w.shape))
    return a, same, small, big


def test_identical_passes(models):
    a, same, _, _ = models
    rc, out = verify(a, same)
    assert rc == 0, out
    assert "rel_l2 0.000e+00" in out and "OK" in out


def test_bound(models):
    a, _, small, big = models
    rc, out = verify(a, small, "--max-rel-error", "1e-4")
    assert rc == 0, out
    rc, out = verify(a, big, "--max-rel-error", "1e-4")
    assert rc == 1, out
    assert "FAIL" in out
    rc, out = verify(a, big, "--max-rel-error", "0.5")
    assert rc == 0, out


def test_atol(models, tmp_path):
    a, _, _, big = models
    assert verify(a, big, "--atol", "1e-9")[0] == 1
    rc, out = verify(a, big, "--atol", "100")
    assert rc == 0, out
    assert verify(a, big, "--atol", "-1")[0] == 2


def test_both_levels_and_json(models, tmp_path):
    a, _, _, big = models
    js = tmp_path / "r.json"
    rc, out = verify(a, big, "--opt", "both", "--max-rel-error", "0.5", "--json", js)
    assert rc == 0, out
    assert "[all" in out and "[disable" in out
    res = json.loads(js.read_text())
    assert {r["opt"] for r in res["results"]} == {"all", "disable"}
    assert all(0 < r["rel_l2"] < 0.5 for r in res["results"])


def test_seed_changes_inputs_and_is_deterministic(models, tmp_path):
    a, _, _, big = models
    vals = []
    for seed in (0, 0, 1):
        js = tmp_path / f"s{seed}-{len(vals)}.json"
        assert verify(a, big, "--seed", seed, "--max-rel-error", "1", "--json", js)[0] == 0
        vals.append(json.loads(js.read_text())["results"][0]["rel_l2"])
    assert vals[0] == vals[1] and vals[0] != vals[2]


def test_dynamic_dims(models, tmp_path):
    a, _, _, big = models
    js = tmp_path / "d.json"
    assert verify(a, big, "--dim", "H=8", "--dim", "W=12", "--max-rel-error", "1", "--json", js)[0] == 0
    assert json.loads(js.read_text())["results"][0]["note"] == "1x8x8x12"
    assert verify(a, big, "--shape", "x=3,3,5,7", "--max-rel-error", "1", "--json", js)[0] == 0
    assert json.loads(js.read_text())["results"][0]["note"] == "3x8x5x7"


def test_npz_inputs(models, tmp_path):
    a, _, _, big = models
    x = np.zeros((1, 3, 4, 4), np.float32)
    np.savez(tmp_path / "zero.npz", x=x)
    # all-zero input: Conv without bias gives zeros in both, so no difference at all
    rc, out = verify(a, big, "--inputs", tmp_path / "zero.npz")
    assert rc == 0 and "1x8x4x4" in out, out
    np.savez(tmp_path / "bad.npz", nope=x)
    rc, out = verify(a, big, "--inputs", tmp_path / "bad.npz")
    assert rc == 2 and "nope" in out, out
    np.savez(tmp_path / "dtype.npz", x=x.astype(np.float64))
    assert verify(a, big, "--inputs", tmp_path / "dtype.npz")[0] == 2
    np.savez(tmp_path / "rank.npz", x=x[0])
    assert verify(a, big, "--inputs", tmp_path / "rank.npz")[0] == 2
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    assert verify(a, big, "--inputs", tmp_path / "junk.npz")[0] == 2


def test_usage_and_load_errors(models, tmp_path):
    a, same, _, _ = models
    assert verify()[0] == 2
    assert verify(a)[0] == 2
    assert verify(a, tmp_path / "missing.onnx")[0] == 2
    assert verify(a, same, "--max-rel-error", "abc")[0] == 2
    assert verify(a, same, "--max-rel-error", "-1")[0] == 2
    assert verify(a, same, "--dim", "H")[0] == 2
    assert verify(a, same, "--opt", "fast")[0] == 2
    (tmp_path / "garbage.onnx").write_bytes(b"\x00garbage")
    rc, out = verify(a, tmp_path / "garbage.onnx")
    assert rc == 2 and "cannot load" in out, out


def test_missing_output_and_nan_fail(models, tmp_path):
    a, _, _, _ = models
    w = np.random.default_rng(0).standard_normal((8, 3, 3, 3))
    renamed = conv_model(tmp_path / "renamed.onnx", w, out_name="z")
    rc, out = verify(a, renamed)
    assert rc == 1 and "missing" in out, out
    nan = conv_model(tmp_path / "nan.onnx", w, nan=True)
    rc, out = verify(a, nan)
    assert rc == 1 and "inf" in out, out


def test_checker_flag(models, tmp_path):
    a, same, _, _ = models
    assert verify(a, same, "--check")[0] == 0
    m = onnx.load(str(same))
    m.graph.node[1].input.append("nonexistent")  # Relu with a dangling second input
    bad = tmp_path / "bad.onnx"
    onnx.save(m, str(bad))
    rc, out = verify(a, bad, "--check")
    assert rc in (1, 2), out
    assert "onnx.checker (full): FAILED" in out, out


def test_real_classifier_against_itself(manifest, tmp_path):
    p = manifest["ppocr-cls"]["path"]
    x, _ = H.cls_dataset(8)
    np.savez(tmp_path / "cls.npz", x=x)
    rc, out = verify(p, p, "--inputs", tmp_path / "cls.npz", "--opt", "both", "--check")
    assert rc == 0, out
    assert "16x2" in out
