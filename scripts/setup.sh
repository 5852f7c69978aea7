#!/usr/bin/env bash
# Installs what lifecheck needs on Debian 12 (apt packages, Node.js, the npm targets); idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake ninja-build g++ clang clang-format-14 libclang-rt-14-dev pkg-config
          libboost-dev nlohmann-json3-dev libcpp-httplib-dev librapidcheck-dev
          libgtest-dev libgmock-dev libvalijson-dev
          chromium)   # headless, for the HTML report's browser test (label browser)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js with npm: the adapters' engines ask for Node.js >= 20 (Debian 12's own nodejs is 18; the
# CI image and the Dockerfile use node:20-bookworm). Some machines carry NodeSource's `nodejs`,
# which bundles npm and conflicts with Debian's `npm` package, so ask for Debian's only when absent.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "lifecheck setup: installing ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
    echo "lifecheck setup: warning: Node.js $(node --version 2>/dev/null) is older than the adapters' engines (>= 20):" \
         "real Fastify and Koa may not start or may differ from the recorded expectations;" \
         "install Node.js 20 (e.g. the node:20-bookworm image, or NodeSource's nodejs 20)" >&2
fi

# Real frameworks for the adapter targets, pinned by their committed package-lock.json, and the
# published SARIF 2.1.0 schema the SARIF report is validated against (harness/report/sarif_test.cpp).
for adapter in server_under_test/fastify server_under_test/koa harness/report/testdata/sarif; do
    if [ -f "$adapter/package-lock.json" ]; then
        if [ -L "$adapter/node_modules" ]; then
            # A linked node_modules belongs to another checkout (a worktree, the README test's
            # scratch copy): npm ci through the link would empty the other checkout's install.
            echo "lifecheck setup: $adapter/node_modules is a link; left as it is"
        elif [ ! -d "$adapter/node_modules" ] || [ "$adapter/package-lock.json" -nt "$adapter/node_modules/.package-lock.json" ]; then
            echo "lifecheck setup: npm ci in $adapter"
            (cd "$adapter" && npm ci --no-audit --no-fund --loglevel=error)
        fi
    fi
done
