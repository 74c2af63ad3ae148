#!/usr/bin/env bash
# Fault tests, each a real process: damaged stores give a clear message (never
# a crash), a failing rank ends the whole job promptly with its message and a
# non-zero exit, a killed run never leaves results that look complete, and
# unwritable outputs give clear errors.
# Usage: faults_test.sh WATTRUN_BINARY SOURCE_DIR
set -uo pipefail
BIN="$1"; SRC="$2"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CONFIG="$SRC/configs/demo.yaml"
passed=0; failed=0
check() {  # name, condition-as-exit-status
  if [[ $2 -eq 0 ]]; then passed=$((passed + 1)); echo "ok: $1"; else failed=$((failed + 1)); echo "FAIL: $1"; fi
}
# Runs a command with a time limit; sets rc and out.
run() {
  out=$(timeout 120 "$@" 2>&1); rc=$?
}

mpirun -n 2 "$BIN" generate --config "$CONFIG" --output "$WORK/facility" --scale 0.01 --months 1 --seed 3 >/dev/null
mpirun -n 2 "$BIN" ingest --config "$CONFIG" --input "$WORK/facility" --store "$WORK/store.h5" >/dev/null

# 1. A truncated batch file.
cp -r "$WORK/store.h5" "$WORK/trunc.h5"; cp -r "$WORK/store.h5.d" "$WORK/trunc.h5.d"
batch="$WORK/trunc.h5.d/batch_000001.h5"
truncate -s $(( $(stat -c %s "$batch") / 2 )) "$batch"
run mpirun -n 2 "$BIN" run --config "$CONFIG" --store "$WORK/trunc.h5" --output "$WORK/r_trunc" --no-fit
[[ $rc -ne 0 && $rc -lt 128 && $out == *"batch_000001.h5"* ]]; check "truncated batch: clear error, exit $rc" $?
echo "$out" | grep -m1 "error" | cut -c1-200

# 2. A corrupted catalogue (bytes overwritten in the middle).
cp "$WORK/store.h5" "$WORK/corrupt.h5"; cp -r "$WORK/store.h5.d" "$WORK/corrupt.h5.d"
size=$(stat -c %s "$WORK/corrupt.h5")
dd if=/dev/urandom of="$WORK/corrupt.h5" bs=1 seek=$((size / 3)) count=4096 conv=notrunc status=none
run "$BIN" run --config "$CONFIG" --store "$WORK/corrupt.h5" --output "$WORK/r_corrupt" --no-fit
[[ $rc -ne 0 && $rc -lt 128 && $out == *"corrupt.h5"* ]]; check "corrupted catalogue: clear error, exit $rc" $?
echo "$out" | grep -m1 "error" | cut -c1-200

# 3. Not a store at all.
echo "hello" > "$WORK/text.h5"
run "$BIN" run --config "$CONFIG" --store "$WORK/text.h5" --output "$WORK/r_text" --no-fit
[[ $rc -ne 0 && $rc -lt 128 && $out == *"text.h5"* ]]; check "not HDF5: clear error, exit $rc" $?

# 4. A rank that throws inside a collective step: all ranks end, rank 0 says why.
t0=$(date +%s)
WATTRUN_FAULT=throw:1:pass run mpirun -n 2 "$BIN" run --config "$CONFIG" --store "$WORK/store.h5" --output "$WORK/r_f1" --no-fit
[[ $rc -ne 0 && $rc -ne 124 && $out == *"rank 1: injected fault"* ]]; check "rank 1 throws in the pass: exit $rc in $(( $(date +%s) - t0 )) s" $?

# 5. A rank that throws outside any collective: MPI_Abort, no hang.
t0=$(date +%s)
WATTRUN_FAULT=throw:1:before-collective run mpirun -n 2 "$BIN" run --config "$CONFIG" --store "$WORK/store.h5" --output "$WORK/r_f2" --no-fit
[[ $rc -ne 0 && $rc -ne 124 && $out == *"error on rank 1: injected fault"* ]]; check "rank 1 throws alone: job aborted, exit $rc in $(( $(date +%s) - t0 )) s" $?

# 6. A rank that throws during ingest leaves the store as it was.
cp "$WORK/store.h5" "$WORK/before.h5"
WATTRUN_FAULT=throw:0:ingest run mpirun -n 2 "$BIN" ingest --config "$CONFIG" --input "$WORK/facility" --store "$WORK/new.h5"
[[ $rc -ne 0 && ! -e $WORK/new.h5 ]]; check "ingest fails on rank 0: no store written, exit $rc" $?

# 6b. pipeline.strict makes bad input rows fatal, with the first example of each kind.
sed 's/strict: false/strict: true/' "$CONFIG" > "$WORK/strict.yaml"
run mpirun -n 2 "$BIN" ingest --config "$WORK/strict.yaml" --input "$WORK/facility" --store "$WORK/strict.h5"
[[ $rc -ne 0 && $rc -lt 128 && $out == *"pipeline.strict"* && ! -e $WORK/strict.h5 ]]; check "strict: bad rows are fatal, exit $rc" $?
echo "$out" | grep -m1 "error" | cut -c1-200

