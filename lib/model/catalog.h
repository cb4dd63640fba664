/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * catalog: what servesim knows about models, GPUs and fitted latency
 * coefficients, and the KV capacity that follows from them.
 *
 * The catalog owns every string and array in it (catalog_free releases
 * them). Lookups are pure: model ids match case-insensitively, GPU names
 * exactly; among several coefficient sets for one (model, GPU, TP) the
 * newest vLLM version wins unless one is asked for, and a set added later
 * (from a user's file) wins over an equal earlier one.
 */
#ifndef SERVESIM_MODEL_CATALOG_H
#define SERVESIM_MODEL_CATALOG_H

#include "model/latency.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gpu_spec {
    char *name;
    double memory_gib;
    double bf16_tflops;
    double fp8_tflops;
    /* measured bf16 matmul rate, 0 = unknown (docs/latency-models.md) */
    double matmul_tflops;
    double bandwidth_tbs;
    /* roofline: GPU-to-GPU link (tensor parallel all-reduces) and, when
     * not 0, this GPU's own efficiencies (else the roofline defaults; for
     * mfu_experts, the model's) */
    double link_gbs, link_latency_us;
    double mfu_prefill, mfu_decode, memory_efficiency, mfu_experts;
};

/*
 * Roofline efficiencies used where a GPU names none, and the GPU they were
 * measured on (NULL = none named): on a GPU whose matmul rate is measured the
 * two MFUs are scaled by how much of its data-sheet peak that rate reaches,
 * against the same share on measured_on.
 */
struct roofline_defaults {
    double mfu_prefill, mfu_decode, memory_efficiency, link_gbs, link_latency_us;
    char *measured_on;
};

/* The one physics coefficient set (docs/latency-models.md). */
struct physics_set {
    bool present;
    double alpha[3];
    double k[PHYSICS_TERMS];
    char *source;
};

/*
 * A model's architecture, as its Hugging Face config.json states it. Every
 * field after experts_per_token is optional: 0 (false) means the layout
 * the older fields describe alone (grouped-query attention, routed
 * experts of width intermediate in every layer, one weight dtype).
 */
struct model_arch {
    char *id; /* lower case */
    int64_t layers, hidden, heads, kv_heads, head_dim, intermediate, vocab;
    int64_t experts, experts_per_token; /* routed experts; 0 for dense models */
    /* mixture of experts: one expert's MLP width (0: intermediate), the
     * always-active shared experts of that width, and the first
     * dense_layers layers, whose MLP is dense and intermediate wide */
    int64_t moe_intermediate, shared_experts, dense_layers;
    /* multi-head latent attention (kv_lora_rank > 0): queries through a
     * q_lora_rank bottleneck (0: none), keys of qk_nope + qk_rope dims
     * (head_dim is their sum), values of v_head_dim; the cache holds a
     * kv_lora_rank latent and a qk_rope key per token and layer */
    int64_t kv_lora_rank, q_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim;
    /* sparse attention's indexer: index_heads query heads of index_head_dim
     * scoring every cached key (0: none) */
    int64_t index_heads, index_head_dim;
    int64_t max_model_len;
    bool tied_embeddings;
    /* bytes per parameter: MLP and experts; attention (and indexer);
     * embeddings and LM head. The last two equal weight_bytes unless the
     * config says otherwise (the loader fills them in) */
    int64_t weight_bytes, attention_weight_bytes, embedding_weight_bytes;
    /* not architecture: the share of peak FLOP/s vLLM's fused-MoE kernel
     * reaches on these routed experts on the roofline's measured_on GPU,
     * scaled to others like the roofline's MFUs (0: unknown, the experts
     * run at the phase's MFU; a GPU's own mfu_experts overrides it) */
    double mfu_experts;
};

struct coefficient_set {
    char *model; /* lower case */
    char *gpu;
    int64_t tp;
    char *vllm_version;
    double alpha[3]; /* queueing a0 + a1*input_tokens; a2 per output token (us) */
    double beta[3];  /* step b0 + b1*prefill_tokens + b2*decode_tokens (us) */
    char *source;
};

struct catalog {
    struct gpu_spec *gpus;
    size_t num_gpus;
    struct model_arch *models;
    size_t num_models;
    struct coefficient_set *coefficients;
    size_t num_coefficients;
    struct roofline_defaults roofline;
    struct physics_set physics;
};

void catalog_free(struct catalog *catalog);

const struct gpu_spec *catalog_gpu(const struct catalog *catalog, const char *name);
const struct model_arch *catalog_model(const struct catalog *catalog, const char *id);
/* version NULL or "newest": the newest known. */
const struct coefficient_set *catalog_coefficients(const struct catalog *catalog,
                                                   const char *model, const char *gpu, int64_t tp,
                                                   const char *version);

/* The factor by which the roofline defaults' MFUs, measured on
 * roofline.measured_on, carry over to gpu: the share of its data-sheet bf16
 * peak that its measured matmuls reach, over the same share on the GPU they
 * were measured on; 1 where either is unknown. */
double catalog_mfu_scale(const struct catalog *catalog, const struct gpu_spec *gpu);

/* The roofline view of model on gpu under tensor parallelism tp. */
void catalog_roofline(const struct catalog *catalog, const struct model_arch *model,
                      const struct gpu_spec *gpu, int64_t tp, struct roofline *out);

/* Parameters of the model (embeddings, attention, MLP or experts, head). */
double model_parameters(const struct model_arch *model);
/* Parameters one token passes through in matmuls (routed experts it picks,
 * shared experts, router, LM head). */
double model_active_matmul_parameters(const struct model_arch *model);
/* Bytes of weights one GPU holds under tensor parallelism tp: the split
 * share of every parameter plus, whole, those vLLM replicates on each rank
 * (the latent-attention down-projections and the indexer). */
double model_weight_bytes(const struct model_arch *model, int64_t tp);
/*
 * KV bytes one token occupies on one GPU under tensor parallelism tp: bf16
 * K and V of the GPU's share of the KV heads (whole heads, replicated when
 * fewer than ranks); for latent attention the bf16 latent and rope key,
 * which every rank holds whole, plus the indexer's fp8 keys.
 */
double model_kv_bytes_per_token(const struct model_arch *model, int64_t tp);
/* Bytes of the routed experts' weights one GPU holds under tensor parallelism tp. */
double model_routed_expert_bytes(const struct model_arch *model, int64_t tp);
/*
 * KV blocks that fit on one GPU: (memory * utilization - weights on the GPU -
 * activation reserve) / (block_size * KV bytes per token). May be <= 0.
 * Under expert parallelism over expert_shards GPUs (1: none) a GPU holds
 * that share of the routed experts.
 */
int64_t kv_blocks_from_memory(const struct model_arch *model, const struct gpu_spec *gpu,
                              int64_t tp, int64_t expert_shards, int64_t block_size,
                              double gpu_memory_utilization, double activation_reserve_gib);

#endif
