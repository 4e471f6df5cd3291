#!/usr/bin/env bash
# local-cluster.sh: a real single-node Slurm (slurmctld + slurmd + private munged) on this machine for
# tests and demos, built from the Debian packages; start | stop | status. Needs root.
#
# Settings (environment):
#   LOCAL_SLURM_DIR           everything lives here (default /tmp/local-slurm); wiped on start, logs kept on stop
#   LOCAL_SLURM_CPUS          CPUs advertised (default 4, more than real cores so 4-rank jobs fit;
#                             "real" writes the topology `slurmd -C` reports)
#   LOCAL_SLURM_AUTH          munge (default) or none
#   LOCAL_SLURM_CRED_EXPIRE   credential expiry in seconds (default Slurm's 120; lower makes requeues quick)
#   LOCAL_SLURM_PORT          slurmctld port (default 6817; slurmd uses the next one)
# After start, clients need SLURM_CONF=$LOCAL_SLURM_DIR/etc/slurm.conf (also linked from
# /etc/slurm/slurm.conf when that path is free). Exit codes: 0 ok, 1 failure, 3 packages missing and
# not installable.
set -euo pipefail

D=${LOCAL_SLURM_DIR:-/tmp/local-slurm}
CPUS=${LOCAL_SLURM_CPUS:-4}
AUTH=${LOCAL_SLURM_AUTH:-munge}
PORT=${LOCAL_SLURM_PORT:-6817}
HOST=$(hostname -s)
CONF=$D/etc/slurm.conf
export SLURM_CONF=$CONF

log() { echo "local-cluster: $*" >&2; }

# A process that exited but is not reaped yet (no systemd as PID 1) counts as gone.
alive() {
    local pid=$1
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
    local state
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo Z)
    [ "$state" != Z ]
}

pidof_file() { [ -f "$1" ] && cat "$1" || true; }

wait_gone() { # pid timeout_s
    local pid=$1 n=$(( $2 * 5 ))
    while alive "$pid" && [ $n -gt 0 ]; do sleep 0.2; n=$((n - 1)); done
    ! alive "$pid"
}

ensure_packages() {
    local need=0
    for b in slurmctld slurmd sinfo sbatch scontrol munged mungekey unmunge; do
        command -v "$b" >/dev/null 2>&1 || need=1
    done
    [ $need = 0 ] && return 0
    log "installing slurmctld slurmd slurm-client munge"
    if ! { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends slurmctld slurmd slurm-client munge openmpi-bin libopenmpi-dev >/dev/null; }; then
        log "cannot install the Slurm packages"
        exit 3
    fi
}

start_munge() {
    install -d -o munge -g munge -m 0755 "$D/munge"
    runuser -u munge -- mungekey -c -k "$D/munge/munge.key"
    runuser -u munge -- munged --key-file="$D/munge/munge.key" --socket="$D/munge/munge.socket" \
        --pid-file="$D/munge/munged.pid" --log-file="$D/munge/munged.log" --seed-file="$D/munge/munged.seed"
    local i
    for i in $(seq 50); do [ -S "$D/munge/munge.socket" ] && break; sleep 0.1; done
    munge -n -S "$D/munge/munge.socket" | unmunge -S "$D/munge/munge.socket" >/dev/null \
        || { log "munge self-test failed (see $D/munge/munged.log)"; exit 1; }
}

write_conf() {
    local mem node auth_lines authinfo
    mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' | head -1)
    mem=$(( ${mem:-2048} * 9 / 10 ))
    if [ "$CPUS" = real ]; then
        node="$(slurmd -C | head -1 | sed "s/NodeName=[^ ]*/NodeName=$HOST NodeAddr=127.0.0.1/; s/RealMemory=[0-9]*/RealMemory=$mem/") State=UNKNOWN"
    else
        node="NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS Sockets=1 CoresPerSocket=$CPUS ThreadsPerCore=1 RealMemory=$mem State=UNKNOWN"
    fi
    authinfo=""
    [ -n "${LOCAL_SLURM_CRED_EXPIRE:-}" ] && authinfo=",cred_expire=$LOCAL_SLURM_CRED_EXPIRE"
    if [ "$AUTH" = none ]; then
        auth_lines="AuthType=auth/none
CredType=cred/none"
        [ -n "$authinfo" ] && auth_lines="$auth_lines
AuthInfo=${authinfo#,}"
    else
        auth_lines="AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/munge/munge.socket$authinfo"
    fi
    cat >"$CONF" <<EOF
ClusterName=localslurm
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
$auth_lines
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool/%n
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd-%n.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_interval=1
EnforcePartLimits=ALL
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$D/log/jobcomp.log
MinJobAge=3600
KillWait=5
InactiveLimit=0
EOF
    [ "$CPUS" = real ] || echo "SlurmdParameters=config_overrides" >>"$CONF"
    cat >>"$CONF" <<EOF
$node
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

cmd_start() {
    [ "$(id -u)" = 0 ] || { log "must run as root"; exit 1; }
    ensure_packages
    if alive "$(pidof_file "$D/run/slurmctld.pid")"; then
        log "already running; restarting"
        cmd_stop
    fi
    rm -rf "$D/state" "$D/spool" "$D/run" "$D/etc" "$D/munge" "$D/pmix"
    mkdir -p "$D"/{etc,state,run,log,spool/"$HOST"} "$D/pmix"
    chmod 0755 "$D"
    chmod 1777 "$D/pmix"
    [ "$AUTH" = none ] || start_munge
    write_conf
    slurmctld -f "$CONF"
    slurmd -f "$CONF" -N "$HOST"
    if [ ! -e /etc/slurm/slurm.conf ]; then
        mkdir -p /etc/slurm
        ln -s "$CONF" /etc/slurm/slurm.conf && echo /etc/slurm/slurm.conf >"$D/run/etc-link"
    fi
    local n=150
    until [ "$(sinfo -h -o %T 2>/dev/null | head -1)" = idle ]; do
        n=$((n - 1))
        if [ $n -le 0 ]; then
            log "node not idle after 30 s; see $D/log"
            exit 1
        fi
        sleep 0.2
    done
    log "up: export SLURM_CONF=$CONF"
}

cmd_stop() {
    local ctl
    ctl=$(pidof_file "$D/run/slurmctld.pid")
    if alive "$ctl"; then
        local jobs
        jobs=$(squeue -h -o %A 2>/dev/null || true)
        if [ -n "$jobs" ]; then
            # shellcheck disable=SC2086
            scancel $jobs || true
            local n=150
            while [ -n "$(squeue -h 2>/dev/null)" ] && [ $n -gt 0 ]; do sleep 0.2; n=$((n - 1)); done
        fi
        scontrol shutdown >/dev/null 2>&1 || true
    fi
    local f pid
    for f in "$D"/run/slurmctld.pid "$D"/run/slurmd-*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        if ! wait_gone "$pid" 15; then
            log "pid $pid ($f) did not stop; killing it"
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$f"
    done
    pid=$(pidof_file "$D/munge/munged.pid")
    if alive "$pid"; then
        kill "$pid" 2>/dev/null || true
        wait_gone "$pid" 5 || kill -9 "$pid" 2>/dev/null || true
    fi
    if [ -f "$D/run/etc-link" ]; then
        [ -L /etc/slurm/slurm.conf ] && rm -f /etc/slurm/slurm.conf
        rm -f "$D/run/etc-link"
    fi
    log "stopped (logs kept in $D/log)"
}

cmd_status() {
    if alive "$(pidof_file "$D/run/slurmctld.pid")"; then
        sinfo
        squeue
    else
        echo "local-cluster: not running"
        return 1
    fi
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
