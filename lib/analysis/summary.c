/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "analysis/summary.h"

#include "analysis/itl.h"
#include "analysis/results_csv.h"
#include "cluster/cluster.h"
#include "core/error.h"
#include "core/extsort.h"
#include "core/parse.h"

#include <inttypes.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum metric { TTFT, TPOT, E2E, QUEUEING, NMETRICS };
enum dimension { BY_SLO_CLASS, BY_TENANT, BY_INSTANCE, BY_POOL, NDIMENSIONS };

/*
 * The memory each external sort may hold (lib/core/extsort.h): five sorts
 * (one per latency, one for the priority-inversion count) fill at once, so
 * summarize stays near 10 MB whatever the input. Up to budget / 12 ok
 * requests (87381) and budget / 20 queued ones (52428) are sorted in
 * memory. A build may lower it (-DSUMMARY_SORT_BUDGET_BYTES=4096) to
 * exercise the spilling path on small inputs.
 */
#ifndef SUMMARY_SORT_BUDGET_BYTES
#define SUMMARY_SORT_BUDGET_BYTES ((size_t)1 << 20)
#endif

/*
 * The groups of an ok request, shared by every request with the same
 * slo_class, tenant and instance: one 32-bit id per request instead of
 * one per dimension. UINT32_MAX: no pool (no --pools).
 */
struct combo {
    uint32_t group[NDIMENSIONS];
    int64_t present[NMETRICS]; /* its ok requests with a value of each latency */
};

#define MAX_PRIORITY_LEVELS 64
#define LEVEL_BITS 6 /* a level index below MAX_PRIORITY_LEVELS */

