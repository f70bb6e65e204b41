import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// What a path names, so two spellings of one file compare equal before either is written.
///
/// An existing file is its device and inode, reached through any symlinks (a symlink to the
/// input is the input). A path that does not exist yet is its folder's device and inode plus its
/// last component as bytes, so `out.onnx`, `./out.onnx` and `link-to-here/out.onnx` are equal.
enum PathIdentity: Equatable {
  case file(ExternalDataRegistry.FileID)
  case planned(folder: ExternalDataRegistry.FileID, name: [UInt8])

  /// The identity of `path`; `nil` when neither the file nor its folder exists.
  static func of(_ path: String) -> PathIdentity? {
    if let file = ExternalDataRegistry.id(of: path) { return .file(file) }
    let (folder, name) = split(path)
    guard let folderID = ExternalDataRegistry.id(of: folder) else { return nil }
    return .planned(folder: folderID, name: Array(name.utf8))
  }

  /// The folder and last component of `path` (folder "." for a bare name, "/" at the root).
  static func split(_ path: String) -> (folder: String, name: String) {
    guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return (".", path) }
    let folder = String(path[..<slash])
    return (folder.isEmpty ? "/" : folder, String(path[path.index(after: slash)...]))
  }
}
