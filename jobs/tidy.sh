#!/usr/bin/env bash
# clang-tidy (.clang-tidy: bugprone-*, performance-*, mpi-*) over the
# production sources; exits non-zero on any warning. Needs a configured
# build directory (compile_commands.json); installs clang-tidy if missing.
# Usage: bash jobs/tidy.sh [BUILD_DIR] [FILES...]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${1:-build}"; shift || true
if ! command -v clang-tidy >/dev/null; then bash jobs/install_packages.sh tidy clang-tidy; fi
[[ -f $BUILD_DIR/compile_commands.json ]] || cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
if [[ $# -gt 0 ]]; then files=("$@"); else
  mapfile -t files < <(git ls-files 'core/*.cc' 'stages/*.cc' 'pipeline/*.cc' | grep -v '_test\.cc$')
fi
log=$(mktemp); trap 'rm -f "$log"' EXIT
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy -p "$BUILD_DIR" --quiet >"$log" 2>/dev/null || true
warnings=$(grep -c 'warning:' "$log" || true)
if [[ $warnings -gt 0 ]]; then
  grep -A3 'warning:' "$log"
  echo "tidy: $warnings warnings in ${#files[@]} files"; exit 1
fi
echo "tidy: clean (${#files[@]} files)"
