# SPDX-License-Identifier: GPL-3.0-or-later
# simulate, through the command line: the per-request result contract
# (header, conservation, causality), determinism and the leaping path against
# --single-steps, the --steps and --itl side files, known answers worked out by
# hand, refusal of bad request streams (exit 1, one line naming <stdin>:LINE and
# the field, no complete-looking stdout) and bad flags or config (exit 2),
# --help/--version, write errors, SIGPIPE, --print-config and --horizon-us.
load helper
bats_require_minimum_version 1.5.0

HEADER=id,instance,status,arrival_us,queued_us,scheduled_us,first_token_us,finish_us,input_tokens,output_tokens,cached_tokens,preemptions,ttft_us,e2e_us,tpot_us,slo_class,tenant
STEPS_HEADER=instance,start_us,duration_us,prefill_tokens,decode_tokens,batch_size,waiting,kv_used_blocks,preempted,blocked_head
ITL_HEADER=slo_class,tenant,instance,gap_us,count
REQ_HEADER=id,arrival_us,input_tokens,output_tokens,prefix,slo_class,tenant,session,round
FAILED="simulate failed: results incomplete"

# A request stream: the header, then each argument as one line.
requests() {
    printf '%s\n' "$REQ_HEADER" "$@"
}

# check_contract IN OUT: OUT holds simulate's results for the requests in IN.
# Exact header; one row per request, each id exactly once; ok rows causal with
# ttft/e2e/tpot consistent; non-ok rows have empty latencies.
check_contract() {
    local in=$1 out=$2
    [ "$(head -n 1 "$out")" = "$HEADER" ] || { echo "header: $(head -n 1 "$out")"; return 1; }
    [ -n "$(tail -c 1 "$out")" ] && { echo "last line not terminated"; return 1; }
    local n_in n_out
    n_in=$(($(wc -l < "$in") - 1))
    n_out=$(($(wc -l < "$out") - 1))
    [ "$n_in" -eq "$n_out" ] || { echo "$n_in requests, $n_out rows"; return 1; }
    tail -n +2 "$in" | cut -d, -f1 | sort > "$BATS_TEST_TMPDIR/ids.in"
    tail -n +2 "$out" | cut -d, -f1 | sort > "$BATS_TEST_TMPDIR/ids.out"
    [ -z "$(uniq -d "$BATS_TEST_TMPDIR/ids.out")" ] || { echo "duplicate ids"; return 1; }
    diff "$BATS_TEST_TMPDIR/ids.in" "$BATS_TEST_TMPDIR/ids.out" || { echo "id sets differ"; return 1; }
    awk -F, 'NR == 1 { next }
        NF != 17 { print "fields: " $0; bad = 1; next }
        $3 == "ok" {
            ok++
            if (!($4 <= $5 && $5 <= $6 && $6 <= $7 && $7 <= $8)) { print "causality: " $0; bad = 1 }
            if ($13 != $7 - $4 || $14 != $8 - $4) { print "ttft/e2e: " $0; bad = 1 }
            if ($10 == 1) { if ($15 != "") { print "tpot of one token: " $0; bad = 1 } }
            else {
                t = ($8 - $7) / ($10 - 1); d = t - $15; if (d < 0) d = -d
                # docs/formats.md: within 5e-7 us (6 decimals); the reader allows 1e-6 relative
                if ($15 == "" || d > 1e-6 * (t > 1 ? t : 1)) { print "tpot: " $0; bad = 1 }
            }
            next
        }
        $3 ~ /^(rejected|dropped|timeout|unfinished)$/ {
            if ($13 != "" || $14 != "" || $15 != "") { print "non-ok latency: " $0; bad = 1 }
            next
        }
        { print "status: " $0; bad = 1 }
        END { if (!ok) print "no ok rows"; exit bad || !ok }' "$out"
}

@test "simulate: result header, conservation and causality under preemption" {
    tool gen-workload -n 300 --rate 50 --seed 5 > "$BATS_TEST_TMPDIR/in.csv"
    tool simulate --num-gpu-blocks 100 < "$BATS_TEST_TMPDIR/in.csv" > "$BATS_TEST_TMPDIR/out.csv"
    check_contract "$BATS_TEST_TMPDIR/in.csv" "$BATS_TEST_TMPDIR/out.csv"
    # the small KV pool really forced preemptions
    preemptions=$(awk -F, 'NR > 1 { s += $12 } END { print s + 0 }' "$BATS_TEST_TMPDIR/out.csv")
    [ "$preemptions" -gt 0 ]
}

