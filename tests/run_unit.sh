#!/bin/sh
# Runs every unit test binary given; prints one closing line "N passed, N failed".
pass=0; fail=0; failed=""
for t in "$@"; do
  if "$t"; then pass=$((pass+1)); else fail=$((fail+1)); failed="$failed $t"; fi
done
[ -n "$failed" ] && echo "failed unit binaries:$failed"
echo "unit: $pass passed, $fail failed"
[ "$fail" = 0 ]
