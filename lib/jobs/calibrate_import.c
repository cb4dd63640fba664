/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "jobs/calibrate_import.h"

#include "analysis/results_csv.h"
#include "core/error.h"
#include "core/outfile.h"
#include "workload/request_csv.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* One measured request. */
struct measured_request {
    int64_t id, arrival_us, input_tokens, output_tokens;
    bool failed;
    int64_t ttft_us, e2e_us;
    bool has_latency;
};

struct source {
    const char *name; /* for messages */
    json_t *root;
};

static int
load(struct source *s, const char *path)
{
    json_error_t e;
    s->name = path;
    s->root = json_load_file(path, 0, &e);
    if (!s->root) {
        if (e.line <= 0) return config_error("cannot read '%s': %s", path, e.text);
        return error("%s:%d:%d: %s", path, e.line, e.column, e.text);
    }
    return 0;
}

/* A member that must be an integer in [min, max]. */
static int
integer(const struct source *s, const json_t *object, const char *where, const char *key,
        int64_t min, int64_t max, int64_t *out)
{
    const json_t *v = json_object_get(object, key);
    if (!v) return error("%s: %s.%s: missing", s->name, where, key);
    if (!json_is_integer(v)) return error("%s: %s.%s: not an integer", s->name, where, key);
    json_int_t x = json_integer_value(v);
    if (x < min || x > max)
        return error("%s: %s.%s: %s: %" JSON_INTEGER_FORMAT, s->name, where, key,
                     x < 0 && min >= 0 ? "negative" : "out of range", x);
    *out = x;
    return 0;
}

/* A member that must be a finite number >= 0, in seconds; *out in us. */
static int
seconds(const struct source *s, const json_t *object, const char *where, const char *key,
        int64_t *out)
{
    const json_t *v = json_object_get(object, key);
    if (!v) return error("%s: %s.%s: missing", s->name, where, key);
    if (!json_is_number(v)) return error("%s: %s.%s: not a number", s->name, where, key);
    double x = json_number_value(v);
    if (!isfinite(x) || x < 0 || x > 1e9)
        return error("%s: %s.%s: %s: %g", s->name, where, key, x < 0 ? "negative" : "out of range",
                     x);
    *out = llround(x * 1e6);
    return 0;
}

static int
boolean(const struct source *s, const json_t *object, const char *where, const char *key,
        bool *out)
{
    const json_t *v = json_object_get(object, key);
    if (!v) return error("%s: %s.%s: missing", s->name, where, key);
    if (!json_is_boolean(v)) return error("%s: %s.%s: not true or false", s->name, where, key);
    *out = json_is_true(v);
    return 0;
}

#define MAX_TOKENS ((int64_t)1 << 40)
#define MAX_TIME_US ((int64_t)1 << 60)

static int
read_requests(const struct source *run, struct measured_request **out, size_t *count)
{
    const json_t *list = json_object_get(run->root, "requests");
    if (!json_is_array(list) || json_array_size(list) == 0)
        return error("%s: requests: missing or empty", run->name);
    size_t n = json_array_size(list);
    struct measured_request *r = calloc(n, sizeof *r);
    if (!r) return internal_error("out of memory");
    for (size_t i = 0; i < n; i++) {
        char where[48];
        snprintf(where, sizeof where, "requests[%zu]", i);
        const json_t *e = json_array_get(list, i);
        if (!json_is_object(e) || integer(run, e, where, "index", 0, INT64_MAX, &r[i].id) ||
            integer(run, e, where, "arrival_time_us", 0, MAX_TIME_US, &r[i].arrival_us) ||
            integer(run, e, where, "input_tokens", 1, MAX_TOKENS, &r[i].input_tokens) ||
            integer(run, e, where, "output_tokens", 0, MAX_TOKENS, &r[i].output_tokens)) {
            free(r);
            return json_is_object(e) ? ERR_DATA : error("%s: %s: not an object", run->name, where);
        }
        if (i > 0 && r[i].arrival_us < r[i - 1].arrival_us) {
            free(r);
            return error("%s: %s.arrival_time_us: earlier than the request before", run->name,
                         where);
        }
    }
    *out = r;
    *count = n;
    return 0;
}

