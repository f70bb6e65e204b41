"""The fetch script, the inputs and the metrics, checked on the ORIGINAL models (no CLI needed).
These pin the facts the rewrite tests rely on: labels mean what PP-OCR means by them, the
original models solve the rendered tasks, inputs are deterministic."""
import json
import os
import subprocess
import sys

import numpy as np
import onnx

import rm_helpers as H

LIGHT = ("onnx-bvlc-alexnet", "onnx-densenet121", "onnx-inception-v1", "onnx-inception-v2",
         "onnx-resnet50", "onnx-shufflenet", "onnx-squeezenet", "onnx-vgg19", "onnx-zfnet512")


def test_fetch_is_cached_and_complete(manifest):
    for name in H.PPOCR_MODELS + LIGHT:
        assert name in manifest, name
        assert os.path.isfile(manifest[name]["path"])
    stamp = {n: os.stat(m["path"]).st_mtime_ns for n, m in manifest.items()}
    r = subprocess.run([sys.executable, str(H.FETCH), "--cache", str(H.CACHE)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "downloading" not in r.stderr and "extracted" not in r.stderr
    assert {n: os.stat(m["path"]).st_mtime_ns for n, m in manifest.items()} == stamp
    assert len(r.stdout.splitlines()) == len(manifest)
    assert json.loads((H.CACHE / "manifest.json").read_text()) == manifest


def test_models_have_the_features_the_rewriter_must_handle(manifest):
    """Conv weights in Constant nodes, depthwise convs, ConvTranspose, HardSigmoid, Resize."""
    ops = set()
    for name in H.PPOCR_MODELS:
        g = onnx.load(manifest[name]["path"]).graph
        consts = {n.output[0] for n in g.node if n.op_type == "Constant"}
        convs = [n for n in g.node if n.op_type == "Conv"]
        assert convs and all(n.input[1] in consts for n in convs), name
        assert not g.initializer, name
        ops |= {n.op_type for n in g.node}
        groups = [a.i for n in convs for a in n.attribute if a.name == "group" and a.i > 1]
        assert groups, f"{name}: no depthwise conv"
    assert {"ConvTranspose", "HardSigmoid", "Resize"} <= ops
    for name in LIGHT:
        g = onnx.load(manifest[name]["path"]).graph
        producers = {o: n.op_type for n in g.node for o in n.output}
        convs = [n for n in g.node if n.op_type == "Conv"]
        assert convs and all(producers.get(n.input[1]) == "ConstantOfShape" for n in convs), name


def test_inputs_are_deterministic():
    a, ya = H.cls_dataset(10, seed=3)
    b, yb = H.cls_dataset(10, seed=3)
    c, _ = H.cls_dataset(10, seed=4)
    assert a.shape == (20, 3, 48, 192) and a.dtype == np.float32
    assert np.array_equal(a, b) and np.array_equal(ya, yb) and not np.array_equal(a, c)
    assert list(ya[:4]) == [0, 1, 0, 1]
    assert np.array_equal(H.rendered_page(), H.rendered_page())
    assert float(a.min()) >= -1.0 and float(a.max()) <= 1.0


def test_det_preprocessing_matches_rapidocr_rules():
    x = H.det_preprocess(np.zeros((300, 451, 3), np.uint8))   # chelsea's size
    # short side scaled to 736, both sides rounded to a multiple of 32
    assert x.shape == (1, 3, 736, 1120)
    assert np.allclose(x, -1.0)
    x = H.det_preprocess(np.full((800, 900, 3), 255, np.uint8))  # already large enough: no scale
    assert x.shape == (1, 3, 800, 896) and np.allclose(x, 1.0)
    line = H.line_preprocess(np.full((10, 1000, 3), 255, np.uint8))
    assert line.shape == (3, 48, 192) and np.allclose(line, 1.0)
    line = H.line_preprocess(np.full((48, 48, 3), 255, np.uint8))
    assert np.allclose(line[:, :, :48], 1.0) and np.allclose(line[:, :, 48:], 0.0)


def test_original_classifier_solves_the_rendered_task(manifest):
    """Label 0 = upright, 1 = rotated 180 degrees (RapidOCR label_list ['0', '180'])."""
    x, y = H.cls_dataset(100)
    p = H.run_batches(H.session(manifest["ppocr-cls"]["path"]), [x[:100], x[100:]])
    acc = H.cls_metrics(p, y)["accuracy"]
    print(f"original classifier accuracy on 200 rendered lines: {acc:.3f}")
    assert 0.85 <= acc < 1.0  # hard enough to show degradation, easy enough to mean something
    easy = np.array([(i // 2) % 2 == 1 for i in range(len(y))])   # every other line is plain
    assert (p.argmax(1) == y)[easy].mean() >= 0.97


def test_original_recogniser_reads_the_rendered_lines(manifest):
    batches, texts = H.rec_dataset()
    path = manifest["ppocr-rec"]["path"]
    p = H.run_batches(H.session(path), batches)
    m = H.rec_metrics(p, texts, H.rec_charset(path))
    print(f"original recogniser on {len(texts)} rendered lines: {m}")
    assert m["accuracy"] >= 0.9 and m["cer"] <= 0.02


def test_original_detector_finds_text_only_where_there_is_some(manifest):
    s = H.session(manifest["ppocr-det"]["path"])
    inputs = H.det_inputs()
    frac = {k: float((s.run(None, {"x": v})[0] > H.DET_THRESH).mean()) for k, v in inputs.items()}
    print("detector text fraction per image:", frac)
    assert frac["astronaut"] < 0.005 and frac["camera"] < 0.005
    assert frac["page"] > 0.05 and frac["text"] > 0.01 and frac["rendered_page"] > 0.03


def test_metrics():
    a = np.zeros((1, 1, 4, 4)); a[..., :2, :] = 0.9
    b = np.zeros((1, 1, 4, 4)); b[..., :1, :] = 0.9
    assert H.det_iou(a, a) == 1.0 and H.det_iou(a, b) == 0.5
    assert H.det_iou(np.zeros(4), np.zeros(4)) == 1.0
    assert abs(H.rel_l2(np.ones(4), np.ones(4) * 1.1) - 0.1) < 1e-12
    assert H.rel_l2(np.ones(4), np.array([1, 1, 1, np.nan])) == float("inf")
    assert H.char_error_rate(["abcd"], ["abxd"]) == 0.25
    probs = np.eye(4)[[1, 1, 0, 2, 2, 0, 2]][None]   # a a _ b b _ b -> "abb"
    assert H.ctc_decode(probs, ["blank", "a", "b", " "]) == ["abb"]
    probs = np.eye(4)[[1, 1, 0, 2, 2]][None]
    assert H.ctc_decode(probs, ["blank", "a", "b", " "]) == ["ab"]
    m = H.cls_metrics(np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([0, 0]),
                      np.array([[0.8, 0.2], [0.6, 0.4]]))
    assert m["accuracy"] == 0.5 and m["top1_agreement"] == 0.5
