// bench-io: times Model.load and Model.save on one model and reports peak memory.
//
//     swift build -c release --scratch-path .build-io --product bench-io
//     .build-io/release/bench-io <model.onnx> <out.onnx> [--repetitions N] [--external THRESHOLD]
//
// Prints the median of N (default 5) reads and N writes (each write includes fsync of the
// output, as every real save does), their sum, and the process's peak resident memory
// (getrusage ru_maxrss) as a multiple of the model's size (file + `<file>.data` if present). Reads keep one model alive at a
// time, so the peak is what one load + one save need. Not a test: targets are load+save < 2 s and
// peak < 2x the file size for a 300 MB model (.cache/bench-models/big_300mb.onnx from
// Scripts/make-bench-models).

import Foundation
import ONNX

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

func peakResidentBytes() -> Int {
  var usage = rusage()
  #if canImport(Darwin)
    getrusage(RUSAGE_SELF, &usage)
    return Int(usage.ru_maxrss)  // bytes on Darwin
  #else
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss) * 1024  // KiB on Linux
  #endif
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
  let start = DispatchTime.now().uptimeNanoseconds
  try body()
  return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func median(_ values: [Double]) -> Double {
  let sorted = values.sorted()
  return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func mb(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }

var arguments = Array(CommandLine.arguments.dropFirst())
var repetitions = 5
var policy = ExternalDataPolicy.automatic
if let i = arguments.firstIndex(of: "--repetitions"), i + 1 < arguments.count, let n = Int(arguments[i + 1]), n > 0 {
  repetitions = n
  arguments.removeSubrange(i...(i + 1))
}
if let i = arguments.firstIndex(of: "--external"), i + 1 < arguments.count, let n = Int(arguments[i + 1]) {
  policy = .always(thresholdBytes: n)
  arguments.removeSubrange(i...(i + 1))
}
guard arguments.count == 2 else {
  FileHandle.standardError.write(Data("usage: bench-io <model.onnx> <out.onnx> [--repetitions N] [--external THRESHOLD]\n".utf8))
  exit(64)
}
let (input, output) = (arguments[0], arguments[1])

do {
  // The model's size: the file plus its side file `<file>.data` when there is one.
  func size(_ path: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0 }
  let fileSize = size(input) + size(input + ".data")
  let baseline = peakResidentBytes()
  var readTimes: [Double] = []
  var writeTimes: [Double] = []
  var model: Model? = nil
  for _ in 0..<repetitions {
    model = nil  // one model alive at a time
    readTimes.append(try seconds { model = try Model.load(path: input) })
  }
  let afterRead = peakResidentBytes()
  for _ in 0..<repetitions {
    writeTimes.append(try seconds { try model!.save(to: output, externalData: policy) })
  }
  let peak = peakResidentBytes()
  let outputSize = size(output) + size(output + ".data")
  let (read, write) = (median(readTimes), median(writeTimes))
  print("model           \(input) (\(mb(fileSize)), \(model!.graph.initializerNames.count) initializers)")
  print("output          \(output) (\(mb(outputSize)))")
  print(String(format: "read   median   %.3f s  (%@)", read, readTimes.map { String(format: "%.3f", $0) }.joined(separator: " ")))
  print(String(format: "write  median   %.3f s  (%@)", write, writeTimes.map { String(format: "%.3f", $0) }.joined(separator: " ")))
  print(String(format: "load+save       %.3f s  (target < 2 s)", read + write))
  print("peak RSS        \(mb(peak)) = \(String(format: "%.2f", Double(peak) / Double(max(fileSize, 1))))x the file size "
    + "(target < 2x; \(mb(baseline)) before loading, \(mb(afterRead)) after the reads)")
} catch {
  FileHandle.standardError.write(Data("bench-io: \(error)\n".utf8))
  exit(1)
}
