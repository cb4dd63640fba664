/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The CSV trace readers: azure (Azure LLM inference 2023/2024), burstgpt
 * and csv (any header, columns chosen by flags). docs/traces.md.
 */
#include "core/csv.h"
#include "core/error.h"
#include "core/parse.h"
#include "workload/trace_readers.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS ((int64_t)1 << 40)
#define MAX_TIME_US ((int64_t)1 << 60)

static const char *const out_of_order = "earlier than the row before (sort the trace by time first)";

/* ---- azure ---- */

enum azure_column { AZ_TIME, AZ_CONTEXT, AZ_GENERATED, AZ_COLUMNS };
static const struct csv_column azure_columns[AZ_COLUMNS] = {
    {"TIMESTAMP", true}, {"ContextTokens", true}, {"GeneratedTokens", true}};

struct azure_reader {
    struct trace_reader base;
    struct csv_table table;
    int64_t last_us;
};

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool
digits(const char **p, int n, int64_t *out)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (!isdigit((unsigned char)**p)) return false;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return true;
}

/*
 * "YYYY-MM-DD HH:MM:SS[.fraction][+00:00|Z]" (UTC wall clock; Azure writes
 * 7 decimals) -> microseconds since 1970, the fraction rounded half up.
 */
static const char *
parse_wall_clock(const char *text, int64_t *out_us)
{
    const char *p = text;
    int64_t y, mo, d, h, mi, s;
    bool date = digits(&p, 4, &y) && *p++ == '-' && digits(&p, 2, &mo) && *p++ == '-' &&
                digits(&p, 2, &d) && (*p == ' ' || *p == 'T');
    if (!date || (p++, !digits(&p, 2, &h)) || *p++ != ':' || !digits(&p, 2, &mi) ||
        *p++ != ':' || !digits(&p, 2, &s))
        return "not a timestamp YYYY-MM-DD HH:MM:SS[.fraction]";
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return "timestamp out of range";
    int64_t ns = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        for (; isdigit((unsigned char)*p); p++, n++)
            if (n < 9) ns = ns * 10 + (*p - '0');
        if (n == 0) return "not a timestamp YYYY-MM-DD HH:MM:SS[.fraction]";
        for (; n < 9; n++)
            ns *= 10;
    }
    if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0 && *p)
        return "timestamp must be UTC (no zone, Z or +00:00)";
    int64_t seconds = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + s;
    *out_us = seconds * 1000000 + (ns + 500) / 1000;
    return NULL;
}

static int
azure_next(struct trace_reader *base, struct request *out)
{
    struct azure_reader *r = (struct azure_reader *)base;
    const struct csv_table *t = &r->table;
    struct csv_record rec;
    int rc = csv_table_next(&r->table, &rec);
    if (rc <= 0) return rc;
    int64_t time_us, input, output;
    const char *why = parse_wall_clock(csv_table_field(t, &rec, AZ_TIME), &time_us);
    if (why) return csv_table_bad(t, &rec, AZ_TIME, why);
    if (time_us < r->last_us) return csv_table_bad(t, &rec, AZ_TIME, out_of_order);
    if (csv_table_i64(t, &rec, AZ_CONTEXT, 1, MAX_TOKENS, &input) ||
        csv_table_i64(t, &rec, AZ_GENERATED, 1, MAX_TOKENS, &output))
        return ERR_DATA;
    r->last_us = time_us;
    rc = trace_request_make(out, time_us, input, output, "", "", "", "");
    return rc ? rc : 1;
}

static void
azure_free(struct trace_reader *base)
{
    struct azure_reader *r = (struct azure_reader *)base;
    csv_table_close(&r->table);
    free(r);
}

int
azure_reader_open(const struct trace_options *options, FILE *in, const char *name, bool report,
                  struct trace_reader **out)
{
    (void)options, (void)report;
    struct azure_reader *r = calloc(1, sizeof *r);
    if (!r) return internal_error("out of memory");
    r->base = (struct trace_reader){azure_next, azure_free};
    r->last_us = INT64_MIN;
    int rc = csv_table_open(&r->table, in, name, azure_columns, AZ_COLUMNS);
    if (rc) {
        free(r);
        return rc;
    }
    csv_reader_accept_unterminated(r->table.reader);
    *out = &r->base;
    return 0;
}

