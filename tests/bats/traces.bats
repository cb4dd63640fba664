# SPDX-License-Identifier: GPL-3.0-or-later
# gen-workload --from: the trace importers (docs/traces.md) on fixtures the
# tests write, and on the real samples in ../shared/data/traces (skipped
# when absent). Expected figures come from the source files themselves
# (awk, jq), never from the importer.
load helper
bats_require_minimum_version 1.5.0

HEADER=id,arrival_us,input_tokens,output_tokens,prefix,slo_class,tenant,session,round
TRACES="$SHARED/data/traces"

setup() {
    T=$BATS_TEST_TMPDIR
    # Azure: wall clock with 7 decimals, CRLF, no newline after the last row
    printf 'TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 23:59:59.9999996,100,10\r\n2023-11-17 00:00:01.2500000,200,20\r\n2023-11-17 00:00:01.2500004,300,30' > "$T/azure.csv"
    # Mooncake: 3 rows; ids 0,1 shared; the last block of each is partial
    printf '%s\n' '{"timestamp": 0, "input_length": 1100, "output_length": 5, "hash_ids": [0, 1, 2]}' \
        '{"timestamp": 250, "input_length": 1024, "output_length": 7, "hash_ids": [0, 1]}' \
        '{"timestamp": 1000.5, "input_length": 10, "output_length": 1, "hash_ids": []}' > "$T/mooncake.jsonl"
    # BurstGPT: two failed rows (Response tokens 0)
    printf '%s\n' 'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type' \
        '5,ChatGPT,472,18,490,Conversation log' '45,ChatGPT,1087,0,1087,Conversation log' \
        '118,GPT-4,417,276,693,API log' '119,GPT-4,10,0,10,API log' '130.25,ChatGPT,20,1,21,API log' > "$T/burst.csv"
}

count_rows() { awk 'END { print NR - 1 }' "$1"; }

@test "traces: azure fixture: wall clock -> us from the first row, rounded half up" {
    run tool gen-workload --from azure "$T/azure.csv"
    assert_success
    # 23:59:59.9999996 -> 86399999999.6 us, rounded to ...000000 (half up);
    # 00:00:01.2500000 next day = 1.2500000 s after midnight = 1250000 us later
    # (+1 us from the rounding), 00:00:01.2500004 rounds to the same us
    assert_output "$HEADER
0,0,100,10,,,,,0
1,1250000,200,20,,,,,0
2,1250000,300,30,,,,,0"
}

@test "traces: mooncake fixture: hash ids become segments, last block partial" {
    run tool gen-workload --from mooncake --tick-ms 0 "$T/mooncake.jsonl"
    assert_success
    assert_output "$HEADER
0,0,1100,5,mc0:512;mc1:512;mc2:76,,,,0
1,250000,1024,7,mc0:512;mc1:512,,,,0
2,1000500,10,1,,,,,0"
}

@test "traces: mooncake 3 s ticks are detected and spread, in trace order, seeded" {
    for i in $(seq 0 29); do
        printf '{"timestamp": %d, "input_length": 10, "output_length": 1, "hash_ids": [%d]}\n' \
            $(( (i / 10) * 3000 + (i % 10 >= 5) )) "$i"
    done > "$T/ticks.jsonl"
    run --separate-stderr tool gen-workload --from mooncake "$T/ticks.jsonl" --seed 3
    assert_success
    [[ "$stderr" == *"3000 ms ticks"* ]]
    printf '%s\n' "$output" > "$T/a.csv"
    # trace order kept (segment mcI on row I), arrivals non-decreasing and
    # inside their tick: rows 10k..10k+9 within 3 s of each other, and no
    # tick overlapping the next
    awk -F, 'NR > 1 {
        if ($5 != "mc" (NR - 2) ":10" || $2 < last) bad = 1; last = $2
        tick = int((NR - 2) / 10); t = $2 + 0
        if (!(tick in lo) || t < lo[tick]) lo[tick] = t
        if (!(tick in hi) || t > hi[tick]) hi[tick] = t
    } END {
        for (k = 0; k < 3; k++) if (hi[k] - lo[k] >= 3000000) bad = 1
        if (lo[1] < hi[0] || lo[2] < hi[1]) bad = 1
        exit bad || NR != 31 }' "$T/a.csv"
    tool gen-workload --from mooncake "$T/ticks.jsonl" --seed 3 2>/dev/null | cmp - "$T/a.csv"
    run -0 sh -c "$TOP/bin/gen-workload --from mooncake '$T/ticks.jsonl' --seed 4 2>/dev/null | cmp -s - '$T/a.csv'; echo \$?"
    assert_output 1
    # --tick-ms 0 keeps the recorded times
    tool gen-workload --from mooncake --tick-ms 0 "$T/ticks.jsonl" | awk -F, 'NR == 3 { exit $2 != 0 }'
}

