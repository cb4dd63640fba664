/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * latency: how long an engine step takes and what delays a request sees
 * (DESIGN §5; formulas and their sources in docs/latency-models.md).
 *
 * A step is described by its shape: the prefill and decode tokens it
 * computes, the requests in it, the attention pairs (for every token
 * computed, the keys it attends to: its own position + 1) and the KV
 * tokens it touches (for every request, its context before the step plus
 * the tokens it adds).
 *
 * - blackbox: b0 + b1*prefill_tokens + b2*decode_tokens, coefficients per
 *   model, GPU and TP fitted to real runs. Depends on token counts only
 *   (latency_context_free), which lets the engine leap over equal steps.
 * - roofline: no coefficients. The ideal times of the step's work on the
 *   GPU (struct step_terms: FLOPs over peak FLOP/s, bytes over bandwidth,
 *   TP all-reduces over the link), combined as max(compute at the
 *   phase's MFU, memory at the bandwidth utilisation) + communication;
 *   a model's routed experts compute at their own mfu_experts if it has one.
 *   Under expert parallelism each GPU of a lockstep group computes and
 *   reads its share of the routed experts for the group's tokens, and
 *   the tokens' hidden states cross the link to the GPUs holding them.
 * - physics: the same terms, each scaled by a fitted coefficient and
 *   summed, plus per-layer, per-request and per-step CPU constants; one
 *   coefficient set serves every model and GPU.
 * For every model a request waits a0 + a1*input_tokens between arrival
 * and the waiting queue, and each output token reaches the client a2
 * after the step that produced it. Times are rounded to whole
 * microseconds; a step lasts at least 1 us so the clock advances.
 */
#ifndef SERVESIM_MODEL_LATENCY_H
#define SERVESIM_MODEL_LATENCY_H

#include <stdbool.h>
#include <stdint.h>

enum latency_kind { LATENCY_BLACKBOX, LATENCY_ROOFLINE, LATENCY_PHYSICS };

struct step_shape {
    int64_t prefill_tokens, decode_tokens;
    int64_t requests;
    int64_t prefill_pairs, decode_pairs; /* attention (query, key) pairs */
    int64_t kv_tokens;                   /* KV read or written, all requests */
    /* under expert parallelism, the tokens of the whole lockstep group (this
     * engine's included), whose routed experts are shared out over the
     * group's GPUs; ignored unless the roofline has expert_shards > 1 */
    int64_t group_prefill_tokens, group_decode_tokens;
};

/* The hardware view of one model on one GPU under tensor parallelism, per GPU. */
struct roofline {
    double flops_per_token;      /* matmul FLOPs of one token in the layers: 2 x active params / tp */
    double flops_per_logit;      /* the LM head at one sampled position: 2 x vocab x hidden / tp */
    double flops_per_pair;       /* attention FLOPs of one (query, key) pair / tp */
    double flops_per_decode_pair; /* the same for a decode token; 0: flops_per_pair */
    double dense_weight_bytes;   /* weights read by any step (shared experts too) / tp */
    double expert_weight_bytes;  /* one routed expert's weights over all layers / tp; 0 if dense */
    int64_t experts, experts_per_token; /* routed */
    double expert_flops_per_token; /* the routed experts' part of flops_per_token */
    /* expert parallelism: the routed experts are spread over expert_shards
     * GPUs in lockstep (0 or 1: every GPU holds them all), and each MoE
     * layer sends the hidden states of the other GPUs' tokens over the link
     * twice (dispatch and combine): exchanges collectives per step */
    int64_t expert_shards;
    double exchange_bytes_per_token;
    int64_t exchanges;
    double kv_bytes_per_token;   /* the KV cache of one token, all layers, on one GPU */
    double allreduce_bytes_per_token; /* payload of a token's all-reduces (0 if tp = 1) */
    int64_t allreduces;          /* all-reduces per step (2 per layer if tp > 1) */
    int64_t layers;
    double peak_flops_per_us, bandwidth_bytes_per_us, link_bytes_per_us;
    double link_latency_us;      /* per all-reduce */
    /* roofline efficiencies; the routed experts' matmuls (a fused MoE
     * kernel, prompt and decode tokens alike) run at mfu_experts, or at the
     * phase's MFU when it is 0 */
    double mfu_prefill, mfu_decode, memory_efficiency, mfu_experts;
};

/* Ideal times (us) of a step's work: what the roofline and physics combine. */
struct step_terms {
    double prefill_compute, decode_compute, weights, kv, communication;
    /* the routed experts' part of prefill_compute and of decode_compute */
    double prefill_experts, decode_experts;
};

enum physics_term {
    PHYSICS_PREFILL_COMPUTE,
    PHYSICS_DECODE_COMPUTE,
    PHYSICS_MEMORY,        /* weights + KV */
    PHYSICS_COMMUNICATION,
    PHYSICS_PER_LAYER,     /* us per layer per step */
    PHYSICS_PER_REQUEST,   /* us per request in the step */
    PHYSICS_PER_STEP,      /* us per step */
    PHYSICS_MULTI_GPU_US,  /* us added to a request's arrival-to-queue time when tp > 1 */
    PHYSICS_PER_ALLREDUCE, /* us per tensor-parallel all-reduce, beyond the link's latency */
    PHYSICS_TERMS
};
extern const char *const physics_term_names[PHYSICS_TERMS];

struct latency_model {
    enum latency_kind kind;
    double alpha[3];
    double beta[3];                  /* blackbox */
    struct roofline hw;              /* roofline, physics */
    double physics[PHYSICS_TERMS];   /* physics */
};

/* "blackbox", "roofline", "physics"; NULL for an unknown name. */
const char *latency_kind_name(enum latency_kind kind);
int latency_kind_parse(const char *name, enum latency_kind *out);

/* True when a step's duration depends only on its token counts. */
bool latency_context_free(const struct latency_model *model);
void latency_terms(const struct roofline *hw, const struct step_shape *shape,
                   struct step_terms *out);
int64_t latency_step_us(const struct latency_model *model, const struct step_shape *shape);
int64_t latency_queue_delay_us(const struct latency_model *model, int64_t input_tokens);
int64_t latency_token_delay_us(const struct latency_model *model);

#endif
