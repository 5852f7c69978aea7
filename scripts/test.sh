#!/usr/bin/env bash
# The test suite: set up, then build and test with g++ (-Werror) and with clang under ASan+UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --workflow --preset ci
cmake --workflow --preset asan
