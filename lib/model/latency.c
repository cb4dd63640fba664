/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "model/latency.h"

#include <math.h>
#include <string.h>

const char *const physics_term_names[PHYSICS_TERMS] = {
    [PHYSICS_PREFILL_COMPUTE] = "prefill_compute",
    [PHYSICS_DECODE_COMPUTE] = "decode_compute",
    [PHYSICS_MEMORY] = "memory",
    [PHYSICS_COMMUNICATION] = "communication",
    [PHYSICS_PER_LAYER] = "per_layer_us",
    [PHYSICS_PER_REQUEST] = "per_request_us",
    [PHYSICS_PER_STEP] = "per_step_us",
    [PHYSICS_MULTI_GPU_US] = "multi_gpu_arrival_us",
    [PHYSICS_PER_ALLREDUCE] = "per_allreduce_us",
};

static const char *const kind_names[] = {
    [LATENCY_BLACKBOX] = "blackbox",
    [LATENCY_ROOFLINE] = "roofline",
    [LATENCY_PHYSICS] = "physics",
};

const char *
latency_kind_name(enum latency_kind kind)
{
    return (unsigned)kind < sizeof kind_names / sizeof *kind_names ? kind_names[kind] : NULL;
}

int
latency_kind_parse(const char *name, enum latency_kind *out)
{
    for (size_t k = 0; k < sizeof kind_names / sizeof *kind_names; k++)
        if (strcmp(name, kind_names[k]) == 0) {
            *out = (enum latency_kind)k;
            return 0;
        }
    return -1;
}

bool
latency_context_free(const struct latency_model *m)
{
    return m->kind == LATENCY_BLACKBOX;
}

/* Routed experts a step's tokens touch per layer, in expectation, when each
 * token picks k of E uniformly: E * (1 - (1 - k/E)^tokens). Shared experts
 * are read by every step and counted in the dense weights. */
static double
experts_touched(const struct roofline *hw, int64_t tokens)
{
    if (hw->experts <= 0) return 0;
    double e = (double)hw->experts, k = (double)hw->experts_per_token;
    return e * (1.0 - pow(1.0 - k / e, (double)tokens));
}

void
latency_terms(const struct roofline *hw, const struct step_shape *s, struct step_terms *out)
{
    double tokens = (double)(s->prefill_tokens + s->decode_tokens);
    /* logits are computed at one position of each request in the step (vLLM
     * samples every scheduled request and drops a partial prefill's token),
     * not at every prompt token */
    int64_t prefilling = s->requests > s->decode_tokens ? s->requests - s->decode_tokens : 0;
    double flops_prefill = hw->flops_per_token * (double)s->prefill_tokens +
                           hw->flops_per_logit * (double)prefilling +
                           hw->flops_per_pair * (double)s->prefill_pairs;
    double decode_pair = hw->flops_per_decode_pair > 0 ? hw->flops_per_decode_pair
                                                       : hw->flops_per_pair;
    double flops_decode = (hw->flops_per_token + hw->flops_per_logit) * (double)s->decode_tokens +
                          decode_pair * (double)s->decode_pairs;
    double communication = hw->allreduces > 0
                               ? (double)hw->allreduces * hw->link_latency_us +
                                     hw->allreduce_bytes_per_token * tokens / hw->link_bytes_per_us
                               : 0;
    /* the tokens whose routed experts this GPU serves: its own, or under
     * expert parallelism its share of the lockstep group's (its own included) */
    double shards = hw->expert_shards > 1 ? (double)hw->expert_shards : 1;
    int64_t routed_prefill = s->prefill_tokens, routed_decode = s->decode_tokens;
    if (shards > 1) {
        if (s->group_prefill_tokens > routed_prefill) routed_prefill = s->group_prefill_tokens;
        if (s->group_decode_tokens > routed_decode) routed_decode = s->group_decode_tokens;
        /* the hidden states of the others' tokens come in (and its own go
         * out) at every exchange */
        double group = (double)(routed_prefill + routed_decode);
        double crossing = fmax(tokens * (shards - 1), group - tokens);
        communication += (double)hw->exchanges * hw->link_latency_us +
                         hw->exchange_bytes_per_token * crossing / hw->link_bytes_per_us;
    }
    /* own tokens' expert work out, the served share in (the same without
     * expert parallelism) */
    double experts_prefill = hw->expert_flops_per_token * (double)routed_prefill / shards;
    double experts_decode = hw->expert_flops_per_token * (double)routed_decode / shards;
    flops_prefill += experts_prefill - hw->expert_flops_per_token * (double)s->prefill_tokens;
    flops_decode += experts_decode - hw->expert_flops_per_token * (double)s->decode_tokens;
    double touched = experts_touched(hw, routed_prefill + routed_decode) / shards;
    double weights = hw->dense_weight_bytes + hw->expert_weight_bytes * touched;
    double peak = hw->peak_flops_per_us;
    *out = (struct step_terms){
        .prefill_compute = flops_prefill / peak,
        .decode_compute = flops_decode / peak,
        .weights = weights / hw->bandwidth_bytes_per_us,
        .kv = hw->kv_bytes_per_token * (double)s->kv_tokens / hw->bandwidth_bytes_per_us,
        .communication = communication,
        .prefill_experts = experts_prefill / peak,
        .decode_experts = experts_decode / peak,
    };
}

