/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cluster: what a cluster is made of (pools of instances, each pool with
 * its own resolved engine) and the policies in front of it: admission,
 * routing with its scorers, snapshot refresh, path latencies and the P/D
 * KV link (docs/cluster.md). Plain data, filled by the configuration
 * layer or by the tools' flags; the parsers here turn policy names into
 * enums and report unknown ones with the list of valid names (ERR_CONFIG,
 * the message prefixed by `what`: a flag or file:line).
 *
 * A cluster holds either mixed pools only (every instance prefills and
 * decodes; a request is routed over all of them), or one prefill pool and
 * one decode pool (P/D disaggregation). cluster_free releases the pools.
 */
#ifndef SERVESIM_CLUSTER_CLUSTER_H
#define SERVESIM_CLUSTER_CLUSTER_H

#include "engine/engine_config.h"
#include "engine/instance.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum routing_policy {
    ROUTING_ROUND_ROBIN,
    ROUTING_LEAST_LOADED,
    ROUTING_WEIGHTED,
    ROUTING_PREFIX_AFFINITY,
};

enum admission_policy {
    ADMISSION_ALWAYS,
    ADMISSION_TOKEN_BUCKET,
    ADMISSION_REJECT_ALL,
    ADMISSION_SLO_SHED,
};

enum scorer_kind {
    SCORER_PREFIX_CACHE,
    SCORER_QUEUE_DEPTH,
    SCORER_KV_UTILIZATION,
    SCORER_LOAD,
    SCORER_ACTIVE_REQUESTS,
    SCORER_COUNT
};

enum pool_role { POOL_MIXED, POOL_PREFILL, POOL_DECODE };

#define CLUSTER_MAX_PRIORITIES 32
#define CLUSTER_MAX_INSTANCES 4096

struct slo_priority {
    char slo_class[64];
    int64_t priority; /* smaller = more important */
};

struct cluster_policy {
    enum admission_policy admission;
    int64_t bucket_capacity_tokens, bucket_refill_tokens_per_s; /* token-bucket */
    double shed_queue_depth; /* slo-shed: mean queue per instance where tier 1 is shed */
    enum routing_policy routing;
    double weights[SCORER_COUNT]; /* weighted: >= 0, not all 0 */
    int64_t snapshot_interval_us; /* 0 = live signals */
    int64_t admission_latency_us, routing_latency_us;
    uint64_t seed; /* of the tie-breaking stream */
    struct slo_priority priorities[CLUSTER_MAX_PRIORITIES];
    size_t num_priorities;
    int64_t default_priority; /* of a slo_class not listed */
};

struct cluster_pool {
    char name[64];
    enum pool_role role;
    int64_t instances;
    struct engine_params params;
    struct instance_policy policy;
    enum routing_policy routing; /* this pool's own (P/D pools) */
};

/* KV transfer from a prefill to a decode instance. */
struct pd_link {
    double bandwidth_bytes_per_s; /* 0 = instantaneous */
    int64_t base_latency_us;
    double kv_bytes_per_token;
    bool shared; /* concurrent transfers share the bandwidth */
};

struct cluster {
    struct cluster_pool *pools;
    size_t num_pools;
    struct cluster_policy policy;
    struct pd_link link;
};

/* The defaults: always admit, round-robin, live signals, the built-in
 * slo_class priorities, weights prefix-cache:2 queue-depth:1
 * kv-utilization:1. */
void cluster_policy_defaults(struct cluster_policy *policy);
/* A cluster of one mixed pool of n instances of params; 0 or ERR_INTERNAL. */
int cluster_init_uniform(struct cluster *cluster, const struct engine_params *params, int64_t n,
                         const struct instance_policy *policy);
void cluster_free(struct cluster *cluster);
/* Checks the pool layout (mixed only, or one prefill and one decode pool). */
int cluster_check(const struct cluster *cluster, const char *what);

int cluster_parse_routing(const char *what, const char *text, enum routing_policy *out);
int cluster_parse_admission(const char *what, const char *text, enum admission_policy *out);
int cluster_parse_scheduler(const char *what, const char *text, enum scheduler_policy *out);
int cluster_parse_victim(const char *what, const char *text, enum preemption_victim *out);
int cluster_parse_role(const char *what, const char *text, enum pool_role *out);
/* "name:weight,..." over the scorer names; every weight finite and >= 0,
 * not all 0; scorers not named get weight 0. */
int cluster_parse_scorers(const char *what, const char *text, double weights[SCORER_COUNT]);
/* "name:priority,..." replacing the slo_class priorities. */
int cluster_parse_priorities(const char *what, const char *text, struct cluster_policy *policy);

const char *routing_name(enum routing_policy routing);
const char *scorer_name(enum scorer_kind scorer);
/* The priority of a slo_class under policy. */
int64_t cluster_priority_of(const struct cluster_policy *policy, const char *slo_class);

#endif
