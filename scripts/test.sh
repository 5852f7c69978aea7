#!/usr/bin/env bash
# The test suite: set up, check formatting, then build and test with g++ (-Werror) and with clang under ASan+UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/check-format.sh
cmake --workflow --preset ci
cmake --workflow --preset asan
