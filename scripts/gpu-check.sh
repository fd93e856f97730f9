#!/usr/bin/env bash
# GPU check of the FishLeg CUDA backend (docs/GPU.md).
#
#   scripts/gpu-check.sh [--out DIR]          on an NVIDIA host with JDK 17+, Maven (and nvcc for the
#                                            kernels): builds, runs the whole test suite with the GPU
#                                            REQUIRED (FISHLEG_REQUIRE_GPU=1), prints `fishleg info`,
#                                            a benchmark table and nvidia-smi.
#   scripts/gpu-check.sh --make-bundle DIR   on any Linux x86-64 machine with a JDK and Maven: builds a
#                                            self-contained folder (< 60 MiB): jlink runtime, project
#                                            and dependency jars, compiled tests, JUnit console,
#                                            kernels fatbin and libcublas.so.12 forwarder (in the jar).
#   DIR/gpu-check.sh --bundle DIR [--out OUT] runs nvidia-smi, `fishleg info`, the GPU suite and the
#                                            step-time table from such a folder on a host with only the
#                                            NVIDIA driver and CUDA libraries (e.g. CUDA 13 from Python
#                                            wheels): no JDK, Maven or network needed. Scratch files go
#                                            to a temporary folder outside DIR (removed at exit); DIR is
#                                            left unchanged.
#
# --out OUT writes 5 flat files: gpu-check.log (everything), info.txt, tests.txt (the test tree; no
# JUnit XML: java.xml would push the runtime past the size limit), bench.txt (the step-time table),
# summary.txt; the terminal then gets a
# compact form, the summary block last.
#
# Stage time limits in seconds (bundle mode; total < 8 min): GPU_CHECK_TIMEOUT_SMI (20, each of the
# two nvidia-smi calls), GPU_CHECK_TIMEOUT_INFO (60), GPU_CHECK_TIMEOUT_TESTS (240),
# GPU_CHECK_TIMEOUT_BENCH (130). A stage past its limit is reported TIMED OUT and the next one runs.
#
# Environment: FISHLEG_REQUIRE_GPU (normal mode: forced to 1; bundle mode: default 1 when nvidia-smi
# exists, else 0 so GPU tests skip), GPU_CHECK_TESTS=all (bundle mode: every test, not only the
# backend/CUDA ones), GPU_CHECK_BENCH_ARGS (default: both batch sizes, momentum, Adam, default FishLeg, FishLeg in both
# orderings with the OCaml and JAX settings), FISHLEG_CUBLAS13_PATH, FISHLEG_CUDA_LIB_PATH.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUNDLE_LIMIT=$((60 * 1024 * 1024))   # the carry limit is 64 MiB; keep room
BENCH_ARGS=${GPU_CHECK_BENCH_ARGS:---batch-sizes 100,1000 --optimizers momentum,adam,fishleg,fishleg-g@ocaml-mnist,fishleg-qg@ocaml-mnist,fishleg-g@jax-mnist,fishleg-qg@jax-mnist}
# JDK modules: what jdeps reports for the jars (java.base, java.logging for JCuda, jdk.unsupported for
# JavaCPP) plus java.management; picocli needs only java.base. java.desktop (plots), java.sql (JUnit
# CSV sources) and java.xml (JUnit XML reports, +3.6 MiB) are left out: the GPU suite and the bench
# use none of them.
JLINK_MODULES=java.base,java.logging,java.management,jdk.unsupported

say() { printf '\n=== %s\n' "$*"; }
die() { echo "gpu-check: $*" >&2; exit 2; }

OUT=""          # --out folder (flat files), empty: terminal only
LOG=/dev/null   # the whole log when --out is given
STAGES=()       # "name: result" lines for the summary

