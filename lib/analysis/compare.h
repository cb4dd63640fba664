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
 *
 * ITL is compared separately, from two ITL side files (docs/formats.md):
 * they are histograms of token gaps pooled over all requests, with no
 * request identity, so the comparison covers the mean, p50, p90 and p99 of
 * all gaps and their relative errors only: request matching, the warm-up,
 * MAPE, Pearson's r and the bias do not apply.
 */
#ifndef SERVESIM_ANALYSIS_COMPARE_H
#define SERVESIM_ANALYSIS_COMPARE_H

#include <stdbool.h>
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

struct itl_comparison {
    int64_t measured_gaps, simulated_gaps;
    struct metric_stats measured, simulated; /* ms; NaN when a file has no gap */
    struct metric_stats relative_error;
};

struct comparison {
    int64_t measured_requests, simulated_requests;
    int64_t compared;
    int64_t only_measured, only_simulated; /* ids missing from the other run */
    int64_t not_ok;                        /* not ok in one run or both */
    int64_t warmup;                        /* arrived before the warm-up ended */
    struct metric_comparison metrics[COMPARE_METRICS];
    bool has_itl; /* set by the caller once itl holds compare_itl()'s result */
    struct itl_comparison itl;
};

/* Reads both runs and compares them. 0, ERR_DATA (reported with file:line), ERR_INTERNAL. */
int compare_runs(FILE *measured, const char *measured_name, FILE *simulated,
                 const char *simulated_name, const struct compare_options *options,
                 struct comparison *out);

/* Reads two ITL side files and compares their gaps. 0, ERR_DATA (file:line), ERR_INTERNAL. */
int compare_itl(FILE *measured, const char *measured_name, FILE *simulated,
                const char *simulated_name, struct itl_comparison *out);

/* The comparison as one JSON object and a newline, keys in a fixed order. */
int comparison_write_json(const struct comparison *comparison, FILE *out);

#endif
