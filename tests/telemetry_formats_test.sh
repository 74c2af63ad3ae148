#!/usr/bin/env bash
# Telemetry layouts end to end: one facility generated twice with the same
# seed, in the spec's layout (`timestamp,node,watts`, Denver local times) and
# in an LDMS CSV store's (`#Time,Time_usec,ProducerName,...,power`, epoch
# seconds), run with demo.yaml and with the config the generator wrote for
# LDMS (OUTPUT/wattrun.yaml), must give every output table byte for byte
# (quality.csv apart from its telemetry rows: the files' bad rows differ in
# kind, not in the readings); so must a third route, the LDMS files
# rewritten to epoch milliseconds and kW. The window holds a fall-back night,
# so the spec route's repeated hour, resolved by order, meets UTC epochs.
#
# Usage: telemetry_formats_test.sh WATTRUN SOURCE_DIR
set -euo pipefail
WATTRUN="$1"
SRC="$2"
CONFIG="$SRC/configs/demo.yaml"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

gen=(generate -q --config "$CONFIG" --scale 0.002 --months 2 --seed 11)
"$WATTRUN" "${gen[@]}" --output "$WORK/spec" >/dev/null
"$WATTRUN" "${gen[@]}" --output "$WORK/spec_again" --telemetry-format spec >/dev/null
"$WATTRUN" "${gen[@]}" --output "$WORK/ldms" --telemetry-format ldms >/dev/null

# --telemetry-format spec is the default: the same files, no config written.
diff -r -x .wattrun-generate "$WORK/spec" "$WORK/spec_again" >/dev/null || fail "--telemetry-format spec changed the output"
[[ ! -e "$WORK/spec/wattrun.yaml" ]] || fail "the spec layout wrote a wattrun.yaml"
[[ -s "$WORK/ldms/wattrun.yaml" ]] || fail "the ldms layout wrote no wattrun.yaml"
header=$(find "$WORK/ldms/telemetry" -name 'part-0000.csv' | head -1 | xargs head -1)
[[ "$header" == "#Time,Time_usec,ProducerName,component_id,job_id,power" ]] || fail "LDMS header is '$header'"

# A third route: the LDMS files rewritten to epoch milliseconds and kW
# (`1634277600.000000,...,231` -> `1634277600000.000,...,0.231`; bad rows
# stay bad), read with time_format: epoch_ms and watts_unit: kW.
cp -r "$WORK/ldms" "$WORK/ldms_kw"
to_ms_kw() {
  awk -F, -v OFS=, 'NR > 1 {
    $1 = gensub(/^([0-9]+)\.([0-9]{3})([0-9]{3})$/, "\\1\\2.\\3", 1, $1)
    if ($NF ~ /^[0-9]+$/) $NF = sprintf("%d.%03d", int($NF / 1000), $NF % 1000)
  } { print }'
}
find "$WORK/ldms_kw/telemetry" -name 'part-0*.csv' | while read -r f; do to_ms_kw <"$f" >"$f.new" && mv "$f.new" "$f"; done
find "$WORK/ldms_kw/telemetry" -name 'part-0*.csv.gz' | while read -r f; do
  gzip -dc "$f" | to_ms_kw | gzip >"$f.new" && mv "$f.new" "$f"
done
sed -i 's/time_format: epoch_s/time_format: epoch_ms/; s/watts_unit: W/watts_unit: kW/' "$WORK/ldms_kw/wattrun.yaml"
grep -q 'watts_unit: kW' "$WORK/ldms_kw/wattrun.yaml" || fail "could not set watts_unit: kW"
sample=$(find "$WORK/ldms_kw/telemetry" -name 'part-0000.csv' | head -1 | xargs sed -n 2p)
[[ "$sample" =~ ^[0-9]{13}\.000,000000,[^,]+,[0-9]+,0,[0-9]+\.[0-9]{3}$ ]] || fail "rewritten row is '$sample'"

"$WATTRUN" run -q --config "$CONFIG" --input "$WORK/spec" --output "$WORK/out_spec" >/dev/null
mpirun -n 2 "$WATTRUN" run -q --config "$WORK/ldms/wattrun.yaml" --input "$WORK/ldms" --output "$WORK/out_ldms" \
  >/dev/null
"$WATTRUN" run -q --config "$WORK/ldms_kw/wattrun.yaml" --input "$WORK/ldms_kw" --output "$WORK/out_ldms_kw" >/dev/null

tables=$(cd "$WORK/out_spec" && ls *.csv)
for route in ldms ldms_kw; do
  [[ "$tables" == "$(cd "$WORK/out_$route" && ls *.csv)" ]] || fail "the spec and $route routes wrote different tables"
  for f in $tables; do
    if [[ "$f" == quality.csv || "$f" == quality_files.csv ]]; then
      cmp -s <(grep -v '^telemetry,' "$WORK/out_spec/$f") <(grep -v '^telemetry,' "$WORK/out_$route/$f") ||
        fail "$f (rows other than telemetry's) differs between the spec and $route routes"
    elif ! cmp -s "$WORK/out_spec/$f" "$WORK/out_$route/$f"; then
      fail "$f differs between the spec and $route routes:"
      diff "$WORK/out_spec/$f" "$WORK/out_$route/$f" | head -5
    fi
  done
done
runs=$(($(wc -l <"$WORK/out_spec/runs_energy.csv") - 1))
((runs > 10)) || fail "only $runs runs: the facility is too small to show anything"

if ((failures)); then echo "telemetry formats: $failures failures"; exit 1; fi
echo "telemetry formats: spec, LDMS and LDMS in ms and kW give the same $(echo "$tables" | wc -w) tables ($runs runs)"
