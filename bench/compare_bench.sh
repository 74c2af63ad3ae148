#!/usr/bin/env bash
# wattrun against what a user would reach for instead: DuckDB (Node.js,
# @duckdb/node-api, 2 threads), Polars (Node.js, nodejs-polars 0.25.2,
# POLARS_MAX_THREADS=2) and pandas (Debian's python3-pandas, one process), on
# the same CSV facility and the same 2 cores, end to end from CSV.
#
# Generates (once, cached in WORK_DIR) a facility of about 10 million
# readings, then in the same run times, REPEATS times in turn (page cache warm):
#   mpirun -n 2 wattrun run --config configs/eagle.yaml --input FAC --output OUT --no-fit --no-report
#   the same with the model fits (issue 19's end to end: ingest, pass, statuses,
#   idle power, model fit, tables; the other tools fit no model)
#   node bench/compare/duckdb_job.mjs ...      (ingest, join, energies, idle power, per-node table)
#   POLARS_MAX_THREADS=2 node bench/compare/polars_job.mjs ...   (the same job)
#   /usr/bin/python3 bench/compare/pandas_job.py ...
# and prints wall time (best and median), readings/s, the ratio of each tool's
# time to wattrun's and peak RSS (/usr/bin/time -v; for wattrun the sum over
# its ranks). The tools alternate within each round. Then checks that the four agree (bench/compare/check_agreement.py):
# per-run status, energy of runs all call ok (relative difference <= 1e-6),
# idle_w per node type (exact), per-node table.
#
# Usage: bash bench/compare_bench.sh [SCALE] [MONTHS] [WORK_DIR]   (default 0.09 1 bench/work)
# Environment: REPEATS (default 3), WATTRUN (binary; default build/pipeline/wattrun, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE="${1:-0.09}"; MONTHS="${2:-1}"; WORK="${3:-bench/work}"
REPEATS="${REPEATS:-3}"
BIN="${WATTRUN:-build/pipeline/wattrun}"
[[ -x $BIN ]] || { bash jobs/setup.sh build >/dev/null; BIN=build/pipeline/wattrun; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
[[ -x /usr/bin/time ]] || { $SUDO apt-get update -qq; $SUDO apt-get install -y -qq time >/dev/null; }
/usr/bin/python3 -c "import pandas" 2>/dev/null ||
  { $SUDO apt-get update -qq; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-pandas >/dev/null; }
command -v node >/dev/null || { $SUDO apt-get update -qq; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null; }
# nodejs-polars-linux-x64-gnu is named in package.json: npm skips the native
# part on Debian's node 20 otherwise (it asks for node >= 22 but runs on 20).
[[ -d bench/compare/node_modules/@duckdb/node-api && -d bench/compare/node_modules/nodejs-polars-linux-x64-gnu ]] ||
  npm install --prefix bench/compare --no-audit --no-fund >/dev/null 2>&1

# The same two cores for every tool (all of them on a 2-core machine).
PIN=(); [[ $(nproc) -gt 2 ]] && command -v taskset >/dev/null && PIN=(taskset -c 0,1)

mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
fac="$WORK/compare_facility_s${SCALE}_m${MONTHS}"
if [[ ! -f $fac/nodes.csv ]]; then
  mpirun -n 2 "$BIN" generate --config configs/eagle.yaml --output "$fac" --scale "$SCALE" --months "$MONTHS" | grep "^generate"
fi
files=$(find "$fac/telemetry" -type f | wc -l)
gz=$(find "$fac/telemetry" -type f -name '*.gz' | wc -l)
bytes=$(find "$fac/telemetry" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
gz_bytes=$(find "$fac/telemetry" -type f -name '*.gz' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
find "$fac" -type f -print0 | xargs -0 cat > /dev/null   # page cache warm for everyone

out="$WORK/compare_out"
mkdir -p "$out"
# Wall seconds and peak RSS (kB) of a command, from GNU time's report.
wall_of() { awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; ++i) s = s * 60 + p[i]; print s}' "$1"; }
rss_of() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }

# $1 = repeat index, $2 = the tool's name in the tables, then run's flags.
wattrun_as() {
  local r=$1 name=$2; shift 2
  local o="$out/$name"
  rm -rf "$o"   # the store lives in the output directory: a fresh one, so the ingest is timed too
  "${PIN[@]}" /usr/bin/time -v -o "$out/time_${name}_$r.txt" \
    mpirun -n 2 bash -c '/usr/bin/time -f %M -o "$0.rank$OMPI_COMM_WORLD_RANK" "$@"' "$out/rss_${name}_$r" \
    "$BIN" run --config configs/eagle.yaml --input "$fac" --output "$o" --no-report "$@" > "$out/log_${name}_$r.txt"
  awk '{s += $1} END {print s}' "$out/rss_${name}_$r".rank* > "$out/rss_${name}_$r"
  rm -f "$out/rss_${name}_$r".rank*
}
# The job the other tools do (no model fit), and the issue's end to end:
# ingest, pass, statuses, idle power, both hardware classes' model fits, tables.
run_wattrun() { wattrun_as "$1" wattrun --no-fit; }
run_wattrun_fit() { wattrun_as "$1" wattrun_fit; }
run_duckdb() {
  "${PIN[@]}" /usr/bin/time -v -o "$out/time_duckdb_$1.txt" \
    node bench/compare/duckdb_job.mjs --config configs/eagle.yaml --input "$fac" --output "$out/duckdb" --threads 2 \
    2> "$out/log_duckdb_$1.txt"
  rss_of "$out/time_duckdb_$1.txt" > "$out/rss_duckdb_$1"
}
run_polars() {
  POLARS_MAX_THREADS=2 "${PIN[@]}" /usr/bin/time -v -o "$out/time_polars_$1.txt" \
    node bench/compare/polars_job.mjs --config configs/eagle.yaml --input "$fac" --output "$out/polars" --threads 2 \
    2> "$out/log_polars_$1.txt"
  rss_of "$out/time_polars_$1.txt" > "$out/rss_polars_$1"
}
run_pandas() {
  "${PIN[@]}" /usr/bin/time -v -o "$out/time_pandas_$1.txt" \
    /usr/bin/python3 bench/compare/pandas_job.py --config configs/eagle.yaml --input "$fac" --output "$out/pandas" \
    2> "$out/log_pandas_$1.txt"
  rss_of "$out/time_pandas_$1.txt" > "$out/rss_pandas_$1"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "compare: facility $fac"
printf "  %d telemetry files (%d gzip), %.1f MB on disk (%.1f MB of it gzip); %d cores; load average before: %s\n" \
  "$files" "$gz" "$(awk -v b="$bytes" 'BEGIN {print b / 1e6}')" "$(awk -v b="$gz_bytes" 'BEGIN {print b / 1e6}')" \
  "$(nproc)" "$load_before"
tools=(wattrun wattrun_fit duckdb polars pandas)
for ((r = 1; r <= REPEATS; ++r)); do
  for t in "${tools[@]}"; do
    "run_$t" "$r"
    printf "  round %d %-8s %7.2f s\n" "$r" "$t" "$(wall_of "$out/time_${t}_$r.txt")"
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# Readings: the valid, deduplicated readings (wattrun's per-node counts).
readings=$(awk -F, 'NR > 1 {s += $2} END {print s}' "$out/wattrun/node_power_dist.csv")
declare -A best median rss
for t in "${tools[@]}"; do
  times=$(for ((r = 1; r <= REPEATS; ++r)); do wall_of "$out/time_${t}_$r.txt"; done | sort -g)
  best[$t]=$(head -1 <<<"$times")
  median[$t]=$(awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}' <<<"$times")
  rss[$t]=$(for ((r = 1; r <= REPEATS; ++r)); do cat "$out/rss_${t}_$r"; done | sort -g | tail -1)
done
echo
printf "%s readings (valid, deduplicated), %d rounds, 2 cores; load average before %s, after %s\n\n" \
  "$readings" "$REPEATS" "$load_before" "$load_after"
printf "%-40s %10s %10s %14s %14s %18s %14s\n" tool "best s" "median s" "readings/s" "time / wattrun" "/ wattrun with fit" "peak RSS MB"
label() { case $1 in wattrun) echo "wattrun (mpirun -n 2, from CSV)";; wattrun_fit) echo "wattrun with the model fits";; duckdb) echo "DuckDB $(grep -o 'DuckDB v[0-9.]*' "$out/log_duckdb_1.txt" | cut -d' ' -f2) (node, 2 threads)";;
  polars) echo "Polars $(grep -o 'Polars [0-9.]*' "$out/log_polars_1.txt" | cut -d' ' -f2) (node, 2 threads)";; pandas) echo "pandas $(/usr/bin/python3 -c 'import pandas; print(pandas.__version__)') (1 process)";; esac; }
