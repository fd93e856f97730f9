#!/usr/bin/env bash
# The batch-1000 sweep behind FishLeg's curves-ae preset (docs/RESULTS.md, CURVES suite): FishLeg settings
# on the CURVES auto-encoder, one seed, test NLL every 5 epochs, the last row's test NLL per run in
# DIR/summary.txt. About 3-4 minutes per 100-epoch run on 2 CPU cores (~45 minutes in all).
# Usage: scripts/sweep-curves.sh [DIR]   (default runs/sweep-curves)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-runs/sweep-curves}
mkdir -p "$dir"
run() {
  local name=$1 epochs=$2; shift 2
  local t0=$SECONDS
  ./fishleg train --model curves-ae --batch-size 1000 --epochs "$epochs" --eval-every-epochs 5 --backend cpu \
    --progress lines --print-every 100000 --metrics "$dir/$name.csv" --overwrite "$@" >"$dir/$name.log" 2>&1 || true
  local last
  last=$(awk -F, 'NR>1 && $5!="" {l=$5} END{print l}' "$dir/$name.csv")
  printf '%-22s %3s epochs  %5ss  test NLL %s  (%s)\n' "$name" "$epochs" "$((SECONDS - t0))" "$last" "$*" | tee -a "$dir/summary.txt"
}
: >"$dir/summary.txt"
# 30-epoch screen
run jax-mnist-30      30 --optimizer fishleg --fishleg-preset jax-mnist
run mnist-ae-30       30 --optimizer fishleg --fishleg-preset mnist-ae
run mnist-ae-lr03-30  30 --optimizer fishleg --fishleg-preset mnist-ae --lr 0.03
run jax-lr01-30       30 --optimizer fishleg --fishleg-preset jax-mnist --lr 0.1
run jax-aux1e3-30     30 --optimizer fishleg --fishleg-preset jax-mnist --aux-lr 1e-3
run jax-s1-30         30 --optimizer fishleg --fishleg-preset jax-mnist --init-scale 1
run momentum-30       30 --optimizer momentum
run kfac-30           30 --optimizer kfac --kfac-damping-split pi --lr 0.1 --kfac-damping 3 --kfac-warmup off  # the curves-ae KFAC recipe when this ran
# 100 epochs (the suite's length)
run mnist-ae          100 --optimizer fishleg --fishleg-preset mnist-ae
run mnist-ae-lr02     100 --optimizer fishleg --fishleg-preset mnist-ae --lr 0.02
run jax-lr01          100 --optimizer fishleg --fishleg-preset jax-mnist --lr 0.1
run mnist-ae-s1       100 --optimizer fishleg --fishleg-preset mnist-ae --init-scale 1
run lr02-aux3e3       100 --optimizer fishleg --fishleg-preset mnist-ae --lr 0.02 --aux-lr 3e-3
run lr025             100 --optimizer fishleg --fishleg-preset mnist-ae --lr 0.025
run lr02-auxb100      100 --optimizer fishleg --fishleg-preset mnist-ae --lr 0.02 --aux-batch-size 100
run lr03-msn10        100 --optimizer fishleg --fishleg-preset mnist-ae --lr 0.03 --max-step-norm 10
run lr02-seed2         100 --optimizer fishleg --fishleg-preset mnist-ae --lr 0.02 --seed 2
