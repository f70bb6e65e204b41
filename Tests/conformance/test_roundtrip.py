"""Load + save round trip through the CLI.

`onnx-rstd <in> <out> --exclude '*'` compresses nothing, so the output must be the same model:
onnx.checker (full check, with shape inference) passes, and onnxruntime gives bit-identical
outputs to the original's on the same seeded inputs, with graph optimizations off and on (each
compared with the original at the same level). Runs over every model in Models/ and the onnx
wheel's test_Conv*/test_ConvTranspose* models. Fails (never skips) when the CLI is missing.
"""
from pathlib import Path

import onnx
import pytest

from rstd_testing import REPO, assert_bit_identical, onnx_conv_test_models, ort_outputs, random_feeds, run_cli, sample_models


def _cases() -> list:
    cases = [pytest.param(p, id=str(p.relative_to(REPO))) for p in sample_models()]
    cases += [pytest.param(p, id="onnx/" + p.parent.name) for p in onnx_conv_test_models()]
    return cases


def test_there_are_models_to_round_trip():
    assert len(sample_models()) >= 1, "no models under Models/"
    names = [p.parent.name for p in onnx_conv_test_models()]
    assert len(names) >= 28 and "test_ConvTranspose2d" in names, names


@pytest.mark.parametrize("model_path", _cases())
def test_load_save_is_identity(model_path: Path, tmp_path: Path):
    out = tmp_path / "out.onnx"
    code, stdout, stderr = run_cli(model_path, out, "--exclude", "*")
    assert code == 0, f"exit {code}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    assert out.is_file(), f"no output written\nstdout:\n{stdout}\nstderr:\n{stderr}"

    onnx.checker.check_model(str(out), full_check=True)

    original, saved = onnx.load(str(model_path)), onnx.load(str(out))
    assert saved.ir_version == original.ir_version
    assert [(o.domain, o.version) for o in saved.opset_import] == [(o.domain, o.version) for o in original.opset_import]

    feeds = random_feeds(model_path, seed=0)
    for optimized in (False, True):
        level = "ORT_ENABLE_ALL" if optimized else "ORT_DISABLE_ALL"
        assert_bit_identical(
            ort_outputs(model_path, feeds, optimized), ort_outputs(out, feeds, optimized), f"{model_path.name} at {level}")