for t in "${tools[@]}"; do
  printf "%-40s %10.2f %10.2f %14.3g %13.2fx %17.2fx %14.1f\n" "$(label "$t")" "${best[$t]}" "${median[$t]}" \
    "$(awk -v n="$readings" -v s="${best[$t]}" 'BEGIN {print n / s}')" \
    "$(awk -v a="${best[$t]}" -v b="${best[wattrun]}" 'BEGIN {print a / b}')" \
    "$(awk -v a="${best[$t]}" -v b="${best[wattrun_fit]}" 'BEGIN {print a / b}')" \
    "$(awk -v k="${rss[$t]}" 'BEGIN {print k / 1024}')"
done
echo "(peak RSS: wattrun = sum over its 2 ranks; others = the one process; largest over the rounds)"
echo
echo "wattrun's own stage times (last round):"
grep -E "^(stage|ingest|telemetry pass|statuses|model fit|write tables)" "$out/log_wattrun_fit_$REPEATS.txt" | sed 's/^/  /'
echo "DuckDB job steps (last round):"; grep -E "^  [a-z].*: [0-9.]+ s$" "$out/log_duckdb_$REPEATS.txt" | sed 's/^/ /'
echo "Polars job steps (last round):"; grep -E "^  [a-z].*: [0-9.]+ s$" "$out/log_polars_$REPEATS.txt" | sed 's/^/ /'
echo "pandas job steps (last round):"; grep -E "^  [a-z].*: [0-9.]+ s$" "$out/log_pandas_$REPEATS.txt" | sed 's/^/ /'
echo
/usr/bin/python3 bench/compare/check_agreement.py "$out/wattrun" duckdb="$out/duckdb" polars="$out/polars" pandas="$out/pandas"
