#!/bin/sh
# Builds every tests/fuzz/fuzz_NAME.c into bin/fuzz/fuzz_NAME with clang, libFuzzer,
# ASan and UBSan, linking the repo sources and pkg-config libraries NAME needs.
#
#   sh tests/fuzz/build.sh              build only
#   sh tests/fuzz/build.sh run SECONDS  build, then run each target for SECONDS over a
#                                       scratch copy of tests/fuzz/corpus/NAME/, as many
#                                       side by side as there are cores (FUZZ_PARALLEL)
#
# Findings land in bin/fuzz/artifacts/NAME/ (crash-*, leak-*, timeout-*); the exit
# status is non-zero if a build failed or a target found something. FUZZ_ARGS adds
# libFuzzer options (e.g. FUZZ_ARGS="-jobs=4 -workers=4").
set -u
cd "$(dirname "$0")/../.." || exit 1

CC=${FUZZ_CC:-clang}
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE -I."
OUT=bin/fuzz

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

# The repo sources and pkg-config packages each target links.
sources() {
    case $1 in
    proto) echo "proto/msg.c proto/seal.c common/hist.c common/stats.c common/log.c common/time.c common/util.c" ;;
    scenario) echo "common/scenario.c common/units.c common/tmpl.c common/data.c common/capture.c common/jscan.c common/log.c common/util.c common/time.c" ;;
    ws_handshake) echo "worker/ws.c common/time.c common/util.c" ;;
    jscan) echo "common/jscan.c" ;;
    api) echo "master/api_req.c proto/plan.c common/scenario.c common/units.c common/tmpl.c common/data.c common/capture.c common/jscan.c common/log.c common/util.c common/time.c" ;;
    *) return 1 ;;
    esac
}
packages() {
    case $1 in
    proto) echo "msgpack libcrypto" ;;
    scenario) echo "yaml-0.1 jansson libpcre2-8" ;;
    ws_handshake) echo "libevent libevent_openssl libssl libcrypto" ;;
    api) echo "yaml-0.1 jansson libpcre2-8 libcrypto" ;;
    *) echo "" ;;
    esac
}

mkdir -p "$OUT" || exit 1
status=0
built=""
for src in tests/fuzz/fuzz_*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    name=${name#fuzz_}
    if ! srcs=$(sources "$name"); then
        echo "fuzz: $src: no source list for '$name' in $0" >&2
        status=1
        continue
    fi
    pk=$(packages "$name")
    pkcflags=""
    pklibs=""
    if [ -n "$pk" ]; then
        pkcflags=$(pkg-config --cflags $pk) && pklibs=$(pkg-config --libs $pk) || {
            echo "fuzz: $name: pkg-config $pk failed" >&2
            status=1
            continue
        }
    fi
    echo "  FUZZ $OUT/fuzz_$name"
    # shellcheck disable=SC2086  # word splitting of the lists is intended
    if $CC $CFLAGS $pkcflags -o "$OUT/fuzz_$name" "$src" $srcs $pklibs -lwslay -lm -pthread; then
        built="$built $name"
    else
        echo "fuzz: building $name failed" >&2
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
