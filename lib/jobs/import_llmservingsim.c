/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "jobs/import_llmservingsim.h"

#include "core/error.h"
#include "core/parse.h"
#include "model/result.h"
#include "workload/token_prefix.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* One line as recorded: wall-clock arrival and monotonic timestamps, in µs. */
struct recorded {
    int64_t wall_arrival_us, queued_us, scheduled_us, first_token_us, last_token_us;
};

/* "bench-17" → 17: the decimal digits after the last '-' (or the whole id). */
static int
parse_id(const struct json_place *at, const char *text, int64_t *id)
{
    const char *dash = strrchr(text, '-');
    const char *digits = dash ? dash + 1 : text;
    for (const char *c = digits; *c; c++)
        if (!isdigit((unsigned char)*c)) digits = "";
    if (!*digits || parse_i64(digits, 0, INT64_MAX, id))
        return json_place_error(at, "request_id", "does not end in a request number");
    return 0;
}

/* A timestamp of either clock, seconds, as µs; up to ~300 years of seconds. */
static int
timestamp(const struct json_place *at, const json_t *e, const char *key, int64_t *us)
{
    double s;
    int rc = json_get_number(at, e, key, 0, 1e10, &s);
    if (!rc) *us = llround(s * 1e6);
    return rc;
}

static int
read_line(const struct json_place *at, const json_t *e, struct measured_request *r,
          struct recorded *t)
{
    const char *request_id;
    measured_request_init(r);
    int rc = json_get_string(at, e, "request_id", &request_id);
    if (!rc) rc = parse_id(at, request_id, &r->id);
    if (!rc) rc = json_get_integer(at, e, "input_toks", 1, IMPORT_MAX_TOKENS, &r->input_tokens);
    if (!rc) rc = json_get_integer(at, e, "output_toks", 1, IMPORT_MAX_TOKENS, &r->output_tokens);
    if (!rc) rc = timestamp(at, e, "arrival_time", &t->wall_arrival_us);
    if (!rc) rc = timestamp(at, e, "queued_ts", &t->queued_us);
    if (!rc) rc = timestamp(at, e, "scheduled_ts", &t->scheduled_us);
    if (!rc) rc = timestamp(at, e, "first_token_ts", &t->first_token_us);
    if (!rc) rc = timestamp(at, e, "last_token_ts", &t->last_token_us);
    if (rc) return rc;
    if (t->scheduled_us < t->queued_us)
        return json_place_error(at, "scheduled_ts", "earlier than queued_ts");
    if (t->first_token_us < t->scheduled_us)
        return json_place_error(at, "first_token_ts", "earlier than scheduled_ts");
    if (t->last_token_us < t->first_token_us)
        return json_place_error(at, "last_token_ts", "earlier than first_token_ts");
    r->has_latency = true;
    return 0;
}

struct requests_reading {
    struct measured_run *run;
    struct recorded *times;
    size_t capacity;
};

static int
read_request_line(const struct json_place *at, const json_t *object, void *context)
{
    struct requests_reading *r = context;
    struct measured_run *run = r->run;
    if (run->count == r->capacity) {
        size_t c = r->capacity ? 2 * r->capacity : 512;
        struct measured_request *requests = realloc(run->requests, c * sizeof *requests);
        if (requests) run->requests = requests;
        struct recorded *times = requests ? realloc(r->times, c * sizeof *times) : NULL;
        if (!times) return internal_error("out of memory");
        r->times = times;
        r->capacity = c;
    }
    int rc = read_line(at, object, &run->requests[run->count], &r->times[run->count]);
    if (!rc) run->count++;
    return rc;
}

static int
read_requests(const char *path, struct measured_run *run, struct recorded **times)
{
    struct requests_reading r = {run, NULL, 0};
    int rc = json_lines_read(path, read_request_line, &r);
    *times = r.times;
    return rc;
}

