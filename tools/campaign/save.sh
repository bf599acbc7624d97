#!/usr/bin/env bash
# Stops the issue-15 campaign exactly and stages what the next session needs
# to resume it (run from the repository root; then commit):
#
#   tools/campaign/save.sh [MAX_CHECKPOINT_MB]     (default 8)
#
#  1. stops the campaign script first (so it starts nothing new), then the
#     training with SIGINT: `repro run` ends at the current iteration and its
#     latest checkpoint (at most one evaluation interval back) stays valid;
#     a PyTorch control in progress is stopped too (it restarts from its
#     beginning next time: it keeps no checkpoint);
#  2. stages every results/SCALE.db of the campaign and the control results;
#  3. stages the latest checkpoint of each unfinished run, if it is at most
#     MAX_CHECKPOINT_MB (small nets: ResNet-56 is about 7 MB), and unstages
#     every other checkpoint (those of finished runs, older ones): the
#     repository keeps one checkpoint per unfinished run, none once a run is
#     done. A run whose latest checkpoint is larger (ResNet-110 and
#     plain-110: about 14 MB) loses its checkpoint records, so the next
#     session trains it from its start (exactly: same seed, same numbers).
set -euo pipefail
cd "$(dirname "$0")/../.."
max_mb=${1:-8}
BIN=${BIN:-bin/repro}

pkill -TERM -f "tools/campaign/issue15.sh" 2>/dev/null || true
pkill -TERM -f "tools/torchref/medium_control.py" 2>/dev/null || true
pkill -INT -f "repro-campaign run" 2>/dev/null || true
for _ in $(seq 1 120); do
	pgrep -f "repro-campaign run|medium_control.py" >/dev/null || break
	sleep 1
done
if pgrep -f "repro-campaign run|medium_control.py" >/dev/null; then
	echo "save.sh: the campaign did not stop within 2 minutes" >&2
	exit 1
fi

keep=()
drop=()
for db in results/medium.db results/paper.db; do
	[ -f "$db" ] || continue
	# The campaign is stopped: bring the database to this binary's schema
	# (in place, nothing lost) so the next session's binary reads it.
	"$BIN" upgrade --db "$db"
	# Latest checkpoint of every run that is not done.
	while IFS='|' read -r id path; do
		[ -n "$path" ] || continue
		if [ ! -f "$path" ]; then
			echo "save.sh: $id: its latest checkpoint $path is missing" >&2
			continue
		fi
		mb=$(( $(stat -c %s "$path") / 1048576 ))
		if [ "$mb" -le "$max_mb" ]; then
			keep+=("$path")
			echo "save.sh: keeping $path ($mb MB) for unfinished run $id"
		else
			echo "save.sh: NOT keeping $path ($mb MB > $max_mb MB): run $id will train again from its start" >&2
			drop+=("$id")
		fi
	done < <("$BIN" query --db "$db" --format csv "SELECT r.id, c.path FROM runs r JOIN checkpoints c ON c.run_id = r.id WHERE r.status != 'done' AND c.iteration = (SELECT MAX(iteration) FROM checkpoints WHERE run_id = r.id)" | tail -n +2 | tr ',' '|')
	# A run whose checkpoint is not kept forgets its checkpoint records, so
	# that the next session starts it afresh (same seed, same numbers)
	# instead of rejecting files that are not there.
	for id in "${drop[@]}"; do
		python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("DELETE FROM checkpoints WHERE run_id = ?", (sys.argv[2],)); c.commit()' "$db" "$id"
		echo "save.sh: $id: checkpoint records dropped from $db"
	done
	drop=()
	git add "$db"
done
[ -d tools/torchref/results ] && git add tools/torchref/results
# One checkpoint per unfinished run in the index, none for finished runs.
git ls-files results/checkpoints | while read -r f; do
	if [[ ! " ${keep[*]-} " == *" $f "* ]]; then
		git rm -q --cached "$f"
		echo "save.sh: unstaged $f"
	fi
done
for f in "${keep[@]}"; do
	git add -f "$f"
done
git status --short results tools/torchref/results
