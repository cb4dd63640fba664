# SPDX-License-Identifier: GPL-3.0-or-later
# calibrate import llmservingsim | benchmark-serving | csv, and calibrate compare's ITL
# section: hand-made fixtures worked out by hand, the real LLMServingSim runs in
# ../shared checked against jq's reading of the same files, and refusals of bad input.
load helper

LSS="$SHARED/data/groundtruth/llmservingsim-vllm"
DATA="$TOP/testdata/calibrate"

setup() {
    cd "$BATS_TEST_TMPDIR"
}

# ---- benchmark-serving ----

# testdata/calibrate/benchmark-serving.json, by hand (arrivals from the CSV beside it):
#   id 10: ttft 50 ms, gaps 10 12 10 ms -> e2e 82 ms, tpot 32/3 ms
#   id 11: ttft 80 ms, one gap of 20 ms for 3 tokens (a 2-token chunk) -> e2e 100 ms
#   id 12: failed -> dropped, with the 6 tokens the arrivals asked for
#   id 13: ttft 40 ms, gap 15 ms -> e2e 55 ms; it generated 2 of the 5 tokens asked
@test "calibrate import benchmark-serving: a hand-made result file with its arrivals" {
    run --separate-stderr tool calibrate import benchmark-serving "$DATA/benchmark-serving.json" \
        --arrivals "$DATA/benchmark-serving-arrivals.csv" --out .
    assert_success
    [[ "$stderr" == *"1 of 4 requests failed; written as dropped"* ]]
    [[ "$stderr" == *"1 of 4 requests generated another number of tokens"* ]]
    [[ "$stderr" == *"1 of 4 requests streamed some chunks of several tokens"* ]]
    run cat requests.csv
    assert_output "$(printf '%s\n' 'id,arrival_us,input_tokens,output_tokens,prefix,slo_class,tenant,session,round' \
        '10,0,100,4,,,,,0' '11,250000,200,3,,,,,0' '12,500000,50,6,,,,,0' '13,750000,30,2,,,,,0')"
    run cat measured.csv
    assert_line --index 1 "10,0,ok,0,,,50000,82000,100,4,0,0,50000,82000,10666.666667,,"
    assert_line --index 2 "11,0,ok,250000,,,330000,350000,200,3,0,0,80000,100000,10000,,"
    assert_line --index 3 "12,,dropped,500000,,,,,50,6,0,0,,,,,"
    assert_line --index 4 "13,0,ok,750000,,,790000,805000,30,2,0,0,40000,55000,15000,,"
    run cat measured-itl.csv
    assert_output "$(printf '%s\n' 'slo_class,tenant,instance,gap_us,count' \
        ',,0,10000,2' ',,0,12000,1' ',,0,15000,1' ',,0,20000,1')"
    grep -qx '  model: "meta-llama/llama-3.1-8b-instruct"' engine.yaml
    # the measured files are what summarize reads from simulate: gaps 10 10 12 15 20 ms
    run summarize --itl measured-itl.csv measured.csv
    assert_success
    jq -e '.requests.ok == 3 and .requests.dropped == 1 and .itl_ms.mean == 13.4
           and .itl_ms.p50 == 12' <<< "$output"
}

@test "calibrate import benchmark-serving: send times are needed unless all were sent at once" {
    run --separate-stderr tool calibrate import benchmark-serving "$DATA/benchmark-serving.json" --out .
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"no send times"*"--arrivals"* ]]
    [ ! -e requests.csv ]
    # request_rate "inf": every request arrives at 0, ids are positions, the failed one
    # (length unknown) is left out and counted
    sed 's/"request_rate": 4.0/"request_rate": "inf"/' "$DATA/benchmark-serving.json" > burst.json
    run --separate-stderr tool calibrate import benchmark-serving burst.json --out .
    assert_success
    [[ "$stderr" == *"1 of 4 requests failed; their length is unknown"* ]]
    run cut -d, -f1-4 requests.csv
    assert_output "$(printf '%s\n' 'id,arrival_us,input_tokens,output_tokens' '0,0,100,4' '1,0,200,3' '3,0,30,2')"
}

