# SPDX-License-Identifier: GPL-3.0-or-later
# summary.jq: helpers shared by the aggregations (import with include).

# mean of the non-null numbers, null when there is none
def mean: map(select(. != null)) | if length == 0 then null else add / length end;

# groups of consecutive points with the same value of f, in input order
def runs(f): reduce .[] as $p ([];
  if length > 0 and [.[-1][0] | f] == [$p | f] then .[-1] += [$p] else . + [[$p]] end);

# the comparison columns of one point's summary
def compared: [.summary.throughput.requests_per_s, .summary.slo.goodput_requests_per_s,
               .summary.slo.attainment,
               (.summary.ttft_ms, .summary.tpot_ms, .summary.e2e_ms | .p50, .p99),
               .summary.requests.rejected, .summary.preemptions.total];
def compared_header: "throughput_per_s,goodput_per_s,attainment,ttft_p50_ms,ttft_p99_ms,tpot_p50_ms,tpot_p99_ms,e2e_p50_ms,e2e_p99_ms,rejected,preemptions";

# column-wise mean of equal-length rows
def columns: [range(0; .[0] | length) as $i | map(.[$i]) | mean];
