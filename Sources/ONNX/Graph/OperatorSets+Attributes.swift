/// The attributes an operator version defines, read from the generated `attributeSchemas`.
extension OperatorSets {
  /// An attribute of an operator version: its AttributeProto type number and whether the node
  /// must carry it.
  struct AttributeSpec: Equatable {
    let type: Int
    let required: Bool
  }

  /// The attributes of `op`'s newest version at or below `opset`, by name; nil for an operator
  /// the standard does not define, or one newer than `opset`.
  static func attributes(of op: String, opset: Int) -> [String: AttributeSpec]? {
    guard let versions = attributeSchemas[op] else { return nil }
    var chosen: Substring?
    for version in versions.split(separator: ";") {
      guard let colon = version.firstIndex(of: ":"), let since = Int(version[..<colon]) else { continue }
      if since > opset { break }
      chosen = version[version.index(after: colon)...]
    }
    guard let chosen else { return nil }
    var result: [String: AttributeSpec] = [:]
    for entry in chosen.split(separator: ",") {
      guard let eq = entry.firstIndex(of: "=") else { continue }
      var type = entry[entry.index(after: eq)...]
      let required = type.hasSuffix("!")
      if required { type = type.dropLast() }
      result[String(entry[..<eq])] = AttributeSpec(type: Int(type) ?? 0, required: required)
    }
    return result
  }
}
