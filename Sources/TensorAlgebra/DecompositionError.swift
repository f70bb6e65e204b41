/// Why a decomposition could not run. Each message is one sentence naming both numbers.
public enum DecompositionError: Error, Equatable, CustomStringConvertible {
  /// The tensor has fewer axes than the decomposition needs.
  case orderTooLow(order: Int, minimum: Int)
  /// A rank is below 1.
  case rankBelowOne(name: String, rank: Int)
  /// A rank exceeds its maximum; `bound` names the maximum, e.g. `"min(M, C·k1·k2)"`.
  case rankTooLarge(name: String, rank: Int, bound: String, maximum: Int)
  /// A channel split does not multiply out to the channel count.
  case splitMismatch(name: String, first: Int, second: Int, channels: Int)
  /// A channel permutation is not a permutation of `0..<count`.
  case invalidPermutation(name: String, count: Int)
  /// The group count does not divide the output channels (or is below 1).
  case groupsDoNotDivide(groups: Int, outputChannels: Int)
  /// The tensor holds NaN or infinite entries.
  case nonFiniteEntries(count: Int, total: Int)
  /// A list of ranks has the wrong length.
  case rankCountMismatch(expected: Int, actual: Int)
  /// A LAPACK routine reported failure through its `info` result.
  case lapackFailure(routine: String, info: Int)

  /// One sentence naming the quantity and both numbers, e.g.
  /// "output rank 9 exceeds min(M, C·k1·k2) = 8."
  public var description: String {
    switch self {
    case let .orderTooLow(order, minimum):
      return "the tensor has order \(order); this decomposition needs order at least \(minimum)."
    case let .rankBelowOne(name, rank):
      return "\(name) \(rank) is below the minimum 1."
    case let .rankTooLarge(name, rank, bound, maximum):
      return "\(name) \(rank) exceeds \(bound) = \(maximum)."
    case let .splitMismatch(name, first, second, channels):
      return "\(name) \(first)·\(second) = \(first * second) does not match the \(channels) channels."
    case let .invalidPermutation(name, count):
      return "\(name) is not a permutation of 0..<\(count)."
    case let .groupsDoNotDivide(groups, outputChannels):
      return "\(groups) groups do not divide the \(outputChannels) output channels."
    case let .nonFiniteEntries(count, total):
      return "\(count) of the tensor's \(total) entries are NaN or infinite."
    case let .rankCountMismatch(expected, actual):
      return "\(actual) ranks were given where \(expected) are needed."
    case let .lapackFailure(routine, info):
      return "LAPACK \(routine) failed with info \(info)."
    }
  }
}

/// Throws `rankBelowOne` / `rankTooLarge` unless `1 ≤ rank ≤ maximum`.
func validateRank(_ rank: Int, name: String = "rank", maximum: Int, bound: String) throws {
  if rank < 1 { throw DecompositionError.rankBelowOne(name: name, rank: rank) }
  if rank > maximum {
    throw DecompositionError.rankTooLarge(name: name, rank: rank, bound: bound, maximum: maximum)
  }
}

/// Throws `nonFiniteEntries` if any entry is NaN or infinite.
func validateFinite(_ tensor: Tensor) throws {
  let bad = tensor.scalars.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
  if bad > 0 { throw DecompositionError.nonFiniteEntries(count: bad, total: tensor.count) }
}

/// Throws `orderTooLow` when the tensor has fewer than `minimum` axes.
func validateOrder(_ tensor: Tensor, minimum: Int) throws {
  if tensor.shape.count < minimum {
    throw DecompositionError.orderTooLow(order: tensor.shape.count, minimum: minimum)
  }
}
