#!/usr/bin/env bash
# bench/catalog_cost.sh: what one pair costs at the catalog preset (1024x1536), before and
# after the denoiser and adaptive sampling, stage by stage.
#
#   bench/catalog_cost.sh BUILD_DIR [RUNS] [PAIRS]
#
# PAIRS (default "ava:tee-red ben:longsleeve-teal") of the demo catalog, each rendered RUNS
# times (default 3) by `tryon render --preset catalog --threads 2` in a fresh folder, both ways
# in turn:
#   before  --spp 256 --noise-threshold 0 --no-denoise   (the catalog preset until now)
#   after   the catalog preset as shipped (adaptive sampling + the denoiser)
# From each manifest record: seconds per stage (load, segment, body, garment = estimate +
# drape, render, its denoise part, encode, total) and render.spp_mean; the job's wall time too. Prints a
# Markdown table of medians per pair and way, the core-hours for 100,000 pairs
# (total x threads), and the ratio of pairs per core-hour. The quality of the two (PSNR
# against a 4096-spp reference) is bench/denoise's.
set -euo pipefail
build=${1:?usage: catalog_cost.sh BUILD_DIR [RUNS] [PAIRS]}
runs=${2:-3}
pairs=${3:-"ava:tee-red ben:longsleeve-teal"}
here=$(cd "$(dirname "$0")/.." && pwd)
tryon="$build/farm/tryon"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rows="$work/rows.txt"
: > "$rows"
for pg in $pairs; do
    person=${pg%%:*} garment=${pg##*:}
    cat="$work/$person-$garment"
    mkdir -p "$cat"
    cp "$here/configs/demo/persons/$person.png" "$here/configs/demo/garments/$garment.png" "$cat/"
    printf 'seed: 7\nrender: {preset: catalog}\npersons:\n  - {id: %s, image: %s.png}\ngarments:\n  - {id: %s, image: %s.png}\n' \
        "$person" "$person" "$garment" "$garment" > "$cat/catalog.yaml"
    for r in $(seq "$runs"); do
        for way in before after; do
            out="$work/out-$person-$garment-$way-$r"
            args=(--threads 2 --quiet)
            [ "$way" = before ] && args+=(--spp 256 --noise-threshold 0 --no-denoise)
            t0=$(date +%s.%N)
            "$tryon" render "$cat/catalog.yaml" --out "$out" "${args[@]}" > /dev/null 2>&1
            t1=$(date +%s.%N)
            python3 - "$out/manifest.jsonl" "$person:$garment" "$way" "$t0" "$t1" >> "$rows" <<'EOF'
import json, sys
r = json.loads(open(sys.argv[1]).readline())
s = r["seconds"]
print(sys.argv[2], sys.argv[3], *(s.get(k, 0) for k in ("load", "segment", "body", "garment", "render", "denoise", "encode",
                                                      "total")),
      r.get("render", {}).get("spp_mean", 0), r.get("render", {}).get("denoised", False),
      float(sys.argv[5]) - float(sys.argv[4]))
EOF
        done
    done
done
python3 - "$rows" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
keys = ("load", "segment", "body", "garment", "render", "denoise", "encode", "total")
print("| pair | way | " + " | ".join(keys) + " | spp mean | denoised | wall | core-hours / 100k pairs |")
print("| --- | --- |" + " ---: |" * (len(keys) + 4))
tot = {}
for pair in dict.fromkeys(r[0] for r in rows):
    for way in ("before", "after"):
        sel = [r for r in rows if r[0] == pair and r[1] == way]
        med = [statistics.median(float(r[2 + k]) for r in sel) for k in range(len(keys))]
        spp = statistics.median(float(r[2 + len(keys)]) for r in sel)
        wall = statistics.median(float(r[4 + len(keys)]) for r in sel)
        ch = med[-1] * 2 * 100000 / 3600
        tot.setdefault(way, []).append(med[-1])
        print(f"| {pair} | {way} | " + " | ".join(f"{v:.2f}" for v in med) +
              f" | {spp:.1f} | {sel[0][3 + len(keys)]} | {wall:.1f} | {ch:,.0f} |")
b, a = statistics.mean(tot["before"]), statistics.mean(tot["after"])
print()
print(f"Mean seconds per pair (2 threads): before {b:.1f}, after {a:.1f}: pairs per core-hour "
      f"{3600 / (2 * b):.1f} -> {3600 / (2 * a):.1f}, {b / a:.2f}x.")
EOF
