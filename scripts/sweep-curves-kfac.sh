#!/usr/bin/env bash
# KFAC settings on the CURVES auto-encoder at batch 1000 (docs/RESULTS.md, CURVES suite): is the suite's KFAC
# (the curves-ae recipe: pi split, lr 0.1, damping 3, no warm-up; test NLL 81.72 after 100 epochs, FishLeg 72.79)
# a fair opponent? Every run names its damping and warm-up, so that it repeats whatever the recipe is now (lr 0.3,
# damping 1, warm-up on, no split). One seed, 100 epochs, test NLL every 5 epochs; the last one per run in DIR/summary.txt. About
# 4 minutes a run on 2 CPU cores alone. Usage: scripts/sweep-curves-kfac.sh [DIR] [NAME...] (default
# runs/sweep-curves-kfac, every run)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-runs/sweep-curves-kfac}
shift || true
mkdir -p "$dir"
want=("$@")
. scripts/screen-lib.sh
run() {
  local name=$1; shift
  wanted "$name" || return 0
  ./fishleg train --model curves-ae --optimizer kfac --batch-size 1000 --epochs 100 --eval-every-epochs 5 --backend cpu \
    --progress lines --print-every 100000 --metrics "$dir/$name.csv" --overwrite "$@" >"$dir/$name.log" 2>&1 || true
  local at
  at=$(awk -F, 'NR > 1 && $5 != "" && ($2 + 0 == 10 || $2 + 0 == 50 || $2 + 0 == 100) { printf "ep %s %.2f  ", $2 + 0, $5 }' "$dir/$name.csv")
  printf '%-20s %s | %s | %s\n' "$name" "$at" "$(tail -n 1 "$dir/$name.log" | cut -c1-70)" "$*" | tee -a "$dir/summary.txt"
}
run pi-lr0.3            --kfac-damping-split pi --lr 0.3 --kfac-damping 3 --kfac-warmup off
run pi-lr0.03           --kfac-damping-split pi --lr 0.03 --kfac-damping 3 --kfac-warmup off
run pi-lr0.1-d1         --kfac-damping-split pi --lr 0.1 --kfac-damping 1 --kfac-warmup off
run pi-lr0.1-d10        --kfac-damping-split pi --lr 0.1 --kfac-damping 10 --kfac-warmup off
run pi-lr0.1-warmup     --kfac-damping-split pi --lr 0.1 --kfac-warmup on --kfac-damping 3
run none-lr0.3-warmup   --kfac-damping-split none --lr 0.3 --kfac-warmup on --kfac-damping 3
run none-lr0.1-d1       --kfac-damping-split none --lr 0.1 --kfac-damping 1 --kfac-warmup on
run none-lr0.1-warmup   --kfac-damping-split none --lr 0.1 --kfac-warmup on --kfac-damping 3
run none-lr0.5-warmup   --kfac-damping-split none --lr 0.5 --kfac-warmup on --kfac-damping 3
run none-lr0.3-d1       --kfac-damping-split none --lr 0.3 --kfac-damping 1 --kfac-warmup on
run none-lr0.3-d10      --kfac-damping-split none --lr 0.3 --kfac-damping 10 --kfac-warmup on
run none-lr0.5-d1       --kfac-damping-split none --lr 0.5 --kfac-damping 1 --kfac-warmup on
