#!/usr/bin/env bash
# Energy counters end to end (facility.telemetry.kind: energy_counter): a
# facility generated with --telemetry-format energy-counter (each node's
# cumulative joules, some counters reset) in UTC, run on 2 ranks, must give
# the runs' and jobs' energies, the nodes' quantile counts and quality.csv's
# counter_reset that tests/energy_counter_check.py computes from the raw CSV
# by the README's rules (within 1e-9 relative). Ingesting the months one at
# a time must give the same tables, byte for byte, as one ingest of all; a
# run that reads the store as power readings is refused.
#
# Usage: energy_counter_test.sh WATTRUN SOURCE_DIR
set -euo pipefail
WATTRUN="$1"
SRC="$2"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# UTC telemetry and sacct, so that the check reads times without a zone database.
sed 's#timezone: America/Denver#timezone: UTC#' "$SRC/configs/demo.yaml" >"$WORK/utc.yaml"
grep -q 'timezone: UTC' "$WORK/utc.yaml" || fail "could not set the zones to UTC"
"$WATTRUN" generate -q --config "$WORK/utc.yaml" --scale 0.002 --months 2 --seed 11 \
  --telemetry-format energy-counter --output "$WORK/fac" >/dev/null
header=$(find "$WORK/fac/telemetry" -name 'part-0000.csv' | head -1 | xargs head -1)
[[ "$header" == "timestamp,node,joules" ]] || fail "counter header is '$header'"
grep -q 'kind: energy_counter' "$WORK/fac/wattrun.yaml" || fail "wattrun.yaml does not say kind: energy_counter"

mpirun -n 2 "$WATTRUN" run -q --config "$WORK/fac/wattrun.yaml" --input "$WORK/fac" --output "$WORK/out" >/dev/null
python3 "$SRC/tests/energy_counter_check.py" "$WORK/fac" "$WORK/out" || fail "the results are not the rules'"

# The same facility ingested a month at a time into one store: the interval
# across each month boundary starts at the previous month's last counter.
cp -r "$WORK/fac" "$WORK/inc"
rm -rf "$WORK/inc/telemetry" && mkdir "$WORK/inc/telemetry"
months=$(cd "$WORK/fac/telemetry" && ls)
for month in $months; do
  cp -r "$WORK/fac/telemetry/$month" "$WORK/inc/telemetry/"
  "$WATTRUN" run -q --config "$WORK/fac/wattrun.yaml" --input "$WORK/inc" --output "$WORK/out_inc" >/dev/null
done
for f in $(cd "$WORK/out" && ls *.csv); do
  if ! cmp -s "$WORK/out/$f" "$WORK/out_inc/$f"; then
    fail "$f differs between one ingest and one per month:"
    diff "$WORK/out/$f" "$WORK/out_inc/$f" | head -5
  fi
done

# The store holds counters: a config that reads power is refused.
if out=$("$WATTRUN" run -q --config "$WORK/utc.yaml" --input "$WORK/fac" --output "$WORK/out" 2>&1); then
  fail "a power config ran on a store of energy counters"
elif [[ "$out" != *"facility.telemetry.kind: store"*"was ingested with 'energy_counter'"*"says 'power'"* ]]; then
  fail "the refusal says: $out"
fi

if ((failures)); then echo "energy counters: $failures failures"; exit 1; fi
echo "energy counters: results as the rules give, the same with one ingest per month ($(echo $months | wc -w) months)"
