/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_cluster: the cluster's pieces by hand: the token bucket's exact
 * budget, slo-shed thresholds, policy and scorer parsing, the router's
 * round-robin and tie-breaking, Jain's index and the fitness terms.
 */
#include "check.h"

#include "analysis/policy_eval.h"
#include "cluster/admission.h"
#include "cluster/router.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

static struct request
request_of(int64_t id, int64_t input_tokens)
{
    return (struct request){.id = id, .input_tokens = input_tokens, .output_tokens = 1,
                            .slo_class = "", .tenant = "", .prefix = ""};
}

/* Admission by a token bucket of capacity tokens, refilled at refill per second. */
static void
token_bucket(struct admission *a, int64_t capacity, int64_t refill)
{
    struct cluster_policy p;
    cluster_policy_defaults(&p);
    p.admission = ADMISSION_TOKEN_BUCKET;
    p.bucket_capacity_tokens = capacity;
    p.bucket_refill_tokens_per_s = refill;
    admission_init(a, &p);
}

TEST(token_bucket_budget_by_hand)
{
    struct admission a;
    token_bucket(&a, 1000, 100);
    struct request q = request_of(0, 600);
    CHECK(admission_admit(&a, &q, 1, 0, 0));        /* 1000 -> 400 */
    CHECK(!admission_admit(&a, &q, 1, 0, 1000000)); /* 400 + 100 = 500 < 600 */
    CHECK(admission_admit(&a, &q, 1, 0, 2000000));  /* 600 -> 0 */
    CHECK(!admission_admit(&a, &q, 1, 0, 7999999)); /* 599.9999 */
    CHECK(admission_admit(&a, &q, 1, 0, 8000000));  /* exactly 600 */
    /* a long idle time fills the bucket to its capacity, no more */
    struct request big = request_of(1, 1001);
    CHECK(!admission_admit(&a, &big, 1, 0, (int64_t)1 << 50));
}

TEST(token_bucket_never_exceeds_capacity_plus_refill)
{
    struct admission a;
    token_bucket(&a, 5000, 2000);
    int64_t admitted = 0;
    for (int64_t i = 0; i < 20000; i++) {
        int64_t t = i * 1237;
        struct request q = request_of(i, 1 + (i * 7919) % 900);
        if (admission_admit(&a, &q, 1, 0, t)) admitted += q.input_tokens;
        CHECK(admitted * 1000000 <= (int64_t)5000 * 1000000 + 2000 * t);
    }
    CHECK(admitted > 0);
}

TEST(slo_shed_thresholds)
{
    struct cluster_policy p;
    cluster_policy_defaults(&p);
    p.admission = ADMISSION_SLO_SHED;
    p.shed_queue_depth = 8;
    struct admission a;
    admission_init(&a, &p);
    struct request q = request_of(0, 10);
    CHECK(admission_admit(&a, &q, 0, 1e9, 0)); /* priority 0 is never shed */
    CHECK(admission_admit(&a, &q, 1, 7.9, 0));
    CHECK(!admission_admit(&a, &q, 1, 8, 0));
    CHECK(admission_admit(&a, &q, 2, 3.9, 0)); /* tier 2 sheds at 8 / 2 */
    CHECK(!admission_admit(&a, &q, 2, 4, 0));
}

