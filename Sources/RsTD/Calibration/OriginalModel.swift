import ONNX

/// The model as it was before the rewrite, for the output check.
///
/// The check needs the original again only to back off, and it is then the last holder of the
/// weights of every rewritten layer. When the model can be read again (the CLI reads its input
/// file), it is released while the planned rewrite is compiled and measured — on a model whose
/// every layer is rewritten, that is a whole copy of its weights off the peak — and read again
/// only if ranks must back off. A model read again must be the same model (its
/// `contentFingerprint`), or the rewrite fails: a file changed meanwhile is an error, never a
/// mix of two models.
final class OriginalModel {
  private var held: Model?
  private let read: (() throws -> Model)?
  private var fingerprint: Int?

  /// - Parameter read: reads the model again as it was passed to the rewrite (before
  ///   `Rewriter.validate`, which is applied again); nil keeps `model` held throughout.
  init(_ model: Model, read: (() throws -> Model)?) {
    held = model
    self.read = read
  }

  /// The model; only before `release()`.
  var model: Model {
    guard let held else { preconditionFailure("the original model was released") }
    return held
  }

  /// Lets go of the model when it can be read again (after one pass over it for its fingerprint).
  func release() throws {
    guard read != nil, let held else { return }
    fingerprint = try held.contentFingerprint()
    self.held = nil
  }

  /// The model, read again when released.
  /// - Throws: what reading throws; `RewriteError.inputChanged` when it is not the same model.
  func get() throws -> Model {
    if let held { return held }
    guard let read, let fingerprint else { preconditionFailure("released without a way to read it again") }
    var model = try read()
    try Rewriter.validate(&model)
    guard try model.contentFingerprint() == fingerprint else { throw RewriteError.inputChanged }
    held = model
    return model
  }
}