static int
by_id(const void *a, const void *b)
{
    const struct measured_request *x = *(const struct measured_request *const *)a,
                                  *y = *(const struct measured_request *const *)b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Attaches the ground truth to each request, by index; ids must match one to one. */
static int
read_ground_truth(const struct source *gt, struct measured_request *r, size_t n, int64_t *failed)
{
    if (!json_is_array(gt->root)) return error("%s: not a JSON list", gt->name);
    if (json_array_size(gt->root) != n)
        return error("%s: %zu entries for %zu requests", gt->name, json_array_size(gt->root), n);
    struct measured_request **index = malloc(n * sizeof *index);
    if (!index) return internal_error("out of memory");
    for (size_t i = 0; i < n; i++) index[i] = &r[i];
    qsort(index, n, sizeof *index, by_id);
    int rc = 0;
    for (size_t i = 1; i < n && !rc; i++)
        if (index[i]->id == index[i - 1]->id)
            rc = error("%s: request index %" PRId64 " appears twice", gt->name, index[i]->id);
    for (size_t i = 0; i < n && !rc; i++) {
        char where[48];
        snprintf(where, sizeof where, "[%zu]", i);
        const json_t *e = json_array_get(gt->root, i);
        struct measured_request key = {0}, *k = &key, **hit;
        bool error_flag = false;
        if (!json_is_object(e)) {
            rc = error("%s: %s: not an object", gt->name, where);
            break;
        }
        if ((rc = integer(gt, e, where, "index", 0, INT64_MAX, &key.id)) ||
            (rc = boolean(gt, e, where, "has_error", &error_flag)))
            break;
        hit = bsearch(&k, index, n, sizeof *index, by_id);
        if (!hit) {
            rc = error("%s: %s.index: %" PRId64 " is no request of the run", gt->name, where,
                       key.id);
            break;
        }
        struct measured_request *m = *hit;
        if (m->has_latency || m->failed) {
            rc = error("%s: %s.index: %" PRId64 " appears twice", gt->name, where, key.id);
            break;
        }
        if (error_flag) {
            m->failed = true;
            (*failed)++;
            continue;
        }
        if ((rc = seconds(gt, e, where, "ttft_s", &m->ttft_us)) ||
            (rc = seconds(gt, e, where, "e2e_s", &m->e2e_us)))
            break;
        if (m->e2e_us < m->ttft_us) {
            rc = error("%s: %s: e2e_s is shorter than ttft_s", gt->name, where);
            break;
        }
        m->has_latency = true;
    }
    free(index);
    return rc;
}

/* A recorded output length of 0 is an artifact of the recording (those
 * requests ran for seconds): their length is unknown, so they are left out
 * of both files rather than given an invented one. */
static bool
known_length(const struct measured_request *r)
{
    return r->output_tokens > 0;
}

static int
write_requests(const struct source *run, const struct measured_request *r, size_t n, FILE *out)
{
    (void)run;
    request_csv_write_header(out);
    for (size_t i = 0; i < n; i++) {
        if (!known_length(&r[i])) continue;
        struct request q = {.id = r[i].id, .arrival_us = r[i].arrival_us,
                            .input_tokens = r[i].input_tokens,
                            .output_tokens = r[i].output_tokens};
        request_csv_write(out, &q);
    }
    return 0;
}

static int
write_measured(const struct source *run, const struct measured_request *r, size_t n, FILE *out)
{
    (void)run;
    results_csv_write_header(out);
    for (size_t i = 0; i < n; i++) {
        if (!known_length(&r[i])) continue;
        bool ok = r[i].has_latency;
        struct request_result q = {
            .id = r[i].id,
            .instance = ok ? 0 : -1,
            .status = ok ? STATUS_OK : STATUS_DROPPED,
            .arrival_us = r[i].arrival_us,
            .queued_us = TIME_NONE,
            .scheduled_us = TIME_NONE,
            .first_token_us = ok ? r[i].arrival_us + r[i].ttft_us : TIME_NONE,
            .finish_us = ok ? r[i].arrival_us + r[i].e2e_us : TIME_NONE,
            .input_tokens = r[i].input_tokens,
            .output_tokens = r[i].output_tokens,
            .slo_class = "",
            .tenant = "",
        };
        results_csv_write(out, &q);
    }
    return 0;
}

/* The engine as the run's configuration describes it; the GPU is an H100. */
static int
write_engine(const struct source *run, const struct measured_request *r, size_t n, FILE *out)
{
    (void)r, (void)n;
    const json_t *config = json_object_get(run->root, "config");
    const json_t *model = json_object_get(run->root, "model_id");
    if (!json_is_object(config)) return error("%s: config: missing", run->name);
    if (!json_is_string(model)) return error("%s: model_id: missing", run->name);
    int64_t tp, seqs, tokens, blocks, block_size;
    if (integer(run, config, "config", "tensor_parallelism", 1, 1024, &tp) ||
        integer(run, config, "config", "max_num_seqs", 1, 1 << 24, &seqs) ||
        integer(run, config, "config", "max_num_batched_tokens", 1, MAX_TOKENS, &tokens) ||
        integer(run, config, "config", "kv_blocks_total_gpu", 1, (int64_t)1 << 31, &blocks) ||
        integer(run, config, "config", "block_size", 1, 1 << 20, &block_size))
        return ERR_DATA;
    fprintf(out,
            "# SPDX-License-Identifier: GPL-3.0-or-later\n"
            "# imported by calibrate import vllm-h100 from %s\n"
            "engine:\n  model: %s\n  gpu: H100\n  tp: %" PRId64 "\n  max_num_seqs: %" PRId64
            "\n  max_num_batched_tokens: %" PRId64 "\n  block_size: %" PRId64
            "\n  num_gpu_blocks: %" PRId64 "\n",
            run->name, json_string_value(model), tp, seqs, tokens, block_size, blocks);
    return 0;
}

static const struct {
    const char *name;
    int (*write)(const struct source *run, const struct measured_request *r, size_t n,
                 FILE *out);
} outputs[] = {
    {"requests.csv", write_requests},
    {"measured.csv", write_measured},
    {"engine.yaml", write_engine},
};
#define NOUTPUTS (sizeof outputs / sizeof *outputs)

static int
write_file(const char *dir, size_t which, const struct source *run,
           const struct measured_request *r, size_t n, struct outfile *f)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, outputs[which].name) >= sizeof path)
        return config_error("output directory name too long: '%s'", dir);
    int rc = outfile_open(f, path);
    return rc ? rc : outputs[which].write(run, r, n, f->file);
}

