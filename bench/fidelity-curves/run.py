#!/usr/bin/env python3
"""Fidelity against conv parameters, data-free against calibrated, on every real model (issue #11,
deliverable 6): PP-OCR det, cls, rec and the digits CNN.

  python3 bench/fidelity-curves/run.py [--models digits,cls,rec,det] [--ratios 0.9,0.75,0.6,0.5,0.4,0.3]
        [--det-ratios ...] [--variants data-free,calibrated] [--samples 32] [--method svd] [--out DIR]
  python3 bench/fidelity-curves/run.py --plot-only      # merge DIR/rows-*.jsonl, write results + plot

Per model and --ratio R, two rewrites with the same --method:
  data-free   onnx-rstd M OUT --method svd --ratio R                       (weights only; the output
              check runs on 4 synthetic inputs and only measures under --ratio, it backs nothing off)
  calibrated  onnx-rstd M OUT --method svd --ratio R --calibration DATA --calibration-samples 32
              (default fit = responses, allocation = responses, --correction-stages 8)
--variants adds the settings that lift a model's limit (VARIANTS below: no latency guard, spatial
factors, 128 samples). Calibration data and evaluation are bench/calibrated-allocation/run.py's
(disjoint; digits: the first 150 test digits calibrate, the other 300 evaluate). Each rewrite is
scored with Tests/realmodels/rm_helpers.Evaluator (det mask IoU, cls top-1 agreement and accuracy,
rec line accuracy) or held-out accuracy (digits); the x axis is the measured conv-parameter ratio
from the --report (paramsAfter / paramsBefore over its Conv sites; the totals also count
Gemm/MatMul sites).

Rows are appended to DIR/rows-MODEL.jsonl as they land (a rerun skips rows already there), so
several invocations (one per model) can run side by side; --plot-only (also run at the end of
every invocation) merges them into bench/fidelity-curves/results.json, fidelity-curves.png and
table.md.
"""
import argparse
import importlib.util
import json
import sys
from pathlib import Path


HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "Tests" / "realmodels"))
import rm_helpers as H  # noqa: E402

_spec = importlib.util.spec_from_file_location("calibrated_allocation", REPO / "bench" / "calibrated-allocation" / "run.py")
CA = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(CA)

# The done-when per model: (metric key, label, largest conv ratio, how the threshold is set)
TARGETS = {
    "det": ("iou", "mask IoU", 0.5, ("abs", 0.95)),
    "cls": ("top1_agreement", "top-1 agreement", 0.5, ("abs", 0.99)),
    "rec": ("accuracy", "line accuracy", 0.75, ("drop", 0.02)),
    "digits": ("accuracy", "held-out accuracy", 0.5, ("drop", 0.01)),
}
ORDER = ("det", "cls", "rec", "digits")
# name: (calibrated?, options replacing/adding to "--method M --ratio R"), plot colour and marker.
# The two the issue asks for come first; the others are the settings that lift a model's limit
# (digits: spatial factors as Tests/conformance/test_spatial_responses.py runs them; cls: the
# latency guard, which keeps most of its sites dense).
# rec: 128 samples, as Tests/realmodels/test_rm_calibrated.py runs it. A sample count here
# overrides --samples.
VARIANTS = {
    "data-free": (False, [], "C0", "o", "-", None),
    "calibrated": (True, [], "C3", "s", "-", None),
    "calibrated (no latency guard)": (True, ["--no-latency-guard"], "C1", "^", ":", None),
    "calibrated (spatial)": (True, ["--method", "spatial", "--channel-align", "1", "--no-latency-guard"], "C2", "v", ":", None),
    "calibrated (128 samples)": (True, [], "C4", "P", ":", 128),
    "calibrated (no latency guard; 128 samples)": (True, ["--no-latency-guard"], "C5", "X", ":", 128),
}


def threshold(model: str, original: float) -> float:
    kind, v = TARGETS[model][3]
    return v if kind == "abs" else original - v


