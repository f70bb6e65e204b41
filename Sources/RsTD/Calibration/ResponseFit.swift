import ONNX
import TensorAlgebra

/// What a site's factors are fitted to.
public enum FitTarget: String, CaseIterable, Sendable {
  /// The weights: ‖W − Ŵ‖F (data-free; the default without calibration data).
  case weights
  /// The layer's responses on the check inputs (response PCA, `responsePCA`), with the bias
  /// corrected for the mean of the discarded part. Applies to svd plans of ungrouped Convs in
  /// the factorized layout with a constant (or no) bias; other sites keep weight fits.
  case responses
}

extension Rewriter {
  /// The Conv outputs whose statistics response fits need, with their channel counts.
  func responseSites(_ prepared: PreparedRewrite) -> [String: Int] {
    var watched: [String: Int] = [:]
    var i = 0
    for d in prepared.decisions {
      guard case .rewrite(let site) = d else { continue }
      defer { i += 1 }
      if respondsToFit(site), let out = site.node.outputs.first, !out.isEmpty { watched[out] = site.outputChannels }
    }
    return watched
  }

  private func respondsToFit(_ site: ConvSite) -> Bool {
    options.fit == .responses && options.layout == .factorized && site.kind == .conv && site.group == 1
  }

  /// `prepared` with its svd plans of eligible sites refitted to their responses: same ranks,
  /// new factors and bias. Sites without statistics keep their weight fits.
  func refitToResponses(_ prepared: PreparedRewrite, graph: Graph, statistics: ResponseStatistics) throws -> PreparedRewrite {
    var keyOf = prepared.keyOf
    var factorizations = prepared.factorizations
    var i = 0
    for d in prepared.decisions {
      guard case .rewrite(let site) = d else { continue }
      defer { i += 1 }
      guard respondsToFit(site), case .factor(.svd, let ranks) = prepared.plans[i], let oldKey = prepared.keyOf[i],
        let out = site.node.outputs.first, let moments = statistics.moments[out], moments.count > 0
      else { continue }
      let bias: [Float]
      if let name = site.biasName {
        guard let b = try graph.constant(name)?.floats(), b.count == site.outputChannels else { continue }
        bias = b
      } else {
        bias = Array(repeating: 0, count: site.outputChannels)
      }
      let kernel = try site.kernel(in: graph)
      let w = kernel.reshaped([site.outputChannels, kernel.count / site.outputChannels])
      let key = oldKey + "|responses:" + out
      keyOf[i] = key
      factorizations[key] = Result {
        let (factors, responseError) = try responsePCA(w, covariance: moments.covariance, rank: ranks[0])
        let residual = zip(w.scalars, factors.reconstruct().scalars).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
        let norm = w.frobeniusNorm
        return Factorization(
          format: .svd, ranks: ranks, relativeError: norm > 0 ? residual.squareRoot() / norm : 0,
          factors: [factors], bias: responseBias(left: factors.left, bias: bias, mean: moments.mean),
          responseError: responseError, fittedTo: FitTarget.responses.rawValue)
      }
    }
    return PreparedRewrite(
      planner: prepared.planner, decisions: prepared.decisions, plans: prepared.plans, keyOf: keyOf,
      factorizations: factorizations)
  }
}
