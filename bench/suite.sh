#!/usr/bin/env bash
# bench/suite.sh — wall time of the full scripted corpus against each target, and generated
# property cases per second in-process and over sockets.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/suite.sh [--jobs N] [--targets "reference fastify koa"] [--cases N] [--prop-only]

Runs `lifecheck run --target T -j N scenarios/fastify` (scenarios/koa for koa) once per target
and prints the wall time; then all of scenarios/ on the reference at -j N, 8, 12 and 16; then `lifecheck prop` for N cases in-process and over sockets on
the reference and on real Fastify at -j 1 and -j N (when this build has the prop command) and
prints cases per second. Prints figures only.

options:
  --jobs N        scenarios at once (default 2)
  --targets LIST  targets to time (default "reference fastify koa")
  --cases N       property cases per prop figure (default 2000 in-process, N/2 over sockets)
  --prop-only     only the prop figures (no corpus runs)
  -h, --help      show this help
EOF
}

jobs=2 targets="reference fastify koa" cases=2000 corpus=1
while [ $# -gt 0 ]; do
    case $1 in
    --jobs) jobs=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    --prop-only) corpus=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench/suite.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done

source "$(dirname "$0")/lib.sh"
build_release lifecheck lifecheck-reference
lc=$bench_build/lifecheck
echo "bench/suite.sh: $(nproc) cores, -j $jobs, $(date -u +%Y-%m-%dT%H:%MZ)"

seconds() { # CMD...: wall seconds of CMD, its output thrown away
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'
}

[ "$corpus" = 1 ] || targets=""
for t in $targets; do
    dir=$bench_root/scenarios/fastify
    [ "$t" = koa ] && dir=$bench_root/scenarios/koa
    n=$(find "$dir" -name '*.json' | wc -l)
    s=$(seconds "$lc" run --target "$t" -j "$jobs" --junit "$bench_tmp/j.xml" --json "$bench_tmp/r.json" "$dir")
    printf 'corpus %-10s %4d scenarios  %6s s\n' "$t" "$n" "$s"
done
# Both dialects against the reference in one run (what the README's main job runs, -j 12).
# The corpus waits (quiet windows, timeouts, client delays) far more than it computes, so more
# scenarios at once than cores pays: one small reference process per job.
n=$(find "$bench_root/scenarios" -name '*.json' | wc -l)
corpus_jobs="$jobs 8 12 16"
[ "$corpus" = 1 ] || corpus_jobs=""
for j in $corpus_jobs; do
    s=$(seconds "$lc" run --target reference -j "$j" --junit "$bench_tmp/j.xml" --json "$bench_tmp/r.json" "$bench_root/scenarios")
    printf 'corpus %-10s %4d scenarios  %6s s  -j %-3s (all of scenarios/, target < 10 s)\n' all-reference "$n" "$s" "$j"
done

if "$lc" prop --help >/dev/null 2>&1; then
    # prop prints its own case count and rate; a campaign that hits a counterexample stops early,
    # so the rate is what counts, and the verdict is shown beside it.
    prop() { # WHERE N JOBS
        local out run rate verdict
        out=$("$lc" prop --target "$1" --cases "$2" --seed 1 -j "$3" 2>&1 || true)
        run=$(echo "$out" | sed -n 's/^cases: \([0-9]*\) run.*/\1/p')
        rate=$(echo "$out" | sed -n 's/^time: \(.*\)/\1/p')
        verdict=$(echo "$out" | grep -Eo '^(PASS|FAIL)[^:]*' | head -1)
        printf 'prop %-11s -j %-2s %6s of %6d cases  %s  %s\n' "$1" "$3" "$run" "$2" "$rate" "${verdict:-?}"
    }
    prop in-process "$cases" 1
    for where in reference fastify; do
        for j in 1 "$jobs"; do
            prop "$where" $((cases / 2)) "$j"
        done
    done
else
    echo "prop: this build has no \`lifecheck prop\`"
fi
