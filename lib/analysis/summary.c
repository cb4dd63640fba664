/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "analysis/summary.h"

#include "analysis/itl.h"
#include "analysis/results_csv.h"
#include "cluster/cluster.h"
#include "core/error.h"
#include "core/parse.h"

#include <inttypes.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum metric { TTFT, TPOT, E2E, QUEUEING, NMETRICS };
enum dimension { BY_SLO_CLASS, BY_TENANT, BY_INSTANCE, BY_POOL, NDIMENSIONS };

/*
 * Latencies are stored as order-preserving 64-bit keys of their double
 * value (so one radix sort orders them); key 0 is the pattern of no
 * non-NaN double and marks "no value" (tpot of a one-token output).
 */
#define KEY_NONE 0

/* A request that entered a queue, for the priority-inversion count. */
struct queued_row {
    int64_t queued_us, scheduled_us; /* scheduled: INT64_MAX when never */
    int32_t instance, priority;
};

struct summary_internal {
    struct name_pool *names[2]; /* slo classes, tenants: group id = name id */
    int32_t *instance_group;    /* instance number -> group id, -1 = none yet */
    size_t instance_map_size;
    int *group_instance;                           /* group id -> instance number */
    struct summary_section *sections[NDIMENSIONS]; /* by group id, first-seen order */
    size_t num_groups[NDIMENSIONS], group_capacity[NDIMENSIONS];
    /* one entry per ok request */
    uint64_t *keys[NMETRICS];
    uint32_t *group[NDIMENSIONS];
    size_t num_ok, ok_capacity;
    struct queued_row *queued;
    size_t num_queued, queued_capacity;
    struct cluster_policy priorities;
    int64_t pool_end[SUMMARY_MAX_POOLS]; /* pool k holds instances below pool_end[k] */
};

/* ---- percentiles ---- */

