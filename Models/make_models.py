#!/usr/bin/env python3
"""Make the committed sample models of onnx-rstd.

    python3 Models/make_models.py                # everything
    python3 Models/make_models.py --only zoo     # Models/zoo/*.onnx
    python3 Models/make_models.py --only digits  # Models/digits_cnn.onnx + Models/digits_test.npz

Uses numpy and onnx (helper, numpy_helper, checker) to build the models; scikit-learn only for its
bundled `load_digits` data set; onnxruntime only to check that every model runs. Fixed seeds:
running it twice writes byte-identical files (on the same machine: the digits training does
float32 BLAS matmuls). Files are written next to this script, wherever it is run from.
"""

import argparse
import os
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ZOO = os.path.join(HERE, "zoo")
PRODUCER = "onnx-rstd Models/make_models.py"

F32 = TensorProto.FLOAT
F16 = TensorProto.FLOAT16


# ---------------------------------------------------------------------------------------------
# helpers


def lowrank_weight(seed, shape, decay=0.85, scale=None):
    """A weight whose unfolding [M, prod(rest)] has singular values decaying as decay**i
    (so ranks chosen by an error bound are meaningful), rescaled to He-normal std
    sqrt(2 / fan_in) unless `scale` is given."""
    rng = np.random.default_rng(seed)
    m = shape[0]
    n = int(np.prod(shape[1:]))
    k = min(m, n)
    u, _ = np.linalg.qr(rng.standard_normal((m, k)))
    v, _ = np.linalg.qr(rng.standard_normal((n, k)))
    s = decay ** np.arange(k)
    w = (u * s) @ v.T
    std = scale if scale is not None else np.sqrt(2.0 / n)
    w = w * (std / w.std())
    return w.reshape(shape).astype(np.float32)


def bias(seed, n, scale=0.1):
    return (np.random.default_rng(seed).standard_normal(n) * scale).astype(np.float32)


def init(name, array):
    return numpy_helper.from_array(np.ascontiguousarray(array), name)


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def ort_session(model_bytes_or_path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3  # opset-1 model: ORT warns that it only guarantees opset >= 7
    return ort.InferenceSession(model_bytes_or_path, so, providers=["CPUExecutionProvider"])


_ORT_NP = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


def ort_feeds(sess, seed=0):
    rng = np.random.default_rng(seed)
    feeds = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) else 2 for d in i.shape]
        feeds[i.name] = rng.standard_normal(shape).astype(_ORT_NP[i.type])
    return feeds


def finish(name, graph, opset=17, ir_version=8, external_data=False):
    """Build the model, fill the output shapes from an onnxruntime run, check, run again, save."""
    model = helper.make_model(
        graph,
        producer_name=PRODUCER,
        producer_version="1",
        opset_imports=[helper.make_opsetid("", opset)],
    )
    model.ir_version = ir_version
    sess = ort_session(model.SerializeToString())
    outs = sess.run(None, ort_feeds(sess))
    for o, y in zip(model.graph.output, outs):
        assert np.all(np.isfinite(y.astype(np.float32))), name
        shp = o.type.tensor_type.shape
        del shp.dim[:]
        for d in y.shape:
            shp.dim.add().dim_value = d
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(ZOO, name + ".onnx")
    if external_data:
        data_name = name + ".onnx.data"
        if os.path.exists(os.path.join(ZOO, data_name)):
            os.remove(os.path.join(ZOO, data_name))  # onnx appends to an existing data file
        onnx.save_model(
            model,
            path,
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=data_name,
            size_threshold=0,
        )
        # the saved file references the side file; check and run it from disk
        onnx.checker.check_model(path, full_check=True)
        sess = ort_session(path)
    else:
        onnx.save_model(model, path)
        onnx.checker.check_model(onnx.load(path), full_check=True)
        sess = ort_session(path)
    outs2 = sess.run(None, ort_feeds(sess))
    for y, y2 in zip(outs, outs2):
        assert y.shape == y2.shape and np.array_equal(y, y2), name
    print(f"  {name:34s} {os.path.getsize(path):8d} B  ir{ir_version} opset{opset}  "
          f"out {[list(y.shape) for y in outs]}")
    return model


