#!/usr/bin/env python3
"""Decomposition benchmark: TensorAlgebra (Swift) against TensorLy and a numpy-SVD floor.

Kernels: the 53 conv weight shapes of the onnx wheel's light_resnet50.onnx (read from the
ConstantOfShape shape initializers) and the digits CNN's convs (Models/digits_cnn.onnx, if
present), filled with seeded random values with a decaying spectrum on modes 0 and 1:
W = G x0 (Q_M diag(s_M)) x1 (Q_C diag(s_C)), G Gaussian, Q random orthogonal,
s_i = exp(-3 i / n) (first to last singular value ratio e^-3 on each mode).

Ranks at parameter ratio rho (parameters <= rho x original, same ranks for every implementation):
  svd      r = floor(rho M n / (M + n)), n = C k1 k2
  tucker2  r_o = floor(a M), r_i = floor(a C), a the root of a^2 M C K + a (M^2 + C^2) = rho M C K
  cp       R = floor(rho M C K / (M + C + k1 + k2)); subsampled (see CP_KERNELS), since TensorLy's
           parafac on every ResNet kernel would take far beyond the time budget.
Every process runs with OPENBLAS_NUM_THREADS=1 (a shared, noisy 2-core machine; one thread each
makes the comparison about the algorithms). Times are wall-clock seconds of the decomposition
call only; errors are ||W - W_hat||_F / ||W||_F measured on the reconstruction in float64.

Usage: python3 bench/decompose/run.py [--skip-build] [--quick]
"""
import argparse
import json
import math
import os
import pathlib
import subprocess
import sys
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "bench"
RATIOS = (0.5, 0.25)
SEED = 20261123
CP_SWEEPS, CP_TOL = 50, 1e-6


def resnet_shapes():
    path = pathlib.Path(onnx.__file__).parent / "backend/test/data/light/light_resnet50.onnx"
    m = onnx.load(str(path))
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    producers = {o: n for n in m.graph.node for o in n.output}
    shapes = []
    for n in m.graph.node:
        if n.op_type == "Conv":
            shapes.append(tuple(int(x) for x in inits[producers[n.input[1]].input[0]]))
    return shapes


def digits_shapes():
    path = ROOT / "Models" / "digits_cnn.onnx"
    if not path.exists():
        return None
    m = onnx.load(str(path))
    inits = {i.name: i for i in m.graph.initializer}
    return [tuple(inits[n.input[1]].dims) for n in m.graph.node if n.op_type == "Conv" and n.input[1] in inits]


def orthogonal(n, rng, cache={}):
    if n not in cache:
        q, r = np.linalg.qr(rng.standard_normal((n, n)))
        cache[n] = (q * np.sign(np.diag(r))).astype(np.float32)
    return cache[n]


def make_kernel(shape, rng):
    m, c = shape[0], shape[1]
    g = rng.standard_normal(shape).astype(np.float32)
    sm = np.exp(-3.0 * np.arange(m) / m).astype(np.float32)
    sc = np.exp(-3.0 * np.arange(c) / c).astype(np.float32)
    w = np.tensordot(orthogonal(m, rng) * sm, g, axes=(1, 0))
    w = np.moveaxis(np.tensordot(orthogonal(c, rng) * sc, w, axes=(1, 1)), 0, 1)
    return np.ascontiguousarray(w, dtype=np.float32)


def ranks(method, shape, rho):
    m, c = shape[0], shape[1]
    k = math.prod(shape[2:])
    total = m * c * k
    if method == "svd":
        n = c * k
        return [max(1, min(min(m, n), int(rho * m * n / (m + n))))]
    if method == "tucker2":
        a2, a1 = m * c * k, m * m + c * c
        a = (-a1 + math.sqrt(a1 * a1 + 4 * a2 * rho * total)) / (2 * a2)
        return [max(1, min(m, int(a * m))), max(1, min(c, int(a * c)))]
    return [max(1, int(rho * total / sum(shape)))]


def cp_subset(kernels):
    """CP kernels: every spatial (k > 1) kernel with at most 128 input and output channels."""
    return [i for i, (_, s) in enumerate(kernels) if math.prod(s[2:]) > 1 and s[0] <= 128 and s[1] <= 128]


