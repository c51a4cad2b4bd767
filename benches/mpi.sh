#!/usr/bin/env bash
# One job two ways on this machine's two cores, interleaved so that the load of a shared
# machine falls on both alike: one process with 2 workers of 1 thread, and `mpirun -np 2`
# with 1 worker of 1 thread per rank. Prints each run's wall and CPU seconds (user + system,
# children included) and the wall ratio per pair, and checks that both wrote the same CSV.
# On a machine that others load, the wall times follow the share of the cores each run
# gets (more runnable threads take more of a contended machine), so the CPU seconds say
# whether the two did the same work. Build first: cargo build --release --features mpi
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-${CARGO_TARGET_DIR:-target}/release/trajwalk}
pairs=${PAIRS:-3}
job=(run examples/peptide.h5md --radii examples/united-atom.radii --walks "${WALKS:-6e4}" --interior 2e4 --threads 1 --format csv --quiet)
out=$(mktemp -d)
TIMEFORMAT='%R %U %S'
seconds() { { time "$@" >/dev/null 2>&1; } 2>&1 | awk '{printf "%s %.2f", $1, $2 + $3}'; }
for i in $(seq "$pairs"); do
  read -r a acpu <<<"$(seconds "$bin" "${job[@]}" --workers 2 --out "$out/one.csv")"
  read -r b bcpu <<<"$(seconds mpirun --oversubscribe --allow-run-as-root --bind-to none -np 2 "$bin" "${job[@]}" --workers 1 --out "$out/mpi.csv")"
  cmp -s "$out/one.csv" "$out/mpi.csv" || { echo "the outputs differ" >&2; exit 1; }
  awk -v i="$i" -v a="$a" -v b="$b" -v ac="$acpu" -v bc="$bcpu" 'BEGIN {
    printf "pair %d: one process 2 x 1: %.2f s (%.2f s CPU)   mpirun -np 2, 1 x 1 each: %.2f s (%.2f s CPU)   wall ratio %.3f, CPU ratio %.3f\n", i, a, ac, b, bc, b / a, bc / ac }'
done
rm -r "$out"
