/// What the ONNX spec says about the attributes of the ops the tool reads or rewrites: their
/// names, kinds and ranges, and how the spatial ones agree with each other. A node breaking a
/// rule is refused before any rewrite (`Graph.validateStructure()`), whether or not it becomes a
/// site: the output would carry it unchanged into a runtime that rejects it.
enum OpRules {
  enum Kind { case int, ints, float, string }

  /// Allowed attributes per op (default domain).
  static let attributes: [String: [String: Kind]] = {
    let conv: [String: Kind] = [
      "auto_pad": .string, "dilations": .ints, "group": .int, "kernel_shape": .ints, "pads": .ints, "strides": .ints,
    ]
    var transpose = conv
    transpose["output_padding"] = .ints
    transpose["output_shape"] = .ints
    return [
      "Conv": conv, "ConvTranspose": transpose, "ConvInteger": conv,
      "Gemm": ["alpha": .float, "beta": .float, "transA": .int, "transB": .int],
      "MatMul": [:],
    ]
  }()

  /// Why `node` breaks the rules of its op, nil when it does not (or the op has no rules here).
  /// - Parameters:
  ///   - weightShape: the dims of the node's second input when an initializer holds it.
  ///   - inputChannels: the channel dim of its first input when a graph input declares it.
  ///   - biasShape: the dims of its third input when known.
  ///   - inputTypes: the element type of each input when an initializer or graph input states it.
  static func violation(
    _ node: Node, weightShape: [Int]? = nil, inputChannels: Int? = nil, biasShape: [Int]? = nil,
    inputTypes: [Int32?] = []
  ) -> String? {
    guard node.isDefaultDomain, let allowed = attributes[node.opType] else { return nil }
    for a in node.attributes {
      guard let kind = allowed[a.name] else { return "attribute '\(a.name)' is not an attribute of \(node.opType)" }
      let ok: Bool
      switch (kind, a.value) {
      case (.int, .int), (.ints, .ints), (.float, .float), (.string, .string): ok = true
      default: ok = false
      }
      if !ok { return "attribute '\(a.name)' must be \(kind), not \(describe(a.value))" }
    }
    // One element type T for every input (ConvInteger's inputs may differ by design).
    if node.opType != "ConvInteger" {
      let known = inputTypes.compactMap { $0 }
      if let first = known.first, let other = known.first(where: { $0 != first }) {
        return "its inputs have element types \(first) and \(other); \(node.opType) takes one type"
      }
    }
    if node.opType == "Gemm" {
      // A and B are matrices; C broadcasts to the [M, N] result.
      if let w = weightShape, w.count != 2 { return "its input B has dims \(w); Gemm takes a 2-D B" }
      if let b = biasShape, b.count > 2 { return "its input C has dims \(b); Gemm's C has at most 2" }
    }
    guard allowed["kernel_shape"] != nil else { return nil }
    if let why = convViolation(node) { return why }
    // Every Conv-family op splits its input's channels into `group` parts.
    if let c = inputChannels, case .int(let g)? = node.attribute("group"), c % g != 0 {
      return "group \(g) does not divide its input's \(c) channels"
    }
    guard let w = weightShape else { return nil }
    if let why = weightViolation(node, w, inputChannels) { return why }
    // ConvInteger's third input is a zero point, not a bias.
    if let b = biasShape, w.count >= 3, node.opType != "ConvInteger" {
      var group = 1
      if case .int(let g)? = node.attribute("group") { group = g }
      let (m, overflow) = node.opType == "ConvTranspose" ? w[1].multipliedReportingOverflow(by: group) : (w[0], false)
      if overflow || b != [m] { return "its bias has dims \(b); the weight \(w) gives \(m) output channels" }
    }
    return nil
  }

  /// Rules against a constant weight: `[M, C/g, k…]` (Conv, ConvInteger) or `[C, M/g, k…]`
  /// (ConvTranspose). The spatial attributes have one value per kernel axis, kernel_shape equals
  /// the kernel's dims, group divides the channels the weight's first dim counts, and a declared
  /// input has the channels the weight expects.
  private static func weightViolation(_ node: Node, _ w: [Int], _ inputChannels: Int?) -> String? {
    guard w.count >= 3 else { return "its weight has \(w.count) dims; a convolution weight has at least 3" }
    let axes = w.count - 2
    for (name, factor) in [("kernel_shape", 1), ("strides", 1), ("dilations", 1), ("pads", 2), ("output_padding", 1)] {
      if case .ints(let v)? = node.attribute(name), v.count != factor * axes {
        return "\(name) has \(v.count) values; the \(axes)-D weight \(w) needs \(factor * axes)"
      }
    }
    if case .ints(let k)? = node.attribute("kernel_shape"), k != Array(w.dropFirst(2)) {
      return "kernel_shape \(k) disagrees with the weight's kernel dims \(Array(w.dropFirst(2)))"
    }
    var group = 1
    if case .int(let g)? = node.attribute("group") { group = g }
    guard w[0] % group == 0 else { return "group \(group) does not divide the weight's first dim \(w[0])" }
    if let c = inputChannels {
      let (expected, overflow) = node.opType == "ConvTranspose" ? (w[0], false) : w[1].multipliedReportingOverflow(by: group)
      if overflow || c != expected { return "its input has \(c) channels; the weight \(w) with group \(group) needs \(expected)" }
    }
    return nil
  }

  /// Conv-family rules: group ≥ 1; strides, dilations ≥ 1 and pads ≥ 0, with lengths agreeing
  /// (pads twice the others); a known auto_pad, not combined with explicit pads.
  private static func convViolation(_ node: Node) -> String? {
    if case .int(let g)? = node.attribute("group"), g < 1 { return "group is \(g); it must be at least 1" }
    var spatial: Int? = nil
    for (name, factor, minimum) in [("kernel_shape", 1, 1), ("strides", 1, 1), ("dilations", 1, 1), ("pads", 2, 0), ("output_padding", 1, 0)] {
      guard case .ints(let v)? = node.attribute(name) else { continue }
      if let bad = v.first(where: { $0 < minimum }) { return "\(name) holds \(bad); each must be at least \(minimum)" }
      guard v.count % factor == 0, v.count > 0 else { return "\(name) has \(v.count) values" }
      let n = v.count / factor
      if let s = spatial, s != n { return "\(name) has \(v.count) values; the other spatial attributes give \(s) spatial axes" }
      spatial = n
    }
    if case .string(let p)? = node.attribute("auto_pad") {
      guard ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"].contains(p) else {
        return "auto_pad '\(p)' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID"
      }
      if p != "NOTSET" && node.attribute("pads") != nil { return "auto_pad \(p) and explicit pads are both set" }
    }
    return nil
  }

  static func describe(_ v: AttributeValue) -> String {
    switch v {
    case .int: "int"
    case .ints: "ints"
    case .float: "float"
    case .floats: "floats"
    case .string: "string"
    case .other: "another kind"
    }
  }
}
