#!/usr/bin/env bash
# A big gzip telemetry file against the ingest: one rank parses it while the
# other has only plain files. Times two wattrun builds (before/after a change)
# in the same run, alternating, best of REPEATS, and prints their ratio.
#
# The facility: bench/compare_bench.sh's (scale 0.09, one month, generated if
# missing) with its two largest same-header parts merged into one .csv.gz
# (~180 MB of text, ~20 MB on disk) and the other two parts plain, so that the
# gzip file is about 55 % of the parse work.
#
# Usage: bash bench/gzip_ingest_bench.sh BEFORE_BIN [AFTER_BIN] [WORK_DIR]
#   (AFTER_BIN default build/pipeline/wattrun; WORK_DIR default bench/work)
# Environment: REPEATS (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE="${1:?usage: gzip_ingest_bench.sh BEFORE_BIN [AFTER_BIN] [WORK_DIR]}"
AFTER="${2:-build/pipeline/wattrun}"
WORK="${3:-bench/work}"
REPEATS="${REPEATS:-3}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mkdir -p "$WORK"
src="$WORK/compare_facility_s0.09_m1"
fac="$WORK/gzip_big_facility"
if [[ ! -f $src/nodes.csv ]]; then
  mpirun -n 2 "$AFTER" generate --config configs/eagle.yaml --output "$src" --scale 0.09 --months 1 | grep "^generate"
fi
if [[ ! -f $fac/telemetry/2021-09/part-0000.csv.gz ]]; then
  rm -rf "$fac"
  mkdir -p "$fac/telemetry/2021-09"
  cp "$src"/{nodes,runs,datasets,losses,carbon_intensity}.csv "$fac/"
  cp -r "$src/sacct" "$fac/"
  (cat "$src/telemetry/2021-09/part-0000.csv"; zcat "$src/telemetry/2021-09/part-0001.csv.gz" | tail -n +2) |
    gzip -6 > "$fac/telemetry/2021-09/part-0000.csv.gz"
  cp "$src/telemetry/2021-09/part-0002.csv" "$src/telemetry/2021-09/part-0003.csv" "$fac/telemetry/2021-09/"
fi
find "$fac" -type f -print0 | xargs -0 cat > /dev/null   # page cache warm

now() { date +%s.%N; }
declare -A best
run() {  # $1 = label, $2 = binary
  local store="$WORK/gzip_bench_store_$1" t0 t1 t
  rm -rf "$store"
  t0=$(now)
  mpirun -n 2 "$2" ingest --config configs/eagle.yaml --input "$fac" --store "$store" > "$WORK/gzip_bench_$1.log" 2>&1
  t1=$(now)
  t=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
  printf "  %-7s %6.2f s\n" "$1" "$t"
  if [[ -z ${best[$1]:-} ]] || awk -v a="$t" -v b="${best[$1]}" 'BEGIN {exit !(a < b)}'; then best[$1]=$t; fi
}
echo "gzip ingest: $fac ($(du -b "$fac/telemetry/2021-09/part-0000.csv.gz" | cut -f1) B gzip," \
  "$(zcat "$fac/telemetry/2021-09/part-0000.csv.gz" | wc -c) B of text; plain parts $(du -cb "$fac"/telemetry/2021-09/*.csv | tail -1 | cut -f1) B)"
echo "  2 ranks, $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= REPEATS; ++r)); do
  run before "$BEFORE"
  run after "$AFTER"
done
echo "  load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "best of %d: before %.2f s, after %.2f s, after / before = %.2f\n" "$REPEATS" "${best[before]}" "${best[after]}" \
  "$(awk -v a="${best[after]}" -v b="${best[before]}" 'BEGIN {print a / b}')"
echo "stage lines of the last 'after' run:"
grep -E "^wattrun: ingest:" "$WORK/gzip_bench_after.log" | sed 's/^/  /'
