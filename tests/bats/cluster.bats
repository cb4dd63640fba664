#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# The cluster (docs/cluster.md): one global clock over many engines,
# admission, routing, stale signals, schedulers, P/D. Laws over many seeds
# and behavioural outcomes asserted, not just exit codes.

load helper

setup() {
    cd "$BATS_TEST_TMPDIR"
}

# A prefix-heavy stream: 64 system prompts of 1024 tokens drawn at random.
prefix_heavy() {
    tool gen-workload --rate 60 -n 3000 --seed 3 --prefix-tokens 1024 --prompt-tokens 64 \
        --prompt-stdev 16 --output-tokens 64 --output-stdev 16 |
        awk -F, 'BEGIN { OFS = ","; srand(7) } NR > 1 { $5 = "sys" int(rand() * 64) ":1024" } { print }'
}

@test "cluster: --instances 1 gives exactly the single-instance results" {
    for seed in 1 2 3 4; do
        tool gen-workload --rate 30 -n 1500 --seed "$seed" --prefix-tokens 100 > w.csv
        tool simulate --num-gpu-blocks 1500 --itl a.itl < w.csv > a.csv
        tool simulate --num-gpu-blocks 1500 --itl b.itl --instances 1 < w.csv > b.csv
        cmp a.csv b.csv
        cmp a.itl b.itl
        # preemptions happened, so the comparison covers them
        [ "$(tool summarize a.csv | jq '.preemptions.total')" -gt 0 ]
    done
}

@test "cluster: conservation, causality and reruns over 50 seeds and every policy" {
    routings=(round-robin least-loaded weighted prefix-affinity)
    admissions=(always token-bucket slo-shed always)
    schedulers=(fcfs priority sjf)
    victims=(newest lowest-priority)
    for seed in $(seq 1 50); do
        tool gen-workload --rate 40 -n 150 --seed "$seed" --prefix-tokens 48 > w.csv
        sed -i '2~3s/,standard,/,batch,/; 3~5s/,standard,/,interactive,/' w.csv
        flags="--instances 3 --num-gpu-blocks 300 --routing ${routings[seed % 4]}
               --admission ${admissions[(seed / 4) % 4]} --bucket-capacity-tokens 20000
               --shed-queue-depth 2 --scheduler ${schedulers[seed % 3]}
               --preemption-victim ${victims[seed % 2]} --snapshot-interval-us $(( (seed % 3) * 20000 ))
               --seed $seed --check-invariants"
        tool simulate $flags < w.csv > a.csv
        tool simulate $flags < w.csv > b.csv
        cmp a.csv b.csv
        # every request exactly once
        [ "$(tail -n +2 a.csv | wc -l)" -eq 150 ]
        [ "$(tail -n +2 a.csv | cut -d, -f1 | sort -u | wc -l)" -eq 150 ]
        # summarize's reader enforces causality on every row
        total=$(tool summarize a.csv | jq '.requests | .ok + .rejected + .dropped + .timeout + .unfinished')
        [ "$total" -eq 150 ]
    done
}

@test "cluster: round-robin spreads requests evenly (within 1)" {
    tool gen-workload --rate 50 -n 1003 --seed 9 > w.csv
    tool simulate --instances 7 --routing round-robin < w.csv > r.csv
    tool summarize r.csv | jq -e '[.by_instance[].requests.total] | length == 7 and max - min <= 1'
}

@test "cluster: prefix-cache routing beats round-robin on hit rate and mean TTFT" {
    prefix_heavy > w.csv
    tool simulate --instances 8 --num-gpu-blocks 1200 --routing round-robin < w.csv |
        tool summarize > rr.json
    tool simulate --instances 8 --num-gpu-blocks 1200 --routing weighted \
        --scorers prefix-cache:2,queue-depth:1 < w.csv | tool summarize > pc.json
    jq -n -e --slurpfile rr rr.json --slurpfile pc pc.json '
        $pc[0].cache.hit_rate > $rr[0].cache.hit_rate + 0.3 and
        $pc[0].ttft_ms.mean < $rr[0].ttft_ms.mean'
}

