import ArgumentParser

/// `--input-shape name=1x3x224x224`: the whole shape of one graph input, for `--random`.
struct InputShape: ExpressibleByArgument, Equatable {
  var name: String
  var dims: [Int]

  init?(argument: String) {
    // The name may itself hold '=', so the shape is what follows the last one.
    guard let eq = argument.lastIndex(of: "="), eq != argument.startIndex else { return nil }
    let dims = argument[argument.index(after: eq)...].split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
    guard !dims.isEmpty, dims.allSatisfy({ ($0 ?? -1) >= 1 && $0! <= 1 << 24 }) else { return nil }
    let shape = dims.map { $0! }
    // A random input is generated in memory: keep it under 2^31 elements.
    guard shape.reduce(1, { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }) <= 1 << 31 else { return nil }
    self.name = String(argument[..<eq])
    self.dims = shape
  }
}