# A resumed request keeps its output: the result contract holds under many
# preemptions, and the gaps of every request (across its preemptions) add up to
# one per output token after the first.
@test "simulate: --preemption resume keeps the contract and one gap per token" {
    tool gen-workload -n 300 --rate 50 --seed 5 > "$BATS_TEST_TMPDIR/in.csv"
    tool simulate --num-gpu-blocks 100 --preemption resume --itl "$BATS_TEST_TMPDIR/itl.csv" \
        --steps "$BATS_TEST_TMPDIR/steps.csv" < "$BATS_TEST_TMPDIR/in.csv" > "$BATS_TEST_TMPDIR/out.csv"
    check_contract "$BATS_TEST_TMPDIR/in.csv" "$BATS_TEST_TMPDIR/out.csv"
    # one gap per output token after the first, the preempted requests' included
    gaps=$(awk -F, 'NR > 1 { s += $5 } END { print s }' "$BATS_TEST_TMPDIR/itl.csv")
    want=$(awk -F, 'NR > 1 && $3 == "ok" { s += $10 - 1 } END { print s }' "$BATS_TEST_TMPDIR/out.csv")
    [ "$gaps" -eq "$want" ]
    preemptions=$(awk -F, 'NR > 1 { s += $12 } END { print s + 0 }' "$BATS_TEST_TMPDIR/out.csv")
    [ "$preemptions" -gt 0 ]
    # resumed, no output token is decoded twice (some come from the recompute
    # step instead); restarted, the victims decode theirs again
    tool simulate --num-gpu-blocks 100 --preemption restart --steps "$BATS_TEST_TMPDIR/restart.csv" \
        < "$BATS_TEST_TMPDIR/in.csv" > /dev/null
    decoded=$(awk -F, 'NR > 1 { s += $5 } END { print s }' "$BATS_TEST_TMPDIR/steps.csv")
    redecoded=$(awk -F, 'NR > 1 { s += $5 } END { print s }' "$BATS_TEST_TMPDIR/restart.csv")
    [ "$decoded" -le "$want" ]
    [ "$redecoded" -gt "$want" ]
    run tool simulate --num-gpu-blocks 100 --preemption resume --print-config
    assert_line "preemption: resume"
}

@test "simulate: result contract with a shared prefix (--prefix-tokens)" {
    tool gen-workload -n 300 --rate 50 --seed 5 --prefix-tokens 300 > "$BATS_TEST_TMPDIR/in.csv"
    tool simulate --num-gpu-blocks 400 < "$BATS_TEST_TMPDIR/in.csv" > "$BATS_TEST_TMPDIR/out.csv"
    check_contract "$BATS_TEST_TMPDIR/in.csv" "$BATS_TEST_TMPDIR/out.csv"
    awk -F, 'NR > 1 { c += $11; p += $12 } END { exit !(c > 0 && p > 0) }' "$BATS_TEST_TMPDIR/out.csv"
}

@test "simulate: a stream with no requests gives the header only" {
    run --separate-stderr tool simulate <<< "$REQ_HEADER"
    assert_success
    assert_output "$HEADER"
    [ -z "$stderr" ]
}

@test "simulate: the same input twice gives the same bytes, side files included" {
    cd "$BATS_TEST_TMPDIR"
    tool gen-workload -n 300 --rate 50 --seed 3 --prefix-tokens 64 > in.csv
    for i in 1 2; do
        tool simulate --num-gpu-blocks 150 --steps "s$i.csv" --itl "i$i.csv" < in.csv > "r$i.csv"
    done
    cmp r1.csv r2.csv
    cmp s1.csv s2.csv
    cmp i1.csv i2.csv
    [ "$(wc -l < r1.csv)" -eq 301 ]
}

# same_as_single_steps GEN_ARGS -- SIM_ARGS: the leaping path and the reference
# path give identical results, step traces and ITL histograms, and the leaping
# path did leap.
same_as_single_steps() {
    local gen=() sim=()
    while [ "$1" != -- ]; do gen+=("$1"); shift; done
    shift
    sim=("$@")
    cd "$BATS_TEST_TMPDIR"
    tool gen-workload "${gen[@]}" > in.csv
    tool simulate "${sim[@]}" --stats --steps s1.csv --itl i1.csv < in.csv > r1.csv 2> stats
    tool simulate "${sim[@]}" --single-steps --steps s2.csv --itl i2.csv < in.csv > r2.csv
    cmp r1.csv r2.csv
    cmp s1.csv s2.csv
    cmp i1.csv i2.csv
    grep -Eq '[(][1-9][0-9]* in [1-9][0-9]* leaps[)]' stats || { cat stats; return 1; }
}

@test "simulate: --single-steps gives the same bytes, preemption-heavy" {
    same_as_single_steps -n 300 --rate 50 --seed 5 -- --num-gpu-blocks 100
    awk -F, 'NR > 1 { p += $12 } END { exit !(p > 0) }' "$BATS_TEST_TMPDIR/r1.csv"
}

@test "simulate: --single-steps gives the same bytes, prefix-heavy" {
    same_as_single_steps -n 300 --rate 50 --seed 7 --prefix-tokens 300 -- \
        --num-gpu-blocks 400 --max-num-batched-tokens 256 --long-prefill-token-threshold 100
    awk -F, 'NR > 1 { c += $11 } END { exit !(c > 0) }' "$BATS_TEST_TMPDIR/r1.csv"
}

@test "simulate: --steps trace: header, KV within the pool, clock non-decreasing" {
    cd "$BATS_TEST_TMPDIR"
    tool gen-workload -n 300 --rate 50 --seed 2 --prefix-tokens 40 > in.csv
    tool simulate --num-gpu-blocks 120 --steps steps.csv < in.csv > out.csv
    [ "$(head -n 1 steps.csv)" = "$STEPS_HEADER" ]
    [ "$(wc -l < steps.csv)" -gt 300 ]
    awk -F, -v blocks=120 'NR == 1 { next }
        NF != 10 { print "fields: " $0; bad = 1 }
        $8 + 0 > blocks || $8 + 0 < 0 { print "kv_used_blocks: " $0; bad = 1 }
        NR > 2 && $2 + 0 < start { print "clock went back: " $0; bad = 1 }
        NR > 2 && $2 + 0 < end { print "steps overlap: " $0; bad = 1 }
        $8 + 0 == blocks { full = 1 }
        { start = $2 + 0; end = $2 + $3 }
        END { if (!full) print "pool never full"; exit bad || !full }' steps.csv
}

