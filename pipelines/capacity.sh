#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# capacity.sh OUT: for each GPU of GPUS, the smallest instance count N (up to
# MAX_INSTANCES) at which WORKLOAD at RATE, under the first policy of
# POLICIES, meets the SLOs on every seed of SEEDS:
#   p99 TTFT <= SLO_TTFT_MS, p99 TPOT <= SLO_TPOT_MS (those given), and
#   slo.attainment >= SLO_ATTAINMENT (the share of all requests, rejected ones
#   included, that met them: the goodput condition).
# Search: N = 1, 2, 4, ... until one meets the SLOs, then bisection between
# the last count that failed and the first that met them; it assumes more
# instances never make a run worse. Each probe is a grid (grid.sh) in
# OUT/capacity/GPU/instances=N. Writes OUT/capacity.csv (the evidence: one
# row per probe, in the order probed, with the worst value over the seeds)
# and then OUT/capacity.txt (the answer, one line per GPU), also printed.
set -eu
. "$(dirname "$0")/lib.sh"
out=$1
work=$out/capacity
policy=$(first $POLICIES)
slo=$(slo_args)
evidence=$out/capacity.csv.tmp
answer=$out/capacity.txt.tmp
echo "gpu,instances,policy,rate_per_s,seeds,ttft_p99_ms,tpot_p99_ms,attainment,goodput_per_s,meets" > "$evidence"
: > "$answer"

# probe GPU N: run the grid; print 1 when every seed meets the SLOs, else 0
probe() {
    engine=$(engine_args "$1")
    # shellcheck disable=SC2086 # the lists are words
    for s in $SEEDS; do
        printf 'seed=%s\t%s\t%s\t%s\n' "$s" "$WORKLOAD --rate $RATE --seed $s" \
            "$engine $(cluster_args "$2" "$policy")" "$slo"
    done | sh "$top/pipelines/grid.sh" "$work/$1/instances=$2"
    cut -f1 "$work/$1/instances=$2/jobs" | sed 's|$|/point.json|' | xargs cat |
        jq -r -s --arg gpu "$1" --argjson n "$2" --arg policy "$policy" --argjson rate "$RATE" \
            --argjson ttft "${SLO_TTFT_MS:-null}" --argjson tpot "${SLO_TPOT_MS:-null}" \
            --argjson attainment "$SLO_ATTAINMENT" '
        def worst(f; better): map(f) | if any(. == null) then null else (if better == "low" then max else min end) end;
        (worst(.summary.ttft_ms.p99; "low")) as $t | (worst(.summary.tpot_ms.p99; "low")) as $p |
        (worst(.summary.slo.attainment; "high")) as $a | (worst(.summary.slo.goodput_requests_per_s; "high")) as $g |
        (($ttft == null or ($t != null and $t <= $ttft)) and
         ($tpot == null or ($p != null and $p <= $tpot)) and
         ($a != null and $a >= $attainment)) as $meets |
        [$gpu, $n, $policy, $rate, length, $t, $p, $a, $g, (if $meets then 1 else 0 end)] | @csv' >> "$evidence"
    tail -n 1 "$evidence" | awk -F, '{ print $NF }'
}

for gpu in $GPUS; do
    n=1 failed=0
    while [ "$(probe "$gpu" "$n")" = 0 ]; do
        failed=$n
        [ "$n" -lt "$MAX_INSTANCES" ] || { n=0; break; }
        n=$((2 * n))
        [ "$n" -le "$MAX_INSTANCES" ] || n=$MAX_INSTANCES
    done
    if [ "$n" -gt 0 ]; then
        while [ $((n - failed)) -gt 1 ]; do
            mid=$(((failed + n) / 2))
            if [ "$(probe "$gpu" "$mid")" = 1 ]; then n=$mid; else failed=$mid; fi
        done
        echo "$gpu: $n instances" >> "$answer"
    else
        echo "$gpu: none up to $MAX_INSTANCES instances" >> "$answer"
    fi
done
mv "$evidence" "$out/capacity.csv"
mv "$answer" "$out/capacity.txt"
echo "capacity at $RATE req/s, $policy, SLOs: $slo, attainment >= $SLO_ATTAINMENT (evidence: $out/capacity.csv)"
cat "$out/capacity.txt"