@test "traces: burstgpt drops failed rows and says how many" {
    run --separate-stderr tool gen-workload --from burstgpt "$T/burst.csv"
    assert_success
    assert_output "$HEADER
0,0,472,18,,,ChatGPT,,0
1,113000000,417,276,,,GPT-4,,0
2,125250000,20,1,,,ChatGPT,,0"
    [[ "$stderr" == *"dropped 2 failed rows"*"of 5 rows read"* ]]
}

@test "traces: csv with a column mapping, extra columns ignored" {
    printf 'who,t_ms,prompt,completion,cls\nann,1000,5,6,gold\nbob,1500.5,7,8,\n' > "$T/any.csv"
    run tool gen-workload --from csv --time-col t_ms --time-unit ms --input-col prompt \
        --output-col completion --tenant-col who --slo-class-col cls "$T/any.csv"
    assert_success
    assert_output "$HEADER
0,0,5,6,,gold,ann,,0
1,500500,7,8,,,bob,,0"
}

@test "traces: transformations: window, rate and time scale, limit" {
    # arrivals 0, 1, ..., 9 s
    { echo t,i,o; for s in 0 1 2 3 4 5 6 7 8 9; do echo "$s,$((s + 1)),1"; done; } > "$T/ten.csv"
    map="--time-col t --input-col i --output-col o"
    # window [2 s, 5 s): rows 2, 3, 4, rebased to 0, 1, 2 s
    run tool gen-workload --from csv $map --start 2 --duration 3 "$T/ten.csv"
    assert_success
    assert_output "$HEADER
0,0,3,1,,,,,0
1,1000000,4,1,,,,,0
2,2000000,5,1,,,,,0"
    # rate x4 and time x2: t' = t * 2 / 4
    tool gen-workload --from csv $map --rate-scale 4 --time-scale 2 "$T/ten.csv" |
        awk -F, 'NR > 1 && $2 != (NR - 2) * 500000 { bad = 1 } END { exit bad || NR != 11 }'
    run tool gen-workload --from csv $map --limit 4 "$T/ten.csv"
    assert_success
    [ "${#lines[@]}" -eq 5 ]
}

@test "traces: --tile K repeats the trace with fresh ids and renamed prefixes" {
    run tool gen-workload --from mooncake --tick-ms 0 --tile 3 "$T/mooncake.jsonl"
    assert_success
    # span 1000500 us over 3 rows: period = span + mean gap (500250) = 1500750;
    # copy 2 of the last row: 2 * 1500750 + 1000500
    assert_line --index 4 "3,1500750,1100,5,mc0/t1:512;mc1/t1:512;mc2/t1:76,,,,0"
    assert_line --index 9 "8,4002000,10,1,,,,,0"
    [ "${#lines[@]}" -eq 10 ]
    # with a window, the period is the scaled window: 2 s / 2 = 1 s
    run tool gen-workload --from mooncake --tick-ms 0 --tile 2 --duration 2 --rate-scale 2 --limit 5 "$T/mooncake.jsonl"
    assert_success
    assert_line --index 4 "3,1000000,1100,5,mc0/t1:512;mc1/t1:512;mc2/t1:76,,,,0"
    [ "${#lines[@]}" -eq 6 ]
}

@test "traces: bad input: one line naming file:line and field, exit 1" {
    printf '%s\n' '{"timestamp": 0, "input_length": 10, "output_length": 1}' '{"timestamp": 1, "input_length": 10,' > "$T/bad.jsonl"
    run --separate-stderr tool gen-workload --from mooncake "$T/bad.jsonl"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"bad.jsonl:2:"*"malformed JSON"* ]]
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    printf '%s\n' '{"timestamp": 0, "input_length": -3, "output_length": 1}' > "$T/neg.jsonl"
    run --separate-stderr tool gen-workload --from mooncake "$T/neg.jsonl"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"neg.jsonl:1: field 'input_length': negative"* ]]
    printf 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:00:00,5,-1\n' > "$T/neg.csv"
    run --separate-stderr tool gen-workload --from azure "$T/neg.csv"
    [ "$status" -eq 1 ]
    [ "$stderr" = "gen-workload: $T/neg.csv:2:3: field 'GeneratedTokens': negative: '-1'" ]
    printf 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:00:01,5,1\n2023-11-16 18:00:00,5,1\n' > "$T/order.csv"
    run --separate-stderr tool gen-workload --from azure "$T/order.csv"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"order.csv:3:1: field 'TIMESTAMP': earlier than the row before"* ]]
    printf 'x,i,o\n1,2,3,4\n' > "$T/ragged.csv"
    run --separate-stderr tool gen-workload --from csv --time-col x --input-col i --output-col o "$T/ragged.csv"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"ragged.csv:2: 4 fields where the header has 3"* ]]
    run --separate-stderr tool gen-workload --from csv --time-col nope --input-col i --output-col o "$T/ragged.csv"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"ragged.csv:1: no column 'nope' (--time-col)"* ]]
}