/*
 * The wall clock (arrivals) and the monotonic clock (everything else) differ
 * by an unknown offset. A request cannot be queued before it arrives, so the
 * offset is at most min(queued − arrival); taking that bound makes the
 * fastest request's arrival→queue delay zero and every other one as short as
 * the data allows. Times become µs from the first arrival.
 */
static void
align_clocks(struct measured_run *run, const struct recorded *t, int64_t *spread_us)
{
    int64_t offset = INT64_MAX, origin = INT64_MAX, slowest = INT64_MIN;
    for (size_t i = 0; i < run->count; i++) {
        int64_t d = t[i].queued_us - t[i].wall_arrival_us;
        if (d < offset) offset = d;
        if (d > slowest) slowest = d;
        if (t[i].wall_arrival_us < origin) origin = t[i].wall_arrival_us;
    }
    for (size_t i = 0; i < run->count; i++) {
        struct measured_request *r = &run->requests[i];
        int64_t zero = origin + offset; /* the first arrival, on the monotonic clock */
        r->arrival_us = t[i].wall_arrival_us - origin;
        r->queued_us = t[i].queued_us - zero;
        r->scheduled_us = t[i].scheduled_us - zero;
        r->ttft_us = t[i].first_token_us - zero - r->arrival_us;
        r->e2e_us = t[i].last_token_us - zero - r->arrival_us;
    }
    *spread_us = slowest - offset;
}

/* ---- the engine: config.json and vllm/meta.json ---- */

/* What config.json says of the hardware, where it says it: the GPU's memory
 * bandwidth (npu_mem.mem_bw, GB/s) and the GPU-to-GPU link (link_bw, GB/s;
 * link_latency, ns). */
struct hardware {
    double mem_gbs, link_gbs, link_latency_ns;
    bool has_mem, has_link, has_latency;
};

/* An optional number member in [min, max]: absent or null leaves *present false. */
static int
optional_number(const struct json_place *at, const json_t *object, const char *key, double min,
                double max, double *out, bool *present)
{
    const json_t *v = json_object_get(object, key);
    *present = v && !json_is_null(v);
    return *present ? json_get_number(at, object, key, min, max, out) : 0;
}

/* The first instance of config.json; every instance must run the same model on the same GPU
 * with the same TP. */
static int
read_cluster(const char *path, const json_t *root, const char **model, const char **gpu,
             int64_t *tp, struct hardware *hw)
{
    struct json_place top = {path, "", 0};
    int rc = optional_number(&top, root, "link_bw", 1e-6, 1e6, &hw->link_gbs, &hw->has_link);
    if (!rc)
        rc = optional_number(&top, root, "link_latency", 0, 1e12, &hw->link_latency_ns,
                             &hw->has_latency);
    if (rc) return rc;
    const json_t *nodes = json_object_get(root, "nodes");
    if (!json_is_array(nodes) || json_array_size(nodes) == 0)
        return error("%s: nodes: missing or empty", path);
    size_t instances = 0;
    for (size_t n = 0; n < json_array_size(nodes); n++) {
        const json_t *list = json_object_get(json_array_get(nodes, n), "instances");
        if (!json_is_array(list)) return error("%s: nodes[%zu].instances: missing", path, n);
        for (size_t i = 0; i < json_array_size(list); i++, instances++) {
            char where[96];
            snprintf(where, sizeof where, "nodes[%zu].instances[%zu]", n, i);
            struct json_place at = {path, where, 0};
            const json_t *e = json_array_get(list, i);
            const char *m, *g;
            int64_t t;
            if (!json_is_object(e)) return error("%s: %s: not an object", path, where);
            if (json_get_string(&at, e, "model_name", &m) ||
                json_get_string(&at, e, "hardware", &g) ||
                json_get_integer(&at, e, "tp_size", 1, 1024, &t))
                return ERR_DATA;
            if (!*g || strspn(g, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                 "0123456789-_.") != strlen(g))
                return json_place_error(&at, "hardware", "not a GPU name");
            if (instances == 0) {
                *model = m, *gpu = g, *tp = t;
                const json_t *mem = json_object_get(e, "npu_mem");
                snprintf(where, sizeof where, "nodes[%zu].instances[%zu].npu_mem", n, i);
                if (json_is_object(mem) &&
                    optional_number(&at, mem, "mem_bw", 1e-6, 1e9, &hw->mem_gbs, &hw->has_mem))
                    return ERR_DATA;
            } else if (strcasecmp(m, *model) || strcmp(g, *gpu) || t != *tp) {
                return error("%s: %s: not the same model, GPU and TP as the first instance", path,
                             where);
            }
        }
    }
    if (instances == 0) return error("%s: no instance", path);
    return 0;
}

