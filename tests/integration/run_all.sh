#!/bin/sh
# Runs every integration test file; each prints "NAME: N passed, N failed".
cd "$(dirname "$0")/../.." || exit 1
status=0
for f in tests/integration/test_*.py; do
  python3 "$f" || status=1
done
bash tests/target/test_target.sh "${BIN:-bin}/stampede-target" || status=1
/usr/bin/python3 tests/target/test_ws.py "${BIN:-bin}/stampede-target" || status=1
exit $status