struct summary_internal {
    struct name_pool *names[2]; /* slo classes, tenants: group id = name id */
    uint32_t last_name[2];      /* the previous row's ids, tried first */
    bool have_last_name[2];
    int32_t *instance_group; /* instance number -> group id, -1 = none yet */
    size_t instance_map_size;
    int *group_instance;                           /* group id -> instance number */
    struct summary_section *sections[NDIMENSIONS]; /* by group id, first-seen order */
    size_t num_groups[NDIMENSIONS], group_capacity[NDIMENSIONS];
    struct combo *combos;
    size_t num_combos, combo_capacity;
    uint32_t *combo_slots;  /* open addressing: combo id + 1, 0 = empty */
    size_t num_combo_slots; /* a power of two, at least twice num_combos */
    uint32_t last_combo;
    /* per latency, one record per ok request with a value: key_of(µs), payload its combo id */
    struct extsort *by_metric[NMETRICS];
    /* one record per request that entered an instance's queue: key ~queued_us (latest
     * first), payload its scheduling time (INT64_MAX when never) and queue (struct queued) */
    struct extsort *queued;
    /* priority levels of the queued requests, in first-seen order */
    int32_t level_priority[MAX_PRIORITY_LEVELS];
    size_t num_levels;
    bool too_many_levels;
    int32_t *slo_level; /* slo_class group -> level, -1 = not yet looked up */
    size_t slo_level_size;
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

/*
 * Statistics of one group fed its values in ascending order, one at a
 * time: the same sum in the same order, and the values at the ranks type
 * 7 interpolates between, as percentile_sorted() would read them from the
 * sorted array, so the results are the same bit for bit without the array.
 */
struct running {
    int64_t count, seen; /* values in all, values fed so far */
    struct sum sum;
    int64_t rank[8]; /* quantile k interpolates between ranks 2k and 2k + 1 */
    double fraction[4], at[8], last;
    int64_t next_rank; /* the smallest rank not yet reached */
};

static void
running_next_rank(struct running *r)
{
    r->next_rank = INT64_MAX;
    for (int j = 0; j < 8; j++)
        if (r->rank[j] >= r->seen && r->rank[j] < r->next_rank) r->next_rank = r->rank[j];
}

static void
running_start(struct running *r, int64_t count)
{
    *r = (struct running){.count = count};
    for (int k = 0; k < 4; k++) {
        int64_t lo = rank_below(count, quantiles[k], &r->fraction[k]);
        r->rank[2 * k] = lo;
        r->rank[2 * k + 1] = lo + 1 < count ? lo + 1 : count - 1;
    }
    running_next_rank(r);
}

static void
running_add(struct running *r, double us)
{
    sum_add(&r->sum, us);
    if (r->seen == r->next_rank) {
        for (int j = 0; j < 8; j++)
            if (r->rank[j] == r->seen) r->at[j] = us;
        r->seen++;
        running_next_rank(r);
    } else {
        r->seen++;
    }
    r->last = us;
}

/* Statistics, in ms, of a group that was fed all its count >= 1 values in µs. */
static struct latency_stats
running_stats(const struct running *r)
{
    double p[4];
    for (int k = 0; k < 4; k++)
        p[k] = lerp(r->at[2 * k], r->at[2 * k + 1], r->fraction[k]);
    return (struct latency_stats){
        .count = r->count,
        .mean = sum_value(&r->sum) / (double)r->count / 1000,
        .p50 = p[0] / 1000,
        .p90 = p[1] / 1000,
        .p95 = p[2] / 1000,
        .p99 = p[3] / 1000,
        .max = r->last / 1000,
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

/* ---- order-preserving keys ---- */

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

/* Rows come in runs of the same slo_class and tenant: the previous row's name is tried first. */
static int
name_group(struct summary_internal *in, enum dimension d, const char *name, uint32_t *id)
{
    if (in->have_last_name[d] &&
        strcmp(name_pool_name(in->names[d], in->last_name[d]), name) == 0) {
        *id = in->last_name[d];
        return 0;
    }
    int rc = name_pool_intern(in->names[d], name, id);
    if (!rc && *id == in->num_groups[d]) rc = new_group(in, d);
    if (!rc) {
        in->last_name[d] = *id;
        in->have_last_name[d] = true;
    }
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

/* The priority level of a slo_class group, adding the level when new. */
static int
priority_level(struct summary_internal *in, uint32_t slo_group, const char *slo_class,
               uint32_t *level)
{
    if (slo_group >= in->slo_level_size) {
        size_t size = in->slo_level_size ? 2 * in->slo_level_size : 16;
        while (size <= slo_group)
            size *= 2;
        int32_t *grown = realloc(in->slo_level, size * sizeof *grown);
        if (!grown) return internal_error("out of memory");
        for (size_t i = in->slo_level_size; i < size; i++)
            grown[i] = -1;
        in->slo_level = grown;
        in->slo_level_size = size;
    }
    if (in->slo_level[slo_group] < 0) {
        int32_t priority = (int32_t)cluster_priority_of(&in->priorities, slo_class);
        size_t l = 0;
        while (l < in->num_levels && in->level_priority[l] != priority)
            l++;
        if (l == MAX_PRIORITY_LEVELS) {
            /* reported by count_priority_inversions(), once every row is read */
            in->too_many_levels = true;
            l = 0;
        } else if (l == in->num_levels) {
            in->level_priority[in->num_levels++] = priority;
        }
        in->slo_level[slo_group] = (int32_t)l;
    }
    *level = (uint32_t)in->slo_level[slo_group];
    return 0;
}

/* A queued request as the inversion count reads it back; packed into QUEUED_PAYLOAD bytes. */
struct queued {
    int64_t queued_us, scheduled_us; /* scheduled: INT64_MAX when never */
    uint32_t queue;                  /* instance group << LEVEL_BITS | priority level */
};

#define QUEUED_PAYLOAD (sizeof(int64_t) + sizeof(uint32_t))

static int
add_queued(struct summary_internal *in, const struct request_result *q, const uint32_t *group)
{
    uint32_t level = 0;
    int rc = priority_level(in, group[BY_SLO_CLASS], q->slo_class, &level);
    if (rc) return rc;
    int64_t scheduled = q->scheduled_us == TIME_NONE ? INT64_MAX : q->scheduled_us;
    uint32_t queue = group[BY_INSTANCE] << LEVEL_BITS | level;
    unsigned char payload[QUEUED_PAYLOAD];
    memcpy(payload, &scheduled, sizeof scheduled);
    memcpy(payload + sizeof scheduled, &queue, sizeof queue);
    return extsort_add(in->queued, ~(uint64_t)q->queued_us, payload);
}

/* The next queued request, latest queue entry first: 1, 0 after the last, or ERR_INTERNAL. */
static int
next_queued(struct summary_internal *in, struct queued *out)
{
    uint64_t key;
    unsigned char payload[QUEUED_PAYLOAD];
    int rc = extsort_next(in->queued, &key, payload);
    if (rc <= 0) return rc;
    out->queued_us = (int64_t)~key;
    memcpy(&out->scheduled_us, payload, sizeof out->scheduled_us);
    memcpy(&out->queue, payload + sizeof out->scheduled_us, sizeof out->queue);
    return 1;
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

static uint64_t
combo_hash(const uint32_t *group)
{
    uint64_t h = group[BY_SLO_CLASS];
    h = h * 0x9e3779b97f4a7c15u + group[BY_TENANT];
    h = h * 0x9e3779b97f4a7c15u + group[BY_INSTANCE];
    return (h * 0x9e3779b97f4a7c15u) >> 32;
}

static bool
same_combo(const struct combo *c, const uint32_t *group)
{
    return c->group[BY_SLO_CLASS] == group[BY_SLO_CLASS] &&
           c->group[BY_TENANT] == group[BY_TENANT] && c->group[BY_INSTANCE] == group[BY_INSTANCE];
}

static int
grow_combo_slots(struct summary_internal *in)
{
    size_t size = in->num_combo_slots ? 2 * in->num_combo_slots : 64;
    uint32_t *slots = calloc(size, sizeof *slots);
    if (!slots) return internal_error("out of memory");
    for (size_t c = 0; c < in->num_combos; c++) {
        size_t at = combo_hash(in->combos[c].group) & (size - 1);
        while (slots[at])
            at = (at + 1) & (size - 1);
        slots[at] = (uint32_t)c + 1;
    }
    free(in->combo_slots);
    in->combo_slots = slots;
    in->num_combo_slots = size;
    return 0;
}

/* The id of an ok row's groups (the pool follows from the instance), adding it when new. */
static int
combo_id(struct summary_internal *in, const uint32_t *group, uint32_t *id)
{
    if (in->num_combos && same_combo(&in->combos[in->last_combo], group)) {
        *id = in->last_combo;
        return 0;
    }
    if (2 * (in->num_combos + 1) > in->num_combo_slots && grow_combo_slots(in)) return ERR_INTERNAL;
    size_t mask = in->num_combo_slots - 1, at = combo_hash(group) & mask;
    for (; in->combo_slots[at]; at = (at + 1) & mask)
        if (same_combo(&in->combos[in->combo_slots[at] - 1], group)) {
            *id = in->last_combo = in->combo_slots[at] - 1;
            return 0;
        }
    if (in->num_combos == UINT32_MAX - 1) return internal_error("too many distinct groups");
    if (in->num_combos == in->combo_capacity) {
        size_t capacity = in->combo_capacity ? 2 * in->combo_capacity : 16;
        struct combo *grown = realloc(in->combos, capacity * sizeof *grown);
        if (!grown) return internal_error("out of memory");
        in->combos = grown;
        in->combo_capacity = capacity;
    }
    struct combo *c = &in->combos[in->num_combos];
    memset(c, 0, sizeof *c);
    memcpy(c->group, group, sizeof c->group);
    if (!in->num_groups[BY_POOL]) c->group[BY_POOL] = UINT32_MAX;
    in->combo_slots[at] = (uint32_t)in->num_combos + 1;
    *id = in->last_combo = (uint32_t)in->num_combos++;
    return 0;
}

/* Adds an ok request's latency (µs) to the metric's sort. */
static int
add_latency(struct summary_internal *in, enum metric m, uint32_t combo, double us)
{
    in->combos[combo].present[m]++;
    return extsort_add(in->by_metric[m], key_of(us), &combo);
}

static int
add_row(struct summary *s, const struct result_row *row, const char *name)
{
    struct summary_internal *in = s->internal;
    const struct request_result *q = &row->result;
    uint32_t group[NDIMENSIONS] = {0, 0, 0, UINT32_MAX};
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
    if (q->instance >= 0 && q->queued_us != TIME_NONE && (rc = add_queued(in, q, group))) return rc;

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
    uint32_t combo = 0;
    /* ok rows always have an instance (the reader checks it) */
    if ((rc = combo_id(in, group, &combo)) ||
        (rc = add_latency(in, TTFT, combo, (double)row->ttft_us)) ||
        (rc = add_latency(in, E2E, combo, (double)row->e2e_us)))
        return rc;
    if (q->scheduled_us != TIME_NONE &&
        (rc = add_latency(in, QUEUEING, combo, (double)(q->scheduled_us - q->arrival_us))))
        return rc;
    if (row->has_tpot) rc = add_latency(in, TPOT, combo, row->tpot_us);
    return rc;
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
 * The statistics of one metric in every section: the ok requests with a
 * value, read back from the metric's sort in ascending order, are fed in
 * that order to the run's section and to each group's, so every group
 * sees its values ascending. A dimension with a single group holds every
 * ok request, so its group's statistics are the run's.
 */
static int
metric_stats(struct summary *s, enum metric m)
{
    struct summary_internal *in = s->internal;
    struct extsort *sorted = in->by_metric[m];
    struct running all, *running[NDIMENSIONS] = {NULL};
    int rc = extsort_finish(sorted);
    for (int d = 0; d < NDIMENSIONS && !rc; d++)
        if (in->num_groups[d] > 1 && !(running[d] = calloc(in->num_groups[d], sizeof **running)))
            rc = internal_error("out of memory");
    if (rc) goto done;
    running_start(&all, (int64_t)extsort_count(sorted));
    for (int d = 0; d < NDIMENSIONS; d++) {
        if (!running[d]) continue;
        for (size_t c = 0; c < in->num_combos; c++)
            if (in->combos[c].group[d] != UINT32_MAX)
                running[d][in->combos[c].group[d]].count += in->combos[c].present[m];
        for (size_t g = 0; g < in->num_groups[d]; g++)
            running_start(&running[d][g], running[d][g].count);
    }
    uint64_t key;
    uint32_t combo;
    while ((rc = extsort_next(sorted, &key, &combo)) > 0) {
        double us = double_of(key);
        const struct combo *c = &in->combos[combo];
        running_add(&all, us);
        for (int d = 0; d < NDIMENSIONS; d++)
            if (running[d]) running_add(&running[d][c->group[d]], us);
    }
    if (rc) goto done;
    *stats_slot(&s->all, m) = running_stats(&all);
    for (int d = 0; d < NDIMENSIONS; d++)
        for (size_t g = 0; g < in->num_groups[d]; g++)
            if (!running[d])
                *stats_slot(&in->sections[d][g], m) = *stats_slot(&s->all, m);
            else if (running[d][g].count)
                *stats_slot(&in->sections[d][g], m) = running_stats(&running[d][g]);
done:
    for (int d = 0; d < NDIMENSIONS; d++)
        free(running[d]);
    return rc;
}

/* For each metric with a value, its sort read back in order by metric_stats(), then freed. */
static int
latency_stats(struct summary *s)
{
    struct summary_internal *in = s->internal;
    int rc = 0;
    for (int m = 0; m < NMETRICS && !rc; m++) {
        if (extsort_count(in->by_metric[m])) rc = metric_stats(s, (enum metric)m);
        extsort_free(in->by_metric[m]);
        in->by_metric[m] = NULL;
    }
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

/*
 * A request a is overtaken when a request b of the same instance with a
 * larger priority number entered the queue strictly later and was
 * scheduled strictly earlier. The queued requests come back from their
 * sort latest queue entry first, and each instance keeps per priority
 * level the earliest scheduling among its requests queued strictly later
 * than the current one (earliest), and among those queued at the same
 * time as the last one seen (pending, entered at pending_entry, folded
 * into earliest once a request with an earlier entry comes): O(n levels)
 * time, O(instances levels) memory. With one level nothing can be
 * overtaken.
 */
struct inversion_sweep {
    size_t levels;
    int64_t *earliest, *pending, *pending_entry; /* [instance group * levels + level] */
};

/* Makes earliest[i] cover every request queued strictly later than entry_us. */
static void
settle(struct inversion_sweep *w, size_t i, int64_t entry_us)
{
    if (w->pending_entry[i] == entry_us) return;
    if (w->pending[i] < w->earliest[i]) w->earliest[i] = w->pending[i];
    w->pending[i] = INT64_MAX;
    w->pending_entry[i] = entry_us;
}

/* Feeds the queued requests, latest entry first, through the sweep; 0 or ERR_INTERNAL. */
static int
sweep_queued(struct summary *s, struct inversion_sweep *w)
{
    struct summary_internal *in = s->internal;
    const uint32_t level_mask = (1u << LEVEL_BITS) - 1;
    struct queued a;
    int rc;
    while ((rc = next_queued(in, &a)) > 0) {
        size_t base = (a.queue >> LEVEL_BITS) * w->levels, own = a.queue & level_mask;
        int32_t priority = in->level_priority[own];
        for (size_t l = 0; l < w->levels; l++) {
            if (in->level_priority[l] <= priority) continue;
            settle(w, base + l, a.queued_us);
            if (w->earliest[base + l] < a.scheduled_us) {
                s->priority_inversions++;
                break;
            }
        }
        settle(w, base + own, a.queued_us);
        if (a.scheduled_us < w->pending[base + own]) w->pending[base + own] = a.scheduled_us;
    }
    return rc;
}

static int
count_priority_inversions(struct summary *s)
{
    struct summary_internal *in = s->internal;
    s->priority_inversions = 0;
    if (in->too_many_levels) return error("more than %d distinct priorities", MAX_PRIORITY_LEVELS);
    if (in->num_levels < 2) return 0;
    size_t n = in->num_groups[BY_INSTANCE] * in->num_levels;
    struct inversion_sweep w = {
        .levels = in->num_levels,
        .earliest = malloc(n * sizeof *w.earliest),
        .pending = malloc(n * sizeof *w.pending),
        .pending_entry = calloc(n, sizeof *w.pending_entry),
    };
    int rc = w.earliest && w.pending && w.pending_entry ? 0 : internal_error("out of memory");
    for (size_t i = 0; i < n && !rc; i++)
        w.earliest[i] = w.pending[i] = INT64_MAX;
    if (!rc) rc = extsort_finish(in->queued);
    if (!rc) rc = sweep_queued(s, &w);
    free(w.earliest);
    free(w.pending);
    free(w.pending_entry);
    return rc;
}

/* ---- the entry points ---- */

static int
start_sorts(struct summary_internal *in)
{
    int rc = 0;
    for (int m = 0; m < NMETRICS && !rc; m++)
        rc = extsort_new(sizeof(uint32_t), SUMMARY_SORT_BUDGET_BYTES, &in->by_metric[m]);
    if (!rc) rc = extsort_new(QUEUED_PAYLOAD, SUMMARY_SORT_BUDGET_BYTES, &in->queued);
    /* read only when the run has two priority levels or more, known at the end */
    if (!rc) extsort_sort_late(in->queued);
    return rc;
}

static void
free_sorts(struct summary_internal *in)
{
    for (int m = 0; m < NMETRICS; m++) {
        extsort_free(in->by_metric[m]);
        in->by_metric[m] = NULL;
    }
    extsort_free(in->queued);
    in->queued = NULL;
}

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
    int rc = start_sorts(s->internal);
    if (!rc) rc = read_results(s, results, results_name);
    if (!rc && itl_path) rc = read_itl(s, itl_path, &histogram);
    if (!rc) rc = latency_stats(s); /* frees the latency sorts */
    if (!rc && histogram) rc = itl_stats(s, histogram, itl_path);
    itl_histogram_free(histogram);
    if (!rc) rc = sorted_groups(s, BY_SLO_CLASS, &s->by_slo_class, &s->num_slo_classes);
    if (!rc) rc = sorted_groups(s, BY_TENANT, &s->by_tenant, &s->num_tenants);
    if (!rc) rc = sorted_groups(s, BY_INSTANCE, &s->by_instance, &s->num_instances);
    if (!rc) rc = sorted_groups(s, BY_POOL, &s->by_pool, &s->num_pools);
    if (!rc) rc = count_priority_inversions(s);
    free_sorts(s->internal);
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
        for (int d = 0; d < NDIMENSIONS; d++)
            free(in->sections[d]);
        free(in->combos);
        free(in->combo_slots);
        free_sorts(in);
        free(in->slo_level);
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
