/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "jobs/import_run.h"

#include "analysis/itl.h"
#include "analysis/results_csv.h"
#include "core/error.h"
#include "core/outfile.h"
#include "workload/request_csv.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void
measured_run_free(struct measured_run *run)
{
    for (size_t i = 0; i < run->count; i++) {
        free(run->requests[i].prefix);
        free(run->requests[i].slo_class);
        free(run->requests[i].tenant);
    }
    free(run->requests);
    free(run->engine_yaml);
    itl_histogram_free(run->itl);
    *run = (struct measured_run){0};
}

static int
by_arrival(const void *a, const void *b)
{
    const struct measured_request *x = a, *y = b;
    if (x->arrival_us != y->arrival_us) return x->arrival_us < y->arrival_us ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int
by_value(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int
measured_run_sort(struct measured_run *run, const char *source)
{
    if (run->count == 0) return error("%s: no requests", source);
    int64_t *ids = malloc(run->count * sizeof *ids);
    if (!ids) return internal_error("out of memory");
    for (size_t i = 0; i < run->count; i++)
        ids[i] = run->requests[i].id;
    qsort(ids, run->count, sizeof *ids, by_value);
    int rc = 0;
    for (size_t i = 1; i < run->count && !rc; i++)
        if (ids[i] == ids[i - 1])
            rc = error("%s: request id %" PRId64 " appears twice", source, ids[i]);
    free(ids);
    if (!rc) qsort(run->requests, run->count, sizeof *run->requests, by_arrival);
    return rc;
}

void
measured_request_init(struct measured_request *r)
{
    *r = (struct measured_request){.queued_us = TIME_NONE, .scheduled_us = TIME_NONE};
}

/* ---- the files ---- */

static int
write_requests(const struct measured_run *run, FILE *out)
{
    request_csv_write_header(out);
    for (size_t i = 0; i < run->count; i++) {
        const struct measured_request *r = &run->requests[i];
        struct request q = {.id = r->id,
                            .arrival_us = r->arrival_us,
                            .input_tokens = r->input_tokens,
                            .output_tokens = r->output_tokens,
                            .prefix = r->prefix,
                            .slo_class = r->slo_class,
                            .tenant = r->tenant};
        request_csv_write(out, &q);
    }
    return 0;
}

static int
write_measured(const struct measured_run *run, FILE *out)
{
    results_csv_write_header(out);
    for (size_t i = 0; i < run->count; i++) {
        const struct measured_request *r = &run->requests[i];
        bool ok = r->has_latency && !r->failed;
        struct request_result q = {
            .id = r->id,
            .instance = ok ? 0 : -1,
            .status = ok ? STATUS_OK : STATUS_DROPPED,
            .arrival_us = r->arrival_us,
            .queued_us = ok ? r->queued_us : TIME_NONE,
            .scheduled_us = ok ? r->scheduled_us : TIME_NONE,
            .first_token_us = ok ? r->arrival_us + r->ttft_us : TIME_NONE,
            .finish_us = ok ? r->arrival_us + r->e2e_us : TIME_NONE,
            .input_tokens = r->input_tokens,
            .output_tokens = r->output_tokens,
            .slo_class = r->slo_class ? r->slo_class : "",
            .tenant = r->tenant ? r->tenant : "",
        };
        results_csv_write(out, &q);
    }
    return 0;
}

static int
write_engine(const struct measured_run *run, FILE *out)
{
    fputs(run->engine_yaml, out);
    return 0;
}

static int
write_itl(const struct measured_run *run, FILE *out)
{
    return itl_histogram_write(run->itl, out);
}

static const struct {
    const char *name;
    int (*write)(const struct measured_run *run, FILE *out);
} outputs[] = {
    {"requests.csv", write_requests},
    {"measured.csv", write_measured},
    {"engine.yaml", write_engine},
    {"measured-itl.csv", write_itl},
};
#define NOUTPUTS (sizeof outputs / sizeof *outputs)

int
measured_run_write(const struct measured_run *run, const char *out_dir)
{
    struct outfile files[NOUTPUTS] = {{0}};
    int rc = 0;
    for (size_t i = 0; i < NOUTPUTS && !rc; i++) {
        if (outputs[i].write == write_itl && !run->itl) continue;
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", out_dir, outputs[i].name) >= sizeof path)
            rc = config_error("output directory name too long: '%s'", out_dir);
        if (!rc) rc = outfile_open(&files[i], path);
        if (!rc) rc = outputs[i].write(run, files[i].file);
    }
    for (size_t i = 0; i < NOUTPUTS; i++) {
        if (!files[i].file) continue;
        if (rc)
            outfile_abort(&files[i]);
        else
            rc = outfile_commit(&files[i]);
    }
    return rc;
}

/* ---- checked JSON members ---- */

int
json_place_error(const struct json_place *p, const char *key, const char *why)
{
    if (p->line > 0) return error("%s:%ld: field '%s': %s", p->file, p->line, key, why);
    if (p->element && *p->element) return error("%s: %s.%s: %s", p->file, p->element, key, why);
    return error("%s: %s: %s", p->file, key, why);
}

static const json_t *
member(const struct json_place *p, const json_t *object, const char *key, int *rc)
{
    const json_t *v = json_object_get(object, key);
    *rc = v ? 0 : json_place_error(p, key, "missing");
    return v;
}

int
json_get_integer(const struct json_place *p, const json_t *object, const char *key, int64_t min,
                 int64_t max, int64_t *out)
{
    int rc;
    const json_t *v = member(p, object, key, &rc);
    if (rc) return rc;
    if (!json_is_integer(v)) return json_place_error(p, key, "not an integer");
    json_int_t x = json_integer_value(v);
    if (x < min || x > max) {
        char why[64];
        snprintf(why, sizeof why, "%s: %" JSON_INTEGER_FORMAT,
                 x < 0 && min >= 0 ? "negative" : "out of range", x);
        return json_place_error(p, key, why);
    }
    *out = x;
    return 0;
}

int
json_get_number(const struct json_place *p, const json_t *object, const char *key, double min,
                double max, double *out)
{
    int rc;
    const json_t *v = member(p, object, key, &rc);
    if (rc) return rc;
    if (!json_is_number(v)) return json_place_error(p, key, "not a number");
    double x = json_number_value(v);
    if (!isfinite(x) || x < min || x > max) {
        char why[64];
        snprintf(why, sizeof why, "%s: %.17g", x < 0 && min >= 0 ? "negative" : "out of range", x);
        return json_place_error(p, key, why);
    }
    *out = x;
    return 0;
}

int
json_get_seconds(const struct json_place *p, const json_t *object, const char *key, int64_t *out)
{
    double x;
    int rc = json_get_number(p, object, key, 0, 1e9, &x);
    if (!rc) *out = llround(x * 1e6);
    return rc;
}

int
json_get_boolean(const struct json_place *p, const json_t *object, const char *key, bool *out)
{
    int rc;
    const json_t *v = member(p, object, key, &rc);
    if (rc) return rc;
    if (!json_is_boolean(v)) return json_place_error(p, key, "not true or false");
    *out = json_is_true(v);
    return 0;
}

int
json_get_string(const struct json_place *p, const json_t *object, const char *key, const char **out)
{
    int rc;
    const json_t *v = member(p, object, key, &rc);
    if (rc) return rc;
    if (!json_is_string(v)) return json_place_error(p, key, "not a string");
    *out = json_string_value(v);
    return 0;
}

int
json_load_path(const char *path, json_t **out)
{
    json_error_t e;
    *out = json_load_file(path, 0, &e);
    if (*out) return 0;
    if (e.line <= 0) return config_error("cannot read '%s': %s", path, e.text);
    return error("%s:%d:%d: %s", path, e.line, e.column, e.text);
}

int
json_lines_read(const char *path, json_line_fn *each, void *context)
{
    FILE *in = fopen(path, "r");
    if (!in) return config_error("cannot open '%s'", path);
    char *text = NULL;
    size_t text_size = 0;
    long line = 0;
    int rc = 0;
    while (!rc && getline(&text, &text_size, in) != -1) {
        line++;
        if (strspn(text, " \t\r\n") == strlen(text)) continue;
        json_error_t e;
        json_t *object = json_loads(text, 0, &e);
        struct json_place at = {path, NULL, line};
        if (!object)
            rc = error("%s:%ld:%d: %s", path, line, e.column, e.text);
        else if (!json_is_object(object))
            rc = error("%s:%ld: not a JSON object", path, line);
        else
            rc = each(&at, object, context);
        json_decref(object);
    }
    if (!rc && ferror(in)) rc = config_error("cannot read '%s'", path);
    free(text);
    fclose(in);
    return rc;
}

void
write_vllm_preemption(FILE *out)
{
    fputs("  preemption: resume   # vLLM keeps a preempted request's output (docs/engine.md)\n",
          out);
}

void
write_model_id(FILE *out, const char *model)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)model; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if (*c < 0x20 || *c == 0x7f)
            fprintf(out, "\\x%02x", *c);
        else
            fputc(tolower(*c), out);
    }
    fputc('"', out);
}
