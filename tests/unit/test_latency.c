/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_latency: each latency model on steps computed by hand, and the
 * roofline the catalog derives for a real model. The hardware below is
 * made up so the arithmetic is easy: 100 TFLOP/s (1e8 FLOP per us),
 * 2 TB/s (2e6 bytes per us), a 2 GFLOP-per-token model with 4 GB of
 * weights and 200 kB of KV per token.
 */
#include "check.h"

#include "config/config.h"
#include "model/latency.h"

#include <string.h>

static struct roofline
toy_hardware(void)
{
    return (struct roofline){
        .flops_per_token = 2e9, .flops_per_pair = 1e6, .dense_weight_bytes = 4e9,
        .kv_bytes_per_token = 2e5, .peak_flops_per_us = 1e8, .bandwidth_bytes_per_us = 2e6,
        .mfu_prefill = 0.5, .mfu_decode = 0.25, .memory_efficiency = 0.8, .layers = 32,
    };
}

/* A 1000-token prompt from scratch (pairs 1000*1001/2) beside 10 decodes
 * whose contexts sum to 5000 (pairs and KV tokens 5000 + 10). */
static const struct step_shape mixed = {
    .prefill_tokens = 1000, .decode_tokens = 10, .requests = 11,
    .prefill_pairs = 500500, .decode_pairs = 5010, .kv_tokens = 1000 + 5010,
};
static const struct step_shape decode_only = {
    .decode_tokens = 10, .requests = 10, .decode_pairs = 5010, .kv_tokens = 5010,
};

TEST(blackbox_step_by_hand)
{
    struct latency_model m = {.kind = LATENCY_BLACKBOX, .alpha = {1000, 2, 50},
                              .beta = {5000, 10, 100}};
    /* 5000 + 10*1000 + 100*10 */
    CHECK_EQ(latency_step_us(&m, &mixed), 16000);
    CHECK_EQ(latency_queue_delay_us(&m, 300), 1600);
    CHECK_EQ(latency_token_delay_us(&m), 50);
    CHECK(latency_context_free(&m));
}

/*
 * Terms of the mixed step: prefill compute (2e9*1000 + 1e6*500500)/1e8 =
 * 25005 us, decode compute (2e9*10 + 1e6*5010)/1e8 = 250.1 us, weights
 * 4e9/2e6 = 2000 us, KV 2e5*6010/2e6 = 601 us.
 */
TEST(roofline_terms_and_steps_by_hand)
{
    struct latency_model m = {.kind = LATENCY_ROOFLINE, .hw = toy_hardware()};
    struct step_terms t;
    latency_terms(&m.hw, &mixed, &t);
    CHECK_NEAR(t.prefill_compute, 25005.0, 1e-6);
    CHECK_NEAR(t.decode_compute, 250.1, 1e-6);
    CHECK_NEAR(t.weights, 2000.0, 1e-6);
    CHECK_NEAR(t.kv, 601.0, 1e-6);
    CHECK_NEAR(t.communication, 0.0, 0.0);
    /* compute-bound: 25005/0.5 + 250.1/0.25 = 51010.4 beats (2000+601)/0.8 */
    CHECK_EQ(latency_step_us(&m, &mixed), 51010);
    /* memory-bound decode: (2000 + 501)/0.8 = 3126.25 beats 250.1/0.25 */
    CHECK_EQ(latency_step_us(&m, &decode_only), 3126);
    CHECK(!latency_context_free(&m));
    /* tensor parallel: 64 all-reduces of 5 us, and 1e5 bytes per token over
     * a 1e5 bytes/us link for 10 tokens: 320 + 10 us on top */
    m.hw.allreduces = 64;
    m.hw.link_latency_us = 5;
    m.hw.allreduce_bytes_per_token = 1e5;
    m.hw.link_bytes_per_us = 1e5;
    CHECK_EQ(latency_step_us(&m, &decode_only), 3126 + 330);
}

/*
 * The LM head (flops_per_logit, here 5e8) runs once per request in a step,
 * not per prompt token: in the mixed step (one prompt of 1000 tokens, 10
 * decodes) the prompt adds 5e8/1e8 = 5 us to prefill compute and the decodes
 * 10*5 = 50 us to decode compute. A step with the prompt split over two
 * requests' chunks and no decode pays two rows: 2*5 us.
 */
