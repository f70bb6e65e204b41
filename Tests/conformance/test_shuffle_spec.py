"""docs/shuffles.md's numpy reference reproduces the Swift golden values (SplitMix64, seeded
permutations, EntryShuffle gather indices): the specification and the code agree."""
import subprocess
import sys

from rstd_testing import REPO


def test_numpy_reference_matches_swift_golden_values():
    script = REPO / "Tests/TensorAlgebraTests/shuffles_reference.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "golden values match" in done.stdout