@test "calibrate import benchmark-serving: bad input is refused with the element named" {
    sed 's/"input_lens": \[100, 200/"input_lens": [100, 201/' "$DATA/benchmark-serving.json" > other.json
    run --separate-stderr tool calibrate import benchmark-serving other.json \
        --arrivals "$DATA/benchmark-serving-arrivals.csv" --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"other.json: input_lens[1]: 201 tokens, but the arrivals give request 11 200"* ]]
    [ ! -e requests.csv ] && [ ! -e measured.csv ] && [ ! -e measured-itl.csv ]

    sed 's/\[0.010, 0.012, 0.010\]/[0.010, -0.012, 0.010]/' "$DATA/benchmark-serving.json" > negative.json
    run --separate-stderr tool calibrate import benchmark-serving negative.json \
        --arrivals "$DATA/benchmark-serving-arrivals.csv" --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"negative.json: itls[0][1]: negative"* ]]

    sed 's/"ttfts": \[0.050, /"ttfts": [/' "$DATA/benchmark-serving.json" > short.json
    run --separate-stderr tool calibrate import benchmark-serving short.json \
        --arrivals "$DATA/benchmark-serving-arrivals.csv" --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"short.json: ttfts: 3 entries, but input_lens has 4"* ]]

    sed 's/"completed": 3/"completed": 4/' "$DATA/benchmark-serving.json" > count.json
    run --separate-stderr tool calibrate import benchmark-serving count.json \
        --arrivals "$DATA/benchmark-serving-arrivals.csv" --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"completed: 4, but 3 requests have no error"* ]]

    head -4 "$DATA/benchmark-serving-arrivals.csv" > three.csv
    run --separate-stderr tool calibrate import benchmark-serving "$DATA/benchmark-serving.json" \
        --arrivals three.csv --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"three.csv: 3 requests, but the result file has 4"* ]]

    grep -v '"itls"' "$DATA/benchmark-serving.json" > summary-only.json
    run --separate-stderr tool calibrate import benchmark-serving summary-only.json \
        --arrivals "$DATA/benchmark-serving-arrivals.csv" --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"itls: missing (was the benchmark run with --save-detailed?)"* ]]

    run tool calibrate import csv "$DATA/generic.csv" --arrivals "$DATA/benchmark-serving-arrivals.csv" --out .
    [ "$status" -eq 2 ]
}

# ---- csv ----

# testdata/calibrate/generic.csv: columns in another order, optional ones, rows out of
# arrival order; id 9 failed (dropped); id 7 was queued at 2500 us.
@test "calibrate import csv: the generic CSV, in arrival order" {
    run --separate-stderr tool calibrate import csv "$DATA/generic.csv" --out .
    assert_success
    [[ "$stderr" == *"1 of 3 requests failed; written as dropped"* ]]
    run cat requests.csv
    assert_output "$(printf '%s\n' 'id,arrival_us,input_tokens,output_tokens,prefix,slo_class,tenant,session,round' \
        '5,1000,32,1,,,bob,,0' '7,2000,64,3,,,alice,,0' '9,2000,16,2,,,alice,,0')"
    run cat measured.csv
    assert_line --index 1 "5,0,ok,1000,,,10000,10000,32,1,0,0,9000,9000,,,bob"
    assert_line --index 2 "7,0,ok,2000,2500,,17000,37000,64,3,0,0,15000,35000,10000,,alice"
    assert_line --index 3 "9,,dropped,2000,,,,,16,2,0,0,,,,,alice"
    [ ! -e measured-itl.csv ]
    # the empty engine section configures simulate, which replays the requests
    run bash -o pipefail -c "simulate --config engine.yaml --alpha 0,0,0 --beta 5000,10,100 requests.csv > simulated.csv && calibrate compare measured.csv simulated.csv"
    assert_success
    jq -e '.requests.compared == 2 and .requests.excluded.not_ok == 1' <<< "$output"
}

