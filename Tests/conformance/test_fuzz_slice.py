"""The fuzz harness's CI slice (Tests/fuzz/rstd_fuzz.py): a fixed seed and a bounded number of
cases, so `make test` runs the same cases every time (about a minute here; the budget is 3).

Environment knobs, for running a wider or narrower slice by hand:
  RSTD_FUZZ_SEED      case seed (default 20261130)
  RSTD_FUZZ_CASES     number of cases (default 500)
  RSTD_FUZZ_FAMILIES  comma-separated mutation families (default: all of rstd_fuzz.FAMILIES)
  RSTD_FUZZ_STRICT=1  ignore rstd_fuzz.EXPECTED_FAILURES (the documented allow-list of classes
                      that belong to the graph-validation half of issue 9)

Failures are saved under Tests/fuzz/failures/ with a replay command.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from rstd_testing import REPO, cli

sys.path.insert(0, str(REPO / "Tests" / "fuzz"))
import rstd_fuzz  # noqa: E402

SEED = int(os.environ.get("RSTD_FUZZ_SEED", "20261130"))
CASES = int(os.environ.get("RSTD_FUZZ_CASES", "500"))
FAMILIES = [f for f in os.environ.get("RSTD_FUZZ_FAMILIES", ",".join(rstd_fuzz.FAMILIES)).split(",") if f]
STRICT = os.environ.get("RSTD_FUZZ_STRICT") == "1"


def test_the_seed_corpus_has_models_and_every_family_is_known():
    seeds = rstd_fuzz.seed_models()
    assert len(seeds) >= 40, f"only {len(seeds)} seed models"
    assert any("conv2d_external_data" in str(p) for p in seeds)
    assert set(FAMILIES) <= set(rstd_fuzz.FAMILIES), FAMILIES


def test_cases_are_reproducible_from_seed_and_index():
    seeds = rstd_fuzz.seed_models()
    a = rstd_fuzz.make_case(SEED, 17, rstd_fuzz.FAMILIES, seeds)
    b = rstd_fuzz.make_case(SEED, 17, rstd_fuzz.FAMILIES, seeds)
    assert a.describe() == b.describe() and a.model_bytes == b.model_bytes


def test_the_oracle_catches_what_it_claims(tmp_path):
    # A fake tool that writes a multi-line error and leaves a file: both must be caught.
    fake = tmp_path / "fake-tool"
    fake.write_text("#!/bin/sh\necho 'line one' >&2\necho 'line two' >&2\ntouch \"$(dirname \"$2\")/left\"\nexit 65\n")
    fake.chmod(0o755)
    case = rstd_fuzz.make_case(SEED, 0, ["options"], rstd_fuzz.seed_models())
    assert rstd_fuzz.run_case(case, fake).klass == "multiline-stderr"
    fake.write_text("#!/bin/sh\necho 'onnx-rstd: error: x' >&2\ntouch \"$(dirname \"$2\")/left\"\nexit 65\n")
    assert rstd_fuzz.run_case(case, fake).klass == "wrote-on-failure"
    fake.write_text("#!/bin/sh\nkill -ILL $$\n")
    assert rstd_fuzz.run_case(case, fake).klass == "trap"
    fake.write_text("#!/bin/sh\nexit 2\n")
    assert rstd_fuzz.run_case(case, fake).klass == "bad-exit"


def test_fuzz_slice():
    binary = cli()
    if not binary.is_file():
        pytest.fail(f"onnx-rstd not found at {binary}; build it or set ONNX_RSTD", pytrace=False)
    lines = []
    ran, unexpected, expected = rstd_fuzz.fuzz(SEED, CASES, None, FAMILIES, binary,
                                                set() if STRICT else rstd_fuzz.EXPECTED_FAILURES, log=lines.append)
    print("\n".join(lines[-30:]))
    assert ran == CASES
    assert not unexpected, "\n".join(
        f"{o.klass} [{c.family}: {c.mutation}] {c.seed_model} exit {o.exit_code}: {o.detail}" for c, o in unexpected[:20])
