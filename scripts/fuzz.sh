#!/usr/bin/env bash
# Fuzzes the file readers (IDX images, IDX labels, MAT v5, checkpoint raw and resealed) with Jazzer and prints,
# per target, the executions, the time and the findings.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      SECONDS per target (default 60); TARGET as in the table below
#
# Each target starts from its seed corpus and kept findings (tests/resources/.../CLASSInputs/METHOD/) plus what
# earlier runs of this script found interesting (target/fuzz/corpus/TARGET, kept between runs). A finding (any
# exception other than the reader's one-line DataException/CheckpointException, an OutOfMemoryError, a hang of
# more than 10 s) stops that target and is written to target/fuzz/findings/TARGET/; add it to the target's
# inputs folder as finding-WHAT once the reader is fixed, so that plain `mvn test` replays it from then on.
# Exit code: 0 without findings, 1 with findings, 2 when the build or the fuzzer itself fails.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-60}
shift || true
ALL=(data.DataReadersFuzzTest#idxImages data.DataReadersFuzzTest#idxLabels data.DataReadersFuzzTest#matV5
     train.CheckpointFuzzTest#raw train.CheckpointFuzzTest#resealed)
[[ $# -gt 0 ]] && TARGETS=("$@") || TARGETS=("${ALL[@]}")

if ! [[ $SECONDS_PER_TARGET =~ ^[0-9]+$ ]] || (( SECONDS_PER_TARGET < 1 )); then
  echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (SECONDS a positive integer, per target)" >&2
  exit 2
fi

echo "== build (test classes and the test class path)"
mvn -B -q test-compile dependency:build-classpath -Dmdep.outputFile=target/fuzz/classpath.txt -Dmdep.includeScope=test \
  || { echo "fuzz: build failed" >&2; exit 2; }
CP="target/test-classes:target/classes:$(cat target/fuzz/classpath.txt)"
mkdir -p target/tmp

total_findings=0
declare -a ROWS
for t in "${TARGETS[@]}"; do
  cls="org.fishleg.${t%#*}"; method="${t#*#}"; simple="${cls##*.}"; pkg="${cls%.*}"
  name="$simple.$method"
  seeds="tests/resources/${pkg//.//}/${simple}Inputs/$method"
  [[ -d $seeds ]] || { echo "fuzz: unknown target $t (no folder $seeds)" >&2; exit 2; }
  corpus="target/fuzz/corpus/$name"; findings="target/fuzz/findings/$name"; log="target/fuzz/$name.log"
  mkdir -p "$corpus" "$findings"
  before=$(find "$findings" -type f | wc -l)
  echo "== $name: $SECONDS_PER_TARGET s"
  set +e
  # the readers' packages only are instrumented; -timeout: one input taking longer is a hang (a finding)
  java -Xmx2g -Djava.io.tmpdir=target/tmp -cp "$CP" com.code_intelligence.jazzer.Jazzer \
    --target_class="$cls" --target_method="$method" \
    --instrumentation_includes='org.fishleg.data.**:org.fishleg.train.**:org.fishleg.nn.**' \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=3072 -artifact_prefix="$findings/" \
    "$corpus" "$seeds" > "$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -Eo '^Done [0-9]+ runs in [0-9]+ second' "$log" | awk '{print $2}' | tail -1)
  secs=$(grep -Eo '^Done [0-9]+ runs in [0-9]+ second' "$log" | awk '{print $5}' | tail -1)
  if [[ -z $runs ]]; then  # stopped by a finding: the last status line has the count
    runs=$(grep -Eo '^#[0-9]+' "$log" | tail -1 | tr -d '#'); secs="-"
  fi
  after=$(find "$findings" -type f | wc -l)
  new=$((after - before))
  if (( rc != 0 && new == 0 )); then
    echo "fuzz: $name: the fuzzer failed (exit $rc) without a finding; last lines of $log:" >&2
    tail -20 "$log" >&2
    exit 2
  fi
  total_findings=$((total_findings + new))
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  ROWS+=("$(printf '%-34s %12s %8s %6s %9s' "$name" "${runs:-0}" "${secs}" "${cov:-?}" "$new")")
  if (( new > 0 )); then
    echo "   FINDING(S) in $findings:"
    grep -E '^(== Java Exception|Caused by|\s+at org\.fishleg)' "$log" | head -8 | sed 's/^/   /'
  fi
done

echo
printf '%-34s %12s %8s %6s %9s\n' target executions seconds cov findings
printf '%s\n' "${ROWS[@]}"
echo "corpora: target/fuzz/corpus/; logs: target/fuzz/*.log; findings: target/fuzz/findings/"
(( total_findings == 0 )) || { echo "fuzz: $total_findings finding(s)"; exit 1; }
echo "fuzz: no findings"
