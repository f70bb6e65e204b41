"""Graph-core regressions (issue 8 / 9, class 2 and 5), checked in onnxruntime.

- A 2-D weight shared by nodes that read it in different orientations (Gemm transB=1 reads
  [N_out, K_in], MatMul and Gemm transB=0 read [K_in, N_out]) must be factored per orientation:
  every output matches the original. Before the fix the second site reused the first one's
  factors (relative error 1.40 reported as 0.0000 for a square weight, a crash when not square).
- Graphs the ONNX spec forbids (values defined twice, undefined inputs, cycles, duplicate
  outputs, Conv attributes that contradict the weight) are refused with exit 65 and one line
  naming the node or value; nothing is written.
- A site whose weight holds NaN/Inf is kept and reported, the rest is rewritten.

Tolerance: full-rank svd of a 2-D float32 weight reconstructs it to ~1e-6 relative; outputs
are compared at 1e-4 relative L2 (100x headroom).
"""
from __future__ import annotations

import copy
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from rstd_testing import assert_refused, ort_outputs, random_feeds, rel_l2, run_cli

TOL = 1e-4


def _model(nodes, inputs, outputs, inits, opset=13):
    g = helper.make_graph(nodes, "g", inputs, outputs, inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def _vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _shared_linear(k, n, first, second):
    """x[2,k] -> first(W) and second(W'), W shared; each op reads W in its own orientation.

    `first`/`second` are "gemm_t1" (Gemm transB=1, W stored [n,k]), "gemm_t0" (Gemm transB=0,
    W stored [k,n]) or "matmul" (W stored [k,n]). For a shared weight the stored shape must
    suit both, so non-square cases pair orientations that agree or use a square weight.
    """
    rng = np.random.default_rng(3)
    stored = (n, k) if first == "gemm_t1" else (k, n)
    w = rng.standard_normal(stored).astype(np.float32)
    nodes = []
    for i, op in enumerate([first, second]):
        if op == "matmul":
            nodes.append(helper.make_node("MatMul", ["x", "W"], [f"y{i}"], name=f"mm{i}"))
        else:
            nodes.append(helper.make_node("Gemm", ["x", "W"], [f"y{i}"], name=f"gemm{i}",
                                          transB=1 if op == "gemm_t1" else 0))
    out_dim = lambda op: w.shape[0] if op == "gemm_t1" else w.shape[1]
    return _model(nodes, [_vi("x", [2, k])], [_vi(f"y{i}", [2, out_dim(op)]) for i, op in enumerate([first, second])],
                  [numpy_helper.from_array(w, "W")])


@pytest.mark.parametrize("pair", [("gemm_t1", "matmul"), ("gemm_t1", "gemm_t0"), ("gemm_t0", "matmul"),
                                  ("matmul", "gemm_t1")])
def test_shared_square_linear_weight_gives_correct_outputs(pair, tmp_path):
    src, dst = tmp_path / "in.onnx", tmp_path / "out.onnx"
    onnx.save(_shared_linear(8, 8, *pair), src)
    code, _, err = run_cli(src, dst, "--include-linear", "--rank", "full", "--force", "--report", tmp_path / "r.json")
    assert code == 0, err
    onnx.checker.check_model(onnx.load(dst), full_check=True)
    feeds = random_feeds(src, seed=1)
    for opt in (False, True):
        for a, b in zip(ort_outputs(src, feeds, opt), ort_outputs(dst, feeds, opt)):
            assert rel_l2(a, b) < TOL, f"{pair}: rel L2 {rel_l2(a, b):.3g} > {TOL} (optimized={opt})"
    report = json.loads((tmp_path / "r.json").read_text())
    assert [s["status"] for s in report["sites"]] == ["rewritten", "rewritten"]


def test_shared_nonsquare_weight_read_both_ways_does_not_crash(tmp_path):
    """W [6,10] read by Gemm transB=1 (x[.,10] -> [.,6]) and by MatMul (z[.,6] -> [.,10])."""
    rng = np.random.default_rng(5)
    w = rng.standard_normal((6, 10)).astype(np.float32)
    nodes = [helper.make_node("Gemm", ["x", "W"], ["y0"], name="gemm", transB=1),
             helper.make_node("MatMul", ["y0", "W"], ["y1"], name="mm")]
    src, dst = tmp_path / "in.onnx", tmp_path / "out.onnx"
    onnx.save(_model(nodes, [_vi("x", [2, 10])], [_vi("y1", [2, 10])], [numpy_helper.from_array(w, "W")]), src)
    code, _, err = run_cli(src, dst, "--include-linear", "--rank", "full", "--force")
    assert code == 0, err
    onnx.checker.check_model(onnx.load(dst), full_check=True)
    feeds = random_feeds(src, seed=2)
    a, b = ort_outputs(src, feeds, False)[0], ort_outputs(dst, feeds, False)[0]
    assert rel_l2(a, b) < TOL, f"rel L2 {rel_l2(a, b):.3g}"


def _after_conv(m, node):
    """`node` reads the conv's output; its output becomes the graph's."""
    m.graph.node.append(node)
    m.graph.output[0].name = node.output[0]
    del m.graph.output[0].type.tensor_type.shape.dim[:]


def _gemm_after(m, dims):
    """Flatten the conv's output into a Gemm whose B initializer has `dims` (found by the fuzz
    harness, seed 1796119240 case 6798: an extra dim on a classifier's weight passed through;
    onnx's shape inference refuses it)."""
    m.graph.node.append(helper.make_node("Flatten", ["y"], ["f"], name="flat"))
    m.graph.initializer.append(numpy_helper.from_array(np.zeros(dims, np.float32), "fc.w"))
    _after_conv(m, helper.make_node("Gemm", ["f", "fc.w"], ["z"], name="fc", transB=1))


def _then_else(m, else_name, extra_attribute=None):
    """An If on a constant condition returning the conv's output from either branch (the else
    branch's Identity with `extra_attribute`)."""
    branch = lambda name, out: helper.make_graph([helper.make_node("Identity", ["y"], [out])], name, [],
                                                 [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)])
    otherwise = branch(else_name, "e")
    if extra_attribute is not None:
        otherwise.node[0].attribute.append(extra_attribute)
    m.graph.initializer.append(numpy_helper.from_array(np.array(True), "cond"))
    _after_conv(m, helper.make_node("If", ["cond"], ["z"], name="if", then_branch=branch("then", "t"),
                                    else_branch=otherwise))


