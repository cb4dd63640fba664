#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# point.sh BIN DIR LABELS TOOLS GEN SIM SUM: one point of a grid, run by GNU
# parallel from grid.sh: gen-workload GEN | simulate SIM | summarize SUM (the
# argument lists are split on blanks), leaving DIR/point.json:
#   {"labels":{...},"command":{...},"offered_per_s":X,"summary":{...}}
# labels: LABELS ("rate=8 seed=1", numbers as numbers); command: TOOLS (a
# checksum of the tools) and the three argument lists; offered_per_s: the
# request stream's own arrival rate, (n - 1) / (last - first arrival), null
# under two requests; summary: summarize's JSON (docs/formats.md).
# Nothing is done when DIR/point.json exists with the same command. Work
# happens in a temporary directory inside DIR and point.json appears by a
# rename, so a killed point leaves no point.json; the next run cleans up.
set -eu
bin=$1 dir=$2 labels=$3 tools=$4 gen=$5 sim=$6 sum=$7
command=$(jq -nc --arg tools "$tools" --arg gen "$gen" --arg sim "$sim" --arg sum "$sum" \
    '{tools: $tools, gen: $gen, sim: $sim, sum: $sum}')
if [ -f "$dir/point.json" ] &&
    jq -e --argjson c "$command" '.command == $c' "$dir/point.json" >/dev/null 2>&1; then
    exit 0
fi
mkdir -p "$dir"
rm -rf "$dir"/.tmp.*
tmp=$(mktemp -d "$dir/.tmp.XXXXXX")
set -f # the argument lists are split into words, never globbed
# shellcheck disable=SC2086 # the argument lists are words
"$bin/gen-workload" $gen > "$tmp/requests.csv"
# shellcheck disable=SC2086
"$bin/simulate" $sim --itl "$tmp/itl.csv" "$tmp/requests.csv" > "$tmp/results.csv"
# shellcheck disable=SC2086
"$bin/summarize" $sum --itl "$tmp/itl.csv" "$tmp/results.csv" > "$tmp/summary.json"
# arrival_us is the second column of every request stream gen-workload writes
offered=$(awk -F, 'NR == 1 { if ($2 != "arrival_us") exit 1; next }
                   NR == 2 { first = $2 }
                   { last = $2; n++ }
                   END { if (n >= 2 && last > first) printf "%.17g\n", (n - 1) * 1e6 / (last - first); else print "null" }' \
          "$tmp/requests.csv") || { echo "point.sh: $tmp/requests.csv: no arrival_us in column 2" >&2; exit 1; }
jq -c --arg labels "$labels" --argjson command "$command" --argjson offered "$offered" \
    '{labels: ($labels | split(" ") | map(select(. != "") | capture("^(?<k>[^=]+)=(?<v>.*)$") |
                                          {(.k): (.v | tonumber? // .)}) | add),
      command: $command, offered_per_s: $offered, summary: .}' "$tmp/summary.json" > "$tmp/point.json"
mv "$tmp/point.json" "$dir/point.json"
rm -rf "$tmp"
echo "point: $labels done" >&2
