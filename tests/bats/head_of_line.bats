#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# Head-of-line blocking (docs/cluster.md): the step trace's blocked_head column
# and summarize --steps, on runs whose blocked steps are counted by hand.

load helper

REQ_HEADER=id,arrival_us,input_tokens,output_tokens,prefix,slo_class,tenant,session,round
STEPS_HEADER=instance,start_us,duration_us,prefill_tokens,decode_tokens,batch_size,waiting,kv_used_blocks,preempted,blocked_head

setup() {
    cd "$BATS_TEST_TMPDIR"
    # A pool of 10 blocks of 16 tokens; queue delay 1000 + 2 * input, steps
    # 5000 + 10 per prefill token + 100 per decode token.
    #   A (id 0, 64 prompt, 40 output) enters at 1128 and prefills (4 blocks).
    #   B (id 1, 120 prompt) enters at 1340 and needs ceil(120 / 16) = 8 blocks;
    #   C (id 2, 16 prompt) enters at 1432 behind it and needs 1.
    #   A's 39 decode steps (start 6768, every 5100 us) hold 5..7 blocks, so B
    #   never fits although 255 seats are free: 39 blocked steps, all naming B,
    #   while C, which would fit, waits behind it. Then B and C are admitted
    #   together (136 prefill tokens) and C decodes once: 42 steps.
    printf '%s\n' "$REQ_HEADER" 0,0,64,40,,standard,t,,0 1,100,120,1,,standard,t,,0 \
        2,400,16,2,,standard,t,,0 > three.csv
    sim=(--alpha 1000,2,50 --beta 5000,10,100)
}

@test "head-of-line: 39 blocked steps, one blocked request, by hand" {
    tool simulate "${sim[@]}" --num-gpu-blocks 10 --steps steps.csv --stats three.csv > results.csv 2> stats
    grep -q 'head-of-line blocked steps: 39,' stats || { cat stats; return 1; }
    [ "$(head -n 1 steps.csv)" = "$STEPS_HEADER" ]
    [ "$(wc -l < steps.csv)" -eq 43 ]
    assert_equal "$(sed -n 3p steps.csv)" "0,6768,5100,0,1,1,2,5,0,1"
    assert_equal "$(sed -n 42p steps.csv)" "0,205668,6360,136,0,2,0,9,0,"
    [ "$(awk -F, 'NR > 1 && $10 != "" { n++ } END { print n }' steps.csv)" -eq 39 ]
    run --separate-stderr tool summarize --steps steps.csv results.csv
    assert_success
    assert_equal "$(echo "$output" | jq -c '.anomalies | [.head_of_line_blocked_steps, .head_of_line_blocked_requests]')" "[39,1]"
    # C, which would have fitted, was scheduled only when B was
    assert_equal "$(awk -F, '$1 == 2 { print $6 }' results.csv)" 205668
}

@test "head-of-line: ample KV blocks nothing; a full house is not head-of-line" {
    tool simulate "${sim[@]}" --num-gpu-blocks 1000 --steps steps.csv --stats three.csv > results.csv 2> stats
    grep -q 'head-of-line blocked steps: 0,' stats || { cat stats; return 1; }
    run tool summarize --steps steps.csv results.csv
    assert_success
    assert_equal "$(echo "$output" | jq -c '.anomalies | [.head_of_line_blocked_steps, .head_of_line_blocked_requests]')" "[0,0]"
    # one seat: B waits for the seat A holds, not for KV
    tool simulate "${sim[@]}" --num-gpu-blocks 10 --max-num-seqs 1 --steps steps.csv three.csv > results.csv
    [ "$(awk -F, 'NR > 1 && $3 == "ok"' results.csv | wc -l)" -eq 3 ]
    run tool summarize --steps steps.csv results.csv
    assert_equal "$(echo "$output" | jq -c '.anomalies | [.head_of_line_blocked_steps, .head_of_line_blocked_requests]')" "[0,0]"
}

@test "head-of-line: null without --steps; --warmup-us drops steps started before it" {
    tool simulate "${sim[@]}" --num-gpu-blocks 10 --steps steps.csv three.csv > results.csv
    run tool summarize results.csv
    assert_success
    assert_equal "$(echo "$output" | jq -c '.anomalies | [.head_of_line_blocked_steps, .head_of_line_blocked_requests]')" "[null,null]"
    # the first blocked step starts at 6768, the second at 11868
    run tool summarize --warmup-us 11868 --steps steps.csv results.csv
    assert_equal "$(echo "$output" | jq .anomalies.head_of_line_blocked_steps)" 38
}

@test "head-of-line: leaps and --single-steps write the same trace, blocked heads included" {
    tool gen-workload -n 400 --rate 40 --seed 7 > w.csv
    tool simulate --num-gpu-blocks 120 --steps leap.csv w.csv > a.csv
    tool simulate --num-gpu-blocks 120 --single-steps --steps single.csv w.csv > b.csv
    cmp leap.csv single.csv
    cmp a.csv b.csv
    # the column is exercised, and a blocked head is still waiting
    [ "$(awk -F, 'NR > 1 && $10 != "" { n++ } END { print n + 0 }' leap.csv)" -gt 0 ]
    awk -F, 'NR > 1 && $10 != "" && $7 + 0 < 1 { print "blocked but nothing waits: " $0; bad = 1 }
        END { exit bad }' leap.csv
}

@test "head-of-line: distinct requests across instances and repeated heads" {
    # instance 0 is blocked by 5, 5, 7, 5; instance 1 by 5 (a P/D request on
    # its decode instance) and 9: 6 steps, requests {5, 7, 9}
    cat > steps.csv <<CSV
$STEPS_HEADER
0,0,10,0,1,1,3,9,0,5
1,0,10,0,1,1,1,9,0,5
0,10,10,0,1,1,3,9,0,5
0,20,10,0,1,1,3,9,0,7
1,10,10,0,1,1,0,9,0,
0,30,10,0,1,1,3,9,0,5
1,20,10,0,1,1,1,9,0,9
CSV
    tool simulate "${sim[@]}" three.csv > results.csv
    run tool summarize --steps steps.csv results.csv
    assert_success
    assert_equal "$(echo "$output" | jq -c '.anomalies | [.head_of_line_blocked_steps, .head_of_line_blocked_requests]')" "[6,3]"
}

@test "head-of-line: a bad step trace is bad data (exit 1) naming file, line and field" {
    tool simulate "${sim[@]}" three.csv > results.csv
    printf '%s\n' "$STEPS_HEADER" 0,0,10,0,1,1,3,9,0,5 0,10,10,0,1,1,3,9,0,x > bad.csv
    run --separate-stderr tool summarize --steps bad.csv results.csv
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [[ "$stderr" == *"bad.csv:3:"*"blocked_head"* ]]
    # a trace from before the column: its header lacks blocked_head
    printf '%s\n' "${STEPS_HEADER%,blocked_head}" 0,0,10,0,1,1,3,9,0 > old.csv
    run --separate-stderr tool summarize --steps old.csv results.csv
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"old.csv"*"blocked_head"* ]]
    run --separate-stderr tool summarize --steps missing.csv results.csv
    [ "$status" -eq 2 ]
    [ -z "$output" ]
}
