#!/usr/bin/env bash
# The command line as a new user meets it: ranges checked at parse time with
# the range in the message (exit 2), a clear message for a folder without
# results.h5 (exit 1), --version naming the libraries, an example and the
# exit codes in every --help, a collective error printed once on 2 ranks,
# progress lines on stderr (none with --quiet).
# Usage: cli_test.sh WATTRUN SOURCE_DIR
set -uo pipefail
WATTRUN="$1"
SRC="$2"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
failures=0
check() {  # check NAME STATUS
  if [[ $2 -eq 0 ]]; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}

out=$("$WATTRUN" generate --config "$SRC/configs/demo.yaml" --output "$WORK/g" --scale -3 2>&1); rc=$?
[[ $rc -eq 2 && $out == *"--scale"*"not in range"* ]]; check "--scale -3: exit $rc, range named" $?
out=$("$WATTRUN" ingest --config "$SRC/configs/demo.yaml" --input "$WORK" --store "$WORK/s.h5" --memory-budget-mb 1 2>&1); rc=$?
[[ $rc -eq 2 && $out == *"--memory-budget-mb"*"64"* ]]; check "--memory-budget-mb 1: exit $rc, floor named" $?
out=$("$WATTRUN" run --config "$SRC/configs/demo.yaml" --store "$WORK/s.h5" --output "$WORK/r" --memory-budget-mb -5 2>&1); rc=$?
[[ $rc -eq 2 && $out == *"not in range"* ]]; check "run --memory-budget-mb -5: exit $rc" $?
out=$("$WATTRUN" generate --config "$SRC/configs/demo.yaml" --output "$WORK/g" --months 0 2>&1); rc=$?
[[ $rc -eq 2 ]]; check "--months 0: exit $rc" $?

mkdir -p "$WORK/empty"
out=$("$WATTRUN" report --output "$WORK/empty" 2>&1); rc=$?
[[ $rc -eq 1 && $out == *"no results.h5 here"* && $out != *"H5F"* ]]; check "report without results.h5: exit $rc, no HDF5 stack" $?

out=$("$WATTRUN" --version 2>&1); rc=$?
[[ $rc -eq 0 && $out == *"wattrun "* && $out == *"MPI:"* && $out == *"HDF5:"* && $out == *"Ceres:"* ]]
check "--version names MPI, HDF5, Ceres" $?
for cmd in generate ingest run predict report job; do
  out=$("$WATTRUN" $cmd --help 2>&1); rc=$?
  [[ $rc -eq 0 && $out == *"Example:"* && $out == *"Exit codes:"* ]]; check "$cmd --help: example and exit codes" $?
done

printf 'facility:\n  name: broken\n' > "$WORK/bad.yaml"
out=$(mpiexec -n 2 "$WATTRUN" run --config "$WORK/bad.yaml" --store "$WORK/s.h5" --output "$WORK/r" 2>&1); rc=$?
n=$(grep -c "node_types" <<< "$out")
[[ $rc -eq 1 && $n -eq 1 && $out == *"all 2 ranks"* ]]; check "config error on 2 ranks printed once (exit $rc, $n copies)" $?

err="$WORK/err.txt"
WATTRUN_PROGRESS_INTERVAL_S=0.05 "$WATTRUN" generate --config "$SRC/configs/demo.yaml" --output "$WORK/fac" \
  --scale 0.002 --months 1 2>"$err" | cat >"$WORK/out.txt"; rc=$?
[[ $rc -eq 0 ]] && grep -q "wattrun: generate: telemetry: done" "$err" && ! grep -q "wattrun: generate: telemetry" "$WORK/out.txt" \
  && grep -q "^generate:" "$WORK/out.txt"
check "progress on stderr, summary on stdout" $?
"$WATTRUN" -q generate --config "$SRC/configs/demo.yaml" --output "$WORK/fac" --scale 0.002 --months 1 2>"$err" >/dev/null
[[ ! -s $err ]]; check "--quiet: nothing on stderr" $?

# --json: one JSON object on stdout that a script parses; progress stays on stderr.
"$WATTRUN" run --config "$SRC/configs/demo.yaml" --input "$WORK/fac" --output "$WORK/res" --no-report --json \
  >"$WORK/run.json" 2>"$err"; rc=$?
[[ $rc -eq 0 ]] && grep -q "telemetry pass" "$err" && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["runs"] == sum(d["run_statuses"].values()), d["run_statuses"]
assert 0 < d["usable_runs"] <= d["run_statuses"]["ok"]
assert d["idle_power"]["cpu1"]["idle_w"] > 0
assert set(d["models"]) == {"cpu", "gpu"}
assert d["facility"]["jobs"] == sum(d["facility"]["job_statuses"].values())
assert any(f.endswith("/runs_energy.csv") for f in d["files"])
' "$WORK/run.json"
check "run --json: one object, counts per status add up (exit $rc)" $?
"$WATTRUN" predict --model "$WORK/res" --dataset mnist --shape rectangle --depth 3 --size 4096 --hardware cpu \
  --json >"$WORK/predict.json"; rc=$?
[[ $rc -eq 0 ]] && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["data"]["inputs"] == 784 and d["hardware"] == "cpu", d["data"]
b = d["breakdown"]
parts = b["overhead_j"] + b["passes_j"] + b["forward_ops_j"] + b["backward_ops_j"] + b["layers_j"]
parts += sum(w["energy_j"] for w in b["working_sets"])
assert abs(parts - d["energy_j"]) <= 1e-9 * abs(d["energy_j"]), (parts, d["energy_j"])
assert any(s["efficient"] for s in d["sizes"]) and all("energy_j" in s for s in d["sizes"])
' "$WORK/predict.json"
check "predict --json: parts add up to the energy (exit $rc)" $?

# The store records the config it was ingested with; a run with other zones is refused.
sed 's|^    timezone: America/Denver$|    timezone: UTC|' "$SRC/configs/demo.yaml" > "$WORK/utc.yaml"
out=$("$WATTRUN" run --config "$WORK/utc.yaml" --store "$WORK/res/store.h5" --output "$WORK/res_utc" 2>&1); rc=$?
[[ $rc -eq 1 && $out == *"facility.scheduler.timezone: store $WORK/res/store.h5 was ingested with 'America/Denver'"*"says 'UTC'"* \
   && $out == *"facility.telemetry.timezone: "* ]]
check "run --store with other zones: exit $rc, key path and both zones named" $?
"$WATTRUN" -q run --config "$SRC/configs/demo.yaml" --store "$WORK/res/store.h5" --output "$WORK/res_same" --no-report \
  --no-fit >/dev/null 2>&1; rc=$?
[[ $rc -eq 0 ]]; check "run --store with the same zones: exit $rc" $?
sed 's|^    timezone: America/Denver$|    timezone: Mars/Olympus|' "$SRC/configs/demo.yaml" > "$WORK/mars.yaml"
out=$("$WATTRUN" run --config "$WORK/mars.yaml" --store "$WORK/res/store.h5" --output "$WORK/res_mars" 2>&1); rc=$?
[[ $rc -eq 1 && $out == *"facility.scheduler.timezone"*"unknown time zone 'Mars/Olympus'"* ]]
check "unknown zone: exit $rc, key path named" $?

[[ $failures -eq 0 ]] && echo "cli: all passed" || { echo "cli: $failures failed"; exit 1; }
