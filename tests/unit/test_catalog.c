/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_catalog: the embedded catalog loads, lookups behave as documented,
 * and the KV pool derived from GPU memory lands within 3 % of the block
 * counts vLLM logged on H100 (config.kv_blocks_total_gpu in the runs of
 * ../shared/data/groundtruth/vllm-h100-train: utilization 0.9, block 16;
 * the four counts are transcribed here, the data files are not needed).
 */
#include "check.h"

#include "config/config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct config cfg;

TEST(catalog_loads_and_looks_up_case_insensitively)
{
    CHECK(catalog_model(&cfg.catalog, "META-LLAMA/Llama-3.1-8B-Instruct") != NULL);
    CHECK(catalog_model(&cfg.catalog, "nobody/nothing") == NULL);
    CHECK(catalog_gpu(&cfg.catalog, "H100") != NULL);
    CHECK(catalog_gpu(&cfg.catalog, "h100") == NULL); /* GPU names are exact */
}

/* Among several vLLM versions the newest wins (numerically: 0.10 > 0.9;
 * checked: comparing versions with strcmp picks 0.9.2 and fails); a
 * named one is honoured; an unknown TP finds nothing. The extra sets come
 * from a file, as a user's --config would add them. */
TEST(catalog_picks_the_newest_coefficients_unless_told)
{
    char path[] = "/tmp/servesim-test-catalog-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    static const char yaml[] =
        "coefficients:\n"
        "  - {model: Some/Model, gpu: H100, tp: 1, vllm: \"0.9.2\", alpha: [1, 0, 0], beta: [1, 1, 1]}\n"
        "  - {model: some/model, gpu: H100, tp: 1, vllm: \"0.10.1\", alpha: [2, 0, 0], beta: [2, 2, 2]}\n"
        "  - {model: some/model, gpu: H100, tp: 1, vllm: \"0.8.4\", alpha: [3, 0, 0], beta: [3, 3, 3]}\n";
    CHECK(write(fd, yaml, sizeof yaml - 1) == (ssize_t)(sizeof yaml - 1));
    close(fd);
    struct config user;
    const char *files[] = {path};
    CHECK_EQ(config_load(&user, files, 1), 0);
    unlink(path);
    const struct coefficient_set *newest =
        catalog_coefficients(&user.catalog, "SOME/model", "H100", 1, "newest");
    CHECK(newest && strcmp(newest->vllm_version, "0.10.1") == 0);
    const struct coefficient_set *named =
        catalog_coefficients(&user.catalog, "some/model", "H100", 1, "0.8.4");
    CHECK(named && named->alpha[0] == 3);
    CHECK(catalog_coefficients(&user.catalog, "some/model", "H100", 2, NULL) == NULL);
    config_free(&user);
}

TEST(kv_capacity_within_3_percent_of_vllm_logged_counts)
{
    static const struct {
        const char *model;
        int64_t tp, logged;
    } runs[] = {
        {"meta-llama/llama-2-7b-hf", 1, 7462},
        {"meta-llama/llama-2-70b-hf", 4, 31356},
        {"mistralai/mixtral-8x7b-v0.1", 2, 27510},
        {"codellama/codellama-34b-instruct-hf", 2, 26602},
    };
    const struct gpu_spec *h100 = catalog_gpu(&cfg.catalog, "H100");
    CHECK(h100 != NULL);
    for (size_t i = 0; h100 && i < sizeof runs / sizeof *runs; i++) {
        const struct model_arch *m = catalog_model(&cfg.catalog, runs[i].model);
        CHECK(m != NULL);
        if (!m) continue;
        int64_t blocks = kv_blocks_from_memory(m, h100, runs[i].tp, 1, 16, 0.9,
                                               cfg.engine.activation_reserve_gib);
        double error = fabs((double)(blocks - runs[i].logged)) / (double)runs[i].logged;
        printf("# %s tp%lld: %lld blocks, vLLM logged %lld (%.2f %%)\n", runs[i].model,
               (long long)runs[i].tp, (long long)blocks, (long long)runs[i].logged,
               100 * error);
        CHECK(error <= 0.03);
    }
}

/* Hand count for Llama-2-7B: 32 layers of attention (4 * 4096^2) and gated
 * MLP (3 * 4096 * 11008), embeddings and head 2 * 32000 * 4096: 6.738e9;
 * KV per token 2 * 32 layers * 32 heads * 128 * 2 bytes = 524288. */
