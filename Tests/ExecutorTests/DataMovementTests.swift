import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import Executor

/// The data-movement fast paths (Transpose's strided walk, Gather's row copies, integer ops by a
/// scalar, small convs on the caller alone) against obvious loops, and a reconstructed kernel's
/// shuffle indices folded at compile time against `EntryShuffle.gatherIndices()`.
final class DataMovementTests: XCTestCase {
  private let context = RunContext(threads: 1)

  /// `numpy.transpose` by the definition: output index → input index, one division per axis.
  private func referenceTranspose(_ x: [Int64], shape: [Int], perm: [Int]) -> [Int64] {
    let out = perm.map { shape[$0] }
    let inStrides = Axes.strides(shape), outStrides = Axes.strides(out)
    return (0..<x.count).map { o in
      var offset = 0
      for d in out.indices { offset += (o / outStrides[d]) % out[d] * inStrides[perm[d]] }
      return x[offset]
    }
  }

  func testTransposeMatchesTheDefinitionForEveryPermutationOfFourAxes() throws {
    let shape = [2, 3, 1, 4]
    let x = TensorValue(shape: shape, integers: (0..<24).map { Int64($0 * 7 + 1) })
    var perms: [[Int]] = [[]]
    for _ in 0..<4 { perms = perms.flatMap { p in (0..<4).filter { !p.contains($0) }.map { p + [$0] } } }
    XCTAssertEqual(perms.count, 24)
    for perm in perms {
      let y = try Transpose(perm: perm).run([x], context)[0]
      XCTAssertEqual(y.shape, perm.map { shape[$0] }, "\(perm)")
      XCTAssertEqual(y.integers, referenceTranspose(x.integers!, shape: shape, perm: perm), "\(perm)")
    }
    let empty = try Transpose(perm: [1, 0]).run([TensorValue(shape: [0, 3], floats: [])], context)[0]
    XCTAssertEqual(empty.shape, [3, 0])
    XCTAssertEqual(empty.floats, [])
  }

  func testGatherAlongAnInnerAxisCopiesWholeRows() throws {
    // x[2, 3, 2]: gather axis 1 with [2, -3, 2] → rows (0,2) (0,0) (0,2) (1,2) (1,0) (1,2).
    let x = TensorValue(shape: [2, 3, 2], floats: (0..<12).map(Float.init))
    let y = try Gather(axis: 1).run([x, TensorValue(shape: [3], integers: [2, -3, 2])], context)[0]
    XCTAssertEqual(y.shape, [2, 3, 2])
    XCTAssertEqual(y.floats, [4, 5, 0, 1, 4, 5, 10, 11, 6, 7, 10, 11])
    // Axis 0 of a vector (one value per run) and 2-D indices.
    let v = TensorValue(shape: [4], integers: [10, 11, 12, 13])
    let z = try Gather(axis: 0).run([v, TensorValue(shape: [2, 2], integers: [3, 0, -1, 1])], context)[0]
    XCTAssertEqual(z.shape, [2, 2])
    XCTAssertEqual(z.integers, [13, 10, 13, 11])
    XCTAssertThrowsError(try Gather(axis: 1).run([x, TensorValue(shape: [1], integers: [3])], context))
  }

  func testIntegerOpsByAScalarMatchTheBroadcastPath() throws {
    let x = TensorValue(shape: [2, 3], integers: [-7, -1, 0, 5, 9, Int64.max])
    let cases: [(Binary.Kind, Int64, [Int64])] = [
      (.add, 3, [-4, 2, 3, 8, 12, Int64.min + 2]),  // wraps, as the broadcast path
      (.sub, 3, [-10, -4, -3, 2, 6, Int64.max - 3]),
      (.mul, -2, [14, 2, 0, -10, -18, 2]),
      (.mod(fmod: false), 4, [1, 3, 0, 1, 1, 3]),  // Python's %: the divisor's sign
      (.mod(fmod: false), -4, [-3, -1, 0, -3, -3, -1]),
      (.mod(fmod: true), 4, [-3, -1, 0, 1, 1, 3]),  // C's %: the dividend's sign
    ]
    for (kind, y, expected) in cases {
      for scalarShape in [[Int](), [1], [1, 1]] {
        let r = try Binary(kind: kind).run([x, TensorValue(shape: scalarShape, integers: [y])], context)[0]
        XCTAssertEqual(r.integers, expected, "\(kind) \(y) shape \(scalarShape)")
        XCTAssertEqual(r.shape, [2, 3], "\(kind) \(y) shape \(scalarShape)")
      }
    }
    // A [1]-shaped scalar against a [3, 1, 1] tensor broadcasts to [3, 1, 1]; a [2]-shaped one does not qualify.
    let col = try Binary(kind: .mul).run([TensorValue(shape: [3, 1, 1], integers: [1, 2, 3]), TensorValue(shape: [1, 1, 1, 1], integers: [5])], context)[0]
    XCTAssertEqual(col.shape, [1, 3, 1, 1])
    XCTAssertEqual(col.integers, [5, 10, 15])
    XCTAssertThrowsError(try Binary(kind: .mod(fmod: false)).run([x, TensorValue(shape: [], integers: [0])], context))
  }

