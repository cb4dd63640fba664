/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "cluster/cluster.h"

#include "core/error.h"
#include "core/parse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const routing_names[] = {
    [ROUTING_ROUND_ROBIN] = "round-robin",
    [ROUTING_LEAST_LOADED] = "least-loaded",
    [ROUTING_WEIGHTED] = "weighted",
    [ROUTING_PREFIX_AFFINITY] = "prefix-affinity",
    NULL,
};
static const char *const admission_names[] = {
    [ADMISSION_ALWAYS] = "always",
    [ADMISSION_TOKEN_BUCKET] = "token-bucket",
    [ADMISSION_REJECT_ALL] = "reject-all",
    [ADMISSION_SLO_SHED] = "slo-shed",
    NULL,
};
static const char *const scorer_names[] = {
    [SCORER_PREFIX_CACHE] = "prefix-cache",
    [SCORER_QUEUE_DEPTH] = "queue-depth",
    [SCORER_KV_UTILIZATION] = "kv-utilization",
    [SCORER_LOAD] = "load",
    [SCORER_ACTIVE_REQUESTS] = "active-requests",
    NULL,
};
static const char *const scheduler_names[] = {
    [SCHEDULER_FCFS] = "fcfs", [SCHEDULER_PRIORITY] = "priority", [SCHEDULER_SJF] = "sjf", NULL};
static const char *const victim_names[] = {
    [VICTIM_NEWEST] = "newest", [VICTIM_LOWEST_PRIORITY] = "lowest-priority", NULL};
static const char *const role_names[] = {
    [POOL_MIXED] = "mixed", [POOL_PREFILL] = "prefill", [POOL_DECODE] = "decode", NULL};

const char *
routing_name(enum routing_policy routing)
{
    return routing_names[routing];
}

const char *
scorer_name(enum scorer_kind scorer)
{
    return scorer_names[scorer];
}

/* Index of text in names, or an error listing them. */
static int
lookup(const char *what, const char *kind, const char *const *names, const char *text,
       int *out)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], text) == 0) {
            *out = i;
            return 0;
        }
    char valid[256] = "";
    for (int i = 0; names[i]; i++) {
        if (i) strncat(valid, ", ", sizeof valid - strlen(valid) - 1);
        strncat(valid, names[i], sizeof valid - strlen(valid) - 1);
    }
    return config_error("%s: unknown %s '%s' (valid: %s)", what, kind, text, valid);
}

#define PARSE_ENUM(fn, type, kind, names)                                                          \
    int fn(const char *what, const char *text, type *out)                                          \
    {                                                                                              \
        int i;                                                                                     \
        if (lookup(what, kind, names, text, &i)) return ERR_CONFIG;                                \
        *out = (type)i;                                                                            \
        return 0;                                                                                  \
    }

PARSE_ENUM(cluster_parse_routing, enum routing_policy, "routing policy", routing_names)
PARSE_ENUM(cluster_parse_admission, enum admission_policy, "admission policy", admission_names)
PARSE_ENUM(cluster_parse_scheduler, enum scheduler_policy, "scheduler", scheduler_names)
PARSE_ENUM(cluster_parse_victim, enum preemption_victim, "preemption victim", victim_names)
PARSE_ENUM(cluster_parse_role, enum pool_role, "pool role", role_names)

/* Splits "name:value" items of a comma list; calls item() for each. */
static int
each_item(const char *what, const char *text, int (*item)(const char *what, const char *name,
                                                            const char *value, void *context),
          void *context)
{
    char buffer[1024];
    if (strlen(text) >= sizeof buffer) return config_error("%s: too long", what);
    if (!*text) return config_error("%s: empty list", what);
    strcpy(buffer, text);
    char *p = buffer;
    for (;;) {
        char *comma = strchr(p, ','), *colon;
        if (comma) *comma = '\0';
        if (!(colon = strrchr(p, ':')) || colon == p)
            return config_error("%s: '%s' is not NAME:VALUE", what, p);
        *colon = '\0';
        int rc = item(what, p, colon + 1, context);
        if (rc) return rc;
        if (!comma) return 0;
        p = comma + 1;
    }
}

static int
scorer_item(const char *what, const char *name, const char *value, void *context)
{
    double *weights = context;
    int i;
    if (lookup(what, "scorer", scorer_names, name, &i)) return ERR_CONFIG;
    double w;
    const char *why = parse_double(value, 0, 1e9, &w);
    if (why)
        return config_error("%s: weight of '%s': %s: '%s' (want a number >= 0)", what, name, why,
                            value);
    weights[i] = w;
    return 0;
}

