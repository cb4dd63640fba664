#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# fit.sh: times calibrate fit on all ten real vLLM runs on H100
# (../shared/data/groundtruth/vllm-h100-train): the physics fit over all ten
# at once, and the blackbox fits of the four engines one after the other.
# Prints wall and CPU seconds (/usr/bin/time) per fit. Needs `make` first.
set -eu
cd "$(dirname "$0")/.."
data=../shared/data/groundtruth/vllm-h100-train
[ -d "$data" ] || { echo "fit.sh: $data is absent; nothing to time" >&2; exit 2; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT INT TERM
for f in "$data"/*.json; do
    case $f in *_ground_truth.json) continue ;; esac
    mkdir "$work/$(basename "$f" .json)"
    bin/calibrate import vllm-h100 "$f" --out "$work/$(basename "$f" .json)" 2>/dev/null
done
timed() { # LABEL COMMAND...: one line "LABEL wall_s user_s"
    label=$1; shift
    /usr/bin/time -f "%e %U" -o "$work/time" "$@" > /dev/null
    echo "$label $(cat "$work/time")"
}
echo "fit wall_s user_s"
timed physics-10-runs bin/calibrate fit --model physics --iterations 25 --warmup-us 20000000 "$work"/*/
for engine in llama-2-7b-tp1 llama-2-70b*-tp4 mixtral-8x7b*-tp2 codellama-34b-tp2; do
    # shellcheck disable=SC2086 # the engine is a glob
    set -- "$work"/*-$engine-*/
    [ -d "$1" ] || continue
    timed "blackbox-$(echo "$engine" | tr -d '*')-$#-runs" bin/calibrate fit --warmup-us 20000000 "$@"
done
