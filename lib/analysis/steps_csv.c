/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "analysis/steps_csv.h"

#include "core/csv.h"
#include "core/error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void
steps_csv_write_header(FILE *out)
{
    fputs(STEPS_CSV_HEADER "\n", out);
}

void
steps_csv_write(FILE *out, const struct step_record *s)
{
    fprintf(out,
            "%d,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
            ",%" PRId64 ",",
            s->instance, s->start_us, s->duration_us, s->prefill_tokens, s->decode_tokens,
            s->batch_size, s->waiting, s->kv_used_blocks, s->preempted);
    if (s->blocked_head >= 0) fprintf(out, "%" PRId64, s->blocked_head);
    fputc('\n', out);
}

enum { INSTANCE, START, DURATION, PREFILL, DECODE, BATCH, WAITING, KV_USED, PREEMPTED, BLOCKED };
static const struct csv_column columns[] = {
    {"instance", true},       {"start_us", true},       {"duration_us", true},
    {"prefill_tokens", true}, {"decode_tokens", true},  {"batch_size", true},
    {"waiting", true},        {"kv_used_blocks", true}, {"preempted", true},
    {"blocked_head", true},
};

/* Blocked ids, each pushed once per change of its instance's blocked head. */
struct blocked_ids {
    int64_t *ids;
    size_t count, capacity;
    int64_t *last; /* per instance: the head of its last blocked step, -1 none */
    size_t num_instances;
};

static int
blocked_push(struct blocked_ids *b, int64_t instance, int64_t id)
{
    if ((size_t)instance >= b->num_instances) {
        size_t n = (size_t)instance + 1;
        int64_t *grown = realloc(b->last, n * sizeof *grown);
        if (!grown) return internal_error("out of memory");
        for (size_t i = b->num_instances; i < n; i++)
            grown[i] = -1;
        b->last = grown;
        b->num_instances = n;
    }
    if (b->last[instance] == id) return 0;
    b->last[instance] = id;
    if (b->count == b->capacity) {
        size_t n = b->capacity ? 2 * b->capacity : 256;
        int64_t *grown = realloc(b->ids, n * sizeof *grown);
        if (!grown) return internal_error("out of memory");
        b->ids = grown;
        b->capacity = n;
    }
    b->ids[b->count++] = id;
    return 0;
}

static int
compare_ids(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t
distinct_ids(struct blocked_ids *b)
{
    if (b->count == 0) return 0;
    qsort(b->ids, b->count, sizeof *b->ids, compare_ids);
    int64_t distinct = 1;
    for (size_t i = 1; i < b->count; i++)
        distinct += b->ids[i] != b->ids[i - 1];
    return distinct;
}

/* The counts are validated though unused: a damaged trace is bad data. */
static int
read_all(struct csv_table *t, int64_t warmup_us, struct steps_summary *s, struct blocked_ids *b)
{
    const int64_t max_time = (int64_t)1 << 62;
    struct csv_record rec;
    int rc;
    while ((rc = csv_table_next(t, &rec)) == 1) {
        int64_t instance, start_us, value, id = -1;
        if (csv_table_i64(t, &rec, INSTANCE, 0, 1 << 20, &instance) ||
            csv_table_i64(t, &rec, START, 0, max_time, &start_us) ||
            csv_table_i64(t, &rec, DURATION, 0, max_time, &value))
            return ERR_DATA;
        for (size_t c = PREFILL; c <= PREEMPTED; c++)
            if (csv_table_i64(t, &rec, c, 0, INT64_MAX, &value)) return ERR_DATA;
        if (*csv_table_field(t, &rec, BLOCKED) &&
            csv_table_i64(t, &rec, BLOCKED, 0, INT64_MAX, &id))
            return ERR_DATA;
        if (start_us < warmup_us) continue;
        s->steps++;
        if (id < 0) continue;
        s->blocked_steps++;
        if (blocked_push(b, instance, id)) return ERR_INTERNAL;
    }
    if (rc < 0) return rc;
    s->blocked_requests = distinct_ids(b);
    return 0;
}

int
steps_summarize(const char *path, int64_t warmup_us, struct steps_summary *out)
{
    FILE *in = fopen(path, "r");
    if (!in) return config_error("cannot open '%s': %s", path, strerror(errno));
    struct csv_table t;
    struct steps_summary s = {0};
    struct blocked_ids b = {0};
    int rc = csv_table_open(&t, in, path, columns, sizeof columns / sizeof *columns);
    if (!rc) {
        rc = read_all(&t, warmup_us, &s, &b);
        csv_table_close(&t);
    }
    fclose(in);
    free(b.ids);
    free(b.last);
    if (!rc) *out = s;
    return rc;
}
