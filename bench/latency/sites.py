#!/usr/bin/env python3
"""Accuracy of the runtime cost model on the sites of real models (issue #13).

For each model, runs onnx-rstd at a fixed input shape (`--channel-align 8`: this machine's
NCHWc block, the one the constants were fitted with) at --ratio 0.5 and 0.25 with
`--no-latency-guard` (so chains predicted slower are measured too), and once with the guard.
Then for every site it cuts out
  - the original node (dense) and the site's chain from the rewritten model (nodes named
    `<site>/...`), each as a standalone model (graph input and output NCHW), and
  - the same between two depthwise 1x1 convs ("sandwich": cheap blocked neighbours, as the
    report's figures assume; the input wrapper is left out when the site's input is not
    blockable, e.g. a stem),
and times them all in onnxruntime with bench/latency/fit.py's harness (1 intra-op thread,
ORT_ENABLE_ALL, IOBinding, warm-up, rounds in random order, per-thread CPU time, medians).

Predictions. The report's figures (predictedMicrosBefore/After) assume blocked neighbours and
leave out the per-run cost, so they are compared as
    report figure + (model's terms for the measured graph's boundary, wrappers included)
                  + runOverhead,
the boundary terms coming from fit.py's Python copy of the model (`chain_parts`) and
bench/latency/fit.json's constants. The script checks that this copy, fed the cut-out graph,
reproduces the report's figure (`mirror` column), so the geometry is the planner's own.

The guard agrees with measurement at a site when "chain predicted faster" (after < before in
the report) equals "chain measured faster" (sandwiched chain < sandwiched dense: same wrappers,
so their difference is the chain's in blocked context).

Writes bench/latency/sites.json (--quick: .cache/bench/latency-sites/sites-quick.json) and
prints markdown tables. Models and rewrites go to .cache/bench/latency-sites/ (gitignored). Needs .cache/bench-models/resnet50_shaped.onnx
(Scripts/make-bench-models --only resnet50) and the PP-OCR models in .cache/real-models/
(Scripts/fetch-real-models). Rounds: 21 by default, 123 for docs/latency.md.

Usage: python3 bench/latency/sites.py [--quick] [--bin PATH] [--rounds N] [--reuse] [--tables] [--repredict]
"""
import argparse
import json
import pathlib
import random
import statistics
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import fit  # noqa: E402  (the timing harness and the Python copy of the model)

CACHE = ROOT / ".cache" / "bench" / "latency-sites"
OUT = HERE / "sites.json"
BLOCK = 8
REAL = ROOT / ".cache" / "real-models"
# name, path, input, shape
MODELS = [
    ("resnet50", ROOT / ".cache/bench-models/resnet50_shaped.onnx", "gpu_0/data_0", [1, 3, 224, 224]),
    ("ppocr-det", REAL / "ch_PP-OCRv4_det_infer.onnx", "x", [1, 3, 640, 640]),
    ("ppocr-rec", REAL / "ch_PP-OCRv4_rec_infer.onnx", "x", [1, 3, 48, 320]),
    ("ppocr-cls", REAL / "ch_ppocr_mobile_v2.0_cls_infer.onnx", "x", [1, 3, 48, 192]),
    ("digits", ROOT / "Models/digits_cnn.onnx", "input", [64, 1, 8, 8]),
]
QUICK_MODELS = ("resnet50", "ppocr-cls", "digits")
WITHIN = 0.2


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run_cli(binary, name, src, inp, shape, ratio, guard, reuse):
    tag = f"{name}-r{ratio}{'' if guard else '-noguard'}"
    dst, rep = CACHE / f"{tag}.onnx", CACHE / f"{tag}.json"
    cmd = [str(binary), str(src), str(dst), "--ratio", str(ratio), "--channel-align", str(BLOCK),
           "--input-shape", f"{inp}={'x'.join(map(str, shape))}", "--report", str(rep), "--quiet"]
    if not guard:
        cmd.append("--no-latency-guard")
    shown = " ".join(cmd[:1] + [src.name] + cmd[2:])
    if reuse and dst.exists() and rep.exists():
        return dst, json.loads(rep.read_text()), shown
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode == 64 and "below what the eligible sites hold" in p.stderr:
        log(f"  {tag}: infeasible ({p.stderr.strip().splitlines()[-1]})")
        return None, None, shown
    if p.returncode != 0:
        raise RuntimeError(f"exit {p.returncode}: {' '.join(cmd)}\n{p.stderr.strip()}")
    log(f"  {tag}: {time.time() - t0:.0f} s")
    return dst, json.loads(rep.read_text()), shown