TEST(roofline_charges_the_lm_head_once_per_request)
{
    struct roofline hw = toy_hardware();
    hw.flops_per_logit = 5e8;
    struct step_terms t;
    latency_terms(&hw, &mixed, &t);
    CHECK_NEAR(t.prefill_compute, 25005.0 + 5, 1e-6);
    CHECK_NEAR(t.decode_compute, 250.1 + 50, 1e-6);
    struct step_shape two = {.prefill_tokens = 1000, .requests = 2, .prefill_pairs = 500500,
                             .kv_tokens = 1000};
    latency_terms(&hw, &two, &t);
    CHECK_NEAR(t.prefill_compute, 25005.0 + 10, 1e-6);
    CHECK_NEAR(t.decode_compute, 0.0, 0.0);
}

/* With 8 experts, 2 per token, one token touches 8*(1 - (6/8)^1) = 2 of
 * them; 10000 tokens touch all 8 (to within 1e-9). */
TEST(roofline_counts_the_experts_a_step_touches)
{
    struct roofline hw = toy_hardware();
    hw.experts = 8;
    hw.experts_per_token = 2;
    hw.expert_weight_bytes = 1e9;
    struct step_terms t;
    struct step_shape one = {.decode_tokens = 1, .requests = 1, .decode_pairs = 1, .kv_tokens = 1};
    latency_terms(&hw, &one, &t);
    CHECK_NEAR(t.weights, (4e9 + 2e9) / 2e6, 1e-6);
    struct step_shape many = {.prefill_tokens = 10000, .requests = 1};
    latency_terms(&hw, &many, &t);
    CHECK_NEAR(t.weights, (4e9 + 8e9) / 2e6, 1e-3);
}

/*
 * Expert parallelism over 2 GPUs, the decode step above on one of them
 * while the other decodes 20 tokens (30 in the group). The routed experts
 * are 1 GFLOP of the 2 per token: this GPU computes its own 10 tokens'
 * dense part and half the group's expert work, so decode compute gains
 * 1e9*(30/2 - 10)/1e8 = 50 us, to 300.1. 30 tokens touch
 * 8*(1 - 0.75^30) = 7.998571 experts, half of them here: weights
 * (4e9 + 1e9*3.999286)/2e6 = 3999.6428 us. The exchange: 20 collectives
 * of 5 us, and the others' 20 tokens (more than the 10 sent) of 1e4 bytes
 * over 1e5 bytes/us: 102 us. Step: (3999.6428 + 501)/0.8 + 102 = 5727.80.
 * A GPU of the group with no tokens of its own still reads and computes
 * its share: compute 1e9*15/1e8/0.25 = 600, memory 3999.6428/0.8, the
 * exchange 100 + 30*1e4/1e5: 5102.55 us.
 */
TEST(roofline_shares_the_experts_out_under_expert_parallelism)
{
    struct latency_model m = {.kind = LATENCY_ROOFLINE, .hw = toy_hardware()};
    m.hw.experts = 8;
    m.hw.experts_per_token = 2;
    m.hw.expert_weight_bytes = 1e9;
    m.hw.expert_flops_per_token = 1e9;
    m.hw.exchange_bytes_per_token = 1e4;
    m.hw.exchanges = 20;
    m.hw.link_latency_us = 5;
    m.hw.link_bytes_per_us = 1e5;
    struct step_shape own = decode_only;
    own.group_decode_tokens = 30;
    /* not sharded: the group's tokens change nothing */
    struct step_terms alone, t;
    struct step_shape plain = decode_only;
    latency_terms(&m.hw, &plain, &alone);
    latency_terms(&m.hw, &own, &t);
    CHECK_NEAR(t.decode_compute, alone.decode_compute, 0.0);
    CHECK_NEAR(t.weights, alone.weights, 0.0);
    CHECK_NEAR(t.communication, 0.0, 0.0);
    m.hw.expert_shards = 2;
    latency_terms(&m.hw, &own, &t);
    CHECK_NEAR(t.decode_compute, 300.1, 1e-9);
    CHECK_NEAR(t.weights, 3999.6428358, 1e-6);
    CHECK_NEAR(t.kv, 501.0, 1e-9);
    CHECK_NEAR(t.communication, 102.0, 1e-9);
    CHECK_NEAR(t.decode_experts, 1e9 * 30 / 2 / 1e8, 1e-9); /* its share of the group's */
    CHECK_EQ(latency_step_us(&m, &own), 5728);
    struct step_shape idle = {.group_decode_tokens = 30};
    CHECK_EQ(latency_step_us(&m, &idle), 5103);
}