@test "cluster: least-loaded on 100 ms snapshots herds at high rate, live signals do not" {
    tool gen-workload --rate 150 -n 4000 --seed 5 > w.csv
    tool simulate --instances 8 --routing least-loaded --snapshot-interval-us 0 --steps live.csv < w.csv > /dev/null
    tool simulate --instances 8 --routing least-loaded --snapshot-interval-us 100000 --steps stale.csv < w.csv > /dev/null
    live=$(awk -F, 'NR > 1 && $7 > m { m = $7 } END { print m + 0 }' live.csv)
    stale=$(awk -F, 'NR > 1 && $7 > m { m = $7 } END { print m + 0 }' stale.csv)
    echo "largest waiting queue: live $live, stale $stale"
    [ "$stale" -gt $(( 2 * live + 2 )) ]
}

@test "cluster: token bucket admits within capacity + refill x time, and rejects the rest" {
    tool gen-workload --rate 20 -n 400 --seed 4 > w.csv
    tool simulate --instances 2 --admission token-bucket --bucket-capacity-tokens 20000 \
        --bucket-refill-tokens-per-s 5000 < w.csv > r.csv
    # admitted input tokens by each arrival never exceed C + R * t
    tail -n +2 r.csv | awk -F, '$3 != "rejected"' | sort -t, -k4,4n |
        awk -F, '{ sum += $9; if (sum > 20000 + 5000 * $4 / 1e6) { print "over budget at " $4; bad = 1 } }
                 END { exit bad }'
    run tool summarize r.csv
    echo "$output" | jq -e '.requests.rejected > 0 and .requests.ok > 0 and .anomalies.rejections == .requests.rejected'
    # rejected rows name no instance and carry no latency
    awk -F, '$3 == "rejected" && ($2 != "" || $13 != "") { exit 1 }' r.csv
}

@test "cluster: reject-all rejects every request" {
    tool gen-workload --rate 20 -n 50 --seed 4 | tool simulate --instances 2 --admission reject-all > r.csv
    [ "$(awk -F, '$3 == "rejected"' r.csv | wc -l)" -eq 50 ]
}

@test "cluster: P/D by hand: instant link TTFT = prefill end + first decode step; a slow link adds the transfer" {
    # step = 1000 + 10 per prefill token + 100 per decode token (us); no queueing delay
    cat > pd.yaml <<'YAML'
cluster:
  link: {bandwidth_gbps: 0, base_latency_us: 0, kv_bytes_per_token: 1000}
  pools:
    - {name: pre, role: prefill, instances: 1, alpha: [0, 0, 0], beta: [1000, 10, 100]}
    - {name: dec, role: decode, instances: 2, alpha: [0, 0, 0], beta: [1000, 10, 100]}
YAML
    sed 's/bandwidth_gbps: 0, base_latency_us: 0/bandwidth_gbps: 0.008, base_latency_us: 500/' pd.yaml > slow.yaml
    printf 'id,arrival_us,input_tokens,output_tokens\n0,0,100,3\n' > one.csv
    # prefill: 1000 + 10 * 100 = 2000; first decode step 1000 + 100 = 1100
    tool simulate --cluster pd.yaml one.csv | tail -n 1 | cut -d, -f3,7,8,13 > fast
    [ "$(cat fast)" = "ok,3100,5300,3100" ]
    # 7 blocks of 16 tokens * 1000 bytes over 1e6 bytes/s = 112000 us, + 500 us base
    tool simulate --cluster slow.yaml one.csv | tail -n 1 | cut -d, -f3,7,8,13 > slow
    [ "$(cat slow)" = "ok,115600,117800,115600" ]
}

@test "cluster: P/D conserves requests and reruns identically" {
    cat > pd.yaml <<'YAML'
cluster:
  routing: least-loaded
  link: {bandwidth_gbps: 100, base_latency_us: 50, shared: true}
  pools:
    - {name: pre, role: prefill, instances: 2}
    - {name: dec, role: decode, instances: 3, routing: round-robin}
YAML
    tool gen-workload --rate 30 -n 500 --seed 2 > w.csv
    tool simulate --cluster pd.yaml --decisions d1.csv < w.csv > a.csv
    tool simulate --cluster pd.yaml --decisions d2.csv < w.csv > b.csv
    cmp a.csv b.csv
    cmp d1.csv d2.csv
    tool summarize a.csv | jq -e '.requests.ok == 500'
    # two decisions per request: one per pool
    [ "$(tail -n +2 d1.csv | wc -l)" -eq 1000 ]
    # the decode pool (instances 2..4) served everything
    tool summarize a.csv | jq -e '[.by_instance | keys[] | tonumber] | min >= 2'
}

