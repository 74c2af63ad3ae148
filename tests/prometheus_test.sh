#!/usr/bin/env bash
# Telemetry from a real Prometheus (issue 16): a generated facility's
# readings, as `wattrun generate --telemetry-format openmetrics` writes them
# (openmetrics/*.om, checked against the readings the file route stored),
# loaded into a TSDB with promtool, Debian's prometheus started on a free
# port on that data; `wattrun run` with the generator's wattrun.yaml
# (facility.telemetry.source: prometheus) must give every output table of
# the file route byte for byte (quality.csv but its telemetry rows).
# Then: a re-ingest fetches nothing new, and a server killed mid-ingest is
# a clear error naming the URL and query, with the store left as it was.
# The server is stopped by its PID whatever happens.
# Usage: prometheus_test.sh WATTRUN_BINARY STORE_TO_OPENMETRICS SOURCE_DIR
set -uo pipefail
BIN="$1"; CONVERT="$2"; SRC="$3"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
for tool in prometheus promtool curl; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not installed (apt-get install prometheus curl)"; exit 1; }
done
WORK=$(mktemp -d)
PROM_PID=""
stop_server() {
  if [[ -n $PROM_PID ]]; then kill "$PROM_PID" 2>/dev/null; wait "$PROM_PID" 2>/dev/null; PROM_PID=""; fi
}
trap 'stop_server; rm -rf "$WORK"' EXIT
CONFIG="$SRC/configs/demo.yaml"
passed=0; failed=0
check() {  # name, condition-as-exit-status
  if [[ $2 -eq 0 ]]; then passed=$((passed + 1)); echo "ok: $1"; else failed=$((failed + 1)); echo "FAIL: $1"; fi
}

# The facility (a month from 2021-10-15: the November fall-back hour of its
# Denver local times included), and the file route's results and store.
mpirun -n 2 "$BIN" generate --config "$CONFIG" --output "$WORK/facility" --scale 0.01 --months 1 --seed 5 \
  --telemetry-format openmetrics >/dev/null || { echo "FAIL: generate"; exit 1; }
mpirun -n 2 "$BIN" run --config "$CONFIG" --input "$WORK/facility" --output "$WORK/files" >"$WORK/files.log" 2>&1 ||
  { echo "FAIL: file route"; cat "$WORK/files.log"; exit 1; }

