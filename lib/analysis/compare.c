/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "analysis/compare.h"

#include "analysis/itl.h"
#include "analysis/results_csv.h"
#include "analysis/summary.h"
#include "core/error.h"
#include "core/parse.h"

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* What one measured request contributes, kept until its simulated twin is read. */
struct measured {
    int64_t id;
    int64_t arrival_us, input_tokens, output_tokens;
    bool ok, matched;
    bool has[COMPARE_METRICS];
    double value_ms[COMPARE_METRICS];
    long line;
};

/* Pairs of values of one metric: measured[i] and simulated[i] are one request. */
struct pairs {
    double *measured, *simulated;
    size_t count, capacity;
};

static void
row_values(const struct result_row *row, bool has[COMPARE_METRICS], double ms[COMPARE_METRICS])
{
    has[COMPARE_TTFT] = row->has_ttft;
    ms[COMPARE_TTFT] = (double)row->ttft_us / 1000.0;
    has[COMPARE_TPOT] = row->has_tpot;
    ms[COMPARE_TPOT] = row->tpot_us / 1000.0;
    has[COMPARE_E2E] = row->has_e2e;
    ms[COMPARE_E2E] = (double)row->e2e_us / 1000.0;
}

static int
by_id(const void *a, const void *b)
{
    const struct measured *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int
read_measured(FILE *in, const char *name, struct measured **out, size_t *count)
{
    struct results_reader *reader;
    int rc = results_reader_open(in, name, &reader);
    if (rc) return rc;
    struct measured *list = NULL;
    size_t n = 0, capacity = 0;
    struct result_row row;
    while ((rc = results_reader_next(reader, &row)) > 0) {
        if (n == capacity) {
            capacity = capacity ? 2 * capacity : 1024;
            struct measured *grown = realloc(list, capacity * sizeof *grown);
            if (!grown) {
                rc = internal_error("out of memory");
                break;
            }
            list = grown;
        }
        const struct request_result *r = &row.result;
        struct measured *m = &list[n++];
        *m = (struct measured){.id = r->id, .arrival_us = r->arrival_us,
                               .input_tokens = r->input_tokens,
                               .output_tokens = r->output_tokens,
                               .ok = r->status == STATUS_OK, .line = row.line};
        row_values(&row, m->has, m->value_ms);
    }
    results_reader_free(reader);
    if (rc == 0 && n == 0) rc = error("%s: no requests", name);
    if (rc) {
        free(list);
        return rc;
    }
    qsort(list, n, sizeof *list, by_id);
    for (size_t i = 1; i < n; i++)
        if (list[i].id == list[i - 1].id) {
            long later = list[i].line > list[i - 1].line ? list[i].line : list[i - 1].line;
            rc = error("%s:%ld: id %" PRId64 " appears twice", name, later, list[i].id);
            free(list);
            return rc;
        }
    *out = list;
    *count = n;
    return 0;
}

static int
pairs_add(struct pairs *p, double measured, double simulated)
{
    if (p->count == p->capacity) {
        size_t capacity = p->capacity ? 2 * p->capacity : 1024;
        double *m = realloc(p->measured, capacity * sizeof *m);
        if (m) p->measured = m;
        double *s = m ? realloc(p->simulated, capacity * sizeof *s) : NULL;
        if (!m || !s) return internal_error("out of memory");
        p->simulated = s;
        p->capacity = capacity;
    }
    p->measured[p->count] = measured;
    p->simulated[p->count] = simulated;
    p->count++;
    return 0;
}

/* Matches each simulated request with its measured twin and collects the pairs. */
static int
match(FILE *in, const char *name, struct measured *list, size_t n,
      const struct compare_options *options, const char *measured_name, struct comparison *c,
      struct pairs pairs[COMPARE_METRICS])
{
    struct results_reader *reader;
    int rc = results_reader_open(in, name, &reader);
    if (rc) return rc;
    struct result_row row;
    while ((rc = results_reader_next(reader, &row)) > 0) {
        const struct request_result *r = &row.result;
        c->simulated_requests++;
        struct measured key = {.id = r->id};
        struct measured *m = bsearch(&key, list, n, sizeof *list, by_id);
        if (!m) {
            c->only_simulated++;
            continue;
        }
        if (m->matched) {
            rc = error("%s:%ld: id %" PRId64 " appears twice", name, row.line, r->id);
            break;
        }
        m->matched = true;
        if (m->input_tokens != r->input_tokens || m->output_tokens != r->output_tokens) {
            rc = error("%s:%ld: id %" PRId64 " has %" PRId64 " input and %" PRId64
                       " output tokens, but %" PRId64 " and %" PRId64 " in %s:%ld: not the "
                       "same request stream",
                       name, row.line, r->id, r->input_tokens, r->output_tokens,
                       m->input_tokens, m->output_tokens, measured_name, m->line);
            break;
        }
        if (!m->ok || r->status != STATUS_OK) {
            c->not_ok++;
            continue;
        }
        if (m->arrival_us < options->warmup_us) {
            c->warmup++;
            continue;
        }
        c->compared++;
        bool has[COMPARE_METRICS];
        double ms[COMPARE_METRICS];
        row_values(&row, has, ms);
        int added = 0;
        for (int k = 0; k < COMPARE_METRICS && added == 0; k++)
            if (has[k] && m->has[k]) added = pairs_add(&pairs[k], m->value_ms[k], ms[k]);
        if (added) {
            rc = added;
            break;
        }
    }
    results_reader_free(reader);
    return rc;
}

static int
by_gap(const void *a, const void *b)
{
    int64_t x = ((const struct value_count *)a)->value, y = ((const struct value_count *)b)->value;
    return x < y ? -1 : x > y;
}

static struct metric_stats
stats_of(const double *values, size_t n)
{
    double *sorted = malloc(n * sizeof *sorted);
    if (!sorted) return (struct metric_stats){NAN, NAN, NAN, NAN};
    memcpy(sorted, values, n * sizeof *sorted);
    gsl_sort(sorted, 1, n);
    struct metric_stats s = {gsl_stats_mean(sorted, 1, n), percentile_sorted(sorted, n, 0.50),
                             percentile_sorted(sorted, n, 0.90),
                             percentile_sorted(sorted, n, 0.99)};
    free(sorted);
    return s;
}

static double
relative(double simulated, double measured)
{
    return measured != 0 ? (simulated - measured) / measured : NAN;
}

static void
summarize_pairs(const struct pairs *p, struct metric_comparison *m)
{
    m->count = (int64_t)p->count;
    if (p->count == 0) {
        m->measured = m->simulated = m->relative_error = (struct metric_stats){NAN, NAN, NAN, NAN};
        m->mape = m->pearson_r = m->mean_error_ms = NAN;
        return;
    }
    m->measured = stats_of(p->measured, p->count);
    m->simulated = stats_of(p->simulated, p->count);
    m->relative_error = (struct metric_stats){
        relative(m->simulated.mean, m->measured.mean), relative(m->simulated.p50, m->measured.p50),
        relative(m->simulated.p90, m->measured.p90), relative(m->simulated.p99, m->measured.p99)};
    double ape = 0, error = 0;
    size_t with_ape = 0;
    for (size_t i = 0; i < p->count; i++) {
        double d = p->simulated[i] - p->measured[i];
        error += d;
        if (p->measured[i] != 0) {
            ape += fabs(d) / p->measured[i];
            with_ape++;
        }
    }
    m->mape = with_ape ? ape / (double)with_ape : NAN;
    m->mean_error_ms = error / (double)p->count;
    /* r is undefined when either side does not vary */
    m->pearson_r = p->count > 1 && gsl_stats_sd(p->measured, 1, p->count) > 0 &&
                           gsl_stats_sd(p->simulated, 1, p->count) > 0
                       ? gsl_stats_correlation(p->measured, 1, p->simulated, 1, p->count)
                       : NAN;
    /* rounding can carry r a hair past ±1 */
    if (m->pearson_r > 1) m->pearson_r = 1;
    if (m->pearson_r < -1) m->pearson_r = -1;
}

int
compare_runs(FILE *measured, const char *measured_name, FILE *simulated,
             const char *simulated_name, const struct compare_options *options,
             struct comparison *out)
{
    struct measured *list = NULL;
    size_t n = 0;
    int rc = read_measured(measured, measured_name, &list, &n);
    if (rc) return rc;
    struct comparison c = {.measured_requests = (int64_t)n};
    struct pairs pairs[COMPARE_METRICS] = {{0}};
    rc = match(simulated, simulated_name, list, n, options, measured_name, &c, pairs);
    if (!rc && c.simulated_requests == 0) rc = error("%s: no requests", simulated_name);
    if (!rc && c.only_simulated == c.simulated_requests)
        rc = error("%s and %s have no request id in common", measured_name, simulated_name);
    for (size_t i = 0; i < n; i++) c.only_measured += !list[i].matched;
    for (int k = 0; k < COMPARE_METRICS; k++) {
        if (!rc) summarize_pairs(&pairs[k], &c.metrics[k]);
        free(pairs[k].measured);
        free(pairs[k].simulated);
    }
    free(list);
    if (!rc) *out = c;
    return rc;
}

/* ---- ITL: two histograms of gaps ---- */

/* Mean and percentiles (ms) of every gap of a histogram; *gaps is their number. */
static int
itl_stats_of(FILE *in, const char *name, struct metric_stats *out, int64_t *gaps)
{
    struct itl_histogram *h = itl_histogram_new();
    if (!h) return internal_error("out of memory");
    struct itl_bin *bins = NULL;
    size_t n = 0;
    int rc = itl_histogram_read(h, in, name);
    if (!rc) rc = itl_histogram_bins(h, &bins, &n);
    struct value_count *v = n ? malloc(n * sizeof *v) : NULL;
    if (!rc && n && !v) rc = internal_error("out of memory");
    size_t distinct = 0;
    int64_t total = 0;
    if (!rc) {
        /* bins are sorted by key, not by gap: gather equal gaps of every key */
        for (size_t i = 0; i < n; i++) v[i] = (struct value_count){bins[i].gap_us, bins[i].count};
        qsort(v, n, sizeof *v, by_gap);
        for (size_t i = 0; i < n && !rc; i++) {
            if (v[i].count > ITL_MAX_COUNT - total)
                rc = error("%s: more than 2^60 gaps", name);
            total += v[i].count;
            if (distinct && v[distinct - 1].value == v[i].value) v[distinct - 1].count += v[i].count;
            else v[distinct++] = v[i];
        }
    }
    if (!rc) {
        *gaps = total;
        *out = (struct metric_stats){NAN, NAN, NAN, NAN};
        if (total > 0) {
            long double sum = 0;
            for (size_t i = 0; i < distinct; i++) sum += (long double)v[i].value * v[i].count;
            out->mean = (double)(sum / total) / 1000;
            out->p50 = percentile_weighted(v, distinct, total, 0.50) / 1000;
            out->p90 = percentile_weighted(v, distinct, total, 0.90) / 1000;
            out->p99 = percentile_weighted(v, distinct, total, 0.99) / 1000;
        }
    }
    free(v);
    free(bins);
    itl_histogram_free(h);
    return rc;
}

int
compare_itl(FILE *measured, const char *measured_name, FILE *simulated,
            const char *simulated_name, struct itl_comparison *out)
{
    struct itl_comparison c;
    int rc = itl_stats_of(measured, measured_name, &c.measured, &c.measured_gaps);
    if (!rc) rc = itl_stats_of(simulated, simulated_name, &c.simulated, &c.simulated_gaps);
    if (rc) return rc;
    c.relative_error = (struct metric_stats){
        relative(c.simulated.mean, c.measured.mean), relative(c.simulated.p50, c.measured.p50),
        relative(c.simulated.p90, c.measured.p90), relative(c.simulated.p99, c.measured.p99)};
    *out = c;
    return 0;
}

/* ---- JSON ---- */

static void
number(FILE *out, double x)
{
    char buf[40];
    if (!isfinite(x)) {
        fputs("null", out);
        return;
    }
    format_double(buf, sizeof buf, x);
    fputs(buf, out);
}

static void
stats_json(FILE *out, const char *key, const struct metric_stats *s)
{
    fprintf(out, "\"%s\":{\"mean\":", key);
    number(out, s->mean);
    fputs(",\"p50\":", out);
    number(out, s->p50);
    fputs(",\"p90\":", out);
    number(out, s->p90);
    fputs(",\"p99\":", out);
    number(out, s->p99);
    fputc('}', out);
}

int
comparison_write_json(const struct comparison *c, FILE *out)
{
    static const char *const names[COMPARE_METRICS] = {"ttft_ms", "tpot_ms", "e2e_ms"};
    fprintf(out,
            "{\"version\":1,\"requests\":{\"measured\":%" PRId64 ",\"simulated\":%" PRId64
            ",\"compared\":%" PRId64 ",\"excluded\":{\"only_measured\":%" PRId64
            ",\"only_simulated\":%" PRId64 ",\"not_ok\":%" PRId64 ",\"warmup\":%" PRId64 "}}",
            c->measured_requests, c->simulated_requests, c->compared, c->only_measured,
            c->only_simulated, c->not_ok, c->warmup);
    for (int k = 0; k < COMPARE_METRICS; k++) {
        const struct metric_comparison *m = &c->metrics[k];
        fprintf(out, ",\"%s\":{\"count\":%" PRId64 ",", names[k], m->count);
        stats_json(out, "measured", &m->measured);
        fputc(',', out);
        stats_json(out, "simulated", &m->simulated);
        fputc(',', out);
        stats_json(out, "relative_error", &m->relative_error);
        fputs(",\"mape\":", out);
        number(out, m->mape);
        fputs(",\"pearson_r\":", out);
        number(out, m->pearson_r);
        fputs(",\"mean_error_ms\":", out);
        number(out, m->mean_error_ms);
        fprintf(out, ",\"bias\":\"%s\"}",
                !isfinite(m->mean_error_ms) || m->mean_error_ms == 0 ? "none"
                : m->mean_error_ms > 0                                ? "over"
                                                                      : "under");
    }
    if (c->has_itl) {
        const struct itl_comparison *i = &c->itl;
        fprintf(out, ",\"itl_ms\":{\"gaps\":{\"measured\":%" PRId64 ",\"simulated\":%" PRId64 "},",
                i->measured_gaps, i->simulated_gaps);
        stats_json(out, "measured", &i->measured);
        fputc(',', out);
        stats_json(out, "simulated", &i->simulated);
        fputc(',', out);
        stats_json(out, "relative_error", &i->relative_error);
        fputs(",\"request_level\":\"not applicable: the ITL side files pool the gaps of all "
              "requests, so no request matching, warm-up, MAPE, Pearson r or bias\"}",
              out);
    }
    fputs("}\n", out);
    return 0;
}
