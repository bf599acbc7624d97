#!/usr/bin/env bash
# The issue-15 training campaign: the CIFAR-10 specs at medium scale, then
# ResNet-20 at the paper's full recipe, in the order that tests the paper's
# claims soonest. Every step is `repro run`, which skips finished runs and
# resumes interrupted ones exactly from their latest checkpoint, so this
# script can be stopped at any moment (kill, session end) and started again.
#
#   nice -n 19 tools/campaign/issue15.sh            # from the repository root
#
# It uses bin/repro as built (build it once, from a committed tree: each run
# records the binary's code version) and one database per scale:
# results/medium.db and results/paper.db. Progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-bin/repro}
export REPRO_DATA=${REPRO_DATA:-../shared/datasets}
med() { "$BIN" run "$1" --scale medium --db results/medium.db --offline "${@:2}"; }

med table6 --only resnet-20
med fig1                                   # plain-20, plain-56
med table6 --only resnet-56
med table6 --only resnet-32
med table6 --only resnet-44
med table6 --only resnet-110 --seeds 1     # seed 1 (shared with fig6 and fig7)
med fig6                                   # plain-32, -44, -110 (the rest are done)
med table6                                 # ResNet-110 seeds 2 and 3
med fig7                                   # nothing left to train: responses of the trained nets
"$BIN" run table6 --scale paper --only resnet-20 --db results/paper.db --offline
echo "campaign: every run is done" >&2
