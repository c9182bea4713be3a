#!/usr/bin/env bash
# fuzz.sh BUILD_DIR [SECONDS]: build the libFuzzer harnesses of tests/fuzz with clang
# (-fsanitize=fuzzer,address,undefined) into BUILD_DIR and run each for SECONDS (default 60).
# Run from the repository root (`make fuzz` does). Each harness starts from the seed corpus
# tests/fuzz/corpus/<name> (read only) and keeps what it finds in BUILD_DIR/corpus-<name>;
# a crash leaves BUILD_DIR/crashes/<name>-crash-<sha1> and makes the script exit 1 after
# all harnesses ran. Prints one line per harness: executions, corpus size, crashes.
set -uo pipefail

build=${1:?usage: fuzz.sh BUILD_DIR [SECONDS]}
secs=${2:-60}
cc=${FUZZ_CC:-clang}
src=tests/fuzz
if ! command -v "$cc" >/dev/null; then
  echo "fuzz: $cc not found (install clang)" >&2; exit 2
fi
mkdir -p "$build/crashes"

common=(common/fs.c common/hash.c common/image.c common/json.c common/status.c common/yaml.c)
flags=(-std=c17 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -I. -Wall -Wextra -Wno-unused-parameter)
libs=(-lpng -lz -lyaml -lm -lpthread)

declare -A extra=(
  [png]=""
  [yaml]=""
  [json]=""
  [catalog]="scheduler/catalog.c scheduler/status.c"
  [nncfg]="nn/config.c"
)
# per-harness input size cap (bytes): PNGs need room for zlib streams
# per-harness extra libFuzzer flags: chunk names for the PNG decoder (libpng itself is not
# instrumented, so the dictionary helps mutations reach its chunk parsers)
declare -A opts=([png]="-dict=$src/png.dict" [yaml]="" [json]="" [catalog]="" [nncfg]="")
declare -A maxlen=([png]=65536 [yaml]=8192 [json]=8192 [catalog]=8192 [nncfg]=8192)
names=(png yaml json catalog nncfg)

for n in "${names[@]}"; do
  out="$build/fuzz_$n"
  # rebuild when a source is newer than the binary
  if [ ! -x "$out" ] || [ -n "$(find "$src/fuzz_$n.c" "${common[@]}" ${extra[$n]} common/common.h scheduler/scheduler.h \
         scheduler/internal.h nn/nn.h -newer "$out" 2>/dev/null | head -1)" ]; then
    echo "fuzz: building $out"
    # shellcheck disable=SC2086
    if ! "$cc" "${flags[@]}" "$src/fuzz_$n.c" "${common[@]}" ${extra[$n]} "${libs[@]}" -o "$out"; then
      echo "fuzz: building fuzz_$n failed" >&2; exit 2
    fi
  fi
done

status=0
summary=()
for n in "${names[@]}"; do
  work="$build/corpus-$n"
  mkdir -p "$work"
  log="$build/fuzz_$n.log"
  before=$(ls "$build/crashes" | grep -c "^$n-" || true)
  echo "fuzz: running fuzz_$n for ${secs}s (log $log)"
  # shellcheck disable=SC2086
  "$build/fuzz_$n" ${opts[$n]} -max_total_time="$secs" -max_len="${maxlen[$n]}" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$build/crashes/$n-" "$work" "$src/corpus/$n" >"$log" 2>&1
  rc=$?
  after=$(ls "$build/crashes" | grep -c "^$n-" || true)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  line="fuzz_$n: ${execs:-?} executions in ${secs}s, corpus $(ls "$work" | wc -l) files, $((after - before)) new crash(es), exit $rc"
  echo "$line"
  summary+=("$line")
  if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
    status=1
    grep -m5 -E "ERROR: |SUMMARY: " "$log" >&2 || true
  fi
done
echo "---- fuzz summary ----"
printf '%s\n' "${summary[@]}"
exit $status
