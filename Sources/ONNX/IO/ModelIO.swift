import Foundation
package import ONNXProto
internal import SwiftProtobuf

/// Reads and writes ONNX model files, including their external data.
///
/// - `readModel(at:)` returns a self-contained model: every tensor kept in an external file is
///   read into its `raw_data`.
/// - `writeModel(_:to:externalData:)` writes deterministic bytes through temporary files in the
///   destination folder and renames them into place, so a failed write leaves nothing behind and
///   a reader never sees a half-written file.
package enum ModelIO {
  /// Reads the model at `path`, checks that it is an ONNX model, and loads its external data.
  ///
  /// External data is looked up relative to the model's folder (`location`, `offset`, `length`;
  /// onnx's rules: no absolute locations, none leaving the folder). It is resolved for
  /// initializers, sparse initializers, attribute tensors (`Constant` nodes and others) and the
  /// tensors of subgraphs, training info and functions: afterwards their data is in `raw_data`
  /// and `external_data`/`data_location` are cleared. Fields this schema does not know are kept.
  ///
  /// The file is memory-mapped and parsed tensor by tensor, so peak memory stays near one copy
  /// of the model.
  /// - Parameter path: the model file.
  /// - Returns: the model.
  /// - Throws: `ONNXError.fileNotFound`, `.emptyFile`, `.readFailed`, `.notAModel`,
  ///   `.externalDataMissing`, `.externalDataOutOfRange`, `.externalDataInvalid`.
  package static func readModel(at path: String) throws -> Onnx_ModelProto {
    var sideFiles: [String] = []
    return try readModel(at: path, sideFiles: &sideFiles)
  }

  /// `readModel(at:)`, also returning the paths of the external-data files it read (sorted).
  static func readModel(at path: String, sideFiles: inout [String]) throws -> Onnx_ModelProto {
    var model: Onnx_ModelProto
    let modelFile: ExternalDataRegistry.FileID?
    do {
      let file = try MappedFile(path: path)
      modelFile = file.id
      model = try decodeModel(file, path: path)
    }
    try checkIsModel(model, path: path)
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
    sideFiles = try resolveExternalData(in: &model, folder: folder, modelPath: path, modelFile: modelFile)
    return model
  }

  /// Writes `model` to `path`, and its large tensors to a side file when `externalData` says so,
  /// as one transaction (`WriteTransaction`, docs/security.md).
  ///
  /// The bytes depend only on `model`, `externalData` and the side-file name: fields in
  /// field-number order, side-file tensors in `Onnx_ModelProto.forEachTensor` order, each starting
  /// at a multiple of 4096 bytes (zero padding in between; entries `location`, `offset`, `length`).
  /// The side file is `<file name>.data` (for `out.onnx`, `out.onnx.data`) unless that name holds
  /// other bytes (the previous output's data): then the first free `<file name>.N.data`, so the
  /// previous pair stays intact until the model's rename commits the new one; the previous side
  /// file is then removed. The side file is only written when at least one tensor goes to it; it is
  /// named after the output, never after the input.
  /// `readModel` loads all external data eagerly, so models in memory never depend on files; and
  /// a write to a file holding the external data of a model read earlier in this process (other
  /// than the model being replaced at `path` itself) is refused, and such side files are never
  /// removed, so models on disk are not corrupted either.
  /// - Parameters:
  ///   - model: a self-contained model (no tensor may still point at external data).
  ///   - path: the output file; its folder must exist.
  ///   - externalData: where tensor data goes.
  /// - Throws: `ONNXError.outputDirectoryMissing`, `.externalDataUnresolved`,
  ///   `.wouldOverwriteExternalData`, `.writeFailed` (also for a `path` that is not a regular file).
  package static func writeModel(_ model: consuming Onnx_ModelProto, to path: String, externalData: ExternalDataPolicy) throws {
    try writeModel(consume model, to: path, externalData: externalData, inlineLimitBytes: ExternalDataPolicy.protobufLimitBytes)
  }

  /// `writeModel(_:to:externalData:)` with the size above which `.automatic` externalizes as a
  /// parameter, so tests can exercise that path without writing 2 GiB.
  static func writeModel(
    _ model: consuming Onnx_ModelProto, to path: String, externalData: ExternalDataPolicy, inlineLimitBytes: Int
  ) throws {
    let transaction = try WriteTransaction(input: nil, model: path, report: nil)
    try transaction.stageModel(consume model, externalData: externalData, inlineLimitBytes: inlineLimitBytes)
    try transaction.commit()
  }

  // MARK: - Implementation

  /// Parses the mapped bytes as a `ModelProto`.
  static func decodeModel(_ file: MappedFile, path: String) throws -> Onnx_ModelProto {
    do {
      return try ModelDecoder.decode(file)
    } catch let error as BinaryDecodingError {
      throw ONNXError.notAModel(path: path, reason: reason(for: error, size: file.bytes.count))
    }
  }

  static func reason(for error: BinaryDecodingError, size: Int) -> String {
    switch error {
    case .truncated:
      return "its \(size) bytes end in the middle of a protobuf field (truncated file?)"
    case .malformedProtobuf:
      return "its \(size) bytes are not valid protobuf data"
    case .invalidUTF8:
      return "a string field is not valid UTF-8"
    case .messageDepthLimit:
      return "its messages are nested more than 100 levels deep"
    default:
      return "protobuf decoding failed (\(error))"
    }
  }

  /// Checks the fields every ONNX model has: a graph, `ir_version` and, from IR version 3 on,
  /// at least one `opset_import`.
  static func checkIsModel(_ model: Onnx_ModelProto, path: String) throws {
    if !model.hasGraph {
      throw ONNXError.notAModel(path: path, reason: "it is valid protobuf but has no graph")
    }
    if !model.hasIrVersion || model.irVersion < 1 {
      throw ONNXError.notAModel(path: path, reason: "it is valid protobuf but has no ir_version")
    }
    if model.irVersion >= 3 && model.opsetImport.isEmpty {
      throw ONNXError.notAModel(
        path: path, reason: "it has ir_version \(model.irVersion) but no opset_import (required from IR version 3)")
    }
    // onnx's checker refuses repeated keys, and metadata is written back.
    var keys = Set<String>()
    for e in model.metadataProps where !keys.insert(e.key).inserted {
      throw ONNXError.notAModel(path: path, reason: "metadata_props lists the key '\(e.key)' twice")
    }
    var functions = Set<String>()
    for f in model.functions where !functions.insert("\(f.domain)::\(f.name)::\(f.overload)").inserted {
      throw ONNXError.notAModel(path: path, reason: "it defines the local function '\(f.domain)::\(f.name)' twice")
    }
  }
}
