// bench-executor: runs an ONNX model through the in-process Executor, for the conformance
// check against onnxruntime (Tests/conformance/test_executor.py) and for latency figures.
//
//   bench-executor MODEL --inputs DIR [--outputs DIR] [--threads N] [--repeat N] [--profile 1] [--schedule R]
//
// Inputs are DIR/input_<i>.pb (one serialized TensorProto per graph input, in graph order, as
// ONNX's backend test data); outputs are written as DIR/output_<i>.pb in graph-output order.
// With --repeat N the model runs once to warm up, then N times; the median wall time is printed
// as `median_ms=<x>`, with the mean process CPU time per run as `cpu_ms=<y>`. --profile 1 prints the time per op type of one more run. --schedule R runs R more
// times on one thread, timing every parallel piece, and prints the median estimate of the
// --threads speed-up on idle cores (`ScheduleEstimate`: serial parts and piece imbalance; not
// wake-ups or memory bandwidth). Errors: one
// line on stderr, exit 1.
import Dispatch
import Executor
import Foundation
import ONNX

struct Usage: Error, CustomStringConvertible {
  let description: String
}

func main() throws {
  var args = Array(CommandLine.arguments.dropFirst())
  var options: [String: String] = [:]
  var positional: [String] = []
  while !args.isEmpty {
    let a = args.removeFirst()
    if a.hasPrefix("--") {
      guard !args.isEmpty else { throw Usage(description: "\(a) needs a value") }
      options[String(a.dropFirst(2))] = args.removeFirst()
    } else {
      positional.append(a)
    }
  }
  guard positional.count == 1, let inputDir = options["inputs"] else {
    throw Usage(description: "usage: bench-executor MODEL --inputs DIR [--outputs DIR] [--threads N] [--repeat N]")
  }
  let threads = Int(options["threads"] ?? "") ?? ExecutorOptions.coreCount
  let repeats = Int(options["repeat"] ?? "0") ?? 0
  let executor = try Executor(model: try Model.load(path: positional[0]), options: ExecutorOptions(threads: threads))
  var inputs: [String: TensorValue] = [:]
  for (i, name) in executor.plan.inputNames.enumerated() {
    inputs[name] = TensorValue(try TensorFile.load(path: "\(inputDir)/input_\(i).pb"))
  }
  var outputs = try executor.run(inputs)
  if repeats > 0 {
    var times: [Double] = []
    let cpuStart = clock()
    for _ in 0..<repeats {
      let start = DispatchTime.now().uptimeNanoseconds
      outputs = try executor.run(inputs)
      times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    times.sort()
    let cpu = Double(clock() - cpuStart) / Double(CLOCKS_PER_SEC) * 1e3 / Double(repeats)
    // CPU time per run (all threads) is steadier than wall time on a busy machine.
    print(String(format: "median_ms=%.3f cpu_ms=%.3f", times[times.count / 2], cpu))
  }
  if let rounds = Int(options["schedule"] ?? "") {
    // Load-independent estimate of the --threads speed-up (ScheduleEstimate): median of rounds.
    let estimates = try (0..<max(1, rounds)).map { _ in try executor.estimateSchedule(inputs) }.sorted { $0.speedup < $1.speedup }
    let e = estimates[estimates.count / 2]
    print(String(format: "schedule threads=%d cpu_ms=%.3f split_ms=%.3f makespan_ms=%.3f estimated_ms=%.3f speedup=%.3f",
                 e.threads, e.cpuMs, e.splitMs, e.makespanMs, e.estimatedMs, e.speedup))
    print("serial_ms_by_op " + e.serialMsByOp.prefix(8).map { String(format: "%@=%.2f", $0.op as NSString, $0.ms) }.joined(separator: " "))
  }
  if options["profile"] != nil {
    // Time per op type: the gap between consecutive observer calls is one node's run.
    let steps = executor.plan.stepOutputs
    let opOf = Dictionary(steps.flatMap { s in s.values.map { ($0, s.opType) } }, uniquingKeysWith: { a, _ in a })
    var totals: [String: Double] = [:]
    var last = DispatchTime.now().uptimeNanoseconds
    _ = try executor.run(inputs, observing: Set(steps.compactMap(\.values.first))) { name, _ in
      let now = DispatchTime.now().uptimeNanoseconds
      totals[opOf[name] ?? "?", default: 0] += Double(now - last) / 1e6
      last = now
    }
    for (op, ms) in totals.sorted(by: { $0.value > $1.value }) { print(String(format: "%-22@ %9.3f ms", op as NSString, ms)) }
  }
  if let outputDir = options["outputs"] {
    for (i, name) in executor.plan.outputNames.enumerated() {
      let v = outputs[name]!
      try TensorFile.save(TensorData(name: name, elementType: v.elementType, shape: v.shape, values: v.storage), to: "\(outputDir)/output_\(i).pb")
    }
  }
}

// Timed repeated runs: reuse freed buffers as onnx-rstd does (docs/executor.md).
Executor.keepFreedMemoryForReuse()
do {
  try main()
} catch {
  FileHandle.standardError.write(Data("bench-executor: \(error)\n".utf8))
  exit(1)
}
