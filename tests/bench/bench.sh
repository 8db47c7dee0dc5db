#!/bin/sh
# make bench: Stampede side by side with wrk and Locust against one nginx on 127.0.0.1.
# Usage: sh tests/bench/bench.sh [BIN_DIR]   (env: BENCH_SECONDS=15, BENCH_ROUNDS=3)
# The work is in bench.py (standard library only); see its header for the method.
exec python3 "$(dirname "$0")/bench.py" "$@"
