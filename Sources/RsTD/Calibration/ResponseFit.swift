import ONNX
import TensorAlgebra

/// What a site's factors are fitted to.
public enum FitTarget: String, CaseIterable, Sendable {
  /// The weights: ‖W − Ŵ‖F (data-free; the default without calibration data).
  case weights
  /// The layer's responses on the check inputs (response PCA, `responsePCA`), with the bias
  /// corrected for the mean of the discarded part. Applies to svd, spatial, tucker2 and cp plans of
  /// ungrouped Convs in the factorized layout with a constant (or no) bias; other sites keep
  /// weight fits.
  case responses
}

extension Rewriter {
  /// The Conv outputs whose statistics response fits need, with their channel counts.
  func responseSites(_ prepared: PreparedRewrite) -> [String: Int] {
    var watched: [String: Int] = [:]
    for (_, site, plan) in prepared.sitesInOrder {
      guard respondsToFit(site), let out = site.node.outputs.first, !out.isEmpty else { continue }
      watched[out] = site.outputChannels
      // A tucker2 fit also needs the input channels' second moment (`tucker2ResponseFit`); so does
      // a site the calibrated allocation may make tucker2 (`calibratedFormats`).
      var tucker2 = false
      if case .factor(.tucker2, _) = plan { tucker2 = true }
      if mixesFormats && opensToAllocation(plan) && site.kernelArea > 1 { tucker2 = true }
      if tucker2, let x = site.node.inputs.first, !x.isEmpty {
        watched[x] = site.inputChannelsPerGroup
      }
    }
    return watched
  }

  /// The sites planned as spatial or cp factors whose input patches a response refit needs
  /// (`PatchSpec`; wider patches keep weight fits), by the Conv's output value name.
  func patchSites(_ prepared: PreparedRewrite) -> [String: PatchSpec] {
    var watched: [String: PatchSpec] = [:]
    for (_, site, plan) in prepared.sitesInOrder {
      var spatial: Bool
      switch plan {
      case .factor(.spatial, _), .factor(.cp, _): spatial = true
      // A site the budget or a bound kept may be opened by the calibrated allocation.
      case .keep(.excludedByBudget), .keep(.noCompressionUnderBound): spatial = options.method == .spatial && SpatialFormat.applies(to: site)
      default: spatial = false
      }
      // Under several formats per site, every site the allocation opens may become spatial.
      if mixesFormats && opensToAllocation(plan) && SpatialFormat.applies(to: site) { spatial = true }
      guard spatial, respondsToFit(site), let out = site.node.outputs.first, !out.isEmpty, let spec = PatchSpec(site) else { continue }
      watched[out] = spec
    }
    return watched
  }

  /// Whether the calibrated allocation chooses for a site with plan `plan` (`calibratedSites`):
  /// factored, or kept by the budget or a weight-error bound.
  func opensToAllocation(_ plan: PlanDecision) -> Bool {
    switch plan {
    case .factor, .keep(.excludedByBudget), .keep(.noCompressionUnderBound): true
    case .keep: false
    }
  }

  /// Whether `site`'s factors can be fitted to its responses (svd of an ungrouped conv in the
  /// factorized layout, under `--fit responses`).
  func respondsToFit(_ site: ConvSite) -> Bool {
    options.fit == .responses && options.layout == .factorized && site.kind == .conv && site.group == 1
  }

  /// `prepared` with its svd plans of eligible sites refitted to their responses: same ranks,
  /// new factors and bias. Sites without statistics keep their weight fits.
  func refitToResponses(_ prepared: PreparedRewrite, graph: Graph, statistics: ResponseStatistics) throws -> PreparedRewrite {
    var keyOf = prepared.keyOf
    var factorizations = prepared.factorizations
    for (i, site, plan) in prepared.sitesInOrder {
      if respondsToFit(site), case .factor(.spatial, let ranks) = plan, let oldKey = prepared.keyOf[i],
        let out = site.node.outputs.first, let moments = statistics.patchMoments[out], moments.count > 0,
        let bias = try responseFitBias(site, graph: graph)
      {
        let key = oldKey + "|responses:" + out
        keyOf[i] = key
        factorizations[key] = Result { try spatialResponseFactorization(site, graph: graph, moments: moments, rank: ranks[0], bias: bias) }
        continue
      }
      if respondsToFit(site), case .factor(.cp, let ranks) = plan, let oldKey = prepared.keyOf[i],
        let out = site.node.outputs.first, let moments = statistics.patchMoments[out], moments.count > 0,
        case .success(let weightFit)? = prepared.factorizations[oldKey], let start = weightFit.factors as? CPFactors,
        let bias = try responseFitBias(site, graph: graph)
      {
        let key = oldKey + "|responses:" + out
        keyOf[i] = key
        factorizations[key] = Result {
          try cpResponseFactorization(site, graph: graph, start: start, moments: moments, rank: ranks[0], bias: bias)
        }
        continue
      }
      if respondsToFit(site), case .factor(.tucker2, let ranks) = plan, let oldKey = prepared.keyOf[i],
        let out = site.node.outputs.first, let moments = statistics.moments[out], moments.count > 0,
        let x = site.node.inputs.first, let input = statistics.moments[x], input.count > 0,
        let bias = try responseFitBias(site, graph: graph)
      {
        let key = oldKey + "|responses:" + out
        keyOf[i] = key
        factorizations[key] = Result {
          try tucker2ResponseFactorization(site, graph: graph, moments: moments, input: input, ranks: ranks, bias: bias)
        }
        continue
      }
      guard respondsToFit(site), case .factor(.svd, let ranks) = plan, let oldKey = prepared.keyOf[i],
        let out = site.node.outputs.first, let moments = statistics.moments[out], moments.count > 0
      else { continue }
      guard let bias = try responseFitBias(site, graph: graph) else { continue }
      let key = oldKey + "|responses:" + out
      keyOf[i] = key
      factorizations[key] = Result { try responseFactorization(site, graph: graph, moments: moments, rank: ranks[0], bias: bias) }
    }
    return PreparedRewrite(
      planner: prepared.planner, decisions: prepared.decisions, plans: prepared.plans, keyOf: keyOf,
      factorizations: factorizations)
  }