/* numpy's _lerp: exact at both ends and monotone in t. */
static double
lerp(double a, double b, double t)
{
    double diff = b - a;
    return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

static int64_t
rank_below(int64_t n, double p, double *fraction)
{
    double h = (double)(n - 1) * p;
    double below = floor(h);
    *fraction = h - below;
    return (int64_t)below;
}

double
percentile_sorted(const double *sorted, size_t n, double p)
{
    double t;
    size_t lo = (size_t)rank_below((int64_t)n, p, &t);
    size_t hi = lo + 1 < n ? lo + 1 : n - 1;
    return lerp(sorted[lo], sorted[hi], t);
}

static double
value_at_rank(const struct value_count *v, size_t n, int64_t rank)
{
    int64_t seen = 0;
    for (size_t i = 0; i < n; i++) {
        seen += v[i].count;
        if (rank < seen) return (double)v[i].value;
    }
    return (double)v[n - 1].value;
}

double
percentile_weighted(const struct value_count *sorted, size_t n, int64_t total, double p)
{
    double t;
    int64_t lo = rank_below(total, p, &t);
    int64_t hi = lo + 1 < total ? lo + 1 : total - 1;
    return lerp(value_at_rank(sorted, n, lo), value_at_rank(sorted, n, hi), t);
}

/* Neumaier's compensated sum: means of 10^7 values stay exact to the last digits. */
struct sum {
    double total, compensation;
};

static void
sum_add(struct sum *s, double x)
{
    double t = s->total + x;
    if (fabs(s->total) >= fabs(x))
        s->compensation += (s->total - t) + x;
    else
        s->compensation += (x - t) + s->total;
    s->total = t;
}

static double
sum_value(const struct sum *s)
{
    return s->total + s->compensation;
}

static const double quantiles[4] = {0.5, 0.9, 0.95, 0.99};

/* Statistics, in ms, of n >= 1 ascending values in µs. */
static struct latency_stats
stats_of_sorted(const double *us, size_t n)
{
    struct sum sum = {0, 0};
    for (size_t i = 0; i < n; i++)
        sum_add(&sum, us[i]);
    double p[4];
    for (int k = 0; k < 4; k++)
        p[k] = percentile_sorted(us, n, quantiles[k]);
    return (struct latency_stats){
        .count = (int64_t)n,
        .mean = sum_value(&sum) / (double)n / 1000,
        .p50 = p[0] / 1000,
        .p90 = p[1] / 1000,
        .p95 = p[2] / 1000,
        .p99 = p[3] / 1000,
        .max = us[n - 1] / 1000,
    };
}

static struct latency_stats
stats_of_weighted(const struct value_count *v, size_t n, int64_t total)
{
    struct sum sum = {0, 0};
    for (size_t i = 0; i < n; i++)
        sum_add(&sum, (double)v[i].value * (double)v[i].count);
    double p[4];
    for (int k = 0; k < 4; k++)
        p[k] = percentile_weighted(v, n, total, quantiles[k]);
    return (struct latency_stats){
        .count = total,
        .mean = sum_value(&sum) / (double)total / 1000,
        .p50 = p[0] / 1000,
        .p90 = p[1] / 1000,
        .p95 = p[2] / 1000,
        .p99 = p[3] / 1000,
        .max = (double)v[n - 1].value / 1000,
    };
}

/* ---- order-preserving keys and the radix sort ---- */

static uint64_t
key_of(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u >> 63 ? ~u : u | (UINT64_C(1) << 63);
}

static double
double_of(uint64_t key)
{
    uint64_t u = key >> 63 ? key & ~(UINT64_C(1) << 63) : ~key;
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/*
 * Sorts the n row indices in rows by keys[row], least significant byte
 * first, skipping the bytes every key shares (integer latencies leave the
 * low mantissa bytes zero). Stable. Returns the buffer holding the result:
 * rows or scratch.
 */
static uint32_t *
sort_rows_by_key(const uint64_t *keys, uint32_t *rows, uint32_t *scratch, size_t n)
{
    size_t counts[8][256] = {{0}};
    for (size_t i = 0; i < n; i++) {
        uint64_t k = keys[rows[i]];
        for (int b = 0; b < 8; b++)
            counts[b][(k >> (8 * b)) & 255]++;
    }
    for (int b = 0; b < 8 && n; b++) {
        if (counts[b][(keys[rows[0]] >> (8 * b)) & 255] == n) continue;
        size_t offset[256], at = 0;
        for (int d = 0; d < 256; d++) {
            offset[d] = at;
            at += counts[b][d];
        }
        for (size_t i = 0; i < n; i++) {
            uint32_t row = rows[i];
            scratch[offset[(keys[row] >> (8 * b)) & 255]++] = row;
        }
        uint32_t *swap = rows;
        rows = scratch;
        scratch = swap;
    }
    return rows;
}

/* ---- reading the results ---- */

static bool
sum_overflows(int64_t *sum, int64_t x)
{
    if (x > INT64_MAX - *sum) return true;
    *sum += x;
    return false;
}

static int
new_group(struct summary_internal *in, enum dimension d)
{
    if (in->num_groups[d] == in->group_capacity[d]) {
        size_t capacity = in->group_capacity[d] ? 2 * in->group_capacity[d] : 8;
        struct summary_section *grown = realloc(in->sections[d], capacity * sizeof *grown);
        if (!grown) return internal_error("out of memory");
        in->sections[d] = grown;
        in->group_capacity[d] = capacity;
    }
    memset(&in->sections[d][in->num_groups[d]++], 0, sizeof(struct summary_section));
    return 0;
}

static int
name_group(struct summary_internal *in, enum dimension d, const char *name, uint32_t *id)
{
    int rc = name_pool_intern(in->names[d], name, id);
    if (!rc && *id == in->num_groups[d]) rc = new_group(in, d);
    return rc;
}

static int
instance_group(struct summary_internal *in, int instance, uint32_t *id)
{
    if ((size_t)instance >= in->instance_map_size) {
        size_t size = in->instance_map_size ? in->instance_map_size : 16;
        while (size <= (size_t)instance)
            size *= 2;
        int32_t *grown = realloc(in->instance_group, size * sizeof *grown);
        if (!grown) return internal_error("out of memory");
        for (size_t i = in->instance_map_size; i < size; i++)
            grown[i] = -1;
        in->instance_group = grown;
        in->instance_map_size = size;
    }
    if (in->instance_group[instance] < 0) {
        size_t group = in->num_groups[BY_INSTANCE];
        int *grown = realloc(in->group_instance, (group + 1) * sizeof *grown);
        if (!grown) return internal_error("out of memory");
        in->group_instance = grown;
        grown[group] = instance;
        if (new_group(in, BY_INSTANCE)) return ERR_INTERNAL;
        in->instance_group[instance] = (int32_t)group;
    }
    *id = (uint32_t)in->instance_group[instance];
    return 0;
}

/* The pool of an instance number, or -1 beyond the map. */
static int64_t
pool_of(const struct summary_internal *in, int64_t instance)
{
    for (size_t k = 0; k < in->num_groups[BY_POOL]; k++)
        if (instance < in->pool_end[k]) return (int64_t)k;
    return -1;
}

static int
add_queued(struct summary *s, const struct request_result *q)
{
    struct summary_internal *in = s->internal;
    if (in->num_queued == in->queued_capacity) {
        size_t capacity = in->queued_capacity ? 2 * in->queued_capacity : 1024;
        struct queued_row *grown = realloc(in->queued, capacity * sizeof *grown);
        if (!grown) return internal_error("out of memory");
        in->queued = grown;
        in->queued_capacity = capacity;
    }
    int64_t priority = cluster_priority_of(&in->priorities, q->slo_class);
    in->queued[in->num_queued++] = (struct queued_row){
        .queued_us = q->queued_us,
        .scheduled_us = q->scheduled_us == TIME_NONE ? INT64_MAX : q->scheduled_us,
        .instance = q->instance,
        .priority = (int32_t)priority,
    };
    return 0;
}

static bool
meets_slo(const struct summary_options *o, const struct result_row *row)
{
    if (row->result.status != STATUS_OK) return false;
    if (o->slo_ttft_ms > 0 && (double)row->ttft_us > o->slo_ttft_ms * 1000) return false;
    if (o->slo_tpot_ms > 0 && row->has_tpot && row->tpot_us > o->slo_tpot_ms * 1000) return false;
    if (o->slo_e2e_ms > 0 && (double)row->e2e_us > o->slo_e2e_ms * 1000) return false;
    return true;
}

/* Counts the row into a section; false when a total would overflow. */
static bool
count_row(struct summary_section *s, const struct result_row *row, bool slo_met)
{
    const struct request_result *q = &row->result;
    s->total++;
    s->requests[q->status]++;
    if (sum_overflows(&s->preemptions, q->preemptions)) return false;
    if (q->preemptions) s->requests_preempted++;
    if (q->status != STATUS_OK) return true;
    if (slo_met) s->slo_met++;
    return !sum_overflows(&s->ok_input_tokens, q->input_tokens) &&
           !sum_overflows(&s->ok_output_tokens, q->output_tokens) &&
           !sum_overflows(&s->ok_cached_tokens, q->cached_tokens);
}

static int
grow_ok_columns(struct summary_internal *in)
{
    size_t capacity = in->ok_capacity ? 2 * in->ok_capacity : 1024;
    if (capacity > (size_t)UINT32_MAX) capacity = UINT32_MAX;
    if (capacity == in->ok_capacity) return internal_error("more than 2^32 - 1 ok requests");
    for (int m = 0; m < NMETRICS; m++) {
        uint64_t *grown = realloc(in->keys[m], capacity * sizeof *grown);
        if (!grown) return internal_error("out of memory");
        in->keys[m] = grown;
    }
    for (int d = 0; d < NDIMENSIONS; d++) {
        uint32_t *grown = realloc(in->group[d], capacity * sizeof *grown);
        if (!grown) return internal_error("out of memory");
        in->group[d] = grown;
    }
    in->ok_capacity = capacity;
    return 0;
}

static int
add_row(struct summary *s, const struct result_row *row, const char *name)
{
    struct summary_internal *in = s->internal;
    const struct request_result *q = &row->result;
    uint32_t group[NDIMENSIONS];
    int rc = name_group(in, BY_SLO_CLASS, q->slo_class, &group[BY_SLO_CLASS]);
    if (!rc) rc = name_group(in, BY_TENANT, q->tenant, &group[BY_TENANT]);
    if (!rc && q->instance >= 0) rc = instance_group(in, q->instance, &group[BY_INSTANCE]);
    if (rc) return rc;
    if (in->num_groups[BY_POOL] && q->instance >= 0) {
        int64_t k = pool_of(in, q->instance);
        if (k < 0)
            return error("%s:%ld: instance: %d is beyond the %" PRId64 " instances of --pools",
                         name, row->line, q->instance, in->pool_end[in->num_groups[BY_POOL] - 1]);
        group[BY_POOL] = (uint32_t)k;
    }
    if (q->instance >= 0 && q->queued_us != TIME_NONE && (rc = add_queued(s, q))) return rc;

    bool slo_met = meets_slo(&s->options, row);
    bool fits = count_row(&s->all, row, slo_met);
    for (int d = 0; d < NDIMENSIONS && fits; d++)
        if ((d != BY_INSTANCE && d != BY_POOL) ||
            (q->instance >= 0 && (d == BY_INSTANCE || in->num_groups[BY_POOL])))
            fits = count_row(&in->sections[d][group[d]], row, slo_met);
    if (!fits) return error("%s:%ld: token or preemption totals overflow", name, row->line);

    int64_t last = q->arrival_us;
    const int64_t times[] = {q->queued_us, q->scheduled_us, q->first_token_us, q->finish_us};
    for (int k = 0; k < 4; k++)
        if (times[k] != TIME_NONE && times[k] > last) last = times[k];
    if (s->start_us == TIME_NONE || q->arrival_us < s->start_us) s->start_us = q->arrival_us;
    if (s->end_us == TIME_NONE || last > s->end_us) s->end_us = last;

    if (q->status != STATUS_OK) return 0;
    if (in->num_ok == in->ok_capacity && (rc = grow_ok_columns(in))) return rc;
    size_t i = in->num_ok++;
    in->keys[TTFT][i] = key_of((double)row->ttft_us);
    in->keys[TPOT][i] = row->has_tpot ? key_of(row->tpot_us) : KEY_NONE;
    in->keys[E2E][i] = key_of((double)row->e2e_us);
    in->keys[QUEUEING][i] =
        q->scheduled_us != TIME_NONE ? key_of((double)(q->scheduled_us - q->arrival_us)) : KEY_NONE;
    for (int d = 0; d < NDIMENSIONS; d++)
        in->group[d][i] = group[d];
    return 0;
}

static int
read_results(struct summary *s, FILE *in, const char *name)
{
    struct results_reader *reader;
    int rc = results_reader_open(in, name, &reader);
    if (rc) return rc;
    struct result_row row;
    while ((rc = results_reader_next(reader, &row)) > 0) {
        if (row.result.arrival_us < s->options.warmup_us) continue;
        if ((rc = add_row(s, &row, name))) break;
    }
    results_reader_free(reader);
    return rc;
}

/* ---- latency statistics by group ---- */

static struct latency_stats *
stats_slot(struct summary_section *section, enum metric m)
{
    switch (m) {
    case TTFT:
        return &section->ttft;
    case TPOT:
        return &section->tpot;
    case E2E:
        return &section->e2e;
    default:
        return &section->queueing;
    }
}

/*
 * For each metric: one sort of the ok requests by value, then for each
 * dimension a stable scatter by group, which leaves every group's values
 * ascending. O(n) memory beyond the columns: two index arrays and one of
 * doubles.
 */
static int
latency_stats(struct summary *s)
{
    struct summary_internal *in = s->internal;
    size_t n = in->num_ok;
    if (!n) return 0;
    uint32_t *rows = malloc(n * sizeof *rows), *scratch = malloc(n * sizeof *scratch);
    double *values = malloc(n * sizeof *values);
    size_t max_groups = 1;
    for (int d = 0; d < NDIMENSIONS; d++)
        if (in->num_groups[d] > max_groups) max_groups = in->num_groups[d];
    size_t *offset = malloc((max_groups + 1) * sizeof *offset);
    int rc = 0;
    if (!rows || !scratch || !values || !offset) {
        rc = internal_error("out of memory");
        goto done;
    }
    for (int m = 0; m < NMETRICS; m++) {
        const uint64_t *keys = in->keys[m];
        size_t present = 0;
        for (size_t i = 0; i < n; i++)
            if (keys[i] != KEY_NONE) rows[present++] = (uint32_t)i;
        if (!present) continue;
        uint32_t *sorted = sort_rows_by_key(keys, rows, scratch, present);
        for (size_t i = 0; i < present; i++)
            values[i] = double_of(keys[sorted[i]]);
        *stats_slot(&s->all, m) = stats_of_sorted(values, present);
        for (int d = 0; d < NDIMENSIONS; d++) {
            size_t groups = in->num_groups[d];
            const uint32_t *group = in->group[d];
            if (!groups) continue;
            memset(offset, 0, (groups + 1) * sizeof *offset);
            for (size_t i = 0; i < present; i++)
                offset[group[sorted[i]] + 1]++;
            for (size_t g = 0; g < groups; g++)
                offset[g + 1] += offset[g];
            for (size_t i = 0; i < present; i++) {
                uint32_t row = sorted[i];
                values[offset[group[row]]++] = double_of(keys[row]);
            }
            /* offset[g] now ends group g, which starts where group g - 1 ends */
            for (size_t g = 0, start = 0; g < groups; start = offset[g], g++)
                if (offset[g] > start)
                    *stats_slot(&in->sections[d][g], m) =
                        stats_of_sorted(values + start, offset[g] - start);
        }
    }
done:
    free(rows);
    free(scratch);
    free(values);
    free(offset);
    return rc;
}

static int
compare_value_counts(const void *a, const void *b)
{
    int64_t x = ((const struct value_count *)a)->value, y = ((const struct value_count *)b)->value;
    return x < y ? -1 : x > y;
}

/* Sorts a group's gaps, merges equal ones and computes the statistics. */
static int
weighted_stats(struct value_count *v, size_t n, const char *name, struct latency_stats *out)
{
    if (!n) return 0;
    qsort(v, n, sizeof *v, compare_value_counts);
    size_t distinct = 0;
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (sum_overflows(&total, v[i].count))
            return error("%s: total gap count overflows int64", name);
        if (distinct && v[distinct - 1].value == v[i].value)
            v[distinct - 1].count += v[i].count;
        else
            v[distinct++] = v[i];
    }
    *out = stats_of_weighted(v, distinct, total);
    return 0;
}

/*
 * ITL statistics for the run and for each group the results define; bins
 * of a slo_class, tenant or instance no result row has count only in the
 * run's section.
 */
static int
itl_stats(struct summary *s, const struct itl_histogram *histogram, const char *name)
{
    struct summary_internal *in = s->internal;
    struct itl_bin *bins;
    size_t n;
    int rc = itl_histogram_bins(histogram, &bins, &n);
    if (rc || !n) return rc;
    struct value_count *v = malloc(n * sizeof *v);
    int64_t *group = malloc(n * sizeof *group);
    size_t max_groups = 1;
    for (int d = 0; d < NDIMENSIONS; d++)
        if (in->num_groups[d] > max_groups) max_groups = in->num_groups[d];
    size_t *offset = malloc((max_groups + 1) * sizeof *offset);
    if (!v || !group || !offset) {
        rc = internal_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = (struct value_count){bins[i].gap_us, bins[i].count};
    if ((rc = weighted_stats(v, n, name, &s->all.itl))) goto done;
    for (int d = 0; d < NDIMENSIONS; d++) {
        size_t groups = in->num_groups[d];
        memset(offset, 0, (groups + 1) * sizeof *offset);
        for (size_t i = 0; i < n; i++) {
            if (d == BY_INSTANCE)
                group[i] = (size_t)bins[i].instance < in->instance_map_size
                               ? in->instance_group[bins[i].instance]
                               : -1;
            else if (d == BY_POOL)
                group[i] = pool_of(in, bins[i].instance);
            else
                group[i] = name_pool_find(in->names[d],
                                          d == BY_SLO_CLASS ? bins[i].slo_class : bins[i].tenant);
            if (group[i] >= 0) offset[group[i] + 1]++;
        }
        for (size_t g = 0; g < groups; g++)
            offset[g + 1] += offset[g];
        for (size_t i = 0; i < n; i++)
            if (group[i] >= 0)
                v[offset[group[i]]++] = (struct value_count){bins[i].gap_us, bins[i].count};
        for (size_t g = 0, start = 0; g < groups && !rc; start = offset[g], g++)
            rc = weighted_stats(v + start, offset[g] - start, name, &in->sections[d][g].itl);
        if (rc) break;
    }
done:
    free(bins);
    free(v);
    free(group);
    free(offset);
    return rc;
}

/* ---- groups in output order ---- */

static int
compare_groups(const void *a, const void *b)
{
    const struct summary_group *x = a, *y = b;
    if (x->name) return strcmp(x->name, y->name);
    return x->instance < y->instance ? -1 : x->instance > y->instance;
}

static int
sorted_groups(struct summary *s, enum dimension d, struct summary_group **out, size_t *count)
{
    struct summary_internal *in = s->internal;
    size_t n = in->num_groups[d];
    *out = NULL;
    *count = 0;
    if (!n) return 0;
    struct summary_group *groups = malloc(n * sizeof *groups);
    if (!groups) return internal_error("out of memory");
    for (size_t g = 0; g < n; g++) {
        groups[g].section = in->sections[d][g];
        groups[g].name = d == BY_INSTANCE ? NULL
                         : d == BY_POOL   ? s->options.pools->names[g]
                                          : name_pool_name(in->names[d], (uint32_t)g);
        groups[g].instance = d == BY_INSTANCE ? in->group_instance[g] : -1;
    }
    if (d != BY_POOL) qsort(groups, n, sizeof *groups, compare_groups);
    *out = groups;
    *count = n;
    return 0;
}

/* ---- priority inversions ---- */

/* By instance, then latest queue entry first. */
static int
compare_queued(const void *a, const void *b)
{
    const struct queued_row *x = a, *y = b;
    if (x->instance != y->instance) return x->instance < y->instance ? -1 : 1;
    return x->queued_us > y->queued_us ? -1 : x->queued_us < y->queued_us;
}

/*
 * A request a is overtaken when a request b of the same instance with a
 * larger priority number entered the queue strictly later and was
 * scheduled strictly earlier. Each instance is swept from its latest queue
 * entry back, keeping per priority level the earliest scheduling among
 * the requests queued later than the current group: O(n log n + n levels).
 */
static int
count_priority_inversions(struct summary *s)
{
    struct summary_internal *in = s->internal;
    size_t n = in->num_queued;
    s->priority_inversions = 0;
    if (!n) return 0;
    qsort(in->queued, n, sizeof *in->queued, compare_queued);
    int32_t levels[64];
    size_t num_levels = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = 0;
        while (l < num_levels && levels[l] != in->queued[i].priority) l++;
        if (l < num_levels) continue;
        if (num_levels == sizeof levels / sizeof *levels)
            return error("more than %zu distinct priorities", num_levels);
        levels[num_levels++] = in->queued[i].priority;
    }
    int64_t earliest[64];
    for (size_t i = 0; i < n;) {
        for (size_t l = 0; l < num_levels; l++) earliest[l] = INT64_MAX;
        int32_t instance = in->queued[i].instance;
        while (i < n && in->queued[i].instance == instance) {
            size_t end = i;
            while (end < n && in->queued[end].instance == instance &&
                   in->queued[end].queued_us == in->queued[i].queued_us)
                end++;
            for (size_t j = i; j < end; j++) {
                const struct queued_row *a = &in->queued[j];
                for (size_t l = 0; l < num_levels; l++)
                    if (levels[l] > a->priority && earliest[l] < a->scheduled_us) {
                        s->priority_inversions++;
                        break;
                    }
            }
            for (size_t j = i; j < end; j++) {
                const struct queued_row *b = &in->queued[j];
                size_t l = 0;
                while (levels[l] != b->priority) l++;
                if (b->scheduled_us < earliest[l]) earliest[l] = b->scheduled_us;
            }
            i = end;
        }
    }
    return 0;
}

/* ---- the entry points ---- */

static struct summary *
summary_new(const struct summary_options *options)
{
    struct summary *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->options = *options;
    s->start_us = s->end_us = TIME_NONE;
    s->internal = calloc(1, sizeof *s->internal);
    if (!s->internal || !(s->internal->names[0] = name_pool_new()) ||
        !(s->internal->names[1] = name_pool_new())) {
        summary_free(s);
        return NULL;
    }
    struct summary_internal *in = s->internal;
    if (options->priorities)
        in->priorities = *options->priorities;
    else
        cluster_policy_defaults(&in->priorities);
    /* every pool has a section, in pool order, even one no request reached */
    int64_t end = 0;
    for (size_t k = 0; options->pools && k < options->pools->count; k++) {
        in->pool_end[k] = end += options->pools->counts[k];
        if (new_group(in, BY_POOL)) {
            summary_free(s);
            return NULL;
        }
    }
    return s;
}

/* Opened only once the results are read: in `simulate --itl F | summarize
 * --itl F`, simulate writes F just before it closes its output. */
static int
read_itl(struct summary *s, const char *path, struct itl_histogram **out)
{
    bool is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "<stdin>" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "r");
    if (!f) return config_error("cannot open '%s': %s", path, strerror(errno));
    s->has_itl = true;
    *out = itl_histogram_new();
    int rc = *out ? itl_histogram_read(*out, f, name) : internal_error("out of memory");
    if (!is_stdin) fclose(f);
    return rc;
}

