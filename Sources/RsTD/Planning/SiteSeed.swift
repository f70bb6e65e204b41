import TensorAlgebra

/// A site's shuffle seed: the global seed mixed with the FNV-1a hash of the weight's name, so
/// seeds do not depend on site order and a shared weight gets one shuffle.
func siteSeed(_ seed: UInt64, _ weightName: String) -> UInt64 {
  var h: UInt64 = 0xcbf2_9ce4_8422_2325
  for b in weightName.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
  var g = SplitMix64(seed: seed ^ h)
  return g.next()
}
