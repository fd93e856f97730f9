#!/usr/bin/env bash
# FishLeg against KFAC's benchmark form on the MNIST auto-encoder at batch 1000 (docs/RESULTS.md, MNIST suite):
# 10-epoch screens of the auxiliary (Q) estimate's batch and period and of the paper's own jax-mnist preset,
# test NLL at epochs 5 and 10 (KFAC's defaults from the same init: 62.14 and 59.75; FishLeg's default
# mnist-ae-1000 in the MNIST suite: 81.60 and 69.37). About 3 minutes a run on 2 CPU cores. docs/RESULTS.md has
# the runs named there (scripts/sweep-mnist-aux.sh DIR aux-batch-100 aux-batch-1000 jax-mnist aux-batch-100-damp-1e-2).
# Usage: scripts/sweep-mnist-aux.sh [DIR] [NAME...]   (default runs/sweep-mnist-aux, every run)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-runs/sweep-mnist-aux}
shift || true
mkdir -p "$dir"
want=("$@")
. scripts/screen-lib.sh
screen base                                           # mnist-ae-1000: aux batch 10 every 10 steps
screen aux-batch-100         --aux-batch-size 100
screen aux-batch-1000        --aux-batch-size 1000
screen aux-batch-100-every-5 --aux-batch-size 100 --aux-every 5
screen aux-batch-100-damp-1e-2 --aux-batch-size 100 --damping 1e-2   # a better Q estimate with more damping
screen jax-mnist             --fishleg-preset jax-mnist  # the paper's MNIST setting (batch 1000, aux batch 1000)
screen jax-mnist-aux-lr-1e-3 --fishleg-preset jax-mnist --aux-lr 1e-3
