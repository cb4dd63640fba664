/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config/config.h"

#include "core/error.h"
#include "core/yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern const char servesim_defaults_yaml[];
extern const unsigned long servesim_defaults_yaml_len;

#define MAX_COUNT ((int64_t)1 << 40)

static int
get_text(const struct yaml_doc *doc, const struct yaml_node *map, const char *key, char *out,
         size_t size)
{
    const char *text = NULL;
    int rc = yaml_get_string(doc, map, key, &text);
    if (rc || !text) return rc;
    if (strlen(text) >= size)
        return config_error("%s:%ld: '%s' is too long", doc->name, yaml_get(map, key)->line, key);
    strcpy(out, text);
    return 0;
}

static int
load_length(const struct yaml_doc *doc, const struct yaml_node *map, const char *key,
            struct length_dist *d)
{
    static const char *const keys[] = {"mean", "stdev", "min", "max", NULL};
    const struct yaml_node *n = yaml_get(map, key);
    if (!n) return 0;
    if (yaml_expect(doc, n, YAML_MAP, key) || yaml_check_keys(doc, n, keys)) return ERR_CONFIG;
    return yaml_get_double(doc, n, "mean", 0, (double)MAX_COUNT, &d->mean) ||
                   yaml_get_double(doc, n, "stdev", 0, (double)MAX_COUNT, &d->stdev) ||
                   yaml_get_i64(doc, n, "min", 1, MAX_COUNT, &d->min) ||
                   yaml_get_i64(doc, n, "max", 1, MAX_COUNT, &d->max)
               ? ERR_CONFIG
               : 0;
}

static int
load_workload(const struct yaml_doc *doc, const struct yaml_node *n, struct workload_config *w)
{
    static const char *const keys[] = {"rate_per_s", "num_requests", "arrival", "cv",
                                       "seed", "prompt_tokens", "output_tokens",
                                       "prefix_tokens", "slo_class", "tenant", NULL};
    if (yaml_expect(doc, n, YAML_MAP, "workload") || yaml_check_keys(doc, n, keys))
        return ERR_CONFIG;
    const char *arrival = NULL;
    int64_t seed = (int64_t)w->seed;
    if (yaml_get_double(doc, n, "rate_per_s", 1e-9, 1e9, &w->rate_per_s) ||
        yaml_get_i64(doc, n, "num_requests", 0, MAX_COUNT, &w->num_requests) ||
        yaml_get_string(doc, n, "arrival", &arrival) ||
        yaml_get_double(doc, n, "cv", 1e-6, 1e3, &w->cv) ||
        yaml_get_i64(doc, n, "seed", 0, INT64_MAX, &seed) ||
        load_length(doc, n, "prompt_tokens", &w->prompt) ||
        load_length(doc, n, "output_tokens", &w->output) ||
        yaml_get_i64(doc, n, "prefix_tokens", 0, MAX_COUNT, &w->prefix_tokens) ||
        get_text(doc, n, "slo_class", w->slo_class, sizeof w->slo_class) ||
        get_text(doc, n, "tenant", w->tenant, sizeof w->tenant))
        return ERR_CONFIG;
    w->seed = (uint64_t)seed;
    if (arrival && arrival_process_parse(arrival, &w->arrival) != 0)
        return config_error("%s:%ld: 'arrival': unknown process '%s' (known: poisson, constant, "
                            "gamma)",
                            doc->name, yaml_get(n, "arrival")->line, arrival);
    return 0;
}

int
config_preemption_parse(const char *name, bool *resume)
{
    *resume = strcmp(name, "resume") == 0;
    return *resume || strcmp(name, "restart") == 0 ? 0 : -1;
}

