#!/bin/bash -eu
# Builds lifecheck's fuzz targets for ClusterFuzzLite / OSS-Fuzz from the same CMake definition as
# the `fuzz` preset (one build, not two).
#
# Inputs (OSS-Fuzz conventions): CXX, CXXFLAGS (sanitizer and coverage flags, e.g.
# -fsanitize=address,fuzzer-no-link), LIB_FUZZING_ENGINE (link flags of the engine, e.g.
# -fsanitize=fuzzer), OUT (where binaries go), SRC, WORK (scratch; default /tmp). CC and CFLAGS
# are accepted and unused (lifecheck is C++ only).
# Outputs in $OUT: lifecheck_fuzz_{http_bytes,lifecycle,scenario_loader}, each with its
# .dict (when there is one) and a _seed_corpus.zip derived from scenarios/.
# scripts/cflite-build-test.sh runs this script with ClusterFuzzLite's environment and checks them.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${CXX:?set CXX}" "${LIB_FUZZING_ENGINE:?set LIB_FUZZING_ENGINE}" "${OUT:?set OUT}"
build=${WORK:-/tmp}/lifecheck-cfl-build
mkdir -p "$OUT"
cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_CXX_FLAGS="${CXXFLAGS:-}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLIFECHECK_FUZZ=ON -DLIFECHECK_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" -DLIFECHECK_SANITIZE= \
    -DLIFECHECK_BUILD_TESTS=OFF -DLIFECHECK_WERROR=OFF
targets="http_bytes lifecycle scenario_loader"
for t in $targets; do
    cmake --build "$build" --target "lifecheck_fuzz_$t" -j"$(nproc)"
    cp "$build/fuzz/lifecheck_fuzz_$t" "$OUT/"
    if [[ -f $root/fuzz/dict/$t.dict ]]; then
        cp "$root/fuzz/dict/$t.dict" "$OUT/lifecheck_fuzz_$t.dict"
    fi
done

# Seed corpora: generated from scenarios/ (nothing binary is committed), plus regressions.
seeds=$build/cfl-seeds
rm -rf "$seeds"
if cmake --build "$build" --target lifecheck_fuzz_seeds -j"$(nproc)"; then
    "$build/fuzz/lifecheck_fuzz_seeds" http_bytes "$seeds/http_bytes" "$root/scenarios"
    "$build/fuzz/lifecheck_fuzz_seeds" lifecycle "$seeds/lifecycle" "$root/scenarios"
else
    echo "build.sh: the seed tool did not build with these flags; http_bytes and lifecycle start without seeds" >&2
fi
mkdir -p "$seeds/scenario_loader"
while IFS= read -r -d '' f; do
    f=${f#./}
    cp "$root/scenarios/$f" "$seeds/scenario_loader/${f//\//_}"
done < <(cd "$root/scenarios" && find . -name '*.json' -print0)
for t in $targets; do
    mkdir -p "$seeds/$t"
    [[ -d $root/fuzz/corpus/$t ]] && cp "$root/fuzz/corpus/$t"/* "$seeds/$t/" 2>/dev/null || true
    [[ -d $root/fuzz/regressions/$t ]] && cp "$root/fuzz/regressions/$t"/* "$seeds/$t/" 2>/dev/null || true
    rm -f "$OUT/lifecheck_fuzz_${t}_seed_corpus.zip"
    (cd "$seeds/$t" && zip -q -j "$OUT/lifecheck_fuzz_${t}_seed_corpus.zip" ./*)
done
echo "build.sh: fuzzers in $OUT: $(cd "$OUT" && ls lifecheck_fuzz_* | tr '\n' ' ')"