def _conv_model(**conv_attrs):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((8, 4, 3, 3)).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", **conv_attrs)
    return _model([node], [_vi("x", [1, 4, 8, 8])], [_vi("y", [1, 8, None, None])], [numpy_helper.from_array(w, "w")])


_refused = assert_refused


@pytest.mark.parametrize("attrs,needle", [
    ({"group": 0}, "group is 0"),
    ({"group": 3}, "does not divide"),
    ({"group": -2}, "group is -2"),
    ({"kernel_shape": [5, 5]}, "kernel_shape"),
    ({"strides": [1]}, "strides"),
    ({"strides": [0, 1]}, "strides holds 0"),
    ({"strides": [1, 1 << 40]}, "strides holds"),
    ({"dilations": [1, -1]}, "dilations holds -1"),
    ({"pads": [1, 1]}, "pads"),
    ({"dilations": [1, 1, 1]}, "dilations"),
    ({"auto_pad": "SIDEWAYS"}, "auto_pad"),
])
def test_conv_attributes_contradicting_the_weight_are_refused(attrs, needle, tmp_path):
    _refused(_conv_model(**attrs), tmp_path, needle)


def _relu(i, o, name):
    return helper.make_node("Relu", [i], [o], name=name)


def test_value_defined_twice_is_refused(tmp_path):
    m = _conv_model()
    m.graph.node.append(_relu("x", "y", "again"))
    _refused(m, tmp_path, "'y' is defined more than once")


def test_undefined_input_is_refused(tmp_path):
    m = _conv_model()
    m.graph.node.append(_relu("ghost", "z", "reads_ghost"))
    _refused(m, tmp_path, "'reads_ghost' reads 'ghost'")


def test_cycle_is_refused(tmp_path):
    m = _conv_model()
    m.graph.node.extend([_relu("b", "a", "r1"), _relu("a", "b", "r2")])
    _refused(m, tmp_path, "cycle")


def test_duplicate_graph_output_is_refused(tmp_path):
    m = _conv_model()
    m.graph.output.append(_vi("y", [1, 8, None, None]))
    _refused(m, tmp_path, "listed more than once")


def test_conv_without_output_is_refused(tmp_path):
    m = _conv_model()
    del m.graph.node[0].output[:]
    m.graph.output[0].name = "x"
    _refused(m, tmp_path, "(Conv) has 0 outputs")


def test_unsorted_graph_is_sorted_and_rewritten(tmp_path):
    """Nodes out of order but acyclic: sorted, then rewritten; output matches."""
    m = _conv_model(pads=[1, 1, 1, 1])
    m.graph.node.insert(0, _relu("y", "z", "after"))
    m.graph.output[0].name = "z"
    src, dst = tmp_path / "in.onnx", tmp_path / "out.onnx"
    onnx.save(m, src)
    code, _, err = run_cli(src, dst, "--rank", "full", "--force")
    assert code == 0, err
    onnx.checker.check_model(onnx.load(dst), full_check=True)
    feeds = random_feeds(src, seed=0)
    # onnxruntime sorts the original itself; compare with the rewrite.
    a, b = ort_outputs(src, feeds, False)[0], ort_outputs(dst, feeds, False)[0]
    assert rel_l2(a, b) < TOL


