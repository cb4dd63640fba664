#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# cluster.sh [N]: times simulate over a 64-instance cluster on one core:
# N requests (default 1000000) at 800 requests/s (about 65 % of the cluster's
# capacity), each prompt opening with one of 256 shared system prompts of 512
# tokens, routed by prefix-cache scoring (prefix-cache:2,queue-depth:1,
# kv-utilization:1) on 50 ms snapshots. Prints a Markdown table row: wall
# time, user CPU time and peak RSS of simulate alone (from /usr/bin/time -v),
# pinned to one core with taskset when it exists.
# Run from the top of the tree after `make`.
set -eu
cd "$(dirname "$0")/.."
n=${1:-1000000}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT INT TERM
bin/gen-workload --rate 800 -n "$n" --seed 1 --prefix-tokens 512 |
    awk -F, 'BEGIN { OFS = ","; srand(1) } NR > 1 { $5 = "sys" int(rand() * 256) ":512" } { print }' \
    > "$work/requests.csv"
pin=""
command -v taskset >/dev/null 2>&1 && pin="taskset -c 0"
/usr/bin/time -v -o "$work/time" $pin bin/simulate --stats --instances 64 --routing weighted \
    --scorers prefix-cache:2,queue-depth:1,kv-utilization:1 --snapshot-interval-us 50000 \
    < "$work/requests.csv" > "$work/results.csv" 2> "$work/stats"
wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time" |
    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.1f", s }')
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time")
user=$(sed -n 's/.*User time (seconds): //p' "$work/time")
steps=$(sed -n 's/.* \([0-9]*\) steps.*/\1/p' "$work/stats")
hit=$(bin/summarize "$work/results.csv" | jq '.cache.hit_rate * 1000 | round / 1000')
echo "| instances | requests | simulate wall s (one core) | simulate user s | peak RSS MB | steps | cache hit rate |"
echo "|---|---|---|---|---|---|---|"
printf '| 64 | %s | %s | %s | %s | %s | %s |\n' "$n" "$wall" "$user" "$((rss / 1024))" "$steps" "$hit"
