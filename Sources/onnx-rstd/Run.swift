import ArgumentParser
import Executor
import Foundation
import NumPyIO
import ONNX

extension OnnxRstd {
  struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run a model on the built-in executor with inputs from a .npz; print or save its outputs.",
      discussion: """
        --inputs holds one array per graph input, named like it, of the declared dtype \
        (FLOAT: float32, FLOAT16: float16, DOUBLE: float64, INT64: int64, INT32: int32, INT8: int8, \
        UINT8: uint8, BOOL: bool) and a shape that fits the declared one. --outputs is written as one \
        array per graph output, in graph order: float32 for floating outputs, int64 for integer ones, \
        bool. Without --outputs, one line per output (shape, min, max, mean) goes to stdout. \
        \(ExitStatus.help)
        """)

    @Argument(help: "The ONNX model to run (never modified).")
    var model: String

    @Option(help: ArgumentHelp("The inputs, one array per graph input (np.savez or np.savez_compressed).", valueName: "x.npz"))
    var inputs: String

    @Option(help: ArgumentHelp("Write the outputs to this .npz (atomically; never one of the files read).", valueName: "y.npz"))
    var outputs: String?

    @Option(help: ArgumentHelp("Worker threads (default: every core). Results are the same bits for any count.", valueName: "N"))
    var threads: Int?

    func validate() throws {
      if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, not \(threads).") }
    }

    func run() throws {
      do {
        let options = ExecutorOptions(threads: threads ?? ExecutorOptions.coreCount)
        // The model moves into the compiler, which frees each weight's protobuf bytes once
        // decoded: the two copies never coexist, and the run holds the plan's weights and the
        // live activations only.
        let (executor, declared) = try { () throws -> (Executor, ModelInputs) in
          let loaded = try Model.load(path: model)
          let declared = ModelInputs(model: loaded)
          return (try Executor(model: consume loaded, options: options), declared)
        }()
        let values = try declared.load(npz: inputs)
        // Paths are checked before the run, so a bad --outputs costs nothing.
        let file = try outputs.map { try OutputFile(path: $0, reads: [("the model", model), ("the --inputs file", inputs)]) }
        let results = try executor.run(values)
        let named = executor.plan.outputNames.map { (name: $0, array: results[$0]!.npyArray) }
        if let file {
          try file.write(NPZ.encode(named))
        } else {
          for (name, value) in executor.plan.outputNames.map({ ($0, results[$0]!) }) { print(Self.summary(name, value)) }
        }
      } catch {
        ExitStatus.fail(error)
      }
    }

    /// `name  float32 [1, 10]  min … max … mean …`.
    static func summary(_ name: String, _ value: TensorValue) -> String {
      let numbers: [Double]
      let dtype: String
      switch value.storage {
      case .floats(let v): numbers = v.map(Double.init); dtype = "float32"
      case .integers(let v): numbers = v.map(Double.init); dtype = "int64"
      case .bools(let v): numbers = v.map { $0 ? 1 : 0 }; dtype = "bool"
      }
      var line = "\(name)  \(dtype) \(value.shape)"
      if let lo = numbers.min(), let hi = numbers.max() {
        let mean = numbers.reduce(0, +) / Double(numbers.count)
        line += "  min \(format(lo)) max \(format(hi)) mean \(format(mean))"
      }
      return line
    }

    static func format(_ x: Double) -> String { String(format: "%.6g", x) }
  }
}