# run_stage NAME LIMIT_S FILE CMD...: runs CMD with a time limit, its output into FILE (and the log);
# sets STAGE_RC (124 = timed out) and records NAME's result for the summary.
run_stage() {
  local name=$1 limit=$2 file=$3
  shift 3
  local t0 t1
  t0=$(date +%s)
  if command -v timeout >/dev/null 2>&1 && [ "$limit" -gt 0 ]; then
    timeout -k 10 "$limit" "$@" >"$file" 2>&1
  else
    "$@" >"$file" 2>&1
  fi
  STAGE_RC=$?
  t1=$(date +%s)
  cat "$file" >>"$LOG"
  local what
  case $STAGE_RC in
    0) what="ok" ;;
    124|137) what="TIMED OUT after ${limit} s (GPU_CHECK_TIMEOUT_* raises it)"; echo "gpu-check: $name TIMED OUT after $limit s" | tee -a "$LOG" ;;
    *) what="FAILED (exit $STAGE_RC)" ;;
  esac
  STAGES+=("$(printf '%-10s %s, %d s' "$name" "$what" $((t1 - t0)))")
}

# log_say: a header on the terminal and in the log
log_say() { say "$*"; say "$*" >>"$LOG"; }

nvidia_info() {
  local f=$1
  log_say "nvidia-smi"
  if command -v nvidia-smi >/dev/null 2>&1; then
    run_stage "nvidia-smi" "${GPU_CHECK_TIMEOUT_SMI:-20}" "$f" bash -c \
      'nvidia-smi --query-gpu=index,name,driver_version,compute_cap,memory.total,memory.used,utilization.gpu,temperature.gpu,power.draw --format=csv; nvidia-smi | head -n 20'
    cat "$f"
  else
    echo "nvidia-smi not found (no NVIDIA driver utilities on this host)" | tee -a "$LOG"
  fi
}

