#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# grid.sh DIR < SPEC: run the points of a grid through GNU parallel. SPEC has
# one point a line, tab-separated: LABELS, GEN, SIM, SUM (see point.sh). Each
# point lands in DIR/points/LABELS (blanks turned into commas); DIR/jobs lists
# them in SPEC order, and aggregation reads them in that order, so the result
# does not depend on JOBS or on which point finished first.
#
# Resuming: parallel runs with --joblog DIR/joblog --resume-failed (--resume,
# plus a rerun of failed points). A joblog identifies jobs by their line
# number, so it is kept only while DIR/jobs is unchanged (DIR/joblog.jobs is
# the job list it belongs to); a new job list starts a new joblog, and points
# whose point.json already holds the same command are still not recomputed.
# Environment: JOBS (parallel -j), SSHLOGIN (parallel --sshlogin, optional).
# Exits 1 when a point failed, naming it.
set -eu
. "$(dirname "$0")/lib.sh"
mkdir -p "$1"
dir=$(cd "$1" && pwd)
tools=$(cat "$bin/gen-workload" "$bin/simulate" "$bin/summarize" | cksum | tr ' ' -)

awk -F'\t' -v OFS='\t' -v dir="$dir/points" -v tools="$tools" \
    'NF != 4 { print "grid.sh: bad spec line " NR > "/dev/stderr"; exit 1 }
     { name = $1; gsub(/ /, ",", name); print dir "/" name, $1, tools, $2, $3, $4 }' > "$dir/jobs.tmp"
if cmp -s "$dir/jobs.tmp" "$dir/jobs"; then rm "$dir/jobs.tmp"; else mv "$dir/jobs.tmp" "$dir/jobs"; fi
if ! cmp -s "$dir/jobs" "$dir/joblog.jobs"; then
    rm -f "$dir/joblog"
    cp "$dir/jobs" "$dir/joblog.jobs.tmp" && mv "$dir/joblog.jobs.tmp" "$dir/joblog.jobs"
fi

set -- --joblog "$dir/joblog" --resume-failed --halt soon,fail=1 -j "${JOBS:-1}" --colsep '\t'
[ -z "${SSHLOGIN:-}" ] || set -- "$@" --sshlogin "$SSHLOGIN"
status=0
parallel "$@" sh "$top/pipelines/point.sh" "$bin" '{1}' '{2}' '{3}' '{4}' '{5}' '{6}' :::: "$dir/jobs" ||
    status=$?
missing=$(cut -f1 "$dir/jobs" | while IFS= read -r p; do [ -f "$p/point.json" ] || echo "${p##*/}"; done)
if [ "$status" -ne 0 ] || [ -n "$missing" ]; then
    echo "grid: failed points (see $dir/joblog):" $missing >&2
    exit 1
fi
