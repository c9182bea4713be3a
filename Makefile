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

.PHONY: all deps test-deps assets configure build demo test test-long test-cluster test-cluster-quick test-sanitize \
        test-sanitize-quick fuzz clean

all: build

deps:
	@bash scripts/install-deps.sh

# Packages only the tests use (headless Chromium, Slurm + munge, iproute2); `make demo` does not need them.
test-deps: deps
	@bash scripts/install-deps.sh --test

assets: deps
	@bash scripts/fetch-assets.sh "$(ASSET_DIR)"

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DTRYON_ASSET_DIR="$(ASSET_DIR)" $(CMAKE_ARGS)

configure: $(BUILD)/CMakeCache.txt

build: deps configure
	cmake --build $(BUILD) -j $(JOBS)

demo: assets build
	@bash scripts/demo.sh "$(BUILD)" "$(DEMO_OUT)"

# The quick suite with the quick two-node cluster test where namespaces can be made (else one
# line saying why: the probe exits 77; any other failure of the probe fails), TEST_JOBS tests
# at a time, then the sanitized subset (test-sanitize-quick).
TEST_JOBS ?= $(JOBS)
test: test-deps assets build
	@why=$$(python3 tests/cluster/cluster_test.py --probe 2>&1); rc=$$?; \
	if [ $$rc -eq 0 ]; then skip='long'; \
	elif [ $$rc -eq 77 ]; then skip='long|cluster'; echo "make test: the two-node cluster test is skipped: $${why#SKIP: }"; \
	else echo "$$why" >&2; exit 1; fi; \
	cd $(BUILD) && ctest --output-on-failure -j $(TEST_JOBS) -LE "$$skip"
	@$(MAKE) --no-print-directory test-sanitize-quick

# The slurm/ scripts on a two-node cluster made of network namespaces on this machine
# (tests/cluster: root, iproute2, Slurm, munge): every cluster-labelled test.
test-cluster: test-deps assets build
	cd $(BUILD) && ctest --output-on-failure -j 1 -L cluster

# The quick cluster test alone, or the line saying why it cannot run here.
test-cluster-quick: test-deps assets build
	@why=$$(python3 tests/cluster/cluster_test.py --probe 2>&1); rc=$$?; \
	if [ $$rc -eq 0 ]; then cd $(BUILD) && ctest --output-on-failure -j 1 -L cluster -LE long; \
	elif [ $$rc -eq 77 ]; then echo "make test: the two-node cluster test is skipped: $${why#SKIP: }"; \
	else echo "$$why" >&2; exit 1; fi

test-long: assets build
	cd $(BUILD) && ctest --output-on-failure -j $(TEST_JOBS) -L long

# The whole quick suite under AddressSanitizer and UndefinedBehaviorSanitizer (CPU only).
test-sanitize: assets
	cmake -S . -B $(BUILD)-sanitize -DTRYON_SANITIZE=ON -DTRYON_CUDA=OFF -DCMAKE_BUILD_TYPE=Debug \
	      -DTRYON_ASSET_DIR="$(ASSET_DIR)" $(CMAKE_ARGS)
	cmake --build $(BUILD)-sanitize -j $(JOBS)
	cd $(BUILD)-sanitize && ctest --output-on-failure -j $(TEST_JOBS) -LE long

# The part of `make test` under ASan+UBSan: the unit tests of the code that reads untrusted
# input (YAML, JSON, PNG, catalogs, journals, the live status and gallery, model templates and
# safetensors headers) and the fuzz corpora replayed (tests/fuzz: seeds and crash
# regressions). Only their targets are built: about 2 minutes from scratch on 2 cores
# (1 min build, 45 s tests). The whole quick suite sanitized is `make test-sanitize`.
SAN_TESTS ?= test_common test_sched_catalog test_sched_journal test_sched_aggregate test_sched_hostile \
             test_sched_status test_sched_gallery test_nn_config test_nn_safetensors test_fuzz_replay_png test_fuzz_replay_yaml \
             test_fuzz_replay_json test_fuzz_replay_nncfg test_fuzz_replay_catalog
empty :=
space := $(empty) $(empty)
test-sanitize-quick: assets
	cmake -S . -B $(BUILD)-sanitize -DTRYON_SANITIZE=ON -DTRYON_CUDA=OFF -DCMAKE_BUILD_TYPE=Debug \
	      -DTRYON_ASSET_DIR="$(ASSET_DIR)" $(CMAKE_ARGS)
	cmake --build $(BUILD)-sanitize -j $(JOBS) --target $(SAN_TESTS)
	cd $(BUILD)-sanitize && ctest --output-on-failure -j $(TEST_JOBS) -LE long -R '^($(subst $(space),|,$(strip $(SAN_TESTS))))$$'

# libFuzzer over the PNG decoder, YAML tree, JSON reader, catalog loader and model template
# loader (tests/fuzz/README.md): clang builds the harnesses in build-fuzz, each runs FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
fuzz:
	@bash tests/fuzz/fuzz.sh build-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(BUILD)-sanitize build-fuzz $(DEMO_OUT)
