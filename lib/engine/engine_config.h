/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * engine_config: an engine as the user describes it (vLLM's knob names),
 * and engine_params, the same fully resolved against the catalog: the
 * latency coefficients chosen and the KV pool size derived. 0 in
 * max_model_len / num_gpu_blocks means "derive it".
 */
#ifndef SERVESIM_ENGINE_ENGINE_CONFIG_H
#define SERVESIM_ENGINE_ENGINE_CONFIG_H

#include "model/latency.h"

#include <stdbool.h>
#include <stdint.h>

struct engine_config {
    char model[256];
    char gpu[64];
    int64_t tp;
    char vllm_version[64];
    char latency_model[32];
    int64_t max_num_seqs;
    int64_t max_num_batched_tokens;
    int64_t long_prefill_token_threshold;
    int64_t max_model_len;
    int64_t block_size;
    int64_t num_gpu_blocks;
    double gpu_memory_utilization;
    double activation_reserve_gib;
    bool enable_prefix_caching;
    char preemption[16];          /* restart or resume (docs/engine.md) */
    bool expert_parallel;         /* a pool's instances are one data-parallel group (docs/cluster.md) */
    int64_t kv_cpu_blocks;        /* CPU tier for evicted cached blocks; 0 = none */
    double kv_cpu_bandwidth_gbs;  /* host-to-GPU copy bandwidth */
    double kv_cpu_latency_us;     /* per reload */
    bool have_alpha, have_beta; /* coefficients given explicitly */
    double alpha[3], beta[3];
};

struct engine_params {
    int64_t max_num_seqs;
    int64_t max_num_batched_tokens;
    int64_t long_prefill_token_threshold; /* 0 = off */
    int64_t max_model_len;
    int64_t block_size;
    int64_t num_gpu_blocks;
    bool enable_prefix_caching;
    bool preemption_resume; /* a preempted request keeps its output tokens, as in vLLM */
    /* expert parallelism: the instances of the pool step in lockstep and
     * share the routed experts out (latency.hw.expert_shards of them) */
    bool lockstep;
    /* CPU KV tier (0 blocks = none): a reload of n tokens adds
     * kv_cpu_latency_us + n * kv_bytes_per_token / kv_cpu_bytes_per_us to its step */
    int64_t kv_cpu_blocks;
    double kv_cpu_bytes_per_us, kv_cpu_latency_us, kv_bytes_per_token;
    struct latency_model latency;
};

#endif
