import Foundation
internal import ONNXProto

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

extension ModelIO {
  /// Side-file offsets are multiples of this (a page), so runtimes can map tensors directly.
  static let externalDataAlignment = 4096

  /// Reads every external tensor of `model` into `raw_data` and clears its `external_data` and
  /// `data_location`; locations are relative to `folder`.
  /// The side files read are recorded in `ExternalDataRegistry.shared` against `modelFile`.
  /// - Returns: the paths of the side files read, sorted.
  @discardableResult
  static func resolveExternalData(
    in model: inout Onnx_ModelProto, folder: String, modelPath: String, modelFile: ExternalDataRegistry.FileID?
  ) throws -> [String] {
    var files: [String: ExternalFile] = [:]
    try model.forEachTensor { tensor in
      guard tensor.hasDataLocation && tensor.dataLocation == .external else { return }
      var location: String?
      var offset = 0
      var length: Int?
      for entry in tensor.externalData {
        switch entry.key {
        case "location": location = entry.value
        case "offset": offset = try nonNegative(entry.value, key: "offset", tensor: tensor.name)
        case "length": length = try nonNegative(entry.value, key: "length", tensor: tensor.name)
        default: break  // checksum, basepath: not needed to read the bytes
        }
      }
      guard let location, !location.isEmpty else {
        throw ONNXError.externalDataInvalid(tensor: tensor.name, reason: "it has no 'location' entry")
      }
      let path = folder + "/" + location
      let file: ExternalFile
      if let open = files[path] {
        file = open
      } else {
        file = try ExternalFile(folder: folder, location: location, tensor: tensor.name)
        files[path] = file
        if let modelFile, let sideFile = file.id {
          ExternalDataRegistry.shared.record(sidePath: path, side: sideFile, modelPath: modelPath, model: modelFile)
        }
      }
      let count = length ?? max(file.size - offset, 0)
      guard offset <= file.size, count <= file.size - offset else {
        throw ONNXError.externalDataOutOfRange(
          tensor: tensor.name, path: path, offset: offset, length: count, fileSize: file.size)
      }
      tensor.rawData = try file.read(offset: offset, count: count)
      tensor.externalData = []
      tensor.clearDataLocation()
    }
    return files.keys.sorted()
  }

  /// Moves the `raw_data` of every tensor with at least `thresholdBytes` (and at least 1) bytes
  /// to side-file chunks at 4096-aligned offsets, pointing the tensors at `location`.
  /// - Returns: the chunks, in file order.
  static func externalize(_ model: inout Onnx_ModelProto, thresholdBytes: Int, location: String) -> [ExternalChunk] {
    var chunks: [ExternalChunk] = []
    var end = 0
    model.forEachTensor { tensor in
      guard tensor.hasRawData, tensor.rawData.count >= max(thresholdBytes, 1) else { return }
      let offset = (end + externalDataAlignment - 1) / externalDataAlignment * externalDataAlignment
      let data = tensor.rawData
      chunks.append(ExternalChunk(offset: offset, data: data))
      end = offset + data.count
      tensor.clearRawData()
      tensor.externalData = [
        entry("location", location), entry("offset", String(offset)), entry("length", String(data.count)),
      ]
      tensor.dataLocation = .external
    }
    return chunks
  }

  private static func entry(_ key: String, _ value: String) -> Onnx_StringStringEntryProto {
    var entry = Onnx_StringStringEntryProto()
    entry.key = key
    entry.value = value
    return entry
  }

  private static func nonNegative(_ text: String, key: String, tensor: String) throws -> Int {
    guard let value = Int(text), value >= 0 else {
      throw ONNXError.externalDataInvalid(tensor: tensor, reason: "\(key) '\(text)' is not a non-negative integer")
    }
    return value
  }
}
