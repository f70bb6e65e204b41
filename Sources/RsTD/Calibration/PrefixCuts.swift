import Executor
import ONNX

/// Points in the original graph (before each watched site's node) where a candidate that only
/// changes sites at or after the point can start from the original's intermediate values: the
/// nodes before it compute the same bits in both models, so their results, held from the
/// original's run, stand in for them (a probe changes one site: PP-OCR det's 25 probed sites lie
/// 42–77% into its compute). The values crossing a cut are few (the live set: 5–25 MB per
/// 736-px det input).
struct PrefixCuts {
  /// A cut before the node at `position` (graph order) and the values computed before it that
  /// later nodes or the outputs read (graph inputs and constant-only values excluded).
  struct Cut {
    let position: Int
    let frontier: [String]
  }

  let cuts: [Cut]
  private let original: Graph
  private let nodes: [Node]
  /// The original's handles, in graph order.
  private let ids: [NodeID]
  /// Position (graph order) of each value's producer.
  private let producedAt: [String: Int]
  /// Per node: whether its outputs follow from constants alone (kept in a truncated model, where
  /// they fold at compile time).
  private let constantOnly: [Bool]
  /// Values that follow from constants alone (initializers included).
  private let constants: Set<String>

  /// Every value any cut's frontier holds.
  var frontierUnion: Set<String> { Set(cuts.flatMap(\.frontier)) }

  /// Cuts before the producers of `sites` (values); nil when there are none or the graph is not
  /// in topological order or has subgraphs.
  init?(original: Graph, sites: Set<String>) {
    self.init(original: original, groups: sites.sorted().map { [$0] })
  }

  /// A cut before the earliest producer of each group of values (the back-off probes a group of
  /// sites at once); nil as for `init(original:sites:)`.
  init?(original: Graph, groups: [Set<String>]) {
    let nodes = original.nodes
    guard !groups.isEmpty, !nodes.contains(where: { ["If", "Loop", "Scan"].contains($0.opType) }) else { return nil }
    var producedAt: [String: Int] = [:]
    var lastRead: [String: Int] = [:]
    var constant = Set(original.initializerNames)
    var constantOnly: [Bool] = []
    let inputs = Set(original.inputNames)
    for (i, n) in nodes.enumerated() {
      for x in n.inputs where !x.isEmpty {
        // Read before it is produced: not topologically ordered.
        guard producedAt[x] != nil || inputs.contains(x) || original.isInitializer(x) else { return nil }
        lastRead[x] = i
      }
      let derived = n.inputs.allSatisfy { $0.isEmpty || constant.contains($0) }
      constantOnly.append(derived)
      for o in n.outputs where !o.isEmpty {
        producedAt[o] = i
        if derived { constant.insert(o) }
      }
    }
    let outputs = Set(original.outputNames)
    let positions = Set(groups.compactMap { $0.compactMap { producedAt[$0] }.min() }).filter { $0 > 0 }.sorted()
    guard !positions.isEmpty else { return nil }
    // A value crosses the cuts after its producer up to its last reader (every later one, for a
    // graph output): one pass over the values, not one per cut.
    var frontiers = [[String]](repeating: [], count: positions.count)
    for (v, i) in producedAt where !constant.contains(v) {
      let last = outputs.contains(v) ? Int.max : lastRead[v] ?? -1
      var k = PrefixCuts.firstIndex(in: positions, above: i)
      while k < positions.count && positions[k] <= last {
        frontiers[k].append(v)
        k += 1
      }
    }
    self.cuts = zip(positions, frontiers).map { Cut(position: $0, frontier: $1.sorted()) }
    self.original = original
    self.nodes = nodes
    self.ids = original.nodeIDs
    self.producedAt = producedAt
    self.constantOnly = constantOnly
    self.constants = constant
  }

  /// The stretch of the original from cut `k` up to the next cut (or the end): a probe that
  /// changes nodes only there runs the stretch alone from the values held at cut `k`, then the
  /// original's plan from the next cut on (`Executor.resume`), without building or compiling the
  /// rest of the model.
  struct Stretch {
    /// The stretch as a graph of its own (`Graph.segment`: the original's handles), with the
    /// constant-only nodes before it that it reads.
    let graph: Graph
    /// Where the stretch starts and ends (positions in the original's order).
    let start: Int
    let end: Int
    /// The values the stretch reads from before it (cut `k`'s frontier, graph inputs).
    let inputs: [String]
    /// The values after the stretch reads from it or before it (the next cut's frontier; at the
    /// end, the graph outputs), and which of them the stretch makes.
    let after: [String]
    let made: Set<String>
  }

