"""The CLI's file-system contract (docs/security.md): it never reads outside the model's folder,
never replaces its input or a non-regular file, commits model, side file and report together or
not at all, cleans its temporary files on SIGINT/SIGTERM, and every error is one line."""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from rstd_testing import REPO, cli, run_cli

DIGITS = REPO / "Models/digits_cnn.onnx"
EXTERNAL = REPO / "Models/zoo/conv2d_external_data.onnx"


def _state(folder: Path) -> dict[str, tuple]:
    """Every entry under `folder`, not following symlinks: its type and, for regular files, a hash."""
    result = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            result[str(p.relative_to(folder))] = ("link", os.readlink(p))
        elif p.is_fifo():
            result[str(p.relative_to(folder))] = ("fifo",)
        elif p.is_dir():
            result[str(p.relative_to(folder))] = ("dir",)
        else:
            result[str(p.relative_to(folder))] = ("file", hashlib.sha256(p.read_bytes()).hexdigest())
    return result


def _one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("onnx-rstd: error: "), stderr
    return lines[0]


def _refused(tmp_path: Path, args: list, code: int, needle: str) -> None:
    """Runs the CLI; asserts exit `code`, one line containing `needle`, and no change anywhere."""
    before = _state(tmp_path)
    got, _, err = run_cli(*args, timeout=60)
    assert got == code, err
    assert needle in _one_line_error(err), err
    assert _state(tmp_path) == before, "nothing may be written or changed on failure"


# --- paths that alias the input or each other, non-regular targets ----------------------------

def test_report_on_the_input_is_refused(tmp_path):
    shutil.copy(DIGITS, tmp_path / "in.onnx")
    _refused(tmp_path, [tmp_path / "in.onnx", tmp_path / "o.onnx", "--report", tmp_path / "in.onnx"], 64,
             f"the report '{tmp_path / 'in.onnx'}' is the input")


def test_report_on_the_output_is_refused(tmp_path):
    shutil.copy(DIGITS, tmp_path / "in.onnx")
    _refused(tmp_path, [tmp_path / "in.onnx", tmp_path / "o.onnx", "--report", f"{tmp_path}/./o.onnx"], 64,
             "is the output")


def test_output_reaching_the_input_through_a_symlinked_folder_is_refused(tmp_path):
    shutil.copy(DIGITS, tmp_path / "in.onnx")
    (tmp_path / "link").symlink_to(".")
    _refused(tmp_path, [tmp_path / "in.onnx", tmp_path / "link" / "in.onnx"], 64, "is the input")


def test_output_through_a_symlink_to_the_input_is_refused(tmp_path):
    shutil.copy(DIGITS, tmp_path / "real.onnx")
    (tmp_path / "in.onnx").symlink_to("real.onnx")
    _refused(tmp_path, [tmp_path / "in.onnx", tmp_path / "real.onnx"], 64, "is the input")


def test_output_on_the_inputs_external_data_is_refused(tmp_path):
    shutil.copy(EXTERNAL, tmp_path / "in.onnx")
    shutil.copy(str(EXTERNAL) + ".data", tmp_path / "conv2d_external_data.onnx.data")
    _refused(tmp_path, [tmp_path / "in.onnx", tmp_path / "o.onnx", "--report", tmp_path / "conv2d_external_data.onnx.data"],
             64, "the input's external data")


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
@pytest.mark.parametrize("role", ["output", "report"])
def test_non_regular_targets_are_refused_with_73(kind, role, tmp_path):
    shutil.copy(DIGITS, tmp_path / "in.onnx")
    target = tmp_path / "target"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "device":
        target.symlink_to("/dev/null")  # never /dev/null itself: a broken tool would replace it
    else:
        target.mkdir()
    args = [tmp_path / "in.onnx", target] if role == "output" else [tmp_path / "in.onnx", tmp_path / "o.onnx", "--report", target]
    _refused(tmp_path, args, 73, f"cannot write '{target}'")


def test_a_fifo_as_the_model_does_not_block(tmp_path):
    os.mkfifo(tmp_path / "in.onnx")
    _refused(tmp_path, [tmp_path / "in.onnx", tmp_path / "o.onnx"], 66, "is not a regular file")


# --- the report is part of the transaction ----------------------------------------------------

