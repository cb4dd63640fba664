# SPDX-License-Identifier: GPL-3.0-or-later
# saturation.gp: the saturation figure from saturation.csv. Set by the caller
# (gnuplot -e): csv, png (output file), knee (the knee's nominal rate, "" for
# none), kneex (its offered rate), kneefrac (KNEE), title.
# Left: TTFT p50 and p99 against offered load (solid) and achieved load
# (dashed), log scale. Right: achieved against offered load, with the lines
# y = x and y = KNEE x. The knee is a vertical line in both.
set terminal pngcairo size 1200,480 font "sans,10"
set output png
set datafile separator ","
set key top left
set grid
set multiplot layout 1,2 title title
# columns: 3 offered, 4 throughput, 5 ttft p50, 7 ttft p99
if (knee ne "") {
    set arrow 1 from kneex, graph 0 to kneex, graph 1 nohead dashtype 2 linecolor rgb "red"
    set label 1 sprintf("knee %s req/s", knee) at kneex, graph 0.04 offset 0.5,0 textcolor rgb "red"
}
set logscale y
set xlabel "load (requests/s)"
set ylabel "TTFT (ms)"
set title "latency against offered and achieved load"
plot csv using 3:7 skip 1 with linespoints linecolor 1 pointtype 7 title "p99 TTFT vs offered", \
     csv using 4:7 skip 1 with linespoints linecolor 1 dashtype 2 pointtype 6 title "p99 TTFT vs achieved", \
     csv using 3:5 skip 1 with linespoints linecolor 2 pointtype 5 title "p50 TTFT vs offered", \
     csv using 4:5 skip 1 with linespoints linecolor 2 dashtype 2 pointtype 4 title "p50 TTFT vs achieved"
unset logscale y
set ylabel "achieved throughput (requests/s)"
set xlabel "offered load (requests/s)"
set title "throughput"
set key top left
plot csv using 3:4 skip 1 with linespoints linecolor 3 pointtype 7 title "achieved", \
     x with lines linecolor rgb "gray" title "achieved = offered", \
     kneefrac * x with lines linecolor rgb "gray" dashtype 3 title sprintf("%g x offered", kneefrac)
unset multiplot
