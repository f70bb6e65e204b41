"""Helpers shared by the conformance tests: the CLI, onnxruntime runs, feeds, errors."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

REPO = Path(__file__).resolve().parents[2]
ONNX_WHEEL = Path(onnx.__file__).resolve().parent


def cli() -> Path:
    """The built tool: $ONNX_RSTD, else the release build, else the debug build."""
    if os.environ.get("ONNX_RSTD"):
        return Path(os.environ["ONNX_RSTD"]).resolve()
    for p in (REPO / ".build/release/onnx-rstd", REPO / ".build/debug/onnx-rstd"):
        if p.exists():
            return p
    raise FileNotFoundError("onnx-rstd is not built: run `swift build -c release` (or set ONNX_RSTD)")


def run_cli(*args: str) -> tuple[int, str, str]:
    """Runs the tool; returns (exit code, stdout, stderr)."""
    p = subprocess.run([str(cli()), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def random_feeds(model: Path, seed: int) -> dict[str, np.ndarray]:
    """Seeded standard-normal inputs for every graph input that is not an initializer
    (dynamic dimensions become 2)."""
    m = onnx.load(str(model), load_external_data=False)
    inits = {t.name for t in m.graph.initializer}
    rng = np.random.default_rng(seed)
    feeds = {}
    for i in m.graph.input:
        if i.name in inits:
            continue
        t = i.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else 2 for d in t.shape.dim]
        feeds[i.name] = rng.standard_normal(shape).astype(onnx.helper.tensor_dtype_to_np_dtype(t.elem_type))
    return feeds


def feeds_for(model: Path, input_pb: Path | None, seed: int) -> dict[str, np.ndarray]:
    """The test's own first input when given, else random feeds."""
    feeds = random_feeds(model, seed)
    if input_pb is not None:
        t = onnx.TensorProto()
        t.ParseFromString(input_pb.read_bytes())
        first = next(iter(feeds))
        feeds[first] = numpy_helper.to_array(t)
    return feeds


def ort_outputs(model: Path, feeds: dict[str, np.ndarray], optimized: bool) -> list[np.ndarray]:
    """All outputs of `model` in onnxruntime (CPU, 1 thread), graph optimizations all or none."""
    so = ort.SessionOptions()
    so.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimized else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    s = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
    return s.run(None, feeds)


def rel_l2(a: np.ndarray, b: np.ndarray) -> float:
    """‖a − b‖₂ / ‖a‖₂ (0 when both are zero)."""
    na = float(np.linalg.norm(a))
    d = float(np.linalg.norm(a - b))
    return d / na if na > 0 else d
