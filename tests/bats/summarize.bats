# SPDX-License-Identifier: GPL-3.0-or-later
# summarize: per-request results (+ ITL side file) in, summary JSON out.
# Laws: the output is one line of valid JSON whose keys are exactly the
# documented ones, in the documented order; counts by status add up to the
# total in every section; hand-checked values on testdata/*-small.csv (the
# arithmetic is in tests/unit/test_summary.c); every bad input exits 1 with
# a message naming file:line, every usage error exits 2, a failed write
# exits 3; a closed pipe ends the tool quietly.
load helper
bats_require_minimum_version 1.5.0

setup() {
    RES="$TOP/testdata/results-small.csv"
    ITL="$TOP/testdata/itl-small.csv"
    HEADER=$(head -n 1 "$RES")
}

# The fenced block that follows "<!-- NAME -->" in docs/formats.md.
docs_block() {
    awk -v marker="<!-- $1 -->" '
        $0 == marker { found = 1; next }
        found && /^```/ { if (inside) exit; inside = 1; next }
        found && inside { print }' "$TOP/docs/formats.md"
}

# Runs summarize on a results file holding the header and then $1 (printf format).
bad_results() {
    printf "%s\n$1" "$HEADER" > "$BATS_TEST_TMPDIR/bad.csv"
    run tool summarize "$BATS_TEST_TMPDIR/bad.csv"
}

# ---- the tool's face ----

@test "summarize: --version" {
    run tool summarize --version
    assert_success
    assert_output "summarize (servesim) 0.1.0"
}

@test "summarize: --help names every option and exits 0" {
    run tool summarize --help
    assert_success
    for option in --itl --slo-ttft-ms --slo-tpot-ms --slo-e2e-ms --warmup-us --help --version; do
        assert_output --partial -- "$option"
    done
}

@test "summarize: the --help example runs" {
    example=$(tool summarize --help | awk '/^Example:/ { getline; sub(/^ +/, ""); print }')
    [ "$example" = "summarize --slo-ttft-ms 500 results.csv | jq .slo.attainment" ]
    cd "$BATS_TEST_TMPDIR"
    cp "$RES" results.csv
    run sh -c "$example"
    assert_success
    # every ok request has ttft <= 500 ms: 5 of 9 requests
    assert_output "0.5555555555555556"
}

# ---- the document ----

@test "summarize: one line of valid JSON, newline-terminated, no trailing spaces" {
    tool summarize --itl "$ITL" --slo-e2e-ms 400 "$RES" > "$BATS_TEST_TMPDIR/out.json"
    [ "$(wc -l < "$BATS_TEST_TMPDIR/out.json")" -eq 1 ]
    [ -z "$(tail -c 1 "$BATS_TEST_TMPDIR/out.json")" ]
    ! grep -q ' $' "$BATS_TEST_TMPDIR/out.json"
    jq -e 'type == "object"' "$BATS_TEST_TMPDIR/out.json"
}

@test "summarize: run-section keys are exactly those of docs/formats.md, in order" {
    docs_block "keys: summary" > "$BATS_TEST_TMPDIR/documented"
    [ -s "$BATS_TEST_TMPDIR/documented" ]
    tool summarize --itl "$ITL" --slo-ttft-ms 1 --slo-tpot-ms 2 --slo-e2e-ms 3 "$RES" |
        jq -r '(del(.by_slo_class, .by_tenant, .by_instance) | paths(type != "object") | join(".")),
               (keys_unsorted[] | select(startswith("by_")))' > "$BATS_TEST_TMPDIR/produced"
    diff "$BATS_TEST_TMPDIR/documented" "$BATS_TEST_TMPDIR/produced"
    # by_* come last
    tool summarize "$RES" | jq -e 'keys_unsorted[-3:] == ["by_slo_class", "by_tenant", "by_instance"]'
}

@test "summarize: every group section has the run's keys minus version, duration_s, by_*" {
    run tool summarize --itl "$ITL" --slo-ttft-ms 60 "$RES"
    assert_success
    echo "$output" | jq -e '
        def p: [paths(type != "object") | join(".")];
        (del(.version, .duration_s, .balance, .anomalies, .decisions, .fitness, .by_slo_class, .by_tenant, .by_instance) | p) as $run
        | [.by_slo_class[], .by_tenant[], .by_instance[] | p == $run] | (length == 6 and all)'
}

@test "summarize: key order is stable from run to run and between stdin and a file" {
    a=$(tool summarize --itl "$ITL" "$RES")
    b=$(tool summarize --itl "$ITL" < "$RES")
    c=$(tool summarize --itl "$ITL" - < "$RES")
    [ "$a" = "$b" ]
    [ "$a" = "$c" ]
    [ "$(echo "$a" | jq -c 'keys_unsorted')" = '["version","requests","duration_s","throughput","ttft_ms","tpot_ms","itl_ms","e2e_ms","queueing_ms","cache","preemptions","slo","balance","anomalies","decisions","fitness","by_slo_class","by_tenant","by_instance"]' ]
    [ "$(echo "$a" | jq -c '.by_tenant.bob | keys_unsorted')" = '["requests","throughput","ttft_ms","tpot_ms","itl_ms","e2e_ms","queueing_ms","cache","preemptions","slo"]' ]
    [ "$(echo "$a" | jq -c '.ttft_ms | keys_unsorted')" = '["count","mean","p50","p90","p95","p99","max"]' ]
}

# ---- values ----

@test "summarize: hand-checked values on the fixtures" {
    run tool summarize --itl "$ITL" --slo-ttft-ms 60 --slo-tpot-ms 20 "$RES"
    assert_success
    j() { echo "$output" | jq -c "$1"; }
    [ "$(j .requests)" = '{"total":9,"ok":5,"rejected":1,"dropped":1,"timeout":1,"unfinished":1}' ]
    [ "$(j .duration_s)" = 0.54 ]
    # 5 ok requests, 850 input and 41 output tokens over 0.54 s
    [ "$(j .throughput)" = '{"requests_per_s":9.25925925925926,"input_tokens_per_s":1574.0740740740741,"output_tokens_per_s":75.92592592592592}' ]
    # ttft 30 40 50 100 200 ms; type 7 p95 = 100 + 0.8 * 100, as numpy prints it
    [ "$(j .ttft_ms)" = '{"count":5,"mean":84,"p50":50,"p90":160,"p95":179.99999999999997,"p99":196,"max":200}' ]
    [ "$(j .tpot_ms.count)" = 4 ]
    [ "$(j .tpot_ms.mean)" = 32.5 ]
    # 36 gaps: 9 ms x5, 10 ms x23, 11 ms x5, 50, 100, 150 ms
    [ "$(j '.itl_ms | [.count, .mean, .p50, .p90, .p95, .max]')" = '[36,17.5,10,11,62.5,150]' ]
    [ "$(j '.e2e_ms | [.mean, .p50, .max]')" = '[210,150,500]' ]
    [ "$(j '.queueing_ms | [.mean, .p50, .max]')" = '[5.8,5,10]' ]
    [ "$(j .cache)" = '{"cached_tokens":96,"input_tokens":850,"hit_rate":0.11294117647058824}' ]
    [ "$(j .preemptions)" = '{"total":4,"requests_preempted":3}' ]
    [ "$(j .slo)" = '{"ttft_ms":60,"tpot_ms":20,"e2e_ms":null,"met":3,"attainment":0.3333333333333333,"goodput_requests_per_s":5.555555555555555}' ]
    [ "$(j '.by_slo_class | keys_unsorted')" = '["batch","interactive"]' ]
    [ "$(j '.by_slo_class.batch.requests')" = '{"total":5,"ok":2,"rejected":1,"dropped":1,"timeout":1,"unfinished":0}' ]
    [ "$(j '.by_slo_class.batch.itl_ms.count')" = 23 ]
    [ "$(j '.by_slo_class.interactive.slo.met')" = 2 ]
    [ "$(j '.by_tenant | keys_unsorted')" = '["alice","bob"]' ]
    [ "$(j '.by_tenant.alice.preemptions')" = '{"total":3,"requests_preempted":2}' ]
    # request 3 was rejected before reaching an instance: in no by_instance section
    [ "$(j '.by_instance | keys_unsorted')" = '["0","1"]' ]
    [ "$(j '[.by_instance[].requests.total]')" = '[4,4]' ]
    [ "$(j '.by_instance["1"].ttft_ms.max')" = 200 ]
}

@test "summarize: counts add up in every section; groups partition the run" {
    run tool summarize "$RES"
    assert_success
    echo "$output" | jq -e '
        [., .by_slo_class[], .by_tenant[], .by_instance[] | .requests
         | .total == .ok + .rejected + .dropped + .timeout + .unfinished] | all'
    echo "$output" | jq -e '.requests.total == ([.by_slo_class[].requests.total] | add)'
    echo "$output" | jq -e '.requests.total == ([.by_tenant[].requests.total] | add)'
    echo "$output" | jq -e '.throughput.requests_per_s - ([.by_tenant[].throughput.requests_per_s] | add) | fabs < 1e-9'
}

@test "summarize: without --itl or SLO flags, itl_ms and slo are null everywhere" {
    run tool summarize "$RES"
    assert_success
    echo "$output" | jq -e '[., .by_slo_class[], .by_tenant[], .by_instance[] | .itl_ms == null and .slo == null] | all'
}

@test "summarize: --warmup-us ignores requests that arrive earlier" {
    run tool summarize --warmup-us 40000 "$RES"
    assert_success
    # arrivals >= 40000 us: ids 4 5 6 7 8; first 40000, last 540000
    [ "$(echo "$output" | jq -c '[.requests.total, .requests.ok, .duration_s]')" = '[5,2,0.5]' ]
}

@test "summarize: a header alone gives zero counts and nulls" {
    echo "$HEADER" > "$BATS_TEST_TMPDIR/empty.csv"
    run tool summarize "$BATS_TEST_TMPDIR/empty.csv"
    assert_success
    echo "$output" | jq -e '.requests.total == 0 and .duration_s == null and .ttft_ms == null
        and .throughput.requests_per_s == null and .cache.hit_rate == null and .by_tenant == {}'
}

# ---- the documented formats are the produced ones ----

@test "summarize: the fixtures carry the documented results and ITL headers" {
    [ "$(docs_block 'header: results')" = "$HEADER" ]
    [ "$(docs_block 'header: itl')" = "$(head -n 1 "$ITL")" ]
}

@test "summarize: simulate writes every documented column; ITL gaps = sum of (output_tokens - 1)" {
    cd "$BATS_TEST_TMPDIR"
    tool gen-workload -n 40 --rate 40 > requests.csv 2>/dev/null &&
        tool simulate --itl itl.csv --steps steps.csv requests.csv > results.csv 2>/dev/null ||
        skip "gen-workload | simulate does not run in this tree"
    [ "$(head -n 1 requests.csv)" = "$(docs_block 'header: requests')" ]
    [ "$(head -n 1 results.csv)" = "$(docs_block 'header: results')" ]
    [ "$(head -n 1 itl.csv)" = "$(docs_block 'header: itl')" ]
    [ "$(head -n 1 steps.csv)" = "$(docs_block 'header: steps')" ]
    run tool summarize --itl itl.csv results.csv
    assert_success
    gaps=$(awk -F, 'NR > 1 && $3 == "ok" { n += $10 - 1 } END { print n + 0 }' results.csv)
    [ "$(echo "$output" | jq '.itl_ms.count // 0')" -eq "$gaps" ]
    [ "$(echo "$output" | jq '.requests.total')" -eq 40 ]
}

# ---- bad input: exit 1, file:line and the field ----

@test "summarize: empty input" {
    run tool summarize < /dev/null
    assert_failure 1
    assert_output --partial "<stdin>: empty input"
}

@test "summarize: malformed CSV line" {
    bad_results '1,0,ok,0,1,2,10,20,5,3,0,0,10,20,5,a"b,t\n'
    assert_failure 1
    assert_output --regexp 'bad\.csv:2: malformed CSV'
}

@test "summarize: unterminated quoted field" {
    bad_results '1,0,ok,0,1,2,10,20,5,3,0,0,10,20,5,"ab,t\n'
    assert_failure 1
    assert_output --partial "bad.csv:2: unterminated quoted field"
}

@test "summarize: truncated last line (no newline)" {
    bad_results '1,0,ok,0,1,2,10,20,5,3,0,0,10,20,5,,\n2,0,ok,0,1,2,10,20,5,3,0,0,10,20,5,,'
    assert_failure 1
    assert_output --partial "bad.csv:3: record not ended by a newline"
}

@test "summarize: missing column" {
    printf 'id,instance,status\n1,0,ok\n' > "$BATS_TEST_TMPDIR/bad.csv"
    run tool summarize "$BATS_TEST_TMPDIR/bad.csv"
    assert_failure 1
    assert_output --partial "bad.csv:1: missing required column 'arrival_us'"
}

@test "summarize: unknown column" {
    printf '%s,colour\n' "$HEADER" > "$BATS_TEST_TMPDIR/bad.csv"
    run tool summarize "$BATS_TEST_TMPDIR/bad.csv"
    assert_failure 1
    assert_output --partial "bad.csv:1: unknown column 'colour'"
}

@test "summarize: duplicate column" {
    printf '%s,tenant\n' "$HEADER" > "$BATS_TEST_TMPDIR/bad.csv"
    run tool summarize "$BATS_TEST_TMPDIR/bad.csv"
    assert_failure 1
    assert_output --partial "bad.csv:1: column 'tenant' appears twice"
}

@test "summarize: wrong number of fields" {
    bad_results '1,0,ok,0,1,2,10,20,5,3,0,0,10,20,5,\n'
    assert_failure 1
    assert_output --partial "bad.csv:2: 16 fields, the header has 17"
}

@test "summarize: non-numeric field" {
    bad_results '1,0,ok,0,1,2,10,20,five,3,0,0,10,20,5,,\n'
    assert_failure 1
    assert_output --partial "bad.csv:2:9: field 'input_tokens': not an integer: 'five'"
}

@test "summarize: negative number" {
    bad_results '1,0,ok,0,1,2,10,20,5,3,0,-1,10,20,5,,\n'
    assert_failure 1
    assert_output --partial "bad.csv:2:12: field 'preemptions': negative: '-1'"
}

@test "summarize: NaN" {
    bad_results '1,0,ok,0,1,2,10,20,5,3,0,0,10,20,nan,,\n'
    assert_failure 1
    assert_output --partial "bad.csv:2:15: field 'tpot_us': NaN: 'nan'"
}

@test "summarize: overflowing number" {
    bad_results '1,0,ok,0,1,2,10,99999999999999999999,5,3,0,0,10,20,5,,\n'
    assert_failure 1
    assert_output --partial "bad.csv:2:8: field 'finish_us': out of range (overflow)"
}

@test "summarize: unknown status" {
    bad_results '1,0,done,0,1,2,10,20,5,3,0,0,10,20,5,,\n'
    assert_failure 1
    assert_output --partial "bad.csv:2:3: field 'status': unknown status"
}

@test "summarize: a latency on a non-ok row, a missing one on an ok row" {
    bad_results '1,0,timeout,0,1,,,,5,3,0,0,,,0,,\n'
    assert_failure 1
    assert_output --partial "bad.csv:2:15: field 'tpot_us': latency present on a row whose status is not ok"
    bad_results '1,0,ok,0,1,2,10,20,5,3,0,0,10,,5,,\n'
    assert_failure 1
    assert_output --partial "bad.csv:2:14: field 'e2e_us': missing on an ok row"
}

@test "summarize: causality and derived latencies are checked" {
    bad_results '1,0,ok,0,1,2,10,20,5,3,0,0,10,20,5,,\n1,0,ok,5,4,6,10,20,5,3,0,0,5,15,5,,\n'
    assert_failure 1
    assert_output --partial "bad.csv:3:5: field 'queued_us': earlier than arrival_us (causality)"
    bad_results '1,0,ok,0,1,2,10,20,5,3,0,0,11,20,5,,\n'
    assert_failure 1
    assert_output --partial "bad.csv:2:13: field 'ttft_us': differs from first_token_us - arrival_us"
}

@test "summarize: bad ITL side files" {
    printf 'slo_class,tenant,instance,gap_us,count\na,b,0,5,1\na,b,0,4,1\n' > "$BATS_TEST_TMPDIR/itl.csv"
    run tool summarize --itl "$BATS_TEST_TMPDIR/itl.csv" "$RES"
    assert_failure 1
    assert_output --partial "itl.csv:3: rows out of order"
    printf 'slo_class,tenant,instance,gap_us,count\na,b,0,5,1\na,b,0,5,2\n' > "$BATS_TEST_TMPDIR/itl.csv"
    run tool summarize --itl "$BATS_TEST_TMPDIR/itl.csv" "$RES"
    assert_failure 1
    assert_output --partial "itl.csv:3: duplicate row"
    printf 'slo_class,tenant,instance,gap_us,count\na,b,0,5,0\n' > "$BATS_TEST_TMPDIR/itl.csv"
    run tool summarize --itl "$BATS_TEST_TMPDIR/itl.csv" "$RES"
    assert_failure 1
    assert_output --partial "itl.csv:2:5: field 'count'"
}

@test "summarize: a failed run prints nothing on stdout" {
    bad_results '1,0,ok,0,1,2,10,20,5,3,0,0,10,20,5,,\n1,0,ok,0,1,2,10,20,5,3,0,0,10,20,5,,'
    run --separate-stderr tool summarize "$BATS_TEST_TMPDIR/bad.csv"
    assert_failure 1
    [ -z "$output" ]
}

# ---- usage: exit 2 ----

@test "summarize: unknown flag" {
    run tool summarize --frobnicate "$RES"
    assert_failure 2
    assert_output --partial "unknown option '--frobnicate'"
}

@test "summarize: bad option values" {
    for args in "--slo-ttft-ms 0" "--slo-tpot-ms -5" "--slo-e2e-ms abc" "--slo-ttft-ms nan" \
        "--warmup-us -1" "--warmup-us 1.5" "--itl"; do
        run tool summarize "$RES" $args
        echo "args: $args"
        assert_failure 2
    done
    run tool summarize --slo-ttft-ms 0 "$RES"
    assert_output --partial "--slo-ttft-ms: must be > 0: '0'"
}

@test "summarize: missing input file, too many arguments" {
    run tool summarize "$BATS_TEST_TMPDIR/no-such.csv"
    assert_failure 2
    assert_output --partial "cannot open"
    run tool summarize "$RES" "$RES"
    assert_failure 2
}

# ---- output errors ----

@test "summarize: writing to /dev/full exits 3" {
    run sh -c '"$1" "$2" > /dev/full' _ "$TOP/bin/summarize" "$RES"
    assert_failure 3
    assert_output --partial "cannot write standard output"
}

@test "summarize: | head -c 5 ends quietly" {
    run bash -c '"$1" "$2" 2> "$3" | head -c 5' _ "$TOP/bin/summarize" "$RES" "$BATS_TEST_TMPDIR/err"
    assert_success
    assert_output '{"ver'
    [ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "summarize: a closed pipe on a large document ends quietly (SIGPIPE)" {
    # 3000 tenants make a document of several MB, far beyond a pipe's buffer
    awk -v header="$HEADER" 'BEGIN { print header
        for (i = 0; i < 3000; i++) printf "%d,0,ok,%d,%d,%d,%d,%d,5,3,0,0,10,20,5,c,t%d\n", i, i, i, i, i + 10, i + 20, i }' \
        > "$BATS_TEST_TMPDIR/many.csv"
    run bash -c 'set -o pipefail; "$1" "$2" 2> "$3" | head -c 5; echo " ${PIPESTATUS[*]}"' \
        _ "$TOP/bin/summarize" "$BATS_TEST_TMPDIR/many.csv" "$BATS_TEST_TMPDIR/err"
    assert_output --regexp '^\{"ver (0|141) 0$'
    [ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "summarize: --itl in the same pipe as simulate --itl reads the finished side file" {
    itl="$BATS_TEST_TMPDIR/itl.csv"
    run bash -o pipefail -c "gen-workload -n 300 --seed 5 | simulate --itl '$itl' | summarize --itl '$itl' | jq -e '.itl_ms.count'"
    assert_success
    expected=$(gen-workload -n 300 --seed 5 | simulate | awk -F, 'NR > 1 && $3 == "ok" { s += $10 - 1 } END { print s }')
    assert_output "$expected"
}

@test "summarize: a measured run without queue timestamps is read; queueing covers rows that have them" {
    header=$(head -1 "$TOP/testdata/results-small.csv")
    { echo "$header"; echo "0,0,ok,0,,,100000,200000,10,2,0,0,100000,200000,100000,s,t"; } > "$BATS_TEST_TMPDIR/measured.csv"
    run tool summarize "$BATS_TEST_TMPDIR/measured.csv"
    assert_success
    jq -e '.ttft_ms.mean == 100 and .e2e_ms.mean == 200 and .queueing_ms == null' <<< "$output"
}

# Synthetic ok rows over 4 instances and two slo_classes, valid for the strict reader:
# latencies spread by multiplicative hashes, so every sort sees many distinct and equal keys.
synthetic_results() {
    awk -v n="$1" -v header="$(head -1 "$TOP/testdata/results-small.csv")" 'BEGIN {
        print header
        for (i = 0; i < n; i++) {
            arrival = i * 10; queued = arrival + 5
            scheduled = queued + (i * 7919) % 1000; first = scheduled + (i * 104729) % 5000
            finish = first + 1 + (i * 31) % 3000
            printf "%d,%d,ok,%d,%d,%d,%d,%d,100,2,0,0,%d,%d,%d,%s,t\n", i, i % 4, arrival, queued,
                   scheduled, first, finish, first - arrival, finish - arrival, finish - first,
                   i % 3 ? "silver" : "gold"
        }
    }'
}

@test "summarize: memory is bounded by its sort budget, not the number of requests" {
    require_plain_build
    synthetic_results 100000 > "$BATS_TEST_TMPDIR/small.csv"
    synthetic_results 1000000 > "$BATS_TEST_TMPDIR/large.csv"
    peak() {
        /usr/bin/time -f %M "$TOP/bin/summarize" --priorities gold:0,silver:1 "$1" 2>&1 \
            > "$BATS_TEST_TMPDIR/summary.json"
    }
    small=$(peak "$BATS_TEST_TMPDIR/small.csv")
    large=$(peak "$BATS_TEST_TMPDIR/large.csv")
    # 10 times the requests, sorted through temporary files: the peak RSS (KiB) may differ by noise only
    [ "$large" -le $((small + 4096)) ] || { echo "RSS $small KiB -> $large KiB"; return 1; }
    # and the spilled sorts still see every request, up to the largest latency
    max=$(awk -F, 'NR > 1 && $13 > m { m = $13 } END { print m / 1000 }' "$BATS_TEST_TMPDIR/large.csv")
    jq -e --argjson max "$max" '.ttft_ms.count == 1000000 and .ttft_ms.max == $max' \
        "$BATS_TEST_TMPDIR/summary.json"
}

# 10^5 rows overflow each percentile sort's 1 MB: the runs spill to $TMPDIR,
# which keeps no file; an unusable TMPDIR fails with exit 3 and no output.
@test "summarize: a large input spills to TMPDIR, the same summary wherever it spills" {
    cd "$BATS_TEST_TMPDIR"
    gen-workload -n 100000 --seed 3 | simulate > big.csv
    mkdir spill
    TMPDIR="$PWD/spill" tool summarize big.csv > a.json
    tool summarize big.csv > b.json
    cmp a.json b.json
    [ -z "$(ls -A spill)" ]
    TMPDIR="$PWD/absent" run --separate-stderr tool summarize big.csv
    [ "$status" -eq 3 ]
    [ -z "$output" ]
    [[ "$stderr" == *"temporary file in '$PWD/absent' (TMPDIR)"* ]]
}
