import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import Executor

/// Plan, run, hooks, liveness and compile-time errors, on small hand-built graphs checked
/// against `ReferenceEvaluator` (Double precision, obvious loops).
final class ExecutorTests: XCTestCase {
  /// Float32 sums of at most a few hundred products against a Double reference: the relative
  /// error is ~1e-6; 1e-5 leaves 10× headroom.
  let tolerance = 1e-5

  private func run(_ model: Model, _ x: Tensor, threads: Int = 1) throws -> Tensor {
    let executor = try Executor(model: model, options: ExecutorOptions(threads: threads))
    let y = try executor.run(["x": TensorValue(shape: x.shape, floats: x.scalars)])["y"]!
    return Tensor(shape: y.shape, scalars: try XCTUnwrap(y.floats))
  }

  private func reference(_ model: Model, _ x: Tensor) throws -> Tensor {
    try XCTUnwrap(ReferenceEvaluator(model).run(["x": x])["y"])
  }

  func testConvVariantsMatchTheReference() throws {
    let cases: [(String, [Int], Int, [Attribute])] = [
      ("pointwise", [8, 4, 1, 1], 1, []),
      ("3x3 padded", [6, 4, 3, 3], 1, [Attribute("pads", .ints([1, 1, 1, 1]))]),
      ("strided asymmetric pads", [5, 4, 3, 3], 1, [Attribute("strides", .ints([2, 2])), Attribute("pads", .ints([0, 1, 2, 1]))]),
      ("dilated", [4, 4, 3, 3], 1, [Attribute("dilations", .ints([2, 2])), Attribute("pads", .ints([2, 2, 2, 2]))]),
      ("grouped", [6, 2, 3, 3], 2, [Attribute("pads", .ints([1, 1, 1, 1]))]),
      ("depthwise", [4, 1, 3, 3], 4, [Attribute("auto_pad", .string("SAME_UPPER"))]),
      ("same lower strided", [4, 4, 2, 2], 1, [Attribute("auto_pad", .string("SAME_LOWER")), Attribute("strides", .ints([2, 2]))]),
      ("separable 3x1", [4, 4, 3, 1], 1, [Attribute("pads", .ints([1, 0, 1, 0]))]),
    ]
    var rng = SeededNormal(seed: 3)
    for (label, shape, group, attributes) in cases {
      let model = try TestModel.conv(weightShape: shape, group: group, attributes: attributes)
      let x = rng.tensor([1, shape[1] * group, 8, 8])
      let ours = try run(model, x), expected = try reference(model, x)
      XCTAssertEqual(ours.shape, expected.shape, label)
      let err = relativeError(ours, expected)
      XCTAssertLessThan(err, tolerance, "\(label): relative error \(err) > \(tolerance)")
    }
  }

  /// Large enough that Conv splits into column pieces and channel blocks (64 channels, 1600
  /// positions: 2 × 2 tiles per image) and MatMul into row blocks (512 rows).
  private func wideModel() throws -> (Model, Tensor) {
    var b = TestGraphBuilder(opset: 13)
    var rng = SeededNormal(seed: 9)
    b.input("x", shape: [2, 8, 40, 40])
    b.initializer("w", rng.tensor([64, 8, 3, 3]))
    b.initializer("b", rng.tensor([64]))
    b.node("Conv", name: "conv", inputs: ["x", "w", "b"], outputs: ["c"], attributes: [Attribute("pads", .ints([1, 1, 1, 1]))])
    b.node("Relu", name: "relu", inputs: ["c"], outputs: ["r"])
    b.int64Initializer("shape", [512, 400], shape: [2])
    b.node("Reshape", name: "flat", inputs: ["r", "shape"], outputs: ["f"])
    b.initializer("g", rng.tensor([400, 70]))
    b.node("MatMul", name: "mm", inputs: ["f", "g"], outputs: ["y"])
    b.output("y", shape: [512, 70])
    return (try b.model(), rng.tensor([2, 8, 40, 40]))
  }

  func testOneAndTwoThreadsGiveTheSameBits() throws {
    let (model, x) = try wideModel()
    let one = try run(model, x, threads: 1), two = try run(model, x, threads: 2), again = try run(model, x, threads: 2)
    XCTAssertEqual(one.shape, [512, 70])
    XCTAssertEqual(one.scalars.map(\.bitPattern), two.scalars.map(\.bitPattern), "thread count changed the bits")
    XCTAssertEqual(two.scalars.map(\.bitPattern), again.scalars.map(\.bitPattern), "two runs differ")
    let err = relativeError(one, try reference(model, x))
    XCTAssertLessThan(err, tolerance, "relative error \(err) against the reference")
  }

