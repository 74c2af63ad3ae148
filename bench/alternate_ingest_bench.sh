#!/usr/bin/env bash
# Two wattrun builds ingesting a facility month by month (as the
# re-ingestion job does) into two stores, alternating which goes first each
# month; each month's CSV is read once before, so both read it warm. Prints
# each month's wall time and the stores' sizes, then the ingest's own
# timers (parse, sort, write) and peak RSS per rank summed over the months.
# Usage: bash bench/alternate_ingest_bench.sh OLD_WATTRUN NEW_WATTRUN FACILITY WORK_DIR
#   FACILITY: a generated facility (e.g. bench/pipeline_bench.sh's); WORK_DIR
#   needs room for both stores (scale 1: 16.5 GB plain + 8.2 GB compact).
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=$(realpath "$1"); NEW=$(realpath "$2"); FAC=$(realpath "$3"); WORK=$4
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$WORK"; WORK=$(realpath "$WORK")
inc=$WORK/incoming
rm -rf "$inc" "$WORK"/old.h5 "$WORK"/old.h5.d "$WORK"/new.h5 "$WORK"/new.h5.d
mkdir -p "$inc/telemetry" "$inc/sacct"
for f in nodes.csv runs.csv datasets.csv losses.csv; do [[ -f $FAC/$f ]] && ln -s "$FAC/$f" "$inc/$f"; done
printf "%-8s %8s %8s %10s %10s\n" month old_s new_s old_MB new_MB
m=0
for month_dir in "$FAC"/telemetry/*/; do
  month=$(basename "$month_dir"); m=$((m + 1))
  mkdir -p "$inc/telemetry/$month"
  for f in "$month_dir"*; do ln -s "$f" "$inc/telemetry/$month/"; done
  [[ -f $FAC/sacct/$month.txt ]] && ln -s "$FAC/sacct/$month.txt" "$inc/sacct/"
  cat "$month_dir"* > /dev/null
  order="old new"; (( m % 2 == 0 )) && order="new old"
  declare -A secs
  for which in $order; do
    bin=$OLD; [[ $which == new ]] && bin=$NEW
    t0=$(date +%s.%N)
    mpirun -n 2 "$bin" ingest --config configs/eagle.yaml --input "$inc" --store "$WORK/$which.h5" \
      > "$WORK/ingest_${which}_$m.log" 2>&1
    secs[$which]=$(echo "$(date +%s.%N) - $t0" | bc)
  done
  printf "%-8s %8.2f %8.2f %10d %10d\n" "$month" "${secs[old]}" "${secs[new]}" \
    $(( $(du -sb "$WORK/old.h5.d" | cut -f1) / 1000000 )) $(( $(du -sb "$WORK/new.h5.d" | cut -f1) / 1000000 ))
done
for which in old new; do
  cat "$WORK"/ingest_${which}_*.log |
    sed -n 's/.*time \([0-9.]*\) s (parse \([0-9.]*\), sort \([0-9.]*\), write \([0-9.]*\)), .*peak memory \([0-9.]*\) MB per rank (\([0-9.]*\) MB.*/\1 \2 \3 \4 \5 \6/p' |
    awk -v w=$which '{t += $1; p += $2; s += $3; wr += $4; r0 = r0 " " $5; r1 = r1 " " $6}
      END {printf "%s: ingests %.1f s (parse %.1f, sort %.1f, write %.1f); peak RSS MB rank 0:%s; others:%s\n", w, t, p, s, wr, r0, r1}'
done
