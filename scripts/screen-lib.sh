# Shared by the sweep scripts: source it after setting dir and want=("$@") (the run names asked for, none = all).
# wanted NAME: whether that run was asked for. screen NAME OPTION... (the 10-epoch MNIST screens of
# sweep-mnist-aux.sh and sweep-mnist-precond.sh) runs `fishleg train` on the MNIST auto-encoder at batch 1000 for
# 10 epochs with FishLeg plus the options (unless names were given and NAME is not one of them) and appends
# "NAME  ep 5 X  ep 10 Y  ms/step | last log line" to $dir/summary.txt.
tests() { awk -F, 'NR > 1 && $5 != "" && $2 + 0 > 0 { printf "ep %s %.2f  ", $2 + 0, $5 }' "$1"; }
ms() { sed -n 's/.*training \([0-9.]*\) ms\/step.*/\1 ms\/step/p' "$1" | tail -n 1; }
wanted() { [ ${#want[@]} -eq 0 ] || [[ " ${want[*]} " == *" $1 "* ]]; }
screen() {
  local name=$1; shift
  wanted "$name" || return 0
  ./fishleg train --model mnist-ae --optimizer fishleg --batch-size 1000 --epochs 10 --eval-every-epochs 5 --backend cpu \
    --progress lines --print-every 100000 --overwrite --metrics "$dir/$name.csv" "$@" >"$dir/$name.log" 2>&1 || true
  printf '%-28s %s %s | %s\n' "$name" "$(tests "$dir/$name.csv")" "$(ms "$dir/$name.log")" "$(tail -n 1 "$dir/$name.log" | cut -c1-60)" | tee -a "$dir/summary.txt"
}
