#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# saturation.sh OUT: the saturation sweep (docs/pipelines.md). For each rate
# of RATES and seed of SEEDS: gen-workload WORKLOAD --rate R --seed S |
# simulate (MODEL, GPU, TP, LATENCY_MODEL, SIMFLAGS) | summarize, through
# grid.sh in OUT/saturation; then, written under temporary names and renamed:
#   OUT/saturation-points.csv  one row per rate and seed
#   OUT/saturation.csv         one row per rate, the mean over the seeds, with
#                              the knee flag (KNEE); written last
# Variables are validated by check.sh first.
set -eu
. "$(dirname "$0")/lib.sh"
out=$1
work=$out/saturation
engine=$(engine_args)
slo=$(slo_args)
# shellcheck disable=SC2086 # the lists are words
for r in $RATES; do
    for s in $SEEDS; do
        printf 'rate=%s seed=%s\t%s\t%s\t%s\n' "$r" "$s" "$WORKLOAD --rate $r --seed $s" "$engine" "$slo"
    done
done | sh "$top/pipelines/grid.sh" "$work"

cut -f1 "$work/jobs" | sed 's|$|/point.json|' | xargs cat > "$work/points.jsonl.tmp"
jq -r -s -L "$top/pipelines" -f "$top/pipelines/saturation.jq" --arg mode points --argjson knee "$KNEE" \
    "$work/points.jsonl.tmp" > "$out/saturation-points.csv.tmp"
jq -r -s -L "$top/pipelines" -f "$top/pipelines/saturation.jq" --arg mode rates --argjson knee "$KNEE" \
    "$work/points.jsonl.tmp" > "$out/saturation.csv.tmp"
rm "$work/points.jsonl.tmp"
mv "$out/saturation-points.csv.tmp" "$out/saturation-points.csv"
knee=$(awk -F, 'NR > 1 && $NF == 1 { print $1; exit }' "$out/saturation.csv.tmp")
mv "$out/saturation.csv.tmp" "$out/saturation.csv"
echo "saturation: wrote $out/saturation.csv; knee: ${knee:-none} (lowest rate whose throughput < $KNEE x offered)" >&2
