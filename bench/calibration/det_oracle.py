#!/usr/bin/env python3
"""Feasibility oracle for issue #11 (PP-OCR det: mask IoU >= 0.95 at <= 0.5x conv parameters,
no fine-tuning): how far can a linear low-rank factorization of the four wide last-stage 1x1
convs (p2o.Conv.24 384x192, p2o.Conv.28/.30/.32 384x384; 44% of the conv parameters) go, with
every other conv left dense?

  RSTD_REAL_MODELS_DIR=/work/main/.cache/real-models \\
  python3 bench/calibration/det_oracle.py [--ranks 32,48,64,96,128,192] [--sets 24,28,30,32,all]
      [--fits cal,eval] [--budget-ranks 24,45,...] [--nonlinear] [--seq cal,eval]
      [--work /tmp/det-oracle] [--out results.json]

Method. Each conv is replaced by its best rank-r linear fit of its OUTPUT (response PCA): with Y
the conv's outputs (bias included, before the learnable affine and HardSwish that follow), mu
their mean and P_r the projection on the top-r eigenvectors of cov(Y), W -> P_r W and
b -> P_r b + (I - P_r) mu, i.e. y -> mu + P_r (y - mu). For fixed inputs X this is the rank-r
weight minimising sum ||W x + b - (W' x + b')||^2 over the positions (Eckart-Young on the centred
responses), so it is the best any rank-r linear factor of that layer can do in output MSE on the
inputs it was fitted on. The model is measured with the projected weight as one conv (same
function as the two-conv chain); parameters are counted as the factored chain r (cin + cout)
whenever that is smaller than cin cout.

Two subspaces per layer:
  cal   fitted on the calibration inputs of bench/calibrated-allocation/run.py (8 scikit-image
        photos not in the evaluation + 24 rendered pages, short side 736, interleaved) - the
        legitimate method;
  eval  fitted on the evaluation inputs themselves (the 7 images the Evaluator scores) - a
        cheating oracle: no rank-r linear output fit of that layer has a smaller output MSE on
        the evaluation inputs (with the other layers as they are).
Layer sets are fitted independently on the original (dense) model's activations.

--nonlinear (optional): each of the four fitted instead to its output AFTER the affine + HardSwish
that follow it (nonlinear response reconstruction: where HardSwish is flat the fit may take any
value in the flat zone), see `nonlinear_fit`; --nonlinear-only skips the linear rows.

Scored with Tests/realmodels/rm_helpers.Evaluator exactly as the bench does (pooled mask IoU and
worst image over the 7 evaluation images at 736). Deterministic (no randomness; onnxruntime with
2 threads).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "Tests" / "realmodels"))
import rm_helpers as H  # noqa: E402

_spec = importlib.util.spec_from_file_location("calibrated_allocation", REPO / "bench" / "calibrated-allocation" / "run.py")
CA = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(CA)

WIDE = ("p2o.Conv.24", "p2o.Conv.28", "p2o.Conv.30", "p2o.Conv.32")


# ----------------------------------------------------------------------------- graph access

class Graph:
    def __init__(self, path: Path):
        import onnx
        from onnx import numpy_helper
        self.onnx, self.nh = onnx, numpy_helper
        self.path = Path(path)
        self.model = onnx.load(str(path))
        g = self.model.graph
        self.const_node = {}
        for n in g.node:
            if n.op_type == "Constant":
                self.const_node[n.output[0]] = n
        self.inits = {t.name: t for t in g.initializer}
        self.convs = {n.name: n for n in g.node if n.op_type in ("Conv", "ConvTranspose")}

    def tensor(self, name: str) -> np.ndarray:
        if name in self.inits:
            return self.nh.to_array(self.inits[name])
        for a in self.const_node[name].attribute:
            if a.name == "value":
                return self.nh.to_array(a.t)
        raise KeyError(name)

    def weight(self, conv: str) -> tuple[np.ndarray, np.ndarray]:
        n = self.convs[conv]
        w = self.tensor(n.input[1])
        b = self.tensor(n.input[2]) if len(n.input) > 2 and n.input[2] else np.zeros(w.shape[0], np.float32)
        return w, b

    def output(self, conv: str) -> str:
        return self.convs[conv].output[0]

    def write(self, dst: Path, replaced: dict[str, tuple[np.ndarray, np.ndarray]]) -> Path:
        """A copy with the weight and bias of each conv in `replaced` swapped (same shapes)."""
        from oracle_common import write_with_bias
        return write_with_bias(self, dst, replaced)


# ----------------------------------------------------------------------------- activations

def post_affine(graph: Graph, conv: str) -> tuple[float, float, float, float]:
    """The scalar affine + HardSwish + scalar affine that follow each wide conv in PP-LCNetV3
    (Mul a, Add c, HardSwish, Mul s, Add t): returns (a, c), read from the graph."""
    g = graph.model.graph
    cons = {}
    for n in g.node:
        for i in n.input:
            cons.setdefault(i, []).append(n)

    def only(t, op):
        cs = cons.get(t, [])
        assert len(cs) >= 1 and cs[0].op_type == op, (conv, t, [c.op_type for c in cs])
        return cs[0]

    def scalar(n):
        vals = [graph.tensor(i) for i in n.input if i in graph.const_node or i in graph.inits]
        assert len(vals) == 1 and vals[0].size == 1, n.name
        return float(vals[0].ravel()[0])
    mul = only(graph.output(conv), "Mul")
    add = only(mul.output[0], "Add")
    return scalar(mul), scalar(add)


def collect(graph: Graph, convs, inputs: dict[str, np.ndarray], work: Path) -> dict[str, np.ndarray]:
    """The conv outputs as [positions, channels] float64, over all inputs, original model."""
    probe = work / "probe.onnx"
    outs = [graph.output(c) for c in convs]
    H.expose_outputs(graph.path, outs, probe)
    s = H.session(probe)
    name = s.get_inputs()[0].name
    got = {c: [] for c in convs}
    for _, x in sorted(inputs.items()):
        res = s.run(outs, {name: x.astype(np.float32)})
        for c, y in zip(convs, res):
            got[c].append(y[0].reshape(y.shape[1], -1).T.astype(np.float64))
    probe.unlink()
    return {c: np.concatenate(v) for c, v in got.items()}


def collect_inputs(model_path: Path, graph: Graph, conv: str, inputs, work: Path) -> np.ndarray:
    """The input of `conv` (a 1x1 conv) as [positions, cin] float64 in the model at model_path."""
    probe = work / "probe-in.onnx"
    name_in = graph.convs[conv].input[0]
    H.expose_outputs(model_path, [name_in], probe)
    s = H.session(probe)
    name = s.get_inputs()[0].name
    got = []
    for _, x in sorted(inputs.items()):
        y = s.run([name_in], {name: x.astype(np.float32)})[0]
        got.append(y[0].reshape(y.shape[1], -1).T.astype(np.float64))
    probe.unlink()
    return np.concatenate(got)


def rrr(x: np.ndarray, y: np.ndarray, r: int):
    """Reduced-rank regression of y on [x, 1]: least squares B, fitted values Yh = [x, 1] B, then
    the rank-r principal subspace of Yh. Returns (W [cout, cin], b, mu, U_r)."""
    xt = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    g = xt.T @ xt
    g += np.eye(len(g)) * 1e-8 * np.trace(g) / len(g)
    bmat = np.linalg.solve(g, xt.T @ y)
    mu, _, vecs = pca(xt @ bmat)
    return bmat[:-1].T, bmat[-1], mu, vecs[:, :r]


def pca(y: np.ndarray):
    mu = y.mean(0)
    yc = y - mu
    cov = yc.T @ yc / len(y)
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1]
    return mu, vals[order], vecs[:, order]


def hswish(z):
    return z * np.clip(z + 3, 0, 6) / 6


def hswish_grad(z):
    return np.where(z < -3, 0.0, np.where(z > 3, 1.0, (2 * z + 3) / 6))


def nonlinear_fit(y: np.ndarray, r: int, a: float, c: float, w: np.ndarray, b: np.ndarray, steps: int = 6):
    """A HardSwish-aware rank-r fit (nonlinear response reconstruction in the manner of Zhang et
    al. 2015 for ReLU): the conv's output feeds hswish(a y + c), which is 0 wherever
    a y + c <= -3, so there the fit may take any value that is also <= -3. Alternate: z = the
    current rank-r fit; target t = y, except t = z where both y and z are in that flat zone; refit
    by reduced-rank regression of t on [y, 1] (same as on the conv's input: y is an affine
    function of it of full rank on its span). Keeps the step of smallest post-activation error.
    Returns (W', b') of rank <= r and the post-activation relative errors per step."""
    def post(v):
        return hswish(a * v + c)
    flat = a * y + c <= -3
    mu, _, vecs = pca(y)
    u = vecs[:, :r]
    m = u @ u.T                                    # z = y m + k (row convention): first the plain PCA fit
    k = mu - mu @ m
    ref = post(y)
    norm = (ref ** 2).sum()
    best = None
    errs = []
    yt = np.concatenate([y, np.ones((len(y), 1))], axis=1)
    g = yt.T @ yt
    g += np.eye(len(g)) * 1e-8 * np.trace(g) / len(g)
    for step in range(steps + 1):
        z = y @ m + k
        e = float(((post(z) - ref) ** 2).sum() / norm)
        errs.append(e)
        if best is None or e < best[0]:
            best = (e, m.copy(), k.copy())
        if step == steps:
            break
        t = np.where(flat & (a * z + c <= -3), z, y)
        bm = np.linalg.solve(g, yt.T @ t)          # [C+1, C]
        f = yt @ bm
        mu_f, _, vecs = pca(f)
        p = vecs[:, :r] @ vecs[:, :r].T
        m = bm[:-1] @ p
        k = (bm[-1] - mu_f) @ p + mu_f
    _, m, k = best
    # y = W x + b (column convention) -> z = m^T y + k
    w2 = (m.T @ w.reshape(w.shape[0], -1)).reshape(w.shape)
    b2 = m.T @ b + k
    return w2, b2, errs


def projected(w: np.ndarray, b: np.ndarray, mu: np.ndarray, u: np.ndarray):
    """W -> P W, b -> P b + (I - P) mu with P = U U^T (U orthonormal columns)."""
    p = u @ u.T
    w2 = (p @ w.reshape(w.shape[0], -1)).reshape(w.shape)
    b2 = p @ b + mu - p @ mu
    return w2, b2


def factored_params(w_shape, r: int) -> int:
    cout, cin = w_shape[0], int(np.prod(w_shape[1:]))
    return min(cout * cin, r * (cin + cout))


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="PP-OCR det .onnx (default: the fetched ppocr-det)")
    ap.add_argument("--ranks", default="32,48,64,96,128,192")
    ap.add_argument("--sets", default="24,28,30,32,all", help="comma separated: a conv number or 'all' (the four)")
    ap.add_argument("--fits", default="cal,eval")
    ap.add_argument("--cal-pages", type=int, default=24, help="rendered pages in the calibration set (bench: 24 + 8 photos = 32)")
    ap.add_argument("--budget-ranks", default="", help="extra ranks for the four together (budget points), comma separated")
    ap.add_argument("--nonlinear-ranks", default="64,90,128")
    ap.add_argument("--nonlinear-fits", default="eval")
    ap.add_argument("--nonlinear-only", action="store_true", help="only the --nonlinear rows (and --seq)")
    ap.add_argument("--nonlinear", action="store_true", help="also the HardSwish-aware subspace (fits cal and eval) for 'all'")
    ap.add_argument("--seq", default="", help="fits (cal, eval) for the sequential reduced-rank refit of the four "
                    "(each fitted on its inputs in the model with the earlier ones replaced, to the original outputs)")
    ap.add_argument("--seq-ranks", default="", help="ranks for --seq (default: --ranks and --budget-ranks)")
    ap.add_argument("--work", default="/tmp/det-oracle")
    ap.add_argument("--out", default=str(REPO / "bench" / "calibration" / "results-det-oracle.json"))
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    src = Path(a.model) if a.model else Path(H.fetch_models()["ppocr-det"]["path"])
    graph = Graph(src)
    t0 = time.time()

    # --- budget arithmetic
    total = H.conv_weight_params(src)
    sizes = {name: graph.weight(name)[0].size for name in graph.convs}
    assert sum(sizes.values()) == total, (sum(sizes.values()), total)
    four = sum(sizes[c] for c in WIDE)
    others = total - four
    per_rank = sum(sum(graph.weight(c)[0].shape[:2]) for c in WIDE)  # params of the four per unit of a common rank
    budget = {"total_conv_params": total, "four_params": four, "four_share": four / total,
              "others_params": others, "four_params_per_common_rank": per_rank, "by_others_kept": []}
    for x in (0.3, 0.4, 0.5, 0.6, 0.7, 1.0):
        left = 0.5 * total - x * others
        budget["by_others_kept"].append({"others_kept": x, "params_left_for_four": left,
                                         "four_kept": left / four, "common_rank": left / per_rank if left > 0 else None})
    # p2o.Conv.36 (360x384, bias) feeds p2o.Conv.37 (96x360, no bias) directly: only the 96-dim
    # row space of W37 reaches the rest of the model, so .36 at rank 96 (projected on it) is exact
    c36, c37 = graph.weight("p2o.Conv.36"), graph.weight("p2o.Conv.37")
    exact36 = factored_params(c36[0].shape, c37[0].shape[0])
    budget["conv36_exact_rank96"] = {"params_before": sizes["p2o.Conv.36"], "params_factored": exact36,
                                    "params_saved": sizes["p2o.Conv.36"] - exact36,
                                    "fused_36_37_params": c37[0].shape[0] * c36[0].shape[1],
                                    "saved_if_fused": sizes["p2o.Conv.36"] + sizes["p2o.Conv.37"] - c37[0].shape[0] * c36[0].shape[1]}
    rest = others - sizes["p2o.Conv.36"] - sizes["p2o.Conv.37"]
    for key, cost in (("with_conv36_exact_rank96", exact36 + sizes["p2o.Conv.37"]),
                      ("with_conv36_37_fused", budget["conv36_exact_rank96"]["fused_36_37_params"])):
        budget[key] = []
        for x in (0.3, 0.4, 0.5, 0.6, 0.7, 1.0):
            left = 0.5 * total - cost - x * rest
            budget[key].append({"others_kept": x, "params_left_for_four": left, "four_kept": left / four,
                                "common_rank": left / per_rank if left > 0 else None})
    print(json.dumps(budget, indent=1), flush=True)

    # --- activations
    ev = H.Evaluator("ppocr-det", "det", src)
    cal_dir = CA.det_calibration(work / "det_cal", 736, pages=a.cal_pages, interleaved=True)
    cal_inputs = {f.stem: np.load(f)["x"] for f in sorted(cal_dir.glob("*.npz"))}
    acts = {"cal": collect(graph, WIDE, cal_inputs, work), "eval": collect(graph, WIDE, ev.inputs, work)}
    fits = {f: {c: pca(acts[f][c]) for c in WIDE} for f in acts}
    print(f"activations: cal {len(cal_inputs)} inputs, {len(acts['cal'][WIDE[0]])} positions; "
          f"eval {len(ev.inputs)} inputs, {len(acts['eval'][WIDE[0]])} positions ({time.time() - t0:.0f} s)", flush=True)

    # response error of each fit on the evaluation positions (relative, centred energy kept)
    spectra = {}
    for c in WIDE:
        ye = acts["eval"][c]
        spectra[c] = {"eval_energy_captured": {}, "cal_subspace_on_eval": {}}
        mu_e, vals_e, _ = pca(ye)
        for r in sorted({int(x) for x in a.ranks.split(",")} | {16, 24, 40, 80}):
            r = min(r, ye.shape[1])
            spectra[c]["eval_energy_captured"][r] = float(vals_e[:r].sum() / vals_e.sum())
            mu_c, _, u_c = fits["cal"][c]
            u = u_c[:, :r]
            yc = ye - mu_c
            res = yc - (yc @ u) @ u.T
            spectra[c]["cal_subspace_on_eval"][r] = float(1 - (res ** 2).sum() / ((ye - mu_e) ** 2).sum())

    reference = ev.reference()
    rows = []

    def score(tag, replaced, params, extra):
        dst = work / "cand.onnx"
        graph.write(dst, replaced)
        s = ev.score(dst)
        row = {**extra, "conv_params": params, "conv_ratio": round(params / total, 4),
               "iou": round(s["iou"], 4), "iou_min": round(s["iou_min"], 4), "rel_l2": round(s["rel_l2"], 4)}
        print(json.dumps(row), f"({time.time() - t0:.0f} s)", flush=True)
        rows.append(row)

    sets = {}
    for s in a.sets.split(","):
        sets[s] = list(WIDE) if s == "all" else [f"p2o.Conv.{s}"]
    ranks = [int(x) for x in a.ranks.split(",")]
    # sanity: nothing replaced
    score("dense", {}, total, {"set": "none", "rank": None, "fit": "dense"})
    for sname, convs in ({} if a.nonlinear_only else sets).items():
        rlist = ranks + ([int(x) for x in a.budget_ranks.split(",")] if (sname == "all" and a.budget_ranks) else [])
        for r in sorted(set(rlist)):
            for f in a.fits.split(","):
                replaced, params = {}, total
                for c in convs:
                    w, b = graph.weight(c)
                    rr = min(r, w.shape[0], w.shape[1])
                    mu, _, u = fits[f][c]
                    replaced[c] = projected(w.astype(np.float64), b.astype(np.float64), mu, u[:, :rr])
                    params += factored_params(w.shape, rr) - w.size
                score(f, replaced, params, {"set": sname, "rank": r, "fit": f})
    if a.nonlinear:
        aff = {c: post_affine(graph, c) for c in WIDE}
        for r in [int(x) for x in a.nonlinear_ranks.split(",")]:
            for f in a.nonlinear_fits.split(","):
                replaced, params, post_err = {}, total, {}
                for c in WIDE:
                    w, b = graph.weight(c)
                    rr = min(r, w.shape[0], w.shape[1])
                    w2, b2, errs = nonlinear_fit(acts[f][c], rr, *aff[c], w.astype(np.float64), b.astype(np.float64))
                    replaced[c] = (w2, b2)
                    post_err[c] = [round(x, 5) for x in errs]
                    params += factored_params(w.shape, rr) - w.size
                score(f, replaced, params, {"set": "all", "rank": r, "fit": f + "-hswish",
                                           "post_act_rel_err_by_step": post_err})

    if a.seq:
        data = {"cal": cal_inputs, "eval": ev.inputs}
        sranks = [int(x) for x in a.seq_ranks.split(",")] if a.seq_ranks else \
            sorted(set(ranks + ([int(x) for x in a.budget_ranks.split(",")] if a.budget_ranks else [])))
        for r in sranks:
            for f in a.seq.split(","):
                replaced, params = {}, total
                cur = src
                for c in WIDE:
                    w, b = graph.weight(c)
                    rr = min(r, w.shape[0], w.shape[1])
                    x = collect_inputs(cur, graph, c, data[f], work)
                    w_ls, b_ls, mu, u = rrr(x, acts[f][c], rr)
                    replaced[c] = projected(w_ls.reshape(w.shape), b_ls, mu, u)
                    params += factored_params(w.shape, rr) - w.size
                    cur = graph.write(work / "seq.onnx", replaced)
                score(f, replaced, params, {"set": "all", "rank": r, "fit": f + "-rrr-seq"})

    out = {"model": str(src), "evaluation": {"images": sorted(ev.inputs), "side": 736, "metric": "mask IoU p>0.3 pooled (worst image)"},
           "calibration": {"files": sorted(cal_inputs), "pages": a.cal_pages, "photos": len(CA.CAL_PHOTOS)},
           "positions": {"cal": len(acts["cal"][WIDE[0]]), "eval": len(acts["eval"][WIDE[0]])},
           "budget": budget, "spectra": spectra, "rows": rows, "seconds": round(time.time() - t0, 1),
           "argv": sys.argv[1:]}
    Path(a.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {a.out} ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
