/// The element types NumPyIO reads and writes: numpy's little-endian numeric dtypes and bool.
public enum NPYDType: String, CaseIterable, Sendable {
  case float16, float32, float64, int8, uint8, int32, int64, bool

  /// Bytes per element.
  public var itemSize: Int {
    switch self {
    case .int8, .uint8, .bool: return 1
    case .float16: return 2
    case .float32, .int32: return 4
    case .float64, .int64: return 8
    }
  }

  /// The `descr` numpy writes for this dtype on a little-endian machine (`'<f4'`, `'|b1'`).
  public var descr: String {
    switch self {
    case .float16: return "<f2"
    case .float32: return "<f4"
    case .float64: return "<f8"
    case .int8: return "|i1"
    case .uint8: return "|u1"
    case .int32: return "<i4"
    case .int64: return "<i8"
    case .bool: return "|b1"
    }
  }

  /// The byte order a `descr` states, and the dtype its type code names.
  enum Parsed: Equatable {
    case dtype(NPYDType)
    case bigEndian
    case unsupported
  }

  /// Parses a descr string. One-byte types ignore the byte-order character; wider types need
  /// `<` (or `=`/`|`, which numpy never writes for them but mean native = little here: we only
  /// build for little-endian hosts).
  static func parse(_ descr: String) -> Parsed {
    guard let order = descr.first, "<>|=".contains(order) else { return .unsupported }
    let code = String(descr.dropFirst())
    guard let dtype = allCases.first(where: { $0.descr.dropFirst() == code }) else { return .unsupported }
    if order == ">" && dtype.itemSize > 1 { return .bigEndian }
    return .dtype(dtype)
  }
}
