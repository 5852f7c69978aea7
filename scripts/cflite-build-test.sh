#!/usr/bin/env bash
# Runs .clusterfuzzlite/build.sh with the environment ClusterFuzzLite's build image gives it (clang,
# ASan + fuzzer-no-link flags, $LIB_FUZZING_ENGINE, $OUT, $SRC, $WORK), then checks what a
# ClusterFuzzLite run needs: the three fuzzers in $OUT, ASan-instrumented, each with its seed
# corpus zip, and each running a few hundred inputs of its seeds without a crash.
# A first run builds everything (about 15 min on 2 shared cores); a second one with the same
# WORK_DIR only relinks what changed. CMAKE_CXX_COMPILER_LAUNCHER=ccache is passed on when set.
#
# usage: scripts/cflite-build-test.sh WORK_DIR [RUNS]   ($OUT is WORK_DIR/out; RUNS default 200)
set -uo pipefail
if [[ $# -lt 1 || $1 == -* ]]; then
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1" && work=$(cd "$1" && pwd)
runs=${2:-200}
fail() { echo "cflite-build-test: FAIL: $*" >&2; exit 1; }

export CC=clang CXX=clang++
export CFLAGS="-fsanitize=fuzzer-no-link,address" CXXFLAGS="-fsanitize=fuzzer-no-link,address"
export LIB_FUZZING_ENGINE=-fsanitize=fuzzer
SRC=$(dirname "$root")
export OUT=$work/out SRC WORK=$work/work
rm -rf "$OUT" && mkdir -p "$OUT" "$WORK"
started=$SECONDS
(cd "$root" && ./.clusterfuzzlite/build.sh)
code=$?
[[ $code -eq 0 ]] || fail "build.sh exited $code"
echo "cflite-build-test: build.sh took $((SECONDS - started)) s"

for target in http_bytes lifecycle scenario_loader; do
    fuzzer=$OUT/lifecheck_fuzz_$target
    [[ -x $fuzzer ]] || fail "no $fuzzer"
    [[ $(nm "$fuzzer" | grep -c __asan_init) -gt 0 ]] || fail "$fuzzer is not ASan-instrumented"
    [[ -f ${fuzzer}_seed_corpus.zip ]] || fail "no ${fuzzer}_seed_corpus.zip"
    seeds=$work/seeds/$target
    rm -rf "$seeds" && mkdir -p "$seeds"
    unzip -q "${fuzzer}_seed_corpus.zip" -d "$seeds" || fail "bad ${fuzzer}_seed_corpus.zip"
    count=$(find "$seeds" -type f | wc -l)
    [[ $count -gt 0 ]] || fail "$target: empty seed corpus"
    dict=()
    [[ -f $fuzzer.dict ]] && dict=("-dict=$fuzzer.dict")
    # Fuzzing from a copy of the seeds, as run_fuzzers does: the zip's corpus stays as built.
    mkdir -p "$work/corpus/$target"
    log=$work/$target.log
    (cd "$work" && "$fuzzer" -runs="$runs" -seed=1 "${dict[@]}" "$work/corpus/$target" "$seeds") \
        >"$log" 2>&1
    code=$?
    [[ $code -eq 0 ]] || { tail -n 30 "$log" >&2; fail "$target exited $code on its seeds (log: $log)"; }
    echo "cflite-build-test: $target: $count seeds, $(grep -Eo 'Done [0-9]+ runs' "$log" || echo "?") exit 0"
done
echo "cflite-build-test: 3 fuzzers in $OUT built and run; ok"
