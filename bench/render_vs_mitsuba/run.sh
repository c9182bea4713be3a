#!/bin/bash
# run.sh: tryon's path tracer against Mitsuba 3 (scalar_rgb, llvm_ad_rgb) on the same scenes.
#   bench/render_vs_mitsuba/run.sh [compare.py run options, e.g. --hi-spp 1024 --scenes cornell]
# From a fresh clone: makes a private venv ($BUILD/.venv-mitsuba, git-ignored) with mitsuba
# and numpy, configures and builds scene_render in $BUILD (-DTRYON_BENCH=ON), renders the
# three scenes with both renderers, prints the tables and writes
# bench/render_vs_mitsuba/RESULTS.md. Images, PFMs and report.json go to
# $BUILD/render_vs_mitsuba. Not part of make test (minutes of CPU).
# Environment: BUILD (default <repo>/build-bench), TRYON_ASSETS (MakeHuman data, as for tryon),
# DRJIT_LIBLLVM_PATH (libLLVM for Mitsuba's llvm variant; default: the newest system
# libLLVM >= 16, installing Debian's libllvm19 when there is none; Dr.Jit 1.5 fails on
# LLVM 15 with "Cannot select: fminimum").
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
VENV=$BUILD/.venv-mitsuba
mkdir -p "$BUILD"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "mitsuba==3.9.1" numpy
fi
newest_llvm() {
  best=""; bestv=0
  for f in /usr/lib/x86_64-linux-gnu/libLLVM*.so* /usr/lib/llvm-*/lib/libLLVM*.so*; do
    [ -e "$f" ] || continue
    v=$(basename "$f" | sed -E 's/^libLLVM-?([0-9]+).*$/\1/; s/^libLLVM\.so\.([0-9]+).*$/\1/')
    case "$v" in ''|*[!0-9]*) continue;; esac
    if [ "$v" -gt "$bestv" ]; then best=$f; bestv=$v; fi
  done
}
if [ -z "${DRJIT_LIBLLVM_PATH:-}" ]; then
  newest_llvm
  if [ "$bestv" -lt 16 ]; then
    # Debian 12's default LLVM is 15; bookworm also packages libllvm19 (the peer's JIT only)
    sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_=sudo
    if $sudo_ apt-get install -y -q libllvm19 >/dev/null 2>&1 ||
       { $sudo_ apt-get update -q >/dev/null 2>&1 && $sudo_ apt-get install -y -q libllvm19 >/dev/null 2>&1; }; then
      newest_llvm
    fi
  fi
  if [ "$bestv" -ge 16 ]; then export DRJIT_LIBLLVM_PATH=$best
  else echo "run.sh: no libLLVM >= 16 found (apt-get install libllvm19); llvm_ad_rgb may fail" >&2; fi
fi
cmake -S "$ROOT" -B "$BUILD" -DTRYON_BENCH=ON -DTRYON_CUDA=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target scene_render >/dev/null
"$VENV/bin/python" "$ROOT/bench/render_vs_mitsuba/compare.py" run \
  --bin "$BUILD/bench/render_vs_mitsuba/scene_render" --work "$BUILD/render_vs_mitsuba" --write-results "$@"
