#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the Slurm test and for trying the sbatch script by hand.
#   scripts/slurm/local-cluster.sh start [STATE_DIR]   installs slurm-wlm and munge when missing (Debian, root),
#                                                      writes STATE_DIR/slurm.conf, starts munged, slurmctld, slurmd,
#                                                      and waits until the node is idle
#   scripts/slurm/local-cluster.sh stop [STATE_DIR]    stops what start started (by the pid files in STATE_DIR)
# STATE_DIR defaults to $FMNIST_SLURM_DIR, else /tmp/fmnist-slurm. Clients find the cluster with
# SLURM_CONF=STATE_DIR/slurm.conf (start prints it); /etc/slurm is left alone. The node offers every CPU
# of the machine (nproc): `sbatch -c 1` then runs that many tasks at a time.
# Ports: $FMNIST_SLURM_PORT (slurmctld, default 6817) and the next one (slurmd).
set -euo pipefail
cmd="${1:-}"
state="${2:-${FMNIST_SLURM_DIR:-/tmp/fmnist-slurm}}"
port="${FMNIST_SLURM_PORT:-6817}"
die() { echo "local-cluster: $*" >&2; exit 1; }

# Sends TERM to the process in a pid file and waits (up to 20 s) for it to go.
stop_pid() {
  local file="$1" pid
  [ -s "$file" ] || return 0
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

case "$cmd" in
start)
  [ "$(id -u)" = 0 ] || die "needs root (it installs packages and starts the daemons)"
  [ -f /etc/debian_version ] || die "needs Debian (it installs Debian's slurm-wlm and munge)"
  if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    echo "local-cluster: installing slurm-wlm and munge" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >&2
  fi
  mkdir -p "$state/spool" "$state/ctld" "$state/log"
  # munge: one key per machine, shared by every daemon and client here.
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
  fi
  mkdir -p /run/munge && chown munge:munge /run/munge
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    su -s /bin/sh munge -c munged
    for _ in $(seq 1 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
    cp /run/munge/munged.pid "$state/munged.pid" # ours to stop
  fi
  host="$(hostname -s)"
  # A little under the machine's memory: slurmd drains a node that has less than it is configured with.
  mem=$(( $(free -m | awk '/^Mem:/ {print $2}') * 9 / 10 ))
  cat > "$state/slurm.conf" <<EOF
ClusterName=fmnist-local
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmdSpoolDir=$state/spool
StateSaveLocation=$state/ctld
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$state/slurm.conf"
  slurmctld -f "$SLURM_CONF"
  slurmd -f "$SLURM_CONF"
  for _ in $(seq 1 300); do
    [ "$(sinfo -h -o %T 2>/dev/null | head -1)" = idle ] && { echo "SLURM_CONF=$SLURM_CONF"; exit 0; }
    sleep 0.2
  done
  tail -5 "$state/log/slurmctld.log" "$state/log/slurmd.log" >&2 || true
  die "the node did not become idle within 60 s (logs in $state/log)"
  ;;
stop)
  stop_pid "$state/slurmd.pid"
  stop_pid "$state/slurmctld.pid"
  stop_pid "$state/munged.pid"
  ;;
*)
  die "usage: $0 start|stop [STATE_DIR]"
  ;;
esac
