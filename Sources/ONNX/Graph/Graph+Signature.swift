extension Graph {
  /// The graph inputs as declared (initializers listed as inputs included, IR < 4).
  public var inputs: [ValueInfo] { header.input.map(ValueInfo.init) }

  /// The graph outputs as declared.
  public var outputs: [ValueInfo] { header.output.map(ValueInfo.init) }

  /// The `value_info` entries (declared types of intermediate values).
  public var valueInfo: [ValueInfo] { header.valueInfo.map(ValueInfo.init) }

  /// Names of the initializers, in file order.
  public var initializerNames: [String] { initializerSlots.compactMap { $0?.name } }

  /// Number of initializers.
  public var initializerCount: Int { index.initializers.count }

  /// Declares a graph input.
  /// - Precondition: nothing else defines `info.name`.
  public mutating func addInput(_ info: ValueInfo) {
    precondition(!isDefined(info.name), "graph input '\(info.name)' would define a value twice")
    header.input.append(info.proto)
    index.graphInputs.insert(info.name)
    index.reserve(info.name)
    checkInvariantsIfEnabled("add input '\(info.name)'")
  }

  /// Declares a graph output (the value may be defined later).
  public mutating func addOutput(_ info: ValueInfo) {
    header.output.append(info.proto)
    index.graphOutputs.insert(info.name)
    index.reserve(info.name)
    checkInvariantsIfEnabled("add output '\(info.name)'")
  }

  /// Declares the type of an intermediate value.
  public mutating func addValueInfo(_ info: ValueInfo) {
    header.valueInfo.append(info.proto)
    index.reserve(info.name)
  }
}
