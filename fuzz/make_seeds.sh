#!/usr/bin/env bash
# Generates the seed corpora of the fuzz targets from scenarios/ (nothing binary is committed).
#
# usage: fuzz/make_seeds.sh [--build DIR] [TARGET...]
#   TARGET: http_bytes, lifecycle (default: both). Seeds go to DIR/fuzz/seeds/TARGET, the folders
#   the replay tests and fuzz/campaign.sh read. DIR defaults to build/fuzz. scenario_loader
#   needs none: scenarios/ itself is its seed corpus.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=$root/build/fuzz
targets=()
while [[ $# -gt 0 ]]; do
    case $1 in
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        --build) build=${2:?--build needs a folder}; shift 2 ;;
        --build=*) build=${1#--build=}; shift ;;
        -*) echo "make_seeds.sh: unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
build=$(realpath -m "$build")
[[ ${#targets[@]} -gt 0 ]] || targets=(http_bytes lifecycle)
if [[ ! -f $build/CMakeCache.txt ]]; then
    echo "make_seeds.sh: $build is not configured (cmake --preset fuzz, or pass --build)" >&2
    exit 2
fi
if ! out=$(cmake --build "$build" --target lifecheck_fuzz_seeds -j2 2>&1); then
    printf '%s\n' "$out" | tail -40 >&2
    echo "make_seeds.sh: building lifecheck_fuzz_seeds in $build failed (output above)" >&2
    exit 3
fi
for t in "${targets[@]}"; do
    case $t in
        http_bytes|lifecycle) ;;
        *) echo "make_seeds.sh: no derived seeds for '$t' (http_bytes, lifecycle)" >&2; exit 2 ;;
    esac
    "$build/fuzz/lifecheck_fuzz_seeds" "$t" "$build/fuzz/seeds/$t" "$root/scenarios" || {
        echo "make_seeds.sh: lifecheck_fuzz_seeds $t failed (exit $?, output above)" >&2
        exit 3
    }
done