def run_python(kernels, jobs):
    import tensorly as tl
    from tensorly.decomposition import parafac, partial_tucker

    tl.set_backend("numpy")
    out = []
    cache = {}
    for j in jobs:
        name, shape = kernels[j["kernel"]]
        if j["kernel"] not in cache:
            cache = {j["kernel"]: np.load(CACHE / f"k{j['kernel']:03d}.npy")}
        w = cache[j["kernel"]]
        start = time.perf_counter()
        if j["method"] == "numpy-svd":
            u, s, vt = np.linalg.svd(w.reshape(shape[0], -1), full_matrices=False)
            seconds = time.perf_counter() - start
            r = j["ranks"][0]
            w_hat = ((u[:, :r] * s[:r]) @ vt[:r]).reshape(shape)
        elif j["method"] == "tucker2":
            result = partial_tucker(w, rank=j["ranks"], modes=[0, 1], init="svd")
            seconds = time.perf_counter() - start
            (core, factors), _ = result  # tensorly >= 0.9 returns ((core, factors), errors)
            w_hat = np.moveaxis(np.tensordot(factors[1], np.tensordot(factors[0], core, axes=(1, 0)), axes=(1, 1)), 0, 1)
        elif j["method"] == "cp":
            cpt = parafac(w, rank=j["ranks"][0], n_iter_max=CP_SWEEPS, tol=CP_TOL, init="svd")
            seconds = time.perf_counter() - start
            w_hat = tl.cp_to_tensor(cpt)
        d = w.astype(np.float64)
        err = float(np.linalg.norm(w_hat.astype(np.float64) - d) / np.linalg.norm(d))
        out.append({"seconds": seconds, "error": err})
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--quick", action="store_true", help="first 10 ResNet kernels only")
    parser.add_argument("--reuse-reference", action="store_true",
                        help="reuse the TensorLy/numpy results of the previous run (development only)")
    parser.add_argument("--binary", help="a prebuilt bench-decompose (default .build-ta/release/bench-decompose)")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    kernels = [(f"resnet50/conv{i}", s) for i, s in enumerate(resnet_shapes())]
    if args.quick:
        kernels = kernels[:10]
    digits = digits_shapes()
    if digits is None:
        print("note: Models/digits_cnn.onnx not found; digits CNN kernels skipped")
    else:
        kernels += [(f"digits/conv{i}", s) for i, s in enumerate(digits)]
    for i, (_, s) in enumerate(kernels):
        path = CACHE / f"k{i:03d}.npy"
        w = make_kernel(s, rng)  # always generated, so the stream (and the kernels) stay fixed
        if not path.exists() or np.load(path, mmap_mode="r").shape != tuple(s):
            np.save(path, w)
    cps = set(cp_subset(kernels))
    jobs = []
    for i, (_, s) in enumerate(kernels):
        for rho in RATIOS:
            for method in ("svd", "tucker2", "cp"):
                if method == "cp" and i not in cps:
                    continue
                jobs.append({"kernel": i, "method": method, "ratio": rho, "ranks": ranks(method, s, rho)})
    manifest = {
        "kernels": [{"name": n, "file": f"k{i:03d}.npy", "shape": list(s)} for i, (n, s) in enumerate(kernels)],
        "jobs": jobs, "cpSweeps": CP_SWEEPS, "cpTolerance": CP_TOL,
    }
    (CACHE / "manifest.json").write_text(json.dumps(manifest))
    if not args.skip_build:
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", ".build-ta", "--product",
                        "bench-decompose"], cwd=ROOT, check=True)
    binary = pathlib.Path(args.binary) if args.binary else ROOT / ".build-ta" / "release" / "bench-decompose"
    t0 = time.perf_counter()
    subprocess.run([str(binary), str(CACHE / "manifest.json"), str(CACHE / "swift.json")], check=True)
    swift = {o["job"]: o for o in json.loads((CACHE / "swift.json").read_text())}
    t1 = time.perf_counter()
    python_jobs = [dict(j, method="numpy-svd") if j["method"] == "svd" else j for j in jobs]
    reference = CACHE / "reference.json"
    if args.reuse_reference and reference.exists():
        python = json.loads(reference.read_text())  # same manifest, earlier run (development only)
    else:
        python = run_python(kernels, python_jobs)
        reference.write_text(json.dumps(python))
    t2 = time.perf_counter()

    params = sum(math.prod(s) for _, s in kernels)
    print(f"{len(kernels)} kernels, {params / 1e6:.2f} M parameters; CP on {len(cps)} kernels "
          f"({sum(math.prod(kernels[i][1]) for i in cps) / 1e6:.2f} M parameters); "
          f"swift {t1 - t0:.0f} s, python {t2 - t1:.0f} s wall")
    header = ("| method | ratio | kernels | TensorAlgebra s | median err | reference | ref s | ref median err "
              "| time ratio | error ratio |")
    print(header)
    print("|" + "---|" * 10)
    rows = []
    for method, ref in (("svd", "numpy SVD"), ("tucker2", "TensorLy partial_tucker"), ("cp", "TensorLy parafac")):
        for rho in RATIOS:
            idx = [n for n, j in enumerate(jobs) if j["method"] == method and j["ratio"] == rho]
            if not idx:
                continue
            st = sum(swift[n]["seconds"] for n in idx)
            pt = sum(python[n]["seconds"] for n in idx)
            se = float(np.median([swift[n]["error"] for n in idx]))
            pe = float(np.median([python[n]["error"] for n in idx]))
            worst = max(swift[n]["error"] / max(python[n]["error"], 1e-12) for n in idx)
            row = (f"| {method} | {rho} | {len(idx)} | {st:.2f} | {se:.4f} | {ref} | {pt:.2f} | {pe:.4f} "
                   f"| {pt / st:.2f}x faster | {se / pe:.4f} (worst kernel {worst:.4f}) |")
            rows.append(row)
            print(row)
    (CACHE / "table.md").write_text("\n".join([header, "|" + "---|" * 10] + rows) + "\n")


if __name__ == "__main__":
    main()
