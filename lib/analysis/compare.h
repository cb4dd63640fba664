/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * compare: how well a simulated run reproduces a measured one. Both are
 * per-request results in the same format (docs/formats.md); requests are
 * matched by id.
 *
 * A request is compared when it is ok in both runs and arrived at or after
 * the warm-up; every other request is counted under the reason it was
 * left out, never dropped silently. The same id with different input or
 * output token counts means the two runs did not serve the same stream:
 * that is an error (ERR_DATA), as are ids repeated within a run and two
 * runs with no request in common.
 *
 * For ttft, tpot and e2e (ms): the mean, p50, p90 and p99 of each run over
 * the compared requests and the relative error of each (simulated −
 * measured) / measured; the request-level mean absolute percentage error;
 * Pearson's r between the two runs' values; and the bias (the sign of the
 * mean error). The comparison owns everything it holds.
 */
#ifndef SERVESIM_ANALYSIS_COMPARE_H
#define SERVESIM_ANALYSIS_COMPARE_H

#include <stdint.h>
#include <stdio.h>

struct compare_options {
    int64_t warmup_us; /* requests arriving before this (measured arrival) are left out */
};

enum compare_metric { COMPARE_TTFT, COMPARE_TPOT, COMPARE_E2E, COMPARE_METRICS };

struct metric_stats {
    double mean, p50, p90, p99;
};

struct metric_comparison {
    int64_t count; /* requests with the metric in both runs */
    struct metric_stats measured, simulated;
    struct metric_stats relative_error; /* (simulated - measured) / measured, per statistic */
    double mape;                        /* mean over requests of |sim - real| / real */
    double pearson_r;                   /* NaN when either side is constant */
    double mean_error_ms;               /* mean of sim - real: its sign is the bias */
};

struct comparison {
    int64_t measured_requests, simulated_requests;
    int64_t compared;
    int64_t only_measured, only_simulated; /* ids missing from the other run */
    int64_t not_ok;                        /* not ok in one run or both */
    int64_t warmup;                        /* arrived before the warm-up ended */
    struct metric_comparison metrics[COMPARE_METRICS];
};

/* Reads both runs and compares them. 0, ERR_DATA (reported with file:line), ERR_INTERNAL. */
int compare_runs(FILE *measured, const char *measured_name, FILE *simulated,
                 const char *simulated_name, const struct compare_options *options,
                 struct comparison *out);

/* The comparison as one JSON object and a newline, keys in a fixed order. */
int comparison_write_json(const struct comparison *comparison, FILE *out);

#endif
