/// Names by number. Every name the graph uses or has reserved is numbered once for the life of
/// the graph (edits add numbers; none changes or is reused), so a pass over a large graph's
/// wiring (an executor's plan) can index arrays by number instead of hashing every name it reads.
extension Graph {
  /// How many names are numbered: numbers run from 0 to `nameCount - 1`.
  public var nameCount: Int { index.nameCount }

  /// The number of `name`; nil for "" and for a name the graph never used or reserved.
  public func number(of name: String) -> Int? { index.id(of: name).map(Int.init) }

  /// The name numbered `number`.
  /// - Precondition: `0 <= number < nameCount`.
  public func name(numbered number: Int) -> String { index.string(NameID(number)) }

  /// The numbers of the values the node `id` reads and writes (-1 for an omitted one): its
  /// wiring without a string built.
  /// - Precondition: `contains(id)`.
  public func numberedWiring(_ id: NodeID) -> (inputs: ArraySlice<Int32>, outputs: ArraySlice<Int32>) {
    precondition(contains(id), "node \(id) is not in the graph")
    let r = record(id.raw)
    return (inputIDs(r), outputIDs(r))
  }
}
