# SPDX-License-Identifier: GPL-3.0-or-later
# calibrate compare: accuracy of a simulated run against a measured one, on a
# pair small enough to work out by hand, and its refusals of runs that do not
# describe the same requests.
load helper

HEADER=id,instance,status,arrival_us,queued_us,scheduled_us,first_token_us,finish_us,input_tokens,output_tokens,cached_tokens,preemptions,ttft_us,e2e_us,tpot_us,slo_class,tenant

# row ID TTFT_MS [STATUS]: a one-output-token request arriving at ID seconds
row() {
    local id=$1 ttft=$(( $2 * 1000 )) status=${3:-ok} arrival=$(( $1 * 1000000 ))
    if [ "$status" = ok ]; then
        echo "$id,0,ok,$arrival,$arrival,$arrival,$((arrival + ttft)),$((arrival + ttft)),10,1,0,0,$ttft,$ttft,,s,t"
    else
        echo "$id,,$status,$arrival,,,,,10,1,0,0,,,,s,t"
    fi
}

setup() {
    cd "$BATS_TEST_TMPDIR"
    { echo "$HEADER"; row 0 100; row 1 200; row 2 300; row 3 50 rejected; row 4 70; } > measured.csv
    { echo "$HEADER"; row 0 110; row 1 180; row 2 330; row 3 60; row 5 90; } > simulated.csv
}

# By hand, over ids 0-2 (3 is not ok in the measured run, 4 and 5 are in one run only):
#   measured ttft 100 200 300, simulated 110 180 330 (ms)
#   means 200 and 206.666..., relative error 1/30; p50 200 and 180, relative error -0.1
#   MAPE = mean(10/100, 20/200, 30/300) = 0.1; mean error = (10 - 20 + 30) / 3 > 0: over
#   r = 22000 / sqrt(20000 * 25266.666...) = 0.97866...
@test "calibrate compare: known answer on a hand-worked pair" {
    run tool calibrate compare measured.csv simulated.csv
    assert_success
    jq -e '.requests == {"measured":5,"simulated":5,"compared":3,
            "excluded":{"only_measured":1,"only_simulated":1,"not_ok":1,"warmup":0}}' <<< "$output"
    jq -e '.ttft_ms.count == 3 and .ttft_ms.measured.mean == 200 and .ttft_ms.measured.p50 == 200
           and .ttft_ms.simulated.p50 == 180' <<< "$output"
    jq -e '(.ttft_ms.relative_error.mean - 1/30 | fabs) < 1e-12
           and (.ttft_ms.relative_error.p50 + 0.1 | fabs) < 1e-12
           and (.ttft_ms.mape - 0.1 | fabs) < 1e-12 and .ttft_ms.bias == "over"
           and (.ttft_ms.pearson_r - 22000 / ((20000 * 25266.666666666668) | sqrt) | fabs) < 1e-12' <<< "$output"
    # one output token: no TPOT anywhere
    jq -e '.tpot_ms.count == 0 and .tpot_ms.mape == null' <<< "$output"
}

@test "calibrate compare: a run against itself has no error" {
    gen-workload -n 300 --seed 3 | simulate > a.csv
    run tool calibrate compare a.csv a.csv
    assert_success
    jq -e '[.ttft_ms, .tpot_ms, .e2e_ms][] | .mape == 0 and .pearson_r == 1 and .bias == "none"
           and .relative_error == {"mean":0,"p50":0,"p90":0,"p99":0}' <<< "$output"
}

@test "calibrate compare: warm-up requests are left out and counted" {
    run tool calibrate compare --warmup-us 1500000 measured.csv simulated.csv
    assert_success
    jq -e '.requests.compared == 1 and .requests.excluded.warmup == 2' <<< "$output"
}

@test "calibrate compare: runs of different requests are refused" {
    sed 's/^1,0,ok,\(.*\),10,1,/1,0,ok,\1,11,1,/' simulated.csv > other.csv
    run --separate-stderr tool calibrate compare measured.csv other.csv
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"other.csv:3: id 1 has 11 input"*"not the same request stream"* ]]

    { cat measured.csv; row 2 300; } > twice.csv
    run --separate-stderr tool calibrate compare twice.csv simulated.csv
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"twice.csv:7: id 2 appears twice"* ]]

    { echo "$HEADER"; row 9 100; } > stranger.csv
    run --separate-stderr tool calibrate compare measured.csv stranger.csv
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"no request id in common"* ]]
    [ -z "$output" ]
}