# Folders holding CUDA libraries that the dynamic loader may not know: the CUDA toolkit's targets
# folder, GPU containers' driver folder, and nvidia/*/lib of Python site-packages (the nvidia-cublas
# and nvidia-curand wheels PyTorch installs keep libcublas.so.13 only there). The Java side searches
# the same places (NativeLibs); putting them on LD_LIBRARY_PATH also serves libraries loaded by name.
cuda_lib_dirs() {
  local cands=() py d
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
    cands+=("$d")
  done
  for py in python3 python; do
    command -v "$py" >/dev/null 2>&1 || continue
    while IFS= read -r d; do [ -n "$d" ] && cands+=("$d"/nvidia/*/lib); done < <(
      timeout 10 "$py" -c 'import site, sys
for p in site.getsitepackages() + [site.getusersitepackages()] + sys.path: print(p)' 2>/dev/null)
    break
  done
  for d in ${VIRTUAL_ENV:-} ${CONDA_PREFIX:-} /usr/local /usr /opt/conda; do
    cands+=("$d"/lib*/python3*/site-packages/nvidia/*/lib "$d"/lib*/python3*/dist-packages/nvidia/*/lib)
  done
  local seen=":" out=()
  for d in "${cands[@]}"; do
    [ -d "$d" ] || continue
    d=$(cd "$d" && pwd -P)
    case "$seen" in *":$d:"*) continue ;; esac
    seen="$seen$d:"
    ls "$d"/libcu*.so* >/dev/null 2>&1 && out+=("$d")
  done
  local IFS=:
  echo "${out[*]}"
}

report() {
  local trc=$1 brc=$2 summary
  summary=$(
    echo "=== gpu-check summary"
    printf '%s\n' "${STAGES[@]}"
    echo "tests: $([ "$trc" -eq 0 ] && echo passed || echo "FAILED (exit $trc)")"
    [ -n "${TESTS_LINE:-}" ] && echo "$TESTS_LINE"
    echo "bench: $([ "$brc" -eq 0 ] && echo ok || echo "FAILED (exit $brc)")"
    [ -n "$OUT" ] && echo "files: $OUT ($(cd "$OUT" && ls | tr '\n' ' '))"
  )
  if [ -n "$OUT" ]; then echo "$summary" >"$OUT/summary.txt"; echo "$summary" >>"$LOG"; fi
  printf '\n%s\n' "$summary"
  [ "$trc" -ne 0 ] && exit 1
  [ "$brc" -ne 0 ] && exit 3
  exit 0
}

# the JUnit console's final counts, in one line
junit_counts() {
  grep -E '^\[ *[0-9]+ (tests (successful|failed|aborted|skipped|found))' "$1" 2>/dev/null |
    sed -E 's/^\[ *([0-9]+) tests ([a-z]+).*/\2 \1/' | tr '\n' ' '
}

# ----------------------------------------------------------------------------------------------
normal_mode() {
  local root scratch
  root=$(cd "$here/.." && pwd)
  cd "$root" || die "cannot cd to $root"
  command -v mvn >/dev/null || die "mvn not found (use --make-bundle on a build machine and --bundle here)"
  command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || [ -n "${CUDA_HOME:-}" ] ||
    echo "gpu-check: WARNING nvcc not found: kernels will not be built and the GPU tests will fail"
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/fishleg-gpu-check.XXXXXX") || die "cannot create a scratch folder"
  trap 'rm -rf "$scratch"' EXIT
  local files=${OUT:-$scratch}
  nvidia_info "$files/nvidia-smi.txt"
  log_say "build (kernels via CMake/nvcc, forwarder via gcc)"
  mvn -B -q package -DskipTests 2>&1 | tee -a "$LOG"
  [ "${PIPESTATUS[0]}" -eq 0 ] || die "build failed"
  local cp="target/fishleg.jar:target/lib/*"
  log_say "fishleg info"
  run_stage info "${GPU_CHECK_TIMEOUT_INFO:-60}" "$files/info.txt" java -cp "$cp" org.fishleg.cli.Main info
  cat "$files/info.txt"
  log_say "test suite, GPU required (FISHLEG_REQUIRE_GPU=1)"
  FISHLEG_REQUIRE_GPU=1 run_stage tests "${GPU_CHECK_TIMEOUT_TESTS:-0}" "$files/tests.txt" mvn -B test
  local trc=$STAGE_RC
  if [ -n "$OUT" ]; then grep -E 'Tests run:|FAIL|ERROR' "$files/tests.txt" | tail -n 40; else cat "$files/tests.txt"; fi
  log_say "benchmark: bench steps --backend cuda $BENCH_ARGS"
  # shellcheck disable=SC2086
  run_stage bench "${GPU_CHECK_TIMEOUT_BENCH:-0}" "$files/bench.txt" java -cp "$cp" org.fishleg.cli.Main bench steps --backend cuda $BENCH_ARGS
  local brc=$STAGE_RC
  cat "$files/bench.txt"
  nvidia_info "$scratch/nvidia-smi-after.txt"
  rm -f "$files/nvidia-smi.txt"
  report "$trc" "$brc"
}

# ----------------------------------------------------------------------------------------------
junit_version() {
  local v
  v=$(sed -n 's:.*<junit.version>\(.*\)</junit.version>.*:\1:p' "$1/pom.xml" | head -n 1)
  case "$v" in
    5.*) echo "1.${v#5.}" ;;   # JUnit 5.X.Y ships platform 1.X.Y
    *) echo "$v" ;;            # JUnit 6: platform version = jupiter version
  esac
}