  /// Depthwise convs below `DepthwiseConv.parallelMinimum` multiply-adds run on the caller
  /// alone, larger ones in planes on the pool: either way 1 and 2 threads give the same bits.
  func testDepthwiseBitsDoNotDependOnThreadsEitherSideOfTheParallelMinimum() throws {
    var rng = SeededNormal(seed: 5)
    for channels in [16, 128] {  // 16·64·9 multiply-adds are below the minimum, 128·64·9 above
      let shape = [channels, 1, 3, 3]
      XCTAssertEqual(channels * 64 * 9 < DepthwiseConv.parallelMinimum, channels == 16)
      let model = try TestModel.conv(weightShape: shape, group: channels, attributes: [Attribute("pads", .ints([1, 1, 1, 1]))])
      let x = rng.tensor([1, channels, 8, 8])
      let one = try run(model, x, threads: 1), two = try run(model, x, threads: 2)
      XCTAssertEqual(one.scalars.map(\.bitPattern), two.scalars.map(\.bitPattern), "\(channels) channels")
      XCTAssertLessThan(relativeError(one, try reference(model, x)), tolerance, "\(channels) channels")
    }
  }

  func testObserverSeesChosenIntermediatesAsProduced() throws {
    let layers = (0..<3).map { TestModel.ConvLayer("conv\($0)", outputChannels: 4, kernel: [3, 3], attributes: [Attribute("pads", .ints([1, 1, 1, 1]))]) }
    let model = try TestModel.chain(layers, inputChannels: 3)
    var rng = SeededNormal(seed: 5)
    let x = rng.tensor([1, 3, 8, 8])
    let executor = try Executor(model: model)
    var seen: [(String, [Int])] = []
    var firstConv: TensorValue?
    let y = try executor.run(["x": TensorValue(shape: x.shape, floats: x.scalars)], observing: ["c0", "t2", "x"]) { name, value in
      seen.append((name, value.shape))
      if name == "c0" { firstConv = value }
    }
    XCTAssertEqual(seen.map(\.0), ["x", "c0", "t2"], "observed in production order")
    XCTAssertEqual(seen.map(\.1), [[1, 3, 8, 8], [1, 4, 8, 8], [1, 4, 8, 8]])
    XCTAssertNotNil(y["y"])
    // The observed first conv equals a one-layer model's output.
    let single = try TestModel.chain([layers[0]], inputChannels: 3)
    let expected = try reference(single, x)
    let observed = Tensor(shape: firstConv!.shape, scalars: firstConv!.floats!)
    XCTAssertLessThan(relativeError(observed, expected), tolerance)
    // Calibration's use: the input of every Conv.
    XCTAssertEqual(executor.plan.valuesRead(byOpType: "Conv"), ["x", "t1", "t2"])
    XCTAssertThrowsError(try executor.run(["x": TensorValue(shape: x.shape, floats: x.scalars)], observing: ["nope"])) {
      XCTAssertEqual($0 as? ExecutorError, .unknownObservedValue(name: "nope"))
    }
  }

  /// `observe` runs only the prefix the observed values need: here the tail cannot run (a
  /// Reshape to the wrong element count), so `run` fails while `observe` of the Conv output
  /// succeeds, with the bits `run` of the same prefix gives.
  func testObserveRunsOnlyThePrefixItNeeds() throws {
    func model(reshapeTo shape: [Int]) throws -> Model {
      var b = TestGraphBuilder(opset: 13)
      var rng = SeededNormal(seed: 11)
      b.input("x", shape: [1, 3, 8, 8])
      b.initializer("w", rng.tensor([4, 3, 3, 3]))
      b.node("Conv", name: "conv", inputs: ["x", "w"], outputs: ["c"], attributes: [Attribute("pads", .ints([1, 1, 1, 1]))])
      b.node("Relu", name: "relu", inputs: ["c"], outputs: ["r"])
      b.int64Initializer("shape", shape, shape: [shape.count])
      b.node("Reshape", name: "flat", inputs: ["r", "shape"], outputs: ["y"])
      b.output("y", shape: shape)
      return try b.model()
    }
    var rng = SeededNormal(seed: 12)
    let x = rng.tensor([1, 3, 8, 8])
    let feed = ["x": TensorValue(shape: x.shape, floats: x.scalars)]
    let good = try Executor(model: try model(reshapeTo: [4, 64])), broken = try Executor(model: try model(reshapeTo: [7, 5]))
    XCTAssertThrowsError(try broken.run(feed), "the tail of the broken model fails at run time")
    var full: [Float] = []
    _ = try good.run(feed, observing: ["c"]) { _, v in full = v.floats ?? [] }
    var seen: [String: [Float]] = [:]
    try broken.observe(feed, observing: ["c"]) { n, v in seen[n] = v.floats }
    XCTAssertEqual(Array(seen.keys), ["c"])
    XCTAssertEqual(full.count, 4 * 64)
    XCTAssertEqual(seen["c"]?.map(\.bitPattern), full.map(\.bitPattern), "the prefix gives the bits of a whole run")
    XCTAssertThrowsError(try broken.observe(feed, observing: ["r", "y"]) { _, _ in }, "observing the tail runs it")
  }

