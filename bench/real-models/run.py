#!/usr/bin/env python3
"""Real-model benchmark: what each onnx-rstd method and budget costs on third-party trained
networks (PP-OCR det / cls / rec from rapidocr-onnxruntime 1.4.4), against onnxruntime's own
int8 dynamic quantisation. Not a test.

    python3 bench/real-models/run.py            # full grid, writes docs/real-models.md + PNG
    python3 bench/real-models/run.py --quick    # small subset, writes under .cache only

For each model x method (svd, tucker2, cp, kron, auto) x budget (--ratio 1.0/0.75/0.5/0.25,
--max-error 0.05/0.1/0.2): conv parameters, file size, onnxruntime latency (2 threads,
interleaved with the original, median of paired runs), fidelity (relative L2 of the outputs;
classifier task accuracy on rendered 0/180 lines and top-1 agreement; detector IoU of the
binarised p>0.3 map; recogniser exact-line accuracy and string agreement). Baselines:
quantize_dynamic int8 (per-tensor and per-channel) of the original and of each compressed
model. A method that fails on a model is recorded with its error, never aborts the run.
The onnx 'light' backend models are rewritten at the default settings only, to record what
the tool does with ConstantOfShape weights (their weights are all one value: fidelity there
is meaningless).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "Tests" / "realmodels"))
import numpy as np  # noqa: E402

import rm_helpers as H  # noqa: E402

METHODS = ["svd", "tucker2", "cp", "kron", "auto"]
BUDGETS = [("ratio", 1.0), ("ratio", 0.75), ("ratio", 0.5), ("ratio", 0.25),
           ("max-error", 0.05), ("max-error", 0.1), ("max-error", 0.2)]
QUICK_METHODS = ["svd", "auto"]
QUICK_BUDGETS = [("ratio", 0.5), ("max-error", 0.1)]
TASK_METRIC = {"cls": ("accuracy", "task accuracy (rendered 0/180 lines)"),
               "det": ("iou", "IoU of p>0.3 map vs original"),
               "rec": ("accuracy", "exact-line accuracy (rendered lines)")}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ----------------------------------------------------------------------------- model helpers

def constants_to_initializers(src: Path, dst: Path) -> None:
    """quantize_dynamic only quantises initializer weights; PP-OCR keeps them in Constant nodes."""
    import onnx
    m = onnx.load(str(src))
    g = m.graph
    outs = {o.name for o in g.output}
    keep = []
    for n in g.node:
        if (n.op_type == "Constant" and n.output[0] not in outs and len(n.attribute) == 1
                and n.attribute[0].name == "value"):
            t = onnx.TensorProto()
            t.CopyFrom(n.attribute[0].t)
            t.name = n.output[0]
            g.initializer.append(t)
        else:
            keep.append(n)
    del g.node[:]
    g.node.extend(keep)
    onnx.save(m, str(dst))


def quantize(src: Path, dst: Path) -> None:
    """quantize_dynamic, int8 weights. (per_channel=True gives the same ConvInteger
    graphs for these models with onnxruntime 1.32: Conv is quantised per tensor either way.)"""
    import logging
    from onnxruntime.quantization import QuantType, quantize_dynamic
    logging.getLogger().setLevel(logging.ERROR)
    tmp = dst.with_name(dst.stem + ".init.onnx")
    constants_to_initializers(src, tmp)
    try:
        quantize_dynamic(str(tmp), str(dst), weight_type=QuantType.QInt8)
    finally:
        tmp.unlink(missing_ok=True)


def conv_params(path: Path) -> int:
    """Weights + biases of Conv/ConvTranspose that are stored constants (original models)."""
    import onnx
    g = onnx.load(str(path)).graph
    size = {t.name: int(np.prod(t.dims)) for t in g.initializer}
    for n in g.node:
        if n.op_type == "Constant":
            size[n.output[0]] = int(np.prod(n.attribute[0].t.dims))
    return sum(size.get(i, 0) for n in g.node if n.op_type in ("Conv", "ConvTranspose")
               for i in n.input[1:3])


def latency_input(task: str) -> np.ndarray:
    rng = np.random.default_rng(0)
    shape = {"det": (1, 3, 736, 736), "cls": (6, 3, 48, 192), "rec": (6, 3, 48, 320)}[task]
    return rng.uniform(-1, 1, size=shape).astype(np.float32)


def paired_latency(orig: Path, cand: Path, x: np.ndarray, rounds: int) -> dict:
    """Median seconds of the candidate and of the original, measured in alternation (order
    flipped every round) so background load hits both alike; ratio = median of per-round ratios."""
    so, sc = H.session(orig, "all", 2), H.session(cand, "all", 2)
    name_o, name_c = so.get_inputs()[0].name, sc.get_inputs()[0].name
    for _ in range(2):
        so.run(None, {name_o: x}); sc.run(None, {name_c: x})
    to, tc = [], []
    for r in range(rounds):
        order = [(so, name_o, to), (sc, name_c, tc)]
        if r % 2:
            order.reverse()
        for s, n, acc in order:
            t0 = time.perf_counter()
            s.run(None, {n: x})
            acc.append(time.perf_counter() - t0)
    return {"ms": 1e3 * statistics.median(tc), "ms_original": 1e3 * statistics.median(to),
            "ratio": statistics.median(c / o for c, o in zip(tc, to))}


# ----------------------------------------------------------------------------- one variant

def measure(row: dict, path: Path, model: dict, ev: H.Evaluator, args, latency=True) -> None:
    orig = Path(model["path"])
    row["file_size"] = path.stat().st_size
    row["file_ratio"] = row["file_size"] / orig.stat().st_size
    if row["kind"] == "rstd":
        row["float_params"] = H.float_param_count(path)
        # conv params after = everything the rewrite changed; the rest of the model is untouched
        row["conv_params"] = row["float_params"] - (model["float_params"] - model["conv_params"])
        row["conv_ratio"] = row["conv_params"] / model["conv_params"]
    else:  # int8: same parameters, stored in int8
        row["conv_params"], row["conv_ratio"] = model["conv_params"], 1.0
    row["metrics"] = ev.score(path, "all")
    if latency and args.latency_rounds > 0:
        row["latency"] = paired_latency(orig, path, latency_input(ev.task), args.latency_rounds)


def run_variant(kind: str, method: str | None, budget, model_name: str, model: dict,
                ev: H.Evaluator, args, outdir: Path, src: Path | None = None) -> dict:
    row = {"model": model_name, "kind": kind, "method": method,
           "budget": f"--{budget[0]} {budget[1]:g}" if budget else None, "status": "ok"}
    try:
        if kind == "rstd":
            dst = outdir / f"{method}_{budget[0]}_{budget[1]:g}.onnx"
            opts = ["--method", method, f"--{budget[0]}", f"{budget[1]:g}"]
            res = H.run_cli(args.cli, Path(model["path"]), dst, *opts, timeout=args.timeout)
            row["cli_seconds"] = round(res.seconds, 2)
            row["command"] = "onnx-rstd IN OUT " + " ".join(opts)
            if res.returncode != 0 or not dst.is_file():
                err = (res.stderr.strip() or res.stdout.strip() or "no output").splitlines()
                row["status"] = f"CLI exit {res.returncode}: {err[-1][:160] if err else ''}"
                return row
            if res.report:
                t = res.report.get("totals", {})
                row["report"] = {k: t.get(k) for k in ("paramsBefore", "paramsAfter", "macsBefore",
                                                       "macsAfter", "sitesRewritten", "sitesKept")}
                fmts = {}
                for s in res.report.get("sites", []):
                    if s.get("status") == "rewritten":
                        fmts[s.get("format")] = fmts.get(s.get("format"), 0) + 1
                row["formats"] = fmts
        else:
            base = src or Path(model["path"])
            dst = outdir / (f"{base.stem}.{kind}.onnx" if src else f"original.{kind}.onnx")
            quantize(base, dst)
        try:
            H.check_model(dst)
            row["checker"] = "ok"
        except Exception as e:  # noqa: BLE001
            row["checker"] = f"FAILED: {str(e).splitlines()[0][:160]}"
        measure(row, dst, model, ev, args, latency=src is None)
    except Exception as e:  # noqa: BLE001 - a failing variant is a result, not a crash
        row["status"] = f"error: {type(e).__name__}: {str(e).strip().splitlines()[0][:160] if str(e).strip() else ''}"
        if args.verbose:
            traceback.print_exc()
    return row


# ----------------------------------------------------------------------------- docs

def fmt(v, spec=".3f"):
    if v is None:
        return "–"
    if isinstance(v, float) and not np.isfinite(v):
        return "inf"
    return format(v, spec)


def variant_label(r):
    if r["kind"] == "rstd":
        return f"{r['method']} {r['budget']}"
    if r["kind"] == "original":
        return "original"
    label = "int8"
    return f"{r['method']} {r['budget']} + {label}" if r.get("method") else label


def table(rows, task):
    key = TASK_METRIC[task][0]
    head = ["variant", "status", "conv params", "file size", "latency", f"{key}"]
    if task == "cls":
        head += ["top-1 agree", "rel L2"]
    elif task == "det":
        head += ["IoU min", "rel L2"]
    else:
        head += ["string agree", "CER", "rel L2"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        m = r.get("metrics", {})
        lat = r.get("latency")
        cells = [variant_label(r), r["status"] if r["status"] == "ok" else f"**{r['status']}**",
                 f"{fmt(r.get('conv_ratio'), '.3f')}×" if "conv_ratio" in r else "–",
                 f"{r['file_size'] / 1e6:.2f} MB ({r['file_ratio']:.2f}×)" if "file_size" in r else "–",
                 f"{lat['ms']:.1f} ms ({lat['ratio']:.2f}×)" if lat else "–",
                 fmt(m.get(key))]
        if task == "cls":
            cells += [fmt(m.get("top1_agreement")), fmt(m.get("rel_l2"), ".2e")]
        elif task == "det":
            cells += [fmt(m.get("iou_min")), fmt(m.get("rel_l2"), ".2e")]
        else:
            cells += [fmt(m.get("string_agreement")), fmt(m.get("cer")), fmt(m.get("rel_l2"), ".2e")]
        if r.get("checker", "ok") != "ok":
            cells[1] += f" (checker {r['checker']})"
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def keeps_fidelity(r, task, orig_metrics):
    m = r.get("metrics")
    if r["status"] != "ok" or not m:
        return False
    if task == "cls":
        return m["accuracy"] >= orig_metrics["accuracy"] - 0.01
    if task == "det":
        return m["iou"] >= 0.95
    return m["accuracy"] >= orig_metrics["accuracy"] - 0.01


def headline(results, models):
    lines = []
    for name, model in models.items():
        task = model["task"]
        rows = [r for r in results if r["model"] == name]
        orig = next(r for r in rows if r["kind"] == "original")["metrics"]
        good = [r for r in rows if r["kind"] == "rstd" and keeps_fidelity(r, task, orig)]
        crit = {"cls": "task accuracy within 1 point", "det": "map IoU ≥ 0.95",
                "rec": "line accuracy within 1 point"}[task]
        if good:
            best = min(good, key=lambda r: (r["conv_ratio"], r["file_ratio"]))
            lines.append(f"- **{name}** ({crit}): smallest conv-parameter ratio "
                         f"**{best['conv_ratio']:.3f}×** with `{variant_label(best)}` "
                         f"(file {best['file_ratio']:.2f}×, {TASK_METRIC[task][0]} "
                         f"{best['metrics'][TASK_METRIC[task][0]]:.3f}).")
        else:
            lines.append(f"- **{name}** ({crit}): no low-rank variant keeps it.")
        q = [r for r in rows if r["kind"] == "int8" and not r.get("method")]
        for r in q:
            ok = keeps_fidelity(r, task, orig)
            lines.append(f"  - {variant_label(r)}: file {r.get('file_ratio', float('nan')):.2f}×, "
                         f"{TASK_METRIC[task][0]} {fmt(r.get('metrics', {}).get(TASK_METRIC[task][0]))}"
                         f" — {'keeps' if ok else 'loses'} fidelity.")
    return "\n".join(lines)


def verdict(results, models):
    """Plain statement: where does low-rank lose to int8 and where does it win."""
    out = []
    for name, model in models.items():
        task = model["task"]
        rows = [r for r in results if r["model"] == name and r["status"] == "ok" and "metrics" in r]
        orig = next(r for r in rows if r["kind"] == "original")["metrics"]
        lr = [r for r in rows if r["kind"] == "rstd" and keeps_fidelity(r, task, orig)]
        q = [r for r in rows if r["kind"] == "int8" and not r.get("method")
             and keeps_fidelity(r, task, orig)]
        best_lr = min((r["file_ratio"] for r in lr), default=None)
        best_q = min((r["file_ratio"] for r in q), default=None)
        both = [r for r in rows if r["kind"] == "int8" and r.get("method")
                and keeps_fidelity(r, task, orig)]
        best_both = min((r["file_ratio"] for r in both), default=None)
        if best_q is None and best_lr is not None:
            s = (f"low-rank **wins**: int8 dynamic quantisation does not keep fidelity at all, "
                 f"low-rank keeps it down to {best_lr:.2f}× file size")
        elif best_q is not None and (best_lr is None or best_q < best_lr):
            s = (f"low-rank **loses** to int8: int8 keeps fidelity at {best_q:.2f}× file size, "
                 + (f"low-rank only down to {best_lr:.2f}×" if best_lr is not None else
                    "no low-rank variant keeps it"))
        elif best_q is None and best_lr is None:
            s = "neither int8 nor any low-rank variant keeps fidelity"
        else:
            s = f"low-rank **wins** on size: {best_lr:.2f}× vs int8 {best_q:.2f}×"
        if best_both is not None:
            s += f"; compressed-then-int8 keeps it at {best_both:.2f}×"
        out.append(f"- **{name}**: {s}.")
    return "\n".join(out)


def plot(results, models, png: Path):
    """Row 1: task fidelity against file size; row 2: output relative L2 (log) against file size."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    n = len(models)
    fig, axes = plt.subplots(2, n, figsize=(5.2 * n, 8.4), squeeze=False)
    colors = {"svd": "C0", "tucker2": "C1", "cp": "C2", "kron": "C3", "auto": "C4"}
    for col, (name, model) in enumerate(models.items()):
        key, label = TASK_METRIC[model["task"]]
        rows = [r for r in results if r["model"] == name and r["status"] == "ok" and "metrics" in r]
        for row_i, (get, ylabel, log) in enumerate((
                (lambda m: m[key], label, False),
                (lambda m: max(m["rel_l2"], 1e-7), "relative L2 of the output (log)", True))):
            ax = axes[row_i][col]
            for meth, c in colors.items():
                for btype, mk in (("--ratio", "o"), ("--max-error", "s")):
                    pts = sorted((r["file_ratio"], get(r["metrics"])) for r in rows
                                 if r["kind"] == "rstd" and r["method"] == meth and r["budget"].startswith(btype))
                    if pts:
                        ax.plot(*zip(*pts), marker=mk, color=c, ls="-" if btype == "--ratio" else ":",
                                label=f"{meth} {btype}", ms=5, alpha=0.85)
                pts = [(r["file_ratio"], get(r["metrics"])) for r in rows
                       if r["kind"] == "int8" and r.get("method") == meth]
                if pts:
                    ax.scatter(*zip(*pts), marker="x", color=c, s=25, alpha=0.7)
            pts = [(r["file_ratio"], get(r["metrics"])) for r in rows if r["kind"] == "int8" and not r.get("method")]
            if pts:
                ax.scatter(*zip(*pts), marker="*", color="k", s=110, label="int8 (quantize_dynamic)", zorder=5)
            o = next(r for r in rows if r["kind"] == "original")
            ax.scatter([1.0], [get(o["metrics"])], marker="D", color="grey", s=50, label="original", zorder=5)
            if log:
                ax.set_yscale("log")
            ax.set_title(name if row_i == 0 else "")
            ax.set_xlabel("file size / original   (x: that variant + int8)")
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=6, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(png, dpi=100)
    plt.close(fig)


