#!/usr/bin/env bash
# The README's first command: install, build, generate the embedded demo
# facility and run the whole pipeline on it with 2 MPI ranks.
# Usage: bash jobs/demo.sh [RANKS]   -> demo/facility (inputs), demo/results (outputs)
set -euo pipefail
cd "$(dirname "$0")/.."
RANKS="${1:-2}"
bash jobs/setup.sh build wattrun   # the tests are built by jobs/test.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
MPIRUN=(mpirun -n "$RANKS")
"${MPIRUN[@]}" build/pipeline/wattrun generate --config configs/demo.yaml --output demo/facility
"${MPIRUN[@]}" build/pipeline/wattrun run --config configs/demo.yaml --input demo/facility --output demo/results
echo
echo "demo: inputs in demo/facility, results in demo/results (open demo/results/report.html)"
