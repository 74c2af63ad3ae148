#!/usr/bin/env bash
# Lengths of the production functions (ctags' line..end), longest first:
# the redesign's rule is none over 150 lines, none in pipeline/ over 80,
# at most 10 over 80 in all. Tests, benchmarks and fuzz targets are left out;
# stages/report/synthetic_results.h is listed but is test data (the report
# tests' fixture, one long table of made-up results), exempt by that rule.
# Usage: bash jobs/function_lengths.sh [LIMIT]   (default: list those over 80)
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT="${1:-80}"
command -v ctags >/dev/null || { echo "function_lengths: needs universal-ctags (apt-get install universal-ctags)"; exit 2; }
git ls-files '*.cc' '*.h' | grep -v -E '_test\.cc$|^bench/|^fuzz/|^tests/' |
  xargs ctags --fields=+ne --kinds-c++=f --output-format=u-ctags -f - 2>/dev/null |
  awk -F'\t' -v limit="$LIMIT" '{
      line = ""; end = "";
      for (i = 4; i <= NF; i++) { if ($i ~ /^line:/) line = substr($i, 6); if ($i ~ /^end:/) end = substr($i, 5); }
      if (line != "" && end != "") { n = end - line + 1; if (n > limit) printf "%5d %s:%s %s\n", n, $2, line, $1 }
    }' | sort -rn
