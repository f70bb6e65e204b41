import Foundation
import XCTest

/// A fresh folder under the system's temporary folder.
func makeTemporaryFolder() throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("numpyio-tests-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

/// Runs `python3 -c script args…`; fails the test (never skips) when Python or numpy is missing,
/// since the interoperability tests are the point. Returns stdout.
@discardableResult
func runPython(_ script: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = ["python3", "-c", script] + arguments
  let out = Pipe(), err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  let stdout = out.fileHandleForReading.readDataToEndOfFile()
  let stderr = err.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  let text = String(decoding: stdout, as: UTF8.self)
  if process.terminationStatus != 0 {
    XCTFail("python3 exited \(process.terminationStatus): \(String(decoding: stderr, as: UTF8.self))", file: file, line: line)
  }
  return text
}

/// A hand-built .npy file: magic, version, header length, `header` padded to 64, then `data`.
func npyBytes(header: String, data: [UInt8], major: UInt8 = 1) -> [UInt8] {
  let prefix = major == 1 ? 10 : 12
  var text = header
  text += String(repeating: " ", count: (64 - (prefix + text.utf8.count + 1) % 64) % 64) + "\n"
  let n = text.utf8.count
  var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, 0]
  bytes += major == 1 ? [UInt8(n & 0xFF), UInt8(n >> 8)] : [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)]
  return bytes + Array(text.utf8) + data
}

/// Little-endian bytes of each value.
func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
  values.flatMap { v in (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}
