#!/usr/bin/env bash
# Installs wattrun's build dependencies (Debian 12 packages) and builds it.
# Usage: bash jobs/setup.sh [BUILD_DIR [TARGET...]]   (default: build, all targets)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${1:-build}"
shift || true
TARGETS=()
for t in "$@"; do TARGETS+=(--target "$t"); done

PACKAGES=(build-essential cmake pkg-config zlib1g-dev libisal-dev tzdata
          libopenmpi-dev openmpi-bin libhdf5-openmpi-dev libeigen3-dev libceres-dev
          libyaml-cpp-dev libgtest-dev libhowardhinnant-date-dev libcli11-dev slurm-client hdf5-tools
          libcurl4-openssl-dev nlohmann-json3-dev)
bash jobs/install_packages.sh setup "${PACKAGES[@]}"

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" "${TARGETS[@]}"
