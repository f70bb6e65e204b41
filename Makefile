# onnx-rstd: the two set-up commands of the README are `make demo` and `make test`.
SWIFT ?= swift
BIN := .build/release/onnx-rstd

.PHONY: deps build demo test test-swift test-conformance test-real proto-check bench clean fuzz fuzz-loader

deps:
	Scripts/install-deps

build: deps
	$(SWIFT) build -c release --product onnx-rstd

# Compress the bundled digits CNN with the default options and print the report.
demo: build
	mkdir -p out
	$(BIN) Models/digits_cnn.onnx out/digits_cnn.rstd.onnx --report out/digits_cnn.report.json
	Scripts/digits-accuracy Models/digits_cnn.onnx out/digits_cnn.rstd.onnx

# The whole suite: Swift unit tests, then the pytest suites against onnx and onnxruntime.
test: build
	$(SWIFT) test
	ONNX_RSTD=$(BIN) python3 -m pytest -q Tests/conformance Tests/realmodels

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

clean:
	rm -rf .build out
