# bench/lib.sh — shared by the bench scripts: builds, starting targets by hand, reading figures.
# Sourced, not run. Every function prints figures or dies with a message; none decides pass/fail.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_build=${LIFECHECK_BENCH_BUILD:-$bench_root/build/release}
bench_tmp=$(mktemp -d "${TMPDIR:-/tmp}/lifecheck-bench.XXXXXX")
bench_pids=()

bench_cleanup() {
    local p
    for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$bench_tmp"
}
trap bench_cleanup EXIT

die() { echo "bench: $*" >&2; exit 2; }

# need_tool CMD PACKAGE: installs the Debian package when CMD is missing (root or sudo).
need_tool() {
    command -v "$1" >/dev/null 2>&1 && return
    echo "bench: installing $2" >&2
    local sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get install -y -qq "$2" >/dev/null || die "cannot install $2"
}

# build_release TARGET...: the release preset (Release, no seeded faults, bench on); nothing when
# LIFECHECK_BENCH_BUILD names a build to use as it is (e.g. build/ci on a machine others share).
build_release() {
    [ -n "${LIFECHECK_BENCH_BUILD:-}" ] && return
    (cd "$bench_root" && cmake --preset release >/dev/null && cmake --build --preset release --target "$@" >/dev/null) ||
        die "the release build failed: run cmake --preset release && cmake --build --preset release"
}

# rss_kib PID: resident set size in KiB.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# start_protocol_target NAME APP CMD...: starts a target that speaks the JSON-lines protocol, on
# core 0, loads APP (a scenario file) into it and waits for `ready`. Sets TARGET_PID and
# TARGET_PORT. Events go to a reader on core 1 that throws them away, so the server pays for
# writing its trace and nothing else.
start_protocol_target() {
    local name=$1 app=$2
    shift 2
    local dir=$bench_tmp/$name.$RANDOM
    mkdir -p "$dir"
    mkfifo "$dir/in" "$dir/out"
    taskset -c 0 "$@" <"$dir/in" >"$dir/out" 2>"$dir/log" &
    TARGET_PID=$!
    bench_pids+=("$TARGET_PID")
    # The events are drained on the server's core: what tracing costs (writing and reading the
    # lines) is charged to the server, and wrk keeps core 1 to itself as with bare-beast.
    taskset -c 0 sh -c 'grep -m1 "\"t\":\"ready\"" > "$1"; cat > /dev/null' sh "$dir/ready" <"$dir/out" &
    bench_pids+=("$!")
    exec {bench_in_fd}>"$dir/in"
    "$bench_build/lifecheck" serve "$app" --print-load >&"$bench_in_fd"
    local i
    for i in $(seq 1 200); do
        [ -s "$dir/ready" ] && break
        sleep 0.05
    done
    [ -s "$dir/ready" ] || { cat "$dir/log" >&2; die "$name did not become ready"; }
    TARGET_PORT=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$dir/ready")
    TARGET_FD=$bench_in_fd
}

# start_bare_beast: the bare Beast hello server on core 0. Sets TARGET_PID and TARGET_PORT.
start_bare_beast() {
    local log=$bench_tmp/bare.$RANDOM.log
    taskset -c 0 "$bench_build/bench/lifecheck_bench_bare_beast" 0 2>"$log" &
    TARGET_PID=$!
    TARGET_FD=
    bench_pids+=("$TARGET_PID")
    local i
    for i in $(seq 1 100); do
        grep -q listening "$log" 2>/dev/null && break
        sleep 0.05
    done
    TARGET_PORT=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$log")
    [ -n "$TARGET_PORT" ] || die "the bare Beast server did not start"
}

# stop_target: stops what start_* started.
stop_target() {
    [ -n "${TARGET_FD:-}" ] && exec {TARGET_FD}>&-
    kill "$TARGET_PID" 2>/dev/null || true
    wait "$TARGET_PID" 2>/dev/null || true
}
