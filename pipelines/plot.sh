#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# plot.sh TARGET CSV PNG: draw PIPELINE's figure (pipelines/TARGET.gp) from
# CSV into PNG, through a temporary file renamed into place only when gnuplot
# succeeded and wrote a PNG.
set -eu
. "$(dirname "$0")/lib.sh"
target=$1 csv=$2 png=$3
tmp=$png.tmp
case $target in
saturation)
    knee=$(awk -F, 'NR > 1 && $NF == 1 { print $1; exit }' "$csv")
    kneex=$(awk -F, 'NR > 1 && $NF == 1 { print $3; exit }' "$csv")
    set -- -e "knee='$knee'; kneex=${kneex:-0}; kneefrac=${KNEE:?}" ;;
policies)
    set -- -e "slo='$(slo_args)'" ;;
*) echo "plot.sh: no figure for $target" >&2; exit 2 ;;
esac
rm -f "$tmp"
gnuplot -e "csv='$csv'; png='$tmp'; title='$target: $MODEL on $GPU, TP $TP'" "$@" \
    "$top/pipelines/$target.gp"
[ "$(head -c 8 "$tmp" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
    { echo "plot.sh: gnuplot wrote no PNG to $tmp" >&2; exit 3; }
mv "$tmp" "$png"