/* An optional integer member: absent or null leaves *present false. */
static int
optional_integer(const struct json_place *at, const json_t *object, const char *key, int64_t min,
                 int64_t max, int64_t *out, bool *present)
{
    const json_t *v = json_object_get(object, key);
    *present = v && !json_is_null(v);
    return *present ? json_get_integer(at, object, key, min, max, out) : 0;
}

struct engine_facts {
    const char *model, *gpu, *vllm_version;
    const char *dataset_path; /* the workload sent, as meta.json names it; NULL if unnamed */
    int64_t tp, seqs, batched_tokens, max_model_len, blocks, block_size, data_parallel;
    bool has_max_model_len, has_blocks, has_block_size, has_utilization, has_caching;
    bool expert_parallel, caching;
    double utilization;
};

static int
read_meta(const char *path, const json_t *root, struct engine_facts *f)
{
    struct json_place top = {path, "", 0}, kw = {path, "engine_kwargs", 0},
                      kv = {path, "kv_cache", 0};
    const json_t *kwargs = json_object_get(root, "engine_kwargs");
    if (!json_is_object(kwargs)) return json_place_error(&top, "engine_kwargs", "missing");
    const char *model;
    bool has_dp;
    int rc = json_get_string(&top, root, "model", &model);
    if (!rc) rc = json_get_string(&top, root, "vllm_version", &f->vllm_version);
    if (!rc) rc = json_get_integer(&kw, kwargs, "tensor_parallel_size", 1, 1024, &f->tp);
    if (!rc) rc = json_get_integer(&kw, kwargs, "max_num_seqs", 1, 1 << 24, &f->seqs);
    if (!rc)
        rc = json_get_integer(&kw, kwargs, "max_num_batched_tokens", 1, IMPORT_MAX_TOKENS,
                              &f->batched_tokens);
    if (!rc)
        rc = optional_integer(&kw, kwargs, "max_model_len", 1, IMPORT_MAX_TOKENS, &f->max_model_len,
                              &f->has_max_model_len);
    if (!rc)
        rc = optional_integer(&kw, kwargs, "data_parallel_size", 1, 1 << 20, &f->data_parallel,
                              &has_dp);
    if (rc) return rc;
    if (!has_dp) f->data_parallel = 1;
    const json_t *dataset = json_object_get(root, "dataset_path");
    if (dataset && !json_is_null(dataset) &&
        json_get_string(&top, root, "dataset_path", &f->dataset_path))
        return ERR_DATA;
    const json_t *ep = json_object_get(kwargs, "enable_expert_parallel");
    f->expert_parallel = json_is_true(ep);
    if (strcasecmp(model, f->model))
        return error("%s: model: '%s', but config.json serves '%s'", path, model, f->model);
    const json_t *cache = json_object_get(root, "kv_cache");
    if (cache && !json_is_null(cache)) {
        if (!json_is_object(cache)) return json_place_error(&top, "kv_cache", "not an object");
        rc = optional_integer(&kv, cache, "num_gpu_blocks", 1, (int64_t)1 << 31, &f->blocks,
                              &f->has_blocks);
        if (!rc)
            rc = optional_integer(&kv, cache, "block_size", 1, 1 << 20, &f->block_size,
                                  &f->has_block_size);
        if (!rc)
            rc = optional_number(&kv, cache, "gpu_memory_utilization", 1e-3, 1, &f->utilization,
                                 &f->has_utilization);
        const json_t *c = json_object_get(cache, "enable_prefix_caching");
        if (!rc && c && !json_is_null(c)) {
            rc = json_get_boolean(&kv, cache, "enable_prefix_caching", &f->caching);
            f->has_caching = true;
        }
    }
    return rc;
}

