#!/usr/bin/env bash
# The repro ctest: a planted crash input becomes a scenario that reproduces it over sockets.
#
# usage: repro_test.sh LIFECHECK REFERENCE SEEDS_TOOL LIFECYCLE_REPLAY WORK_DIR
# 1. encodes fuzz/testdata/planted-preserialization-string.json as a lifecycle fuzz input;
# 2. the lifecycle fuzz body must pass it on the plain engine and abort with "SUT FAULT" when
#    the engine has the seeded fault preserialization-for-string ($LIFECHECK_FUZZ_FAULTS), its
#    report saying that real Fastify does not share it (or, without node, why it was not
#    replayed; LIFECHECK_FUZZ_FASTIFY=off turns the replay off);
# 3. `lifecheck repro` must turn it into a scenario that passes on the reference and fails on
#    `lifecheck-reference --faults preserialization-for-string` (exit 1);
# 4. `lifecheck run` on that scenario file must agree: 0 on the reference, 1 with the fault.
set -uo pipefail
[[ $# -eq 5 ]] || { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 2; }
lifecheck=$1 reference=$2 seeds=$3 replay=$4 work=$5
here=$(cd "$(dirname "$0")" && pwd)
fault=preserialization-for-string
fail() { echo "repro_test: FAIL: $*" >&2; exit 1; }

rm -rf "$work"; mkdir -p "$work/input"
"$seeds" lifecycle "$work/input" "$here/testdata/planted-preserialization-string.json" || fail "no seed"
input=$(find "$work/input" -type f | head -1)
cp "$input" "$work/crash-planted"; input=$work/crash-planted

"$replay" "$input" >"$work/plain.log" 2>&1 || fail "the input fails without the fault: $(cat "$work/plain.log")"
LIFECHECK_FUZZ_FAULTS=$fault "$replay" "$input" >"$work/planted.log" 2>&1 && fail "the planted fault was not caught"
grep -q "lifecheck-fuzz: SUT FAULT" "$work/planted.log" || fail "no SUT FAULT line: $(head -5 "$work/planted.log")"
# The fault report says whom the fault is about: real Fastify replays the scenario and does not
# share the planted fault (a finding about the reference); without node it says why not.
if command -v node >/dev/null && [[ -f $here/../server_under_test/fastify/node_modules/fastify/package.json ]]; then
    grep -q "^lifecheck-fuzz: real Fastify (fastify [0-9.]*, replayed over sockets): does not share the fault: a finding about the reference" \
        "$work/planted.log" || fail "no verdict on real Fastify: $(grep -A3 'real Fastify' "$work/planted.log")"
else
    grep -q "^lifecheck-fuzz: real Fastify: not replayed" "$work/planted.log" ||
        fail "no word on real Fastify: $(head -8 "$work/planted.log")"
fi
LIFECHECK_FUZZ_FASTIFY=off LIFECHECK_FUZZ_FAULTS=$fault "$replay" "$input" >"$work/planted-off.log" 2>&1
grep -q "^lifecheck-fuzz: real Fastify: not replayed: LIFECHECK_FUZZ_FASTIFY=off" "$work/planted-off.log" ||
    fail "LIFECHECK_FUZZ_FASTIFY=off did not stop the replay: $(head -8 "$work/planted-off.log")"

"$lifecheck" repro --fuzzer lifecycle --no-minimize --out "$work/repro" \
    --target "$reference --faults $fault" "$input" >"$work/repro.log" 2>&1
code=$?
cat "$work/repro.log"
[[ $code -eq 1 ]] || fail "lifecheck repro exited $code, expected 1 (reproduced)"
grep -q "^pass  reference" "$work/repro.log" || fail "the scenario does not pass on the reference"
grep -q "^fail  .*--faults $fault" "$work/repro.log" || fail "the scenario does not fail with the fault"
scenario=$(find "$work/repro" -name 'fuzz-*-lifecycle.json' | head -1)
[[ -n $scenario ]] || fail "no scenario written"
ls "$work/repro"/fuzz-*-lifecycle.md >/dev/null || fail "no report written"

"$lifecheck" run --target reference --json "$work/run/ok.json" --junit "$work/run/ok.xml" "$scenario" \
    >"$work/run-ok.log" 2>&1 || fail "lifecheck run fails on the reference: $(cat "$work/run-ok.log")"
"$lifecheck" run --target "$reference --faults $fault" --json "$work/run/bad.json" --junit "$work/run/bad.xml" \
    "$scenario" >"$work/run-bad.log" 2>&1
code=$?
[[ $code -eq 1 ]] || fail "lifecheck run with the fault exited $code, expected 1: $(cat "$work/run-bad.log")"
echo "repro_test: the planted crash reproduces from $scenario"
