#!/bin/sh
# Builds every tests/fuzz/fuzz_NAME.c into bin/fuzz/fuzz_NAME with clang, libFuzzer,
# ASan and UBSan, through the Makefile's fuzz-bins: each target links a clang build of
# the library's own source list (LIB_SRC), so no target lists sources here and a split
# of a source file cannot break the fuzz build while `make` passes.
#
#   sh tests/fuzz/build.sh              build only
#   sh tests/fuzz/build.sh run SECONDS  build, then run each target for SECONDS over a
#                                       scratch copy of tests/fuzz/corpus/NAME/, as many
#                                       side by side as there are cores (FUZZ_PARALLEL)
#
# Findings land in bin/fuzz/artifacts/NAME/ (crash-*, leak-*, timeout-*); the exit
# status is non-zero if a build failed or a target found something. FUZZ_ARGS adds
# libFuzzer options (e.g. FUZZ_ARGS="-jobs=4 -workers=4"). FUZZ_CC (clang), FUZZ_O
# (obj-fuzz, the instrumented objects) and FUZZ_B (bin/fuzz, the targets and their
# findings) are passed to make.
set -u
cd "$(dirname "$0")/../.." || exit 1

OUT=${FUZZ_B:-bin/fuzz}

mode=build
secs=0
if [ "${1:-}" = run ]; then
    mode=run
    secs=${2:-60}
    case $secs in
    '' | *[!0-9]*) echo "usage: $0 [run SECONDS]" >&2; exit 2 ;;
    esac
elif [ $# -gt 0 ]; then
    echo "usage: $0 [run SECONDS]" >&2
    exit 2
fi

status=0
# Inside `make fuzz` the parent's job server decides the parallelism; alone, one job
# per core. One make per target: the first builds the library, and a target that fails
# to build does not keep the others from building (and running); its failure still
# sets the exit status.
jobs=""
[ -n "${MAKEFLAGS:-}" ] || jobs=-j$(nproc 2>/dev/null || echo 1)
built=""
for src in tests/fuzz/fuzz_*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    name=${name#fuzz_}
    if ${MAKE:-make} --no-print-directory $jobs FUZZ_CC="${FUZZ_CC:-clang}" FUZZ_O="${FUZZ_O:-obj-fuzz}" FUZZ_B="$OUT" \
            "$OUT/fuzz_$name"; then
        built="$built $name"
    else
        echo "fuzz: building $OUT/fuzz_$name failed" >&2
        status=1
    fi
done

[ "$mode" = run ] || exit $status

# One target, its output kept in a log printed when it ends (targets run side by side).
fuzz_one() {
    name=$1
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/stampede-fuzz-$name.XXXXXX") || return 1
    if [ -d "tests/fuzz/corpus/$name" ]; then
        cp -R "tests/fuzz/corpus/$name/." "$scratch/"
    fi
    art="$OUT/artifacts/$name/"
    mkdir -p "$art"
    echo "fuzz: running fuzz_$name for ${secs}s over a copy of tests/fuzz/corpus/$name"
    rc=0
    # shellcheck disable=SC2086
    "$OUT/fuzz_$name" -max_total_time="$secs" -print_final_stats=1 \
        -artifact_prefix="$art" ${FUZZ_ARGS:-} "$scratch" >"$OUT/fuzz_$name.log" 2>&1 || rc=1
    tail -n 25 "$OUT/fuzz_$name.log"
    rm -rf "$scratch"
    if [ $rc = 0 ]; then
        echo "fuzz: $name: nothing found"
    else
        echo "fuzz: $name: FOUND A PROBLEM; reproducer in $art (log: $OUT/fuzz_$name.log)" >&2
    fi
    return $rc
}

# FUZZ_PARALLEL targets at a time (default: the number of cores), each for SECONDS.
par=${FUZZ_PARALLEL:-$(nproc 2>/dev/null || echo 1)}
running=0
pids=""
for name in $built; do
    fuzz_one "$name" &
    pids="$pids $!"
    running=$((running + 1))
    if [ "$running" -ge "$par" ]; then
        for p in $pids; do wait "$p" || status=1; done
        pids=""
        running=0
    fi
done
for p in $pids; do wait "$p" || status=1; done
exit $status
