import ONNX
import TensorAlgebra

/// A site as the planner sees it: the site, and where its kernel is read from.
///
/// The kernel is decoded each time a step needs it (the error curve, the fit) and dropped after,
/// so planning holds as many kernels as there are workers, not one per site. Decoding is a copy
/// of the stored bytes, cheap next to any decomposition.
struct PlannedSite {
  let site: ConvSite
  private let source: Source

  private enum Source {
    case graph(SharedGraph)
    case tensor(Tensor)
  }

  /// A site whose kernel is read from `graph` when needed; the graph must not change meanwhile.
  init(_ site: ConvSite, in graph: SharedGraph) {
    self.site = site
    source = .graph(graph)
  }

  /// A site with its kernel already in memory (tests).
  init(_ site: ConvSite, kernel: Tensor) {
    self.site = site
    source = .tensor(kernel)
  }

  /// The kernel in factor orientation, shaped `site.weightShape`.
  /// - Throws: `ONNXError` when the stored data is malformed.
  func kernel() throws -> Tensor {
    switch source {
    case .graph(let g): try site.kernel(in: g.graph)
    case .tensor(let t): t
    }
  }
}

/// One graph that every site planned from it reads its kernel from. A `Graph` value is a few
/// hundred bytes of table references: stored in each site, 8,000 sites held megabytes of copies.
final class SharedGraph {
  let graph: Graph
  init(_ graph: Graph) { self.graph = graph }
}