def tensor_shapes(path, inp, shape, names):
    """Shapes of `names` from one onnxruntime run of the model (robust where shape inference is not)."""
    m = onnx.load(str(path))
    have = {o.name for o in m.graph.output}
    for n in names:
        if n not in have:
            m.graph.output.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, None))
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    outs = sess.run(names, {inp: np.random.default_rng(0).standard_normal(shape).astype(np.float32)})
    return {n: list(o.shape) for n, o in zip(names, outs)}


def cut(model, nodes, x, y):
    """The nodes as a graph reading `x` and writing `y` (renamed "x"/"y"), with their
    initializers and the Constant nodes they read."""
    inits = {i.name: i for i in model.graph.initializer}
    produced = {o for n in nodes for o in n.output}
    consts = {o: n for n in model.graph.node if n.op_type == "Constant" for o in n.output}
    ren = {x: "x", y: "y"}
    out_nodes, out_inits, seen = [], [], set()
    for n in nodes:
        for i in n.input:
            if i in (x, "") or i in produced or i in seen:
                continue
            seen.add(i)
            if i in inits:
                out_inits.append(inits[i])
            elif i in consts:
                out_nodes.append(consts[i])
            else:
                raise ValueError(f"{n.name} reads {i}, neither the site's input nor a constant")
    for n in nodes:
        c = onnx.NodeProto()
        c.CopyFrom(n)
        c.input[:] = [ren.get(i, i) for i in c.input]
        c.output[:] = [ren.get(o, o) for o in c.output]
        out_nodes.append(c)
    return out_nodes, out_inits


def standalone(model, nodes, x, y, in_shape, out_shape, sandwich):
    nodes, inits = cut(model, nodes, x, y)
    rng = np.random.default_rng(1)
    if sandwich and len(in_shape) == 4:
        cin = in_shape[1]
        # Wrappers: depthwise 1x1 convs (a per-channel scale, blocked when C % 4 == 0); the input
        # one only where a blocked conv can produce the site's input (not before a stem).
        if cin >= BLOCK and cin % 4 == 0:
            inits.append(numpy_helper.from_array(rng.uniform(0.5, 1.5, (cin, 1, 1, 1)).astype(np.float32), "wrap_a"))
            for n in nodes:
                n.input[:] = ["x_in" if i == "x" else i for i in n.input]
            nodes.insert(0, helper.make_node("Conv", ["x", "wrap_a"], ["x_in"], name="wrap_a", group=cin))
    if sandwich and len(out_shape) == 4 and out_shape[1] % 4 == 0:
        cout = out_shape[1]
        inits.append(numpy_helper.from_array(rng.uniform(0.5, 1.5, (cout, 1, 1, 1)).astype(np.float32), "wrap_b"))
        for n in nodes:
            n.output[:] = ["y_in" if o == "y" else o for o in n.output]
        nodes.append(helper.make_node("Conv", ["y_in", "wrap_b"], ["y"], name="wrap_b", group=cout))
    graph = helper.make_graph(nodes, "site", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], inits)
    opset = max(13, max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def cost_chain(m):
    """fit.py's node tuples for the convs, Gathers and MatMuls of a cut-out model; other ops
    (none expected) are listed as unmodelled."""
    m = onnx.shape_inference.infer_shapes(m)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(m.graph.value_info) + list(m.graph.input) + list(m.graph.output)}
    shapes.update({i.name: list(i.dims) for i in m.graph.initializer})
    chain, other = [], []
    pos = lambda s: int(np.prod(s[:1] + s[2:]))  # noqa: E731  N * spatial
    for n in m.graph.node:
        if n.op_type == "Constant":
            continue
        a, o = shapes.get(n.input[0]), shapes.get(n.output[0])
        if n.op_type == "Conv":
            w = shapes[n.input[1]]
            g = next((x.i for x in n.attribute if x.name == "group"), 1)
            chain.append(("conv", w[1] * g, w[0], g, int(np.prod(w[2:])), pos(a), pos(o)))
        elif n.op_type == "Gather":
            chain.append(("gather", a[1], pos(a)))
        elif n.op_type in ("MatMul", "Gemm"):
            w = shapes[n.input[1]]
            trans_b = next((x.i for x in n.attribute if x.name == "transB"), 0)
            fin, fout = (w[1], w[0]) if trans_b else (w[0], w[1])
            chain.append(("matmul", int(np.prod(a[:-1])), fin, fout))
        elif n.op_type != "Constant":
            other.append(n.op_type)
    return chain, other


