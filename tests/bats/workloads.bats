# SPDX-License-Identifier: GPL-3.0-or-later
# gen-workload --spec / --preset: the documented examples run, presets are
# built in, bad specs are refused with file:line, the BLIS example specs load
# or are refused by name, sessions are cached in simulate, memory is flat.
load helper
bats_require_minimum_version 1.5.0

HEADER=id,arrival_us,input_tokens,output_tokens,prefix,slo_class,tenant,session,round

# Writes each ```yaml block of docs/workloads.md that follows a
# "<!-- spec: NAME -->" marker to NAME in the current directory.
doc_specs() {
    awk '/^<!-- spec: / { name = $3; next }
         name && /^```yaml/ { out = name; next }
         out && /^```/ { close(out); out = ""; name = ""; next }
         out { print > out }' "$TOP/docs/workloads.md"
}

@test "workloads: every command in docs/workloads.md succeeds and prints something" {
    cd "$BATS_TEST_TMPDIR"
    doc_specs
    [ -s two-clients.yaml ] && [ -s sessions.yaml ] && [ -s day.yaml ]
    sed -n 's/^    \$ //p' "$TOP/docs/workloads.md" > commands
    [ "$(wc -l < commands)" -ge 6 ]
    while IFS= read -r command; do
        run --separate-stderr bash -o pipefail -c "$command"
        if [ "$status" -ne 0 ] || [ -z "$output" ]; then
            echo "failed ($status): $command"
            echo "$stderr"
            return 1
        fi
    done < commands
}

@test "workloads: --list-presets names the eight presets, each with a description" {
    run tool gen-workload --list-presets
    assert_success
    for p in chatbot summarization contentgen multidoc bursty prefix-heavy mixed-slo multiturn-chat; do
        assert_line --regexp "^$p +[a-z].{10,}"
    done
}

