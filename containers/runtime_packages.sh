#!/usr/bin/env bash
# Prints the Debian packages an installed wattrun needs at run time, one a
# line: those that own the shared libraries its binary loads (ldd, then
# dpkg -S), plus openmpi-bin (mpirun) and tzdata (the time zones). The
# containers' build stage writes this list; their runtime stage installs
# only it, so it follows the libraries the build actually linked.
# Usage: bash containers/runtime_packages.sh PREFIX/bin/wattrun
set -euo pipefail
BINARY="${1:?usage: bash containers/runtime_packages.sh PREFIX/bin/wattrun}"
missing=$(ldd "$BINARY" | awk '/not found/ { print $1 }')
[[ -z "$missing" ]] || { echo "runtime_packages: $BINARY: libraries not found: $missing" >&2; exit 1; }
{
  # dpkg knows a library by one of its names: the path ldd prints (/lib/...
  # on a merged /usr) or the file it resolves to.
  ldd "$BINARY" | awk '$3 ~ /^\// { print $3 }' | while read -r lib; do
    dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")" 2>/dev/null || true
  done | cut -d: -f1 | tr ',' '\n' | sed 's/^ *//'
  echo openmpi-bin
  echo tzdata
} | sort -u