/*
 * The routed experts at their own efficiency: 1 GFLOP of the 2 per token is
 * expert work, so of the mixed step's compute, 1e9*1000/1e8 = 10000 us
 * (prefill) and 1e9*10/1e8 = 100 us (decode) are the experts'. With no
 * mfu_experts they run at the phase's MFU: 25005/0.5 + 250.1/0.25 =
 * 51010.4 us. At mfu_experts 0.2: (25005 - 10000)/0.5 + (250.1 - 100)/0.25
 * + (10000 + 100)/0.2 = 30010 + 600.4 + 50500 = 81110.4 us. Physics scales
 * the phases' compute whole and ignores it.
 */
TEST(roofline_runs_the_experts_at_their_own_efficiency)
{
    struct latency_model m = {.kind = LATENCY_ROOFLINE, .hw = toy_hardware()};
    m.hw.experts = 8;
    m.hw.experts_per_token = 2;
    m.hw.expert_flops_per_token = 1e9;
    struct step_terms t;
    latency_terms(&m.hw, &mixed, &t);
    CHECK_NEAR(t.prefill_experts, 10000.0, 1e-9);
    CHECK_NEAR(t.decode_experts, 100.0, 1e-9);
    CHECK_NEAR(t.prefill_compute, 25005.0, 1e-6);
    CHECK_EQ(latency_step_us(&m, &mixed), 51010);
    m.hw.mfu_experts = 0.2;
    CHECK_EQ(latency_step_us(&m, &mixed), 81110);
    m.kind = LATENCY_PHYSICS;
    m.physics[PHYSICS_PREFILL_COMPUTE] = 1;
    m.physics[PHYSICS_DECODE_COMPUTE] = 1;
    int64_t with = latency_step_us(&m, &mixed);
    m.hw.mfu_experts = 0;
    CHECK_EQ(latency_step_us(&m, &mixed), with);
    CHECK_EQ(with, 25255); /* 25005 + 250.1, compute-bound */
}

/*
 * Physics on the decode step with the all-reduces above: the slower of
 * compute 3*250.1 = 750.3 and memory 1.5*(2000+501) = 3751.5 (memory-bound),
 * plus 1*330 (communication) + 2*64 (all-reduces) + 10*32 (layers) + 20*10
 * (requests) + 100 (step) = 4829.5 us, rounded half away from zero.
 */
TEST(physics_step_by_hand)
{
    struct latency_model m = {.kind = LATENCY_PHYSICS, .hw = toy_hardware()};
    m.hw.allreduces = 64;
    m.hw.link_latency_us = 5;
    m.hw.allreduce_bytes_per_token = 1e5;
    m.hw.link_bytes_per_us = 1e5;
    double k[PHYSICS_TERMS] = {[PHYSICS_PREFILL_COMPUTE] = 2, [PHYSICS_DECODE_COMPUTE] = 3,
                               [PHYSICS_MEMORY] = 1.5,       [PHYSICS_COMMUNICATION] = 1,
                               [PHYSICS_PER_LAYER] = 10,     [PHYSICS_PER_REQUEST] = 20,
                               [PHYSICS_PER_STEP] = 100,     [PHYSICS_PER_ALLREDUCE] = 2};
    for (int i = 0; i < PHYSICS_TERMS; i++) m.physics[i] = k[i];
    CHECK_EQ(latency_step_us(&m, &decode_only), 4830);
    /* with the prompt the step is compute-bound: 2*25005 + 750.3 = 50760.3
     * against memory 1.5*(2000+601) = 3901.5; communication 320 + 1010 (1010
     * tokens over the link), all-reduces 128, layers 320, 11 requests 220,
     * step 100: 52858.3 */
    CHECK_EQ(latency_step_us(&m, &mixed), 52858);
    /* arrival to queue: a0 1000 + 2 per prompt token (300), plus 500 on an
     * engine with all-reduces (several GPUs), none on one GPU */
    m.alpha[0] = 1000;
    m.alpha[1] = 2;
    m.physics[PHYSICS_MULTI_GPU_US] = 500;
    CHECK_EQ(latency_queue_delay_us(&m, 300), 2100);
    m.hw.allreduces = 0;
    CHECK_EQ(latency_queue_delay_us(&m, 300), 1600);
}

