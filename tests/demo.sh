#!/bin/sh
# make demo: the ERP peak scenario (configs/erp-peak.yaml) against the bundled target
# on 127.0.0.1, then where the results are. Bounded: the scenario runs about a minute
# and the target exits by itself after 10 minutes at the latest.
B=${1:-bin}
cd "$(dirname "$0")/.." || exit 1
out=/tmp/stampede-demo-target.$$
"$B/stampede-target" --listen 127.0.0.1:0 --max-seconds 600 \
    --delay /reports/production=120 --delay /ppic/manufacturing-orders=15 >"$out" 2>&1 &
tpid=$!
trap 'kill $tpid 2>/dev/null; rm -f "$out"' EXIT INT TERM
i=0
while ! grep -q '^listening' "$out" 2>/dev/null; do
  i=$((i+1)); [ $i -gt 50 ] && { echo "demo: target did not start" >&2; cat "$out" >&2; exit 1; }
  sleep 0.1
done
addr=$(sed -n 's/^listening //p' "$out")
echo "demo: ERP target on http://$addr"
"$B/stampede" run configs/erp-peak.yaml --host "http://$addr"
rc=$?
echo "demo: target counted $(curl -s "http://$addr/__target/counters" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])') requests"
exit $rc
