#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# replay.sh OUT: the trace TRACE (FORMAT:FILE, imported by gen-workload
# --from FORMAT FILE) through each configuration: every simulate YAML file of
# CONFIGS (none: the defaults, named "default") on every instance count of
# INSTANCES under every policy of POLICIES (only INSTANCES=1, no policy, when
# simulate has no cluster). Points through grid.sh in OUT/replay; then
# OUT/replay.csv, one row per configuration in that order.
set -eu
. "$(dirname "$0")/lib.sh"
out=$1
work=$out/replay
engine=$(engine_args)
slo=$(slo_args)
gen="--from ${TRACE%%:*} ${TRACE#*:}"
policies=$POLICIES
has_option simulate --routing || policies=none
# shellcheck disable=SC2086 # the lists are words
for c in ${CONFIGS:-default}; do
    name=$(basename "$c" .yaml)
    config=
    [ "$c" = default ] || config="--config $c"
    for n in $INSTANCES; do
        for p in $policies; do
            cluster=
            [ "$p" = none ] || cluster=$(cluster_args "$n" "$p")
            printf 'config=%s instances=%s policy=%s\t%s\t%s\t%s\n' "$name" "$n" "$p" "$gen" \
                "$engine $config $cluster" "$slo"
        done
    done
done | sh "$top/pipelines/grid.sh" "$work"

cut -f1 "$work/jobs" | sed 's|$|/point.json|' | xargs cat |
    jq -r -s -L "$top/pipelines" 'include "summary";
        "config,instances,policy,requests,ok," + compared_header,
        (.[] | [.labels.config, .labels.instances, .labels.policy,
                .summary.requests.total, .summary.requests.ok] + compared | @csv)' > "$out/replay.csv.tmp"
mv "$out/replay.csv.tmp" "$out/replay.csv"
echo "replay: wrote $out/replay.csv" >&2