make_bundle() {
  local out=$1 root
  root=$(cd "$here/.." && pwd)
  command -v mvn >/dev/null || die "mvn not found"
  command -v jlink >/dev/null || die "jlink not found (needs a JDK)"
  mkdir -p "$out" || die "cannot create $out"
  out=$(cd "$out" && pwd)
  case "$out" in "$root"|"$root/target"*) ;; "$root"/*) die "put the bundle outside the source tree or under target/";; esac
  cd "$root" || die "cannot cd to $root"
  say "build"
  mvn -B -q -o package -DskipTests 2>/dev/null || mvn -B -q package -DskipTests || die "build failed"
  rm -rf "$out"/runtime "$out"/lib "$out"/test-classes "$out"/junit "$out"/native "$out"/tmp
  mkdir -p "$out/lib" "$out/junit" "$out/native"

  say "jlink runtime ($JLINK_MODULES)"
  jlink --add-modules "$JLINK_MODULES" --strip-debug --no-header-files --no-man-pages --compress=2 \
        --strip-native-debug-symbols exclude-debuginfo-files --output "$out/runtime" 2>/dev/null ||
    jlink --add-modules "$JLINK_MODULES" --strip-debug --no-header-files --no-man-pages --compress=2 \
          --output "$out/runtime" || die "jlink failed"
  # the JDK's native libraries keep their symbol tables (3-4 MB in libjvm.so alone)
  command -v strip >/dev/null && find "$out/runtime" -name '*.so' -exec strip --strip-unneeded {} +
  "$out/runtime/bin/java" -version >/dev/null 2>&1 || die "the jlinked runtime does not start"

  say "jars"
  cp target/fishleg.jar "$out/lib/"
  local j
  for j in target/lib/*.jar; do
    case "$(basename "$j")" in
      *-windows-*|*-macosx-*|*-linux-arm*|*-linux-ppc*|*-android-*) continue ;;   # not for a Linux x86-64 GPU host
      jfreechart-*) continue ;;   # the plots of 'bench suite' (1.6 MB); the runtime has no java.desktop to draw them anyway
      jcuda-natives-*)
        # keep the driver/runtime JNI libraries; drop NVRTC and the 24 MB nvPTXCompiler (unused)
        cp "$j" "$out/lib/"
        zip -q -d "$out/lib/$(basename "$j")" 'lib/libJNvPTXCompiler-*' 'lib/libJNvrtc-*' >/dev/null 2>&1 ||
          echo "(zip not found: jcuda-natives kept whole)"
        ;;
      *) cp "$j" "$out/lib/" ;;
    esac
  done
  cp -r target/test-classes "$out/test-classes"

  say "JUnit console"
  local jv
  jv=$(junit_version "$root")
  mvn -B -q dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$jv" \
      -DoutputDirectory="$out/junit" || die "cannot fetch junit-platform-console-standalone $jv"

  # the fatbin and the forwarder travel inside fishleg.jar; copies beside it for inspection
  if [ -f target/classes/org/fishleg/cuda/native/libcublas.so.12 ]; then
    cp target/classes/org/fishleg/cuda/native/libcublas.so.12 "$out/native/"
  else
    echo "WARNING: forwarding library not built (gcc/objdump missing): CUDA-13-only hosts cannot load cuBLAS"
  fi
  if [ -f target/classes/org/fishleg/cuda/fishleg_kernels.fatbin ]; then
    cp target/classes/org/fishleg/cuda/kernels-build-info.txt target/classes/org/fishleg/cuda/ptxas-report.txt "$out/native/"
  else
    echo "WARNING: kernels not built: $(cat target/classes/org/fishleg/cuda/kernels-not-built.txt 2>/dev/null)"
  fi
  cp "$here/gpu-check.sh" "$out/gpu-check.sh"
  chmod +x "$out/gpu-check.sh"

  say "size"
  local size
  size=$(du -sb "$out" | cut -f1)
  du -sh "$out"/* | sort -h
  awk -v s="$size" -v o="$out" 'BEGIN { printf "bundle %s: %d bytes (%.1f MiB), limit 60 MiB\n", o, s, s / 1048576 }'
  [ "$size" -le "$BUNDLE_LIMIT" ] || die "bundle is larger than 60 MiB"
  echo "run it on the GPU host:  $out/gpu-check.sh --bundle $out --out OUTDIR"
}

# ----------------------------------------------------------------------------------------------
run_bundle() {
  local dir java cp j rc_t rc_b scratch
  dir=$(cd "$1" && pwd) || die "no bundle at $1"
  java="$dir/runtime/bin/java"
  [ -x "$java" ] || die "$java missing: make the bundle with --make-bundle"
  cp=""
  for j in "$dir"/lib/*.jar; do cp="$cp${cp:+:}$j"; done
  case "${OUT:-}" in "$dir"|"$dir"/*) die "--out must be outside the bundle (it is carried; keep it unchanged)" ;; esac
  if [ -z "${FISHLEG_REQUIRE_GPU:-}" ]; then
    if command -v nvidia-smi >/dev/null 2>&1; then FISHLEG_REQUIRE_GPU=1; else FISHLEG_REQUIRE_GPU=0; fi
  fi
  export FISHLEG_REQUIRE_GPU
  # every file the JVMs write (JCuda and OpenBLAS natives, the forwarder, JUnit reports) goes here
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/fishleg-gpu-check.XXXXXX") || die "cannot create a scratch folder"
  trap 'rm -rf "$scratch"' EXIT
  local files=${OUT:-$scratch}
  local jopts=(-Djava.io.tmpdir="$scratch" -Dorg.bytedeco.javacpp.cachedir="$scratch/javacpp" -Duser.home="$scratch")

  nvidia_info "$files/nvidia-smi.txt"
  local extra
  extra=$(cuda_lib_dirs)
  if [ -n "$extra" ]; then
    export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$extra"
    echo "CUDA library folders added to LD_LIBRARY_PATH: $extra" | tee -a "$LOG"
  else
    echo "no CUDA library folders found outside the loader's own search (LD_LIBRARY_PATH unchanged)" | tee -a "$LOG"
  fi

  log_say "fishleg info"
  run_stage info "${GPU_CHECK_TIMEOUT_INFO:-60}" "$files/info.txt" "$java" "${jopts[@]}" -cp "$cp" org.fishleg.cli.Main info
  cat "$files/info.txt"

  log_say "GPU suite (FISHLEG_REQUIRE_GPU=$FISHLEG_REQUIRE_GPU)"
  local select=(--include-classname '^org\.fishleg\.backend\..*Tests?$' --include-classname '^.*(Cuda|Gpu|StepGraphs).*Tests?$')
  [ "${GPU_CHECK_TESTS:-}" = all ] && select=()
  run_stage tests "${GPU_CHECK_TIMEOUT_TESTS:-240}" "$files/tests.txt" bash -c 'cd "$1" && shift && exec "$@"' _ "$scratch" \
      "$java" -Xmx8g "${jopts[@]}" -jar "$(ls "$dir"/junit/junit-platform-console-standalone-*.jar | head -n 1)" \
      execute --disable-banner --details=tree --disable-ansi-colors \
      --class-path "$dir/test-classes:$cp" --scan-classpath "$dir/test-classes" "${select[@]}"
  rc_t=$STAGE_RC
  TESTS_LINE="test counts: $(junit_counts "$files/tests.txt")"
  [ "$TESTS_LINE" = "test counts: " ] && TESTS_LINE="test counts: none (the test run did not finish; see tests.txt)"
  if [ -n "$OUT" ]; then
    # the terminal gets the skips, failures and counts; the tree is in tests.txt
    grep -E 'GPU suite skipped|FISHLEG_REQUIRE_GPU|✘|\[X\]|Failures \(|=> |^\[ *[0-9]+ ' "$files/tests.txt" | head -n 80
  else
    cat "$files/tests.txt"
  fi

  log_say "benchmark: bench steps --backend cuda $BENCH_ARGS"
  # shellcheck disable=SC2086
  run_stage bench "${GPU_CHECK_TIMEOUT_BENCH:-130}" "$files/bench.txt" "$java" -Xmx8g "${jopts[@]}" -cp "$cp" \
      org.fishleg.cli.Main bench steps --backend cuda $BENCH_ARGS
  rc_b=$STAGE_RC
  cat "$files/bench.txt"
  nvidia_info "$scratch/nvidia-smi-after.txt"
  [ -n "$OUT" ] && rm -f "$OUT/nvidia-smi.txt"
  report "$rc_t" "$rc_b"
}

# options: a mode, then --out DIR anywhere after it
mode=""
case "${1:-}" in --make-bundle|--bundle|-h|--help) mode=$1; shift ;; esac
arg=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || die "--out needs a folder"; OUT=$2; shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$arg" ] || die "one folder only (see --help)"; arg=$1; shift ;;
  esac
done
if [ -n "$OUT" ]; then
  mkdir -p "$OUT" || die "cannot create $OUT"
  OUT=$(cd "$OUT" && pwd)
  LOG="$OUT/gpu-check.log"
  : >"$LOG"
fi
case "$mode" in
  --make-bundle) [ -n "$arg" ] || die "usage: $0 --make-bundle DIR"; make_bundle "$arg" ;;
  --bundle) [ -n "$arg" ] || die "usage: $0 --bundle DIR [--out OUT]"; run_bundle "$arg" ;;
  -h|--help) sed -n '2,33p' "$0" ;;
  "") [ -z "$arg" ] || die "unknown argument $arg (see --help)"; normal_mode ;;
  *) die "unknown argument $mode (see --help)" ;;
esac
