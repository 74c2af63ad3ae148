#!/usr/bin/env bash
# The Prometheus route (facility.telemetry.source: prometheus, issue 16)
# against the file route and against the server's own raw export, on the
# same readings and the same 2 cores, in one run.
#
# Generates (once, cached in WORK_DIR) a facility of about 10 million
# readings with `--telemetry-format openmetrics`, loads its openmetrics/*.om
# into a TSDB with promtool (once, cached), starts Debian's prometheus on
# 127.0.0.1 on it (stopped by its PID whatever happens), then times,
# REPEATS times in turn (page cache warm, a fresh store each time):
#   (a) files:      mpirun -n 2 wattrun ingest --config configs/eagle.yaml --input FAC --store S
#   (b) prometheus: mpirun -n 2 wattrun ingest --config FAC/wattrun.yaml (the server's port) ...
#   (c) dump:       promtool tsdb dump TSDB (every sample as text: the server's raw export rate)
# and prints, best of REPEATS, the seconds (the ingest's own `time`, which
# leaves out mpirun's start), readings/s per rank (promtool: one process),
# the ratios, and for (b) where its time went (HTTP wait, JSON, ingest; the
# slowest rank's timers). The machine's load average is printed before and
# after: other builds may share the cores, so compare the ratios of one run.
# PERF=1 also records the Prometheus route's ranks with perf record -e
# cpu-clock (hardware counters are unavailable in VMs) and prints the top
# symbols.
#
# Usage: bash bench/prometheus_bench.sh [SCALE] [MONTHS] [WORK_DIR]   (default 0.09 1 bench/work)
# Environment: REPEATS (default 3), WATTRUN (binary; default build/pipeline/wattrun, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE="${1:-0.09}"; MONTHS="${2:-1}"; WORK="${3:-bench/work}"
REPEATS="${REPEATS:-3}"
BIN="${WATTRUN:-build/pipeline/wattrun}"
[[ -x $BIN ]] || { bash jobs/setup.sh build >/dev/null; BIN=build/pipeline/wattrun; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
for tool in prometheus promtool curl python3; do
  command -v "$tool" >/dev/null || { echo "prometheus_bench: $tool not installed (apt-get install prometheus curl)"; exit 1; }
done

mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
fac="$WORK/prom_facility_s${SCALE}_m${MONTHS}"
tsdb="$WORK/prom_tsdb_s${SCALE}_m${MONTHS}"
out="$WORK/prom_out"
if [[ ! -f $fac/wattrun.yaml ]]; then
  mpirun -n 2 "$BIN" generate --config configs/eagle.yaml --output "$fac" --scale "$SCALE" --months "$MONTHS" \
    --telemetry-format openmetrics | grep "^generate"
fi
if [[ ! -f $tsdb/.loaded ]]; then
  rm -rf "$tsdb"
  t0=$(date +%s.%N)
  ls "$fac"/openmetrics/*.om | xargs -P 2 -I{} promtool tsdb create-blocks-from openmetrics -q {} "$tsdb" >/dev/null
  touch "$tsdb/.loaded"
  echo "promtool: $(ls "$fac/openmetrics" | wc -l) files loaded in $(python3 -c "print(round($(date +%s.%N) - $t0, 1))") s"
fi
find "$fac" "$tsdb" -type f -print0 | xargs -0 cat >/dev/null  # page cache warm for everyone
rm -rf "$out"
mkdir -p "$out"

PROM_PID=""
stop_server() {
  if [[ -n $PROM_PID ]]; then kill "$PROM_PID" 2>/dev/null || true; wait "$PROM_PID" 2>/dev/null || true; PROM_PID=""; fi
}
trap stop_server EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'global: {}\nscrape_configs: []\n' >"$out/prometheus.yml"
# Blocks kept at 2 h (no compaction in the background while timing).
prometheus --config.file="$out/prometheus.yml" --storage.tsdb.path="$tsdb" --storage.tsdb.retention.time=100y \
  --storage.tsdb.min-block-duration=2h --storage.tsdb.max-block-duration=2h \
  --web.listen-address="127.0.0.1:$PORT" >"$out/prometheus.log" 2>&1 &
PROM_PID=$!
for _ in $(seq 1 240); do
  curl -sf "http://127.0.0.1:$PORT/-/ready" >/dev/null && break
  kill -0 "$PROM_PID" 2>/dev/null || { echo "prometheus did not start"; tail "$out/prometheus.log"; exit 1; }
  sleep 0.5
done
sed "s|url: http://127.0.0.1:9090|url: http://127.0.0.1:$PORT|" "$fac/wattrun.yaml" >"$out/prometheus_route.yaml"

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
ingest_seconds() { sed -n 's/^  time \([0-9.]*\) s.*/\1/p' "$1"; }
stored() { sed -n 's/.* \([0-9]*\) readings stored.*/\1/p' "$1"; }
declare -A best
keep_best() {  # name seconds
  if [[ -z ${best[$1]:-} ]] || python3 -c "import sys; sys.exit(not $2 < ${best[$1]})"; then best[$1]=$2; fi
}
for r in $(seq 1 "$REPEATS"); do
  rm -rf "$out/files.h5" "$out/files.h5.d"
  mpirun -n 2 "$BIN" ingest --config configs/eagle.yaml --input "$fac" --store "$out/files.h5" >"$out/files_$r.log"
  keep_best files "$(ingest_seconds "$out/files_$r.log")"
  rm -rf "$out/prom.h5" "$out/prom.h5.d"
  mpirun -n 2 "$BIN" ingest --config "$out/prometheus_route.yaml" --input "$fac" --store "$out/prom.h5" \
    >"$out/prom_$r.log"
  s=$(ingest_seconds "$out/prom_$r.log")
  keep_best prom "$s"
  [[ ${best[prom]} == "$s" ]] && cp "$out/prom_$r.log" "$out/prom_best.log"
  t0=$(date +%s.%N)
  dumped=$(promtool tsdb dump "$tsdb" | grep -c '^{')
  keep_best dump "$(python3 -c "print(round($(date +%s.%N) - $t0, 2))")"
  echo "repeat $r: files $(ingest_seconds "$out/files_$r.log") s, prometheus $s s, dump ${best[dump]} s (best so far)"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

readings=$(stored "$out/files_1.log")
[[ $(stored "$out/prom_1.log") == "$readings" ]] ||
  { echo "prometheus_bench: the routes stored different readings ($readings, $(stored "$out/prom_1.log"))"; exit 1; }
python3 - "$readings" "$dumped" "${best[files]}" "${best[prom]}" "${best[dump]}" <<'EOF'
import sys
readings, dumped = int(sys.argv[1]), int(sys.argv[2])
files, prom, dump = map(float, sys.argv[3:6])
print(f"readings: {readings} stored by each route, {dumped} samples dumped")
print(f"{'route':<34}{'seconds':>9}{'readings/s per rank':>22}{'x files':>9}")
for name, s, ranks, n in (("(a) files, 2 ranks", files, 2, readings), ("(b) prometheus, 2 ranks", prom, 2, readings),
                          ("(c) promtool tsdb dump, 1 process", dump, 1, dumped)):
    print(f"{name:<34}{s:>9.2f}{n / s / ranks / 1e6:>20.2f} M{s / files:>9.2f}")
print(f"prometheus route / files: {prom / files:.2f}x the time (goal: within 3x); "
      f"dump / prometheus route: {dump / prom:.2f}x")
EOF
grep "prometheus:" "$out/prom_best.log" | sed 's/^ */(b) best run: /'

if [[ ${PERF:-0} == 1 ]]; then
  rm -rf "$out/prom.h5" "$out/prom.h5.d"
  mpirun -n 2 bash -c 'exec perf record -q -e cpu-clock -F 999 -o "$0.rank$OMPI_COMM_WORLD_RANK" "$@"' \
    "$out/perf.data" "$BIN" ingest --config "$out/prometheus_route.yaml" --input "$fac" --store "$out/prom.h5" >/dev/null
  echo "perf, rank 0 of the Prometheus route (its own CPU; the server's is not in it):"
  perf report -i "$out/perf.data.rank0" --no-children --sort dso,symbol --stdio 2>/dev/null | grep -v '^#' |
    grep '%' | cut -c1-120 | head -25 || true
fi
