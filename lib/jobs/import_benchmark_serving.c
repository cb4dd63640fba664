/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "jobs/import_benchmark_serving.h"

#include "analysis/itl.h"
#include "core/error.h"
#include "core/outfile.h"
#include "workload/request_csv.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The per-request lists of the result file. */
struct lists {
    const json_t *input_lens, *output_lens, *ttfts, *itls, *errors;
    size_t count;
};

static int
read_lists(const char *name, const json_t *root, struct lists *l)
{
    static const char *const keys[] = {"input_lens", "output_lens", "ttfts", "itls", "errors"};
    const json_t **slots[] = {&l->input_lens, &l->output_lens, &l->ttfts, &l->itls, &l->errors};
    for (size_t k = 0; k < 5; k++) {
        const json_t *v = json_object_get(root, keys[k]);
        if (!v && k == 4) continue; /* errors is optional */
        if (!v)
            return error("%s: %s: missing (was the benchmark run with --save-detailed?)", name,
                         keys[k]);
        if (!json_is_array(v)) return error("%s: %s: not a list", name, keys[k]);
        if (k == 0)
            l->count = json_array_size(v);
        else if (json_array_size(v) != l->count)
            return error("%s: %s: %zu entries, but input_lens has %zu", name, keys[k],
                         json_array_size(v), l->count);
        *slots[k] = v;
    }
    if (l->count == 0) return error("%s: input_lens: no requests", name);
    return 0;
}

/* Whether the file says every request was sent at once (rate "inf", no concurrency cap). */
static bool
sent_at_once(const json_t *root)
{
    const json_t *rate = json_object_get(root, "request_rate");
    const json_t *cap = json_object_get(root, "max_concurrency");
    return json_is_string(rate) && !strcmp(json_string_value(rate), "inf") &&
           (!cap || json_is_null(cap));
}

/* The request stream that was sent, as requests with their ids and arrivals. */
static int
read_arrivals(const char *path, size_t expected, struct measured_run *run)
{
    FILE *in = input_open(path);
    if (!in) return ERR_CONFIG;
    const char *name = strcmp(path, "-") ? path : "<stdin>";
    struct request_reader *reader;
    int rc = request_reader_open(in, name, &reader);
    if (rc) {
        input_close(in);
        return rc;
    }
    run->requests = calloc(expected, sizeof *run->requests);
    if (!run->requests) rc = internal_error("out of memory");
    struct request q = {0};
    size_t n = 0;
    int more = rc ? 0 : 1;
    while (more > 0 && (more = request_reader_next(reader, &q)) > 0) {
        if (n == expected) {
            more = error("%s: more requests than the %zu of the result file", name, expected);
            break;
        }
        struct measured_request *r = &run->requests[n];
        measured_request_init(r);
        r->id = q.id, r->arrival_us = q.arrival_us;
        r->input_tokens = q.input_tokens, r->output_tokens = q.output_tokens;
        r->prefix = q.prefix, r->slo_class = q.slo_class, r->tenant = q.tenant;
        q.prefix = q.slo_class = q.tenant = NULL;
        run->count = ++n;
        request_clear(&q);
    }
    request_clear(&q);
    request_reader_free(reader);
    input_close(in);
    if (!rc && more < 0) rc = more;
    if (!rc && n != expected)
        rc = error("%s: %zu requests, but the result file has %zu", name, n, expected);
    return rc;
}

struct tally {
    int64_t failed_dropped, failed_left_out, empty, other_length, multi_token_chunks;
};