static int
load_engine(const struct yaml_doc *doc, const struct yaml_node *n, struct engine_config *e)
{
    static const char *const keys[] = {
        "model", "gpu", "tp", "vllm_version", "latency_model", "max_num_seqs",
        "max_num_batched_tokens", "long_prefill_token_threshold", "max_model_len", "block_size",
        "num_gpu_blocks", "gpu_memory_utilization", "activation_reserve_gib",
        "enable_prefix_caching", "preemption", "expert_parallel", "kv_cpu_blocks",
        "kv_cpu_bandwidth_gbs", "kv_cpu_latency_us", NULL};
    if (yaml_expect(doc, n, YAML_MAP, "engine") || yaml_check_keys(doc, n, keys))
        return ERR_CONFIG;
    if (get_text(doc, n, "model", e->model, sizeof e->model) ||
        get_text(doc, n, "gpu", e->gpu, sizeof e->gpu) ||
        yaml_get_i64(doc, n, "tp", 1, 1024, &e->tp) ||
        get_text(doc, n, "vllm_version", e->vllm_version, sizeof e->vllm_version) ||
        get_text(doc, n, "latency_model", e->latency_model, sizeof e->latency_model) ||
        yaml_get_i64(doc, n, "max_num_seqs", 1, MAX_COUNT, &e->max_num_seqs) ||
        yaml_get_i64(doc, n, "max_num_batched_tokens", 1, MAX_COUNT, &e->max_num_batched_tokens) ||
        yaml_get_i64(doc, n, "long_prefill_token_threshold", 0, MAX_COUNT,
                     &e->long_prefill_token_threshold) ||
        yaml_get_i64(doc, n, "max_model_len", 0, MAX_COUNT, &e->max_model_len) ||
        yaml_get_i64(doc, n, "block_size", 1, 1 << 20, &e->block_size) ||
        yaml_get_i64(doc, n, "num_gpu_blocks", 0, (int64_t)1 << 31, &e->num_gpu_blocks) ||
        yaml_get_double(doc, n, "gpu_memory_utilization", 1e-3, 1.0, &e->gpu_memory_utilization) ||
        yaml_get_double(doc, n, "activation_reserve_gib", 0, 1e6, &e->activation_reserve_gib) ||
        yaml_get_bool(doc, n, "enable_prefix_caching", &e->enable_prefix_caching) ||
        get_text(doc, n, "preemption", e->preemption, sizeof e->preemption) ||
        yaml_get_bool(doc, n, "expert_parallel", &e->expert_parallel) ||
        yaml_get_i64(doc, n, "kv_cpu_blocks", 0, INT32_MAX, &e->kv_cpu_blocks) ||
        yaml_get_double(doc, n, "kv_cpu_bandwidth_gbs", 1e-6, 1e9, &e->kv_cpu_bandwidth_gbs) ||
        yaml_get_double(doc, n, "kv_cpu_latency_us", 0, 1e9, &e->kv_cpu_latency_us))
        return ERR_CONFIG;
    const struct yaml_node *preemption = yaml_get(n, "preemption");
    bool resume;
    if (preemption && config_preemption_parse(e->preemption, &resume))
        return config_error("%s:%ld: unknown preemption '%s' (known: restart, resume)", doc->name,
                            preemption->line, e->preemption);
    return 0;
}

/* Grows *array by one zeroed element; returns it or NULL. */
static void *
append(void **array, size_t *count, size_t size)
{
    char *grown = realloc(*array, (*count + 1) * size);
    if (!grown) return NULL;
    memset(grown + *count * size, 0, size);
    *array = grown;
    return grown + (*count)++ * size;
}

static char *
lower_dup(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    return d;
}

