#!/usr/bin/env bash
# The pipeline across two "hosts": two network namespaces on this machine
# joined by a veth pair (10.x addresses exist only inside them), each with its
# own hostname (UTS namespace). Open MPI over TCP only (`--mca btl tcp,self`,
# no shared memory between the ranks), started by a launcher agent that
# enters the other namespace as ssh would enter the other host; the store
# and the results on the shared file system. The tables must be byte-identical
# to a one-rank run. The namespaces and the veth pair are removed in a trap.
# Exit 77 (skip) when network namespaces cannot be made (not root, no netns).
#
# Usage: two_host_test.sh WATTRUN SOURCE_DIR
set -uo pipefail
WATTRUN="$1"
SRC="$2"
SKIP=77
CONFIG="$SRC/configs/demo.yaml"
WORK="$(mktemp -d /tmp/wattrun-2host.XXXXXX)"
NS_A="wattrun-a-$$" NS_B="wattrun-b-$$"
VETH_A="wra$$" VETH_B="wrb$$"   # interface names: at most 15 characters
ADDR_A=10.251.$(($$ % 250)).1 ADDR_B=10.251.$(($$ % 250)).2
NET="${ADDR_A%.1}.0/24"
cleanup() {
  ip netns del "$NS_A" 2>/dev/null
  ip netns del "$NS_B" 2>/dev/null   # deleting a namespace deletes its veth end
  ip link del "$VETH_A" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
t0=$(date +%s)

make_hosts() {
  ip netns add "$NS_A" && ip netns add "$NS_B" &&
  ip link add "$VETH_A" type veth peer name "$VETH_B" &&
  ip link set "$VETH_A" netns "$NS_A" && ip link set "$VETH_B" netns "$NS_B" &&
  ip -n "$NS_A" addr add "$ADDR_A/24" dev "$VETH_A" && ip -n "$NS_B" addr add "$ADDR_B/24" dev "$VETH_B" &&
  ip -n "$NS_A" link set lo up && ip -n "$NS_B" link set lo up &&
  ip -n "$NS_A" link set "$VETH_A" up && ip -n "$NS_B" link set "$VETH_B" up &&
  ip netns exec "$NS_A" unshare --uts true
}
if [[ $(id -u) -ne 0 ]]; then echo "two_host_test: needs root for ip netns; skipping"; exit $SKIP; fi
if ! make_hosts 2>"$WORK/netns.err"; then
  echo "two_host_test: network namespaces cannot be made here ($(head -1 "$WORK/netns.err")); skipping"
  exit $SKIP
fi

# The launcher agent: `AGENT HOST COMMAND...` runs COMMAND in HOST's namespace.
cat >"$WORK/agent.sh" <<AGENT
#!/bin/bash
host="\$1"; shift
case "\$host" in
  $ADDR_A) ns=$NS_A name=host-a ;;
  $ADDR_B) ns=$NS_B name=host-b ;;
  *) echo "agent: unknown host \$host" >&2; exit 255 ;;
esac
exec ip netns exec "\$ns" unshare --uts sh -c "hostname \$name; \$*"
AGENT
chmod +x "$WORK/agent.sh"
# mpirun on host A; rank 1 on host B.
on_two_hosts() {
  ip netns exec "$NS_A" unshare --uts bash -c 'hostname host-a; exec "$@"' _ \
    mpirun --host "$ADDR_A:1,$ADDR_B:1" -n 2 --mca btl tcp,self --mca pml ob1 \
    --mca plm_rsh_agent "$WORK/agent.sh" --mca oob_tcp_if_include "$NET" \
    --mca btl_tcp_if_include "$NET" "$@"
}

failures=0
hosts="$(on_two_hosts hostname 2>&1 | sort | tr '\n' ' ')"
if [[ "$hosts" != "host-a host-b " ]]; then
  echo "FAIL: ranks did not start on the two hosts: $hosts"; exit 1
fi
echo "two_host_test: ranks on $hosts($NS_A, $NS_B, $NET)"

"$WATTRUN" generate --config "$CONFIG" --output "$WORK/fac" --scale 0.002 --months 1 >/dev/null
"$WATTRUN" run --config "$CONFIG" --input "$WORK/fac" --store "$WORK/one/store.h5" --output "$WORK/one" \
  >"$WORK/one.log" 2>&1 || { echo "FAIL: one-rank run"; tail -n 5 "$WORK/one.log"; exit 1; }
if ! on_two_hosts "$WATTRUN" run --config "$CONFIG" --input "$WORK/fac" --store "$WORK/two/store.h5" \
     --output "$WORK/two" >"$WORK/two.log" 2>&1; then
  echo "FAIL: two-host run"; tail -n 20 "$WORK/two.log"; exit 1
fi
[[ -e "$WORK/two/_SUCCESS" ]] || { echo "FAIL: no _SUCCESS after the two-host run"; failures=1; }
for f in "$WORK/one"/*.csv; do
  cmp -s "$f" "$WORK/two/$(basename "$f")" || { echo "FAIL: $(basename "$f") differs"; failures=1; }
done
echo "two_host_test: $(ls "$WORK/one"/*.csv | wc -l) tables compared, $failures failures, $(($(date +%s) - t0)) s"
exit $failures
