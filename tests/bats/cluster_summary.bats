#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# summarize over cluster results (docs/cluster.md, docs/formats.md): per-pool
# sections and the priority-inversion counter, on a hand-built results file
# whose answers are worked out in the comments.

load helper

setup() {
    cd "$BATS_TEST_TMPDIR"
    # Built-in priorities: interactive 0, standard 1, batch 2.
    # Instance 0: 2 (batch, queued 200, scheduled 300) overtakes 1 (interactive,
    #   queued 100, scheduled 500) and 3 (standard, queued 50, scheduled 400);
    #   4 is batch like 2: equal priority is no inversion.
    # Instance 1: 5 (batch, queued 10, scheduled 20) overtakes 6 (interactive,
    #   queued 5, scheduled 30); 7 never ran and nothing queued after it.
    # 8 and 9 overtake across instances 2 and 3: not counted. 10 and 11 entered
    # instance 4 at the same instant: not counted. 12 was rejected.
    # Inversions: 1, 3 and 6, so 3.
    cat > r.csv <<'CSV'
id,instance,status,arrival_us,queued_us,scheduled_us,first_token_us,finish_us,input_tokens,output_tokens,cached_tokens,preemptions,ttft_us,e2e_us,tpot_us,slo_class,tenant
1,0,ok,0,100,500,600,1000,10,5,0,0,600,1000,100,interactive,t
2,0,ok,100,200,300,400,800,10,5,0,0,300,700,100,batch,t
3,0,ok,0,50,400,500,900,10,5,0,0,500,900,100,standard,t
4,0,ok,0,40,450,550,950,10,5,0,0,550,950,100,batch,t
5,1,ok,0,10,20,120,520,10,5,0,0,120,520,100,batch,t
6,1,ok,0,5,30,130,530,10,5,0,0,130,530,100,interactive,t
7,1,unfinished,0,300,,,,10,5,0,0,,,,interactive,t
8,2,ok,0,100,120,220,620,10,5,0,0,220,620,100,batch,t
9,3,ok,0,50,150,250,650,10,5,0,0,250,650,100,interactive,t
10,4,ok,0,100,110,210,610,10,5,0,0,210,610,100,batch,t
11,4,ok,0,100,200,300,700,10,5,0,0,300,700,100,interactive,t
12,,rejected,0,,,,,10,5,0,0,,,,batch,t
CSV
}

@test "cluster summary: priority inversions counted by hand" {
    [ "$(tool summarize r.csv | jq .anomalies.priority_inversions)" = 3 ]
}

@test "cluster summary: --priorities changes which requests are inverted" {
    # Reversed: batch 0, standard 1, interactive 2. Only 4 (batch, queued 40,
    # scheduled 450) is overtaken, by 3 (standard, queued 50, scheduled 400).
    run tool summarize --priorities interactive:2,batch:0,standard:1 r.csv
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | jq .anomalies.priority_inversions)" = 1 ]
}

@test "cluster summary: FCFS order has no inversion" {
    # every request scheduled in queue order: nothing is overtaken
    awk -F, 'BEGIN { OFS = "," } NR > 1 && $5 != "" && $6 != "" { $6 = $5 + 1 } { print }' r.csv |
        tool summarize | jq -e '.anomalies.priority_inversions == 0'
}

@test "cluster summary: --pools groups instances in pool order" {
    # a = instances 0 and 1 (rows 1-7, 6 ok), b = 2, 3 and 4 (rows 8-11, all ok);
    # a's ok TTFTs 600 300 500 550 120 130 us: mean 2200/6 us
    run tool summarize --pools a:2,b:3 r.csv
    [ "$status" -eq 0 ]
    echo "$output" | jq -e '(.by_pool | keys_unsorted) == ["a", "b"]'
    echo "$output" | jq -e '.by_pool.a.requests.total == 7 and .by_pool.a.requests.ok == 6'
    echo "$output" | jq -e '.by_pool.b.requests.total == 4 and .by_pool.b.requests.ok == 4'
    echo "$output" | jq -e '(.by_pool.a.ttft_ms.mean - 2.2 / 6 | fabs) < 1e-12'
    echo "$output" | jq -e '.by_pool.b.ttft_ms.max == 0.3'
    # without --pools there is no by_pool key
    tool summarize r.csv | jq -e 'has("by_pool") | not'
}

@test "cluster summary: a pool no request reached still has its section" {
    tool summarize --pools a:2,b:3,c:4 r.csv | jq -e '.by_pool.c.requests.total == 0'
}

@test "cluster summary: by_pool of a simulated cluster adds up" {
    tool gen-workload --rate 40 -n 400 --seed 5 > w.csv
    tool simulate --instances 5 < w.csv > out.csv
    run tool summarize --pools small:2,large:3 out.csv
    [ "$status" -eq 0 ]
    # the pools' sections partition the rows by instance
    echo "$output" | jq -e '.by_pool.small.requests.total ==
        ([.by_instance["0", "1"].requests.total] | add)'
    echo "$output" | jq -e '.by_pool.small.requests.total + .by_pool.large.requests.total ==
        .requests.total'
}

@test "cluster summary: bad --pools and rows beyond them" {
    run tool summarize --pools a:2,b:2 r.csv
    [ "$status" -eq 1 ]
    [[ "$output" == *"r.csv:11: instance: 4 is beyond the 4 instances of --pools"* ]]
    [ "${#lines[@]}" -eq 1 ]
    run tool summarize --pools a:0 r.csv
    [ "$status" -eq 2 ]
    [[ "$output" == *"--pools: instances of pool 'a'"* ]]
    run tool summarize --pools a:1,a:2 r.csv
    [ "$status" -eq 2 ]
    [[ "$output" == *"pool 'a' is named twice"* ]]
    run tool summarize --pools a r.csv
    [ "$status" -eq 2 ]
    run tool summarize --priorities gold:x r.csv
    [ "$status" -eq 2 ]
}

@test "cluster summary: fcfs and priority never invert, sjf does" {
    # the queue is admitted in its order under fcfs and priority; sjf passes
    # long interactive prompts with short batch ones
    tool gen-workload --rate 60 -n 1500 --seed 2 > w.csv
    sed -i '2~3s/,standard,/,batch,/; 3~5s/,standard,/,interactive,/' w.csv
    for scheduler in fcfs priority; do
        tool simulate --instances 2 --num-gpu-blocks 600 --scheduler "$scheduler" < w.csv |
            tool summarize | jq -e '.anomalies.priority_inversions == 0'
    done
    tool simulate --instances 2 --num-gpu-blocks 600 --scheduler sjf < w.csv |
        tool summarize | jq -e '.anomalies.priority_inversions > 0'
}
