#!/usr/bin/env bash
# Measures exec/s of every fuzz target, with and without sanitizers (libFuzzer, one process).
#
# usage: bench/fuzz.sh [SECONDS] [--san-build DIR] [--nosan-build DIR] [--targets "A B"]
#   SECONDS        run time per target and build (default 60)
#   --san-build    libFuzzer + ASan+UBSan build (default build/fuzz, the `fuzz` preset)
#   --nosan-build  libFuzzer without sanitizers (default build/fuzz-nosan, the `fuzz-nosan` preset)
# Missing build folders are configured with those presets' options. Each run starts from the
# target's seeds (fuzz/make_seeds.sh; scenarios/ for scenario_loader) with an empty working corpus,
# so runs are comparable. Prints one line per target and build: executions, seconds, exec/s.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
seconds=60; san=$root/build/fuzz; nosan=$root/build/fuzz-nosan
targets="http_bytes lifecycle scenario_loader"
while [[ $# -gt 0 ]]; do
    case $1 in
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        --san-build) san=${2:?}; shift 2 ;;
        --nosan-build) nosan=${2:?}; shift 2 ;;
        --targets) targets=${2:?}; shift 2 ;;
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
configure "$san" 'address;undefined'
configure "$nosan" ''
# Seeds once, from the sanitizer build (the seed tool does not link without a sanitizer runtime).
"$root/fuzz/make_seeds.sh" --build "$san" >/dev/null

printf '%-16s %-12s %12s %8s %10s\n' target build executions seconds exec/s
for t in $targets; do
    case $t in scenario_loader) seeds=$root/scenarios ;; *) seeds=$san/fuzz/seeds/$t ;; esac
    for b in "$san" "$nosan"; do
        kind=asan+ubsan; [[ $b == "$nosan" ]] && kind=none
        cmake --build "$b" --target "lifecheck_fuzz_$t" -j2 >/dev/null
        work=$(mktemp -d)
        dict=(); [[ -f $root/fuzz/dict/$t.dict ]] && dict=("-dict=$root/fuzz/dict/$t.dict")
        "$b/fuzz/lifecheck_fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -close_fd_mask=2 \
            -max_len=4096 "${dict[@]}" -artifact_prefix="$work/" "$work" "$seeds" >"$work/log" 2>&1 || true
        runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$work/log" | tail -1)
        took=$(sed -nE 's/^Done [0-9]+ runs in ([0-9]+) second.*/\1/p' "$work/log" | tail -1)
        took=${took:-$seconds}; runs=${runs:-0}
        printf '%-16s %-12s %12s %8s %10s\n' "$t" "$kind" "$runs" "$took" "$(( runs / (took > 0 ? took : 1) ))"
        rm -rf "$work"
    done
done
