internal import ONNXProto

/// What onnx's checker asks of every attribute's fields, whatever the op: a name, a type (from IR
/// version 2), and no value field of another kind than the type. The tool reads an untyped
/// attribute by the field that is set (IR 1 files have no types) but writes untouched nodes back
/// as read, so a model breaking this would be written invalid: it is refused instead.
enum AttributeFields {
  /// Why `a` breaks the rules, nil when it does not.
  static func violation(_ a: Onnx_AttributeProto, irVersion: Int) -> String? {
    guard !a.name.isEmpty else { return "an attribute has no name" }
    if !a.refAttrName.isEmpty { return nil }  // a reference inside a function body
    if a.type == .undefined {
      return irVersion >= 2 ? "attribute '\(a.name)' has no type; ONNX requires one from IR version 2" : nil
    }
    let set: [(Bool, Onnx_AttributeProto.AttributeType)] = [
      (a.hasF, .float), (a.hasI, .int), (a.hasS, .string), (a.hasT, .tensor), (a.hasG, .graph),
      (a.hasSparseTensor, .sparseTensor), (a.hasTp, .typeProto), (!a.floats.isEmpty, .floats), (!a.ints.isEmpty, .ints),
      (!a.strings.isEmpty, .strings), (!a.tensors.isEmpty, .tensors), (!a.graphs.isEmpty, .graphs),
      (!a.sparseTensors.isEmpty, .sparseTensors), (!a.typeProtos.isEmpty, .typeProtos),
    ]
    if let other = set.first(where: { $0.0 && $0.1 != a.type })?.1 {
      return "attribute '\(a.name)' is typed \("\(a.type)".uppercased()) but holds a \("\(other)".uppercased()) value"
    }
    return nil
  }
}
