/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "workload/request_csv.h"

#include "core/csv.h"
#include "core/error.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum column {
    ID, ARRIVAL, INPUT, OUTPUT, PREFIX, SLO_CLASS, TENANT, SESSION, ROUND, AFTER, NCOLUMNS
};

static const struct csv_column columns[NCOLUMNS] = {
    {"id", true},        {"arrival_us", true}, {"input_tokens", true},
    {"output_tokens", true}, {"prefix", false}, {"slo_class", false},
    {"tenant", false},   {"session", false},   {"round", false},
    {"after_us", false},
};

/* The largest token count or time accepted: far beyond any real value, and
 * small enough that sums of them cannot overflow int64. */
#define MAX_TOKENS ((int64_t)1 << 40)
#define MAX_TIME_US ((int64_t)1 << 60)

struct request_reader {
    struct csv_table table;
    int64_t last_arrival_us;
    char *last_session; /* the line before's session and round */
    size_t last_session_size; /* of the buffer */
    int64_t last_round;
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

/* A closed-loop round needs a round >= 1 and must follow round - 1 of its
 * session on the line before, so that simulate holds at most one
 * session's rounds per session in flight and the check needs no table. */
static int
check_closed_loop(const struct request_reader *r, const struct csv_record *rec,
                  const struct request *q)
{
    const struct csv_table *t = &r->table;
    if (q->round < 1)
        return csv_table_bad(t, rec, AFTER, "after_us is for rounds >= 1 of a session (round 0 "
                                            "starts the session at arrival_us)");
    const char *session = csv_table_field(t, rec, SESSION);
    if (!*session) return csv_table_bad(t, rec, AFTER, "after_us needs a session");
    if (!r->last_session || strcmp(r->last_session, session) != 0 ||
        r->last_round != q->round - 1)
        return csv_table_bad(t, rec, ROUND, "a closed-loop round must follow the previous round "
                                            "of its session on the line before");
    return 0;
}

static int
remember(struct request_reader *r, const char *session, int64_t round)
{
    size_t size = strlen(session) + 1;
    if (size > r->last_session_size) {
        char *grown = realloc(r->last_session, size);
        if (!grown) return internal_error("out of memory");
        r->last_session = grown;
        r->last_session_size = size;
    }
    memcpy(r->last_session, session, size);
    r->last_round = round;
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
    if (*csv_table_field(t, &rec, AFTER)) {
        if (csv_table_i64(t, &rec, AFTER, 0, MAX_TIME_US, &q.after_us) ||
            check_closed_loop(r, &rec, &q))
            return ERR_DATA;
        q.closed_loop = true;
    }
    if (remember(r, csv_table_field(t, &rec, SESSION), q.round)) return ERR_INTERNAL;
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
    free(r->last_session);
    free(r);
}

void
request_csv_write_header(FILE *out)
{
    fputs(REQUEST_CSV_HEADER "\n", out);
}

void
request_csv_write_header_closed_loop(FILE *out)
{
    fputs(REQUEST_CSV_HEADER_CLOSED_LOOP "\n", out);
}

static void
write_columns(FILE *out, const struct request *q)
{
    char line[4 * 24];
    char *p = line;
    const int64_t numbers[] = {q->id, q->arrival_us, q->input_tokens, q->output_tokens};
    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++) {
        p = csv_put_i64(p, numbers[i]);
        *p++ = ',';
    }
    fwrite(line, 1, (size_t)(p - line), out);
    csv_write_field(out, q->prefix ? q->prefix : "");
    fputc(',', out);
    csv_write_field(out, q->slo_class ? q->slo_class : "");
    fputc(',', out);
    csv_write_field(out, q->tenant ? q->tenant : "");
    fputc(',', out);
    csv_write_field(out, q->session ? q->session : "");
    p = line;
    *p++ = ',';
    p = csv_put_i64(p, q->round);
    fwrite(line, 1, (size_t)(p - line), out);
}

void
request_csv_write(FILE *out, const struct request *q)
{
    write_columns(out, q);
    fputc('\n', out);
}

void
request_csv_write_closed_loop(FILE *out, const struct request *q)
{
    write_columns(out, q);
    if (q->closed_loop) fprintf(out, ",%" PRId64 "\n", q->after_us);
    else fputs(",\n", out);
}
