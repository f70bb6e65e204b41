#!/usr/bin/env python3
"""Feasibility oracle for issue #11 (PP-OCR cls: top-1 agreement >= 0.99 and accuracy within 1
point of the original at <= 0.5x conv parameters, no fine-tuning): how far can a linear low-rank
factorization of the group-1 convs go, with the depthwise convs kept dense?

  RSTD_REAL_MODELS_DIR=/work/main/.cache/real-models \\
  python3 bench/calibration/cls_oracle.py [--targets 0.5,0.6,0.7,0.8,0.9] [--fits cal,eval]
      [--cal-samples 128] [--seq cal,eval] [--work /tmp/cls-oracle] [--out results.json]

Method (as det_oracle.py, whose Graph, pca and factored_params are imported). Every group-1 conv
(all 1x1 but the 3x3 stem) is followed by a per-channel affine before its activation or residual
add: a BatchNormalization (z = s y + t) or, in the squeeze-excitation blocks, a bias Add (s = 1,
t = bias). Its pre-activation output z is replaced by its best rank-r linear fit (response PCA):
z -> mu + P_r (z - mu), P_r the projection on the top-r eigenvectors of cov(z). In the conv:
W -> S^-1 P_r S W and a new bias S^-1 (I - P_r)(mu - t) (the convs here have none), so the model
computes exactly mu + P_r (z - mu) before the activation. For fixed inputs this minimises the
pre-activation output MSE over every rank-r linear map of the conv's input. Parameters are counted
as the factored chain r (cin kh kw + cout) when smaller than the dense weight, else the conv is
kept dense (and exact). Depthwise convs cannot be factored and are kept dense.

Subspaces:
  cal   fitted on the first --cal-samples inputs of bench/calibrated-allocation/run.py's cls
        calibration file (cls_calibration(lines=64): rendered lines seed 11 upright + rotated
        and crops of the 8 calibration photos, interleaved) - the legitimate method;
  eval  fitted on the evaluation inputs themselves (the Evaluator's 200 task lines + 48 crops) -
        a cheating oracle.
Independent fits are on the original (dense) model's activations. --seq: sequential variant, each
conv refitted in graph order by reduced-rank regression (det_oracle.rrr) of the ORIGINAL
pre-activation on the conv's input in the model with the earlier convs already replaced.

Allocation rule (stated, simple): one energy fraction tau for all convs; each conv gets the
smallest rank whose top eigenvalues hold >= tau of the centred pre-activation energy on the
fitting data; tau is bisected to the largest value whose total conv parameters are <= target x
the original's. (Ranks therefore differ between fits cal and eval.)

Scored with Tests/realmodels/rm_helpers.Evaluator exactly as the bench does (200 task lines:
top-1 agreement with the original and accuracy; rel_l2 = max over task lines and crops).
Deterministic (no randomness; onnxruntime with 2 threads).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import det_oracle as D  # noqa: E402  (also puts Tests/realmodels on the path and loads run.py as D.CA)
from oracle_common import write_with_bias  # noqa: E402

H, CA = D.H, D.CA


# ----------------------------------------------------------------------------- sites

def sites(graph: D.Graph) -> tuple[list[dict], list[str]]:
    """The group-1 convs in graph order with their pre-activation tensor and affine (s, t);
    and the names of the depthwise convs."""
    g = graph.model.graph
    cons = {}
    for n in g.node:
        for i in n.input:
            cons.setdefault(i, []).append(n)
    out, dw = [], []
    for n in g.node:
        if n.op_type != "Conv":
            continue
        group = next((a.i for a in n.attribute if a.name == "group"), 1)
        w, _ = graph.weight(n.name)
        if group != 1:
            dw.append(n.name)
            continue
        assert len(n.input) < 3 or not n.input[2], n.name  # no conv here has a bias
        (c,) = cons[n.output[0]]
        if c.op_type == "BatchNormalization":
            gamma, beta, mean, var = (graph.tensor(i).astype(np.float64) for i in c.input[1:5])
            eps = next((a.f for a in c.attribute if a.name == "epsilon"), 1e-5)
            s = gamma / np.sqrt(var + eps)
            t = beta - s * mean
        elif c.op_type == "Add":
            other = [i for i in c.input if i != n.output[0]][0]
            prod = next(x for x in g.node if other in x.output)
            bias = graph.tensor(prod.input[0]) if prod.op_type == "Reshape" else graph.tensor(other)
            s, t = np.ones(w.shape[0]), bias.astype(np.float64).ravel()
        else:
            raise ValueError((n.name, c.op_type))
        assert t.shape == (w.shape[0],), (n.name, t.shape)
        out.append({"conv": n.name, "pre": c.output[0], "s": s, "t": t, "shape": w.shape})
    return out, dw


def run_all(path: Path, names: list[str], x: np.ndarray, batch: int = 50) -> dict[str, np.ndarray]:
    """The named tensors of the model at path over the batch x, each as [positions, C] float64."""
    s = H.session(path)
    inp = s.get_inputs()[0].name
    got = {n: [] for n in names}
    for i in range(0, len(x), batch):
        for n, y in zip(names, s.run(names, {inp: x[i:i + batch].astype(np.float32)})):
            got[n].append(y.transpose(0, 2, 3, 1).reshape(-1, y.shape[1]).astype(np.float64))
    return {n: np.concatenate(v) for n, v in got.items()}


def collect(graph: D.Graph, model: Path, names: list[str], x: np.ndarray, work: Path) -> dict[str, np.ndarray]:
    probe = work / "probe.onnx"
    H.expose_outputs(model, names, probe)
    try:
        return run_all(probe, names, x)
    finally:
        probe.unlink()


def replace_site(graph: D.Graph, site: dict, mu: np.ndarray, u: np.ndarray):
    """(W', b') of the conv so that its pre-activation becomes mu + P (z - mu), P = u u^T."""
    w, _ = graph.weight(site["conv"])
    s = np.where(np.abs(site["s"]) < 1e-12, 1.0, site["s"])
    p = u @ u.T
    wf = w.reshape(w.shape[0], -1).astype(np.float64)
    w2 = (p @ (s[:, None] * wf)) / s[:, None]
    d = mu - site["t"]
    b2 = (d - p @ d) / s
    return w2.reshape(w.shape), b2


def rank_for(vals: np.ndarray, tau: float, cap: int) -> int:
    tot = vals.clip(0).sum()
    if tot <= 0:
        return 1
    cum = np.cumsum(vals.clip(0)) / tot
    return int(min(cap, np.searchsorted(cum, tau - 1e-12) + 1))


def allocate(sts, spectra, tau):
    """Ranks (None = dense) and conv params of the factorable convs at energy fraction tau."""
    ranks, params = {}, 0
    for st in sts:
        w = st["shape"]
        cap = min(w[0], int(np.prod(w[1:])))
        r = rank_for(spectra[st["conv"]], tau, cap)
        fp = D.factored_params(w, r)
        size = int(np.prod(w))
        if fp >= size:
            ranks[st["conv"]], params = None, params + size
        else:
            ranks[st["conv"]], params = r, params + fp
    return ranks, params


def bisect_tau(sts, spectra, limit):
    lo, hi = 0.0, 1.0
    if allocate(sts, spectra, hi)[1] <= limit:
        return hi
    for _ in range(60):
        mid = (lo + hi) / 2
        if allocate(sts, spectra, mid)[1] <= limit:
            lo = mid
        else:
            hi = mid
    return lo


def ladder(shape) -> list[int]:
    """Ranks at which the factored chain is smaller than the dense weight: 1/8, 1/4, 3/8, 1/2, 3/4 of the break-even rank."""
    cin, cout = int(np.prod(shape[1:])), shape[0]
    top = max(r for r in range(1, min(cin, cout) + 1) if D.factored_params(shape, r) < cin * cout) \
        if D.factored_params(shape, 1) < cin * cout else 0
    return sorted({max(1, round(top * k / 8)) for k in (1, 2, 3, 4, 6)}) if top else []


def sensitivities(graph, sts, fit, x, work):
    """Measured error of each conv alone at each ladder rank (the others dense): sum over the
    fitting inputs of ||p' - p||^2 (p = the model's softmax output)."""
    s0 = H.session(graph.path)
    inp = s0.get_inputs()[0].name
    ref = np.concatenate([s0.run(None, {inp: x[i:i + 64]})[0] for i in range(0, len(x), 64)])
    sens = {}
    for st in sts:
        sens[st["conv"]] = {}
        mu, _, u = fit[st["conv"]]
        for r in ladder(st["shape"]):
            dst = write_with_bias(graph, work / "sens.onnx", {st["conv"]: replace_site(graph, st, mu, u[:, :r])})
            s = H.session(dst)
            got = np.concatenate([s.run(None, {inp: x[i:i + 64]})[0] for i in range(0, len(x), 64)])
            sens[st["conv"]][r] = float(((got - ref) ** 2).sum())
    return sens


def allocate_greedy(sts, sens, limit):
    """Lagrangian allocation: each conv takes the option (dense, or a ladder rank) minimising
    error + lam * params; lam bisected to the smallest value that fits the limit."""
    def pick(lam):
        ranks, params, err = {}, 0, 0.0
        for st in sts:
            size = int(np.prod(st["shape"]))
            best = (lam * size, None, size, 0.0)
            for r, e in sens[st["conv"]].items():
                fp = D.factored_params(st["shape"], r)
                if e + lam * fp < best[0]:
                    best = (e + lam * fp, r, fp, e)
            ranks[st["conv"]] = best[1]
            params += best[2]
            err += best[3]
        return ranks, params, err
    lo, hi = 0.0, 1.0
    while pick(hi)[1] > limit:
        hi *= 2
        if hi > 1e12:
            raise ValueError("limit below the smallest ladder")
    for _ in range(80):
        mid = (lo + hi) / 2
        if pick(mid)[1] <= limit:
            hi = mid
        else:
            lo = mid
    return pick(hi)


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="PP-OCR cls .onnx (default: the fetched ppocr-cls)")
    ap.add_argument("--targets", default="0.5,0.55,0.6,0.7,0.8,0.9", help="conv-parameter ratios (whole model)")
    ap.add_argument("--fits", default="cal,eval")
    ap.add_argument("--cal-samples", type=int, default=128, help="first N inputs of the bench's cls calibration file")
    ap.add_argument("--seq", default="", help="fits (cal, eval) for the sequential reduced-rank refit")
    ap.add_argument("--seq-targets", default="", help="targets for --seq (default: all)")
    ap.add_argument("--alloc", default="energy,greedy", help="energy: one energy fraction; greedy: measured "
                    "per-conv sensitivity on the fitting data, Lagrangian allocation")
    ap.add_argument("--work", default="/tmp/cls-oracle")
    ap.add_argument("--out", default=str(HERE / "results-cls-oracle.json"))
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    src = Path(a.model) if a.model else Path(H.fetch_models()["ppocr-cls"]["path"])
    graph = D.Graph(src)
    t0 = time.time()

    # --- budget arithmetic
    total = H.conv_weight_params(src)
    sts, dw = sites(graph)
    sizes = {c: int(graph.weight(c)[0].size) for c in graph.convs}
    assert sum(sizes.values()) == total, (sum(sizes.values()), total)
    dw_params = sum(sizes[c] for c in dw)
    g1 = total - dw_params
    min_g1 = sum(min(sizes[s["conv"]], D.factored_params(s["shape"], 1)) for s in sts)
    budget = {"total_conv_params": total, "depthwise_convs": len(dw), "depthwise_params": dw_params,
              "group1_convs": len(sts), "group1_params": g1, "group1_params_at_rank1": min_g1,
              "top_convs": [{"conv": c, "shape": list(graph.weight(c)[0].shape), "params": sizes[c],
                             "share": round(sizes[c] / total, 4), "depthwise": c in dw}
                            for c in sorted(sizes, key=lambda k: -sizes[k])[:16]],
              "targets": []}
    for x in [float(v) for v in a.targets.split(",")]:
        left = x * total - dw_params
        budget["targets"].append({"target": x, "params": x * total, "left_for_group1": left,
                                  "group1_kept": left / g1})
    print(json.dumps({k: v for k, v in budget.items() if k != "top_convs"}, indent=1), flush=True)

    # --- activations
    ev = H.Evaluator("ppocr-cls", "cls", src)
    cal_path = CA.cls_calibration(work / "cls_cal.npz", lines=64)
    cal_x = np.load(cal_path)["x"][:a.cal_samples]
    data = {"cal": cal_x, "eval": np.concatenate([ev.cls_x, ev.crops])}
    pres = [s["pre"] for s in sts]
    acts = {f: collect(graph, src, pres, data[f], work) for f in ("cal", "eval")}
    fits = {f: {s["conv"]: D.pca(acts[f][s["pre"]]) for s in sts} for f in acts}
    spectra = {f: {c: fits[f][c][1] for c in fits[f]} for f in fits}
    print(f"activations: cal {len(cal_x)} inputs, eval {len(data['eval'])} ({time.time() - t0:.0f} s)", flush=True)

    reference = ev.reference()
    rows = []

    def score(replaced, params, extra):
        dst = work / "cand.onnx"
        write_with_bias(graph, dst, replaced)
        s = ev.score(dst)
        row = {**extra, "conv_params": int(params), "conv_ratio": round(params / total, 4),
               **{k: round(s[k], 4) for k in ("top1_agreement", "accuracy", "accuracy_original",
                                             "crops_top1_agreement", "rel_l2")}}
        print(json.dumps(row), f"({time.time() - t0:.0f} s)", flush=True)
        rows.append(row)
        return row

    score({}, total, {"fit": "dense", "target": None})
    per_layer = {}
    sens = {}
    if "greedy" in a.alloc:
        for f in a.fits.split(","):
            sens[f] = sensitivities(graph, sts, fits[f], data[f], work)
            print(f"sensitivities {f} ({time.time() - t0:.0f} s)", flush=True)
    seq_targets = [float(v) for v in a.seq_targets.split(",")] if a.seq_targets else None
    for tgt, alloc, f in ((t, al, f) for t in [float(v) for v in a.targets.split(",")]
                          for al in a.alloc.split(",") for f in a.fits.split(",")):
        limit = tgt * total - dw_params
        if True:
            if alloc == "energy":
                tau = bisect_tau(sts, spectra[f], limit)
                ranks, p = allocate(sts, spectra[f], tau)
                info = {"alloc": alloc, "tau": round(tau, 6)}
            else:
                ranks, p, err = allocate_greedy(sts, sens[f], limit)
                info = {"alloc": alloc, "predicted_err": round(err, 4)}
            replaced = {}
            for st in sts:
                r = ranks[st["conv"]]
                if r is not None:
                    mu, _, u = fits[f][st["conv"]]
                    replaced[st["conv"]] = replace_site(graph, st, mu, u[:, :r])
            per_layer[f"{alloc}:{f}@{tgt}"] = {c: r for c, r in ranks.items()}
            score(replaced, p + dw_params, {"fit": f, "target": tgt, **info,
                                            "factored": sum(r is not None for r in ranks.values())})
            for sf in (a.seq.split(",") if a.seq else []):
                if sf != f or (seq_targets and tgt not in seq_targets):
                    continue
                # sequential: refit each factored conv on its input in the partly replaced model
                rep, cur = {}, src
                for st in sts:
                    r = ranks[st["conv"]]
                    if r is None:
                        continue
                    w, _ = graph.weight(st["conv"])
                    if w.shape[2:] != (1, 1):  # the 3x3 stem sees the model input: nothing upstream changed
                        mu, _, u = fits[f][st["conv"]]
                        rep[st["conv"]] = replace_site(graph, st, mu, u[:, :r])
                    else:
                        xin = collect(graph, cur, [graph.convs[st["conv"]].input[0]], data[f], work)
                        xin = next(iter(xin.values()))
                        # z = s (W x) + t; fit z_orig ~ [x, 1] at rank r, then back to the conv's units
                        w_ls, b_ls, mu, u = D.rrr(xin, acts[f][st["pre"]], r)
                        p_ = u @ u.T
                        wz = p_ @ w_ls
                        bz = p_ @ b_ls + mu - p_ @ mu
                        s = np.where(np.abs(st["s"]) < 1e-12, 1.0, st["s"])
                        rep[st["conv"]] = ((wz / s[:, None]).reshape(w.shape), (bz - st["t"]) / s)
                    cur = write_with_bias(graph, work / "seq.onnx", rep)
                score(rep, p + dw_params, {"fit": f + "-rrr-seq", "target": tgt, **info})

    # energy of the calibration subspace on the evaluation positions at the 0.5x ranks
    transfer = {}
    key = "greedy:cal@0.5" if "greedy" in a.alloc else "energy:cal@0.5"
    if key in per_layer:
        for st in sts:
            r = per_layer[key][st["conv"]]
            if r is None:
                continue
            ye = acts["eval"][st["pre"]]
            mu_e, vals_e, _ = fits["eval"][st["conv"]]
            mu_c, _, u_c = fits["cal"][st["conv"]]
            yc = ye - mu_c
            res = yc - (yc @ u_c[:, :r]) @ u_c[:, :r].T
            den = ((ye - mu_e) ** 2).sum()
            transfer[st["conv"]] = {"rank": r, "eval_energy_own_subspace": round(float(vals_e[:r].sum() / vals_e.sum()), 4),
                                    "eval_rel_err_cal_subspace": round(float((res ** 2).sum() / den), 4) if den > 0 else None}

    out = {"model": str(src), "evaluation": {"task_lines": len(ev.cls_x), "crops": len(ev.crops),
                                             "metric": "top-1 agreement / accuracy on the task lines (rm_helpers.Evaluator)"},
           "calibration": {"file": str(cal_path), "samples": len(cal_x)},
           "budget": budget, "ranks": per_layer, "sensitivities": sens, "cal_subspace_at_0.5": transfer,
           "rows": rows, "seconds": round(time.time() - t0, 1), "argv": sys.argv[1:]}
    Path(a.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {a.out} ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
