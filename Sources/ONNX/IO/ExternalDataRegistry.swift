import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Remembers, for this process, which external-data files `readModel` read and for which model
/// files, so `writeModel` never replaces a file another model on disk still depends on.
///
/// Files are identified by device and inode, so different spellings of one path (relative,
/// `./`, symlinks) are the same file. Rewriting a model in place together with its own side file
/// stays allowed: the new model points at the new side file.
final class ExternalDataRegistry: @unchecked Sendable {
  /// A file's identity.
  struct FileID: Hashable {
    let device: UInt64
    let inode: UInt64
  }

  /// One side file read for one model.
  private struct Reading {
    let sidePath: String
    let side: FileID
    let modelPath: String
    let model: FileID
  }

  static let shared = ExternalDataRegistry()

  private let lock = NSLock()
  private var readings: [Reading] = []

  /// The identity of the file at `path`, or `nil` when there is none.
  static func id(of path: String) -> FileID? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return FileID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
  }

  /// The identity of the open file `fd`.
  static func id(of fd: Int32) -> FileID? {
    var info = stat()
    guard fstat(fd, &info) == 0 else { return nil }
    return FileID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
  }

  /// Records that the model at `modelPath` (identity `model`) keeps data in the file at
  /// `sidePath` (identity `side`).
  func record(sidePath: String, side: FileID, modelPath: String, model: FileID) {
    lock.lock()
    defer { lock.unlock() }
    readings.append(Reading(sidePath: sidePath, side: side, modelPath: modelPath, model: model))
  }

  /// The path of a model, other than the one at `destination`, whose external data is the file
  /// at `path`; `nil` when replacing `path` harms no model read so far.
  ///
  /// A reading only counts while both its files are still where they were read (same path, same
  /// identity): a deleted model no longer needs protecting, and an inode the filesystem reused
  /// for an unrelated file does not match.
  func otherReader(ofSideFile path: String, destination: String) -> String? {
    guard let side = Self.id(of: path) else { return nil }
    let target = Self.id(of: destination)
    lock.lock()
    defer { lock.unlock() }
    readings.removeAll { Self.id(of: $0.sidePath) != $0.side || Self.id(of: $0.modelPath) != $0.model }
    return readings.first { $0.side == side && $0.model != target }?.modelPath
  }
}
