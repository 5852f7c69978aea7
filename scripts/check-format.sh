#!/usr/bin/env bash
# Fails when a tracked C++ file differs from .clang-format (clang-format 14, as Debian 12 ships it).
# Fix with: git ls-files '*.cpp' '*.hpp' | xargs clang-format-14 -i
set -euo pipefail
cd "$(dirname "$0")/.."
# The tracked files of a clone; in a checkout without git (.github/workflows/ci.yml downloads the
# tree), every C++ file outside build/ and node_modules/.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    files=$(git ls-files '*.cpp' '*.hpp')
else
    files=$(find . \( -path ./build -o -name node_modules \) -prune -o \( -name '*.cpp' -o -name '*.hpp' \) \
                 -print | sed 's|^\./||' | sort)
fi
if ! clang-format-14 --dry-run --Werror $files; then
    echo "check-format: the files above differ from .clang-format;" \
         "run: git ls-files '*.cpp' '*.hpp' | xargs clang-format-14 -i" >&2
    exit 1
fi
echo "check-format: $(echo "$files" | wc -l) C++ files match .clang-format"