@test "simulate: --itl histogram: header, and one gap per output token after the first" {
    cd "$BATS_TEST_TMPDIR"
    tool gen-workload -n 300 --rate 50 --seed 4 > in.csv
    tool simulate --num-gpu-blocks 100 --itl itl.csv < in.csv > out.csv
    [ "$(head -n 1 itl.csv)" = "$ITL_HEADER" ]
    gaps=$(awk -F, 'NR > 1 { if ($4 < 0 || $5 < 1) bad = 1; s += $5 } END { print bad ? -1 : s + 0 }' itl.csv)
    want=$(awk -F, 'NR > 1 && $3 == "ok" { s += $10 - 1 } END { print s + 0 }' out.csv)
    [ "$gaps" -gt 0 ]
    [ "$gaps" -eq "$want" ] || { echo "histogram counts $gaps gaps, rows give $want"; return 1; }
}

@test "simulate: known answer for one request with given alpha and beta" {
    cd "$BATS_TEST_TMPDIR"
    requests 0,0,100,10,,standard,default,,0 > one.csv
    run --separate-stderr tool simulate --alpha 1000,2,50 --beta 5000,10,100 \
        --steps steps.csv --itl itl.csv one.csv
    assert_success
    [ -z "$stderr" ]
    # queue delay 1000 + 2*100 = 1200; prefill step 5000 + 10*100 = 6000 ends at
    # 7200, first token delivered +50; 9 decode steps of 5000 + 100 = 5100 each;
    # finish 7200 + 45900 + 50 = 53150; tpot 45900 / 9 = 5100.
    assert_output "$HEADER
0,0,ok,0,1200,1200,7250,53150,100,10,0,0,7250,53150,5100,standard,default"
    [ "$(wc -l < steps.csv)" -eq 11 ]
    assert_equal "$(sed -n 2p steps.csv)" "0,1200,6000,100,0,1,0,7,0,"
    assert_equal "$(tail -n 1 steps.csv)" "0,48000,5100,0,1,1,0,7,0,"
    assert_equal "$(cat itl.csv)" "$ITL_HEADER
standard,default,0,5100,9"
}

@test "simulate: the second of two prefix-sharing requests hits 96 cached tokens" {
    cd "$BATS_TEST_TMPDIR"
    requests 0,0,200,10,sys:100,standard,default,,0 \
        1,100000,200,10,sys:100,standard,default,,0 > two.csv
    # 100 shared tokens = 6 full blocks of 16 = 96 tokens
    run tool simulate two.csv
    assert_success
    [ "${#lines[@]}" -eq 3 ]
    assert_equal "$(awk -F, 'NR > 1 { print $1 ":" $11 }' <<< "$output" | sort)" "0:0
1:96"
    run tool simulate --no-prefix-caching two.csv
    assert_success
    [ "${#lines[@]}" -eq 3 ]
    assert_equal "$(awk -F, 'NR > 1 { print $1 ":" $11 }' <<< "$output" | sort)" "0:0
1:0"
}

# bad_data WHERE WHAT... -- ROW...: simulate on a stream made of ROWs (printf
# %b, so \n and a missing final newline can be written) fails with exit 1,
# one stderr line naming WHERE (e.g. "<stdin>:2") and each WHAT, and stdout is
# empty or ends with the unterminated failure marker.
bad_data() {
    local where=$1 what=() status=0
    shift
    while [ "$1" != -- ]; do what+=("$1"); shift; done
    shift
    local in="$BATS_TEST_TMPDIR/bad.csv" out="$BATS_TEST_TMPDIR/bad.out" err="$BATS_TEST_TMPDIR/bad.err"
    printf '%b' "$@" > "$in"
    tool simulate < "$in" > "$out" 2> "$err" || status=$?
    local context="input: $(cat "$in")"
    [ "$status" -eq 1 ] || { echo "status $status, want 1; $context"; cat "$err"; return 1; }
    [ "$(wc -l < "$err")" -eq 1 ] || { echo "stderr not one line: $(cat "$err"); $context"; return 1; }
    local msg
    msg=$(cat "$err")
    [[ "$msg" == "simulate: $where"* ]] || { echo "'$msg' does not start with 'simulate: $where'"; return 1; }
    for w in "${what[@]}"; do
        [[ "$msg" == *"$w"* ]] || { echo "'$msg' does not mention '$w'"; return 1; }
    done
    if [ -s "$out" ]; then
        [ -n "$(tail -c 1 "$out")" ] || { echo "stdout looks complete; $context"; return 1; }
        [ "$(tail -n 1 "$out")" = "$FAILED" ] || { echo "stdout ends with '$(tail -n 1 "$out")'"; return 1; }
    fi
}