@test "calibrate compare: bad data and usage errors" {
    { echo "$HEADER"; echo "0,0,ok,-5,,,,,10,1,0,0,,,,s,t"; } > negative.csv
    run --separate-stderr tool calibrate compare negative.csv simulated.csv
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"negative.csv:2:4: field 'arrival_us'"* ]]
    [ -z "$output" ]

    { echo "$HEADER"; echo "0,0,ok,0,0,0,100000,100000,10,1,0,0,,100000,,s,t"; } > missing.csv
    run --separate-stderr tool calibrate compare missing.csv simulated.csv
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"missing.csv:2:13: field 'ttft_us': missing on an ok row"* ]]

    run tool calibrate compare measured.csv
    [ "$status" -eq 2 ]
    run tool calibrate compare --warmup-us -1 measured.csv simulated.csv
    [ "$status" -eq 2 ]
    run tool calibrate fit
    [ "$status" -eq 2 ]
    run tool calibrate
    [ "$status" -eq 2 ]
    run bash -c "calibrate compare measured.csv simulated.csv > /dev/full"
    [ "$status" -eq 3 ]
}

@test "calibrate: --help example runs, --version is exact" {
    run tool calibrate --version
    assert_output "calibrate (servesim) 0.1.0"
    run tool calibrate --help
    assert_success
    example=$(sed -n '/^Example:/,/^$/p' <<< "$output" | sed '1d;/^$/d' | tr '\n' ' ')
    run bash -o pipefail -c "$example"
    assert_success
    jq -e '.requests.compared == 500' <<< "$output"
}

# testdata/vllm-h100/tiny.json: request 0 (ttft 25 ms, e2e 205 ms, 10 tokens: tpot 20 ms),
# request 1 records 0 output tokens (left out), request 2 (30 ms, 110 ms, 5 tokens: tpot
# 20 ms), request 3 failed at the client (dropped).
@test "calibrate import vllm-h100: a hand-made run becomes requests, measured results and an engine" {
    run --separate-stderr tool calibrate import vllm-h100 "$TOP/testdata/vllm-h100/tiny.json" --out .
    assert_success
    [[ "$stderr" == *"1 of 4 requests record 0 output tokens"* ]]
    [[ "$stderr" == *"1 of 4 requests failed at the client"* ]]
    run cat requests.csv
    assert_output "$(printf '%s\n' 'id,arrival_us,input_tokens,output_tokens,prefix,slo_class,tenant,session,round' \
        '0,0,100,10,,,,,0' '2,90000,300,5,,,,,0' '3,90000,40,7,,,,,0')"
    run cat measured.csv
    assert_line --index 1 "0,0,ok,0,,,25000,205000,100,10,0,0,25000,205000,20000,,"
    assert_line --index 2 "2,0,ok,90000,,,120000,200000,300,5,0,0,30000,110000,20000,,"
    assert_line --index 3 "3,,dropped,90000,,,,,40,7,0,0,,,,,"
    run summarize measured.csv
    jq -e '.requests.ok == 2 and .requests.dropped == 1 and .tpot_ms.mean == 20' <<< "$output"
    # the engine file configures simulate, which replays the same requests
    run bash -o pipefail -c "simulate --config engine.yaml --alpha 0,0,0 --beta 5000,10,100 requests.csv > simulated.csv && calibrate compare measured.csv simulated.csv"
    assert_success
    jq -e '.requests.compared == 2 and .requests.excluded.not_ok == 1' <<< "$output"
}

