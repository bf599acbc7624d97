#!/usr/bin/env bash
# End-to-end test of `repro submit --slurm` and `repro merge` on a real Slurm
# cluster (issue 7); `make test-slurm` runs it, and .ci/run calls that.
#
# It installs Debian's slurm-wlm and munge if missing (apt; root or sudo),
# starts a throwaway single-node cluster on localhost (munged, slurmctld and
# slurmd, by PID, with a config of our own in a temporary directory and
# ports nobody listens on), submits a smoke-scale spec as a job array,
# waits for it (bounded), merges the shards, checks that every run is done in
# the main database and that merging again changes nothing, and stops the
# daemons it started. The node runs without cgroups (proctrack/linuxproc,
# task/none), so it works in containers.
#
# Usage: tools/slurm/e2e.sh [REPRO_BINARY]   (default bin/repro)
# Environment: REPRO_DATA (default ../shared/datasets, must hold cifar10/),
# SLURM_E2E_SPEC (default fig1), SLURM_E2E_SEEDS (default 2),
# SLURM_E2E_TIMEOUT seconds to wait for the array (default 600),
# SLURM_E2E_KEEP=1 keeps the temporary directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPRO=$(realpath "${1:-bin/repro}")
SPEC=${SLURM_E2E_SPEC:-fig1}
SEEDS=${SLURM_E2E_SEEDS:-2}
TIMEOUT=${SLURM_E2E_TIMEOUT:-600}
DATA=$(realpath -m "${REPRO_DATA:-../shared/datasets}")
start=$SECONDS

say() { echo "test-slurm: $*"; }
die() { echo "test-slurm: FAIL: $*" >&2; exit 1; }

[ -x "$REPRO" ] || die "no repro binary at $REPRO (make build)"
[ -d "$DATA/cifar10" ] || die "no CIFAR-10 at $DATA/cifar10 (set REPRO_DATA to the directory holding cifar10/)"

SUDO=
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || die "needs root or sudo (to install slurm-wlm and munge and run slurmd)"
	SUDO=sudo
fi

# 1. Packages.
missing=""
for p in slurm-wlm munge; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
	say "installing$missing"
	$SUDO apt-get update -qq
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
for c in munged mungekey slurmctld slurmd sbatch squeue sinfo scancel; do
	command -v "$c" >/dev/null || die "$c not found after installing slurm-wlm and munge"
done