def write_docs(results, light, models, meta, md: Path, png_rel: str):
    parts = [
        "# Real models: what low-rank compression costs on trained networks",
        "",
        "<!-- generated by bench/real-models/run.py; edit the generator, not this file -->",
        "",
        "Third-party trained networks no one here trained: the three PP-OCR models shipped in "
        "`rapidocr-onnxruntime==1.4.4` (text detection PP-OCRv4 det, text-line 0/180° classifier "
        "ch_ppocr_mobile_v2.0_cls, recognition PP-OCRv4 rec). `Scripts/fetch-real-models` downloads "
        "the wheel with `pip download --no-deps`, checks its SHA-256 and extracts the models into "
        "`.cache/real-models/` (never committed).",
        "",
        "## How it was measured",
        "",
        f"Command: `{meta['command']}`  ",
        f"Date: {meta['date']}; onnx-rstd {meta.get('cli_version', '?')} (`{meta['cli']}`"
        + (f", built from commit {meta['cli_commit']}" if meta.get("cli_commit") else "") + "); "
        f"onnxruntime {meta['onnxruntime']}; onnx {meta['onnx']}; {meta['machine']}.",
        "",
        "- **Inputs** (deterministic, generated at run time): the six scikit-image images "
        "(astronaut, coffee, chelsea, camera, page, text) plus a page of rendered text for the "
        "detector, preprocessed as RapidOCR does (BGR, short side scaled to 736, sides rounded to "
        "multiples of 32, (x/255−0.5)/0.5); 200 text lines rendered with Pillow and DejaVu fonts "
        "(half plain, half hard: low contrast, blur, noise, wide margins), upright (label 0) and "
        "rotated 180° (label 1) for the classifier, resized to 48×192 as RapidOCR does; 48 rendered "
        "lines at 48×320 for the recogniser, decoded with greedy CTC and the model's own character "
        "list.",
        "- **Fidelity**: relative L2 of the output against the original at the same onnxruntime "
        "optimisation level (ORT_ENABLE_ALL here); classifier task accuracy and top-1 agreement; "
        "detector IoU of the binarised map (p > 0.3, RapidOCR's threshold), pooled over the 7 "
        "images, and the per-image minimum; recogniser exact-line accuracy, character error rate "
        "and string agreement with the original.",
        "- **Conv params**: weights and biases of the Conv/ConvTranspose layers after the rewrite, "
        "relative to the original (computed from the stored float constants, so it covers every "
        "format). **Latency**: onnxruntime, 2 intra-op threads, the candidate and the original run "
        f"alternately {meta['latency_rounds']} times (det 1×3×736×736, cls 6×3×48×192, rec "
        "6×3×48×320), median of the per-round ratios; the machine is shared, so read ±10 %.",
        "- **Baselines**: onnxruntime `quantize_dynamic` with int8 weights after moving the "
        "Constant-node weights to initializers (the quantiser ignores Constant nodes); the same "
        "quantisation applied to each compressed model (`+ int8` rows, latency not measured). "
        "`per_channel=True` gives the same ConvInteger graph here (per-tensor zero points), so it is not "
        "listed. Conv params of int8 rows count parameters (each stored in one byte).",
        "",
        "## Headline: smallest conv-parameter ratio that keeps fidelity",
        "",
        headline(results, models),
        "",
        "## Low-rank against int8",
        "",
        verdict(results, models),
        "",
        f"![fidelity against file size per method]({png_rel})",
        "",
    ]
    for name, model in models.items():
        task = model["task"]
        rows = [r for r in results if r["model"] == name]
        parts += [f"## {name}", "",
                  f"`{Path(model['path']).name}`: {model['conv_params']:,} conv parameters, "
                  f"{model['file_size'] / 1e6:.2f} MB.", "", table(rows, task), ""]
    if light:
        parts += ["## onnx backend 'light' models (ConstantOfShape weights)", "",
                  "Every conv weight in these topology-only models is `ConstantOfShape` of one value "
                  "(0.02), so fidelity numbers mean nothing; this records what the CLI does with "
                  "computed constants at the default settings.", "",
                  "| model | exit | sites rewritten | kept | kept reasons |", "|---|---|---|---|---|"]
        for r in light:
            parts.append(f"| {r['model']} | {r['exit']} | {r.get('rewritten', '–')} | {r.get('kept', '–')} | "
                         f"{'; '.join(r.get('reasons', []))[:300]} |")
        parts.append("")
    parts += [
        "## The regression suite (`Tests/realmodels`)", "",
        "`python3 -m pytest Tests/realmodels -q` (160 tests, 2.5 minutes on 2 cores, about 5 when they are busy; fetch included; "
        "the CLI is `$ONNX_RSTD`, else `.build/release`, `.build/debug` or `.build-real/release` — "
        "a missing CLI fails the suite, it never skips). For each of the 3 PP-OCR models and the 9 "
        "onnx backend 'light' models it rewrites with `--rank full --force` (every site rewritten at "
        "its lossless rank, so every format and emitter is exercised) and with the default settings, "
        "and asserts:", "",
        "- exit 0, a JSON report listing every Conv of the model (kept sites with a reason), "
        "file sizes that match, the input file unchanged;",
        "- `onnx.checker` full check; IR version, opsets, metadata (the recogniser's character list "
        "lives there) and graph inputs/outputs (symbolic dims included) preserved;",
        "- onnxruntime runs with graph optimisations on and off; each level is compared with the "
        "original at the same level;",
        "- full rank: outputs within 1e-4 relative L2 on the real inputs above, and through "
        "`Scripts/verify --opt both --max-rel-error 1e-4 --check` on random inputs;",
        "- default settings: the classifier's task accuracy within 2 points of the original's "
        "(original: 0.925 on the 200 rendered lines); for the light models (all weights one value, "
        "so rank 1) every conv output within 1e-3;",
        "- ConstantOfShape weights (light models): the rewriter folds these computed constants and "
        "rewrites the sites; the report's error for these exactly rank-1 weights must be ≤ 1e-4.", "",
        "Facts the suite pins on the original models (`test_rm_inputs.py`): the classifier labels "
        "upright lines 0 and 180°-rotated lines 1 and gets 0.925 of the 200 rendered lines (0.99 of "
        "the plain half); the recogniser reads 47 of 48 rendered lines exactly (CER 0.0012); the "
        "detector marks text on page, text and the rendered page and nothing on astronaut or camera.",
        "",
        "`Scripts/verify ORIGINAL REWRITTEN [--inputs x.npz] [--max-rel-error 1e-4] [--opt both] "
        "[--check]` is the same gate for a user's CI: exit 0 within the bound, 1 above it (or an "
        "output missing, non-finite, reshaped, or a checker failure), 2 on usage or load errors.",
        "",
    ]
    parts += ["## Reproduce", "", "```", "Scripts/fetch-real-models",
              "swift build -c release --product onnx-rstd",
              meta["command"], "python3 -m pytest Tests/realmodels -q   # the regression suite",
              "```", "",
              "Raw rows: `bench/real-models/results.json`.", ""]
    md.write_text("\n".join(parts))


