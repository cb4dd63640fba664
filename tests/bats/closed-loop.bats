# SPDX-License-Identifier: GPL-3.0-or-later
# Closed-loop sessions: gen-workload writes each round r > 0 with after_us,
# simulate releases it exactly after_us after round r - 1 settles. Laws:
# release time, cached context, determinism; bad streams are refused with
# file:line; open-loop streams keep their nine columns.
load helper
bats_require_minimum_version 1.5.0

HEADER=id,arrival_us,input_tokens,output_tokens,prefix,slo_class,tenant,session,round

spec() { # spec ROUNDS: a closed-loop chat client, think times of mean 2 s
    cat <<EOF
aggregate_rate: 2
num_requests: 400
seed: 5
clients:
  - id: chat
    rate_fraction: 1
    prefix_group: sys
    prefix_length: 100
    input_distribution: {type: gaussian, params: {mean: 100, std_dev: 30, min: 10, max: 300}}
    output_distribution: {type: gaussian, params: {mean: 60, std_dev: 20, min: 2, max: 200}}
    multi_turn:
      max_rounds: $1
      think_time_distribution: {type: exponential, params: {mean: 2000000}}
      closed_loop: true
EOF
}

# requests.csv then results.csv: every round r > 0 must arrive at exactly
# finish(r - 1) + after_us, its previous round being ok; prints the count.
release_law='BEGIN { FS = "," }
    FNR == 1 { next }
    NR == FNR { session[$1] = $8; round[$1] = $9; after[$1] = $10; next }
    { arrival[$1] = $4; finish[$1] = $8; status[$1] = $3; id[session[$1] "/" round[$1]] = $1 }
    END {
        for (q in arrival) {
            if (after[q] == "") continue
            p = id[session[q] "/" (round[q] - 1)]
            checked++
            if (p == "" || status[p] != "ok" || arrival[q] != finish[p] + after[q]) {
                print "request " q ": arrived " arrival[q] ", previous round finished " finish[p] \
                      " + after_us " after[q]; bad = 1
            }
        }
        print checked
        exit bad
    }'

