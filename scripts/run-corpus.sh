#!/usr/bin/env bash
# The main job: set up, build, and run the scripted corpus against the reference server.
# Reports: reports/junit.xml, results.json, index.html, results.sarif. Extra args go to `lifecheck run`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
# -j 12: the corpus mostly waits (quiet windows, timeouts), so 12 small reference processes at once
# finish it in under 10 s on 2 cores (bench/README.md); a later -j in "$@" wins.
exec ./build/ci/lifecheck run --target reference -j 12 "$@" scenarios/
