#!/usr/bin/env bash
# bench/connections.sh — RSS of the reference server with 1,000 idle keep-alive connections, and
# across 1,000,000 requests (a flat line means nothing leaks per request or per connection).
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/connections.sh [--idle N] [--requests N] [--app FILE]

1. Starts lifecheck-reference (release build, tracing on) with the app (default
   bench/apps/hooks8.json) on core 0 and prints its RSS.
2. Opens N idle keep-alive connections (default 1000), sends one request on each, leaves them
   open, and prints the RSS again; then closes them.
3. Sends at least N requests (default 1,000,000) with wrk on core 1, in rounds, printing the
   RSS after each round: flat means no leak.
Prints figures only.

options:
  --idle N       idle keep-alive connections (default 1000)
  --requests N   requests in total for the leak check (default 1000000)
  --app FILE     the scenario whose app is served
  -h, --help     show this help
EOF
}

idle=1000 requests=1000000 app=
while [ $# -gt 0 ]; do
    case $1 in
    --idle) idle=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --app) app=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench/connections.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done

source "$(dirname "$0")/lib.sh"
[ -n "$app" ] || app=$bench_root/bench/apps/hooks8.json
need_tool wrk wrk
build_release lifecheck lifecheck-reference
ulimit -n $((idle + 256)) 2>/dev/null || die "cannot raise the open-file limit to $((idle + 256))"

start_protocol_target ref "$app" "$bench_build/server_under_test/reference/lifecheck-reference"
echo "bench/connections.sh: lifecheck-reference pid $TARGET_PID port $TARGET_PORT, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "RSS at start:                        $(rss_kib "$TARGET_PID") KiB"

fds=()
for i in $(seq 1 "$idle"); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$TARGET_PORT"
    printf 'GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-lifecheck-req: idle-%d\r\n\r\n' "$i" >&"$fd"
    fds+=("$fd")
done
sleep 1
echo "RSS with $idle idle keep-alive connections: $(rss_kib "$TARGET_PID") KiB  (target < 32768 KiB)"
for fd in "${fds[@]}"; do exec {fd}>&-; done
sleep 1
echo "RSS after closing them:              $(rss_kib "$TARGET_PID") KiB"

done_requests=0 round=0
while [ "$done_requests" -lt "$requests" ]; do
    round=$((round + 1))
    n=$(taskset -c 1 wrk -t1 -c32 -d10s "http://127.0.0.1:$TARGET_PORT/" 2>&1 | awk '/requests in/ {print $1}')
    done_requests=$((done_requests + n))
    printf 'round %2d: %9d requests in total, RSS %6s KiB\n' "$round" "$done_requests" "$(rss_kib "$TARGET_PID")"
done
stop_target
