import ONNX

extension Graph {
  /// Adds the stored form of a float weight (`q`, shaped `shape`) as initializers named from
  /// `stem`, and returns the nodes that rebuild the float weight, not yet inserted:
  /// `Cast(to=FLOAT)` for fp16, `Cast(to=FLOAT) → Mul(scale)` for int8, where the scale is a
  /// FLOAT tensor of `shape` with 1 on every axis but the quantized one. Both are constant
  /// subgraphs onnxruntime folds at session start (docs/methods.md, "Weight storage").
  /// - Returns: the new initializers, the nodes in order, and the rebuilt value's name.
  mutating func addStoredWeight(_ q: QuantizedWeight, shape: [Int], stem: String) -> (initializers: [String], nodes: [Node], output: String) {
    let toFloat = [Attribute("to", .int(TensorElementType.float.rawValue))]
    func node(_ op: String, _ inputs: [String], _ attributes: [Attribute], _ suffix: String) -> Node {
      Node(name: makeName("\(stem)_\(suffix)"), opType: op, inputs: inputs, outputs: [makeName("\(stem)_\(suffix)_out")], attributes: attributes)
    }
    switch q.encoding {
    case .float16:
      let name = makeName("\(stem)_fp16")
      addInitializer(name: name, values: q.dequantized, shape: shape, type: .float16)
      let cast = node("Cast", [name], toFloat, "cast")
      return ([name], [cast], cast.outputs[0])
    case .int8(let values, let scales, let axis):
      let name = makeName("\(stem)_int8")
      addInitializer(name: name, int8s: values, shape: shape)
      let scale = makeName("\(stem)_scale")
      var scaleShape = shape.map { _ in 1 }
      scaleShape[axis] = shape[axis]
      addInitializer(name: scale, values: scales, shape: scaleShape, type: .float)
      let cast = node("Cast", [name], toFloat, "cast")
      let mul = node("Mul", [cast.outputs[0], scale], [], "dequantize")
      return ([name, scale], [cast, mul], mul.outputs[0])
    }
  }
}
