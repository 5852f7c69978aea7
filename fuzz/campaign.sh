#!/usr/bin/env bash
# Runs a libFuzzer campaign on one fuzz target: build, seed, fuzz in fork mode, merge, summarize.
#
# usage: fuzz/campaign.sh TARGET [--minutes M] [--jobs J] [--build DIR] [--max-len N]
#                        [--seed N] [--fresh]
#   TARGET   http_bytes | lifecycle | scenario_loader (or fuzz_http, fuzz_lifecycle, fuzz_scenario)
#   --minutes M   campaign length (default 10; fractions allowed, e.g. 0.5)
#   --jobs J      libFuzzer -fork=J worker processes (default 1)
#   --build DIR   the libFuzzer build (default build/fuzz; configured with the fuzz preset's
#                 options when missing, then the target is built)
#   --max-len N   -max_len (default 4096)
#   --seed N      libFuzzer's -seed (default: libFuzzer picks one and logs it)
#   --fresh       start from the regression inputs only (fuzz/regressions/TARGET/, none for
#                 scenario_loader) in an empty working corpus DIR/fuzz/corpus/TARGET-fresh[-seedN]:
#                 no derived seeds, no corpus of earlier campaigns (the issue-20 campaigns); its
#                 crashes go to DIR/fuzz/artifacts/TARGET-fresh[-seedN]/, so fresh campaigns with
#                 different seeds can run side by side in one build folder
# Prints exec/s, coverage (cov = edges, ft = features), corpus size and every crash found with
# its fault line, whether real Fastify shares it (the input is run once more, which replays it
# on `--target fastify` when node is there; LIFECHECK_FUZZ_FASTIFY=off skips that) and the
# `lifecheck repro` command for it. The working corpus lives in DIR/fuzz/corpus/TARGET and is
# minimized with -merge=1 at the end; crashes go to DIR/fuzz/artifacts/TARGET/ (without --fresh).
# Exit codes: 0 no crash, 1 crashes found, 2 usage error, 3 build or fuzzer failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

target=""; minutes=10; jobs=1; build=$root/build/fuzz; max_len=4096; seed=""; fresh=0
while [[ $# -gt 0 ]]; do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --minutes) minutes=${2:?}; shift 2 ;;
        --minutes=*) minutes=${1#*=}; shift ;;
        --jobs) jobs=${2:?}; shift 2 ;;
        --jobs=*) jobs=${1#*=}; shift ;;
        --build) build=${2:?}; shift 2 ;;
        --build=*) build=${1#*=}; shift ;;
        --max-len) max_len=${2:?}; shift 2 ;;
        --max-len=*) max_len=${1#*=}; shift ;;
        --seed) seed=${2:?}; shift 2 ;;
        --seed=*) seed=${1#*=}; shift ;;
        --fresh) fresh=1; shift ;;
        -*) echo "campaign.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
        *) [[ -z $target ]] || { echo "campaign.sh: one TARGET only" >&2; exit 2; }; target=$1; shift ;;
    esac
done
case $target in
    http_bytes|fuzz_http) target=http_bytes ;;
    lifecycle|fuzz_lifecycle) target=lifecycle ;;
    scenario_loader|fuzz_scenario) target=scenario_loader ;;
    "") echo "campaign.sh: no TARGET given" >&2; usage >&2; exit 2 ;;
    *) echo "campaign.sh: unknown target '$target'" >&2; usage >&2; exit 2 ;;
esac
build=$(realpath -m "$build")
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "campaign.sh: --jobs needs a positive integer" >&2; exit 2; }
[[ -z $seed || $seed =~ ^[0-9]+$ ]] || { echo "campaign.sh: --seed needs a number" >&2; exit 2; }
seconds=$(awk -v m="$minutes" 'BEGIN { s = int(m * 60); if (s < 1) exit 1; print s }') ||
    { echo "campaign.sh: --minutes needs a positive number" >&2; exit 2; }

# 1. Build (configure with the fuzz preset's options when the folder is new).
if [[ ! -f $build/CMakeCache.txt ]]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DLIFECHECK_SANITIZE='address;undefined' -DLIFECHECK_FUZZ=ON -DLIFECHECK_BUILD_TESTS=OFF \
        -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null ||
        { echo "campaign: configuring $build failed (output above)" >&2; exit 3; }
fi
cmake --build "$build" --target "lifecheck_fuzz_$target" -j2 ||
    { echo "campaign: building lifecheck_fuzz_$target in $build failed (output above)" >&2; exit 3; }
bin=$build/fuzz/lifecheck_fuzz_$target