# ----------------------------------------------------------------------------- main

def model_facts(manifest, name):
    m = dict(manifest[name])
    src = Path(m["path"])
    m.update(conv_params=conv_params(src), float_params=H.float_param_count(src),
             file_size=src.stat().st_size)
    return m


def render(path: Path, args) -> int:
    data = json.loads(path.read_text())
    manifest = H.fetch_models()
    results = data["results"]
    names = list(dict.fromkeys(r["model"] for r in results))
    models = {n: model_facts(manifest, n) for n in names}
    meta = data["meta"]
    if args.cli_commit:
        meta["cli_commit"] = args.cli_commit
    if args.docs is False:
        out = path.parent
        plot(results, models, out / "fidelity.png")
        write_docs(results, data.get("light", []), models, meta, out / "real-models.md", "fidelity.png")
    else:
        (HERE / "results.json").write_text(json.dumps(data, indent=1))
        plot(results, models, HERE / "fidelity.png")
        write_docs(results, data.get("light", []), models, meta, REPO / "docs" / "real-models.md",
                   "../bench/real-models/fidelity.png")
    log(f"rendered {len(results)} rows of {', '.join(names)}")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="cls+det, svd/auto, two budgets, fewer inputs")
    ap.add_argument("--models", help="comma list (default: ppocr-det,ppocr-cls,ppocr-rec)")
    ap.add_argument("--methods", help="comma list (default: svd,tucker2,cp,kron,auto)")
    ap.add_argument("--latency-rounds", type=int, default=None)
    ap.add_argument("--timeout", type=float, default=900, help="seconds per CLI run")
    ap.add_argument("--no-quant", action="store_true", help="skip the int8 baselines")
    ap.add_argument("--no-light", action="store_true", help="skip the onnx light models")
    ap.add_argument("--docs", dest="docs", action="store_true", default=None,
                    help="write docs/real-models.md and the PNG (default: on unless --quick)")
    ap.add_argument("--no-docs", dest="docs", action="store_false")
    ap.add_argument("--work", type=Path, default=H.CACHE / "bench")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--cli-commit", help="commit the CLI was built from (recorded in the docs)")
    ap.add_argument("--render", type=Path, metavar="RESULTS.json",
                    help="only regenerate the docs and plot from a results file (or results.partial.json)")
    args = ap.parse_args(argv)
    if args.render:
        return render(args.render, args)
    if args.docs is None:
        args.docs = not args.quick
    if args.latency_rounds is None:
        args.latency_rounds = 5 if args.quick else 15
    cli = H.find_cli()
    if cli is None or not cli.is_file():
        print("run.py: onnx-rstd CLI not found (set ONNX_RSTD or build it)", file=sys.stderr)
        return 2
    args.cli = cli
    manifest = H.fetch_models()
    names = (args.models.split(",") if args.models else
             (["ppocr-cls", "ppocr-det"] if args.quick else list(H.PPOCR_MODELS)))
    methods = args.methods.split(",") if args.methods else (QUICK_METHODS if args.quick else METHODS)
    budgets = QUICK_BUDGETS if args.quick else BUDGETS
    import onnx
    import onnxruntime
    import subprocess
    ver = subprocess.run([str(cli), "--version"], capture_output=True, text=True).stdout.strip()
    meta = {"command": "python3 bench/real-models/run.py " + " ".join(map(shlex.quote, argv if argv is not None else sys.argv[1:])),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cli": str(cli.relative_to(REPO) if cli.is_relative_to(REPO) else cli),
            "cli_version": ver, "onnxruntime": onnxruntime.__version__, "onnx": onnx.__version__,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)",
            "latency_rounds": args.latency_rounds, "quick": args.quick, "cli_commit": args.cli_commit}
    models, results = {}, []
    t_start = time.time()
    for name in names:
        m = model_facts(manifest, name)
        src = Path(m["path"])
        models[name] = m
        outdir = args.work / name
        outdir.mkdir(parents=True, exist_ok=True)
        log(f"{name}: reference outputs")
        ev = H.Evaluator(name, m["task"], src, quick=args.quick)
        ref = {"model": name, "kind": "original", "method": None, "budget": None, "status": "ok",
               "file_size": m["file_size"], "file_ratio": 1.0, "conv_params": m["conv_params"],
               "conv_ratio": 1.0, "float_params": m["float_params"], "metrics": ev.score(src, "all")}
        results.append(ref)
        if not args.no_quant:
            log(f"{name}: int8")
            results.append(run_variant("int8", None, None, name, m, ev, args, outdir))
        for method in methods:
            for budget in budgets:
                log(f"{name}: {method} --{budget[0]} {budget[1]:g}")
                row = run_variant("rstd", method, budget, name, m, ev, args, outdir)
                results.append(row)
                log(f"   -> {row['status']} conv {fmt(row.get('conv_ratio'))} "
                    f"file {fmt(row.get('file_ratio'))} {json.dumps(row.get('metrics', {}))[:200]}")
                if row["status"] == "ok" and not args.no_quant:
                    q = run_variant("int8", None, None, name, m, ev, args, outdir,
                                    src=outdir / f"{method}_{budget[0]}_{budget[1]:g}.onnx")
                    q.update(method=method, budget=row["budget"])
                    # int8 stores the same number of parameters in a quarter of the bytes
                    q.update(conv_params=row.get("conv_params"), conv_ratio=row.get("conv_ratio"))
                    results.append(q)
        (args.work / "results.partial.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    light = []
    if not args.no_light and not args.quick:
        for name, m in manifest.items():
            if m["task"] != "light":
                continue
            dst = args.work / "light" / f"{name}.onnx"
            dst.parent.mkdir(parents=True, exist_ok=True)
            res = H.run_cli(cli, Path(m["path"]), dst, timeout=args.timeout)
            sites = (res.report or {}).get("sites", [])
            light.append({"model": name, "exit": res.returncode,
                          "rewritten": sum(s.get("status") == "rewritten" for s in sites),
                          "kept": sum(s.get("status") == "kept" for s in sites),
                          "reasons": sorted({s.get("reason") or "" for s in sites if s.get("status") == "kept"})})
    meta["seconds"] = round(time.time() - t_start, 1)
    out = {"meta": meta, "results": results, "light": light}
    (args.work / "results.json").write_text(json.dumps(out, indent=1))
    log(f"results: {args.work / 'results.json'} ({meta['seconds']} s)")
    if args.docs:
        (HERE / "results.json").write_text(json.dumps(out, indent=1))
        png = HERE / "fidelity.png"
        plot(results, models, png)
        write_docs(results, light, models, meta, REPO / "docs" / "real-models.md",
                   "../bench/real-models/fidelity.png")
        log("wrote docs/real-models.md, bench/real-models/fidelity.png, bench/real-models/results.json")
    else:
        plot(results, models, args.work / "fidelity.png")
        write_docs(results, light, models, meta, args.work / "real-models.md", "fidelity.png")
        log(f"wrote {args.work / 'real-models.md'} (quick: docs/ untouched)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
