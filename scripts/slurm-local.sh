#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the batch and template tests and for trying
# `--engine slurm` without a cluster:
#   scripts/slurm-local.sh start    install slurmctld, slurmd, the client and munge from Debian when
#                                   missing, write a one-node configuration, start munged, slurmctld
#                                   and slurmd (no systemd needed), and wait until the node is idle
#   scripts/slurm-local.sh stop     stop the three daemons
#   scripts/slurm-local.sh status   print sinfo
# State lives in /tmp/swiftreg-slurm. Needs root (or sudo) for the install and the daemons.
set -euo pipefail
state=/tmp/swiftreg-slurm
conf_dir=/etc/slurm
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"

install_missing() {
  local missing=()
  for p in slurmctld slurmd slurm-client munge; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

write_config() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
  $sudo mkdir -p "$conf_dir" "$state"/{ctld,d,log}
  $sudo tee "$conf_dir/slurm.conf" >/dev/null <<CONF
ClusterName=swiftreg-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_min_interval=0
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
MinJobAge=600
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  $sudo rm -f "$conf_dir/cgroup.conf"
}

start_munge() {
  if ! pgrep -x munged >/dev/null; then
    [ -f /etc/munge/munge.key ] || { $sudo mkdir -p /etc/munge; $sudo dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; }
    $sudo chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge 2>/dev/null || true
    $sudo chmod 0400 /etc/munge/munge.key
    $sudo mkdir -p /run/munge && $sudo chown munge:munge /run/munge
    runuser -u munge -- /usr/sbin/munged </dev/null >/dev/null 2>&1 || $sudo -u munge /usr/sbin/munged </dev/null >/dev/null 2>&1
  fi
}

start() {
  install_missing
  write_config
  start_munge
  # The daemons keep no terminal or pipe of the caller's open, so `start | tail` returns.
  pgrep -x slurmctld >/dev/null || $sudo /usr/sbin/slurmctld -c </dev/null >/dev/null 2>&1
  pgrep -x slurmd >/dev/null || $sudo /usr/sbin/slurmd </dev/null >/dev/null 2>&1
  for _ in $(seq 60); do
    if sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then sinfo; return 0; fi
    scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
    sleep 1
  done
  echo "slurm did not come up; logs in $state/log" >&2
  exit 1
}

stop() {
  for d in slurmd slurmctld munged; do $sudo pkill -x "$d" 2>/dev/null || true; done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) sinfo ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