static int64_t
whole_us(double us)
{
    int64_t rounded = llround(us);
    return rounded < 1 ? 1 : rounded;
}

int64_t
latency_step_us(const struct latency_model *m, const struct step_shape *s)
{
    if (m->kind == LATENCY_BLACKBOX)
        return whole_us(m->beta[0] + m->beta[1] * (double)s->prefill_tokens +
                        m->beta[2] * (double)s->decode_tokens);
    struct step_terms t;
    latency_terms(&m->hw, s, &t);
    if (m->kind == LATENCY_ROOFLINE) {
        const struct roofline *hw = &m->hw;
        double prefill = t.prefill_compute, decode = t.decode_compute, experts = 0;
        if (hw->mfu_experts > 0) {
            /* the routed experts run in their own kernel, at their own efficiency */
            prefill -= t.prefill_experts;
            decode -= t.decode_experts;
            experts = (t.prefill_experts + t.decode_experts) / hw->mfu_experts;
        }
        double compute = prefill / hw->mfu_prefill + decode / hw->mfu_decode + experts;
        double memory = (t.weights + t.kv) / hw->memory_efficiency;
        return whole_us(fmax(compute, memory) + t.communication);
    }
    const double *k = m->physics;
    /* as in the roofline, a step waits for the slower of its compute and its
     * memory traffic: a prefill chunk riding in a memory-bound decode step
     * costs little, which a sum would charge in full */
    double compute = k[PHYSICS_PREFILL_COMPUTE] * t.prefill_compute +
                     k[PHYSICS_DECODE_COMPUTE] * t.decode_compute;
    double memory = k[PHYSICS_MEMORY] * (t.weights + t.kv);
    return whole_us(fmax(compute, memory) + k[PHYSICS_COMMUNICATION] * t.communication +
                    k[PHYSICS_PER_LAYER] * (double)m->hw.layers +
                    k[PHYSICS_PER_ALLREDUCE] * (double)m->hw.allreduces +
                    k[PHYSICS_PER_REQUEST] * (double)s->requests + k[PHYSICS_PER_STEP]);
}

int64_t
latency_queue_delay_us(const struct latency_model *m, int64_t input_tokens)
{
    double multi_gpu =
        m->kind == LATENCY_PHYSICS && m->hw.allreduces > 0 ? m->physics[PHYSICS_MULTI_GPU_US] : 0;
    int64_t rounded = llround(m->alpha[0] + multi_gpu + m->alpha[1] * (double)input_tokens);
    return rounded < 0 ? 0 : rounded;
}

int64_t
latency_token_delay_us(const struct latency_model *m)
{
    int64_t rounded = llround(m->alpha[2]);
    return rounded < 0 ? 0 : rounded;
}
