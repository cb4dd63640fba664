/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "jobs/import_csv.h"

#include "core/csv.h"
#include "core/error.h"
#include "core/outfile.h"
#include "model/request.h"
#include "model/result.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum column {
    ID,
    ARRIVAL,
    INPUT,
    OUTPUT,
    TTFT,
    E2E,
    STATUS,
    QUEUED,
    SCHEDULED,
    PREFIX,
    SLO_CLASS,
    TENANT,
    NCOLUMNS
};

static const struct csv_column columns[NCOLUMNS] = {
    [ID] = {"id", true},
    [ARRIVAL] = {"arrival_us", true},
    [INPUT] = {"input_tokens", true},
    [OUTPUT] = {"output_tokens", true},
    [TTFT] = {"ttft_us", true},
    [E2E] = {"e2e_us", true},
    [STATUS] = {"status", false},
    [QUEUED] = {"queued_us", false},
    [SCHEDULED] = {"scheduled_us", false},
    [PREFIX] = {"prefix", false},
    [SLO_CLASS] = {"slo_class", false},
    [TENANT] = {"tenant", false},
};

/* An optional time: empty leaves *out TIME_NONE. */
static int
optional_time(const struct csv_table *t, const struct csv_record *rec, size_t column, int64_t min,
              int64_t *out)
{
    *out = TIME_NONE;
    if (!*csv_table_field(t, rec, column)) return 0;
    if (min > IMPORT_MAX_TIME_US) return csv_table_bad(t, rec, column, "out of range");
    return csv_table_i64(t, rec, column, min, IMPORT_MAX_TIME_US, out);
}

static int
copy_text(const struct csv_table *t, const struct csv_record *rec, size_t column, char **out)
{
    const char *text = csv_table_field(t, rec, column);
    if (!*text) return 0;
    *out = strdup(text);
    return *out ? 0 : internal_error("out of memory");
}

static int
read_row(const struct csv_table *t, const struct csv_record *rec, struct measured_request *r)
{
    measured_request_init(r);
    int rc = csv_table_i64(t, rec, ID, 0, INT64_MAX, &r->id);
    if (!rc) rc = csv_table_i64(t, rec, ARRIVAL, 0, IMPORT_MAX_TIME_US, &r->arrival_us);
    if (!rc) rc = csv_table_i64(t, rec, INPUT, 1, IMPORT_MAX_TOKENS, &r->input_tokens);
    if (!rc) rc = csv_table_i64(t, rec, OUTPUT, 1, IMPORT_MAX_TOKENS, &r->output_tokens);
    if (rc) return rc;
    const char *status = csv_table_field(t, rec, STATUS);
    if (!strcmp(status, "failed"))
        r->failed = true;
    else if (*status && strcmp(status, "ok"))
        return csv_table_bad(t, rec, STATUS, "not ok or failed");
    if (r->failed) {
        if (*csv_table_field(t, rec, TTFT))
            return csv_table_bad(t, rec, TTFT, "present on a failed row");
        if (*csv_table_field(t, rec, E2E))
            return csv_table_bad(t, rec, E2E, "present on a failed row");
    } else {
        if (!*csv_table_field(t, rec, TTFT))
            return csv_table_bad(t, rec, TTFT, "missing on an ok row");
        if (!*csv_table_field(t, rec, E2E))
            return csv_table_bad(t, rec, E2E, "missing on an ok row");
        if ((rc = csv_table_i64(t, rec, TTFT, 0, IMPORT_MAX_TIME_US, &r->ttft_us)) ||
            (rc = csv_table_i64(t, rec, E2E, r->ttft_us, IMPORT_MAX_TIME_US, &r->e2e_us)))
            return rc;
        if (r->arrival_us + r->e2e_us > IMPORT_MAX_TIME_US)
            return csv_table_bad(t, rec, E2E, "ends beyond 2^60 us");
        r->has_latency = true;
        if ((rc = optional_time(t, rec, QUEUED, r->arrival_us, &r->queued_us)) ||
            (rc = optional_time(t, rec, SCHEDULED,
                                r->queued_us == TIME_NONE ? r->arrival_us : r->queued_us,
                                &r->scheduled_us)))
            return rc;
        if (r->scheduled_us != TIME_NONE && r->scheduled_us > r->arrival_us + r->ttft_us)
            return csv_table_bad(t, rec, SCHEDULED, "after the first token");
        if (r->scheduled_us == TIME_NONE && r->queued_us != TIME_NONE &&
            r->queued_us > r->arrival_us + r->ttft_us)
            return csv_table_bad(t, rec, QUEUED, "after the first token");
    }
    const char *prefix = csv_table_field(t, rec, PREFIX);
    if (*prefix) {
        struct prefix_segment *segments = NULL;
        size_t count;
        int64_t tokens = 0;
        const char *why = prefix_parse(prefix, &segments, &count, &tokens);
        free(segments);
        if (why) return csv_table_bad(t, rec, PREFIX, why);
        if (tokens > r->input_tokens)
            return csv_table_bad(t, rec, PREFIX, "longer than input_tokens");
    }
    if ((rc = copy_text(t, rec, PREFIX, &r->prefix)) ||
        (rc = copy_text(t, rec, SLO_CLASS, &r->slo_class)) ||
        (rc = copy_text(t, rec, TENANT, &r->tenant)))
        return rc;
    return 0;
}

