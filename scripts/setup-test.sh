#!/usr/bin/env bash
# scripts/setup.sh leaves a linked node_modules alone (the ctest setup.linked-node-modules): a
# worktree or the README test's scratch copy links the adapters' node_modules to another
# checkout, and `npm ci` through the link emptied that checkout's install. The test copies
# setup.sh into a scratch tree whose Fastify adapter has a newer package-lock.json than its
# (linked) install — the case in which setup.sh runs npm ci — and checks the linked folder's
# content is still there. Needs the apt packages setup.sh checks for (it installs none here).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/lifecheck-setup-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree/scripts" "$work/tree/server_under_test/fastify" "$work/other/node_modules"
cp "$root/scripts/setup.sh" "$work/tree/scripts/"
echo '{"name":"x","lockfileVersion":3,"packages":{}}' >"$work/other/node_modules/.package-lock.json"
echo kept >"$work/other/node_modules/marker"
touch -d '2000-01-01' "$work/other/node_modules/.package-lock.json"
echo '{"name":"x","lockfileVersion":3,"requires":true,"packages":{"":{"name":"x"}}}' \
    >"$work/tree/server_under_test/fastify/package-lock.json"
echo '{"name":"x","private":true}' >"$work/tree/server_under_test/fastify/package.json"
ln -s "$work/other/node_modules" "$work/tree/server_under_test/fastify/node_modules"
out=$("$work/tree/scripts/setup.sh" 2>&1)
status=$?
if [[ $status -ne 0 ]]; then
    printf 'FAIL  setup.sh exited %s:\n%s\n' "$status" "$out"
    exit 1
fi
if [[ ! -f $work/other/node_modules/marker || ! -L $work/tree/server_under_test/fastify/node_modules ]]; then
    printf 'FAIL  setup.sh ran npm ci through the linked node_modules:\n%s\n' "$out"
    exit 1
fi
grep -q 'node_modules is a link; left as it is' <<<"$out" || {
    printf 'FAIL  setup.sh did not say it left the link alone:\n%s\n' "$out"
    exit 1
}
echo "ok    setup.sh leaves a linked node_modules alone"

# A Node.js older than the adapters' engines (>= 20; Debian 12's own is 18) gets a warning.
mkdir -p "$work/bin"
printf '#!/bin/sh\ncase "$1" in -p) echo 18 ;; --version) echo v18.20.4 ;; esac\n' >"$work/bin/node"
chmod +x "$work/bin/node"
out=$(PATH="$work/bin:$PATH" "$work/tree/scripts/setup.sh" 2>&1)
if ! grep -q 'warning: Node.js v18.20.4 is older than the adapters' <<<"$out"; then
    printf 'FAIL  setup.sh did not warn about Node.js 18:\n%s\n' "$out"
    exit 1
fi
echo "ok    setup.sh warns about a Node.js older than 20"
