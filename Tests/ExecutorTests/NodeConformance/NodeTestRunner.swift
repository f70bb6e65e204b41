import Executor
import Foundation
import ONNX

/// Runs the ONNX backend node tests (folders with `model.onnx` and `test_data_set_0/`) through
/// the executor.
///
/// Tolerance: |actual − expected| ≤ atol + rtol·|expected| with rtol 1e-3, atol 1e-7 — the
/// defaults of onnx's backend test runner (`onnx/backend/test/runner/__init__.py`). Integer
/// and BOOL outputs must match exactly; NaN matches NaN.
struct NodeTestRunner {
  static let rtol: Float = 1e-3
  static let atol: Float = 1e-7
  /// Debian's libonnx-testdata.
  static let dataRoot = "/usr/share/libonnx-testdata/data"
  static let defaultRoot = "\(dataRoot)/node"
  /// Suites of small converted models (several nodes each), run whole.
  static let modelSuites = ["pytorch-converted", "pytorch-operator", "simple"]

  let root: String

  /// Test folder names, sorted.
  func testNames() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasPrefix("test_") }.sorted()
  }

  /// The op a test is about: the only node's op, or for an `_expanded` test (a function body
  /// of several nodes) the op of the test it expands.
  func opUnderTest(_ name: String) -> String {
    let base = name.hasSuffix("_expanded") ? String(name.dropLast("_expanded".count)) : name
    for candidate in [name, base] {
      if let model = try? Model.load(path: "\(root)/\(candidate)/model.onnx"), model.graph.nodeCount == 1 {
        return model.graph.nodes[0].opType
      }
    }
    return "(composite)"
  }

  func run(_ name: String, threads: Int = 1) -> NodeTestOutcome {
    let folder = "\(root)/\(name)"
    let model: Model
    do { model = try Model.load(path: "\(folder)/model.onnx") } catch { return .outOfScope("model: \(error)") }
    let executor: Executor
    do { executor = try Executor(model: model, options: ExecutorOptions(threads: threads)) } catch {
      return .outOfScope("\(error)")
    }
    let data = "\(folder)/test_data_set_0"
    var inputs: [String: TensorValue] = [:]
    for (i, inputName) in executor.plan.inputNames.enumerated() {
      let path = "\(data)/input_\(i).pb"
      guard FileManager.default.fileExists(atPath: path) else { continue }  // an omitted optional input
      do { inputs[inputName] = TensorValue(try TensorFile.load(path: path)) } catch {
        return .outOfScope("input \(i): \(error)")
      }
    }
    let outputs: [String: TensorValue]
    do { outputs = try executor.run(inputs) } catch { return .failed("\(error)") }
    for (i, outputName) in executor.plan.outputNames.enumerated() {
      let expected: TensorValue
      do { expected = TensorValue(try TensorFile.load(path: "\(data)/output_\(i).pb")) } catch {
        return .outOfScope("output \(i): \(error)")
      }
      guard let actual = outputs[outputName] else { return .failed("output '\(outputName)' missing") }
      if let mismatch = Self.compare(actual, expected) { return .failed("output \(i) '\(outputName)': \(mismatch)") }
    }
    return .passed
  }

  /// nil when `actual` matches `expected` within tolerance, else what differs.
  static func compare(_ actual: TensorValue, _ expected: TensorValue) -> String? {
    guard actual.shape == expected.shape else { return "shape \(actual.shape), expected \(expected.shape)" }
    let sameType = actual.elementType == expected.elementType
      || (actual.elementType.isFloatingPoint && expected.elementType.isFloatingPoint)
    guard sameType else { return "type \(actual.elementType.name), expected \(expected.elementType.name)" }
    switch (actual.storage, expected.storage) {
    case (.floats(let a), .floats(let e)):
      for i in a.indices {
        if a[i].isNaN && e[i].isNaN { continue }
        if a[i] == e[i] { continue }  // equal infinities
        let err = abs(a[i] - e[i])
        if !(err <= atol + rtol * abs(e[i])) {
          return "element \(i): \(a[i]), expected \(e[i]) (|error| \(err) > \(atol) + \(rtol)·|expected|)"
        }
      }
      return nil
    case (.integers(let a), .integers(let e)):
      if let i = a.indices.first(where: { a[$0] != e[$0] }) { return "element \(i): \(a[i]), expected \(e[i])" }
      return nil
    case (.bools(let a), .bools(let e)):
      if let i = a.indices.first(where: { a[$0] != e[$0] }) { return "element \(i): \(a[i]), expected \(e[i])" }
      return nil
    default:
      return "storage kinds differ"
    }
  }
}