static int
load_gpus(const struct yaml_doc *doc, const struct yaml_node *n, struct catalog *c)
{
    static const char *const keys[] = {"memory_gib",  "bf16_tflops", "fp8_tflops",
                                       "matmul_tflops", "bandwidth_tbs", "link_gbs",
                                       "link_latency_us",
                                       "mfu_prefill", "mfu_decode", "memory_efficiency",
                                       "mfu_experts", NULL};
    if (yaml_expect(doc, n, YAML_MAP, "gpus")) return ERR_CONFIG;
    for (size_t i = 0; i < n->count; i++) {
        const struct yaml_node *g = n->items[i];
        if (yaml_expect(doc, g, YAML_MAP, n->keys[i]) || yaml_check_keys(doc, g, keys))
            return ERR_CONFIG;
        /* a GPU already known starts from what is known of it: only the
         * fields given change (the lookup takes the newest entry of a name) */
        const struct gpu_spec *known = catalog_gpu(c, n->keys[i]);
        struct gpu_spec base = known ? *known : (struct gpu_spec){0};
        struct gpu_spec *s = append((void **)&c->gpus, &c->num_gpus, sizeof *s);
        if (!s) return internal_error("out of memory");
        *s = base;
        if (!(s->name = strdup(n->keys[i]))) return internal_error("out of memory");
        if (yaml_get_double(doc, g, "memory_gib", 1e-3, 1e6, &s->memory_gib) ||
            yaml_get_double(doc, g, "bf16_tflops", 0, 1e9, &s->bf16_tflops) ||
            yaml_get_double(doc, g, "fp8_tflops", 0, 1e9, &s->fp8_tflops) ||
            yaml_get_double(doc, g, "matmul_tflops", 0, 1e9, &s->matmul_tflops) ||
            yaml_get_double(doc, g, "bandwidth_tbs", 0, 1e6, &s->bandwidth_tbs) ||
            yaml_get_double(doc, g, "link_gbs", 0, 1e9, &s->link_gbs) ||
            yaml_get_double(doc, g, "link_latency_us", 0, 1e9, &s->link_latency_us) ||
            yaml_get_double(doc, g, "mfu_prefill", 0, 1, &s->mfu_prefill) ||
            yaml_get_double(doc, g, "mfu_decode", 0, 1, &s->mfu_decode) ||
            yaml_get_double(doc, g, "memory_efficiency", 0, 1, &s->memory_efficiency) ||
            yaml_get_double(doc, g, "mfu_experts", 0, 1, &s->mfu_experts))
            return ERR_CONFIG;
        if (!known && !yaml_get(g, "memory_gib"))
            return config_error("%s:%ld: GPU '%s' needs memory_gib", doc->name, g->line, s->name);
    }
    return 0;
}

/* The optional layout fields agree with each other (catalog.h, struct model_arch). */
static int
check_model_layout(const struct yaml_doc *doc, const struct yaml_node *g, const char *id,
                   struct model_arch *m)
{
    static const char *const moe[] = {"moe_intermediate", "shared_experts", "dense_layers",
                                      "mfu_experts", NULL};
    static const char *const mla[] = {"q_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim",
                                      "v_head_dim", "index_heads", "index_head_dim", NULL};
    for (const char *const *k = moe; *k; k++)
        if (m->experts == 0 && yaml_get(g, *k))
            return config_error("%s:%ld: model '%s': '%s' needs experts", doc->name,
                                yaml_get(g, *k)->line, id, *k);
    if (m->dense_layers > m->layers)
        return config_error("%s:%ld: model '%s': dense_layers exceeds layers", doc->name,
                            yaml_get(g, "dense_layers")->line, id);
    if (m->kv_lora_rank == 0) {
        for (const char *const *k = mla; *k; k++)
            if (yaml_get(g, *k))
                return config_error("%s:%ld: model '%s': '%s' needs kv_lora_rank", doc->name,
                                    yaml_get(g, *k)->line, id, *k);
        return 0;
    }
    for (const char *const *k = mla + 1; k < mla + 4; k++)
        if (!yaml_get(g, *k))
            return config_error("%s:%ld: model '%s' with kv_lora_rank needs '%s'", doc->name,
                                g->line, id, *k);
    if ((m->index_heads > 0) != (m->index_head_dim > 0))
        return config_error("%s:%ld: model '%s': index_heads and index_head_dim go together",
                            doc->name, g->line, id);
    int64_t key_dim = m->qk_nope_head_dim + m->qk_rope_head_dim;
    if (m->head_dim && m->head_dim != key_dim)
        return config_error("%s:%ld: model '%s': with kv_lora_rank, head_dim is qk_nope_head_dim "
                            "+ qk_rope_head_dim (%lld)",
                            doc->name, yaml_get(g, "head_dim")->line, id, (long long)key_dim);
    m->head_dim = key_dim;
    return 0;
}

