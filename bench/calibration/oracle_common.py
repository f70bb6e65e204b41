"""Small helpers shared by the feasibility oracles (det_oracle.py, cls_oracle.py)."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np


def write_with_bias(graph, dst: Path, replaced: dict) -> Path:
    """A copy of `graph.model` with each replaced conv's weight and bias swapped (same shapes); a
    conv without a bias input gets one (a new initializer `<conv>.oracle_bias`)."""
    m = copy.deepcopy(graph.model)
    g = m.graph
    consts = {n.output[0]: n for n in g.node if n.op_type == "Constant"}
    inits = {t.name: t for t in g.initializer}
    nodes = {n.name: n for n in g.node if n.name in replaced}
    for name, (w, b) in replaced.items():
        n = nodes[name]
        if len(n.input) < 3 or not n.input[2]:
            bname = f"{name}.oracle_bias"
            g.initializer.append(graph.nh.from_array(np.ascontiguousarray(b.astype(np.float32)), bname))
            if len(n.input) < 3:
                n.input.append(bname)
            else:
                n.input[2] = bname
            pairs = ((n.input[1], w),)
        else:
            pairs = ((n.input[1], w), (n.input[2], b))
        for tname, arr in pairs:
            t = graph.nh.from_array(np.ascontiguousarray(arr.astype(np.float32)), tname)
            if tname in inits:
                inits[tname].CopyFrom(t)
            else:
                for a in consts[tname].attribute:
                    if a.name == "value":
                        a.t.CopyFrom(t)
    graph.onnx.save(m, str(dst))
    return dst
