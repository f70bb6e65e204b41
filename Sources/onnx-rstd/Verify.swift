import ArgumentParser
import Executor
import Foundation
import ONNX
import RsTD

extension OnnxRstd {
  struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run an original and a rewritten model on the same inputs; exit 1 when an output moved more than the bound.",
      discussion: """
        Inputs: --inputs x.npz (as for `run`), or --random N seeded input sets (default: 1): floats \
        standard normal, integers uniform in [0, 4), booleans fair coins; each symbolic or unknown \
        dimension is 1 on the first axis and 64 on the others unless --input-shape gives the input's \
        whole shape. Per output, the relative L2 error ‖rewritten − original‖₂ / ‖original‖₂ over all \
        input sets (the absolute norm when the original is all zeros) and the largest absolute \
        difference are printed. An output passes when its error is at most --max-rel-error; a missing \
        output, another shape or a non-finite value fails. Exit status 1: an output failed. \
        \(ExitStatus.help)
        """)

    @Argument(help: "The original ONNX model.")
    var original: String

    @Argument(help: "The rewritten ONNX model (same graph inputs and outputs).")
    var rewritten: String

    @Option(help: ArgumentHelp("The inputs, one array per graph input.", valueName: "x.npz"))
    var inputs: String?

    @Option(help: ArgumentHelp("Run on N seeded random input sets instead (default 1 when --inputs is absent).", valueName: "N"))
    var random: Int?

    @Option(name: .customLong("max-rel-error"), help: ArgumentHelp("The largest relative L2 error an output may have.", valueName: "E"))
    var maxRelError: Double = 1e-4

    @Option(help: "Seed of the random inputs (set k uses seed + k).")
    var seed: UInt64 = 0

    @Option(name: .customLong("input-shape"), help: ArgumentHelp("The shape of a random input (repeatable).", valueName: "NAME=1x3x224x224"))
    var inputShape: [InputShape] = []

    @Option(help: ArgumentHelp("Worker threads (default: every core).", valueName: "N"))
    var threads: Int?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
      if inputs != nil && random != nil { throw ValidationError("Give --inputs or --random, not both.") }
      if let random, !(1...10_000).contains(random) { throw ValidationError("--random takes a count from 1 to 10000, not \(random).") }
      if inputs != nil && !inputShape.isEmpty { throw ValidationError("--input-shape shapes random inputs; --inputs arrays carry their own shapes.") }
      if !(maxRelError >= 0 && maxRelError.isFinite) { throw ValidationError("--max-rel-error must be a finite number ≥ 0, not \(maxRelError).") }
      if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, not \(threads).") }
      if Set(inputShape.map(\.name)).count != inputShape.count { throw ValidationError("--input-shape names an input twice.") }
    }

    func run() throws {
      let comparisons: [OutputDeviation]
      let sets: Int
      do {
        let options = ExecutorOptions(threads: threads ?? ExecutorOptions.coreCount)
        // Each model is released once compiled (see Run): only the two plans stay in memory.
        let compile = { (path: String) throws -> (Executor, ModelInputs) in
          let loaded = try Model.load(path: path)
          let declared = ModelInputs(model: loaded)
          return (try Executor(model: consume loaded, options: options), declared)
        }
        let (reference, declared) = try compile(original)
        let (candidate, rewrittenDeclared) = try compile(rewritten)
        let rewrittenInputs = rewrittenDeclared.declared.map(\.name)
        guard rewrittenInputs == declared.declared.map(\.name) else {
          throw VerifyError.inputsDiffer(original: declared.declared.map(\.name), rewritten: rewrittenInputs)
        }
        for shape in inputShape where !declared.declared.contains(where: { $0.name == shape.name }) {
          throw InputError.unknownName(file: "--input-shape", name: shape.name, inputs: declared.declared.map(\.name))
        }
        let shapes = Dictionary(uniqueKeysWithValues: inputShape.map { ($0.name, $0.dims) })
        let inputSets: [() throws -> [String: TensorValue]]
        if let inputs {
          inputSets = [{ try declared.load(npz: inputs) }]
        } else {
          inputSets = (0..<(random ?? 1)).map { k in { try declared.random(seed: seed &+ UInt64(k), shapes: shapes) } }
        }
        var table = reference.plan.outputNames.map(OutputDeviation.init)
        for makeInputs in inputSets {
          let values = try makeInputs()
          let expected = try reference.run(values)
          let got = try candidate.run(values)
          for i in table.indices { table[i].add(reference: expected[table[i].name]!, candidate: got[table[i].name]) }
        }
        comparisons = table
        sets = inputSets.count
      } catch {
        ExitStatus.fail(error)
      }
      let passed = comparisons.allSatisfy { Self.passes($0, maxRelError) }
      if json {
        print(Self.json(comparisons, bound: maxRelError, sets: sets, passed: passed))
      } else {
        print(Self.table(comparisons, bound: maxRelError, sets: sets, passed: passed))
      }
      // Exit status 1 (not an error line): the comparison itself is the result, printed above.
      if !passed { Foundation.exit(ExitStatus.aboveBound) }
    }
  }
}

/// Why two models cannot be compared.
enum VerifyError: Error, CustomStringConvertible {
  /// The graph inputs differ in names or order.
  case inputsDiffer(original: [String], rewritten: [String])

  var description: String {
    switch self {
    case .inputsDiffer(let a, let b):
      return "the models take different inputs: original [\(a.joined(separator: ", "))], rewritten [\(b.joined(separator: ", "))]."
    }
  }
}
