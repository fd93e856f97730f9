#!/usr/bin/env bash
# Memory soak (docs/BENCHMARKS.md): trains a small model for 1e5 steps on the CPU backend (or --backend cuda)
# and prints the JVM heap after GC, resident memory and backend bytes every 2000 steps, then a verdict.
#   scripts/soak.sh [fishleg bench soak options]     e.g. scripts/soak.sh --steps 20000 --every 500
# Exit code 0 when memory stays flat, 1 when a measure grows past its tolerance.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'), $(nproc) cores; commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
exec ./fishleg bench soak "$@"
