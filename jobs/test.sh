#!/usr/bin/env bash
# The README's second command: install, build and run the whole test suite
# (unit tests as plain processes, MPI tests under mpiexec -n 2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash jobs/setup.sh build
# The report's browser test renders report.html in headless Chromium (it
# skips, saying so, when Chromium cannot be installed).
# install_packages.sh runs apt-get update first: an image that removed its
# package lists after setup (containers/Dockerfile) still installs them.
if ! command -v chromium >/dev/null; then
  bash jobs/install_packages.sh test chromium 2>/dev/null ||
    echo "test: chromium could not be installed; the browser test will skip"
fi
# results.h5 read from Python (e2e/python_h5 skips, saying so, without them).
if ! /usr/bin/python3 -c "import h5py, pandas" 2>/dev/null; then
  bash jobs/install_packages.sh test python3-h5py python3-pandas 2>/dev/null ||
    echo "test: python3-h5py/python3-pandas could not be installed; e2e/python_h5 will skip"
fi
# A real Prometheus server and promtool for e2e/prometheus (started by the
# test itself on a free port, never as a service); python3 (e2e/cli's --json
# checks) and gawk (gensub in e2e/telemetry_formats), which a minimal Debian
# such as the container's build stage lacks.
bash jobs/install_packages.sh test prometheus curl iproute2 python3 gawk
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
