#!/usr/bin/env bash
# Runs every command example of the READMEs as written: each line of a ```sh block, from the root
# of a scratch copy of the repository, with the built `lifecheck` and `lifecheck-reference` first
# on PATH (the ctest readme.examples; issue 19).
#
# usage: scripts/readme-examples.sh BUILD_DIR [FILE.md...]
#   FILE.md: paths from the repository root (default: every README.md with a sh block)
#
# A block reads as one shell session: a `cd DIR` line moves the lines after it; a line that
# starts with # is a note. A trailing comment may end with one tag in square brackets:
#   [exits N]       the exit status the example is expected to end with (default 0)
#   [until Ctrl-C]  a server: it passes when it still runs after $README_SERVER_SECONDS (5)
#   [skip: REASON]  not run, and REASON is printed (the network, minutes of work, the suite
#                   itself); a long command says how long it takes in REASON
# Each example gets $README_EXAMPLE_TIMEOUT seconds (default 300). The last line is
# "N passed, N failed, N skipped"; the exit status is 1 when any example failed.
set -uo pipefail
if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
fi
build=$(cd "$1" && pwd) || exit 2
shift
root=$(cd "$(dirname "$0")/.." && pwd)
limit=${README_EXAMPLE_TIMEOUT:-300}
server_seconds=${README_SERVER_SECONDS:-5}
for exe in lifecheck server_under_test/reference/lifecheck-reference; do
    [[ -x $build/$exe ]] || { echo "readme-examples: no $build/$exe (build first)" >&2; exit 2; }
done

# The copy: the checkout without .git, build/, reports/ and node_modules (linked), so examples
# that write (reports/, record) leave the checkout alone.
work=$(mktemp -d "${TMPDIR:-/tmp}/lifecheck-readme.XXXXXX")
trap 'rm -rf "$work"' EXIT
copy=$work/repo
mkdir -p "$copy" "$work/bin" "$work/logs"
tar -C "$root" --exclude=./.git --exclude=./build --exclude=./reports --exclude=node_modules \
    -cf - . | tar -C "$copy" -xf - || exit 2
mkdir -p "$copy/reports"
for modules in "$root"/server_under_test/*/node_modules; do
    [[ -e $modules ]] && ln -s "$modules" "$copy/${modules#"$root"/}"
done
ln -s "$build/lifecheck" "$work/bin/lifecheck"
ln -s "$build/server_under_test/reference/lifecheck-reference" "$work/bin/lifecheck-reference"
export PATH="$work/bin:$PATH"

if [[ $# -eq 0 ]]; then
    mapfile -t files < <(cd "$copy" && grep -rl --include=README.md '^```sh' . | sed 's|^\./||' | sort)
else
    files=("$@")
fi

passed=0 failed=0 skipped=0
# One record per example line: FILE LINE BLOCK TEXT (continuation lines joined), tab-separated.
examples() {
    awk -v file="$1" '
        /^```sh[[:space:]]*$/ { inside = 1; block++; next }
        /^```/ { inside = 0; next }
        !inside { next }
        /^[[:space:]]*(#|$)/ && text == "" { next }
        {
            if (text == "") start = FNR
            line = $0
            if (sub(/\\[[:space:]]*$/, "", line)) { text = text line; next }
            printf "%s\t%d\t%d\t%s\n", file, start, block, text line
            text = ""
        }' "$copy/$1"
}

for file in "${files[@]}"; do
    [[ -f $copy/$file ]] || { echo "readme-examples: no $file" >&2; exit 2; }
    last_block=""
    while IFS=$'\t' read -r _ line block text; do
        [[ $block != "$last_block" ]] && cwd=$copy
        last_block=$block
        where="$file:$line"
        tag=""
        [[ $text =~ \#.*\[([^]]+)\][[:space:]]*$ ]] && tag=${BASH_REMATCH[1]}
        expected=0 seconds=$limit server=""
        case $tag in
        skip:*)
            echo "SKIP  $where  $text"
            echo "      reason:${tag#skip:}"
            skipped=$((skipped + 1))
            continue
            ;;
        "exits "[0-9]*) expected=${tag#exits } ;;
        "until Ctrl-C") server=1 seconds=$server_seconds ;;
        esac
        log=$work/logs/$((passed + failed + skipped)).log
        started=$(date +%s%N)
        if [[ $text =~ ^cd[[:space:]]+([^[:space:]\#\;\&]+)[[:space:]]*(\#.*)?$ ]]; then
            next_cwd=$(cd "$cwd" && cd "${BASH_REMATCH[1]}" 2>"$log" && pwd)
            code=$?
            [[ $code -eq 0 ]] && cwd=$next_cwd
        else
            (cd "$cwd" && exec timeout -k 5 "$seconds" bash -c "$text") </dev/null >"$log" 2>&1
            code=$?
        fi
        took=$(( ($(date +%s%N) - started) / 100000000 ))
        took="$((took / 10)).$((took % 10)) s"
        if [[ -n $server ]]; then
            if [[ $code -eq 124 ]]; then
                verdict=PASS
            else
                verdict=FAIL why="ended (exit $code) within ${server_seconds} s; a server should still run"
            fi
        elif [[ $code -eq 124 ]]; then
            verdict=FAIL why="timed out after ${seconds} s"
        elif [[ $code -ne $expected ]]; then
            verdict=FAIL why="exit $code, expected $expected"
        else
            verdict=PASS
        fi
        if [[ $verdict == PASS ]]; then
            echo "PASS  $where  $text  ($took)"
            passed=$((passed + 1))
        else
            echo "FAIL  $where  $text  ($took)"
            echo "      $why; from ${cwd#"$copy"}/ of the copy; its verdict lines and last lines:"
            { grep -E '^(FAIL|CRASH|HANG|ERROR) ' "$log" | head -n 10; tail -n 25 "$log"; } |
                sed 's/^/      | /'
            failed=$((failed + 1))
        fi
    done < <(examples "$file")
done
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
