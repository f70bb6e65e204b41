"""`onnx-rstd run` and `onnx-rstd verify` (docs/cli.md): outputs against onnxruntime, the .npz
files numpy reads, exit codes, and bad inputs (one line, documented code, nothing written)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from rstd_testing import REPO, ort_outputs, random_feeds, rel_l2, run_cli, sample_models

DIGITS = REPO / "Models" / "digits_cnn.onnx"
# Float32 with a different summation order than onnxruntime: errors ~1e-7 on these small
# models, so 1e-5 leaves two orders of magnitude of headroom and still catches a wrong op.
RUN_TOLERANCE = 1e-5
# onnxruntime computes FLOAT16 models in float16 and the executor in float32: the reference
# itself is rounded to half precision (unit roundoff 4.9e-4), so fp16 outputs get 2e-3.
RUN_TOLERANCE_FP16 = 2e-3


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _digits_inputs(tmp_path: Path, n: int = 16, compressed: bool = False) -> Path:
    x = np.load(REPO / "Models" / "digits_test.npz")["x"][:n]
    path = tmp_path / ("xc.npz" if compressed else "x.npz")
    (np.savez_compressed if compressed else np.savez)(path, input=x)
    return path


def _runnable_samples() -> list[Path]:
    # conv2d_weight_input takes its weight as a graph input: random_feeds fills it too.
    return [p for p in sample_models() if not p.name.endswith(".data")]


@pytest.mark.parametrize("model", _runnable_samples(), ids=lambda p: p.stem)
def test_run_matches_onnxruntime_on_every_sample_model(model, tmp_path):
    feeds = random_feeds(model, seed=5)
    np.savez(tmp_path / "x.npz", **feeds)
    code, out, err = run_cli("run", model, "--inputs", tmp_path / "x.npz", "--outputs", tmp_path / "y.npz")
    assert code == 0, err
    expected = ort_outputs(model, feeds, optimized=False)
    names = [o.name for o in onnx.load(str(model), load_external_data=False).graph.output]
    got = np.load(tmp_path / "y.npz")
    assert list(got.keys()) == names, "one array per graph output, in graph order"
    for name, e in zip(names, expected):
        assert got[name].shape == e.shape, name
        tolerance = RUN_TOLERANCE_FP16 if e.dtype == np.float16 else RUN_TOLERANCE
        assert rel_l2(e, got[name]) <= tolerance, (name, rel_l2(e, got[name]))


def test_run_reads_deflated_inputs_and_prints_a_summary(tmp_path):
    code, out, err = run_cli("run", DIGITS, "--inputs", _digits_inputs(tmp_path, compressed=True))
    assert code == 0 and err == "", err
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("logits  float32 [16, 10]  min "), out


def test_run_outputs_are_deterministic_across_runs_and_thread_counts(tmp_path):
    x = _digits_inputs(tmp_path, n=64)
    paths = []
    for i, threads in enumerate(["1", "2", "2"]):
        paths.append(tmp_path / f"y{i}.npz")
        code, _, err = run_cli("run", DIGITS, "--inputs", x, "--outputs", paths[-1], "--threads", threads)
        assert code == 0, err
    assert _sha(paths[0]) == _sha(paths[1]) == _sha(paths[2])


def test_verify_identical_and_full_rank_pass_compressed_fails(tmp_path):
    full = tmp_path / "full.onnx"
    assert run_cli(DIGITS, full, "--rank", "full", "--method", "tucker2", "--force", "--quiet")[0] == 0
    rank1 = tmp_path / "rank1.onnx"
    assert run_cli(DIGITS, rank1, "--rank", "1", "--force", "--quiet")[0] == 0
    x = _digits_inputs(tmp_path)

    code, out, err = run_cli("verify", DIGITS, DIGITS, "--random", "3")
    assert code == 0 and err == "", err
    assert out.splitlines()[-1] == "1 output, 3 input sets, largest rel_l2 0.000e+00, bound 1.0e-04: OK", out

    code, out, _ = run_cli("verify", DIGITS, full, "--inputs", x, "--json")
    report = json.loads(out)
    assert code == 0 and report["passed"] and report["input_sets"] == 1, out
    assert 0 < report["outputs"][0]["rel_l2"] < 1e-5, report

    code, out, err = run_cli("verify", DIGITS, rank1, "--inputs", x)
    assert code == 1 and err == "", (code, err)
    assert "above 1.0e-04" in out and out.splitlines()[-1].endswith(": FAIL"), out
    # The same pair passes under a bound above its measured error, and fails just below it.
    error = json.loads(run_cli("verify", DIGITS, rank1, "--inputs", x, "--json")[1])["outputs"][0]["rel_l2"]
    assert run_cli("verify", DIGITS, rank1, "--inputs", x, "--max-rel-error", error * 1.01)[0] == 0
    assert run_cli("verify", DIGITS, rank1, "--inputs", x, "--max-rel-error", error * 0.99)[0] == 1


def test_verify_random_inputs_depend_on_seed_and_input_shape(tmp_path):
    rank1 = tmp_path / "rank1.onnx"
    assert run_cli(DIGITS, rank1, "--rank", "1", "--force", "--quiet")[0] == 0
    runs = {}
    for args in [("--seed", "0"), ("--seed", "0"), ("--seed", "1"), ("--input-shape", "input=5x1x8x8")]:
        code, out, _ = run_cli("verify", DIGITS, rank1, "--json", *args)
        assert code == 1, out
        runs.setdefault(args, []).append(json.loads(out)["outputs"][0]["rel_l2"])
    assert runs[("--seed", "0")][0] == runs[("--seed", "0")][1], "same seed, same inputs"
    assert runs[("--seed", "1")][0] != runs[("--seed", "0")][0]
    assert runs[("--input-shape", "input=5x1x8x8")][0] != runs[("--seed", "0")][0]
    code, _, err = run_cli("verify", DIGITS, rank1, "--input-shape", "input=5x3x8x8")
    assert code == 65 and "has shape [5, 3, 8, 8]; the model declares [N, 1, 8, 8]" in err, err


def test_verify_missing_output_fails(tmp_path):
    m = onnx.load(str(DIGITS))
    m.graph.output[0].name = "renamed"
    m.graph.node[-1].output[0] = "renamed"
    other = tmp_path / "renamed.onnx"
    onnx.save(m, str(other))
    code, out, _ = run_cli("verify", DIGITS, other, "--random", "1")
    assert code == 1 and "missing from the rewritten model" in out, out


def test_verify_output_of_another_type_fails(tmp_path):
    m = onnx.load(str(DIGITS))
    last = m.graph.node[-1]
    last.output[0] = "logits_float"
    m.graph.node.append(helper.make_node("Cast", ["logits_float"], ["logits"], name="to_int", to=TensorProto.INT64))
    m.graph.output[0].type.tensor_type.elem_type = TensorProto.INT64
    other = tmp_path / "int.onnx"
    onnx.save(m, str(other))
    code, out, _ = run_cli("verify", DIGITS, other, "--random", "1")
    assert code == 1 and "int64 in the rewritten model, float32 in the original" in out, out


def _unsupported_op_model(path: Path) -> Path:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [])
    graph = helper.make_graph([helper.make_node("Det", ["x"], ["y"], name="det")], "g", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def _bad_cases(tmp: Path) -> list[tuple[str, list, int, str]]:
    """(case, arguments after `run`, exit code, text the one error line must contain)."""
    x = np.load(REPO / "Models" / "digits_test.npz")["x"][:2]
    np.savez(tmp / "wrong-name.npz", image=x)
    np.savez(tmp / "extra.npz", input=x, extra=x)
    np.savez(tmp / "no-arrays.npz")
    np.savez(tmp / "float64.npz", input=x.astype(np.float64))
    np.savez(tmp / "shape.npz", input=x[:, :, :4])
    np.savez(tmp / "rank.npz", input=x[0])
    np.save(tmp / "fortran.npy", np.asfortranarray(x))
    np.savez(tmp / "big-endian.npz", input=x.astype(">f4"))
    np.savez(tmp / "good.npz", input=x)
    good = (tmp / "good.npz").read_bytes()
    (tmp / "truncated.npz").write_bytes(good[: len(good) // 2])
    (tmp / "not-a-zip.npz").write_bytes(b"hello" * 100)
    corrupt = bytearray(good)
    corrupt[200] ^= 0xFF  # inside the .npy data: the CRC-32 no longer matches
    (tmp / "crc.npz").write_bytes(bytes(corrupt))
    model = str(DIGITS)
    return [
        ("wrong name", [model, "--inputs", tmp / "wrong-name.npz"], 65, "holds 'image', which is not an input of the model"),
        ("extra array", [model, "--inputs", tmp / "extra.npz"], 65, "holds 'extra', which is not an input"),
        ("missing input", [model, "--inputs", tmp / "no-arrays.npz"], 65, "has no array for the model input 'input'"),
        ("dtype", [model, "--inputs", tmp / "float64.npz"], 65, "is float64; the model declares FLOAT (float32)"),
        ("shape", [model, "--inputs", tmp / "shape.npz"], 65, "has shape [2, 1, 4, 8]; the model declares [N, 1, 8, 8]"),
        ("rank", [model, "--inputs", tmp / "rank.npz"], 65, "has shape [1, 8, 8]"),
        ("big-endian", [model, "--inputs", tmp / "big-endian.npz"], 65, "big-endian"),
        ("truncated npz", [model, "--inputs", tmp / "truncated.npz"], 65, "not a valid .npz"),
        ("not a zip", [model, "--inputs", tmp / "not-a-zip.npz"], 65, "not a valid .npz"),
        ("crc", [model, "--inputs", tmp / "crc.npz"], 65, "fails its CRC-32 check"),
        ("missing npz", [model, "--inputs", tmp / "nope.npz"], 66, "nope.npz' does not exist"),
        ("missing model", [tmp / "nope.onnx", "--inputs", tmp / "good.npz"], 66, "nope.onnx"),
        ("unsupported op", [_unsupported_op_model(tmp / "det.onnx"), "--inputs", tmp / "good.npz"], 69,
         "node 'det': op Det is not supported by the executor"),
        ("zero threads", [model, "--inputs", tmp / "good.npz", "--threads", "0"], 64, "--threads must be at least 1"),
    ]


BAD_CASES = ["wrong name", "extra array", "missing input", "dtype", "shape", "rank", "big-endian", "truncated npz",
             "not a zip", "crc", "missing npz", "missing model", "unsupported op", "zero threads"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_run_bad_input_is_one_line_and_writes_nothing(case, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    name, args, want, needle = next(c for c in _bad_cases(src) if c[0] == case)
    before = {p.name: _sha(p) for p in src.iterdir()}
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, stdout, stderr = run_cli("run", *args, "--outputs", out_dir / "y.npz")
    assert code == want, (name, code, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("onnx-rstd: error: "), stderr
    assert needle in lines[0], lines[0]
    assert stdout == ""
    assert list(out_dir.iterdir()) == [], "nothing may be written on failure"
    assert {p.name: _sha(p) for p in src.iterdir()} == before, "inputs must not change"


@pytest.mark.parametrize("case", ["wrong name", "dtype", "crc", "unsupported op"])
def test_verify_bad_input_has_the_same_codes(case, tmp_path):
    _, args, want, needle = next(c for c in _bad_cases(tmp_path) if c[0] == case)
    model = args[0]
    code, stdout, stderr = run_cli("verify", model, model, *args[1:])
    assert code == want and needle in stderr and len(stderr.strip().splitlines()) == 1, (code, stderr)
    assert stdout == ""


def test_outputs_never_replace_a_file_read(tmp_path):
    x = _digits_inputs(tmp_path)
    model = tmp_path / "m.onnx"
    model.write_bytes(DIGITS.read_bytes())
    link = tmp_path / "link.npz"
    link.symlink_to(x)
    before = (_sha(x), _sha(model))
    for target, needle in [(x, "is the --inputs file"), (link, "is the --inputs file"), (model, "is the model")]:
        code, _, err = run_cli("run", model, "--inputs", x, "--outputs", target)
        assert code == 64 and needle in err, (target, code, err)
    assert (_sha(x), _sha(model)) == before
    code, _, err = run_cli("run", model, "--inputs", x, "--outputs", tmp_path / "no-folder" / "y.npz")
    assert code == 73 and "does not exist" in err, err


def test_outputs_replace_an_existing_file_atomically(tmp_path):
    x = _digits_inputs(tmp_path)
    y = tmp_path / "y.npz"
    y.write_bytes(b"old")
    code, _, err = run_cli("run", DIGITS, "--inputs", x, "--outputs", y)
    assert code == 0, err
    assert np.load(y)["logits"].shape == (16, 10)
    assert [p.name for p in tmp_path.iterdir() if "onnx-rstd-tmp" in p.name] == [], "no temporary file left"


@pytest.mark.parametrize("args, needle", [
    (["--inputs", "a.npz", "--random", "2"], "not both"),
    (["--random", "0"], "--random takes a count"),
    (["--max-rel-error=-1"], "--max-rel-error must be"),
    (["--input-shape", "input=1x0x8x8"], "input-shape"),
    (["--input-shape", "nope=1x1x8x8"], "'--input-shape' holds 'nope', which is not an input"),
])
def test_verify_usage_errors(args, needle, tmp_path):
    code, _, err = run_cli("verify", DIGITS, DIGITS, *args)
    assert needle in err and len(err.strip().splitlines()) == 1, err
    assert code == (65 if "nope" in needle else 64), (code, err)