# 2. Seeds: derived from scenarios/ (fuzz/make_seeds.sh), plus committed seeds and regressions;
#    with --fresh the regressions alone, into a working corpus emptied first.
seeds=()
corpus=$build/fuzz/corpus/$target
artifacts=$build/fuzz/artifacts/$target
if [[ $fresh -eq 1 ]]; then
    corpus=$build/fuzz/corpus/$target-fresh${seed:+-seed$seed}
    artifacts=$build/fuzz/artifacts/$target-fresh${seed:+-seed$seed}
    rm -rf "$corpus"
else
    case $target in
        scenario_loader) seeds+=("$root/scenarios") ;;
        *) if ! seed_out=$("$here/make_seeds.sh" --build "$build" "$target" 2>&1); then
               printf '%s\n' "$seed_out" | tail -40 >&2
               echo "campaign: making the $target seeds failed: fuzz/make_seeds.sh --build $build $target" \
                   "(builds and runs lifecheck_fuzz_seeds; its output is above)" >&2
               exit 3
           fi
           seeds+=("$build/fuzz/seeds/$target") ;;
    esac
    [[ -d $here/corpus/$target ]] && seeds+=("$here/corpus/$target")
fi
[[ -d $here/regressions/$target ]] && seeds+=("$here/regressions/$target")
mkdir -p "$corpus" "$artifacts"
dict=()
[[ -f $here/dict/$target.dict ]] && dict=("-dict=$here/dict/$target.dict")
seed_arg=()
[[ -n $seed ]] && seed_arg=("-seed=$seed")
log=$build/fuzz/campaign-$target$([[ $fresh -eq 1 ]] && echo -fresh)${seed:+-seed$seed}.log
before_list=$(find "$artifacts" -type f | sort)

# 3. Fuzz: fork mode keeps going after a crash (each crash is saved under artifacts/).
echo "campaign: $target for ${seconds}s with $jobs job(s)${seed:+, seed $seed}$([[ $fresh -eq 1 ]] && echo ", from the regression inputs only"); log $log"
set +e
(cd "$build/fuzz" && "$bin" -fork="$jobs" -ignore_crashes=1 -max_total_time="$seconds" \
    -max_len="$max_len" -timeout=25 -rss_limit_mb=2048 "${dict[@]}" -artifact_prefix="$artifacts/" \
    -print_final_stats=1 "${seed_arg[@]}" "$corpus" "${seeds[@]}") >"$log" 2>&1
status=$?
set -e
if [[ $status -ne 0 ]] && ! grep -q 'INFO: fuzzed for\|INFO: exiting\|DONE' "$log"; then
    tail -20 "$log" >&2
    echo "campaign: the fuzzer failed (exit $status)" >&2
    exit 3
fi

# 4. Merge: keep only inputs that add coverage.
merged=$corpus.merged
rm -rf "$merged"; mkdir -p "$merged"
"$bin" -merge=1 -max_len="$max_len" "$merged" "$corpus" >"$log.merge" 2>&1 || true
if [[ -n $(ls -A "$merged") ]]; then rm -rf "$corpus"; mv "$merged" "$corpus"; else rm -rf "$merged"; fi

# 5. Summary: the last status line of the run ("#N: cov: C ft: F corp: K exec/s E ...").
last=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov:' | tail -1)
runs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$last")
cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$last")
ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$last")
# Fork mode's status lines give the last job's own rate; the campaign's is runs / seconds
# (it includes each job's start-up over the corpus, the number to plan a campaign with).
job_execs=$(sed -nE 's/.*exec\/s:? ([0-9]+).*/\1/p' <<<"$last")
execs=""
if [[ -n $runs ]]; then execs=$((runs / seconds)); fi
new_list=$(comm -13 <(echo "$before_list") <(find "$artifacts" -type f | sort) | sed "/^$/d")
new=$(grep -c . <<<"$new_list" || true)
echo "target:     $target"
echo "time:       ${seconds}s, $jobs job(s)"
echo "executions: ${runs:-?}  exec/s: ${execs:-?} over the campaign (last job: ${job_execs:-?})"
echo "coverage:   cov ${cov:-?} (edges)  ft ${ft:-?} (features)"
echo "corpus:     $(find "$corpus" -type f | wc -l) inputs after -merge=1 ($corpus)"
echo "crashes:    $new new ($artifacts)"
# Each crash once more, for its fault report's verdict: whether real Fastify shares it, i.e.
# whether it is a finding about Fastify, the reference or the checker (fuzz/fastify_replay.hpp;
# fork mode keeps the workers' reports to itself).
while read -r f; do
    [[ -n $f ]] || continue
    echo "  $f"
    (cd "$build/fuzz" && "$bin" "$f" 2>&1) |
        awk '/^lifecheck-fuzz: (SUT|HARNESS) FAULT/ { print "    " $0; next }
             /^lifecheck-fuzz: real Fastify/ { p = 1; print "    " $0; next }
             p && /^  / { print "    " $0; next } p { exit }'
    echo "    repro: lifecheck repro --fuzzer $target $f"
done <<<"$new_list"
[[ $new -eq 0 ]]