/* ---- burstgpt ---- */

enum burst_column { BG_TIME, BG_MODEL, BG_REQUEST, BG_RESPONSE, BG_TOTAL, BG_LOG_TYPE, BG_COLUMNS };
static const struct csv_column burst_columns[BG_COLUMNS] = {
    {"Timestamp", true},       {"Model", false},        {"Request tokens", true},
    {"Response tokens", true}, {"Total tokens", false}, {"Log Type", false}};

struct burst_reader {
    struct trace_reader base;
    struct csv_table table;
    double last_s;
    int64_t rows, failed, no_prompt;
    bool report;
};

static int
burst_next(struct trace_reader *base, struct request *out)
{
    struct burst_reader *r = (struct burst_reader *)base;
    const struct csv_table *t = &r->table;
    for (;;) {
        struct csv_record rec;
        int rc = csv_table_next(&r->table, &rec);
        if (rc <= 0) return rc;
        double time_s;
        int64_t input, output;
        const char *why = parse_double(csv_table_field(t, &rec, BG_TIME), 0, 1e12, &time_s);
        if (why) return csv_table_bad(t, &rec, BG_TIME, why);
        if (time_s < r->last_s) return csv_table_bad(t, &rec, BG_TIME, out_of_order);
        if (csv_table_i64(t, &rec, BG_REQUEST, 0, MAX_TOKENS, &input) ||
            csv_table_i64(t, &rec, BG_RESPONSE, 0, MAX_TOKENS, &output))
            return ERR_DATA;
        r->last_s = time_s;
        r->rows++;
        /* BurstGPT logs a failed request with 0 response tokens */
        if (output == 0) {
            r->failed++;
            continue;
        }
        if (input == 0) {
            r->no_prompt++;
            continue;
        }
        rc = trace_request_make(out, llround(time_s * 1e6), input, output, "", "",
                                csv_table_field(t, &rec, BG_MODEL), "");
        return rc ? rc : 1;
    }
}

static void
burst_free(struct trace_reader *base)
{
    struct burst_reader *r = (struct burst_reader *)base;
    if (r->report)
        warn("burstgpt: %s: dropped %" PRId64 " failed rows (Response tokens 0) and %" PRId64
             " rows with Request tokens 0, of %" PRId64 " rows read",
             csv_table_name(&r->table), r->failed, r->no_prompt, r->rows);
    csv_table_close(&r->table);
    free(r);
}

int
burstgpt_reader_open(const struct trace_options *options, FILE *in, const char *name,
                     bool report, struct trace_reader **out)
{
    (void)options;
    struct burst_reader *r = calloc(1, sizeof *r);
    if (!r) return internal_error("out of memory");
    r->base = (struct trace_reader){burst_next, burst_free};
    r->report = report;
    int rc = csv_table_open(&r->table, in, name, burst_columns, BG_COLUMNS);
    if (rc) {
        free(r);
        return rc;
    }
    csv_reader_accept_unterminated(r->table.reader);
    *out = &r->base;
    return 0;
}

/* ---- csv: any header, columns chosen by flags ---- */

enum mapped_column { MC_TIME, MC_INPUT, MC_OUTPUT, MC_SLO, MC_TENANT, MC_SESSION, MC_COLUMNS };

struct mapped_reader {
    struct trace_reader base;
    struct csv_reader *csv;
    const char *names[MC_COLUMNS];
    const char *flags[MC_COLUMNS];
    int index[MC_COLUMNS]; /* header position, -1 when not mapped */
    size_t width;
    int64_t unit_us;
    int64_t last_us;
};

static int
mapped_bad(const struct mapped_reader *r, const struct csv_record *rec, int column, const char *why)
{
    return error("%s:%ld:%d: field '%s': %s: '%s'", csv_reader_name(r->csv), rec->line,
                 r->index[column] + 1, r->names[column], why, rec->fields[r->index[column]]);
}