  /// The bias a response fit corrects: the site's constant bias, zeros without one, nil when
  /// the bias is not a constant of one float per output channel (the site keeps weight fits).
  func responseFitBias(_ site: ConvSite, graph: Graph) throws -> [Float]? {
    guard let name = site.biasName else { return Array(repeating: 0, count: site.outputChannels) }
    guard let b = try graph.constant(name)?.floats(), b.count == site.outputChannels else { return nil }
    return b
  }

  /// The svd factors of `site` at `rank` fitted to its responses (`responsePCA`), with `bias`
  /// (`responseFitBias`) corrected for the mean of the discarded part. `relativeError` stays
  /// the weight error.
  /// - Throws: `ONNXError` for a malformed kernel, `DecompositionError` when the eigensolver fails.
  func responseFactorization(_ site: ConvSite, graph: Graph, moments: SecondMoments, rank: Int, bias: [Float]) throws -> Factorization {
    let kernel = try site.kernel(in: graph)
    let w = kernel.reshaped([site.outputChannels, kernel.count / site.outputChannels])
    let (factors, responseError) = try responsePCA(w, covariance: moments.covariance, rank: rank)
    let residual = zip(w.scalars, factors.reconstruct().scalars).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
    let norm = w.frobeniusNorm
    return Factorization(
      format: .svd, ranks: [rank], relativeError: norm > 0 ? residual.squareRoot() / norm : 0,
      factors: [factors], bias: responseBias(left: factors.left, bias: bias, mean: moments.mean),
      responseError: responseError, fittedTo: FitTarget.responses.rawValue)
  }

  /// The tucker2 factors of `site` at `ranks` (output, input) fitted to its responses and its
  /// input channels' second moment (`tucker2ResponseFit`), with `bias` corrected for the mean of
  /// the discarded output directions. `relativeError` stays the weight error.
  func tucker2ResponseFactorization(
    _ site: ConvSite, graph: Graph, moments: SecondMoments, input: SecondMoments, ranks: [Int], bias: [Float]
  ) throws -> Factorization {
    let kernel = try site.kernel(in: graph)
    let c = input.dimension
    let (mean, covariance) = (input.mean, input.covariance)
    // E[x xᵀ] = Cov(x) + μ μᵀ
    let second = (0..<(c * c)).map { covariance[$0] + mean[$0 / c] * mean[$0 % c] }
    let (factors, responseError) = try tucker2ResponseFit(
      kernel, outputCovariance: moments.covariance, inputSecondMoment: second, ranks: (ranks[0], ranks[1]))
    let residual = zip(kernel.scalars, factors.reconstruct().scalars).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
    let norm = kernel.frobeniusNorm
    return Factorization(
      format: .tucker2, ranks: ranks, relativeError: norm > 0 ? residual.squareRoot() / norm : 0, factors: [factors],
      bias: responseBias(left: factors.output, bias: bias, mean: moments.mean),
      responseError: responseError, fittedTo: FitTarget.responses.rawValue)
  }

  /// The cp factors of `site` at `rank`: the weight fit's (`start`) input, vertical and
  /// horizontal factors, the output factor refitted to the responses on the observed input
  /// patches (`cpResponseRefit`), and the bias restoring the mean response. `relativeError`
  /// stays the weight error.
  func cpResponseFactorization(
    _ site: ConvSite, graph: Graph, start: CPFactors, moments: SecondMoments, rank: Int, bias: [Float]
  ) throws -> Factorization {
    let kernel = try site.kernel(in: graph)
    let fit = try cpResponseRefit(start, kernel: kernel, covariance: moments.covariance, mean: moments.mean, bias: bias)
    let residual = zip(kernel.scalars, fit.factors.reconstruct().scalars).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
    let norm = kernel.frobeniusNorm
    return Factorization(
      format: .cp, ranks: [rank], relativeError: norm > 0 ? residual.squareRoot() / norm : 0, factors: fit.factors,
      bias: fit.bias, responseError: fit.responseError, fittedTo: FitTarget.responses.rawValue)
  }

  /// The spatial factors of `site` at `rank`: the weight fit's vertical factor, the horizontal
  /// one refitted to the responses on the observed input patches (`spatialResponseRefit`), and
  /// the bias restoring the mean response. `relativeError` stays the weight error.
  func spatialResponseFactorization(_ site: ConvSite, graph: Graph, moments: SecondMoments, rank: Int, bias: [Float]) throws -> Factorization {
    let kernel = try site.kernel(in: graph)
    let start = try spatialSVD(kernel, rank: rank)
    let fit = try spatialResponseRefit(start.factors, kernel: kernel, covariance: moments.covariance, mean: moments.mean, bias: bias)
    let residual = zip(kernel.scalars, fit.factors.reconstruct().scalars).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
    let norm = kernel.frobeniusNorm
    return Factorization(
      format: .spatial, ranks: [rank], relativeError: norm > 0 ? residual.squareRoot() / norm : 0, factors: fit.factors,
      bias: fit.bias, responseError: fit.responseError, fittedTo: FitTarget.responses.rawValue)
  }
}
