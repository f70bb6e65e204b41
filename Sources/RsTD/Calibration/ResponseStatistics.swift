import Executor
import TensorAlgebra

/// Per-channel mean and covariance of the outputs of chosen Conv nodes, streamed from the
/// executor's hooks while it runs the original model: O(M²) memory per site whatever the
/// number of inputs. The output covariance (M × M) is what response PCA needs, and is far
/// smaller than the input-patch Gram (C·k² squared: 4,608² for a 512-channel 3×3 conv).
struct ResponseStatistics {
  /// By the Conv's output value name.
  private(set) var moments: [String: SecondMoments] = [:]

  /// The Conv outputs to watch, with their channel counts.
  let watched: [String: Int]

  /// Input-patch moments (`PatchSpec`), by the Conv's output value name.
  private(set) var patchMoments: [String: SecondMoments] = [:]
  /// The sites whose input patches to watch, by the Conv's output value name.
  let patches: [String: PatchSpec]

  init(watching watched: [String: Int], patches: [String: PatchSpec] = [:]) {
    self.watched = watched
    self.patches = patches
  }

  /// Every value to observe: the watched outputs and the watched patches' inputs.
  var observed: Set<String> { Set(watched.keys).union(patches.values.map(\.input)) }

  /// Adds one observed value `[N, M, spatial…]`; other shapes and types are ignored (a
  /// contradiction the rewrite checks elsewhere).
  mutating func add(_ name: String, _ value: TensorValue) {
    for (site, spec) in patches where spec.input == name {
      var p = patchMoments[site] ?? SecondMoments(dimension: spec.dimension)
      spec.add(value, to: &p)
      patchMoments[site] = p
    }
    guard let m = watched[name], value.shape.count >= 2, value.shape[1] == m, let floats = value.floats else { return }
    let positions = value.shape.dropFirst(2).reduce(1, *)
    var s = moments[name] ?? SecondMoments(dimension: m)
    for n in 0..<value.shape[0] {
      s.addColumns(floats, offset: n * m * positions, columns: positions)
    }
    moments[name] = s
  }
}
