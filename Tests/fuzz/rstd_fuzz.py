#!/usr/bin/env python3
"""Fuzz harness for the onnx-rstd CLI: structure-aware and byte mutation of real models.

Each case is generated deterministically from (seed, index): a seed model (Models/**/*.onnx and
the onnx backend Conv tests: node/test_conv*/model.onnx and pytorch-converted/test_Conv*),
a mutation family, a mutation, and a set of CLI options. The case is laid out in a fresh folder
(`in/` holds the model and any side files or symlinks, `out/` receives the output) and the CLI
runs on it with a timeout. The oracle asserts:

  * the exit code is one of the documented ones {0, 1, 64, 65, 66, 70, 73};
  * no trap (a signal, or 128+signal from a shell) and no hang (timeout);
  * on failure, stderr is exactly one line `onnx-rstd: error: ...`, and neither folder changed;
  * `in/` is never changed (names, types, bytes);
  * attacks that must be refused (external data outside the folder, symlinks, FIFOs; output or
    report paths aliasing the input or each other, non-regular outputs) are refused;
  * on success the output passes `onnx.checker.check_model(full_check=True)` and runs in
    onnxruntime, unless the *input* already failed those (then the class is
    `accepted-invalid-input`: the tool passed an invalid model through instead of refusing it).
    Not a failure (`_passed_through_by_design`): the output fails the checker only as the input
    does, for a graph input or output without a shape (any rank: onnxruntime loads it, the tool
    neither reads nor changes it), and onnxruntime runs the output, or loads it and fails only when
    run on the harness's feeds (dynamic dims = 1, narrower than a kernel) as it does the input.

A failing case is saved under Tests/fuzz/failures/ (gitignored) as `<class>-<family>-<seed>-<index>/`
with `case.json` (everything needed to replay it) and the mutated input; replay one with
`python3 Tests/fuzz/rstd_fuzz.py --replay SEED:INDEX`.

Usage:
  python3 Tests/fuzz/rstd_fuzz.py --seconds 600            # random seed, time budget
  python3 Tests/fuzz/rstd_fuzz.py --cases 300 --seed 1     # fixed slice
  python3 Tests/fuzz/rstd_fuzz.py --families bytes,paths   # only some mutation families
  python3 Tests/fuzz/rstd_fuzz.py --strict                 # ignore EXPECTED_FAILURES

Exit status 1 when a failure outside EXPECTED_FAILURES (below) occurred.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO = Path(__file__).resolve().parents[2]
FAILURES = REPO / "Tests" / "fuzz" / "failures"
DOCUMENTED_EXITS = {0, 1, 64, 65, 66, 70, 73}
TIMEOUT_SECONDS = 20.0

FAMILIES = ["bytes", "dims", "group", "attrs", "graph", "weights", "dtype", "extdata", "paths", "options"]

# Known failures, keyed by (failure class, mutation family), that are not yet fixed. A case whose
# (class, family) is listed is reported as "expected" and does not fail the run; anything else
# does. Traps, hangs, clobbered files and multi-line errors are never listed: they are fixed and
# must stay fixed. Empty: everything the file states is refused with exit 65
# (Graph.validateStructure): initializer data against dims and type, attribute names, kinds,
# ranges and lengths, constant or declared weight and input shapes, SSA, cycles, arity, and every
# declaration against the file (Graph.validateDeclarations: initializers below IR 4 and their
# declared types; the declared inputs and outputs of the ops the tool reads, whose Conv-family
# output dims are computed from the declared input). What the tool cannot see without shape
# inference through other ops (a group that does not divide channels an earlier layer computes)
# would show up here as accepted-invalid-input.
EXPECTED_FAILURES: set[tuple[str, str]] = set()


def cli() -> Path:
    env = os.environ.get("ONNX_RSTD")
    if env:
        return Path(env)
    release = REPO / ".build" / "release" / "onnx-rstd"
    return release if release.is_file() else REPO / ".build" / "debug" / "onnx-rstd"


# The onnx backend test data: the wheel's copy (this wheel ships only pytorch-converted) and the
# Debian package libonnx-testdata that Scripts/install-deps installs (with the node tests).
TEST_DATA = [Path(onnx.__file__).resolve().parent / "backend" / "test" / "data", Path("/usr/share/libonnx-testdata/data")]


def seed_models() -> list[Path]:
    """The seed corpus, sorted so a (seed, index) pair always names the same case: Models/**/*.onnx,
    then the first copy found of the node tests test_conv* and the pytorch-converted test_Conv*."""
    models = sorted(p for p in (REPO / "Models").rglob("*.onnx"))
    for sub, pattern in (("node", "test_conv*"), ("pytorch-converted", "test_Conv*")):
        for root in TEST_DATA:
            found = sorted(p / "model.onnx" for p in (root / sub).glob(pattern) if (p / "model.onnx").is_file())
            if found:
                models += found
                break
    return models


# --- case layout ------------------------------------------------------------------------------

@dataclass
class Case:
    """One generated case. `setup` lays out the files in a folder; everything is replayable."""
    seed: int
    index: int
    family: str
    mutation: str
    seed_model: str
    args: list[str]              # CLI arguments, with {in} and {out} placeholders for the folders
    model_bytes: bytes
    side_files: dict[str, bytes] = field(default_factory=dict)   # name in in/ -> bytes
    symlinks: dict[str, str] = field(default_factory=dict)       # path (under case root) -> target
    fifos: list[str] = field(default_factory=list)               # paths under case root
    dirs: list[str] = field(default_factory=list)                # extra folders under case root
    out_files: dict[str, bytes] = field(default_factory=dict)    # pre-existing files in out/
    root_files: dict[str, bytes] = field(default_factory=dict)   # files outside in/ (attack targets)
    must_refuse: bool = False    # an attack: exit 0 is a failure
    families: list[str] = field(default_factory=list)            # the run's families (replay needs them)

    def describe(self) -> dict:
        return {"seed": self.seed, "index": self.index, "family": self.family, "mutation": self.mutation,
                "seed_model": self.seed_model, "args": self.args, "symlinks": self.symlinks, "fifos": self.fifos,
                "dirs": self.dirs, "side_files": sorted(self.side_files), "out_files": sorted(self.out_files),
                "must_refuse": self.must_refuse, "families": self.families}

    def setup(self, root: Path) -> None:
        (root / "in").mkdir()
        (root / "out").mkdir()
        (root / "outside").mkdir()
        (root / "outside" / "secret.bin").write_bytes(b"\x00" * 4096)
        for d in self.dirs:
            (root / d).mkdir(parents=True, exist_ok=True)
        (root / "in" / "model.onnx").write_bytes(self.model_bytes)
        for name, data in self.side_files.items():
            (root / "in" / name).parent.mkdir(parents=True, exist_ok=True)
            (root / "in" / name).write_bytes(data)
        for name, data in self.out_files.items():
            (root / "out" / name).write_bytes(data)
        for name, data in self.root_files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        for link, target in self.symlinks.items():
            (root / link).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, root / link)
        for fifo in self.fifos:
            os.mkfifo(root / fifo)

    def argv(self, root: Path) -> list[str]:
        return [a.replace("{root}", str(root)) for a in self.args]


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry under `folder` (not following symlinks): type, and a hash for regular files."""
    result = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = os.lstat(p)
            rel = str(p.relative_to(folder))
            if stat.S_ISREG(st.st_mode):
                result[rel] = ("file", hashlib.sha256(p.read_bytes()).hexdigest())
            elif stat.S_ISLNK(st.st_mode):
                result[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                result[rel] = ("dir",)
            else:
                result[rel] = ("special", stat.S_IFMT(st.st_mode))
    return result


# --- mutations ---------------------------------------------------------------------------------

def _convs(m: onnx.ModelProto) -> list[onnx.NodeProto]:
    return [n for n in m.graph.node if n.op_type == "Conv"] or list(m.graph.node)


def _initializer(m: onnx.ModelProto, name: str) -> TensorProto | None:
    return next((t for t in m.graph.initializer if t.name == name), None)


def _set_attr(node: onnx.NodeProto, attr: onnx.AttributeProto) -> None:
    for i, a in enumerate(node.attribute):
        if a.name == attr.name:
            del node.attribute[i]
            break
    node.attribute.append(attr)


def _load(path: Path) -> onnx.ModelProto:
    return onnx.load(str(path), load_external_data=True)


def mutate_dims(rng: random.Random, m: onnx.ModelProto) -> str:
    tensors = [t for t in m.graph.initializer if len(t.dims) > 0] or list(m.graph.initializer)
    if not tensors:
        return "no initializer"
    t = rng.choice(tensors)
    kind = rng.choice(["wrong", "huge", "negative", "zero", "extra", "drop", "overflow"])
    dims = list(t.dims)
    if kind == "wrong" and dims:
        dims[rng.randrange(len(dims))] += rng.choice([-1, 1, 7])
    elif kind == "huge" and dims:
        dims[rng.randrange(len(dims))] = rng.choice([2**31, 2**40, 2**62])
    elif kind == "negative" and dims:
        dims[rng.randrange(len(dims))] = -rng.randint(1, 5)
    elif kind == "zero" and dims:
        dims[rng.randrange(len(dims))] = 0
    elif kind == "extra":
        dims.append(rng.choice([1, 2, 3]))
    elif kind == "drop" and dims:
        dims.pop()
    else:
        dims = [2**32, 2**32, 2**32][: max(len(dims), 2)]
    del t.dims[:]
    t.dims.extend(dims)
    return f"{kind} dims {dims} on '{t.name}'"


def mutate_group(rng: random.Random, m: onnx.ModelProto) -> str:
    n = rng.choice(_convs(m))
    g = rng.choice([0, -1, -4, 3, 5, 7, 2**31 - 1, 2**62, 2**63 - 1])
    _set_attr(n, helper.make_attribute("group", g))
    return f"group {g} on '{n.name}'"


def mutate_attrs(rng: random.Random, m: onnx.ModelProto) -> str:
    n = rng.choice(_convs(m))
    kind = rng.choice(["strides_len", "strides_zero", "pads_len", "pads_neg", "dilations_zero", "kernel_shape",
                       "auto_pad", "wrong_type", "strides_huge"])
    if kind == "strides_len":
        attr = helper.make_attribute("strides", [1] * rng.choice([1, 3, 5]))
    elif kind == "strides_zero":
        attr = helper.make_attribute("strides", [0, 0])
    elif kind == "strides_huge":
        attr = helper.make_attribute("strides", [2**62, 2**62])
    elif kind == "pads_len":
        attr = helper.make_attribute("pads", [1] * rng.choice([1, 2, 3, 6]))
    elif kind == "pads_neg":
        attr = helper.make_attribute("pads", [-5, -5, -5, -5])
    elif kind == "dilations_zero":
        attr = helper.make_attribute("dilations", [0, 0])
    elif kind == "kernel_shape":
        attr = helper.make_attribute("kernel_shape", rng.choice([[1, 1], [5, 5], [3], [3, 3, 3], [2**40, 2]]))
    elif kind == "auto_pad":
        attr = helper.make_attribute("auto_pad", rng.choice(["BOGUS", "SAME_UPPER", "VALID", ""]))
    else:
        attr = helper.make_attribute(rng.choice(["group", "strides", "pads"]), rng.choice([1.5, "x", [0.5, 2.5]]))
    _set_attr(n, attr)
    return f"{kind} on '{n.name}': {onnx.helper.get_attribute_value(attr)}"


def mutate_graph(rng: random.Random, m: onnx.ModelProto) -> str:
    nodes = m.graph.node
    if not nodes:
        return "empty graph"
    kind = rng.choice(["missing_input", "cycle", "duplicate_output", "no_outputs", "drop_weight", "reorder",
                       "drop_node", "self_loop", "extra_inputs"])
    n = rng.choice(_convs(m))
    if kind == "missing_input":
        n.input[0] = "does_not_exist"
    elif kind == "cycle":
        last = nodes[-1]
        n.input[0] = last.output[0]
    elif kind == "self_loop":
        n.input[0] = n.output[0]
    elif kind == "duplicate_output":
        other = rng.choice(list(nodes))
        if other is n and len(nodes) > 1:
            other = nodes[0] if nodes[0] is not n else nodes[1]
        other.output[0] = n.output[0] if other is not n else other.output[0]
        if other is n:
            m.graph.output.append(m.graph.output[0])
    elif kind == "no_outputs":
        del n.output[:]
    elif kind == "drop_weight":
        if len(n.input) > 1:
            w = n.input[1]
            keep = [t for t in m.graph.initializer if t.name != w]
            del m.graph.initializer[:]
            m.graph.initializer.extend(keep)
    elif kind == "reorder":
        items = list(nodes)
        rng.shuffle(items)
        del nodes[:]
        nodes.extend(items)
    elif kind == "drop_node":
        items = [x for x in nodes if x is not n]
        del nodes[:]
        nodes.extend(items)
    else:
        n.input.extend(["", "extra_a", "extra_b"][: rng.randint(1, 3)])
    return f"{kind} at '{n.name}'"


def mutate_weights(rng: random.Random, m: onnx.ModelProto) -> str:
    tensors = [t for t in m.graph.initializer if t.data_type in (TensorProto.FLOAT, TensorProto.FLOAT16) and len(t.dims) >= 2]
    if not tensors:
        return "no float weight"
    t = rng.choice(tensors)
    a = numpy_helper.to_array(t).copy()
    kind = rng.choice(["nan_one", "nan_all", "inf", "huge", "denormal", "zeros"])
    flat = a.reshape(-1)
    if kind == "nan_one":
        flat[rng.randrange(flat.size)] = np.nan
    elif kind == "nan_all":
        flat[:] = np.nan
    elif kind == "inf":
        flat[rng.randrange(flat.size)] = np.inf
    elif kind == "huge":
        flat[:] = np.float32(3e38) if a.dtype == np.float32 else np.float16(6e4)
    elif kind == "denormal":
        flat[:] = np.float32(1e-42) if a.dtype == np.float32 else np.float16(1e-7)
    else:
        flat[:] = 0
    new = numpy_helper.from_array(a, t.name)
    t.CopyFrom(new)
    return f"{kind} weights in '{t.name}'"


def mutate_dtype(rng: random.Random, m: onnx.ModelProto) -> str:
    if not m.graph.initializer:
        return "no initializer"
    t = rng.choice(list(m.graph.initializer))
    dt = rng.choice([0, 8, 13, 16, 23, 99, 12345, TensorProto.DOUBLE, TensorProto.INT64])
    t.data_type = dt
    return f"data_type {dt} on '{t.name}'"


def _externalize(m: onnx.ModelProto, location: str, offset: int | None = None, length: int | None = None) -> str:
    """Points the largest initializer at `location` (its bytes go nowhere: the attack supplies them)."""
    t = max(m.graph.initializer, key=lambda t: len(t.raw_data) or t.ByteSize())
    if not t.raw_data:
        t.raw_data = numpy_helper.to_array(t).tobytes()
        for f in ("float_data", "int32_data", "int64_data", "double_data"):
            t.ClearField(f)
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    del t.external_data[:]
    entries = [("location", location)]
    if offset is not None:
        entries.append(("offset", str(offset)))
    if length is not None:
        entries.append(("length", str(length)))
    for k, v in entries:
        e = t.external_data.add()
        e.key, e.value = k, v
    return t.name


def mutate_extdata(rng: random.Random, m: onnx.ModelProto, case: Case) -> str:
    """External-data attacks. Most must be refused; `ok_*` ones are legitimate and must work."""
    if not m.graph.initializer:
        return "no initializer"
    t = max(m.graph.initializer, key=lambda t: len(t.raw_data) or t.ByteSize())
    data = numpy_helper.to_array(t).tobytes()
    kind = rng.choice(["dotdot", "absolute", "symlink_file", "symlink_relative", "symlink_folder", "fifo",
                       "combining_dotdot", "offset_overflow", "length_overflow", "huge_offset", "dev_null",
                       "folder", "nul_byte", "ok_plain", "ok_subfolder"])
    case.must_refuse = not kind.startswith("ok_") and kind not in ("huge_offset",)
    if kind == "dotdot":
        _externalize(m, "../outside/secret.bin")
    elif kind == "absolute":
        _externalize(m, "{root}/outside/secret.bin".replace("{root}", "/etc") if rng.random() < 0.5 else "/etc/hostname")
    elif kind == "symlink_file":
        _externalize(m, "w.data")
        case.side_files["real.data"] = data
        case.symlinks["in/w.data"] = "real.data"  # even inside the folder: onnx refuses symlinks
    elif kind == "symlink_relative":
        _externalize(m, "w.data")
        case.symlinks["in/w.data"] = "../outside/secret.bin"
    elif kind == "symlink_folder":
        _externalize(m, "sub/secret.bin")
        case.symlinks["in/sub"] = "../outside"
    elif kind == "fifo":
        _externalize(m, "w.data")
        case.fifos.append("in/w.data")
    elif kind == "combining_dotdot":
        # ".." then "/" + a combining mark: Swift sees one grapheme "/\u0301", so a split on the
        # Character "/" finds no ".." component, but the OS climbs out of in/ into root/\u0301/.
        _externalize(m, "../\u0301/secret.bin")
        case.root_files["\u0301/secret.bin"] = data
    elif kind == "offset_overflow":
        _externalize(m, "w.data", offset=2**63 - 1, length=2**63 - 1)
        case.side_files["w.data"] = data
    elif kind == "length_overflow":
        _externalize(m, "w.data", offset=4096, length=2**63 - 100)
        case.side_files["w.data"] = data
    elif kind == "huge_offset":
        _externalize(m, "w.data", offset=2**40, length=len(data))
        case.side_files["w.data"] = data
        case.must_refuse = True
    elif kind == "dev_null":
        _externalize(m, "null")
        case.symlinks["in/null"] = "/dev/null"
    elif kind == "folder":
        _externalize(m, "adir")
        case.dirs.append("in/adir")
    elif kind == "nul_byte":
        _externalize(m, "w.data\x00../../outside/secret.bin")
        case.side_files["w.data"] = data
    elif kind == "ok_plain":
        _externalize(m, "w.data", offset=0, length=len(data))
        case.side_files["w.data"] = data
    else:
        _externalize(m, "sub/w.data", offset=0, length=len(data))
        case.side_files["sub/w.data"] = data
    return kind


def mutate_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    b = bytearray(data)
    kind = rng.choice(["flip", "truncate", "insert", "overwrite", "splice_varint"])
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        b = b[: rng.randrange(len(b))]
    elif kind == "insert":
        i = rng.randrange(len(b))
        b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif kind == "overwrite":
        i = rng.randrange(len(b))
        b[i:i + 8] = bytes(rng.choice([0x00, 0xFF, 0x7F, 0x80]) for _ in range(8))
    else:
        # a maximal varint (10 bytes): a length or dim near 2^63 wherever it lands
        i = rng.randrange(len(b))
        b[i:i] = b"\xff" * 9 + b"\x01"
    return bytes(b), kind


def mutate_paths(rng: random.Random, case: Case) -> str:
    """Output/report path attacks: all must be refused, leaving every file as it was."""
    kind = rng.choice(["out_is_input", "report_is_input", "report_is_output", "out_via_symlinked_folder",
                       "out_is_symlink_to_input", "out_fifo", "out_dev_null", "out_folder", "report_fifo",
                       "report_missing_folder", "report_is_side_file", "input_fifo"])
    case.must_refuse = True
    a = case.args
    if kind == "out_is_input":
        a[1] = "{root}/in/model.onnx"
    elif kind == "report_is_input":
        a += ["--report", "{root}/in/model.onnx"]
    elif kind == "report_is_output":
        a += ["--report", "{root}/out/o.onnx"]
    elif kind == "out_via_symlinked_folder":
        case.symlinks["link"] = "in"
        a[1] = "{root}/link/model.onnx"
    elif kind == "out_is_symlink_to_input":
        case.symlinks["out/o.onnx"] = "../in/model.onnx"
    elif kind == "out_fifo":
        case.fifos.append("out/o.onnx")
    elif kind == "out_dev_null":
        # Never name /dev/null itself: a tool that renames over its output would replace the
        # system's device node. Through a symlink, the worst a broken tool does is replace the link.
        case.symlinks["out/o.onnx"] = "/dev/null"
    elif kind == "out_folder":
        case.dirs.append("out/o.onnx")
    elif kind == "report_fifo":
        case.fifos.append("out/r.json")
        a += ["--report", "{root}/out/r.json"]
    elif kind == "report_missing_folder":
        a += ["--report", "{root}/out/no/such/r.json"]
    elif kind == "report_is_side_file":
        a += ["--external-data", "--report", "{root}/out/o.onnx.data"]
    else:
        case.fifos.append("in/pipe.onnx")
        a[0] = "{root}/in/pipe.onnx"
    return kind


OPTION_SETS = [
    [], ["--rank", "1"], ["--rank", "full"], ["--ratio", "0.5"], ["--max-error", "0.5"],
    ["--method", "cp", "--rank", "2"], ["--method", "kron", "--rank", "2", "--force"],
    ["--method", "tucker2", "--ratio", "0.3"], ["--layout", "reconstructed", "--shuffle", "random", "--rank", "2"],
    ["--include-linear", "--rank", "2"], ["--external-data"], ["--force", "--rank", "2"],
    ["--method", "svd", "--rank", "3", "--include-linear", "--external-data"],
    ["--method", "kron", "--shuffle", "search", "--ratio", "0.5"],
]


def make_case(seed: int, index: int, families: list[str], seeds: list[Path]) -> Case:
    rng = random.Random(f"{seed}:{index}")
    family = families[rng.randrange(len(families))]
    seed_path = seeds[rng.randrange(len(seeds))]
    options = list(rng.choice(OPTION_SETS))
    if rng.random() < 0.5:
        options += ["--report", "{root}/out/r.json"]
    args = ["{root}/in/model.onnx", "{root}/out/o.onnx", "--quiet", *options]
    name = (str(seed_path.relative_to(REPO)) if seed_path.is_relative_to(REPO)
            else f"onnx/{seed_path.parent.parent.name}/{seed_path.parent.name}")
    case = Case(seed=seed, index=index, family=family, mutation="", seed_model=name, args=args, model_bytes=b"",
                families=list(families))
    m = _load(seed_path)
    if family == "bytes":
        case.model_bytes, case.mutation = mutate_bytes(rng, m.SerializeToString())
        return case
    if family == "paths":
        case.mutation = mutate_paths(rng, case)
    elif family == "options":
        extra = rng.choice([["--rank", "999999"], ["--include", "*", "--exclude", "*"], ["--ratio", "0.01"],
                            ["--max-error", "0"], ["--seed", "18446744073709551615", "--shuffle", "search"],
                            ["--method", "cp", "--ratio", "0.1"], ["--layout", "reconstructed", "--rank", "full"]])
        case.args = args[:3] + extra + ([o for o in options if o.startswith("--report") or "r.json" in o])
        case.mutation = " ".join(extra)
    elif family == "extdata":
        case.mutation = mutate_extdata(rng, m, case)
    else:
        case.mutation = {"dims": mutate_dims, "group": mutate_group, "attrs": mutate_attrs, "graph": mutate_graph,
                         "weights": mutate_weights, "dtype": mutate_dtype}[family](rng, m)
    case.model_bytes = m.SerializeToString()
    return case


# --- oracle ------------------------------------------------------------------------------------

@dataclass
class Outcome:
    klass: str | None          # None when the case passed
    exit_code: int | None
    detail: str


def _trap_site(binary: Path, argv: list[str]) -> str:
    """Reruns a trapping case with Swift's backtracer: the runtime failure and the first frame in
    our sources ("" when there is no backtrace)."""
    env = dict(os.environ, SWIFT_BACKTRACE="enable=yes,color=no,interactive=no,limit=16,top=0,sanitize=no")
    try:
        done = subprocess.run([str(binary), *argv], capture_output=True, text=True, timeout=120, env=env,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return ""
    lines = done.stderr.splitlines()
    failure = next((l.split(" Swift runtime failure: ")[1].split(" in ")[0].rstrip(" *") for l in lines if "Swift runtime failure: " in l),
                   next((l.strip() for l in lines if "Fatal error" in l or "Crash" in l), "trap"))
    frame = next((l.split(" in onnx-rstd at ")[0].split(maxsplit=2)[-1] + " at " + l.split(" at ")[-1].split("/Sources/")[-1]
                  for l in lines if "/Sources/" in l and " at " in l), "")
    return f"{failure}: {frame}" if frame else failure


def _ort_runs(path: Path) -> str | None:
    """None when onnxruntime loads and runs the model on seeded random inputs, else the reason,
    prefixed "load: " or "run: " by the stage that failed."""
    import onnxruntime as ort
    sys.path.insert(0, str(REPO / "Tests" / "conformance"))
    from rstd_testing import random_feeds
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 4
        options.intra_op_num_threads = 1
        stage = "load"
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        stage = "run"
        session.run(None, random_feeds(path, seed=0))
        return None
    except Exception as e:  # any failure is the answer, not an error of the harness
        return f"{stage}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"


def _checker(path: Path) -> str | None:
    try:
        onnx.checker.check_model(str(path), full_check=True)
        return None
    except Exception as e:
        return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"


# onnx's checker requires a `shape` field on every graph input and output; without one the
# declaration means "any rank". onnxruntime loads such a model, and the tool neither relies on nor
# changes these declarations, so it passes them through (docs/cli.md, exit 65, lists what it refuses).
SHAPELESS_IO = "Field 'shape' of 'type' is required but missing."


def _passed_through_by_design(out_checker: str | None, source_checker: str | None, out_ort: str | None,
                              source_ort: str | None) -> bool:
    """Whether an output that fails the checks (of an input that fails them too) is right:
    for onnx, the output is valid or lacks only what the input lacks, a graph input's or output's
    shape; for onnxruntime, it runs, or it loads and fails only when run on the harness's feeds
    (dynamic dims = 1, a shapeless input fed as a scalar) as the input does: the feeds do not fit."""
    checker_ok = out_checker is None or (SHAPELESS_IO in out_checker and source_checker is not None
                                         and SHAPELESS_IO in source_checker)
    ort_ok = out_ort is None or (out_ort.startswith("run: ") and source_ort is not None and source_ort.startswith("run: "))
    return checker_ok and ort_ok


def run_case(case: Case, binary: Path) -> Outcome:
    root = Path(tempfile.mkdtemp(prefix="rstd-fuzz-"))
    try:
        case.setup(root)
        before_in, before_out = snapshot(root / "in"), snapshot(root / "out")
        env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
        try:
            done = subprocess.run([str(binary), *case.argv(root)], capture_output=True, timeout=TIMEOUT_SECONDS,
                                  env=env, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return Outcome("hang", None, f"no exit within {TIMEOUT_SECONDS:.0f} s")
        code = done.returncode
        stderr = done.stderr.decode("utf-8", "replace")
        first = stderr.strip().splitlines()[0] if stderr.strip() else ""
        if code < 0 or code in (132, 133, 134, 136, 139):
            return Outcome("trap", code, _trap_site(binary, case.argv(root)) or first or f"signal {-code}")
        if code not in DOCUMENTED_EXITS:
            return Outcome("bad-exit", code, first)
        if snapshot(root / "in") != before_in:
            return Outcome("input-changed", code, first)
        if code != 0:
            lines = stderr.strip().splitlines()
            if len(lines) != 1 or not lines[0].startswith("onnx-rstd: error: "):
                return Outcome("multiline-stderr", code, f"{len(lines)} lines: {first}")
            if snapshot(root / "out") != before_out:
                return Outcome("wrote-on-failure", code, first)
            return Outcome(None, code, first)
        if case.must_refuse:
            return Outcome("accepted-attack", code, case.mutation)
        out = Path(case.argv(root)[1])
        if not out.is_file():
            return Outcome("no-output", code, str(out))
        leftovers = [n for n in os.listdir(out.parent) if ".onnx-rstd-tmp-" in n or ".tmp-" in n]
        if leftovers:
            return Outcome("temp-left", code, ", ".join(leftovers))
        problem = _checker(out) or _ort_runs(out)
        if problem is None:
            return Outcome(None, code, "")
        # The tool passed through something broken: was the input already invalid?
        source = root / "in" / "model.onnx"
        source_checker, source_ort = _checker(source), _ort_runs(source)
        if source_checker or source_ort:
            if _passed_through_by_design(_checker(out), source_checker, _ort_runs(out), source_ort):
                return Outcome(None, code, f"passed through by design: {problem}")
            return Outcome("accepted-invalid-input", code, problem)
        return Outcome("invalid-output", code, problem)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def save_failure(case: Case, outcome: Outcome) -> Path:
    folder = FAILURES / f"{outcome.klass}-{case.family}-{case.seed}-{case.index}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "case.json").write_text(json.dumps(
        {**case.describe(), "class": outcome.klass, "exit": outcome.exit_code, "detail": outcome.detail,
         "replay": f"python3 Tests/fuzz/rstd_fuzz.py --replay {case.seed}:{case.index} --families {','.join(case.families)}"},
        indent=2) + "\n")
    (folder / "model.onnx").write_bytes(case.model_bytes)
    for name, data in case.side_files.items():
        (folder / name.replace("/", "__")).write_bytes(data)
    return folder


def fuzz(seed: int, cases: int | None, seconds: float | None, families: list[str], binary: Path,
         allowed: set[tuple[str, str]] = EXPECTED_FAILURES, log=print) -> tuple[int, list, list]:
    """Runs cases seed:0, seed:1, ... until `cases` or `seconds` is reached.

    Returns (cases run, unexpected failures, expected failures), each failure a (Case, Outcome);
    expected ones are those whose (class, family) is in `allowed`."""
    seeds = seed_models()
    start = time.monotonic()
    unexpected, expected = [], []
    index = 0
    while (cases is None or index < cases) and (seconds is None or time.monotonic() - start < seconds):
        case = make_case(seed, index, families, seeds)
        outcome = run_case(case, binary)
        if outcome.klass is not None:
            folder = save_failure(case, outcome)
            known = (outcome.klass, case.family) in allowed
            (expected if known else unexpected).append((case, outcome))
            log(f"{'expected' if known else 'FAIL'} {outcome.klass} [{case.family}: {case.mutation}] {case.seed_model} "
                f"{' '.join(case.args[3:])} exit {outcome.exit_code}: {outcome.detail[:200]} -> {folder.relative_to(REPO)}")
        index += 1
    counts: dict[tuple[str, str], int] = {}
    for case, outcome in unexpected + expected:
        counts[(outcome.klass, case.family)] = counts.get((outcome.klass, case.family), 0) + 1
    log(f"{index} cases in {time.monotonic() - start:.0f} s (seed {seed}): {len(unexpected)} unexpected failures, "
        f"{len(expected)} expected (allow-listed)")
    for (klass, family), n in sorted(counts.items()):
        log(f"  {n:5d}  {klass:24s} {family}{'  (allow-listed)' if (klass, family) in allowed else ''}")
    return index, unexpected, expected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=None, help="case seed (default: from the clock)")
    parser.add_argument("--cases", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--replay", default=None,
                        help="SEED:INDEX of one case to run and print (with the same --families as the run that found it)")
    parser.add_argument("--strict", action="store_true", help="ignore the allow-list: every failure counts")
    ns = parser.parse_args()
    families = [f for f in ns.families.split(",") if f]
    unknown = set(families) - set(FAMILIES)
    if unknown:
        parser.error(f"unknown families {sorted(unknown)}; known: {FAMILIES}")
    binary = cli()
    if not binary.is_file():
        print(f"onnx-rstd not found at {binary}; build it or set ONNX_RSTD", file=sys.stderr)
        return 2
    if ns.replay:
        s, i = (int(x) for x in ns.replay.split(":"))
        case = make_case(s, i, families, seed_models())
        outcome = run_case(case, binary)
        print(json.dumps({**case.describe(), "class": outcome.klass, "exit": outcome.exit_code, "detail": outcome.detail},
                         indent=2))
        return 0 if outcome.klass is None else 1
    seed = ns.seed if ns.seed is not None else int(time.time())
    if ns.cases is None and ns.seconds is None:
        ns.cases = 300
    print(f"seed {seed}, families {families}, binary {binary}")
    _, unexpected, expected = fuzz(seed, ns.cases, ns.seconds, families, binary, set() if ns.strict else EXPECTED_FAILURES)
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