TEST(parameters_and_kv_bytes_by_hand)
{
    const struct model_arch *m = catalog_model(&cfg.catalog, "meta-llama/llama-2-7b-hf");
    CHECK(m != NULL);
    if (!m) return;
    double expected = 32.0 * (4.0 * 4096 * 4096 + 3.0 * 4096 * 11008) + 2.0 * 32000 * 4096;
    CHECK_NEAR(model_parameters(m), expected, 1.0);
    CHECK_NEAR(model_kv_bytes_per_token(m, 1), 524288.0, 0.0);
    CHECK_NEAR(model_kv_bytes_per_token(m, 4), 524288.0 / 4, 0.0);
    /* 8 KV heads over tp 16: each GPU keeps a whole head */
    const struct model_arch *l3 = catalog_model(&cfg.catalog, "meta-llama/llama-3.1-8b-instruct");
    if (l3) CHECK_NEAR(model_kv_bytes_per_token(l3, 16), 2.0 * 32 * 1 * 128 * 2, 0.0);
}

/*
 * DeepSeek-V2-Lite by hand from its config.json (hidden 2048, 27 layers, 16
 * heads, vocab 102400, untied):
 * - latent attention per layer, q_lora_rank null so queries come straight
 *   from the hidden state: q 2048*16*(128+64) = 6291456, KV down-projection
 *   2048*(512+64) = 1179648, KV up-projection 512*16*(128+128) = 2097152,
 *   o 16*128*2048 = 4194304; 13762560 per layer.
 * - layer 0 dense MLP 3*2048*10944 = 67239936; 26 MoE layers of 64 routed
 *   and 2 shared experts of 3*2048*1408 = 8650752 plus a router 64*2048.
 * - embeddings and head 2*102400*2048 = 419430400.
 * Total 15706357760 (published: 15.7 B); a token passes 6 routed and 2
 * shared experts and the head, not the input embeddings: 2451308544
 * (published: 2.4 B activated, 2.1 % apart).
 */
TEST(deepseek_v2_lite_parameters_by_hand)
{
    const struct model_arch *m = catalog_model(&cfg.catalog, "deepseek-ai/DeepSeek-V2-Lite");
    CHECK(m != NULL);
    if (!m) return;
    double attention = 2048.0 * 16 * 192 + 2048.0 * 576 + 512.0 * 16 * 256 + 16.0 * 128 * 2048;
    CHECK_NEAR(attention, 13762560.0, 0.0);
    double expert = 3.0 * 2048 * 1408, router = 64.0 * 2048;
    double total = 27 * attention + 3.0 * 2048 * 10944 + 26 * (66 * expert + router) +
                   2.0 * 102400 * 2048;
    double active = 27 * attention + 3.0 * 2048 * 10944 + 26 * (8 * expert + router) +
                    102400.0 * 2048;
    CHECK_NEAR(model_parameters(m), total, 0.0);
    CHECK_NEAR(total, 15706357760.0, 0.0);
    CHECK_NEAR(model_active_matmul_parameters(m), active, 0.0);
    CHECK_NEAR(active, 2451308544.0, 0.0);
    CHECK(fabs(total / 15.7e9 - 1) < 0.01);
    CHECK(fabs(active / 2.4e9 - 1) < 0.03);
    /* bf16: every rank holds its share and, whole, the 27 KV down-projections */
    CHECK_NEAR(model_weight_bytes(m, 1), 2 * total, 0.0);
    CHECK_NEAR(model_weight_bytes(m, 2), (2 * total - 2 * 27 * 1179648.0) / 2 + 2 * 27 * 1179648.0,
               0.0);
}

/*
 * Latent attention caches one latent of kv_lora_rank 512 and one rope key
 * of 64 per token and layer: 27 * (512 + 64) * 2 bytes = 31104, on every
 * TP rank alike (vLLM does not split the latent across ranks). GLM-5.2
 * adds its indexer's fp8 keys, 128 bytes and a 4-byte scale: 78 * (576 * 2
 * + 132) = 100152. Llama-4-Scout is grouped-query: 2 * 48 layers * 8 KV
 * heads * 128 * 2 bytes = 196608, split over TP up to one head per rank.
 */
