#!/usr/bin/env bash
# FishLeg with KFAC's warm-up on an auto-encoder suite at batch 1000, in the form of the suite's runs (seed 1, default
# init and batch order, test and whole-training-set NLL every epoch): Q set from KFAC's running-mean factors before
# each of the first K steps (--q-init kfac --q-init-steps K, default 21: KFAC's own warm-up), then moved by the auxiliary
# loss alone (aux lr 1e-4),
# with KFAC's lr and damping (mnist and faces: the mnist-ae recipe, lr 1 and damping 3; curves: lr 0.5 and damping 1,
# the best of the KFAC sweep and KFAC's recipe until it moved to lr 0.3) and KFAC's order (momentum on the gradient,
# then Q). docs/RESULTS.md compares it with the suites' KFAC and FishLeg. On 2 CPU cores, alone: mnist about 20 minutes, curves 5, faces (6 epochs) 20.
# Usage: scripts/run-kfac-start.sh mnist|curves|faces [DIR] [K [NAME OPTION...]] (default runs/kfac-start, K 21); metrics
# DIR/SUITE-kK.csv, or DIR/SUITE-kK-NAME.csv with extra `fishleg train` options not set here (e.g. aux-every5
# --aux-every 5; or e20 --q-init-every 20, a start factorised on KFAC's schedule of inverses, as the CURVES runs with K 300
# and 400); AUX_LR=X sets the auxiliary lr (default 1e-4), LR=X the learning rate and DAMPING=X the damping (defaults KFAC's),
# SEED=S the seed (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:?usage: scripts/run-kfac-start.sh mnist|curves|faces [DIR] [K]}
dir=${2:-runs/kfac-start}
k=${3:-21}
name=$suite-k$k
if [ $# -gt 3 ]; then name=$name-$4; shift 4; else shift $#; fi
case "$suite" in
  mnist)  opts=(--model mnist-ae --epochs 75 --lr "${LR:-1}" --damping "${DAMPING:-3}") ;;     # KFAC's mnist-ae recipe: lr 1, damping 3
  curves) opts=(--model curves-ae --epochs 100 --lr "${LR:-0.5}" --damping "${DAMPING:-1}") ;; # lr 0.5, damping 1: the KFAC sweep's best, the CURVES runs of docs/RESULTS.md (KFAC's recipe is now lr 0.3)
  faces)  opts=(--model faces-ae --epochs 6 --lr "${LR:-1}" --damping "${DAMPING:-3}") ;;      # the FACES suite block's length
  *) echo "usage: scripts/run-kfac-start.sh mnist|curves|faces [DIR] [K]" >&2; exit 2 ;;
esac
mkdir -p "$dir"
[ -f target/fishleg.jar ] || mvn -q -B package -DskipTests
./fishleg train "${opts[@]}" --optimizer fishleg --batch-size 1000 --eval-every-epochs 1 --eval-train-set --seed "${SEED:-1}" --backend cpu \
  --q-init kfac --q-init-steps "$k" --aux-lr "${AUX_LR:-1e-4}" --ordering momentum-on-gradient \
  --progress lines --print-every 100000 --metrics "$dir/$name.csv" --overwrite "$@" | tee "$dir/$name.log"
