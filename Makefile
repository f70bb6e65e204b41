# onnx-rstd: the two set-up commands of the README are `make demo` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
BIN := .build/release/onnx-rstd
# Build logs are checked for warnings in our own code (dependencies' warnings are theirs).
warnings = grep -E '^/[^ ]*/(Sources|Tests|bench)/[^ ]*: warning:' $(1) | grep -v '/\.build/'

.PHONY: deps build demo test test-swift test-conformance test-real proto-check bench fuzz clean

deps:
	Scripts/install-deps

# Release build of the CLI; fails on any compiler warning in Sources/, Tests/ or bench/.
build: deps
	set -o pipefail; $(SWIFT) build -c release --product onnx-rstd 2>&1 | tee .build-release.log
	@if $(call warnings,.build-release.log); then echo "build: compiler warnings (above) fail the build" >&2; exit 1; fi

# Compress the bundled digits CNN with the default options and print the report.
demo: build
	mkdir -p out
	$(BIN) Models/digits_cnn.onnx out/digits_cnn.rstd.onnx --report out/digits_cnn.report.json
	Scripts/digits-accuracy Models/digits_cnn.onnx out/digits_cnn.rstd.onnx

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

proto-check:
	Scripts/generate-proto --check

# Benchmarks (not tests: figures go to docs/benchmarks.md). The scaling run takes ~5 minutes.
bench: build
	python3 bench/scale/run.py --bin $(BIN)
	python3 bench/rewrite/run.py --bin $(BIN)

clean:
	rm -rf .build out
