#!/usr/bin/env bash
# Builds the forwarding library libcublas.so.12 (soname libcublas.so.12) with plain gcc.
#
#   build.sh LIBJCUBLAS2_SO OUTDIR      -> OUTDIR/libcublas.so.12 (+ generated sources)
#
# Needs gcc and objdump (binutils); no CUDA. Called by Maven (antrun execution "cublas-forward")
# with the JCublas2 library unpacked from the jcublas-natives jar.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lib=${1:?usage: build.sh LIBJCUBLAS2_SO OUTDIR}
out=${2:?usage: build.sh LIBJCUBLAS2_SO OUTDIR}
mkdir -p "$out"
"$here/generate.sh" "$lib" "$out"
gcc -shared -fPIC -O2 -Wall -Wextra -Werror \
    -Wl,-soname,libcublas.so.12 -Wl,--version-script="$out/libcublas.map" -Wl,-z,noexecstack \
    -I"$out" -o "$out/libcublas.so.12.tmp" "$here/forward.c" "$out/trampolines.S" -Wl,--no-as-needed -ldl
mv "$out/libcublas.so.12.tmp" "$out/libcublas.so.12"
echo "build.sh: $out/libcublas.so.12"
