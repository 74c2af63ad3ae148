#!/usr/bin/env bash
# The telemetry pass and the whole pipeline against the limits of the machine.
#
# Builds a facility store the way the periodic re-ingestion job does: one
# `wattrun ingest` per month of telemetry (and that month's sacct file), so it
# shows what a new month costs and that ingest memory does not grow with
# months; runs the telemetry pass on the store after 1, 3 and all months
# (memory against months). Then runs `wattrun run --store` with 1, 2 and 4
# ranks (4 is oversubscribed on a 2-core machine) and prints per stage: wall
# time, readings/s per rank, bytes read, peak RSS per rank (the ingest's also
# without rank 0, which alone holds the catalogue); and, measured in
# the same run, the time of `cat store > /dev/null` (page cache warm) and of a
# single-threaded memory scan of the same bytes, with the telemetry pass given
# as a ratio to each. When it builds the store it also prints each month's
# ingest rate in MB/s per rank (of the files' bytes, gzip files compressed:
# the ingest's own figure), the disk's own rates for one month (its CSV
# read cold, a batch's bytes written with fsync) and the end-to-end time
# from CSV (the monthly ingests plus the 2-rank run, report excluded).
# Usage: bash bench/pipeline_bench.sh [SCALE] [MONTHS] [WORK_DIR]   (default 0.1 3 bench/work)
#   REPEATS=N: runs per rank count, the fastest telemetry pass reported (default 3)
#   scale 1, 9 months (the full facility, ~1e9 readings): needs ~40 GB of disk
#   (28 GB of CSV, 8.3 GB of store, temporary files of one month) and ~15 min.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE="${1:-0.1}"; MONTHS="${2:-3}"; WORK="${3:-bench/work}"
REPEATS="${REPEATS:-3}"
BIN="${WATTRUN:-build/pipeline/wattrun}"   # WATTRUN: another binary (e.g. a copy while rebuilding)
[[ -x $BIN && -x build/bench/wattrun_memscan ]] || bash jobs/setup.sh build >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mkdir -p "$WORK"
fac="$WORK/facility_s${SCALE}_m${MONTHS}"
store="$WORK/store_s${SCALE}_m${MONTHS}.h5"
if [[ ! -f $fac/nodes.csv ]]; then
  mpirun -n 2 $BIN generate --config configs/eagle.yaml --output "$fac" --scale "$SCALE" --months "$MONTHS" | tail -1
