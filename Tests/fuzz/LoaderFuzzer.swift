// libFuzzer target for the model loader (`Model.load(path:)`): protobuf decoding by parts, the
// ModelProto checks, external-data resolution and the graph built from it. Every thrown error is
// a correct answer; a trap, a hang or a leak is a finding. A model that loads is also written
// (the streamed writer) and compared with its in-memory encoding.
//
// Not a SwiftPM target: SwiftPM links executables with `--defsym main=<target>_main`, which
// collides with libFuzzer's `main` (gold then fails with an internal error). `make fuzz-loader`
// builds the ONNX module with `-sanitize=fuzzer` in .build-fuzz/ and links this file against it
// with swiftc, so libFuzzer's own driver is the program.
import Foundation
import ONNX

/// The folder each input is written to as `model.onnx` (libFuzzer runs inputs in sequence). It
/// also holds `w.data`, so inputs can reach external data, and attack paths out of it.
private let folder: String = {
  let path = NSTemporaryDirectory() + "/onnx-rstd-loader-fuzz-\(getpid())"
  try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  _ = FileManager.default.createFile(atPath: path + "/w.data", contents: Data(repeating: 7, count: 8192))
  return path
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func loaderFuzzerTestOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
  let path = folder + "/model.onnx"
  let data = start.map { Data(bytes: $0, count: count) } ?? Data()
  guard FileManager.default.createFile(atPath: path, contents: data) else { return 0 }
  guard let model = try? Model.load(path: path) else { return 0 }
  // The write streams nodes one at a time (`NodeStream`), counted before it writes: for any model
  // the loader accepts, it must give the bytes of the in-memory encoding, or refuse.
  let written = folder + "/written.onnx"
  guard let expected = try? model.serializedData(), (try? model.save(to: written, externalData: .automatic)) != nil else { return 0 }
  guard let bytes = FileManager.default.contents(atPath: written), bytes == expected else {
    fatalError("the streamed write of a loaded model differs from its in-memory encoding")
  }
  return 0
}