struct id_line {
    int64_t id;
    long line;
};

static int
by_id(const void *a, const void *b)
{
    const struct id_line *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* An id on two rows is an error naming both lines. */
static int
check_ids(const char *name, struct id_line *ids, size_t n)
{
    qsort(ids, n, sizeof *ids, by_id);
    for (size_t i = 1; i < n; i++)
        if (ids[i].id == ids[i - 1].id)
            return error("%s:%ld: field 'id': %" PRId64 " appears twice (first on line %ld)", name,
                         ids[i].line, ids[i].id, ids[i - 1].line);
    return 0;
}

static int
read_rows(FILE *in, const char *name, struct measured_run *run)
{
    struct csv_table t;
    int rc = csv_table_open(&t, in, name, columns, NCOLUMNS);
    if (rc) return rc;
    struct id_line *ids = NULL;
    size_t capacity = 0;
    struct csv_record rec;
    while ((rc = csv_table_next(&t, &rec)) > 0) {
        if (run->count == capacity) {
            capacity = capacity ? 2 * capacity : 1024;
            struct measured_request *r = realloc(run->requests, capacity * sizeof *r);
            if (r) run->requests = r;
            struct id_line *l = r ? realloc(ids, capacity * sizeof *l) : NULL;
            if (!l) {
                rc = internal_error("out of memory");
                break;
            }
            ids = l;
        }
        struct measured_request *r = &run->requests[run->count];
        rc = read_row(&t, &rec, r);
        if (rc) {
            free(r->prefix), free(r->slo_class), free(r->tenant);
            break;
        }
        ids[run->count++] = (struct id_line){r->id, rec.line};
    }
    csv_table_close(&t);
    if (!rc && run->count == 0) rc = error("%s: no requests", name);
    if (!rc) rc = check_ids(name, ids, run->count);
    free(ids);
    return rc;
}

static int
write_engine(const char *name, struct measured_run *run)
{
    static const char text[] =
        "# SPDX-License-Identifier: GPL-3.0-or-later\n"
        "# imported by calibrate import csv from %s\n"
        "# the generic CSV records no engine: give the model, GPU, TP and engine knobs\n"
        "# in another --config file\n"
        "engine: {}\n";
    size_t size = sizeof text + strlen(name);
    run->engine_yaml = malloc(size);
    if (!run->engine_yaml) return internal_error("out of memory");
    snprintf(run->engine_yaml, size, text, name);
    return 0;
}

int
import_csv(const struct import_job *job, struct measured_run *run)
{
    FILE *in = input_open(job->path);
    if (!in) return ERR_CONFIG;
    const char *name = strcmp(job->path, "-") ? job->path : "<stdin>";
    int rc = read_rows(in, name, run);
    input_close(in);
    if (!rc) rc = write_engine(name, run);
    if (!rc) rc = measured_run_sort(run, name);
    int64_t failed = 0;
    for (size_t i = 0; i < run->count; i++)
        failed += run->requests[i].failed;
    if (!rc && failed)
        warn("%s: %" PRId64 " of %zu requests failed; written as dropped", name, failed,
             run->count);
    return rc;
}
