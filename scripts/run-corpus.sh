#!/usr/bin/env bash
# The main job: set up, build, and run the scripted corpus against the reference server.
# Reports: reports/junit.xml, reports/results.json, reports/index.html. Extra args go to `lifecheck run`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --preset ci >/dev/null
cmake --build --preset ci
exec ./build/ci/lifecheck run --target reference "$@" scenarios/
