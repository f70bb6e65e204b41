#!/usr/bin/env python3
"""Scaling benchmark: rewrite time and peak memory of the CLI on chains of N small convs.

The model is a chain Conv 3x3 16->16 (+bias) -> Relu, repeated N times, on [1,16,8,8], weights
seeded N(0, 1/fan_in) (IR 8, opset 13). For every N in --sizes and every setting below, the
CLI runs once per round (settings round robin, sizes ascending; --repeat rounds, the median kept)
and we record its wall clock, its CPU time (user + system), peak RSS (wait4's rusage of that
child; the models are generated in a child Python process so that this one stays small, see
make_model) and the rewrite's own time (the report's totals.seconds: from the start of
`Rewriter.run` to the commit of its files, without the process's start and exit, ≈ 20 ms that
weigh on the smallest chains). The figure that matters is time per conv: flat from the smallest
to the largest N means the rewrite is linear. On the shared machine the wall clock also counts
the time other processes hold the cores; the CPU time does not.

Settings: default; --ratio 0.5; --rank 4 with each --method (svd, tucker2, cp, kron);
--layout reconstructed --shuffle random --ratio 0.5.

Models go to .cache/bench/scale/ (gitignored). Writes bench/scale/results.json and prints a
markdown table (pasted into docs/benchmarks.md, "Scaling").

With the output check on (the default) the latency model sees the measured 8×8 positions and
keeps every one of these small convs ("not faster"), so the methods do not factorize anything;
`--append=--force` (or `--append=--no-check`) adds arguments to every setting to make them.

Usage: python3 bench/scale/run.py [--bin .build/release/onnx-rstd] [--sizes 250,500,1000,2000,8000]
       [--channels 16] [--hw 8] [--repeat 1] [--settings default,...] [--append=--force] [--results bench/scale/results.json] [--out-dir DIR] [--models DIR]
"""
import argparse
import json
import os
import pathlib
import platform
import resource
import statistics
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "bench" / "scale"
SETTINGS = {
    "default": [],
    "ratio 0.5": ["--ratio", "0.5"],
    "svd r4": ["--method", "svd", "--rank", "4"],
    "tucker2 r4": ["--method", "tucker2", "--rank", "4"],
    "cp r4": ["--method", "cp", "--rank", "4"],
    "kron r4": ["--method", "kron", "--rank", "4"],
    "reconstructed random 0.5": ["--layout", "reconstructed", "--shuffle", "random", "--ratio", "0.5"],
    # The default policy backs off here (planned error above 0.05): the output check's probes.
    "reconstructed random": ["--layout", "reconstructed", "--shuffle", "random"],
    # Storage only, a bound every chain breaks: the storage allocation's probes.
    "fp16 storage 1e-5": ["--weights", "fp16", "--storage-error", "0.00001", "--include", "__none__"],
}


def chain_model(n, channels=16, hw=8, seed=0):
    """N Conv 3x3 (channels->channels, bias) each followed by Relu, on [1, channels, hw, hw]."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    x = "x"
    for i in range(n):
        w = (rng.standard_normal((channels, channels, 3, 3)) / np.sqrt(channels * 9)).astype(np.float32)
        b = (0.01 * rng.standard_normal(channels)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes.append(helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], name=f"conv{i}",
                                      kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"], name=f"relu{i}"))
        x = f"r{i}"
    graph = helper.make_graph(
        nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, hw, hw])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, channels, hw, hw])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def make_model(n, path, channels=16, hw=8):
    """Writes chain_model(n, channels, hw) to path from a child Python process, so that this process never
    holds the model (nor numpy and onnx): Linux carries the parent's RSS high-water mark across
    fork/vfork + exec into the child's ru_maxrss, so a parent that had built the 72 MiB model
    in memory made every later row read its ~350 MiB instead of the CLI's own peak."""
    subprocess.run([sys.executable, __file__, "--generate", str(n), str(path), "--channels", str(channels), "--hw", str(hw)],
                   check=True)