static int
load_models(const struct yaml_doc *doc, const struct yaml_node *n, struct catalog *c)
{
    static const char *const keys[] = {
        "layers", "hidden", "heads", "kv_heads", "head_dim", "intermediate", "vocab", "experts",
        "experts_per_token", "moe_intermediate", "shared_experts", "dense_layers", "kv_lora_rank",
        "q_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "index_heads",
        "index_head_dim", "max_model_len", "tied_embeddings", "weight_bytes",
        "attention_weight_bytes", "embedding_weight_bytes", "mfu_experts", NULL};
    static const char *const required[] = {"layers", "hidden", "heads", "kv_heads",
                                           "intermediate", "vocab", "max_model_len", NULL};
    if (yaml_expect(doc, n, YAML_MAP, "models")) return ERR_CONFIG;
    for (size_t i = 0; i < n->count; i++) {
        const struct yaml_node *g = n->items[i];
        if (yaml_expect(doc, g, YAML_MAP, n->keys[i]) || yaml_check_keys(doc, g, keys))
            return ERR_CONFIG;
        for (const char *const *r = required; *r; r++)
            if (!yaml_get(g, *r))
                return config_error("%s:%ld: model '%s' needs '%s'", doc->name, g->line,
                                    n->keys[i], *r);
        struct model_arch *m = append((void **)&c->models, &c->num_models, sizeof *m);
        if (!m || !(m->id = lower_dup(n->keys[i]))) return internal_error("out of memory");
        m->weight_bytes = 2;
        if (yaml_get_i64(doc, g, "layers", 1, 100000, &m->layers) ||
            yaml_get_i64(doc, g, "hidden", 1, MAX_COUNT, &m->hidden) ||
            yaml_get_i64(doc, g, "heads", 1, 100000, &m->heads) ||
            yaml_get_i64(doc, g, "kv_heads", 1, 100000, &m->kv_heads) ||
            yaml_get_i64(doc, g, "head_dim", 1, 100000, &m->head_dim) ||
            yaml_get_i64(doc, g, "intermediate", 1, MAX_COUNT, &m->intermediate) ||
            yaml_get_i64(doc, g, "vocab", 1, MAX_COUNT, &m->vocab) ||
            yaml_get_i64(doc, g, "experts", 0, 100000, &m->experts) ||
            yaml_get_i64(doc, g, "experts_per_token", 0, 100000, &m->experts_per_token) ||
            yaml_get_i64(doc, g, "moe_intermediate", 1, MAX_COUNT, &m->moe_intermediate) ||
            yaml_get_i64(doc, g, "shared_experts", 0, 100000, &m->shared_experts) ||
            yaml_get_i64(doc, g, "dense_layers", 0, 100000, &m->dense_layers) ||
            yaml_get_i64(doc, g, "kv_lora_rank", 0, 1000000, &m->kv_lora_rank) ||
            yaml_get_i64(doc, g, "q_lora_rank", 0, 1000000, &m->q_lora_rank) ||
            yaml_get_i64(doc, g, "qk_nope_head_dim", 1, 100000, &m->qk_nope_head_dim) ||
            yaml_get_i64(doc, g, "qk_rope_head_dim", 1, 100000, &m->qk_rope_head_dim) ||
            yaml_get_i64(doc, g, "v_head_dim", 1, 100000, &m->v_head_dim) ||
            yaml_get_i64(doc, g, "index_heads", 0, 100000, &m->index_heads) ||
            yaml_get_i64(doc, g, "index_head_dim", 0, 100000, &m->index_head_dim) ||
            yaml_get_i64(doc, g, "max_model_len", 1, MAX_COUNT, &m->max_model_len) ||
            yaml_get_bool(doc, g, "tied_embeddings", &m->tied_embeddings) ||
            yaml_get_i64(doc, g, "weight_bytes", 1, 8, &m->weight_bytes))
            return ERR_CONFIG;
        m->attention_weight_bytes = m->embedding_weight_bytes = m->weight_bytes;
        if (yaml_get_i64(doc, g, "attention_weight_bytes", 1, 8, &m->attention_weight_bytes) ||
            yaml_get_i64(doc, g, "embedding_weight_bytes", 1, 8, &m->embedding_weight_bytes) ||
            yaml_get_double(doc, g, "mfu_experts", 1e-6, 1, &m->mfu_experts) ||
            check_model_layout(doc, g, n->keys[i], m))
            return ERR_CONFIG;
        if (!m->head_dim) m->head_dim = m->hidden / m->heads;
    }
    return 0;
}

