#!/usr/bin/env bash
# Runs the image that build_podman.sh made, as its user `wattrun`:
# `id`, `wattrun --version` and the demo (generate and run on 2 ranks at
# demo.yaml's scale, as jobs/demo.sh). `podman run` first; where the OCI
# runtime cannot start a container (exit 125/126, e.g. a sandbox in which
# crun's "setrlimit RLIMIT_NPROC" is not permitted), the same commands run
# as the RUN step of a throw-away build FROM the image (chroot isolation,
# as build_podman.sh builds), which runs them as the image's user too.
# Usage: bash containers/run_demo_podman.sh [IMAGE_TAG]     (default: wattrun)
set -euo pipefail
TAG="${1:-wattrun}"
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
CONFIG=/opt/wattrun/share/wattrun/configs/demo.yaml
DEMO="id && wattrun --version \
 && mpirun -n 2 wattrun generate --config $CONFIG --output demo/facility \
 && mpirun -n 2 wattrun run --config $CONFIG --input demo/facility --output demo/results \
 && ls -l demo/results"
status=0
$SUDO podman run --rm --entrypoint bash "$TAG" -c "$DEMO" || status=$?
if ((status != 125 && status != 126)); then exit "$status"; fi
echo "run_demo_podman: podman run could not start the container (exit $status);" \
  "running the demo as a RUN step FROM $TAG instead" >&2
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
printf 'FROM %s\nRUN %s\n' "$TAG" "$DEMO" >"$dir/Containerfile"
$SUDO podman build --isolation=chroot --network=host --layers=false --iidfile "$dir/iid" \
  -f "$dir/Containerfile" "$dir"
$SUDO podman rmi "$(cat "$dir/iid")" >/dev/null
