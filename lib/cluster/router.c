/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "cluster/router.h"

#include "core/error.h"

#include <gsl/gsl_rng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AFFINITY_SLOTS 65536 /* a power of two */

int
router_init(struct router *r, enum routing_policy policy, const double *weights, size_t n,
            uint64_t seed, const char *pool)
{
    memset(r, 0, sizeof *r);
    r->policy = policy;
    memcpy(r->weights, weights, sizeof r->weights);
    char name[96];
    snprintf(name, sizeof name, "router-ties/%s", pool);
    if (rng_stream_init(&r->ties, seed, name)) return ERR_INTERNAL;
    r->scores = malloc(n * sizeof *r->scores);
    r->live_scores = malloc(n * sizeof *r->live_scores);
    r->ids = malloc(n * sizeof *r->ids);
    if (policy == ROUTING_PREFIX_AFFINITY) {
        r->affinity_keys = calloc(AFFINITY_SLOTS, sizeof *r->affinity_keys);
        r->affinity_targets = calloc(AFFINITY_SLOTS, sizeof *r->affinity_targets);
        r->affinity_mask = AFFINITY_SLOTS - 1;
    }
    if (!r->scores || !r->live_scores || !r->ids ||
        (policy == ROUTING_PREFIX_AFFINITY && (!r->affinity_keys || !r->affinity_targets))) {
        router_free(r);
        return internal_error("out of memory");
    }
    return 0;
}

void
router_free(struct router *r)
{
    if (r->ties.gsl) rng_stream_free(&r->ties);
    free(r->scores);
    free(r->live_scores);
    free(r->ids);
    free(r->affinity_keys);
    free(r->affinity_targets);
    free(r->hashes);
    memset(r, 0, sizeof *r);
}

struct signals {
    double queue, load, active, kv_free, prefix;
};

/* The request's prefix block hashes for a pool of block_size, computed once
 * per decision and block size (every candidate's lookup reuses them). */
static int
prefix_hashes(struct router *r, const struct request *q, int block_size)
{
    if (r->hash_block_size == block_size && r->hash_request == q) return 0;
    int64_t need = q->prefix_tokens / block_size + 1;
    if (need > r->hash_capacity) {
        uint64_t *grown = realloc(r->hashes, (size_t)need * sizeof *grown);
        if (!grown) return -1; /* the caller falls back to hashing per instance */
        r->hashes = grown;
        r->hash_capacity = need;
    }
    r->num_hashes = instance_prefix_hashes(block_size, q, r->hashes, r->hash_capacity);
    r->hash_block_size = block_size;
    r->hash_request = q;
    return 0;
}

static struct signals
signals_of(struct router *r, const struct candidate *c, const struct instance_load *s,
           const struct request *q, bool want_prefix)
{
    struct signals g = {
        .queue = (double)(s->waiting + c->in_flight),
        .load = (double)(s->waiting + s->running + c->in_flight),
        .active = (double)(s->running + c->in_flight),
        .kv_free = s->kv_total_blocks > 0
                       ? 1.0 - (double)s->kv_used_blocks / (double)s->kv_total_blocks
                       : 0.0,
    };
    if (want_prefix) {
        int64_t cached = prefix_hashes(r, q, instance_block_size(c->instance))
                             ? instance_cached_tokens(c->instance, q)
                             : instance_cached_tokens_hashed(c->instance, r->hashes, r->num_hashes);
        g.prefix = (double)cached / (double)q->input_tokens;
    }
    return g;
}

/* Smaller is better, normalized over the candidates to [0, 1] (1: the least). */
static double
least_is_best(double x, double min, double max)
{
    return max > min ? (max - x) / (max - min) : 1.0;
}