int
cluster_parse_scorers(const char *what, const char *text, double weights[SCORER_COUNT])
{
    double w[SCORER_COUNT] = {0};
    int rc = each_item(what, text, scorer_item, w);
    if (rc) return rc;
    double sum = 0;
    for (int i = 0; i < SCORER_COUNT; i++) sum += w[i];
    if (!(sum > 0)) return config_error("%s: the weights are all zero", what);
    memcpy(weights, w, sizeof w);
    return 0;
}

static int
priority_item(const char *what, const char *name, const char *value, void *context)
{
    struct cluster_policy *p = context;
    if (p->num_priorities == CLUSTER_MAX_PRIORITIES)
        return config_error("%s: at most %d slo classes", what, CLUSTER_MAX_PRIORITIES);
    struct slo_priority *s = &p->priorities[p->num_priorities];
    if (strlen(name) >= sizeof s->slo_class)
        return config_error("%s: slo class '%s' is too long", what, name);
    const char *why = parse_i64(value, 0, 1000000, &s->priority);
    if (why) return config_error("%s: priority of '%s': %s: '%s'", what, name, why, value);
    strcpy(s->slo_class, name);
    p->num_priorities++;
    return 0;
}

int
cluster_parse_priorities(const char *what, const char *text, struct cluster_policy *policy)
{
    struct cluster_policy copy = *policy;
    copy.num_priorities = 0;
    int rc = each_item(what, text, priority_item, &copy);
    if (!rc) *policy = copy;
    return rc;
}

int64_t
cluster_priority_of(const struct cluster_policy *p, const char *slo_class)
{
    for (size_t i = 0; i < p->num_priorities; i++)
        if (strcmp(p->priorities[i].slo_class, slo_class) == 0) return p->priorities[i].priority;
    return p->default_priority;
}

void
cluster_policy_defaults(struct cluster_policy *p)
{
    static const struct slo_priority builtin[] = {
        {"critical", 0}, {"interactive", 0}, {"standard", 1}, {"batch", 2}, {"sheddable", 2}};
    memset(p, 0, sizeof *p);
    p->admission = ADMISSION_ALWAYS;
    p->bucket_capacity_tokens = 100000;
    p->bucket_refill_tokens_per_s = 10000;
    p->shed_queue_depth = 16;
    p->routing = ROUTING_ROUND_ROBIN;
    p->weights[SCORER_PREFIX_CACHE] = 2;
    p->weights[SCORER_QUEUE_DEPTH] = 1;
    p->weights[SCORER_KV_UTILIZATION] = 1;
    p->seed = 1;
    memcpy(p->priorities, builtin, sizeof builtin);
    p->num_priorities = sizeof builtin / sizeof *builtin;
    p->default_priority = 1;
}

int
cluster_init_uniform(struct cluster *c, const struct engine_params *params, int64_t n,
                     const struct instance_policy *policy)
{
    memset(c, 0, sizeof *c);
    cluster_policy_defaults(&c->policy);
    c->pools = calloc(1, sizeof *c->pools);
    if (!c->pools) return internal_error("out of memory");
    c->num_pools = 1;
    strcpy(c->pools[0].name, "default");
    c->pools[0].role = POOL_MIXED;
    c->pools[0].instances = n;
    c->pools[0].params = *params;
    if (policy) c->pools[0].policy = *policy;
    return 0;
}

void
cluster_free(struct cluster *c)
{
    free(c->pools);
    c->pools = NULL;
    c->num_pools = 0;
}

int
cluster_check(const struct cluster *c, const char *what)
{
    size_t count[3] = {0};
    int64_t total = 0;
    for (size_t i = 0; i < c->num_pools; i++) {
        count[c->pools[i].role]++;
        total += c->pools[i].instances;
        if (c->pools[i].instances < 1)
            return config_error("%s: pool '%s' has no instance", what, c->pools[i].name);
    }
    if (total > CLUSTER_MAX_INSTANCES)
        return config_error("%s: %lld instances (at most %d)", what, (long long)total,
                            CLUSTER_MAX_INSTANCES);
    if (c->num_pools == 0) return config_error("%s: no pool", what);
    if (count[POOL_PREFILL] + count[POOL_DECODE] == 0) return 0;
    if (count[POOL_PREFILL] != 1 || count[POOL_DECODE] != 1 || count[POOL_MIXED] != 0)
        return config_error("%s: P/D needs exactly one prefill pool and one decode pool, and no "
                            "mixed pool",
                            what);
    if (!isfinite(c->link.bandwidth_bytes_per_s) || c->link.bandwidth_bytes_per_s < 0)
        return config_error("%s: bad link bandwidth", what);
    return 0;
}