int
calibrate_import(const struct import_job *job)
{
    if (strcmp(job->format, "vllm-h100") != 0)
        return config_error("unknown import format '%s' (known: vllm-h100)", job->format);
    size_t length = strlen(job->path);
    if (length < 5 || strcmp(job->path + length - 5, ".json") != 0)
        return config_error("'%s': a vllm-h100 run is named EXP.json", job->path);
    char gt_path[4096];
    if ((size_t)snprintf(gt_path, sizeof gt_path, "%.*s_ground_truth.json", (int)(length - 5),
                         job->path) >= sizeof gt_path)
        return config_error("path too long: '%s'", job->path);

    struct source run = {0}, gt = {0};
    struct measured_request *r = NULL;
    size_t n = 0;
    int64_t failed = 0;
    int rc = load(&run, job->path);
    if (!rc) rc = load(&gt, gt_path);
    if (!rc) rc = read_requests(&run, &r, &n);
    if (!rc) rc = read_ground_truth(&gt, r, n, &failed);

    struct outfile files[NOUTPUTS] = {{0}};
    for (size_t i = 0; i < NOUTPUTS && !rc; i++)
        rc = write_file(job->out_dir, i, &run, r, n, &files[i]);
    for (size_t i = 0; i < NOUTPUTS; i++) {
        if (!files[i].file) continue;
        if (rc) outfile_abort(&files[i]);
        else rc = outfile_commit(&files[i]);
    }
    int64_t unknown = 0;
    for (size_t i = 0; i < n; i++) unknown += !known_length(&r[i]);
    if (!rc && unknown)
        warn("%s: %" PRId64 " of %zu requests record 0 output tokens (an artifact: their "
             "length is unknown); left out of both files",
             job->path, unknown, n);
    if (!rc && failed)
        warn("%s: %" PRId64 " of %zu requests failed at the client; written as dropped",
             gt_path, failed, n);
    free(r);
    json_decref(run.root);
    json_decref(gt.root);
    return rc;
}
