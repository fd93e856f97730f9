#!/usr/bin/env bash
# KFAC in the benchmark code's form on the FACES auto-encoder at batch 1000, at the length of the FACES suite
# block in docs/RESULTS.md (6 epochs; there KFAC, the faces-ae recipe's pi split at lr 0.1, ended at test NLL
# 650.99 and FishLeg at 650.00): the settings that won on MNIST (lr 1, damping 3) and on CURVES (lr 0.5,
# damping 1). Test NLL every epoch; about 15 minutes a run on 2 CPU cores alone.
# Usage: scripts/sweep-faces-kfac.sh [DIR] [NAME...] (default runs/sweep-faces-kfac, every run)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-runs/sweep-faces-kfac}
shift || true
mkdir -p "$dir"
want=("$@")
. scripts/screen-lib.sh
run() {
  local name=$1; shift
  wanted "$name" || return 0
  ./fishleg train --model faces-ae --optimizer kfac --batch-size 1000 --epochs 6 --eval-every-epochs 1 --seed 1 --backend cpu \
    --progress lines --print-every 100000 --metrics "$dir/$name.csv" --overwrite "$@" >"$dir/$name.log" 2>&1 || true
  local at
  at=$(awk -F, 'NR > 1 && $5 != "" && $2 + 0 > 0 { printf "ep %s %.2f  ", $2 + 0, $5 }' "$dir/$name.csv")
  printf '%-18s %s | %s | %s\n' "$name" "$at" "$(tail -n 1 "$dir/$name.log" | cut -c1-60)" "$*" | tee -a "$dir/summary.txt"
}
run none-lr1-d3    --kfac-damping-split none --kfac-warmup on --lr 1 --kfac-damping 3
run none-lr0.5-d1  --kfac-damping-split none --kfac-warmup on --lr 0.5 --kfac-damping 1
