"""Fixtures for the real-model suite. Run: `python -m pytest Tests/realmodels -q`.

The CLI is $ONNX_RSTD, else .build/release/onnx-rstd, .build/debug/onnx-rstd or
.build-real/release/onnx-rstd; tests that need it FAIL (never skip) when it is missing.
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rm_helpers as H  # noqa: E402


@pytest.fixture(scope="session")
def manifest():
    return H.fetch_models()


@pytest.fixture(scope="session")
def cli():
    p = H.find_cli()
    if p is None or not p.is_file():
        pytest.fail("onnx-rstd CLI not found: set ONNX_RSTD or build it "
                    "(swift build -c release --product onnx-rstd)", pytrace=False)
    return p


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("realmodels")


class Rewrites:
    """One CLI run per (model, setting), shared by all tests of the session."""

    def __init__(self, cli, manifest, workdir):
        self.cli, self.manifest, self.workdir = cli, manifest, workdir
        self.done = {}

    def get(self, model: str, setting: str, options: list):
        key = (model, setting)
        if key not in self.done:
            src = Path(self.manifest[model]["path"])
            dst = self.workdir / f"{model}.{setting}.onnx"
            self.done[key] = (dst, H.run_cli(self.cli, src, dst, *options))
        return self.done[key]


@pytest.fixture(scope="session")
def rewrites(cli, manifest, workdir):
    return Rewrites(cli, manifest, workdir)


class Evaluators:
    def __init__(self, manifest):
        self.manifest, self.cache = manifest, {}

    def get(self, model):
        if model not in self.cache:
            m = self.manifest[model]
            self.cache[model] = H.Evaluator(model, m["task"], Path(m["path"]))
        return self.cache[model]


@pytest.fixture(scope="session")
def evaluators(manifest):
    return Evaluators(manifest)
