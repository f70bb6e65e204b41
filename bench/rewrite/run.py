#!/usr/bin/env python3
"""Rewriting benchmark: onnx-rstd end to end on the ResNet-50-shaped model, and onnxruntime
latency / size / accuracy of the rewritten models against the original.

1. Rewrite time. `onnx-rstd resnet50_shaped.onnx OUT --ratio 0.5 [--method M]` for M in
   auto (the default), svd, tucker2, cp: wall clock of the CLI process (median of --reps runs,
   round robin over the methods), and the same with `--dry-run` (load + plan + factor + report,
   no emit/save) to separate the writing. The report's own `totals.seconds` is kept too.
2. Inference. For tucker2, svd, cp at --ratio 0.5 and 0.25, auto at 0.5, and the reconstructed
   layout (auto) at 0.5: onnxruntime CPU, 2 intra-op threads, 1 inter-op thread, sequential,
   graph optimizations ALL (the reconstructed layout twice: --shuffle none and random).
   Each rewritten model B is timed against its original A in one
   interleaved loop (A, B, A, B, ...) after a warm-up; the figure is median(B) / median(A).
   Also: parameter and multiply-add ratios from the report totals (multiply-adds per output
   position, as the report counts them), multiply-adds per image counted from the graph
   (Conv and Gemm, shapes from onnx shape inference), file-size ratio, and the relative L2
   error of the output against the original on a seeded input (ResNet: N(0,1) image batch 1 at
   224x224; also the pre-softmax logits, fetched by exposing them as an extra output in a copy
   used only for that check). Digits CNN (Models/digits_cnn.onnx): batch 64 of its test images
   for latency; rel L2 and top-1 accuracy on all 450 test images.
   The ResNet model is IR 3 / opset 9 and the reconstructed layout needs opset >= 11 (Range),
   so that row uses an opset-13 copy made with onnx.version_converter (still IR 3, so its
   initializers stay non-overridable constants that onnxruntime can fold), compared against
   that copy.
3. Prints markdown tables, writes bench/rewrite/results.json, and with --write-doc replaces the
   "## Rewriting" section of docs/benchmarks.md (tables + bench/rewrite/findings.md).

Models and rewritten files go to .cache/bench/rewrite/ (gitignored).

Usage: python3 bench/rewrite/run.py [--quick] [--build] [--bin PATH] [--reps 3] [--runs 25]
                                    [--write-doc] [--doc-only]
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper, shape_inference, version_converter

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
CACHE = ROOT / ".cache" / "bench" / "rewrite"
RESNET = ROOT / ".cache" / "bench-models" / "resnet50_shaped.onnx"
DIGITS = ROOT / "Models" / "digits_cnn.onnx"
DIGITS_DATA = ROOT / "Models" / "digits_test.npz"
DEFAULT_BIN = ROOT / ".build-bench" / "release" / "onnx-rstd"
BUILD_CMD = ["swift", "build", "-c", "release", "--scratch-path", ".build-bench", "--product", "onnx-rstd"]
SEED = 20261123
THREADS = 2
DIGITS_RUN_FACTOR = 8  # the digits CNN runs in well under a millisecond: 8x the runs


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- rewriting


def rewrite(binary, src, dst, args, report, dry_run=False):
    cmd = [str(binary), str(src)]
    if not dry_run:
        cmd.append(str(dst))
    cmd += list(args) + ["--report", str(report), "--quiet"]
    if dry_run:
        cmd.append("--dry-run")
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError(f"exit {p.returncode}: {' '.join(cmd)}\n{p.stderr.strip()}")
    rep = json.loads(pathlib.Path(report).read_text())
    rep["_cpu"] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    rep["_maxrss_mb"] = r1.ru_maxrss / 1024
    return wall, rep


def method_args(method, ratio, layout="factorized", shuffle="none"):
    a = ["--ratio", str(ratio)]
    if method != "auto":
        a += ["--method", method]
    if layout != "factorized":
        a += ["--layout", layout]
    if shuffle != "none":
        a += ["--shuffle", shuffle]
    return a


def variant_name(method, ratio, layout="factorized", shuffle="none"):
    return (f"{method}{'-rec' if layout == 'reconstructed' else ''}"
            f"{'-' + shuffle if shuffle != 'none' else ''}-r{ratio}")


# ---------------------------------------------------------------- graph figures


def graph_macs(path, batch_dims):
    """Multiply-adds per run of Conv and Gemm nodes, from inferred shapes (batch fixed)."""
    m = onnx.load(str(path))
    inits = {i.name for i in m.graph.initializer}
    for i in m.graph.input:
        if i.name in batch_dims:
            for d, v in zip(i.type.tensor_type.shape.dim, batch_dims[i.name]):
                d.ClearField("dim_param")
                d.dim_value = v
    m = shape_inference.infer_shapes(m)
    shapes = {}
    for vi in list(m.graph.value_info) + list(m.graph.input) + list(m.graph.output):
        dims = [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
        if vi.type.tensor_type.HasField("shape"):
            shapes[vi.name] = dims
    for i in m.graph.initializer:
        shapes[i.name] = list(i.dims)
    total, unknown = 0, 0
    for n in m.graph.node:
        if n.op_type == "Conv":
            w, y = shapes.get(n.input[1]), shapes.get(n.output[0])
            if not w or not y or None in w or None in y:
                unknown += 1
                continue
            total += int(np.prod(y, dtype=np.int64)) * int(np.prod(w[1:], dtype=np.int64))
        elif n.op_type == "Gemm":
            a, y = shapes.get(n.input[0]), shapes.get(n.output[0])
            trans_a = next((x.i for x in n.attribute if x.name == "transA"), 0)
            if not a or not y or None in a or None in y:
                unknown += 1
                continue
            k = a[0] if trans_a else a[1]
            total += y[0] * y[1] * k
    del inits
    return total, unknown


def with_extra_output(path, name):
    m = onnx.load(str(path))
    m.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    return m.SerializeToString()


def session(model, level=ort.GraphOptimizationLevel.ORT_ENABLE_ALL):
    so = ort.SessionOptions()
    so.intra_op_num_threads = THREADS
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = level
    so.log_severity_level = 3
    src = model if isinstance(model, bytes) else str(model)
    t0 = time.perf_counter()
    s = ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])
    return s, time.perf_counter() - t0


def rel_l2(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(a))


def interleaved(sa, sb, feed, warmup, runs):
    for _ in range(warmup):
        sa.run(None, feed)
        sb.run(None, feed)
    ta, tb = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        sa.run(None, feed)
        t1 = time.perf_counter()
        sb.run(None, feed)
        t2 = time.perf_counter()
        ta.append(t1 - t0)
        tb.append(t2 - t1)
    return statistics.median(ta), statistics.median(tb)


# ---------------------------------------------------------------- models


def ensure_resnet():
    if not RESNET.exists():
        log("making", RESNET)
        subprocess.run([sys.executable, str(ROOT / "Scripts" / "make-bench-models"), "--only", "resnet50"],
                       check=True, cwd=ROOT)
    return RESNET


def resnet_opset13():
    out = CACHE / "resnet50_shaped_op13.onnx"
    if not out.exists():
        m = version_converter.convert_version(onnx.load(str(RESNET)), 13)
        onnx.checker.check_model(m)
        onnx.save(m, str(out))
    return out


def softmax_input(path):
    m = onnx.load(str(path), load_external_data=False)
    return next(n.input[0] for n in m.graph.node if n.op_type == "Softmax")


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 rep, 6 runs, auto/tucker2 at 0.5 + reconstructed; results to .cache only")
    ap.add_argument("--build", action="store_true", help="run `" + " ".join(BUILD_CMD) + "` first")
    ap.add_argument("--bin", default=str(DEFAULT_BIN))
    ap.add_argument("--reps", type=int, default=3, help="CLI runs per rewrite setting (median)")
    ap.add_argument("--runs", type=int, default=25, help="measured onnxruntime runs per model per pair")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--write-doc", action="store_true", help="replace '## Rewriting' in docs/benchmarks.md")
    ap.add_argument("--built-from", help="commit the binary was built from (default: the tree's HEAD)")
    ap.add_argument("--doc-only", action="store_true",
                    help="no measuring: rewrite the doc section from bench/rewrite/results.json")
    args = ap.parse_args()
    if args.doc_only:
        res = json.loads((HERE / "results.json").read_text())
        md = markdown(res)
        print(md)
        write_doc(res, md)
        return
    if args.quick:
        args.reps, args.runs, args.warmup = 1, 6, 2
    binary = pathlib.Path(args.bin)
    if args.build:
        subprocess.run(BUILD_CMD, check=True, cwd=ROOT)
    if not binary.exists():
        sys.exit(f"{binary} not found; build it with: {' '.join(BUILD_CMD)} (or pass --build)")
    CACHE.mkdir(parents=True, exist_ok=True)
    ensure_resnet()
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout.strip()
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python3 bench/rewrite/run.py " + " ".join(sys.argv[1:]),
        "bin": os.path.relpath(binary, ROOT), "tool": version, "onnxruntime": ort.__version__, "onnx": onnx.__version__,
        "numpy": np.__version__, "cpus": os.cpu_count(), "machine": platform.machine(),
        "loadavg_start": os.getloadavg(), "reps": args.reps, "runs": args.runs, "warmup": args.warmup,
    }
    if args.built_from:
        results["commit"] = args.built_from
    else:
        results["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                           capture_output=True, text=True).stdout.strip()

    # 1. rewrite time -----------------------------------------------------------------------
    methods = ["auto", "tucker2"] if args.quick else ["auto", "svd", "tucker2", "cp"]
    timing = {m: {"wall": [], "cpu": [], "tool": [], "dry_wall": [], "dry_cpu": [], "dry_tool": []} for m in methods}
    reports = {}
    for rep in range(args.reps):
        for m in methods:
            v = variant_name(m, 0.5)
            dst = CACHE / f"resnet-{v}.onnx"
            w, r = rewrite(binary, RESNET, dst, method_args(m, 0.5), CACHE / f"resnet-{v}.json")
            timing[m]["wall"].append(w)
            timing[m]["tool"].append(r["totals"]["seconds"])
            timing[m]["cpu"].append(r["_cpu"])
            reports[("resnet", v)] = r
            w, r = rewrite(binary, RESNET, None, method_args(m, 0.5), CACHE / f"resnet-{v}.dry.json", dry_run=True)
            timing[m]["dry_wall"].append(w)
            timing[m]["dry_tool"].append(r["totals"]["seconds"])
            timing[m]["dry_cpu"].append(r["_cpu"])
            log(f"rewrite rep {rep} {m}: {timing[m]['wall'][-1]:.2f} s, dry-run {timing[m]['dry_wall'][-1]:.2f} s")
    # I/O floor: the same model with every site excluded (load, plan nothing, report; then also write)
    io = {"wall": [], "cpu": [], "dry_wall": [], "dry_cpu": []}
    for rep in range(args.reps):
        w, r = rewrite(binary, RESNET, CACHE / "resnet-none.onnx", ["--exclude", "*"], CACHE / "resnet-none.json")
        io["wall"].append(w)
        io["cpu"].append(r["_cpu"])
        w, r = rewrite(binary, RESNET, None, ["--exclude", "*"], CACHE / "resnet-none.dry.json", dry_run=True)
        io["dry_wall"].append(w)
        io["dry_cpu"].append(r["_cpu"])
    results["io_floor"] = {k + "_median": statistics.median(v) for k, v in io.items()} | io
    results["rewrite_time"] = {
        m: {k + "_median": statistics.median(v) for k, v in t.items()} | {k: v for k, v in t.items()}
        for m, t in timing.items()}

    # 2. variants -------------------------------------------------------------------------------
    if args.quick:
        plan = [("auto", 0.5, "factorized", "none"), ("tucker2", 0.5, "factorized", "none"),
                ("auto", 0.5, "reconstructed", "random")]
    else:
        plan = [("auto", 0.5, "factorized", "none")]
        for m in ("tucker2", "svd", "cp"):
            plan += [(m, 0.5, "factorized", "none"), (m, 0.25, "factorized", "none")]
        plan += [("auto", 0.5, "reconstructed", "none"), ("auto", 0.5, "reconstructed", "random")]

    rng = np.random.default_rng(SEED)
    resnet_x = rng.standard_normal((1, 3, 224, 224)).astype(np.float32)
    dig = np.load(DIGITS_DATA)
    models = {
        "resnet": dict(path=RESNET, input="gpu_0/data_0", feed=resnet_x, check=resnet_x,
                       batch_dims={"gpu_0/data_0": [1, 3, 224, 224]}, label="ResNet-50-shaped (batch 1, 224×224)"),
        "digits": dict(path=DIGITS, input="input", feed=dig["x"][:64], check=dig["x"], labels=dig["y"],
                       batch_dims={"input": [1, 1, 8, 8]}, label="digits CNN (batch 64, 8×8)"),
    }
    session(DIGITS)  # first session in the process pays onnxruntime's one-time set-up; keep it out of load times
    rows = {k: [] for k in models}
    base_cache = {}
    for key, mdl in models.items():
        for method, ratio, layout, shuffle in plan:
            v = variant_name(method, ratio, layout, shuffle)
            src = mdl["path"]
            if key == "resnet" and layout == "reconstructed":
                src = resnet_opset13()
            dst = CACHE / f"{key}-{v}.onnx"
            rkey = (key, v)
            single_time = None
            if rkey not in reports or src != mdl["path"]:
                single_time, reports[rkey] = rewrite(binary, src, dst, method_args(method, ratio, layout, shuffle),
                                                     CACHE / f"{key}-{v}.json")
            rep = reports[rkey]
            t = rep["totals"]
            # original side: session, macs and reference outputs (cached per source file)
            if src not in base_cache:
                session(src)  # the first load of a file also warms the page cache; time the second
                sa, load_a = session(src)
                macs_a = graph_macs(src, mdl["batch_dims"])[0]
                ref = sa.run(None, {mdl["input"]: mdl["check"]})[0]
                logits_a = None
                if key == "resnet":
                    sx, _ = session(with_extra_output(src, softmax_input(src)))
                    logits_a = sx.run(None, {mdl["input"]: mdl["check"]})[1]
                    del sx
                base_cache[src] = dict(sess=sa, load=load_a, macs=macs_a, ref=ref, logits=logits_a)
            base = base_cache[src]
            sb, load_b = session(dst)
            macs_b, macs_unknown = graph_macs(dst, mdl["batch_dims"])
            out = sb.run(None, {mdl["input"]: mdl["check"]})[0]
            row = dict(variant=v, method=method, ratio=ratio, layout=layout, shuffle=shuffle, source=src.name,
                       rewritten=t["sitesRewritten"], kept=t["sitesKept"],
                       formats=sorted({s["format"] for s in rep["sites"] if s["status"] == "rewritten"}),
                       params_ratio=t["paramsAfter"] / t["paramsBefore"],
                       macs_pos_ratio=t["macsAfter"] / t["macsBefore"],
                       macs_img_ratio=(macs_b / base["macs"]) if not macs_unknown else None,
                       macs_img_before=base["macs"], macs_img_after=macs_b,
                       file_ratio=t["fileSizeAfter"] / t["fileSizeBefore"],
                       file_before=t["fileSizeBefore"], file_after=t["fileSizeAfter"],
                       rel_l2=rel_l2(base["ref"], out), tool_seconds=t["seconds"], single_wall=single_time,
                       load_a=base["load"], load_b=load_b)
            if key == "resnet":
                sx, _ = session(with_extra_output(dst, softmax_input(dst)))
                row["logits_rel_l2"] = rel_l2(base["logits"], sx.run(None, {mdl["input"]: mdl["check"]})[1])
                del sx
            else:
                row["acc_before"] = float(np.mean(base["ref"].argmax(1) == mdl["labels"]))
                row["acc_after"] = float(np.mean(out.argmax(1) == mdl["labels"]))
            feed = {mdl["input"]: mdl["feed"]}
            runs = args.runs * (DIGITS_RUN_FACTOR if key == "digits" else 1)
            ma, mb = interleaved(base["sess"], sb, feed, args.warmup, runs)
            row.update(lat_a_ms=ma * 1e3, lat_b_ms=mb * 1e3, lat_ratio=mb / ma)
            del sb
            rows[key].append(row)
            log(f"{key} {v}: latency {ma * 1e3:.2f} -> {mb * 1e3:.2f} ms ({mb / ma:.2f}x), "
                f"params {row['params_ratio']:.3f}, rel L2 {row['rel_l2']:.3g}")
        base_cache.clear()
    results["inference"] = rows
    results["loadavg_end"] = os.getloadavg()

    md = markdown(results)
    print(md)
    # a --quick run never replaces the committed full results
    out = (CACHE / "results-quick.json") if args.quick else (HERE / "results.json")
    out.write_text(json.dumps(results, indent=1, default=str) + "\n")
    log("wrote", out)
    if args.write_doc:
        if args.quick:
            sys.exit("--write-doc is for full runs only; the doc keeps the last full run's figures")
        write_doc(results, md)


def fmt_ratio(x, nd=2):
    return "—" if x is None else f"{x:.{nd}f}"


def markdown(res):
    out = []
    rt = res["rewrite_time"]
    out.append("**Rewrite time**, ResNet-50-shaped model (102 MB, 53 convs), `--ratio 0.5`, "
               f"median of {res['reps']} CLI runs (wall clock of the process):\n")
    out.append("| method | end to end, wall (s) | CPU user+sys (s) | `--dry-run` wall (s) | `--dry-run` CPU (s) "
               "| emit + write (CPU difference, s) | report `seconds` |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for m, t in rt.items():
        out.append(f"| {m if m != 'auto' else 'auto (default)'} | **{t['wall_median']:.2f}** | {t['cpu_median']:.2f} | "
                   f"{t['dry_wall_median']:.2f} | {t['dry_cpu_median']:.2f} | "
                   f"{t['cpu_median'] - t['dry_cpu_median']:.2f} | {t['tool_median']:.2f} |")
    io = res["io_floor"]
    out.append(f"| *I/O floor: `--exclude '*'` (nothing rewritten)* | {io['wall_median']:.2f} | {io['cpu_median']:.2f} | "
               f"{io['dry_wall_median']:.2f} | {io['dry_cpu_median']:.2f} | {io['cpu_median'] - io['dry_cpu_median']:.2f} | |")
    out.append("")
    for key, rows in res["inference"].items():
        if not rows:
            continue
        resnet = key == "resnet"
        title = ("ResNet-50-shaped, batch 1 at 224×224, seeded N(0,1) input" if resnet
                 else "digits CNN, batch 64 of its test images (accuracy on all 450)")
        base = rows[0]
        out.append(f"**onnxruntime, {title}.** Original median latency "
                   f"{statistics.median(r['lat_a_ms'] for r in rows):.2f} ms; ratios are rewritten / original.\n")
        last = "output rel L2 | logits rel L2" if resnet else "output rel L2 | accuracy (orig → new)"
        out.append(f"| variant | sites rewritten | latency ms (orig → new) | latency | params | MACs/pos (report) | "
                   f"MACs/image (graph) | file size | ORT load s (orig → new) | {last} |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            name = f"{r['method']} {r['ratio']}" + (" reconstructed" if r["layout"] == "reconstructed" else "")
            if r.get("shuffle", "none") != "none":
                name += f", shuffle {r['shuffle']}"
            if r["method"] == "auto":
                fm = ", ".join(f.replace(" (reconstructed)", "") for f in r["formats"]) or "none"
                name += f" (→ {fm})"
            if r["source"] != base["source"]:
                name += " †"
            tail = (f"{r['rel_l2']:.3g} | {r['logits_rel_l2']:.3g}" if resnet
                    else f"{r['rel_l2']:.3g} | {r['acc_before']:.3f} → {r['acc_after']:.3f}")
            out.append(f"| {name} | {r['rewritten']}/{r['rewritten'] + r['kept']} | {r['lat_a_ms']:.2f} → "
                       f"{r['lat_b_ms']:.2f} | **{r['lat_ratio']:.2f}×** | {r['params_ratio']:.3f} | "
                       f"{r['macs_pos_ratio']:.3f} | {fmt_ratio(r['macs_img_ratio'], 3)} | {r['file_ratio']:.3f} | "
                       f"{r['load_a']:.2f} → {r['load_b']:.2f} | {tail} |")
        if any(r["source"] != base["source"] for r in rows):
            out.append("\n† on the opset-13 copy (`onnx.version_converter`; a shuffled rebuild needs "
                       "`Range`, opset 11; both reconstructed rows use the copy), against that copy.")
        out.append("")
    return "\n".join(out)


def write_doc(res, md):
    doc = ROOT / "docs" / "benchmarks.md"
    findings = HERE / "findings.md"
    section = [
        "## Rewriting", "",
        "`bench/rewrite/run.py` runs the `onnx-rstd` CLI end to end on the ResNet-50-shaped model "
        "(`Scripts/make-bench-models`: the graph of the onnx wheel's `light_resnet50.onnx`, IR 3, opset 9, "
        "seeded He-normal weights, 102 MB) and times the rewritten models in onnxruntime against the "
        "original, interleaved (A, B, A, B, …) in one process, "
        f"{THREADS} intra-op threads, graph optimizations ALL, {res['warmup']} warm-up and {res['runs']} "
        f"measured runs of each model per pair ({res['runs'] * DIGITS_RUN_FACTOR} for the digits CNN), medians. "
        "Then the same for `Models/digits_cnn.onnx`.", "",
        "```",
        res["command"],
        "```", "",
        f"Measured {res['date']} on a shared {res['cpus']}-core {res['machine']} machine (other agents were "
        f"building and testing; load average {res['loadavg_start'][0]:.1f} at the start, "
        f"{res['loadavg_end'][0]:.1f} at the end), `onnx-rstd` {res['tool']} built from commit {res.get('commit', '?')} "
        f"(binary `{res.get('bin', '?')}`, a `swift build -c release` product), "
        f"onnxruntime {res['onnxruntime']}. Raw figures: `bench/rewrite/results.json`.", "",
        "What the figures mean: every ratio is rewritten ÷ original, measured side by side in the same "
        "run, so the machine's noise hits both sides alike; absolute milliseconds are only indicative on a "
        "shared machine. *params*, *MACs/pos* and *file size* come from the tool's report totals "
        "(*MACs/pos* is the report's multiply-adds per output position, summed over sites — it ignores "
        "resolution); *MACs/image* counts Conv and Gemm multiply-adds per image from the graph's inferred "
        "shapes. *rel L2* is ‖y − y₀‖/‖y₀‖ of the model output against the original's on the same input "
        "(the ResNet's weights are random, so there it measures how far the rewrite moves the function, not "
        "task accuracy; the digits CNN is trained, and its test accuracy is given). The emit + write column is "
        "a difference of two medians and can come out slightly negative.",
        "",
        md.strip(), "",
    ]
    if findings.exists():
        section += [findings.read_text().strip(), ""]
    text = "\n".join(section)
    if not doc.exists():
        doc.write_text("# Benchmarks\n\n" + text)
        return
    lines = doc.read_text().split("\n")
    start = end = None
    fence = False
    for i, ln in enumerate(lines):
        if ln.startswith("```"):
            fence = not fence
        if fence:
            continue
        if ln.strip() == "## Rewriting":
            start = i
        elif start is not None and end is None and i > start and ln.startswith("## "):
            end = i
    if start is None:
        body = "\n".join(lines).rstrip("\n") + "\n\n" + text
    else:
        end = len(lines) if end is None else end
        body = "\n".join(lines[:start]).rstrip("\n") + "\n\n" + text + (
            "\n" + "\n".join(lines[end:]) if end < len(lines) else "")
    doc.write_text(body.rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