def test_a_report_that_cannot_be_written_leaves_no_model(tmp_path):
    shutil.copy(DIGITS, tmp_path / "in.onnx")
    _refused(tmp_path, [tmp_path / "in.onnx", tmp_path / "o.onnx", "--report", tmp_path / "no" / "r.json"], 73,
             f"output folder '{tmp_path / 'no'}' does not exist")


def test_rewriting_over_a_previous_output_pair_keeps_it_consistent(tmp_path):
    shutil.copy(DIGITS, tmp_path / "in.onnx")
    out = tmp_path / "o.onnx"
    for rank in ("2", "3", "3"):
        code, _, err = run_cli(tmp_path / "in.onnx", out, "--external-data", "--rank", rank, "--report", tmp_path / "r.json", "--quiet")
        assert code == 0, err
        onnx.checker.check_model(str(out), full_check=True)
        locations = {e.value for t in onnx.load(str(out), load_external_data=False).graph.initializer
                     for e in t.external_data if e.key == "location"}
        sides = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("o.onnx."))
        assert sides == sorted(locations), "exactly the side file the model references is left"
    assert not [p for p in tmp_path.iterdir() if "onnx-rstd-tmp" in p.name]


# --- signals ----------------------------------------------------------------------------------

def _slow_model(path: Path) -> None:
    """Sixteen 256×256 3×3 convs: cp at rank 128 takes ~10 s on idle cores, long after the signal
    at 0.8 s (four convs at rank 32 took 0.9 s once the cores were idle and the fits faster: the
    run finished before the signal)."""
    rng = np.random.default_rng(0)
    nodes, weights, x = [], [], "X"
    for i in range(16):
        weights.append(numpy_helper.from_array(rng.standard_normal((256, 256, 3, 3)).astype(np.float32), f"w{i}"))
        nodes.append(helper.make_node("Conv", [x, f"w{i}"], [f"y{i}"], pads=[1, 1, 1, 1], name=f"c{i}"))
        x = f"y{i}"
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("X", onnx.TensorProto.FLOAT, [1, 256, 8, 8])],
                              [helper.make_tensor_value_info(x, onnx.TensorProto.FLOAT, [1, 256, 8, 8])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_exits_128_plus_signal_and_leaves_nothing(sig, tmp_path):
    _slow_model(tmp_path / "in.onnx")
    before = _state(tmp_path)
    process = subprocess.Popen([str(cli()), str(tmp_path / "in.onnx"), str(tmp_path / "o.onnx"), "--method", "cp",
                                "--rank", "128", "--external-data", "--report", str(tmp_path / "r.json")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.8)
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + sig, (process.returncode, err)
    assert _state(tmp_path) == before, "an interrupted run leaves no file behind"


# --- one-line errors --------------------------------------------------------------------------

@pytest.mark.parametrize("args, needle", [
    (["--rank", "3", "--ratio", "0.5"], "Give at most one of --rank, --ratio and --max-error."),
    (["--method", "magic"], "The value 'magic' is invalid for '--method <method>'"),
    (["--no-such-flag"], "Unknown option '--no-such-flag'"),
    (["--ratio"], "Missing value for '--ratio <R>'"),
])
def test_usage_errors_are_one_line_with_a_hint(args, needle, tmp_path):
    code, out, err = run_cli(DIGITS, tmp_path / "o.onnx", *args)
    assert code == 64, err
    line = _one_line_error(err)
    assert needle in line and line.endswith("(see --help)"), line
    assert out == "" and list(tmp_path.iterdir()) == []


def test_no_arguments_is_a_one_line_usage_error():
    code, _, err = run_cli()
    assert code == 64
    assert "Missing expected argument '<input>'" in _one_line_error(err)


def test_names_with_line_breaks_stay_on_one_line(tmp_path):
    # A tensor named with a line break, whose external data is missing: the message names it.
    m = onnx.load(str(DIGITS))
    t = m.graph.initializer[0]
    t.ClearField("raw_data")
    t.data_location = onnx.TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", "missing\n.bin"
    (tmp_path / "in.onnx").write_bytes(m.SerializeToString())
    _refused(tmp_path, [tmp_path / "in.onnx", tmp_path / "o.onnx"], 65, "missing\\n.bin")


def test_help_and_version_still_print_to_stdout():
    code, out, err = run_cli("--version")
    assert (code, out.strip(), err) == (0, "0.1.0", "")
    code, out, _ = run_cli("rewrite", "--help")
    assert code == 0 and "USAGE:" in out and "--report" in out
