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
        int64_t blocks = kv_blocks_from_memory(m, h100, runs[i].tp, 16, 0.9,
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
    config_free(&cfg);
    return check_done();
}
