#!/usr/bin/env bash
# FishLeg with KFAC's warm-up (--q-init kfac --q-init-steps K: Q set from KFAC's running-mean factors before each of the
# first K steps, then moved by the auxiliary loss alone) at KFAC's lr 1 and damping 3, on the MNIST auto-encoder at
# batch 1000: 10-epoch screens, test NLL at epochs 5 and 10 (KFAC's defaults from the same init: 62.14 and 59.75;
# FishLeg's default mnist-ae-1000: 81.60 and 69.37). About 3 to 5 minutes a run on 2 CPU cores, alone.
# docs/RESULTS.md (MNIST) has every run.
# Usage: scripts/sweep-mnist-kfac-start.sh [DIR] [NAME...] (default runs/sweep-mnist-kfac-start, every run)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-runs/sweep-mnist-kfac-start}
shift || true
mkdir -p "$dir"
want=("$@")
. scripts/screen-lib.sh
ks=(--q-init kfac --damping 3 --lr 1)
jax=(--ordering momentum-on-gradient)                                          # KFAC's order: momentum, then Q
screen ks120-ocaml           "${ks[@]}" --q-init-steps 120 --aux-lr 1e-4         # the preset's order: momentum on Q g
screen ks21                  "${ks[@]}" "${jax[@]}" --q-init-steps 21 --aux-lr 1e-4   # KFAC's own warm-up length
screen ks21-frozen           "${ks[@]}" "${jax[@]}" --q-init-steps 21 --aux-lr 0      # diagnostic: Q fixed after step 21
screen ks120                 "${ks[@]}" "${jax[@]}" --q-init-steps 120 --aux-lr 1e-4  # two epochs
screen ks120-auxlr1e-3       "${ks[@]}" "${jax[@]}" --q-init-steps 120 --aux-lr 1e-3
screen ks120-frozen          "${ks[@]}" "${jax[@]}" --q-init-steps 120 --aux-lr 0     # diagnostic: Q fixed after step 120
screen ks300                 "${ks[@]}" "${jax[@]}" --q-init-steps 300 --aux-lr 1e-4  # five epochs
