#!/usr/bin/env bash
# The device measurement in one call, on a bare machine with the kit that
# benches/device/build.sh made (carry target/device-kit; run target/device-kit/run.sh).
# Writes every table under $OUT (summary.txt first), in well under 10 minutes on 16 cores:
#   1. the adapter wgpu finds (and the machine: cores, GPUs, Vulkan ICDs);
#   2. the `gpu` criterion bench: GPU walks/s on cluster2101.bod and a 100,000-sphere
#      globule beside the CPU on 1 thread and on every core;
#   3. `trajwalk plan --measure` on three workloads that separate the strategies (few large
#      frames, many small ones, a middle one): every candidate's predicted and measured
#      seconds, and the planner's regret;
#   4. ZenoWrapper's parallelization table (100 ADK-sized frames; ZenoWrapper: about 1000 s
#      serial, 65 s with 16 processes, 100 s with 16 threads, 30 s with 4 x 4, at 1e6 walks)
#      with serial, frames 16 x 1, threads 1 x 16, hybrid 4 x 4, GPU and auto, at $WALKS
#      walks and samples a frame (scaled down from 1e6 to fit; the table says so).
# Knobs (environment): WALKS (1e5), PLAN_WALKS (2e4), SKIP_BENCH=1, CORES (nproc).
set -uo pipefail
kit="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$kit/out}"
mkdir -p "$out"
export LD_LIBRARY_PATH="$kit/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export TRAJWALK_CLUSTER2101="$kit/data/cluster2101.bod"
WALKS="${WALKS:-100000}"
PLAN_WALKS="${PLAN_WALKS:-20000}"
CORES="${CORES:-$(nproc)}"
tw="$kit/trajwalk"
data="$kit/data"
summary="$out/summary.txt"
: > "$summary"
say() { echo "$*" | tee -a "$summary"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

say "== machine: $CORES cores; $(uname -srm)"
{ nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; } >> "$summary" 2>&1 || say "(no nvidia-smi)"
say "Vulkan ICDs: $(ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null | tr '\n' ' ')"

say "== 1. the adapter"
"$tw" plan "$data/cluster2101.bod" --strategy gpu --walks 1e5 --interior 1e5 --format json > "$out/adapter.json" 2> "$out/adapter.err"
say "exit $?; $(tr -d '\n ' < "$out/adapter.json" | grep -o '"gpu":{[^}]*}' | head -1)"
head -c 2000 "$out/adapter.err" >> "$summary"

if [ "${SKIP_BENCH:-0}" != 1 ]; then
  say "== 2. gpu bench (criterion; walks/s as thrpt)"
  timeout 300 "$kit/gpu-bench" --bench > "$out/gpu-bench.txt" 2>&1
  say "exit $?"
  grep -E "^GPU|skipped|^gpu/|thrpt:" "$out/gpu-bench.txt" | tee -a "$summary"
fi

say "== 3. plan --measure ($PLAN_WALKS walks and samples a frame)"
for w in few_large many_small middle; do
  say "-- $w"
  start=$(now)
  timeout 240 "$tw" plan "$data/$w.h5md" --walks "$PLAN_WALKS" --interior "$PLAN_WALKS" --measure > "$out/plan-$w.txt" 2> "$out/plan-$w.err"
  code=$?
  "$tw" plan "$data/$w.h5md" --walks "$PLAN_WALKS" --interior "$PLAN_WALKS" --format json > "$out/plan-$w.json" 2>/dev/null
  cat "$out/plan-$w.txt" >> "$summary"
  say "exit $code; $(since "$start") s"
done

say "== 4. ZenoWrapper's table: 100 frames x 3341 atoms, $WALKS walks and $WALKS interior samples a frame (ZenoWrapper's figures are at 1e6: scale them by $WALKS / 1e6)"
say "$(printf '%-14s %10s %6s  %s' strategy seconds exit plan)"
for row in "serial:--strategy serial" "frames_16x1:--strategy frames --workers 16 --threads 1" \
           "threads_1x16:--strategy threads --threads 16" "hybrid_4x4:--strategy hybrid --workers 4 --threads 4" \
           "gpu:--strategy gpu" "auto:"; do
  name="${row%%:*}"; opts="${row#*:}"
  start=$(now)
  # shellcheck disable=SC2086
  timeout 400 "$tw" run "$data/adk100.h5md" --walks "$WALKS" --interior "$WALKS" $opts --format json --out "$out/zw-$name.json" --quiet 2> "$out/zw-$name.err"
  code=$?
  seconds=$(since "$start")
  # The plan's own keys are the ones indented four spaces (its candidates' are deeper).
  plan=$(grep -E '^    "(strategy|workers|threads)"' "$out/zw-$name.json" 2>/dev/null | tr -d ' \n')
  say "$(printf '%-14s %10s %6s  %s' "$name" "$seconds" "$code" "$plan")"
done
say "== done; the JSON of every run is beside this file"
