#!/bin/sh
# Runs every integration test file; each prints "NAME: N passed, N failed".
#
# Two lanes, side by side, to keep CI's wall time down (most files wait on runs of a few
# seconds rather than use the CPU): LIGHT files, which drive little load and assert no
# timing tighter than seconds (the history's minute-long schedule test among them), run
# one after another in the background; every other file runs one after another in the
# foreground, as before: the timing-sensitive ones (the open model's lag, percentiles of
# fixed delays, pacing, kill -9 bounds, loop-lag flags) and the browser tests never share
# a moment with each other, only with a light file. The background lane's output is
# printed when it ends. A file not named in LIGHT runs in the foreground.
#
# The curl lane: every file runs with the engine's default HTTP client (the lean client,
# worker/http_lean.c, wherever it can serve); test_lean_http.py runs each of its cases
# under both clients itself. Then the files that best cover the transport run once more
# with STAMPEDE_HTTP_CLIENT=curl, so the libcurl path stays tested: CURL_LIGHT
# (test_cookies, ~6 s, and test_http_features, ~15 s) at the end of the light lane,
# CURL_FOREGROUND (test_local, ~65 s, timing-sensitive) at the end of the foreground.
# Their results are printed under "== STAMPEDE_HTTP_CLIENT=curl". The longest files:
# test_lean_http (~100 s: two 11 s nginx runs of its keep-alive case, the rest short)
# and test_local (~65 s, so ~65 s more for its curl run).
cd "$(dirname "$0")/../.." || exit 1
LIGHT="test_history test_protocol_limits test_relay test_api_security test_results_safety
test_worker_key test_limits test_cookies test_compare test_env_secrets test_open_cli
test_readme test_build test_har test_crash"
CURL_LIGHT="test_cookies test_http_features"
CURL_FOREGROUND="test_local"
# Under the sanitizer build (BIN=bin-san) test_local's curl run is left out (~80 s of CI):
# that build hunts memory errors, and libcurl's path meets it in test_lean_http's cases
# (each under both clients) and in the CURL_LIGHT files; the plain build runs it.
case "${BIN:-bin}" in *-san) CURL_FOREGROUND="" ;; esac
# curl_lane FILES...: runs each file with STAMPEDE_HTTP_CLIENT=curl; non-zero on a failure
curl_lane() {
  curl_st=0
  for n in "$@"; do
    f=tests/integration/$n.py
    [ -f "$f" ] || continue
    echo "== STAMPEDE_HTTP_CLIENT=curl $n"
    STAMPEDE_HTTP_CLIENT=curl python3 "$f" || curl_st=1
  done
  return $curl_st
}
status=0
light_log=$(mktemp)
(
  st=0
  for n in $LIGHT; do
    f=tests/integration/$n.py
    [ -f "$f" ] || continue
    python3 "$f" || st=1
  done
  curl_lane $CURL_LIGHT || st=1
  exit $st
) >"$light_log" 2>&1 &
light_pid=$!
for f in tests/integration/test_*.py; do
  n=$(basename "$f" .py)
  case " $(echo $LIGHT) " in *" $n "*) continue ;; esac
  python3 "$f" || status=1
done
curl_lane $CURL_FOREGROUND || status=1
bash tests/target/test_target.sh "${BIN:-bin}/stampede-target" || status=1
/usr/bin/python3 tests/target/test_ws.py "${BIN:-bin}/stampede-target" || status=1
wait $light_pid || status=1
echo "== the light lane (run beside the files above):"
cat "$light_log"
rm -f "$light_log"
exit $status