def run_cli(binary, model, out, args):
    """Wall clock, CPU seconds (user + system) and peak RSS (MiB), from wait4's rusage of this
    child alone, of one CLI run; fails loudly on a non-zero exit. The peak RSS is the CLI's as
    long as this process stays smaller than it (see make_model; main records our own peak)."""
    t = time.perf_counter()
    report = out.with_suffix(".report.json")
    p = subprocess.Popen([binary, str(model), str(out), "--quiet", "--report", str(report), *args],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    seconds = time.perf_counter() - t
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(args)} on {model.name}: exit {code}: {err.strip()}")
    # Parsed in a child: an 8,000-site report would grow this process, whose peak RSS is a floor
    # under the next children's (see make_model).
    rewrite = float(subprocess.run(
        [sys.executable, "-c", "import json, sys; print(json.load(open(sys.argv[1]))['totals']['seconds'])", str(report)],
        check=True, capture_output=True, text=True).stdout)
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, rewrite


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(REPO / ".build" / "release" / "onnx-rstd"))
    ap.add_argument("--sizes", default="250,500,1000,2000,8000")
    ap.add_argument("--settings", default=",".join(SETTINGS))
    ap.add_argument("--append", default="", help="arguments added to every setting, space-separated")
    ap.add_argument("--results", default=str(REPO / "bench" / "scale" / "results.json"))
    ap.add_argument("--out-dir", default=str(CACHE), help="where the rewritten models go (one per size, overwritten)")
    ap.add_argument("--models", default=str(CACHE), help="where the chain models are read, or made when missing")
    ap.add_argument("--channels", type=int, default=16, help="channels of every conv (default 16)")
    ap.add_argument("--hw", type=int, default=8, help="height and width of the input (default 8)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per size and setting, in rounds over all of them; rows give the median wall and CPU time and the largest peak RSS")
    ap.add_argument("--generate", nargs=2, metavar=("N", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.generate:
        import onnx

        onnx.save(chain_model(int(args.generate[0]), args.channels, args.hw), args.generate[1])
        return
    models = pathlib.Path(args.models)
    models.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    settings = args.settings.split(",")
    runs: dict = {}  # (n, setting) -> [(seconds, cpu, rss)], one per round
    model_mib = {}
    for r in range(max(1, args.repeat)):
        for n in sizes:
            shape = "" if (args.channels, args.hw) == (16, 8) else f"_c{args.channels}_hw{args.hw}"
            model = models / f"chain_{n}{shape}.onnx"
            if not model.exists():
                make_model(n, model, args.channels, args.hw)
            model_mib[n] = model.stat().st_size / 2**20
            for s in settings:
                sec, cpu, rss, rewrite = run_cli(args.bin, model, pathlib.Path(args.out_dir) / f"chain_{n}.out.onnx", SETTINGS[s] + args.append.split())
                runs.setdefault((n, s), []).append((sec, cpu, rss, rewrite))
                print(f"{n:>5} {s:<26} {sec:7.2f} s  {1000 * sec / n:6.2f} ms/conv  cpu {cpu:7.2f} s "
                      f"{1000 * cpu / n:6.2f} ms/conv" + (f"  (round {r + 1})" if args.repeat > 1 else ""), flush=True)
    rows = []
    for n in sizes:
        for s in settings:
            got = runs[(n, s)]
            sec = statistics.median(x[0] for x in got)
            cpu = statistics.median(x[1] for x in got)
            rewrite = statistics.median(x[3] for x in got)
            rows.append({"convs": n, "setting": s, "seconds": sec, "ms_per_conv": 1000 * sec / n,
                         "rewrite_seconds": rewrite, "rewrite_ms_per_conv": 1000 * rewrite / n,
                         "cpu_seconds": cpu, "cpu_ms_per_conv": 1000 * cpu / n,
                         "peak_rss_mib": max(x[2] for x in got), "model_mib": model_mib[n],
                         "runs_seconds": [x[0] for x in got]})
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "bin": args.bin,
              "load_average": os.getloadavg(),
              "runner_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "append": args.append,
              "command": "python3 bench/scale/run.py " + " ".join(sys.argv[1:]), "rows": rows}
    pathlib.Path(args.results).write_text(json.dumps(result, indent=1) + "\n")
    print()
    def time_table(title: str, seconds: str, per_conv: str) -> None:
        print(f"| {title} | " + " | ".join(f"{n} convs" for n in sizes) + " | max/min ms per conv |")
        print("|---|" + "---|" * (len(sizes) + 1))
        for s in settings:
            r = [x for x in rows if x["setting"] == s]
            per = [x[per_conv] for x in r]
            print(f"| {s} | " + " | ".join(f"{x[seconds]:.2f} s ({x[per_conv]:.2f} ms)" for x in r)
                  + f" | {max(per) / min(per):.2f} |")
        print()

    time_table("setting", "seconds", "ms_per_conv")
    time_table("setting (CPU time)", "cpu_seconds", "cpu_ms_per_conv")
    time_table("setting (rewrite: the report's totals.seconds)", "rewrite_seconds", "rewrite_ms_per_conv")
    print("| setting | peak RSS at " + " | ".join(f"{n}" for n in sizes) + " convs (MiB) |")
    print("|---|" + "---|" * len(sizes))
    for s in settings:
        r = [x for x in rows if x["setting"] == s]
        print(f"| {s} | " + " | ".join(f"{x['peak_rss_mib']:.0f}" for x in r) + " |")
    print(f"\nthis runner's own peak RSS: {result['runner_peak_rss_mib']:.0f} MiB (a floor under every row)")
    print("model file sizes (MiB): " + ", ".join(f"{n}: {rows[[x['convs'] for x in rows].index(n)]['model_mib']:.1f}" for n in sizes))


if __name__ == "__main__":
    main()