static int
load_coefficients(const struct yaml_doc *doc, const struct yaml_node *n, struct catalog *c)
{
    static const char *const keys[] = {"model", "gpu", "tp", "vllm", "alpha", "beta", "source",
                                       NULL};
    if (yaml_expect(doc, n, YAML_SEQ, "coefficients")) return ERR_CONFIG;
    for (size_t i = 0; i < n->count; i++) {
        const struct yaml_node *g = n->items[i];
        if (yaml_expect(doc, g, YAML_MAP, "coefficients entry") || yaml_check_keys(doc, g, keys))
            return ERR_CONFIG;
        const char *model = NULL, *gpu = NULL, *vllm = "0", *source = "";
        struct coefficient_set s = {.tp = 1};
        if (yaml_get_string(doc, g, "model", &model) || yaml_get_string(doc, g, "gpu", &gpu) ||
            yaml_get_i64(doc, g, "tp", 1, 1024, &s.tp) ||
            yaml_get_string(doc, g, "vllm", &vllm) ||
            yaml_get_string(doc, g, "source", &source) ||
            yaml_get_double_seq(doc, g, "alpha", -1e9, 1e9, s.alpha, 3) ||
            yaml_get_double_seq(doc, g, "beta", -1e9, 1e9, s.beta, 3))
            return ERR_CONFIG;
        if (!model || !gpu || !yaml_get(g, "alpha") || !yaml_get(g, "beta"))
            return config_error("%s:%ld: a coefficients entry needs model, gpu, alpha and beta",
                                doc->name, g->line);
        struct coefficient_set *d =
            append((void **)&c->coefficients, &c->num_coefficients, sizeof *d);
        if (!d) return internal_error("out of memory");
        *d = s;
        d->model = lower_dup(model);
        d->gpu = strdup(gpu);
        d->vllm_version = strdup(vllm);
        d->source = strdup(source);
        if (!d->model || !d->gpu || !d->vllm_version || !d->source)
            return internal_error("out of memory");
    }
    return 0;
}

static int
load_roofline(const struct yaml_doc *doc, const struct yaml_node *n, struct roofline_defaults *d)
{
    static const char *const keys[] = {"mfu_prefill",     "mfu_decode",  "memory_efficiency",
                                       "link_gbs",        "link_latency_us", "measured_on",
                                       NULL};
    const char *on = NULL;
    if (yaml_expect(doc, n, YAML_MAP, "roofline") || yaml_check_keys(doc, n, keys) ||
        yaml_get_double(doc, n, "mfu_prefill", 1e-6, 1, &d->mfu_prefill) ||
        yaml_get_double(doc, n, "mfu_decode", 1e-6, 1, &d->mfu_decode) ||
        yaml_get_double(doc, n, "memory_efficiency", 1e-6, 1, &d->memory_efficiency) ||
        yaml_get_double(doc, n, "link_gbs", 1e-6, 1e9, &d->link_gbs) ||
        yaml_get_double(doc, n, "link_latency_us", 0, 1e9, &d->link_latency_us) ||
        yaml_get_string(doc, n, "measured_on", &on))
        return ERR_CONFIG;
    if (on) {
        free(d->measured_on);
        if (!(d->measured_on = strdup(on))) return internal_error("out of memory");
    }
    return 0;
}