  /// A plan's FLOAT constants are the model's own initializer storage, not decoded copies: a
  /// caller that keeps the model (the output check) holds each weight once.
  func testConstantsShareTheModelsWeights() throws {
    let model = try TestModel.chain([TestModel.ConvLayer("conv0", outputChannels: 4, kernel: [3, 3])], inputChannels: 3)
    let plan = try Executor(model: model).plan
    let w = try XCTUnwrap(try model.graph.constant("conv0.w")).floats()
    let slot = try XCTUnwrap(plan.slotNames.slot(of: "conv0.w"))
    let constant = try XCTUnwrap(plan.constants.first { $0.slot == slot }?.value.floats)
    XCTAssertEqual(constant, w)
    XCTAssertEqual(
      constant.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) },
      w.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) })
    XCTAssertTrue(model.graph.isInitializer("conv0.w"), "the caller's model is untouched")
  }

  func testIntermediatesDieAfterTheirLastReader() throws {
    let layers = (0..<3).map { TestModel.ConvLayer("conv\($0)", outputChannels: 4, kernel: [1, 1]) }
    let plan = try Executor(model: try TestModel.chain(layers, inputChannels: 3)).plan
    XCTAssertEqual(plan.opTypes, ["Conv", "Relu", "Conv", "Relu", "Conv"])
    let freed = plan.steps.map { $0.frees.map { plan.slotNames[$0] } }
    // x dies in conv0; each conv output dies in its Relu; each Relu output in the next conv.
    XCTAssertEqual(freed, [["x"], ["c0"], ["t1"], ["c1"], ["t2"]])
    XCTAssertFalse(freed.joined().contains("y"), "a graph output is never freed")
    XCTAssertFalse(freed.joined().contains { $0.hasSuffix(".w") }, "constants live for the whole run")
  }

  /// ```
  /// Constant k ─▶ Shape ─▶ Cast ─▶ Mul(x, ·) ─▶ y      (Shape and Cast fold at compile time)
  /// ```
  func testNodesOfConstantsAreFoldedOnce() throws {
    var b = TestGraphBuilder(opset: 13)
    b.input("x", shape: [2, 3])
    b.constantNode(name: "k", output: "k", Tensor(shape: [3], scalars: [1, 2, 3]))
    b.node("Shape", name: "shape", inputs: ["k"], outputs: ["s"])
    b.node("Cast", name: "cast", inputs: ["s"], outputs: ["f"], attributes: [Attribute("to", .int(1))])
    b.node("Mul", name: "mul", inputs: ["x", "f"], outputs: ["y"])
    b.output("y", shape: [2, 3])
    let executor = try Executor(model: try b.model())
    XCTAssertEqual(executor.plan.opTypes, ["Mul"])
    XCTAssertEqual(executor.plan.constants.map { executor.plan.slotNames[$0.slot] }, ["f"], "k and s are dropped")
    var observed: [String] = []
    let y = try executor.run(["x": TensorValue(shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])], observing: ["f"]) { n, _ in observed.append(n) }
    XCTAssertEqual(y["y"]?.floats, [3, 6, 9, 12, 15, 18])
    XCTAssertEqual(observed, ["f"], "a folded value is still observable")
    XCTAssertThrowsError(try executor.run(["x": TensorValue(shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])], observing: ["s"])) {
      XCTAssertEqual($0 as? ExecutorError, .unknownObservedValue(name: "s"), "s was folded away; observing it cannot succeed silently")
    }
    // canObserve (built once at compile) agrees with what a run accepts.
    XCTAssertEqual(["x", "f", "y", "s", "k", "nope"].map(executor.plan.canObserve), [true, true, true, false, false, false])
  }

  /// ```
  /// Constant k ─▶ Mul(x, k) ─▶ Shape(k) ─▶ Cast ─▶ Add(·, ·) ─▶ y    (k read before and by folding)
  /// ```
  /// Folding drops a value after its last folded reader only when no kept step reads it.
  func testFoldingKeepsConstantsThatRunningStepsRead() throws {
    var b = TestGraphBuilder(opset: 13)
    b.input("x", shape: [3])
    b.constantNode(name: "k", output: "k", Tensor(shape: [3], scalars: [1, 2, 3]))
    b.node("Mul", name: "mul", inputs: ["x", "k"], outputs: ["m"])
    b.node("Shape", name: "shape", inputs: ["k"], outputs: ["s"])
    b.node("Cast", name: "cast", inputs: ["s"], outputs: ["f"], attributes: [Attribute("to", .int(1))])
    b.node("Add", name: "add", inputs: ["m", "f"], outputs: ["y"])
    b.output("y", shape: [3])
    let executor = try Executor(model: try b.model())
    XCTAssertEqual(executor.plan.opTypes, ["Mul", "Add"])
    XCTAssertEqual(executor.plan.constants.map { executor.plan.slotNames[$0.slot] }.sorted(), ["f", "k"])
    let y = try executor.run(["x": TensorValue(shape: [3], floats: [1, 1, 2])])
    XCTAssertEqual(y["y"]?.floats, [4, 5, 9])  // x·k + 3
  }

  /// ```
  /// w[8] ─▶ Tile(·, [32]) ─▶ Add(x, ·) ─▶ Add(·, Reshape(MatMul(u[16,1], r[1,16]), [256])) ─▶ y
  /// ```
  /// With `foldsReplicatedConstants` off the Tile (256 copies of 8 values) stays in the plan and
  /// runs with every run; the MatMul's group also grows (256 from 32) but computes, and folds.
  /// The outputs are the same either way.
  func testReplicatedConstantsAreLeftToTheRunWhenAsked() throws {
    var b = TestGraphBuilder(opset: 13)
    b.input("x", shape: [256])
    b.initializer("w", Tensor(shape: [8], scalars: (0..<8).map { Float($0) }))
    b.int64Initializer("reps", [32], shape: [1])
    b.initializer("u", Tensor(shape: [16, 1], scalars: (0..<16).map { Float($0) / 4 }))
    b.initializer("r", Tensor(shape: [1, 16], scalars: (0..<16).map { Float($0 + 1) }))
    b.int64Initializer("flat", [256], shape: [1])
    b.node("Tile", name: "tile", inputs: ["w", "reps"], outputs: ["t"])
    b.node("Add", name: "add1", inputs: ["x", "t"], outputs: ["a"])
    b.node("MatMul", name: "outer", inputs: ["u", "r"], outputs: ["m"])
    b.node("Reshape", name: "flatten", inputs: ["m", "flat"], outputs: ["n"])
    b.node("Add", name: "add2", inputs: ["a", "n"], outputs: ["y"])
    b.output("y", shape: [256])
    let x = TensorValue(shape: [256], floats: (0..<256).map { Float($0 % 7) })
    let folding = try Executor(model: try b.model())
    let running = try Executor(model: try b.model(), options: ExecutorOptions(foldsReplicatedConstants: false))
    XCTAssertEqual(folding.plan.opTypes, ["Add", "Add"])
    XCTAssertEqual(running.plan.opTypes, ["Tile", "Add", "Add"])
    let held = { (e: Executor) in e.plan.constants.map { e.plan.slotNames[$0.slot] }.sorted() }
    XCTAssertEqual(held(folding), ["n", "t"])
    XCTAssertEqual(held(running), ["n", "reps", "w"], "the Tile's sources stay, its 256 values do not")
    let expected: [Float] = (0..<256).map { (i: Int) -> Float in
      let xi = Float(i % 7), ti = Float(i % 8), ni = Float(i / 16) / 4 * Float(i % 16 + 1)
      return xi + ti + ni
    }
    XCTAssertEqual(try folding.run(["x": x])["y"]?.floats, expected)
    XCTAssertEqual(try running.run(["x": x])["y"]?.floats, expected)
  }

  /// ```
  /// Constant k_i ─▶ Mul(k_i, k_i) ─▶ Neg ─▶ Add(acc, ·)    for i < 2·batchGroups + 12 (groups that fold)
  /// ```
  /// Folding on two threads gives the plan one thread gives: same steps, same constants, same bits.
  func testFoldingOnThreadsGivesTheSamePlan() throws {
    var b = TestGraphBuilder(opset: 13)
    b.input("x", shape: [3])
    var acc = "x"
    var expected: [Float] = [0.5, -1, 2]
    let groups = 2 * ConstantFolder.batchGroups + 12  // three batches
    for i in 0..<groups {
      let k: [Float] = [Float(i) * 0.1, 1 + Float(i), -Float(i) / 7]
      b.constantNode(name: "k\(i)", output: "k\(i)", Tensor(shape: [3], scalars: k))
      b.node("Mul", name: "sq\(i)", inputs: ["k\(i)", "k\(i)"], outputs: ["s\(i)"])
      b.node("Neg", name: "neg\(i)", inputs: ["s\(i)"], outputs: ["n\(i)"])
      b.node("Add", name: "add\(i)", inputs: [acc, "n\(i)"], outputs: [i == groups - 1 ? "y" : "a\(i)"])
      acc = "a\(i)"
      expected = zip(expected, k).map { $0 - $1 * $1 }
    }
    b.output("y", shape: [3])
    let plans = try [1, 2].map { try Executor(model: try b.model(), options: ExecutorOptions(threads: $0)).plan }
    XCTAssertEqual(plans[0].opTypes, [String](repeating: "Add", count: groups))
    XCTAssertEqual(plans[1].opTypes, plans[0].opTypes)
    XCTAssertEqual(plans[1].constants.map(\.slot), plans[0].constants.map(\.slot))
    XCTAssertEqual(plans[1].constants.map(\.value.floats), plans[0].constants.map(\.value.floats))
    XCTAssertEqual(plans[0].constants.count, groups, "k_i and s_i are dropped once read")
    let y = try Executor(model: try b.model(), options: ExecutorOptions(threads: 2)).run(["x": TensorValue(shape: [3], floats: [0.5, -1, 2])])["y"]
    XCTAssertEqual(y?.floats, expected)
  }

  /// Two groups fold, each with a step that cannot run (6 values reshaped to 4): the error names
  /// the failing step earliest in order, whichever group it is in and however many threads fold.
  func testAFoldingFailureNamesTheEarliestFailingStep() throws {
    func model(order: [String]) throws -> Model {
      var b = TestGraphBuilder(opset: 13)
      b.input("x", shape: [6])
      b.initializer("a", Tensor(shape: [6], scalars: [1, 2, 3, 4, 5, 6]))
      b.initializer("c", Tensor(shape: [6], scalars: [6, 5, 4, 3, 2, 1]))
      b.int64Initializer("bad", [4], shape: [1])
      for name in order {
        switch name {
        case "A1": b.node("Neg", name: "A1", inputs: ["a"], outputs: ["a1"])
        case "A2": b.node("Reshape", name: "A2", inputs: ["a1", "bad"], outputs: ["a2"])
        default: b.node("Reshape", name: "B1", inputs: ["c", "bad"], outputs: ["b1"])
        }
      }
      b.node("Add", name: "use", inputs: ["x", "a2"], outputs: ["u"])
      b.node("Add", name: "out", inputs: ["u", "b1"], outputs: ["y"])
      b.output("y", shape: [6])
      return try b.model()
    }
    for (order, first) in [(["A1", "B1", "A2"], "B1"), (["A1", "A2", "B1"], "A2"), (["B1", "A1", "A2"], "B1")] {
      for threads in [1, 2] {
        XCTAssertThrowsError(try Executor(model: try model(order: order), options: ExecutorOptions(threads: threads)), "\(order)") {
          guard case .runtime(let node, _, _)? = $0 as? ExecutorError else { return XCTFail("\($0)") }
          XCTAssertEqual(node, first, "\(order) on \(threads) thread(s)")
        }
      }
    }
  }

  /// ```
  /// A1 = Reshape(a, [4]) ✗ · G_i = Neg(c_i), i < 70, G_0 = Reshape(c_0, [4]) ✗ · A2 = Neg(A1) · Add(x, ·)…
  /// ```
  /// Groups run in batches as they complete (`ConstantFolder.batchGroups`): G_0's batch runs and
  /// fails before A (started first, completed last) does. The error still names A1, the failing
  /// step earliest in order.
  func testAFoldingFailureInALaterBatchIsStillReportedFirst() throws {
    var b = TestGraphBuilder(opset: 13)
    b.input("x", shape: [6])
    b.initializer("a", Tensor(shape: [6], scalars: [1, 2, 3, 4, 5, 6]))
    b.int64Initializer("bad", [4], shape: [1])
    b.node("Reshape", name: "A1", inputs: ["a", "bad"], outputs: ["a1"])
    let groups = ConstantFolder.batchGroups + 6
    for i in 0..<groups {
      b.initializer("c\(i)", Tensor(shape: [6], scalars: [Float](repeating: Float(i), count: 6)))
      if i == 0 {
        b.node("Reshape", name: "G0", inputs: ["c0", "bad"], outputs: ["g0"])
      } else {
        b.node("Neg", name: "G\(i)", inputs: ["c\(i)"], outputs: ["g\(i)"])
      }
    }
    b.node("Neg", name: "A2", inputs: ["a1"], outputs: ["a2"])
    var acc = "x"
    for (i, v) in ((0..<groups).map { "g\($0)" } + ["a2"]).enumerated() {
      b.node("Add", name: "add\(i)", inputs: [acc, v], outputs: ["s\(i)"])
      acc = "s\(i)"
    }
    b.output(acc, shape: [6])
    for threads in [1, 2] {
      XCTAssertThrowsError(try Executor(model: try b.model(), options: ExecutorOptions(threads: threads))) {
        guard case .runtime(let node, _, _)? = $0 as? ExecutorError else { return XCTFail("\($0)") }
        XCTAssertEqual(node, "A1", "on \(threads) thread(s)")
      }
    }
  }

  /// ```
  /// Tile(w_i, [4]) ─▶ Add(acc, ·)    for i < batchGroups + 6 (groups that only replicate)
  /// ```
  /// With `foldsReplicatedConstants` off, every Tile runs with the run: the steps of groups from
  /// several batches go back into the plan at their places, and the outputs are the folded plan's.
  func testReplicatingGroupsOfEveryBatchKeepTheirPlaceInOrder() throws {
    var b = TestGraphBuilder(opset: 13)
    b.input("x", shape: [8])
    b.int64Initializer("reps", [4], shape: [1])
    let groups = ConstantFolder.batchGroups + 6
    var acc = "x"
    var expected = [Float](repeating: 1, count: 8)
    for i in 0..<groups {
      let w: [Float] = [Float(i), -Float(i) / 2]
      b.initializer("w\(i)", Tensor(shape: [2], scalars: w))
      b.node("Tile", name: "tile\(i)", inputs: ["w\(i)", "reps"], outputs: ["t\(i)"])
      b.node("Add", name: "add\(i)", inputs: [acc, "t\(i)"], outputs: ["a\(i)"])
      acc = "a\(i)"
      expected = expected.enumerated().map { $1 + w[$0 % 2] }
    }
    b.output(acc, shape: [8])
    let x = TensorValue(shape: [8], floats: [Float](repeating: 1, count: 8))
    for threads in [1, 2] {
      let options = ExecutorOptions(threads: threads, foldsReplicatedConstants: false)
      let running = try Executor(model: try b.model(), options: options)
      XCTAssertEqual(running.plan.opTypes, [[String]](repeating: ["Tile", "Add"], count: groups).flatMap { $0 })
      XCTAssertEqual(try running.run(["x": x])[acc]?.floats, expected)
    }
    let folding = try Executor(model: try b.model())
    XCTAssertEqual(folding.plan.opTypes, [String](repeating: "Add", count: groups))
    XCTAssertEqual(try folding.run(["x": x])[acc]?.floats, expected)
  }

  /// The element limit holds in folding on every thread (it is task-local; the pool's threads
  /// are not tasks): 24 groups fold, the last makes 64 values under a limit of 50.
  func testTheElementLimitHoldsOnEveryFoldingThread() throws {
    var b = TestGraphBuilder(opset: 13)
    b.input("x", shape: [1])
    var acc = "x"
    for i in 0..<24 {
      b.int64Initializer("shape\(i)", [i == 23 ? 64 : 2], shape: [1])
      b.node("ConstantOfShape", name: "fill\(i)", inputs: ["shape\(i)"], outputs: ["z\(i)"])
      b.node("ReduceSum", name: "sum\(i)", inputs: ["z\(i)"], outputs: ["r\(i)"], attributes: [Attribute("keepdims", .int(1))])
      b.node("Add", name: "add\(i)", inputs: [acc, "r\(i)"], outputs: [i == 23 ? "y" : "a\(i)"])
      acc = "a\(i)"
    }
    b.output("y", shape: [1])
    for threads in [1, 2] {
      XCTAssertThrowsError(try Executor(model: try b.model(), options: ExecutorOptions(threads: threads, maxElements: 50))) {
        guard case .unsupported(let node, _, _)? = $0 as? ExecutorError else { return XCTFail("\($0)") }
        XCTAssertEqual(node, "fill23")
      }
    }
  }

  func testExtremeIndicesAndSizesFailCleanly() throws {
    // x[:, ::-1] written with INT64_MAX / INT64_MIN bounds, as exporters do.
    var b = TestGraphBuilder(opset: 13)
    b.input("x", shape: [2, 3])
    b.int64Initializer("starts", [Int.max], shape: [1])
    b.int64Initializer("ends", [Int.min], shape: [1])
    b.int64Initializer("axes", [1], shape: [1])
    b.int64Initializer("steps", [-1], shape: [1])
    b.node("Slice", name: "flip", inputs: ["x", "starts", "ends", "axes", "steps"], outputs: ["y"])
    b.output("y", shape: [2, 3])
    let y = try Executor(model: try b.model()).run(["x": TensorValue(shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])])["y"]
    XCTAssertEqual(y?.floats, [3, 2, 1, 6, 5, 4])

    // A constant shape with 2^80 elements is refused when folded, not allocated.
    var c = TestGraphBuilder(opset: 13)
    c.input("x", shape: [1])
    c.int64Initializer("shape", [1 << 40, 1 << 40], shape: [2])
    c.node("ConstantOfShape", name: "huge", inputs: ["shape"], outputs: ["z"])
    c.node("Add", name: "add", inputs: ["x", "z"], outputs: ["y"])
    c.output("y", shape: [nil, nil])
    XCTAssertThrowsError(try Executor(model: try c.model())) {
      XCTAssertEqual(
        "\($0)", "node 'huge' (ConstantOfShape): constant inputs: shape [1099511627776, 1099511627776] has too many elements.")
    }
  }

  /// A spec violation at run time is the model's fault (`runtime`); a tensor beyond the
  /// executor's element limit is the executor's (`unsupported`): the rewrite refuses a model
  /// for the first and only falls back to weight error for the second.
  func testRunTimeFailuresSayWhoseFaultTheyAre() throws {
    var b = TestGraphBuilder(opset: 13)
    b.input("x", shape: [2, 3])
    b.input("w", shape: [4, 5])
    b.node("MatMul", name: "mm", inputs: ["x", "w"], outputs: ["y"])
    b.output("y", shape: [2, 5])
    let mm = try Executor(model: try b.model())
    XCTAssertThrowsError(try mm.run(["x": TensorValue(shape: [2, 3], floats: [Float](repeating: 1, count: 6)),
                                     "w": TensorValue(shape: [4, 5], floats: [Float](repeating: 1, count: 20))])) {
      guard case .runtime(node: "mm", op: "MatMul", _)? = $0 as? ExecutorError else { return XCTFail("\($0)") }
    }
    var t = TestGraphBuilder(opset: 13)
    t.input("x", shape: [2, 3])
    t.int64Initializer("reps", [4, 4], shape: [2])
    t.node("Tile", name: "tile", inputs: ["x", "reps"], outputs: ["y"])
    t.output("y", shape: [8, 12])
    let tile = try Executor(model: try t.model(), options: ExecutorOptions(threads: 1, maxElements: 50))
    XCTAssertThrowsError(try tile.run(["x": TensorValue(shape: [2, 3], floats: [Float](repeating: 1, count: 6))])) {
      guard case .unsupported(node: "tile", op: "Tile", let detail)? = $0 as? ExecutorError else { return XCTFail("\($0)") }
      XCTAssertTrue(detail.contains("over the executor's limit of 50"), detail)
    }
  }

  func testUnsupportedOpIsReportedAtCompileTime() throws {
    var b = TestGraphBuilder(opset: 13)
    b.input("x", shape: [1, 2])
    b.node("Relu", name: "ok", inputs: ["x"], outputs: ["r"])
    b.node("Frobnicate", name: "weird", inputs: ["r"], outputs: ["y"])
    b.output("y", shape: [1, 2])
    XCTAssertThrowsError(try Executor(model: try b.model())) { error in
      XCTAssertEqual(error as? ExecutorError, .unsupportedOp(node: "weird", op: "Frobnicate", domain: ""))
      XCTAssertEqual("\(error)", "node 'weird': op Frobnicate is not supported by the executor.")
    }
  }

  func testUnknownAttributeAndUnsupportedValueAreReported() throws {
    let bogus = try TestModel.conv(weightShape: [2, 2, 1, 1], attributes: [Attribute("bogus", .int(1))])
    XCTAssertThrowsError(try Executor(model: bogus)) {
      XCTAssertEqual($0 as? ExecutorError, .unsupported(node: "conv0", op: "Conv", detail: "attribute 'bogus'"))
    }
    var b = TestGraphBuilder(opset: 13)
    b.input("x", shape: [1, 2])
    b.int64Initializer("pads", [0, 1, 0, 1], shape: [4])
    b.node("Pad", name: "pad", inputs: ["x", "pads"], outputs: ["y"], attributes: [Attribute("mode", .string("wrap"))])
    b.output("y", shape: [1, 4])
    XCTAssertThrowsError(try Executor(model: try b.model())) {
      XCTAssertEqual("\($0)", "node 'pad' (Pad): mode='wrap' is not supported by the executor.")
    }
  }

  func testUnsupportedOpsetIsReported() throws {
    let model = try TestModel.conv(weightShape: [2, 2, 1, 1], opset: 30)
    XCTAssertThrowsError(try Executor(model: model)) {
      XCTAssertEqual($0 as? ExecutorError, .unsupportedOpset(version: 30, supported: ExecutionPlan.supportedOpsets))
    }
  }

  func testInputsAreChecked() throws {
    let executor = try Executor(model: try TestModel.conv(weightShape: [2, 2, 1, 1]))
    XCTAssertThrowsError(try executor.run([:])) { XCTAssertEqual($0 as? ExecutorError, .missingInput(name: "x")) }
    let x = TensorValue(shape: [1, 2, 8, 8], floats: [Float](repeating: 1, count: 128))
    XCTAssertThrowsError(try executor.run(["x": x, "extra": x])) { XCTAssertEqual($0 as? ExecutorError, .unknownInput(name: "extra")) }
    let wrong = TensorValue(shape: [1, 3, 8, 8], floats: [Float](repeating: 1, count: 192))
    XCTAssertThrowsError(try executor.run(["x": wrong])) { error in
      guard case .runtime(let node, let op, _)? = error as? ExecutorError else { return XCTFail("\(error)") }
      XCTAssertEqual([node, op], ["conv0", "Conv"])
    }
  }

  func testFloat16InputsAreComputedAsFloat() throws {
    let model = try TestModel.conv(weightShape: [2, 2, 1, 1])
    var rng = SeededNormal(seed: 2)
    let x = rng.tensor([1, 2, 8, 8])
    let half = x.scalars.map { HalfPrecision.float(float16Bits: HalfPrecision.float16Bits($0)) }
    let executor = try Executor(model: model)
    let y = try executor.run(["x": TensorValue(elementType: .float16, shape: x.shape, storage: .floats(half))])["y"]!
    XCTAssertEqual(y.elementType, .float)
    let expected = try reference(model, Tensor(shape: x.shape, scalars: half))
    XCTAssertLessThan(relativeError(Tensor(shape: y.shape, scalars: y.floats!), expected), tolerance)
  }
}