@test "simulate: bad request streams exit 1 naming <stdin>:LINE and the field" {
    H="$REQ_HEADER\n"
    ok=0,0,100,10,,standard,default,,0
    bad_data "<stdin>:2:" "unterminated quoted field" -- \
        "$H" '0,0,100,10,"sys:5,standard,default,,0\n1,1,100,10,,standard,default,,0\n'
    bad_data "<stdin>:1:" "missing required column" "'output_tokens'" -- \
        'id,arrival_us,input_tokens\n0,0,100\n'
    bad_data "<stdin>:1:" "unknown column" "'color'" -- \
        "${REQ_HEADER},color\n${ok},red\n"
    bad_data "<stdin>:2:" "'input_tokens'" "not an integer" "'abc'" -- \
        "$H" '0,0,abc,10,,standard,default,,0\n'
    bad_data "<stdin>:2:" "'arrival_us'" "negative" "'-5'" -- \
        "$H" '0,-5,100,10,,standard,default,,0\n'
    bad_data "<stdin>:2:" "'input_tokens'" "'NaN'" -- \
        "$H" '0,0,NaN,10,,standard,default,,0\n'
    bad_data "<stdin>:3:" "'arrival_us'" "'nan'" -- \
        "$H" "$ok\n" '1,nan,100,10,,standard,default,,0\n'
    bad_data "<stdin>:2:" "'input_tokens'" "overflow" "'99999999999999999999'" -- \
        "$H" '0,0,99999999999999999999,10,,standard,default,,0\n'
    bad_data "<stdin>:2:" "'arrival_us'" "overflow" -- \
        "$H" '0,99999999999999999999,100,10,,standard,default,,0\n'
    bad_data "<stdin>:4:" "'arrival_us'" "out of order" -- \
        "$H" '0,100,100,10,,standard,default,,0\n1,200,100,10,,standard,default,,0\n' \
        '2,150,100,10,,standard,default,,0\n'
    bad_data "<stdin>:3:" "6 fields" "header has 9" -- \
        "$H" "$ok\n" '1,0,100,10,,standard\n'
    bad_data "<stdin>:2:" "'output_tokens'" "'0'" -- \
        "$H" '0,0,100,0,,standard,default,,0\n'
    bad_data "<stdin>:2:" "'input_tokens'" "'0'" -- \
        "$H" '0,0,0,10,,standard,default,,0\n'
    bad_data "<stdin>:2:" "'prefix'" "longer than input_tokens" "'sys:200'" -- \
        "$H" '0,0,100,10,sys:200,standard,default,,0\n'
    bad_data "<stdin>:2:" "'prefix'" "'sys100'" -- \
        "$H" '0,0,100,10,sys100,standard,default,,0\n'
    bad_data "<stdin>:3:" "not ended by a newline" -- \
        "$H" "$ok\n" '1,5,100,10,,standard,default,,0'
    bad_data "<stdin>:" "empty input" -- ''
}

@test "simulate: a bad request file is named in the message" {
    requests 0,0,100,10,,standard,default,,0 0,1,10x,10,,standard,default,,0 \
        > "$BATS_TEST_TMPDIR/reqs.csv"
    run --separate-stderr tool simulate "$BATS_TEST_TMPDIR/reqs.csv"
    [ "$status" -eq 1 ]
    assert_equal "$stderr" "simulate: $BATS_TEST_TMPDIR/reqs.csv:3:3: field 'input_tokens': not an integer: '10x'"
}

# refused NAME ARGS...: simulate ARGS (on a valid stream) exits 2, writes
# nothing to stdout and mentions NAME on stderr.
refused() {
    local name=$1
    shift
    tool gen-workload -n 3 > "$BATS_TEST_TMPDIR/in.csv"
    run --separate-stderr tool simulate "$@" < "$BATS_TEST_TMPDIR/in.csv"
    [ "$status" -eq 2 ] || { echo "status $status for: $*"; return 1; }
    [ -z "$output" ] || { echo "stdout not empty for: $*"; return 1; }
    [[ "$stderr" == *"$name"* ]] || { echo "'$stderr' does not name '$name'"; return 1; }
}

@test "simulate: an unknown flag or a missing argument exits 2" {
    refused "--bogus" --bogus
    [[ "$stderr" == *"simulate --help"* ]]
    refused "--max-num-seqs" --max-num-seqs
}

@test "simulate: bad flag values exit 2 naming the option" {
    refused "--max-num-seqs" --max-num-seqs 0
    refused "--max-num-seqs" --max-num-seqs abc
    refused "--gpu-memory-utilization" --gpu-memory-utilization 2
    refused "--alpha" --alpha 1,2
    refused "--beta" --beta 1,2,3,4
    refused "--beta" --beta 1,nan,3
    refused "--horizon-us" --horizon-us 0
    refused "--block-size" --block-size -16
    refused "--preemption" --preemption sometimes
    refused "at most one input file" a.csv b.csv
    refused "/nonexistent/requests.csv" /nonexistent/requests.csv
    # one-line messages for the value errors
    run --separate-stderr tool simulate --max-num-seqs abc
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
}

@test "simulate: an unknown model lists the known combinations" {
    refused "nope/nope" --model nope/nope
    [[ "$stderr" == *"--alpha and --beta"* ]]
    # the known (model gpu tp vllm) combinations follow, one per line
    printf '%s\n' "$stderr" | grep -Eq '^  meta-llama/llama-3.1-8b-instruct H100 1 [0-9.]+$'
    [ "$(printf '%s\n' "$stderr" | wc -l)" -gt 5 ]
}

