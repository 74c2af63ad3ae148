#!/usr/bin/env bash
# Writers of one store at the same time (issue 14): two real ingests at once,
# many rounds, on 1 and 2 ranks; a writer killed while it holds the lock; a
# lock held by a live writer elsewhere; an ingest that fails. The store is
# always intact and equal to a serial ingest, nothing temporary is left, and
# the second writer waits (--wait) or fails at once naming the holder.
# Usage: store_concurrency_test.sh WATTRUN_BINARY SOURCE_DIR [ROUNDS]
set -uo pipefail
BIN="$1"; SRC="$2"; ROUNDS="${3:-10}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CONFIG="$SRC/configs/demo.yaml"
passed=0; failed=0
check() {  # name, condition-as-exit-status
  if [[ $2 -eq 0 ]]; then passed=$((passed + 1)); echo "ok: $1"; else failed=$((failed + 1)); echo "FAIL: $1"; fi
}
launch() {  # ranks, args...: the wattrun command line, under mpirun for 2 ranks
  local n=$1; shift
  if [[ $n -gt 1 ]]; then echo mpirun -n "$n" "$BIN" "$@"; else echo "$BIN" "$@"; fi
}

"$BIN" generate --config "$CONFIG" --output "$WORK/facility" --scale 0.002 --months 1 --seed 3 >/dev/null
"$BIN" ingest --config "$CONFIG" --input "$WORK/facility" --store "$WORK/ref.h5" >/dev/null
"$BIN" run --config "$CONFIG" --store "$WORK/ref.h5" --output "$WORK/ref_out" --no-fit --no-report >/dev/null

same_as_ref() {  # store: catalogue tables and the batch equal the serial ingest's
  h5diff -q "$WORK/ref.h5" "$1" /tables >/dev/null && h5diff -q "$WORK/ref.h5" "$1" /quality >/dev/null &&
    h5diff -q "$WORK/ref.h5" "$1" /manifest >/dev/null &&
    h5diff -q "$WORK/ref.h5.d/batch_000001.h5" "$1.d/batch_000001.h5" >/dev/null &&
    [[ ! -e $1.d/batch_000002.h5 ]]
}
clean_after() {  # store: no lock, no temporary file of any writer left
  [[ ! -e $1.lock ]] && [[ -z $(find "$(dirname "$1")" -maxdepth 2 \( -name "$(basename "$1").tmp*" -o \
    -name 'ingest-tmp*' -o -name '*.h5.tmp*' -o -name '*.lock.*' \)) ]]
}

# 1. Two ingests at once into one new store, ROUNDS times, 1 and 2 ranks;
#    odd rounds both wait for the lock, even rounds the second may fail at once.
for r in $(seq 1 "$ROUNDS"); do
  ranks=$(( r % 2 + 1 )); store="$WORK/both_$r.h5"
  wait_a=60; wait_b=60; [[ $((r % 4)) -ge 2 ]] && wait_b=0
  $(launch "$ranks" ingest --config "$CONFIG" --input "$WORK/facility" --store "$store" --wait "$wait_a") \
    >"$WORK/a_$r.log" 2>&1 &
  pa=$!
  $(launch "$ranks" ingest --config "$CONFIG" --input "$WORK/facility" --store "$store" --wait "$wait_b") \
    >"$WORK/b_$r.log" 2>&1 &
  pb=$!
  wait $pa; ra=$?; wait $pb; rb=$?
  ok=0
  if [[ $wait_b -gt 0 ]]; then
    [[ $ra -eq 0 && $rb -eq 0 ]] || ok=1
  else  # at most one fails, and then by naming the holder
    [[ $ra -eq 0 ]] || ok=1
    [[ $rb -eq 0 ]] || grep -q "another ingest is writing this store: pid [0-9]* on host" "$WORK/b_$r.log" || ok=1
  fi
  same_as_ref "$store" || ok=1
  clean_after "$store" || ok=1
  check "round $r ($ranks rank(s), waits $wait_a/$wait_b s): exits $ra/$rb, store equal to the serial ingest" $ok
  [[ $ok -eq 0 ]] || { tail -3 "$WORK/a_$r.log" "$WORK/b_$r.log"; }