def conv_graph(name, x_shape, w, b=None, **attrs):
    """One Conv: input X, initializer W (and B), output Y."""
    inits = [init("W", w)]
    ins = ["X", "W"]
    if b is not None:
        inits.append(init("B", b))
        ins.append("B")
    node = helper.make_node("Conv", ins, ["Y"], name="conv", **attrs)
    return helper.make_graph([node], name, [vi("X", F32, x_shape)], [vi("Y", F32, None)], inits)


# ---------------------------------------------------------------------------------------------
# the conv zoo


def make_zoo():
    os.makedirs(ZOO, exist_ok=True)
    print("conv zoo ->", ZOO)

    finish("conv2d_bias", conv_graph(
        "conv2d_bias", [1, 32, 16, 16], lowrank_weight(1, (64, 32, 3, 3)), bias(2, 64),
        kernel_shape=[3, 3], pads=[1, 1, 1, 1]))

    finish("conv2d_nobias", conv_graph(
        "conv2d_nobias", [1, 32, 16, 16], lowrank_weight(3, (48, 32, 3, 3)),
        kernel_shape=[3, 3]))

    finish("conv2d_strides_pads_dilations", conv_graph(
        "conv2d_strides_pads_dilations", [2, 16, 20, 18], lowrank_weight(4, (32, 16, 3, 3)),
        bias(5, 32), kernel_shape=[3, 3], strides=[2, 1], pads=[1, 2, 0, 1], dilations=[2, 1]))

    # input 16, kernel 3, stride 2 -> output 8, total pad 1: SAME_UPPER pads the end, SAME_LOWER
    # the beginning, so the two models differ.
    for mode in ("SAME_UPPER", "SAME_LOWER"):
        name = "conv2d_autopad_" + mode.lower()
        finish(name, conv_graph(
            name, [1, 16, 16, 16], lowrank_weight(6, (32, 16, 3, 3)), bias(7, 32),
            kernel_shape=[3, 3], strides=[2, 2], auto_pad=mode))

    finish("conv2d_autopad_valid", conv_graph(
        "conv2d_autopad_valid", [1, 16, 16, 16], lowrank_weight(8, (32, 16, 3, 3)), bias(9, 32),
        kernel_shape=[3, 3], auto_pad="VALID"))

    finish("conv2d_grouped", conv_graph(
        "conv2d_grouped", [1, 16, 16, 16], lowrank_weight(10, (32, 4, 3, 3)), bias(11, 32),
        kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=4))

    finish("conv2d_depthwise", conv_graph(
        "conv2d_depthwise", [1, 32, 16, 16], lowrank_weight(12, (32, 1, 3, 3)), bias(13, 32),
        kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=32))

    finish("conv1d", conv_graph(
        "conv1d", [1, 32, 64], lowrank_weight(14, (64, 32, 5)), bias(15, 64),
        kernel_shape=[5], pads=[2, 2]))

    finish("conv3d", conv_graph(
        "conv3d", [1, 8, 8, 8, 8], lowrank_weight(16, (16, 8, 3, 3, 3)), bias(17, 16),
        kernel_shape=[3, 3, 3], pads=[1, 1, 1, 1, 1, 1]))

    # one weight initializer W used by two Convs (each with its own bias)
    g = helper.make_graph(
        [
            helper.make_node("Conv", ["X", "W", "B1"], ["H"], name="conv_a",
                             kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["H"], ["R"], name="relu"),
            helper.make_node("Conv", ["R", "W", "B2"], ["Y"], name="conv_b",
                             kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        ],
        "conv2d_shared_weight",
        [vi("X", F32, [1, 32, 12, 12])],
        [vi("Y", F32, None)],
        [init("W", lowrank_weight(18, (32, 32, 3, 3))), init("B1", bias(19, 32)),
         init("B2", bias(20, 32))],
    )
    finish("conv2d_shared_weight", g)

    # weight from a Constant node (attribute `value`), bias from a Constant node
    # (attribute `value_floats`); no initializers at all
    w = lowrank_weight(21, (32, 16, 3, 3))
    g = helper.make_graph(
        [
            helper.make_node("Constant", [], ["W"], name="weight_const",
                             value=numpy_helper.from_array(w, "W_value")),
            helper.make_node("Constant", [], ["B"], name="bias_const",
                             value_floats=[float(v) for v in bias(22, 32)]),
            helper.make_node("Conv", ["X", "W", "B"], ["Y"], name="conv",
                             kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        ],
        "conv2d_constant_node_weight",
        [vi("X", F32, [1, 16, 16, 16])],
        [vi("Y", F32, None)],
        [],
    )
    finish("conv2d_constant_node_weight", g)

    # the whole model in float16 (input, weights, output): onnxruntime 1.32's CPU provider runs
    # Conv in float16
    w = lowrank_weight(23, (32, 16, 3, 3)).astype(np.float16)
    b = bias(24, 32).astype(np.float16)
    g = helper.make_graph(
        [helper.make_node("Conv", ["X", "W", "B"], ["Y"], name="conv",
                          kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
        "conv2d_fp16",
        [vi("X", F16, [1, 16, 16, 16])],
        [vi("Y", F16, None)],
        [init("W", w), init("B", b)],
    )
    finish("conv2d_fp16", g)

    # float16 weight and bias initializers, Cast to float32 in the graph, Conv in float32
    g = helper.make_graph(
        [
            helper.make_node("Cast", ["W16"], ["W"], name="cast_w", to=F32),
            helper.make_node("Cast", ["B16"], ["B"], name="cast_b", to=F32),
            helper.make_node("Conv", ["X", "W", "B"], ["Y"], name="conv",
                             kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        ],
        "conv2d_fp16_cast",
        [vi("X", F32, [1, 16, 16, 16])],
        [vi("Y", F32, None)],
        [init("W16", w), init("B16", b)],
    )
    finish("conv2d_fp16_cast", g)

    # Gemm: Y = X * B^T + C with constant B [N, K] (transB=1)
    g = helper.make_graph(
        [helper.make_node("Gemm", ["X", "Wt", "C"], ["Y"], name="gemm", transB=1)],
        "gemm",
        [vi("X", F32, [4, 64])],
        [vi("Y", F32, None)],
        [init("Wt", lowrank_weight(25, (32, 64))), init("C", bias(26, 32))],
    )
    finish("gemm", g)

    # MatMul with a constant 2-D weight [K, N]
    g = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"], name="matmul")],
        "matmul",
        [vi("X", F32, [4, 64])],
        [vi("Y", F32, None)],
        [init("W", lowrank_weight(27, (48, 64)).T)],
    )
    finish("matmul", g)

    # IR version 3, opset 8: every initializer is also listed as a graph input
    w, b = lowrank_weight(28, (32, 16, 3, 3)), bias(29, 32)
    g = helper.make_graph(
        [helper.make_node("Conv", ["X", "W", "B"], ["Y"], name="conv",
                          kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
        "conv2d_ir3",
        [vi("X", F32, [1, 16, 16, 16]), vi("W", F32, list(w.shape)), vi("B", F32, list(b.shape))],
        [vi("Y", F32, None)],
        [init("W", w), init("B", b)],
    )
    finish("conv2d_ir3", g, opset=8, ir_version=3)

    # the same for the oldest opset: Conv-1, IR version 3 (onnxruntime runs it, with a warning
    # that it only guarantees opset >= 7)
    w, b = lowrank_weight(30, (32, 16, 3, 3)), bias(31, 32)
    g = helper.make_graph(
        [helper.make_node("Conv", ["X", "W", "B"], ["Y"], name="conv",
                          kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
        "conv2d_opset1",
        [vi("X", F32, [1, 16, 16, 16]), vi("W", F32, list(w.shape)), vi("B", F32, list(b.shape))],
        [vi("Y", F32, None)],
        [init("W", w), init("B", b)],
    )
    finish("conv2d_opset1", g, opset=1, ir_version=3)

    # external data: W and B live in conv2d_external_data.onnx.data beside the model
    finish("conv2d_external_data", conv_graph(
        "conv2d_external_data", [1, 32, 16, 16], lowrank_weight(32, (64, 32, 3, 3)), bias(33, 64),
        kernel_shape=[3, 3], pads=[1, 1, 1, 1]), external_data=True)

    # the weight is a graph input, not a constant: the tool must skip this Conv
    g = helper.make_graph(
        [helper.make_node("Conv", ["X", "W", "B"], ["Y"], name="conv",
                          kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
        "conv2d_weight_input",
        [vi("X", F32, [1, 16, 16, 16]), vi("W", F32, [32, 16, 3, 3])],
        [vi("Y", F32, None)],
        [init("B", bias(34, 32))],
    )
    finish("conv2d_weight_input", g)

    # a small chain: 3x3 8->16, 1x1 16->32, 3x3 32->32, 1x1 32->16, Relu between
    specs = [(8, 16, 3), (16, 32, 1), (32, 32, 3), (32, 16, 1)]
    nodes, inits = [], []
    x = "X"
    for i, (c, m, k) in enumerate(specs):
        wn, bn, y = f"conv{i}.weight", f"conv{i}.bias", f"conv{i}_out"
        inits += [init(wn, lowrank_weight(40 + 2 * i, (m, c, k, k))), init(bn, bias(41 + 2 * i, m))]
        p = k // 2
        nodes.append(helper.make_node("Conv", [x, wn, bn], [y], name=f"conv{i}",
                                      kernel_shape=[k, k], pads=[p, p, p, p]))
        x = y
        if i < len(specs) - 1:
            nodes.append(helper.make_node("Relu", [x], [f"relu{i}_out"], name=f"relu{i}"))
            x = f"relu{i}_out"
    nodes.append(helper.make_node("Identity", [x], ["Y"], name="output"))
    g = helper.make_graph(nodes, "conv_chain", [vi("X", F32, [1, 8, 16, 16])],
                          [vi("Y", F32, None)], inits)
    finish("conv_chain", g)


# ---------------------------------------------------------------------------------------------
# the digits CNN, trained with numpy


def im2col(x, k, stride, pad):
    """x [N, C, H, W] -> cols [N*OH*OW, C*k*k] (rows in (n, oh, ow) order)."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - k) // stride + 1
    ow = (w + 2 * pad - k) // stride + 1
    cols = np.empty((n, c, k, k, oh, ow), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, :, i, j] = xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, c * k * k), oh, ow


def col2im(cols, x_shape, k, stride, pad, oh, ow):
    n, c, h, w = x_shape
    cols = cols.reshape(n, oh, ow, c, k, k).transpose(0, 3, 4, 5, 1, 2)
    xp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=cols.dtype)
    for i in range(k):
        for j in range(k):
            xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += cols[:, :, i, j]
    return xp[:, :, pad:pad + h, pad:pad + w]


def conv_fwd(x, w, b, stride, pad):
    m, c, k, _ = w.shape
    cols, oh, ow = im2col(x, k, stride, pad)
    y = cols @ w.reshape(m, -1).T + b
    return y.reshape(x.shape[0], oh, ow, m).transpose(0, 3, 1, 2), (cols, oh, ow)


def conv_bwd(dy, x_shape, w, cache, stride, pad):
    cols, oh, ow = cache
    m, c, k, _ = w.shape
    dy2 = dy.transpose(0, 2, 3, 1).reshape(-1, m)
    dw = (dy2.T @ cols).reshape(w.shape)
    db = dy2.sum(0)
    dx = col2im(dy2 @ w.reshape(m, -1), x_shape, k, stride, pad, oh, ow)
    return dx, dw, db


# layers: (name, C, M, k, stride, pad); 8x8 -> 8x8 -> 4x4 -> 4x4 -> MaxPool 2 -> 2x2 -> Gemm 256->10
DIGITS_CONVS = [("conv1", 1, 16, 3, 1, 1), ("conv2", 16, 32, 3, 2, 1), ("conv3", 32, 64, 3, 1, 1)]


def digits_forward(p, x, train=False):
    caches = []
    h = x
    for name, c, m, k, s, pd in DIGITS_CONVS:
        z, cache = conv_fwd(h, p[name + ".weight"], p[name + ".bias"], s, pd)
        caches.append((h.shape, cache, z))
        h = np.maximum(z, 0)
    n, c, hh, ww = h.shape
    hr = h.reshape(n, c, hh // 2, 2, ww // 2, 2)
    pooled = hr.max(axis=(3, 5))
    flat = pooled.reshape(n, -1)
    logits = flat @ p["fc.weight"].T + p["fc.bias"]
    if not train:
        return logits
    return logits, (caches, h, hr, pooled, flat)


def digits_backward(p, dlogits, state):
    caches, h, hr, pooled, flat = state
    g = {"fc.weight": dlogits.T @ flat, "fc.bias": dlogits.sum(0)}
    dflat = dlogits @ p["fc.weight"]
    dpooled = dflat.reshape(pooled.shape)
    # max-pool backward: route to the (first) arg-max of each window
    n, c, ph, pw = pooled.shape
    win = hr.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, ph, pw, 4)
    arg = win.argmax(-1)
    dwin = np.zeros_like(win)
    np.put_along_axis(dwin, arg[..., None], dpooled[..., None], axis=-1)
    dh = dwin.reshape(n, c, ph, pw, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(h.shape)
    for (name, c_, m, k, s, pd), (x_shape, cache, z) in zip(reversed(DIGITS_CONVS),
                                                             reversed(caches)):
        dz = dh * (z > 0)
        dh, g[name + ".weight"], g[name + ".bias"] = conv_bwd(dz, x_shape, p[name + ".weight"],
                                                              cache, s, pd)
    return g


def shift_batch(x, rng):
    """Augmentation: shift each image by -1, 0 or +1 pixel on each axis (zero fill)."""
    n = len(x)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    dy = rng.integers(0, 3, n)
    dx = rng.integers(0, 3, n)
    out = np.empty_like(x)
    for i in range(n):
        out[i] = xp[i, :, dy[i]:dy[i] + 8, dx[i]:dx[i] + 8]
    return out


def train_digits(x_tr, y_tr, seed=0, epochs=60, batch=32, lr=3e-3):
    rng = np.random.default_rng(seed)
    p = {}
    for name, c, m, k, s, pd in DIGITS_CONVS:
        fan_in = c * k * k
        p[name + ".weight"] = (rng.standard_normal((m, c, k, k)) * np.sqrt(2 / fan_in)).astype(np.float32)
        p[name + ".bias"] = np.zeros(m, np.float32)
    p["fc.weight"] = (rng.standard_normal((10, 256)) * np.sqrt(1 / 256)).astype(np.float32)
    p["fc.bias"] = np.zeros(10, np.float32)
    # Adam
    mom = {k: np.zeros_like(v) for k, v in p.items()}
    vel = {k: np.zeros_like(v) for k, v in p.items()}
    b1, b2, eps, wd = 0.9, 0.999, 1e-8, 1e-4
    t = 0
    n = len(x_tr)
    for ep in range(epochs):
        lr_ep = lr * 0.5 * (1 + np.cos(np.pi * ep / epochs))  # cosine schedule
        order = rng.permutation(n)
        loss_sum = 0.0
        for i in range(0, n, batch):
            idx = order[i:i + batch]
            xb, yb = shift_batch(x_tr[idx], rng), y_tr[idx]
            logits, state = digits_forward(p, xb, train=True)
            logits = logits - logits.max(1, keepdims=True)
            e = np.exp(logits)
            prob = e / e.sum(1, keepdims=True)
            loss_sum += -np.log(prob[np.arange(len(yb)), yb] + 1e-12).sum()
            d = prob
            d[np.arange(len(yb)), yb] -= 1
            d /= len(yb)
            g = digits_backward(p, d.astype(np.float32), state)
            t += 1
            for k in p:
                gk = g[k] + wd * p[k]
                mom[k] = b1 * mom[k] + (1 - b1) * gk
                vel[k] = b2 * vel[k] + (1 - b2) * gk * gk
                mh = mom[k] / (1 - b1 ** t)
                vh = vel[k] / (1 - b2 ** t)
                p[k] = (p[k] - lr_ep * mh / (np.sqrt(vh) + eps)).astype(np.float32)
        if ep % 10 == 9 or ep == epochs - 1:
            acc = (digits_forward(p, x_tr).argmax(1) == y_tr).mean()
            print(f"  epoch {ep + 1:3d}  loss {loss_sum / n:.4f}  train acc {acc:.4f}")
    return p


def digits_onnx(p):
    nodes, inits = [], []
    x = "input"
    for name, c, m, k, s, pd in DIGITS_CONVS:
        inits += [init(name + ".weight", p[name + ".weight"]), init(name + ".bias", p[name + ".bias"])]
        nodes.append(helper.make_node("Conv", [x, name + ".weight", name + ".bias"], [name + "_out"],
                                      name=name, kernel_shape=[k, k], strides=[s, s],
                                      pads=[pd] * 4))
        nodes.append(helper.make_node("Relu", [name + "_out"], [name + "_relu"], name=name + "_relu"))
        x = name + "_relu"
    nodes.append(helper.make_node("MaxPool", [x], ["pool_out"], name="pool",
                                  kernel_shape=[2, 2], strides=[2, 2]))
    nodes.append(helper.make_node("Flatten", ["pool_out"], ["flat"], name="flatten", axis=1))
    nodes.append(helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc",
                                  transB=1))
    inits += [init("fc.weight", p["fc.weight"]), init("fc.bias", p["fc.bias"])]
    g = helper.make_graph(nodes, "digits_cnn", [vi("input", F32, ["N", 1, 8, 8])],
                          [vi("logits", F32, ["N", 10])], inits)
    model = helper.make_model(g, producer_name=PRODUCER, producer_version="1",
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def make_digits():
    from sklearn.datasets import load_digits

    t0 = time.time()
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None, :, :]  # [1797, 1, 8, 8] in [0, 1]
    y = d.target.astype(np.int64)
    # fixed split: 25% test, stratified by class, seeded permutation
    rng = np.random.default_rng(1234)
    test_idx = []
    for c in range(10):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        test_idx.extend(idx[: int(round(0.25 * len(idx)))])
    test_mask = np.zeros(len(y), bool)
    test_mask[np.array(test_idx)] = True
    x_tr, y_tr = x[~test_mask], y[~test_mask]
    x_te, y_te = x[test_mask], y[test_mask]
    print(f"digits: train {len(y_tr)}, test {len(y_te)}")

    p = train_digits(x_tr, y_tr)
    model = digits_onnx(p)
    path = os.path.join(HERE, "digits_cnn.onnx")
    onnx.save_model(model, path)
    onnx.checker.check_model(onnx.load(path), full_check=True)

    with open(os.path.join(HERE, "digits_test.npz"), "wb") as f:
        np.savez(f, x=np.ascontiguousarray(x_te), y=y_te)
    # The stored inputs of the CI recipe (docs/ci.md): the first 64 test images, keyed by the
    # model's input name so `onnx-rstd verify --inputs` takes them as they are.
    with open(os.path.join(HERE, "digits_inputs.npz"), "wb") as f:
        np.savez(f, input=np.ascontiguousarray(x_te[:64]))

    sess = ort_session(path)
    logits = sess.run(["logits"], {"input": x_te})[0]
    acc = float((logits.argmax(1) == y_te).mean())
    ref = digits_forward(p, x_te)
    print(f"  numpy vs onnxruntime max |diff| {np.abs(ref - logits).max():.2e}")
    correct = int((logits.argmax(1) == y_te).sum())
    print(f"  digits_cnn.onnx: onnxruntime test accuracy {acc:.4f} ({correct}/{len(y_te)}), "
          f"{os.path.getsize(path)} B, {time.time() - t0:.1f} s")
    assert acc > 0.97, acc
    return acc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=["zoo", "digits"], help="make only this part")
    args = ap.parse_args()
    if args.only in (None, "zoo"):
        make_zoo()
    if args.only in (None, "digits"):
        make_digits()


if __name__ == "__main__":
    sys.exit(main())