@test "simulate: a GPU's measured matmul rate scales the generic MFUs; bad values are refused" {
    cd "$BATS_TEST_TMPDIR"
    # a new card at half its data-sheet peak in matmuls, against the H100's 745.6 of 989.5:
    # 0.45 * 0.5 / (745.6 / 989.5) = 0.298602, 0.30 * 0.5 / 0.753512 = 0.199068
    printf 'gpus:\n  HALF: {memory_gib: 48, bf16_tflops: 400, matmul_tflops: 200, bandwidth_tbs: 1}\n' > half.yaml
    run tool simulate --model meta-llama/llama-3.1-8b-instruct --gpu HALF --latency-model roofline \
        --config half.yaml --print-config
    assert_success
    assert_line '  mfu_prefill: 0.298602'
    assert_line '  mfu_decode: 0.199068'
    # and says where they come from: 0.5 / 0.753512 = 0.66356
    assert_line '  mfu_source: roofline defaults x 0.66356: matmuls reach 200 of 400 TFLOP/s here, 745.6 of 989.5 on H100'
    # its own MFU wins over the scaled one
    printf 'gpus:\n  HALF: {mfu_prefill: 0.7}\n' > own.yaml
    run tool simulate --model meta-llama/llama-3.1-8b-instruct --gpu HALF --latency-model roofline \
        --config half.yaml --config own.yaml --print-config
    assert_success
    assert_line '  mfu_prefill: 0.7'
    assert_line '  mfu_decode: 0.199068'
    assert_line "  mfu_source: roofline defaults x 0.66356: matmuls reach 200 of 400 TFLOP/s here, 745.6 of 989.5 on H100; mfu_prefill the GPU's own"
    # a GPU with MFUs of its own, and one with no matmul rate, take nothing from the scale
    run tool simulate --gpu H100 --latency-model roofline --print-config
    assert_success
    assert_line "  mfu_source: the GPU's own"
    run tool simulate --gpu H200 --latency-model roofline --print-config
    assert_success
    assert_line '  mfu_source: roofline defaults'
    printf 'gpus:\n  HALF: {matmul_tflops: -5}\n' > negative.yaml
    refused "negative.yaml:2" --gpu HALF --latency-model roofline --config half.yaml --config negative.yaml
    [[ "$stderr" == *"matmul_tflops"* ]]
    printf 'roofline: {measured_on: NOPE}\n' > nope.yaml
    refused "measured_on" --latency-model roofline --config nope.yaml
    [[ "$stderr" == *"NOPE"* ]]
}

@test "simulate: a MoE model's expert efficiency is scaled like the MFUs, or the GPU's own; bad values are refused" {
    cd "$BATS_TEST_TMPDIR"
    # the catalog's Qwen3-30B-A3B value on the H100 (the reference), and on the
    # half-peak card of the test above: 0.134 * 0.5 / (745.6 / 989.5) = 0.088917
    run tool simulate --model qwen/qwen3-30b-a3b --gpu H100 --latency-model roofline --print-config
    assert_success
    assert_line '  mfu_experts: 0.134'
    assert_line "  mfu_experts_source: the model's 0.134 on H100 x 1"
    printf 'gpus:\n  HALF: {memory_gib: 96, bf16_tflops: 400, matmul_tflops: 200, bandwidth_tbs: 1}\n' > half.yaml
    run tool simulate --model qwen/qwen3-30b-a3b --gpu HALF --latency-model roofline \
        --config half.yaml --print-config
    assert_success
    assert_line '  mfu_experts: 0.088917'
    assert_line "  mfu_experts_source: the model's 0.134 on H100 x 0.66356"
    # a GPU's own value wins, for every MoE model on it
    printf 'gpus:\n  HALF: {mfu_experts: 0.3}\n' > own.yaml
    run tool simulate --model qwen/qwen3-30b-a3b --gpu HALF --latency-model roofline \
        --config half.yaml --config own.yaml --print-config
    assert_success
    assert_line '  mfu_experts: 0.3'
    assert_line "  mfu_experts_source: the GPU's own"
    # a MoE model with no measure runs its experts at the phase's MFU; a dense one says nothing
    run tool simulate --model mistralai/mixtral-8x7b-v0.1 --gpu H100 --tp 2 --latency-model roofline \
        --print-config
    assert_success
    assert_line "  mfu_experts: the phase's (no measure for this model)"
    run tool simulate --gpu H100 --latency-model roofline --print-config
    assert_success
    refute_line --partial 'mfu_experts'
    # the slower experts slow compute-bound steps, ten 8000-token prompts at once: the experts
    # are 3.6 of the 5.5 GFLOP of a token, so its prompt time is about 4 times longer
    { echo 'id,arrival_us,input_tokens,output_tokens'
      for i in 0 1 2 3 4 5 6 7 8 9; do echo "$i,0,8000,2"; done; } > in.csv
    fast=$(printf 'gpus:\n  H100: {mfu_experts: 1}\n' > fast.yaml &&
        tool simulate --model qwen/qwen3-30b-a3b --gpu H100 --latency-model roofline \
            --config fast.yaml in.csv | tool summarize | jq '.ttft_ms.mean')
    slow=$(tool simulate --model qwen/qwen3-30b-a3b --gpu H100 --latency-model roofline in.csv |
        tool summarize | jq '.ttft_ms.mean')
    [ "$(jq -n "$slow > 2 * $fast")" = true ] || { echo "TTFT $slow against $fast"; return 1; }
    printf 'gpus:\n  HALF: {mfu_experts: 1.5}\n' > big.yaml
    refused "big.yaml:2" --gpu HALF --latency-model roofline --config half.yaml --config big.yaml
    [[ "$stderr" == *"mfu_experts"* ]]
    # on a dense model it means nothing, and is refused
    printf 'models:\n  me/dense: {layers: 2, hidden: 64, heads: 4, kv_heads: 4, intermediate: 128, vocab: 100, max_model_len: 512, mfu_experts: 0.2}\n' > dense.yaml
    refused "dense.yaml:2" --config dense.yaml --model me/dense --alpha 0,0,0 --beta 1,1,1
    [[ "$stderr" == *"'mfu_experts' needs experts"* ]]
}