@test "cluster: --decisions trace: header, one row per request, summarized" {
    tool gen-workload --rate 100 -n 300 --seed 6 > w.csv
    tool simulate --instances 4 --routing least-loaded --snapshot-interval-us 50000 \
        --decisions d.csv < w.csv > r.csv
    [ "$(head -n 1 d.csv)" = "time_us,request,pool,chosen,regret,scores" ]
    [ "$(tail -n +2 d.csv | wc -l)" -eq 300 ]
    # four candidates per decision
    awk -F, 'NR > 1 && split($6, a, ";") != 4 { exit 1 }' d.csv
    run tool summarize --decisions d.csv r.csv
    assert_success
    echo "$output" | jq -e '.decisions.count == 300 and .decisions.max_regret >= .decisions.mean_regret
        and ([.decisions.per_instance[]] | add) == 300'
    # live signals: no regret
    tool simulate --instances 4 --routing least-loaded --decisions live.csv < w.csv > /dev/null
    tool summarize --decisions live.csv r.csv | jq -e '.decisions.max_regret == 0'
}

@test "cluster: fitness is one normalized score that ranks a better run higher" {
    tool gen-workload --rate 30 -n 600 --seed 8 > w.csv
    fw="throughput:0.5,p99_ttft:0.3,mean_e2e:0.2"
    a=$(tool simulate --instances 4 < w.csv | tool summarize --fitness-weights "$fw" | jq '.fitness.score')
    b=$(tool simulate --instances 1 < w.csv | tool summarize --fitness-weights "$fw" | jq '.fitness.score')
    echo "4 instances $a, 1 instance $b"
    jq -n -e "$a > $b and $a <= 1 and $b >= 0"
}

@test "cluster: Jain's index is 1 for round-robin over equal requests" {
    printf 'id,arrival_us,input_tokens,output_tokens\n' > w.csv
    for i in $(seq 0 39); do echo "$i,$(( i * 1000 )),100,10"; done >> w.csv
    tool simulate --instances 4 < w.csv | tool summarize | jq -e '.balance.requests_jain == 1 and .balance.tokens_jain == 1'
}

@test "cluster: the priority scheduler serves interactive requests first under load" {
    tool gen-workload --rate 60 -n 600 --seed 3 > w.csv
    sed -i '2~2s/,standard,/,interactive,/; 3~2s/,standard,/,batch,/' w.csv
    tool simulate --scheduler priority < w.csv | tool summarize > p.json
    jq -e '.by_slo_class.interactive.queueing_ms.mean < .by_slo_class.batch.queueing_ms.mean' p.json
    tool simulate --scheduler fcfs < w.csv | tool summarize > f.json
    jq -n -e --slurpfile p p.json --slurpfile f f.json \
        '$p[0].by_slo_class.interactive.queueing_ms.mean < $f[0].by_slo_class.interactive.queueing_ms.mean'
}

@test "cluster: unknown policies and scorers list the valid names, exit 2" {
    run tool simulate --routing fastest < /dev/null
    assert_failure 2
    assert_output --partial "unknown routing policy 'fastest' (valid: round-robin, least-loaded, weighted, prefix-affinity)"
    [ "${#lines[@]}" -eq 1 ]
    run tool simulate --scorers prefix-cache:2,speed:1 < /dev/null
    assert_failure 2
    assert_output --partial "unknown scorer 'speed' (valid: prefix-cache, queue-depth, kv-utilization, load, active-requests)"
    run tool simulate --admission maybe < /dev/null
    assert_failure 2
    assert_output --partial "valid: always, token-bucket, reject-all, slo-shed"
    run tool simulate --scheduler lifo < /dev/null
    assert_failure 2
    run tool simulate --preemption-victim oldest < /dev/null
    assert_failure 2
}

