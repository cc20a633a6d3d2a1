# The two commands of the README, and the steps they are made of.
#   make demo   the main job: a real workflow against the bundled emulator
#   make test   every test
# Both install missing Debian packages first, then build.

BUILD_DIR ?= build
JOBS ?= 2
FUZZ_SECONDS ?= 60

.PHONY: all deps build demo test test-c test-lua sanitize bench fuzz clean

all: build

deps:
	@./scripts/deps.sh

$(BUILD_DIR)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD_DIR)/Makefile
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Builds quietly (the output goes to $(BUILD_DIR)/demo-build.log, shown
# only when the build fails), then runs the demo.
demo:
	@PUSHPULL_BUILD_DIR=$(BUILD_DIR) JOBS=$(JOBS) ./scripts/demo.sh

test: build
	./scripts/run-tests.sh $(BUILD_DIR)

# The whole suite again, built with AddressSanitizer and UBSan.
sanitize: deps
	cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DPUSHPULL_SANITIZE=ON
	cmake --build build-sanitize -j $(JOBS)
	PUSHPULL_SANITIZE=1 ./scripts/run-tests.sh build-sanitize

bench: build
	./scripts/deps.sh bench
	./bench/run.sh

# Every libFuzzer target for FUZZ_SECONDS from its corpus, then its
# regressions (fuzz/README.md); builds build-fuzz/ with clang.
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) ./fuzz/run.sh fuzz

clean:
	rm -rf $(BUILD_DIR) build-sanitize build-fuzz
