#!/usr/bin/env bash
# Golden test: the pipeline's outputs on two fixed small facilities (dirty and
# clean, tests/golden/*_facility.tar.gz, made once by `wattrun generate
# --scale 0.002 --months 1 --seed 7 [--clean]`) must stay what they were when
# the baseline was taken, on 1, 2 and 3 ranks: every CSV byte for byte, and
# results.h5 equal as h5dump text except for the attributes that record
# timings and the store's absolute path.
#
# Usage: golden_test.sh WATTRUN SOURCE_DIR [--update]
#   --update rewrites tests/golden/expected_* from this binary (one rank);
#   a commit that does so must say which outputs changed and why.
set -euo pipefail
WATTRUN="$1"
SRC="$2"
UPDATE="${3:-}"
GOLDEN="$SRC/tests/golden"
CONFIG="$SRC/configs/demo.yaml"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

# h5dump text of a results.h5 with volatile attributes dropped (blocks of
# ATTRIBUTE "<name>" { ... }, braces counted) and the file name line removed.
normalized_dump() {
  h5dump -m '%.17g' "$1" | tail -n +2 | awk '
    skip == 0 && /ATTRIBUTE "(telemetry_seconds|fit_seconds|store_path|created_utc|wattrun_version|command_line|slurm_job_id)" \{/ {
      skip = 1; depth = 1; next }
    skip == 1 { n = gsub(/\{/, "{"); m = gsub(/\}/, "}"); depth += n - m; if (depth <= 0) skip = 0; next }
    { print }'
}

failures=0
for variant in dirty clean; do
  mkdir -p "$WORK/$variant"
  tar -C "$WORK/$variant" -xzf "$GOLDEN/${variant}_facility.tar.gz"
  expected="$GOLDEN/expected_$variant"
  if [[ "$UPDATE" == "--update" ]]; then
    rm -rf "$expected" && mkdir -p "$expected"
    "$WATTRUN" run --config "$CONFIG" --input "$WORK/$variant/facility" --output "$WORK/$variant/out" >/dev/null
    cp "$WORK/$variant/out"/*.csv "$WORK/$variant/out/results.h5" "$expected/"
    echo "golden: baseline $variant rewritten ($(ls "$expected" | wc -l) files)"
    continue
  fi
  for ranks in 1 2 3; do
    out="$WORK/$variant/out$ranks"
    if ! mpirun -n "$ranks" "$WATTRUN" run --config "$CONFIG" --input "$WORK/$variant/facility" \
         --output "$out" >"$WORK/$variant/log$ranks" 2>&1; then
      echo "FAIL $variant, $ranks ranks: wattrun run failed:"; tail -20 "$WORK/$variant/log$ranks"
      failures=$((failures + 1)); continue
    fi
    # The same set of tables, each byte for byte.
    expected_csvs=$(cd "$expected" && ls *.csv)
    actual_csvs=$(cd "$out" && ls *.csv)
    if [[ "$expected_csvs" != "$actual_csvs" ]]; then
      echo "FAIL $variant, $ranks ranks: tables differ: expected [$expected_csvs] got [$actual_csvs]"
      failures=$((failures + 1))
    fi
    for f in $expected_csvs; do
      if ! cmp -s "$expected/$f" "$out/$f"; then
        echo "FAIL $variant, $ranks ranks: $f differs from the baseline:"
        diff "$expected/$f" "$out/$f" | head -10 || true
        failures=$((failures + 1))
      fi
    done
    if ! diff <(normalized_dump "$expected/results.h5") <(normalized_dump "$out/results.h5") >"$WORK/h5.diff"; then
      echo "FAIL $variant, $ranks ranks: results.h5 differs from the baseline:"; head -20 "$WORK/h5.diff"
      failures=$((failures + 1))
    fi
    echo "golden: $variant on $ranks ranks compared ($(echo "$expected_csvs" | wc -w) tables and results.h5)"
  done
done
if [[ "$UPDATE" == "--update" ]]; then exit 0; fi
if ((failures > 0)); then echo "golden: $failures differences"; exit 1; fi
echo "golden: all outputs identical to the baseline"
