/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * summary: per-request results (and optionally the ITL side file) in, the
 * summary JSON (docs/formats.md, "Summary") out.
 *
 * summary_compute() reads and validates all input first, then computes
 * exact statistics; summary_write_json() renders them in memory and writes
 * the whole document at once, so a failure never leaves a complete-looking
 * JSON behind. Memory is flat in the number of requests: the latencies of
 * the status ok requests (a 64-bit order-preserving key of the value and
 * one id standing for the request's slo_class, tenant, instance and pool)
 * go to one external sort per latency, and the queued requests (entry
 * and scheduling times, instance, priority level) to one more for the
 * priority-inversion count (lib/core/extsort.h). Each sort keeps at most
 * SUMMARY_SORT_BUDGET_BYTES (1 MB; a build may lower it to test the
 * spilling path) in memory and spills sorted runs to a temporary file
 * beyond it; the statistics read the values back in ascending order, so
 * they are the same bit for bit whatever was spilled. Per-group counters
 * and the ITL histogram stay in memory; slo_class and tenant strings are
 * interned, never stored per request.
 *
 * Percentiles are Hyndman and Fan's type 7 (numpy's default "linear"): for
 * n sorted values x[0..n-1] and p in [0, 1], h = (n - 1) p, and the result
 * interpolates linearly between x[floor h] and x[floor h + 1]. They are
 * computed in microseconds and divided by 1000 for the *_ms keys.
 */
#ifndef SERVESIM_ANALYSIS_SUMMARY_H
#define SERVESIM_ANALYSIS_SUMMARY_H

#include "analysis/decisions_csv.h"
#include "analysis/policy_eval.h"
#include "analysis/steps_csv.h"
#include "model/result.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SUMMARY_FORMAT_VERSION 1
#define SUMMARY_MAX_POOLS 64

struct cluster_policy;

/* Instances in pool order, as simulate numbers them: pool k holds the
 * next counts[k] instance numbers. */
struct pool_map {
    size_t count;
    char names[SUMMARY_MAX_POOLS][64];
    int64_t counts[SUMMARY_MAX_POOLS];
};

/* "NAME:INSTANCES,...": distinct names, counts >= 1; 0 or ERR_CONFIG (reported). */
int pool_map_parse(const char *what, const char *text, struct pool_map *out);

struct summary_options {
    double slo_ttft_ms, slo_tpot_ms, slo_e2e_ms; /* 0 = no such SLO */
    int64_t warmup_us; /* requests arriving before this time are ignored; 0 = none */
    const char *decisions_path; /* the decision trace to summarize; NULL = none */
    const char *steps_path;     /* the step trace, for head-of-line blocking; NULL = none */
    bool has_fitness;
    double fitness_weights[FITNESS_COUNT];
    const struct pool_map *pools;            /* NULL: no by_pool sections */
    const struct cluster_policy *priorities; /* slo_class priorities; NULL: the built-in table */
};

/* Exact statistics of one latency, in milliseconds; count 0 = no sample (JSON null). */
struct latency_stats {
    int64_t count;
    double mean, p50, p90, p95, p99, max;
};

/* One section of the summary: the whole run, or one slo_class, tenant or instance. */
struct summary_section {
    int64_t total;                  /* requests of any status */
    int64_t requests[STATUS_COUNT]; /* by status */
    int64_t ok_input_tokens, ok_output_tokens, ok_cached_tokens;
    int64_t preemptions, requests_preempted; /* over requests of any status */
    int64_t slo_met;                         /* ok requests meeting every given SLO */
    struct latency_stats ttft, tpot, itl, e2e, queueing;
};

struct summary_group {
    const char *name; /* slo_class, tenant or pool; NULL in by_instance */
    int instance;     /* by_instance only; -1 otherwise */
    struct summary_section section;
};

struct summary {
    struct summary_options options;
    bool has_itl;
    int64_t start_us, end_us; /* first arrival, last timestamp; TIME_NONE when no request */
    struct summary_section all;
    /* Sorted by name (byte order) or instance number. */
    struct summary_group *by_slo_class, *by_tenant, *by_instance;
    size_t num_slo_classes, num_tenants, num_instances;
    struct summary_group *by_pool; /* in pool order, every pool of options.pools */
    size_t num_pools;
    /* requests overtaken at their instance by a later-queued request of lower priority */
    int64_t priority_inversions;
    bool has_decisions;
    struct decisions_summary decisions;
    bool has_steps;
    struct steps_summary steps;
    struct summary_internal *internal; /* owns the names */
};

/*
 * Reads every results row from `results` and then, when itl_path is not
 * NULL, the ITL side file at that path ("-": standard input), opened only
 * after the results are read; then computes the summary. 0, ERR_DATA
 * (reported with file:line), ERR_CONFIG (side file cannot be opened),
 * ERR_INTERNAL; *out untouched on failure, else the caller's (summary_free).
 */
int summary_compute(FILE *results, const char *results_name, const char *itl_path,
                    const struct summary_options *options, struct summary **out);
/* Writes the JSON document and a newline. 0 or ERR_INTERNAL; write errors stay in ferror(out). */
int summary_write_json(const struct summary *summary, FILE *out);
void summary_free(struct summary *summary);

/* summary_compute() then summary_write_json(): the summarize tool's one call. */
int summarize(FILE *results, const char *results_name, const char *itl_path,
              const struct summary_options *options, FILE *out);

/* Type 7 percentile of n >= 1 ascending values, p in [0, 1]. */
double percentile_sorted(const double *sorted, size_t n, double p);

struct value_count {
    int64_t value;
    int64_t count; /* >= 1 */
};

/*
 * The same percentile of the multiset holding each value `count` times,
 * without expanding it: values strictly ascending, total = sum of counts
 * (>= 1). Equals percentile_sorted() of the expanded array, bit for bit.
 */
double percentile_weighted(const struct value_count *sorted, size_t n, int64_t total, double p);

#endif