TEST(kv_bytes_of_latent_and_grouped_attention_by_hand)
{
    const struct model_arch *ds = catalog_model(&cfg.catalog, "deepseek-ai/deepseek-v2-lite");
    const struct model_arch *glm = catalog_model(&cfg.catalog, "zai-org/GLM-5.2-FP8");
    const struct model_arch *scout =
        catalog_model(&cfg.catalog, "RedHatAI/Llama-4-Scout-17B-16E-Instruct-FP8-dynamic");
    CHECK(ds && glm && scout);
    if (!ds || !glm || !scout) return;
    for (int64_t tp = 1; tp <= 8; tp *= 2) {
        CHECK_NEAR(model_kv_bytes_per_token(ds, tp), 27.0 * (512 + 64) * 2, 0.0);
        CHECK_NEAR(model_kv_bytes_per_token(glm, tp), 78.0 * (576 * 2 + 132), 0.0);
    }
    CHECK_NEAR(model_kv_bytes_per_token(scout, 1), 196608.0, 0.0);
    CHECK_NEAR(model_kv_bytes_per_token(scout, 2), 98304.0, 0.0);
    CHECK_NEAR(model_kv_bytes_per_token(scout, 16), 2.0 * 48 * 1 * 128 * 2, 0.0);
}

/*
 * The two fp8 models against their published sizes. Llama-4-Scout (text
 * only): 48 layers of attention 2*5120*5120 + 2*5120*1024 and 16 routed
 * plus 1 shared expert of 3*5120*8192 and a router, embeddings and head
 * 2*202048*5120: 107.77 B (published 109 B with the vision tower); a token
 * passes 2 experts: 16.14 B in matmuls (published 17 B active, embeddings
 * counted). Its fp8 weights exclude attention and embeddings, which stay
 * bf16 (the checkpoint's ignore list). GLM-5.2: 743.9 B, 40.8 B active
 * (published for GLM-5: 744 B and 40 B).
 */
TEST(fp8_models_against_published_sizes)
{
    const struct model_arch *scout =
        catalog_model(&cfg.catalog, "redhatai/llama-4-scout-17b-16e-instruct-fp8-dynamic");
    const struct model_arch *glm = catalog_model(&cfg.catalog, "zai-org/glm-5.2-fp8");
    CHECK(scout && glm);
    if (!scout || !glm) return;
    double attention = 48 * (2.0 * 5120 * 5120 + 2.0 * 5120 * 1024);
    double experts = 48 * (17 * 3.0 * 5120 * 8192 + 16.0 * 5120);
    double embeddings = 2.0 * 202048 * 5120;
    CHECK_NEAR(model_parameters(scout), attention + experts + embeddings, 0.0);
    CHECK_NEAR(model_weight_bytes(scout, 1), 2 * attention + experts + 2 * embeddings, 0.0);
    CHECK(fabs(model_parameters(scout) / 109e9 - 1) < 0.02);
    CHECK(fabs((model_active_matmul_parameters(scout) + 202048.0 * 5120) / 17e9 - 1) < 0.02);
    CHECK(fabs(model_parameters(glm) / 744e9 - 1) < 0.01);
    CHECK(fabs(model_active_matmul_parameters(glm) / 40e9 - 1) < 0.03);
}

/*
 * KV pools on H100 (utilization 0.9, block 16, the default 1.2 GiB
 * reserve). DeepSeek-V2-Lite at TP 1: (72 - 1.2) GiB less 2 * 15706357760
 * bytes of weights, over 16 * 31104 bytes a block: 89635. Llama-4-Scout
 * needs TP 2 (105.1 GiB of weights); GLM-5.2-FP8 (about 93 GB per GPU at
 * TP 8) does not fit on 8 H100s at all. With the experts shared out over
 * 2 (4) GPUs, each GPU holds half (a quarter) of the 64 routed experts of
 * 449839104 bytes: 14394851328 (21592276992) bytes more for KV, 118560
 * (133022) blocks.
 */
