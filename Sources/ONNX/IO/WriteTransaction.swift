import Foundation
internal import ONNXProto

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes a model, its side file and a report as one transaction: all or nothing.
///
/// Protocol (docs/security.md):
/// 1. `init` checks every path before any work: existing targets must be regular files (or
///    symlinks to one); no target may be the input or another target (device + inode, through
///    symlinks; for paths that do not exist yet, the real folder + name); the report may not take
///    a name the side file could get (its rename would break the previous model before the commit). It also removes temporary files of dead runs.
/// 2. `stageModel` / `stageReport` write everything to temporary files in the destination folders
///    and flush them. The side file gets the first of `<model>.data`, `<model>.1.data`, … that
///    already holds exactly the same bytes, else the first free one, so an existing side file is never modified:
///    the previous model keeps its data until the new model replaces it. (Only when rewriting over
///    an existing output whose side file differs does the name change.)
/// 3. `commit` links the side file to its fresh name, renames the report over the old one (kept
///    as a hard-linked backup), then renames the model: that rename is the commit point. Any
///    failure before it undoes the earlier steps. After it, the backup and the side files of the
///    previous model (`<model>.data`, `<model>.N.data` no other loaded model uses) are removed.
public final class WriteTransaction {
  /// Where the model goes (`nil` for a report-only dry run).
  public let modelPath: String?
  /// Where the report goes.
  public let reportPath: String?
  private let inputPath: String?
  private var input: PathIdentity?
  private var model: PathIdentity?
  private var report: PathIdentity?

  private var modelFile: TemporaryFile?
  private var sideFile: TemporaryFile?
  private var sideName: String?
  private var reportFile: TemporaryFile?
  /// For tests: runs just before the commit point; a throw must leave the previous state.
  var beforeCommitPoint: (() throws -> Void)?

  /// Checks the paths; writes nothing.
  /// - Parameters:
  ///   - input: the model that was (or will be) read; never a target.
  ///   - model: the output model, or `nil`.
  ///   - report: the report file, or `nil`.
  /// - Throws: `ONNXError.pathsAlias`, `.outputDirectoryMissing`, `.writeFailed` (a target that
  ///   is not a regular file), `.wouldOverwriteExternalData`.
  public init(input: String?, model: String?, report: String?) throws {
    inputPath = input
    modelPath = model
    reportPath = report
    self.input = input.flatMap { path in ExternalDataRegistry.id(of: path).map { .file($0) } }
    if let model { self.model = try Self.target(model) }
    if let report { self.report = try Self.target(report) }
    if let model, let input, self.model == self.input { throw ONNXError.pathsAlias(role: "output", path: model, other: "the input", otherPath: input) }
    if let report, let input, self.report == self.input {
      throw ONNXError.pathsAlias(role: "report", path: report, other: "the input", otherPath: input)
    }
    if let report, let model {
      if self.report == self.model { throw ONNXError.pathsAlias(role: "report", path: report, other: "the output", otherPath: model) }
      if Self.isSideFileName(of: model, report) {
        throw ONNXError.pathsAlias(role: "report", path: report, other: "a side-file name of the output", otherPath: model)
      }
    }
    for path in [model, report].compactMap({ $0 }) {
      if let reader = ExternalDataRegistry.shared.otherReader(ofSideFile: path, destination: path) {
        throw ONNXError.wouldOverwriteExternalData(path: path, model: reader)
      }
      TemporaryFile.removeStale(in: PathIdentity.split(path).folder)
    }
  }

  deinit { discard() }

  /// Refuses targets that are files the input keeps its external data in.
  /// - Throws: `ONNXError.pathsAlias`.
  public func checkAgainstExternalData(_ sideFiles: [String]) throws {
    for side in sideFiles {
      guard let id = ExternalDataRegistry.id(of: side).map(PathIdentity.file) else { continue }
      if let modelPath, model == id {
        throw ONNXError.pathsAlias(role: "output", path: modelPath, other: "the input's external data", otherPath: side)
      }
      if let reportPath, report == id {
        throw ONNXError.pathsAlias(role: "report", path: reportPath, other: "the input's external data", otherPath: side)
      }
    }
  }

