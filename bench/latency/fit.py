#!/usr/bin/env python3
"""Fit the runtime cost model of onnxruntime's CPU Conv (RuntimeCostModel.onnxruntimeCPU).

Builds single-node and chain ONNX models over a grid (plain, 1x1, strided, stem, depthwise,
grouped with per-group channels on and off the NCHWc block, channel Gather, MatMul, and
svd-like chains conv kxk C->r -> conv 1x1 r->M), times every one in onnxruntime (1 intra-op and
1 inter-op thread, ORT_ENABLE_ALL, output bound once through IOBinding, warm-up, then rounds in a
fresh random order each round; a sample is the mean of enough runs to last ~3 ms of this
thread's CPU time; the figure is the median over rounds), and fits the model's constants by nonnegative least squares on relative
error. Single nodes and half of the chains are fitted; the other chains (and the rank sweep, and
the k x 1 / 1 x k convs of `--method spatial`) are held out and only predicted. A blocked conv
costs max(compute, memory) (a roofline), fitted by alternating which side each conv is on; the
cache size of the spill term is the candidate with the least residual.

The NCHWc block is read from onnxruntime itself: the optimized model of a 64->1 conv has its
filter padded to one block (MlasNchwcGetBlockSize: 16 with AVX-512F, 8 with AVX2). Which convs
are blocked is checked the same way for every model (the optimized graph's com.microsoft.nchwc
Conv nodes), and a disagreement with `kind()` below is reported in fit.json, so the
rules the Swift model encodes are verified against the installed onnxruntime on every run.

Writes Sources/RsTD/Planning/Latency/RuntimeCostConstants.swift and bench/latency/fit.json, and
prints the held-out accuracy. Models are built in memory; nothing is cached.

Usage: python3 bench/latency/fit.py [--quick] [--seed 1] [--refit] [--no-write] [--spatial-only]
(full: ~2.5 minutes on a 2-core machine; --quick: under a minute)
"""
import argparse
import json
import math
import os
import pathlib
import platform
import random
import statistics
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from scipy.optimize import nnls

REPO = pathlib.Path(__file__).resolve().parents[2]
SWIFT_OUT = REPO / "Sources/RsTD/Planning/Latency/RuntimeCostConstants.swift"
JSON_OUT = REPO / "bench/latency/fit.json"
SPATIAL_OUT = REPO / "bench/latency/spatial.json"

# The constants, in the order of the feature vector. Each is microseconds per unit.
TERMS = [
    ("nodeOverhead", "per executed kernel (each Conv, Gather, MatMul and inserted reorder)"),
    ("blockedMAC", "per multiply-add of a blocked kxk (k>1) conv, channels rounded up to the block"),
    ("pointwiseMAC", "per multiply-add of a blocked 1x1 conv, channels rounded up to the block"),
    ("stemMAC", "per multiply-add of a blocked conv reading NCHW input (input channels < block)"),
    ("depthwiseMAC", "per multiply-add of a blocked depthwise conv, channels rounded up"),
    ("filterSetLoad", "per input load of a blocked conv pass (MLAS does <= 4 output blocks per pass)"),
    ("blockedElement", "per element read or written by a blocked conv, channels rounded up"),
    ("filterElement", "per filter element (channels rounded up) a blocked, stem or depthwise conv streams"),
    ("spillElement", "per element a blocked conv streams (input once per pass, output once) beyond "
                     "cacheElements of its tensor: from beyond the cache"),
    ("unblockedMAC", "per multiply-add of a conv off the NCHWc path (im2col + GEMM per group)"),
    ("unblockedPack", "per element of an off-path conv's GEMM B operand (im2col buffer or input), packed per group"),
    ("stridedIm2col", "extra per im2col element of a strided off-path conv (gathered, not copied in rows)"),
    ("groupCall", "per group of an off-path conv (one im2col + GEMM call each)"),
    ("reorderElement", "per element of an NCHW<->NCHWc reorder (blocked side, channels rounded up)"),
    ("gatherElement", "per element read or written by a channel Gather"),
    ("matMulMAC", "per multiply-add of a MatMul/Gemm"),
]
# Not part of the model: the fixed cost of one InferenceSession.run of the measured graph.
RUN_TERM = "runOverhead"
# Not a per-unit cost: the tensor size (elements) past which a blocked conv's streams spill out of
# the cache. Chosen by the fit (the candidate with the least relative-error residual).
CACHE_TERM = "cacheElements"
CACHE_CANDIDATES = [int(2 ** (e / 2)) for e in range(30, 47)]  # 2^15 .. 2^23, half-octave steps
CHANNEL_ALIGNMENT = 4  # nchwc_transformer.cc: ReorderInput needs channels % 4 == 0.


