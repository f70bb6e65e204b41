// bench-decompose: times TensorAlgebra's svd, tucker2 and cp on kernels written by run.py.
//
// Usage: bench-decompose <manifest.json> <results.json>
// The manifest lists .npy kernels (float32, C order) and jobs {kernel, method, ranks}; the results
// hold, per job, the seconds spent in the decomposition call and the relative error measured on
// the reconstruction (outside the timed region). run.py drives it; see docs/benchmarks.md.
import Foundation
import TensorAlgebra

struct Manifest: Decodable {
  struct Kernel: Decodable { var name: String; var file: String; var shape: [Int] }
  struct Job: Decodable { var kernel: Int; var method: String; var ratio: Double; var ranks: [Int] }
  var kernels: [Kernel]
  var jobs: [Job]
  var cpSweeps: Int
  var cpTolerance: Double
}

struct Outcome: Encodable { var job: Int; var seconds: Double; var error: Double; var sweeps: Int }

/// Reads a little-endian float32 C-order .npy file (format 1.0/2.0).
func loadNpy(_ path: String, shape: [Int]) throws -> Tensor {
  let data = try Data(contentsOf: URL(fileURLWithPath: path))
  let major = data[6]
  let headerLength: Int
  let start: Int
  if major == 1 {
    headerLength = Int(data[8]) | Int(data[9]) << 8
    start = 10
  } else {
    headerLength = Int(data[8]) | Int(data[9]) << 8 | Int(data[10]) << 16 | Int(data[11]) << 24
    start = 12
  }
  let header = String(decoding: data[start..<(start + headerLength)], as: UTF8.self)
  precondition(header.contains("'<f4'") && header.contains("'fortran_order': False"), "\(path): need float32 C order")
  let count = shape.reduce(1, *)
  var scalars = [Float](repeating: 0, count: count)
  _ = scalars.withUnsafeMutableBytes { data.copyBytes(to: $0, from: (start + headerLength)..<(start + headerLength + count * 4)) }
  return Tensor(shape: shape, scalars: scalars)
}

func relative(_ a: Tensor, _ b: Tensor) -> Double {
  var d = 0.0, n = 0.0
  for i in 0..<a.count {
    let x = Double(a.scalars[i]), y = Double(b.scalars[i])
    d += (x - y) * (x - y)
    n += y * y
  }
  return n == 0 ? 0 : (d / n).squareRoot()
}

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
  FileHandle.standardError.write("usage: bench-decompose <manifest.json> <results.json>\n".data(using: .utf8)!)
  exit(64)
}
let manifestURL = URL(fileURLWithPath: arguments[1])
let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: manifestURL))
let directory = manifestURL.deletingLastPathComponent().path
var kernels: [Int: Tensor] = [:]
var outcomes: [Outcome] = []
for (index, job) in manifest.jobs.enumerated() {
  let spec = manifest.kernels[job.kernel]
  if kernels[job.kernel] == nil {
    kernels = [job.kernel: try loadNpy(directory + "/" + spec.file, shape: spec.shape)]
  }
  let w = kernels[job.kernel]!
  // Only the decomposition call is timed; the reconstruction for the error is not.
  let start = DispatchTime.now().uptimeNanoseconds
  let reconstruct: () -> Tensor
  var sweeps = 0
  switch job.method {
  case "svd":
    let fit = try lowRankSVD(w, rank: job.ranks[0])
    reconstruct = { fit.factors.reconstruct().reshaped(w.shape) }
  case "tucker2":
    let fit = try tucker2(w, ranks: (output: job.ranks[0], input: job.ranks[1]))
    reconstruct = { fit.factors.reconstruct() }
    sweeps = fit.sweeps
  case "cp":
    let fit = try cp(
      w, rank: job.ranks[0], options: CPOptions(tolerance: manifest.cpTolerance, maxSweeps: manifest.cpSweeps))
    reconstruct = { fit.factors.reconstruct() }
    sweeps = fit.sweeps
  default:
    fatalError("unknown method \(job.method)")
  }
  let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
  outcomes.append(Outcome(job: index, seconds: seconds, error: relative(reconstruct(), w), sweeps: sweeps))
}
let encoder = JSONEncoder()
try encoder.encode(outcomes).write(to: URL(fileURLWithPath: arguments[2]))
