#!/usr/bin/env bash
# Builds wattrun's libFuzzer targets with clang (ASan + UBSan + coverage) in
# build-fuzz/ and runs each for a bounded time on its seed corpus.
#
# Usage: bash fuzz/run_fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#   SECONDS_PER_TARGET  default 60; 0 only replays the seeds and regressions
#   TARGET              default all: telemetry sacct hostlist timestamp config
#
# Each target first replays fuzz/corpus/T and fuzz/regressions/T, then fuzzes
# with -max_total_time. New inputs go to build-fuzz/fuzz/work/T (the seeds in
# the repository are not touched); a crash, leak, timeout or OOM is saved as
# build-fuzz/fuzz/artifacts/T/crash-* (or leak-, timeout-, oom-): copy it to
# fuzz/regressions/T/ to keep it. Prints executions and exec/s per target and
# exits non-zero if any target failed.
#
# Environment: FUZZ_JOBS (build parallelism, default nproc), FUZZ_ARGS (extra
# libFuzzer flags for every target, e.g. "-max_len=8192").
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-60}"
shift || true
ALL_TARGETS=(telemetry sacct hostlist timestamp config)
if (($#)); then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi
BUILD_DIR=build-fuzz
[[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || { echo "run_fuzz: SECONDS_PER_TARGET must be an integer" >&2; exit 2; }

# Clang with its libFuzzer runtime, and the packages of jobs/setup.sh (its
# PACKAGES=(...) array, read from it so that the lists never drift apart).
PACKAGES=()
eval "$(awk '/^PACKAGES=\(/ { p = 1 } p { print } p && /\)[[:space:]]*$/ { exit }' jobs/setup.sh)"
((${#PACKAGES[@]})) || { echo "run_fuzz: no PACKAGES=(...) in jobs/setup.sh" >&2; exit 1; }
PACKAGES+=(clang libclang-rt-dev)
bash jobs/install_packages.sh run_fuzz "${PACKAGES[@]}"

# Everything is compiled with coverage and the sanitizers, so that libFuzzer
# sees inside the parsers; only the fuzz targets link libFuzzer's main.
# -O1 -g without NDEBUG: assertions stay on.
SAN_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S . -B "$BUILD_DIR" \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DCMAKE_C_FLAGS="$SAN_FLAGS" -DCMAKE_CXX_FLAGS="$SAN_FLAGS" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DWATTRUN_FUZZ=ON -DWATTRUN_BUILD_TESTS=OFF >/dev/null
build_targets=(--target)
for t in "${TARGETS[@]}"; do build_targets+=("${t}_fuzz"); done
cmake --build "$BUILD_DIR" -j"${FUZZ_JOBS:-$(nproc)}" "${build_targets[@]}"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
read -r -a extra_args <<<"${FUZZ_ARGS:-}"
failed=()
summary=()
for t in "${TARGETS[@]}"; do
  bin="$BUILD_DIR/fuzz/${t}_fuzz"
  seeds="fuzz/corpus/$t"
  regressions="fuzz/regressions/$t"
  work="$BUILD_DIR/fuzz/work/$t"
  artifacts="$BUILD_DIR/fuzz/artifacts/$t"
  log="$BUILD_DIR/fuzz/$t.log"
  mkdir -p "$work" "$artifacts"
  dict=()
  [[ -f "fuzz/$t.dict" ]] && dict=(-dict="fuzz/$t.dict")
  echo
  echo "== $t"

  replay=("$seeds")
  [[ -d "$regressions" ]] && replay+=("$regressions")
  if ! "$bin" -runs=0 -timeout=25 -rss_limit_mb=2048 -artifact_prefix="$artifacts/replay-" \
      "${replay[@]}" >"$log.replay" 2>&1; then
    echo "$t: replaying ${replay[*]} FAILED (log: $log.replay)"
    grep -E "^(==[0-9]+==ERROR|SUMMARY|.*fuzz check failed|.*runtime error)" "$log.replay" | head -5 || true
    failed+=("$t (replay)")
  fi
  if ((SECONDS_PER_TARGET == 0)); then
    summary+=("$(printf '%-10s %6s %12s %9s %7s  %s' "$t" 0 - - - replay-only)")
    continue
  fi

  status=0
  "$bin" "$work" "$seeds" "${dict[@]}" -max_total_time="$SECONDS_PER_TARGET" \
    -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "${extra_args[@]}" >"$log" 2>&1 || status=$?
  final_stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  runs="$(final_stat number_of_executed_units)"
  rate="$(final_stat average_exec_per_sec)"
  new="$(final_stat new_units_added)"
  if [[ -z "$runs" ]]; then  # a crash ends the run before the final stats
    runs="$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')"
    rate="$(grep -oE 'exec/s: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')"
  fi
  result=ok
  if ((status != 0)); then
    artifact="$(grep -oE "Test unit written to [^ ]+" "$log" | tail -1 | sed 's/Test unit written to //')"
    result="FAILED (exit $status) ${artifact:-see $log}"
    failed+=("$t")
    grep -E "^(==[0-9]+==ERROR|SUMMARY|.*fuzz check failed|.*runtime error|.*threw)" "$log" | head -5 || true
  fi
  summary+=("$(printf '%-10s %6s %12s %9s %7s  %s' "$t" "$SECONDS_PER_TARGET" "${runs:-?}" "${rate:-?}" "${new:-?}" "$result")")
  echo "$t: ${runs:-?} executions, ${rate:-?} exec/s, ${new:-?} new inputs: $result"
done

echo
printf '%-10s %6s %12s %9s %7s  %s\n' target secs executions exec/s new result
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "run_fuzz: FAILED: ${failed[*]} (logs in $BUILD_DIR/fuzz/)"
  exit 1
fi
echo "run_fuzz: no crash found"
