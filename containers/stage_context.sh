#!/usr/bin/env bash
# Writes the build context of containers/Dockerfile into DIR, in the layout
# the project's tests expect (CI: a clean clone with ../shared beside it):
#   DIR/wattrun/       the checkout's files as git sees them (tracked, and
#                      untracked but not ignored: no build trees, no demo output)
#   DIR/shared/spec/   the contract (../shared/spec: PIPELINE.md, golden tables)
# Usage: bash containers/stage_context.sh DIR    (DIR is replaced)
#   then: docker build -f containers/Dockerfile -t wattrun DIR
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${1:?usage: bash containers/stage_context.sh DIR}"
[[ -d ../shared/spec ]] || { echo "stage_context: no ../shared/spec beside the checkout" >&2; exit 1; }
rm -rf "$DIR"
mkdir -p "$DIR/wattrun" "$DIR/shared"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Files deleted in the work tree but still in the index are left out.
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [[ -e "$f" ]] && printf '%s\0' "$f"; done |
    tar --null --no-recursion -T - -cf - | tar -xf - -C "$DIR/wattrun"
else
  tar --exclude='./build*' --exclude='./demo*' --exclude='./out*' -cf - . | tar -xf - -C "$DIR/wattrun"
fi
cp -r ../shared/spec "$DIR/shared/spec"
echo "stage_context: $DIR ($(du -sh "$DIR" | cut -f1))"
