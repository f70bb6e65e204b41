internal import ONNXProto

extension ValueInfo {
  init(_ proto: Onnx_ValueInfoProto) {
    let type = proto.type
    var dataType: TensorElementType? = nil
    var shape: [Dimension]? = nil
    if case .tensorType(let t)? = type.value {
      dataType = TensorElementType(rawValue: Int(t.elemType))
      if t.hasShape {
        shape = t.shape.dim.map { d in
          switch d.value {
          case .dimValue(let v)?: return .fixed(Int(truncatingIfNeeded: v))
          case .dimParam(let p)?: return .symbolic(p)
          case nil: return .unknown
          }
        }
      }
    }
    self.init(name: proto.name, dataType: dataType, shape: shape)
  }

  var proto: Onnx_ValueInfoProto {
    var v = Onnx_ValueInfoProto()
    v.name = name
    if let dataType { v.type.tensorType.elemType = Int32(dataType.rawValue) }
    if let shape {
      v.type.tensorType.shape = Onnx_TensorShapeProto()
      v.type.tensorType.shape.dim = shape.map { d in
        var dim = Onnx_TensorShapeProto.Dimension()
        switch d {
        case .fixed(let n): dim.dimValue = Int64(n)
        case .symbolic(let s): dim.dimParam = s
        case .unknown: break
        }
        return dim
      }
    }
    return v
  }
}