  /// Encodes `model` (large tensors to the side file when `externalData` says so) into temporary
  /// files; see `ModelIO.writeModel` for the bytes.
  /// - Returns: the bytes the model and its side file will take.
  /// - Throws: `ONNXError.externalDataUnresolved`, `.writeFailed`.
  @discardableResult
  func stageModel(
    _ model: consuming Onnx_ModelProto, nodes: NodeStream? = nil, externalData: ExternalDataPolicy, inlineLimitBytes: Int
  ) throws -> Int {
    guard let path = modelPath else { return 0 }
    // Handed the last copy, the walks below edit the model's tensor lists in place instead of
    // copying them (one entry per initializer and node: megabytes for a large graph).
    var output = consume model
    try output.forEachTensor { tensor in
      if tensor.hasDataLocation && tensor.dataLocation == .external {
        throw ONNXError.externalDataUnresolved(tensor: tensor.name)
      }
    }
    var sideChunks: [ExternalChunk] = []
    let size: Int
    var encoding: ModelEncoder.Encoding?
    do {
      let threshold: Int?
      switch externalData {
      case .always(let bytes): threshold = bytes
      case .automatic:
        // Kept when no tensor moves out: the encoding that gave the size writes the bytes.
        let whole = try ModelEncoder.Encoding(output, nodes: nodes)
        (threshold, encoding) = whole.size > inlineLimitBytes ? (ExternalDataPolicy.automaticThresholdBytes, nil) : (nil, whole)
      }
      if let threshold {
        // The side file's name is in the model, and is chosen by the side file's bytes.
        var probe = output
        sideChunks = ModelIO.externalize(&probe, thresholdBytes: threshold, location: "")
        let name = try chooseSideName(for: path, chunks: sideChunks)
        sideChunks = ModelIO.externalize(&output, thresholdBytes: threshold, location: name)
        if !sideChunks.isEmpty { sideName = name }
      }
      if encoding == nil { encoding = try ModelEncoder.Encoding(output, nodes: nodes) }
      size = encoding!.size
    } catch let error as ONNXError {
      throw error
    } catch {
      throw ONNXError.writeFailed(path: path, reason: "protobuf encoding failed (\(error))")
    }
    if size > inlineLimitBytes {
      throw ONNXError.writeFailed(
        path: path, reason: "the model needs \(size) bytes even with external data, over protobuf's limit of \(inlineLimitBytes)")
    }
    if let sideName, !sideExists {
      let file = try TemporaryFile(destination: PathIdentity.split(path).folder + "/" + sideName)
      sideFile = file
      var offset = 0
      for chunk in sideChunks {
        try file.writeZeros(chunk.offset - offset)
        try file.write(chunk.data)
        offset = chunk.offset + chunk.data.count
      }
      try file.finish()
    }
    let file = try TemporaryFile(destination: path)
    modelFile = file
    do {
      try encoding!.write { try file.write($0) }
    } catch let error as ONNXError {
      throw error
    } catch {
      throw ONNXError.writeFailed(path: path, reason: "protobuf encoding failed (\(error))")
    }
    // The graph's length was written before its nodes were encoded (`NodeStream`): a count that
    // disagrees would leave a file no reader can parse.
    guard file.size == size else {
      throw ONNXError.writeFailed(path: path, reason: "encoded \(file.size) bytes where \(size) were counted")
    }
    try file.finish()
    return size + (sideChunks.last.map { $0.offset + $0.data.count } ?? 0)
  }

  /// Writes `data` to the report's temporary file.
  /// - Throws: `ONNXError.writeFailed`.
  public func stageReport(_ data: Data) throws {
    guard let reportPath else { return }
    let file = try TemporaryFile(destination: reportPath)
    reportFile = file
    try file.write(data)
    try file.finish()
  }

  /// Moves every staged file into place, the model last; on failure the previous files are back.
  /// - Throws: `ONNXError.writeFailed`.
  public func commit() throws {
    var linkedSide: String?
    var backup: String?
    var reportReplaced = false
    do {
      if let sideFile {
        let destination = sideFile.destination
        try sideFile.commitWithoutReplacing()
        linkedSide = destination
      }
      if let reportFile, let reportPath {
        backup = Self.backUp(reportPath)
        try reportFile.commit()
        reportReplaced = true
      }
      try beforeCommitPoint?()
      try modelFile?.commit()  // the commit point
    } catch {
      if reportReplaced, let reportPath {
        if let backup { rename(backup, reportPath) } else { unlink(reportPath) }
      } else if let backup {
        unlink(backup)
      }
      if let linkedSide { unlink(linkedSide) }
      discard()
      throw error
    }
    if let backup { unlink(backup) }
    for path in [modelPath, reportPath].compactMap({ $0 }) { Self.syncFolder(of: path) }
    if let modelPath { removePreviousSideFiles(of: modelPath) }
  }

  /// Removes every temporary file not yet committed.
  public func discard() {
    sideFile?.discard()
    modelFile?.discard()
    reportFile?.discard()
  }

  // MARK: - Implementation

  /// True when `sideName` was chosen because that file already holds the same bytes.
  private var sideExists = false