# 2. A private cluster in a temporary directory. munged insists that the
# directories up to its socket are traversable by everyone.
D=$(mktemp -d /tmp/repro-slurm.XXXXXX)
chmod 755 "$D"
mkdir -p "$D/state" "$D/spool"
PIDS=()
JOB=
# alive PID: true while the process runs (a zombie child counts as gone).
alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ]
}
# stop PID: SIGTERM, up to 10 s to exit, then SIGKILL; reaps it.
stop() {
	$SUDO kill "$1" 2>/dev/null
	for _ in $(seq 100); do alive "$1" || break; sleep 0.1; done
	alive "$1" && $SUDO kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
cleanup() {
	rc=$?
	set +e
	if [ -n "$JOB" ]; then scancel "$JOB" 2>/dev/null; sleep 1; fi
	for (( i=${#PIDS[@]}-1; i>=0; i-- )); do stop "${PIDS[$i]}"; done
	if [ $rc != 0 ]; then
		for f in "$D"/*.log "$D"/results/slurm/*.out; do
			[ -f "$f" ] && { echo "--- $f (last 30 lines)"; tail -n 30 "$f"; }
		done
	fi
	if [ "${SLURM_E2E_KEEP:-}" = 1 ] || [ $rc != 0 ]; then
		say "kept $D"
	else
		$SUDO rm -rf "$D"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two free TCP ports (nothing accepts a connection on them).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
CTLD_PORT=
for p in $(seq 17817 2 17899); do
	if port_free "$p" && port_free $((p + 1)); then CTLD_PORT=$p; break; fi
done
[ -n "$CTLD_PORT" ] || die "no free port pair in 17817-17900"
D_PORT=$((CTLD_PORT + 1))

say "munged"
$SUDO mungekey --create --keyfile="$D/munge.key" --bits=1024
$SUDO munged --foreground --key-file="$D/munge.key" --socket="$D/munge.sock" --pid-file="$D/munged.pid" \
	--log-file="$D/munged.log" --seed-file="$D/munged.seed" >"$D/munged.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$D/munge.sock" ] && break; sleep 0.1; done
echo ok | munge --socket="$D/munge.sock" | unmunge --socket="$D/munge.sock" >/dev/null || die "munged does not answer (see $D/munged.out)"

HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(awk '/^MemTotal:/ { print int($2 / 1024 * 0.8) }' /proc/meminfo)
cat >"$D/slurm.conf" <<EOF
# Single-node test cluster written by tools/slurm/e2e.sh.
ClusterName=reprotest
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# A requeued job waits cred_expire seconds (default 120) before it starts again.
AuthInfo=socket=$D/munge.sock,cred_expire=10
SlurmctldPort=$CTLD_PORT
SlurmdPort=$D_PORT
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
# No cgroups: containers often lack a writable cgroup tree.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
MinJobAge=600
KillWait=5
NodeName=localhost NodeHostname=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
cat >"$D/cgroup.conf" <<EOF
# Unused (proctrack/linuxproc, task/none); present so that no system-wide one is read.
CgroupPlugin=autodetect
EOF
export SLURM_CONF=$D/slurm.conf

say "slurmctld (port $CTLD_PORT) and slurmd -N localhost (port $D_PORT) on $HOST"
$SUDO env SLURM_CONF="$SLURM_CONF" slurmctld -D -f "$SLURM_CONF" >"$D/slurmctld.out" 2>&1 &
PIDS+=($!)
$SUDO env SLURM_CONF="$SLURM_CONF" slurmd -D -N localhost -f "$SLURM_CONF" >"$D/slurmd.out" 2>&1 &
PIDS+=($!)
state=
for _ in $(seq 120); do
	state=$(sinfo --noheader --Node --format=%T 2>/dev/null || true)
	[ "$state" = idle ] && break
	for pid in "${PIDS[@]}"; do alive "$pid" || { tail -n 20 "$D"/*.out; die "daemon $pid exited"; }; done
	sleep 0.5
done
[ "$state" = idle ] || die "the node is not idle after 60 s (state '$state')"
say "cluster up after $((SECONDS - start)) s"

# 3. Submit, wait, merge, check.
DB=$D/results/results.db
"$REPRO" submit "$SPEC" --slurm --scale smoke --seeds "$SEEDS" --cpus-per-task 1 --time 10 --db "$DB" --data "$DATA" |
	tee "$D/submit.out"
JOB=$(sed -n 's/^submitted job array \([0-9]*\) .*/\1/p' "$D/submit.out")
[ -n "$JOB" ] || die "repro submit printed no job id"
TASKS=$(grep -c '^task ' "$D/submit.out")
[ "$TASKS" -gt 0 ] || die "nothing submitted"
[ "$("$REPRO" runs --db "$DB" --status submitted | grep -c "${JOB}_")" = "$TASKS" ] ||
	die "the database does not record $TASKS runs as submitted in job $JOB"

deadline=$((SECONDS + TIMEOUT))
while :; do
	active=$(squeue --noheader --array --jobs="$JOB" --states=all --format=%T | grep -cvE '^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE)$' || true)
	[ "$active" = 0 ] && break
	[ $SECONDS -lt $deadline ] || die "job $JOB not finished after $TIMEOUT s"
	sleep 2
done
"$REPRO" runs --db "$DB"
JOB_DONE=$JOB JOB=  # nothing left to cancel
bad=$(squeue --noheader --array --jobs="$JOB_DONE" --states=all --format='%i %T' | grep -v ' COMPLETED$' || true)
[ -z "$bad" ] || die "array tasks did not complete: $bad"

"$REPRO" merge --db "$DB" | tee "$D/merge1.out"
"$REPRO" runs --db "$DB" --format json >"$D/runs1.json"
"$REPRO" merge --db "$DB" >"$D/merge2.out"
"$REPRO" runs --db "$DB" --format json >"$D/runs2.json"
cmp -s "$D/runs1.json" "$D/runs2.json" || die "merging twice changed the database"
"$REPRO" runs --db "$DB"
done_runs=$("$REPRO" runs --db "$DB" --status done | grep -c "${JOB_DONE}_" || true)
[ "$done_runs" = "$TASKS" ] || die "$done_runs of $TASKS runs done in $DB"
"$REPRO" submit "$SPEC" --slurm --scale smoke --seeds "$SEEDS" --db "$DB" | grep -q '^nothing to submit' ||
	die "a second submit found runs left to do"
say "array done and merged after $((SECONDS - start)) s"

# 4. Requeue: a task requeued after its first checkpoint resumes from it.
# A run long enough to be caught mid-way: resnet-8 at width 0.25 for 160
# iterations, checkpointed every 10.
cat >"$D/requeue.yaml" <<EOF
id: requeue
artifact: Test
title: requeue test
kind: train
source: tools/slurm/e2e.sh
dataset: cifar10
recipe: cifar-paper
runs:
  - {name: resnet-8, model: resnet-8}
scales:
  smoke: {iterations: 160, batch: 8, train_subset: 64, eval_subset: 16, eval_interval: 10, width: 0.25}
EOF
"$REPRO" submit "$D/requeue.yaml" --slurm --scale smoke --cpus-per-task 1 --time 10 --db "$DB" --data "$DATA" | tee "$D/submit2.out"
JOB=$(sed -n 's/^submitted job array \([0-9]*\) .*/\1/p' "$D/submit2.out")
RUN=$(sed -n 's/^task 0: \([0-9a-f]*\) .*/\1/p' "$D/submit2.out")
[ -n "$JOB" ] && [ -n "$RUN" ] || die "repro submit printed no job or run id"
deadline=$((SECONDS + TIMEOUT))
until compgen -G "$D/results/shards/$RUN.ckpt/$RUN/ckpt-*.safetensors" >/dev/null; do
	[ $SECONDS -lt $deadline ] || die "no checkpoint of run $RUN after $TIMEOUT s"
	sleep 0.2
done
[ "$(squeue --noheader --jobs="${JOB}_0" --format=%T)" = RUNNING ] ||
	die "task ${JOB}_0 finished before it could be requeued (make the requeue run longer)"
scontrol requeue "${JOB}_0"
say "requeued ${JOB}_0 after its first checkpoint"
while [ "$(squeue --noheader --array --jobs="$JOB" --states=all --format=%T)" != COMPLETED ]; do
	[ $SECONDS -lt $deadline ] || die "requeued job $JOB not finished after $TIMEOUT s"
	sleep 1
done
JOB=
grep -q 'restart 1)' "$D"/results/slurm/*-requeue-smoke-*_0.out || die "the task log shows no restart"
"$REPRO" merge --db "$DB" >"$D/merge3.out" || { cat "$D/merge3.out"; die "merge after the requeue failed"; }
"$REPRO" runs --db "$DB" --spec requeue --status done | grep -q "${RUN:0:12}" || die "the requeued run is not done"
resumes=$("$REPRO" query --db "$DB" --format csv "SELECT count(*) FROM events WHERE run_id = '$RUN' AND kind = 'resume'" | tail -n 1)
[ "$resumes" = 1 ] || die "the requeued run resumed $resumes times, want 1"
say "the requeued task resumed from its checkpoint and finished"
say "PASS: $TASKS array tasks of $SPEC done and merged in $((SECONDS - start)) s (from start, installation included)"