@test "cluster: negative, NaN and all-zero weights exit 2" {
    for w in prefix-cache:-1 queue-depth:nan prefix-cache:0,load:0 load:inf prefix-cache; do
        run tool simulate --scorers "$w" < /dev/null
        assert_failure 2
        [ "${#lines[@]}" -eq 1 ]
    done
}

@test "cluster: a --cluster file with an unknown model, GPU or key names FILE:LINE, exit 2" {
    printf 'cluster:\n  pools:\n    - name: a\n      engine: {model: acme/nope}\n' > m.yaml
    run tool simulate --cluster m.yaml < /dev/null
    assert_failure 2
    assert_output --partial "m.yaml:4: pool 'a': unknown model 'acme/nope' (known: "
    printf 'cluster:\n  pools:\n    - name: a\n      engine: {gpu: B9000}\n' > g.yaml
    run tool simulate --cluster g.yaml < /dev/null
    assert_failure 2
    assert_output --partial "unknown GPU 'B9000'"
    printf 'cluster:\n  routing: round-robin\n  speed: 3\n' > k.yaml
    run tool simulate --cluster k.yaml < /dev/null
    assert_failure 2
    assert_output --partial "k.yaml:3"
    printf 'cluster:\n  scorers: {load: -2}\n' > w.yaml
    run tool simulate --cluster w.yaml < /dev/null
    assert_failure 2
    assert_output --partial "w.yaml:2"
    printf 'cluster:\n  pools:\n    - {name: p, role: prefill}\n' > pd.yaml
    run tool simulate --cluster pd.yaml < /dev/null
    assert_failure 2
    assert_output --partial "one prefill pool and one decode pool"
}

@test "cluster: heterogeneous pools: each instance runs its own engine" {
    cat > het.yaml <<'YAML'
cluster:
  routing: round-robin
  pools:
    - {name: fast, instances: 1, alpha: [0, 0, 0], beta: [1000, 1, 10]}
    - {name: slow, instances: 1, alpha: [0, 0, 0], beta: [4000, 4, 40]}
YAML
    printf 'id,arrival_us,input_tokens,output_tokens\n0,0,100,2\n1,0,100,2\n' > two.csv
    # fast: 1000 + 100 = 1100, then 1000 + 10; slow: 4000 + 400 = 4400, then 4000 + 40
    run tool simulate --cluster het.yaml two.csv
    assert_success
    echo "$output" | grep -q '^0,0,ok,0,0,0,1100,2110,'
    echo "$output" | grep -q '^1,1,ok,0,0,0,4400,8440,'
}

# --print-config checks the cluster too; a priorities map longer than the
# parser's list is refused rather than cut short (it used to drop entries).
@test "cluster: --print-config validates the cluster file; an overlong map is an error" {
    printf 'cluster: {bogus: 1}\n' > "$BATS_TEST_TMPDIR/bad.yaml"
    run simulate --cluster "$BATS_TEST_TMPDIR/bad.yaml" --print-config
    assert_failure 2
    assert_output --partial "unknown key 'bogus'"
    run simulate --instances 3 --print-config
    assert_success
    assert_output --partial "instances: 3"
    { echo "cluster:"; echo "  priorities:"
      for i in $(seq 300); do echo "    class_with_a_long_name_$i: $((i % 5))"; done; } \
        > "$BATS_TEST_TMPDIR/long.yaml"
    run simulate --cluster "$BATS_TEST_TMPDIR/long.yaml" --print-config
    assert_failure 2
    assert_output --partial "too many entries"
}

