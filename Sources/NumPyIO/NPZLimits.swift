/// Bounds on what a .npz file may make the reader allocate. A member's declared uncompressed size
/// is checked against these before any byte is inflated, so a zip bomb fails with one line
/// instead of exhausting memory.
public struct NPZLimits: Sendable {
  /// The largest uncompressed member (one .npy). Default 4 GiB.
  public var maxMemberBytes: Int
  /// The largest sum of uncompressed members. Default 8 GiB.
  public var maxTotalBytes: Int
  /// The most members. Default 65 535 (a zip without zip64 records holds no more).
  public var maxMembers: Int

  public init(maxMemberBytes: Int = 1 << 32, maxTotalBytes: Int = 1 << 33, maxMembers: Int = 65_535) {
    self.maxMemberBytes = maxMemberBytes
    self.maxTotalBytes = maxTotalBytes
    self.maxMembers = maxMembers
  }
}
