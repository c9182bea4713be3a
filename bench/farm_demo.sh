#!/usr/bin/env bash
# farm_demo.sh: pairs per minute for the demo catalog at the preview preset with 1 and 2
# worker ranks (plus one master rank), median of RUNS runs, and the share of worker time
# per stage (from the manifests' "seconds"). Also the one-process run (rank 0 renders
# with all threads) for comparison.
# Usage: bench/farm_demo.sh [BUILD_DIR] [RUNS]     (default build, 3)
set -euo pipefail
build=${1:-build}
runs=${2:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
tryon="$build/farm/tryon"
cat="$here/configs/demo/catalog.yaml"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TRYON_ASSETS=${TRYON_ASSETS:-$HOME/.cache/tryon-farm/mpfb2}
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi

# one configuration: label, then the command prefix (the render arguments are appended)
measure() {
  local label=$1; shift
  local times=()
  for r in $(seq "$runs"); do
    rm -rf "$work/out"
    local t0 t1
    t0=$(date +%s.%N)
    "$@" "$tryon" render "$cat" --out "$work/out" --preset preview --quiet $EXTRA >/dev/null
    t1=$(date +%s.%N)
    times+=("$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$t0" "$t1")")
  done
  python3 - "$label" "$work/out/manifest.jsonl" "${times[@]}" <<'PY'
import json, statistics, sys
label, manifest, times = sys.argv[1], sys.argv[2], [float(t) for t in sys.argv[3:]]
recs = [json.loads(l) for l in open(manifest) if l.strip()]
med = statistics.median(times)
stages = ["load", "segment", "body", "garment", "render", "encode"]
tot = {s: sum(r["seconds"][s] for r in recs) for s in stages}
all_s = sum(tot.values()) or 1.0
share = ", ".join(f"{s} {100 * tot[s] / all_s:.1f}%" for s in stages)
print(f"{label}: {len(recs)} pairs, wall median {med:.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)}), "
      f"{60 * len(recs) / med:.1f} pairs/min; stage shares: {share}")
PY
}

EXTRA=""
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
measure "1 process, all threads" env
EXTRA="--threads 1"
measure "mpirun -np 2 (1 worker, 1 thread)" mpirun -np 2 --bind-to none --oversubscribe
measure "mpirun -np 3 (2 workers, 1 thread each)" mpirun -np 3 --bind-to none --oversubscribe
EXTRA="--threads 2"
measure "mpirun -np 2 (1 worker, 2 threads)" mpirun -np 2 --bind-to none --oversubscribe