# make_lengths_run NAME SLOPE: a 40-request run, 20 recording 100 output tokens
# and 20 recording 3 (request 39 records 0); each decodes in 2 s + SLOPE ms per
# recorded token. SLOPE 0: the decode time ignores the recorded length.
make_lengths_run() {
    jq -n '{model_id: "meta-llama/Llama-2-7b-hf", config: {tensor_parallelism: 1, max_num_seqs: 128,
            max_num_batched_tokens: 2048, kv_blocks_total_gpu: 7462, block_size: 16},
            requests: [range(40) | {index: ., arrival_time_us: (. * 100000), input_tokens: 50,
                                    output_tokens: (if . == 39 then 0 elif . % 2 == 0 then 100 else 3 end)}]}' > "$1.json"
    jq --argjson slope "$2" '[.requests[] | {index, has_error: false, ttft_s: 0.05,
                               e2e_s: (0.05 + 2 + $slope * .output_tokens / 1000)}]' "$1.json" > "$1_ground_truth.json"
}

@test "calibrate import vllm-h100: recorded lengths the decode times contradict are raised to the median, and said" {
    make_lengths_run flat 0
    run --separate-stderr tool calibrate import vllm-h100 flat.json --out .
    assert_success
    # 40 measured lengths sorted: one 0, nineteen 3, twenty 100: the median (element 20) is 100
    [[ "$stderr" == *"20 of 40 requests record fewer than 100 output tokens (the median)"* ]]
    [[ "$stderr" == *"the 20 recording under half of it decoded as long as the 20 recording at least it"* ]]
    [[ "$stderr" == *"mean E2E - TTFT 2.000 s against 2.000 s"* ]]
    run jq -Rr 'split(",")[3]' requests.csv
    assert_output "$(echo output_tokens; yes 100 | head -40)"
    # the measured TPOT is taken over the raised count: 2 s over 99 gaps, in µs
    run awk -F, 'NR > 1 { print $10, $15 }' measured.csv
    assert_output "$(yes '100 20202.020202' | head -40)"
    # --recorded-lengths keeps the record, and leaves the 0-token request out as before
    mkdir kept
    run --separate-stderr tool calibrate import vllm-h100 flat.json --out kept --recorded-lengths
    assert_success
    [[ "$stderr" == *"1 of 40 requests record 0 output tokens"* ]]
    [[ "$stderr" != *"median"* ]]
    run awk -F, 'NR > 1 { n[$4]++ } END { print n[100], n[3], n[0] + 0 }' kept/requests.csv
    assert_output "20 19 0"
}

@test "calibrate import vllm-h100: recorded lengths that the decode times follow are kept" {
    # 2 s + 20 ms per token: the short requests decode in 2.06 s, the long in 4 s (under 80 %)
    make_lengths_run sloped 20
    run --separate-stderr tool calibrate import vllm-h100 sloped.json --out .
    assert_success
    [[ "$stderr" == *"1 of 40 requests record 0 output tokens"* ]]
    [[ "$stderr" != *"median"* ]]
    run awk -F, 'NR > 1 { n[$4]++ } END { print n[100], n[3] }' requests.csv
    assert_output "20 19"
    run --separate-stderr tool calibrate import csv "$TOP/testdata/vllm-h100/tiny.json" --out . --recorded-lengths
    assert_failure 2
    [[ "$stderr" == *"--recorded-lengths applies to the vllm-h100 format only"* ]]
}

@test "calibrate import: broken runs are refused with the element named" {
    sed 's/"input_tokens": 300/"input_tokens": -3/' "$TOP/testdata/vllm-h100/tiny.json" > bad.json
    cp "$TOP/testdata/vllm-h100/tiny_ground_truth.json" bad_ground_truth.json
    run --separate-stderr tool calibrate import vllm-h100 bad.json --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"bad.json: requests[2].input_tokens: negative"* ]]
    [ ! -e requests.csv ] && [ ! -e measured.csv ] && [ ! -e engine.yaml ]

    cp "$TOP/testdata/vllm-h100/tiny.json" short.json
    head -3 "$TOP/testdata/vllm-h100/tiny_ground_truth.json" | sed '$ s/,$/]/' > short_ground_truth.json
    run --separate-stderr tool calibrate import vllm-h100 short.json --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"3 entries for 4 requests"* ]]

    cp "$TOP/testdata/vllm-h100/tiny.json" late.json
    sed 's/"ttft_s": 0.030, "e2e_s": 0.110/"ttft_s": 0.3, "e2e_s": 0.110/' \
        "$TOP/testdata/vllm-h100/tiny_ground_truth.json" > late_ground_truth.json
    run --separate-stderr tool calibrate import vllm-h100 late.json --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"[0]: e2e_s is shorter than ttft_s"* ]]

    printf '{"requests": [' > truncated.json
    cp late_ground_truth.json truncated_ground_truth.json
    run --separate-stderr tool calibrate import vllm-h100 truncated.json --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"truncated.json:1:"* ]]

    run tool calibrate import csv-of-my-own x.json --out .
    [ "$status" -eq 2 ]
    run tool calibrate import vllm-h100 "$TOP/testdata/vllm-h100/tiny.json"
    [ "$status" -eq 2 ]
}

