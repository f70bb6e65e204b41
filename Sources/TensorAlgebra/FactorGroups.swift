/// `body` applied to each group of a grouped conv kernel, in parallel, results in group order.
///
/// A grouped conv weight `[M, C/g, k…]` has g groups; group j owns output channels
/// `j·M/g ..< (j+1)·M/g`, i.e. the rows `[M/g, C/g, k…]` passed to `body`. Results do not
/// depend on the thread count (see `parallelMap(_:_:)`).
///
/// - Parameters:
///   - kernel: `[M, C/g, k…]`, order ≥ 2.
///   - groups: g, dividing M.
///   - body: The per-group factorisation, safe to call concurrently.
/// - Returns: g results, group 0 first.
/// - Throws: `DecompositionError.groupsDoNotDivide`, or the first (lowest group) error of `body`.
/// - Complexity: Σ cost(body) / cores, plus O(count) for the slices.
public func factorGroups<F>(_ kernel: Tensor, groups: Int, _ body: (Tensor) throws -> F) throws -> [F] {
  try validateOrder(kernel, minimum: 2)
  let m = kernel.shape[0]
  if groups < 1 || m % groups != 0 {
    throw DecompositionError.groupsDoNotDivide(groups: groups, outputChannels: m)
  }
  let rows = m / groups
  let size = kernel.count / groups
  var shape = kernel.shape
  shape[0] = rows
  let slices = (0..<groups).map { j in
    Tensor(shape: shape, scalars: Array(kernel.scalars[(j * size)..<((j + 1) * size)]))
  }
  return try parallelMap(slices, body)
}

/// The groups' factors laid end to end, as the grouped chain stores them (the inverse of
/// `factorGroups`' split). One group hands back its own array, so the emitted initializer shares
/// the factor's storage instead of holding a second copy of it.
public func stackedScalars(_ groups: [Tensor]) -> [Float] {
  groups.count == 1 ? groups[0].scalars : groups.flatMap(\.scalars)
}