/* physics: {alpha: [a0, a1, a2], <term>: k, ..., source: text}; every term required. */
static int
load_physics(const struct yaml_doc *doc, const struct yaml_node *n, struct physics_set *p)
{
    const char *keys[PHYSICS_TERMS + 3] = {"alpha", "source"};
    for (int t = 0; t < PHYSICS_TERMS; t++) keys[2 + t] = physics_term_names[t];
    keys[PHYSICS_TERMS + 2] = NULL;
    if (yaml_expect(doc, n, YAML_MAP, "physics") || yaml_check_keys(doc, n, keys))
        return ERR_CONFIG;
    struct physics_set set = {.present = true};
    const char *source = "";
    if (yaml_get_double_seq(doc, n, "alpha", 0, 1e9, set.alpha, 3) ||
        yaml_get_string(doc, n, "source", &source))
        return ERR_CONFIG;
    for (int t = 0; t < PHYSICS_TERMS; t++) {
        if (!yaml_get(n, physics_term_names[t]))
            return config_error("%s:%ld: physics needs '%s'", doc->name, n->line,
                                physics_term_names[t]);
        if (yaml_get_double(doc, n, physics_term_names[t], 0, 1e9, &set.k[t])) return ERR_CONFIG;
    }
    if (!yaml_get(n, "alpha"))
        return config_error("%s:%ld: physics needs 'alpha'", doc->name, n->line);
    if (!(set.source = strdup(source))) return internal_error("out of memory");
    free(p->source);
    *p = set;
    return 0;
}

static int
apply(struct config *cfg, const struct yaml_doc *doc)
{
    static const char *const keys[] = {"version", "workload", "engine",  "gpus", "models",
                                       "coefficients", "roofline", "physics", NULL};
    const struct yaml_node *root = doc->root, *n;
    if (yaml_check_keys(doc, root, keys)) return ERR_CONFIG;
    int64_t version = 1;
    if (yaml_get_i64(doc, root, "version", 1, 1, &version)) return ERR_CONFIG;
    int rc = 0;
    if (!rc && (n = yaml_get(root, "workload"))) rc = load_workload(doc, n, &cfg->workload);
    if (!rc && (n = yaml_get(root, "engine"))) rc = load_engine(doc, n, &cfg->engine);
    if (!rc && (n = yaml_get(root, "gpus"))) rc = load_gpus(doc, n, &cfg->catalog);
    if (!rc && (n = yaml_get(root, "models"))) rc = load_models(doc, n, &cfg->catalog);
    if (!rc && (n = yaml_get(root, "coefficients"))) rc = load_coefficients(doc, n, &cfg->catalog);
    if (!rc && (n = yaml_get(root, "roofline"))) rc = load_roofline(doc, n, &cfg->catalog.roofline);
    if (!rc && (n = yaml_get(root, "physics"))) rc = load_physics(doc, n, &cfg->catalog.physics);
    return rc;
}

int
config_load(struct config *cfg, const char *const *files, size_t num_files)
{
    memset(cfg, 0, sizeof *cfg);
    struct yaml_doc doc;
    int rc = yaml_load_text(servesim_defaults_yaml, servesim_defaults_yaml_len,
                            "defaults.yaml (embedded)", &doc);
    if (rc == 0) {
        rc = apply(cfg, &doc);
        yaml_doc_free(&doc);
    }
    for (size_t i = 0; rc == 0 && i < num_files; i++) {
        rc = yaml_load_file(files[i], &doc);
        if (rc) break;
        rc = apply(cfg, &doc);
        yaml_doc_free(&doc);
    }
    if (rc) config_free(cfg);
    return rc;
}

void
config_free(struct config *cfg)
{
    catalog_free(&cfg->catalog);
}

/* A coefficient set listed by unknown_combination: not a repeat of the one
 * before it (the same combination fitted twice), and of the model asked for
 * (or, when no set has it, of the GPU). */