# 7. A results directory killed halfway never looks complete.
ok=0
for delay in 0.2 0.5 0.9 1.4; do
  rm -rf "$WORK/r_kill"
  setsid mpirun -n 2 "$BIN" run --config "$CONFIG" --store "$WORK/store.h5" --output "$WORK/r_kill" >/dev/null 2>&1 &
  pid=$!; sleep "$delay"; kill -KILL -- -"$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  if [[ -e $WORK/r_kill/_SUCCESS ]]; then
    for f in runs_energy.csv idle_power.csv quality.csv results.h5 report.html; do [[ -s $WORK/r_kill/$f ]] || ok=1; done
  fi
  ls "$WORK/r_kill"/*.tmp >/dev/null 2>&1 && [[ -e $WORK/r_kill/_SUCCESS ]] && ok=1
done
check "killed runs: _SUCCESS only with every file complete" $ok

# 7b. Every kind of dirt at once: the generator's dirty facility (duplicates,
# conflicts, malformed rows, a header-only, an empty, a fake-gzip and a
# wrong-header file, runs on unknown nodes, negative windows) plus a
# semicolon-delimited file and a binary file in telemetry/: the run completes,
# quality.csv counts the new files' lines, and no run's result changes.
cp -r "$WORK/facility" "$WORK/dirty"
mkdir -p "$WORK/dirty/telemetry/extra"
printf 'timestamp;node;watts\n2021-10-16 00:00:00Z;r1i0n0;300\n2021-10-16 00:01:00Z;r1i0n0;301\n' > "$WORK/dirty/telemetry/extra/semicolon.csv"
head -c 65536 /dev/urandom > "$WORK/dirty/telemetry/extra/binary.csv"
mpirun -n 2 "$BIN" run --config "$CONFIG" --input "$WORK/facility" --output "$WORK/r_clean" --no-fit --no-report >/dev/null 2>&1
run mpirun -n 2 "$BIN" run --config "$CONFIG" --input "$WORK/dirty" --output "$WORK/r_dirty" --no-fit --no-report
bad_clean=$(grep '^telemetry,bad_header,' "$WORK/r_clean/quality.csv" | cut -d, -f3)
bad_dirty=$(grep '^telemetry,bad_header,' "$WORK/r_dirty/quality.csv" | cut -d, -f3)
[[ $rc -eq 0 && -e $WORK/r_dirty/_SUCCESS && $bad_dirty -gt $((bad_clean + 2)) ]] &&
  cmp -s "$WORK/r_clean/runs_energy.csv" "$WORK/r_dirty/runs_energy.csv"
check "every kind of dirt: run completes, bad_header $bad_clean -> $bad_dirty, runs_energy.csv unchanged" $?

# 8. Unwritable output and a disk that is full.
run "$BIN" run --config "$CONFIG" --store "$WORK/store.h5" --output /proc/wattrun_results --no-fit
[[ $rc -ne 0 && $rc -lt 128 && $out == *"/proc/wattrun_results"* ]]; check "unwritable output: clear error, exit $rc" $?
echo "$out" | grep -m1 "error" | cut -c1-200
mkdir -p "$WORK/full"
if mount -t tmpfs -o size=256k tmpfs "$WORK/full" 2>/dev/null; then
  run "$BIN" run --config "$CONFIG" --store "$WORK/store.h5" --output "$WORK/full/r" --no-fit
  umount "$WORK/full"
  [[ $rc -ne 0 && $rc -lt 128 && ( $out == *"disk full"* || $out == *"No space"* || $out == *"write failed"* || $out == *"HDF5"* ) ]]
  check "disk full: clear error, exit $rc" $?
  echo "$out" | grep -m1 "error" | cut -c1-200
  # A disk with room for the CSVs but not for results.h5 (written last):
  # HDF5's own write fails, which must be a clear error too, never a crash
  # (a failed HDF5 file left open crashes the library at MPI_Finalize).
  run "$BIN" run --config "$CONFIG" --store "$WORK/store.h5" --output "$WORK/sized" --no-fit --no-report
  csv_kb=$(( $(cat "$WORK/sized"/*.csv | wc -c) / 1024 ))
  h5_kb=$(( $(wc -c < "$WORK/sized/results.h5") / 1024 ))
  if [[ $h5_kb -gt 64 ]] && mount -t tmpfs -o size=$((csv_kb + h5_kb / 2))k tmpfs "$WORK/full"; then
    run "$BIN" run --config "$CONFIG" --store "$WORK/store.h5" --output "$WORK/full/r" --no-fit --no-report
    leftover=$(ls "$WORK/full/r" | grep -c 'results.h5' || true)
    umount "$WORK/full"
    [[ $rc -ne 0 && $rc -lt 128 && $out == *"results.h5"* && $leftover -eq 0 ]]
    check "disk full at results.h5 (CSVs ${csv_kb} kB fit, results.h5 ${h5_kb} kB not): clear error, exit $rc" $?
    echo "$out" | grep -m1 "error" | cut -c1-200
  else
    echo "skip: disk full at results.h5 (results.h5 of ${h5_kb} kB too small to size a disk for)"
  fi
else
  echo "skip: disk full (cannot mount a small tmpfs here)"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