int
summary_compute(FILE *results, const char *results_name, const char *itl_path,
                const struct summary_options *options, struct summary **out)
{
    struct summary *s = summary_new(options);
    if (!s) return internal_error("out of memory");
    struct itl_histogram *histogram = NULL;
    int rc = read_results(s, results, results_name);
    if (!rc && itl_path) rc = read_itl(s, itl_path, &histogram);
    if (!rc) rc = latency_stats(s);
    if (!rc && histogram) rc = itl_stats(s, histogram, itl_path);
    itl_histogram_free(histogram);
    if (!rc) rc = sorted_groups(s, BY_SLO_CLASS, &s->by_slo_class, &s->num_slo_classes);
    if (!rc) rc = sorted_groups(s, BY_TENANT, &s->by_tenant, &s->num_tenants);
    if (!rc) rc = sorted_groups(s, BY_INSTANCE, &s->by_instance, &s->num_instances);
    if (!rc) rc = sorted_groups(s, BY_POOL, &s->by_pool, &s->num_pools);
    if (!rc) rc = count_priority_inversions(s);
    if (!rc && options->decisions_path) {
        rc = decisions_summarize(options->decisions_path, &s->decisions);
        s->has_decisions = rc == 0;
    }
    if (!rc && options->steps_path) {
        rc = steps_summarize(options->steps_path, options->warmup_us, &s->steps);
        s->has_steps = rc == 0;
    }
    if (rc) {
        summary_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void
summary_free(struct summary *s)
{
    if (!s) return;
    struct summary_internal *in = s->internal;
    if (in) {
        name_pool_free(in->names[0]);
        name_pool_free(in->names[1]);
        free(in->instance_group);
        free(in->group_instance);
        for (int d = 0; d < NDIMENSIONS; d++) {
            free(in->sections[d]);
            free(in->group[d]);
        }
        for (int m = 0; m < NMETRICS; m++)
            free(in->keys[m]);
        free(in->queued);
        free(in);
    }
    free(s->by_slo_class);
    free(s->by_tenant);
    free(s->by_instance);
    free(s->by_pool);
    decisions_summary_free(&s->decisions);
    free(s);
}

/* ---- JSON ---- */

static void
json_number(FILE *f, double x)
{
    if (!isfinite(x)) {
        fputs("null", f);
        return;
    }
    char text[40];
    format_double(text, sizeof text, x);
    fputs(text, f);
}

static void
json_string(FILE *f, const char *text)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* count per second over the run; null when the run has no duration */
static void
json_rate(FILE *f, const struct summary *s, double count)
{
    if (s->start_us == TIME_NONE || s->end_us <= s->start_us)
        fputs("null", f);
    else
        json_number(f, count * 1e6 / (double)(s->end_us - s->start_us));
}

static void
json_ratio(FILE *f, int64_t part, int64_t whole)
{
    if (whole > 0)
        json_number(f, (double)part / (double)whole);
    else
        fputs("null", f);
}

static void
json_stats(FILE *f, const char *key, const struct latency_stats *st)
{
    fprintf(f, ",\"%s\":", key);
    if (!st->count) {
        fputs("null", f);
        return;
    }
    const char *names[] = {"mean", "p50", "p90", "p95", "p99", "max"};
    const double values[] = {st->mean, st->p50, st->p90, st->p95, st->p99, st->max};
    fprintf(f, "{\"count\":%" PRId64, st->count);
    for (int k = 0; k < 6; k++) {
        fprintf(f, ",\"%s\":", names[k]);
        json_number(f, values[k]);
    }
    fputc('}', f);
}

static void
json_slo_threshold(FILE *f, const char *key, double ms)
{
    fprintf(f, "\"%s\":", key);
    if (ms > 0)
        json_number(f, ms);
    else
        fputs("null", f);
    fputc(',', f);
}

static void
json_section(FILE *f, const struct summary *s, const struct summary_section *sec, bool whole_run)
{
    fprintf(f, "\"requests\":{\"total\":%" PRId64, sec->total);
    for (int st = 0; st < STATUS_COUNT; st++)
        fprintf(f, ",\"%s\":%" PRId64, request_status_name((enum request_status)st),
                sec->requests[st]);
    fputc('}', f);
    if (whole_run) {
        fputs(",\"duration_s\":", f);
        if (s->start_us == TIME_NONE)
            fputs("null", f);
        else
            json_number(f, (double)(s->end_us - s->start_us) / 1e6);
    }
    fputs(",\"throughput\":{\"requests_per_s\":", f);
    json_rate(f, s, (double)sec->requests[STATUS_OK]);
    fputs(",\"input_tokens_per_s\":", f);
    json_rate(f, s, (double)sec->ok_input_tokens);
    fputs(",\"output_tokens_per_s\":", f);
    json_rate(f, s, (double)sec->ok_output_tokens);
    fputc('}', f);
    json_stats(f, "ttft_ms", &sec->ttft);
    json_stats(f, "tpot_ms", &sec->tpot);
    if (s->has_itl)
        json_stats(f, "itl_ms", &sec->itl);
    else
        fputs(",\"itl_ms\":null", f);
    json_stats(f, "e2e_ms", &sec->e2e);
    json_stats(f, "queueing_ms", &sec->queueing);
    fprintf(f,
            ",\"cache\":{\"cached_tokens\":%" PRId64 ",\"input_tokens\":%" PRId64 ",\"hit_rate\":",
            sec->ok_cached_tokens, sec->ok_input_tokens);
    json_ratio(f, sec->ok_cached_tokens, sec->ok_input_tokens);
    fprintf(f, "},\"preemptions\":{\"total\":%" PRId64 ",\"requests_preempted\":%" PRId64 "}",
            sec->preemptions, sec->requests_preempted);
    const struct summary_options *o = &s->options;
    fputs(",\"slo\":", f);
    if (!(o->slo_ttft_ms > 0 || o->slo_tpot_ms > 0 || o->slo_e2e_ms > 0)) {
        fputs("null", f);
        return;
    }
    fputc('{', f);
    json_slo_threshold(f, "ttft_ms", o->slo_ttft_ms);
    json_slo_threshold(f, "tpot_ms", o->slo_tpot_ms);
    json_slo_threshold(f, "e2e_ms", o->slo_e2e_ms);
    fprintf(f, "\"met\":%" PRId64 ",\"attainment\":", sec->slo_met);
    json_ratio(f, sec->slo_met, sec->total);
    fputs(",\"goodput_requests_per_s\":", f);
    json_rate(f, s, (double)sec->slo_met);
    fputc('}', f);
}

static void
json_groups(FILE *f, const struct summary *s, const char *key, const struct summary_group *groups,
            size_t count)
{
    fprintf(f, ",\"%s\":{", key);
    for (size_t g = 0; g < count; g++) {
        if (g) fputc(',', f);
        if (groups[g].name)
            json_string(f, groups[g].name);
        else
            fprintf(f, "\"%d\"", groups[g].instance);
        fputs(":{", f);
        json_section(f, s, &groups[g].section, false);
        fputc('}', f);
    }
    fputc('}', f);
}

int
summary_write_json(const struct summary *s, FILE *out)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f) return internal_error("out of memory");
    fprintf(f, "{\"version\":%d,", SUMMARY_FORMAT_VERSION);
    json_section(f, s, &s->all, true);
    policy_eval_json(f, s);
    json_groups(f, s, "by_slo_class", s->by_slo_class, s->num_slo_classes);
    json_groups(f, s, "by_tenant", s->by_tenant, s->num_tenants);
    json_groups(f, s, "by_instance", s->by_instance, s->num_instances);
    if (s->options.pools) json_groups(f, s, "by_pool", s->by_pool, s->num_pools);
    fputs("}\n", f);
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0 || failed) {
        free(text);
        return internal_error("out of memory building the summary");
    }
    fwrite(text, 1, size, out);
    free(text);
    return 0;
}