/*
 * The catalog's roofline for Llama-3.1-8B on H100: per layer attention
 * 4096*4096*2 + 2*4096*1024 and MLP 3*4096*14336, 32 layers; the LM head
 * 128256*4096 apart (once per request in a step); two FLOPs per parameter.
 * Attention: 4 FLOPs per head dimension per pair, 32 heads of 128, 32 layers.
 */
TEST(catalog_roofline_for_llama_3_1_8b)
{
    struct config cfg;
    CHECK_EQ(config_load(&cfg, NULL, 0), 0);
    const struct model_arch *m = catalog_model(&cfg.catalog, "meta-llama/llama-3.1-8b-instruct");
    const struct gpu_spec *g = catalog_gpu(&cfg.catalog, "H100");
    CHECK(m && g);
    if (!m || !g) return;
    struct roofline hw;
    catalog_roofline(&cfg.catalog, m, g, 1, &hw);
    double per_layer = 2.0 * 4096 * 4096 + 2.0 * 4096 * 1024 + 3.0 * 4096 * 14336;
    CHECK_NEAR(hw.flops_per_token, 2 * 32 * per_layer, 1.0);
    CHECK_NEAR(hw.flops_per_logit, 2 * 128256.0 * 4096, 1.0);
    CHECK_NEAR(hw.flops_per_pair, 4.0 * 32 * 128 * 32, 0.0);
    CHECK_NEAR(hw.peak_flops_per_us, 989.5e6, 1e-3);
    CHECK_EQ(hw.allreduces, 0);
    catalog_roofline(&cfg.catalog, m, g, 2, &hw);
    CHECK_NEAR(hw.flops_per_token, 32 * per_layer, 1.0);
    CHECK_NEAR(hw.flops_per_logit, 128256.0 * 4096, 1.0);
    CHECK_EQ(hw.allreduces, 64);
    config_free(&cfg);
}

/*
 * The generic MFUs (0.45 prefill, 0.30 decode, measured on the H100) carry
 * over to a GPU with a measured matmul rate in proportion to the share of
 * its data-sheet peak it reaches, against the H100's 745.6 of 989.5:
 * RTX 4090 158.7/165.2 -> 0.45 * (158.7/165.2) / (745.6/989.5) = 0.573706;
 * RTX PRO 6000 335.3/503.8 -> 0.45 * 0.665542 / 0.753512 = 0.397464.
 * A GPU with MFUs of its own (the H100, the A100) keeps them; one without a
 * matmul rate (the H200) takes the generic ones as they are, and so does
 * every GPU when the reference has no matmul rate.
 */
TEST(generic_mfus_scale_with_the_measured_matmul_share)
{
    struct config cfg;
    CHECK_EQ(config_load(&cfg, NULL, 0), 0);
    const struct model_arch *m = catalog_model(&cfg.catalog, "meta-llama/llama-3.1-8b-instruct");
    CHECK(m != NULL);
    if (!m) return;
    struct { const char *gpu; double prefill, decode; } want[] = {
        {"RTX4090", 0.45 * (158.7 / 165.2) / (745.6 / 989.5), 0.30 * (158.7 / 165.2) / (745.6 / 989.5)},
        {"RTXPRO6000", 0.45 * (335.3 / 503.8) / (745.6 / 989.5), 0.30 * (335.3 / 503.8) / (745.6 / 989.5)},
        {"H100", 0.45, 0.30},
        {"A100-80", 0.38, 0.18},
        {"H200", 0.45, 0.30},
    };
    struct roofline hw;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const struct gpu_spec *g = catalog_gpu(&cfg.catalog, want[i].gpu);
        CHECK(g != NULL);
        if (!g) continue;
        catalog_roofline(&cfg.catalog, m, g, 1, &hw);
        CHECK_NEAR(hw.mfu_prefill, want[i].prefill, 1e-12);
        CHECK_NEAR(hw.mfu_decode, want[i].decode, 1e-12);
    }
    CHECK_NEAR(want[0].prefill, 0.573706, 1e-6); /* the figure docs/latency-models.md gives */
    /* without the reference's matmul rate nothing is scaled */
    for (size_t i = 0; i < cfg.catalog.num_gpus; i++)
        if (!strcmp(cfg.catalog.gpus[i].name, "H100")) cfg.catalog.gpus[i].matmul_tflops = 0;
    catalog_roofline(&cfg.catalog, m, catalog_gpu(&cfg.catalog, "RTX4090"), 1, &hw);
    CHECK_NEAR(hw.mfu_prefill, 0.45, 1e-12);
    CHECK_NEAR(hw.mfu_experts, 0.0, 0.0); /* a dense model has none */
    config_free(&cfg);
}