static bool
listed(const struct catalog *c, size_t i, const struct engine_config *e, bool by_model)
{
    const struct coefficient_set *s = &c->coefficients[i], *p = i ? s - 1 : NULL;
    if (p && !strcmp(p->model, s->model) && !strcmp(p->gpu, s->gpu) && p->tp == s->tp &&
        !strcmp(p->vllm_version, s->vllm_version))
        return false;
    return by_model ? !strcasecmp(s->model, e->model) : !strcmp(s->gpu, e->gpu);
}

/* Reports an unknown (model, GPU, TP) and lists the nearest combinations known. */
static int
unknown_combination(const struct catalog *c, const struct engine_config *e)
{
    fprintf(stderr, "%s: no blackbox coefficients for model '%s' on GPU '%s' with tp %lld%s%s; "
                    "give --alpha and --beta, or --latency-model roofline or physics (no "
                    "coefficients needed)\n",
            program_name(), e->model, e->gpu, (long long)e->tp,
            strcmp(e->vllm_version, "newest") ? " and vLLM " : "",
            strcmp(e->vllm_version, "newest") ? e->vllm_version : "");
    bool by_model = false;
    for (size_t i = 0; i < c->num_coefficients && !by_model; i++)
        by_model = !strcasecmp(c->coefficients[i].model, e->model);
    size_t shown = 0;
    for (size_t i = 0; i < c->num_coefficients; i++) {
        if (!listed(c, i, e, by_model)) continue;
        const struct coefficient_set *s = &c->coefficients[i];
        if (!shown++)
            fprintf(stderr, "  blackbox sets for this %s (model gpu tp vllm):\n",
                    by_model ? "model" : "GPU");
        fprintf(stderr, "  %s %s %lld %s\n", s->model, s->gpu, (long long)s->tp, s->vllm_version);
    }
    fprintf(stderr, "  (defaults.yaml has %zu under coefficients)\n", c->num_coefficients);
    return ERR_CONFIG;
}

static int
unknown_gpu(const struct catalog *c, const char *name)
{
    fprintf(stderr, "%s: unknown GPU '%s'; known:", program_name(), name);
    for (size_t i = 0; i < c->num_gpus; i++) fprintf(stderr, " %s", c->gpus[i].name);
    fputc('\n', stderr);
    return ERR_CONFIG;
}

/* The latency model: blackbox coefficients, or the roofline of the model on the GPU. */
static int
resolve_latency(const struct config *cfg, enum latency_kind kind, struct latency_model *out)
{
    const struct engine_config *e = &cfg->engine;
    const struct catalog *c = &cfg->catalog;
    struct latency_model l = {.kind = kind};
    if (kind == LATENCY_BLACKBOX) {
        if (!e->have_alpha || !e->have_beta) {
            const struct coefficient_set *s =
                catalog_coefficients(c, e->model, e->gpu, e->tp, e->vllm_version);
            if (!s) return unknown_combination(c, e);
            memcpy(l.alpha, s->alpha, sizeof l.alpha);
            memcpy(l.beta, s->beta, sizeof l.beta);
        }
        if (e->have_beta) memcpy(l.beta, e->beta, sizeof l.beta);
    } else {
        if (e->have_beta)
            return config_error("beta coefficients belong to the blackbox model, not %s",
                                latency_kind_name(kind));
        const struct model_arch *m = catalog_model(c, e->model);
        if (!m)
            return config_error("the %s model needs the architecture of '%s', which the "
                                "catalog lacks (add it under models:)",
                                latency_kind_name(kind), e->model);
        const struct gpu_spec *g = catalog_gpu(c, e->gpu);
        if (!g) return unknown_gpu(c, e->gpu);
        if (g->bf16_tflops <= 0 || g->bandwidth_tbs <= 0)
            return config_error("GPU '%s' needs bf16_tflops and bandwidth_tbs for the %s model",
                                e->gpu, latency_kind_name(kind));
        if (c->roofline.measured_on && !catalog_gpu(c, c->roofline.measured_on))
            return config_error("roofline: measured_on names GPU '%s', which the catalog lacks",
                                c->roofline.measured_on);
        catalog_roofline(c, m, g, e->tp, &l.hw);
        if (kind == LATENCY_PHYSICS) {
            if (!c->physics.present)
                return config_error("no physics coefficients are configured (physics: in "
                                    "defaults.yaml or a --config file)");
            memcpy(l.alpha, c->physics.alpha, sizeof l.alpha);
            memcpy(l.physics, c->physics.k, sizeof l.physics);
        }
    }
    if (e->have_alpha) memcpy(l.alpha, e->alpha, sizeof l.alpha);
    *out = l;
    return 0;
}