/// `Executor.resume(at:values:)`: the steps from a graph position on, fed the values live there.
final class ExecutorResumeTests: XCTestCase {
  /// x → Conv a → Relu (r1) → Conv b → Relu (r2) → Add(r2, r1) (s) → Conv c → y: positions
  /// 0 a, 1 ra, 2 b, 3 rb, 4 skip, 5 c. Convs followed by Relu run fused.
  private func model() throws -> Model {
    var b = TestGraphBuilder(opset: 13)
    var g = SeededNormal(seed: 21)
    b.input("x", shape: [1, 3, 6, 6])
    b.initializer("a.w", g.tensor([4, 3, 3, 3]))
    b.initializer("b.w", g.tensor([4, 4, 3, 3]))
    b.initializer("c.w", g.tensor([2, 4, 1, 1]))
    let same = [Attribute("kernel_shape", .ints([3, 3])), Attribute("pads", .ints([1, 1, 1, 1]))]
    b.node("Conv", name: "a", inputs: ["x", "a.w"], outputs: ["a_out"], attributes: same)
    b.node("Relu", name: "ra", inputs: ["a_out"], outputs: ["r1"])
    b.node("Conv", name: "b", inputs: ["r1", "b.w"], outputs: ["b_out"], attributes: same)
    b.node("Relu", name: "rb", inputs: ["b_out"], outputs: ["r2"])
    b.node("Add", name: "skip", inputs: ["r2", "r1"], outputs: ["s"])
    b.node("Conv", name: "c", inputs: ["s", "c.w"], outputs: ["y"], attributes: [Attribute("kernel_shape", .ints([1, 1]))])
    b.output("y", shape: [1, 2, 6, 6])
    return try b.model()
  }

