#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# calibration.sh OUT: import -> fit -> validate -> report, with calibrate.
#   import:   each run of CALIB_TRAIN and CALIB_TEST (vllm-h100 EXP.json) into
#             OUT/calibration/runs/EXP/ (in parallel; a run already imported
#             is kept: importing is deterministic)
#   fit:      the blackbox coefficients on the CALIB_TRAIN runs (FIT_ITERATIONS,
#             WARMUP_US) -> OUT/calibration/fit.yaml
#   validate: each CALIB_TEST run simulated with its engine and the fit, and
#             compared with its measurement -> runs/EXP/compare.json
#   report:   OUT/calibration.csv, one row per test run; in_sample = 1 when the
#             run was also fitted on
# Every file is written under a temporary name and renamed.
set -eu
. "$(dirname "$0")/lib.sh"
out=$1
work=$out/calibration
mkdir -p "$work/runs"
set -- --halt soon,fail=1 -j "${JOBS:-1}"

# shellcheck disable=SC2086 # the lists are words
printf '%s\n' $CALIB_TRAIN $CALIB_TEST | sort -u | parallel "$@" \
    'd='"$work"'/runs/{/.}; [ -f $d/engine.yaml ] || { rm -rf $d.tmp && mkdir -p $d.tmp &&
     '"$bin"'/calibrate import vllm-h100 {} --out $d.tmp && rm -rf $d && mv $d.tmp $d; }'

dirs=$(for f in $CALIB_TRAIN; do printf '%s/runs/%s ' "$work" "$(basename "$f" .json)"; done)
# shellcheck disable=SC2086
"$bin/calibrate" fit --iterations "$FIT_ITERATIONS" --warmup-us "$WARMUP_US" $dirs > "$work/fit.yaml.tmp"
mv "$work/fit.yaml.tmp" "$work/fit.yaml"

# shellcheck disable=SC2086
printf '%s\n' $CALIB_TEST | parallel "$@" \
    'd='"$work"'/runs/{/.}; '"$bin"'/simulate --config $d/engine.yaml --config '"$work"'/fit.yaml $d/requests.csv > $d/simulated.csv.tmp &&
     '"$bin"'/calibrate compare --warmup-us '"$WARMUP_US"' $d/measured.csv $d/simulated.csv.tmp > $d/compare.json.tmp &&
     mv $d/simulated.csv.tmp $d/simulated.csv && mv $d/compare.json.tmp $d/compare.json'

echo "run,in_sample,compared,ttft_mean_rel_error,e2e_mean_rel_error,tpot_mean_rel_error,ttft_p50_rel_error,e2e_p50_rel_error,tpot_p50_rel_error,ttft_mape,e2e_mape" \
    > "$out/calibration.csv.tmp"
for f in $CALIB_TEST; do
    run=$(basename "$f" .json)
    in=0
    for t in $CALIB_TRAIN; do [ "$t" != "$f" ] || in=1; done
    jq -r --arg run "$run" --argjson in "$in" \
        '[$run, $in, .requests.compared,
          (.ttft_ms, .e2e_ms, .tpot_ms | .relative_error.mean),
          (.ttft_ms, .e2e_ms, .tpot_ms | .relative_error.p50), .ttft_ms.mape, .e2e_ms.mape] | @csv' \
        "$work/runs/$run/compare.json" >> "$out/calibration.csv.tmp"
done
mv "$out/calibration.csv.tmp" "$out/calibration.csv"
echo "calibration: wrote $out/calibration.csv (coefficients: $work/fit.yaml)" >&2
