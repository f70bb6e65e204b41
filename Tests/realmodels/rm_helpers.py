"""Helpers for the real-model suite (Tests/realmodels) and bench/real-models.

Everything here is deterministic: images come from scikit-image's bundled data, text lines are
rendered with Pillow and the Debian DejaVu fonts from fixed seeds. Preprocessing follows
RapidOCR 1.4.4 (rapidocr_onnxruntime/ch_ppocr_*/, config.yaml): images in BGR channel order,
x/255, (x - 0.5) / 0.5, CHW. RapidOCR resizes with cv2 (INTER_LINEAR); we use Pillow's bilinear
filter, which differs slightly when shrinking (Pillow antialiases) - irrelevant for comparing an
original model with its rewrite on identical inputs.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("RSTD_REAL_MODELS_DIR", REPO / ".cache" / "real-models"))
FETCH = REPO / "Scripts" / "fetch-real-models"
VERIFY = REPO / "Scripts" / "verify"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = ["DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf", "DejaVuSans-Bold.ttf",
         "DejaVuSansCondensed.ttf", "DejaVuSerif-Bold.ttf"]
PPOCR_MODELS = ("ppocr-det", "ppocr-cls", "ppocr-rec")
DET_THRESH = 0.3            # RapidOCR config.yaml Det.thresh
DET_LIMIT_SIDE = 736        # RapidOCR config.yaml Det.limit_side_len, limit_type: min
CLS_SHAPE = (3, 48, 192)    # Cls.cls_image_shape; label_list ['0', '180']
REC_SHAPE = (3, 48, 320)    # Rec.rec_img_shape
SKIMAGE_IMAGES = ("astronaut", "coffee", "chelsea", "camera", "page", "text")


# ----------------------------------------------------------------------------- models, CLI

def fetch_models(quiet: bool = True) -> dict:
    """Run Scripts/fetch-real-models (cached) and return its manifest {name: {path, task, ...}}."""
    cmd = [sys.executable, str(FETCH), "--cache", str(CACHE)] + (["--quiet"] if quiet else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"fetch-real-models failed ({r.returncode}):\n{r.stderr}")
    return json.loads((CACHE / "manifest.json").read_text())


def find_cli() -> Path | None:
    """The onnx-rstd binary: $ONNX_RSTD, else the first of the usual build products that exists."""
    env = os.environ.get("ONNX_RSTD")
    if env:
        return Path(env)
    for p in (REPO / ".build" / "release" / "onnx-rstd", REPO / ".build" / "debug" / "onnx-rstd",
              REPO / ".build-real" / "release" / "onnx-rstd"):
        if p.is_file() and os.access(p, os.X_OK):
            return p
    return None


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    report: dict | None
    cmd: list

    def describe(self) -> str:
        return (f"$ {' '.join(map(str, self.cmd))}\nexit {self.returncode}\n"
                f"--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}")


def run_cli(cli: Path, src: Path, dst: Path, *options: str, report: Path | None = None,
            timeout: float = 1800) -> CliResult:
    report = report or dst.with_suffix(".report.json")
    if report.exists():
        report.unlink()
    cmd = [str(cli), str(src), str(dst), *options, "--report", str(report)]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        rc, out, err = r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = -9, str(e.stdout or ""), f"timeout after {timeout}s"
    dt = time.perf_counter() - t0
    rep = None
    if report.exists():
        try:
            rep = json.loads(report.read_text())
        except ValueError:
            rep = None
    return CliResult(rc, out, err, dt, rep, cmd)


# ----------------------------------------------------------------------------- onnxruntime

def session(path, opt: str = "all", threads: int = 2):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = {
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    }[opt]
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def run_batches(sess, batches: list[np.ndarray]) -> np.ndarray:
    """Run a single-input model over a list of batches, concatenate the first output."""
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: b})[0] for b in batches], axis=0)


def rel_l2(ref: np.ndarray, got: np.ndarray) -> float:
    ref = np.asarray(ref, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    if ref.shape != got.shape:
        return float("inf")
    if not np.all(np.isfinite(got)):
        return float("inf")
    d = np.linalg.norm((ref - got).ravel())
    n = np.linalg.norm(ref.ravel())
    return float(d / n) if n > 0 else float(d)


# ----------------------------------------------------------------------------- images

def to_bgr_u8(img: np.ndarray) -> np.ndarray:
    """RapidOCR works in BGR: grey -> 3 channels, RGB -> BGR, RGBA -> BGR (alpha dropped)."""
    img = np.asarray(img)
    if img.dtype != np.uint8:
        img = np.clip(img * (255 if img.max() <= 1 else 1), 0, 255).astype(np.uint8)
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return np.ascontiguousarray(img[..., :3][..., ::-1])


def resize(img: np.ndarray, w: int, h: int) -> np.ndarray:
    from PIL import Image
    return np.asarray(Image.fromarray(img).resize((int(w), int(h)), Image.BILINEAR))


def normalize_chw(img_u8: np.ndarray) -> np.ndarray:
    x = img_u8.astype(np.float32) / 255.0
    x = (x - 0.5) / 0.5
    return x.transpose(2, 0, 1).astype(np.float32)


def det_preprocess(img_bgr: np.ndarray, limit_side_len: int = DET_LIMIT_SIDE) -> np.ndarray:
    """RapidOCR DetPreProcess with limit_type 'min': scale so the short side is >= limit, round
    both sides to a multiple of 32, normalise. Returns [1, 3, H, W]."""
    h, w = img_bgr.shape[:2]
    ratio = 1.0
    if min(h, w) < limit_side_len:
        ratio = float(limit_side_len) / (h if h < w else w)
    rh = int(round(int(h * ratio) / 32) * 32)
    rw = int(round(int(w * ratio) / 32) * 32)
    return normalize_chw(resize(img_bgr, rw, rh))[None]


def line_preprocess(img_bgr: np.ndarray, shape=CLS_SHAPE) -> np.ndarray:
    """RapidOCR TextClassifier/TextRecognizer.resize_norm_img: height to shape[1], keep aspect,
    width capped at shape[2], zero padding on the right. Returns [3, H, W]."""
    _, ih, iw = shape
    h, w = img_bgr.shape[:2]
    rw = min(iw, int(math.ceil(ih * w / float(h))))
    out = np.zeros(shape, dtype=np.float32)
    out[:, :, :rw] = normalize_chw(resize(img_bgr, rw, ih))
    return out


def skimage_images() -> dict[str, np.ndarray]:
    """The six scikit-image sample images (bundled in its wheel), as BGR uint8."""
    import skimage.data
    return {n: to_bgr_u8(getattr(skimage.data, n)()) for n in SKIMAGE_IMAGES}


WORDS = ("the of and to in is that for on with as by at from this be are was or an it not which "
         "have one all were when can there use each their time will way about many then them write "
         "would like so these her long make thing see him two has look more day could come did "
         "number sound most people over know water than call first who may down side been now find "
         "any new work part take get place made live where after back little only round man year "
         "came show every good give our under name very through just form sentence great think say "
         "help low line differ turn cause much mean before move right boy old too same tell does set "
         "three want air well also play small end put home read hand port large spell add even land "
         "here must big high such follow act why ask men change went light kind off need house "
         "picture try again animal point mother world near build self earth father head stand own "
         "page should country found answer school grow study still learn plant cover food sun four "
         "between state keep eye never last let thought city tree cross farm hard start might story "
         "saw far sea draw left late run while press close night real life few north open seem "
         "together next white children begin got walk example ease paper group always music those "
         "both mark often letter until mile river car feet care second book carry took science eat "
         "room friend began idea fish mountain stop once base hear horse cut sure watch color face "
         "wood main enough plain girl usual young ready above ever red list though feel talk bird "
         "soon body dog family direct pose leave song measure door product black short numeral class "
         "wind question happen complete ship area half rock order fire south problem piece told knew "
         "pass since top whole king space heard best hour better true during hundred five remember "
         "step early hold west ground interest reach fast verb sing listen six table travel less "
         "morning ten simple several vowel toward war lay against pattern slow center love person "
         "money serve appear road map rain rule govern pull cold notice voice unit power town fine "
         "certain fly fall lead cry dark machine note wait plan figure star box noun field rest "
         "correct able pound done beauty drive stood contain front teach week final gave green quick "
         "develop ocean warm free minute strong special mind behind clear tail produce fact street "
         "inch multiply nothing course stay wheel full force blue object decide surface deep moon "
         "island foot system busy test record boat common gold possible plane dry wonder laugh "
         "thousand ago ran check game shape equate miss brought heat snow tire bring yes distant fill "
         "east paint language among").split()


def render_line(text: str, rng: np.random.Generator, font_name: str | None = None,
                hard: bool = False) -> np.ndarray:
    """One text line, dark ink on a light, tinted, noisy background. RGB uint8. `hard` adds low
    contrast, blur, wide margins and vertical offset (the cases the classifier gets wrong)."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont
    font_name = font_name or FONTS[int(rng.integers(len(FONTS)))]
    size = int(rng.integers(22, 40))
    font = ImageFont.truetype(str(FONT_DIR / font_name), size)
    x0, y0, x1, y1 = font.getbbox(text)
    padx, pady = int(rng.integers(4, 16)), int(rng.integers(3, 10))
    top = pady
    if hard:
        padx, pady = int(rng.integers(4, 40)), int(rng.integers(3, 24))
        top = int(rng.integers(0, 2 * pady + 1))
    w, h = x1 - x0 + 2 * padx, y1 - y0 + 2 * pady
    lo, hi = (120, 200) if hard else (190, 256)
    bg = tuple(int(v) for v in rng.integers(lo, hi, size=3))
    ink = tuple(int(v) for v in rng.integers(0, 70 if not hard else 100, size=3))
    im = Image.new("RGB", (w, h), bg)
    ImageDraw.Draw(im).text((padx - x0, top - y0), text, font=font, fill=ink)
    if hard:
        im = im.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 1.8))))
    a = np.asarray(im).astype(np.float32)
    a += rng.normal(0, rng.uniform(0, 8 if not hard else 20), size=a.shape)
    return np.clip(a, 0, 255).astype(np.uint8)