@test "calibrate import csv: documented columns are exactly the ones read" {
    documented=$(awk '$0 == "<!-- header: measured-csv -->" { f = 1; next }
                      f && /^```/ { if (in_block) exit; in_block = 1; next }
                      f && in_block { print }' "$TOP/docs/formats.md")
    [ -n "$documented" ]
    { echo "$documented"; echo "1,0,10,2,100,300,ok,0,1,sys:4,gold,acme"; } > all.csv
    run tool calibrate import csv all.csv --out .
    assert_success
    run tail -1 measured.csv
    assert_output "1,0,ok,0,0,1,100,300,10,2,0,0,100,300,200,gold,acme"
    { echo "$documented,extra"; echo "1,0,10,2,100,300,ok,0,1,sys:4,gold,acme,x"; } > more.csv
    run --separate-stderr tool calibrate import csv more.csv --out .
    [ "$status" -eq 1 ]
}

@test "calibrate import csv: bad rows are refused with file, line and field" {
    H=id,arrival_us,input_tokens,output_tokens,ttft_us,e2e_us
    printf '%s\n' "$H" '1,0,10,2,100,300' '2,-5,10,2,100,300' > negative.csv
    run --separate-stderr tool calibrate import csv negative.csv --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"negative.csv:3:2: field 'arrival_us'"* ]]
    [ ! -e requests.csv ] && [ ! -e measured.csv ] && [ ! -e engine.yaml ]

    printf '%s\n' "$H" '1,0,10,2,,300' > missing.csv
    run --separate-stderr tool calibrate import csv missing.csv --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"missing.csv:2:5: field 'ttft_us': missing on an ok row"* ]]

    printf '%s\n' "$H" '1,0,10,2,400,300' > late.csv
    run --separate-stderr tool calibrate import csv late.csv --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"late.csv:2:6: field 'e2e_us'"* ]]

    printf '%s\n' "$H" '1,0,10,2,100,300' '1,5,10,2,100,300' > twice.csv
    run --separate-stderr tool calibrate import csv twice.csv --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"twice.csv:3: field 'id': 1 appears twice (first on line 2)"* ]]

    printf '%s\n' "$H,queued_us" '1,100,10,2,100,300,50' > early.csv
    run --separate-stderr tool calibrate import csv early.csv --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"early.csv:2:7: field 'queued_us'"* ]]

    printf '%s\n' "$H" '1,0,10,0,100,300' > zero.csv
    run --separate-stderr tool calibrate import csv zero.csv --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"zero.csv:2:4: field 'output_tokens'"* ]]

    printf '%s\n' "id,arrival_us" '1,0' > header.csv
    run tool calibrate import csv header.csv --out .
    [ "$status" -eq 1 ]
    run tool calibrate import csv no-such-file.csv --out .
    [ "$status" -eq 2 ]
}

# ---- llmservingsim: hand-made run ----

# A two-request run: arrival_time is wall clock, the rest the engine's monotonic clock.
# queued − arrival is 1000.5 s for request 0 and 1000.52 s for request 1, so the offset is
# 1000.5 s: request 0 is queued on arrival, request 1 20 ms after.
make_lss_run() {
    mkdir -p run/vllm
    cat > run/config.json <<'JSON'
{"nodes": [{"instances": [{"model_name": "Qwen/Qwen3-32B", "hardware": "RTXPRO6000", "tp_size": 2}]}]}
JSON
    cat > run/vllm/meta.json <<'JSON'
{"model": "Qwen/Qwen3-32B", "vllm_version": "0.19.0",
 "engine_kwargs": {"tensor_parallel_size": 2, "data_parallel_size": 1, "max_num_seqs": 128,
                   "max_num_batched_tokens": 2048, "max_model_len": null}}
JSON
    cat > run/vllm/requests.jsonl <<'JSON'
{"request_id": "bench-0", "input_toks": 100, "output_toks": 3, "arrival_time": 5000.0, "queued_ts": 6000.5, "scheduled_ts": 6000.51, "first_token_ts": 6000.6, "last_token_ts": 6000.7}
{"request_id": "bench-1", "input_toks": 50, "output_toks": 1, "arrival_time": 5000.25, "queued_ts": 6000.77, "scheduled_ts": 6000.8, "first_token_ts": 6000.9, "last_token_ts": 6000.9}
JSON
}

# By hand, times from the first arrival (wall 5000.0 = monotonic 6000.5):
#   0: queued 0, scheduled 10 ms, first token 100 ms, last 200 ms
#   1: arrival 250 ms, queued 270 ms, scheduled 300 ms, first = last token 400 ms
@test "calibrate import llmservingsim: clocks aligned as documented, on a hand-made run" {
    make_lss_run
    run --separate-stderr tool calibrate import llmservingsim run --out .
    assert_success
    [[ "$stderr" == *"delays span 0 to 20.000 ms"* ]]
    run cat measured.csv
    assert_line --index 1 "0,0,ok,0,0,10000,100000,200000,100,3,0,0,100000,200000,50000,,"
    assert_line --index 2 "1,0,ok,250000,270000,300000,400000,400000,50,1,0,0,150000,150000,,,"
    run grep -v '^#' engine.yaml
    assert_output "$(printf '%s\n' 'engine:' '  model: "qwen/qwen3-32b"' '  gpu: RTXPRO6000' '  tp: 2' \
        '  max_num_seqs: 128' '  max_num_batched_tokens: 2048' \
        "  preemption: resume   # vLLM keeps a preempted request's output (docs/engine.md)")"
}

# The hardware config.json describes (memory bandwidth in GB/s, link in GB/s and ns)
# overrides those fields of the catalog's GPU in engine.yaml, and simulate uses them.
@test "calibrate import llmservingsim: the run's memory bandwidth and link reach engine.yaml" {
    make_lss_run
    cat > run/config.json <<'JSON'
{"link_bw": 16, "link_latency": 20000,
 "nodes": [{"instances": [{"model_name": "Qwen/Qwen3-32B", "hardware": "RTXPRO6000", "tp_size": 2,
                           "npu_mem": {"mem_size": 96, "mem_bw": 1597}}]}]}
JSON
    run --separate-stderr tool calibrate import llmservingsim run --out .
    assert_success
    grep -qx '  RTXPRO6000: {bandwidth_tbs: 1.597, link_gbs: 16, link_latency_us: 20}' engine.yaml
    run tool simulate --config engine.yaml --latency-model roofline --print-config
    assert_success
    assert_line '  bandwidth_tbs: 1.597'
    assert_line '  link_gbs: 16'
    assert_line '  peak_tflops: 503.8' # the rest is the catalog's
    rm engine.yaml requests.csv measured.csv
    sed -i 's/"mem_bw": 1597/"mem_bw": -1/' run/config.json
    run --separate-stderr tool calibrate import llmservingsim run --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"config.json: nodes[0].instances[0].npu_mem.mem_bw: negative"* ]] || { echo "$stderr"; return 1; }
    [ ! -e engine.yaml ]
}

# refused_after FILE SED GLOB: a fresh hand-made run with FILE edited by SED is
# refused as bad data, with a message matching GLOB and no file written.
refused_after() {
    make_lss_run
    sed -i "$2" "run/$1"
    run --separate-stderr tool calibrate import llmservingsim run --out .
    [ "$status" -eq 1 ] || { echo "$2: status $status"; return 1; }
    # shellcheck disable=SC2053 # the pattern is a glob
    [[ "$stderr" == $3 ]] || { echo "$2: $stderr"; return 1; }
    [ ! -e requests.csv ] && [ ! -e measured.csv ] && [ ! -e engine.yaml ]
}

@test "calibrate import llmservingsim: bad lines and disagreeing files are refused" {
    refused_after vllm/requests.jsonl '2s/"scheduled_ts": 6000.8/"scheduled_ts": 6000.7/' \
        "*requests.jsonl:2: field 'scheduled_ts': earlier than queued_ts*"
    refused_after vllm/requests.jsonl '2s/"input_toks": 50,/"input_toks": 50/' '*requests.jsonl:2:*'
    refused_after vllm/requests.jsonl '1s/"output_toks": 3/"output_toks": -3/' \
        "*requests.jsonl:1: field 'output_toks': negative: -3*"
    refused_after vllm/requests.jsonl '2s/bench-1/bench-0/' '*request id 0 appears twice*'
    refused_after vllm/requests.jsonl '2s/, "last_token_ts": 6000.9//' \
        "*requests.jsonl:2: field 'last_token_ts': missing*"
    refused_after config.json 's/"tp_size": 2/"tp_size": 4/' \
        '*tensor_parallel_size: 2, but*config.json has tp_size 4*'

    run tool calibrate import llmservingsim no-such-run --out .
    [ "$status" -eq 2 ]
}

# The workload meta.json names (dataset_path, found here one level above the run): prompt
# 0 is tokens 1..100, prompt 1 tokens 1..40 then its own ten. Sorted, prompt 0 comes first,
# so the class of the 40 shared tokens starts at 0: both prompts begin with "tok0.40:40".
make_lss_workload() {
    make_lss_run
    sed -i 's|"vllm_version": "0.19.0",|"vllm_version": "0.19.0", "dataset_path": "workloads/w.jsonl",|' run/vllm/meta.json
    mkdir -p workloads
    {
        printf '{"input_toks": 100, "input_tok_ids": [%s]}\n' "$(seq -s, 1 100)"
        printf '{"input_toks": 50, "input_tok_ids": [%s,%s]}\n' "$(seq -s, 1 40)" "$(seq -s, 500 509)"
    } > workloads/w.jsonl
}

@test "calibrate import llmservingsim: prompts that share token ids share a prefix" {
    make_lss_workload
    run --separate-stderr tool calibrate import llmservingsim run --out .
    assert_success
    [[ "$stderr" == *"w.jsonl: prompt token ids: 2 of 2 requests share a leading part with another (80 prompt tokens in all)"* ]] || { echo "$stderr"; return 1; }
    run cut -d, -f1,3,5 requests.csv
    assert_line --index 1 "0,100,tok0.40:40"
    assert_line --index 2 "1,50,tok0.40:40"
    # the simulated second prompt finds the first one's two full blocks of 16 cached
    run tool simulate --config engine.yaml --latency-model roofline requests.csv
    assert_success
    [ "$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "cached_tokens") c = i } NR == 3 { print $c }' <<< "$output")" = 32 ]
}

@test "calibrate import llmservingsim: a workload that does not match the requests is refused" {
    make_lss_workload
    sed -i '2s/,509\]/]/' workloads/w.jsonl
    run --separate-stderr tool calibrate import llmservingsim run --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"w.jsonl: prompt 1 holds 49 tokens, but request bench-1 in"*"has input_toks 50"* ]] || { echo "$stderr"; return 1; }
    [ ! -e requests.csv ] && [ ! -e measured.csv ] && [ ! -e engine.yaml ]
    make_lss_workload
    sed -i '2s/\[1,/[-1,/' workloads/w.jsonl
    run --separate-stderr tool calibrate import llmservingsim run --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"w.jsonl:2: field 'input_tok_ids': holds a token id that is not an integer"* ]] || { echo "$stderr"; return 1; }
    [ ! -e requests.csv ]
    make_lss_workload
    sed -i '2d' workloads/w.jsonl
    run --separate-stderr tool calibrate import llmservingsim run --out .
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"request bench-1 has no line in"*"w.jsonl (1 prompts)"* ]] || { echo "$stderr"; return 1; }
}

@test "calibrate import llmservingsim: without its workload a run imports, sharing nothing, and says so" {
    make_lss_workload
    rm -r workloads
    run --separate-stderr tool calibrate import llmservingsim run --out .
    assert_success
    [[ "$stderr" == *"dataset_path 'workloads/w.jsonl' not found beside the run: no prompt token ids, so the requests share no prefix"* ]] || { echo "$stderr"; return 1; }
    [ "$(cut -d, -f5 requests.csv | sort -u | tr '\n' '|')" = "|prefix|" ]
}

# ---- llmservingsim: the real runs in ../shared ----

@test "calibrate import llmservingsim: the real runs keep their rows, tokens and timestamps" {
    require_shared_data
    [ -d "$LSS" ] || skip "LLMServingSim runs absent"
    runs=0
    for dir in "$LSS"/*/*/; do
        [ -f "$dir/vllm/requests.jsonl" ] || continue
        runs=$((runs + 1))
        rm -f requests.csv measured.csv engine.yaml
        run --separate-stderr tool calibrate import llmservingsim "$dir" --out .
        assert_success
        [[ "$stderr" == *"prompt token ids: "*" of 300 requests share"* ]] || { echo "$stderr"; return 1; }
        awk -F, 'NR > 1 && $5 != "" { n++; s = 0; k = split($5, seg, ";")
                     for (j = 1; j <= k; j++) { sub(/.*:/, "", seg[j]); s += seg[j] }
                     if (s >= $3) { print "request " $1 ": prefix of " s " tokens"; exit 1 } }
                 END { if (n < 100) { print n " requests with a prefix"; exit 1 } }' requests.csv
        # requests agree on their first segment exactly when their prompts agree on their
        # first token (prompts of one token share nothing: segments stop before the last)
        jq -r '[input_line_number - 1, .input_tok_ids[0], (.input_tok_ids | length)] | @tsv' \
            "$LSS/$(jq -r .dataset_path "$dir/vllm/meta.json")" > first-tokens.tsv
        awk -F'\t' 'NR == FNR { first[$1] = $2; long[$1] = $3 > 1; if ($3 > 1) n[$2]++; next }
            FNR > 1 { split($5, seg, ";"); name = seg[1]; sub(/:[0-9]+$/, "", name)
                t = first[$1]; shared = long[$1] && n[t] > 1
                if (shared != (name != "")) { print "request " $1 ": prefix \"" $5 "\""; exit 1 }
                if (!shared) next
                if ((t in by_token) && by_token[t] != name || (name in by_name) && by_name[name] != t) {
                    print "request " $1 ": first token " t ", first segment " name; exit 1 }
                by_token[t] = name; by_name[name] = t }' first-tokens.tsv FS=, requests.csv
        src="$dir/vllm/requests.jsonl"
        expected=$(jq -s 'length, (map(.input_toks) | add), (map(.output_toks) | add)' "$src" | tr '\n' ' ')
        actual=$(awk -F, 'NR > 1 { n++; i += $3; o += $4 } END { print n, i, o }' requests.csv)
        [ "$actual " = "$expected" ] || { echo "$dir: requests.csv $actual, source $expected"; return 1; }
        # TTFT = first_token − arrival, the arrival moved to the engine clock by the offset
        # d = min(queued − arrival) (docs/calibration.md); E2E likewise with last_token
        jq -rs '(map(.queued_ts - .arrival_time) | min) as $d
                | .[] | [(.request_id | sub("^.*-"; "")), (.first_token_ts - .arrival_time - $d) * 1e6,
                         (.last_token_ts - .arrival_time - $d) * 1e6] | @csv' "$src" | sort -t, -k1,1 > expected.csv
        awk -F, 'NR > 1 { print "\"" $1 "\"," $13 "," $14 }' measured.csv | sort -t, -k1,1 > actual.csv
        join -t, expected.csv actual.csv | awk -F, -v dir="$dir" '
            { n++; dt = $2 - $4; de = $3 - $5; if (dt < 0) dt = -dt; if (de < 0) de = -de
              if (dt > 2 || de > 2) { print dir ": id " $1 " ttft/e2e off by " dt "/" de " us"; bad = 1 } }
            END { if (n != 300 || bad) { print dir ": " n " rows joined"; exit 1 } }'
        run summarize measured.csv
        jq -e '.requests.ok == 300 and .requests.total == 300' <<< "$output"
        model=$(jq -r '.model | ascii_downcase' "$dir/vllm/meta.json")
        grep -qx "  model: \"$model\"" engine.yaml
        grep -qx "  tp: $(jq '.engine_kwargs.tensor_parallel_size' "$dir/vllm/meta.json")" engine.yaml
        grep -qx "  gpu: $(basename "$(dirname "$dir")")" engine.yaml
        blocks=$(jq '.kv_cache.num_gpu_blocks // empty' "$dir/vllm/meta.json")
        if [ -n "$blocks" ]; then grep -qx "  num_gpu_blocks: $blocks" engine.yaml; fi
    done
    [ "$runs" -eq 4 ]
}

# ---- compare: ITL ----

# measured gaps 10 10 12 15 20 ms: mean 13.4, p50 12, p90 18, p99 19.8
# simulated gaps 11 11 11 11 22 ms: mean 13.2, p50 11, p90 17.6, p99 21.56
@test "calibrate compare: the itl section on hand-worked side files" {
    cp "$DATA/generic.csv" g.csv
    tool calibrate import csv g.csv --out . 2> /dev/null
    printf '%s\n' 'slo_class,tenant,instance,gap_us,count' ',,0,10000,2' ',,0,12000,1' \
        ',alice,0,15000,1' ',alice,0,20000,1' > m-itl.csv
    printf '%s\n' 'slo_class,tenant,instance,gap_us,count' ',,0,11000,4' ',,1,22000,1' > s-itl.csv
    run --separate-stderr tool calibrate compare --measured-itl m-itl.csv --simulated-itl s-itl.csv measured.csv measured.csv
    assert_success
    jq -e '.itl_ms.gaps == {"measured":5,"simulated":5}
           and .itl_ms.measured == {"mean":13.4,"p50":12,"p90":18,"p99":19.8}
           and (.itl_ms.simulated.mean - 13.2 | fabs) < 1e-12 and .itl_ms.simulated.p50 == 11
           and (.itl_ms.simulated.p90 - 17.6 | fabs) < 1e-12 and (.itl_ms.simulated.p99 - 21.56 | fabs) < 1e-12
           and (.itl_ms.relative_error.mean + 0.2 / 13.4 | fabs) < 1e-12
           and (.itl_ms.relative_error.p50 + 1 / 12 | fabs) < 1e-12
           and (.itl_ms.request_level | startswith("not applicable"))
           and (keys_unsorted | index("itl_ms")) == (keys_unsorted | length) - 1' <<< "$output"
    # without the side files there is no itl section
    run tool calibrate compare measured.csv measured.csv
    jq -e 'has("itl_ms") | not' <<< "$output"
    # a run against itself: no error
    run tool calibrate compare --measured-itl m-itl.csv --simulated-itl m-itl.csv measured.csv measured.csv
    jq -e '.itl_ms.relative_error == {"mean":0,"p50":0,"p90":0,"p99":0}' <<< "$output"
}

@test "calibrate compare: itl from simulate against itself, and bad side files" {
    gen-workload -n 200 --seed 5 > r.csv
    simulate --itl a-itl.csv r.csv > a.csv
    run tool calibrate compare --measured-itl a-itl.csv --simulated-itl a-itl.csv a.csv a.csv
    assert_success
    expected=$(summarize --itl a-itl.csv a.csv | jq -c '[.itl_ms.mean, .itl_ms.p50, .itl_ms.p90, .itl_ms.p99]')
    [ "$(jq -c '[.itl_ms.measured.mean, .itl_ms.measured.p50, .itl_ms.measured.p90, .itl_ms.measured.p99]' <<< "$output")" = "$expected" ]
    jq -e ".itl_ms.gaps.measured == $(awk -F, 'NR > 1 { s += $4 - 1 } END { print s }' r.csv)" <<< "$output"

    run tool calibrate compare --measured-itl a-itl.csv a.csv a.csv
    [ "$status" -eq 2 ]
    printf '%s\n' 'slo_class,tenant,instance,gap_us,count' ',,0,-5,1' > bad-itl.csv
    run --separate-stderr tool calibrate compare --measured-itl bad-itl.csv --simulated-itl a-itl.csv a.csv a.csv
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"bad-itl.csv:2"* ]]
    [ -z "$output" ]
    run tool calibrate compare --measured-itl missing.csv --simulated-itl a-itl.csv a.csv a.csv
    [ "$status" -eq 2 ]
}