int
config_resolve_engine(const struct config *cfg, int64_t group, struct engine_params *out)
{
    const struct engine_config *e = &cfg->engine;
    const struct catalog *c = &cfg->catalog;
    enum latency_kind kind;
    if (latency_kind_parse(e->latency_model, &kind))
        return config_error("unknown latency model '%s' (known: blackbox, roofline, physics)",
                            e->latency_model);
    struct engine_params p = {
        .max_num_seqs = e->max_num_seqs,
        .max_num_batched_tokens = e->max_num_batched_tokens,
        .long_prefill_token_threshold = e->long_prefill_token_threshold,
        .max_model_len = e->max_model_len,
        .block_size = e->block_size,
        .num_gpu_blocks = e->num_gpu_blocks,
        .enable_prefix_caching = e->enable_prefix_caching,
    };
    /* empty: an engine_config made without the defaults, which restart */
    if (e->preemption[0] && config_preemption_parse(e->preemption, &p.preemption_resume))
        return config_error("unknown preemption '%s' (known: restart, resume)", e->preemption);
    int rc = resolve_latency(cfg, kind, &p.latency);
    if (rc) return rc;

    const struct model_arch *m = catalog_model(c, e->model);
    int64_t shards = 1;
    if (e->expert_parallel) {
        if (kind == LATENCY_BLACKBOX)
            return config_error("expert parallelism needs the roofline or physics model (the "
                                "blackbox has no expert term)");
        if (!m || m->experts <= 0)
            return config_error("expert parallelism needs a model with routed experts; '%s' "
                                "has none",
                                e->model);
        shards = group;
        p.lockstep = group > 1;
        p.latency.hw.expert_shards = shards;
    }
    if ((!p.max_model_len || !p.num_gpu_blocks) && !m)
        return config_error("model '%s' has no architecture in the catalog; give "
                            "--max-model-len and --num-gpu-blocks",
                            e->model);
    if (!p.max_model_len) p.max_model_len = m->max_model_len;
    if (e->kv_cpu_blocks > 0) {
        if (!m)
            return config_error("the CPU KV tier needs the KV size of '%s', which the catalog "
                                "lacks (add it under models:)",
                                e->model);
        if (!e->enable_prefix_caching)
            return config_error("the CPU KV tier holds cached prefixes: it needs prefix caching");
        p.kv_cpu_blocks = e->kv_cpu_blocks;
        p.kv_cpu_bytes_per_us = e->kv_cpu_bandwidth_gbs * 1e3;
        p.kv_cpu_latency_us = e->kv_cpu_latency_us;
        p.kv_bytes_per_token = model_kv_bytes_per_token(m, e->tp);
    }
    if (!p.num_gpu_blocks) {
        const struct gpu_spec *g = catalog_gpu(c, e->gpu);
        if (!g) return unknown_gpu(c, e->gpu);
        p.num_gpu_blocks = kv_blocks_from_memory(m, g, e->tp, shards, e->block_size,
                                                 e->gpu_memory_utilization,
                                                 e->activation_reserve_gib);
        if (p.num_gpu_blocks < 1)
            return config_error("model '%s' with tp %lld leaves no room for KV blocks on '%s'",
                                e->model, (long long)e->tp, e->gpu);
    }
    *out = p;
    return 0;
}

int
config_apply_engine(const struct yaml_doc *doc, const struct yaml_node *node,
                    struct engine_config *engine)
{
    return load_engine(doc, node, engine);
}
