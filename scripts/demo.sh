#!/usr/bin/env bash
# `make demo`: render the bundled demo catalog on every local core and say where the
# gallery is. Rank 0 is the master; one single-threaded worker rank per core renders.
# Usage: scripts/demo.sh BUILD_DIR OUT_DIR
set -euo pipefail
build=${1:-build}
out=${2:-demo-out}
here=$(cd "$(dirname "$0")/.." && pwd)
tryon="$build/farm/tryon"
cores=$(nproc)
export TRYON_ASSETS=${TRYON_ASSETS:-$HOME/.cache/tryon-farm/mpfb2}
"$tryon" check "$here/configs/demo/catalog.yaml"
# A fresh folder each time: a resume would keep renders an older build journaled (the demo
# takes about a minute).
rm -rf "$out"
# --bind-to none: Open MPI would otherwise pin each rank to one core (see MACHINE-NOTES).
set +e
mpirun -np $((cores + 1)) --bind-to none --oversubscribe \
  "$tryon" render "$here/configs/demo/catalog.yaml" --out "$out" --threads 1
code=$?
set -e
echo
echo "demo: open $(cd "$out" && pwd)/index.html in a browser (contact sheets in $out/contact/)"
exit $code
