#!/bin/bash
# run.sh: tryon nn vs PyTorch CPU, same network, same weights, same threads.
#   bench/nn_vs_torch/run.sh [BUILD_DIR] [MODEL_YAML] [OUT_JSONL]
# Needs a build of the repository (cmake --build BUILD_DIR --target tryon_nn) and the
# venv .venv-bench with torch, safetensors and pyyaml (tests/golden/README.md).
# Each configuration runs in its own process so each peak RSS is its own. Batches 1, 8,
# 32; threads 1 and 2; inference and training step. REPS defaults to 5 (medians).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
MODEL=${2:-$ROOT/configs/models/garment_encoder.yaml}
OUT=${3:-$ROOT/bench/nn_vs_torch/results.jsonl}
REPS=${REPS:-5}
BATCHES=${BATCHES:-"1 8 32"}
THREADS=${THREADS:-"1 2"}
PY=${PY:-$ROOT/.venv-bench/bin/python}
BIN=$BUILD/nn_bench
cc -O2 -std=c17 -D_GNU_SOURCE -fopenmp -I"$ROOT" "$ROOT/bench/nn_vs_torch/nn_bench.c" \
   "$BUILD/nn/libtryon_nn.a" "$BUILD/kernels/libtryon_kernels.a" "$BUILD/common/libtryon_common.a" \
   -lpng -lz -lyaml -lm -o "$BIN"
TMP=$(mktemp -d)
W=$TMP/weights.safetensors
: > "$OUT"
for mode in infer train; do
  for b in $BATCHES; do
    for t in $THREADS; do
      OMP_NUM_THREADS=$t "$BIN" "$MODEL" "$W" $mode $b $t $REPS | tee -a "$OUT"
      OMP_NUM_THREADS=$t "$PY" "$ROOT/bench/nn_vs_torch/bench_torch.py" "$MODEL" "$W" $mode $b $t $REPS | tee -a "$OUT"
    done
  done
done
rm -rf "$TMP"
