#!/usr/bin/env bash
# Set-up and the ci build: what the main job (run-corpus.sh) and the Dockerfile run before they
# run anything. Leaves build/ci/lifecheck and build/ci/server_under_test/reference/lifecheck-reference.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --preset ci >/dev/null
cmake --build --preset ci
