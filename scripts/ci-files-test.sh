#!/usr/bin/env bash
# The CI files call the README's two commands and nothing else of their own (the ctest ci.files;
# issue 19): .ci/run runs the test command; .github/workflows/ci.yml runs both commands (only
# official actions around them); the Dockerfile builds with the main job's own build step and
# runs the main job; ClusterFuzzLite's files are where its actions look for them.
# Prints one line per check and "N passed, N failed"; exit 1 when any check failed.
#
# usage: scripts/ci-files-test.sh [ROOT]   (default: this checkout)
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2
passed=0 failed=0
check() { # check DESCRIPTION ACTUAL EXPECTED
    if [[ $2 == "$3" ]]; then
        echo "ok    $1"
        passed=$((passed + 1))
    else
        printf 'FAIL  %s\n      expected: %s\n      actual:   %s\n' "$1" "${3//$'\n'/ | }" "${2//$'\n'/ | }"
        failed=$((failed + 1))
    fi
}
commands() { sed -E 's/[[:space:]]+#.*$//; s/[[:space:]]+$//' | grep -v '^$'; }

# README.md, "The two commands": its sh block, main job first, then the test suite.
block=$(awk '/^## The two commands/ { s = 1 } s && /^```sh/ { b = 1; next } b && /^```/ { exit } b' README.md)
main=$(grep 'main job' <<<"$block" | commands)
tests=$(grep 'test suite' <<<"$block" | commands)
check "README: the block holds two commands, the main job and the test suite" \
    "$(commands <<<"$block" | wc -l) $([[ -n $main && -n $tests ]] && echo found)" "2 found"

check ".ci/run runs the test command" "$(grep -E '^exec ' .ci/run)" "exec $tests"

wf=.github/workflows/ci.yml
check "$wf: its run steps are the two commands" \
    "$(sed -nE 's/^[[:space:]]*(- )?run:[[:space:]]*(.*)$/\2/p' "$wf" | sort)" \
    "$(printf '%s\n' "$main" "$tests" | sort)"
check "$wf: every job runs in Debian 12 with Node.js 20 (node:20-bookworm)" \
    "$(grep -cE '^[[:space:]]+container: node:20-bookworm$' "$wf")" "$(grep -cE '^[[:space:]]+runs-on:' "$wf")"
check "$wf: only official actions" \
    "$(sed -nE 's/^[[:space:]]*(- )?uses:[[:space:]]*([^@]+)@.*/\2/p' "$wf" | sort -u |
        grep -vxE 'actions/checkout|actions/upload-artifact|github/codeql-action/upload-sarif')" ""
check "$wf: reports/ is uploaded even when the main job fails" \
    "$(grep -A4 'actions/upload-artifact' "$wf" | grep -cE 'if: always\(\)|path: reports/')" "2"
check "$wf: the SARIF upload runs only when the file exists" \
    "$(grep -A1 'github/codeql-action/upload-sarif' "$wf" | grep -c "hashFiles('reports/results.sarif')")" "1"

check "Dockerfile: FROM node:20-bookworm (Debian 12, Node.js 20)" "$(grep -E '^FROM ' Dockerfile)" "FROM node:20-bookworm"
check "Dockerfile: its build is the main job's own (scripts/build.sh, which run-corpus.sh runs first)" \
    "$(sed -nE 's/^RUN (.*)$/\1/p' Dockerfile) $(grep -cxF './scripts/build.sh' "${main#./}")" \
    "./scripts/build.sh 1"
check "Dockerfile: the default command is the main job" \
    "$(sed -nE 's/^CMD \[ *"([^"]+)" *\]$/\1/p' Dockerfile)" "$main"

check ".clusterfuzzlite: build.sh (executable), project.yaml (c++), Dockerfile" \
    "$([[ -x .clusterfuzzlite/build.sh ]] && echo x) $(grep -cx 'language: c++' .clusterfuzzlite/project.yaml) $(grep -c '^FROM ' .clusterfuzzlite/Dockerfile)" \
    "x 1 1"
check ".github/workflows/cflite.yml: ClusterFuzzLite's build and run actions" \
    "$(grep -oE 'google/clusterfuzzlite/actions/(build|run)_fuzzers@v1' .github/workflows/cflite.yml | sort -u | wc -l)" "2"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
