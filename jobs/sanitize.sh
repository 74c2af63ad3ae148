#!/usr/bin/env bash
# Builds wattrun and its tests with AddressSanitizer, LeakSanitizer and
# UBSan (-DWATTRUN_SANITIZERS=address,undefined) in build-asan/ and runs the
# test suite under them: unit tests as plain processes, MPI tests under
# mpiexec -n 2, as jobs/test.sh does. Leaks inside Open MPI, hwloc and HDF5
# are suppressed by tests/lsan.supp; any other report fails its test.
# Usage: bash jobs/sanitize.sh [CTEST_ARGS...]   (e.g. -R stages/ingest, -L serial)
# Environment: SANITIZE_JOBS (build parallelism, default nproc),
# SANITIZE_CTEST_JOBS (tests at a time, default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=build-asan

# The packages of jobs/setup.sh: its PACKAGES=(...) array, read from it so
# that the two lists never drift apart.
PACKAGES=()
eval "$(awk '/^PACKAGES=\(/ { p = 1 } p { print } p && /\)[[:space:]]*$/ { exit }' jobs/setup.sh)"
((${#PACKAGES[@]})) || { echo "sanitize: no PACKAGES=(...) in jobs/setup.sh" >&2; exit 1; }
bash jobs/install_packages.sh sanitize "${PACKAGES[@]}"

# -O1 -g without NDEBUG: line numbers in the reports, assertions on, and
# tests fast enough under the sanitizers.
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DWATTRUN_SANITIZERS=address,undefined -DWATTRUN_BUILD_TESTS=ON >/dev/null
cmake --build "$BUILD_DIR" -j"${SANITIZE_JOBS:-$(nproc)}"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# Plain shared-memory transports: UCX's memory hooks and ASan's allocator do
# not mix, and the tests run on one node. Open MPI's components (mca_*.so)
# stay loaded after MPI_Finalize, and leak stacks are unwound in full
# (fast_unwind_on_malloc=0: Debian's libraries have no frame pointers), so
# that LSan can name the library a leak comes from and tests/lsan.supp
# matches it; otherwise they are frames of an "<unknown module>".
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader OMPI_MCA_osc=^ucx
export OMPI_MCA_mca_base_component_disable_dlclose=1
export ASAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# Reports go to files, one per process: the end-to-end tests run wattrun
# under mpirun and keep or discard its output themselves (and some expect it
# to fail), so a report there would otherwise go unseen.
REPORTS="$PWD/$BUILD_DIR/sanitizer-reports"
rm -rf "$REPORTS"
mkdir -p "$REPORTS"
ASAN_OPTIONS+=":log_path=$REPORTS/asan"
UBSAN_OPTIONS+=":log_path=$REPORTS/ubsan"

# One test at a time by default: full unwinding makes the heavy tests several
# times slower, and two of them side by side outrun their TIMEOUTs.
status=0
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"${SANITIZE_CTEST_JOBS:-1}" "$@" || status=$?
shopt -s nullglob
reports=("$REPORTS"/*)
if ((${#reports[@]})); then
  echo
  echo "sanitize: ${#reports[@]} sanitizer report(s) in $REPORTS:"
  for r in "${reports[@]}"; do
    echo "---- $r"
    head -60 "$r"
  done
  status=1
elif ((status == 0)); then
  echo "sanitize: all tests passed, no sanitizer reports"
else
  echo "sanitize: no sanitizer reports, but tests failed (see above)"
fi
exit "$status"
