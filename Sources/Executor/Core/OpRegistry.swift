/// The ops the executor implements: ONNX op type → builder, for the default domain.
enum OpRegistry {
  typealias Builder = (OpBuilder) throws -> Operator

  static let builders: [String: Builder] = {
    var table: [String: Builder] = [
      "Conv": Conv.build, "ConvTranspose": ConvTranspose.build, "InstanceNormalization": InstanceNormalization.build,
      "LayerNormalization": LayerNormalization.build, "LRN": LRN.build,
      "LSTM": LSTM.build, "GRU": GRU.build, "RNN": RNN.build,
      "ArgMax": ArgExtreme.build, "ArgMin": ArgExtreme.build, "DepthToSpace": DepthToSpace.build,
      "SpaceToDepth": DepthToSpace.build, "Gemm": Gemm.build, "MatMul": MatMul.build,
      "BatchNormalization": BatchNormalization.build, "Clip": Clip.build,
      "Softmax": Softmax.build, "LogSoftmax": Softmax.build,
      "MaxPool": Pool.build, "AveragePool": Pool.build,
      "GlobalAveragePool": GlobalPool.build, "GlobalMaxPool": GlobalPool.build,
      "Sum": Variadic.build, "Mean": Variadic.build, "Max": Variadic.build, "Min": Variadic.build,
      "Concat": Concat.build, "Split": Split.build, "Slice": SliceOp.build, "Gather": Gather.build,
      "Reshape": Reshape.build, "Flatten": Flatten.build, "Transpose": Transpose.build,
      "Squeeze": Squeeze.build, "Unsqueeze": Squeeze.build, "Tile": Tile.build, "Expand": Expand.build,
      "Pad": Pad.build, "Shape": Shape.build, "Size": Shape.build, "Constant": Constant.build,
      "ConstantOfShape": ConstantOfShape.build, "Cast": Cast.build, "Identity": Identity.build,
      "Dropout": Identity.build, "Range": RangeOp.build, "Where": Where.build,
      "Resize": Resize.build, "Upsample": Resize.build,
    ]
    for op in Unary.opTypes { table[op] = Unary.build }
    for op in Binary.opTypes.keys { table[op] = Binary.build }
    for op in Reduce.opTypes { table[op] = Reduce.build }
    return table
  }()

  /// The op types the executor runs, sorted.
  static var opTypes: [String] { builders.keys.sorted() }
}
