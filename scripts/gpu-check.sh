#!/usr/bin/env bash
# GPU check of the FishLeg CUDA backend (docs/GPU.md).
#
#   scripts/gpu-check.sh                     on an NVIDIA host with JDK 17+, Maven (and nvcc for the
#                                            kernels): builds, runs the whole test suite with the GPU
#                                            REQUIRED (FISHLEG_REQUIRE_GPU=1), prints `fishleg info`,
#                                            a benchmark table and nvidia-smi.
#   scripts/gpu-check.sh --make-bundle DIR   on any Linux x86-64 machine with a JDK and Maven: builds a
#                                            self-contained folder (< 64 MiB): jlink runtime, project
#                                            and dependency jars, compiled tests, JUnit console,
#                                            kernels fatbin and libcublas.so.12 forwarder (in the jar).
#   scripts/gpu-check.sh --bundle DIR        runs the GPU suite + bench from such a folder on a host
#                                            with only the NVIDIA driver and CUDA libraries (e.g. CUDA 13
#                                            only): no JDK, Maven or network needed.
#
# Environment: FISHLEG_REQUIRE_GPU (normal mode: forced to 1; bundle mode: default 1 when nvidia-smi
# exists, else 0 so GPU tests skip), GPU_CHECK_TESTS=all (bundle mode: every test, not only the
# backend/CUDA ones), GPU_CHECK_BENCH_ARGS (default: both batch sizes, momentum and FishLeg in both orderings with the OCaml and JAX settings), FISHLEG_CUBLAS13_PATH.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUNDLE_LIMIT=$((64 * 1024 * 1024))
BENCH_ARGS=${GPU_CHECK_BENCH_ARGS:---batch-sizes 100,1000 --optimizers momentum,fishleg-g@ocaml-mnist,fishleg-qg@ocaml-mnist,fishleg-g@jax-mnist,fishleg-qg@jax-mnist}
# JDK modules: what jdeps reports for the jars (java.base, java.logging for JCuda, jdk.unsupported for
# JavaCPP) plus java.management; picocli needs only java.base. java.desktop (plots) and java.sql
# (JUnit CSV sources) are left out: the GPU suite and the bench use neither.
JLINK_MODULES=java.base,java.logging,java.management,jdk.unsupported

say() { printf '\n=== %s\n' "$*"; }
die() { echo "gpu-check: $*" >&2; exit 2; }

nvidia_info() {
  say "nvidia-smi"
  if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=index,name,driver_version,compute_cap,memory.total,memory.used,utilization.gpu,temperature.gpu,power.draw \
      --format=csv 2>&1 || true
    nvidia-smi 2>&1 | head -n 20 || true
  else
    echo "nvidia-smi not found (no NVIDIA driver utilities on this host)"
  fi
}

# ----------------------------------------------------------------------------------------------
normal_mode() {
  local root
  root=$(cd "$here/.." && pwd)
  cd "$root" || die "cannot cd to $root"
  command -v mvn >/dev/null || die "mvn not found (use --make-bundle on a build machine and --bundle here)"
  command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || [ -n "${CUDA_HOME:-}" ] ||
    echo "gpu-check: WARNING nvcc not found: kernels will not be built and the GPU tests will fail"
  nvidia_info
  say "build (kernels via CMake/nvcc, forwarder via gcc)"
  mvn -B -q package -DskipTests || die "build failed"
  local cp="target/fishleg.jar:target/lib/*"
  say "fishleg info"
  java -cp "$cp" org.fishleg.cli.Main info 2>&1 || echo "(info command failed or not available)"
  say "test suite, GPU required (FISHLEG_REQUIRE_GPU=1)"
  FISHLEG_REQUIRE_GPU=1 mvn -B test
  local trc=$?
  say "benchmark: bench steps --backend cuda $BENCH_ARGS"
  # shellcheck disable=SC2086
  java -cp "$cp" org.fishleg.cli.Main bench steps --backend cuda $BENCH_ARGS
  local brc=$?
  nvidia_info
  report "$trc" "$brc"
}

report() {
  say "result"
  echo "tests: $([ "$1" -eq 0 ] && echo passed || echo "FAILED (exit $1)")"
  echo "bench: $([ "$2" -eq 0 ] && echo ok || echo "FAILED (exit $2)")"
  [ "$1" -ne 0 ] && exit 1
  [ "$2" -ne 0 ] && exit 3
  exit 0
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
  awk -v s="$size" -v o="$out" 'BEGIN { printf "bundle %s: %d bytes (%.1f MiB), limit 64 MiB\n", o, s, s / 1048576 }'
  [ "$size" -le "$BUNDLE_LIMIT" ] || die "bundle is larger than 64 MiB"
  echo "run it on the GPU host:  $out/gpu-check.sh --bundle $out"
}

# ----------------------------------------------------------------------------------------------
run_bundle() {
  local dir java cp j rc_t rc_b
  dir=$(cd "$1" && pwd) || die "no bundle at $1"
  java="$dir/runtime/bin/java"
  [ -x "$java" ] || die "$java missing: make the bundle with --make-bundle"
  cp=""
  for j in "$dir"/lib/*.jar; do cp="$cp${cp:+:}$j"; done
  if [ -z "${FISHLEG_REQUIRE_GPU:-}" ]; then
    if command -v nvidia-smi >/dev/null 2>&1; then FISHLEG_REQUIRE_GPU=1; else FISHLEG_REQUIRE_GPU=0; fi
  fi
  export FISHLEG_REQUIRE_GPU
  local tmp="$dir/tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  nvidia_info
  say "fishleg info"
  "$java" -Djava.io.tmpdir="$tmp" -cp "$cp" org.fishleg.cli.Main info 2>&1 || echo "(info command failed or not available)"

  say "GPU suite (FISHLEG_REQUIRE_GPU=$FISHLEG_REQUIRE_GPU)"
  local select=(--include-classname '^org\.fishleg\.backend\..*Tests?$' --include-classname '^.*(Cuda|Gpu|StepGraphs).*Tests?$')
  [ "${GPU_CHECK_TESTS:-}" = all ] && select=()
  ( cd "$dir" && "$java" -Xmx8g -Djava.io.tmpdir="$tmp" -jar "$dir"/junit/junit-platform-console-standalone-*.jar \
      execute --disable-banner --details=tree --disable-ansi-colors \
      --class-path "$dir/test-classes:$cp" --scan-classpath "$dir/test-classes" "${select[@]}" )
  rc_t=$?

  say "benchmark: bench steps --backend cuda $BENCH_ARGS"
  # shellcheck disable=SC2086
  "$java" -Xmx8g -Djava.io.tmpdir="$tmp" -cp "$cp" org.fishleg.cli.Main bench steps --backend cuda $BENCH_ARGS
  rc_b=$?
  nvidia_info
  report "$rc_t" "$rc_b"
}

case "${1:-}" in
  --make-bundle) [ $# -eq 2 ] || die "usage: $0 --make-bundle DIR"; make_bundle "$2" ;;
  --bundle) [ $# -eq 2 ] || die "usage: $0 --bundle DIR"; run_bundle "$2" ;;
  -h|--help) sed -n '2,22p' "$0" ;;
  "") normal_mode ;;
  *) die "unknown argument $1 (see --help)" ;;
esac