def random_text(rng: np.random.Generator) -> str:
    n = int(rng.integers(2, 5))
    words = [WORDS[int(i)] for i in rng.integers(len(WORDS), size=n)]
    if rng.random() < 0.3:
        words.insert(int(rng.integers(n + 1)), str(int(rng.integers(1, 10000))))
    if rng.random() < 0.3:
        words[0] = words[0].capitalize()
    return " ".join(words)


def text_lines(n: int = 100, seed: int = 0, hard_every: int = 0) -> tuple[list[np.ndarray], list[str]]:
    """n rendered lines (RGB uint8) and their texts; every `hard_every`-th line is a hard one."""
    rng = np.random.default_rng(seed)
    texts = [random_text(rng) for _ in range(n)]
    return [render_line(t, rng, hard=bool(hard_every) and i % hard_every == 0)
            for i, t in enumerate(texts)], texts


def cls_dataset(n: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Classifier task set: n upright lines (label 0) and the same lines rotated 180 degrees
    (label 1), preprocessed to [2n, 3, 48, 192]."""
    imgs, _ = text_lines(n, seed, hard_every=2)
    xs, ys = [], []
    for im in imgs:
        bgr = to_bgr_u8(im)
        xs.append(line_preprocess(bgr, CLS_SHAPE)); ys.append(0)
        xs.append(line_preprocess(np.ascontiguousarray(bgr[::-1, ::-1]), CLS_SHAPE)); ys.append(1)
    return np.stack(xs), np.array(ys)


def cls_crops(seed: int = 0, per_image: int = 4) -> np.ndarray:
    """48x192 windows (aspect 4:1) cut from the scikit-image photos/documents, upright and
    rotated 180 degrees: inputs for output fidelity (no labels). [6*per_image*2, 3, 48, 192]."""
    rng = np.random.default_rng(seed)
    xs = []
    for _, img in skimage_images().items():
        h, w = img.shape[:2]
        for _ in range(per_image):
            ch = int(rng.integers(24, max(25, min(h // 3, w // 8))))
            cw = min(w, ch * 4)
            y = int(rng.integers(0, h - ch + 1)); x = int(rng.integers(0, w - cw + 1))
            crop = np.ascontiguousarray(img[y:y + ch, x:x + cw])
            xs.append(line_preprocess(crop, CLS_SHAPE))
            xs.append(line_preprocess(np.ascontiguousarray(crop[::-1, ::-1]), CLS_SHAPE))
    return np.stack(xs)


def rendered_page(seed: int = 0, width: int = 736, lines: int = 12) -> np.ndarray:
    """A document-like page of rendered text lines (RGB uint8), a detector input with text."""
    rng = np.random.default_rng(seed)
    page = np.full((lines * 56 + 40, width, 3), 245, dtype=np.uint8)
    y = 20
    for _ in range(lines):
        ln = render_line(random_text(rng), rng, "DejaVuSans.ttf")
        ln = ln[:, : width - 40]
        h = min(ln.shape[0], 52)
        page[y:y + h, 20:20 + ln.shape[1]] = ln[:h]
        y += 56
    return page


def det_inputs(limit_side_len: int = DET_LIMIT_SIDE) -> dict[str, np.ndarray]:
    """Detector inputs: the six scikit-image images and one rendered page, each [1,3,H,W]."""
    d = {n: det_preprocess(img, limit_side_len) for n, img in skimage_images().items()}
    d["rendered_page"] = det_preprocess(to_bgr_u8(rendered_page()), limit_side_len)
    return d


def rec_dataset(n: int = 48, seed: int = 1) -> tuple[list[np.ndarray], list[str]]:
    """Recogniser inputs: rendered lines as batches of 8, [8, 3, 48, 320] each, and texts."""
    imgs, texts = text_lines(n, seed)
    xs = np.stack([line_preprocess(to_bgr_u8(im), REC_SHAPE) for im in imgs])
    return [xs[i:i + 8] for i in range(0, n, 8)], texts


# scikit-image samples that are not in the evaluation set, for calibration data.
CALIBRATION_IMAGES = ("rocket", "hubble_deep_field", "immunohistochemistry", "cat")


def write_calibration(task: str, folder: Path) -> Path:
    """Calibration inputs for `--calibration`, disjoint from the evaluation sets above and drawn
    like them: det, a folder of one-image .npz files (rendered pages with seeds 3-4 and the
    CALIBRATION_IMAGES); cls, 8 lines (seed 7, upright and rotated) and 8 windows cut from the
    CALIBRATION_IMAGES; rec, 16 lines (seed 5). Returns the path to pass."""
    import skimage.data
    folder.mkdir(parents=True, exist_ok=True)
    images = {n: to_bgr_u8(getattr(skimage.data, n)()) for n in CALIBRATION_IMAGES}
    if task == "det":
        for s in (3, 4):
            np.savez(folder / f"page{s}.npz", x=det_preprocess(to_bgr_u8(rendered_page(seed=s))).astype(np.float32))
        for n, img in images.items():
            np.savez(folder / f"{n}.npz", x=det_preprocess(img).astype(np.float32))
        return folder
    if task == "cls":
        lines, _ = cls_dataset(4, seed=7)
        rng = np.random.default_rng(11)
        crops = []
        for img in images.values():
            h, w = img.shape[:2]
            for _ in range(2):
                ch = int(rng.integers(24, max(25, min(h // 3, w // 8))))
                cw = min(w, ch * 4)
                y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
                crops.append(line_preprocess(np.ascontiguousarray(img[y:y + ch, x:x + cw]), CLS_SHAPE))
        path = folder / "cls.npz"
        np.savez(path, x=np.concatenate([lines, np.stack(crops)]).astype(np.float32))
        return path
    if task == "rec":
        batches, _ = rec_dataset(16, seed=5)
        path = folder / "rec.npz"
        np.savez(path, x=np.concatenate(batches).astype(np.float32))
        return path
    raise ValueError(task)


# ----------------------------------------------------------------------------- task metrics

def cls_metrics(probs: np.ndarray, labels: np.ndarray, ref_probs: np.ndarray | None = None) -> dict:
    pred = probs.argmax(axis=1)
    out = {"accuracy": float((pred == labels).mean())}
    if ref_probs is not None:
        out["top1_agreement"] = float((pred == ref_probs.argmax(axis=1)).mean())
        out["rel_l2"] = rel_l2(ref_probs, probs)
    return out


def det_iou(ref_map: np.ndarray, got_map: np.ndarray, thresh: float = DET_THRESH) -> float:
    """IoU of the binarised probability maps (p > 0.3, RapidOCR's DB threshold); 1 if both
    are empty. Evaluator reports it pooled over all images and as the per-image minimum."""
    a = ref_map > thresh
    b = got_map > thresh
    union = np.logical_or(a, b).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(a, b).sum() / union)


def rec_charset(model_path) -> list[str]:
    """CTC classes as RapidOCR builds them: 'blank', the model's metadata 'character' list, ' '."""
    import onnx
    m = onnx.load(str(model_path), load_external_data=False)
    meta = {p.key: p.value for p in m.metadata_props}
    return ["blank"] + meta["character"].splitlines() + [" "]


def ctc_decode(probs: np.ndarray, charset: list[str]) -> list[str]:
    out = []
    for seq in probs.argmax(axis=2):
        chars, prev = [], -1
        for i in seq:
            if i != prev and i != 0:
                chars.append(charset[i] if i < len(charset) else "")
            prev = i
        out.append("".join(chars))
    return out


def char_error_rate(truth: list[str], got: list[str]) -> float:
    def lev(a, b):
        prev = list(range(len(b) + 1))
        for i, ca in enumerate(a, 1):
            cur = [i]
            for j, cb in enumerate(b, 1):
                cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
            prev = cur
        return prev[-1]
    total = sum(len(t) for t in truth)
    return sum(lev(t, g) for t, g in zip(truth, got)) / max(total, 1)


def rec_metrics(probs, texts, charset, ref_probs=None) -> dict:
    got = ctc_decode(probs, charset)
    got = [g.strip() for g in got]
    out = {"accuracy": float(np.mean([g == t for g, t in zip(got, texts)])),
           "cer": char_error_rate(texts, got)}
    if ref_probs is not None:
        ref = [r.strip() for r in ctc_decode(ref_probs, charset)]
        out["string_agreement"] = float(np.mean([g == r for g, r in zip(got, ref)]))
        out["rel_l2"] = rel_l2(ref_probs, probs)
    return out


# ----------------------------------------------------------------------------- evaluation

class Evaluator:
    """Runs the original model once per optimisation level on fixed inputs, then scores
    candidates against it (same level) and against the task labels."""

    def __init__(self, name: str, task: str, original: Path, quick: bool = False):
        self.name, self.task, self.original = name, task, Path(original)
        self.quick = quick
        self._ref: dict[str, dict] = {}
        if task == "det":
            d = det_inputs()
            if quick:
                d = {k: d[k] for k in ("astronaut", "page", "rendered_page")}
            self.inputs = d
        elif task == "cls":
            x, y = cls_dataset(100 if not quick else 50)
            self.cls_x, self.cls_y = x, y
            self.crops = cls_crops()
        elif task == "rec":
            self.rec_batches, self.rec_texts = rec_dataset(48 if not quick else 24)
            self.charset = rec_charset(original)
        else:
            import onnx
            g = onnx.load(str(original)).graph
            self.finals = [o.name for o in g.output]
            self.probes = [n.output[0] for n in g.node if n.op_type in ("Conv", "ConvTranspose")
                           and n.output[0] not in self.finals]

    def _outputs(self, path: Path, opt: str) -> dict:
        s = session(path, opt)
        if self.task == "det":
            name = s.get_inputs()[0].name
            return {k: s.run(None, {name: v})[0] for k, v in self.inputs.items()}
        if self.task == "cls":
            return {"task": run_batches(s, list(np.array_split(self.cls_x, max(1, len(self.cls_x) // 50)))),
                    "crops": run_batches(s, [self.crops])}
        if self.task == "rec":
            return {"task": run_batches(s, self.rec_batches)}
        probe = Path(path).with_name(Path(path).stem + f".probe-{os.getpid()}.onnx")
        try:
            expose_outputs(path, self.probes, probe)
            return random_feed_outputs(session(probe, opt))
        finally:
            if probe.exists():
                probe.unlink()

    def reference(self, opt: str = "all") -> dict:
        if opt not in self._ref:
            self._ref[opt] = self._outputs(self.original, opt)
        return self._ref[opt]

    def score(self, path: Path, opt: str = "all") -> dict:
        ref = self.reference(opt)
        got = self._outputs(Path(path), opt)
        res: dict = {}
        if self.task == "det":
            # pooled over all images: photos without text give near-zero maps whose own
            # relative error says little; the per-image maximum is kept alongside
            res["rel_l2"] = rel_l2(np.concatenate([ref[k].ravel() for k in ref]),
                                   np.concatenate([got[k].ravel() for k in ref]))
            res["rel_l2_max"] = max(rel_l2(ref[k], got[k]) for k in ref)
            res["iou"] = det_iou(np.concatenate([ref[k].ravel() for k in ref]),
                                 np.concatenate([got[k].ravel() for k in ref]))
            res["iou_min"] = min(det_iou(ref[k], got[k]) for k in ref)
        elif self.task == "cls":
            res.update(cls_metrics(got["task"], self.cls_y, ref["task"]))
            res["accuracy_original"] = cls_metrics(ref["task"], self.cls_y)["accuracy"]
            res["rel_l2"] = max(res["rel_l2"], rel_l2(ref["crops"], got["crops"]))
            res["crops_top1_agreement"] = float((ref["crops"].argmax(1) == got["crops"].argmax(1)).mean())
        elif self.task == "rec":
            res.update(rec_metrics(got["task"], self.rec_texts, self.charset, ref["task"]))
            res["accuracy_original"] = rec_metrics(ref["task"], self.rec_texts, self.charset)["accuracy"]
        else:
            res["rel_l2"] = max(rel_l2(ref[k], got.get(k, np.array(np.nan))) for k in self.finals)
            common = [k for k in ref if k in self.probes and k in got]
            res["conv_outputs_compared"] = len(common)
            res["conv_rel_l2"] = max((rel_l2(ref[k], got[k]) for k in common), default=0.0)
        return res


def expose_outputs(src, names, dst) -> list[str]:
    """Copy of the model at src whose graph also outputs those of `names` it computes."""
    import onnx
    m = onnx.load(str(src))
    have = {o for n in m.graph.node for o in n.output}
    outs = {o.name for o in m.graph.output}
    added = [n for n in names if n in have and n not in outs]
    for n in added:
        m.graph.output.append(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None))
    onnx.save(m, str(dst))
    return added


def random_feed(sess, seed: int = 0, dim: int = 64) -> dict:
    rng = np.random.default_rng(seed)
    feed = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) and d > 0 else (1 if k == 0 else dim)
                 for k, d in enumerate(i.shape)]
        if "float" in i.type:
            feed[i.name] = rng.standard_normal(shape).astype(np.float16 if "16" in i.type else
                                                            np.float64 if "double" in i.type else np.float32)
        else:
            feed[i.name] = rng.integers(0, 4, size=shape).astype(np.int64)
    return feed


def random_feed_outputs(sess, seed: int = 0) -> dict:
    feed = random_feed(sess, seed)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, feed)))


