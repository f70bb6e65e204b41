import ONNX

/// A Conv's attributes checked against its constant weight before any arithmetic uses them.
///
/// `Graph.validateStructure()` has already checked the attributes' kinds, minimums, mutual
/// lengths and auto_pad (OpRules), and the weight when an initializer or graph input states it.
/// What is left here needs the weight as a constant of any source (Constant nodes included) or
/// keeps costs from overflowing: positive dims, a group dividing the output channels,
/// kernel_shape equal to the kernel's dims, one value per kernel axis, and upper bounds on
/// strides, dilations and pads. `check` returns why the node is malformed, nil when it is not.
enum ConvAttributes {
  static func check(_ node: Node, weightShape shape: [Int]) -> String? {
    let spatial = shape.count - 2
    if let bad = shape.first(where: { $0 <= 0 }) { return "weight dims \(shape) include \(bad); every dim must be positive" }
    let group = node.int("group", default: 1)
    guard shape[0] % group == 0 else { return "group \(group) does not divide the \(shape[0]) output channels" }
    if let ks = node.ints("kernel_shape"), ks != Array(shape.dropFirst(2)) {
      return "kernel_shape \(ks) disagrees with the weight's spatial dims \(Array(shape.dropFirst(2)))"
    }
    // Bounds keep every cost product (strides enter the multiply-add counts) far from overflow.
    for (name, count, range) in [("strides", spatial, 1...1024), ("dilations", spatial, 1...1024), ("pads", 2 * spatial, 0...(1 << 20))] {
      guard let v = node.ints(name) else { continue }
      guard v.count == count else { return "\(name) \(v) must list \(count) integers for a \(spatial)-D kernel" }
      if let bad = v.first(where: { !range.contains($0) }) { return "\(name) holds \(bad); each must be in \(range.lowerBound)...\(range.upperBound)" }
    }
    return nil
  }
}
