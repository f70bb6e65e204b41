import ONNX

/// Builds the nodes and initializers that replace one site.
///
/// Every new name derives from the site's name (`<site>/<suffix>`) through the graph's one name
/// generator; weights are stored in the site's element type, or as `storage` rebuilt by Cast
/// (→ Mul) nodes (Storage/); factors of a weight shared by several sites are stored once
/// (`shared` maps a factor's key to its initializer or rebuilt value).
struct ChainEmitter {
  var graph: Graph
  let site: ConvSite
  /// Key of the factorization (weight name, format, ranks, shuffle) for sharing initializers.
  let factorKey: String
  var shared: [String: String]
  /// How weights are stored (`.fp32`: in the site's element type, as before).
  let storage: WeightStorage
  /// Per weight suffix, the floats the graph holds or rebuilds (only when `storage` is not fp32),
  /// from which the format measures the stored kernel's error.
  private(set) var stored: [String: [Float]] = [:]
  /// Per weight, how it is stored ("svd_right int8 axis 0"), in emission order.
  private(set) var storageNotes: [String] = []
  private(set) var nodes: [Node] = []
  /// Why the chain cannot be written as built (a factor the weight's type cannot hold); the
  /// rewriter then rolls back and keeps the site.
  private(set) var problem: String?
  /// Initializers and shared keys this emitter added, for `rollBack()`.
  private var added: [String] = []
  private var addedKeys: [String] = []

  init(graph: Graph, site: ConvSite, factorKey: String, shared: [String: String], storage: WeightStorage = .fp32) {
    self.graph = graph
    self.site = site
    self.factorKey = factorKey
    self.shared = shared
    self.storage = storage
  }

  /// A weight holding `values`: a new floating-point initializer, or under fp16/int8 storage the
  /// output of the nodes rebuilding it; the one already made for this factor when shared.
  /// Biases go through `bias(_:_:shape:)`, which never re-stores.
  mutating func initializer(_ suffix: String, _ values: [Float], shape: [Int]) -> String {
    if let name = storedWeight(suffix, values, shape: shape) { return name }
    return floatInitializer(suffix, values, shape: shape)
  }

  /// A new bias initializer in the site's element type, whatever `--weights` says: biases are
  /// few values and feed the output directly, so they stay float.
  mutating func bias(_ suffix: String, _ values: [Float], shape: [Int]) -> String {
    floatInitializer(suffix, values, shape: shape)
  }

  /// A new initializer in the site's element type, or the one already made for this factor.
  private mutating func floatInitializer(_ suffix: String, _ values: [Float], shape: [Int]) -> String {
    let type = site.elementType
    if type == .float16, problem == nil, let big = values.first(where: { !HalfPrecision.fitsFloat16($0) }) {
      problem = "factor '\(suffix)' holds \(big), beyond FLOAT16's ±\(HalfPrecision.largestFinite)"
    }
    return sharedInitializer(suffix) { graph, name in
      graph.addInitializer(name: name, values: values, shape: shape, type: type)
    }
  }

  /// Under fp16/int8 storage, the rebuilt weight (shared like an initializer); nil under fp32, or
  /// when a value does not fit FLOAT16 (that weight then stays float32 and the note says why).
  private mutating func storedWeight(_ suffix: String, _ values: [Float], shape: [Int]) -> String? {
    let quantized: QuantizedWeight?
    switch storage {
    case .fp32: return nil
    case .fp16: quantized = QuantizedWeight.float16(values)
    case .int8: quantized = QuantizedWeight.int8(values, shape: shape)
    }
    guard let q = quantized else {
      stored[suffix] = values
      let peak = values.map(abs).max() ?? 0
      storageNotes.append("\(suffix) fp32 (|w| up to \(peak) exceeds FLOAT16's \(HalfPrecision.largestFinite))")
      return nil
    }
    stored[suffix] = q.dequantized
    storageNotes.append(q.note(suffix))
    let key = sharingKey(suffix)
    if let name = shared[key] { return name }
    let name = rebuild(suffix, q, shape: shape)
    shared[key] = name
    addedKeys.append(key)
    return name
  }

