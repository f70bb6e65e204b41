import Foundation

/// One tensor's bytes in the side file, at `offset`.
struct ExternalChunk {
  let offset: Int
  let data: Data
}