# The generator's OpenMetrics are the readings the file route stored (the
# store written out as OpenMetrics by the test's helper; labels without
# their exporter suffixes).
mkdir -p "$WORK/om"
read -r FIRST LAST < <("$CONVERT" "$WORK/files/store.h5" "$WORK/om" node_power_watts node)
OM="$WORK/facility/openmetrics"
echo "readings $FIRST .. $LAST: $(cat "$OM"/*.om | grep -c '^node_power_watts') samples in $(ls "$OM" | wc -l) files"
readings_of() { cat "$1"/*.om | grep -v '^#' | sed -E 's/(:9290|\.cluster)"/"/' | sort; }
cmp -s <(readings_of "$WORK/om") <(readings_of "$OM")
check "the generator's openmetrics/*.om hold the readings of the file route's store" $?
grep -q "source: prometheus" "$WORK/facility/wattrun.yaml"; check "the generator's wattrun.yaml reads Prometheus" $?

# Its readings into a TSDB, and a server on it.
t0=$(date +%s)
ls "$OM"/*.om | xargs -P 2 -I{} sh -c 'promtool tsdb create-blocks-from openmetrics -q "$1" "$2" >/dev/null || { echo "FAIL: promtool on $1"; exit 255; }' _ {} "$WORK/tsdb" ||
  exit 1
echo "promtool: $(ls "$OM" | wc -l) files into $(ls "$WORK/tsdb" | wc -l) blocks in $(( $(date +%s) - t0 )) s"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start_server() {
  PORT=$(free_port)
  printf 'global: {}\nscrape_configs: []\n' >"$WORK/prometheus.yml"
  prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
    --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$PORT" >"$WORK/prometheus.log" 2>&1 &
  PROM_PID=$!
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$PORT/-/ready" >/dev/null && return 0
    kill -0 "$PROM_PID" 2>/dev/null || break
    sleep 0.5
  done
  echo "FAIL: prometheus did not start"; tail -20 "$WORK/prometheus.log"; exit 1
}
start_server

# The config of the Prometheus route: the generator's wattrun.yaml, the
# server on its port.
prometheus_config() {  # END -> the config reading [start, END] from the server
  sed -e "s|url: http://127.0.0.1:9090|url: http://127.0.0.1:$PORT|" -e "s|^\( *end: \).*|\1$1|" \
    "$WORK/facility/wattrun.yaml"
}
prometheus_config "$LAST" >"$WORK/prometheus_route.yaml"
mpirun -n 2 "$BIN" run --config "$WORK/prometheus_route.yaml" --input "$WORK/facility" --output "$WORK/prom" \
  >"$WORK/prom.log" 2>&1
rc=$?; check "run with source: prometheus, exit $rc" $rc
[[ $rc -eq 0 ]] || tail -20 "$WORK/prom.log"

# Every output table byte for byte; quality.csv and quality_files.csv without
# their telemetry rows (Prometheus has no files, so no per-file bad rows).
tables=0; differ=""
for f in "$WORK"/files/*.csv; do
  name=$(basename "$f")
  tables=$((tables + 1))
  if [[ $name == quality.csv || $name == quality_files.csv ]]; then
    cmp -s <(grep -v '^telemetry,' "$f") <(grep -v '^telemetry,' "$WORK/prom/$name") || differ+=" $name"
  else
    cmp -s "$f" "$WORK/prom/$name" || differ+=" $name"
  fi
done
[[ $tables -ge 8 && -z $differ ]]; check "$tables output tables identical to the file route${differ:+ (differ:$differ)}" $?
for name in $differ; do diff "$WORK/files/$name" "$WORK/prom/$name" | head -5; done

# Re-ingestion: nothing newer than what is stored, no new batch.
mpirun -n 2 "$BIN" ingest --config "$WORK/prometheus_route.yaml" --input "$WORK/facility" --store "$WORK/prom/store.h5" \
  >"$WORK/again.log" 2>&1
rc=$?
[[ $rc -eq 0 && $(find "$WORK/prom/store.h5.d" -name 'batch_*.h5' | wc -l) -eq 1 ]]
check "re-ingest fetches nothing new (exit $rc, one batch)" $?
grep -m2 "ingest" "$WORK/again.log"

# Fault: the server killed mid-ingest. Stopped (SIGSTOP) once the ingest
# has sent its first query, so that the ingest is surely under way, then
# killed: every open and later request fails.
# Half the window in the store, then the rest fetched from a dying server.
MID=$(python3 -c "import datetime as d; a=d.datetime.fromisoformat('${FIRST%Z}'); b=d.datetime.fromisoformat('${LAST%Z}'); print((a+(b-a)/2).strftime('%Y-%m-%dT%H:%M:%SZ'))")
prometheus_config "$MID" >"$WORK/half.yaml"
mpirun -n 2 "$BIN" ingest --config "$WORK/half.yaml" --input "$WORK/facility" --store "$WORK/fault.h5" >/dev/null 2>&1 ||
  { echo "FAIL: half ingest"; exit 1; }
snapshot() { (cd "$WORK" && find fault.h5 fault.h5.d -type f | sort | xargs md5sum); }
before=$(snapshot)
mpirun -n 2 "$BIN" ingest --config "$WORK/prometheus_route.yaml" --input "$WORK/facility" --store "$WORK/fault.h5" \
  >"$WORK/fault.log" 2>&1 &
INGEST_PID=$!
for _ in $(seq 1 400); do
  [[ $(ss -tn state established "( sport = :$PORT )" 2>/dev/null | wc -l) -gt 1 ]] && break
  sleep 0.05
done
kill -STOP "$PROM_PID"; sleep 1; kill -KILL "$PROM_PID"; wait "$PROM_PID" 2>/dev/null; PROM_PID=""
wait "$INGEST_PID"; rc=$?
out=$(cat "$WORK/fault.log")
[[ $rc -ne 0 && $out == *"http://127.0.0.1:$PORT/api/v1/query: query 'node_power_watts{node=~"* ]]
check "server killed mid-ingest: exit $rc, the error names the URL and the query" $?
echo "$out" | grep -m1 "api/v1/query" | cut -c1-240
[[ "$(snapshot)" == "$before" ]]; check "store left as it was" $?
[[ -z $(find "$WORK" -maxdepth 2 -name '*.tmp.*' -o -maxdepth 2 -name 'ingest-tmp*') ]]; check "no temporary files left" $?

# The server back: the rest of the window is fetched (per node, only what
# is newer than its last stored reading), and the results from this store
# of two ingests are the file route's.
start_server
prometheus_config "$LAST" >"$WORK/prometheus_route.yaml"
mpirun -n 2 "$BIN" ingest --config "$WORK/prometheus_route.yaml" --input "$WORK/facility" --store "$WORK/fault.h5" \
  >"$WORK/rest.log" 2>&1
rc=$?; check "the rest ingested once the server is back, exit $rc" $rc
mpirun -n 2 "$BIN" run --config "$WORK/prometheus_route.yaml" --store "$WORK/fault.h5" --output "$WORK/two" \
  >"$WORK/two.log" 2>&1
differ=""
for f in "$WORK"/files/*.csv; do
  name=$(basename "$f")
  cmp -s <(grep -v '^telemetry,' "$f") <(grep -v '^telemetry,' "$WORK/two/$name" 2>/dev/null) || differ+=" $name"
done
[[ -z $differ ]]; check "two ingests (half, then the rest) give the file route's tables${differ:+ (differ:$differ)}" $?
stop_server

echo "prometheus test: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
