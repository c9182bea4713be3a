#!/bin/bash
# run.sh: the scheduler alone at 8, 32, 64 and 128 ranks (tryon render --simulate: workers
# sleep a per-pair cost, nothing is rendered), guided vs static chunking, and a 100,000-pair
# catalog planned, journaled, drained and resumed with the master's peak RSS.
#
#   bench/sched_scale/run.sh BUILD_DIR [REPEATS]     (REPEATS: runs per row, median reported)
#
# Ranks are oversubscribed (tasks sleep, so cores are not the limit). Each run's figures
# come from OUT/simulate.json; one TSV line per run goes to stdout and results.tsv.
set -eu
build=${1:?usage: run.sh BUILD_DIR [REPEATS]}
repeats=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tryon=$build/farm/tryon
work=${TMPDIR:-/tmp}/tryon-sched-scale
mkdir -p "$work"
export OMPI_MCA_rmaps_base_oversubscribe=1
mpi=(mpirun --oversubscribe --bind-to none)
[ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
tsv=$here/results.tsv
echo -e "ranks\tdist\tchunking\tpairs\tideal_s\twall_s\tefficiency\tmsgs_per_s\toverhead_ms_per_pair\tmaster_rss_kb" | tee "$tsv"

row() { # ranks dist chunking catalog
    local out=$work/out
    rm -rf "$out"
    "${mpi[@]}" -np "$1" "$tryon" render "$4" --out "$out" --simulate "$2" --chunking "$3" --quiet > /dev/null
    python3 - "$out/simulate.json" "$1" <<'PY' | tee -a "$tsv"
import json, sys
s = json.load(open(sys.argv[1]))
print("\t".join(str(x) for x in (sys.argv[2], s["distribution"], s["chunking"], s["pairs"], s["ideal_seconds"],
      s["wall_seconds"], s["efficiency"], s["master_messages_per_s"], s["overhead_ms_per_pair"], s["master_peak_rss_kb"])))
PY
}

# 100 pairs of 50 ms per worker: about 5 s of ideal time at every rank count
for ranks in 8 32 64 128; do
    cat=$work/cat-$ranks
    [ -f "$cat/catalog.yaml" ] || python3 "$here/make_catalog.py" "$repo/configs/demo" "$cat" $((ranks - 1)) 100
    for _ in $(seq "$repeats"); do
        row "$ranks" const:50 guided "$cat/catalog.yaml"
        row "$ranks" lognormal:50:1 guided "$cat/catalog.yaml"
        row "$ranks" lognormal:50:1 static "$cat/catalog.yaml"
    done
done

# 100,000 pairs: plan, journal, drain on SIGUSR1 halfway, resume; master peak RSS
cat=$work/cat-100k
[ -f "$cat/catalog.yaml" ] || python3 "$here/make_catalog.py" "$repo/configs/demo" "$cat" 400 250
out=$work/out-100k
rm -rf "$out"
"${mpi[@]}" -np 33 "$tryon" render "$cat/catalog.yaml" --out "$out" --simulate const:5 --quiet > "$work/100k-1.log" 2>&1 &
pid=$!
while [ ! -f "$out/journal.log" ] || [ "$(wc -l < "$out/journal.log")" -lt 50000 ]; do sleep 0.5; done
kill -USR1 "$pid"
rc=0
wait "$pid" || rc=$?
n1=$(wc -l < "$out/journal.log")
rss1=$(python3 -c "import json; print(json.load(open('$out/simulate.json'))['master_peak_rss_kb'])")
"${mpi[@]}" -np 33 "$tryon" render "$cat/catalog.yaml" --out "$out" --simulate const:5 --quiet > "$work/100k-2.log" 2>&1
n2=$(wc -l < "$out/journal.log")
uniq=$(cut -d, -f1-2 "$out/journal.log" | sort -u | wc -l)
rss2=$(python3 -c "import json; print(json.load(open('$out/simulate.json'))['master_peak_rss_kb'])")
echo "100k: drained with status $rc after $n1 records (master peak RSS $rss1 kB); resumed to $n2 records, $uniq distinct pairs (master peak RSS $rss2 kB)" | tee -a "$tsv"
