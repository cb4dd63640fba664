#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# pipeline.sh [N...]: times gen-workload | simulate | summarize for N requests
# (default 100000 1000000) on the default engine (llama-3.1-8b-instruct, one H100),
# which saturates near 19 requests/s, at two loads it sustains: RATES (default
# "15 10": about 80 % and 50 % of capacity). Prints a Markdown table: wall time of
# the pipeline, of the pipeline pinned to one core (taskset), and each tool's time
# and peak RSS (from /usr/bin/time) when run alone on a file.
# Run from the top of the tree after `make`: `make bench` does both.
set -eu
cd "$(dirname "$0")/.."
sizes=${*:-100000 1000000}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT INT TERM
t() { /usr/bin/time -f '%e %M' -o "$work/t" "$@"; cat "$work/t"; }

rates=${RATES:-15 10}
echo "| rate req/s | requests | pipeline wall s | pipeline on one core s | gen-workload s / MB | simulate s / MB | summarize s / MB | simulate steps |"
echo "|---|---|---|---|---|---|---|---|"
for rate in $rates; do
for n in $sizes; do
    gen="bin/gen-workload --rate $rate -n $n --seed 1"
    start=$(date +%s.%N)
    $gen | bin/simulate | bin/summarize > "$work/summary.json"
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    one=-
    if command -v taskset >/dev/null 2>&1; then
        start=$(date +%s.%N)
        taskset -c 0 sh -c "$gen | bin/simulate | bin/summarize > /dev/null"
        one=$(echo "$(date +%s.%N) - $start" | bc)
    fi
    g=$(t sh -c "$gen > $work/requests.csv")
    s=$(t sh -c "bin/simulate --stats < $work/requests.csv > $work/results.csv 2> $work/stats")
    m=$(t sh -c "bin/summarize < $work/results.csv > /dev/null")
    steps=$(sed -n 's/.* \([0-9]*\) steps.*/\1/p' "$work/stats")
    mb() { echo "$1" | awk '{printf "%.2f / %.0f", $1, $2 / 1024}'; }
    printf '| %s | %s | %.2f | %s | %s | %s | %s | %s |\n' "$rate" "$n" "$wall" \
        "$(printf '%.2f' "$one" 2>/dev/null || echo -)" "$(mb "$g")" "$(mb "$s")" "$(mb "$m")" "$steps"
done
done