static int
ok_request(const char *name, size_t i, const json_t *itl_list, double ttft_s,
           struct measured_request *r, struct itl_histogram *itl, struct tally *t)
{
    char where[48];
    snprintf(where, sizeof where, "itls[%zu]", i);
    if (!json_is_array(itl_list)) return error("%s: %s: not a list", name, where);
    r->ttft_us = llround(ttft_s * 1e6);
    int64_t last = r->ttft_us;
    size_t gaps = json_array_size(itl_list);
    for (size_t k = 0; k < gaps; k++) {
        const json_t *g = json_array_get(itl_list, k);
        double s = json_is_number(g) ? json_number_value(g) : NAN;
        if (!isfinite(s) || s < 0 || s > 1e9)
            return error("%s: %s[%zu]: %s", name, where, k,
                         !json_is_number(g) ? "not a number"
                         : s < 0            ? "negative"
                                            : "out of range");
        int64_t gap_us = llround(s * 1e6);
        last += gap_us;
        int rc = itl_histogram_add(itl, r->slo_class ? r->slo_class : "",
                                   r->tenant ? r->tenant : "", 0, gap_us, 1);
        if (rc) return rc;
    }
    r->e2e_us = last;
    r->has_latency = true;
    if ((int64_t)gaps != r->output_tokens - 1) t->multi_token_chunks++;
    return 0;
}

static int
read_request(const char *name, const struct lists *l, size_t i, bool have_arrivals,
             struct measured_request *r, struct itl_histogram *itl, struct tally *t, bool *keep)
{
    char where[48];
    int64_t input, output;
    double ttft_s;
    snprintf(where, sizeof where, "[%zu]", i);
    const json_t *in = json_array_get(l->input_lens, i), *out = json_array_get(l->output_lens, i),
                 *ttft = json_array_get(l->ttfts, i);
    if (!json_is_integer(in) || (input = json_integer_value(in)) < 1 || input > IMPORT_MAX_TOKENS)
        return error("%s: input_lens%s: not a token count >= 1", name, where);
    if (!json_is_integer(out) || (output = json_integer_value(out)) < 0 ||
        output > IMPORT_MAX_TOKENS)
        return error("%s: output_lens%s: not a token count >= 0", name, where);
    if (!json_is_number(ttft) || !isfinite(ttft_s = json_number_value(ttft)) || ttft_s < 0 ||
        ttft_s > 1e9)
        return error("%s: ttfts%s: %s", name, where,
                     json_is_number(ttft) && ttft_s < 0 ? "negative" : "not a time in seconds");
    const json_t *e = l->errors ? json_array_get(l->errors, i) : NULL;
    if (e && !json_is_string(e) && !json_is_null(e))
        return error("%s: errors%s: not a string", name, where);
    bool failed = e && json_is_string(e) && json_string_length(e) > 0;
    if (have_arrivals) {
        if (r->input_tokens != input)
            return error("%s: input_lens%s: %" PRId64 " tokens, but the arrivals give request "
                         "%" PRId64 " %" PRId64 ": not the same requests",
                         name, where, input, r->id, r->input_tokens);
    } else {
        measured_request_init(r);
        r->id = (int64_t)i;
        r->input_tokens = input;
        r->output_tokens = output;
    }
    *keep = true;
    if (failed) {
        r->failed = true;
        if (have_arrivals)
            t->failed_dropped++;
        else
            t->failed_left_out++, *keep = false;
        return 0;
    }
    if (output == 0) {
        t->empty++;
        *keep = false;
        return 0;
    }
    if (r->output_tokens != output) t->other_length++;
    r->output_tokens = output;
    return ok_request(name, i, json_array_get(l->itls, i), ttft_s, r, itl, t);
}

static int
write_engine(const char *name, const json_t *root, struct measured_run *run)
{
    const json_t *model = json_object_get(root, "model_id");
    if (model && !json_is_string(model)) return error("%s: model_id: not a string", name);
    size_t size;
    FILE *out = open_memstream(&run->engine_yaml, &size);
    if (!out) return internal_error("out of memory");
    fprintf(out,
            "# SPDX-License-Identifier: GPL-3.0-or-later\n"
            "# imported by calibrate import benchmark-serving from %s\n"
            "# the result file records the model only: give the GPU, TP and engine knobs\n"
            "# the server ran with in another --config file\n",
            name);
    fputs("engine:\n", out);
    if (model && json_string_length(model) > 0) {
        fputs("  model: ", out);
        write_model_id(out, json_string_value(model));
        fputc('\n', out);
    }
    write_vllm_preemption(out);
    return fclose(out) ? internal_error("out of memory") : 0;
}