@test "closed-loop: gen-workload writes a session's rounds together with after_us" {
    cd "$BATS_TEST_TMPDIR"
    spec 4 > closed.yaml
    tool gen-workload --spec closed.yaml > requests.csv
    [ "$(head -n 1 requests.csv)" = "$HEADER,after_us" ]
    # as docs/formats.md documents it
    documented=$(awk '$0 == "<!-- header: requests-closed-loop -->" { found = 1; next }
        found && /^```/ { if (inside) exit; inside = 1; next }
        found && inside { print }' "$TOP/docs/formats.md")
    [ "$documented" = "$HEADER,after_us" ]
    # round 0 has no after_us; round r > 0 follows round r - 1 of its session
    # on the line before, with round 0's arrival time
    awk -F, 'NR == 1 { next }
        $9 == 0 { if ($10 != "") bad = 1; start = $2; s = $8; r = 0; n0++; next }
        { if ($8 != s || $9 != r + 1 || $2 != start || $10 !~ /^[0-9]+$/) bad = 1; r = $9; n++ }
        END { exit bad || n0 != 100 || n != 300 }' requests.csv
}

@test "closed-loop: each round arrives exactly after_us after the previous one finishes" {
    cd "$BATS_TEST_TMPDIR"
    spec 4 > closed.yaml
    tool gen-workload --spec closed.yaml > requests.csv
    tool simulate --num-gpu-blocks 1000000 requests.csv > results.csv
    run awk "$release_law" requests.csv results.csv
    assert_success
    assert_output 300
    # the same law with three instances: a later round is routed like any request
    tool simulate --num-gpu-blocks 1000000 --instances 3 requests.csv > results3.csv
    run awk "$release_law" requests.csv results3.csv
    assert_success
    assert_output 300
    [ "$(awk -F, 'NR > 1 { print $2 }' results3.csv | sort -u | wc -l)" -eq 3 ]
    # every request has one results row, and closed loop changed the arrivals
    [ "$(wc -l < results.csv)" -eq 401 ]
    ! cmp -s <(awk -F, 'NR > 1 { print $1, $2 }' requests.csv | sort) \
             <(awk -F, 'NR > 1 { print $1, $4 }' results.csv | sort)
}

@test "closed-loop: later rounds find the previous round's prompt and output cached" {
    cd "$BATS_TEST_TMPDIR"
    spec 5 > closed.yaml
    tool gen-workload --spec closed.yaml > requests.csv
    tool simulate --num-gpu-blocks 1000000 requests.csv > results.csv
    # the previous round finished before this one arrived (law above), so
    # the full 16-token blocks of its prompt and output (bar the last output
    # token, never fed back) are cached: 16 * floor((in + out - 1) / 16)
    awk -F, 'NR == FNR { if (FNR > 1) key[$1] = $8 "/" $9; next }
        FNR > 1 { k = key[$1]; input[k] = $9; output[k] = $10; cached[k] = $11 }
        END {
            for (k in input) {
                n = split(k, a, "/"); r = a[2]
                if (r == 0) continue
                p = a[1] "/" (r - 1)
                need = 16 * int((input[p] + output[p] - 1) / 16)
                checked++
                if (cached[k] < need) { print k ": cached " cached[k] " < " need; bad = 1 }
            }
            exit bad || checked != 320
        }' requests.csv results.csv
}

@test "closed-loop: reruns are byte-identical" {
    cd "$BATS_TEST_TMPDIR"
    spec 4 > closed.yaml
    tool gen-workload --spec closed.yaml > a.csv
    tool gen-workload --spec closed.yaml > b.csv
    cmp a.csv b.csv
    tool simulate --instances 2 a.csv > ra.csv
    tool simulate --instances 2 b.csv > rb.csv
    cmp ra.csv rb.csv
    # held rounds stop every leap at the next event: leaping changes nothing
    tool simulate --instances 2 --single-steps a.csv > single.csv
    cmp <(sort ra.csv) <(sort single.csv)
}

@test "closed-loop: a round after a dropped round is released when the drop is decided" {
    cd "$BATS_TEST_TMPDIR"
    # round 0 can never fit 4 blocks of 16 tokens: dropped; round 1 follows
    # it anyway, 500 us after the drop; round 2 right when round 1 finishes
    printf '%s\n' "$HEADER,after_us" '0,1000,100,5,,,,s,0,' '1,1000,10,5,,,,s,1,500' \
        '2,1000,10,5,,,,s,2,0' > requests.csv
    tool simulate --num-gpu-blocks 4 requests.csv > results.csv
    awk -F, 'NR > 1 { status[$1] = $3; arrival[$1] = $4; finish[$1] = $8 }
        END { exit !(status[0] == "dropped" && status[1] == "ok" && status[2] == "ok" &&
                     arrival[1] >= 1500 && arrival[2] == finish[1]) }' results.csv
}

@test "closed-loop: bad after_us is refused with file:line and the field" {
    cd "$BATS_TEST_TMPDIR"
    printf '%s\n' "$HEADER,after_us" '0,0,10,5,,,,s,0,' '1,0,10,5,,,,s,1,-3' > neg.csv
    run --separate-stderr tool simulate neg.csv
    assert_failure 1
    [ -z "$output" ]
    [[ "$stderr" == *"neg.csv:3:10: field 'after_us': "* ]]
    printf '%s\n' "$HEADER,after_us" '0,0,10,5,,,,s,0,7' > first.csv
    run --separate-stderr tool simulate first.csv
    assert_failure 1
    [ -z "$output" ]
    [[ "$stderr" == *"first.csv:2:10: field 'after_us': after_us is for rounds >= 1"* ]]
    # round 1 of s must come right after round 0 of s
    printf '%s\n' "$HEADER,after_us" '0,0,10,5,,,,s,0,' '1,0,10,5,,,,t,0,' \
        '2,0,10,5,,,,s,1,100' > missing.csv
    run --separate-stderr tool simulate missing.csv
    assert_failure 1
    [ -z "$output" ]
    [[ "$stderr" == *"missing.csv:4:9: field 'round': a closed-loop round must follow"* ]]
    printf '%s\n' "$HEADER,after_us" '0,0,10,5,,,,s,0,' '1,0,10,5,,,,s,2,100' > skipped.csv
    run --separate-stderr tool simulate skipped.csv
    assert_failure 1
    [[ "$stderr" == *"skipped.csv:3:9: field 'round'"* ]]
}

@test "closed-loop: open-loop streams keep the nine columns" {
    cd "$BATS_TEST_TMPDIR"
    tool gen-workload -n 50 > flags.csv
    for p in $(tool gen-workload --list-presets | awk '{ print $1 }'); do
        tool gen-workload --preset "$p" -n 50 > "preset-$p.csv"
    done
    spec 4 | sed '/closed_loop/d' > open.yaml
    tool gen-workload --spec open.yaml > open.csv
    for f in flags.csv preset-*.csv open.csv; do
        [ "$(head -n 1 "$f")" = "$HEADER" ] || { echo "$f: $(head -n 1 "$f")"; return 1; }
        awk -F, 'NF != 9 { exit 1 }' "$f" || { echo "$f has a row of another width"; return 1; }
    done
    # the open-loop spec's rounds keep their own arrival times (r + 1 a think
    # time after r), unlike the closed-loop stream of the same seed
    spec 4 > closed.yaml
    tool gen-workload --spec closed.yaml > closed.csv
    ! cmp -s <(cut -d, -f2 open.csv | sort -n) <(cut -d, -f2 closed.csv | sort -n)
}
