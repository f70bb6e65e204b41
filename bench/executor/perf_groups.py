#!/usr/bin/env python3
"""Groups a `perf record` profile of bench-executor by kind of work (sgemm, im2col copies,
depthwise, epilogue, kernel page faults, ...) and prints two profiles side by side: share of
samples and sample count.

    perf record -o before.data BEFORE/bench-executor MODEL --inputs DIR --threads 1 --repeat 5
    perf record -o after.data AFTER/bench-executor MODEL --inputs DIR --threads 1 --repeat 5
    python3 bench/executor/perf_groups.py before.data after.data
"""
import collections, re, subprocess, sys

KINDS = [("sgemm", "sgemm (OpenBLAS: kernel, packing, C zeroing)"), ("memmove", "im2col copies"),
         ("im2col", "im2col copies"), ("DepthwiseConv", "depthwise conv"), ("Epilogue", "Conv epilogue (fused elementwise)"),
         ("Resize", "Resize"), ("memset", "memset"), ("FloatArithmetic", "standalone elementwise"),
         ("Unary", "standalone elementwise"), ("logistic", "standalone elementwise"), ("expf", "standalone elementwise"),
         ("GlobalPool", "GlobalAveragePool"), ("ConvTranspose", "ConvTranspose")]


def groups(path: str) -> tuple[collections.Counter, int]:
    out = subprocess.run(["perf", "report", "-i", path, "--no-children", "--sort", "symbol", "--stdio", "-g", "none",
                          "--percent-limit", "0", "-n"], capture_output=True, text=True, check=True).stdout
    g: collections.Counter = collections.Counter()
    for line in out.splitlines():
        m = re.match(r"\s+[\d.]+%\s+(\d+)\s+\[(.)\]\s+(\S+)", line)
        if m:
            kind = "kernel: page faults, scheduling" if m[2] == "k" else next((k for s, k in KINDS if s in m[3]), "other")
            g[kind] += int(m[1])
    return g, sum(g.values())


(a, na), (b, nb) = groups(sys.argv[1]), groups(sys.argv[2])
print("| part | before | after |\n|---|---:|---:|")
for k in sorted(set(a) | set(b), key=lambda k: -a[k]):
    print(f"| {k} | {100 * a[k] / na:.1f}% ({a[k]}) | {100 * b[k] / nb:.1f}% ({b[k]}) |")