/* A model's mfu_experts is measured on the roofline's reference GPU and
 * scaled to others by the same matmul share as the MFUs; a GPU's own
 * mfu_experts takes its place. */
TEST(the_experts_efficiency_is_the_models_scaled_or_the_gpus_own)
{
    struct config cfg;
    CHECK_EQ(config_load(&cfg, NULL, 0), 0);
    const struct model_arch *m = catalog_model(&cfg.catalog, "qwen/qwen3-30b-a3b");
    const struct model_arch *mixtral = catalog_model(&cfg.catalog, "mistralai/mixtral-8x7b-v0.1");
    CHECK(m != NULL && mixtral != NULL && m->mfu_experts > 0);
    if (!m || !mixtral) return;
    struct roofline hw;
    catalog_roofline(&cfg.catalog, m, catalog_gpu(&cfg.catalog, "H100"), 1, &hw);
    CHECK_NEAR(hw.mfu_experts, m->mfu_experts, 0.0);
    catalog_roofline(&cfg.catalog, m, catalog_gpu(&cfg.catalog, "RTXPRO6000"), 1, &hw);
    CHECK_NEAR(hw.mfu_experts, m->mfu_experts * (335.3 / 503.8) / (745.6 / 989.5), 1e-12);
    catalog_roofline(&cfg.catalog, mixtral, catalog_gpu(&cfg.catalog, "H100"), 2, &hw);
    CHECK_NEAR(hw.mfu_experts, 0.0, 0.0);
    for (size_t i = 0; i < cfg.catalog.num_gpus; i++)
        if (!strcmp(cfg.catalog.gpus[i].name, "RTXPRO6000")) cfg.catalog.gpus[i].mfu_experts = 0.5;
    catalog_roofline(&cfg.catalog, m, catalog_gpu(&cfg.catalog, "RTXPRO6000"), 1, &hw);
    CHECK_NEAR(hw.mfu_experts, 0.5, 0.0);
    config_free(&cfg);
}

/*
 * The catalog's roofline for DeepSeek-V2-Lite on H100 (its parameter
 * counts are derived in test_catalog.c: 2451308544 active, 27 replicated
 * KV down-projections of 2048*576 = 1179648):
 * - F_tok 2 * (2451308544 - 209715200), the LM head 102400*2048 = 209715200
 *   apart (F_logit 2 * 209715200); at TP 2 the split part halves and the
 *   replicated part does not: 2451308544 - 209715200 - 31850496 + 2 * 31850496,
 *   F_logit 209715200.
 * - prefill pair (keys and values decompressed per head):
 *   2 * 16 heads * (192 + 128) * 27 = 276480; decode pair (queries
 *   absorbed into the latent): 2 * 16 * (2*512 + 64) * 27 = 940032.
 * - weights read by every step: all bf16 weights but the input embeddings
 *   (2*102400*2048) and the 64 routed experts (26 layers of 3*2048*1408):
 *   2203582464 bytes; one routed expert over its layers: 449839104 bytes.
 * One decode token after 99 cached ones (100 pairs, 100 KV tokens) picks
 * 6 experts: weights (2203582464 + 6*449839104)/3.35e6 = 1463.4678 us, KV
 * 31104*100/3.35e6 = 0.9285 us, memory (1464.3963)/0.8 = 1830.495 us
 * against compute (4483186688 + 419430400 + 940032*100)/989.5e6/0.3 = 16.83 us.
 */