def chain_nodes(model, site):
    nodes = [n for n in model.graph.node if n.name.startswith(site + "/")]
    produced = {o for n in nodes for o in n.output}
    inits = {i.name for i in model.graph.initializer}
    consumed = {i for n in model.graph.node if n not in nodes for i in n.input} | {o.name for o in model.graph.output}
    xs = {i for n in nodes for i in n.input if i and i not in produced and i not in inits}
    xs -= {o for n in model.graph.node if n.op_type == "Constant" for o in n.output}
    ys = [o for o in produced if o in consumed]
    if len(xs) != 1 or len(ys) != 1:
        raise ValueError(f"{site}: chain inputs {xs}, outputs {ys}")
    return nodes, xs.pop(), ys[0]


def case_of(kind, chain, fmt):
    """'blocked 3x3', 'off grouped', 'matmul', ... for a dense node; the format for a chain,
    with '+off' when one of its convs leaves the blocked path."""
    if kind == "chain":
        off = any(n[0] == "conv" and fit.kind(n, BLOCK) == "off" for n in chain)
        return f"{fmt}{' +off' if off else ''}"
    return fit.case_of({"role": "single", "chain": chain}, BLOCK)


def features_us(constants, chain, neighbours):
    return fit.predict(constants, chain, BLOCK, neighbours)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="ResNet, PP-OCR cls and digits at --ratio 0.5, fewer rounds")
    ap.add_argument("--bin", default=str(ROOT / ".build/release/onnx-rstd"))
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--reuse", action="store_true", help="reuse rewrites already in .cache/bench/latency-sites")
    ap.add_argument("--tables", action="store_true", help="recompute the summary of sites.json and print it")
    ap.add_argument("--repredict", action="store_true",
                    help="re-predict sites.json's measured sites with fit.json's constants (no timing, "
                         "writes nothing): how a refit does on the same measurements")
    args = ap.parse_args()
    if args.repredict:
        repredict()
        return
    if args.tables:
        result = json.loads(OUT.read_text())
        result["summary"] = summarize(result["sites"])
        OUT.write_text(json.dumps(result, indent=1) + "\n")
        print_tables(result)
        return
    rounds = args.rounds or (9 if args.quick else 21)
    ratios = [0.5] if args.quick else [0.5, 0.25]
    started = time.time()
    CACHE.mkdir(parents=True, exist_ok=True)
    fitted = json.loads((HERE / "fit.json").read_text())
    constants, run_us = fitted["constants_us"], fitted["constants_us"][fit.RUN_TERM]
    rng_py, rng = random.Random(7), np.random.default_rng(7)

    entries, sites, commands, guard_runs = [], [], [], []
    for name, path, inp, shape in MODELS:
        if args.quick and name not in QUICK_MODELS:
            continue
        if not path.exists():
            raise SystemExit(f"missing {path} (see the docstring)")
        log(f"{name}:")
        original = onnx.load(str(path))
        by_name = {n.name: n for n in original.graph.node}
        rewrites = []
        for ratio in ratios:
            dst, rep, cmd = run_cli(args.bin, name, path, inp, shape, ratio, False, args.reuse)
            if rep is None:
                continue
            commands.append(cmd)
            rewrites.append((ratio, onnx.load(str(dst)), rep))
            _, grep, cmd = run_cli(args.bin, name, path, inp, shape, ratio, True, args.reuse)
            commands.append(cmd)
            guard_runs.append({"model": name, "ratio": ratio, "statuses": {
                s["node"]: [s["status"], s.get("reason")] for s in grep["sites"]}})
        site_rows = [s for s in rewrites[0][2]["sites"] if s.get("predictedMicrosBefore") is not None]
        names = [t for s in site_rows for t in (by_name[s["node"]].input[0], by_name[s["node"]].output[0])]
        shapes = tensor_shapes(path, inp, shape, sorted(set(names)))

        def add(kind, site, model, nodes, x, y, predicted, extra):
            xs, ys = shapes[by_name[site].input[0]], shapes[by_name[site].output[0]]
            row = {"model": name, "site": site, "kind": kind, **extra, "predicted_report_us": predicted}
            for variant, sandwich in (("alone", False), ("sandwich", True)):
                if sandwich and len(xs) != 4:
                    continue
                m = standalone(model, nodes, x, y, xs, ys, sandwich)
                full, other = cost_chain(m)
                inner, _ = cost_chain(standalone(model, nodes, x, y, xs, ys, False))
                boundary = features_us(constants, full, "nchw") - features_us(constants, inner, "nchwc")
                row[f"predicted_{variant}_us"] = predicted + boundary + run_us
                if variant == "alone":
                    # Which convs onnxruntime blocked, against the model's rules (as fit.py checks).
                    expected = sum(1 for n in inner if n[0] == "conv" and fit.kind(n, BLOCK) != "off")
                    row["blocked_rule_ok"] = fit.nchwc_convs(m, str(CACHE))[0] == expected
                    row["cost_nodes"] = [list(n) for n in inner]
                    row["mirror"] = features_us(constants, inner, "nchwc") / predicted if predicted else None
                    row["unmodelled_ops"] = other
                    row["case"] = case_of(kind, inner, extra.get("format"))
                entries.append({"row": row, "variant": variant,
                                "timed": fit.Timed(m, xs, ys, rng)})
            sites.append(row)

        for s in site_rows:
            node = by_name[s["node"]]
            add("dense", s["node"], original, [node], node.input[0], node.output[0],
                s["predictedMicrosBefore"], {"op": s["opType"], "shape": s["shape"], "group": s["group"]})
        for ratio, model, rep in rewrites:
            for s in rep["sites"]:
                if s["status"] != "rewritten" or s.get("predictedMicrosAfter") is None:
                    continue
                nodes, x, y = chain_nodes(model, s["node"])
                add("chain", s["node"], model, nodes, x, y, s["predictedMicrosAfter"],
                    {"ratio": ratio, "format": s["format"], "ranks": s["ranks"],
                     "predicted_dense_us": s["predictedMicrosBefore"]})
        log(f"  {sum(1 for r in sites if r['model'] == name)} sites/chains; {len(entries)} models so far")

    log(f"timing {len(entries)} models, {rounds} rounds")
    fit.measure(entries, rounds, rng_py)
    for e in entries:
        row, v = e["row"], e["variant"]
        row[f"measured_{v}_us"] = e["us"]
        row[f"spread_{v}"] = e["spread"]
        row[f"ratio_{v}"] = row[f"predicted_{v}_us"] / e["us"]

    dense = {(r["model"], r["site"]): r for r in sites if r["kind"] == "dense"}
    for r in sites:
        if r["kind"] != "chain":
            continue
        d = dense[(r["model"], r["site"])]
        r["guard_predicted_faster"] = r["predicted_report_us"] < r["predicted_dense_us"]
        v = "sandwich" if "measured_sandwich_us" in r else "alone"
        r["guard_measured_faster"] = r[f"measured_{v}_us"] < d[f"measured_{v}_us"]
        r["guard_measured_speedup"] = d[f"measured_{v}_us"] / r[f"measured_{v}_us"]

    command = "python3 bench/latency/sites.py" + (" --quick" if args.quick else "") + (
        f" --rounds {args.rounds}" if args.rounds else "")
    result = {"command": command,
              "onnxruntime": ort.__version__, "block": BLOCK, "rounds": rounds,
              "seconds": round(time.time() - started), "cli": commands,
              "blocked_rule_disagreements": sum(not r["blocked_rule_ok"] for r in sites),
              "summary": summarize(sites), "guard_runs": guard_runs, "sites": sites}
    out = CACHE / "sites-quick.json" if args.quick else OUT  # --quick leaves the committed run alone
    out.write_text(json.dumps(result, indent=1) + "\n")
    print_tables(result)
    log(f"wrote {out.relative_to(ROOT)} in {result['seconds']} s")


