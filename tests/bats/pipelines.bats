# SPDX-License-Identifier: GPL-3.0-or-later
# The experiment pipelines (docs/pipelines.md): make targets over the tools,
# grids through GNU parallel. Small workloads keep the file under a minute.
load helper

# runs a pipeline target of the top-level Makefile, as from a shell (not
# as a sub-make of make check)
pipeline() {
    env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS make -C "$TOP" --no-print-directory "$@"
}

# a small sweep: 3 rates, 2 seeds, a few hundred requests a point. Rate 1 is
# far below the default engine's capacity (about 18 requests/s, DESIGN §5
# blackbox H100 coefficients) and 64 far above it.
SWEEP=(RATES="1 4 64" SEEDS="1 2" WORKLOAD="-n 600")

setup_file() {
    command -v parallel >/dev/null || skip "GNU parallel is absent (make deps)"
}

# documented header: the line after "<!-- header: NAME -->" in docs/pipelines.md
documented_header() {
    sed -n "/<!-- header: $1 -->/,/^[a-z]/p" "$TOP/docs/pipelines.md" | tail -n 1
}

@test "pipelines: saturation runs end to end: documented CSVs and a PNG" {
    out=$BATS_TEST_TMPDIR/sat
    run pipeline saturation "${SWEEP[@]}" OUT="$out" JOBS=2
    assert_success
    assert_output --partial "knee: 64"
    [ "$(head -n 1 "$out/saturation.csv")" = "$(documented_header saturation)" ]
    [ "$(head -n 1 "$out/saturation-points.csv")" = "$(documented_header saturation-points)" ]
    [ "$(wc -l < "$out/saturation.csv")" -eq 4 ]
    [ "$(wc -l < "$out/saturation-points.csv")" -eq 7 ]
    # rows by rate, 2 seeds each; below capacity throughput keeps up with the
    # offered rate, above it it cannot (saturated = 1) and TTFT explodes
    run awk -F, 'NR > 1 { print $1, $2, $NF }' "$out/saturation.csv"
    assert_output "$(printf '1 2 0\n4 2 0\n64 2 1')"
    awk -F, 'NR == 2 { exit !($4 > 0.95 * $3 && $4 <= $3 * 1.001) }' "$out/saturation.csv"
    awk -F, 'NR == 4 { exit !($4 < 20 && $7 > 100 * p99) } NR == 2 { p99 = $7 }' "$out/saturation.csv"
    # every point: requests conserved, all ok at this load
    awk -F, 'NR > 1 { if ($NF != 600 || $(NF-1) != 600) exit 1 }' "$out/saturation-points.csv"
    # a PNG: signature bytes and a non-trivial size
    [ "$(head -c 8 "$out/saturation.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
    [ "$(wc -c < "$out/saturation.png")" -gt 10000 ]
    ! ls "$out"/*.tmp "$out"/saturation/points/*/.tmp.* 2>/dev/null
}

@test "pipelines: a second make of an up-to-date sweep does nothing" {
    out=$BATS_TEST_TMPDIR/sat
    pipeline saturation "${SWEEP[@]}" OUT="$out" JOBS=2 2>/dev/null
    before=$(ls -l --time-style=full-iso "$out" "$out"/saturation/points/* | cksum)
    log=$(cksum < "$out/saturation/joblog")
    run pipeline saturation "${SWEEP[@]}" OUT="$out" JOBS=2
    assert_success
    assert_output "make: Nothing to be done for 'saturation'."
    [ "$(cksum < "$out/saturation/joblog")" = "$log" ]
    [ "$(ls -l --time-style=full-iso "$out" "$out"/saturation/points/* | cksum)" = "$before" ]
    # JOBS is not a result-changing variable: other parallelism, still nothing
    run pipeline saturation "${SWEEP[@]}" OUT="$out" JOBS=1
    assert_output "make: Nothing to be done for 'saturation'."
}

@test "pipelines: -j1 and -j2 give byte-identical CSVs" {
    pipeline saturation "${SWEEP[@]}" OUT="$BATS_TEST_TMPDIR/j1" JOBS=1 2>/dev/null
    pipeline saturation "${SWEEP[@]}" OUT="$BATS_TEST_TMPDIR/j2" JOBS=2 2>/dev/null
    cmp "$BATS_TEST_TMPDIR/j1/saturation.csv" "$BATS_TEST_TMPDIR/j2/saturation.csv"
    cmp "$BATS_TEST_TMPDIR/j1/saturation-points.csv" "$BATS_TEST_TMPDIR/j2/saturation-points.csv"
}

@test "pipelines: a killed sweep resumes without redoing its completed points" {
    out=$BATS_TEST_TMPDIR/kill
    # points big enough (about a second each, one at a time) to kill midway
    args=(RATES="2 4 8" SEEDS="1 2" WORKLOAD="-n 150000" OUT="$out" JOBS=1)
    setsid env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS make -C "$TOP" --no-print-directory saturation "${args[@]}" > /dev/null 2>&1 &
    pid=$!
    for _ in $(seq 600); do
        [ "$(ls "$out"/saturation/points/*/point.json 2>/dev/null | wc -l)" -ge 2 ] && break
        sleep 0.05
    done
    kill -KILL -- -"$pid"
    wait "$pid" || true
    done_before=$(ls "$out"/saturation/points/*/point.json | wc -l)
    # the kill came midway: some points done, not all, and no result
    [ "$done_before" -ge 2 ] && [ "$done_before" -lt 6 ]
    [ ! -e "$out/saturation.csv" ]
    stamps=$(cd "$out/saturation/points" && ls -l --time-style=full-iso */point.json)
    logged=$(awk 'NR > 1' "$out/saturation/joblog" | wc -l)
    run pipeline saturation "${args[@]}"
    assert_success
    [ "$(wc -l < "$out/saturation.csv")" -eq 4 ]
    # the points finished before the kill were not rewritten...
    (cd "$out/saturation/points" && printf '%s\n' "$stamps" | while read -r line; do
        f=${line##* }
        [ "$(ls -l --time-style=full-iso "$f")" = "$line" ] || exit 1
    done)
    # ...nor run again: each job is in the joblog exactly once, the logged
    # ones from before the kill included
    [ "$logged" -ge 1 ]
    [ "$(awk 'NR > 1 { print $1 }' "$out/saturation/joblog" | sort | uniq -d)" = "" ]
    [ "$(awk 'NR > 1' "$out/saturation/joblog" | wc -l)" -eq 6 ]
    ! ls "$out"/saturation/points/*/.tmp.* 2>/dev/null
}

@test "pipelines: a non-numeric rate stops the DAG before any simulation" {
    out=$BATS_TEST_TMPDIR/bad
    run pipeline saturation RATES="2 fast 8" OUT="$out"
    assert_failure
    assert_output --partial "saturation: RATES: 'fast' is not a number > 0; nothing was run"
    [ ! -e "$out/saturation" ] || [ ! -e "$out/saturation/jobs" ]
    run pipeline saturation RATES="4 4" OUT="$out"
    assert_failure
    assert_output --partial "RATES: '4' is listed twice"
}

@test "pipelines: an unknown policy stops the DAG before any simulation" {
    out=$BATS_TEST_TMPDIR/bad
    run pipeline policies POLICIES="round-robin fastest" OUT="$out"
    assert_failure
    assert_output --partial "policies: POLICIES: unknown value 'fastest' (known: round-robin least-loaded weighted prefix-affinity); nothing was run"
    run pipeline policies POLICIES="least-loaded+bouncer" OUT="$out"
    assert_failure
    assert_output --partial "unknown value 'bouncer'"
    run pipeline saturation WORKLOAD="--arrival lumpy" OUT="$out"
    assert_failure
    assert_output --partial "gen-workload refuses WORKLOAD"
    [ ! -e "$out/policies/jobs" ] && [ ! -e "$out/saturation/jobs" ]
}

@test "pipelines: SSHLOGIN=: (this machine, via --sshlogin) gives the same CSV" {
    pipeline saturation "${SWEEP[@]}" OUT="$BATS_TEST_TMPDIR/local" JOBS=2 2>/dev/null
    pipeline saturation "${SWEEP[@]}" OUT="$BATS_TEST_TMPDIR/ssh" JOBS=2 SSHLOGIN=: 2>/dev/null
    cmp "$BATS_TEST_TMPDIR/local/saturation.csv" "$BATS_TEST_TMPDIR/ssh/saturation.csv"
    run awk -F'\t' 'NR > 1 { print $2 }' "$BATS_TEST_TMPDIR/ssh/saturation/joblog"
    assert_output "$(printf ':\n:\n:\n:\n:\n:')"
}

# The capacity case, certain by construction: constant arrivals at 250/s,
# every request 100 prompt tokens and 1 output token, no arrival->queue delay
# (alpha 0), a step time of exactly 10 ms whatever the batch (beta 10000,0,0)
# and one request per step (max-num-seqs 1). A request is one 10 ms step, so
# an instance serves at most 100 requests/s. Round-robin gives each of N
# instances every N-th request, 4N ms apart: with N >= 3 (12 ms apart) each
# request finds its instance idle and its TTFT is exactly 10 ms; with N <= 2
# (8 ms apart) the queue grows by 2 ms a request and p99 TTFT passes 15 ms
# well within 1200 requests. So the smallest N with p99 TTFT <= 15 ms for
# every request is 3: probes 1 and 2 fail, 4 meets, bisection tries 3.
CAPACITY=(RATE=250 SEEDS=1 POLICIES=round-robin MAX_INSTANCES=16
          WORKLOAD="-n 1200 --arrival constant --prompt-tokens 100 --prompt-stdev 0 --output-tokens 1 --output-stdev 0"
          SIMFLAGS="--alpha 0,0,0 --beta 10000,0,0 --max-num-seqs 1"
          SLO_TTFT_MS=15 SLO_TPOT_MS= SLO_ATTAINMENT=1)

check_capacity_answer() {
    assert_success
    assert_output --partial "H100: 3 instances"
    [ "$(cat "$1/capacity.txt")" = "H100: 3 instances" ]
    [ "$(head -n 1 "$1/capacity.csv")" = "$(documented_header capacity)" ]
    run awk -F, 'NR > 1 { print $2, $NF }' "$1/capacity.csv"
    assert_output "$(printf '1 0\n2 0\n4 1\n3 1')"
    # the evidence: 10 ms exactly where it meets
    awk -F, 'NR > 1 && $NF == 1 { if ($6 != 10) exit 1 }' "$1/capacity.csv"
}

@test "pipelines: capacity finds the known answer (3 instances)" {
    has_routing=$(simulate --help | grep -c -- --routing || true)
    [ "$has_routing" -gt 0 ] || skip "simulate has no --routing yet (the cluster simulator); see the emulated test below"
    out=$BATS_TEST_TMPDIR/cap
    run pipeline capacity "${CAPACITY[@]}" OUT="$out" JOBS=2
    check_capacity_answer "$out"
}

@test "pipelines: capacity search logic, over a round-robin emulated by splitting the stream" {
    # A stand-in simulate that understands --instances N --routing round-robin
    # by giving every N-th request to one real single-instance run. With the
    # construction above this is exactly what round-robin does.
    shim=$BATS_TEST_TMPDIR/shim
    mkdir -p "$shim"
    ln -s "$TOP/bin/gen-workload" "$TOP/bin/summarize" "$shim/"
    cat > "$shim/simulate" <<SHIM
#!/bin/sh
set -eu
[ "\${1:-}" = --help ] && { "$TOP/bin/simulate" --help; echo "  --instances N --routing POLICY"; exit 0; }
n=1 itl= args= input=
while [ \$# -gt 0 ]; do
    case \$1 in
    --instances) n=\$2; shift 2 ;;
    --routing) [ "\$2" = round-robin ] || exit 2; shift 2 ;;
    --itl) itl=\$2; shift 2 ;;
    --print-config) exec "$TOP/bin/simulate" \$args "\$@" ;;
    --*) args="\$args \$1 \$2"; shift 2 ;;
    *) input=\$1; shift ;;
    esac
done
work=\$(mktemp -d)
i=0
while [ \$i -lt \$n ]; do
    awk -v n=\$n -v i=\$i 'NR == 1 || (NR - 2) % n == i' "\$input" > "\$work/\$i.csv"
    "$TOP/bin/simulate" \$args "\$work/\$i.csv" |
        awk -F, -v OFS=, -v i=\$i 'NR == 1 { if (i == 0) print; next } { \$2 = i; print }'
    i=\$((i + 1))
done
rm -rf "\$work"
[ -z "\$itl" ] || echo "slo_class,tenant,instance,gap_us,count" > "\$itl"
SHIM
    chmod +x "$shim/simulate"
    out=$BATS_TEST_TMPDIR/cap-shim
    SERVESIM_BIN=$shim run pipeline capacity "${CAPACITY[@]}" OUT="$out" JOBS=2
    check_capacity_answer "$out"
}

@test "pipelines: policies compares every policy (when the cluster has landed)" {
    simulate --help | grep -q -- --routing || skip "simulate has no --routing yet (the cluster simulator)"
    out=$BATS_TEST_TMPDIR/pol
    run pipeline policies POLICIES="round-robin least-loaded+always" INSTANCES=2 RATE=8 SEEDS=1 \
        WORKLOAD="-n 400" OUT="$out" JOBS=2
    assert_success
    [ "$(head -n 1 "$out/policies.csv")" = "$(documented_header policies)" ]
    run cut -d, -f1-5 "$out/policies.csv"
    assert_output "$(printf '%s\n' "$(documented_header policies | cut -d, -f1-5)" \
        '"round-robin","round-robin","always",2,1' '"least-loaded+always","least-loaded","always",2,1')"
    [ "$(head -c 8 "$out/policies.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
}

@test "pipelines: replay runs a real trace (when trace import has landed)" {
    gen-workload --help | grep -q -- --from || skip "gen-workload has no --from yet (trace import)"
    require_shared_data
    out=$BATS_TEST_TMPDIR/replay
    head -n 301 "$SHARED/data/traces/azure-llm-2023/AzureLLMInferenceTrace_code.csv" > "$BATS_TEST_TMPDIR/azure.csv"
    run pipeline replay TRACE="azure:$BATS_TEST_TMPDIR/azure.csv" INSTANCES=1 OUT="$out"
    assert_success
    [ "$(head -n 1 "$out/replay.csv")" = "$(documented_header replay)" ]
    awk -F, 'NR == 2 { exit !($4 == 300) }' "$out/replay.csv"
}

@test "pipelines: calibration imports, fits, validates and reports" {
    require_shared_data
    out=$BATS_TEST_TMPDIR/cal
    run_file=$SHARED/data/groundtruth/vllm-h100-train/20260217-162547-llama-2-7b-tp1-roleplay.json
    run pipeline calibration CALIB_TRAIN="$run_file" FIT_ITERATIONS=5 OUT="$out"
    assert_success
    [ "$(head -n 1 "$out/calibration.csv")" = "$(documented_header calibration)" ]
    [ "$(wc -l < "$out/calibration.csv")" -eq 2 ]
    # in-sample, and the fitted model is not far off on the mean TTFT
    awk -F, 'NR == 2 { t = $4 < 0 ? -$4 : $4; exit !($2 == 1 && $3 > 7000 && t < 0.5) }' "$out/calibration.csv"
    grep -q '^coefficients:' "$out/calibration/fit.yaml"
}