static void
report(const char *name, const struct tally *t, size_t total)
{
    if (t->failed_dropped)
        warn("%s: %" PRId64 " of %zu requests failed; written as dropped", name, t->failed_dropped,
             total);
    if (t->failed_left_out)
        warn("%s: %" PRId64 " of %zu requests failed; their length is unknown without "
             "--arrivals: left out of both files",
             name, t->failed_left_out, total);
    if (t->empty)
        warn("%s: %" PRId64 " of %zu requests succeeded with 0 output tokens; left out of both "
             "files",
             name, t->empty, total);
    if (t->other_length)
        warn("%s: %" PRId64 " of %zu requests generated another number of tokens than the "
             "arrivals asked for; the measured count is used",
             name, t->other_length, total);
    if (t->multi_token_chunks)
        warn("%s: %" PRId64 " of %zu requests streamed some chunks of several tokens (fewer "
             "itls than output tokens - 1); each chunk gap counts as one measured gap",
             name, t->multi_token_chunks, total);
}

int
import_benchmark_serving(const struct import_job *job, struct measured_run *run)
{
    const char *name = job->path;
    json_t *root = NULL;
    struct lists l = {0};
    struct tally t = {0};
    int rc = json_load_path(name, &root);
    if (!rc && !json_is_object(root)) rc = error("%s: not a JSON object", name);
    if (!rc) rc = read_lists(name, root, &l);
    if (!rc && !job->arrivals && !sent_at_once(root))
        rc = config_error("%s: the result file holds no send times and the requests were not "
                          "all sent at once: give the request stream that was sent with "
                          "--arrivals FILE",
                          name);
    if (!rc && job->arrivals) rc = read_arrivals(job->arrivals, l.count, run);
    if (!rc && !job->arrivals) {
        run->requests = calloc(l.count, sizeof *run->requests);
        if (!run->requests) rc = internal_error("out of memory");
    }
    if (!rc && !(run->itl = itl_histogram_new())) rc = internal_error("out of memory");
    size_t kept = 0, succeeded = 0;
    for (size_t i = 0; i < l.count && !rc; i++) {
        bool keep = false;
        struct measured_request r = {0};
        if (job->arrivals) { /* r takes over the strings of slot i */
            r = run->requests[i];
            run->requests[i].prefix = run->requests[i].slo_class = run->requests[i].tenant = NULL;
        }
        rc = read_request(name, &l, i, job->arrivals != NULL, &r, run->itl, &t, &keep);
        if (!rc && keep) {
            succeeded += !r.failed;
            run->requests[kept++] = r;
        } else {
            free(r.prefix), free(r.slo_class), free(r.tenant);
        }
    }
    /* slots past the kept ones were taken over, or never read when an error stopped the loop */
    for (size_t j = kept; run->requests && j < l.count; j++) {
        struct measured_request *r = &run->requests[j];
        free(r->prefix), free(r->slo_class), free(r->tenant);
        r->prefix = r->slo_class = r->tenant = NULL;
    }
    run->count = kept;
    int64_t completed;
    struct json_place top = {name, "", 0};
    if (!rc && json_object_get(root, "completed") &&
        !(rc = json_get_integer(&top, root, "completed", 0, INT64_MAX, &completed)) &&
        (size_t)completed != succeeded + (size_t)t.empty)
        rc = error("%s: completed: %" PRId64 ", but %zu requests have no error", name, completed,
                   succeeded + (size_t)t.empty);
    if (!rc) rc = write_engine(name, root, run);
    if (!rc) rc = measured_run_sort(run, name);
    if (!rc) report(name, &t, l.count);
    json_decref(root);
    return rc;
}
