#!/usr/bin/env bash
# FishLeg with the auxiliary gradient preconditioned by Q (--precondition-aux on) or Q started from KFAC's
# factors (--q-init kfac) on the MNIST auto-encoder at batch 1000: 10-epoch screens, test NLL at epochs 5 and 10
# (KFAC's defaults from the same init: 62.14 and 59.75; FishLeg's default mnist-ae-1000 in the MNIST suite: 81.60
# and 69.37). About 3 minutes a run on 2 CPU cores, alone. docs/RESULTS.md (MNIST) has every run.
# Usage: scripts/sweep-mnist-precond.sh [DIR] [NAME...] (default runs/sweep-mnist-precond, every run)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-runs/sweep-mnist-precond}
shift || true
mkdir -p "$dir"
want=("$@")
. scripts/screen-lib.sh
screen pa                      --precondition-aux on                                  # mnist-ae-1000 + preconditioning
screen pa-d0.1-lr0.1           --precondition-aux on --damping 0.1 --lr 0.1          # lr x Q0 = 0.3 g: NaN at once
screen pa-eps1e-8              --precondition-aux on --aux-eps 1e-8                   # plain Adam (the library's eps)
screen pa-auxlr1e-3            --precondition-aux on --aux-lr 1e-3
screen pa-d0.1-lr0.1-s0.3      --precondition-aux on --damping 0.1 --lr 0.1 --init-scale 0.3
screen pa-d1-lr0.3-s0.1        --precondition-aux on --damping 1 --lr 0.3 --init-scale 0.1
screen qk                      --q-init kfac                                          # mnist-ae-1000 from KFAC's factors
screen qk-d3-lr1-auxlr1e-4     --q-init kfac --damping 3 --lr 1 --aux-lr 1e-4         # KFAC's damping and lr
screen qk-d3-lr1               --q-init kfac --damping 3 --lr 1
screen qk-d3-lr1-frozen        --q-init kfac --damping 3 --lr 1 --aux-lr 0            # diagnostic: Q never updated
screen qk-d3-lr0.1             --q-init kfac --damping 3 --lr 0.1
screen qk-d3-lr0.3-auxlr1e-4   --q-init kfac --damping 3 --lr 0.3 --aux-lr 1e-4
