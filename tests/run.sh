#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# run.sh UNIT_BINARY...: run the C unit tests, then every bats file under
# tests/bats, all as TAP; print the TAP stream and end with
# "N passed, N failed[, N skipped]". Exit 1 when anything failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp); trap 'rm -f "$log"' EXIT INT TERM
for t in "$@"; do
    echo "# unit: $t"
    "$t" || true
done 2>&1 | tee -a "$log"
if ls "$top"/tests/bats/*.bats >/dev/null 2>&1; then
    echo "# bats: tests/bats"
    bats --tap "$top"/tests/bats 2>&1 | tee -a "$log"
fi
skipped=$(grep -Ec '^ok [0-9]+ .*# [Ss][Kk][Ii][Pp]' "$log")
passed=$(( $(grep -Ec '^ok [0-9]+' "$log") - skipped ))
failed=$(grep -Ec '^not ok [0-9]+' "$log")
# a unit binary that crashed before its plan line is a failure too
crashed=$(grep -c '^# unit: ' "$log")
plans=$(grep -Ec '^1\.\.[0-9]+' "$log")
expected=$(( crashed + 1 ))
ls "$top"/tests/bats/*.bats >/dev/null 2>&1 || expected=$crashed
if [ "$plans" -lt "$expected" ]; then
    echo "not ok - a test program ended before reporting its plan (crash?)"
    failed=$((failed + 1))
fi
echo
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
