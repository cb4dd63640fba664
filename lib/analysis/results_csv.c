/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "analysis/results_csv.h"

#include "core/csv.h"
#include "core/error.h"
#include "core/parse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum column {
    ID,
    INSTANCE,
    STATUS,
    ARRIVAL,
    QUEUED,
    SCHEDULED,
    FIRST_TOKEN,
    FINISH,
    INPUT,
    OUTPUT,
    CACHED,
    PREEMPTIONS,
    TTFT,
    E2E,
    TPOT,
    SLO_CLASS,
    TENANT,
    NCOLUMNS
};

static const struct csv_column columns[NCOLUMNS] = {
    {"id", true},
    {"instance", true},
    {"status", true},
    {"arrival_us", true},
    {"queued_us", true},
    {"scheduled_us", true},
    {"first_token_us", true},
    {"finish_us", true},
    {"input_tokens", true},
    {"output_tokens", true},
    {"cached_tokens", true},
    {"preemptions", true},
    {"ttft_us", true},
    {"e2e_us", true},
    {"tpot_us", true},
    {"slo_class", true},
    {"tenant", true},
};

/* ---- writer ---- */

void
results_csv_write_header(FILE *out)
{
    fputs(RESULTS_CSV_HEADER "\n", out);
}

static char *
put_time(char *p, int64_t t)
{
    if (t != TIME_NONE) p = csv_put_i64(p, t);
    *p++ = ',';
    return p;
}

/*
 * Writes num / den (num >= 0, 0 < den < 2^40) rounded half up to 6
 * decimals, trailing zeros dropped: exact integers stay integers, and the
 * error is below 5e-7 us, within what the reader accepts (1e-6 relative,
 * every TPOT being at least 1 us). Integer arithmetic only: printf's float
 * formatting was a sixth of simulate's time.
 */
static char *
put_ratio(char *p, int64_t num, int64_t den)
{
    int64_t whole = num / den, micro = ((num % den) * 1000000 + den / 2) / den;
    if (micro == 1000000) whole++, micro = 0;
    p = csv_put_i64(p, whole);
    if (micro == 0) return p;
    *p++ = '.';
    int digits = 6;
    while (micro % 10 == 0) micro /= 10, digits--;
    for (int i = digits - 1; i >= 0; i--, micro /= 10) p[i] = (char)('0' + micro % 10);
    return p + digits;
}

#define LINE_SIZE 512

/*
 * Appends a text field to the line being built at p, as csv_write_field
 * would write it: copied when it needs no quoting and leaves room for the
 * rest of the line, else the line so far is flushed and the field written
 * by csv_write_field. Returns where the line goes on.
 */
static char *
put_field(FILE *out, char *line, char *p, const char *text)
{
    size_t length = strcspn(text, ",\"\r\n");
    bool plain = text[length] == '\0' &&
                 (length == 0 || (text[0] != ' ' && text[length - 1] != ' '));
    if (plain && length < (size_t)(line + LINE_SIZE - p) - 2) {
        memcpy(p, text, length);
        return p + length;
    }
    fwrite(line, 1, (size_t)(p - line), out);
    csv_write_field(out, text);
    return line;
}

void
results_csv_write(FILE *out, const struct request_result *r)
{
    char line[LINE_SIZE];
    char *p = line;
    p = csv_put_i64(p, r->id);
    *p++ = ',';
    if (r->instance >= 0) p = csv_put_i64(p, r->instance);
    *p++ = ',';
    const char *status = request_status_name(r->status);
    size_t length = strlen(status);
    memcpy(p, status, length);
    p += length;
    *p++ = ',';
    p = put_time(p, r->arrival_us);
    p = put_time(p, r->queued_us);
    p = put_time(p, r->scheduled_us);
    p = put_time(p, r->first_token_us);
    p = put_time(p, r->finish_us);
    p = csv_put_i64(p, r->input_tokens);
    *p++ = ',';
    p = csv_put_i64(p, r->output_tokens);
    *p++ = ',';
    p = csv_put_i64(p, r->cached_tokens);
    *p++ = ',';
    p = csv_put_i64(p, r->preemptions);
    *p++ = ',';
    bool ok = r->status == STATUS_OK && r->arrival_us != TIME_NONE &&
              r->first_token_us != TIME_NONE && r->finish_us != TIME_NONE;
    if (ok) {
        p = csv_put_i64(p, r->first_token_us - r->arrival_us);
        *p++ = ',';
        p = csv_put_i64(p, r->finish_us - r->arrival_us);
        *p++ = ',';
        if (r->output_tokens > 1) {
            int64_t span = r->finish_us - r->first_token_us, gaps = r->output_tokens - 1;
            p = put_ratio(p, span, gaps);
        }
        *p++ = ',';
    } else {
        memcpy(p, ",,,", 3);
        p += 3;
    }
    p = put_field(out, line, p, r->slo_class ? r->slo_class : "");
    *p++ = ',';
    p = put_field(out, line, p, r->tenant ? r->tenant : "");
    *p++ = '\n';
    fwrite(line, 1, (size_t)(p - line), out);
}

