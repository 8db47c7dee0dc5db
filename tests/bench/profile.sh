#!/bin/sh
# Where Stampede's time goes on the bench's /ping load: `perf record -g` of one
# `stampede run` (--threads 1, 50 users looping GET /ping, PROFILE_SECONDS = 10 s, the
# whole process pinned to the generator CPU as bench.py pins it) against nginx set up as
# bench.py does (tests/bench/nginx.conf.in in a temporary prefix, one worker pinned to
# the first CPU we may use, 127.0.0.1 and a free port), then the self time (perf report
# --no-children --percent-limit 1.5) as three short tables: by thread, by DSO, and by
# DSO and symbol (share, symbol, DSO).
#
# Usage: sh tests/bench/profile.sh [lean|curl|auto] [BIN_DIR]
#   The first argument is STAMPEDE_HTTP_CLIENT for the run (default lean); BIN_DIR holds
#   stampede (default bin). Env: PROFILE_SECONDS (10, 1..300), PROFILE_PERCENT (1.5: the
#   --percent-limit of the tables).
# Needs: perf (Debian package linux-perf), nginx (nginx-light), taskset (util-linux),
#   python3; as root, or kernel.perf_event_paranoid <= 1 for kernel samples. Nothing but
#   127.0.0.1 is contacted. Every step is bounded by `timeout`; nginx and the temporary
#   folder (perf.data included) are removed on exit, error and interruption.
# Exit: 0 profiled, 1 the run or perf failed, 2 set-up error.
set -u

client=${1:-lean}
bin=${2:-bin}
seconds=${PROFILE_SECONDS:-10}
users=50
limit=${PROFILE_PERCENT:-1.5}

say() { printf 'profile: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

case $client in lean|curl|auto) ;; *) die "client '$client': lean, curl or auto" ;; esac
case $seconds in ''|*[!0-9]*) die "PROFILE_SECONDS=$seconds is not a number" ;; esac
[ "$seconds" -ge 1 ] && [ "$seconds" -le 300 ] || die "PROFILE_SECONDS=$seconds is outside 1..300"
case $limit in ''|*[!0-9.]*|*.*.*|.*|*.) die "PROFILE_PERCENT=$limit is not a number like 1.5" ;; esac

here=$(cd "$(dirname "$0")" && pwd)
stampede=$(cd "$bin" 2>/dev/null && pwd)/stampede
[ -x "$stampede" ] || die "$bin/stampede not found (run make)"
perf=$(command -v perf) || die "perf not found: apt-get install linux-perf"
taskset=$(command -v taskset) || die "taskset not found: apt-get install util-linux"
nginx=$(command -v nginx || command -v /usr/sbin/nginx) || die "nginx not found: apt-get install nginx-light"
command -v python3 >/dev/null || die "python3 not found"
command -v timeout >/dev/null || die "timeout not found (coreutils)"
if [ "$(id -u)" != 0 ] && [ "$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo 2)" -gt 1 ]; then
    say "note: not root and kernel.perf_event_paranoid > 1: user-space samples only"
fi

# The CPUs as bench.py picks them: the first we may use for nginx, the second for the
# generator (both the same on a single CPU).
set -- $(python3 -c 'import os; c = sorted(os.sched_getaffinity(0)); print(c[0], c[1] if len(c) > 1 else c[0])')
target_cpu=$1 gen_cpu=$2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/stampede-profile-XXXXXX") || die "mktemp failed"
nginx_pid=
cleanup() {
    if [ -n "$nginx_pid" ]; then
        # setsid made the nginx master (taskset execs it) the leader of its own group:
        # fast shutdown of that group, then SIGKILL for anything left of it
        # (no "--": dash's kill takes none; a negative pid names the group)
        kill -TERM "-$nginx_pid" 2>/dev/null
        i=0
        while kill -0 "$nginx_pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -KILL "-$nginx_pid" 2>/dev/null
        kill -0 "$nginx_pid" 2>/dev/null || wait "$nginx_pid" 2>/dev/null   # never blocks
        nginx_pid=
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# No proxy may send the load elsewhere.
unset http_proxy https_proxy all_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

ping() {    # GET /ping on 127.0.0.1:$1 answers 200
    python3 - "$1" <<'EOF' 2>/dev/null
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as s:
    s.sendall(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    sys.exit(0 if s.recv(64).startswith(b"HTTP/1.1 200") else 1)
EOF
}

# nginx on a free port; a port taken between the probe and nginx's bind: try again.
port=
for attempt in 1 2 3 4 5; do
    p=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    sed -e "s|@PREFIX@|$tmp|g" -e "s|@PORT@|$p|g" "$here/nginx.conf.in" > "$tmp/nginx.conf"
    setsid "$taskset" -c "$target_cpu" "$nginx" -e stderr -p "$tmp/" -c "$tmp/nginx.conf" \
        -g 'daemon off;' </dev/null >"$tmp/nginx.log" 2>&1 &
    nginx_pid=$!
    i=0
    while [ $i -lt 100 ] && kill -0 "$nginx_pid" 2>/dev/null; do
        if ping "$p"; then port=$p; break; fi
        sleep 0.1; i=$((i + 1))
    done
    [ -n "$port" ] && break
    cleanup_log=$(tail -c 500 "$tmp/nginx.log")
    kill -KILL "-$nginx_pid" 2>/dev/null
    kill -0 "$nginx_pid" 2>/dev/null || wait "$nginx_pid" 2>/dev/null
    nginx_pid=
    case $cleanup_log in *"in use"*) ;; *) die "nginx did not start: $cleanup_log" ;; esac
