#!/usr/bin/env bash
# The Slurm jobs under a real Slurm (Debian's 22.05: slurmctld, four slurmd
# on this host, slurmdbd on MariaDB, munge; tests/slurm_cluster.sh), as a
# user runs them:
#   1. jobs/wattrun_run.sbatch on the demo facility (MpiDefault=none: the
#      script must pick srun's --mpi itself): _SUCCESS, tables byte-identical
#      to a plain mpirun run;
#   2. one round of jobs/wattrun_reingest.sbatch: `latest`, _SUCCESS, the same
#      tables; its next run pending with the submission's own options; a
#      manual submission meanwhile runs at once (no singleton dependency);
#      a stale lock of a scrontab-like job id taken over;
#   3. real jobs (steps, array, failed, cancelled pending and running,
#      running, multi-node, het, requeued), their `sacct --parsable2
#      --duplicates` fed through `wattrun run` as a facility's sacct file:
#      jobs_energy.csv has one row per allocation line; the same with
#      SLURM_TIME_FORMAT=%s and with --noheader.
# Exit 77 (skip) when Slurm cannot be installed or started (not root, ...).
#
# Usage: slurm_test.sh WATTRUN SOURCE_DIR
set -uo pipefail
WATTRUN="$1"
SRC="$2"
SKIP=77
WORK="$(mktemp -d /tmp/wattrun-slurm.XXXXXX)"
source "$SRC/tests/slurm_cluster.sh"
cleanup() { slurm_cluster_stop; [[ -n "${KEEP_WORK:-}" ]] || rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 143' TERM INT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
CONFIG="$SRC/configs/demo.yaml"
failures=0 passes=0 skips=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; passes=$((passes + 1)); }
note_skip() { echo "SKIPPED CHECK: $*"; skips=$((skips + 1)); }
t0=$(date +%s)
elapsed() { echo "$(($(date +%s) - t0)) s"; }

if [[ $(id -u) -ne 0 ]]; then echo "slurm_test: needs root (daemons as root); skipping"; exit $SKIP; fi
if ! slurm_cluster_start "$WORK/cluster" r1i0n0 r1i0n1 r1i0n2 r1i0n3; then
  echo "slurm_test: could not start a Slurm cluster (logs above); skipping"
  exit $SKIP
fi
echo "slurm_test: cluster up after $(elapsed): $(sinfo -h -o '%D nodes %t' | tr '\n' ' ')"

