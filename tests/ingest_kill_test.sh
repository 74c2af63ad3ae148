#!/usr/bin/env bash
# An ingest killed with SIGKILL at random points leaves a readable store (the
# previous one, or none), and re-running it gives a store identical to an
# uninterrupted ingest: same catalogue tables, same telemetry batches.
# Usage: ingest_kill_test.sh WATTRUN_BINARY SOURCE_DIR [KILLS]
set -euo pipefail
BIN="$1"; SRC="$2"; KILLS="${3:-6}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CONFIG="$SRC/configs/demo.yaml"

mpirun -n 2 "$BIN" generate --config "$CONFIG" --output "$WORK/facility" --scale 0.01 --months 1 --seed 5 >/dev/null
mpirun -n 2 "$BIN" ingest --config "$CONFIG" --input "$WORK/facility" --store "$WORK/ref.h5" >/dev/null

compare() {  # the store's tables and telemetry equal the reference's
  h5diff -q "$WORK/ref.h5" "$1" /tables >/dev/null && h5diff -q "$WORK/ref.h5" "$1" /quality >/dev/null &&
    h5diff -q "$WORK/ref.h5" "$1" /manifest >/dev/null &&
    h5diff -q "$WORK/ref.h5.d/batch_000001.h5" "$1.d/batch_000001.h5" >/dev/null
}

# How long an uninterrupted ingest takes, to aim the kills inside it.
t0=$(date +%s%N)
mpirun -n 2 "$BIN" ingest --config "$CONFIG" --input "$WORK/facility" --store "$WORK/timing.h5" >/dev/null
full_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "uninterrupted ingest: ${full_ms} ms"

killed_before_commit=0
for k in $(seq 1 "$KILLS"); do
  store="$WORK/killed_$k.h5"
  delay_ms=$(( (RANDOM % (full_ms > 50 ? full_ms : 50)) + 20 ))
  setsid mpirun -n 2 "$BIN" ingest --config "$CONFIG" --input "$WORK/facility" --store "$store" >/dev/null 2>&1 &
  pid=$!
  sleep "$(awk -v m="$delay_ms" 'BEGIN {print m / 1000}')"
  kill -KILL -- -"$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pkill -KILL -f "wattrun ingest.*$store" 2>/dev/null || true
  if [[ -e $store ]]; then
    # Whatever is there must be a complete store, never a damaged one.
    if ! compare "$store"; then echo "FAIL: kill $k at ${delay_ms} ms left a store that differs"; exit 1; fi
  else
    killed_before_commit=$((killed_before_commit + 1))
  fi
  mpirun -n 2 "$BIN" ingest --config "$CONFIG" --input "$WORK/facility" --store "$store" >/dev/null
  if ! compare "$store"; then echo "FAIL: re-run after kill $k at ${delay_ms} ms differs from the reference"; exit 1; fi
  echo "kill $k at ${delay_ms} ms: re-run identical"
done
echo "$KILLS kills ($killed_before_commit before the catalogue was committed): 1 passed, 0 failed"
