/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "workload/trace_import.h"

#include "core/error.h"
#include "core/outfile.h"
#include "core/parse.h"
#include "workload/trace_readers.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    enum trace_format format;
    trace_reader_open_fn *open;
} formats[] = {
    {"azure", TRACE_AZURE, azure_reader_open},
    {"mooncake", TRACE_MOONCAKE, mooncake_reader_open},
    {"burstgpt", TRACE_BURSTGPT, burstgpt_reader_open},
    {"servegen", TRACE_SERVEGEN, servegen_reader_open},
    {"csv", TRACE_CSV, csv_trace_reader_open},
};
#define NUM_FORMATS (sizeof formats / sizeof formats[0])

void
trace_options_init(struct trace_options *o)
{
    *o = (struct trace_options){.format = TRACE_CSV, .tick_ms = -1, .time_unit_us = 1000000};
    transform_options_init(&o->transform);
}

int
trace_format_parse(const char *name, enum trace_format *out)
{
    for (size_t i = 0; i < NUM_FORMATS; i++)
        if (strcmp(name, formats[i].name) == 0) {
            *out = formats[i].format;
            return 0;
        }
    return -1;
}

static int
set_double(const char *flag, const char *value, bool positive, double *out)
{
    double v = 0;
    const char *why = parse_double(value, 0, 1e12, &v);
    if (!why && positive && v <= 0) why = "must be > 0";
    if (why) return config_error("--%s: %s: '%s'", flag, why, value);
    *out = v;
    return 1;
}

static int
set_i64(const char *flag, const char *value, int64_t min, int64_t *out)
{
    const char *why = parse_i64(value, min, (int64_t)1 << 40, out);
    return why ? config_error("--%s: %s: '%s'", flag, why, value) : 1;
}

int
trace_option_set(struct trace_options *o, const char *flag, const char *value)
{
    struct transform_options *t = &o->transform;
    struct {
        const char *flag;
        const char **column;
    } columns[] = {
        {"time-col", &o->time_col},       {"input-col", &o->input_col},
        {"output-col", &o->output_col},   {"slo-class-col", &o->slo_class_col},
        {"tenant-col", &o->tenant_col},   {"session-col", &o->session_col},
    };
    for (size_t i = 0; i < sizeof columns / sizeof columns[0]; i++)
        if (strcmp(flag, columns[i].flag) == 0) {
            if (!*value) return config_error("--%s: empty column name", flag);
            *columns[i].column = value;
            return 1;
        }
    if (strcmp(flag, "from") == 0) {
        if (trace_format_parse(value, &o->format) == 0) return 1;
        return config_error("--from: unknown format '%s' (known: azure, mooncake, burstgpt, "
                            "servegen, csv)", value);
    }
    if (strcmp(flag, "time-unit") == 0) {
        if (strcmp(value, "s") == 0) o->time_unit_us = 1000000;
        else if (strcmp(value, "ms") == 0) o->time_unit_us = 1000;
        else if (strcmp(value, "us") == 0) o->time_unit_us = 1;
        else return config_error("--time-unit: unknown unit '%s' (known: s, ms, us)", value);
        return 1;
    }
    if (strcmp(flag, "rate-scale") == 0) return set_double(flag, value, true, &t->rate_scale);
    if (strcmp(flag, "time-scale") == 0) return set_double(flag, value, true, &t->time_scale);
    if (strcmp(flag, "start") == 0) return set_double(flag, value, false, &t->start_s);
    if (strcmp(flag, "duration") == 0) return set_double(flag, value, true, &t->duration_s);
    if (strcmp(flag, "limit") == 0) return set_i64(flag, value, 0, &t->limit);
    if (strcmp(flag, "tile") == 0) return set_i64(flag, value, 1, &t->tile);
    if (strcmp(flag, "tick-ms") == 0) return set_i64(flag, value, 0, &o->tick_ms);
    return 0;
}

int
trace_options_validate(const struct trace_options *o)
{
    if (!o->path) return config_error("--from: no trace file given (gen-workload --from FORMAT FILE)");
    if (o->format == TRACE_CSV && (!o->time_col || !o->input_col || !o->output_col))
        return config_error("--from csv needs --time-col, --input-col and --output-col");
    if (o->format != TRACE_CSV && (o->time_col || o->input_col || o->output_col ||
                                   o->slo_class_col || o->tenant_col || o->session_col))
        return config_error("the --*-col flags apply to --from csv only");
    if (o->format == TRACE_SERVEGEN && strcmp(o->path, "-") == 0)
        return config_error("--from servegen needs a client directory, not standard input");
    if (o->transform.tile > 1 && strcmp(o->path, "-") == 0)
        return config_error("--tile needs a named file: standard input cannot be read twice");
    return transform_options_validate(&o->transform);
}

struct trace_stream {
    struct trace_options options;
    trace_reader_open_fn *open;
    FILE *in;
    struct trace_reader *reader;
    bool opened_once;
    struct transform transform;
};

static void
close_reader(struct trace_stream *s)
{
    if (s->reader) s->reader->free(s->reader);
    s->reader = NULL;
    if (s->in) input_close(s->in);
    s->in = NULL;
}

static int
open_reader(struct trace_stream *s)
{
    const struct trace_options *o = &s->options;
    if (o->format != TRACE_SERVEGEN && !(s->in = input_open(o->path))) return ERR_CONFIG;
    const char *name = strcmp(o->path, "-") == 0 ? "<stdin>" : o->path;
    int rc = s->open(o, s->in, name, !s->opened_once, &s->reader);
    if (rc) {
        s->reader = NULL;
        close_reader(s);
        return rc;
    }
    s->opened_once = true;
    return 0;
}

static int
source_next(void *context, struct request *out)
{
    struct trace_stream *s = context;
    return s->reader->next(s->reader, out);
}

static int
source_restart(void *context)
{
    struct trace_stream *s = context;
    close_reader(s);
    return open_reader(s);
}

int
trace_stream_open(const struct trace_options *options, struct trace_stream **out)
{
    int rc = trace_options_validate(options);
    if (rc) return rc;
    struct trace_stream *s = calloc(1, sizeof *s);
    if (!s) return internal_error("out of memory");
    s->options = *options;
    for (size_t i = 0; i < NUM_FORMATS; i++)
        if (formats[i].format == options->format) s->open = formats[i].open;
    if ((rc = open_reader(s))) {
        free(s);
        return rc;
    }
    transform_init(&s->transform, &options->transform,
                   (struct request_source){source_next, source_restart, s});
    *out = s;
    return 0;
}

int
trace_stream_next(struct trace_stream *s, struct request *out)
{
    return transform_next(&s->transform, out);
}

void
trace_stream_free(struct trace_stream *s)
{
    if (!s) return;
    close_reader(s);
    free(s);
}

int
trace_request_make(struct request *out, int64_t arrival_us, int64_t input_tokens,
                   int64_t output_tokens, const char *prefix, const char *slo_class,
                   const char *tenant, const char *session)
{
    struct request q = {.arrival_us = arrival_us,
                        .input_tokens = input_tokens,
                        .output_tokens = output_tokens};
    q.prefix = strdup(prefix ? prefix : "");
    q.slo_class = strdup(slo_class ? slo_class : "");
    q.tenant = strdup(tenant ? tenant : "");
    q.session = strdup(session ? session : "");
    if (!q.prefix || !q.slo_class || !q.tenant || !q.session) {
        request_clear(&q);
        return internal_error("out of memory");
    }
    *out = q;
    return 0;
}