done
# The outputs of a concurrently written store are those of the serial one.
"$BIN" run --config "$CONFIG" --store "$WORK/both_1.h5" --output "$WORK/both_out" --no-fit --no-report >/dev/null
ok=0
for f in runs_energy.csv idle_power.csv node_power_dist.csv quality.csv jobs_energy.csv; do
  cmp -s "$WORK/ref_out/$f" "$WORK/both_out/$f" || { echo "  $f differs"; ok=1; }
done
check "run on a concurrently ingested store: outputs byte-identical to the serial ingest's" $ok

# 2. A writer killed (SIGKILL) while it holds the lock, alone and as rank 0
#    of 2: the next one takes the stale lock over (same host, pid gone),
#    says so, and the store is right.
for ranks in 1 2; do
  store="$WORK/killed_$ranks.h5"; seen=0
  for attempt in 1 2 3 4 5; do
    rm -rf "$store" "$store.d" "$store.lock"
    setsid $(launch "$ranks" ingest --config "$CONFIG" --input "$WORK/facility" --store "$store") >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 500); do [[ -s $store.lock ]] && break; sleep 0.01; done
    holder=$(sed -n 's/^pid=//p' "$store.lock" 2>/dev/null)
    if [[ -n $holder ]]; then
      kill -KILL "$holder" 2>/dev/null && seen=1  # the lock holder (rank 0); mpirun then ends the other rank
      kill -KILL -- -"$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    for _ in $(seq 1 200); do kill -0 "$holder" 2>/dev/null || break; sleep 0.05; done
    [[ $seen -eq 1 && -e $store.lock ]] && break
    seen=0
  done
  check "$ranks rank(s): a writer was killed holding the lock (lock file left behind)" $(( seen == 1 ? 0 : 1 ))
  out=$(timeout 120 $(launch "$ranks" ingest --config "$CONFIG" --input "$WORK/facility" --store "$store") 2>&1); rc=$?
  ok=0; [[ $rc -eq 0 && $out == *"took over a stale write lock"* ]] || ok=1
  same_as_ref "$store" || ok=1; clean_after "$store" || ok=1
  check "$ranks rank(s): after the kill the next ingest takes the stale lock over (exit $rc), store equal, nothing left" $ok
  [[ $ok -eq 0 ]] || echo "$out" | tail -5
done

# 3. A live writer's lock (here: another host's, recent) is never broken:
#    fail at once, or after --wait, naming the holder.
store="$WORK/held.h5"
printf 'host=elsewhere\npid=4242\nslurm_job_id=77\nstart_unix=%s\ntoken=x\n' "$(date +%s)" >"$store.lock"
out=$("$BIN" ingest --config "$CONFIG" --input "$WORK/facility" --store "$store" 2>&1); rc=$?
ok=0; [[ $rc -ne 0 && $out == *"pid 4242 on host elsewhere (Slurm job 77)"* && ! -e $store ]] || ok=1
check "held by a live writer: fails at once naming it (exit $rc)" $ok
t0=$(date +%s)
out=$("$BIN" ingest --config "$CONFIG" --input "$WORK/facility" --store "$store" --wait 2 2>&1); rc=$?
waited=$(( $(date +%s) - t0 ))
ok=0; [[ $rc -ne 0 && $waited -ge 2 && $out == *"waited 2 s"* ]] || ok=1
check "held by a live writer, --wait 2: fails after ${waited} s" $ok
rm -f "$store.lock"
# Readers are never blocked by a writer's lock.
cp "$WORK/ref.h5" "$WORK/read.h5"; cp -r "$WORK/ref.h5.d" "$WORK/read.h5.d"
printf 'host=elsewhere\npid=4242\nslurm_job_id=\nstart_unix=%s\ntoken=x\n' "$(date +%s)" >"$WORK/read.h5.lock"
"$BIN" run --config "$CONFIG" --store "$WORK/read.h5" --output "$WORK/read_out" --no-fit --no-report >/dev/null 2>&1
check "run --store reads a store whose lock is held" $?

# 4. A failed ingest removes its temporary files and its lock.
store="$WORK/failed.h5"
WATTRUN_FAULT=throw:0:ingest mpirun -n 2 "$BIN" ingest --config "$CONFIG" --input "$WORK/facility" \
  --store "$store" >/dev/null 2>&1; rc=$?
ok=0; [[ $rc -ne 0 ]] || ok=1; clean_after "$store" || ok=1
check "failed ingest (exit $rc): no ingest-tmp, no temporary file, no lock left" $ok

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
