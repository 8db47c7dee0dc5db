#!/bin/sh
# make bench: Stampede side by side with wrk and Locust against one nginx on 127.0.0.1,
# Stampede once with its lean HTTP client and once with libcurl (STAMPEDE_HTTP_CLIENT).
# Usage: sh tests/bench/bench.sh [BIN_DIR]   (env: BENCH_SECONDS=15, BENCH_ROUNDS=3,
# BENCH_ONLY=http for the HTTP rounds and memory runs alone, BENCH_ONLY=ws for the
# WebSocket parts alone)
# The work is in bench.py (standard library only); see its header for the method.
# tests/bench/profile.sh [lean|curl|auto] profiles one Stampede run of the same load.
# The master-merge run uses BIN_DIR/merge_bench, which `make bench-bins` links from the
# library's own source list (MERGE_BENCH_EXE names another build of it).
bin=${1:-bin}
if [ -z "${MERGE_BENCH_EXE:-}" ] && [ -x "$bin/merge_bench" ]; then
    MERGE_BENCH_EXE=$(cd "$bin" && pwd)/merge_bench     # absolute: the bench runs it from a scratch folder
    export MERGE_BENCH_EXE
fi
exec python3 "$(dirname "$0")/bench.py" "$@"