@test "simulate: a --config file with an unknown key or a wrong type names FILE:LINE" {
    cfg="$BATS_TEST_TMPDIR/engine.yaml"
    printf 'version: 1\nengine:\n  max_num_seqs: 4\n  max_num_sequences: 8\n' > "$cfg"
    refused "$cfg:4" --config "$cfg"
    [[ "$stderr" == *"max_num_sequences"* ]]
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    printf 'engine: {max_num_seqs: many}\n' > "$cfg"
    refused "$cfg:1" --config "$cfg"
    [[ "$stderr" == *"max_num_seqs"* && "$stderr" == *many* ]]
    refused "$BATS_TEST_TMPDIR/absent.yaml" --config "$BATS_TEST_TMPDIR/absent.yaml"
    printf 'engine:\n  max_num_seqs: 4\n  preemption: sometimes\n' > "$cfg"
    refused "$cfg:3" --config "$cfg"
    [[ "$stderr" == *"preemption"* && "$stderr" == *sometimes* ]]
}

@test "simulate: --alpha/--beta refuse lists with empty elements" {

    refused "--alpha" --alpha 1,,2,3
    refused "--alpha" --alpha 1,2,3,
    refused "--beta" --beta ,1,2,3
}

@test "simulate: --help mentions every flag, --version is exact" {
    run tool simulate --help
    assert_success
    assert_line --index 0 --regexp '^usage: simulate '
    # every long option the program accepts (from its option table)
    flags=$(sed -n 's/^ *{"\([a-z-]*\)", [a-z_]*_argument,.*/\1/p' "$TOP/tools/simulate/main.c")
    [ "$(wc -w <<< "$flags")" -ge 24 ]
    for flag in $flags; do
        [[ "$output" == *"--$flag"* ]] || { echo "--help does not mention --$flag"; return 1; }
    done
    run tool simulate -h
    assert_success
    assert_line --index 0 --regexp '^usage: simulate '
    run --separate-stderr tool simulate --version
    assert_success
    assert_output "simulate (servesim) 0.1.0"
    [ -z "$stderr" ]
}

@test "simulate: the Example in --help runs and its summary counts the requests" {
    cd "$BATS_TEST_TMPDIR"
    example=$(tool simulate --help | sed -n 's/^  \(gen-workload .* simulate .*\)$/\1/p')
    [ -n "$example" ]
    [ "$(wc -l <<< "$example")" -eq 1 ]
    run --separate-stderr bash -c "set -o pipefail; $example"
    assert_success
    [ -z "$stderr" ]
    n=$(sed -n 's/.* -n \([0-9]*\).*/\1/p' <<< "$example")
    [ -n "$n" ]
    jq -e --argjson n "$n" '.requests.total == $n' <<< "$output"
}

@test "simulate: writing to a full disk fails with status 3 and a message" {
    run --separate-stderr bash -c 'gen-workload -n 200 | simulate > /dev/full'
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"standard output"* ]]
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
}

@test "simulate: an uncreatable --steps file is a clean usage error" {
    tool gen-workload -n 5 > "$BATS_TEST_TMPDIR/in.csv"
    run --separate-stderr tool simulate --steps /nonexistent-dir/x.csv "$BATS_TEST_TMPDIR/in.csv"
    [ "$status" -eq 2 ]
    [ -z "$output" ]
    [[ "$stderr" == *"/nonexistent-dir/x.csv"* ]]
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [ ! -e /nonexistent-dir ]
    # --itl: the histogram is written at the end; failing then is exit 3 at
    # worst, but stdout must not look complete and nothing may appear
    run --separate-stderr tool simulate --itl /nonexistent-dir/i.csv "$BATS_TEST_TMPDIR/in.csv"
    [ "$status" -ne 0 ]
    [[ "$stderr" == *"/nonexistent-dir/i.csv"* ]]
    [ ! -e /nonexistent-dir ]
}

