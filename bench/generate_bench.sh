#!/usr/bin/env bash
# Generator throughput: telemetry rows per second per rank.
#
# Runs `wattrun generate` on the demo facility (configs/demo.yaml as shipped)
# and on Eagle at a larger scale, with 1 and 2 ranks, and prints per run:
# telemetry rows, bytes on disk, wall time, and rows/s and MB/s per rank
# (telemetry phase). Scale 1 with 9 months is ~1e9 rows, ~28 GB: there the
# disk, not the CPU, sets the pace (page cache full; ~0.4 GB/s sustained on
# the 2-core development VM), so the default measures a size that stays in
# the page cache.
# Usage: bash bench/generate_bench.sh [SCALE] [MONTHS] [WORK_DIR]
#        (default 0.25, 2, bench/work)   WATTRUN=path/to/wattrun to override
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE="${1:-0.25}"
MONTHS="${2:-2}"
WORK="${3:-bench/work}"
BIN="${WATTRUN:-build/pipeline/wattrun}"
[[ -x $BIN ]] || bash jobs/setup.sh build >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mkdir -p "$WORK"

printf "%-22s %-6s %14s %10s %9s %14s %10s\n" facility ranks "rows" "MB" "seconds" "rows/s/rank" "MB/s/rank"
run() {  # name ranks config extra-args...
  local name=$1 ranks=$2 config=$3
  shift 3
  local out="$WORK/gen_${name}_r$ranks"
  local line
  line=$(mpirun -n "$ranks" "$BIN" generate --config "$config" --output "$out" "$@" | grep '^generate:')
  local rows secs per_rank bytes
  rows=$(echo "$line" | sed -n 's/.* \([0-9]*\) telemetry rows.*/\1/p')
  secs=$(echo "$line" | sed -n 's/.*, \([0-9.]*\) s (.*/\1/p')
  per_rank=$(echo "$line" | sed -n 's/.*(\([0-9.]*\) M rows\/s per rank).*/\1/p')
  bytes=$(find "$out/telemetry" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
  # MB/s per rank over the telemetry phase: bytes / (rows / rows-per-second-per-rank).
  local mbs
  mbs=$(awk -v b="$bytes" -v n="$rows" -v p="$per_rank" -v r="$ranks" \
        'BEGIN { t = n / (p * 1e6 * r); print (t > 0 ? b / t / r / 1e6 : 0) }')
  printf "%-22s %-6s %14s %10.1f %9s %14.0f %10.1f\n" "$name" "$ranks" "$rows" \
    "$(awk -v b="$bytes" 'BEGIN {print b / 1e6}')" "$secs" "$(awk -v p="$per_rank" 'BEGIN {print p * 1e6}')" "$mbs"
  rm -rf "$out"
}
for ranks in 1 2; do
  run demo "$ranks" configs/demo.yaml
done
for ranks in 1 2; do
  run "eagle_s${SCALE}_m$MONTHS" "$ranks" configs/eagle.yaml --scale "$SCALE" --months "$MONTHS"
done
echo "rows/s/rank counts the telemetry phase only (plan, small files and truth excluded; wall time includes them)."
