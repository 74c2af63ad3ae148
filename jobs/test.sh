#!/usr/bin/env bash
# The README's second command: install, build and run the whole test suite
# (unit tests as plain processes, MPI tests under mpiexec -n 2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash jobs/setup.sh build
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
