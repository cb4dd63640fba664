/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "jobs/calibrate_import.h"

#include "core/error.h"
#include "jobs/import_benchmark_serving.h"
#include "jobs/import_csv.h"
#include "jobs/import_llmservingsim.h"
#include "jobs/import_run.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- vllm-h100: EXP.json and EXP_ground_truth.json ---- */

static int
read_requests(const char *name, const json_t *root, struct measured_run *run)
{
    const json_t *list = json_object_get(root, "requests");
    if (!json_is_array(list) || json_array_size(list) == 0)
        return error("%s: requests: missing or empty", name);
    size_t n = json_array_size(list);
    run->requests = calloc(n, sizeof *run->requests);
    if (!run->requests) return internal_error("out of memory");
    run->count = n;
    for (size_t i = 0; i < n; i++) {
        char where[48];
        snprintf(where, sizeof where, "requests[%zu]", i);
        struct json_place at = {name, where, 0};
        const json_t *e = json_array_get(list, i);
        struct measured_request *r = &run->requests[i];
        measured_request_init(r);
        if (!json_is_object(e)) return error("%s: %s: not an object", name, where);
        int rc = json_get_integer(&at, e, "index", 0, INT64_MAX, &r->id);
        if (!rc) rc = json_get_integer(&at, e, "arrival_time_us", 0, IMPORT_MAX_TIME_US,
                                       &r->arrival_us);
        if (!rc) rc = json_get_integer(&at, e, "input_tokens", 1, IMPORT_MAX_TOKENS,
                                       &r->input_tokens);
        if (!rc) rc = json_get_integer(&at, e, "output_tokens", 0, IMPORT_MAX_TOKENS,
                                       &r->output_tokens);
        if (rc) return rc;
        if (i > 0 && r->arrival_us < r[-1].arrival_us)
            return error("%s: %s.arrival_time_us: earlier than the request before", name, where);
    }
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
read_ground_truth(const char *name, const json_t *gt, struct measured_run *run, int64_t *failed)
{
    size_t n = run->count;
    if (!json_is_array(gt)) return error("%s: not a JSON list", name);
    if (json_array_size(gt) != n)
        return error("%s: %zu entries for %zu requests", name, json_array_size(gt), n);
    struct measured_request **index = malloc(n * sizeof *index);
    if (!index) return internal_error("out of memory");
    for (size_t i = 0; i < n; i++) index[i] = &run->requests[i];
    qsort(index, n, sizeof *index, by_id);
    int rc = 0;
    for (size_t i = 1; i < n && !rc; i++)
        if (index[i]->id == index[i - 1]->id)
            rc = error("%s: request index %" PRId64 " appears twice", name, index[i]->id);
    for (size_t i = 0; i < n && !rc; i++) {
        char where[48];
        snprintf(where, sizeof where, "[%zu]", i);
        struct json_place at = {name, where, 0};
        const json_t *e = json_array_get(gt, i);
        struct measured_request key = {0}, *k = &key, **hit;
        bool error_flag = false;
        if (!json_is_object(e)) {
            rc = error("%s: %s: not an object", name, where);
            break;
        }
        if ((rc = json_get_integer(&at, e, "index", 0, INT64_MAX, &key.id)) ||
            (rc = json_get_boolean(&at, e, "has_error", &error_flag)))
            break;
        hit = bsearch(&k, index, n, sizeof *index, by_id);
        if (!hit) {
            rc = error("%s: %s.index: %" PRId64 " is no request of the run", name, where, key.id);
            break;
        }
        struct measured_request *m = *hit;
        if (m->has_latency || m->failed) {
            rc = error("%s: %s.index: %" PRId64 " appears twice", name, where, key.id);
            break;
        }
        if (error_flag) {
            m->failed = true;
            (*failed)++;
            continue;
        }
        if ((rc = json_get_seconds(&at, e, "ttft_s", &m->ttft_us)) ||
            (rc = json_get_seconds(&at, e, "e2e_s", &m->e2e_us)))
            break;
        if (m->e2e_us < m->ttft_us) {
            rc = error("%s: %s: e2e_s is shorter than ttft_s", name, where);
            break;
        }
        m->has_latency = true;
    }
    free(index);
    return rc;
}

/* A recorded output length of 0 is an artifact of the recording (those
 * requests ran for seconds): their length is unknown, so they are left out
 * of both files rather than given an invented one. Returns how many. */
static int64_t
drop_unknown_lengths(struct measured_run *run)
{
    size_t kept = 0;
    for (size_t i = 0; i < run->count; i++)
        if (run->requests[i].output_tokens > 0) run->requests[kept++] = run->requests[i];
    int64_t dropped = (int64_t)(run->count - kept);
    run->count = kept;
    return dropped;
}

/* What the decode times say about the recorded output lengths: the run's
 * median recorded length, and the mean decode time (E2E − TTFT) of the
 * measured requests that record under half of it and of those that record at
 * least it. */
struct length_evidence {
    int64_t median;
    size_t shorter, below_half, at_least;
    double below_half_s, at_least_s;
};

static int
by_tokens(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int
length_evidence(const struct measured_run *run, struct length_evidence *ev)
{
    *ev = (struct length_evidence){0};
    int64_t *lengths = malloc(run->count * sizeof *lengths);
    if (!lengths) return internal_error("out of memory");
    size_t n = 0;
    for (size_t i = 0; i < run->count; i++)
        if (run->requests[i].has_latency) lengths[n++] = run->requests[i].output_tokens;
    if (n) {
        qsort(lengths, n, sizeof *lengths, by_tokens);
        ev->median = lengths[n / 2];
    }
    free(lengths);
    for (size_t i = 0; i < run->count; i++) {
        const struct measured_request *r = &run->requests[i];
        ev->shorter += r->output_tokens < ev->median;
        if (!r->has_latency) continue;
        double decode_s = (double)(r->e2e_us - r->ttft_us) / 1e6;
        if (2 * r->output_tokens < ev->median) {
            ev->below_half++;
            ev->below_half_s += decode_s;
        } else if (r->output_tokens >= ev->median) {
            ev->at_least++;
            ev->at_least_s += decode_s;
        }
    }
    if (ev->below_half) ev->below_half_s /= (double)ev->below_half;
    if (ev->at_least) ev->at_least_s /= (double)ev->at_least;
    return 0;
}

/* The recorded lengths did not govern decoding when requests recording under
 * half the median length decoded, on average, at least 80 % as long as those
 * recording the median or more (a decode time that follows the length would
 * give them under half). At least LENGTH_EVIDENCE_MIN requests on each side. */
#define LENGTH_EVIDENCE_MIN 10
static bool
lengths_not_generated(const struct length_evidence *ev)
{
    return ev->below_half >= LENGTH_EVIDENCE_MIN && ev->at_least >= LENGTH_EVIDENCE_MIN &&
           ev->below_half_s >= 0.8 * ev->at_least_s;
}

static void
raise_to(struct measured_run *run, int64_t length)
{
    for (size_t i = 0; i < run->count; i++)
        if (run->requests[i].output_tokens < length) run->requests[i].output_tokens = length;
}

/* The engine as the run's configuration describes it; the GPU is an H100. */
static int
vllm_h100_engine(const char *name, const json_t *root, struct measured_run *run)
{
    const json_t *config = json_object_get(root, "config");
    const json_t *model = json_object_get(root, "model_id");
    if (!json_is_object(config)) return error("%s: config: missing", name);
    if (!json_is_string(model)) return error("%s: model_id: missing", name);
    struct json_place at = {name, "config", 0};
    int64_t tp, seqs, tokens, blocks, block_size;
    if (json_get_integer(&at, config, "tensor_parallelism", 1, 1024, &tp) ||
        json_get_integer(&at, config, "max_num_seqs", 1, 1 << 24, &seqs) ||
        json_get_integer(&at, config, "max_num_batched_tokens", 1, IMPORT_MAX_TOKENS, &tokens) ||
        json_get_integer(&at, config, "kv_blocks_total_gpu", 1, (int64_t)1 << 31, &blocks) ||
        json_get_integer(&at, config, "block_size", 1, 1 << 20, &block_size))
        return ERR_DATA;
    size_t size;
    FILE *out = open_memstream(&run->engine_yaml, &size);
    if (!out) return internal_error("out of memory");
    fprintf(out,
            "# SPDX-License-Identifier: GPL-3.0-or-later\n"
            "# imported by calibrate import vllm-h100 from %s\n"
            "engine:\n  model: ",
            name);
    write_model_id(out, json_string_value(model));
    fprintf(out,
            "\n  gpu: H100\n  tp: %" PRId64 "\n  max_num_seqs: %" PRId64
            "\n  max_num_batched_tokens: %" PRId64 "\n  block_size: %" PRId64
            "\n  num_gpu_blocks: %" PRId64 "\n",
            tp, seqs, tokens, block_size, blocks);
    write_vllm_preemption(out);
    return fclose(out) ? internal_error("out of memory") : 0;
}

static int
import_vllm_h100(const struct import_job *job, struct measured_run *run)
{
    const char *path = job->path;
    size_t length = strlen(path);
    if (length < 5 || strcmp(path + length - 5, ".json") != 0)
        return config_error("'%s': a vllm-h100 run is named EXP.json", path);
    char gt_path[4096];
    if ((size_t)snprintf(gt_path, sizeof gt_path, "%.*s_ground_truth.json", (int)(length - 5),
                         path) >= sizeof gt_path)
        return config_error("path too long: '%s'", path);
    json_t *root = NULL, *gt = NULL;
    int64_t failed = 0, unknown = 0;
    size_t total = 0;
    struct length_evidence ev = {0};
    bool raise = false;
    int rc = json_load_path(path, &root);
    if (!rc) rc = json_load_path(gt_path, &gt);
    if (!rc) rc = read_requests(path, root, run);
    if (!rc) rc = read_ground_truth(gt_path, gt, run, &failed);
    if (!rc) rc = vllm_h100_engine(path, root, run);
    if (!rc) rc = length_evidence(run, &ev);
    if (!rc) {
        total = run->count;
        raise = !job->recorded_lengths && lengths_not_generated(&ev);
        if (raise)
            raise_to(run, ev.median);
        else
            unknown = drop_unknown_lengths(run);
        rc = measured_run_sort(run, path);
    }
    if (!rc && raise)
        warn("%s: %zu of %zu requests record fewer than %" PRId64 " output tokens (the median), "
             "yet the %zu recording under half of it decoded as long as the %zu recording at "
             "least it (mean E2E - TTFT %.3f s against %.3f s): the server generated about %" PRId64
             " for each, so they are imported with %" PRId64 " (--recorded-lengths keeps the record)",
             path, ev.shorter, total, ev.median, ev.below_half, ev.at_least, ev.below_half_s,
             ev.at_least_s, ev.median, ev.median);
    if (!rc && unknown)
        warn("%s: %" PRId64 " of %zu requests record 0 output tokens (an artifact: their "
             "length is unknown); left out of both files",
             path, unknown, total);
    if (!rc && failed)
        warn("%s: %" PRId64 " of %zu requests failed at the client; written as dropped",
             gt_path, failed, total);
    json_decref(root);
    json_decref(gt);
    return rc;
}

/* ---- dispatch ---- */

static const struct {
    const char *name;
    int (*read)(const struct import_job *job, struct measured_run *run);
} formats[] = {
    {"vllm-h100", import_vllm_h100},
    {"llmservingsim", import_llmservingsim},
    {"benchmark-serving", import_benchmark_serving},
    {"csv", import_csv},
};
#define NFORMATS (sizeof formats / sizeof *formats)

int
calibrate_import(const struct import_job *job)
{
    size_t f = 0;
    while (f < NFORMATS && strcmp(job->format, formats[f].name) != 0) f++;
    if (f == NFORMATS)
        return config_error("unknown import format '%s' (known: vllm-h100, llmservingsim, "
                            "benchmark-serving, csv)",
                            job->format);
    if (job->arrivals && strcmp(job->format, "benchmark-serving") != 0)
        return config_error("--arrivals applies to the benchmark-serving format only");
    if (job->recorded_lengths && strcmp(job->format, "vllm-h100") != 0)
        return config_error("--recorded-lengths applies to the vllm-h100 format only");
    struct measured_run run = {0};
    int rc = formats[f].read(job, &run);
    if (!rc) rc = measured_run_write(&run, job->out_dir);
    measured_run_free(&run);
    return rc;
}