static int
mapped_tokens(const struct mapped_reader *r, const struct csv_record *rec, int column, int64_t *out)
{
    const char *why = parse_i64(rec->fields[r->index[column]], 1, MAX_TOKENS, out);
    return why ? mapped_bad(r, rec, column, why) : 0;
}

static const char *
mapped_text(const struct mapped_reader *r, const struct csv_record *rec, int column)
{
    return r->index[column] < 0 ? "" : rec->fields[r->index[column]];
}

static int
mapped_next(struct trace_reader *base, struct request *out)
{
    struct mapped_reader *r = (struct mapped_reader *)base;
    struct csv_record rec;
    int rc = csv_reader_next(r->csv, &rec);
    if (rc <= 0) return rc;
    if (rec.count != r->width)
        return error("%s:%ld: %zu fields where the header has %zu", csv_reader_name(r->csv),
                     rec.line, rec.count, r->width);
    double time;
    const char *why = parse_double(rec.fields[r->index[MC_TIME]], -1e18, 1e18, &time);
    if (why) return mapped_bad(r, &rec, MC_TIME, why);
    double time_us = time * (double)r->unit_us;
    if (fabs(time_us) >= (double)MAX_TIME_US)
        return mapped_bad(r, &rec, MC_TIME, "out of range (beyond 2^60 us)");
    int64_t arrival_us = llround(time_us), input, output;
    if (arrival_us < r->last_us) return mapped_bad(r, &rec, MC_TIME, out_of_order);
    if (mapped_tokens(r, &rec, MC_INPUT, &input) || mapped_tokens(r, &rec, MC_OUTPUT, &output))
        return ERR_DATA;
    r->last_us = arrival_us;
    rc = trace_request_make(out, arrival_us, input, output, "", mapped_text(r, &rec, MC_SLO),
                            mapped_text(r, &rec, MC_TENANT), mapped_text(r, &rec, MC_SESSION));
    return rc ? rc : 1;
}

static void
mapped_free(struct trace_reader *base)
{
    struct mapped_reader *r = (struct mapped_reader *)base;
    csv_reader_free(r->csv);
    free(r);
}

static int
mapped_header(struct mapped_reader *r)
{
    struct csv_record header;
    int rc = csv_reader_next(r->csv, &header);
    if (rc < 0) return rc;
    if (rc == 0) return error("%s: empty input (no header line)", csv_reader_name(r->csv));
    r->width = header.count;
    for (int c = 0; c < MC_COLUMNS; c++) {
        r->index[c] = -1;
        if (!r->names[c]) continue;
        for (size_t i = 0; i < header.count; i++)
            if (strcmp(header.fields[i], r->names[c]) == 0) {
                if (r->index[c] >= 0)
                    return error("%s:1: column '%s' appears twice", csv_reader_name(r->csv),
                                 r->names[c]);
                r->index[c] = (int)i;
            }
        if (r->index[c] < 0)
            return error("%s:1: no column '%s' (--%s)", csv_reader_name(r->csv), r->names[c],
                         r->flags[c]);
    }
    return 0;
}

int
csv_trace_reader_open(const struct trace_options *o, FILE *in, const char *name, bool report,
                      struct trace_reader **out)
{
    (void)report;
    struct mapped_reader *r = calloc(1, sizeof *r);
    if (!r) return internal_error("out of memory");
    *r = (struct mapped_reader){
        .base = {mapped_next, mapped_free},
        .names = {o->time_col, o->input_col, o->output_col, o->slo_class_col, o->tenant_col,
                  o->session_col},
        .flags = {"time-col", "input-col", "output-col", "slo-class-col", "tenant-col",
                  "session-col"},
        .unit_us = o->time_unit_us,
        .last_us = INT64_MIN,
    };
    int rc = 0;
    if (!(r->csv = csv_reader_new(in, name))) rc = internal_error("out of memory");
    if (!rc) {
        csv_reader_accept_unterminated(r->csv);
        rc = mapped_header(r);
    }
    if (rc) {
        csv_reader_free(r->csv);
        free(r);
        return rc;
    }
    *out = &r->base;
    return 0;
}
