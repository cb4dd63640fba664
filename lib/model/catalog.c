/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "model/catalog.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
catalog_free(struct catalog *c)
{
    for (size_t i = 0; i < c->num_gpus; i++) free(c->gpus[i].name);
    for (size_t i = 0; i < c->num_models; i++) free(c->models[i].id);
    for (size_t i = 0; i < c->num_coefficients; i++) {
        free(c->coefficients[i].model);
        free(c->coefficients[i].gpu);
        free(c->coefficients[i].vllm_version);
        free(c->coefficients[i].source);
    }
    free(c->physics.source);
    free(c->gpus);
    free(c->models);
    free(c->coefficients);
    memset(c, 0, sizeof *c);
}

const struct gpu_spec *
catalog_gpu(const struct catalog *c, const char *name)
{
    for (size_t i = c->num_gpus; i-- > 0;)
        if (strcmp(c->gpus[i].name, name) == 0) return &c->gpus[i];
    return NULL;
}

const struct model_arch *
catalog_model(const struct catalog *c, const char *id)
{
    for (size_t i = c->num_models; i-- > 0;)
        if (strcasecmp(c->models[i].id, id) == 0) return &c->models[i];
    return NULL;
}

/* Compares dotted version numbers numerically ("0.11.0" > "0.8.4"). */
static int
version_compare(const char *a, const char *b)
{
    while (*a || *b) {
        char *end_a, *end_b;
        unsigned long x = strtoul(a, &end_a, 10), y = strtoul(b, &end_b, 10);
        if (x != y) return x < y ? -1 : 1;
        a = *end_a ? end_a + 1 : end_a;
        b = *end_b ? end_b + 1 : end_b;
        if (end_a == a && end_b == b) break;
    }
    return 0;
}

const struct coefficient_set *
catalog_coefficients(const struct catalog *c, const char *model, const char *gpu, int64_t tp,
                     const char *version)
{
    bool newest = !version || strcmp(version, "newest") == 0;
    const struct coefficient_set *best = NULL;
    for (size_t i = 0; i < c->num_coefficients; i++) {
        const struct coefficient_set *s = &c->coefficients[i];
        if (strcasecmp(s->model, model) != 0 || strcmp(s->gpu, gpu) != 0 || s->tp != tp) continue;
        if (!newest && strcmp(s->vllm_version, version) != 0) continue;
        if (!best || version_compare(s->vllm_version, best->vllm_version) >= 0) best = s;
    }
    return best;
}

/* The attention projections of one layer (q, k, v, o). */
static double
attention_parameters(const struct model_arch *m)
{
    double h = (double)m->hidden, q = (double)(m->heads * m->head_dim),
           kv = (double)(m->kv_heads * m->head_dim);
    return h * q + 2 * h * kv + q * h;
}

double
model_parameters(const struct model_arch *m)
{
    double h = (double)m->hidden, attention = attention_parameters(m);
    /* gated MLP: gate, up and down projections */
    double mlp = 3 * h * (double)m->intermediate;
    if (m->experts > 0) mlp = (double)m->experts * mlp + h * (double)m->experts; /* + router */
    double embeddings = (double)m->vocab * h * (m->tied_embeddings ? 1 : 2);
    return embeddings + (double)m->layers * (attention + mlp);
}

double
model_active_matmul_parameters(const struct model_arch *m)
{
    double h = (double)m->hidden, mlp = 3 * h * (double)m->intermediate;
    if (m->experts > 0) mlp = (double)m->experts_per_token * mlp + h * (double)m->experts;
    return (double)m->layers * (attention_parameters(m) + mlp) + (double)m->vocab * h;
}

void
catalog_roofline(const struct catalog *c, const struct model_arch *m, const struct gpu_spec *g,
                 int64_t tp, struct roofline *out)
{
    const struct roofline_defaults *d = &c->roofline;
    double t = (double)tp, h = (double)m->hidden;
    double one_expert = 3 * h * (double)m->intermediate * (double)m->layers;
    double all = model_parameters(m) - (m->tied_embeddings ? 0 : (double)m->vocab * h);
    double dense = m->experts > 0 ? all - (double)m->experts * one_expert : all;
    double bytes = (double)m->weight_bytes;
    double link = g->link_gbs > 0 ? g->link_gbs : d->link_gbs;
    *out = (struct roofline){
        .flops_per_token = 2 * model_active_matmul_parameters(m) / t,
        .flops_per_pair = 4.0 * (double)(m->heads * m->head_dim) * (double)m->layers / t,
        .dense_weight_bytes = dense * bytes / t,
        .expert_weight_bytes = m->experts > 0 ? one_expert * bytes / t : 0,
        .experts = m->experts,
        .experts_per_token = m->experts_per_token,
        .kv_bytes_per_token = model_kv_bytes_per_token(m, tp),
        /* ring all-reduce of a token's hidden state (bf16), twice per layer */
        .allreduce_bytes_per_token = tp > 1 ? 2.0 * (double)m->layers * h * 2.0 * 2.0 * (t - 1) / t : 0,
        .allreduces = tp > 1 ? 2 * m->layers : 0,
        .layers = m->layers,
        .peak_flops_per_us = g->bf16_tflops * 1e6,
        .bandwidth_bytes_per_us = g->bandwidth_tbs * 1e6,
        .link_bytes_per_us = link * 1e3,
        .link_latency_us = g->link_latency_us > 0 ? g->link_latency_us : d->link_latency_us,
        .mfu_prefill = g->mfu_prefill > 0 ? g->mfu_prefill : d->mfu_prefill,
        .mfu_decode = g->mfu_decode > 0 ? g->mfu_decode : d->mfu_decode,
        .memory_efficiency = g->memory_efficiency > 0 ? g->memory_efficiency : d->memory_efficiency,
    };
}

double
model_kv_bytes_per_token(const struct model_arch *m, int64_t tp)
{
    /* K and V, every layer; KV heads split across TP ranks, replicated when fewer than ranks */
    double heads_per_gpu = fmax(1.0, (double)m->kv_heads / (double)tp);
    return 2.0 * (double)m->layers * heads_per_gpu * (double)m->head_dim * 2.0;
}

int64_t
kv_blocks_from_memory(const struct model_arch *m, const struct gpu_spec *g, int64_t tp,
                      int64_t block_size, double utilization, double activation_reserve_gib)
{
    const double gib = 1024.0 * 1024.0 * 1024.0;
    double weights = model_parameters(m) * (double)m->weight_bytes / (double)tp;
    double free_bytes = g->memory_gib * gib * utilization - weights - activation_reserve_gib * gib;
    double block_bytes = (double)block_size * model_kv_bytes_per_token(m, tp);
    return (int64_t)floor(free_bytes / block_bytes);
}