@test "simulate: a run that fails on bad data leaves no --steps or --itl file" {
    cd "$BATS_TEST_TMPDIR"
    mkdir side
    # 60 good requests, then one arriving before the last
    { tool gen-workload -n 60 --rate 50; echo 60,1,100,10,,standard,default,,0; } > in.csv
    run --separate-stderr tool simulate --steps side/steps.csv --itl side/itl.csv in.csv
    [ "$status" -eq 1 ]
    [[ "$stderr" == "simulate: in.csv:62:2: field 'arrival_us'"* ]]
    [ ! -e side/steps.csv ]
    [ ! -e side/itl.csv ]
    # temporary files are gone too
    [ -z "$(ls -A side)" ]
    # and stdout does not end like a complete result
    tool simulate in.csv > out.csv 2> /dev/null || true
    [ "$(tail -n 1 out.csv)" = "$FAILED" ]
    [ -n "$(tail -c 1 out.csv)" ]
}

@test "simulate: a run that fails writing stdout leaves no --steps or --itl file" {

    cd "$BATS_TEST_TMPDIR"
    mkdir side
    run bash -c 'gen-workload -n 200 | simulate --steps side/steps.csv --itl side/itl.csv > /dev/full'
    [ "$status" -eq 3 ]
    [ ! -e side/steps.csv ]
    [ ! -e side/itl.csv ]
}

@test "simulate: --steps and --itl can write into a pipe" {

    cd "$BATS_TEST_TMPDIR"
    tool gen-workload -n 5 > in.csv
    run --separate-stderr bash -c 'simulate --steps >(cat > steps.csv) --itl >(cat > itl.csv) in.csv > out.csv; status=$?; wait; exit $status'
    assert_success
    sleep 0.2
    [ "$(head -n 1 steps.csv)" = "$STEPS_HEADER" ]
    [ "$(head -n 1 itl.csv)" = "$ITL_HEADER" ]
}

@test "simulate: a closed pipe ends it quietly" {
    cd "$BATS_TEST_TMPDIR"
    # both tools' stderr goes to err; head's status is the pipeline's
    run bash -c '{ timeout 20 gen-workload -n 200000 | timeout 20 simulate; } 2> err | head -1'
    assert_success
    assert_output "$HEADER"
    [ -f err ]
    [ ! -s err ] || { cat err; return 1; }
}

@test "simulate: --print-config shows the KV pool and the coefficients' source" {
    run --separate-stderr tool simulate --print-config
    assert_success
    [ -z "$stderr" ]
    assert_line --regexp '^num_gpu_blocks: [1-9][0-9]* +# derived from GPU memory$'
    assert_line --regexp '^alpha: \[[-0-9.e+]+, [-0-9.e+]+, [-0-9.e+]+\]$'
    assert_line --regexp '^beta: \[[-0-9.e+]+, [-0-9.e+]+, [-0-9.e+]+\]$'
    assert_line --regexp '^alpha_source: .+ \(vLLM [0-9][0-9.]*\)$'
    assert_line --regexp '^beta_source: .+ \(vLLM [0-9][0-9.]*\)$'
    assert_line "block_size: 16"
    assert_line "enable_prefix_caching: true"

    run --separate-stderr tool simulate --num-gpu-blocks 123 --print-config
    assert_success
    assert_line "num_gpu_blocks: 123"
    refute_line --partial "derived from GPU memory"

    run --separate-stderr tool simulate --alpha 1,2,3 --beta 4,5,6 --no-prefix-caching --print-config
    assert_success
    assert_line "alpha: [1, 2, 3]"
    assert_line "beta: [4, 5, 6]"
    assert_line "alpha_source: command line"
    assert_line "beta_source: command line"
    assert_line "enable_prefix_caching: false"

    # only one of the two given: the other still comes from the catalog
    run --separate-stderr tool simulate --alpha 1,2,3 --print-config
    assert_success
    assert_line "alpha_source: command line"
    assert_line --regexp '^beta_source: .+ \(vLLM [0-9][0-9.]*\)$'
}

@test "simulate: --print-config reflects a --config file, flags win over it" {
    cfg="$BATS_TEST_TMPDIR/e.yaml"
    printf 'engine:\n  num_gpu_blocks: 777\n  max_num_seqs: 9\n' > "$cfg"
    run tool simulate --max-num-seqs 11 --config "$cfg" --print-config
    assert_success
    assert_line "num_gpu_blocks: 777"
    assert_line "max_num_seqs: 11"
}

@test "simulate: --horizon-us leaves requests in flight unfinished, later ones absent" {
    cd "$BATS_TEST_TMPDIR"
    # constant arrivals every 100 ms; the 30 at 0.1 s .. 3.0 s arrive by the horizon
    tool gen-workload -n 50 --rate 10 --arrival constant > in.csv
    run --separate-stderr tool simulate --horizon-us 3000000 in.csv
    assert_success
    printf '%s\n' "$output" > out.csv
    arrived=$(awk -F, 'NR > 1 && $2 <= 3000000' in.csv | wc -l)
    [ "$arrived" -eq 30 ]
    [ "$(($(wc -l < out.csv) - 1))" -eq "$arrived" ]
    [ "$(tail -n +2 out.csv | cut -d, -f1 | sort -n | tr '\n' ' ')" = "$(seq -s ' ' 0 29) " ]
    awk -F, 'NR == 1 { next }
        $3 == "unfinished" { u++; if ($8 != "" || $13 != "" || $14 != "" || $15 != "") bad = 1 }
        $3 == "ok" { k++ }
        $3 != "ok" && $3 != "unfinished" { bad = 1 }
        END { exit bad || !u || !k }' out.csv
}

