#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# check.sh TARGET: validate every variable TARGET uses (docs/pipelines.md),
# read from the environment, before anything is simulated. Prints one line
# naming the variable and the value at fault and exits 2 on the first problem;
# a target whose feature the built tools lack (the cluster, trace import, a
# latency model) is refused the same way. Prints nothing when all is well.
set -eu
target=$1
. "$(dirname "$0")/lib.sh"
. "$top/pipelines/choices.sh"

fail() {
    echo "$target: $*; nothing was run" >&2
    exit 2
}

# the values travel through the shell and tab-separated job lists
plain() { # NAME VALUE
    case $2 in
    *[\'\"\\\|\`\$\;\&\<\>]* | *"	"*) fail "$1: '$2' holds a character the pipelines do not pass on (quote, backslash, |, \`, \$, ;, &, <, >, tab)" ;;
    esac
}
decimal() { # NAME VALUE: a decimal number > 0
    printf '%s\n' "$2" | grep -Eq '^[0-9]+([.][0-9]+)?$|^[.][0-9]+$' &&
        awk -v x="$2" 'BEGIN { exit !(x + 0 > 0) }' ||
        fail "$1: '$2' is not a number > 0"
}
fraction() { # NAME VALUE: 0 < x <= 1
    decimal "$1" "$2"
    awk -v x="$2" 'BEGIN { exit !(x + 0 <= 1) }' || fail "$1: '$2' is not a fraction in (0, 1]"
}
count() { # NAME VALUE: an integer >= 1
    printf '%s\n' "$2" | grep -Eq '^[1-9][0-9]{0,5}$' || fail "$1: '$2' is not an integer >= 1"
}
seed() {
    printf '%s\n' "$2" | grep -Eq '^[0-9]{1,18}$' || fail "$1: '$2' is not an integer >= 0"
}
one_of() { # NAME VALUE LIST
    for c in $3; do [ "$2" = "$c" ] && return 0; done
    fail "$1: unknown value '$2' (known: $3)"
}
list() { # NAME CHECK VALUES...: a non-empty list without repeats, each value checked
    name=$1 check=$2
    shift 2
    [ $# -gt 0 ] || fail "$name: empty"
    seen=' '
    for v in "$@"; do
        $check "$name" "$v"
        case $seen in *" $v "*) fail "$name: '$v' is listed twice" ;; esac
        seen="$seen$v "
    done
}
policy() { # NAME VALUE: ROUTING or ROUTING+ADMISSION
    case $2 in
    *+*+*) fail "$1: '$2' is not ROUTING or ROUTING+ADMISSION" ;;
    *+*) one_of "$1" "${2%%+*}" "$ROUTING_POLICIES"
         one_of "$1" "${2#*+}" "$ADMISSION_POLICIES" ;;
    *) one_of "$1" "$2" "$ROUTING_POLICIES" ;;
    esac
}
needs() { # TOOL OPTION WHAT
    has_option "$1" "$2" ||
        fail "bin/$1 has no $2 ($3 has not landed in this build)"
}
readable() { # NAME PATH
    [ -f "$2" ] && [ -r "$2" ] || fail "$1: '$2' is not a readable file"
}
engine() { # [GPU]: simulate accepts the engine settings
    out=$("$bin/simulate" $(engine_args "$@") --print-config 2>&1 >/dev/null) ||
        fail "simulate refuses MODEL/GPU/TP/SIMFLAGS: $(printf "%s\n" "${out#simulate: }" | head -n 1)"
}
workload() { # gen-workload accepts WORKLOAD (checked on zero requests)
    out=$("$bin/gen-workload" $WORKLOAD --rate 1 --seed 1 -n 0 2>&1 >/dev/null) ||
        fail "gen-workload refuses WORKLOAD '$WORKLOAD': $(printf "%s\n" "${out#gen-workload: }" | head -n 1)"
}
slos() {
    [ -z "${SLO_TTFT_MS:-}" ] || decimal SLO_TTFT_MS "$SLO_TTFT_MS"
    [ -z "${SLO_TPOT_MS:-}" ] || decimal SLO_TPOT_MS "$SLO_TPOT_MS"
}

for v in MODEL GPU TP WORKLOAD SIMFLAGS SSHLOGIN OUT; do
    eval "plain $v \"\${$v:-}\""
done
[ -n "${OUT:-}" ] || fail "OUT: empty"
count JOBS "${JOBS:-}"
count TP "${TP:-}"
if [ -n "${LATENCY_MODEL:-}" ]; then
    one_of LATENCY_MODEL "$LATENCY_MODEL" "$LATENCY_MODELS"
    needs simulate --latency-model "the choice of latency model"
fi
[ -z "${SSHLOGIN:-}" ] || command -v ssh >/dev/null || [ "$SSHLOGIN" = : ] ||
    fail "SSHLOGIN: '$SSHLOGIN' needs ssh, which is not installed"

# shellcheck disable=SC2086 # the lists are words
case $target in
saturation)
    list RATES decimal $RATES
    list SEEDS seed $SEEDS
    fraction KNEE "$KNEE"
    slos
    workload
    engine
    ;;
policies)
    list POLICIES policy $POLICIES
    list INSTANCES count $INSTANCES
    list SEEDS seed $SEEDS
    decimal RATE "$RATE"
    slos
    needs simulate --routing "the cluster simulator"
    workload
    engine
    ;;
capacity)
    decimal RATE "$RATE"
    list SEEDS seed $SEEDS
    list POLICIES policy $POLICIES
    count MAX_INSTANCES "$MAX_INSTANCES"
    [ -n "${SLO_TTFT_MS:-}${SLO_TPOT_MS:-}" ] || fail "SLO_TTFT_MS and SLO_TPOT_MS: give at least one"
    slos
    fraction SLO_ATTAINMENT "$SLO_ATTAINMENT"
    list GPUS plain $GPUS
    needs simulate --routing "the cluster simulator"
    workload
    for g in $GPUS; do engine "$g"; done
    ;;
replay)
    case ${TRACE:-} in
    ?*:?*) ;;
    *) fail "TRACE: '${TRACE:-}' is not FORMAT:FILE (FORMAT one of: $TRACE_FORMATS)" ;;
    esac
    plain TRACE "$TRACE"
    one_of TRACE "${TRACE%%:*}" "$TRACE_FORMATS"
    readable TRACE "${TRACE#*:}"
    list INSTANCES count $INSTANCES
    list POLICIES policy $POLICIES
    for c in $CONFIGS; do plain CONFIGS "$c"; readable CONFIGS "$c"; done
    needs gen-workload --from "trace import"
    [ "$INSTANCES" = 1 ] || needs simulate --routing "the cluster simulator (INSTANCES=1 runs without it)"
    engine
    ;;
calibration)
    [ -x "$bin/calibrate" ] || fail "bin/calibrate is missing (run make)"
    [ -n "$CALIB_TRAIN" ] || fail "CALIB_TRAIN: empty (the measured runs to fit on; is ../shared/data there?)"
    for f in $CALIB_TRAIN $CALIB_TEST; do
        plain CALIB_TRAIN/CALIB_TEST "$f"
        readable CALIB_TRAIN/CALIB_TEST "$f"
        readable CALIB_TRAIN/CALIB_TEST "${f%.json}_ground_truth.json"
    done
    count FIT_ITERATIONS "$FIT_ITERATIONS"
    seed WARMUP_US "$WARMUP_US"
    ;;
*)
    fail "unknown pipeline"
    ;;
esac