  /// The stretch from cut `k` (`Stretch`), nil when it reads a value the cut does not provide.
  func stretch(from k: Int) -> Stretch? {
    let start = cuts[k].position
    let end = k + 1 < cuts.count ? cuts[k + 1].position : nodes.count
    var kept = Set(start..<end)
    // Constant-only nodes before the stretch that it reads (transitively) fold in it, as the
    // truncated model keeps them.
    var pending = Array(start..<end)
    while let i = pending.popLast() {
      for x in nodes[i].inputs where !x.isEmpty {
        guard let p = producedAt[x], p < start, constantOnly[p], kept.insert(p).inserted else { continue }
        pending.append(p)
      }
    }
    let positions = kept.sorted()
    let frontier = Set(cuts[k].frontier)
    let inputNames = Set(original.inputNames)
    var inputs: [String] = []
    var seen = Set<String>()
    for i in positions {
      for x in nodes[i].inputs where !x.isEmpty && seen.insert(x).inserted {
        if let p = producedAt[x], kept.contains(p) { continue }
        if original.isInitializer(x) { continue }
        guard frontier.contains(x) || inputNames.contains(x) else { return nil }
        inputs.append(x)
      }
    }
    let after = k + 1 < cuts.count ? cuts[k + 1].frontier : original.outputNames.filter { !constants.contains($0) }
    let made = Set(after.filter { producedAt[$0].map { $0 >= start && $0 < end } ?? false })
    let outputs = after.filter(made.contains)
    let graph = original.segment(positions.map { ids[$0] }, inputs: inputs, outputs: outputs)
    return Stretch(graph: graph, start: start, end: end, inputs: inputs, after: after, made: made)
  }

  /// The position (graph order) of the node defining `value`.
  func position(of value: String) -> Int? { producedAt[value] }

  /// The first index of ascending `sorted` whose element exceeds `value` (`sorted.count` if none).
  static func firstIndex(in sorted: [Int], above value: Int) -> Int {
    var (lo, hi) = (0, sorted.count)
    while lo < hi {
      let mid = (lo + hi) / 2
      if sorted[mid] > value { hi = mid } else { lo = mid + 1 }
    }
    return lo
  }

  /// The latest cut before which `candidate` has every node of the original unchanged (the same
  /// node, reading the same constants), or nil. Constant-only nodes are compared where read, not
  /// in order: a rewrite drops the weights of the sites it replaces wherever they stand.
  func latestCut(for candidate: Graph) -> Cut? {
    guard candidate.inputNames == original.inputNames, candidate.outputNames == original.outputNames else { return nil }
    // The candidate's node defining `o`, from its own index: O(the prefix compared), where a
    // map of every node's outputs was O(graph) per probe.
    func byOutput(_ o: String) -> Node? { candidate.producer(of: o).map(candidate.node) }
    var same: [String: Bool] = [:]
    // Whether constant value `x` is defined alike in both graphs (initializer data, or the same
    // node reading the same constants).
    func sameConstant(_ x: String) -> Bool {
      if let known = same[x] { return known }
      var result = false
      if original.isInitializer(x) {
        result = candidate.isInitializer(x) && (try? original.constant(x)?.data()) == (try? candidate.constant(x)?.data())
      } else if let p = original.producer(of: x) {
        let n = original.node(p)
        result = byOutput(x) == n && n.inputs.allSatisfy { $0.isEmpty || sameConstant($0) }
      }
      same[x] = result
      return result
    }
    var matched = 0
    let limit = cuts.last!.position
    while matched < limit {
      let n = nodes[matched]
      if !constantOnly[matched] {
        guard let o = n.outputs.first(where: { !$0.isEmpty }), byOutput(o) == n,
          n.inputs.allSatisfy({ $0.isEmpty || !constants.contains($0) || sameConstant($0) })
        else { break }
      }
      matched += 1
    }
    return cuts.last { $0.position <= matched }
  }

  /// `candidate` without the original's nodes before `cut` (those computing from constants alone
  /// stay), the cut's frontier declared as graph inputs; nil when a remaining node reads a value
  /// the cut does not provide. Run it with the frontier's values and the original inputs.
  func truncated(_ candidate: Model, at cut: Cut) -> Model? {
    var graph = candidate.graph
    var read = Set<String>()
    // The candidate's nodes defining what the original's prefix does, found by its index:
    // O(prefix), not a pass over every node of the candidate.
    for (i, n) in nodes.prefix(cut.position).enumerated() where !constantOnly[i] {
      for o in n.outputs where !o.isEmpty {
        guard let id = graph.producer(of: o) else { continue }
        read.formUnion(graph.node(id).inputs)
        graph.remove(id)
      }
    }
    // The weights only those nodes read would be decoded for nothing.
    graph.removeUnused(read)
    let frontier = Set(cut.frontier)
    for n in graph.nodes {
      for x in n.inputs where !x.isEmpty && !graph.isDefined(x) && !frontier.contains(x) { return nil }
    }
    for v in cut.frontier { graph.addInput(ValueInfo(name: v, dataType: nil, shape: nil)) }
    return Model(graph: graph, opsets: candidate.opsets)
  }
}