@test "simulate: memory is bounded by the requests in flight, not the stream length" {
    require_plain_build
    gen-workload --rate 10 -n 10000 --seed 1 > "$BATS_TEST_TMPDIR/small.csv"
    gen-workload --rate 10 -n 1000000 --seed 1 > "$BATS_TEST_TMPDIR/large.csv"
    small=$(/usr/bin/time -f %M "$TOP/bin/simulate" < "$BATS_TEST_TMPDIR/small.csv" 2>&1 >/dev/null)
    large=$(/usr/bin/time -f %M "$TOP/bin/simulate" < "$BATS_TEST_TMPDIR/large.csv" 2>&1 >/dev/null)
    # 100 times the requests at the same load: the peak RSS (KiB) may differ by noise only
    [ "$large" -le $((small + 2048)) ] || { echo "RSS $small KiB -> $large KiB"; return 1; }
}

@test "simulate: the four ground-truth models use the coefficients fitted here by default" {
    for engine in "meta-llama/llama-2-7b-hf 1" "meta-llama/llama-2-70b-hf 4" \
                  "mistralai/mixtral-8x7b-v0.1 2" "codellama/codellama-34b-instruct-hf 2"; do
        set -- $engine
        run --separate-stderr tool simulate --model "$1" --tp "$2" --print-config
        assert_success
        assert_line --regexp '^beta_source: calibrate fit on the vllm-h100-train ground truth'
    done
}

# The CPU KV tier: on a pool too small for the conversations' context, blocks
# evicted from the GPU are reloaded instead of recomputed, so more prompt
# tokens come from the cache; without prefix caching there is nothing to hold.
@test "simulate: --kv-cpu-blocks reloads evicted prefixes (more cached tokens)" {
    gen-workload --preset multiturn-chat -n 1500 --seed 2 > "$BATS_TEST_TMPDIR/r.csv"
    cached() {
        simulate --num-gpu-blocks 3000 "$@" "$BATS_TEST_TMPDIR/r.csv" |
            awk -F, 'NR > 1 { c += $11 } END { print c }'
    }
    [ "$(head -1 "$BATS_TEST_TMPDIR/r.csv")" ] # the stream exists
    without=$(cached)
    with=$(cached --kv-cpu-blocks 20000)
    [ "$with" -gt "$without" ]
    # --stats counts the reloaded blocks: some with the tier, none without it
    reloaded() {
        simulate --num-gpu-blocks 3000 --stats "$@" "$BATS_TEST_TMPDIR/r.csv" 2>&1 > /dev/null |
            sed -n 's/.*KV blocks reloaded from the CPU tier: \([0-9]*\)$/\1/p'
    }
    [ "$(reloaded)" -eq 0 ]
    [ "$(reloaded --kv-cpu-blocks 20000)" -gt 0 ]
    run simulate --kv-cpu-blocks 100 --no-prefix-caching --print-config
    assert_failure 2
    assert_output --partial "needs prefix caching"
}

@test "simulate: a model, GPU and TP without blackbox coefficients is refused with the nearest sets" {
    run --separate-stderr tool simulate --model meta-llama/llama-3.1-8b-instruct --gpu L40S --print-config
    [ "$status" -eq 2 ]
    [[ "${stderr_lines[0]}" == *"no blackbox coefficients for model 'meta-llama/llama-3.1-8b-instruct' on GPU 'L40S' with tp 1"*"--latency-model roofline or physics"* ]]
    # only the sets of the model asked for are listed, not the whole table
    sets=$(printf '%s\n' "${stderr_lines[@]}" | grep '^  [^ ]*/[^ ]* [^ ]* [0-9]* [^ ]*$' || true)
    listed=$(grep -c . <<< "$sets" || true)
    others=$(grep -vc '^  meta-llama/llama-3.1-8b-instruct ' <<< "$sets" || true)
    [ "$listed" -ge 1 ] && [ "$others" -eq 0 ] || { printf '%s\n' "${stderr_lines[@]}"; return 1; }
    # the roofline needs no coefficients
    run tool simulate --model meta-llama/llama-3.1-8b-instruct --gpu L40S --latency-model roofline --print-config
    assert_success
}

# A gpus entry for a GPU the catalog knows changes only the fields it gives;
# a new GPU still needs its memory.
@test "simulate: a config's gpus entry overrides the fields it names of a known GPU" {
    cd "$BATS_TEST_TMPDIR"
    printf 'gpus:\n  H100: {bandwidth_tbs: 2}\n' > partial.yaml
    run tool simulate --model meta-llama/llama-3.1-8b-instruct --gpu H100 --latency-model roofline \
        --config partial.yaml --print-config
    assert_success
    assert_line '  bandwidth_tbs: 2'
    assert_line '  peak_tflops: 989.5'
    assert_line '  link_gbs: 450'
    printf 'gpus:\n  NEWGPU: {bandwidth_tbs: 2}\n' > new.yaml
    run --separate-stderr tool simulate --model meta-llama/llama-3.1-8b-instruct --gpu NEWGPU \
        --latency-model roofline --config new.yaml --print-config
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"new.yaml:2: GPU 'NEWGPU' needs memory_gib"* ]]
}
