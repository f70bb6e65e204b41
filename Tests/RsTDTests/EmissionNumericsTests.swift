import ONNX
import RsTDTestSupport
import TensorAlgebra
import XCTest

@testable import RsTD

/// Numerics of emission without a runtime: the factor initializers written into the graph,
/// read back through `Graph.constant`, multiply back to the original kernel.
final class EmissionNumericsTests: XCTestCase {
  private func tensor(_ graph: Graph, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Tensor {
    let c = try XCTUnwrap(try graph.constant(name), "no constant '\(name)'", file: file, line: line)
    return Tensor(shape: c.shape, scalars: try c.floats())
  }

  /// Rows `rows` of a 2-D tensor.
  private func rows(_ t: Tensor, _ rows: Range<Int>) -> Tensor {
    let n = t.shape[1]
    return Tensor(shape: [rows.count, n], scalars: Array(t.scalars[rows.lowerBound * n..<rows.upperBound * n]))
  }

  // x[1,C,8,8] ─▶ Conv "conv0" (w[8,C/g,3,3], group g) ─▶ y, svd at full rank.
  // Ŵ_g = L_g · R_g per group, with L = svd_left [M, r, 1, 1] and R = svd_right [g·r, C/g, 3, 3].
  func testSVDFactorsReconstructTheKernel() throws {
    for group in [1, 2] {
      let model = try TestModel.conv(weightShape: [8, 4, 3, 3], group: group, seed: 11)
      let w = try tensor(model.graph, "conv0.w")
      let (out, rows) = try rewritten(model, fullRankOptions(.svd))
      XCTAssertEqual(rows.first?.ranks, [8 / group], "full rank min(M/g, C/g·k²)")
      let r = rows[0].ranks![0]
      let left = try tensor(out.graph, "conv0/svd_left")
      let right = try tensor(out.graph, "conv0/svd_right")
      XCTAssertEqual(left.shape, [8, r, 1, 1])
      XCTAssertEqual(right.shape, [group * r, 4, 3, 3])
      let l = left.reshaped([8, r]), rt = right.reshaped([group * r, 36]), wm = w.reshaped([8, 36])
      let mg = 8 / group
      for g in 0..<group {
        // Float32 SVD of an 8×36 block: error ≈ 1e-7·√36 ≈ 1e-6, so 1e-5 leaves 10× headroom.
        assertRelativeError(
          matmul(self.rows(l, g * mg..<(g + 1) * mg), self.rows(rt, g * r..<(g + 1) * r)), self.rows(wm, g * mg..<(g + 1) * mg),
          below: 1e-5, "svd group \(g) of \(group)")
      }
    }
  }

  // x[1,4,8,8] ─▶ Conv "conv0" (w[8,4,3,3]) ─▶ y, tucker2 at full ranks (8, 4).
  // Ŵ = core ×₀ U ×₁ V with V = tucker2_inᵀ, core = tucker2_core, U = tucker2_out.
  func testTucker2FactorsReconstructTheKernel() throws {
    let model = try TestModel.conv(weightShape: [8, 4, 3, 3], seed: 12)
    let w = try tensor(model.graph, "conv0.w")
    let (out, rows) = try rewritten(model, fullRankOptions(.tucker2))
    XCTAssertEqual(rows.first?.ranks, [8, 4])
    let vt = try tensor(out.graph, "conv0/tucker2_in")
    let core = try tensor(out.graph, "conv0/tucker2_core")
    let u = try tensor(out.graph, "conv0/tucker2_out")
    let factors = Tucker2Factors(core: core, output: u.reshaped([8, 8]), input: vt.reshaped([4, 4]).transposed([1, 0]))
    // Float32 HOSVD/HOOI on 288 entries: error ≈ 1e-6, so 1e-5 leaves 10× headroom.
    assertRelativeError(factors.reconstruct(), w, below: 1e-5, "tucker2 full rank")
  }

  // Below full rank the written factors match the error the report states.
  // x[1,8,8,8] ─▶ Conv "conv0" (w[8,8,3,3]) ─▶ y, svd at rank 3.
  func testReportedErrorMatchesTheWrittenFactors() throws {
    let model = try TestModel.conv(weightShape: [8, 8, 3, 3], seed: 13)
    let w = try tensor(model.graph, "conv0.w")
    var options = fullRankOptions(.svd)
    options.ranks = .fixed(3)
    let (out, rows) = try rewritten(model, options)
    let reported = try XCTUnwrap(rows.first?.relativeError)
    let l = try tensor(out.graph, "conv0/svd_left").reshaped([8, 3])
    let r = try tensor(out.graph, "conv0/svd_right").reshaped([3, 72])
    let measured = relativeError(matmul(l, r), w.reshaped([8, 72]))
    // A rank-3 truncation of a Gaussian 8×72 matrix loses well over half its energy.
    XCTAssertGreaterThan(measured, 0.3)
    // Both are Float32 computations of the same truncation: they agree to ~1e-6.
    XCTAssertEqual(measured, reported, accuracy: 1e-5)
  }

  // A FLOAT16 weight gets FLOAT16 factors, within fp16 rounding of the kernel.
  // x[1,4,8,8] ─▶ Conv "conv0" (w[8,4,3,3] FLOAT16) ─▶ y
  func testFloat16WeightGetsFloat16Factors() throws {
    var b = TestGraphBuilder()
    var rng = SeededNormal(seed: 14)
    b.input("x", shape: [1, 4, 8, 8], type: .float16)
    b.initializer("w", rng.tensor([8, 4, 3, 3]), type: .float16)
    b.node("Conv", name: "conv0", inputs: ["x", "w"], outputs: ["y"], attributes: [Attribute("kernel_shape", .ints([3, 3]))])
    b.output("y", shape: [1, 8, 6, 6], type: .float16)
    let model = try b.model()
    let w = try tensor(model.graph, "w")
    let (out, _) = try rewritten(model, fullRankOptions(.svd))
    XCTAssertEqual(try out.graph.constant("conv0/svd_left")?.elementType, .float16)
    XCTAssertEqual(try out.graph.constant("conv0/svd_right")?.elementType, .float16)
    let l = try tensor(out.graph, "conv0/svd_left").reshaped([8, 8])
    let r = try tensor(out.graph, "conv0/svd_right").reshaped([8, 36])
    // Each factor rounded to fp16 (relative 2⁻¹¹ ≈ 4.9e-4 per entry): ≈ 5e-4 on the product;
    // 2e-3 leaves 4× headroom.
    assertRelativeError(matmul(l, r), w.reshaped([8, 36]), below: 2e-3, "fp16 svd")
  }
}
