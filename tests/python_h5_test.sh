#!/usr/bin/env bash
# results.h5 read the way a Python user reads it (h5py + pandas, Debian's
# python3-h5py and python3-pandas): the README snippet loads tables with their
# column order and units. Skipped (exit 0, ctest SKIP) without those modules.
# Usage: python_h5_test.sh WATTRUN SOURCE_DIR
set -euo pipefail
WATTRUN="$1"
SRC="$2"
# Debian's modules live under /usr/bin/python3, which a pyenv/conda python3
# on PATH would hide.
PY=""
for candidate in python3 /usr/bin/python3; do
  if "$candidate" -c "import h5py, pandas" 2>/dev/null; then PY="$candidate"; break; fi
done
if [[ -z $PY ]]; then
  echo "SKIP: python3-h5py and python3-pandas are not installed (apt-get install python3-h5py python3-pandas)"
  exit 77
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$WORK/facility"
tar -C "$WORK/facility" -xzf "$SRC/tests/golden/clean_facility.tar.gz"
"$WATTRUN" -q run --config "$SRC/configs/demo.yaml" --input "$WORK/facility/facility" --output "$WORK/out" --no-report >/dev/null
for table in runs_energy jobs_energy idle_power features quality; do
  "$PY" "$SRC/tests/python/read_table.py" "$WORK/out/results.h5" "$table"
done
echo "python_h5: all passed"
