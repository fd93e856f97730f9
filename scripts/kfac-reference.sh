#!/usr/bin/env bash
# KFAC in the KFAC/K-BFGS benchmark code's form (sqrt(gamma) on each factor, warm-up, lr 1, damping 3) against
# that code's published MNIST demo (batch 1000, PyTorch's uniform init: train 52.90 / test 57.60 at epoch 75,
# test 62.476 at epoch 10), and the FishLeg probes it prompted (docs/RESULTS.md, MNIST suite).
# About 20 minutes for the 50-epoch KFAC run on 2 CPU cores (the demo printed epochs 1, 2, 5, 10, 20, 30, 50, 75), 10 more for the rest.
# Usage: scripts/kfac-reference.sh [DIR]   (default runs/kfac-reference)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-runs/kfac-reference}
mkdir -p "$dir"
: >"$dir/summary.txt"
curve() { awk -F, 'NR > 1 && $5 != "" && ($2 + 0 <= 5 || ($2 + 0) % 10 == 0 || $2 + 0 == 3) { printf "ep %s %.2f/%.2f  ", $2 + 0, $6, $5 }' "$1"; }
run() {
  local name=$1; shift
  ./fishleg train --model mnist-ae --batch-size 1000 --eval-every-epochs 1 --eval-train-set --backend cpu \
    --progress none --overwrite --metrics "$dir/$name.csv" "$@" >"$dir/$name.log" 2>&1 || true
  printf '%-16s train/test %s| %s\n' "$name" "$(curve "$dir/$name.csv")" "$(tail -n 1 "$dir/$name.log" | cut -c1-80)" | tee -a "$dir/summary.txt"
}
# the published demo's setting: KFAC defaults (lr 1, damping 3, no pi split) from PyTorch's default init
run kfac-uniform    --optimizer kfac --weight-init uniform --epochs 50
# Martens and Grosse's pi split at the demo's lr 1 (the form this project ran before): diverges, with the warm-up as without it
run kfac-pi-lr1     --optimizer kfac --kfac-damping-split pi --epochs 1
# FishLeg (mnist-ae-1000, the batch-1000 default) from the uniform init, and with KFAC-like heavy damping
run fishleg-uniform --optimizer fishleg --weight-init uniform --epochs 10
run fishleg-damp1   --optimizer fishleg --lr 0.3 --damping 1 --init-scale 0.1 --epochs 3
run fishleg-damp3   --optimizer fishleg --lr 1 --damping 3 --init-scale 0.03 --epochs 3
