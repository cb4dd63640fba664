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
    double bandwidth_tbs;
    /* roofline: GPU-to-GPU link (tensor parallel all-reduces) and, when
     * not 0, this GPU's own efficiencies (else the roofline defaults) */
    double link_gbs, link_latency_us;
    double mfu_prefill, mfu_decode, memory_efficiency;
};

/* Roofline efficiencies used where a GPU names none, and the source. */
struct roofline_defaults {
    double mfu_prefill, mfu_decode, memory_efficiency, link_gbs, link_latency_us;
};

/* The one physics coefficient set (docs/latency-models.md). */
struct physics_set {
    bool present;
    double alpha[3];
    double k[PHYSICS_TERMS];
    char *source;
};

struct model_arch {
    char *id; /* lower case */
    int64_t layers, hidden, heads, kv_heads, head_dim, intermediate, vocab;
    int64_t experts, experts_per_token; /* 0 for dense models */
    int64_t max_model_len;
    bool tied_embeddings;
    int64_t weight_bytes; /* per parameter */
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

/* The roofline view of model on gpu under tensor parallelism tp. */
void catalog_roofline(const struct catalog *catalog, const struct model_arch *model,
                      const struct gpu_spec *gpu, int64_t tp, struct roofline *out);

/* Parameters of the model (embeddings, attention, MLP or experts, head). */
double model_parameters(const struct model_arch *model);
/* Parameters one token passes through in matmuls (active experts only, LM head included). */
double model_active_matmul_parameters(const struct model_arch *model);
/* KV bytes one token occupies on one GPU under tensor parallelism tp (bf16 KV). */
double model_kv_bytes_per_token(const struct model_arch *model, int64_t tp);
/*
 * KV blocks that fit on one GPU: (memory * utilization - weights/tp -
 * activation reserve) / (block_size * KV bytes per token). May be <= 0.
 */
int64_t kv_blocks_from_memory(const struct model_arch *model, const struct gpu_spec *gpu,
                              int64_t tp, int64_t block_size, double gpu_memory_utilization,
                              double activation_reserve_gib);

#endif
