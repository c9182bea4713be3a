#!/usr/bin/env bash
# cache_demo.sh: the asset cache on the demo catalog (4 persons x 6 garments). Job 1 renders
# it with an empty --cache folder, job 2 renders it again into a new OUT with the same
# folder (every estimate read). Per job: the body stage's seconds summed over the manifest
# (the person fits, or their lookups), the garment stage's (estimates and drapes), the
# cache's hits, and the whole command's wall time; then job 2's body seconds as a share of
# job 1's. RUNS pairs of jobs, each with a fresh cache; medians over them. Also checks that
# both jobs' renders are the same bytes.
# Usage: bench/cache_demo.sh [BUILD_DIR] [RUNS] [extra render options...]
#        (default build, 3; e.g. `bench/cache_demo.sh build 3 --preset preview`);
#        CATALOG=path/catalog.yaml measures another catalog.
set -euo pipefail
build=${1:-build}
runs=${2:-3}
shift $(( $# < 2 ? $# : 2 ))
here=$(cd "$(dirname "$0")/.." && pwd)
tryon="$build/farm/tryon"
cat=${CATALOG:-$here/configs/demo/catalog.yaml}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TRYON_ASSETS=${TRYON_ASSETS:-$HOME/.cache/tryon-farm/mpfb2}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: $tryon render $cat --out OUT --cache CACHE --quiet $*"
for r in $(seq "$runs"); do
  rm -rf "$work/cache"
  for job in 1 2; do
    rm -rf "$work/out$job"
    t0=$(date +%s.%N)
    "$tryon" render "$cat" --out "$work/out$job" --cache "$work/cache" --quiet "$@" >/dev/null
    t1=$(date +%s.%N)
    echo "$r $job $t0 $t1" >> "$work/times"
  done
  python3 - "$work" "$r" <<'PY'
import hashlib, json, os, sys
work, r = sys.argv[1], sys.argv[2]
rows = [l.split() for l in open(os.path.join(work, "times")) if l.split()[0] == r]
out = {}
for _, job, t0, t1 in rows:
    recs = [json.loads(l) for l in open(os.path.join(work, f"out{job}", "manifest.jsonl")) if l.strip()]
    sha = {(x["person"], x["garment"]): hashlib.sha256(open(os.path.join(work, f"out{job}", x["output"]), "rb").read()).hexdigest()
           for x in recs if x["status"] == "ok"}
    hits = sum(x["cache"]["person"] == "hit" for x in recs), sum(x["cache"]["garment"] == "hit" for x in recs)
    out[job] = (float(t1) - float(t0), sum(x["seconds"]["body"] for x in recs),
                sum(x["seconds"]["garment"] for x in recs), hits, sha, len(recs))
    print(f"run {r} job {job}: {len(recs)} pairs, wall {out[job][0]:.2f} s, body {out[job][1]:.3f} s, "
          f"garment {out[job][2]:.2f} s, records with person/garment hits {hits[0]}/{hits[1]}")
assert out["1"][4] == out["2"][4] and len(out["1"][4]) == out["1"][5], "job 2's renders are job 1's bytes"
print(f"run {r}: job 2's body stage is {100 * out['2'][1] / out['1'][1]:.2f}% of job 1's; renders identical")
with open(os.path.join(work, "results"), "a") as f:
    f.write(json.dumps([out["1"][:3], out["2"][:3]]) + "\n")
PY
done
python3 - "$work/results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = lambda j, k: statistics.median(r[j][k] for r in rows)
print(f"median of {len(rows)}: job 1 wall {med(0, 0):.2f} s, body {med(0, 1):.3f} s; "
      f"job 2 wall {med(1, 0):.2f} s, body {med(1, 1):.3f} s ({100 * med(1, 1) / med(0, 1):.2f}%)")
PY