def prepare(model: str, out: Path, det_side: int):
    """(source model, calibration(samples) -> path, score(dst) -> metrics dict, original metrics)."""
    if model == "digits":
        src = REPO / "Models" / "digits_cnn.onnx"
        ex, ey = CA.digits_split(out / "digits_cal.npz")
        base = H.session(src).run(None, {"input": ex})[0]

        def score(dst):
            got = H.session(dst).run(None, {"input": ex})[0]
            return {"accuracy": float((got.argmax(1) == ey).mean()),
                    "top1_agreement": float((got.argmax(1) == base.argmax(1)).mean()),
                    "rel_l2": H.rel_l2(base, got)}
        return src, lambda samples: out / "digits_cal.npz", score, {"accuracy": float((base.argmax(1) == ey).mean()), "top1_agreement": 1.0}
    src = Path(H.fetch_models()[f"ppocr-{model}"]["path"])
    made = {}

    def cal(samples: int) -> Path:  # as bench/calibrated-allocation makes it for that many samples
        if samples not in made:
            made[samples] = {
                "det": lambda: CA.det_calibration(out / f"det_cal_{det_side}_{samples}", det_side,
                                                  pages=max(4, samples - len(CA.CAL_PHOTOS))),
                "cls": lambda: CA.cls_calibration(out / f"cls_cal_{samples}.npz", lines=max(16, samples // 2)),
                "rec": lambda: CA.rec_calibration(out / f"rec_cal_{samples}.npz", lines=max(64, samples))}[model]()
        return made[samples]
    ev = H.Evaluator(f"ppocr-{model}", model, src)
    keep = ("iou", "iou_min", "rel_l2", "top1_agreement", "accuracy", "accuracy_original",
            "crops_top1_agreement", "string_agreement", "cer")

    def score(dst):
        return {k: v for k, v in ev.score(dst).items() if k in keep}
    orig = {"det": {"iou": 1.0, "iou_min": 1.0}, "cls": {"top1_agreement": 1.0},
            "rec": {"string_agreement": 1.0}}[model]
    if model in ("cls", "rec"):
        orig["accuracy"] = score(src)["accuracy_original"]
    return src, cal, score, orig


def options(variant: str, ratio: str, cal: Path, samples: int, method: str) -> list[str]:
    calibrated, extra, *_ = VARIANTS[variant]
    opts = (["--method", method] if "--method" not in extra else []) + ["--ratio", ratio] + extra
    if calibrated:
        opts += ["--calibration", str(cal), "--calibration-samples", str(samples)]
    return opts


def conv_sites_ratio(report: dict) -> float:
    """paramsAfter / paramsBefore over the report's Conv/ConvTranspose sites (the totals also
    count Gemm/MatMul sites, kept unless --include-linear), as Tests/conformance does."""
    convs = [s for s in report["sites"] if s["opType"] in ("Conv", "ConvTranspose")]
    return round(sum(s["paramsAfter"] for s in convs) / sum(s["paramsBefore"] for s in convs), 4)


def report_path(out: Path, model: str, variant: str, ratio) -> Path:
    slug = "".join(c if c.isalnum() else "-" for c in variant).strip("-").replace("--", "-")
    return out / f"{model}.{slug}.{ratio}.report.json"


def run_model(model: str, ratios: list[str], variants: list[str], a, out: Path, cli: Path):
    rows_path = out / f"rows-{model}.jsonl"
    done = set()
    if rows_path.exists():
        for line in rows_path.read_text().splitlines():
            r = json.loads(line)
            done.add((r["variant"], r["ratio"]))
    src, calibration, score, orig = prepare(model, out, a.det_side)
    if ("original", 1.0) not in done:
        append(rows_path, {"model": model, "variant": "original", "ratio": 1.0, "conv": 1.0, "conv_weights": 1.0,
                           **orig})
    for ratio in ratios:
        for variant in variants:
            if (variant, float(ratio)) in done:
                continue
            rep = report_path(out, model, variant, ratio)
            dst = rep.with_name(rep.name.replace(".report.json", ".onnx"))
            samples = VARIANTS[variant][5] or a.samples
            cal = calibration(samples) if VARIANTS[variant][0] else None
            opts = options(variant, ratio, cal, samples, a.method)
            res = H.run_cli(cli, src, dst, *opts, report=rep, timeout=a.timeout)
            if res.returncode != 0 or res.report is None:
                print(res.describe(), flush=True)
                continue
            t, m = res.report["totals"], res.report["measurement"]
            row = {"model": model, "variant": variant, "ratio": float(ratio),
                   "samples": samples if VARIANTS[variant][0] else 0,
                   "options": " ".join(o if o != str(cal) else "DATA" for o in opts),
                   "conv": conv_sites_ratio(res.report),
                   "paramsRatioTotals": round(t["paramsAfter"] / t["paramsBefore"], 4),
                   "conv_weights": round(CA.conv_ratio(src, dst), 4),
                   "seconds": round(res.seconds, 1), "check": m["status"], "checkInputs": m.get("inputs"),
                   "outputError": m.get("outputError"), "modelRuns": m.get("modelRuns")}
            row.update(score(dst))
            append(rows_path, row)
            print(json.dumps(row), flush=True)
            dst.unlink(missing_ok=True)


def append(path: Path, row: dict):
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")


def merged(out: Path) -> list[dict]:
    rows = []
    for p in sorted(out.glob("rows-*.jsonl")):
        rows += [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
    seen, unique = set(), []
    for r in rows:  # side-by-side invocations may both run a row; the first one stands
        if (r["model"], r["variant"], r["ratio"]) not in seen:
            seen.add((r["model"], r["variant"], r["ratio"]))
            unique.append(r)
    rows = unique
    for r in rows:  # rows of an earlier version of this script took "conv" from the totals
        rep = report_path(out, r["model"], r["variant"], r["ratio"])
        if r["variant"] != "original" and rep.exists():
            r["conv"] = conv_sites_ratio(json.loads(rep.read_text()))
    return sorted(rows, key=lambda r: (ORDER.index(r["model"]), r["variant"], -r["ratio"]))


def plot(rows: list[dict], png: Path):
    """One panel per model: task metric against measured conv-parameter ratio, data-free and
    calibrated; the issue's target region shaded."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    models = [m for m in ORDER if any(r["model"] == m for r in rows)]
    cols = 2 if len(models) > 2 else len(models)
    rows_n = (len(models) + cols - 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(6.0 * cols, 4.6 * rows_n), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[len(models):]:
        ax.axis("off")
    for ax, model in zip(flat, models):
        key, label, limit, _ = TARGETS[model]
        mine = [r for r in rows if r["model"] == model]
        orig = next((r for r in mine if r["variant"] == "original"), None)
        for variant, (_, _, color, marker, ls, _) in VARIANTS.items():
            pts = sorted((r["conv"], r[key]) for r in mine if r["variant"] == variant and key in r)
            if pts:
                ax.plot(*zip(*pts), marker=marker, color=color, ls=ls, label=variant, ms=5)
        if orig is not None and key in orig:
            ax.scatter([1.0], [orig[key]], marker="D", color="grey", s=40, zorder=5, label="original")
            thr = threshold(model, orig[key])
            ax.axhline(thr, color="g", ls="--", lw=1)
            ax.axvline(limit, color="g", ls="--", lw=1)
            ax.fill_between([0, limit], thr, 1.02, color="g", alpha=0.08, label="issue #11 target")
        low = min([r[key] for r in mine if key in r] + [threshold(model, orig[key]) if orig else 1.0])
        ax.set_xlim(0.2, 1.02)
        ax.set_ylim(max(-0.02, low - 0.05), 1.01)  # zoomed where the curves stay high (cls, digits)
        ax.set_title(f"{model}: {label}")
        ax.set_xlabel("conv parameters / original (measured)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    legend = {}
    for ax in flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(lab, h)
    fig.legend(list(legend.values()), list(legend), loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(png, dpi=100)
    plt.close(fig)


def table(rows: list[dict]) -> str:
    """Markdown: per model and --ratio, the measured conv ratio and task metric of each variant run."""
    out = []
    for model in ORDER:
        mine = [r for r in rows if r["model"] == model]
        if not mine:
            continue
        key, label, limit, _ = TARGETS[model]
        orig = next((r for r in mine if r["variant"] == "original"), {})
        variants = [v for v in VARIANTS if any(r["variant"] == v for r in mine)]
        extra = "accuracy" if model == "cls" else None
        head = "| --ratio | " + " | ".join(f"{v}: conv, {label}" + (", accuracy" if extra else "") for v in variants) + " |"
        note = f", accuracy {orig['accuracy']:.3f}" if extra and "accuracy" in orig else ""
        out += [f"**{model}** — {label}; original {orig.get(key, float('nan')):.3f}{note}; "
                f"target at ≤ {limit}× conv params: {label} ≥ {threshold(model, orig.get(key, 1.0)):.3f}", "",
                head, "|" + "---|" * (head.count("|") - 1)]
        for ratio in sorted({r["ratio"] for r in mine if r["variant"] != "original"}, reverse=True):
            cells = [f"{ratio:g}"]
            for v in variants:
                r = next((r for r in mine if r["variant"] == v and r["ratio"] == ratio), None)
                if r is None:
                    cells.append("—")
                    continue
                hit = r["conv"] <= limit and r[key] >= threshold(model, orig.get(key, 1.0))
                cell = f"{r['conv']:.3f}×, {r[key]:.3f}" + (f", {r[extra]:.3f}" if extra else "")
                cells.append(f"**{cell}**" if hit else cell)
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="digits,cls,rec,det")
    ap.add_argument("--ratios", default="0.9,0.75,0.6,0.5,0.4,0.3")
    ap.add_argument("--det-ratios", default="", help="--ratios for det (calibrated det runs take minutes)")
    ap.add_argument("--variants", default="data-free,calibrated", help="comma-separated names from VARIANTS")
    ap.add_argument("--samples", type=int, default=32, help="--calibration-samples of the calibrated runs")
    ap.add_argument("--method", default="svd")
    ap.add_argument("--det-side", type=int, default=736)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--out", default="/tmp/fidelity-curves")
    ap.add_argument("--plot-only", action="store_true")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if not a.plot_only:
        cli = H.find_cli()
        for model in a.models.split(","):
            ratios = (a.det_ratios if model == "det" and a.det_ratios else a.ratios).split(",")
            run_model(model, ratios, a.variants.split(","), a, out, cli)
    rows = merged(out)
    (HERE / "results.json").write_text(json.dumps(rows, indent=1) + "\n")
    (HERE / "table.md").write_text(table(rows))
    plot(rows, HERE / "fidelity-curves.png")


if __name__ == "__main__":
    main()
