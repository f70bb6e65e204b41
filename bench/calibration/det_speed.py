#!/usr/bin/env python3
"""Wall time of a calibrated rewrite of PP-OCR det with 32 calibration samples (issue #11's speed
criterion: under 60 s on this machine), with the report's model runs and a phase breakdown.

  python3 bench/calibration/det_speed.py [--samples 32] [--runs ratio,target] [--extra '...']
      [--out /tmp/det-speed] [--keep]

Calibration data (deterministic, disjoint from Tests/realmodels' det evaluation images): the
scikit-image photos rocket, coins, clock, moon, hubble_deep_field, immunohistochemistry, logo,
brick, cat, the same mirrored, and rendered pages (seeds 1, 2, ...) up to --samples, each one
.npz of [1, 3, H, W] at the suite's DB preprocessing (short side 736), in a folder.

Runs (each `onnx-rstd DET OUT --calibration DIR --calibration-samples N --fit responses ...`):
  ratio   --ratio 0.5
  target  --target-error 0.15   (the form docs/calibration.md recommends for det)
The binary is $ONNX_RSTD (copied to a temporary file first, so a rebuild cannot replace it mid
run). Each run's stderr is a pseudo-terminal, so the tool prints its progress lines; each line's
arrival time gives the phase breakdown (a phase lasts until the next line). Prints one JSON line
per run: wall and CPU seconds (user + system of the process), the 1-minute load average before
and after, model runs and errors from the report, phases in seconds, and the output's SHA-256
(`cmp` material for before/after builds). --eval adds the mask IoU on the evaluation set.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import pty
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "Tests" / "realmodels"))
import rm_helpers as H  # noqa: E402

PHOTOS = ("rocket", "coins", "clock", "moon", "hubble_deep_field", "immunohistochemistry", "logo", "brick", "cat")
RUNS = {"ratio": ["--ratio", "0.5"], "target": ["--target-error", "0.15"], "default": []}


def calibration(folder: Path, samples: int) -> Path:
    """`samples` one-image .npz files in `folder` (rewritten only when missing)."""
    import skimage.data
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"{i:02d}" for i in range(samples)]
    if all((folder / f"{n}.npz").exists() for n in names) and len(list(folder.glob("*.npz"))) == samples:
        return folder
    for f in folder.glob("*.npz"):
        f.unlink()
    photos = [H.to_bgr_u8(getattr(skimage.data, n)()) for n in PHOTOS]
    images = photos + [np.ascontiguousarray(p[:, ::-1]) for p in photos]
    seed = 1
    while len(images) < samples:
        images.append(H.to_bgr_u8(H.rendered_page(seed=seed)))
        seed += 1
    for n, img in zip(names, images):
        np.savez(folder / f"{n}.npz", x=H.det_preprocess(img).astype(np.float32))
    return folder


def phase_of(line: str) -> str | None:
    """A progress line's phase: numbered steps grouped ("probing site 3 of 25 (refining)" →
    "probing (refining)"); None for the steps every candidate model goes through (emitting,
    factoring), which belong to the phase that makes the candidate (its model runs print
    nothing)."""
    line = line.rstrip("…").strip()
    if line.startswith(("emitting", "factoring", "fitting", "probed ")):
        return None
    if m := re.match(r"probing site \d+ of \d+ \((.*)\)", line):
        return f"probing ({m.group(1)})"
    if line.startswith("sequential correction"):
        return "sequential correction"
    if line.startswith("allocating for an estimated error"):
        return "allocating for a bound (measure)"
    return line


def run_timed(cmd: list[str]) -> dict:
    """Runs `cmd` with stderr on a pseudo-terminal; wall/CPU seconds and the timed phases."""
    master, slave = pty.openpty()
    load0 = os.getloadavg()[0]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    events: list[tuple[float, str]] = []
    buf, tail = b"", b""
    line = re.compile(rb"\x1b\[Konnx-rstd: ([^\r\x1b]*?)\xe2\x80\xa6")
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        now = time.monotonic() - t0
        buf += chunk
        tail = (tail + chunk)[-20000:]
        end = 0
        for m in line.finditer(buf):
            events.append((now, m.group(1).decode()))
            end = m.end()
        buf = buf[end:]
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    os.close(master)
    phases: dict[str, float] = {}
    current = "start"
    for (t, text), (t1, _) in zip(events, events[1:] + [(wall, "")]):
        current = phase_of(text) or current
        phases[current] = round(phases.get(current, 0) + t1 - t, 2)
    return {"rc": os.waitstatus_to_exitcode(status), "wall": round(wall, 1),
            "cpu": round(usage.ru_utime + usage.ru_stime, 1), "load1": [round(load0, 2), round(os.getloadavg()[0], 2)],
            "maxRSSMiB": round(usage.ru_maxrss / 1024), "phases": phases, "stderr": tail.decode(errors="replace")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--runs", default="ratio,target")
    ap.add_argument("--extra", default="", help="extra CLI options, space separated")
    ap.add_argument("--out", default="/tmp/det-speed")
    ap.add_argument("--tag", default="", help="suffix of the output files (before/after builds)")
    ap.add_argument("--eval", action="store_true", help="mask IoU on the evaluation set (onnxruntime)")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    src = Path(H.fetch_models()["ppocr-det"]["path"])
    cal = calibration(out / f"cal{a.samples}", a.samples)
    built = H.find_cli()
    with tempfile.TemporaryDirectory() as tmp:
        cli = Path(tmp) / "onnx-rstd"
        shutil.copy2(built, cli)
        ev = H.Evaluator("ppocr-det", "det", src) if a.eval else None
        for name in a.runs.split(","):
            dst = out / f"det.{name}{a.tag}.onnx"
            report = dst.with_suffix(".report.json")
            cmd = [str(cli), str(src), str(dst), "--calibration", str(cal), "--calibration-samples", str(a.samples),
                   "--fit", "responses", *RUNS[name], *a.extra.split(), "--report", str(report)]
            r = run_timed(cmd)
            row = {"run": name, "samples": a.samples, "options": " ".join(cmd[3:-2])}
            if r["rc"] != 0:
                print(json.dumps({**row, "rc": r["rc"], "stderr": r["stderr"][-2000:]}), flush=True)
                continue
            m = json.loads(report.read_text())["measurement"]
            row.update({k: r[k] for k in ("wall", "cpu", "load1", "maxRSSMiB")})
            row.update({"modelRuns": m["modelRuns"], "outputError": m.get("outputError"),
                        "estimatedError": m.get("estimatedError"), "allocation": m.get("allocation"),
                        "convParams": round(H.conv_weight_params(dst) / H.conv_weight_params(src), 4),
                        "sha256": hashlib.sha256(dst.read_bytes()).hexdigest()[:16], "phases": r["phases"]})
            if ev is not None:
                row["eval"] = ev.score(dst)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
