import ONNX
import TensorAlgebra

/// Ready-made test models: one Conv, or a chain of Convs separated by Relu.
public enum TestModel {
  /// One layer of `chain`.
  public struct ConvLayer {
    public var name: String
    public var outputChannels: Int
    public var kernel: [Int]
    public var group: Int
    public var bias: Bool
    /// Extra attributes (strides, pads, dilations, auto_pad); `kernel_shape` and `group` are added.
    public var attributes: [Attribute]
    /// The weight; nil draws a seeded Gaussian one.
    public var weight: Tensor?

    public init(
      _ name: String, outputChannels: Int, kernel: [Int] = [3, 3], group: Int = 1, bias: Bool = true,
      attributes: [Attribute] = [], weight: Tensor? = nil
    ) {
      self.name = name
      self.outputChannels = outputChannels
      self.kernel = kernel
      self.group = group
      self.bias = bias
      self.attributes = attributes
      self.weight = weight
    }
  }

  /// ```
  /// x[1,C,8,8] ─▶ Conv "conv0" (w[M,C/g,k…], b[M]) ─▶ y
  /// ```
  /// Weight `w` and bias `b` are seeded Gaussian initializers (or `weight` if given).
  public static func conv(
    weightShape: [Int], group: Int = 1, bias: Bool = true, attributes: [Attribute] = [], weight: Tensor? = nil,
    name: String = "conv0", seed: UInt64 = 1, opset: Int = 13
  ) throws -> Model {
    let layer = ConvLayer(
      name, outputChannels: weightShape[0], kernel: Array(weightShape.dropFirst(2)), group: group, bias: bias,
      attributes: attributes, weight: weight)
    return try chain([layer], inputChannels: weightShape[1] * group, seed: seed, opset: opset)
  }

  /// ```
  /// x ─▶ Conv L0 ─▶ Relu ─▶ Conv L1 ─▶ Relu ─▶ … ─▶ Conv Ln ─▶ y
  /// ```
  /// Layer i reads `t<i>` (t0 = x) and writes `c<i>`; Relu i writes `t<i+1>`; the last Conv
  /// writes `y`. Weights are `<name>.w`, biases `<name>.b`, drawn from one seeded generator.
  /// The input is `x[1, inputChannels, 8, 8]`; the output shape is left symbolic.
  public static func chain(_ layers: [ConvLayer], inputChannels: Int, seed: UInt64 = 1, opset: Int = 13) throws -> Model {
    var b = TestGraphBuilder(opset: opset)
    var rng = SeededNormal(seed: seed)
    b.input("x", shape: [1, inputChannels, 8, 8])
    var x = "x"
    var channels = inputChannels
    for (i, l) in layers.enumerated() {
      let shape = [l.outputChannels, channels / l.group] + l.kernel
      b.initializer("\(l.name).w", l.weight ?? rng.tensor(shape))
      var inputs = [x, "\(l.name).w"]
      if l.bias {
        b.initializer("\(l.name).b", rng.tensor([l.outputChannels]))
        inputs.append("\(l.name).b")
      }
      var attributes = l.attributes + [Attribute("kernel_shape", .ints(l.kernel))]
      if l.group != 1 { attributes.append(Attribute("group", .int(l.group))) }
      let last = i == layers.count - 1
      let out = last ? "y" : "c\(i)"
      b.node("Conv", name: l.name, inputs: inputs, outputs: [out], attributes: attributes)
      if !last {
        b.node("Relu", name: "relu\(i)", inputs: [out], outputs: ["t\(i + 1)"])
        x = "t\(i + 1)"
      }
      channels = l.outputChannels
    }
    b.output("y", shape: [1, channels, nil, nil])
    return try b.model()
  }
}
