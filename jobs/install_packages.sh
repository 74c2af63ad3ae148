#!/usr/bin/env bash
# Installs the Debian packages given as arguments that are not installed yet
# (with sudo when not root). Used by setup.sh, sanitize.sh and run_fuzz.sh.
# Usage: bash jobs/install_packages.sh LABEL PACKAGE...
set -euo pipefail
label="$1"; shift
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "$label: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