/* The run's hardware as a partial override of its GPU in the catalog. */
static void
write_hardware(FILE *out, const char *gpu, const struct hardware *hw)
{
    if (!hw->has_mem && !hw->has_link && !hw->has_latency) return;
    char buf[40];
    fprintf(out, "# the hardware as config.json describes it (memory bandwidth, GPU-to-GPU link);\n"
                 "# the rest of the GPU is the catalog's\ngpus:\n  %s: {", gpu);
    const char *sep = "";
    if (hw->has_mem) {
        format_double(buf, sizeof buf, hw->mem_gbs / 1000);
        fprintf(out, "bandwidth_tbs: %s", buf);
        sep = ", ";
    }
    if (hw->has_link) {
        format_double(buf, sizeof buf, hw->link_gbs);
        fprintf(out, "%slink_gbs: %s", sep, buf);
        sep = ", ";
    }
    if (hw->has_latency) {
        format_double(buf, sizeof buf, hw->link_latency_ns / 1000);
        fprintf(out, "%slink_latency_us: %s", sep, buf);
    }
    fputs("}\n", out);
}

static int
write_engine(const char *run_dir, const struct engine_facts *f, const struct hardware *hw,
             struct measured_run *run)
{
    size_t size;
    FILE *out = open_memstream(&run->engine_yaml, &size);
    if (!out) return internal_error("out of memory");
    fprintf(out,
            "# SPDX-License-Identifier: GPL-3.0-or-later\n"
            "# imported by calibrate import llmservingsim from %s (vLLM %s)\n",
            run_dir, f->vllm_version);
    if (f->data_parallel > 1)
        fprintf(out,
                "# the run used data_parallel_size %" PRId64 "%s: this file describes one "
                "engine; simulate the run with --instances %" PRId64 "\n",
                f->data_parallel, f->expert_parallel ? " with expert parallelism" : "",
                f->data_parallel);
    if (!f->has_blocks)
        fputs("# the run logged no KV block count: simulate derives it from GPU memory\n", out);
    fputs("engine:\n  model: ", out);
    write_model_id(out, f->model);
    fprintf(out,
            "\n  gpu: %s\n  tp: %" PRId64 "\n  max_num_seqs: %" PRId64
            "\n  max_num_batched_tokens: %" PRId64 "\n",
            f->gpu, f->tp, f->seqs, f->batched_tokens);
    if (f->has_max_model_len) fprintf(out, "  max_model_len: %" PRId64 "\n", f->max_model_len);
    if (f->has_block_size) fprintf(out, "  block_size: %" PRId64 "\n", f->block_size);
    if (f->has_blocks) fprintf(out, "  num_gpu_blocks: %" PRId64 "\n", f->blocks);
    if (f->has_utilization) {
        char buf[40];
        format_double(buf, sizeof buf, f->utilization);
        fprintf(out, "  gpu_memory_utilization: %s\n", buf);
    }
    if (f->has_caching)
        fprintf(out, "  enable_prefix_caching: %s\n", f->caching ? "true" : "false");
    /* the engines of the group share the experts out and step together */
    if (f->expert_parallel && f->data_parallel > 1) fputs("  expert_parallel: true\n", out);
    write_vllm_preemption(out);
    write_hardware(out, f->gpu, hw);
    return fclose(out) ? internal_error("out of memory") : 0;
}

/* ---- the workload: prompt token ids, for the prefixes the prompts share ---- */

