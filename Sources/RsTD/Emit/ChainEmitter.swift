import ONNX

/// Builds the nodes and initializers that replace one site.
///
/// Every new name derives from the site's name (`<site>/<suffix>`) through the graph's one name
/// generator; weights are stored in the site's element type; factors of a weight shared by
/// several sites are stored once (`shared` maps a factor's key to its initializer).
struct ChainEmitter {
  var graph: Graph
  let site: ConvSite
  /// Key of the factorization (weight name, format, ranks, shuffle) for sharing initializers.
  let factorKey: String
  var shared: [String: String]
  private(set) var nodes: [Node] = []
  /// Why the chain cannot be written as built (a factor the weight's type cannot hold); the
  /// rewriter then rolls back and keeps the site.
  private(set) var problem: String?
  /// Initializers and shared keys this emitter added, for `rollBack()`.
  private var added: [String] = []
  private var addedKeys: [String] = []

  init(graph: Graph, site: ConvSite, factorKey: String, shared: [String: String]) {
    self.graph = graph
    self.site = site
    self.factorKey = factorKey
    self.shared = shared
  }

  /// A new floating-point initializer holding `values`, or the one already made for this factor.
  mutating func initializer(_ suffix: String, _ values: [Float], shape: [Int]) -> String {
    let type = site.elementType
    if type == .float16, problem == nil, let big = values.first(where: { !HalfPrecision.fitsFloat16($0) }) {
      problem = "factor '\(suffix)' holds \(big), beyond FLOAT16's ±\(HalfPrecision.largestFinite)"
    }
    return sharedInitializer(suffix) { graph, name in
      graph.addInitializer(name: name, values: values, shape: shape, type: type)
    }
  }

  /// A new INT64 initializer (indices, shapes, repeats).
  mutating func int64s(_ suffix: String, _ values: [Int], shape: [Int]) -> String {
    sharedInitializer(suffix) { graph, name in
      graph.addInitializer(name: name, int64s: values.map { Int64($0) }, shape: shape)
    }
  }

  /// The initializer made for this factor under `suffix`, or a new one named from the site and
  /// added by `add`.
  private mutating func sharedInitializer(_ suffix: String, add: (inout Graph, String) -> Void) -> String {
    // The op kind is part of the key: Gemm and MatMul store the same factors in different layouts.
    let key = "\(factorKey)|\(site.kind.rawValue)|\(suffix)"
    if let name = shared[key] { return name }
    let name = graph.makeName("\(site.name)/\(suffix)")
    add(&graph, name)
    shared[key] = name
    added.append(name)
    addedKeys.append(key)
    return name
  }

  /// Removes what this emitter added to the graph (no node reads it yet) and to `shared`.
  mutating func rollBack() {
    for k in addedKeys { shared[k] = nil }
    graph.removeUnused(Set(added))
    nodes = []
  }

  /// Appends a node; returns its (single) output, `output` if given, else a fresh name.
  @discardableResult
  mutating func node(
    _ op: String, inputs: [String], attributes: [Attribute] = [], suffix: String, output: String? = nil
  ) -> String {
    let out = output ?? graph.makeName("\(site.name)/\(suffix)_out")
    let name = graph.makeName("\(site.name)/\(suffix)")
    nodes.append(Node(name: name, opType: op, inputs: inputs, outputs: [out], attributes: attributes))
    return out
  }

  /// Appends a Conv.
  @discardableResult
  mutating func conv(
    _ input: String, weight: String, bias: String?, attributes: [Attribute], suffix: String,
    output: String? = nil
  ) -> String {
    node("Conv", inputs: [input, weight] + (bias.map { [$0] } ?? []), attributes: attributes, suffix: suffix, output: output)
  }

  /// Appends a Gather along `axis` with constant indices.
  @discardableResult
  mutating func gather(_ input: String, indices: [Int], axis: Int, suffix: String, output: String? = nil) -> String {
    let idx = int64s("\(suffix)_indices", indices, shape: [indices.count])
    return node("Gather", inputs: [input, idx], attributes: [Attribute("axis", .int(axis))], suffix: suffix, output: output)
  }

  /// The original conv's spatial attributes (strides, pads, dilations, auto_pad, kernel_shape),
  /// with `group` set.
  func spatialAttributes(group: Int) -> [Attribute] {
    var a = site.node.attributes.filter { ["strides", "pads", "dilations", "auto_pad", "kernel_shape"].contains($0.name) }
    if group != 1 { a.append(Attribute("group", .int(group))) }
    return a
  }

  /// A 1×…×1 conv with unit strides and no padding.
  func pointwiseAttributes(group: Int) -> [Attribute] {
    var a = [Attribute("kernel_shape", .ints(site.kernelSize.map { _ in 1 }))]
    if group != 1 { a.append(Attribute("group", .int(group))) }
    return a
  }
}