@test "calibrate import: a real H100 run (../shared) keeps its row count and token totals" {
    require_shared_data
    run_json="$SHARED/data/groundtruth/vllm-h100-train/20260217-231439-llama-2-7b-tp1-general.json"
    [ -f "$run_json" ] || skip "ground-truth run absent"
    truth=${run_json%.json}_ground_truth.json
    # as recorded: the requests recording 0 output tokens are left out
    mkdir recorded
    run tool calibrate import vllm-h100 "$run_json" --out recorded --recorded-lengths
    assert_success
    expected=$(jq '[.requests[] | select(.output_tokens > 0)] | length, (map(.input_tokens) | add), (map(.output_tokens) | add)' "$run_json" | tr '\n' ' ')
    actual=$(awk -F, 'NR > 1 { n++; i += $3; o += $4 } END { print n, i, o }' recorded/requests.csv)
    [ "$actual " = "$expected" ] || { echo "recorded: $actual, source: $expected"; return 1; }
    # as imported by default: every request, lengths under the median of the
    # measured requests' lengths raised to it (this run's decode times ignore them)
    run tool calibrate import vllm-h100 "$run_json" --out .
    assert_success
    expected=$(jq --slurpfile truth "$truth" '
        ([$truth[0][] | select(.has_error | not) | {key: (.index | tostring), value: true}] | from_entries) as $ok
        | ([.requests[] | select($ok[.index | tostring]) | .output_tokens] | sort) as $l
        | $l[$l | length / 2 | floor] as $median
        | (.requests | length), (.requests | map(.input_tokens) | add),
          (.requests | map([.output_tokens, $median] | max) | add), ($ok | length)' "$run_json" | tr '\n' ' ')
    run summarize measured.csv
    ok=$(jq '.requests.ok' <<< "$output")
    actual="$(awk -F, 'NR > 1 { n++; i += $3; o += $4 } END { print n, i, o }' requests.csv) $ok"
    [ "$actual " = "$expected" ] || { echo "imported: $actual, source: $expected"; return 1; }
}

# Two runs simulated with known coefficients (a0 8000; b 6000, 20, 150) at two loads:
# the fit must find every coefficient again within 2 %.
@test "calibrate fit: recovers known coefficients within 2 %" {
    for rate in 8 16; do
        mkdir r$rate
        gen-workload --rate $rate -n 3000 --seed $rate --prompt-tokens 400 --output-tokens 100 > r$rate/requests.csv
        printf 'engine:\n  model: meta-llama/llama-3.1-8b-instruct\n  gpu: H100\n  tp: 1\n  max_num_seqs: 128\n  num_gpu_blocks: 20000\n' > r$rate/engine.yaml
        simulate --config r$rate/engine.yaml --alpha 8000,0,0 --beta 6000,20,150 r$rate/requests.csv > r$rate/measured.csv
    done
    run --separate-stderr tool calibrate fit r8 r16
    assert_success
    line=$(grep '^  - {model' <<< "$output")
    read -r a0 b0 b1 b2 < <(sed -E 's/.*alpha: \[([^,]*),.*beta: \[([^,]*), ([^,]*), ([^]]*)\].*/\1 \2 \3 \4/' <<< "$line")
    within() { awk -v x="$1" -v t="$2" 'BEGIN { e = (x - t) / t; exit !(e < 0.02 && e > -0.02) }'; }
    within "$a0" 8000 && within "$b0" 6000 && within "$b1" 20 && within "$b2" 150 ||
        { echo "fitted a0 $a0 b $b0 $b1 $b2"; return 1; }
    # the file configures simulate: with it, the runs are reproduced closely
    printf '%s\n' "$output" > fitted.yaml
    simulate --config r16/engine.yaml --config fitted.yaml r16/requests.csv > again.csv
    run tool calibrate compare r16/measured.csv again.csv
    jq -e '[.ttft_ms, .e2e_ms, .tpot_ms][] | (.relative_error.mean | fabs) < 0.02' <<< "$output"
}

# Physics: four runs (an 8B model on one GPU and a 70B model on four, each at two
# loads) simulated with a known set; the fitted set must reproduce every run's
# mean TTFT, E2E and TPOT within 2 % (its eight coefficients are not all
# identifiable from four runs, so the set itself is not compared).
@test "calibrate fit --model physics: the fitted set reproduces runs simulated with a known one" {
    printf 'physics:\n  alpha: [12000, 0, 0]\n  prefill_compute: 1.5\n  decode_compute: 1.5\n  memory: 1.1\n  communication: 1\n  per_layer_us: 0\n  per_request_us: 15\n  per_step_us: 2000\n  multi_gpu_arrival_us: 8000\n  per_allreduce_us: 10\n  source: "test"\n' > known.yaml
    for engine in "meta-llama/llama-3.1-8b-instruct 1" "meta-llama/llama-2-70b-hf 4"; do
        read -r model tp <<< "$engine"
        for rate in 4 8; do
            dir=tp$tp-r$rate
            mkdir $dir
            gen-workload --rate $rate -n 1500 --seed $rate --prompt-tokens 500 --output-tokens 120 > $dir/requests.csv
            printf 'engine:\n  model: %s\n  gpu: H100\n  tp: %s\n  max_num_seqs: 128\n  num_gpu_blocks: 20000\n' "$model" "$tp" > $dir/engine.yaml
            simulate --config $dir/engine.yaml --latency-model physics --coefficients known.yaml $dir/requests.csv > $dir/measured.csv
        done
    done
    run --separate-stderr tool calibrate fit --model physics --iterations 25 --progress tp*-r*
    assert_success
    printf '%s\n' "$output" > fitted.yaml
    loss=$(sed -nE 's/.*loss ([0-9.e+-]+) after.*/\1/p' fitted.yaml)
    awk -v l="$loss" 'BEGIN { exit !(l < 1e-3) }' || { echo "loss $loss"; return 1; }
    # the least-squares polish (its progress starts at "iteration 0") lowers the
    # loss the simplex passes ended at
    simplex=$(printf '%s\n' "$stderr" | sed -nE '/iteration 0,/q; s/.*loss ([0-9.e+-]+),.*/\1/p' | tail -n 1)
    awk -v l="$loss" -v s="$simplex" 'BEGIN { exit !(s != "" && l < s) }' ||
        { echo "polished $loss, simplex $simplex"; return 1; }
    for dir in tp*-r*; do
        simulate --config $dir/engine.yaml --coefficients fitted.yaml $dir/requests.csv > again.csv
        run tool calibrate compare $dir/measured.csv again.csv
        jq -e '[.ttft_ms, .e2e_ms, .tpot_ms][] | (.relative_error.mean | fabs) < 0.02' <<< "$output" ||
            { echo "$dir: $output"; return 1; }
    done
}

@test "calibrate fit: runs of different engines are refused, and so is an empty run" {
    mkdir a b
    gen-workload -n 50 > a/requests.csv
    cp a/requests.csv b/requests.csv
    printf 'engine:\n  tp: 1\n  num_gpu_blocks: 5000\n' > a/engine.yaml
    printf 'engine:\n  tp: 2\n  num_gpu_blocks: 5000\n' > b/engine.yaml
    simulate --config a/engine.yaml --alpha 1,0,0 --beta 1,1,1 a/requests.csv > a/measured.csv
    cp a/measured.csv b/measured.csv
    run --separate-stderr tool calibrate fit a b
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"not the same engine"* ]]
    head -1 a/measured.csv > b/measured.csv
    cp a/engine.yaml b/engine.yaml
    run --separate-stderr tool calibrate fit b
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"no ok request after the warm-up"* ]]
    run tool calibrate fit missing-dir
    [ "$status" -eq 2 ]
}
