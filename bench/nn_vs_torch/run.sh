#!/bin/bash
# run.sh: tryon nn vs PyTorch CPU, same network, same weights, same threads.
#   bench/nn_vs_torch/run.sh [BUILD_DIR] [MODEL_YAML] [OUT_JSONL]
# Needs a configured build of the repository (nn_bench is built here) and the
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
BIN=$BUILD/bench/nn_bench
cmake --build "$BUILD" --target nn_bench >/dev/null
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
