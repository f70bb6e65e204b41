import ONNX
import TensorAlgebra

extension Planner {
  /// `fit` as it will be written under `--weights`: its chain emitted into a scratch graph (the
  /// same deterministic emission the rewriter then does), its relative error measured on the
  /// kernel the stored weights rebuild, and the per-weight storage described. Unchanged under fp32.
  ///
  /// Measured here, before the rank policy's bound is checked, so that the bound includes the
  /// quantization error.
  func stored(_ fit: Factorization, format: any ConvFormat, site: ConvSite, kernel: Tensor) throws -> Factorization {
    let storage = SiteStorage(options, weight: site.weightName, elementType: site.elementType, opset: opset)
    var result = fit
    guard storage.storage != .fp32 else {
      if storage.reason != nil { result.storage = storage.description([]) }
      return result
    }
    var e = ChainEmitter(graph: Graph(), site: site, factorKey: "scratch", shared: [:], storage: storage.storage)
    try format.emit(fit, into: &e)
    let (w, reference) = format.storedKernel(e.stored, of: fit, site: site, kernel: kernel)
    let norm = reference.frobeniusNorm
    result.relativeError = norm > 0 ? squaredDistance(w.scalars, reference.scalars).squareRoot() / norm : 0
    result.lowRankError = fit.relativeError
    result.storage = storage.description(e.storageNotes)
    return result
  }
}