TEST(catalog_roofline_for_deepseek_v2_lite)
{
    struct config cfg;
    CHECK_EQ(config_load(&cfg, NULL, 0), 0);
    const struct model_arch *m = catalog_model(&cfg.catalog, "deepseek-ai/deepseek-v2-lite");
    const struct gpu_spec *g = catalog_gpu(&cfg.catalog, "H100");
    CHECK(m && g);
    if (!m || !g) return;
    struct latency_model l = {.kind = LATENCY_ROOFLINE};
    catalog_roofline(&cfg.catalog, m, g, 1, &l.hw);
    CHECK_NEAR(l.hw.flops_per_token, 2 * (2451308544.0 - 209715200), 0.0);
    CHECK_NEAR(l.hw.flops_per_logit, 2 * 209715200.0, 0.0);
    CHECK_NEAR(l.hw.flops_per_pair, 276480.0, 0.0);
    CHECK_NEAR(l.hw.flops_per_decode_pair, 940032.0, 0.0);
    CHECK_NEAR(l.hw.dense_weight_bytes, 2203582464.0, 0.0);
    CHECK_NEAR(l.hw.expert_weight_bytes, 449839104.0, 0.0);
    CHECK_NEAR(l.hw.kv_bytes_per_token, 31104.0, 0.0);
    CHECK_EQ(l.hw.experts, 64);
    CHECK_EQ(l.hw.experts_per_token, 6);
    /* expert parallelism: 6 picked experts of 224919552 parameters over
     * their 26 layers; a token's bf16 hidden state of 2048 out and back in
     * each of the 26 MoE layers */
    CHECK_NEAR(l.hw.expert_flops_per_token, 2 * 6 * 224919552.0, 0.0);
    CHECK_NEAR(l.hw.exchange_bytes_per_token, 2 * 26 * 2048 * 2.0, 0.0);
    CHECK_EQ(l.hw.exchanges, 52);
    CHECK_EQ(l.hw.expert_shards, 1);
    struct step_shape decode = {.decode_tokens = 1, .requests = 1, .decode_pairs = 100,
                                .kv_tokens = 100};
    struct step_terms t;
    latency_terms(&l.hw, &decode, &t);
    CHECK_NEAR(t.weights, (2203582464.0 + 6 * 449839104.0) / 3.35e6, 1e-9);
    CHECK_NEAR(t.kv, 31104.0 * 100 / 3.35e6, 1e-12);
    CHECK_NEAR(t.decode_compute, (4483186688.0 + 419430400 + 940032.0 * 100) / 989.5e6, 1e-9);
    CHECK_EQ(latency_step_us(&l, &decode), 1830);
    catalog_roofline(&cfg.catalog, m, g, 2, &l.hw);
    CHECK_NEAR(l.hw.flops_per_token, 2451308544.0 - 209715200 - 31850496 + 2 * 31850496.0, 0.0);
    CHECK_NEAR(l.hw.flops_per_logit, 209715200.0, 0.0);
    CHECK_NEAR(l.hw.flops_per_decode_pair, 940032.0 / 2, 0.0);
    CHECK_NEAR(l.hw.kv_bytes_per_token, 31104.0, 0.0);
    config_free(&cfg);
}

/* A decode pair costs flops_per_decode_pair when set: 10 decodes over 5010
 * pairs at 3e6 FLOPs instead of 1e6 add 2*5010*1e6/1e8 = 100.2 us. */
TEST(decode_pairs_have_their_own_cost_when_given)
{
    struct roofline hw = toy_hardware();
    struct step_terms t;
    latency_terms(&hw, &decode_only, &t);
    CHECK_NEAR(t.decode_compute, 250.1, 1e-9);
    hw.flops_per_decode_pair = 3e6;
    latency_terms(&hw, &decode_only, &t);
    CHECK_NEAR(t.decode_compute, 350.3, 1e-9);
    latency_terms(&hw, &mixed, &t);
    CHECK_NEAR(t.prefill_compute, 25005.0, 1e-6);
}

int
main(void)
{
    RUN(blackbox_step_by_hand);
    RUN(roofline_terms_and_steps_by_hand);
    RUN(roofline_charges_the_lm_head_once_per_request);
    RUN(roofline_counts_the_experts_a_step_touches);
    RUN(roofline_shares_the_experts_out_under_expert_parallelism);
    RUN(roofline_runs_the_experts_at_their_own_efficiency);
    RUN(physics_step_by_hand);
    RUN(catalog_roofline_for_llama_3_1_8b);
    RUN(catalog_roofline_for_deepseek_v2_lite);
    RUN(generic_mfus_scale_with_the_measured_matmul_share);
    RUN(the_experts_efficiency_is_the_models_scaled_or_the_gpus_own);
    RUN(decode_pairs_have_their_own_cost_when_given);
    return check_done();
}
