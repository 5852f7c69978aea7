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
# Node.js: any node >= 18 with npm will do. Some machines carry NodeSource's `nodejs`, which
# bundles npm and conflicts with Debian's `npm` package, so ask for Debian's only when absent.
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

# Real frameworks for the adapter targets, pinned by their committed package-lock.json, and the
# published SARIF 2.1.0 schema the SARIF report is validated against (harness/report/sarif_test.cpp).
for adapter in server_under_test/fastify server_under_test/koa harness/report/testdata/sarif; do
    if [ -f "$adapter/package-lock.json" ]; then
        if [ ! -d "$adapter/node_modules" ] || [ "$adapter/package-lock.json" -nt "$adapter/node_modules/.package-lock.json" ]; then
            echo "lifecheck setup: npm ci in $adapter"
            (cd "$adapter" && npm ci --no-audit --no-fund --loglevel=error)
        fi
    fi
done