def test_nonfinite_weight_keeps_that_site_only(tmp_path):
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal((8, 4, 3, 3)).astype(np.float32)
    w1 = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    w1[2, 3, 1, 1] = np.nan
    nodes = [helper.make_node("Conv", ["x", "w0"], ["h"], name="good", pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["h", "w1"], ["y"], name="nan", pads=[1, 1, 1, 1])]
    m = _model(nodes, [_vi("x", [1, 4, 8, 8])], [_vi("y", [1, 8, 8, 8])],
               [numpy_helper.from_array(w0, "w0"), numpy_helper.from_array(w1, "w1")])
    src, dst, rep = tmp_path / "in.onnx", tmp_path / "out.onnx", tmp_path / "r.json"
    onnx.save(m, src)
    code, _, err = run_cli(src, dst, "--rank", "full", "--force", "--report", rep)
    assert code == 0, err
    sites = {s["node"]: s for s in json.loads(rep.read_text())["sites"]}
    assert sites["good"]["status"] == "rewritten"
    assert sites["nan"]["status"] == "kept" and "NaN" in sites["nan"]["reason"]
    onnx.checker.check_model(onnx.load(dst), full_check=True)


def test_fp16_factors_beyond_range_keep_the_site(tmp_path):
    """A FLOAT16 weight whose svd factors exceed 65504 (large singular values) is kept, not
    written with infinities."""
    w = np.full((8, 4, 3, 3), 60000, dtype=np.float16)
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="big")
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [1, 4, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT16, [1, 8, 6, 6])], [numpy_helper.from_array(w, "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    src, dst, rep = tmp_path / "in.onnx", tmp_path / "out.onnx", tmp_path / "r.json"
    onnx.save(m, src)
    code, _, err = run_cli(src, dst, "--method", "svd", "--rank", "1", "--force", "--report", rep)
    assert code == 0, err
    site = json.loads(rep.read_text())["sites"][0]
    assert site["status"] == "kept" and "FLOAT16" in site["reason"], site
    out = onnx.load(dst)
    assert [n.op_type for n in out.graph.node] == ["Conv"]


def test_conv_bias_with_wrong_dims_is_refused(tmp_path):
    m = _conv_model()
    m.graph.initializer.append(numpy_helper.from_array(np.zeros((8, 1), np.float32), "b"))
    m.graph.node[0].input.append("b")
    _refused(m, tmp_path, "its bias has dims [8, 1]")


def test_inputs_of_different_element_types_are_refused(tmp_path):
    m = _conv_model()
    m.graph.initializer.append(numpy_helper.from_array(np.zeros(8, np.float64), "b"))
    m.graph.node[0].input.append("b")
    _refused(m, tmp_path, "element types 1 and 11")


def test_initializer_data_disagreeing_with_dims_is_refused(tmp_path):
    m = _conv_model()
    m.graph.initializer[0].dims[0] = 9  # 9*4*3*3 floats declared, 8*4*3*3 stored
    _refused(m, tmp_path, "raw_data")


def test_unknown_default_domain_op_is_refused(tmp_path):
    m = _conv_model()
    m.graph.node.append(helper.make_node("ConvTransxose", ["y"], ["z"], name="typo"))
    _refused(m, tmp_path, "'ConvTransxose' is not an ONNX operator")


def test_value_info_without_type_is_refused(tmp_path):
    m = _conv_model()
    m.graph.value_info.append(onnx.ValueInfoProto(name="y_info"))
    _refused(m, tmp_path, "value_info 'y_info' has no name or no type")


@pytest.mark.parametrize("where", ["input", "output"])
@pytest.mark.parametrize("how", ["cleared", "undefined"])
def test_a_tensor_of_no_element_type_is_refused(where, how, tmp_path):
    """Found by byte mutation (fuzz seed 1796116955, case 4667): a flipped bit cleared a graph
    input's elem_type; the tool passed it on. onnx's checker refuses the field missing,
    onnxruntime the type UNDEFINED (0) either way."""
    m = _conv_model()
    declared = m.graph.input[0] if where == "input" else m.graph.output[0]
    if how == "cleared":
        declared.type.tensor_type.ClearField("elem_type")
        with pytest.raises(onnx.checker.ValidationError, match="elem_type"):
            onnx.checker.check_model(m)
    else:
        declared.type.tensor_type.elem_type = TensorProto.UNDEFINED
    import onnxruntime as ort
    with pytest.raises(Exception, match="data type 0"):
        ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    _refused(m, tmp_path, f"graph {where} '{declared.name}' declares no element type")


def test_a_graph_without_a_name_is_refused(tmp_path):
    """Found by byte mutation (fuzz seed 1796117697, case 7018): a flipped bit emptied the graph's
    name; onnx's checker refuses that, the tool wrote it back with exit 0."""
    m = _conv_model()
    m.graph.name = ""
    with pytest.raises(onnx.checker.ValidationError, match="name"):
        onnx.checker.check_model(m)
    _refused(m, tmp_path, "the main graph has no name")


@pytest.mark.parametrize("break_it,needle", [
    (lambda m: m.graph.initializer.append(copy.deepcopy(m.graph.initializer[0])), "initializer 'w' is listed twice"),
    (lambda m: m.graph.initializer.append(numpy_helper.from_array(np.zeros(3, np.float32), "")), "an initializer has no name"),
    (lambda m: [m.metadata_props.add(key="k", value=v) for v in "ab"], "metadata_props lists the key 'k' twice"),
    (lambda m: m.graph.input.append(copy.deepcopy(m.graph.input[0])), "graph input 'x' is listed twice"),
    (lambda m: m.graph.initializer[0].float_data.extend([0.0]), "stores values in raw_data and float_data"),
    (lambda m: _then_else(m, ""), "attribute 'else_branch' holds a graph with no name"),
    (lambda m: _then_else(m, "else", extra_attribute=helper.make_attribute("foo", 1)),
     "holds a graph 'else' in which node 'Identity' (Identity): attribute 'foo' is not an attribute of Identity"),
    (lambda m: [m.functions.append(helper.make_function("custom", "F", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["b"])],
                                                        [helper.make_opsetid("", 13)])) for _ in range(2)],
     "defines the local function 'custom::F' twice"),
    (lambda m: m.graph.input.append(onnx.ValueInfoProto(name="s", type=onnx.TypeProto(sequence_type=onnx.TypeProto.Sequence()))),
     "graph input 's' declares no element type"),
    (lambda m: _after_conv(m, helper.make_node("Relu", ["y"], ["z"], name="relu", alpha=0.1)),
     "attribute 'alpha' is not an attribute of Relu (opset 13)"),
    (lambda m: _after_conv(m, helper.make_node("Transpose", ["y"], ["z"], name="t", perm=1.5)),
     "attribute 'perm' is typed FLOAT but Transpose defines it as INTS"),
    (lambda m: _after_conv(m, helper.make_node("Cast", ["y"], ["z"], name="cast")), "the required attribute 'to' is missing"),
    (lambda m: _gemm_after(m, [10, 512, 1]), "node 'fc' (Gemm): its input B has dims [10, 512, 1]; Gemm takes a 2-D B"),
], ids=["initializer-twice", "initializer-unnamed", "metadata-key-twice", "graph-input-twice", "two-value-fields",
        "unnamed-subgraph", "subgraph-node-attribute", "function-twice", "sequence-of-nothing", "unknown-attribute", "attribute-type", "required-attribute",
        "gemm-rank-3"])
