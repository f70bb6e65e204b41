"""Re-derives the golden shuffle values from the numpy reference in docs/shuffles.md and checks
them against Tests/TensorAlgebraTests/ShuffleGoldenValues.swift (which the Swift tests check
against the Swift implementation). Run: python3 Tests/TensorAlgebraTests/shuffles_reference.py"""
import pathlib
import re
import sys

import numpy as np

root = pathlib.Path(__file__).resolve().parents[2]
doc = (root / "docs/shuffles.md").read_text()
snippet = doc.split("## numpy reference", 1)[1].split("```python", 1)[1].split("```", 1)[0]
namespace = {}
exec(snippet, namespace)
splitmix64 = namespace["splitmix64"]
fisher_yates = namespace["fisher_yates"]
steps = namespace["entry_shuffle_steps"]
gather = namespace["gather_indices"]

swift = (root / "Tests/TensorAlgebraTests/ShuffleGoldenValues.swift").read_text()


def golden(name):
    m = re.search(rf"static let {name}: [^=]+= \[?([0-9, ]+)\]?", swift)
    return [int(x) for x in m.group(1).split(",")]


def take(gen, n):
    return [next(gen) for _ in range(n)]


big = gather((16, 8, 3, 3), steps((16, 8, 3, 3), 5))
checks = {
    "splitMix0": take(splitmix64(0), 3),
    "splitMix1234567": take(splitmix64(1234567), 3),
    "permutation10Seed42": fisher_yates(10, splitmix64(42)),
    "permutation16Seed7": fisher_yates(16, splitmix64(7)),
    "gather4x3x2x2Seed99": gather((4, 3, 2, 2), steps((4, 3, 2, 2), 99)).tolist(),
    "gather16x8x3x3Seed5Prefix": big[:12].tolist(),
    "gather16x8x3x3Seed5Checksum": [int((big * np.arange(big.size)).sum())],
}
failed = [k for k, v in checks.items() if golden(k) != v]
# Round trip: shuffle then gather restores the tensor.
w = np.random.default_rng(0).standard_normal((4, 3, 2, 2)).astype(np.float32)
g = gather(w.shape, steps(w.shape, 99))
s = np.empty(w.size, np.float32)
s[g] = w.ravel()
if not np.array_equal(s[g].reshape(w.shape), w):
    failed.append("round trip")
print("shuffle reference:", "FAILED " + ", ".join(failed) if failed else f"{len(checks)} golden values match")
sys.exit(1 if failed else 0)
