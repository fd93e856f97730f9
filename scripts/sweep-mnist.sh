#!/usr/bin/env bash
# The probes behind docs/RESULTS.md (MNIST auto-encoder, batch 1000): can FishLeg's mnist-ae preset reach
# test NLL 57 by epoch 75? 15-epoch screens of single changes (test NLL at epochs 5, 10, 15; about 4 minutes
# each on 2 CPU cores, 8-13 for aux every 1-2), then the 75-epoch run with a checkpoint at epoch 50 and its
# last 25 epochs again at a lower learning rate (about 16 + 2 x 6 minutes).
# Usage: scripts/sweep-mnist.sh [DIR]   (default runs/sweep-mnist)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-runs/sweep-mnist}
mkdir -p "$dir"
: >"$dir/summary.txt"
tests() { awk -F, 'NR > 1 && $5 != "" { printf "ep %s %.2f  ", $2 + 0, $5 }' "$1"; }
screen() {
  local name=$1; shift
  ./fishleg train --model mnist-ae --fishleg-preset mnist-ae --batch-size 1000 --epochs 15 --eval-every-epochs 5 --backend cpu \
    --progress none --overwrite --metrics "$dir/$name.csv" "$@" >"$dir/$name.log" 2>&1 || true
  printf '%-22s %s %s\n' "$name" "$(tests "$dir/$name.csv")" "$(tail -n 1 "$dir/$name.log" | cut -c1-60)" | tee -a "$dir/summary.txt"
}
screen base
screen aux-every-5          --aux-every 5
screen aux-every-2          --aux-every 2
screen aux-every-1          --aux-every 1
screen aux-lr-3e-3          --aux-lr 3e-3   # = the mnist-ae-1000 preset, the default at batch 1000
screen aux-lr-1e-2          --aux-lr 1e-2
screen aux-lr-3e-3-every-5  --aux-lr 3e-3 --aux-every 5
screen lr-0.03-damp-3e-3    --lr 0.03 --damping 3e-3
screen lr-0.1-damp-1e-2     --lr 0.1 --damping 1e-2
screen lr-0.03-damp-3e-3-s1 --lr 0.03 --damping 3e-3 --init-scale 1
screen lr-0.1-damp-1e-2-s03 --lr 0.1 --damping 1e-2 --init-scale 0.3
# batch 100, 2 epochs: the mnist-ae preset against aux lr 3e-3 (why mnist-ae-1000 is a preset of its own)
for p in mnist-ae mnist-ae-1000; do
  ./fishleg train --model mnist-ae --fishleg-preset $p --epochs 2 --backend cpu --progress none --overwrite \
    --metrics "$dir/b100-$p.csv" >"$dir/b100-$p.log" 2>&1 || true
  printf '%-22s %s\n' "batch 100 $p" "$(tests "$dir/b100-$p.csv")" | tee -a "$dir/summary.txt"
done
# 75 epochs with a checkpoint at epoch 50, then epochs 50-75 again at lr 0.003 and 0.001 (a step decay)
./fishleg train --model mnist-ae --fishleg-preset mnist-ae --batch-size 1000 --steps 4500 --eval-every-epochs 5 --backend cpu --progress none \
  --overwrite --metrics "$dir/full.csv" --checkpoint-dir "$dir/full-ck" --checkpoint-every 3000 --keep-checkpoints \
  >"$dir/full.log" 2>&1 || true
printf '%-22s %s\n' "75 epochs" "$(tests "$dir/full.csv")" | tee -a "$dir/summary.txt"
for lr in 0.003 0.001; do
  head -n "$(awk -F, 'NR > 1 && $1 == 3000 { print NR; exit }' "$dir/full.csv")" "$dir/full.csv" >"$dir/decay-$lr.csv"
  ./fishleg train --model mnist-ae --fishleg-preset mnist-ae --batch-size 1000 --steps 4500 --eval-every-epochs 5 --backend cpu --progress none \
    --resume "$dir/full-ck/step-3000.ckpt" --lr "$lr" --metrics "$dir/decay-$lr.csv" >"$dir/decay-$lr.log" 2>&1 || true
  printf '%-22s %s\n' "lr $lr from epoch 50" "$(tests "$dir/decay-$lr.csv")" | tee -a "$dir/summary.txt"
done