/* Scores of the weighted policy into out, from seen or live signals. */
static void
weighted_scores(struct router *r, const struct request *q, const struct candidate *cs,
                size_t n, bool live, double *out)
{
    const double *w = r->weights;
    bool want_prefix = w[SCORER_PREFIX_CACHE] > 0 && q->prefix_tokens > 0;
    double min[3] = {0}, max[3] = {0}, total = 0;
    for (int k = 0; k < SCORER_COUNT; k++) total += w[k];
    /* two passes: ranges first, then scores */
    for (size_t i = 0; i < n; i++) {
        struct instance_load now = live ? instance_load(cs[i].instance) : cs[i].seen;
        struct signals g = signals_of(r, &cs[i], &now, q, false);
        double v[3] = {g.queue, g.load, g.active};
        for (int k = 0; k < 3; k++) {
            if (i == 0 || v[k] < min[k]) min[k] = v[k];
            if (i == 0 || v[k] > max[k]) max[k] = v[k];
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct instance_load now = live ? instance_load(cs[i].instance) : cs[i].seen;
        struct signals g = signals_of(r, &cs[i], &now, q, want_prefix);
        double score = w[SCORER_PREFIX_CACHE] * g.prefix +
                       w[SCORER_QUEUE_DEPTH] * least_is_best(g.queue, min[0], max[0]) +
                       w[SCORER_LOAD] * least_is_best(g.load, min[1], max[1]) +
                       w[SCORER_ACTIVE_REQUESTS] * least_is_best(g.active, min[2], max[2]) +
                       w[SCORER_KV_UTILIZATION] * g.kv_free;
        out[i] = score / total;
    }
}

static void
least_loaded_scores(const struct candidate *cs, size_t n, bool live, double *out)
{
    for (size_t i = 0; i < n; i++) {
        struct instance_load s = live ? instance_load(cs[i].instance) : cs[i].seen;
        out[i] = (double)(-(s.waiting + s.running + cs[i].in_flight));
    }
}

/* The best score's index; equal best ones drawn uniformly from the tie stream. */
static size_t
best_of(struct router *r, const double *scores, size_t n)
{
    size_t best = 0, ties = 1;
    for (size_t i = 1; i < n; i++) {
        if (scores[i] > scores[best]) {
            best = i;
            ties = 1;
        } else if (scores[i] == scores[best]) {
            ties++;
        }
    }
    if (ties == 1) return best;
    unsigned long k = gsl_rng_uniform_int(r->ties.gsl, ties);
    for (size_t i = best;; i++)
        if (scores[i] == scores[best] && k-- == 0) return i;
}

/* The slot holding key, or where it goes: the first free one within a few
 * probes, else its home slot, overwritten (the table never grows). */
static size_t
affinity_slot(const struct router *r, uint64_t key)
{
    size_t i = (size_t)(key * 0x9e3779b97f4a7c15u) & r->affinity_mask;
    for (size_t probe = 0; probe < 8; probe++) {
        size_t j = (i + probe) & r->affinity_mask;
        if (r->affinity_keys[j] == key || r->affinity_keys[j] == 0) return j;
    }
    return i;
}

size_t
router_choose(struct router *r, const struct request *q, struct candidate *cs, size_t n,
              struct routing_decision *trace)
{
    double *scores = r->scores;
    size_t chosen = 0;
    r->hash_request = NULL;
    bool has_live = false;
    switch (r->policy) {
    case ROUTING_ROUND_ROBIN:
        chosen = r->next_turn;
        r->next_turn = (r->next_turn + 1) % n;
        if (trace)
            for (size_t i = 0; i < n; i++) scores[i] = i == chosen;
        break;
    case ROUTING_LEAST_LOADED:
        least_loaded_scores(cs, n, false, scores);
        chosen = best_of(r, scores, n);
        if (trace) least_loaded_scores(cs, n, true, r->live_scores);
        has_live = true;
        break;
    case ROUTING_WEIGHTED:
        weighted_scores(r, q, cs, n, false, scores);
        chosen = best_of(r, scores, n);
        if (trace) weighted_scores(r, q, cs, n, true, r->live_scores);
        has_live = true;
        break;
    case ROUTING_PREFIX_AFFINITY: {
        uint64_t key = q->num_segments ? q->segments[0].stream | 1 : 0;
        size_t slot = 0;
        if (key) slot = affinity_slot(r, key);
        if (key && r->affinity_keys[slot] == key && (size_t)r->affinity_targets[slot] < n) {
            chosen = (size_t)r->affinity_targets[slot];
            for (size_t i = 0; i < n; i++) scores[i] = i == chosen;
            break;
        }
        least_loaded_scores(cs, n, false, scores);
        chosen = best_of(r, scores, n);
        if (key) {
            r->affinity_keys[slot] = key;
            r->affinity_targets[slot] = (int32_t)chosen;
        }
        break;
    }
    }
    if (trace) {
        for (size_t i = 0; i < n; i++) r->ids[i] = cs[i].id;
        trace->request_id = q->id;
        trace->chosen = cs[chosen].id;
        trace->num_candidates = n;
        trace->ids = r->ids;
        trace->scores = scores;
        trace->regret = 0;
        if (has_live) {
            double best = r->live_scores[0];
            for (size_t i = 1; i < n; i++)
                if (r->live_scores[i] > best) best = r->live_scores[i];
            trace->regret = best - r->live_scores[chosen];
        }
    }
    return chosen;
}
