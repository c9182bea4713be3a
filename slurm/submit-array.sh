#!/bin/bash
# submit-array.sh: submit a sliced render and its merge.
#   slurm/submit-array.sh CATALOG.yaml OUT N [more `tryon render` options]
# Prints the two job ids. Extra sbatch options for both jobs: SBATCH_EXTRA="...".
set -eu
CATALOG=${1:?usage: submit-array.sh CATALOG.yaml OUT N [tryon render options]}
OUT=${2:?}
N=${3:?}
shift 3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
# shellcheck disable=SC2086
array=$(sbatch --parsable ${SBATCH_EXTRA:-} --array=0-$((N - 1)) --export=ALL,TRYON_SLICES="$N" \
    "$here/render-array.sbatch" "$CATALOG" "$OUT" "$@")
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable ${SBATCH_EXTRA:-} --dependency=afterok:"$array" "$here/merge.sbatch" "$OUT")
echo "array job $array ($N slices), merge job ${merge%%;*}"