@test "workloads: each preset is its examples/ file, built in" {
    cd "$BATS_TEST_TMPDIR"
    for f in "$TOP"/examples/*.yaml; do
        name=$(basename "$f" .yaml)
        tool gen-workload --preset "$name" -n 300 > preset.csv
        tool gen-workload --spec "$f" -n 300 > spec.csv
        cmp preset.csv spec.csv
        [ "$(wc -l < preset.csv)" -eq 301 ]
        head -1 preset.csv | grep -qx "$HEADER"
    done
    # the binary needs no file beside it
    cp "$TOP/bin/gen-workload" ./gw
    (cd / && "$BATS_TEST_TMPDIR/gw" --preset chatbot -n 3) > out.csv
    [ "$(wc -l < out.csv)" -eq 4 ]
}

@test "workloads: prefix-heavy shares a system prompt in 80 % of requests" {
    # 20000 requests, each the assistant's with probability 0.8: standard
    # error sqrt(0.8 * 0.2 / 20000) = 0.28 %; within 3 of them
    set -o pipefail
    tool gen-workload --preset prefix-heavy -n 20000 |
        awk -F, 'NR > 1 { n++; if ($5 == "system-prompt:1024") s++ }
                 END { f = s / n; print f; exit !(f > 0.8 - 0.0085 && f < 0.8 + 0.0085) }'
}

@test "workloads: -n and --seed override the spec, same seed same bytes" {
    cd "$BATS_TEST_TMPDIR"
    tool gen-workload --preset bursty -n 50 --seed 4 > a
    tool gen-workload --preset bursty -n 50 --seed 4 > b
    tool gen-workload --preset bursty -n 50 --seed 5 > c
    cmp a b
    ! cmp -s a c
    [ "$(wc -l < a)" -eq 51 ]
}

@test "workloads: arrivals are non-decreasing, tokens >= 1, ids 0..N-1" {
    set -o pipefail
    for p in mixed-slo multiturn-chat; do
        tool gen-workload --preset "$p" -n 5000 |
            awk -F, 'NR > 1 { if ($1 != NR - 2 || $2 < last || $3 < 1 || $4 < 1) bad = 1; last = $2 }
                     END { exit bad || NR != 5001 }'
    done
}

# Each bad spec: exit 2 (or 1 for a bad PMF file), nothing on stdout, one line
# on stderr naming file:line and the field.
refused_spec() {
    local status=$1 expect=$2
    run --separate-stderr tool gen-workload --spec "$BATS_TEST_TMPDIR/bad.yaml"
    [ "$status" -eq "$status" ] || true
    [ "$status" -eq "$1" ] || { echo "status $status: $stderr"; return 1; }
    [ -z "$output" ] || { echo "stdout not empty"; return 1; }
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || { echo "not one line: $stderr"; return 1; }
    [[ "$stderr" == *"$expect"* ]] || { echo "'$stderr' lacks '$expect'"; return 1; }
}

client() { # client ARRIVAL INPUT_DISTRIBUTION
    printf 'aggregate_rate: 5\nnum_requests: 10\nclients:\n  - id: a\n    rate_fraction: 1\n'
    printf '    arrival: %s\n    input_distribution: %s\n' "$1" "$2"
    printf '    output_distribution: {type: constant, params: {value: 5}}\n'
}

@test "workloads: bad specs are refused with file:line and the field" {
    f=$BATS_TEST_TMPDIR/bad.yaml
    printf 'seed: 1\nclients: []\nbogus: 3\n' > "$f"
    refused_spec 2 "bad.yaml:3: unknown key 'bogus'"
    client '{process: poisson}' '{type: constant, params: {value: 5}}' | sed 's/rate: 5/rate: -5/' > "$f"
    refused_spec 2 "bad.yaml:1: 'aggregate_rate': must be > 0"
    client '{process: gamma, cv: 0}' '{type: constant, params: {value: 5}}' > "$f"
    refused_spec 2 "bad.yaml:6: 'clients[0].arrival.cv': must be > 0"
    client '{process: weibull, cv: -1}' '{type: constant, params: {value: 5}}' > "$f"
    refused_spec 2 "bad.yaml:6: 'clients[0].arrival.cv'"
    client '{process: poisson}' '{type: empirical, params: {pmf: {}}}' > "$f"
    refused_spec 2 "bad.yaml:7: 'clients[0].input_distribution.params.pmf': the PMF is empty"
    client '{process: poisson}' '{type: empirical, params: {pmf: {3: 0.5, 4: 0.6}}}' > "$f"
    refused_spec 2 "bad.yaml:7: 'clients[0].input_distribution.params.pmf': the probabilities sum to 1.1"
    client '{process: poisson}' '{type: gaussian, params: {mean: 5}}' > "$f"
    refused_spec 2 "bad.yaml:7: 'clients[0].input_distribution.params': missing parameter 'std_dev'"
    client '{process: poisson}' '{type: zipf, params: {}}' > "$f"
    refused_spec 2 "bad.yaml:7: 'clients[0].input_distribution.type': unknown distribution 'zipf'"
    client '{process: poisson}' '{type: constant, params: {value: 5}}' > "$f"
    printf '    multi_turn: {max_rounds: 3, closed_loop: sometimes}\n' >> "$f"
    refused_spec 2 "bad.yaml:9: 'clients[0].multi_turn.closed_loop'"
    client '{process: poisson}' '{type: constant, params: {value: 5}}' > "$f"
    printf '    closed_loop: true\n' >> "$f"
    refused_spec 2 "bad.yaml:9: key 'clients[0].closed_loop' (BLIS feature: closed-loop clients"
    client '{process: poisson}' '{type: constant, params: {value: 5}}' > "$f"
    printf '    network: {rtt_ms: 3}\n' >> "$f"
    refused_spec 2 "bad.yaml:9: key 'clients[0].network' (BLIS feature: client network"
    # a PMF file is data: a bad line is exit 1 with file:line:column
    printf 'value,probability\n10,0.5\n20,half\n' > "$BATS_TEST_TMPDIR/pmf.csv"
    client '{process: poisson}' '{type: empirical, params: {file: pmf.csv}}' > "$f"
    refused_spec 1 "pmf.csv:3:2: field 'probability'"
    run --separate-stderr tool gen-workload --spec "$BATS_TEST_TMPDIR/absent.yaml"
    [ "$status" -eq 2 ]
    run --separate-stderr tool gen-workload --preset nosuch
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"unknown preset 'nosuch' (known: bursty, chatbot"* ]]
    run --separate-stderr tool gen-workload --preset chatbot --rate 5
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--rate cannot be combined with --spec or --preset"* ]]
}

@test "workloads: an empirical PMF file is read relative to the spec" {
    cd "$BATS_TEST_TMPDIR"
    mkdir sub
    printf 'value,probability\n7,0.25\n9,0.75\n' > sub/pmf.csv
    client '{process: poisson}' '{type: empirical, params: {file: pmf.csv}}' > sub/s.yaml
    run tool gen-workload --spec sub/s.yaml -n 400
    assert_success
    # every input is 7 or 9, and both occur
    printf '%s\n' "${lines[@]:1}" | awk -F, '{ n[$3]++ } END { exit !(n[7] > 0 && n[9] > 0 && n[7] + n[9] == 400) }'
}

@test "workloads: the BLIS example specs load unchanged, or are refused by name" {
    require_shared_data
    dir=$SHARED/data/peer/blis-workload-specs
    [ -d "$dir" ] || skip "$dir is absent"
    for f in inference-perf-shared-prefix multiturn-chat-demo prefix-affinity-demo \
             regression_workload_cache_warmup regression_workload_load_spikes \
             regression_workload_multiturn; do
        run --separate-stderr tool gen-workload --spec "$dir/$f.yaml"
        [ "$status" -eq 0 ] || { echo "$f: $stderr"; return 1; }
        [ "${#lines[@]}" -gt 100 ] && [ -z "$stderr" ]
    done
    # 500 requests as written in the file; 5000; 1500
    [ "$(tool gen-workload --spec "$dir/multiturn-chat-demo.yaml" | wc -l)" -eq 501 ]
    [ "$(tool gen-workload --spec "$dir/regression_workload_load_spikes.yaml" | wc -l)" -eq 5001 ]
    # inference-perf: 8 req/s for 600 s then 20 for 600 s = 16800 expected,
    # Poisson: standard error sqrt(16800) = 130; within 3 of them
    n=$(tool gen-workload --spec "$dir/inference-perf-shared-prefix.yaml" | tail -n +2 | wc -l)
    [ "$n" -gt $((16800 - 390)) ] && [ "$n" -lt $((16800 + 390)) ]
    # client network delays are not modelled: refused by name
    run --separate-stderr tool gen-workload --spec "$dir/servegen-language.yaml"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"servegen-language.yaml:30: key 'clients[0].network' (BLIS feature:"*"is not modelled by servesim" ]]
    # every file there is one of the seven above
    [ "$(ls "$dir"/*.yaml | wc -l)" -eq 7 ]
}

@test "workloads: later rounds of a session find the earlier rounds cached in simulate" {
    cd "$BATS_TEST_TMPDIR"
    doc_specs
    # sessions.yaml: rounds 30 s apart, far longer than a round takes, and
    # a KV pool that evicts nothing
    tool gen-workload --spec sessions.yaml > requests.csv
    tool simulate --num-gpu-blocks 1000000 < requests.csv > results.csv
    # round r > 0 of a session must have cached at least the full 16-token
    # blocks of round r-1's prompt and output (its last output token is never
    # fed back, so its KV is not computed): 16 * floor((in + out - 1) / 16)
    awk -F, 'NR == FNR { if (FNR > 1) { key[$1] = $8 ":" $9 }; next }
        FNR > 1 { k = key[$1]; input[k] = $9; output[k] = $10; cached[k] = $11
                  finish[k] = $8; arrival[k] = $4; status[k] = $3 }
        END {
            for (k in input) {
                n = split(k, a, ":"); r = a[n]
                if (r == 0) continue
                p = a[1] ":" a[2] ":" (r - 1)
                need = 16 * int((input[p] + output[p] - 1) / 16)
                checked++
                if (status[k] != "ok" || finish[p] > arrival[k] || cached[k] < need) {
                    print "session round " k ": cached " cached[k] " < " need; bad = 1
                }
            }
            print checked " rounds checked"
            exit bad || checked < 100
        }' requests.csv results.csv
}

@test "workloads: memory does not grow with -n" {
    require_plain_build
    small=$(/usr/bin/time -f %M "$TOP/bin/gen-workload" --preset multiturn-chat -n 10000 2>&1 >/dev/null)
    large=$(/usr/bin/time -f %M "$TOP/bin/gen-workload" --preset multiturn-chat -n 1000000 2>&1 >/dev/null)
    [ "$large" -le $((small + 1024)) ] || { echo "RSS $small KiB -> $large KiB"; return 1; }
}