TEST(kv_pools_of_the_new_models_on_h100)
{
    const struct gpu_spec *h100 = catalog_gpu(&cfg.catalog, "H100");
    const struct model_arch *ds = catalog_model(&cfg.catalog, "deepseek-ai/deepseek-v2-lite");
    const struct model_arch *scout =
        catalog_model(&cfg.catalog, "redhatai/llama-4-scout-17b-16e-instruct-fp8-dynamic");
    const struct model_arch *glm = catalog_model(&cfg.catalog, "zai-org/glm-5.2-fp8");
    CHECK(h100 && ds && scout && glm);
    if (!h100 || !ds || !scout || !glm) return;
    double reserve = cfg.engine.activation_reserve_gib;
    CHECK_NEAR(reserve, 1.2, 0.0);
    CHECK_EQ(kv_blocks_from_memory(ds, h100, 1, 1, 16, 0.9, reserve), 89635);
    CHECK_NEAR(model_routed_expert_bytes(ds, 1), 64 * 449839104.0, 0.0);
    CHECK_EQ(kv_blocks_from_memory(ds, h100, 1, 2, 16, 0.9, reserve), 118560);
    CHECK_EQ(kv_blocks_from_memory(ds, h100, 1, 4, 16, 0.9, reserve), 133022);
    CHECK(kv_blocks_from_memory(scout, h100, 1, 1, 16, 0.9, reserve) <= 0);
    CHECK(kv_blocks_from_memory(scout, h100, 2, 1, 16, 0.9, reserve) > 0);
    CHECK(kv_blocks_from_memory(glm, h100, 8, 1, 16, 0.9, reserve) <= 0);
}

/* Each entry is a model whose layout fields disagree; loading must fail. */
TEST(inconsistent_layouts_are_refused)
{
    static const char *const yaml[] = {
        /* latent attention without its head dimensions */
        "models:\n  a/b: {layers: 2, hidden: 64, heads: 4, kv_heads: 4, intermediate: 128, "
        "vocab: 100, max_model_len: 64, kv_lora_rank: 16}\n",
        /* head_dim other than qk_nope + qk_rope */
        "models:\n  a/b: {layers: 2, hidden: 64, heads: 4, kv_heads: 4, head_dim: 16, "
        "intermediate: 128, vocab: 100, max_model_len: 64, kv_lora_rank: 16, "
        "qk_nope_head_dim: 16, qk_rope_head_dim: 8, v_head_dim: 16}\n",
        /* shared experts in a dense model */
        "models:\n  a/b: {layers: 2, hidden: 64, heads: 4, kv_heads: 4, intermediate: 128, "
        "vocab: 100, max_model_len: 64, shared_experts: 1}\n",
        /* more dense layers than layers */
        "models:\n  a/b: {layers: 2, hidden: 64, heads: 4, kv_heads: 4, intermediate: 128, "
        "vocab: 100, max_model_len: 64, experts: 4, experts_per_token: 1, dense_layers: 3}\n",
        /* an indexer without latent attention */
        "models:\n  a/b: {layers: 2, hidden: 64, heads: 4, kv_heads: 4, intermediate: 128, "
        "vocab: 100, max_model_len: 64, index_heads: 2, index_head_dim: 8}\n",
    };
    for (size_t i = 0; i < sizeof yaml / sizeof *yaml; i++) {
        char path[] = "/tmp/servesim-test-catalog-XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        if (fd < 0) return;
        size_t length = strlen(yaml[i]);
        CHECK(write(fd, yaml[i], length) == (ssize_t)length);
        close(fd);
        struct config user;
        const char *files[] = {path};
        int status = config_load(&user, files, 1);
        unlink(path);
        CHECK(status != 0);
        if (status == 0) config_free(&user);
    }
}

int
main(void)
{
    if (config_load(&cfg, NULL, 0) != 0) {
        printf("not ok 1 - embedded defaults load\n1..1\n");
        return 1;
    }
    RUN(catalog_loads_and_looks_up_case_insensitively);
    RUN(catalog_picks_the_newest_coefficients_unless_told);
    RUN(kv_capacity_within_3_percent_of_vllm_logged_counts);
    RUN(parameters_and_kv_bytes_by_hand);
    RUN(deepseek_v2_lite_parameters_by_hand);
    RUN(kv_bytes_of_latent_and_grouped_attention_by_hand);
    RUN(fp8_models_against_published_sizes);
    RUN(kv_pools_of_the_new_models_on_h100);
    RUN(inconsistent_layouts_are_refused);
    config_free(&cfg);
    return check_done();
}