# Tables of two results directories byte for byte.
same_tables() {
  local a="$1" b="$2" f bad=0
  for f in "$a"/*.csv; do
    cmp -s "$f" "$b/$(basename "$f")" || { echo "  differs: $(basename "$f")"; bad=1; }
  done
  return $bad
}

# --- 1. wattrun_run.sbatch against a plain run --------------------------------
"$WATTRUN" generate --config "$CONFIG" --output "$WORK/fac" --scale 0.002 --months 1 >/dev/null
mpirun -n 2 "$WATTRUN" run --config "$CONFIG" --input "$WORK/fac" --output "$WORK/plain" >/dev/null 2>&1 ||
  fail "plain mpirun run"
cd "$WORK"
WATTRUN_BIN="$WATTRUN" WATTRUN_CONFIG="$CONFIG" WATTRUN_INPUT="$WORK/fac" WATTRUN_STORE="$WORK/run/store.h5" \
  WATTRUN_OUTPUT="$WORK/run/results" \
  sbatch -W -N2 --ntasks-per-node=1 --mem-per-cpu=1000M -t 10 -o "$WORK/run.out" \
  "$SRC/jobs/wattrun_run.sbatch" >/dev/null
rc=$?
grep -h "srun --mpi\|srun MPI" "$WORK/run.out" | sed 's/^/  /'
if [[ $rc -eq 0 && -e "$WORK/run/results/_SUCCESS" ]] && same_tables "$WORK/plain" "$WORK/run/results"; then
  pass "wattrun_run.sbatch: _SUCCESS, tables identical to mpirun ($(elapsed))"
else
  fail "wattrun_run.sbatch (rc $rc):"; tail -n 20 "$WORK/run.out"
fi

# --- 2. one round of wattrun_reingest.sbatch ------------------------------------
reingest_env=(WATTRUN_BIN="$WATTRUN" WATTRUN_CONFIG="$CONFIG" WATTRUN_INPUT="$WORK/fac"
              WATTRUN_STORE="$WORK/re/store.h5" WATTRUN_OUTPUT="$WORK/re/results" WATTRUN_REINGEST_PERIOD=1days)
env "${reingest_env[@]}" sbatch -W -N2 --ntasks-per-node=1 --mem-per-cpu=900M -t 9 -o "$WORK/re1.out" \
  "$SRC/jobs/wattrun_reingest.sbatch" >/dev/null
rc=$?
latest="$(readlink "$WORK/re/results/latest" 2>/dev/null)"
if [[ $rc -eq 0 && "$latest" == results-* && -e "$WORK/re/results/latest/_SUCCESS" ]] &&
   same_tables "$WORK/plain" "$WORK/re/results/latest"; then
  pass "wattrun_reingest.sbatch: latest -> $latest, _SUCCESS, tables identical ($(elapsed))"
else
  fail "wattrun_reingest.sbatch (rc $rc, latest '$latest'):"; tail -n 20 "$WORK/re1.out"
fi
next="$(squeue -h -n wattrun-reingest -t PENDING -o %i | head -1)"
if [[ -n "$next" ]]; then
  info="$(scontrol show job -o "$next")"
  want=("NumNodes=2" "NumTasks=2" "TimeLimit=00:09:00" "MinMemoryCPU=900M")
  missing=()
  for w in "${want[@]}"; do grep -q "$w" <<<"$info" || missing+=("$w"); done
  grep -q "ntasks-per-node=1" "$WORK/re/store.h5.reingest.sbatch-options" || missing+=("--ntasks-per-node=1")
  ((${#missing[@]} == 0)) && pass "next run $next pending with the submission's options" ||
    fail "next run $next lacks ${missing[*]}: $info"
  grep -q "Dependency=(null)" <<<"$info" || fail "next run has a dependency: $info"
else
  fail "no next run pending after the re-ingestion"
fi
# A manual run while the next one is pending runs now and does not resubmit.
env "${reingest_env[@]}" timeout 240 sbatch -W -N1 -n1 --ntasks-per-node=1 -t 9 -o "$WORK/re2.out" \
  "$SRC/jobs/wattrun_reingest.sbatch" >/dev/null
rc=$?
if [[ $rc -eq 0 ]] && grep -q "already pending" "$WORK/re2.out" &&
   [[ "$(squeue -h -n wattrun-reingest -t PENDING -o %i | wc -l)" -eq 1 ]]; then
  pass "a manual re-ingestion ran while the next was pending ($(elapsed))"
else
  fail "manual re-ingestion (rc $rc):"; tail -n 10 "$WORK/re2.out"
fi
# A lock left by a job that is running, but whose run is not the holder (a
# scrontab job: same id, new run), is taken over. Here: a live job whose
# start time differs from the one recorded.
sbatch -N1 -n1 -J holder --wrap 'sleep 120' -o /dev/null >/dev/null
holder="$(squeue -h -n holder -o %i | head -1)"
for _ in $(seq 50); do [[ "$(squeue -h -j "$holder" -o %T)" == RUNNING ]] && break; sleep 0.2; done
mkdir -p "$WORK/re/store.h5.reingest.lock"
echo "$holder somehost 1 2000-01-01T00:00:00" >"$WORK/re/store.h5.reingest.lock/owner"
env "${reingest_env[@]}" WATTRUN_REINGEST_RESUBMIT=0 WATTRUN_REINGEST_LOG_DIR="$WORK/re/logs" \
  timeout 240 sbatch -W -N1 -n1 --ntasks-per-node=1 -t 9 -o "$WORK/re3.out" "$SRC/jobs/wattrun_reingest.sbatch" >/dev/null
rc=$?
if [[ $rc -eq 0 ]] && grep -q "taking over the stale lock" "$WORK/re3.out" &&
   ls "$WORK/re/logs"/wattrun-reingest-*Z-*.log >/dev/null 2>&1; then
  pass "a stale lock of a running job's earlier run taken over; per-run log written ($(elapsed))"
else
  fail "stale lock of a running job (rc $rc):"; tail -n 10 "$WORK/re3.out"
fi
scancel -n wattrun-reingest; scancel "$holder"

# --- 3. real jobs, real sacct ---------------------------------------------------
wait_state() {  # JOB STATE...: up to 60 s
  local job="$1"; shift
  local i s
  for ((i = 0; i < 300; ++i)); do
    s="$(squeue -h -j "$job" -o %T 2>/dev/null | head -1)"
    for want in "$@"; do [[ "$s" == "$want" ]] && return 0; done
    [[ -z "$s" && " $* " == *" GONE "* ]] && return 0
    sleep 0.2
  done
  return 1
}
submit() { sbatch --parsable -o /dev/null "$@"; }
steps=$(submit -N2 -n2 -J steps --wrap 'srun -n2 true; srun -n1 hostname >/dev/null')
array=$(submit -n1 -J array --array=1-3 --wrap 'true')
failed=$(submit -n1 -J failed --wrap 'exit 3')
pending_cancel=$(submit -n1 -J pend --begin=now+1hour --wrap 'true')
scancel "$pending_cancel"
multi=$(submit -N3 -n3 -J multi --wrap 'srun true')
cat >"$WORK/het.sbatch" <<'EOF'
#!/bin/bash
#SBATCH -N1 -n1 -J het
#SBATCH hetjob
#SBATCH -N1 -n1
srun --het-group=0,1 true
EOF
het=$(submit "$WORK/het.sbatch")
requeued=$(submit -n1 -J requeued --requeue --wrap 'sleep 4')
wait_state "$requeued" RUNNING && sleep 1 && scontrol requeue "$requeued"
running_cancel=$(submit -n1 -J runcancel --wrap 'sleep 120')
wait_state "$running_cancel" RUNNING && sleep 1 && scancel "$running_cancel"
# A requeued job waits (BeginTime) before it is eligible again: make it now.
wait_state "$requeued" PENDING && scontrol update jobid="$requeued" StartTime=now
for j in "$steps" "$failed" "$multi" "$het" "$requeued"; do
  wait_state "$j" GONE || fail "job $j did not finish: $(squeue -j "$j" 2>&1)"
done
running=$(submit -n1 -J running --wrap 'sleep 300')
wait_state "$running" RUNNING
sleep 6  # accounting of the last jobs reaches slurmdbd
fields=JobID,JobIDRaw,JobName,Partition,Account,User,AllocNodes,NodeList,Submit,Start,End,Elapsed,State,ExitCode
sacct_out() { sacct -a --parsable2 --duplicates -S now-2hours -E now -o "$fields" "$@"; }
sacct_out >"$WORK/sacct_iso.txt"
SLURM_TIME_FORMAT=%s sacct_out >"$WORK/sacct_epoch.txt"
sacct_out --noheader >"$WORK/sacct_noheader.txt"
scancel "$running"
echo "slurm_test: real sacct after $(elapsed): $(($(wc -l <"$WORK/sacct_iso.txt") - 1)) lines, states:" \
  "$(cut -d'|' -f13 "$WORK/sacct_iso.txt" | tail -n +2 | sort | uniq -c | tr -s ' \n' ' ')"
sed 's/^/  /' "$WORK/sacct_iso.txt"

# A facility whose only sacct file is the real one (telemetry of the demo).
real_facility() {  # NAME SACCT_FILE
  local f="$WORK/$1"
  mkdir -p "$f/sacct"
  cp "$WORK/fac"/{nodes,runs,datasets}.csv "$f/"
  ln -s "$WORK/fac/telemetry" "$f/telemetry"
  cp "$2" "$f/sacct/real.txt"
}
allocation_lines() { tail -n +2 "$1" | cut -d'|' -f1 | grep -vc '\.'; }
distinct_allocations() { tail -n +2 "$1" | cut -d'|' -f1 | grep -v '\.' | sort -u | wc -l; }
check_accounted() {  # LABEL SACCT_FILE OUT
  local lines distinct rows
  lines=$(allocation_lines "$2"); distinct=$(distinct_allocations "$2")
  rows=$(($(wc -l <"$3/jobs_energy.csv") - 1))
  if [[ $rows -eq $lines ]]; then
    pass "$1: jobs_energy.csv has one row per allocation line ($rows)"
  elif [[ $rows -eq $distinct && $lines -gt $distinct ]]; then
    note_skip "$1: $rows rows for $lines allocation lines: the attempts of a requeued job (--duplicates)" \
      "are merged by JobID; needs 'keep every sacct attempt' (h-inputs)"
  else
    fail "$1: jobs_energy.csv has $rows rows for $lines allocation lines ($distinct job ids)"
  fi
}
real_facility real_iso "$WORK/sacct_iso.txt"
if "$WATTRUN" run --config "$CONFIG" --input "$WORK/real_iso" --output "$WORK/out_iso" >"$WORK/out_iso.log" 2>&1; then
  check_accounted "ISO sacct" "$WORK/sacct_iso.txt" "$WORK/out_iso"
  grep '^sacct,' "$WORK/out_iso/quality.csv" | sed 's/^/  quality: /'
else
  fail "run on the real ISO sacct:"; tail -n 5 "$WORK/out_iso.log"
fi

real_facility real_epoch "$WORK/sacct_epoch.txt"
if "$WATTRUN" run --config "$CONFIG" --input "$WORK/real_epoch" --output "$WORK/out_epoch" >"$WORK/out_epoch.log" 2>&1; then
  bad_time=$(grep -m1 '^sacct,bad_time,' "$WORK/out_epoch/quality.csv" | cut -d, -f3)
  if [[ -n "$bad_time" && "$bad_time" -ge $(allocation_lines "$WORK/sacct_epoch.txt") ]]; then
    note_skip "SLURM_TIME_FORMAT=%s: every allocation line is bad_time; needs 'epoch sacct times' (h-inputs)"
  else
    check_accounted "epoch sacct" "$WORK/sacct_epoch.txt" "$WORK/out_epoch"
  fi
else
  fail "run on the real epoch sacct:"; tail -n 5 "$WORK/out_epoch.log"
fi

real_facility real_noheader "$WORK/sacct_noheader.txt"
"$WATTRUN" run --config "$CONFIG" --input "$WORK/real_noheader" --output "$WORK/out_nh" >"$WORK/out_nh.log" 2>&1
rc=$?
if [[ $rc -ne 0 ]] && grep -q "missing required column" "$WORK/out_nh.log"; then
  note_skip "sacct --noheader aborts the ingest; needs 'header-less sacct files, bad_header warning' (h-inputs)"
elif [[ $rc -eq 0 ]] && grep -q "real.txt" "$WORK/out_nh.log" &&
     grep -q '^sacct,bad_header,' "$WORK/out_nh/quality.csv"; then
  pass "sacct --noheader: warned with the file's name, its lines counted as bad_header"
else
  fail "sacct --noheader (rc $rc):"; tail -n 5 "$WORK/out_nh.log"
fi

echo "slurm_test: $passes checks ok, $failures failed, $skips skipped for missing features ($(elapsed))"
exit $((failures > 0))