  /// A new INT64 initializer (indices, shapes, repeats). Small ones (shapes, scalars) are one
  /// initializer per value for all sites, named after the first site that reads it: a
  /// reconstructed chain reads ~14, mostly the same few numbers at every site of one shape
  /// (~80,000 initializers fewer at 8,000 sites).
  mutating func int64s(_ suffix: String, _ values: [Int], shape: [Int]) -> String {
    let add = { (graph: inout Graph, name: String) in graph.addInitializer(name: name, int64s: values.map { Int64($0) }, shape: shape) }
    guard values.count <= Self.sharedByValueLimit else { return sharedInitializer(suffix, add: add) }
    return sharedInitializer(key: "int64|\(shape)|\(values)", stem: "\(site.name)/\(suffix)", add: add)
  }

  /// INT64 initializers of at most this many values are shared by value across sites.
  static let sharedByValueLimit = 16

  /// The initializer made for this factor under `suffix`, or a new one named from the site and
  /// added by `add`.
  private mutating func sharedInitializer(_ suffix: String, add: (inout Graph, String) -> Void) -> String {
    sharedInitializer(key: sharingKey(suffix), stem: "\(site.name)/\(suffix)", add: add)
  }

  /// The initializer stored under `key`, or a new one named from `stem` and added by `add`.
  private mutating func sharedInitializer(key: String, stem: String, add: (inout Graph, String) -> Void) -> String {
    if let name = shared[key] { return name }
    let name = graph.makeName(stem)
    add(&graph, name)
    shared[key] = name
    added.append(name)
    addedKeys.append(key)
    return name
  }

  /// The stored tensor of `q` and the Cast (→ Mul) nodes rebuilding the float weight; returns
  /// the rebuilt value.
  private mutating func rebuild(_ suffix: String, _ q: QuantizedWeight, shape: [Int]) -> String {
    let r = graph.addStoredWeight(q, shape: shape, stem: "\(site.name)/\(suffix)")
    added += r.initializers
    nodes += r.nodes
    return r.output
  }

  /// The key under which a factor's value is shared: the op kind is part of it, since Gemm and
  /// MatMul store the same factors in different layouts.
  private func sharingKey(_ suffix: String) -> String { "\(factorKey)|\(site.kind.rawValue)|\(suffix)" }

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

  /// A conv along one axis of a 2-D kernel (`k1×1` for axis 0, `1×k2` for axis 1) with the
  /// original's stride, dilation and padding on that axis; `auto_pad` SAME is per axis, so it is
  /// kept. `group` nil leaves the attribute out.
  func separableAttributes(axis: Int, group: Int?) -> [Attribute] {
    let node = site.node
    let k = site.kernelSize, s = node.ints("strides") ?? [1, 1], d = node.ints("dilations") ?? [1, 1]
    let p = node.ints("pads") ?? [0, 0, 0, 0]
    func along(_ v: [Int]) -> [Int] { axis == 0 ? [v[0], 1] : [1, v[1]] }
    var a = [Attribute("kernel_shape", .ints(along(k))), Attribute("strides", .ints(along(s))), Attribute("dilations", .ints(along(d)))]
    if let group { a.append(Attribute("group", .int(group))) }
    if let autoPad = node.string("auto_pad"), autoPad != "NOTSET" {
      a.append(Attribute("auto_pad", .string(autoPad)))
    } else {
      a.append(Attribute("pads", .ints(axis == 0 ? [p[0], 0, p[2], 0] : [0, p[1], 0, p[3]])))
    }
    return a
  }

  /// A 1×…×1 conv with unit strides and no padding.
  func pointwiseAttributes(group: Int) -> [Attribute] {
    var a = [Attribute("kernel_shape", .ints(site.kernelSize.map { _ in 1 }))]
    if group != 1 { a.append(Attribute("group", .int(group))) }
    return a
  }
}
