/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "workload/request_csv.h"

#include "core/csv.h"
#include "core/error.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum column { ID, ARRIVAL, INPUT, OUTPUT, PREFIX, SLO_CLASS, TENANT, SESSION, ROUND, NCOLUMNS };

static const struct csv_column columns[NCOLUMNS] = {
    {"id", true},        {"arrival_us", true}, {"input_tokens", true},
    {"output_tokens", true}, {"prefix", false}, {"slo_class", false},
    {"tenant", false},   {"session", false},   {"round", false},
};

/* The largest token count or time accepted: far beyond any real value, and
 * small enough that sums of them cannot overflow int64. */
#define MAX_TOKENS ((int64_t)1 << 40)
#define MAX_TIME_US ((int64_t)1 << 60)

struct request_reader {
    struct csv_table table;
    int64_t last_arrival_us;
};

int
request_reader_open(FILE *in, const char *name, struct request_reader **out)
{
    struct request_reader *r = calloc(1, sizeof *r);
    if (!r) return internal_error("out of memory");
    int rc = csv_table_open(&r->table, in, name, columns, NCOLUMNS);
    if (rc) {
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int
request_reader_next(struct request_reader *r, struct request *out)
{
    struct csv_record rec;
    const struct csv_table *t = &r->table;
    int rc = csv_table_next(&r->table, &rec);
    if (rc <= 0) return rc;
    struct request q = {0};
    if (csv_table_i64(t, &rec, ID, 0, INT64_MAX, &q.id) ||
        csv_table_i64(t, &rec, ARRIVAL, 0, MAX_TIME_US, &q.arrival_us) ||
        csv_table_i64(t, &rec, INPUT, 1, MAX_TOKENS, &q.input_tokens) ||
        csv_table_i64(t, &rec, OUTPUT, 1, MAX_TOKENS, &q.output_tokens))
        return ERR_DATA;
    if (*csv_table_field(t, &rec, ROUND) && csv_table_i64(t, &rec, ROUND, 0, INT64_MAX, &q.round))
        return ERR_DATA;
    if (q.arrival_us < r->last_arrival_us)
        return csv_table_bad(t, &rec, ARRIVAL, "arrivals out of order (earlier than the line before)");
    const char *why = prefix_parse(csv_table_field(t, &rec, PREFIX), &q.segments,
                                   &q.num_segments, &q.prefix_tokens);
    if (why) return csv_table_bad(t, &rec, PREFIX, why);
    if (q.prefix_tokens > q.input_tokens) {
        free(q.segments);
        return csv_table_bad(t, &rec, PREFIX, "segments are longer than input_tokens");
    }
    q.prefix = strdup(csv_table_field(t, &rec, PREFIX));
    q.slo_class = strdup(csv_table_field(t, &rec, SLO_CLASS));
    q.tenant = strdup(csv_table_field(t, &rec, TENANT));
    q.session = strdup(csv_table_field(t, &rec, SESSION));
    if (!q.prefix || !q.slo_class || !q.tenant || !q.session) {
        request_clear(&q);
        return internal_error("out of memory");
    }
    r->last_arrival_us = q.arrival_us;
    *out = q;
    return 1;
}

void
request_reader_free(struct request_reader *r)
{
    if (!r) return;
    csv_table_close(&r->table);
    free(r);
}

void
request_csv_write_header(FILE *out)
{
    fputs(REQUEST_CSV_HEADER "\n", out);
}

void
request_csv_write(FILE *out, const struct request *q)
{
    fprintf(out, "%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",", q->id, q->arrival_us,
            q->input_tokens, q->output_tokens);
    csv_write_field(out, q->prefix ? q->prefix : "");
    fputc(',', out);
    csv_write_field(out, q->slo_class ? q->slo_class : "");
    fputc(',', out);
    csv_write_field(out, q->tenant ? q->tenant : "");
    fputc(',', out);
    csv_write_field(out, q->session ? q->session : "");
    fprintf(out, ",%" PRId64 "\n", q->round);
}
