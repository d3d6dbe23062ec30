# Front door. `make demo` and `make test` install missing Debian packages, build with CMake
# and run. The real build is CMakeLists.txt; this file only drives it.
BUILD      ?= build
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
WEIGHTS    ?= models/fashion_vgg16bn.h5
IMAGES     ?= tests/fixtures/demo/images
OUT        ?= gpu-check-out
DEMO_OUT   ?= demo-out
PYTHON     ?= /usr/bin/python3
METHODS    ?=
QUALITY_N  ?= 200
QUALITY_OUT ?= quality-out

# Build needs, and the PyTorch/h5py used by the reference tests and tools (tools only).
BUILD_PACKAGES := cmake g++ make libhdf5-dev libstb-dev doctest-dev libopenblas-dev libdnnl-dev \
                  libgfortran-12-dev pkgconf
TOOL_PACKAGES  := python3 python3-numpy python3-h5py python3-torch python3-torchvision python3-pil \
                  dataset-fashion-mnist python3-skimage clang-format-14 clang libomp-dev \
                  pybind11-dev python3-dev python3-pytest dpkg-dev
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

SANITIZE_BUILD ?= build-sanitize
FUZZ_BUILD     ?= build-fuzz
STATIC_BUILD   ?= build-static
FUZZ_SECONDS   ?= 60
FUZZ_TARGETS   ?= image weights cli

.PHONY: all deps build test static package install test-sanitize fuzz demo bench benchmark-quality gpu-check clean

all: build

# SKIP_DEPS=1: do not look for Debian packages (tests run `make demo` on machines that may not be Debian).
deps:
	@[ -n "$(SKIP_DEPS)" ] || missing=$$(for p in $(BUILD_PACKAGES) $(TOOL_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing missing packages:" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The static binary is built first, for ctest's `static` test; where a static library it needs is
# missing (CMake names it in $(STATIC_BUILD)/static-missing.txt), that test reports itself skipped.
test: build
	@$(MAKE) --no-print-directory static || [ -s $(STATIC_BUILD)/static-missing.txt ]
	cd $(BUILD) && ctest --output-on-failure

# The binary, library, headers, CMake/pkg-config files, demo model and the Python module
# (for the system python3) under PREFIX.
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# This build as a Debian package: $(BUILD)/unioncam_<version>_amd64.deb.
package: build
	cd $(BUILD) && cpack -G DEB
	@ls -l $(BUILD)/unioncam_*.deb

# A CPU-only unioncam linked fully static: it runs on any x86-64 Linux with nothing installed.
static: deps
	cmake -S . -B $(STATIC_BUILD) -DCMAKE_BUILD_TYPE=Release -DUNIONCAM_STATIC=ON >/dev/null
	cmake --build $(STATIC_BUILD) -j $(JOBS) --target unioncam
	@echo "$(STATIC_BUILD)/unioncam: $$(ldd $(STATIC_BUILD)/unioncam 2>&1 | head -1 | sed 's/^[[:space:]]*//')"

# The unit, cli and cli_ux tests on a CPU-only tree built with AddressSanitizer, LeakSanitizer
# and UndefinedBehaviorSanitizer. A report ends its process with exit 1, which no test expects;
# and any report in the tests' output (CTest's log) fails the target too.
test-sanitize: deps
	cmake -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUNIONCAM_SANITIZE=ON \
	  -DUNIONCAM_CUDA=OFF -DUNIONCAM_DNNL=OFF -DUNIONCAM_OPENBLAS=OFF >/dev/null
	cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	cd $(SANITIZE_BUILD) && ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:allocator_may_return_null=1:suppressions=$(CURDIR)/tests/asan.supp \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -R '^(unit|cli|cli_ux)$$'
	@if grep -qE "runtime error:|ERROR: (Address|Leak)Sanitizer" $(SANITIZE_BUILD)/Testing/Temporary/LastTest.log; then \
	  echo "sanitizer reports in $(SANITIZE_BUILD)/Testing/Temporary/LastTest.log"; exit 1; fi
	@echo "test-sanitize: no sanitizer reports"

# The libFuzzer targets (weights loader, image decoder, command-line parsers: tests/fuzz/) on a
# clang tree with AddressSanitizer and UndefinedBehaviorSanitizer, FUZZ_SECONDS each
# (FUZZ_TARGETS picks some of image, weights, cli).
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUNIONCAM_FUZZ=ON \
	  -DUNIONCAM_CUDA=OFF -DUNIONCAM_DNNL=OFF -DUNIONCAM_OPENBLAS=OFF >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_image fuzz_weights fuzz_cli
	bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

demo: build
	$(BUILD)/unioncam info --weights $(WEIGHTS)
	$(BUILD)/unioncam predict --weights $(WEIGHTS) $(IMAGES)
	$(BUILD)/unioncam explain --weights $(WEIGHTS) --method all --force --out $(DEMO_OUT) \
	  --grid $(DEMO_OUT)/grid.png $(IMAGES)
	@echo "overlays and the method grid are in $(DEMO_OUT)/"

# METHODS=all (or gradcam,unioncam,...) adds each CAM method's latency and peak memory.
bench: build
	bash scripts/bench.sh $(BUILD) $(if $(METHODS),--methods $(METHODS))

# Every CAM method on QUALITY_N generated test images with object masks (the demo model by
# default): the eval table, pointing games, and the paper's table beside it in QUALITY_OUT/report.md.
benchmark-quality: build
	bash scripts/benchmark_quality.sh $(BUILD) $(QUALITY_OUT) $(QUALITY_N) $(WEIGHTS)

# On a machine with a GPU: full CUDA build, every test, the benchmark; logs and JSON into OUT.
gpu-check:
	bash scripts/gpu_check.sh $(OUT)

clean:
	rm -rf $(BUILD)