  /// Mod by a positive scalar below 2³² takes a reciprocal instead of a division for dividends
  /// in 0..<2³²; every remainder must equal Swift's `%` (C's and Python's, as the case may be),
  /// at the edges of that range and outside it.
  func testModByAScalarMatchesDivisionAtTheEdgesOfTheReciprocalPath() throws {
    let big = Int64(UInt32.max)
    let divisors: [Int64] = [1, 2, 3, 7, 2304, 65_535, 65_536, 1 << 31, big - 1, big, big + 1, -5]
    var checked = 0
    for y in divisors {
      var xs: [Int64] = [0, 1, 2, y - 1, y, y + 1, 2 * y - 1, 5_306_113, big - 1, big, big + 1, -1, -y, .max, .min + 1]
      xs += (0..<64).map { Int64($0) * 67_108_859 % (big + 1) }  // spread over 0..<2³²
      let x = TensorValue(shape: [xs.count], integers: xs)
      for fmod in [false, true] {
        let r = try Binary(kind: .mod(fmod: fmod)).run([x, TensorValue(shape: [], integers: [y])], context)[0]
        let expected = xs.map { v -> Int64 in
          let t = v % y
          return fmod || t == 0 || (t < 0) == (y < 0) ? t : t + y
        }
        XCTAssertEqual(r.integers, expected, "divisor \(y), fmod \(fmod)")
        checked += 1
      }
    }
    XCTAssertEqual(checked, 24)
  }

  /// The index subgraph the reconstructed layout emits (Range, then per step Mul/Add/Mod or
  /// Reshape/Transpose/Reshape), folded at compile time, gives the shuffle's gather indices.
  func testShuffleIndicesFoldToTheEntryShufflesGatherIndices() throws {
    let shape = [16, 16, 3, 3], n = 16 * 16 * 9
    let shuffle = EntryShuffle(shape: shape, seed: 20261130)
    var b = TestGraphBuilder(opset: 13)
    b.input("x", shape: [n], type: .float)
    b.int64Initializer("zero", [0], shape: [])
    b.int64Initializer("one", [1], shape: [])
    b.int64Initializer("n", [n], shape: [])
    b.int64Initializer("flat", [n], shape: [1])
    b.node("Range", name: "range", inputs: ["zero", "n", "one"], outputs: ["g"])
    var g = "g"
    for (i, step) in shuffle.steps.enumerated() {
      switch step {
      case .affine(let a, let c):
        b.int64Initializer("a\(i)", [a], shape: [])
        b.int64Initializer("b\(i)", [c], shape: [])
        b.node("Mul", name: "mul\(i)", inputs: [g, "a\(i)"], outputs: ["m\(i)"])
        b.node("Add", name: "add\(i)", inputs: ["m\(i)", "b\(i)"], outputs: ["s\(i)"])
        b.node("Mod", name: "mod\(i)", inputs: ["s\(i)", "n"], outputs: ["g\(i)"])
      case .transpose(let dims, let perm):
        b.int64Initializer("d\(i)", dims, shape: [dims.count])
        b.node("Reshape", name: "reshape\(i)", inputs: [g, "d\(i)"], outputs: ["r\(i)"])
        b.node("Transpose", name: "transpose\(i)", inputs: ["r\(i)"], outputs: ["t\(i)"], attributes: [Attribute("perm", .ints(perm))])
        b.node("Reshape", name: "flatten\(i)", inputs: ["t\(i)", "flat"], outputs: ["g\(i)"])
      }
      g = "g\(i)"
    }
    b.node("Gather", name: "gather", inputs: ["x", g], outputs: ["y"], attributes: [Attribute("axis", .int(0))])
    b.output("y", shape: [n])
    let executor = try Executor(model: try b.model())
    XCTAssertEqual(executor.plan.opTypes, ["Gather"], "the index subgraph folds at compile time")
    let x = (0..<n).map { Float($0) }
    let y = try XCTUnwrap(executor.run(["x": TensorValue(shape: [n], floats: x)])["y"]?.floats)
    XCTAssertEqual(y.map { Int($0) }, shuffle.gatherIndices())
  }

  /// Convs below `Conv.parallelMinimum` multiply-adds run on the caller alone, larger ones in
  /// pieces on the pool: either way 1 and 2 threads give the same bits.
  func testGroupedConvBitsDoNotDependOnThreadsEitherSideOfTheParallelMinimum() throws {
    var rng = SeededNormal(seed: 8)
    // 16 → 64 channels in 4 groups on 8×8: 147,456 multiply-adds, below; 128 → 512 in 32: 1,179,648, above.
    let side = 8
    for channels in [16, 128] {
      let model = try TestModel.conv(weightShape: [channels * 4, 4, 3, 3], group: channels / 4, attributes: [Attribute("pads", .ints([1, 1, 1, 1]))])
      let macs = channels * 4 * side * side * 36
      XCTAssertEqual(macs < Conv.parallelMinimum, channels == 16)
      let x = rng.tensor([1, channels, side, side])
      var outputs: [[UInt32]] = []
      for threads in [1, 2] {
        let y = try Executor(model: model, options: ExecutorOptions(threads: threads)).run(["x": TensorValue(shape: x.shape, floats: x.scalars)])["y"]!
        outputs.append(try XCTUnwrap(y.floats).map(\.bitPattern))
        let reference = try XCTUnwrap(ReferenceEvaluator(model).run(["x": x])["y"])
        XCTAssertLessThan(relativeError(Tensor(shape: y.shape, scalars: y.floats!), reference), 1e-5, "\(channels) channels")
      }
      XCTAssertEqual(outputs[0], outputs[1], "\(channels) channels")
    }
  }
}
