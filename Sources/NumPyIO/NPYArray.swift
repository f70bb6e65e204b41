// NumPyIO: numpy's .npy and .npz files, read and written without Python.
//
// API (stable; the rest of the module is internal):
//
//   NPYArray { dtype: NPYDType, shape: [Int], data: [UInt8] }   one array, C order, little-endian
//     NPYArray(shape:floats:) / (shape:int64s:) / (shape:bools:)  build one to write
//     floatValues() / integerValues() / boolValues()              read its elements
//   NPY.read(path:) / NPY.decode(_:source:) -> NPYArray             .npy v1, v2, v3
//   NPY.write(_:to:) / NPY.encode(_:) -> [UInt8]                    .npy v1
//   NPZ.read(path:limits:) / NPZ.decode(_:source:limits:)           -> [(name, array)] in archive order;
//                                                                     stored and deflated members
//   NPZ.write(_:to:) / NPZ.encode(_:) -> [UInt8]                     stored members, fixed timestamps:
//                                                                     the same arrays give the same bytes
//   NPZLimits                                                         caps on what a file may make us allocate
//   NumPyIOError                                                      one case per failure, one-sentence text
//
// Read: dtypes float16/32/64, int8/32/64, uint8, bool; Fortran order, big-endian and
// object/unicode/structured dtypes are refused with one line. Every size a file states is
// checked (overflow-checked products, bytes present, NPZLimits) before it is used.

/// One numpy array: element type, shape and raw element bytes (little-endian, C order).
public struct NPYArray: Equatable, Sendable {
  /// The element type.
  public let dtype: NPYDType
  /// The size of each axis (empty for a 0-d array).
  public let shape: [Int]
  /// `count × dtype.itemSize` bytes: the elements in C (row-major) order, little-endian.
  public let data: [UInt8]

  /// An array from raw bytes.
  /// - Throws: `NumPyIOError.invalidArray` when a dimension is negative, the element count
  ///   overflows, or `data` does not hold exactly `count × itemSize` bytes.
  public init(dtype: NPYDType, shape: [Int], data: [UInt8]) throws {
    guard let count = Self.elementCount(shape), case (let bytes, false) = count.multipliedReportingOverflow(by: dtype.itemSize)
    else { throw NumPyIOError.invalidArray(detail: "shape \(shape) has a negative or overflowing size") }
    guard bytes == data.count else {
      throw NumPyIOError.invalidArray(detail: "\(data.count) bytes for \(dtype) shape \(shape), which needs \(bytes)")
    }
    self.dtype = dtype
    self.shape = shape
    self.data = data
  }

  /// Trusted construction: sizes already checked by the caller.
  init(checked dtype: NPYDType, shape: [Int], data: [UInt8]) {
    self.dtype = dtype
    self.shape = shape
    self.data = data
  }

  /// A float32 array.
  /// - Precondition: `floats.count` is the product of `shape`.
  public init(shape: [Int], floats: [Float]) {
    precondition(Self.elementCount(shape) == floats.count, "NPYArray: \(floats.count) floats for shape \(shape)")
    var bytes = [UInt8](repeating: 0, count: floats.count * 4)
    bytes.withUnsafeMutableBytes { out in
      for (i, f) in floats.enumerated() { out.storeBytes(of: f.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self) }
    }
    self.init(checked: .float32, shape: shape, data: bytes)
  }

  /// An int64 array.
  /// - Precondition: `int64s.count` is the product of `shape`.
  public init(shape: [Int], int64s: [Int64]) {
    precondition(Self.elementCount(shape) == int64s.count, "NPYArray: \(int64s.count) integers for shape \(shape)")
    var bytes = [UInt8](repeating: 0, count: int64s.count * 8)
    bytes.withUnsafeMutableBytes { out in
      for (i, v) in int64s.enumerated() { out.storeBytes(of: v.littleEndian, toByteOffset: i * 8, as: Int64.self) }
    }
    self.init(checked: .int64, shape: shape, data: bytes)
  }

  /// A bool array.
  /// - Precondition: `bools.count` is the product of `shape`.
  public init(shape: [Int], bools: [Bool]) {
    precondition(Self.elementCount(shape) == bools.count, "NPYArray: \(bools.count) booleans for shape \(shape)")
    self.init(checked: .bool, shape: shape, data: bools.map { $0 ? 1 : 0 })
  }

  /// The number of elements.
  public var count: Int { data.count / dtype.itemSize }

  /// The elements as Float (float16 and float64 converted, float64 rounded), or nil for
  /// integer and bool arrays.
  public func floatValues() -> [Float]? {
    data.withUnsafeBytes { raw -> [Float]? in
      switch dtype {
      case .float32:
        return (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
      case .float16:
        return (0..<count).map { Half.float(fromBits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
      case .float64:
        return (0..<count).map { Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)))) }
      default:
        return nil
      }
    }
  }

  /// The elements as Int64 (int8, uint8, int32 widened), or nil for float and bool arrays.
  public func integerValues() -> [Int64]? {
    data.withUnsafeBytes { raw -> [Int64]? in
      switch dtype {
      case .int64: return (0..<count).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
      case .int32: return (0..<count).map { Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
      case .int8: return (0..<count).map { Int64(Int8(bitPattern: raw[$0])) }
      case .uint8: return (0..<count).map { Int64(raw[$0]) }
      default: return nil
      }
    }
  }

  /// The elements as Bool (any non-zero byte is true, as numpy reads it), or nil for other dtypes.
  public func boolValues() -> [Bool]? {
    dtype == .bool ? data.map { $0 != 0 } : nil
  }

  /// The product of `shape`, or nil when a dimension is negative or the product overflows.
  static func elementCount(_ shape: [Int]) -> Int? {
    var count = 1
    for d in shape {
      guard d >= 0 else { return nil }
      let (p, overflow) = count.multipliedReportingOverflow(by: d)
      if overflow { return nil }
      count = p
    }
    return count
  }
}
