# A throw-away Slurm cluster on this one host, for tests: munge with its own
# key, MariaDB (its data directory under DIR), slurmdbd, slurmctld and one
# slurmd per node (`slurmd -N name`), all started as root without systemd.
# Every daemon's PID is recorded in DIR/pids and stopped by that PID.
#
#   source tests/slurm_cluster.sh
#   trap slurm_cluster_stop EXIT
#   slurm_cluster_start DIR NODE...     # exports SLURM_CONF; DIR must be empty
#
# Ports come from a base chosen per process so that two tests do not clash.

SLURM_CLUSTER_DIR=""

_sc_log() { echo "slurm_cluster: $*" >&2; }

# Waits up to $1 seconds for the command after it to succeed.
_sc_wait() {
  local seconds="$1"; shift
  local i
  for ((i = 0; i < seconds * 5; ++i)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

# Starts "$@" in the background, its output to DIR/logs/NAME.out, its PID kept.
_sc_spawn() {
  local name="$1"; shift
  "$@" >"$SLURM_CLUSTER_DIR/logs/$name.out" 2>&1 &
  echo "$! $name" >>"$SLURM_CLUSTER_DIR/pids"
}

_sc_install() {
  local packages=(slurmctld slurmd slurmdbd slurm-client munge mariadb-server mariadb-client)
  local missing=() p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  _sc_log "installing ${missing[*]}"
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Slurm 22.05's accounting connection ignores AuthInfo=socket=...: the munged
# must be on the default socket. A running one there is used as it is;
# otherwise one is started with a temporary key.
SC_MUNGE_SOCKET=/run/munge/munge.socket.2
_sc_start_munge() {
  local d="$SLURM_CLUSTER_DIR"
  if munge -n </dev/null >/dev/null 2>&1; then
    _sc_log "using the munged already running on $SC_MUNGE_SOCKET"
    return 0
  fi
  mkdir -p "$d/munge" /run/munge
  chmod 700 "$d/munge"
  dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$d/munge/munge.key"
  _sc_spawn munged munged --foreground --force --key-file="$d/munge/munge.key" \
    --socket="$SC_MUNGE_SOCKET" --pid-file="$d/munge/munged.pid" \
    --log-file="$d/logs/munged.log" --seed-file="$d/munge/munged.seed" --num-threads=10
  _sc_wait 20 munge -n </dev/null
}

_sc_start_mariadb() {
  local d="$SLURM_CLUSTER_DIR"
  mkdir -p "$d/db"
  mariadb-install-db --no-defaults --datadir="$d/db/data" --user=root --auth-root-authentication-method=socket \
    >"$d/logs/mariadb-install.out" 2>&1 || return 1
  _sc_spawn mariadbd mariadbd --no-defaults --datadir="$d/db/data" --user=root \
    --socket="$d/db/mysqld.sock" --pid-file="$d/db/mysqld.pid" --bind-address=127.0.0.1 \
    --port="$SC_DB_PORT" --innodb-buffer-pool-size=64M --log-error="$d/logs/mariadb.log"
  _sc_wait 60 mariadb --no-defaults -S "$d/db/mysqld.sock" -u root -e 'select 1' || return 1
  mariadb --no-defaults -S "$d/db/mysqld.sock" -u root -e \
    "CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
     CREATE USER 'slurm'@'localhost' IDENTIFIED BY 'slurm';
     GRANT ALL ON *.* TO 'slurm'@'127.0.0.1'; GRANT ALL ON *.* TO 'slurm'@'localhost';"
}

# slurm.conf: one NodeName line per node (each slurmd has its own port).
_sc_write_conf() {
  local d="$SLURM_CLUSTER_DIR"; shift 0
  local -a nodes=("$@")
  cat >"$d/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$SC_MUNGE_SOCKET
DbdHost=localhost
DbdPort=$SC_DBD_PORT
SlurmUser=root
LogFile=$d/logs/slurmdbd.log
PidFile=$d/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$SC_DB_PORT
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
EOF
  chmod 600 "$d/etc/slurmdbd.conf"
  {
    cat <<EOF
ClusterName=wattci
SlurmctldHost=localhost
SlurmctldPort=$SC_CTLD_PORT
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$SC_MUNGE_SOCKET
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$SC_DBD_PORT
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SlurmdParameters=config_overrides
ReturnToService=2
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool/%n
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd-%n.pid
SlurmctldLogFile=$d/logs/slurmctld.log
SlurmdLogFile=$d/logs/slurmd-%n.log
TmpFS=$d/tmp
MinJobAge=600
DebugFlags=NO_CONF_HASH
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
MessageTimeout=20
EOF
    local i
    for i in "${!nodes[@]}"; do
      echo "NodeName=${nodes[i]} NodeHostname=localhost NodeAddr=127.0.0.1 Port=$((SC_NODE_PORT + i)) CPUs=4 RealMemory=8000 TmpDisk=1000 State=UNKNOWN"
    done
    local IFS=,
    echo "PartitionName=debug Nodes=${nodes[*]} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO"
  } >"$d/etc/slurm.conf"
}

_sc_nodes_idle() {
  local want="$1"
  [[ "$(sinfo -h -N -t idle,mixed,alloc -o %N | sort -u | wc -l)" -ge "$want" ]]
}

# slurm_cluster_start DIR NODE...: install if need be, then every daemon.
slurm_cluster_start() {
  SLURM_CLUSTER_DIR="$1"; shift
  local d="$SLURM_CLUSTER_DIR"
  local base=$((20000 + ($$ % 400) * 100))
  SC_DB_PORT=$base SC_DBD_PORT=$((base + 1)) SC_CTLD_PORT=$((base + 2)) SC_NODE_PORT=$((base + 10))
  _sc_install || { _sc_log "could not install Slurm"; return 1; }
  mkdir -p "$d"/{etc,logs,run,state,spool,tmp}
  : >"$d/pids"
  _sc_start_munge || { _sc_log "munged did not start"; return 1; }
  _sc_start_mariadb || { _sc_log "MariaDB did not start: $(tail -5 "$d/logs/mariadb.log" 2>/dev/null)"; return 1; }
  _sc_write_conf "$@"
  export SLURM_CONF="$d/etc/slurm.conf"
  _sc_spawn slurmdbd slurmdbd -D
  # slurmdbd names its config by the SLURM_CONF directory: point it there.
  _sc_wait 60 sacctmgr -n list cluster || { _sc_log "slurmdbd did not answer"; return 1; }
  sacctmgr -i add cluster wattci >/dev/null 2>&1 || true
  _sc_spawn slurmctld slurmctld -D -i -f "$SLURM_CONF"
  # Up to 2 minutes: at the start of a parallel ctest run the machine's two
  # cores are shared with the heaviest tests, and 60 s was seen to be short.
  _sc_wait 120 scontrol ping || {
    _sc_log "slurmctld did not answer in 120 s; its log ends: $(tail -5 "$d/logs/slurmctld.log" 2>/dev/null)"
    return 1
  }
  # Each slurmd gets its own copy of slurm.conf whose TmpFS is the node's:
  # slurmstepd's PMIx makes its directories there, named by job and step
  # only, so two nodes of one host would collide in one TmpFS.
  local n
  for n in "$@"; do
    mkdir -p "$d/spool/$n" "$d/tmp/$n" "$d/etc/$n"
    sed "s|^TmpFS=.*|TmpFS=$d/tmp/$n|" "$SLURM_CONF" >"$d/etc/$n/slurm.conf"
    _sc_spawn "slurmd-$n" slurmd -D -N "$n" -f "$d/etc/$n/slurm.conf"
  done
  _sc_wait 90 _sc_nodes_idle "$#" || { _sc_log "nodes did not come up: $(sinfo -N 2>&1)"; return 1; }
}

# Stops every daemon by its recorded PID (TERM, then KILL), newest first.
slurm_cluster_stop() {
  local d="$SLURM_CLUSTER_DIR"
  [[ -n "$d" && -f "$d/pids" ]] || return 0
  local pid name
  tac "$d/pids" | while read -r pid name; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  local i
  for ((i = 0; i < 50; ++i)); do
    local alive=0
    while read -r pid name; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$d/pids"
    ((alive)) || break
    sleep 0.2
  done
  while read -r pid name; do
    kill -0 "$pid" 2>/dev/null && { _sc_log "killing $name ($pid)"; kill -KILL "$pid" 2>/dev/null || true; }
  done <"$d/pids"
  rm -f "$d/pids"
}
