#!/usr/bin/env bash
# Builds containers/Dockerfile for real with Debian's podman: a Debian 12
# base image is debootstrapped from this machine's apt mirror and imported
# as localhost/debian:bookworm, then the Dockerfile is built on it with
# chroot isolation, from the context containers/stage_context.sh writes
# (the checkout and ../shared/spec beside it). The Dockerfile's build stage
# runs jobs/test.sh and jobs/demo.sh, and its runtime stage runs the
# installed binary as the non-root user on 2 ranks, so a finished build is
# the check (running the image is not needed, and some sandboxes refuse it;
# containers/run_demo_podman.sh runs the demo in it either way).
#
# Usage: bash containers/build_podman.sh [IMAGE_TAG]     (default: wattrun)
# Environment:
#   PODMAN_WORK     scratch directory for the base root file system and the
#                   build context (default /var/tmp/wattrun-podman)
#   DEBIAN_MIRROR   mirror for debootstrap (default: the first Debian mirror
#                   of /etc/apt/sources.list{,.d/*})
#   REBUILD_BASE=1  debootstrap the base image again even if it exists
#   BASE_ONLY=1     stop after making the base image
#   PODMAN_BUILD_ARGS extra `podman build` options, e.g. "--no-cache"
#   CCACHE_HOST_DIR a ccache directory mounted into the build stage at
#                   /ccache (default: this host's, if ccache is installed;
#                   "none" for a build without it)
#   TEST_ARGS       ctest options for the build stage's suite (default
#                   "-LE slurm|multihost|prometheus": all but the three tests
#                   that start a Slurm cluster, network namespaces or a
#                   Prometheus server inside the build; "" runs every test)
set -euo pipefail
cd "$(dirname "$0")/.."
TAG="${1:-wattrun}"
BASE=localhost/debian:bookworm
WORK="${PODMAN_WORK:-/var/tmp/wattrun-podman}"
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
log() { echo "build_podman: $(date +%T): $*"; }

missing=()
for p in podman debootstrap; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The first URI of a sources entry whose suite is $1 (deb822 .sources or
# one-line .list files).
mirror_for() {
  local suite="$1" f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    if [[ "$f" == *.sources ]]; then
      awk -v suite="$suite" '
        /^[[:space:]]*$/ { if (uri != "" && hit) { print uri; exit } uri = ""; hit = 0; next }
        /^URIs:/   { uri = $2 }
        /^Suites:/ { for (i = 2; i <= NF; ++i) if ($i == suite) hit = 1 }
        END        { if (uri != "" && hit) print uri }' "$f"
    else
      awk -v suite="$suite" '$1 == "deb" { for (i = 2; i <= NF; ++i) if ($i ~ /^(https?|ftp):/ && $(i+1) == suite) { print $i; exit } }' "$f"
    fi
  done | head -1
}

if [[ "${REBUILD_BASE:-0}" == 1 ]] || ! $SUDO podman image exists "$BASE"; then
  mirror="${DEBIAN_MIRROR:-$(mirror_for bookworm)}"
  mirror="${mirror:-http://deb.debian.org/debian}"
  security="$(mirror_for bookworm-security)"
  rootfs="$WORK/rootfs"
  log "debootstrap --variant=minbase bookworm from $mirror into $rootfs"
  $SUDO rm -rf "$rootfs"
  $SUDO mkdir -p "$rootfs"
  $SUDO debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$WORK.debootstrap.log" 2>&1 || {
    tail -20 "$WORK.debootstrap.log" >&2; exit 1; }
  {
    echo "deb $mirror bookworm main"
    echo "deb $mirror bookworm-updates main"
    [[ -n "$security" ]] && echo "deb $security bookworm-security main"
  } | $SUDO tee "$rootfs/etc/apt/sources.list" >/dev/null
  $SUDO rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  log "importing $rootfs as $BASE"
  $SUDO tar -C "$rootfs" -c . | $SUDO podman import - "$BASE" >/dev/null
  $SUDO rm -rf "$rootfs"
fi

if [[ "${BASE_ONLY:-0}" == 1 ]]; then
  log "base image $BASE ready"
  exit 0
fi

read -r -a extra <<<"${PODMAN_BUILD_ARGS:-}"
ccache_dir="${CCACHE_HOST_DIR:-}"
if [[ -z "$ccache_dir" ]] && command -v ccache >/dev/null; then ccache_dir="$(ccache -k cache_dir)"; fi
if [[ -n "$ccache_dir" && "$ccache_dir" != none ]]; then
  mkdir -p "$ccache_dir"
  extra+=(--volume "$ccache_dir:/ccache")
  log "compiler cache: $ccache_dir mounted at /ccache"
fi
test_args="${TEST_ARGS--LE slurm|multihost|prometheus}"
log "test step: jobs/test.sh ${test_args:-(every test)}"
context="$WORK/context"
bash containers/stage_context.sh "$context"
log "podman build -f containers/Dockerfile -t $TAG (FROM $BASE): installs, builds, tests, runs the demo"
start=$(date +%s)
status=0
$SUDO podman build --isolation=chroot --network=host \
  --build-arg BASE_IMAGE="$BASE" --build-arg TEST_ARGS="$test_args" \
  -f containers/Dockerfile -t "$TAG" "${extra[@]}" "$context" || status=$?
elapsed=$(( $(date +%s) - start ))
if ((status != 0)); then
  log "FAILED after $((elapsed / 60)) min $((elapsed % 60)) s (exit $status)"
  exit "$status"
fi
log "built $TAG in $((elapsed / 60)) min $((elapsed % 60)) s: tests and demo passed in the build stage," \
  "the installed binary ran as user wattrun in the runtime stage"
$SUDO podman image ls "$TAG"
