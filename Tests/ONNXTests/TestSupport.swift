import Foundation
import ONNXProto
import XCTest

@testable import ONNX

/// The repository root (two folders above this file's folder).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()

/// A deterministic generator (SplitMix64) so "random" test inputs are the same on every run.
struct SeededGenerator: RandomNumberGenerator {
  private var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// A fresh folder under the system's temporary folder; removed by `removeTemporaryFolder`.
func makeTemporaryFolder() throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-io-tests-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

/// The names of the files in `folder`, sorted.
func fileNames(in folder: URL) throws -> [String] {
  try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
}

/// The folder of the installed onnx Python package (found by running python3), or a test failure.
func onnxWheelFolder(file: StaticString = #filePath, line: UInt = #line) throws -> URL {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = ["python3", "-c", "import onnx, os; print(os.path.dirname(onnx.__file__))"]
  let pipe = Pipe()
  process.standardOutput = pipe
  try process.run()
  let output = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  let path = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  guard process.terminationStatus == 0, !path.isEmpty else {
    XCTFail("python3 with the onnx package is needed to find the onnx test models", file: file, line: line)
    throw CocoaError(.fileNoSuchFile)
  }
  return URL(fileURLWithPath: path)
}

/// `model.onnx` of every onnx backend test under `pytorch-converted` whose folder starts with
/// `test_Conv` (which includes `test_ConvTranspose*`), sorted.
func onnxConvTestModels() throws -> [URL] {
  let folder = try onnxWheelFolder().appendingPathComponent("backend/test/data/pytorch-converted")
  return try fileNames(in: folder).filter { $0.hasPrefix("test_Conv") }
    .map { folder.appendingPathComponent($0).appendingPathComponent("model.onnx") }
}

/// A one-node model `y = Conv(x, w, b)` with `w` [8,3,3,3] and `b` [8] as FLOAT initializers
/// (ir_version 8, opset 13).
func makeConvModel(seed: UInt64 = 1, weightShape: [Int] = [8, 3, 3, 3]) -> Onnx_ModelProto {
  var rng = SeededGenerator(seed: seed)
  let count = weightShape.reduce(1, *)
  let weights = (0..<count).map { _ in Float.random(in: -1...1, using: &rng) }
  let bias = (0..<weightShape[0]).map { _ in Float.random(in: -1...1, using: &rng) }
  var graph = Onnx_GraphProto()
  graph.name = "conv"
  graph.initializer = [
    .makeFloats(weights, shape: weightShape, name: "w", dataType: .float),
    .makeFloats(bias, shape: [weightShape[0]], name: "b", dataType: .float),
  ]
  var node = Onnx_NodeProto()
  node.opType = "Conv"
  node.name = "conv0"
  node.input = ["x", "w", "b"]
  node.output = ["y"]
  graph.node = [node]
  graph.input = [valueInfo("x", [1, Int64(weightShape[1]), 8, 8])]
  graph.output = [valueInfo("y", [1, Int64(weightShape[0]), 6, 6])]
  var model = Onnx_ModelProto()
  model.irVersion = 8
  model.producerName = "onnx-rstd tests"
  var opset = Onnx_OperatorSetIdProto()
  opset.version = 13
  model.opsetImport = [opset]
  model.graph = graph
  return model
}

func valueInfo(_ name: String, _ dims: [Int64]) -> Onnx_ValueInfoProto {
  var info = Onnx_ValueInfoProto()
  info.name = name
  var type = Onnx_TypeProto()
  type.tensorType.elemType = 1
  type.tensorType.shape.dim = dims.map { d in
    var dim = Onnx_TensorShapeProto.Dimension()
    dim.dimValue = d
    return dim
  }
  info.type = type
  return info
}

/// Asserts that `body` throws exactly `expected`, and that its message is `message`.
func assertThrows<T>(
  _ expected: ONNXError, message: String, _ body: @autoclosure () throws -> T,
  file: StaticString = #filePath, line: UInt = #line
) {
  do {
    _ = try body()
    XCTFail("expected \(expected), nothing was thrown", file: file, line: line)
  } catch let error as ONNXError {
    XCTAssertEqual(error, expected, file: file, line: line)
    XCTAssertEqual(error.description, message, file: file, line: line)
  } catch {
    XCTFail("expected \(expected), got \(error)", file: file, line: line)
  }
}
