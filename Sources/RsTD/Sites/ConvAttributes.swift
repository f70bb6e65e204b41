import ONNX

/// A Conv's attributes checked against its weight before any arithmetic uses them.
///
/// `check` returns why the node is malformed (a sentence naming the attribute and both numbers),
/// or nil when group, kernel_shape, strides, dilations, pads and auto_pad agree with the weight
/// `[M, C/g, k...]` and with each other.
enum ConvAttributes {
  static let autoPadValues: Set<String> = ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]

  static func check(_ node: Node, weightShape shape: [Int]) -> String? {
    let spatial = shape.count - 2
    if let bad = shape.first(where: { $0 <= 0 }) { return "weight dims \(shape) include \(bad); every dim must be positive" }
    var group = 1
    if let a = node.attribute("group") {
      guard case .int(let g) = a else { return "group \(describe(a)) is not an INT attribute" }
      group = g
    }
    guard group >= 1 else { return "group is \(group); it must be at least 1" }
    guard shape[0] % group == 0 else { return "group \(group) does not divide the \(shape[0]) output channels" }
    if let k = node.attribute("kernel_shape") {
      guard case .ints(let ks) = k, ks == Array(shape.dropFirst(2)) else {
        return "kernel_shape \(describe(k)) disagrees with the weight's spatial dims \(Array(shape.dropFirst(2)))"
      }
    }
    // Bounds keep every cost product (strides enter the multiply-add counts) far from overflow.
    for (name, count, range) in [("strides", spatial, 1...1024), ("dilations", spatial, 1...1024), ("pads", 2 * spatial, 0...(1 << 20))] {
      guard let a = node.attribute(name) else { continue }
      guard case .ints(let v) = a, v.count == count else {
        return "\(name) \(describe(a)) must list \(count) integers for a \(spatial)-D kernel"
      }
      if let bad = v.first(where: { !range.contains($0) }) { return "\(name) holds \(bad); each must be in \(range.lowerBound)...\(range.upperBound)" }
    }
    if let a = node.attribute("auto_pad") {
      guard case .string(let s) = a, autoPadValues.contains(s) else {
        return "auto_pad \(describe(a)) is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID"
      }
      if s != "NOTSET" && node.attribute("pads") != nil { return "auto_pad \(s) and explicit pads are both set" }
    }
    return nil
  }

  private static func describe(_ a: AttributeValue) -> String {
    switch a {
    case .int(let v): "\(v)"
    case .ints(let v): "\(v)"
    case .float(let v): "\(v)"
    case .floats(let v): "\(v)"
    case .string(let v): "'\(v)'"
    case .other: "(not an INT/INTS/STRING)"
    }
  }
}
