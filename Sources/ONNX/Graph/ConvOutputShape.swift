/// The output dims ONNX shape inference gives a Conv, ConvInteger or ConvTranspose node, from the
/// dims its input declares, its weight's and its attributes: what a declared output shape must
/// agree with. Every dim comes from the file, so the arithmetic is checked; a dim that overflows,
/// or a kernel wider than the padded input, makes the node invalid (onnx or onnxruntime refuses
/// it the same way).
enum ConvOutputShape {
  /// Why a node's output has no size.
  struct Invalid: Error { let why: String }

  /// The output dims (nil where unknown).
  /// - Throws: `Invalid` when a dim overflows `Int` or would be negative.
  /// - Parameters:
  ///   - input: the input's dims, one per axis of the data (nil where not a fixed number).
  ///   - weight: the weight's dims when known.
  /// - Precondition: `OpRules.violation(node)` is nil (attribute kinds and minimums hold).
  static func dims(_ node: Node, input: [Int?], weight: [Int]?) throws(Invalid) -> [Int?] {
    let axes = input.count - 2
    guard axes >= 0 else { return input }
    var channels: Int? = weight?.first
    if node.opType == "ConvTranspose" {
      channels = nil
      if let w = weight, w.count > 1 {
        let (m, overflow) = w[1].multipliedReportingOverflow(by: node.int("group", default: 1))
        if overflow { throw Invalid(why: "its output channels overflow") }
        channels = m
      }
    }
    var out: [Int?] = [input[0], channels]
    for axis in 0..<axes {
      guard let x = input[axis + 2] else { out.append(nil); continue }
      let kernel = node.ints("kernel_shape").flatMap { $0.count == axes ? $0[axis] : nil }
        ?? weight.flatMap { $0.count == axes + 2 ? $0[axis + 2] : nil }
      guard let k = kernel else { out.append(nil); continue }
      out.append(try outputDim(node, axis: axis, axes: axes, input: x, kernel: k))
    }
    return out
  }

  /// One spatial output dim; nil for a zero-sized kernel (left to the runtime).
  private static func outputDim(_ node: Node, axis: Int, axes: Int, input x: Int, kernel k: Int) throws(Invalid) -> Int? {
    let overflow = Invalid(why: "its output dim on spatial axis \(axis) overflows")
    func value(_ name: String, _ index: Int, _ count: Int, _ fallback: Int) -> Int {
      node.ints(name).flatMap { $0.count == count ? $0[index] : nil } ?? fallback
    }
    let stride = value("strides", axis, axes, 1), dilation = value("dilations", axis, axes, 1)
    let autoPad = node.string("auto_pad") ?? "NOTSET"
    let same = autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER"
    let explicitPads = autoPad == "NOTSET" || autoPad.isEmpty
    let padding = explicitPads ? [value("pads", axis, 2 * axes, 0), value("pads", axis + axes, 2 * axes, 0)] : [0, 0]
    guard k >= 1 else { return nil }
    let (span, o1) = (k - 1).multipliedReportingOverflow(by: dilation)  // effective kernel − 1
    if o1 { throw overflow }
    if node.opType == "ConvTranspose" {
      // stride·(x − 1) + output_padding + span + 1, less the pads. onnxruntime derives the pads
      // from this size even when output_shape is given, so its overflow is refused either way.
      let (a, o2) = stride.multipliedReportingOverflow(by: x - 1)
      guard !o2, let natural = sum([a, value("output_padding", axis, axes, 0), span, 1]) else { throw overflow }
      if let shape = node.ints("output_shape"), shape.count >= axes { return shape[shape.count - axes + axis] }
      if same {
        let (d, o) = x.multipliedReportingOverflow(by: stride)
        if o { throw overflow }
        return d
      }
      guard let d = sum([natural, -padding[0], -padding[1]]) else { throw overflow }
      if d < 0 { throw Invalid(why: "its output dim on spatial axis \(axis) would be \(d): the pads exceed the output") }
      return d
    }
    if same { return x / stride + (x % stride == 0 ? 0 : 1) }
    // ⌊(x + pads − span − 1) / stride⌋ + 1; pads and span are ≥ 0, so only the sum can overflow
    guard let padded = sum([x, padding[0], padding[1]]) else { throw overflow }
    let reach = padded - span - 1
    if reach < 0 { throw Invalid(why: "on spatial axis \(axis) its kernel spans \(span + 1), more than the padded input's \(padded)") }
    return reach / stride + 1
  }

  /// The sum of `terms`, nil when it overflows.
  private static func sum(_ terms: [Int]) -> Int? {
    var total = 0
    for t in terms {
      let (r, overflow) = total.addingReportingOverflow(t)
      if overflow { return nil }
      total = r
    }
    return total
  }
}
