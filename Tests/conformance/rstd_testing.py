"""Helpers shared by the conformance tests (pytest + onnx + onnxruntime).

A module of its own, not conftest.py: Tests/realmodels has a conftest too, and `from conftest import`
would pick whichever pytest loaded last when both suites run in one session.

Helpers:
  REPO                      the repository root
  cli()                     path of the built tool: $ONNX_RSTD, else the release build, else the debug build
  run_cli(*args)            runs the tool; returns (exit code, stdout, stderr); FAILS the test
                            (never skips) when the tool is missing
  assert_refused(model, tmp_path, needle)
                            a rewrite of `model` exits 65 with one line holding `needle`, writes nothing
  ort_outputs(path, feeds, optimized)
                            onnxruntime outputs (list of arrays, in graph-output order), graph
                            optimizations ORT_ENABLE_ALL (optimized=True) or ORT_DISABLE_ALL,
                            one thread, sequential execution, so two runs are bit-identical
  random_feeds(path, seed)  seeded random inputs from the graph inputs' types (dynamic dims → 1)
  rel_l2(a, b)              ‖a − b‖₂ / ‖a‖₂ (0 when both are 0)
  assert_bit_identical(expected, got, what)
                            same count, dtype, shape and bytes for every output
  sample_models()           every .onnx under Models/, recursively, sorted
  onnx_conv_test_models()   model.onnx of the onnx wheel's pytorch-converted test_Conv* and
                            test_ConvTranspose* backend tests, sorted
  feeds_for(path, input_pb, seed)
                            random_feeds with the first input replaced by a test's own input_0.pb
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

REPO = Path(__file__).resolve().parents[2]
ONNX_WHEEL = Path(onnx.__file__).resolve().parent

_BUILD_HINT = "build it with `swift build --product onnx-rstd` or set ONNX_RSTD to its path"


def cli() -> Path:
    """Path of the onnx-rstd binary: $ONNX_RSTD if set, else the release build if it exists,
    else the debug build."""
    env = os.environ.get("ONNX_RSTD")
    if env:
        return Path(env)
    release = REPO / ".build" / "release" / "onnx-rstd"
    return release if release.is_file() else REPO / ".build" / "debug" / "onnx-rstd"


def run_cli(*args, timeout: float = 600) -> tuple[int, str, str]:
    """Runs onnx-rstd with `args` (converted with str) and returns (exit code, stdout, stderr).

    Fails the calling test, with a build hint, when the binary does not exist: a conformance
    suite that silently skips proves nothing.
    """
    path = cli()
    if not path.is_file():
        pytest.fail(f"onnx-rstd not found at {path}: {_BUILD_HINT}", pytrace=False)
    done = subprocess.run([str(path), *map(str, args)], capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def assert_refused(model: onnx.ModelProto, tmp_path: Path, needle: str) -> None:
    """Saves `model`, rewrites it: exit 65, one stderr line holding `needle`, nothing written and
    the input unchanged."""
    src, dst = tmp_path / "in.onnx", tmp_path / "out.onnx"
    onnx.save(model, src)
    before = src.read_bytes()
    code, _, err = run_cli(src, dst)
    assert code == 65, f"exit {code}: {err}"
    assert err.count("\n") == 1 and needle in err, err
    assert not dst.exists() and src.read_bytes() == before


def _session(model_path, optimized: bool) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimized else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    )
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])


def ort_outputs(model_path, feeds: dict, optimized: bool) -> list[np.ndarray]:
    """Runs the model once on `feeds`; returns every graph output in order."""
    return _session(model_path, optimized).run(None, feeds)


def _graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """Graph inputs that are real inputs (IR < 4 models also list their initializers)."""
    initializers = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in initializers]


def random_feeds(model_path, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded random values for every graph input, from its declared type.

    Dynamic or unknown dims become 1. Floats are standard normal, integers uniform in [0, 4),
    booleans fair coins.
    """
    model = onnx.load(str(model_path), load_external_data=False)
    rng = np.random.default_rng(seed)
    feeds = {}
    for value in _graph_inputs(model):
        if not value.type.HasField("tensor_type"):
            raise ValueError(f"input '{value.name}' of {model_path} is not a tensor; random_feeds cannot fill it")
        tensor_type = value.type.tensor_type
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor_type.elem_type)
        shape = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1 for d in tensor_type.shape.dim]
        if np.issubdtype(dtype, np.floating):
            feeds[value.name] = rng.standard_normal(shape).astype(dtype)
        elif np.issubdtype(dtype, np.integer):
            feeds[value.name] = rng.integers(0, 4, size=shape).astype(dtype)
        elif dtype == np.bool_:
            feeds[value.name] = rng.integers(0, 2, size=shape).astype(np.bool_)
        else:
            raise ValueError(f"input '{value.name}' of {model_path} has type {dtype}; random_feeds cannot fill it")
    return feeds


def rel_l2(a, b) -> float:
    """Relative L2 error ‖a − b‖₂ / ‖a‖₂ in float64 (a is the reference); 0 when both are 0,
    inf when only the reference is 0."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    diff = float(np.linalg.norm((a - b).ravel()))
    ref = float(np.linalg.norm(a.ravel()))
    if ref == 0:
        return 0.0 if diff == 0 else float("inf")
    return diff / ref


def assert_bit_identical(expected: list[np.ndarray], got: list[np.ndarray], what: str) -> None:
    """Asserts that two output lists have the same length and, output by output, the same dtype,
    shape and bytes (so NaNs and signed zeros must match too)."""
    assert len(got) == len(expected), f"{what}: {len(got)} outputs, expected {len(expected)}"
    for i, (e, g) in enumerate(zip(expected, got)):
        assert g.dtype == e.dtype and g.shape == e.shape, (
            f"{what}: output {i} is {g.dtype}{list(g.shape)}, expected {e.dtype}{list(e.shape)}")
        assert g.tobytes() == e.tobytes(), f"{what}: output {i} differs, rel_l2 {rel_l2(e, g):.3g}"


def sample_models() -> list[Path]:
    """Every .onnx file under Models/ (recursively), sorted."""
    return sorted((REPO / "Models").rglob("*.onnx"))


def onnx_conv_test_models() -> list[Path]:
    """The onnx wheel's pytorch-converted test_Conv* (including test_ConvTranspose*) models."""
    root = Path(onnx.__file__).resolve().parent / "backend" / "test" / "data" / "pytorch-converted"
    return sorted(p / "model.onnx" for p in root.glob("test_Conv*") if (p / "model.onnx").is_file())


def feeds_for(model_path, input_pb: Path | None, seed: int) -> dict[str, np.ndarray]:
    """random_feeds, with the first input replaced by a backend test's own `input_0.pb` if given."""
    feeds = random_feeds(model_path, seed)
    if input_pb is not None:
        t = onnx.TensorProto()
        t.ParseFromString(Path(input_pb).read_bytes())
        feeds[next(iter(feeds))] = onnx.numpy_helper.to_array(t)
    return feeds
