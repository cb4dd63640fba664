# SPDX-License-Identifier: GPL-3.0-or-later
# gen-workload, distribution mode: the request stream's shape, determinism,
# refusal of bad flags (exit 2, one line naming the option), write errors,
# SIGPIPE and constant memory.
load helper
bats_require_minimum_version 1.5.0

HEADER=id,arrival_us,input_tokens,output_tokens,prefix,slo_class,tenant,session,round

@test "gen-workload: the header line is exact" {
    run tool gen-workload -n 3
    assert_success
    assert_line --index 0 "$HEADER"
}

@test "gen-workload: -n 0 writes only the header" {
    run tool gen-workload -n 0
    assert_success
    assert_output "$HEADER"
}

@test "gen-workload: one row per request, ids 0..N-1" {
    run tool gen-workload -n 250
    assert_success
    [ "${#lines[@]}" -eq 251 ]
    set -o pipefail
    tool gen-workload --num-requests 250 |
        awk -F, 'NR > 1 && $1 != NR - 2 { bad = 1 } END { exit bad || NR != 251 }'
}

@test "gen-workload: works with no flags at all (embedded defaults)" {
    run tool gen-workload
    assert_success
    assert_line --index 0 "$HEADER"
    # defaults.yaml: num_requests 1000, slo_class standard, tenant default
    [ "${#lines[@]}" -eq 1001 ]
    assert_line --index 1 --regexp '^0,[0-9]+,[0-9]+,[0-9]+,,standard,default,,0$'
}

@test "gen-workload: the same flags give the same bytes" {
    tool gen-workload -n 2000 --arrival gamma --cv 2 --seed 9 > "$BATS_TEST_TMPDIR/a"
    tool gen-workload -n 2000 --arrival gamma --cv 2 --seed 9 > "$BATS_TEST_TMPDIR/b"
    cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
    tool gen-workload -n 2000 --arrival gamma --cv 2 --seed 10 > "$BATS_TEST_TMPDIR/c"
    run cmp -s "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/c"
    [ "$status" -ne 0 ]
}

@test "gen-workload: arrivals are non-decreasing integers, tokens >= 1" {
    set -o pipefail
    for arrival in poisson constant gamma; do
        tool gen-workload -n 5000 --rate 1000 --arrival "$arrival" --cv 4 2>/dev/null |
            awk -F, 'NR > 1 {
                if ($2 !~ /^[0-9]+$/ || $2 < last || $3 < 1 || $4 < 1) bad = 1
                last = $2
            } END { exit bad || NR != 5001 }'
    done
}

@test "gen-workload: constant arrivals are exactly 1/rate apart" {
    run tool gen-workload -n 4 --rate 4 --arrival constant
    assert_success
    assert_line --index 1 --regexp '^0,250000,'
    assert_line --index 2 --regexp '^1,500000,'
    assert_line --index 4 --regexp '^3,1000000,'
}

@test "gen-workload: a prefix adds K tokens and the segment system:K" {
    tool gen-workload -n 100 --seed 3 > "$BATS_TEST_TMPDIR/plain"
    tool gen-workload -n 100 --seed 3 --prefix-tokens 64 > "$BATS_TEST_TMPDIR/prefixed"
    paste -d, "$BATS_TEST_TMPDIR/plain" "$BATS_TEST_TMPDIR/prefixed" |
        awk -F, 'NR > 1 && ($12 != $3 + 64 || $14 != "system:64" || $2 != $11) { bad = 1 }
                 END { exit bad || NR != 101 }'
}

@test "gen-workload: flags override a --config file, which overrides the defaults" {
    printf 'workload:\n  num_requests: 7\n  tenant: acme\n' > "$BATS_TEST_TMPDIR/w.yaml"
    run tool gen-workload --config "$BATS_TEST_TMPDIR/w.yaml"
    assert_success
    [ "${#lines[@]}" -eq 8 ]
    assert_line --index 1 --regexp ',acme,,0$'
    run tool gen-workload -n 2 --config "$BATS_TEST_TMPDIR/w.yaml"
    assert_success
    [ "${#lines[@]}" -eq 3 ]
}

# Each bad invocation: exit 2, nothing on stdout, one line on stderr that
# names the option (or the file:line of the bad key).
refused() {
    local name=$1
    shift
    run --separate-stderr tool gen-workload "$@"
    [ "$status" -eq 2 ] || { echo "status $status for: $*"; return 1; }
    [ -z "$output" ] || { echo "stdout not empty for: $*"; return 1; }
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || { echo "not one line: $stderr"; return 1; }
    [[ "$stderr" == *"$name"* ]] || { echo "'$stderr' does not name '$name'"; return 1; }
}

@test "gen-workload: bad flags exit 2 with one line naming the option" {
    refused --bogus --bogus
    refused -x -x
    refused "--rate" --rate -1
    refused "--rate" --rate nan
    refused "--rate" --rate abc
    refused "--rate" --rate 1e999
    refused "--rate" --rate 0
    refused "--rate" --rate
    refused "--cv" --cv 0
    refused "--arrival" --arrival bogus
    refused "--num-requests" -n -1
    refused "--num-requests" -n 1.5
    refused "--prompt-min" --prompt-min 10 --prompt-max 5
    refused "--output-min" --output-min 0
    refused "--seed" --seed x
    refused "stray" stray
}

@test "gen-workload: an unknown key in a --config file names file:line" {
    printf 'workload:\n  rate_per_s: 5\n  bogus: 1\n' > "$BATS_TEST_TMPDIR/bad.yaml"
    refused "$BATS_TEST_TMPDIR/bad.yaml:3" --config "$BATS_TEST_TMPDIR/bad.yaml"
    [[ "$stderr" == *bogus* ]]
}

@test "gen-workload: writing to a full disk fails with status 3" {
    run --separate-stderr bash -c '"$TOP/bin/gen-workload" -n 100000 > /dev/full'
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"standard output"* ]]
}

@test "gen-workload: a closed pipe ends it quietly and quickly" {
    run --separate-stderr bash -c 'timeout 10 gen-workload -n 1000000 | head -1'
    assert_success
    assert_output "$HEADER"
    [ -z "$stderr" ]
}

@test "gen-workload: memory does not grow with -n" {
    require_plain_build
    small=$(/usr/bin/time -f %M "$TOP/bin/gen-workload" -n 10000 2>&1 >/dev/null)
    large=$(/usr/bin/time -f %M "$TOP/bin/gen-workload" -n 1000000 2>&1 >/dev/null)
    # 100 times the requests; the max RSS (KiB) may differ by noise only
    [ "$large" -le $((small + 1024)) ] || { echo "RSS $small KiB -> $large KiB"; return 1; }
}

@test "gen-workload: --version and --help" {
    run tool gen-workload --version
    assert_success
    assert_output "gen-workload (servesim) 0.1.0"
    run tool gen-workload --help
    assert_success
    assert_output --partial "Usage: gen-workload"
}

@test "gen-workload: the examples in --help work" {
    cd "$BATS_TEST_TMPDIR"
    tool gen-workload --help | sed -n 's/^  \(gen-workload .*\)$/\1/p' > examples
    [ "$(wc -l < examples)" -ge 2 ]
    while IFS= read -r example; do
        run --separate-stderr bash -c "set -o pipefail; $example"
        [ "$status" -eq 0 ] || { echo "failed: $example"; return 1; }
        [ -n "$output" ] && [ -z "$stderr" ] || { echo "no output: $example"; return 1; }
    done < examples
}
