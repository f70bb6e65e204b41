/// Predicted onnxruntime CPU latency of a chain (placeholder constants until bench/latency/fit.py).
public struct RuntimeCostModel: Sendable, Codable, Equatable {
  public var block: Int = 16
  var nodeMicros = 5.0
  var macMicros = 1.0e-5
  var elementMicros = 2.0e-4

  public static let onnxruntimeCPU = RuntimeCostModel()

  public func with(block: Int) -> RuntimeCostModel {
    var m = self
    m.block = max(1, block)
    return m
  }

  func up(_ c: Int) -> Double { Double((c + block - 1) / block * block) }

  public func isBlocked(_ node: CostNode) -> Bool {
    guard case .conv(let ci, let co, let g, _, _, _) = node else { return false }
    return g == 1 || (co % block == 0 && ci % block == 0 && ((ci / g) % block == 0 || (g == ci && g == co)))
  }

  public func predict(_ chain: [CostNode]) -> Double {
    chain.reduce(0) { t, n in
      switch n {
      case .conv(let ci, let co, let g, let k, let pi, let po):
        if isBlocked(n) {
          return t + nodeMicros + macMicros * Double(po) * Double(k) * up(co) * up(ci) / Double(g)
            + elementMicros * (Double(pi) * up(ci) + Double(po) * up(co))
        }
        return t + nodeMicros + 3 * macMicros * Double(po) * Double(k) * Double(co) * Double(ci) / Double(g)
          + 3 * elementMicros * (Double(pi) * Double(ci) + Double(po) * Double(co))
      case .channelGather(let c, let p):
        return t + nodeMicros + 3 * elementMicros * Double(c) * Double(p)
      case .matMul(let r, let i, let o):
        return t + nodeMicros + macMicros * Double(r) * Double(i) * Double(o)
      }
    }
  }
}