# Expert parallelism (docs/cluster.md): the instances of the pool step in
# lockstep and share the routed experts out.
@test "cluster: expert parallelism: lockstep steps, conservation and reruns" {
    tool gen-workload --rate 20 -n 400 --seed 5 --prefix-tokens 64 > w.csv
    flags="--model qwen/qwen3-30b-a3b --gpu H100 --latency-model roofline --instances 2
           --routing least-loaded --expert-parallel --check-invariants"
    # shellcheck disable=SC2086
    tool simulate $flags --steps s1.csv w.csv > a.csv
    # shellcheck disable=SC2086
    tool simulate $flags --steps s2.csv w.csv > b.csv
    cmp a.csv b.csv
    cmp s1.csv s2.csv
    # every request once, ok, and each on one of the two instances
    [ "$(tail -n +2 a.csv | cut -d, -f1 | sort -u | wc -l)" -eq 400 ]
    [ "$(tail -n +2 a.csv | grep -c ',ok,')" -eq 400 ]
    [ "$(tail -n +2 a.csv | cut -d, -f2 | sort -u | tr '\n' ' ')" = "0 1 " ]
    # lockstep: two steps that overlap start together and last as long
    tail -n +2 s1.csv | sort -t, -k2,2n -k1,1n | awk -F, '
        { end = $2 + $3 }
        NR > 1 && $2 == start { if ($3 != dur) bad++; shared++; next }
        NR > 1 && $2 < last { bad++ }
        { start = $2; dur = $3; if (end > last) last = end }
        END { print shared + 0, bad + 0 }' > law
    read -r shared bad < law
    [ "$bad" -eq 0 ]
    [ "$shared" -gt 100 ]
    # each GPU holds half the experts: more KV blocks than a GPU holding all
    run simulate --model qwen/qwen3-30b-a3b --gpu H100 --latency-model roofline \
        --instances 2 --print-config
    plain=$(echo "$output" | sed -n 's/^num_gpu_blocks: \([0-9]*\).*/\1/p')
    run simulate --model qwen/qwen3-30b-a3b --gpu H100 --latency-model roofline \
        --instances 2 --expert-parallel --print-config
    assert_output --partial "expert_shards: 2"
    shared_blocks=$(echo "$output" | sed -n 's/^num_gpu_blocks: \([0-9]*\).*/\1/p')
    [ "$shared_blocks" -gt "$plain" ]
}

# Both engines' tokens reach each engine's latency: a prompt on each costs
# each engine more (its share of the experts for both prompts, and the
# exchange) than the same prompt alone on one engine, and the two steps match.
@test "cluster: expert parallelism: a group step charges the tokens of every engine" {
    printf 'id,arrival_us,input_tokens,output_tokens\n0,0,1000,2\n1,0,1000,2\n' > two.csv
    head -2 two.csv > one.csv
    flags="--model qwen/qwen3-30b-a3b --gpu H100 --latency-model roofline --instances 2
           --routing round-robin --expert-parallel"
    # shellcheck disable=SC2086
    tool simulate $flags --steps two.steps two.csv > /dev/null
    # shellcheck disable=SC2086
    tool simulate $flags --steps one.steps one.csv > /dev/null
    # the first step: instance 0 prefills (and instance 1 too, in two.steps)
    run awk -F, 'NR > 1 && $2 == 0 { print $1, $3, $4 }' one.steps
    [ "${#lines[@]}" -eq 1 ]
    alone=$(echo "${lines[0]}" | cut -d' ' -f2)
    [ "${lines[0]}" = "0 $alone 1000" ]
    run awk -F, 'NR > 1 && $2 == 0 { print $1, $3, $4 }' two.steps
    [ "${#lines[@]}" -eq 2 ]
    together=$(echo "${lines[0]}" | cut -d' ' -f2)
    [ "${lines[0]}" = "0 $together 1000" ]
    [ "${lines[1]}" = "1 $together 1000" ]
    [ "$together" -gt "$alone" ]
}

@test "cluster: expert parallelism on one instance is the plain engine" {
    tool gen-workload --rate 10 -n 300 --seed 2 > w.csv
    flags="--model qwen/qwen3-30b-a3b --gpu H100 --latency-model roofline"
    # shellcheck disable=SC2086
    tool simulate $flags w.csv > a.csv
    # shellcheck disable=SC2086
    tool simulate $flags --expert-parallel --instances 1 w.csv > b.csv
    cmp a.csv b.csv
}

@test "cluster: expert parallelism needs experts and a model with an expert term" {
    run simulate --instances 2 --expert-parallel --print-config
    assert_failure 2
    assert_output --partial "needs the roofline or physics model"
    run simulate --instances 2 --expert-parallel --latency-model roofline --print-config
    assert_failure 2
    assert_output --partial "needs a model with routed experts"
    printf 'engine: {expert_parallel: maybe}\n' > bad.yaml
    run simulate --config bad.yaml --print-config
    assert_failure 2
    assert_output --partial "bad.yaml:1"
}
