#!/usr/bin/env bash
# bench/throughput.sh — req/s, p99 latency and RSS with wrk: the reference server, real Fastify
# and a bare Boost.Beast server side by side, interleaved, server on core 0 and wrk on core 1.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/throughput.sh [--duration S] [--runs N] [--connections C] [--warmup S]

Serves hello-world JSON from (a) an app without hooks (bench/apps/hello.json) and (b) an app with
an async hook in each main phase and an async handler (bench/apps/hooks8.json), on
  reference        lifecheck-reference, tracing on (cb/end events written to its stdout)
  reference-notrace the same with --no-trace
  fastify          real Fastify 5.12.8 through server_under_test/fastify/adapter.mjs (tracing on)
  fastify-notrace  the same with the adapter's --no-trace: Fastify without the cost of tracing,
                   the strictest peer for the reference
  bare-beast       bench/bare_beast.cpp: the ceiling for a Beast server on this machine
Each configuration runs N times, interleaved (run 1 of every configuration, then run 2, ...),
each run a fresh server, a warm-up, then wrk for S seconds. Prints the median req/s, p99 latency,
RSS and the server process's CPU time per request (user + system: it holds on a loaded machine,
where req/s does not) per configuration, and the ratios reference/fastify and reference/bare-beast.
Prints figures only; it never fails on a time.

options:
  --duration S      seconds of measurement per run (default 10)
  --runs N          runs per configuration (default 3)
  --connections C   wrk connections (default 64)
  --warmup S        seconds of warm-up per run, not measured (default 2)
  -h, --help        show this help
EOF
}

duration=10 runs=3 connections=64 warmup=2
while [ $# -gt 0 ]; do
    case $1 in
    --duration) duration=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench/throughput.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done

source "$(dirname "$0")/lib.sh"
need_tool wrk wrk
need_tool taskset util-linux
build_release lifecheck lifecheck-reference lifecheck_bench_bare_beast
[ -d "$bench_root/server_under_test/fastify/node_modules" ] ||
    (cd "$bench_root/server_under_test/fastify" && npm ci --no-audit --no-fund --loglevel=error)

ref=$bench_build/server_under_test/reference/lifecheck-reference
adapter=$bench_root/server_under_test/fastify/adapter.mjs
configs=(
    "hello bare-beast"
    "hello reference"
    "hello reference-notrace"
    "hello fastify"
    "hello fastify-notrace"
    "hooks8 reference"
    "hooks8 reference-notrace"
    "hooks8 fastify"
    "hooks8 fastify-notrace"
)

start() { # APP SERVER
    local app=$bench_root/bench/apps/$1.json
    case $2 in
    bare-beast) start_bare_beast ;;
    reference) start_protocol_target ref "$app" "$ref" ;;
    reference-notrace) start_protocol_target ref "$app" "$ref" --no-trace ;;
    fastify) start_protocol_target fastify "$app" node "$adapter" ;;
    fastify-notrace) start_protocol_target fastify "$app" node "$adapter" --no-trace ;;
    esac
}

declare -A rps p99 rss cpu
# CPU time (user + system, clock ticks) of a process: the server's cost per request holds on a
# loaded machine, where req/s of a server sharing its core with other work does not.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tick_us=$((1000000 / $(getconf CLK_TCK)))
echo "bench/throughput.sh: $(nproc) cores, wrk -c $connections, ${duration}s x $runs runs (+${warmup}s warm-up), $(date -u +%Y-%m-%dT%H:%MZ)"
for run in $(seq 1 "$runs"); do
    for c in "${configs[@]}"; do
        set -- $c
        start "$1" "$2"
        url=http://127.0.0.1:$TARGET_PORT/
        taskset -c 1 wrk -t1 -c"$connections" -d"${warmup}s" "$url" >/dev/null 2>&1 || true
        t0=$(cpu_ticks "$TARGET_PID")
        out=$(taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" --latency "$url" 2>&1)
        t1=$(cpu_ticks "$TARGET_PID")
        r=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
        n=$(echo "$out" | awk '/requests in/ {print $1}')
        u=$(awk -v a="$t0" -v b="$t1" -v n="$n" -v t="$tick_us" 'BEGIN { if (n > 0) printf "%.2f", (b - a) * t / n; else print "n/a" }')
        l=$(echo "$out" | awk '$1 == "99%" {print $2}')
        m=$(rss_kib "$TARGET_PID")
        stop_target
        rps[$c]+="$r "
        p99[$c]+="$l "
        rss[$c]+="$m "
        cpu[$c]+="$u "
        printf '  run %d  %-7s %-18s %10s req/s  p99 %-8s  RSS %6s KiB  CPU %6s us/req\n' "$run" "$1" "$2" "$r" "$l" "$m" "$u"
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A med mcpu
echo
printf '%-7s %-18s %12s %10s %10s %12s\n' app server "req/s (med)" "p99 (med)" "RSS KiB" "CPU us/req"
for c in "${configs[@]}"; do
    set -- $c
    med[$c]=$(echo "${rps[$c]}" | median)
    mcpu[$c]=$(echo "${cpu[$c]}" | median)
    printf '%-7s %-18s %12s %10s %10s %12s\n' "$1" "$2" "${med[$c]}" \
        "$(echo "${p99[$c]}" | tr ' ' '\n' | grep -v '^$' | sort -V | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" \
        "$(echo "${rss[$c]}" | median)" "${mcpu[$c]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo
echo "reference / fastify,    8 hooks, tracing on:  $(ratio "${med[hooks8 reference]}" "${med[hooks8 fastify]}")  (target >= 1.6)"
echo "reference (tracing on) / fastify (no tracing), 8 hooks: $(ratio "${med[hooks8 reference]}" "${med[hooks8 fastify-notrace]}")"
echo "reference / bare-beast, 8 hooks, tracing on:  $(ratio "${med[hooks8 reference]}" "${med[hello bare-beast]}")  (target >= 0.80)"
echo "reference / bare-beast, no hooks, tracing on: $(ratio "${med[hello reference]}" "${med[hello bare-beast]}")"
echo "tracing on / off, 8 hooks:                    $(ratio "${med[hooks8 reference]}" "${med[hooks8 reference-notrace]}")  (target >= 0.85)"
echo "tracing on / off, no hooks:                   $(ratio "${med[hello reference]}" "${med[hello reference-notrace]}")"
echo
echo "By the server's CPU time per request (holds on a loaded machine; the trace reader not counted):"
echo "reference / bare-beast, 8 hooks, tracing on:  $(ratio "${mcpu[hello bare-beast]}" "${mcpu[hooks8 reference]}")"
echo "reference / fastify (no tracing), 8 hooks:    $(ratio "${mcpu[hooks8 fastify-notrace]}" "${mcpu[hooks8 reference]}")"
echo "tracing on / off, 8 hooks:                    $(ratio "${mcpu[hooks8 reference-notrace]}" "${mcpu[hooks8 reference]}")"