# ----------------------------------------------------------------------------- model facts

def float_param_count(path) -> int:
    """Elements of all floating-point constants (initializers and Constant nodes, subgraphs
    included) - the model's stored weights, whatever form the rewriter gave them."""
    import onnx
    m = onnx.load(str(path))
    floats = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE,
              onnx.TensorProto.BFLOAT16}

    def count(g) -> int:
        n = sum(int(np.prod(t.dims)) for t in g.initializer if t.data_type in floats)
        for node in g.node:
            for a in node.attribute:
                if a.type == onnx.AttributeProto.TENSOR and a.t.data_type in floats:
                    n += int(np.prod(a.t.dims))
                elif a.type == onnx.AttributeProto.GRAPH:
                    n += count(a.g)
                elif a.type == onnx.AttributeProto.GRAPHS:
                    n += sum(count(sg) for sg in a.graphs)
        return n
    return count(m.graph)


def conv_weight_params(path) -> int:
    """Elements of constant weight tensors (initializer or Constant output) feeding input 1 of
    Conv / ConvTranspose nodes in the main graph. Weights computed in-graph (ConstantOfShape,
    Tile, reconstructed layout) are not constants and are not counted here."""
    import onnx
    m = onnx.load(str(path))
    g = m.graph
    sizes = {t.name: int(np.prod(t.dims)) for t in g.initializer}
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    sizes[n.output[0]] = int(np.prod(a.t.dims))
    return sum(sizes.get(n.input[1], 0) for n in g.node
               if n.op_type in ("Conv", "ConvTranspose") and len(n.input) > 1)


def check_model(path) -> None:
    import onnx
    onnx.checker.check_model(str(path), full_check=True)