def within(rows, key):
    vals = [abs(r[key] - 1) <= WITHIN for r in rows if key in r]
    return (sum(vals) / len(vals) if vals else None), len(vals)


def summarize(sites):
    out = []
    groups = {}
    for r in sites:
        groups.setdefault((r["model"], r["kind"]), []).append(r)
        groups.setdefault(("all", r["kind"]), []).append(r)
        groups.setdefault((r["model"], "all"), []).append(r)
        groups.setdefault(("all", "all"), []).append(r)
        groups.setdefault(("case: " + r["case"], r["kind"]), []).append(r)
    order = lambda k: (k[0].startswith("case: "), k[0] == "all", k[0], k[1] == "all", k[1])  # noqa: E731
    for (model, kind), rows in sorted(groups.items(), key=lambda kv: order(kv[0])):
        a, n = within(rows, "ratio_alone")
        s, ns = within(rows, "ratio_sandwich")
        chains = [r for r in rows if r["kind"] == "chain"]
        agree = [r["guard_predicted_faster"] == r["guard_measured_faster"] for r in chains]
        # Clear cases only: the measured chain/dense difference is over 10% (else within noise).
        clear = [r["guard_predicted_faster"] == r["guard_measured_faster"] for r in chains
                 if abs(r["guard_measured_speedup"] - 1) > 0.1]
        # The same, weighted by measured time: how much of the sites' latency is predicted well.
        ok_us = sum(r["measured_alone_us"] for r in rows if abs(r["ratio_alone"] - 1) <= WITHIN)
        out.append({"model": model, "kind": kind, "count": n, "within_20pct_alone": a,
                    "time_within_20pct_alone": ok_us / sum(r["measured_alone_us"] for r in rows),
                    "median_abs_error_alone": statistics.median(abs(r["ratio_alone"] - 1) for r in rows),
                    "sandwiched": ns, "within_20pct_sandwich": s,
                    "guard_agreement": sum(agree) / len(agree) if agree else None, "guard_sites": len(agree),
                    "guard_agreement_clear": sum(clear) / len(clear) if clear else None, "guard_clear_sites": len(clear)})
    return out


