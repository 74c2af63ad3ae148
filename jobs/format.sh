#!/usr/bin/env bash
# clang-format (.clang-format) over every C++ file git tracks, and new ones not
# yet added (not those .gitignore names), so a new file is formatted before its commit.
# Usage: bash jobs/format.sh          rewrite the files in place
#        bash jobs/format.sh --check  exit 1, naming the files, if any is not formatted
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null; then bash jobs/install_packages.sh format clang-format; fi
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.cc' '*.h')
if [[ "${1:-}" == "--check" ]]; then
  bad=()
  for f in "${files[@]}"; do clang-format --style=file "$f" | cmp -s - "$f" || bad+=("$f"); done
  if ((${#bad[@]})); then printf 'format: not formatted: %s\n' "${bad[@]}"; exit 1; fi
  echo "format: clean (${#files[@]} files)"
else
  clang-format --style=file -i "${files[@]}"
fi
