/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * router: chooses the instance of a pool that receives a request.
 *
 * The router sees each candidate through a `candidate`: the signals of the
 * last snapshot (waiting, running, KV blocks), the live count of requests
 * routed to it and not yet in its queue (in flight), and the instance
 * itself, read live only for the prefix-cache scorer (docs/cluster.md says
 * what each scorer reads). Every policy gives each candidate a score,
 * higher is better, and takes the best; equal best scores are broken by
 * the router's own seeded random stream, so runs are deterministic.
 *
 * A router owns its scratch arrays and its prefix-affinity table (fixed
 * size: memory does not grow with requests); router_free releases them.
 * Choosing allocates nothing, except the prefix-hash scratch growing to
 * the longest shared prefix seen (a request's prefix is hashed once per
 * decision and block size, then probed in every candidate's cache).
 */
#ifndef SERVESIM_CLUSTER_ROUTER_H
#define SERVESIM_CLUSTER_ROUTER_H

#include "cluster/cluster.h"
#include "core/rng.h"
#include "engine/instance.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct candidate {
    struct instance *instance;
    int id;                    /* the instance's number in the results */
    struct instance_load seen; /* at the last snapshot */
    int64_t in_flight;         /* live */
};

/* One routing decision, for the decision trace. */
struct routing_decision {
    int64_t time_us, request_id;
    const char *pool;
    int chosen;           /* instance number */
    size_t num_candidates;
    const int *ids;       /* candidates' instance numbers */
    const double *scores; /* as the router saw them */
    double regret; /* best live score - the chosen one's live score (0 with live signals) */
};

struct decision_sink {
    void *context;
    int (*decision)(void *context, const struct routing_decision *decision);
};

struct router {
    enum routing_policy policy;
    double weights[SCORER_COUNT];
    size_t next_turn; /* round-robin */
    struct rng_stream ties;
    double *scores, *live_scores;
    int *ids;
    uint64_t *affinity_keys; /* open addressing; key 0 = empty */
    int32_t *affinity_targets; /* candidate index */
    size_t affinity_mask;
    /* the prefix hashes of the request being routed, for one block size */
    uint64_t *hashes;
    int64_t hash_capacity, num_hashes;
    int hash_block_size;
    const struct request *hash_request;
};

/* 0 or ERR_INTERNAL. The stream is named after the pool. */
int router_init(struct router *router, enum routing_policy policy, const double *weights,
                size_t num_candidates, uint64_t seed, const char *pool);
void router_free(struct router *router);

/*
 * The index in candidates[0..n) of the instance for q. When trace is not
 * NULL it is filled (scores, and regret from the same policy over live
 * signals); its arrays stay valid until the next call.
 */
size_t router_choose(struct router *router, const struct request *q, struct candidate *candidates,
                     size_t n, struct routing_decision *trace);

#endif
