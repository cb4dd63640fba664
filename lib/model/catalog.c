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
    free(c->roofline.measured_on);
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

/* One expert's MLP width. */
static double
expert_width(const struct model_arch *m)
{
    return (double)(m->moe_intermediate > 0 ? m->moe_intermediate : m->intermediate);
}

/* Layers with a mixture-of-experts MLP, and layers with a dense one. */
static double
moe_layers(const struct model_arch *m)
{
    return m->experts > 0 ? (double)(m->layers - m->dense_layers) : 0;
}

static double
dense_mlp_layers(const struct model_arch *m)
{
    return (double)(m->experts > 0 ? m->dense_layers : m->layers);
}

/*
 * The attention projections of one layer that tensor parallelism splits by
 * head: q, k, v and o; with latent attention, the query projection (from
 * the q latent, or from the hidden state without one), the up-projection
 * of the KV latent to each head's key (nope part) and value, and o.
 */
static double
split_attention_parameters(const struct model_arch *m)
{
    double h = (double)m->hidden;
    if (m->kv_lora_rank == 0) {
        double q = (double)(m->heads * m->head_dim), kv = (double)(m->kv_heads * m->head_dim);
        return h * q + 2 * h * kv + q * h;
    }
    double heads = (double)m->heads, q_in = m->q_lora_rank > 0 ? (double)m->q_lora_rank : h;
    double key = (double)(m->qk_nope_head_dim + m->qk_rope_head_dim);
    double up = (double)m->kv_lora_rank * heads * (double)(m->qk_nope_head_dim + m->v_head_dim);
    return q_in * heads * key + up + heads * (double)m->v_head_dim * h;
}

/*
 * The attention projections of one layer every TP rank holds whole: vLLM
 * builds the latent-attention down-projections (hidden to the q latent,
 * and to the KV latent plus the shared rope key) and the sparse-attention
 * indexer (its query from the q latent, its key and per-head weights from
 * the hidden state) as replicated layers. 0 for grouped-query attention.
 */
static double
replicated_attention_parameters(const struct model_arch *m)
{
    if (m->kv_lora_rank == 0) return 0;
    double h = (double)m->hidden, q_in = m->q_lora_rank > 0 ? (double)m->q_lora_rank : h;
    double down = h * (double)(m->q_lora_rank + m->kv_lora_rank + m->qk_rope_head_dim);
    double heads = (double)m->index_heads, dim = (double)m->index_head_dim;
    return down + q_in * heads * dim + h * dim + h * heads;
}

/* All layers' MLP parameters: gated MLPs (gate, up and down projections),
 * dense or, per MoE layer, routed and shared experts and the router. */
static double
mlp_parameters(const struct model_arch *m)
{
    double h = (double)m->hidden, expert = 3 * h * expert_width(m);
    double moe = (double)(m->experts + m->shared_experts) * expert + h * (double)m->experts;
    return dense_mlp_layers(m) * 3 * h * (double)m->intermediate + moe_layers(m) * moe;
}

double
model_parameters(const struct model_arch *m)
{
    double h = (double)m->hidden;
    double attention = split_attention_parameters(m) + replicated_attention_parameters(m);
    double embeddings = (double)m->vocab * h * (m->tied_embeddings ? 1 : 2);
    return embeddings + (double)m->layers * attention + mlp_parameters(m);
}

double
model_active_matmul_parameters(const struct model_arch *m)
{
    double h = (double)m->hidden, expert = 3 * h * expert_width(m);
    double attention = split_attention_parameters(m) + replicated_attention_parameters(m);
    double moe =
        (double)(m->experts_per_token + m->shared_experts) * expert + h * (double)m->experts;
    return (double)m->layers * attention + dense_mlp_layers(m) * 3 * h * (double)m->intermediate +
           moe_layers(m) * moe + (double)m->vocab * h;
}

/* One routed expert's parameters over all MoE layers. */
static double
one_expert_parameters(const struct model_arch *m)
{
    return 3 * (double)m->hidden * expert_width(m) * moe_layers(m);
}

/* Weight bytes of the whole model that TP splits; *replicated gets those
 * every rank holds whole. Sums of whole numbers, exact in a double. */
static double
split_weight_bytes(const struct model_arch *m, double *replicated)
{
    double h = (double)m->hidden, layers = (double)m->layers;
    double embeddings = (double)m->vocab * h * (m->tied_embeddings ? 1 : 2);
    *replicated = layers * replicated_attention_parameters(m) * (double)m->attention_weight_bytes;
    return embeddings * (double)m->embedding_weight_bytes +
           layers * split_attention_parameters(m) * (double)m->attention_weight_bytes +
           mlp_parameters(m) * (double)m->weight_bytes;
}

double
model_weight_bytes(const struct model_arch *m, int64_t tp)
{
    double replicated, split = split_weight_bytes(m, &replicated);
    return split / (double)tp + replicated;
}

double
model_routed_expert_bytes(const struct model_arch *m, int64_t tp)
{
    return (double)m->experts * one_expert_parameters(m) * (double)m->weight_bytes / (double)tp;
}

double
catalog_mfu_scale(const struct catalog *c, const struct gpu_spec *g)
{
    const char *on = c->roofline.measured_on;
    const struct gpu_spec *ref = on ? catalog_gpu(c, on) : NULL;
    if (!ref || ref->matmul_tflops <= 0 || ref->bf16_tflops <= 0 || g->matmul_tflops <= 0 ||
        g->bf16_tflops <= 0)
        return 1;
    return (g->matmul_tflops / g->bf16_tflops) / (ref->matmul_tflops / ref->bf16_tflops);
}

