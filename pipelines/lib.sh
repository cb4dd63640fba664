# SPDX-License-Identifier: GPL-3.0-or-later
# lib.sh: shell functions shared by the pipeline scripts (sourced, POSIX sh).
# They turn the documented variables (docs/pipelines.md), read from the
# environment, into tool arguments, so every script builds them one way.
# Sourcing sets $top (the checkout) and $bin (the tools: $top/bin, or
# $SERVESIM_BIN when set, e.g. to run the pipelines with other builds).

top=$(cd "$(dirname "$0")/.." && pwd)
bin=${SERVESIM_BIN:-$top/bin}

# has_option TOOL OPTION: the built TOOL lists OPTION in its --help
has_option() {
    "$bin/$1" --help 2>/dev/null | grep -q -- "$2"
}

# engine_args [GPU]: simulate's engine flags from MODEL, GPU, TP,
# LATENCY_MODEL and SIMFLAGS (words split on blanks)
engine_args() {
    printf '%s' "--model ${MODEL:?} --gpu ${1:-${GPU:?}} --tp ${TP:?}"
    [ -z "${LATENCY_MODEL:-}" ] || printf ' %s' "--latency-model $LATENCY_MODEL"
    [ -z "${SIMFLAGS:-}" ] || printf ' %s' "$SIMFLAGS"
}

# cluster_args N POLICY: --instances N and the routing (and admission) of
# POLICY, written ROUTING or ROUTING+ADMISSION
cluster_args() {
    case $2 in
    *+*) printf '%s' "--instances $1 --routing ${2%%+*} --admission ${2#*+}" ;;
    *) printf '%s' "--instances $1 --routing $2" ;;
    esac
}

# slo_args: summarize's SLO flags from SLO_TTFT_MS and SLO_TPOT_MS
slo_args() {
    [ -z "${SLO_TTFT_MS:-}" ] || printf '%s ' "--slo-ttft-ms $SLO_TTFT_MS"
    [ -z "${SLO_TPOT_MS:-}" ] || printf '%s' "--slo-tpot-ms $SLO_TPOT_MS"
}

# first WORDS...: the first word
first() { printf '%s' "$1"; }
