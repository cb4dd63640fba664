# SPDX-License-Identifier: GPL-3.0-or-later
# policies.gp: the policy comparison figure from policies.csv. Set by the
# caller (gnuplot -e): csv, png (output file), title, slo (the SLO flags).
# Left: p50 and p99 TTFT per policy and instance count (bars). Right:
# throughput and goodput (requests meeting the SLOs per second).
set terminal pngcairo size 1200,480 font "sans,10"
set output png
set datafile separator ","
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set key top left
set grid ytics
set xtics rotate by -30
set multiplot layout 1,2 title title
# columns: 1 policy, 4 instances, 6 throughput, 7 goodput, 9 ttft p50, 10 ttft p99
set ylabel "TTFT (ms)"
set title "latency"
plot csv using 9:xticlabels(sprintf("%s x%s", strcol(1), strcol(4))) skip 1 title "p50 TTFT", \
     '' using 10 skip 1 title "p99 TTFT"
set ylabel "requests/s"
set title sprintf("throughput and goodput (%s)", slo)
set yrange [0:*]
plot csv using 6:xticlabels(sprintf("%s x%s", strcol(1), strcol(4))) skip 1 title "throughput", \
     '' using 7 skip 1 title "goodput"
unset multiplot