def repredict():
    """sites.json's measurements against fit.json's current constants. A site's alone prediction is
    the model's cost of the cut-out chain with NCHW neighbours plus runOverhead (what the report
    figure + boundary terms come to, as `mirror` = 1 shows); the guard compares the report figures
    (blocked neighbours) of chain and dense. The chains are the ones the committed run planned."""
    constants = json.loads((HERE / "fit.json").read_text())["constants_us"]
    rows = json.loads(OUT.read_text())["sites"]
    dense = {}
    for r in rows:
        inner = [tuple(n) for n in r["cost_nodes"]]
        r["predicted_report_us"] = features_us(constants, inner, "nchwc")
        r["predicted_alone_us"] = features_us(constants, inner, "nchw") + constants[fit.RUN_TERM]
        r["ratio_alone"] = r["predicted_alone_us"] / r["measured_alone_us"]
        if r["kind"] == "dense":
            dense[(r["model"], r["site"])] = r["predicted_report_us"]
    for r in rows:
        if r["kind"] == "chain":
            r["guard_predicted_faster"] = r["predicted_report_us"] < dense[(r["model"], r["site"])]
    summary = summarize(rows)
    for s in summary:  # the sandwiched predictions are not recomputed
        s["within_20pct_sandwich"], s["sandwiched"] = None, 0
    print_tables({"summary": summary})
    small = [r for r in rows if r["measured_alone_us"] < 50]
    print(f"sites measured < 50 us within ±20%: {sum(abs(r['ratio_alone'] - 1) <= WITHIN for r in small)} "
          f"of {len(small)}; >= 50 us: "
          f"{sum(abs(r['ratio_alone'] - 1) <= WITHIN for r in rows if r['measured_alone_us'] >= 50)} "
          f"of {len(rows) - len(small)}")


def pct(x):
    return "-" if x is None else f"{x:.0%}"


def print_tables(result):
    print("| model | kind | sites | within ±20% (alone) | time-weighted | median abs error "
          "| within ±20% (sandwiched) | guard agrees | where >10% apart |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in result["summary"]:
        print(f"| {s['model']} | {s['kind']} | {s['count']} | {pct(s['within_20pct_alone'])} | "
              f"{pct(s['time_within_20pct_alone'])} | "
              f"{s['median_abs_error_alone']:.1%} | {pct(s['within_20pct_sandwich'])} ({s['sandwiched']}) | "
              f"{pct(s['guard_agreement'])} ({s['guard_sites']}) | "
              f"{pct(s['guard_agreement_clear'])} ({s['guard_clear_sites']}) |")


if __name__ == "__main__":
    main()