static int
join(char *buf, size_t size, const char *dir, const char *name)
{
    if ((size_t)snprintf(buf, size, "%s/%s", dir, name) >= size)
        return config_error("path too long: '%s'", dir);
    return 0;
}

/* One line of the workload file: a prompt's token ids. */
struct prompt_ids {
    uint32_t *ids;
    size_t count;
};

struct workload {
    struct prompt_ids *prompts; /* per line of the workload file */
    size_t lines, capacity;
};

static void
workload_free(struct workload *w)
{
    for (size_t i = 0; i < w->lines; i++) free(w->prompts[i].ids);
    free(w->prompts);
}

static int
read_token_ids(const struct json_place *at, const json_t *e, struct prompt_ids *prompt)
{
    const json_t *list = json_object_get(e, "input_tok_ids");
    if (!json_is_array(list)) return json_place_error(at, "input_tok_ids", "missing or not a list");
    size_t n = json_array_size(list);
    prompt->ids = malloc((n ? n : 1) * sizeof *prompt->ids);
    if (!prompt->ids) return internal_error("out of memory");
    for (size_t k = 0; k < n; k++) {
        const json_t *v = json_array_get(list, k);
        json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;
        if (id < 0 || id > UINT32_MAX)
            return json_place_error(at, "input_tok_ids",
                                    "holds a token id that is not an "
                                    "integer in [0, 2^32)");
        prompt->ids[k] = (uint32_t)id;
    }
    prompt->count = n;
    return 0;
}

static int
read_workload_line(const struct json_place *at, const json_t *object, void *context)
{
    struct workload *w = context;
    if (w->lines == w->capacity) {
        size_t c = w->capacity ? 2 * w->capacity : 512;
        struct prompt_ids *prompts = realloc(w->prompts, c * sizeof *prompts);
        if (!prompts) return internal_error("out of memory");
        w->prompts = prompts;
        w->capacity = c;
    }
    w->prompts[w->lines] = (struct prompt_ids){NULL, 0};
    int rc = read_token_ids(at, object, &w->prompts[w->lines]);
    w->lines++; /* its ids are freed with the rest, even on error */
    return rc;
}

/*
 * meta.json's dataset_path is relative to LLMServingSim's benchmark directory, which holds
 * the runs two levels down (GPU/MODEL/): look beside the run and up to two levels above.
 * Returns false when no such file exists.
 */
static bool
find_workload(const char *run_dir, const char *dataset_path, char *buf, size_t size)
{
    static const char *const up[] = {"", "../", "../../"};
    if (dataset_path[0] == '/') {
        snprintf(buf, size, "%s", dataset_path);
        return access(buf, R_OK) == 0;
    }
    for (size_t i = 0; i < sizeof up / sizeof *up; i++)
        if ((size_t)snprintf(buf, size, "%s/%s%s", run_dir, up[i], dataset_path) < size &&
            access(buf, R_OK) == 0)
            return true;
    return false;
}

/*
 * The prefix column of every request from the prompt token ids of the workload sent (request
 * bench-N is line N + 1), so that the simulated prefix cache finds what vLLM's found. The
 * token count of each prompt must be the request's input_toks.
 */