/* ---- reader ---- */

struct results_reader {
    struct csv_table table;
};

int
results_reader_open(FILE *in, const char *name, struct results_reader **out)
{
    struct results_reader *r = calloc(1, sizeof *r);
    if (!r) return internal_error("out of memory");
    int rc = csv_table_open(&r->table, in, name, columns, NCOLUMNS);
    if (rc) {
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

const char *
results_reader_name(const struct results_reader *r)
{
    return csv_table_name(&r->table);
}

static const char *
field(const struct results_reader *r, const struct csv_record *rec, enum column c)
{
    return csv_table_field(&r->table, rec, c);
}

static int
bad(const struct results_reader *r, const struct csv_record *rec, enum column c, const char *why)
{
    return csv_table_bad(&r->table, rec, c, why);
}

static int
number(const struct results_reader *r, const struct csv_record *rec, enum column c, int64_t min,
       int64_t max, int64_t *out)
{
    return csv_table_i64(&r->table, rec, c, min, max, out);
}

/* An empty field is TIME_NONE; otherwise a time in [0, RESULTS_MAX_TIME_US]. */
static int
timestamp(const struct results_reader *r, const struct csv_record *rec, enum column c, int64_t *out)
{
    if (!*field(r, rec, c)) {
        *out = TIME_NONE;
        return 0;
    }
    return number(r, rec, c, 0, RESULTS_MAX_TIME_US, out);
}

static bool
present(const struct results_reader *r, const struct csv_record *rec, enum column c)
{
    return *field(r, rec, c) != '\0';
}

/* The laws a status ok row obeys beyond its fields' own ranges. */
static int
check_ok_row(const struct results_reader *r, const struct csv_record *rec,
             const struct result_row *row)
{
    const struct request_result *q = &row->result;
    /* queued_us and scheduled_us may be empty: a measured run seen from the
     * client (calibrate import) knows only arrival, first token and finish */
    static const enum column times[] = {ARRIVAL, FIRST_TOKEN, FINISH};
    const int64_t values[] = {q->arrival_us, q->first_token_us, q->finish_us};
    for (int k = 0; k < 3; k++)
        if (values[k] == TIME_NONE) return bad(r, rec, times[k], "missing on an ok row");
    if (q->instance < 0) return bad(r, rec, INSTANCE, "missing on an ok row");
    if (!present(r, rec, TTFT)) return bad(r, rec, TTFT, "missing on an ok row");
    if (!present(r, rec, E2E)) return bad(r, rec, E2E, "missing on an ok row");
    if (q->output_tokens > 1 && !present(r, rec, TPOT))
        return bad(r, rec, TPOT, "missing on an ok row with output_tokens > 1");
    if (q->output_tokens == 1 && present(r, rec, TPOT))
        return bad(r, rec, TPOT, "present on a row with output_tokens 1");
    if (row->ttft_us != q->first_token_us - q->arrival_us)
        return bad(r, rec, TTFT, "differs from first_token_us - arrival_us");
    if (row->e2e_us != q->finish_us - q->arrival_us)
        return bad(r, rec, E2E, "differs from finish_us - arrival_us");
    if (row->has_tpot) {
        double expected =
            (double)(q->finish_us - q->first_token_us) / (double)(q->output_tokens - 1);
        if (fabs(row->tpot_us - expected) > 1e-6 * fmax(1.0, expected))
            return bad(r, rec, TPOT,
                       "differs from (finish_us - first_token_us) / (output_tokens - 1)");
    }
    return 0;
}

int
results_reader_next(struct results_reader *r, struct result_row *out)
{
    struct csv_record rec;
    int rc = csv_table_next(&r->table, &rec);
    if (rc <= 0) return rc;
    struct result_row row = {.line = rec.line};
    struct request_result *q = &row.result;
    int64_t instance = -1;
    if (number(r, &rec, ID, 0, INT64_MAX, &q->id) ||
        (present(r, &rec, INSTANCE) &&
         number(r, &rec, INSTANCE, 0, RESULTS_MAX_INSTANCE, &instance)))
        return ERR_DATA;
    q->instance = (int)instance;
    if (request_status_parse(field(r, &rec, STATUS), &q->status) != 0)
        return bad(r, &rec, STATUS, "unknown status (ok|rejected|dropped|timeout|unfinished)");
    if (!present(r, &rec, ARRIVAL)) return bad(r, &rec, ARRIVAL, "empty");
    if (timestamp(r, &rec, ARRIVAL, &q->arrival_us) || timestamp(r, &rec, QUEUED, &q->queued_us) ||
        timestamp(r, &rec, SCHEDULED, &q->scheduled_us) ||
        timestamp(r, &rec, FIRST_TOKEN, &q->first_token_us) ||
        timestamp(r, &rec, FINISH, &q->finish_us) ||
        number(r, &rec, INPUT, 1, RESULTS_MAX_TOKENS, &q->input_tokens) ||
        number(r, &rec, OUTPUT, 1, RESULTS_MAX_TOKENS, &q->output_tokens) ||
        number(r, &rec, CACHED, 0, RESULTS_MAX_TOKENS, &q->cached_tokens) ||
        number(r, &rec, PREEMPTIONS, 0, INT64_MAX, &q->preemptions))
        return ERR_DATA;
    if (q->cached_tokens > q->input_tokens) return bad(r, &rec, CACHED, "more than input_tokens");

    /* Causality holds between whichever timestamps a row has. */
    static const enum column times[] = {ARRIVAL, QUEUED, SCHEDULED, FIRST_TOKEN, FINISH};
    const int64_t values[] = {q->arrival_us, q->queued_us, q->scheduled_us, q->first_token_us,
                              q->finish_us};
    int64_t latest = TIME_NONE;
    enum column latest_column = ARRIVAL;
    for (int k = 0; k < 5; k++) {
        if (values[k] == TIME_NONE) continue;
        if (values[k] < latest) {
            char why[96];
            snprintf(why, sizeof why, "earlier than %s (causality)", columns[latest_column].name);
            return bad(r, &rec, times[k], why);
        }
        latest = values[k];
        latest_column = times[k];
    }

    bool ok = q->status == STATUS_OK;
    static const enum column derived[] = {TTFT, E2E, TPOT};
    if (!ok)
        for (int k = 0; k < 3; k++)
            if (present(r, &rec, derived[k]))
                return bad(r, &rec, derived[k], "latency present on a row whose status is not ok");
    if (present(r, &rec, TTFT)) {
        if (number(r, &rec, TTFT, 0, RESULTS_MAX_TIME_US, &row.ttft_us)) return ERR_DATA;
        row.has_ttft = true;
    }
    if (present(r, &rec, E2E)) {
        if (number(r, &rec, E2E, 0, RESULTS_MAX_TIME_US, &row.e2e_us)) return ERR_DATA;
        row.has_e2e = true;
    }
    if (present(r, &rec, TPOT)) {
        const char *why =
            parse_double(field(r, &rec, TPOT), 0, (double)RESULTS_MAX_TIME_US, &row.tpot_us);
        if (why) return bad(r, &rec, TPOT, why);
        row.has_tpot = true;
    }
    if (ok && (rc = check_ok_row(r, &rec, &row)) != 0) return rc;

    q->slo_class = field(r, &rec, SLO_CLASS);
    q->tenant = field(r, &rec, TENANT);
    *out = row;
    return 1;
}

void
results_reader_free(struct results_reader *r)
{
    if (!r) return;
    csv_table_close(&r->table);
    free(r);
}
