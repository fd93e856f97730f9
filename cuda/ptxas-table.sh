#!/usr/bin/env bash
# Prints the markdown kernel table of docs/GPU.md from a ptxas -v report (the build writes it to
# target/cuda-build/ptxas-report.txt and ships it as org/fishleg/cuda/ptxas-report.txt):
#   cuda/ptxas-table.sh [target/cuda-build/ptxas-report.txt]
set -euo pipefail
report=${1:-target/cuda-build/ptxas-report.txt}
awk '
  function sortv(v, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t } }
  /Compiling entry function/ { match($0, /function .[^'"'"']+/); k = substr($0, RSTART + 10, RLENGTH - 10);
                               match($0, /for .sm_[0-9]+/); a = substr($0, RSTART + 5, RLENGTH - 5);
                               kernels[k] = 1; archs[a] = 1; cur = k SUBSEP a; next }
  /bytes stack frame/ && cur != "" { split($0, f, ","); stack[cur] = f[1] + 0;
                               match($0, /[0-9]+ bytes spill stores/); st = substr($0, RSTART, RLENGTH) + 0;
                               match($0, /[0-9]+ bytes spill loads/); ld = substr($0, RSTART, RLENGTH) + 0;
                               spill[cur] = st + ld; next }
  /Used [0-9]+ registers/ && cur != "" { match($0, /Used [0-9]+ registers/); regs[cur] = substr($0, RSTART + 5, RLENGTH - 15) + 0;
                               sm = 0; if (match($0, /[0-9]+ bytes smem/)) sm = substr($0, RSTART, RLENGTH) + 0; smem[cur] = sm; cur = "" }
  END {
    n = 0; for (a in archs) al[++n] = a; sortv(al, n)
    m = 0; for (k in kernels) kl[++m] = k; sortv(kl, m)
    hdr = "| kernel |"; sep = "|---|"
    for (i = 1; i <= n; i++) { hdr = hdr " regs " al[i] " |"; sep = sep "---:|" }
    print hdr " spill bytes (all archs) | stack bytes | static smem |"; print sep "---:|---:|---:|"
    for (j = 1; j <= m; j++) {
      line = "| `" kl[j] "` |"; sp = 0; stk = 0; sh = 0
      for (i = 1; i <= n; i++) { c = kl[j] SUBSEP al[i]; line = line " " regs[c] " |"; sp += spill[c]; if (stack[c] > stk) stk = stack[c]; sh = smem[c] }
      print line " " sp " | " stk " | " sh " |"
    }
  }' "$report"
