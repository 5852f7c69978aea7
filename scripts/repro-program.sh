#!/bin/sh
# Runs the JavaScript program `lifecheck repro FILE.json` generated (PROGRAM.js, beside it
# PROGRAM.requests.sh) with plain `node` on one Fastify release, sends the scenario's requests and
# says whether the program died: the check that a generated reproduction crashes the affected
# release and not the fixed one (issue 17; scenarios/CMakeLists.txt, docs/repro.md).
#
#   scripts/repro-program.sh PROGRAM.js VERSION crash|alive
#
# The release comes from what is installed, never from the network: the adapter's npm aliases
# (server_under_test/fastify/node_modules) or the release cache ($LIFECHECK_RELEASE_CACHE, else
# ${XDG_CACHE_HOME:-~/.cache}/lifecheck/releases). Not installed: exit 77 (ctest: skipped).
# Exit 0 when the program did what was expected, 1 when not, 2 on usage.
set -u
[ $# -eq 3 ] || { echo "usage: $0 PROGRAM.js VERSION crash|alive" >&2; exit 2; }
program=$1 version=$2 want=$3
case $want in crash|alive) ;; *) echo "$0: expected crash or alive, got $want" >&2; exit 2 ;; esac
[ -f "$program" ] || { echo "$0: no such program: $program" >&2; exit 2; }
requests=${program%.js}.requests.sh
root=$(cd "$(dirname "$0")/.." && pwd)

# The fastify package folder of that release.
release=
for dir in "$root"/server_under_test/fastify/node_modules/fastify*; do
    [ -f "$dir/package.json" ] || continue
    if node -e 'const p = require(process.argv[1]); process.exit(p.name === "fastify" && p.version === process.argv[2] ? 0 : 1)' \
        "$dir/package.json" "$version"; then
        release=$dir
        break
    fi
done
cache=${LIFECHECK_RELEASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lifecheck/releases}
[ -n "$release" ] || [ ! -f "$cache/fastify@$version/node_modules/fastify/package.json" ] ||
    release=$cache/fastify@$version/node_modules/fastify
if [ -z "$release" ]; then
    echo "SKIP: fastify $version is neither installed beside the adapter nor in the release cache $cache (lifecheck releases install fastify@$version)"
    exit 77
fi

# `npm i fastify@VERSION` next to the program, without npm: node_modules/fastify is that release.
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cp "$program" "$work/app.js"
mkdir "$work/node_modules"
ln -s "$release" "$work/node_modules/fastify"

PORT=0 node "$work/app.js" >"$work/out" 2>"$work/err" &
pid=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/^listening on http:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/out")
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "the program did not start on fastify $version:"
    cat "$work/out" "$work/err"
    exit 1
fi
echo "fastify $version: $program listening on port $port"
PORT=$port APP_PID=$pid sh "$requests" >"$work/requests.out" 2>&1
sleep 1
if kill -0 "$pid" 2>/dev/null; then
    got=alive
    echo "alive: the program still runs after the requests"
else
    wait "$pid"
    status=$?
    got=crash
    echo "crash: the program died (exit $status):"
    grep -v '^ *at ' "$work/err" | head -n 8
fi
[ "$got" = "$want" ] && exit 0
echo "expected $want, got $got; the requests printed:"
head -c 2000 "$work/requests.out"
exit 1