static int
import_prefixes(const char *path, const char *requests_path, struct measured_run *run)
{
    struct workload w = {0};
    struct token_prompt *prompts = calloc(run->count ? run->count : 1, sizeof *prompts);
    char **prefix = calloc(run->count ? run->count : 1, sizeof *prefix);
    size_t *shared = calloc(run->count ? run->count : 1, sizeof *shared);
    int rc = prompts && prefix && shared ? json_lines_read(path, read_workload_line, &w)
                                         : internal_error("out of memory");
    for (size_t i = 0; !rc && i < run->count; i++) {
        const struct measured_request *r = &run->requests[i];
        if ((uint64_t)r->id >= w.lines)
            rc = error("%s: request bench-%" PRId64 " has no line in %s (%zu prompts)",
                       requests_path, r->id, path, w.lines);
        else if ((int64_t)w.prompts[r->id].count != r->input_tokens)
            rc = error("%s: prompt %" PRId64 " holds %zu tokens, but request bench-%" PRId64
                       " in %s has input_toks %" PRId64,
                       path, r->id, w.prompts[r->id].count, r->id, requests_path,
                       r->input_tokens);
        else
            prompts[i] = (struct token_prompt){w.prompts[r->id].ids, w.prompts[r->id].count};
    }
    if (!rc) rc = token_prefixes(prompts, run->count, prefix, shared);
    size_t sharing = 0, shared_tokens = 0;
    for (size_t i = 0; !rc && i < run->count; i++) {
        sharing += shared[i] > 0;
        shared_tokens += shared[i];
        free(run->requests[i].prefix);
        run->requests[i].prefix = prefix[i];
        prefix[i] = NULL;
    }
    if (!rc)
        warn("%s: prompt token ids: %zu of %zu requests share a leading part with another "
             "(%zu prompt tokens in all)",
             path, sharing, run->count, shared_tokens);
    for (size_t i = 0; prefix && i < run->count; i++) free(prefix[i]);
    free(prefix);
    free(shared);
    free(prompts);
    workload_free(&w);
    return rc;
}

int
import_llmservingsim(const struct import_job *job, struct measured_run *run)
{
    char config_path[4096], meta_path[4096], requests_path[4096];
    int rc = join(config_path, sizeof config_path, job->path, "config.json");
    if (!rc) rc = join(meta_path, sizeof meta_path, job->path, "vllm/meta.json");
    if (!rc) rc = join(requests_path, sizeof requests_path, job->path, "vllm/requests.jsonl");
    if (rc) return rc;
    json_t *config = NULL, *meta = NULL;
    struct recorded *times = NULL;
    struct engine_facts facts = {0};
    struct hardware hardware = {0};
    int64_t cluster_tp = 0, spread_us = 0;
    rc = json_load_path(config_path, &config);
    if (!rc) rc = json_load_path(meta_path, &meta);
    if (!rc)
        rc = read_cluster(config_path, config, &facts.model, &facts.gpu, &cluster_tp, &hardware);
    if (!rc) rc = read_meta(meta_path, meta, &facts);
    if (!rc && cluster_tp != facts.tp)
        rc = error("%s: engine_kwargs.tensor_parallel_size: %" PRId64
                   ", but %s has tp_size %" PRId64,
                   meta_path, facts.tp, config_path, cluster_tp);
    if (!rc) rc = write_engine(job->path, &facts, &hardware, run);
    if (!rc) rc = read_requests(requests_path, run, &times);
    if (!rc && run->count == 0) rc = error("%s: no requests", requests_path);
    char workload_path[4096];
    bool has_workload =
        !rc && facts.dataset_path &&
        find_workload(job->path, facts.dataset_path, workload_path, sizeof workload_path);
    if (has_workload)
        rc = import_prefixes(workload_path, requests_path, run);
    else if (!rc)
        warn("%s: %s%s%s: no prompt token ids, so the requests share no prefix", meta_path,
             facts.dataset_path ? "dataset_path '" : "no dataset_path",
             facts.dataset_path ? facts.dataset_path : "",
             facts.dataset_path ? "' not found beside the run" : "");
    if (!rc) {
        align_clocks(run, times, &spread_us);
        rc = measured_run_sort(run, requests_path);
    }
    if (!rc)
        warn("%s: %zu requests; arrival (wall clock) aligned to the engine clock by the "
             "smallest arrival-to-queue delay: delays span 0 to %.3f ms",
             requests_path, run->count, (double)spread_us / 1000);
    if (!rc && facts.data_parallel > 1)
        warn("%s: data_parallel_size %" PRId64 ": engine.yaml describes one engine of them "
             "(simulate with --instances %" PRId64 ")",
             meta_path, facts.data_parallel, facts.data_parallel);
    free(times);
    json_decref(config);
    json_decref(meta);
    return rc;
}
