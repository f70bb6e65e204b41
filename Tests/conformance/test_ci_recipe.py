"""docs/ci.md: the CI-regression recipe, run exactly as written (the shell block after the
`<!-- ci-recipe -->` marker), passing as shipped and failing the job when the bound is too tight."""
from __future__ import annotations

import json
import os
import subprocess

from rstd_testing import REPO, cli

import pytest


def _recipe() -> str:
    text = (REPO / "docs" / "ci.md").read_text()
    marker = text.index("<!-- ci-recipe -->")
    start = text.index("```sh\n", marker) + len("```sh\n")
    return text[start:text.index("```", start)]


def _run(tmp_path, **env) -> subprocess.CompletedProcess:
    if not cli().is_file():
        pytest.fail(f"onnx-rstd not found at {cli()}", pytrace=False)
    environment = dict(os.environ, ONNX_RSTD=str(cli()), OUT=str(tmp_path / "ci"), **env)
    return subprocess.run(["bash", "-c", _recipe()], cwd=REPO, env=environment, capture_output=True, text=True, timeout=600)


def test_recipe_passes_as_shipped(tmp_path):
    done = _run(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("ci: every compressed model within its bound"), done.stdout
    report = json.loads((tmp_path / "ci" / "digits_cnn.verify.json").read_text())
    assert report["passed"] and report["input_sets"] == 1
    # The stored inputs really went through: --ratio 0.7 compresses digits, so the error is
    # measurable, yet inside the check's bound (0.2 on synthetic inputs; 0.186 on these).
    assert 0 < report["outputs"][0]["rel_l2"] <= 0.25, report
    for name in ["conv_chain", "conv2d_grouped", "conv1d"]:
        zoo = json.loads((tmp_path / "ci" / f"{name}.verify.json").read_text())
        assert zoo["passed"] and zoo["input_sets"] == 4, (name, zoo)


def test_recipe_fails_the_job_when_an_output_is_above_the_bound(tmp_path):
    """A bound tighter than what the shipped options give: the job must stop at that model."""
    done = _run(tmp_path, DIGITS_MAX_REL_ERROR="1e-3")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ci: every compressed model" not in done.stdout
    report = json.loads((tmp_path / "ci" / "digits_cnn.verify.json").read_text())
    assert not report["passed"] and report["outputs"][0]["rel_l2"] > 1e-3
    assert not (tmp_path / "ci" / "conv_chain.verify.json").exists(), "set -e stops the job at the failure"
