# The README's two commands: `make demo` and `make test`. Each installs what is missing,
# fetches the body data, configures and builds, then runs. Longer checks have their own targets.
BUILD     ?= build
JOBS      ?= $(shell nproc)
ASSET_DIR ?= $(HOME)/.cache/tryon-farm/mpfb2
DEMO_OUT  ?= demo-out
CMAKE_ARGS ?=

# Open MPI refuses root unless told; containers and CI run as root.
ifeq ($(shell id -u),0)
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
endif

.PHONY: all deps assets configure build demo test test-long test-sanitize clean

all: build

deps:
	@bash scripts/install-deps.sh

assets: deps
	@bash scripts/fetch-assets.sh "$(ASSET_DIR)"

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DTRYON_ASSET_DIR="$(ASSET_DIR)" $(CMAKE_ARGS)

configure: $(BUILD)/CMakeCache.txt

build: deps configure
	cmake --build $(BUILD) -j $(JOBS)

demo: assets build
	@bash scripts/demo.sh "$(BUILD)" "$(DEMO_OUT)"

test: assets build
	cd $(BUILD) && ctest --output-on-failure -j 1 -LE long

test-long: assets build
	cd $(BUILD) && ctest --output-on-failure -j 1 -L long

# The whole quick suite under AddressSanitizer and UndefinedBehaviorSanitizer (CPU only).
test-sanitize: assets
	cmake -S . -B $(BUILD)-sanitize -DTRYON_SANITIZE=ON -DTRYON_CUDA=OFF -DCMAKE_BUILD_TYPE=Debug \
	      -DTRYON_ASSET_DIR="$(ASSET_DIR)" $(CMAKE_ARGS)
	cmake --build $(BUILD)-sanitize -j $(JOBS)
	cd $(BUILD)-sanitize && ctest --output-on-failure -j 1 -LE long

clean:
	rm -rf $(BUILD) $(BUILD)-sanitize $(DEMO_OUT)
