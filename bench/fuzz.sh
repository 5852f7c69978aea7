#!/usr/bin/env bash
# Measures exec/s of every fuzz target, with and without sanitizers (libFuzzer, one process).
#
# usage: bench/fuzz.sh [SECONDS] [--san-build DIR] [--nosan-build DIR] [--targets "A B"]
#                      [--builds "san nosan"] [--corpus DIR]
#   SECONDS        run time per target and build (default 60)
#   --san-build    libFuzzer + ASan+UBSan build (default build/fuzz, the `fuzz` preset)
#   --nosan-build  libFuzzer without sanitizers (default build/fuzz-nosan, the `fuzz-nosan` preset)
#   --builds       which of the two to measure (default both; `nosan` alone skips the slow ASan build)
#   --corpus DIR   also start from DIR/TARGET (e.g. a grown corpus), read-only
# Missing build folders are configured with those presets' options. Each run starts from the
# target's seeds (fuzz/make_seeds.sh; scenarios/ for scenario_loader), fuzz/corpus/TARGET and
# fuzz/regressions/TARGET with an empty working corpus and -seed=1, so runs are comparable. Prints
# one line per target and build: executions, seconds, exec/s and how many runs ended in a crash
# (the fuzzer is restarted until SECONDS are used; inputs kept).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
seconds=60; san=$root/build/fuzz; nosan=$root/build/fuzz-nosan
targets="http_bytes lifecycle scenario_loader"; builds="san nosan"; extra=""
while [[ $# -gt 0 ]]; do
    case $1 in
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        --san-build) san=${2:?}; shift 2 ;;
        --nosan-build) nosan=${2:?}; shift 2 ;;
        --targets) targets=${2:?}; shift 2 ;;
        --builds) builds=${2:?}; shift 2 ;;
        --corpus) extra=$(realpath "${2:?}"); shift 2 ;;
        [0-9]*) seconds=$1; shift ;;
        *) echo "bench/fuzz.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
san=$(realpath -m "$san"); nosan=$(realpath -m "$nosan")

configure() { # DIR SANITIZE
    [[ -f $1/CMakeCache.txt ]] && return 0
    cmake -S "$root" -B "$1" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DLIFECHECK_SANITIZE="$2" -DLIFECHECK_FUZZ=ON -DLIFECHECK_BUILD_TESTS=OFF >/dev/null
}
dirs=()
for k in $builds; do
    case $k in
        san) configure "$san" 'address;undefined'; dirs+=("$san") ;;
        nosan) configure "$nosan" ''; dirs+=("$nosan") ;;
        *) echo "bench/fuzz.sh: --builds takes san and/or nosan, not $k" >&2; exit 2 ;;
    esac
done
# Seeds once, from the first build measured.
seed_build=${dirs[0]}
"$root/fuzz/make_seeds.sh" --build "$seed_build" >/dev/null

printf '%-16s %-12s %12s %8s %10s %8s %8s %8s\n' target build executions seconds exec/s crashes cov ft
crash_dir=$(mktemp -d -t fuzz-bench-crashes-XXXXXX)
for t in $targets; do
    case $t in scenario_loader) seeds=("$root/scenarios") ;; *) seeds=("$seed_build/fuzz/seeds/$t") ;; esac
    for d in "$root/fuzz/corpus/$t" "$root/fuzz/regressions/$t" "$extra/$t"; do
        [[ -d $d ]] && seeds+=("$d")
    done
    for b in "${dirs[@]}"; do
        kind=asan+ubsan; [[ $b == "$nosan" ]] && kind=none
        cmake --build "$b" --target "lifecheck_fuzz_$t" -j2 >/dev/null
        work=$(mktemp -d); mkdir "$work/corpus"
        dict=(); [[ -f $root/fuzz/dict/$t.dict ]] && dict=("-dict=$root/fuzz/dict/$t.dict")
        # One process at a time; a crash (a known open finding) ends a run early, so the fuzzer
        # restarts on the corpus it built until SECONDS are used up. exec/s = all executions /
        # wall time of all runs (restarts' seed loading included). Crash inputs are kept.
        runs=0; crashes=0; start=$(date +%s.%N); left=$seconds
        while (( left > 0 )); do
            "$b/fuzz/lifecheck_fuzz_$t" -max_total_time="$left" -print_final_stats=1 -close_fd_mask=2 \
                -seed=1 -max_len=4096 "${dict[@]}" -artifact_prefix="$crash_dir/$t-$kind-" "$work/corpus" \
                "${seeds[@]}" \
                >"$work/log" 2>&1 || true
            n=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$work/log" | tail -1)
            runs=$((runs + ${n:-0}))
            grep -q '^Done [0-9]* runs' "$work/log" || crashes=$((crashes + 1))
            left=$(awk -v s="$start" -v n="$(date +%s.%N)" -v t="$seconds" 'BEGIN { printf "%d", t - (n - s) }')
        done
        last=$(grep -E '^#[0-9]+.*cov: ' "$work/log" | tail -1 || true)
        cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$last"); ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$last")
        took=$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }')
        printf '%-16s %-12s %12s %8s %10s %8s %8s %8s\n' "$t" "$kind" "$runs" "$took" \
            "$(awk -v r="$runs" -v t="$took" 'BEGIN { printf "%d", r / (t > 0 ? t : 1) }')" "$crashes" \
            "${cov:-?}" "${ft:-?}"
        rm -rf "$work"
    done
done
if [[ -n $(ls -A "$crash_dir") ]]; then
    echo "crash inputs (open findings; see fuzz/README.md for lifecheck repro): $crash_dir"
else
    rmdir "$crash_dir"
fi