  func testAResumedRunGivesTheBitsOfAWholeOne() throws {
    let executor = try Executor(model: try model())
    var g = SeededNormal(seed: 4)
    let x = ["x": TensorValue(shape: [1, 3, 6, 6], floats: g.tensor([1, 3, 6, 6]).scalars)]
    var live: [String: TensorValue] = [:]
    try executor.observe(x, observing: ["r1", "r2"]) { live[$0] = $1 }
    let whole = try XCTUnwrap(try executor.run(x)["y"]?.floats)
    // From b on (r1 live), from the skip on (r1 and r2 live), and past the end (y given).
    let fromB = try executor.resume(at: 2, values: ["r1": live["r1"]!])
    let fromSkip = try executor.resume(at: 4, values: live)
    XCTAssertEqual(try XCTUnwrap(fromB["y"]?.floats).map(\.bitPattern), whole.map(\.bitPattern))
    XCTAssertEqual(try XCTUnwrap(fromSkip["y"]?.floats).map(\.bitPattern), whole.map(\.bitPattern))
    let y = TensorValue(shape: [1, 2, 6, 6], floats: whole)
    XCTAssertEqual(try executor.resume(at: 6, values: ["y": y])["y"]?.floats, whole)
    // Another r2 (a changed stretch before the skip) gives another y.
    var changed = live
    changed["r2"] = TensorValue(shape: [1, 4, 6, 6], floats: live["r2"]!.floats!.map { $0 + 1 })
    XCTAssertNotEqual(try executor.resume(at: 4, values: changed)["y"]?.floats, whole)
  }

  func testAResumeThatLacksAValueOrWouldRemakeOneThrowsBeforeRunning() throws {
    let executor = try Executor(model: try model())
    var g = SeededNormal(seed: 4)
    let r = TensorValue(shape: [1, 4, 6, 6], floats: g.tensor([1, 4, 6, 6]).scalars)
    XCTAssertThrowsError(try executor.resume(at: 4, values: ["r2": r])) { error in
      XCTAssertEqual("\(error)", "cannot resume the run: node 'skip' reads 'r1', which is not given.")
    }
    XCTAssertThrowsError(try executor.resume(at: 2, values: ["r1": r, "r2": r])) { error in
      XCTAssertEqual("\(error)", "cannot resume the run: node 'b' would make the given value 'r2' again.")
    }
    XCTAssertThrowsError(try executor.resume(at: 6, values: ["s": r])) { error in
      XCTAssertEqual("\(error)", "cannot resume the run: the graph output 'y' is neither given nor made after position 6.")
    }
  }
}
