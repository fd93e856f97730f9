#!/usr/bin/env bash
# KFAC settings on the deep linear network (docs/RESULTS.md, deep linear network suite): is the suite's KFAC
# (the dln recipe: pi split, lr 0.1, damping 3, no warm-up; final test NLL -87.36, best -98.32, against FishLeg's
# -94.81 and -100.60) a fair opponent? The suite's run length (20000 epochs of the 40 examples at batch 40), seed 1,
# test NLL every 10 epochs; final and best test NLL per run in DIR/summary.txt. About 10-20 s a run on 2 CPU cores.
# Usage: scripts/sweep-dln-kfac.sh [DIR] [NAME...] (default runs/sweep-dln-kfac, every run)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-runs/sweep-dln-kfac}
shift || true
mkdir -p "$dir"
want=("$@")
. scripts/screen-lib.sh
run() {
  local name=$1; shift
  wanted "$name" || return 0
  ./fishleg train --model dln --optimizer kfac --epochs 20000 --eval-every-epochs 10 --seed 1 --backend cpu \
    --progress none --metrics "$dir/$name.csv" --overwrite "$@" >"$dir/$name.log" 2>&1 || true
  local res
  res=$(awk -F, 'NR > 1 && $5 != "" { l = $5; e = $2 + 0; if (b == "" || $5 + 0 < b + 0) { b = $5; be = e } }
    END { printf "final %.2f (epoch %d)  best %.2f (epoch %d)", l, e, b, be }' "$dir/$name.csv")
  printf '%-22s %s | %s | %s\n' "$name" "$res" "$(tail -n 1 "$dir/$name.log" | cut -c1-60)" "$*" | tee -a "$dir/summary.txt"
}
run recipe               # pi split, lr 0.1, damping 3, no warm-up
for lr in 0.03 0.3 1; do run "pi-lr$lr" --lr "$lr"; done
for d in 0.3 1 10; do run "pi-d$d" --kfac-damping "$d"; done
run pi-warmup            --kfac-warmup on
for lr in 0.1 0.3 1; do
  for d in 0.1 1 3; do run "none-lr$lr-d$d" --kfac-damping-split none --kfac-warmup on --lr "$lr" --kfac-damping "$d"; done
done