def round_up(c, block):
    return -(-c // block) * block


# ---- the model (mirrors RuntimeCostModel.swift; keep the two in step) -------------------------

def kind(node, block):
    """'stem', 'blocked', 'depthwise', 'off' for convs (ORT 1.32 nchwc_transformer.cc rules);
    'gather' and 'matmul' otherwise."""
    if node[0] != "conv":
        return node[0]
    _, cin, cout, g, _, _, _ = node
    if g == 1:
        if cin < block:
            return "stem"
        return "blocked" if cin % CHANNEL_ALIGNMENT == 0 else "off"
    if cout % CHANNEL_ALIGNMENT != 0:
        return "off"
    if cin == g and cout == g:
        return "depthwise"
    if cin % g or cout % g or (cin // g) % block or (cout // g) % block:
        return "off"
    return "blocked"


def layout(node, block):
    """Layout a node reads and writes: 'nchwc', 'nchw', or None (MatMul: outside conv layouts)."""
    k = kind(node, block)
    if k == "matmul":
        return None, None
    if k == "stem":
        return "nchw", "nchwc"
    if k in ("blocked", "depthwise"):
        return "nchwc", "nchwc"
    return "nchw", "nchw"


def zero():
    return dict.fromkeys([t for t, _ in TERMS], 0.0)


def node_parts(node, block, cache):
    """(base, compute, memory) features of one node: it costs base + max(compute, memory), a
    roofline: a blocked conv's kernel work (MACs, filter-set loads) overlaps its memory streams
    (elements, spilled elements). Stem and depthwise convs and the other nodes are all base."""
    f, compute, memory = zero(), zero(), zero()
    f["nodeOverhead"] = 1.0
    k = kind(node, block)
    if k == "gather":
        _, c, pos = node
        f["gatherElement"] = 2.0 * c * pos
        return f, compute, memory
    if k == "matmul":
        _, rows, fin, fout = node
        f["matMulMAC"] = float(rows) * fin * fout
        return f, compute, memory
    _, cin, cout, g, ka, ipos, opos = node
    if k == "off":
        f["unblockedMAC"] = float(opos) * ka * cout * (cin / g)
        f["unblockedPack"] = float(opos) * ka * cin
        f["stridedIm2col"] = float(opos) * ka * cin if ipos != opos else 0.0
        f["groupCall"] = float(g)
        return f, compute, memory
    rcout = round_up(cout, block)
    spill = lambda n: max(0.0, float(n) - cache)  # noqa: E731
    if k == "stem":
        f["stemMAC"] = float(opos) * ka * rcout * cin
        f["filterSetLoad"] = filter_sets(rcout, block) * float(opos) * ka * cin
        f["blockedElement"] = float(ipos) * cin + float(opos) * rcout
        f["filterElement"] = float(ka) * rcout * cin
        f["spillElement"] = spill(ipos * cin) + spill(opos * rcout)
    elif k == "depthwise":
        f["depthwiseMAC"] = float(opos) * ka * rcout
        f["blockedElement"] = float(ipos + opos) * rcout
        f["filterElement"] = float(ka) * rcout
        f["spillElement"] = spill(ipos * rcout) + spill(opos * rcout)
    else:
        per_group_in = round_up(cin // g if g > 1 else cin, block)
        rcin = round_up(cin, block)
        passes = filter_sets(rcout // g, block)
        compute["pointwiseMAC" if ka == 1 else "blockedMAC"] = float(opos) * ka * rcout * per_group_in
        compute["filterSetLoad"] = passes * g * float(opos) * ka * per_group_in
        memory["blockedElement"] = float(ipos) * rcin + float(opos) * rcout
        memory["spillElement"] = passes * spill(ipos * rcin) + spill(opos * rcout)
        f["filterElement"] = float(ka) * rcout * per_group_in
    return f, compute, memory


def filter_sets(padded_out, block):
    """Passes over the input: MLAS's NCHWc kernels compute at most 4 output blocks per pass."""
    return float(-(-padded_out // (4 * block)))


def reorder_parts(channels, positions, block):
    f = zero()
    f["nodeOverhead"] = 1.0
    f["reorderElement"] = float(round_up(channels, block)) * positions
    return f, zero(), zero()


def node_io(node):
    """(input channels, input positions, output channels, output positions) of a node."""
    if node[0] == "conv":
        return node[1], node[5], node[2], node[6]
    if node[0] == "gather":
        return node[1], node[2], node[1], node[2]
    return node[2], node[1], node[3], node[1]


def chain_parts(chain, block, neighbours, cache):
    """Every node's (base, compute, memory) features, reorders included, for a chain whose input
    comes from, and output goes to, `neighbours` layout ('nchwc': the surrounding network is
    blocked; 'nchw': graph input/output, as measured)."""
    parts = []
    prev = neighbours
    for node in chain:
        parts.append(node_parts(node, block, cache))
        ins, outs = layout(node, block)
        cin, ipos, cout, opos = node_io(node)
        if ins is not None and prev is not None and ins != prev:
            parts.append(reorder_parts(cin, ipos, block))
        prev = outs if outs is not None else prev
        last = (cout, opos)
    if prev is not None and prev != neighbours:
        parts.append(reorder_parts(last[0], last[1], block))
    return parts


# ---- models -----------------------------------------------------------------------------------

def out_hw(hw, k, stride):
    return (hw + 2 * (k // 2) - k) // stride + 1


def kernel_hw(k, stride):
    """(height, width) of a layer's kernel: k, or a (kh, kw) pair (odd sides, stride 1 only, so
    the output stays square: the k x 1 and 1 x k convs of `--method spatial`)."""
    if isinstance(k, int):
        return k, k
    assert stride == 1 and k[0] % 2 == 1 and k[1] % 2 == 1, k
    return tuple(k)


def build(spec, rng):
    """spec: {'input': (C, HW), 'layers': [...]} -> (ModelProto, input shape, output shape, chain).
    Layers: ('conv', cout, k, stride, group), ('gather',), ('matmul', fout) (MatMul on [rows, C])."""
    c, hw = spec["input"]
    layers = spec["layers"]
    inits, nodes, chain = [], [], []
    if layers[0][0] == "matmul":
        shape = [hw, c]
    else:
        shape = [1, c, hw, hw]
    in_shape = list(shape)
    cur = "x"
    for i, layer in enumerate(layers):
        out = f"t{i}"
        if layer[0] == "conv":
            _, cout, k, stride, g = layer
            kh, kw = kernel_hw(k, stride)
            w = (rng.standard_normal((cout, c // g, kh, kw)) / math.sqrt(c // g * kh * kw)).astype(np.float32)
            inits.append(numpy_helper.from_array(w, f"w{i}"))
            nodes.append(helper.make_node("Conv", [cur, f"w{i}"], [out], group=g,
                                          pads=[kh // 2, kw // 2] * 2, strides=[stride] * 2))
            ohw = out_hw(hw, kh, stride)
            chain.append(("conv", c, cout, g, kh * kw, hw * hw, ohw * ohw))
            c, hw = cout, ohw
        elif layer[0] == "gather":
            idx = np.array(rng.permutation(c), dtype=np.int64)
            inits.append(numpy_helper.from_array(idx, f"i{i}"))
            nodes.append(helper.make_node("Gather", [cur, f"i{i}"], [out], axis=1))
            chain.append(("gather", c, hw * hw))
        else:
            _, fout = layer
            w = (rng.standard_normal((c, fout)) / math.sqrt(c)).astype(np.float32)
            inits.append(numpy_helper.from_array(w, f"w{i}"))
            nodes.append(helper.make_node("MatMul", [cur, f"w{i}"], [out]))
            chain.append(("matmul", hw, c, fout))
            c = fout
        cur = out
    out_shape = [hw, c] if layers[-1][0] == "matmul" else [1, c, hw, hw]
    nodes[-1].output[0] = "y"
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model, in_shape, out_shape, chain


def session_options(optimized_path=None):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    if optimized_path:
        so.optimized_model_filepath = optimized_path
    return so


def nchwc_convs(model, tmp):
    """How many Convs onnxruntime put on the NCHWc path, and the padded filter dims."""
    path = os.path.join(tmp, "opt.onnx")
    ort.InferenceSession(model.SerializeToString(), session_options(path), providers=["CPUExecutionProvider"])
    opt = onnx.load(path)
    blocked = sum(1 for n in opt.graph.node if n.op_type == "Conv" and n.domain == "com.microsoft.nchwc")
    return blocked, {i.name: list(i.dims) for i in opt.graph.initializer}


def detect_block(tmp, rng):
    # A 64->1 conv's filter is padded to one whole block of output channels.
    model, *_ = build({"input": (64, 8), "layers": [("conv", 1, 1, 1, 1)]}, rng)
    _, dims = nchwc_convs(model, tmp)
    padded = [d[0] for d in dims.values() if len(d) == 4]
    return padded[0] if padded else 1


# ---- grid -------------------------------------------------------------------------------------

ALIGNED = [16, 32, 48, 64, 96, 128, 192, 256, 384, 512]
ODD = [8, 12, 17, 20, 24, 33, 40, 50, 60, 100, 130, 200]
SPATIAL = [7, 14, 28, 56, 112]
MAX_MACS = 3.0e8
MAX_ELEMENTS = 1 << 22


def fits(chain):
    for n in chain:
        cin, ipos, cout, opos = node_io(n)
        if cin * ipos > MAX_ELEMENTS or cout * opos > MAX_ELEMENTS:
            return False
        if n[0] == "conv" and opos * n[4] * cout * (cin / n[3]) > MAX_MACS:
            return False
    return True


def chain_of(spec):
    c, hw = spec["input"]
    chain = []
    for layer in spec["layers"]:
        if layer[0] == "conv":
            _, cout, k, s, g = layer
            kh, kw = kernel_hw(k, s)
            o = out_hw(hw, kh, s)
            chain.append(("conv", c, cout, g, kh * kw, hw * hw, o * o))
            c, hw = cout, o
        elif layer[0] == "gather":
            chain.append(("gather", c, hw * hw))
        else:
            chain.append(("matmul", hw, c, layer[1]))
            c = layer[1]
    return chain


def single_specs(rng, n):
    specs = []
    chans = ALIGNED + ODD
    while len(specs) < n:
        r = rng.random()
        hw = rng.choice(SPATIAL)
        cin, cout = rng.choice(chans), rng.choice(chans)
        if r < 0.40:
            k = rng.choice([1, 1, 3, 3, 3, 5, 7])
            layer = ("conv", cout, k, rng.choice([1, 1, 1, 2]), 1)
        elif r < 0.47:
            cin = rng.choice([1, 3, 4, 6])
            layer = ("conv", cout, rng.choice([3, 5, 7]), rng.choice([1, 2]), 1)
        elif r < 0.62:
            cin = rng.choice(chans + [62, 66, 90, 130])
            cout = cin
            layer = ("conv", cout, rng.choice([3, 3, 5]), rng.choice([1, 1, 2]), cin)
        elif r < 0.80:
            g = rng.choice([2, 4, 8, 16])
            per_in = rng.choice([8, 16, 32, 5, 12, 20, 3])
            per_out = rng.choice([8, 16, 32, 5, 12, 20, 3])
            cin, cout = g * per_in, g * per_out
            layer = ("conv", cout, rng.choice([1, 3]), 1, g)
        elif r < 0.90:
            layer = ("gather",)
        else:
            hw = rng.choice([64, 256, 1024, 3136])
            layer = ("matmul", cout)
        spec = {"input": (cin, hw), "layers": [layer]}
        if fits(chain_of(spec)):
            specs.append(spec)
    return specs


SE_CHANNELS = [8, 16, 24, 32, 48, 64, 96, 120, 128, 240, 256, 480, 512]
BIG_SPATIAL = [56, 80, 112, 160, 224, 320]
BIG_CHANNELS = [8, 12, 16, 24, 32, 48, 64, 96, 128, 256, 512]
MAX_BIG_ELEMENTS = 1 << 24


def small_and_large_specs(rng, n_tiny, n_large):
    """Two groups the real-model sites showed missing from the grid: 1x1 convs at one position
    (squeeze/excite after global pooling: a few us, mostly fixed costs), and blocked 1x1 convs
    over large activations (up to 2^24 elements per tensor: memory-bound)."""
    specs = []
    while len(specs) < n_tiny:
        cin, cout = rng.choice(SE_CHANNELS), rng.choice(SE_CHANNELS)
        hw = rng.choice([1, 1, 1, 2, 4])
        specs.append({"input": (cin, hw), "layers": [("conv", cout, 1, 1, 1)]})
    large = []
    while len(large) < n_large:
        cin, cout = rng.choice(BIG_CHANNELS), rng.choice(BIG_CHANNELS)
        if cin % CHANNEL_ALIGNMENT:
            continue
        hw = rng.choice(BIG_SPATIAL)
        spec = {"input": (cin, hw), "layers": [("conv", cout, 1, 1, 1)]}
        if max(cin, cout) * hw * hw > MAX_BIG_ELEMENTS or hw * hw * cin * cout > MAX_MACS:
            continue
        if max(cin, cout) * hw * hw <= MAX_ELEMENTS and hw <= 112 and rng.random() < 0.5:
            continue  # favour what the main grid lacks
        large.append(spec)
    return specs + large


def spatial_specs(rng, n_single, n_chain):
    """`--method spatial`'s convs: single k x 1 and 1 x k convs, and its chains Conv(k x 1, C->r)
    -> Conv(1 x k, r->M), which the model prices by kernel area like any blocked k x k conv.
    Held out: they check that price."""
    singles, chains = [], []
    while len(singles) < n_single:
        k = rng.choice([3, 5, 7])
        shape = (k, 1) if rng.random() < 0.5 else (1, k)
        spec = {"input": (rng.choice(ALIGNED[:8]), rng.choice([14, 28, 56])),
                "layers": [("conv", rng.choice(ALIGNED[:8] + [24, 40]), shape, 1, 1)]}
        if fits(chain_of(spec)):
            singles.append(spec)
    while len(chains) < n_chain:
        k = rng.choice([3, 3, 5, 7])
        c, m = rng.choice(ALIGNED[:8]), rng.choice(ALIGNED[:8])
        r = rng.choice([8, 16, 24, 32, 48, 64, 96])
        spec = {"input": (c, rng.choice([14, 28, 56])),
                "layers": [("conv", r, (k, 1), 1, 1), ("conv", m, (1, k), 1, 1)]}
        if fits(chain_of(spec)):
            chains.append(spec)
    return [("spatial-held-out", s) for s in singles] + [("spatial-chain-held-out", s) for s in chains]


def chain_specs(rng, n):
    """svd-like chains and mixed chains (a Gather inside, grouped / depthwise links)."""
    specs = []
    while len(specs) < n:
        hw = rng.choice([7, 14, 28, 56])
        c, m = rng.choice(ALIGNED[:8]), rng.choice(ALIGNED[:8])
        r = rng.choice([4, 8, 12, 16, 17, 20, 24, 30, 32, 33, 40, 48, 64, 96])
        k = rng.choice([3, 3, 5])
        v = rng.random()
        if v < 0.5:  # svd: kxk C->r, 1x1 r->M
            layers = [("conv", r, k, rng.choice([1, 1, 2]), 1), ("conv", m, 1, 1, 1)]
        elif v < 0.7:  # tucker2: 1x1 C->r, kxk r->r, 1x1 r->M
            layers = [("conv", r, 1, 1, 1), ("conv", r, k, 1, 1), ("conv", m, 1, 1, 1)]
        elif v < 0.85:  # cp-like: 1x1 C->r, depthwise kxk r, 1x1 r->M
            layers = [("conv", r, 1, 1, 1), ("conv", r, k, 1, r), ("conv", m, 1, 1, 1)]
        else:  # with a channel Gather in the middle
            layers = [("conv", r, 1, 1, 1), ("gather",), ("conv", m, k, 1, 1)]
        spec = {"input": (c, hw), "layers": layers}
        if fits(chain_of(spec)):
            specs.append(spec)
    return specs


def sandwiched(spec):
    """The chain between two blocked 1x1 convs, as inside a CNN body: what `predict` assumes
    by default (blocked neighbours), exercised through the interior reorder rules."""
    c, hw = spec["input"]
    out_c = [layer[1] for layer in spec["layers"] if layer[0] == "conv"][-1]
    return {"input": (c, hw), "layers": [("conv", c, 1, 1, 1)] + spec["layers"] + [("conv", out_c, 1, 1, 1)]}


def rank_sweep(ranks):
    """The issue's reference case: 3x3 128->r then 1x1 r->128 at 56x56."""
    return [{"input": (128, 56), "layers": [("conv", r, 3, 1, 1), ("conv", 128, 1, 1, 1)]} for r in ranks]


# ---- timing -----------------------------------------------------------------------------------

class Timed:
    def __init__(self, model, in_shape, out_shape, rng):
        self.sess = ort.InferenceSession(model.SerializeToString(), session_options(),
                                         providers=["CPUExecutionProvider"])
        x = rng.standard_normal(in_shape).astype(np.float32)
        self.binding = self.sess.io_binding()
        self.x = ort.OrtValue.ortvalue_from_numpy(x)
        self.y = ort.OrtValue.ortvalue_from_shape_and_type(out_shape, np.float32)
        self.binding.bind_ortvalue_input("x", self.x)
        self.binding.bind_ortvalue_output("y", self.y)
        self.samples = []
        self.inner = 1

    def run(self, n):
        # CPU time of this thread: with one intra-op thread onnxruntime computes on the caller's
        # thread, and the machine is shared, so wall time would count other processes' slices.
        start = time.thread_time()
        for _ in range(n):
            self.sess.run_with_iobinding(self.binding)
        return (time.thread_time() - start) / n * 1e6

    def calibrate(self, target_us):
        self.run(3)
        once = min(self.run(1) for _ in range(3))
        self.inner = max(1, min(200, int(target_us / max(once, 1.0))))


def measure(entries, rounds, rng, target_us=3000.0):
    for e in entries:
        e["timed"].calibrate(target_us)
    order = list(range(len(entries)))
    for r in range(rounds):
        rng.shuffle(order)
        for i in order:
            t = entries[i]["timed"]
            t.samples.append(t.run(t.inner))
        print(f"  round {r + 1}/{rounds}", file=sys.stderr, flush=True)
    for e in entries:
        e["us"] = statistics.median(e["timed"].samples)
        e["spread"] = (max(e["timed"].samples) - min(e["timed"].samples)) / e["us"]
        del e["timed"]


# ---- fit --------------------------------------------------------------------------------------

def vector(features):
    return np.array([features[t] for t, _ in TERMS])


def parts_cost(x, parts):
    """Microseconds of a chain's parts under the constant vector x."""
    return sum(vector(b) @ x + max(vector(c) @ x, vector(m) @ x) for b, c, m in parts)


def predict(constants, chain, block, neighbours):
    x = np.array([constants[t] for t, _ in TERMS])
    return float(parts_cost(x, chain_parts(chain, block, neighbours, constants[CACHE_TERM])))


def fit_at(all_parts, y):
    """NNLS on relative error of base + max(compute, memory): start from the sum of both, then
    give each node the side the current constants make larger and refit, until the sides stop
    changing (at most 30 rounds); the best round by residual wins."""
    best, x = None, None
    for _ in range(30):
        rows = []
        for parts in all_parts:
            row = np.zeros(len(TERMS))
            for b, c, m in parts:
                vc, vm = vector(c), vector(m)
                row += vector(b) + (vc + vm if x is None else (vm if vm @ x > vc @ x else vc))
            rows.append(np.append(row, 1.0))
        # Relative error: divide each row by its measurement. Columns are scaled to unit norm so
        # NNLS is well conditioned over constants spanning ~8 orders of magnitude.
        a = np.array(rows) / y[:, None]
        scale = np.linalg.norm(a, axis=0)
        scale[scale == 0] = 1.0
        solution, _ = nnls(a / scale, np.ones(len(y)), maxiter=50 * a.shape[1])
        solution = solution / scale
        xn, run_us = solution[:-1], solution[-1]
        predicted = np.array([parts_cost(xn, p) + run_us for p in all_parts])
        residual = float(np.sum((predicted / y - 1.0) ** 2))
        if best is None or residual < best[0]:
            best = (residual, xn, run_us)
        if x is not None and np.allclose(xn, x):
            break
        x = xn
    return best


def fit(entries, block):
    y = np.array([e["us"] for e in entries])
    best = None
    for cache in CACHE_CANDIDATES:
        all_parts = [chain_parts(e["chain"], block, "nchw", cache) for e in entries]
        residual, x, run_us = fit_at(all_parts, y)
        if best is None or residual < best[0]:
            best = (residual, x, run_us, cache)
    _, x, run_us, cache = best
    constants = {t: float(x[j]) for j, (t, _) in enumerate(TERMS)}
    constants[RUN_TERM] = float(run_us)
    constants[CACHE_TERM] = float(cache)
    return constants


def measured_prediction(constants, e, block):
    return predict(constants, e["chain"], block, "nchw") + constants[RUN_TERM]


def accuracy(constants, entries, block):
    errors = [measured_prediction(constants, e, block) / e["us"] - 1.0 for e in entries]
    for e, err in zip(entries, errors):
        e["predicted_us"] = measured_prediction(constants, e, block)
        e["relative_error"] = err
    if not errors:
        return {"count": 0}
    absolute = sorted(abs(x) for x in errors)
    return {
        "count": len(errors),
        "within_20pct": sum(x <= 0.2 for x in absolute) / len(errors),
        "within_10pct": sum(x <= 0.1 for x in absolute) / len(errors),
        "median_abs_error": statistics.median(absolute),
        "max_abs_error": absolute[-1],
    }


def case_of(e, block):
    """A single node's kind and kernel (e.g. 'blocked 3x3'), or the chain's role."""
    if e["role"] != "single":
        return e["role"]
    node = e["chain"][0]
    if node[0] != "conv":
        return node[0]
    side = int(round(math.sqrt(node[4])))
    if side == 1 and kind(node, block) == "blocked" and node[3] == 1:
        if node[6] <= 16:
            return "blocked 1x1, <= 16 positions"
        if max(node[1] * node[5], node[2] * node[6]) > MAX_ELEMENTS or node[6] > 112 * 112:
            return "blocked 1x1, large"
    return f"{kind(node, block)} {side}x{side}" if kind(node, block) != "off" or node[3] == 1 else (
        "off depthwise" if node[1] == node[3] == node[2] else "off grouped")


def by_case(constants, entries, block):
    groups = {}
    for e in entries:
        key = case_of(e, block)
        groups.setdefault(key, []).append(e)
    rows = []
    for key in sorted(groups):
        members = groups[key]
        acc = accuracy(constants, members, block)
        rows.append({"case": key, "role": "held out" if members[0]["role"] not in ("single", "chain-fit")
                     else "fitted", **acc})
    return rows


# ---- output -----------------------------------------------------------------------------------

def swift_constants(constants, block, command):
    lines = [
        f"// Generated by `{command}` on {time.strftime('%Y-%m-%d', time.gmtime())}",
        f"// (onnxruntime {ort.__version__}, {platform.machine()}, NCHWc block {block}).",
        "// Do not edit by hand: rerun the command, which rewrites this file and bench/latency/fit.json.",
        "",
        "extension RuntimeCostModel {",
        "  /// onnxruntime's CPU provider, 1 thread, ORT_ENABLE_ALL, fitted on the machine named above.",
        "  public static let onnxruntimeCPU = RuntimeCostModel(",
        f"    block: {block},",
    ]
    body = [f"    {t}: {constants[t]:.6g}" for t, _ in TERMS] + [f"    {CACHE_TERM}: {constants[CACHE_TERM]:.0f}"]
    lines.append(",\n".join(body))
    lines += ["  )", "}", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a ~2-minute run: fewer models and rounds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="print the fit, write nothing")
    parser.add_argument("--refit", action="store_true",
                        help="refit the measurements already in bench/latency/fit.json (no timing)")
    parser.add_argument("--spatial-only", action="store_true",
                        help="time only the k x 1 / 1 x k convs and spatial chains (the same ones a full run "
                             "draws) and check them against fit.json's constants; writes bench/latency/spatial.json")
    args = parser.parse_args()
    if args.refit:
        previous = json.loads(JSON_OUT.read_text())
        entries = [{**e, "chain": [tuple(n) for n in e["chain"]]} for e in previous["measurements"]]
        report(entries, previous["block"], previous["command"], previous, args.no_write)
        return
    command = "python3 bench/latency/fit.py" + (" --quick" if args.quick else "") + (
        f" --seed {args.seed}" if args.seed != 1 else "")
    rng_py = random.Random(args.seed)
    rng = np.random.default_rng(args.seed)
    started = time.time()

    with tempfile.TemporaryDirectory() as tmp:
        block = detect_block(tmp, rng)
        print(f"onnxruntime {ort.__version__}: NCHWc block {block}", file=sys.stderr)
        n_single, n_chain, rounds = (100, 50, 15) if args.quick else (300, 150, 41)
        sweep = [8, 12, 16, 17, 20, 24, 28, 32, 33, 36, 40, 48, 64, 65, 72, 80, 96]
        groups = [("single", s) for s in single_specs(rng_py, n_single)]
        chains = chain_specs(rng_py, n_chain)
        groups += [("chain-fit" if i % 2 == 0 else "chain-held-out", s) for i, s in enumerate(chains)]
        groups += [("sandwiched-held-out", sandwiched(s)) for s in chains[1::4]]
        groups += [("rank-sweep", s) for s in rank_sweep(sweep if not args.quick else sweep[::2])]
        # Drawn last so the grid above is the same as before they were added.
        groups += [("single", s) for s in small_and_large_specs(rng_py, *((12, 12) if args.quick else (40, 40)))]
        groups += spatial_specs(rng_py, *((6, 6) if args.quick else (20, 20)))
        if args.spatial_only:
            groups = [g for g in groups if g[0].startswith("spatial")]

        entries, disagreements = [], []
        for role, spec in groups:
            model, in_shape, out_shape, chain = build(spec, rng)
            convs = [n for n in chain if n[0] == "conv"]
            expected = sum(1 for n in convs if kind(n, block) != "off")
            actual, _ = nchwc_convs(model, tmp)
            if actual != expected:
                disagreements.append({"chain": chain, "expected_blocked": expected, "actual_blocked": actual})
            entries.append({"role": role, "chain": chain, "timed": Timed(model, in_shape, out_shape, rng)})
        print(f"{len(entries)} models; blocked-rule disagreements: {len(disagreements)}", file=sys.stderr)
        measure(entries, rounds, rng_py)

    run = {"command": command, "rounds": rounds, "seconds": round(time.time() - started, 1),
           "blocked_rule_disagreements": disagreements}
    if args.spatial_only:
        check_spatial(entries, block, run, args.no_write)
        return
    report(entries, block, command, run, args.no_write)


def check_spatial(entries, block, run, no_write):
    """The spatial models' measurements against the committed constants (fit.json), per role."""
    fitted = json.loads(JSON_OUT.read_text())
    constants = fitted["constants_us"]
    if fitted["block"] != block:
        raise SystemExit(f"fit.json was fitted with block {fitted['block']}, this machine's is {block}")
    rows = {role: accuracy(constants, [e for e in entries if e["role"] == role], block)
            for role in sorted({e["role"] for e in entries})}
    print("| case | models | within ±10% | within ±20% | median abs error |")
    print("|---|---|---|---|---|")
    for role, acc in rows.items():
        print(f"| {role} | {acc['count']} | {acc['within_10pct']:.0%} | {acc['within_20pct']:.0%} | "
              f"{acc['median_abs_error']:.1%} |")
    for e in entries:
        print(f"  {e['role']:24s} {e['chain']} measured {e['us']:.1f} predicted {e['predicted_us']:.1f}",
              file=sys.stderr)
    if not no_write:
        result = {"command": run["command"] + " --spatial-only", "onnxruntime": ort.__version__, "block": block,
                  "rounds": run["rounds"], "seconds": run["seconds"], "constants_us": constants,
                  "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
                  "blocked_rule_disagreements": run["blocked_rule_disagreements"], "accuracy": rows,
                  "measurements": [{**e, "chain": [list(n) for n in e["chain"]]} for e in entries]}
        SPATIAL_OUT.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {SPATIAL_OUT.relative_to(REPO)}", file=sys.stderr)


def report(entries, block, command, run, no_write):
    """Fit, print, and (unless no_write) write fit.json and the Swift constants."""
    fitted = [e for e in entries if e["role"] in ("single", "chain-fit")]
    held = [e for e in entries if e["role"] in ("chain-held-out", "sandwiched-held-out")]
    spatial = [e for e in entries if e["role"].startswith("spatial")]
    sweep_entries = [e for e in entries if e["role"] == "rank-sweep"]
    constants = fit(fitted, block)
    result = {
        "command": run["command"],
        "onnxruntime": ort.__version__,
        "machine": platform.machine(),
        "cpu_avx512f": "avx512f" in open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else None,
        "block": block,
        "rounds": run["rounds"],
        "seconds": run["seconds"],
        "constants_us": constants,
        "terms": {t: doc for t, doc in TERMS},
        "fit_accuracy": accuracy(constants, fitted, block),
        "held_out_accuracy": accuracy(constants, held, block),
        "rank_sweep_accuracy": accuracy(constants, sweep_entries, block),
        "spatial_accuracy": accuracy(constants, spatial, block),
        "blocked_rule_disagreements": run["blocked_rule_disagreements"],
        "measurements": [{**e, "chain": [list(n) for n in e["chain"]]} for e in entries],
    }
    result["accuracy_by_case"] = by_case(constants, entries, block)
    print("| case | role | models | within ±10% | within ±20% | median abs error |")
    print("|---|---|---|---|---|---|")
    for row in result["accuracy_by_case"]:
        print(f"| {row['case']} | {row['role']} | {row['count']} | {row['within_10pct']:.0%} | "
              f"{row['within_20pct']:.0%} | {row['median_abs_error']:.1%} |")
    print(json.dumps({k: result[k] for k in ("block", "constants_us", "fit_accuracy", "held_out_accuracy",
                                             "rank_sweep_accuracy", "spatial_accuracy")}, indent=2))
    print("rank sweep (3x3 128->r, 1x1 r->128, 56x56): r, measured us, predicted us", file=sys.stderr)
    for e in sweep_entries:
        print(f"  {e['chain'][0][2]:4d} {e['us']:9.1f} {e['predicted_us']:9.1f}", file=sys.stderr)
    held_acc = result["held_out_accuracy"]
    print(f"held-out chains within ±20%: {held_acc.get('within_20pct', 0):.0%} of {held_acc['count']}")
    if not no_write:
        JSON_OUT.write_text(json.dumps(result, indent=1) + "\n")
        SWIFT_OUT.write_text(swift_constants(constants, block, command))
        print(f"wrote {SWIFT_OUT.relative_to(REPO)} and {JSON_OUT.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