TEST(parsers_accept_valid_and_refuse_bad)
{
    double w[SCORER_COUNT];
    CHECK_EQ(cluster_parse_scorers("t", "prefix-cache:2,queue-depth:1", w), 0);
    CHECK(w[SCORER_PREFIX_CACHE] == 2 && w[SCORER_QUEUE_DEPTH] == 1 && w[SCORER_LOAD] == 0);
    CHECK_EQ(cluster_parse_scorers("t", "load:-1", w), ERR_CONFIG);
    CHECK_EQ(cluster_parse_scorers("t", "load:nan", w), ERR_CONFIG);
    CHECK_EQ(cluster_parse_scorers("t", "load:0,queue-depth:0", w), ERR_CONFIG);
    CHECK_EQ(cluster_parse_scorers("t", "speed:1", w), ERR_CONFIG);
    enum routing_policy r;
    CHECK_EQ(cluster_parse_routing("t", "prefix-affinity", &r), 0);
    CHECK_EQ(r, ROUTING_PREFIX_AFFINITY);
    CHECK_EQ(cluster_parse_routing("t", "random", &r), ERR_CONFIG);
    struct cluster_policy p;
    cluster_policy_defaults(&p);
    CHECK_EQ(cluster_priority_of(&p, "interactive"), 0);
    CHECK_EQ(cluster_priority_of(&p, "unheard-of"), 1);
    CHECK_EQ(cluster_parse_priorities("t", "gold:0,lead:7", &p), 0);
    CHECK_EQ(cluster_priority_of(&p, "lead"), 7);
    CHECK_EQ(cluster_priority_of(&p, "interactive"), 1);
}

TEST(round_robin_takes_turns_and_ties_are_seeded)
{
    double w[SCORER_COUNT] = {0};
    struct candidate cs[5];
    for (int i = 0; i < 5; i++) cs[i] = (struct candidate){.id = 10 + i};
    struct router r;
    CHECK_EQ(router_init(&r, ROUTING_ROUND_ROBIN, w, 5, 1, "t"), 0);
    struct request q = request_of(0, 10);
    for (size_t k = 0; k < 12; k++) CHECK_EQ(router_choose(&r, &q, cs, 5, NULL), k % 5);
    router_free(&r);
    /* least-loaded: the one least loaded wins; equal ones are drawn, the
     * same way from the same seed, and every tied one gets picked */
    int picks[2][5] = {{0}};
    for (int run = 0; run < 2; run++) {
        CHECK_EQ(router_init(&r, ROUTING_LEAST_LOADED, w, 5, 42, "t"), 0);
        cs[2].seen.waiting = 0;
        for (int i = 0; i < 5; i++) cs[i].seen = (struct instance_load){.waiting = i == 3 ? 5 : 1};
        for (int k = 0; k < 200; k++) picks[run][router_choose(&r, &q, cs, 5, NULL)]++;
        router_free(&r);
    }
    CHECK(memcmp(picks[0], picks[1], sizeof picks[0]) == 0);
    CHECK_EQ(picks[0][3], 0);
    for (int i = 0; i < 5; i++)
        if (i != 3) CHECK(picks[0][i] > 20);
    cs[1].in_flight = 0;
    cs[4].seen.waiting = 0;
    CHECK_EQ(router_init(&r, ROUTING_LEAST_LOADED, w, 5, 42, "t"), 0);
    CHECK_EQ(router_choose(&r, &q, cs, 5, NULL), 4);
    router_free(&r);
}

TEST(jain_index_by_hand)
{
    const double even[] = {3, 3, 3, 3}, one[] = {8, 0, 0, 0}, half[] = {1, 1, 0, 0};
    CHECK_NEAR(jain_index(even, 4), 1.0, 1e-15);
    CHECK_NEAR(jain_index(one, 4), 0.25, 1e-15);
    CHECK_NEAR(jain_index(half, 4), 0.5, 1e-15);
    double w[FITNESS_COUNT];
    CHECK_EQ(fitness_parse("t", "throughput:0.5,p99_ttft:0.3,mean_e2e:0.2", w), 0);
    CHECK_EQ(fitness_parse("t", "throughput:0", w), ERR_CONFIG);
    CHECK_EQ(fitness_parse("t", "latency:1", w), ERR_CONFIG);
    CHECK_EQ(fitness_parse("t", "throughput:-1", w), ERR_CONFIG);
}

int
main(void)
{
    RUN(token_bucket_budget_by_hand);
    RUN(token_bucket_never_exceeds_capacity_plus_refill);
    RUN(slo_shed_thresholds);
    RUN(parsers_accept_valid_and_refuse_bad);
    RUN(round_robin_takes_turns_and_ties_are_seeded);
    RUN(jain_index_by_hand);
    return check_done();
}
