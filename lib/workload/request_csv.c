/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "workload/request_csv.h"

#include "core/csv.h"
#include "core/error.h"
#include "core/parse.h"

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
    struct csv_reader *csv;
    int index[NCOLUMNS];
    size_t width;
    int64_t last_arrival_us;
};

int
request_reader_open(FILE *in, const char *name, struct request_reader **out)
{
    struct request_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->csv = csv_reader_new(in, name))) {
        free(r);
        return internal_error("out of memory");
    }
    struct csv_record header;
    int rc = csv_reader_next(r->csv, &header);
    if (rc == 0) rc = error("%s: empty input (no header line)", name);
    if (rc > 0) rc = csv_columns_map(&header, name, columns, NCOLUMNS, r->index);
    if (rc < 0) {
        request_reader_free(r);
        return rc;
    }
    r->width = header.count;
    *out = r;
    return 0;
}

static const char *
field(const struct request_reader *r, const struct csv_record *rec, enum column c)
{
    return r->index[c] < 0 ? "" : rec->fields[r->index[c]];
}

static int
bad(const struct request_reader *r, const struct csv_record *rec, enum column c, const char *why)
{
    return error("%s:%ld: field '%s': %s: '%s'", csv_reader_name(r->csv), rec->line,
                 columns[c].name, why, field(r, rec, c));
}

static int
number(const struct request_reader *r, const struct csv_record *rec, enum column c, int64_t min,
       int64_t max, int64_t *out)
{
    const char *why = parse_i64(field(r, rec, c), min, max, out);
    return why ? bad(r, rec, c, why) : 0;
}

int
request_reader_next(struct request_reader *r, struct request *out)
{
    struct csv_record rec;
    int rc = csv_reader_next(r->csv, &rec);
    if (rc <= 0) return rc;
    const char *name = csv_reader_name(r->csv);
    if (rec.count != r->width)
        return error("%s:%ld: %zu fields, the header has %zu", name, rec.line, rec.count,
                     r->width);
    struct request q = {0};
    if (number(r, &rec, ID, 0, INT64_MAX, &q.id) ||
        number(r, &rec, ARRIVAL, 0, MAX_TIME_US, &q.arrival_us) ||
        number(r, &rec, INPUT, 1, MAX_TOKENS, &q.input_tokens) ||
        number(r, &rec, OUTPUT, 1, MAX_TOKENS, &q.output_tokens))
        return ERR_DATA;
    if (r->index[ROUND] >= 0 && *field(r, &rec, ROUND) &&
        number(r, &rec, ROUND, 0, INT64_MAX, &q.round))
        return ERR_DATA;
    if (q.arrival_us < r->last_arrival_us)
        return error("%s:%ld: field 'arrival_us': arrivals out of order (%" PRId64
                     " after %" PRId64 ")",
                     name, rec.line, q.arrival_us, r->last_arrival_us);
    const char *why = prefix_parse(field(r, &rec, PREFIX), &q.segments, &q.num_segments,
                                   &q.prefix_tokens);
    if (why) return bad(r, &rec, PREFIX, why);
    if (q.prefix_tokens > q.input_tokens) {
        free(q.segments);
        return bad(r, &rec, PREFIX, "segments are longer than input_tokens");
    }
    q.prefix = strdup(field(r, &rec, PREFIX));
    q.slo_class = strdup(field(r, &rec, SLO_CLASS));
    q.tenant = strdup(field(r, &rec, TENANT));
    q.session = strdup(field(r, &rec, SESSION));
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
    csv_reader_free(r->csv);
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
