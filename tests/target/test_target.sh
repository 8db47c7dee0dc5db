#!/usr/bin/env bash
# Checks stampede-target from the outside with curl: login, auth, every ERP route, delay
# and error injection (command line and run time), exact counters, reset, the status,
# redirect and HEAD routes, shutdown on SIGTERM and on --max-seconds. Usage: tests/target/test_target.sh [path/to/stampede-target]
# Prints "target: N passed, M failed"; exits non-zero when anything failed.
set -u
BIN=${1:-bin/stampede-target}
pass=0; fail=0
TMP=$(mktemp -d)
PIDS=""

cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect NAME GOT WANT
expect() { if [ "$2" = "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi; }
# jq-like: echo JSON | js 'python expression over d'
js() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" 2>/dev/null || echo "(bad json)"; }

# start_target ARGS...: starts the target on an ephemeral port; sets TPID and B (base URL).
start_target() {
    local out="$TMP/out.$#.$RANDOM"
    : >"$out"                       # exists before the child opens it: sed never races it
    "$BIN" --listen 127.0.0.1:0 --max-seconds 120 "$@" >"$out" 2>"$TMP/err" &
    TPID=$!
    PIDS="$PIDS $TPID"
    local i=0 port=""
    while [ $i -lt 100 ]; do
        port=$(sed -n 's/^listening 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$out")
        [ -n "$port" ] && break
        sleep 0.05; i=$((i + 1))
    done
    if [ -z "$port" ]; then
        bad "target did not print 'listening 127.0.0.1:PORT' (args: $*)"; cat "$TMP/err"
        echo "target: $pass passed, $fail failed"; exit 1
    fi
    expect "exactly one stdout line" "$(wc -l <"$out" | tr -d ' ')" 1
    B="http://127.0.0.1:$port"
}
stop_target() {
    kill -TERM "$TPID" 2>/dev/null
    wait "$TPID"; local rc=$?
    expect "exit status after SIGTERM" "$rc" 0
    if grep -q Sanitizer "$TMP/err"; then bad "sanitizer report:"; cat "$TMP/err"; fi
}

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
login() { # login USER PASSWORD -> token (empty on failure)
    curl -s -X POST "$B/auth/login" -H 'Content-Type: application/json' \
         -d "{\"username\":\"$1\",\"password\":\"$2\"}" | js 'd["access_token"]'
}

[ -x "$BIN" ] || { echo "target: $BIN is not an executable (build it first)"; exit 1; }

# --- routes, login and auth --------------------------------------------------------
start_target
expect "GET /ping" "$(curl -s "$B/ping")" pong
expect "GET /static/ok" "$(code "$B/static/ok")" 200
expect "GET /static/other" "$(code "$B/static/other")" 404

r=$(curl -s -X POST "$B/auth/login" -d '{"username":"alice","password":"pw-alice"}')
expect "login pw-<username> token" "$(echo "$r" | js 'd["access_token"].startswith("tok-alice-")')" True
expect "login token_type" "$(echo "$r" | js 'd["token_type"]')" bearer
expect "login role" "$(echo "$r" | js 'd["role"]')" operator
expect "login role by prefix" "$(login cutting-07 secret | cut -c1-14)" "tok-cutting-07"
expect "login with 'secret'" "$(code -X POST "$B/auth/login" -d '{"username":"bob","password":"secret"}')" 200
expect "login wrong password" "$(code -X POST "$B/auth/login" -d '{"username":"bob","password":"pw-alice"}')" 401
expect "login not JSON" "$(code -X POST "$B/auth/login" -d 'username=bob')" 400
expect "login missing password" "$(code -X POST "$B/auth/login" -d '{"username":"bob"}')" 400
expect "login bad username" "$(code -X POST "$B/auth/login" -d '{"username":"a b","password":"secret"}')" 400
expect "login wrong method" "$(code "$B/auth/login")" 405

TOK=$(login op001 pw-op001)
H="Authorization: Bearer $TOK"
for path in /ppic/manufacturing-orders /ppic/manufacturing-orders/42 /warehouse/stock /qc/tests; do
    expect "GET $path without token" "$(code "$B$path")" 401
    expect "GET $path with unknown token" "$(code -H 'Authorization: Bearer tok-op001-999' "$B$path")" 401
    expect "GET $path with token" "$(code -H "$H" "$B$path")" 200
done
expect "POST /production/cutting without token" \
    "$(code -X POST -d '{"order_id":1}' "$B/production/cutting")" 401
expect "POST /reports/production without token" "$(code -X POST "$B/reports/production")" 401

r=$(curl -s -H "$H" "$B/ppic/manufacturing-orders?page=3")
expect "orders page 3 ids" "$(echo "$r" | js '[o["id"] for o in d["items"]][:2]')" "[21, 22]"
expect "orders page size" "$(echo "$r" | js 'len(d["items"])')" 10
expect "orders bad page" "$(code -H "$H" "$B/ppic/manufacturing-orders?page=x")" 400
expect "order 42" "$(curl -s -H "$H" "$B/ppic/manufacturing-orders/42" | js 'd["id"]')" 42
expect "order 0 not found" "$(code -H "$H" "$B/ppic/manufacturing-orders/0")" 404
expect "order 10001 not found" "$(code -H "$H" "$B/ppic/manufacturing-orders/10001")" 404
expect "stock items" "$(curl -s -H "$H" "$B/warehouse/stock?search=fab" | js 'len(d["items"])')" 10
r=$(curl -s -w ' %{http_code}' -H "$H" -X POST -H 'Content-Type: application/json' \
        -d '{"order_id":42,"qty":25}' "$B/production/cutting")
expect "cutting status" "${r##* }" 201
expect "cutting id" "$(echo "${r% *}" | js 'd["id"] > 0')" True
expect "cutting bad body" "$(code -H "$H" -X POST -d '[1,2]' "$B/production/cutting")" 400
expect "qc tests" "$(curl -s -H "$H" "$B/qc/tests" | js 'len(d["items"])')" 10
expect "report" "$(curl -s -H "$H" -X POST -d '{"month":"2026-01"}' "$B/reports/production" | js 'd["status"]')" ready
expect "report bad body" "$(code -H "$H" -X POST -d 'x' "$B/reports/production")" 400
expect "unknown path" "$(code -H "$H" "$B/nope")" 404
expect "wrong method" "$(code -H "$H" -X DELETE "$B/qc/tests")" 405

# --- counters ---------------------------------------------------------------------
expect "reset" "$(code -X POST "$B/__target/reset")" 200
c=$(curl -s "$B/__target/counters")
expect "counters empty after reset" "$(echo "$c" | js '(d["total"], d["routes"])')" "(0, {})"
for i in 1 2 3; do curl -s -o /dev/null -H "$H" "$B/ppic/manufacturing-orders/$i"; done
curl -s -o /dev/null "$B/ppic/manufacturing-orders/7"          # 401
curl -s -o /dev/null -H "$H" "$B/ppic/manufacturing-orders?page=2"
curl -s "$B/ping" "$B/ping" >/dev/null                         # one connection, two requests
curl -s -o /dev/null -X POST -d '{"username":"x","password":"nope"}' "$B/auth/login"
curl -s -o /dev/null "$B/__target/counters"                    # control: not counted
c=$(curl -s "$B/__target/counters")
expect "counters total" "$(echo "$c" | js 'd["total"]')" 8
expect "counters {id} route" \
    "$(echo "$c" | js 'd["routes"]["GET /ppic/manufacturing-orders/{id}"]')" \
    "{'requests': 4, 'status': {'200': 3, '401': 1}}"
expect "counters list route (query dropped)" \
    "$(echo "$c" | js 'd["routes"]["GET /ppic/manufacturing-orders"]["status"]')" "{'200': 1}"
expect "counters ping" "$(echo "$c" | js 'd["routes"]["GET /ping"]["requests"]')" 2
expect "counters login 401" "$(echo "$c" | js 'd["routes"]["POST /auth/login"]["status"]["401"]')" 1
expect "counters sum of routes" "$(echo "$c" | js 'sum(r["requests"] for r in d["routes"].values()) == d["total"]')" True
expect "counters statuses add up" \
    "$(echo "$c" | js 'all(sum(r["status"].values()) == r["requests"] for r in d["routes"].values())')" True
expect "counters key count" "$(echo "$c" | js 'len(d["routes"])')" 4

# --- run-time configuration --------------------------------------------------------
r=$(curl -s -X POST -d '{"route":"/warehouse/stock","delay_ms":300}' "$B/__target/config")
expect "config reply" "$(echo "$r" | js '(d["route"], d["delay_ms"])')" "('/warehouse/stock', 300)"
t=$(curl -s -o /dev/null -w '%{time_total}' -H "$H" "$B/warehouse/stock")
expect "run-time delay >= 300 ms (took ${t}s)" "$(python3 -c "print($t >= 0.29)")" True
expect "config bad route" "$(code -X POST -d '{"route":"qc","delay_ms":1}' "$B/__target/config")" 400
expect "config bad rate" "$(code -X POST -d '{"route":"/qc/tests","error_rate":2}' "$B/__target/config")" 400
curl -s -o /dev/null -X POST -d '{"route":"/warehouse/stock","delay_ms":0}' "$B/__target/config"
curl -s -o /dev/null -X POST -d '{"route":"/qc/tests","error_rate":0.1}' "$B/__target/config"
curl -s -o /dev/null -X POST "$B/__target/reset"
codes=""
for i in $(seq 1 30); do codes="$codes $(code -H "$H" "$B/qc/tests")"; done
expect "run-time error 0.1: the 10th, 20th, 30th fail" \
    "$(echo "${codes# }" | tr ' ' '\n' | grep -n 503 | cut -d: -f1 | tr '\n' ' ')" "10 20 30 "
c=$(curl -s "$B/__target/counters")
expect "counters after errors" "$(echo "$c" | js 'd["routes"]["GET /qc/tests"]["status"]')" \
    "{'200': 27, '503': 3}"
expect "config listing" "$(curl -s "$B/__target/config" | js 'len(d["rules"])')" 2

# --- arrivals per millisecond/second and the stall ----------------------------------
curl -s -o /dev/null -X POST "$B/__target/reset"
a=$(curl -s "$B/__target/arrivals")
expect "arrivals empty after reset" "$(echo "$a" | js '(d["total"], d["counts"], d["first_mono_us"])')" "(0, [], None)"
for i in 1 2 3 4 5; do curl -s -o /dev/null "$B/ping"; done
curl -s -o /dev/null "$B/nope"                                  # a 404 arrives too
curl -s -o /dev/null "$B/__target/counters"                    # control: not an arrival
a=$(curl -s "$B/__target/arrivals")
expect "arrivals total = API requests" "$(echo "$a" | js '(d["total"], sum(d["counts"]), d["bucket_ms"], d["of"])')" "(6, 6, 1000, 'http')"
expect "arrivals t0 is the first arrival's millisecond" \
    "$(echo "$a" | js '0 <= d["first_mono_us"] - d["t0_mono_us"] < 1000')" True
first=$(echo "$a" | js 'd["first_mono_us"]')
a1=$(curl -s "$B/__target/arrivals?bucket_ms=1&t0=$first")
expect "1 ms buckets from an explicit t0 hold every arrival" "$(echo "$a1" | js '(sum(d["counts"]), d["counts"][0] >= 1)')" "(6, True)"
late=$(echo "$a" | js 'd["last_mono_us"] + 5000')
expect "t0 after the last arrival: no buckets" "$(curl -s "$B/__target/arrivals?t0=$late" | js 'd["counts"]')" "[]"
expect "target's monotonic clock is this machine's CLOCK_MONOTONIC" \
    "$(curl -s "$B/__target/arrivals" | python3 -c 'import json,sys,time; d=json.load(sys.stdin); print(abs(time.monotonic()*1e6 - d["now_mono_us"]) < 2e6)')" True
expect "arrivals of=ws (no WebSocket yet)" "$(curl -s "$B/__target/arrivals?of=ws" | js '(d["of"], d["total"])')" "('ws', 0)"
expect "arrivals bad of" "$(code "$B/__target/arrivals?of=tcp")" 400
expect "arrivals bad bucket_ms" "$(code "$B/__target/arrivals?bucket_ms=0")" 400
expect "arrivals bad t0" "$(code "$B/__target/arrivals?t0=soon")" 400
expect "stall bad body" "$(code -X POST -d '{"ms":-1}' "$B/__target/stall")" 400
expect "stall without body" "$(code -X POST "$B/__target/stall")" 400
# mono_get URL: fetches URL, prints the CLOCK_MONOTONIC microsecond at which the answer came
mono_get() { python3 -c 'import sys, time, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10).read(); print(int(time.monotonic() * 1e6))' "$1"; }
r=$(curl -s -X POST -d '{"ms":1500}' "$B/__target/stall")
expect "stall reply" "$(echo "$r" | js 'd["stall_ms"]')" 1500
until=$(echo "$r" | js 'd["until_mono_us"]')
mono_get "$B/ping" >"$TMP/stall1" &
SP=$!
# wait (bounded, well inside the stall) for python to start and its request to arrive:
# a fixed sleep raced python's start-up on a busy machine
i=0
while [ $i -lt 24 ] && [ "$(curl -s "$B/__target/counters" | js 'd["pending"]')" != 1 ]; do sleep 0.05; i=$((i + 1)); done
c=$(curl -s "$B/__target/counters"); a=$(curl -s "$B/__target/arrivals")
expect "stalled request: arrived and pending, not yet answered" \
    "$(echo "$c" | js '(d["pending"], d["total"])'),$(echo "$a" | js 'd["total"]')" "(1, 6),7"
t=$(mono_get "$B/ping")
expect "request arriving mid-stall answered when it ends" "$(python3 -c "print($t >= $until)")" True
wait "$SP"
t=$(cat "$TMP/stall1")
expect "first stalled request answered when the stall ends" "$(python3 -c "print($t >= $until)")" True
t=$(curl -s -o /dev/null -w '%{time_total}' "$B/ping")
expect "after the stall: immediate again (took ${t}s)" "$(python3 -c "print($t < 0.3)")" True
curl -s -o /dev/null -X POST -d '{"ms":60000}' "$B/__target/stall"
expect "stall ms 0 ends it" "$(curl -s -X POST -d '{"ms":0}' "$B/__target/stall" | js 'd["stall_ms"]')" 0
t=$(curl -s -o /dev/null -w '%{time_total}' "$B/ping")
expect "ended stall: immediate (took ${t}s)" "$(python3 -c "print($t < 0.3)")" True
c=$(curl -s "$B/__target/counters")
expect "stalled requests counted once when answered" "$(echo "$c" | js '(d["pending"], d["total"])')" "(0, 10)"
curl -s -o /dev/null -X POST -d '{"route":"/qc/tests","delay_ms":200}' "$B/__target/config"
curl -s -o /dev/null -X POST -d '{"ms":300}' "$B/__target/stall"
t=$(curl -s -o /dev/null -w '%{time_total}' -H "$H" "$B/qc/tests")
expect "stall adds to a route's delay (took ${t}s)" "$(python3 -c "print(0.48 <= $t)")" True
curl -s -o /dev/null -X POST -d '{"route":"/qc/tests","delay_ms":0}' "$B/__target/config"

# A client that gives up during a delay is counted once, when the answer is sent.
curl -s -o /dev/null -X POST -d '{"route":"/qc/tests","delay_ms":600,"error_rate":0}' "$B/__target/config"
curl -s -o /dev/null -X POST "$B/__target/reset"
curl -s -o /dev/null --max-time 0.1 -H "$H" "$B/qc/tests"
c=$(curl -s "$B/__target/counters")
expect "abandoned request pending, not yet counted" "$(echo "$c" | js '(d["total"], d["pending"])')" "(0, 1)"
sleep 0.8
c=$(curl -s "$B/__target/counters")
expect "abandoned request counted once when answered" \
    "$(echo "$c" | js '(d["total"], d["pending"], d["routes"]["GET /qc/tests"]["status"])')" \
    "(1, 0, {'200': 1})"
stop_target

# --- command-line injection ---------------------------------------------------------
start_target --delay /qc/tests=250 --delay '/ppic/manufacturing-orders/=100' \
             --error '/ppic/manufacturing-orders/=0.25' --error '*=0.5'
TOK=$(login qc-01 pw-qc-01)
H="Authorization: Bearer $TOK"
expect "login under '*' rule (first of two passes)" "${TOK:0:9}" "tok-qc-01"
t=$(curl -s -o /dev/null -w '%{time_total}' -H "$H" "$B/qc/tests")
expect "--delay /qc/tests=250 (took ${t}s)" "$(python3 -c "print($t >= 0.24)")" True
t=$(curl -s -o /dev/null -w '%{time_total}' -H "$H" "$B/ppic/manufacturing-orders/5")
expect "prefix rule delays {id} route (took ${t}s)" "$(python3 -c "print($t >= 0.09)")" True
curl -s -o /dev/null -X POST "$B/__target/reset"
urls=""
for i in $(seq 1 20); do urls="$urls $B/ppic/manufacturing-orders/$i"; done
# shellcheck disable=SC2086
curl -s -H "$H" $urls >/dev/null                                # 20 requests, keep-alive
c=$(curl -s "$B/__target/counters")
expect "--error 0.25 over 20 requests" \
    "$(echo "$c" | js 'd["routes"]["GET /ppic/manufacturing-orders/{id}"]["status"]')" \
    "{'200': 15, '503': 5}"
codes=""
for i in 1 2 3 4 5 6; do codes="$codes$(code -H "$H" "$B/warehouse/stock")"; done
expect "'*' rule 0.5 on an unnamed route" "$codes" "200503200503200503"
expect "exact list route not caught by prefix rule" "$(code -H "$H" "$B/ppic/manufacturing-orders")" 200
stop_target

expect "bad --error rate refused" "$("$BIN" --error /qc/tests=1.5 >/dev/null 2>&1; echo $?)" 2
expect "bad --delay refused" "$("$BIN" --delay qc=5 >/dev/null 2>&1; echo $?)" 2
expect "bad --listen refused" "$("$BIN" --listen nowhere >/dev/null 2>&1; echo $?)" 2

# --- issue 12: cookie session, /app/ page, the journal-entries API --------------------
start_target --api-key k-one --api-key k-two
J="$TMP/jar"
r=$(curl -s -D "$TMP/hdr" -c "$J" -X POST "$B/session/login" -d '{"username":"ann","password":"secret"}')
expect "session login body" "$(echo "$r" | js 'd["username"]')" ann
expect "session login sets sid and csrf" "$(grep -ci '^set-cookie: \(sid\|csrf\)=[0-9a-f]\{32\}; Path=/session' "$TMP/hdr")" 2
expect "csrf has an expiry, sid none" "$(grep -i '^set-cookie: csrf=' "$TMP/hdr" | grep -c 'Expires=')$(grep -i '^set-cookie: sid=' "$TMP/hdr" | grep -c 'Expires=')" 10
expect "session page with both cookies" "$(code -b "$J" "$B/session/page")" 200
expect "session page without cookies" "$(code "$B/session/page")" 403
sid=$(awk '$6 == "sid" { print $7 }' "$J"); csrf=$(awk '$6 == "csrf" { print $7 }' "$J")
expect "session page with sid only" "$(code -b "sid=$sid" "$B/session/page")" 403
expect "session page with a forged csrf" "$(code -b "sid=$sid; csrf=0$csrf" "$B/session/page")" 403
expect "session page with the pair by hand" "$(code -b "csrf=$csrf; sid=$sid" "$B/session/page")" 200
expect "session login empty body (guest)" "$(curl -s -X POST "$B/session/login" | js 'd["username"]')" guest
expect "session login wrong password" "$(code -X POST "$B/session/login" -d '{"username":"ann","password":"x"}')" 401
expect "session login not JSON" "$(code -X POST "$B/session/login" -d 'x')" 400

expect "GET /app/ is HTML" "$(curl -s -o /dev/null -w '%{content_type}' "$B/app/")" "text/html; charset=utf-8"
expect "/app/ script logs in through the API" "$(curl -s "$B/app/" | grep -c "/api/auth/login")" 1
expect "GET /app/app.css" "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$B/app/app.css")" "200 text/css"
expect "GET / (UI page)" "$(code "$B/")" 200
expect "GET /dashboard/ (UI page)" "$(code "$B/dashboard/")" 200

a1=$(curl -s -X POST "$B/api/auth/login" -d '{"username":"clerk01","password":"pw-clerk01"}')
a2=$(curl -s -X POST "$B/api/auth/login" -d '{"username":"clerk01","password":"pw-clerk01"}')
T1=$(echo "$a1" | js 'd["access_token"]'); T2=$(echo "$a2" | js 'd["access_token"]')
expect "api login token is JWT-shaped" "$(echo "$T1" | grep -c '^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[0-9a-f]\{32\}$')" 1
expect "api login tokens random per login" "$([ "$T1" != "$T2" ] && echo differ)" differ
expect "api login wrong password" "$(code -X POST "$B/api/auth/login" -d '{"username":"clerk01","password":"no"}')" 401
AH="Authorization: Bearer $T1"
l=$(curl -s -H "$AH" "$B/api/journal-entries/?page=1")
expect "entries list newest first" "$(echo "$l" | js '[e["id"] for e in d["results"]][:3]')" "[10000, 9999, 9998]"
expect "entries list count/next" "$(echo "$l" | js '(d["count"], d["next"], d["previous"])')" "(10000, '/api/journal-entries/?page=2', None)"
expect "entries last page" "$(curl -s -H "$AH" "$B/api/journal-entries/?page=1000" | js '[e["id"] for e in d["results"]][-1]')" 1
expect "entries bad page" "$(code -H "$AH" "$B/api/journal-entries/?page=0")" 400
expect "entry by id" "$(curl -s -H "$AH" "$B/api/journal-entries/9997/" | js 'd["number"]')" JE-2026-09997
expect "entry with the API key" "$(code -H 'X-API-Key: k-two' "$B/api/journal-entries/42/")" 200
expect "entry with the default key (not given)" "$(code -H 'X-API-Key: erp-dev-key' "$B/api/journal-entries/42/")" 401
expect "entry without auth" "$(code "$B/api/journal-entries/42/")" 401
expect "entry without trailing slash" "$(code -H "$AH" "$B/api/journal-entries/42")" 404
expect "entry 0" "$(code -H "$AH" "$B/api/journal-entries/0/")" 404
c=$(curl -s -H "$AH" -X POST "$B/api/journal-entries/" -d '{"date":"2026-03-31"}')
NEW=$(echo "$c" | js 'd["id"]')
expect "create entry" "$NEW" 10001
expect "create entry not JSON" "$(code -H "$AH" -X POST "$B/api/journal-entries/" -d 'x')" 400
expect "created entry exists" "$(code -H "$AH" "$B/api/journal-entries/$NEW/")" 200
expect "entry beyond created" "$(code -H "$AH" "$B/api/journal-entries/$((NEW + 1))/")" 404
expect "PATCH entry" "$(code -H "$AH" -X PATCH "$B/api/journal-entries/$NEW/" -d '{"status":"posted"}')" 200
expect "PUT entry" "$(code -H "$AH" -X PUT "$B/api/journal-entries/7/" -d '{"description":"x"}')" 200
expect "PUT entry not JSON" "$(code -H "$AH" -X PUT "$B/api/journal-entries/7/" -d 'x')" 400
expect "DELETE entry" "$(code -H "$AH" -X DELETE "$B/api/journal-entries/$NEW/")" 204
expect "POST on an entry" "$(code -H "$AH" -X POST "$B/api/journal-entries/7/" -d '{}')" 405
csv=$(curl -s -H "$AH" "$B/api/reports/monthly.csv?year=2024&month=2")
expect "monthly CSV header" "$(echo "$csv" | head -1 | tr -d '\r')" "date,entries,debit,credit"
expect "monthly CSV rows (leap February)" "$(echo "$csv" | tail -n +2 | grep -c '^2024-02-')" 29
expect "monthly CSV type" "$(curl -s -o /dev/null -w '%{content_type}' -H "$AH" "$B/api/reports/monthly.csv")" "text/csv; charset=utf-8"
expect "monthly CSV bad month" "$(code -H "$AH" "$B/api/reports/monthly.csv?month=13")" 400
s1=$(curl -s -H "$AH" "$B/api/search/?q=fabric"); s2=$(curl -s -H "$AH" "$B/api/search/?q=fabric")
expect "search deterministic" "$s1" "$s2"
expect "search count matches results" "$(echo "$s1" | js 'd["count"] == len(d["results"])')" True
expect "search without q" "$(code -H "$AH" "$B/api/search/")" 400
c=$(curl -s "$B/__target/counters")
expect "counted: session page" "$(echo "$c" | js 'd["routes"]["GET /session/page"]["status"]')" "{'200': 2, '403': 3}"
expect "counted: entry {id} GETs" "$(echo "$c" | js 'd["routes"]["GET /api/journal-entries/{id}/"]["requests"]')" 7
expect "counted: logins by user" "$(curl -s "$B/__target/logins" | js 'd["clerk01"]')" 2
stop_target
expect "bad --api-key refused" "$("$BIN" --api-key '' >/dev/null 2>&1; echo $?)" 2

# --- /status/{code}, /redirect/PATH, HEAD /ping (the client test matrix) -----------
start_target
expect "GET /status/500" "$(code "$B/status/500")" 500
expect "GET /status/404" "$(code "$B/status/404")" 404
expect "GET /status/201 body" "$(curl -s "$B/status/201")" '{"status":201}'
expect "GET /status/204 no body" "$(curl -s -w '%{http_code}:%{size_download}' "$B/status/204")" "204:0"
expect "GET /status/700" "$(code "$B/status/700")" 400
expect "GET /status/99" "$(code "$B/status/99")" 400
expect "GET /status/x (not a route)" "$(code "$B/status/x")" 404
expect "redirect Location" "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$B/redirect/static/ok?a=1")" "302 $B/static/ok?a=1"
expect "redirect followed" "$(curl -s -L "$B/redirect/ping")" "pong"
expect "redirect without a target" "$(code "$B/redirect/")" 404
expect "HEAD /ping" "$(curl -s -I -o /dev/null -w '%{http_code}:%{size_download}' "$B/ping")" "200:0"
c=$(curl -s "$B/__target/counters")
expect "counted: status" "$(echo "$c" | js 'd["routes"]["GET /status/{id}"]["status"]')" "{'201': 1, '204': 1, '400': 2, '404': 1, '500': 1}"
expect "counted: redirects" "$(echo "$c" | js 'd["routes"]["GET /redirect/static/ok"]["status"]')" "{'302': 1}"
expect "counted: followed" "$(echo "$c" | js 'd["routes"]["GET /ping"]["status"]')" "{'200': 1}"
expect "counted: HEAD" "$(echo "$c" | js 'd["routes"]["HEAD /ping"]["status"]')" "{'200': 1}"
stop_target

# --- --max-seconds ------------------------------------------------------------------
start_target --max-seconds 1 --delay /ping=5000
curl -s -o /dev/null --max-time 3 "$B/ping" &
CP=$!
i=0
while kill -0 "$TPID" 2>/dev/null && [ $i -lt 60 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$TPID" 2>/dev/null; then bad "--max-seconds 1: still running after 6 s"
else wait "$TPID"; expect "--max-seconds exit status" "$?" 0; fi
if grep -q Sanitizer "$TMP/err"; then bad "sanitizer report:"; cat "$TMP/err"; fi
wait "$CP" 2>/dev/null

echo "target: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
