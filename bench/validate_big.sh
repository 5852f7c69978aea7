#!/usr/bin/env bash
# bench/validate_big.sh — wall time and peak memory of `lifecheck validate` on one scenario file
# with a huge app (issue 19: 400,000 routes took 52 s to 3 min and 1.1 GB).
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/validate_big.sh [--routes N] [--max-rss-mb MB] [LIFECHECK]

Writes a valid scenario whose app has N GET routes (/r0 ... /rN-1, default 400000) and one
request step to a temporary folder, runs `LIFECHECK validate FILE` (default build/ci/lifecheck)
under /usr/bin/time -v and prints the file size, the wall time, the CPU time and the maximum
resident set size. Prints figures only; it never fails on a time. With --max-rss-mb it exits 1
when the peak memory exceeds MB (memory does not depend on the machine's load: the ctest
scenario.validate-big uses it).

options:
  --routes N        routes in the app (default 400000)
  --max-rss-mb MB   fail when validate's maximum resident set size exceeds MB
  -h, --help        show this help
EOF
}

routes=400000
max_rss_mb=""
lifecheck=build/ci/lifecheck
while [[ $# -gt 0 ]]; do
    case "$1" in
    --routes) routes="$2"; shift 2 ;;
    --max-rss-mb) max_rss_mb="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "validate_big.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) lifecheck="$1"; shift ;;
    esac
done

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
file="$dir/big.json"
awk -v n="$routes" 'BEGIN {
    printf "{\n  \"description\": \"%d routes\",\n  \"app\": {\n    \"routes\": [\n", n
    for (i = 0; i < n; i++)
        printf "      {\"method\": \"GET\", \"url\": \"/r%d\", \"handler\": {}}%s\n", i, (i + 1 < n ? "," : "")
    printf "    ]\n  },\n  \"steps\": [{\"id\": \"r1\", \"request\": {\"url\": \"/r0\"}}]\n}\n"
}' >"$file"

/usr/bin/time -v -o "$dir/time" "$lifecheck" validate "$file" >"$dir/out" 2>&1 || {
    echo "validate_big.sh: lifecheck validate failed:" >&2
    cat "$dir/out" >&2
    exit 1
}
field() { sed -n "s/^[[:space:]]*$1: //p" "$dir/time"; }
rss_kb=$(field 'Maximum resident set size (kbytes)')
printf 'routes %d, file %d MB: wall %s, user %s s, system %s s, max RSS %d MB\n' \
    "$routes" $(($(stat -c %s "$file") / 1000000)) "$(field 'Elapsed (wall clock) time (h:mm:ss or m:ss)')" \
    "$(field 'User time (seconds)')" "$(field 'System time (seconds)')" $((rss_kb / 1024))
if [[ -n "$max_rss_mb" && $((rss_kb / 1024)) -gt $max_rss_mb ]]; then
    echo "validate_big.sh: max RSS $((rss_kb / 1024)) MB exceeds --max-rss-mb $max_rss_mb" >&2
    exit 1
fi