done
[ -n "$port" ] || die "nginx did not start: no free port"

cat > "$tmp/ping.yaml" <<EOF
name: profile
target: http://127.0.0.1:$port
load: { model: closed, stages: [ { duration: 1ms, users: $users }, { duration: ${seconds}s, users: $users } ], graceful_stop: 2s }
users:
  - name: ping
    flow:
      - loop:
          steps:
            - http: { name: ping, url: /ping }
EOF

say "nginx on 127.0.0.1:$port (CPU $target_cpu); stampede on CPU $gen_cpu, STAMPEDE_HTTP_CLIENT=$client, $users users, ${seconds} s under perf record -g ..."
rc=0
STAMPEDE_HTTP_CLIENT=$client timeout -k 5 $((seconds + 60)) \
    "$perf" record -g -N -q -o "$tmp/perf.data" -- \
    "$taskset" -c "$gen_cpu" "$stampede" run "$tmp/ping.yaml" --threads 1 --out "$tmp/out" --quiet \
    >"$tmp/record.log" 2>&1 || rc=$?
if [ $rc -ne 0 ]; then
    say "stampede run under perf failed (exit $rc): $(tail -c 600 "$tmp/record.log")"
    [ -s "$tmp/perf.data" ] || exit 1
fi

# What the run did (summary.json), so the shares can be read against a rate.
python3 - "$tmp/out/summary.json" "$client" <<'EOF' || rc=1
import json, sys
try:
    s = json.load(open(sys.argv[1]))
    t = s["totals"]
    d = float(s.get("duration_s") or 0)
    print("stampede, STAMPEDE_HTTP_CLIENT=%s: %d requests, %d failures in %.1f s (%s req/s, "
          "slowed by perf)" % (sys.argv[2], int(t["requests"]), int(t.get("failures", 0)), d,
                               "{:,.0f}".format(int(t["requests"]) / d) if d > 0 else "n/a"))
except (OSError, ValueError, KeyError, TypeError) as e:
    print("stampede: no usable summary.json (%s)" % e.__class__.__name__)
    sys.exit(1)
EOF

# perf report --stdio: "  12.34%  <key columns>"; the tables keep the rows over the limit.
report() {  # sort keys
    timeout -k 5 120 "$perf" report -i "$tmp/perf.data" --no-children --percent-limit "$limit" \
        --stdio -g none --sort "$1" 2>"$tmp/report.err"
}
table() {   # $1: header; stdin: perf report lines; awk program $2 prints each row
    printf '\n%s\n' "$1"
    grep -E '^ +[0-9.]+%' | awk "$2"
}

out=$(report comm) || { say "perf report failed: $(tail -c 400 "$tmp/report.err")"; exit 1; }
# "# Samples: 40K of event 'cpu-clock'" (cpu-clock: a VM without hardware counters)
samples=$(printf '%s\n' "$out" | sed -n 's/^# Samples: \(.*\)$/\1/p' | head -1)
printf '\nperf: %s; self time of the whole process, entries >= %s %% (perf report --no-children --percent-limit %s)\n' \
    "${samples:-? samples}" "$limit" "$limit"
printf '%s\n' "$out" | table "| share | thread |
|---:|---|" '{ s = $1; $1 = ""; sub(/^ /, ""); printf "| %s | %s |\n", s, $0 }'

out=$(report dso) || exit 1
printf '%s\n' "$out" | table "| share | DSO |
|---:|---|" '{ printf "| %s | %s |\n", $1, $2 }'

out=$(report dso,sym) || exit 1
printf '%s\n' "$out" | table "| share | symbol | DSO |
|---:|---|---|" '{ s = $1; d = $2; $1 = $2 = $3 = ""; sub(/^ +/, ""); printf "| %s | %s | %s |\n", s, $0, d }'
exit $rc
