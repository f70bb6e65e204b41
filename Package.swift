// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "onnx-rstd",
  platforms: [.macOS(.v13)],
  products: [
    // MARK: - Public API
    .executable(name: "onnx-rstd", targets: ["onnx-rstd"]),
    .library(name: "RsTD", targets: ["RsTD"]),
    .library(name: "ONNX", targets: ["ONNX"]),
    .library(name: "TensorAlgebra", targets: ["TensorAlgebra"]),
    .library(name: "Executor", targets: ["Executor"]),
    .library(name: "NumPyIO", targets: ["NumPyIO"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
  ],
  targets: [
    // MARK: - Public API
    .executableTarget(
      name: "onnx-rstd",
      dependencies: ["RsTD", "Executor", "NumPyIO", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
    .target(name: "RsTD", dependencies: ["ONNX", "TensorAlgebra", "Executor"]),
    .target(
      name: "ONNX",
      dependencies: ["ONNXProto", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
    .target(name: "TensorAlgebra", dependencies: ["CLAPACK"]),
    .target(name: "Executor", dependencies: ["ONNX", "TensorAlgebra", "CLAPACK"]),
    .target(name: "NumPyIO", dependencies: ["CZlib"]),

    // MARK: - Implementation details
    .target(
      name: "ONNXProto",
      dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),
    .systemLibrary(name: "CLAPACK", path: "Sources/CLAPACK"),
    .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
    .target(name: "RsTDTestSupport", dependencies: ["ONNX", "ONNXProto", "TensorAlgebra"]),

    // MARK: - Benchmarks
    .executableTarget(
      name: "bench-decompose", dependencies: ["TensorAlgebra"], path: "bench/decompose", exclude: ["run.py"]),
    .executableTarget(name: "bench-io", dependencies: ["ONNX"], path: "bench/io"),
    .executableTarget(
      name: "bench-executor", dependencies: ["Executor", "ONNX"], path: "bench/executor", exclude: ["run.py", "scaling.py", "compare.py", "rt_compare.py", "perf_groups.py", "ort_profile.py", "results.md"]),

    // MARK: - Tests
    .testTarget(name: "TensorAlgebraTests", dependencies: ["TensorAlgebra"], exclude: ["shuffles_reference.py"]),
    .testTarget(name: "ONNXTests", dependencies: ["ONNX"]),
    .testTarget(name: "ExecutorTests", dependencies: ["Executor", "ONNX", "TensorAlgebra", "RsTDTestSupport"]),
    .testTarget(name: "NumPyIOTests", dependencies: ["NumPyIO"]),
    .testTarget(name: "RsTDTests", dependencies: ["RsTD", "ONNX", "TensorAlgebra", "RsTDTestSupport"]),
  ],
  // Swift 5 mode: the numeric kernels share plain arrays across Dispatch workers.
  swiftLanguageModes: [.v5]
)