def test_what_onnx_checker_refuses_and_the_tool_would_write_back_is_refused(break_it, needle, tmp_path):
    """Each of these passed through with exit 0 and an output onnx's checker refuses (found by
    mutating a valid model field by field, as the fuzz harness's byte flips do at random; a
    graph input listed twice crashed the tool in its output check)."""
    m = _conv_model()
    break_it(m)
    with pytest.raises((onnx.checker.ValidationError, onnx.shape_inference.InferenceError)):
        onnx.checker.check_model(m, full_check=True)
    _refused(m, tmp_path, needle)


def test_a_graph_output_without_a_shape_is_passed_through(tmp_path):
    """A missing shape means "any rank": onnx's checker wants one, onnxruntime does not; the tool
    neither reads nor changes it (the fuzz harness allows exactly this)."""
    m = _conv_model()
    m.graph.output[0].type.tensor_type.ClearField("shape")
    src, dst = tmp_path / "in.onnx", tmp_path / "out.onnx"
    onnx.save(m, src)
    code, _, err = run_cli(str(src), str(dst), "--quiet")
    assert code == 0, err
    assert not onnx.load(dst).graph.output[0].type.tensor_type.HasField("shape")


@pytest.mark.parametrize("field,needle", [
    ("untyped", "attribute 'dilations' has no type; ONNX requires one from IR version 2"),
    ("mistyped", "attribute 'dilations' is typed INT but holds a INTS value"),
])
def test_attribute_fields_breaking_the_checker_are_refused(field, needle, tmp_path):
    """Found by byte mutation: a flipped bit clears an attribute's type (onnx's checker refuses it,
    on every node, not only the ones the tool rewrites)."""
    m = _conv_model(dilations=[1, 1])
    a = m.graph.node[0].attribute[0]
    a.type = onnx.AttributeProto.UNDEFINED if field == "untyped" else onnx.AttributeProto.INT
    with pytest.raises(onnx.checker.ValidationError):
        onnx.checker.check_model(m)
    _refused(m, tmp_path, needle)
