import Foundation
import ONNX
import ONNXProto
import TensorAlgebra

/// Builds a small `ONNX.Model` from nodes, initializers, inputs and outputs, so RsTD tests can
/// draw their graphs without touching protobuf types.
///
/// The model is serialized and parsed back with `Model(serializedData:)`, so tests see exactly
/// what a file holding the same bytes would give. Unlike `Graph`'s editing API, the builder can
/// draw graphs the spec forbids (unsorted, a value defined twice), for tests of the checks.
public struct TestGraphBuilder {
  /// The default-domain opset imported by the model. Default 13.
  public var opset: Int?
  /// The model's IR version. Default 8.
  public var irVersion: Int
  var graph = Onnx_GraphProto()

  /// - Parameters:
  ///   - opset: the default-domain opset; nil imports none.
  ///   - irVersion: the IR version stamped in the model.
  public init(opset: Int? = 13, irVersion: Int = 8) {
    self.opset = opset
    self.irVersion = irVersion
    graph.name = "test"
  }

  /// Declares a graph input of `type` (FLOAT unless said); `nil` dimensions are symbolic ("N").
  public mutating func input(_ name: String, shape: [Int?], type: ElementType = .float) {
    graph.input.append(Self.valueInfo(name, shape, type: type))
  }

  /// Declares a graph output of `type` (FLOAT unless said); `nil` dimensions are symbolic ("N").
  public mutating func output(_ name: String, shape: [Int?], type: ElementType = .float) {
    graph.output.append(Self.valueInfo(name, shape, type: type))
  }

  /// Adds a `value_info` entry (FLOAT) for an intermediate value.
  public mutating func valueInfo(_ name: String, shape: [Int?]) {
    graph.valueInfo.append(Self.valueInfo(name, shape))
  }

  /// Adds a floating-point initializer stored as `type`.
  public mutating func initializer(_ name: String, _ tensor: Tensor, type: ElementType = .float) {
    graph.initializer.append(.makeFloats(tensor.scalars, shape: tensor.shape, name: name, dataType: Self.dataType(type)))
  }

  /// Adds an INT64 initializer.
  public mutating func int64Initializer(_ name: String, _ values: [Int], shape: [Int]) {
    graph.initializer.append(.makeInt64s(values.map { Int64($0) }, shape: shape, name: name))
  }

  /// Appends a node; attributes are written sorted by name.
  public mutating func node(
    _ opType: String, name: String, inputs: [String], outputs: [String], attributes: [Attribute] = [],
    domain: String = ""
  ) {
    var n = Onnx_NodeProto()
    n.name = name
    n.opType = opType
    n.domain = domain
    n.input = inputs
    n.output = outputs
    n.attribute = attributes.sorted { $0.name < $1.name }.map(Self.attribute)
    graph.node.append(n)
  }

  /// Appends a `Constant` node whose `value` attribute holds `tensor` (FLOAT).
  public mutating func constantNode(name: String, output: String, _ tensor: Tensor) {
    var a = Onnx_AttributeProto()
    a.name = "value"
    a.type = .tensor
    a.t = .makeFloats(tensor.scalars, shape: tensor.shape, name: output, dataType: .float)
    var n = Onnx_NodeProto()
    n.name = name
    n.opType = "Constant"
    n.output = [output]
    n.attribute = [a]
    graph.node.append(n)
  }

  /// The model, parsed from its serialized bytes by `Model(serializedData:)` (no file involved):
  /// tests see exactly what the same bytes on disk would give.
  /// - Throws: `ONNXError` if the bytes do not parse as a model.
  public func model() throws -> Model {
    var m = Onnx_ModelProto()
    m.irVersion = Int64(irVersion)
    m.producerName = "RsTDTestSupport"
    if let opset {
      var o = Onnx_OperatorSetIdProto()
      o.version = Int64(opset)
      m.opsetImport = [o]
    }
    m.graph = graph
    return try Model(serializedData: try m.serializedData())
  }

  static func dataType(_ type: ElementType) -> Onnx_TensorProto.DataType {
    switch type {
    case .float: .float
    case .float16: .float16
    case .bfloat16: .bfloat16
    case .double: .double
    }
  }

  static func valueInfo(_ name: String, _ shape: [Int?], type: ElementType = .float) -> Onnx_ValueInfoProto {
    var v = Onnx_ValueInfoProto()
    v.name = name
    v.type.tensorType.elemType = Int32(dataType(type).rawValue)
    v.type.tensorType.shape.dim = shape.map { d in
      var dim = Onnx_TensorShapeProto.Dimension()
      if let d { dim.dimValue = Int64(d) } else { dim.dimParam = "N" }
      return dim
    }
    return v
  }

  static func attribute(_ a: Attribute) -> Onnx_AttributeProto {
    var p = Onnx_AttributeProto()
    p.name = a.name
    switch a.value {
    case .int(let v): p.type = .int; p.i = Int64(v)
    case .ints(let v): p.type = .ints; p.ints = v.map { Int64($0) }
    case .float(let v): p.type = .float; p.f = v
    case .floats(let v): p.type = .floats; p.floats = v
    case .string(let v): p.type = .string; p.s = Data(v.utf8)
    case .other: preconditionFailure("attribute '\(a.name)': .other cannot be written")
    }
    return p
  }
}
