"""The CLI as a user and a CI pipeline see it: exit codes, messages, determinism, reports,
the digits CNN's accuracy, and the reconstructed layout's storage."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from rstd_testing import REPO, ort_outputs, run_cli

DIGITS = REPO / "Models/digits_cnn.onnx"
ZOO = REPO / "Models/zoo"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _digits_accuracy(model: Path) -> float:
    d = np.load(REPO / "Models/digits_test.npz")
    logits = ort_outputs(model, {"input": d["x"]}, True)[0]
    return float((logits.argmax(1) == d["y"]).mean())


def _report(tmp_path: Path, *args: str) -> dict:
    rep = tmp_path / "report.json"
    code, _, err = run_cli(*args, "--report", str(rep), "--quiet")
    assert code == 0, err
    return json.loads(rep.read_text())


# --- bad input -------------------------------------------------------------------------------

def _bad_inputs(tmp: Path) -> list[tuple[str, Path, int, str]]:
    """(case, input path, expected exit code, text the one-line message must contain)."""
    cases = []
    cases.append(("missing file", tmp / "nope.onnx", 66, "nope.onnx"))
    empty = tmp / "empty.onnx"
    empty.write_bytes(b"")
    cases.append(("empty file", empty, 65, "empty"))
    noise = tmp / "noise.onnx"
    noise.write_bytes(np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    cases.append(("random bytes", noise, 65, "noise.onnx"))
    cut = tmp / "truncated.onnx"
    cut.write_bytes(DIGITS.read_bytes()[: DIGITS.stat().st_size // 2])
    cases.append(("truncated", cut, 65, "truncated.onnx"))
    tensor = tmp / "tensor.onnx"
    tensor.write_bytes(numpy_helper.from_array(np.ones((4, 4), np.float32), "t").SerializeToString())
    cases.append(("protobuf that is not a model", tensor, 65, "tensor.onnx"))
    lonely = tmp / "lonely.onnx"
    shutil.copy(ZOO / "conv2d_external_data.onnx", lonely)
    cases.append(("external data missing", lonely, 65, "external"))
    cases.append(("weight is a graph input", ZOO / "conv2d_weight_input.onnx", 65, "graph input"))
    m = onnx.load(str(DIGITS))
    m.opset_import[0].version = 99
    future = tmp / "opset99.onnx"
    future.write_bytes(m.SerializeToString())
    cases.append(("unsupported opset", future, 65, "opset 99"))
    return cases


CASE_NAMES = ["missing file", "empty file", "random bytes", "truncated", "protobuf that is not a model",
              "external data missing", "weight is a graph input", "unsupported opset"]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_bad_input_fails_cleanly(case, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    name, path, want_code, needle = next(c for c in _bad_inputs(src) if c[0] == case)
    before = _sha(path) if path.exists() else None
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, stdout, stderr = run_cli(str(path), str(out_dir / "o.onnx"))
    assert code == want_code, (name, code, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("onnx-rstd: error: "), stderr
    assert needle.lower() in lines[0].lower(), lines[0]
    assert list(out_dir.iterdir()) == [], "nothing may be written on failure"
    assert (_sha(path) if path.exists() else None) == before, "the input must not change"


def test_weight_input_error_names_the_node_and_exclude_skips_it(tmp_path):
    code, _, err = run_cli(str(ZOO / "conv2d_weight_input.onnx"), str(tmp_path / "o.onnx"))
    assert code == 65
    m = onnx.load(str(ZOO / "conv2d_weight_input.onnx"))
    conv = next(n for n in m.graph.node if n.op_type == "Conv")
    assert f"node '{conv.name}'" in err and f"--exclude '{conv.name}'" in err
    code, _, err = run_cli(str(ZOO / "conv2d_weight_input.onnx"), str(tmp_path / "o.onnx"), "--exclude", conv.name, "--quiet")
    assert code == 0, err


def test_missing_output_folder_is_exit_73_and_writes_nothing(tmp_path):
    code, _, err = run_cli(str(DIGITS), str(tmp_path / "no" / "such" / "o.onnx"))
    assert code == 73, err
    assert not (tmp_path / "no").exists()


def test_output_equal_to_input_is_refused(tmp_path):
    model = tmp_path / "m.onnx"
    shutil.copy(DIGITS, model)
    before = _sha(model)
    code, _, err = run_cli(str(model), str(model))
    assert code == 64 and "never overwrites its input" in err
    assert _sha(model) == before


@pytest.mark.parametrize("args, needle", [
    (["--ratio", "2"], "--ratio must be in (0, 1]"),
    (["--rank", "0"], "--rank takes a positive whole number"),
    (["--rank", "3", "--ratio", "0.5"], "at most one of --rank, --ratio and --max-error"),
    (["--layout", "reconstructed", "--method", "cp"], "rebuilds svd or tucker2 factors"),
    (["--method", "magic"], "magic"),
    (["--correction-samples", "0"], "--correction-samples must be in 1...4096"),
])
def test_usage_errors_are_exit_64(args, needle, tmp_path):
    code, _, err = run_cli(str(DIGITS), str(tmp_path / "o.onnx"), *args)
    assert code == 64, err
    assert needle in err
    assert not (tmp_path / "o.onnx").exists()


def test_help_documents_exit_codes():
    code, out, _ = run_cli("--help")
    assert code == 0
    text = " ".join(out.split())
    for needle in ("64 usage error", "65 the input is not a valid ONNX model", "66 the input file does not exist",
                   "73 the output cannot be written"):
        assert needle in text


# --- determinism -----------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    [],
    ["--method", "kron", "--shuffle", "random", "--rank", "4"],
    ["--layout", "reconstructed", "--shuffle", "random", "--ratio", "0.5"],
    ["--method", "cp", "--rank", "8"],
], ids=["default", "kron-random", "reconstructed-random", "cp"])
def test_two_runs_give_identical_bytes(args, tmp_path):
    for name in ("a.onnx", "b.onnx"):
        code, _, err = run_cli(str(DIGITS), str(tmp_path / name), *args, "--quiet")
        assert code == 0, err
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes()


@pytest.mark.parametrize("args", [
    ["--method", "kron", "--shuffle", "random", "--rank", "4"],
    ["--layout", "reconstructed", "--shuffle", "random", "--ratio", "0.5"],
], ids=["kron", "reconstructed"])
def test_another_seed_gives_another_file(args, tmp_path):
    for seed in ("1", "2"):
        code, _, err = run_cli(str(DIGITS), str(tmp_path / f"{seed}.onnx"), *args, "--seed", seed, "--quiet")
        assert code == 0, err
    assert (tmp_path / "1.onnx").read_bytes() != (tmp_path / "2.onnx").read_bytes()


# --- the digits CNN --------------------------------------------------------------------------

# The batch the digits CNN is served and benchmarked at; the latency guard plans for it.
DIGITS_BATCH = ("--input-shape", "input=64x1x8x8")

def test_default_run_holds_digits_to_its_bound_and_keeps_accuracy(tmp_path):
    # The default measures the outputs and holds them within 0.05; on the 25k-parameter digits
    # CNN no rank meets that (its weight-only default moved the logits by 0.15), so it keeps
    # the model and says why. A looser --target-error compresses.
    out = tmp_path / "o.onnx"
    report = _report(tmp_path, str(DIGITS), str(out))
    m = report["measurement"]
    assert m["status"] == "measured" and m["bound"] == 0.05 and m["outputError"] <= 0.05, m
    before, after = _digits_accuracy(DIGITS), _digits_accuracy(out)
    print(f"digits default: accuracy {before:.4f} -> {after:.4f}")
    assert after >= before - 0.01

    # Planned for batch 64, as the digits CNN is benchmarked: at batch 1 every chain on its 8×8
    # maps is predicted slower than its conv (per-node overhead), and the latency guard keeps
    # them; at the default ranks no chain that meets their bounds is predicted faster either.
    out2 = tmp_path / "o2.onnx"
    report = _report(tmp_path, str(DIGITS), str(out2), "--ratio", "0.7", "--target-error", "0.2", *DIGITS_BATCH)
    convs = [s for s in report["sites"] if s["opType"] == "Conv"]
    assert sum(s["paramsAfter"] for s in convs) < sum(s["paramsBefore"] for s in convs), "--ratio 0.7 must compress"
    assert report["measurement"]["outputError"] <= 0.2
    after = _digits_accuracy(out2)
    print(f"digits --ratio 0.7 --target-error 0.2: accuracy {before:.4f} -> {after:.4f}")
    assert after >= before - 0.02


@pytest.mark.parametrize("method", ["auto", "svd", "tucker2", "cp", "kron", "spatial"])
def test_ratio_half_halves_digits_conv_params(method, tmp_path):
    out = tmp_path / "o.onnx"
    # A test of each method's chain: the latency guard (which keeps kron's Gathers off a CNN this
    # small) is lifted.
    report = _report(tmp_path, str(DIGITS), str(out), "--ratio", "0.5", "--method", method, *DIGITS_BATCH, "--no-latency-guard")
    convs = [s for s in report["sites"] if s["opType"] == "Conv"]
    before = sum(s["paramsBefore"] for s in convs)
    after = sum(s["paramsAfter"] for s in convs)
    assert after <= 0.5 * before, (after, before)
    acc = _digits_accuracy(out)
    print(f"digits --ratio 0.5 --method {method}: conv params x{after / before:.3f}, accuracy {acc:.4f}")
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)
    # Better than chance by far (10 classes); the exact figure is in docs/benchmarks.md.
    assert acc > 0.5


# --- reports and dry runs --------------------------------------------------------------------

def test_report_schema(tmp_path):
    report = _report(tmp_path, str(DIGITS), str(tmp_path / "o.onnx"), "--ratio", "0.5", *DIGITS_BATCH)
    assert set(report) == {"tool", "version", "options", "input", "output", "dryRun", "sites", "totals", "measurement", "latency"}
    assert set(report["latency"]) == {"runtime", "positions"}
    site_keys = {"node", "opType", "weight", "weightSource", "shape", "group", "status", "reason", "format",
                 "ranks", "shuffle", "paramsBefore", "paramsAfter", "macsBefore", "macsAfter", "relativeError",
                 "outputErrorAlone", "probeRank", "errorShare", "siteOutputError", "siteOutputErrorUncorrected",
                 "lowRankError", "weights", "predictedMicrosBefore", "predictedMicrosAfter"}
    assert set(report["measurement"]) == {"status", "inputs", "bound", "outputError", "outputErrors", "plannedError",
                                          "sitesBackedOff", "modelRuns", "note", "storage", "estimatedError",
                                          "allocation", "heldOut"}
    assert all(set(s) == site_keys for s in report["sites"])
    assert set(report["totals"]) == {"sitesRewritten", "sitesKept", "paramsBefore", "paramsAfter", "macsBefore",
                                     "macsAfter", "fileSizeBefore", "fileSizeAfter", "tensorBytesByType",
                                     "predictedMicrosBefore", "predictedMicrosAfter", "seconds"}
    assert report["totals"]["fileSizeBefore"] == DIGITS.stat().st_size
    assert report["totals"]["fileSizeAfter"] == (tmp_path / "o.onnx").stat().st_size


def test_dry_run_writes_nothing(tmp_path):
    report = _report(tmp_path, str(DIGITS), str(tmp_path / "o.onnx"), "--dry-run", "--ratio", "0.5")
    assert not (tmp_path / "o.onnx").exists()
    assert report["dryRun"] is True and report["output"] is None
    assert report["totals"]["sitesRewritten"] > 0


def test_table_goes_to_stderr_and_stdout_stays_empty(tmp_path):
    code, out, err = run_cli(str(DIGITS), str(tmp_path / "o.onnx"))
    assert code == 0 and out == ""
    assert err.splitlines()[0].split()[:3] == ["site", "op", "shape"]
    assert err.splitlines()[-3].startswith("total: ")
    assert err.splitlines()[-2].startswith("predicted latency of the sites: ")
    assert err.splitlines()[-1].startswith("measured output error ")


# --- reconstructed layout ---------------------------------------------------------------------

def test_reconstructed_file_shrinks_with_the_factors_and_stores_no_index_tensor(tmp_path):
    src = REPO / "Models/zoo/conv_chain.onnx"
    out = tmp_path / "o.onnx"
    report = _report(tmp_path, str(src), str(out), "--layout", "reconstructed", "--shuffle", "random", "--ratio", "0.5")
    t = report["totals"]
    assert t["sitesRewritten"] >= 1
    ratio = t["paramsAfter"] / t["paramsBefore"]
    file_ratio = out.stat().st_size / src.stat().st_size
    # Weights dominate the file, so the file shrinks by about the parameter ratio.
    assert file_ratio < ratio + 0.1, (file_ratio, ratio)
    m = onnx.load(str(out))
    kernel = max(s["paramsBefore"] for s in report["sites"])
    for init in m.graph.initializer:
        if init.data_type == onnx.TensorProto.INT64:
            assert int(np.prod(init.dims)) <= 8, f"{init.name} has {list(init.dims)} int64 values"
    assert not [n for n in m.graph.node if n.op_type == "Constant"]
    assert any(n.op_type == "Range" for n in m.graph.node) and kernel > 8


# --- inspect ----------------------------------------------------------------------------------

def test_inspect_digits(tmp_path):
    code, out, err = run_cli("inspect", str(DIGITS), "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [(r["node"], r["opType"], r["shape"], r["eligible"]) for r in rows] == [
        ("conv1", "Conv", [16, 1, 3, 3], True), ("conv2", "Conv", [32, 16, 3, 3], True),
        ("conv3", "Conv", [64, 32, 3, 3], True), ("fc", "Gemm", [10, 256], True)]
    for r in rows:
        assert r["params"] == int(np.prod(r["shape"]))
        assert 1 <= r["rank90"] <= r["rank99"] <= r["fullRank"]
    # rank99 really keeps 99% of the energy of the [M, C·k·k] unfolding.
    w = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(DIGITS)).graph.initializer}
    conv3 = next(n for n in onnx.load(str(DIGITS)).graph.node if n.name == "conv3")
    s = np.linalg.svd(w[conv3.input[1]].reshape(64, -1), compute_uv=False) ** 2
    r99 = rows[2]["rank99"]
    assert s[:r99].sum() >= 0.99 * s.sum() > s[: r99 - 1].sum()


def test_inspect_zoo_eligibility():
    expect = {
        "conv2d_depthwise.onnx": (False, "depthwise"),
        "conv2d_weight_input.onnx": (False, "computed at run time"),
        "conv2d_grouped.onnx": (True, None),
        "conv2d_constant_node_weight.onnx": (True, None),
        "conv3d.onnx": (True, None),
    }
    for name, (eligible, reason) in expect.items():
        code, out, err = run_cli("inspect", str(ZOO / name), "--json")
        assert code == 0, err
        row = json.loads(out)[0]
        assert row["eligible"] == eligible, (name, row)
        if reason:
            assert reason in row["reason"], (name, row)
    row = json.loads(run_cli("inspect", str(ZOO / "conv2d_constant_node_weight.onnx"), "--json")[1])[0]
    assert row["weightSource"].startswith("Constant node")


# --- external data ----------------------------------------------------------------------------

def test_external_data_in_gives_external_data_out(tmp_path):
    src = ZOO / "conv2d_external_data.onnx"
    out = tmp_path / "o.onnx"
    report = _report(tmp_path, str(src), str(out), "--ratio", "0.5")
    side = tmp_path / "o.onnx.data"
    assert side.is_file() and out.stat().st_size < 4096, "weights belong in the side file"
    assert report["totals"]["fileSizeBefore"] == src.stat().st_size + (ZOO / "conv2d_external_data.onnx.data").stat().st_size
    assert report["totals"]["fileSizeAfter"] == out.stat().st_size + side.stat().st_size
    onnx.checker.check_model(str(out), full_check=True)
    x = np.random.default_rng(0).standard_normal(
        [d.dim_value for d in onnx.load(str(src), load_external_data=False).graph.input[0].type.tensor_type.shape.dim]
    ).astype(np.float32)
    name = onnx.load(str(src), load_external_data=False).graph.input[0].name
    assert ort_outputs(out, {name: x}, True)[0].shape == ort_outputs(src, {name: x}, True)[0].shape


def test_external_data_flag_externalizes_an_inline_model(tmp_path):
    out = tmp_path / "o.onnx"
    code, _, err = run_cli(str(DIGITS), str(out), "--external-data", "--quiet")
    assert code == 0, err
    assert (tmp_path / "o.onnx.data").is_file()
    m = onnx.load(str(out), load_external_data=False)
    assert any(t.data_location == onnx.TensorProto.EXTERNAL for t in m.graph.initializer)
    inline = tmp_path / "inline.onnx"
    code, _, err = run_cli(str(DIGITS), str(inline), "--quiet")
    assert code == 0, err
    x = np.load(REPO / "Models/digits_test.npz")["x"]
    a, b = ort_outputs(inline, {"input": x}, False)[0], ort_outputs(out, {"input": x}, False)[0]
    assert a.tobytes() == b.tobytes(), "the same model whichever way its tensors are stored"
