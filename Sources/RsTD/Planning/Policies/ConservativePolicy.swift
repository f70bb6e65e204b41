/// The default: input stems are kept, then `MaxErrorPolicy(spatial: 0.3, pointwise: 0.1)`.
///
/// The stem rule: a Conv reading at most `stemChannels` input channels (an RGB or grey image) is
/// kept. Stems hold few parameters and were measured to be the most sensitive layers of PP-OCR
/// (docs/cli.md, "The default policy"); the bounds were measured on PP-OCR's recogniser (1×1
/// convs collapse it at 0.2) and the digits CNN (3×3 kernels tolerate 0.3).
struct ConservativePolicy: SitePolicy {
  let bounds: MaxErrorPolicy
  /// Convs with at most this many input channels are stems. 4.
  static let stemChannels = 4

  func errorBound(_ site: ConvSite) -> Double? { bounds.errorBound(site) }

  func decide(_ context: PlanningContext, _ decisions: inout [PlanDecision?]) throws {
    for i in context.open(decisions) {
      let s = context.sites[i].site
      let channels = s.inputChannelsPerGroup * s.group
      if s.kind == .conv && channels <= ConservativePolicy.stemChannels { decisions[i] = .keep(.stem(channels)) }
    }
    try bounds.decide(context, &decisions)
  }
}
