#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# policies.sh OUT: one workload (WORKLOAD at RATE, each seed of SEEDS) through
# every policy of POLICIES on every instance count of INSTANCES, through
# grid.sh in OUT/policies; then OUT/policies.csv, one row per policy and
# instance count in the order given, each number the mean over the seeds.
# Needs simulate --instances/--routing/--admission; check.sh refuses otherwise.
set -eu
. "$(dirname "$0")/lib.sh"
out=$1
work=$out/policies
engine=$(engine_args)
slo=$(slo_args)
# shellcheck disable=SC2086 # the lists are words
for p in $POLICIES; do
    for n in $INSTANCES; do
        for s in $SEEDS; do
            printf 'policy=%s instances=%s seed=%s\t%s\t%s\t%s\n' "$p" "$n" "$s" \
                "$WORKLOAD --rate $RATE --seed $s" "$engine $(cluster_args "$n" "$p")" "$slo"
        done
    done
done | sh "$top/pipelines/grid.sh" "$work"

cut -f1 "$work/jobs" | sed 's|$|/point.json|' | xargs cat |
    jq -r -s -L "$top/pipelines" 'include "summary";
        "policy,routing,admission,instances,seeds," + compared_header,
        (runs(.labels.policy, .labels.instances)[] |
         (.[0].labels.policy | tostring) as $p |
         [$p, ($p | split("+")[0]), ($p | split("+")[1] // "always"), .[0].labels.instances, length] +
         (map(compared) | columns) | @csv)' > "$out/policies.csv.tmp"
mv "$out/policies.csv.tmp" "$out/policies.csv"
echo "policies: wrote $out/policies.csv" >&2