void
catalog_roofline(const struct catalog *c, const struct model_arch *m, const struct gpu_spec *g,
                 int64_t tp, struct roofline *out)
{
    const struct roofline_defaults *d = &c->roofline;
    double t = (double)tp, h = (double)m->hidden, layers = (double)m->layers;
    double one_expert = one_expert_parameters(m) * (double)m->weight_bytes;
    /* a step reads every weight but the input embeddings (looked up, not
     * multiplied) and the routed experts no token picked */
    double replicated, split = split_weight_bytes(m, &replicated);
    if (!m->tied_embeddings) split -= (double)m->vocab * h * (double)m->embedding_weight_bytes;
    split -= (double)m->experts * one_expert;
    double replicated_active = layers * replicated_attention_parameters(m);
    double logit = (double)m->vocab * h; /* the output projection, vocabulary-parallel */
    double pair = 4.0 * (double)(m->heads * m->head_dim) * layers / t, decode_pair = pair;
    if (m->kv_lora_rank > 0) {
        /* prefill: per-head keys and values decompressed from the latent;
         * decode: queries absorbed into the latent (multi-query attention
         * over kv_lora + rope dims, values kv_lora wide); the indexer
         * scores every pair on every rank */
        double heads = (double)m->heads, rope = (double)m->qk_rope_head_dim;
        double key = (double)m->qk_nope_head_dim + rope, latent = (double)m->kv_lora_rank;
        double indexer = 2.0 * (double)(m->index_heads * m->index_head_dim) * layers;
        pair = 2.0 * heads * (key + (double)m->v_head_dim) * layers / t + indexer;
        decode_pair = 2.0 * heads * (2 * latent + rope) * layers / t + indexer;
    }
    double link = g->link_gbs > 0 ? g->link_gbs : d->link_gbs;
    double scale = catalog_mfu_scale(c, g);
    *out = (struct roofline){
        .flops_per_token = 2 * (model_active_matmul_parameters(m) - logit - replicated_active) / t +
                           2 * replicated_active,
        .flops_per_logit = 2 * logit / t,
        .flops_per_pair = pair,
        .flops_per_decode_pair = decode_pair,
        .dense_weight_bytes = split / t + replicated,
        .expert_weight_bytes = m->experts > 0 ? one_expert / t : 0,
        .experts = m->experts,
        .experts_per_token = m->experts_per_token,
        .expert_flops_per_token = 2 * (double)m->experts_per_token * one_expert_parameters(m) / t,
        .expert_shards = 1,
        /* a token's bf16 hidden state, out to its experts and back, per MoE layer */
        .exchange_bytes_per_token = 2.0 * moe_layers(m) * h * 2.0,
        .exchanges = 2 * (int64_t)moe_layers(m),
        .kv_bytes_per_token = model_kv_bytes_per_token(m, tp),
        /* ring all-reduce of a token's hidden state (bf16), twice per layer */
        .allreduce_bytes_per_token = tp > 1 ? 2.0 * (double)m->layers * h * 2.0 * 2.0 * (t - 1) / t : 0,
        .allreduces = tp > 1 ? 2 * m->layers : 0,
        .layers = m->layers,
        .peak_flops_per_us = g->bf16_tflops * 1e6,
        .bandwidth_bytes_per_us = g->bandwidth_tbs * 1e6,
        .link_bytes_per_us = link * 1e3,
        .link_latency_us = g->link_latency_us > 0 ? g->link_latency_us : d->link_latency_us,
        .mfu_prefill = g->mfu_prefill > 0 ? g->mfu_prefill : fmin(1, d->mfu_prefill * scale),
        .mfu_decode = g->mfu_decode > 0 ? g->mfu_decode : fmin(1, d->mfu_decode * scale),
        .memory_efficiency = g->memory_efficiency > 0 ? g->memory_efficiency : d->memory_efficiency,
        .mfu_experts = g->mfu_experts > 0 ? g->mfu_experts : fmin(1, m->mfu_experts * scale),
    };
}

double
model_kv_bytes_per_token(const struct model_arch *m, int64_t tp)
{
    if (m->kv_lora_rank > 0) {
        /* vLLM caches one latent "head" (kv_lora + rope, bf16) per layer and
         * gives every TP rank all of it; the indexer's keys are fp8 with a
         * 4-byte scale per 128 */
        double latent = (double)(m->kv_lora_rank + m->qk_rope_head_dim) * 2.0;
        double indexer = (double)(m->index_head_dim + 4 * ((m->index_head_dim + 127) / 128));
        return (double)m->layers * (latent + indexer);
    }
    /* K and V, every layer; KV heads split across TP ranks, replicated when fewer than ranks */
    double heads_per_gpu = fmax(1.0, (double)m->kv_heads / (double)tp);
    return 2.0 * (double)m->layers * heads_per_gpu * (double)m->head_dim * 2.0;
}

int64_t
kv_blocks_from_memory(const struct model_arch *m, const struct gpu_spec *g, int64_t tp,
                      int64_t expert_shards, int64_t block_size, double utilization,
                      double activation_reserve_gib)
{
    const double gib = 1024.0 * 1024.0 * 1024.0;
    double weights = model_weight_bytes(m, tp);
    if (expert_shards > 1)
        weights -= model_routed_expert_bytes(m, tp) * (1.0 - 1.0 / (double)expert_shards);
    double free_bytes = g->memory_gib * gib * utilization - weights - activation_reserve_gib * gib;
    double block_bytes = (double)block_size * model_kv_bytes_per_token(m, tp);
    return (int64_t)floor(free_bytes / block_bytes);
}