fi
fac=$(realpath "$fac")
peak_mb() { sed -n 's/.*peak memory \([0-9.]*\) MB.*/\1/p'; }
others_mb() { sed -n 's/.*peak memory .* (\([0-9.]*\) MB on the ranks but 0.*/\1/p'; }
if [[ ! -f $store ]]; then
  incoming="$WORK/incoming_s${SCALE}_m${MONTHS}"   # what has "arrived" so far: links into the facility
  rm -rf "$incoming" "$store" "$store.d"
  mkdir -p "$incoming/telemetry" "$incoming/sacct"
  for f in nodes.csv runs.csv datasets.csv losses.csv; do ln -s "$fac/$f" "$incoming/$f"; done
  echo "store: one ingest per month (mpirun -n 2), as the re-ingestion job does"
  printf "%-8s %12s %9s %16s %16s %14s %18s %16s\n" month "rows read" seconds "rows/s/rank" "file MB/s/rank" "peak RSS MB" \
    "ranks but 0 MB" "pass peak RSS MB"
  m=0; ingest_total=0
  for month_dir in "$fac"/telemetry/*/; do
    month=$(basename "$month_dir"); m=$((m + 1))
    mkdir -p "$incoming/telemetry/$month"
    for f in "$month_dir"*; do ln -s "$f" "$incoming/telemetry/$month/"; done
    [[ -f $fac/sacct/$month.txt ]] && ln -s "$fac/sacct/$month.txt" "$incoming/sacct/"
    out=$(mpirun -n 2 $BIN ingest --config configs/eagle.yaml --input "$incoming" --store "$store")
    secs=$(echo "$out" | sed -n 's/.*time \([0-9.]*\) s.*/\1/p')
    rows=$(echo "$out" | sed -n 's/.* \([0-9]*\) rows read.*/\1/p')
    pass_rss="-"
    if [[ $m -eq 1 || $m -eq 3 || $m -eq $MONTHS ]]; then   # memory of the pass against months
      mpirun -n 2 $BIN run --config configs/eagle.yaml --store "$store" --output "$WORK/results_month$m" \
        --no-fit --no-report --timings "$WORK/timings_month$m.csv" > /dev/null
      pass_rss=$(awk -F, '$1 == "\"telemetry pass\"" {printf "%.1f", $6 / 1e6}' "$WORK/timings_month$m.csv")
    fi
    printf "%-8s %12s %9s %16.0f %16s %14s %18s %16s\n" "$month" "$rows" "$secs" \
      "$(awk -v n="$rows" -v s="$secs" 'BEGIN {print n / s / 2}')" "$(echo "$out" | sed -n 's/.* \([0-9.]*\) MB\/s per rank.*/\1/p')" \
      "$(echo "$out" | peak_mb)" "$(echo "$out" | others_mb)" "$pass_rss"
    ingest_total=$(awk -v a="$ingest_total" -v b="$secs" 'BEGIN {print a + b}')
  done
  printf "%d monthly ingests: %.1f s in all\n" "$m" "$ingest_total"
  # The disk's own rate for the same bytes: one month's CSV read cold (what
  # the guest can drop from its page cache) and written durably as a store
  # month is (dd with fsync), beside the ingest's rate above.
  first_month=$(ls -d "$fac"/telemetry/*/ | head -1)
  sync   # dirty pages (a facility just generated) cannot be dropped
  find "$first_month" -type f -print0 | python3 -c '
import os, sys
for path in sys.stdin.buffer.read().split(b"\0"):
    if path:
        fd = os.open(path, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)'
  month_bytes=$(du -bc "$first_month"* | tail -1 | cut -f1)
  t0=$(date +%s.%N); cat "$first_month"* > /dev/null; t1=$(date +%s.%N)
  batch_bytes=$(du -b "$store.d"/batch_000001.h5 | cut -f1)
  t2=$(date +%s.%N)
  dd if=/dev/zero of="$WORK/dd_probe" bs=4M count=$((batch_bytes / 4194304 + 1)) conv=fsync status=none
  t3=$(date +%s.%N); rm -f "$WORK/dd_probe"
  printf "disk: %s cold: %.0f MB in %.2f s (%.0f MB/s); %s written with fsync: %.0f MB in %.2f s (%.0f MB/s)\n" \
    "$(basename "$first_month")" "$(awk -v b="$month_bytes" 'BEGIN {print b / 1e6}')" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" "$(awk -v a="$t0" -v b="$t1" -v n="$month_bytes" 'BEGIN {print n / (b - a) / 1e6}')" \
    "its batch's size" "$(awk -v b="$batch_bytes" 'BEGIN {print b / 1e6}')" \
    "$(awk -v a="$t2" -v b="$t3" 'BEGIN {print b - a}')" "$(awk -v a="$t2" -v b="$t3" -v n="$batch_bytes" 'BEGIN {print n / (b - a) / 1e6}')"
fi
store_bytes=$(du -bc "$store" "$store.d"/*.h5 | tail -1 | cut -f1)
# The CSV is not needed any more: drop it from the page cache, so that the
# store (16.6 GB at scale 1) stays cached between the runs being compared.
find "$fac/telemetry" -type f -print0 | python3 -c '
import os, sys
for path in sys.stdin.buffer.read().split(b"\0"):
    if path:
        fd = os.open(path, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)'
cat "$store" "$store.d"/*.h5 > /dev/null
cat_s=""
for ((rep = 1; rep <= REPEATS; rep++)); do   # best of REPEATS, like the runs
  t0=$(date +%s.%N); cat "$store" "$store.d"/*.h5 > /dev/null; t1=$(date +%s.%N)
  t=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
  if [[ -z $cat_s ]] || awk -v a="$t" -v b="$cat_s" 'BEGIN {exit !(a < b)}'; then cat_s=$t; fi
done
read -r scan_s scan_gbs _ < <(build/bench/wattrun_memscan "$store_bytes")
printf "\nstore: %.1f MB; cat: %.3f s (%.2f GB/s); single-threaded memory scan: %.3f s (%.2f GB/s)\n\n" \
  "$(awk -v b="$store_bytes" 'BEGIN {print b / 1e6}')" "$cat_s" "$(awk -v b="$store_bytes" -v s="$cat_s" 'BEGIN {print b / s / 1e9}')" \
  "$scan_s" "$scan_gbs"
printf "%-6s %-44s %9s %16s %12s %12s %10s %10s\n" ranks stage seconds "readings/s/rank" "MB read" "peak RSS MB" "vs cat" "vs scan"
declare -A pass_time best_wall
for ranks in 1 2 4; do
  note=""; [[ $ranks -gt $(nproc) ]] && note=" (oversubscribed)"
  # Best of REPEATS runs by telemetry-pass time (this VM's timings vary by tens of per cent).
  best=""
  for ((rep = 1; rep <= REPEATS; rep++)); do
    t0=$(date +%s.%N)
    mpirun -n "$ranks" $BIN run --config configs/eagle.yaml --store "$store" --output "$WORK/results_r$ranks" \
      --timings "$WORK/timings_try.csv" > "$WORK/run_r$ranks.log"
    wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
    t=$(awk -F, '$1 == "\"telemetry pass\"" {print $3}' "$WORK/timings_try.csv")
    if [[ -z $best ]] || awk -v a="$t" -v b="$best" 'BEGIN {exit !(a < b)}'; then
      best=$t; cp "$WORK/timings_try.csv" "$WORK/timings_r$ranks.csv"; best_wall[$ranks]=$wall
    fi
  done
  tail -n +2 "$WORK/timings_r$ranks.csv" | while IFS=, read -r stage r secs readings bytes rss; do
    stage=${stage//\"/}
    rps=""; vs_cat=""; vs_scan=""
    if [[ $readings -gt 0 ]]; then
      rps=$(awk -v n="$readings" -v s="$secs" -v r="$ranks" 'BEGIN {printf "%.3g", n / s / r}')
      # Ratio of the stage's rate (bytes it read per second) to the limit's rate.
      vs_cat=$(awk -v s="$secs" -v c="$cat_s" 'BEGIN {printf "%.2f", c / s}')
      vs_scan=$(awk -v s="$secs" -v c="$scan_s" 'BEGIN {printf "%.2f", c / s}')
    fi
    printf "%-6s %-44s %9.3f %16s %12.1f %12.1f %10s %10s\n" "$ranks$note" "$stage" "$secs" "$rps" \
      "$(awk -v b="$bytes" 'BEGIN {print b / 1e6}')" "$(awk -v b="$rss" 'BEGIN {print b / 1e6}')" "$vs_cat" "$vs_scan"
  done
done
for ranks in 1 2 4; do
  grep -E "^\"telemetry pass\"" "$WORK/timings_r$ranks.csv" | cut -d, -f3 > "$WORK/pass_r$ranks"
done
# The cost of facility accounting: the same pass on 2 ranks without it,
# alternating with it, best of REPEATS each, in this run.
best_with=""; best_without=""
for ((rep = 1; rep <= REPEATS; rep++)); do
  for mode in with without; do
    flag=""; [[ $mode == without ]] && flag="--no-accounting"
    mpirun -n 2 $BIN run --config configs/eagle.yaml --store "$store" --output "$WORK/results_acc" --no-fit \
      --no-report $flag --timings "$WORK/timings_acc.csv" > "$WORK/run_acc.log"
    t=$(awk -F, '$1 == "\"telemetry pass\"" {print $3}' "$WORK/timings_acc.csv")
    var="best_$mode"
    if [[ -z ${!var} ]] || awk -v a="$t" -v b="${!var}" 'BEGIN {exit !(a < b)}'; then printf -v "$var" %s "$t"; fi
  done
done
jobs_rows=$(($(wc -l < "$WORK/results_r2/jobs_energy.csv") - 1))
printf "\nfacility accounting (%d sacct allocations): telemetry pass on 2 ranks %.3f s with, %.3f s without: %.0f%% slower\n" \
  "$jobs_rows" "$best_with" "$best_without" "$(awk -v a="$best_with" -v b="$best_without" 'BEGIN {print 100 * (a / b - 1)}')"

if [[ -n ${ingest_total:-} ]]; then   # the store was built by this run: end to end from CSV
  report_s=$(awk -F, '$1 == "\"report\"" {print $3}' "$WORK/timings_r2.csv")
  printf "\nfrom CSV on 2 ranks: %.1f s of monthly ingests + %.1f s of run (wall, report %.1f s of it excluded) = %.1f s\n" \
    "$ingest_total" "$(awk -v w="${best_wall[2]}" -v r="$report_s" 'BEGIN {print w - r}')" "$report_s" \
    "$(awk -v i="$ingest_total" -v w="${best_wall[2]}" -v r="$report_s" 'BEGIN {print i + w - r}')"
fi

p1=$(cat "$WORK/pass_r1"); p2=$(cat "$WORK/pass_r2")
printf "\nstrong scaling of the telemetry pass 1 -> 2 ranks: speed-up %.2f, efficiency %.0f%%\n" \
  "$(awk -v a="$p1" -v b="$p2" 'BEGIN {print a / b}')" "$(awk -v a="$p1" -v b="$p2" 'BEGIN {print 100 * a / b / 2}')"
for f in runs_energy.csv idle_power.csv node_power_dist.csv quality.csv overheads.csv model_cpu.csv model_gpu.csv; do
  cmp -s "$WORK/results_r1/$f" "$WORK/results_r2/$f" && cmp -s "$WORK/results_r1/$f" "$WORK/results_r4/$f" ||
    echo "DIFFERENT across rank counts: $f"
done
echo "results identical across 1, 2 and 4 ranks (checked: runs_energy, idle_power, node_power_dist, quality, overheads, models)"
