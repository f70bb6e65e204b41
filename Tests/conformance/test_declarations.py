"""Declared types against the file (issue 9, class 5; the fuzz harness's accepted-invalid-input).

The tool writes graph inputs, outputs and value_info back unchanged, so a declaration that
contradicts an initializer or a node the tool reads would make the output invalid. Such models
are refused (exit 65, one line naming the value or node, nothing written); onnx's checker with
strict shape inference refuses each of them. The classes, each found by byte mutation:

- below IR version 4, an initializer that is not also a graph input;
- a graph input declaring an initializer with another element type, rank or fixed dim;
- a declared input or output of Conv/ConvTranspose/ConvInteger/Gemm/MatMul that is not a tensor
  (a map), has another element type, or (Conv family, Gemm) another rank than the op gives it;
- (attribute mutations) a Conv-family output whose fixed dims differ from those computed from the
  declared input, or overflow, or have no size (a kernel wider than the padded input) (also a ConvTranspose with output_shape: onnxruntime derives its
  pads from the overflowing size); a group that does not divide the declared input's channels
  when the weight is computed (onnxruntime refuses both at run time, onnx's checker neither).

Declarations that leave things open (symbolic or blank dims, no shape, element type 0) pass.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from rstd_testing import assert_refused, run_cli


def _conv(ir_version=8, x_shape=(1, 4, 8, 8), y_type=None, weight_as_input=False):
    w = np.random.default_rng(0).standard_normal((8, 4, 3, 3)).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv")
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))]
    if weight_as_input:
        inputs.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, [8, 4, 3, 3]))
    y = y_type or helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 6, 6])
    g = helper.make_graph([node], "g", inputs, [y], [numpy_helper.from_array(w, "w")])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 8 if ir_version < 4 else 11)], ir_version=ir_version)


def _refused(model, tmp_path, needle):
    with pytest.raises(Exception):
        onnx.checker.check_model(model, full_check=True)  # the oracle: onnx refuses it too
    assert_refused(model, tmp_path, needle)


def test_ir3_initializer_that_is_no_graph_input_is_refused(tmp_path):
    _refused(_conv(ir_version=3), tmp_path, "initializer 'w' is not a graph input; IR version 3")


@pytest.mark.parametrize("elem,dims,needle", [
    (TensorProto.FLOAT, [8, 4, 3], "is declared with 3 dims but has 4"),
    (TensorProto.FLOAT, [8, 4, 3, 5], "is declared with dim 3 = 5 but it is 3"),
    (TensorProto.FLOAT16, [8, 4, 3, 3], "is declared FLOAT16 but is FLOAT"),
])
def test_graph_input_contradicting_its_initializer_is_refused(elem, dims, needle, tmp_path):
    m = _conv(ir_version=3, weight_as_input=True)
    m.graph.input[1].CopyFrom(helper.make_tensor_value_info("w", elem, dims))
    _refused(m, tmp_path, f"graph input 'w' contradicts its initializer: it {needle}")


@pytest.mark.parametrize("y,needle", [
    (helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8]), "its output 'y' (graph output) is declared with 2 dims but has 4"),
    (helper.make_tensor_value_info("y", TensorProto.DOUBLE, [1, 8, 6, 6]), "its output 'y' (graph output) is declared DOUBLE but is FLOAT"),
    (helper.make_value_info("y", helper.make_map_type_proto(TensorProto.INT64, helper.make_tensor_type_proto(TensorProto.INT8, None))),
     "its output 'y' (graph output) is declared a map, not a tensor"),
])
def test_conv_output_declared_otherwise_is_refused(y, needle, tmp_path):
    _refused(_conv(y_type=y), tmp_path, f"node 'conv' (Conv): {needle}")


def test_conv_input_of_another_rank_is_refused(tmp_path):
    _refused(_conv(x_shape=(1, 4, 8)), tmp_path, "its input 'x' (graph input) is declared with 3 dims but has 4")


def test_value_info_of_another_rank_is_refused(tmp_path):
    m = _conv()
    m.graph.node[0].output[0] = "c"
    m.graph.node.append(helper.make_node("Relu", ["c"], ["y"], name="relu"))
    m.graph.value_info.append(helper.make_tensor_value_info("c", TensorProto.FLOAT, [1, 8, 6]))
    _refused(m, tmp_path, "its output 'c' (value_info) is declared with 3 dims but has 4")


@pytest.mark.parametrize("attrs,needle", [
    ({"strides": [2, 2]}, "dim 2 = 6 but it is 3"),
    ({"auto_pad": "SAME_UPPER"}, "dim 2 = 6 but it is 8"),
    ({"kernel_shape": [3, 3], "dilations": [1 << 62, 1]}, "its output dim on spatial axis 0 overflows"),
    ({"kernel_shape": [3, 3], "dilations": [4, 1]}, "on spatial axis 0 its kernel spans 9, more than the padded input's 8"),
])
def test_conv_output_dims_disagreeing_with_the_attributes_are_refused(attrs, needle, tmp_path):
    m = _conv()
    for k, v in attrs.items():
        m.graph.node[0].attribute.append(helper.make_attribute(k, v))
    _refused(m, tmp_path, needle)


def test_group_not_dividing_the_input_channels_is_refused(tmp_path):
    """The weight is computed (Cast), so only the declared input's channels are known."""
    w = np.ones((8, 2, 3, 3), np.float16)
    nodes = [helper.make_node("Cast", ["w16"], ["w"], to=TensorProto.FLOAT),
             helper.make_node("Conv", ["x", "w"], ["y"], name="conv", group=3)]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 6, 6])], [numpy_helper.from_array(w, "w16")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    assert_refused(m, tmp_path, "group 3 does not divide its input's 4 channels")  # onnxruntime refuses it at run time


def test_gemm_output_of_another_rank_is_refused(tmp_path):
    w = np.ones((3, 5), np.float32)
    g = helper.make_graph([helper.make_node("Gemm", ["x", "w"], ["y"], name="fc")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5, 1])], [numpy_helper.from_array(w, "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    _refused(m, tmp_path, "node 'fc' (Gemm): its output 'y' (graph output) is declared with 3 dims but has 2")


@pytest.mark.parametrize("ir_version", [3, 8])
def test_open_declarations_pass(ir_version, tmp_path):
    """Symbolic and blank dims, and (IR 3) the weight listed as a graph input, are rewritten."""
    m = _conv(ir_version=ir_version, x_shape=("N", 4, None, 8), weight_as_input=ir_version < 4,
              y_type=helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 8, None, "W"]))
    onnx.checker.check_model(m, full_check=True)
    src, dst = tmp_path / "in.onnx", tmp_path / "out.onnx"
    onnx.save(m, src)
    code, _, err = run_cli(src, dst, "--rank", "2", "--force", "--quiet")
    assert code == 0, err
    onnx.checker.check_model(onnx.load(dst), full_check=True)


def test_conv_transpose_whose_size_overflows_is_refused_even_with_output_shape(tmp_path):
    w = np.ones((1, 2, 3, 3), np.float32)
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up", output_shape=[10, 8], strides=[1 << 62, 1 << 62])
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 3, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 10, 8])], [numpy_helper.from_array(w, "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    assert_refused(m, tmp_path, "node 'up' (ConvTranspose): its output dim on spatial axis 0 overflows")
