#!/usr/bin/env bash
# The 60-step probe behind the faces-ae defaults (docs/RESULTS.md, FACES): FishLeg presets and the
# momentum learning rate on the FACES-like auto-encoder at batch 1000, test NLL at the start and after
# 60 steps (about 1.5 to 3.5 minutes per run on 2 CPU cores), then the quick suite on four seeds (~7 minutes).
# Usage: scripts/sweep-faces.sh [DIR]   (default runs/sweep-faces)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-runs/sweep-faces}
mkdir -p "$dir"
: >"$dir/summary.txt"
run() {
  local name=$1; shift
  ./fishleg train --model faces-ae --batch-size 1000 --steps 60 --eval-every-epochs 0 --backend cpu \
    --progress lines --print-every 10 --metrics none "$@" >"$dir/$name.log" 2>&1 || true
  printf '%-16s %s\n' "$name" "$(tail -n 1 "$dir/$name.log")" | tee -a "$dir/summary.txt"
}
run jax-faces      --optimizer fishleg --fishleg-preset jax-faces
run jax-faces-lr02 --optimizer fishleg --fishleg-preset jax-faces --lr 0.02
run jax-mnist      --optimizer fishleg --fishleg-preset jax-mnist
run ocaml-faces    --optimizer fishleg --fishleg-preset ocaml-faces
run mnist-ae       --optimizer fishleg --fishleg-preset mnist-ae
run faces-ae       --optimizer fishleg --fishleg-preset faces-ae
run momentum-0.03  --optimizer momentum --lr 0.03
run momentum-0.01  --optimizer momentum --lr 0.01
# second probe (docs/RESULTS.md, FACES): variations of faces-ae, and KFAC
run kfac           --optimizer kfac
run fa-auxlr3e-4   --optimizer fishleg --aux-lr 3e-4
run fa-aux2        --optimizer fishleg --aux-every 2
run fa-lr005       --optimizer fishleg --lr 0.005
run fa-lr03        --optimizer fishleg --lr 0.03
run fa-lr03-msn3   --optimizer fishleg --lr 0.03 --max-step-norm 3
run fa-auxlr1e-3-msn3 --optimizer fishleg --aux-lr 1e-3 --max-step-norm 3
# seeds on the quick subset (10,000 training examples, 5 epochs): FishLeg's faces-ae preset and momentum 0.01
./fishleg bench suite --suite faces-ae --quick --optimizers fishleg,momentum --seeds 1-4 --backend cpu \
  --out "$dir/quick-seeds" --overwrite | tee -a "$dir/summary.txt"
