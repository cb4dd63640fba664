#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# workload.sh [N...]: times gen-workload --spec on a 10-client spec (Poisson,
# gamma, Weibull and constant arrivals, every length distribution, shared
# prefixes and multi-turn sessions) for N requests (default 10000000), output
# to /dev/null. Prints a Markdown table of wall, user and system time and peak RSS
# from /usr/bin/time -v. Run from the top of the tree after `make`.
set -eu
cd "$(dirname "$0")/.."
sizes=${*:-10000000}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT INT TERM
spec=$work/ten-clients.yaml
{
    echo 'seed: 1'
    echo 'aggregate_rate: 1000'
    echo 'clients:'
    i=0
    for arrival in '{process: poisson}' '{process: gamma, cv: 3.5}' '{process: weibull, cv: 2}' \
                   '{process: constant}' '{process: gamma, cv: 0.5}'; do
        for input in '{type: gaussian, params: {mean: 500, std_dev: 150, min: 10, max: 4000}}' \
                     '{type: pareto_lognormal, params: {alpha: 1.5, xm: 50, mu: 5.5, sigma: 1.2, mix_weight: 0.3, max: 16000}}'; do
            echo "  - id: c$i"
            echo "    tenant: t$((i % 3))"
            echo "    slo_class: s$((i % 2))"
            echo "    rate_fraction: $((i + 1))"
            echo "    arrival: $arrival"
            echo "    input_distribution: $input"
            echo "    output_distribution: {type: lognormal, params: {mu: 5, sigma: 0.8, max: 4000}}"
            if [ $((i % 4)) -eq 1 ]; then
                echo "    prefix_group: sys$i"
                echo "    prefix_length: 512"
            fi
            if [ $((i % 5)) -eq 2 ]; then
                echo "    multi_turn: {max_rounds: 4, think_time_distribution: {type: exponential, params: {mean: 5000000}}}"
            fi
            i=$((i + 1))
        done
    done
} > "$spec"
echo "| requests | wall s | user s | system s | peak RSS MB | requests/s |"
echo "|---|---|---|---|---|---|"
for n in $sizes; do
    /usr/bin/time -v -o "$work/t" bin/gen-workload --spec "$spec" -n "$n" > /dev/null
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/t" |
           awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
    user=$(sed -n 's/.*User time (seconds): //p' "$work/t")
    sys=$(sed -n 's/.*System time (seconds): //p' "$work/t")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/t")
    awk -v n="$n" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" \
        'BEGIN { printf "| %d | %.2f | %.2f | %.2f | %.1f | %.0f |\n", n, w, u, s, r / 1024, n / w }'
done