@test "traces: bad usage: exit 2, one line" {
    run --separate-stderr tool gen-workload --from parquet "$T/azure.csv"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--from: unknown format 'parquet'"* ]]
    run --separate-stderr tool gen-workload --from azure "$T/missing.csv"
    [ "$status" -eq 2 ]
    run --separate-stderr tool gen-workload --from azure
    [ "$status" -eq 2 ]
    run --separate-stderr tool gen-workload --from csv "$T/azure.csv"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--time-col"* ]]
    run --separate-stderr tool gen-workload --from azure --tile 2 - < "$T/azure.csv"
    [ "$status" -eq 2 ]
    run --separate-stderr tool gen-workload --from azure --rate-scale 0 "$T/azure.csv"
    [ "$status" -eq 2 ]
    [ -z "$output" ]
}

# A ServeGen client directory: chunk-0 has a Poisson window (gamma cv 1,
# 50/s), a silent window and a weibull window (cv 2, 20/s); chunk-1 one
# Poisson window at 10/s. Lengths: input 100 or 200 (1/2 each), output 7.
write_servegen() {
    mkdir -p "$1"
    printf '0,50,1,Gamma,1,0.02\n600,0,0,,0,0\n1200,20,2,Weibull,0.5,1\n' > "$1/chunk-0-trace.csv"
    printf '0,10,1,Gamma,1,0.1\n' > "$1/chunk-1-trace.csv"
    for n in 0 1; do
        printf '{"0": {"input_tokens": "{100: 0.5, 200: 0.5}", "output_tokens": "{7: 1.0}"}}\n' \
            > "$1/chunk-$n-dataset.json"
    done
}

@test "traces: servegen fixture: rates per window and client, PMF lengths" {
    write_servegen "$T/sg"
    tool gen-workload --from servegen "$T/sg" --seed 5 > "$T/sg.csv"
    # expected counts: chunk-0 50*600 + 20*600 = 42000, chunk-1 10*600 = 6000.
    # Count noise: var = cv^2 * mean for a renewal process: sd = sqrt(30000 +
    # 4*12000) = 280 and sqrt(6000) = 77; tolerances are > 3.5 sd.
    # The input share of 100 tokens: sd = sqrt(0.25/48000) = 0.0023; +-0.01.
    awk -F, 'NR > 1 {
        n[$7]++; if ($3 == 100) short++; if ($3 != 100 && $3 != 200 || $4 != 7) bad = 1
        if ($2 < last) bad = 1
        if ($7 == "chunk-0" && last0 != "" && $2 - last0 > gap) gap = $2 - last0
        if ($7 == "chunk-0") last0 = $2; last = $2
    } END {
        total = n["chunk-0"] + n["chunk-1"]
        printf "chunk-0 %d chunk-1 %d short %.4f gap %d\n", n["chunk-0"], n["chunk-1"], short / total, gap
        if (n["chunk-0"] < 41000 || n["chunk-0"] > 43000) bad = 1
        if (n["chunk-1"] < 5700 || n["chunk-1"] > 6300) bad = 1
        if (short / total < 0.49 || short / total > 0.51) bad = 1
        if (gap < 599000000) bad = 1   # the silent window
        exit bad }' "$T/sg.csv"
    tool gen-workload --from servegen "$T/sg" --seed 5 | cmp - "$T/sg.csv"
}

@test "traces: servegen bad window: file:line and field, exit 1" {
    write_servegen "$T/sg"
    printf '0,50,1,Gamma,1,0.02\n600,5,1,Lognormal,1,1\n' > "$T/sg/chunk-1-trace.csv"
    run --separate-stderr tool gen-workload --from servegen "$T/sg"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"chunk-1-trace.csv:2:4: field 'pattern': unknown"* ]]
    printf '{"0": {"input_tokens": "{}", "output_tokens": "{7: 1.0}"}}\n' > "$T/sg/chunk-0-dataset.json"
    printf '0,50,1,Gamma,1,0.02\n' > "$T/sg/chunk-1-trace.csv"
    run --separate-stderr tool gen-workload --from servegen "$T/sg"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"chunk-0-dataset.json: window '0': field 'input_tokens': empty PMF"* ]]
}

# ---- the real samples ----