  /// The identity of a target, after checking it is a regular file or does not exist.
  private static func target(_ path: String) throws -> PathIdentity {
    var info = stat()
    if lstat(path, &info) == 0 {
      if (info.st_mode & S_IFMT) == S_IFLNK, stat(path, &info) != 0 {
        info.st_mode = S_IFREG  // a dangling symlink: the rename replaces the link itself
      }
      switch info.st_mode & S_IFMT {
      case S_IFREG: break
      case S_IFDIR: throw ONNXError.writeFailed(path: path, reason: "it is a folder")
      case S_IFIFO: throw ONNXError.writeFailed(path: path, reason: "it is a FIFO; only regular files are replaced")
      case S_IFCHR, S_IFBLK: throw ONNXError.writeFailed(path: path, reason: "it is a device; only regular files are replaced")
      default: throw ONNXError.writeFailed(path: path, reason: "it is not a regular file; only regular files are replaced")
      }
    }
    guard let id = PathIdentity.of(path) else {
      throw ONNXError.outputDirectoryMissing(path: PathIdentity.split(path).folder)
    }
    return id
  }

  /// Whether `other` names, in the folder of `model`, a file called like one of its side files.
  private static func isSideFileName(of model: String, _ other: String) -> Bool {
    let (folder, name) = PathIdentity.split(other)
    let (modelFolder, modelName) = PathIdentity.split(model)
    guard isSideFileName(name, of: modelName) else { return false }
    return ExternalDataRegistry.id(of: folder) == ExternalDataRegistry.id(of: modelFolder)
  }

  /// `<model>.data` or `<model>.<digits>.data`, compared as bytes.
  static func isSideFileName(_ name: String, of model: String) -> Bool {
    let n = Array(name.utf8)
    let prefix = Array(model.utf8) + [UInt8(ascii: ".")]
    let suffix = Array("data".utf8)
    guard n.count >= prefix.count + suffix.count, n.starts(with: prefix), n.suffix(suffix.count).elementsEqual(suffix) else {
      return false
    }
    let middle = n[prefix.count..<(n.count - suffix.count)]
    if middle.isEmpty { return true }
    guard middle.last == UInt8(ascii: "."), middle.count >= 2 else { return false }
    return middle.dropLast().allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
  }

  /// The first of `<model>.data`, `<model>.1.data`, … that already holds exactly `chunks` (then
  /// `sideExists` is set and nothing is written: the same model gets the same bytes), else the
  /// first that does not exist.
  private func chooseSideName(for model: String, chunks: [ExternalChunk]) throws -> String {
    let (folder, name) = PathIdentity.split(model)
    var free: String?
    for n in 0..<1000 {
      let candidate = n == 0 ? name + ".data" : name + ".\(n).data"
      var info = stat()
      if lstat(folder + "/" + candidate, &info) != 0 {
        if errno == ENOENT && free == nil { free = candidate }
      } else if Self.holds(folder + "/" + candidate, chunks) {
        sideExists = true
        return candidate
      }
    }
    sideExists = false
    guard let free else {
      throw ONNXError.writeFailed(path: model, reason: "no free side-file name among '\(name).data', '\(name).1.data' … '\(name).999.data'")
    }
    return free
  }

  /// Whether the regular file at `path` holds exactly the side file `chunks` describe.
  private static func holds(_ path: String, _ chunks: [ExternalChunk]) -> Bool {
    let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var info = stat()
    let end = chunks.last.map { $0.offset + $0.data.count } ?? 0
    guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, Int(info.st_size) == end else { return false }
    var position = 0
    for chunk in chunks {
      guard let gap = read(fd, count: chunk.offset - position), gap.allSatisfy({ $0 == 0 }) else { return false }
      guard let bytes = read(fd, count: chunk.data.count), bytes.elementsEqual(chunk.data) else { return false }
      position = chunk.offset + chunk.data.count
    }
    return true
  }

  private static func read(_ fd: Int32, count: Int) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: count)
    var done = 0
    while done < count {
      let n = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress! + done, count - done) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { return nil }
      done += n
    }
    return buffer
  }

  /// Hard-links the existing regular file `path` to a temporary name; `nil` when there is none
  /// (or the filesystem has no hard links: the report then cannot be restored on failure).
  private static func backUp(_ path: String) -> String? {
    var info = stat()
    guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
    let (folder, name) = PathIdentity.split(path)
    let backup = folder + "/." + name + TemporaryFile.marker + "\(getpid())-backup"
    unlink(backup)
    return link(path, backup) == 0 ? backup : nil
  }

  /// Flushes the folder entry of `path` (the renames) to disk; best effort.
  private static func syncFolder(of path: String) {
    let fd = open(PathIdentity.split(path).folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { return }
    fsync(fd)
    close(fd)
  }

  /// After the commit: removes `<model>.data` and `<model>.N.data` files other than the new
  /// side file, the input and the report, that no model read by this process keeps data in.
  private func removePreviousSideFiles(of model: String) {
    let (folder, name) = PathIdentity.split(model)
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
    for candidate in names where candidate != sideName && Self.isSideFileName(candidate, of: name) {
      let path = folder + "/" + candidate
      var info = stat()
      guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
      let id = PathIdentity.of(path)
      if id == input || id == report { continue }
      if ExternalDataRegistry.shared.otherReader(ofSideFile: path, destination: model) != nil { continue }
      unlink(path)
    }
  }
}
