/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * policy_eval: the summary sections that rank cluster policies
 * (docs/formats.md, "Summary"): load balance over instances (requests and
 * tokens per instance, Jain's fairness index), anomaly counters, the
 * decision trace summary, and one fitness score per run.
 *
 * Fitness: a weighted mean of terms each in [0, 1], higher is better, so
 * scores of runs compare directly: throughput = ok / total requests (the
 * share of the offered load served), goodput = slo.met / total; a latency
 * metric x in ms becomes 1000 / (1000 + x) (1 at 0 ms, 0.5 at one second).
 * Weights are >= 0, finite, not all 0; they are normalized by their sum.
 */
#ifndef SERVESIM_ANALYSIS_POLICY_EVAL_H
#define SERVESIM_ANALYSIS_POLICY_EVAL_H

#include <stdio.h>

enum fitness_metric {
    FITNESS_THROUGHPUT,
    FITNESS_GOODPUT,
    FITNESS_MEAN_TTFT,
    FITNESS_P99_TTFT,
    FITNESS_MEAN_TPOT,
    FITNESS_P99_TPOT,
    FITNESS_MEAN_E2E,
    FITNESS_P99_E2E,
    FITNESS_COUNT
};

struct summary;

/* "name:weight,...": 0 or ERR_CONFIG (reported, listing the metric names). */
int fitness_parse(const char *what, const char *text, double weights[FITNESS_COUNT]);
/* The score of a run; weights as fitness_parse leaves them. */
double fitness_score(const struct summary *summary, const double weights[FITNESS_COUNT]);
/* Jain's index (sum x)^2 / (n sum x^2) of n values; 1 when all are 0 or n is 0. */
double jain_index(const double *values, size_t n);

/* Writes ,"balance":...,"anomalies":...,"decisions":...,"fitness":... */
void policy_eval_json(FILE *f, const struct summary *summary);

#endif
