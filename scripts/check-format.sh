#!/usr/bin/env bash
# Fails when a tracked C++ file differs from .clang-format (clang-format 14, as Debian 12 ships it).
# Fix with: git ls-files '*.cpp' '*.hpp' | xargs clang-format-14 -i
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cpp' '*.hpp')
if ! clang-format-14 --dry-run --Werror $files; then
    echo "check-format: the files above differ from .clang-format;" \
         "run: git ls-files '*.cpp' '*.hpp' | xargs clang-format-14 -i" >&2
    exit 1
fi
echo "check-format: $(echo "$files" | wc -l) C++ files match .clang-format"