@test "traces: azure samples: rows, span and token totals match the source" {
    require_shared_data
    for f in code conv; do
        src="$TRACES/azure-llm-2023/AzureLLMInferenceTrace_$f.csv"
        tool gen-workload --from azure "$src" > "$T/out.csv"
        # the source's last row has no newline: awk still reads it
        want=$(awk -F, 'NR > 1 { split($1, d, /[ :]/); s = d[2] * 3600 + d[3] * 60 + d[4]
                                 if (NR == 2) first = s; last = s; n++; i += $2; o += $3 }
                        END { printf "%d %.0f %.0f %.0f", n, i, o, (last - first) * 1e6 }' "$src")
        got=$(awk -F, 'NR > 1 { n++; i += $3; o += $4; last = $2 } END { printf "%d %.0f %.0f %.0f", n, i, o, last }' "$T/out.csv")
        echo "$f: want $want got $got"
        # same day in both samples; the span is compared to the us (rounding of
        # 7-decimal times may move either end by 1 us, awk's double by less)
        [ "${want% *}" = "${got% *}" ]
        d=$(( ${want##* } - ${got##* } ))
        [ "${d#-}" -le 1 ]
    done
}

@test "traces: mooncake samples: rows, span and token totals match the source" {
    require_shared_data
    for f in conversation synthetic; do
        src="$TRACES/mooncake-fast25/${f}_trace.jsonl"
        want=$(jq -rs '"\(length) \(map(.input_length) | add) \(map(.output_length) | add) \(.[-1].timestamp * 1000 | round)"' "$src")
        got=$(tool gen-workload --from mooncake --tick-ms 0 "$src" |
              awk -F, 'NR > 1 { n++; i += $3; o += $4; last = $2 } END { printf "%d %.0f %.0f %.0f", n, i, o, last }')
        echo "$f: want $want got $got"
        [ "$want" = "$got" ]
    done
}

@test "traces: mooncake conversation, unlimited KV: cached share = the trace's repeated share" {
    require_shared_data
    src="$TRACES/mooncake-fast25/conversation_trace.jsonl"
    # From the trace alone: the share of 512-token blocks whose id was seen
    # before (36.6 %), and what prefix caching can serve exactly: per request
    # the leading run of seen blocks in tokens (the last block may be
    # partial), rounded down to 16-token KV blocks, less the last prompt
    # token when the whole prompt is cached (vLLM computes it again).
    jq -r '[.input_length, (.hash_ids | map(tostring) | join(" "))] | @tsv' "$src" | awk -F'\t' '{
        input += $1; n = split($2, ids, " "); blocks += n; run = n
        for (i = 1; i <= n; i++) { if (ids[i] in seen) rep++; else if (run == n) run = i - 1 }
        hit = run * 512 < $1 ? run * 512 : $1
        if (hit == $1) hit--
        cached += int(hit / 16) * 16
        for (i = 1; i <= n; i++) seen[ids[i]] = 1
    } END { printf "%.6f %.0f %.0f\n", rep / blocks, cached, input }' > "$T/expected"
    read -r block_share want_cached want_input < "$T/expected"
    # ~5.8 M distinct 16-token blocks are ever written: 12 M never evicts
    tool gen-workload --from mooncake "$src" 2>/dev/null |
        tool simulate --num-gpu-blocks 12000000 --max-model-len 1000000 > "$T/results.csv"
    read -r got_cached got_input ok < <(awk -F, 'NR > 1 { c += $11; i += $9; ok += $3 == "ok" }
                                               END { printf "%.0f %.0f %d\n", c, i, ok }' "$T/results.csv")
    echo "block share $block_share; cached $got_cached of $got_input (expected $want_cached of $want_input), $ok ok"
    [ "$ok" -eq 12031 ]
    [ "$got_input" -eq "$want_input" ]
    # exact: nothing is evicted and prefix identity is kept block by block
    [ "$got_cached" -eq "$want_cached" ]
    # and the token share is the block share (36.6 %) within 1 point: weighting
    # by tokens counts the partial last blocks (mostly first sightings) by
    # their length, which lifts the share to 37.4 %
    awk -v c="$got_cached" -v i="$got_input" -v b="$block_share" 'BEGIN {
        d = c / i - b; exit !(b > 0.365 && b < 0.367 && d > -0.01 && d < 0.01) }'
}

@test "traces: servegen samples: clients, window and determinism" {
    require_shared_data
    tool gen-workload --from servegen "$TRACES/servegen/m-small" --duration 86400 --seed 1 > "$T/a.csv"
    tool gen-workload --from servegen "$TRACES/servegen/m-small" --duration 86400 --seed 1 | cmp - "$T/a.csv"
    awk -F, 'NR > 1 { if ($7 != "chunk-0" || $2 < last || $2 >= 86400000000 || $3 < 1 || $4 < 1) bad = 1
                      last = $2 } END { exit bad || NR < 100 }' "$T/a.csv"
}
