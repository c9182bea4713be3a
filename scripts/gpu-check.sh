#!/usr/bin/env bash
# scripts/gpu-check.sh [OUT]: the CUDA and NCCL code on a machine with a GPU, in one go (under
# 8 minutes on one H100/H200 with 16 cores). Builds with CUDA (build-gpu/), then runs every
# test with a CUDA path and the GPU benchmarks, writing everything to OUT (default
# gpu-check-out/):
#   env.txt            nvidia-smi, nvcc, the build's `tryon info`
#   tests.txt          ctest of the CUDA tests, with output:
#                      test_kernels_cuda   every kernel op (convs, GEMM, BN, pools, losses, AdamW,
#                                          the cloth solver's ops) on CUDA against the reference,
#                                          twice for identical bytes
#                      test_nn_golden_ops, test_nn_golden_models
#                                          the networks against the PyTorch golden files on CUDA
#                      test_nn_unet        the denoiser's U-Net forward on CUDA vs CPU, and training on
#                                          CUDA with one rank (NCCL's allreduce when built with NCCL)
#   bench-*.txt        inference throughput on CUDA and on the CPU, same weights (bench/nn_infer)
#   summary.txt        one line per step: ok / FAILED and its seconds
# Exit status: 0 when every step passed. Needs the CUDA toolkit (nvcc) and a driver; the body
# data is not needed (no test here renders a person).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-gpu-check-out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
build="$here/build-gpu"
jobs=$(nproc)
: > "$out/summary.txt"
status=0

step() {   # step NAME LOGFILE COMMAND...: run, log, time, record
    local name=$1 log=$2
    shift 2
    local t0=$(date +%s)
    if "$@" > "$out/$log" 2>&1; then r=ok; else r=FAILED; status=1; fi
    echo "$name: $r ($(( $(date +%s) - t0 )) s, $log)" | tee -a "$out/summary.txt"
}

{
    date -u
    nvidia-smi || echo "nvidia-smi: not found"
    nvcc --version || echo "nvcc: not on PATH"
} > "$out/env.txt" 2>&1

step configure configure.txt cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTRYON_CUDA=ON -DTRYON_BENCH=ON
step build build.txt cmake --build "$build" -j "$jobs" --target tryon test_kernels_cuda test_nn_golden_ops \
    test_nn_golden_models test_nn_unet nn_infer
"$build/farm/tryon" info >> "$out/env.txt" 2>&1
step tests tests.txt ctest --test-dir "$build" --output-on-failure -R \
    '^(test_kernels_cuda|test_nn_golden_ops|test_nn_golden_models|test_nn_unet)$'
# the suite skips its CUDA checks without a device: make a skip a failure here
if grep -q "CUDA checks skipped\|GPU checks skipped" "$out/tests.txt"; then
    echo "tests: a CUDA test found no device (see tests.txt)" | tee -a "$out/summary.txt"
    status=1
fi
for m in denoiser body_encoder garment_encoder; do
    [ -f "$here/models/$m.safetensors" ] || continue
    step "bench $m cuda" "bench-$m-cuda.txt" "$build/bench/nn_infer/nn_infer" "$here/models/$m.safetensors" \
        --backend cuda --reps 20
    step "bench $m cpu" "bench-$m-cpu.txt" "$build/bench/nn_infer/nn_infer" "$here/models/$m.safetensors" \
        --backend cpu --threads 0 --reps 5
done
echo "gpu-check: $([ $status -eq 0 ] && echo passed || echo FAILED); results in $out"
exit $status
