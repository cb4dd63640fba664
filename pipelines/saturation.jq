# SPDX-License-Identifier: GPL-3.0-or-later
# saturation.jq: the saturation CSVs from the points (point.sh), slurped in
# grid order. --arg mode points|rates, --argjson knee FRACTION.
# points: one row per point, in grid order.
# rates: one row per rate, ascending; each number the mean over the seeds
# (values a seed lacks are left out of its mean, empty when no seed has one);
# saturated = 1 when mean throughput < knee x mean offered rate (the stream's
# own rate, or the nominal rate when it has under two requests).
include "summary";

def metrics: [.offered_per_s // .labels.rate, .summary.throughput.requests_per_s,
              (.summary.ttft_ms, .summary.tpot_ms, .summary.e2e_ms | .p50, .p90, .p99),
              .summary.preemptions.total];

if $mode == "points" then
  "rate_per_s,seed,offered_per_s,throughput_per_s,ttft_p50_ms,ttft_p90_ms,ttft_p99_ms,tpot_p50_ms,tpot_p90_ms,tpot_p99_ms,e2e_p50_ms,e2e_p90_ms,e2e_p99_ms,preemptions,ok,requests",
  (.[] | [.labels.rate, .labels.seed] + metrics + [.summary.requests.ok, .summary.requests.total] | @csv)
else
  "rate_per_s,seeds,offered_per_s,throughput_per_s,ttft_p50_ms,ttft_p90_ms,ttft_p99_ms,tpot_p50_ms,tpot_p90_ms,tpot_p99_ms,e2e_p50_ms,e2e_p90_ms,e2e_p99_ms,preemptions,saturated",
  (group_by(.labels.rate)[] |
   (map(metrics) | columns) as $m |
   [.[0].labels.rate, length] + $m +
   [if $m[1] != null and $m[1] < $knee * $m[0] then 1 else 0 end] | @csv)
end
