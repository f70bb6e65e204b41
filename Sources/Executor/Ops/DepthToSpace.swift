/// DepthToSpace (DCR or CRD mode) and SpaceToDepth on [N, C, H, W] with block size b:
/// both are a reshape, a fixed transpose and a reshape.
struct DepthToSpace: Operator {
  let blockSize: Int
  let toSpace: Bool
  let columnRowDepth: Bool

  static func build(_ b: OpBuilder) throws -> Operator {
    let size = try b.int("blocksize", default: 0)
    guard size >= 1 else { throw b.invalid("blocksize is required and must be positive") }
    let toSpace = b.node.opType == "DepthToSpace"
    let mode = toSpace ? try b.choice("mode", default: "DCR", allowed: ["DCR", "CRD"]) : "DCR"
    return DepthToSpace(blockSize: size, toSpace: toSpace, columnRowDepth: mode == "CRD")
  }

  func run(_ inputs: [TensorValue?], _ context: RunContext) throws -> [TensorValue] {
    let x = try inputs.required(0)
    guard x.shape.count == 4 else { throw OpFailure("input \(x.shape) must be [N, C, H, W]") }
    let (n, c, h, w, b) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], blockSize)
    let view: [Int], perm: [Int], shape: [Int]
    if toSpace {
      guard c % (b * b) == 0 else { throw OpFailure("channels \(c) are not divisible by blocksize² \(b * b)") }
      let d = c / (b * b)
      (view, perm) = columnRowDepth ? ([n, d, b, b, h, w], [0, 1, 4, 2, 5, 3]) : ([n, b, b, d, h, w], [0, 3, 4, 1, 5, 2])
      shape = [n, d, h * b, w * b]
    } else {
      guard h % b == 0, w % b == 0 else { throw OpFailure("spatial size \(h)×\(w) is not divisible by blocksize \(b)") }
      (view, perm) = ([n, c, h / b, b, w / b, b], [0, 3, 5, 1, 2, 4])
      shape = [n, c * b * b, h / b, w / b]
    }
    let moved = try Transpose(perm: perm).run([x.reshaped(view)], context)[0]
    return [moved.reshaped(shape)]
  }
}
