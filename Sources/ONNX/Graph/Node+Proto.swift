internal import ONNXProto

extension Node {
  /// A view of a protobuf node.
  init(_ proto: Onnx_NodeProto) {
    self.init(
      name: proto.name, opType: proto.opType, domain: proto.domain, inputs: proto.input,
      outputs: proto.output, attributes: proto.attribute.map(Attribute.init))
  }

  /// The protobuf form, attributes sorted by name for stable bytes.
  var proto: Onnx_NodeProto {
    var node = Onnx_NodeProto()
    node.name = name
    node.opType = opType
    if !domain.isEmpty { node.domain = domain }
    node.input = inputs
    node.output = outputs
    node.attribute = attributes.sorted { $0.name < $1.name }.compactMap(\.proto)
    return node
  }
}

extension Attribute {
  init(_ proto: Onnx_AttributeProto) {
    let value: AttributeValue
    switch proto.type {
    case .int: value = .int(Int(proto.i))
    case .ints: value = .ints(proto.ints.map { Int($0) })
    case .float: value = .float(proto.f)
    case .floats: value = .floats(proto.floats)
    case .string: value = .string(String(decoding: proto.s, as: UTF8.self))
    case .undefined:
      // Old models sometimes omit `type`; infer it from the field that is set.
      if proto.hasI { value = .int(Int(proto.i)) }
      else if !proto.ints.isEmpty { value = .ints(proto.ints.map { Int($0) }) }
      else if proto.hasS { value = .string(String(decoding: proto.s, as: UTF8.self)) }
      else if proto.hasF { value = .float(proto.f) }
      else if !proto.floats.isEmpty { value = .floats(proto.floats) }
      else { value = .other }
    default: value = .other
    }
    self.init(proto.name, value)
  }

  /// The protobuf form; nil for `.other`, which this type cannot write.
  var proto: Onnx_AttributeProto? {
    var a = Onnx_AttributeProto()
    a.name = name
    switch value {
    case .int(let v): a.type = .int; a.i = Int64(v)
    case .ints(let v): a.type = .ints; a.ints = v.map { Int64($0) }
    case .float(let v): a.type = .float; a.f = v
    case .floats(let v): a.type = .floats; a.floats = v
    case .string(let v): a.type = .string; a.s = Data(v.utf8)
    case .other: return nil
    }
    return a
  }
}

import Foundation
