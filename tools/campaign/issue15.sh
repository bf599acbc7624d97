#!/usr/bin/env bash
# The issue-15 training campaign: the CIFAR-10 specs at medium scale, the
# PyTorch control, and ResNet-20 at the paper's full recipe, one job at a
# time (2 cores), in the order that tests the paper's claims soonest. Every
# step of ours is `repro run`, which skips finished runs and resumes
# interrupted ones exactly from their latest checkpoint; a PyTorch control
# whose result file exists is skipped. So this script can be stopped at any
# moment (kill, session end) and started again:
#
#   nohup nice -n 19 tools/campaign/issue15.sh > campaign.log 2>&1 &
#
# from the repository root. It uses $BIN (default bin/repro) as built: build
# it once, from a committed tree, since each run records the binary's code
# version. One database per scale: results/medium.db and results/paper.db.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-bin/repro}
export REPRO_DATA=${REPRO_DATA:-../shared/datasets}
med() { "$BIN" run "$1" --scale medium --db results/medium.db --offline "${@:2}"; }
# torch SEED: the cross-framework control (tools/torchref/medium_control.py),
# ResNet-20 at the medium recipe in PyTorch 1.13 (python3-torch). A killed
# control restarts from its beginning (it keeps no checkpoint; about 40 min).
torch() {
	local out=tools/torchref/results/resnet-20-medium-seed$1.json
	[ -f "$out" ] || /usr/bin/python3 tools/torchref/medium_control.py --depth 20 --seed "$1" --out "$out"
}

med table6 --only resnet-20
torch 1
med table6 --only resnet-20 --seeds 3      # ResNet-20 seeds 2 and 3: our seed noise beside PyTorch's
med table6 --only resnet-56
med fig1                                   # plain-20, plain-56
med table6 --only resnet-32
med table6 --only resnet-44
med table6 --only resnet-110 --seeds 1     # seed 1 (shared with fig6 and fig7)
med fig6                                   # plain-32, -44, -110 (the rest are done)
med fig7                                   # nothing left to train: all five are fig6's
"$BIN" run table6 --scale paper --only resnet-20 --db results/paper.db --offline
med table6                                 # ResNet-110 seeds 2 and 3
torch 2
torch 3
echo "campaign: every run is done" >&2
