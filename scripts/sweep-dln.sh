#!/usr/bin/env bash
# The sweep behind the dln preset's lr 0.1 (docs/RESULTS.md, deep linear network sections): FishLeg
# settings on the deep linear network with the `train --model dln` defaults (bootstrap batches of 40,
# 20000 steps, test NLL every 10 steps), then lr 0.1 against the earlier lr 0.04 and KFAC on seeds 1-8 and
# lr 0.1 on seeds 9-16. Each line of DIR/summary.txt: best test NLL (step), final, and the test NLL at
# steps 300 / 1000 / 3000. About 20 s per run on one core (~20 minutes in all).
# The settings are relative to the preset in use: at the commit that introduced this script the preset
# was ocaml-dln + --max-step-norm 1 at lr 0.04, which the first line pins.
# Usage: scripts/sweep-dln.sh [DIR]   (default runs/sweep-dln)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-runs/sweep-dln}
mkdir -p "$dir"
: >"$dir/summary.txt"
run() {
  local name=$1 seed=$2; shift 2
  ./fishleg train --model dln --seed "$seed" --batch-size 40 --epochs 20000 --eval-every-epochs 10 --backend cpu \
    --threads 1 --quiet --overwrite --metrics "$dir/$name.csv" "$@" >"$dir/$name.log" 2>&1 || true
  awk -F, -v n="$name" -v a="$*" 'NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
    $(h["test_loss"]) != "" { v = $(h["test_loss"]) + 0; s = $(h["step"]) + 0; last = v
      if (!seen || v < best) { best = v; bs = s; seen = 1 }
      if (s >= 300 && a3 == "") a3 = v; if (s >= 1000 && a10 == "") a10 = v; if (s >= 3000 && a30 == "") a30 = v }
    END { printf "%-14s best %8.2f (%5d)  final %8.2f  @300 %8.2f  @1000 %8.2f  @3000 %8.2f  (%s)\n", n, best, bs, last, a3, a10, a30, a }' \
    "$dir/$name.csv" | tee -a "$dir/summary.txt"
}
base=(--optimizer fishleg --fishleg-preset ocaml-dln --max-step-norm 1 --lr 0.04)
run lr04 1 "${base[@]}"
run kfac 1 --optimizer kfac
run lr1 1 "${base[@]}" --lr 0.1
run lr2 1 "${base[@]}" --lr 0.2
run full 1 "${base[@]}" --factor full
run auxlr3 1 "${base[@]}" --aux-lr 3e-3
run auxlr10 1 "${base[@]}" --aux-lr 1e-2
run s1 1 "${base[@]}" --init-scale 0.1
run s3 1 "${base[@]}" --init-scale 0.3
run s10 1 "${base[@]}" --init-scale 1
run msn3 1 "${base[@]}" --max-step-norm 3
run lr1msn3 1 "${base[@]}" --lr 0.1 --max-step-norm 3
run lr1full 1 "${base[@]}" --lr 0.1 --factor full
run lr1s1 1 "${base[@]}" --lr 0.1 --init-scale 0.1
run lr1s3 1 "${base[@]}" --lr 0.1 --init-scale 0.3
run lr05s1 1 "${base[@]}" --lr 0.05 --init-scale 0.1
for s in 2 3 4 5 6 7 8; do
  run "lr1-seed$s" "$s" "${base[@]}" --lr 0.1
  run "lr04-seed$s" "$s" "${base[@]}"
  run "kfac-seed$s" "$s" --optimizer kfac
done
for s in 9 10 11 12 13 14 15 16; do run "lr1-seed$s" "$s" "${base[@]}" --lr 0.1; done
