/// A stable handle on a node of a `Graph`.
///
/// Handles are never reused: editing other nodes leaves a handle valid, and a handle of a removed
/// or replaced node stays invalid forever (`Graph.contains(_:)` is false). Handles order by
/// creation, not by position in the graph.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
  let raw: Int

  public static func < (a: NodeID, b: NodeID) -> Bool { a.raw < b.raw }

  public var description: String { "#\(raw)" }
}