int
summarize(FILE *results, const char *results_name, const char *itl_path,
          const struct summary_options *options, FILE *out)
{
    struct summary *s;
    int rc = summary_compute(results, results_name, itl_path, options, &s);
    if (rc) return rc;
    rc = summary_write_json(s, out);
    summary_free(s);
    return rc;
}

int
pool_map_parse(const char *what, const char *text, struct pool_map *out)
{
    struct pool_map map = {0};
    char buffer[4096];
    if (strlen(text) >= sizeof buffer) return config_error("%s: too long", what);
    strcpy(buffer, text);
    for (char *item = buffer, *next; item; item = next) {
        if ((next = strchr(item, ','))) *next++ = '\0';
        char *colon = strrchr(item, ':');
        if (!colon || colon == item)
            return config_error("%s: '%s' is not NAME:INSTANCES", what, item);
        *colon = '\0';
        if (strlen(item) >= sizeof map.names[0])
            return config_error("%s: pool name '%s' is too long", what, item);
        for (size_t k = 0; k < map.count; k++)
            if (strcmp(map.names[k], item) == 0)
                return config_error("%s: pool '%s' is named twice", what, item);
        if (map.count == SUMMARY_MAX_POOLS)
            return config_error("%s: more than %d pools", what, SUMMARY_MAX_POOLS);
        const char *why = parse_i64(colon + 1, 1, RESULTS_MAX_INSTANCE + 1, &map.counts[map.count]);
        if (why)
            return config_error("%s: instances of pool '%s': %s: '%s'", what, item, why, colon + 1);
        strcpy(map.names[map.count++], item);
    }
    *out = map;
    return 0;
}
