/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config/cluster_config.h"

#include "core/error.h"
#include "core/yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COUNT ((int64_t)1 << 40)

/* file:line prefix for messages about a node */
static const char *
where(const struct yaml_doc *doc, const struct yaml_node *node, const char *key, char *buffer,
      size_t size)
{
    snprintf(buffer, size, "%s:%ld: '%s'", doc->name, node->line, key);
    return buffer;
}

/* An enum key given by name: parse(what, text, out). */
#define GET_NAME(doc, map, key, parse, out)                                                        \
    do {                                                                                           \
        const char *text_ = NULL;                                                                  \
        char what_[512];                                                                           \
        if (yaml_get_string(doc, map, key, &text_)) return ERR_CONFIG;                             \
        if (text_ &&                                                                               \
            parse(where(doc, yaml_get(map, key), key, what_, sizeof what_), text_, out))           \
            return ERR_CONFIG;                                                                     \
    } while (0)

/*
 * A map of scalars written as the flag's list "k:v,k:v" (so the file and
 * the command line share one parser); what names the key for messages.
 * A list too long for text is an error, never cut short.
 */
static int
map_as_list(const struct yaml_doc *doc, const struct yaml_node *n, const char *key, char *what,
            size_t what_size, char *text, size_t size)
{
    where(doc, n, key, what, what_size);
    if (yaml_expect(doc, n, YAML_MAP, key)) return ERR_CONFIG;
    size_t used = 0;
    text[0] = '\0';
    for (size_t i = 0; i < n->count; i++) {
        if (yaml_expect(doc, n->items[i], YAML_SCALAR, n->keys[i])) return ERR_CONFIG;
        int written = snprintf(text + used, size - used, "%s%s:%s", i ? "," : "", n->keys[i],
                               n->items[i]->scalar);
        if (written < 0 || (size_t)written >= size - used)
            return config_error("%s: too many entries (at most %zu characters)", what, size - 1);
        used += (size_t)written;
    }
    return 0;
}

static int
load_weights(const struct yaml_doc *doc, const struct yaml_node *n, double *weights)
{
    char what[512], text[2048];
    return map_as_list(doc, n, "scorers", what, sizeof what, text, sizeof text)
               ? ERR_CONFIG
               : cluster_parse_scorers(what, text, weights);
}

static int
load_priorities(const struct yaml_doc *doc, const struct yaml_node *n, struct cluster_policy *p)
{
    char what[512], text[2048];
    return map_as_list(doc, n, "priorities", what, sizeof what, text, sizeof text)
               ? ERR_CONFIG
               : cluster_parse_priorities(what, text, p);
}

static int
load_link(const struct yaml_doc *doc, const struct yaml_node *n, struct pd_link *l,
          bool *have_bytes)
{
    static const char *const keys[] = {"bandwidth_gbps", "base_latency_us", "kv_bytes_per_token",
                                       "shared", NULL};
    if (yaml_expect(doc, n, YAML_MAP, "link") || yaml_check_keys(doc, n, keys)) return ERR_CONFIG;
    double gbps = l->bandwidth_bytes_per_s * 8 / 1e9;
    if (yaml_get_double(doc, n, "bandwidth_gbps", 0, 1e9, &gbps) ||
        yaml_get_i64(doc, n, "base_latency_us", 0, MAX_COUNT, &l->base_latency_us) ||
        yaml_get_double(doc, n, "kv_bytes_per_token", 0, 1e12, &l->kv_bytes_per_token) ||
        yaml_get_bool(doc, n, "shared", &l->shared))
        return ERR_CONFIG;
    l->bandwidth_bytes_per_s = gbps * 1e9 / 8;
    *have_bytes = yaml_get(n, "kv_bytes_per_token") != NULL;
    return 0;
}

/* Refuses a model or GPU the catalog does not know, listing those it does. */
static int
check_known(const struct config *cfg, const struct yaml_doc *doc, const struct yaml_node *n,
            const char *pool, const struct engine_config *e)
{
    const struct catalog *c = &cfg->catalog;
    char known[4096] = "";
    if (!catalog_model(c, e->model)) {
        for (size_t i = 0; i < c->num_models; i++) {
            size_t used = strlen(known);
            snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", c->models[i].id);
        }
        return config_error("%s:%ld: pool '%s': unknown model '%s' (known: %s)", doc->name,
                            n->line, pool, e->model, known);
    }
    if (!catalog_gpu(c, e->gpu)) {
        for (size_t i = 0; i < c->num_gpus; i++) {
            size_t used = strlen(known);
            snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", c->gpus[i].name);
        }
        return config_error("%s:%ld: pool '%s': unknown GPU '%s' (known: %s)", doc->name,
                            n->line, pool, e->gpu, known);
    }
    return 0;
}

static int
load_pool(const struct config *cfg, const struct yaml_doc *doc, const struct yaml_node *n,
          const struct cluster_policy *policy, const struct instance_policy *defaults,
          struct cluster_pool *pool)
{
    static const char *const keys[] = {"name", "role", "instances", "routing", "scheduler",
                                       "preemption_victim", "engine", "alpha", "beta", NULL};
    if (yaml_expect(doc, n, YAML_MAP, "pool") || yaml_check_keys(doc, n, keys)) return ERR_CONFIG;
    const char *name = NULL;
    if (yaml_get_string(doc, n, "name", &name)) return ERR_CONFIG;
    if (!name) return config_error("%s:%ld: a pool needs a name", doc->name, n->line);
    if (strlen(name) >= sizeof pool->name)
        return config_error("%s:%ld: pool name '%s' is too long", doc->name, n->line, name);
    strcpy(pool->name, name);
    pool->instances = 1;
    pool->routing = policy->routing;
    pool->policy = *defaults;
    if (yaml_get_i64(doc, n, "instances", 1, CLUSTER_MAX_INSTANCES, &pool->instances))
        return ERR_CONFIG;
    GET_NAME(doc, n, "role", cluster_parse_role, &pool->role);
    GET_NAME(doc, n, "routing", cluster_parse_routing, &pool->routing);
    GET_NAME(doc, n, "scheduler", cluster_parse_scheduler, &pool->policy.scheduler);
    GET_NAME(doc, n, "preemption_victim", cluster_parse_victim, &pool->policy.victim);
    struct config resolved = *cfg;
    struct engine_config *e = &resolved.engine;
    const struct yaml_node *engine = yaml_get(n, "engine");
    if (engine && config_apply_engine(doc, engine, e)) return ERR_CONFIG;
    if (yaml_get_double_seq(doc, n, "alpha", -1e9, 1e9, e->alpha, 3) ||
        yaml_get_double_seq(doc, n, "beta", -1e9, 1e9, e->beta, 3))
        return ERR_CONFIG;
    if (yaml_get(n, "alpha")) e->have_alpha = true;
    if (yaml_get(n, "beta")) e->have_beta = true;
    if (check_known(cfg, doc, engine ? engine : n, name, e)) return ERR_CONFIG;
    if (config_resolve_engine(&resolved, pool->instances, &pool->params)) {
        fprintf(stderr, "%s: (in pool '%s' at %s:%ld)\n", program_name(), name, doc->name,
                n->line);
        return ERR_CONFIG;
    }
    return 0;
}

static int
load_cluster(const struct config *cfg, const struct yaml_doc *doc, const struct yaml_node *n,
             int64_t override, struct cluster *c)
{
    static const char *const keys[] = {
        "instances", "routing", "scorers", "admission", "token_bucket", "shed_queue_depth",
        "snapshot_interval_us", "admission_latency_us", "routing_latency_us", "scheduler",
        "preemption_victim", "seed", "priorities", "link", "pools", NULL};
    static const char *const bucket_keys[] = {"capacity_tokens", "refill_tokens_per_s", NULL};
    if (yaml_expect(doc, n, YAML_MAP, "cluster") || yaml_check_keys(doc, n, keys))
        return ERR_CONFIG;
    struct cluster_policy *p = &c->policy;
    struct instance_policy defaults = {0};
    int64_t instances = 1, seed = (int64_t)p->seed;
    const struct yaml_node *m;
    if (yaml_get_i64(doc, n, "instances", 1, CLUSTER_MAX_INSTANCES, &instances) ||
        yaml_get_double(doc, n, "shed_queue_depth", 1e-9, 1e12, &p->shed_queue_depth) ||
        yaml_get_i64(doc, n, "snapshot_interval_us", 0, MAX_COUNT, &p->snapshot_interval_us) ||
        yaml_get_i64(doc, n, "admission_latency_us", 0, MAX_COUNT, &p->admission_latency_us) ||
        yaml_get_i64(doc, n, "routing_latency_us", 0, MAX_COUNT, &p->routing_latency_us) ||
        yaml_get_i64(doc, n, "seed", 0, INT64_MAX, &seed))
        return ERR_CONFIG;
    p->seed = (uint64_t)seed;
    GET_NAME(doc, n, "routing", cluster_parse_routing, &p->routing);
    GET_NAME(doc, n, "admission", cluster_parse_admission, &p->admission);
    GET_NAME(doc, n, "scheduler", cluster_parse_scheduler, &defaults.scheduler);
    GET_NAME(doc, n, "preemption_victim", cluster_parse_victim, &defaults.victim);
    if ((m = yaml_get(n, "scorers")) && load_weights(doc, m, p->weights)) return ERR_CONFIG;
    if ((m = yaml_get(n, "priorities")) && load_priorities(doc, m, p)) return ERR_CONFIG;
    if ((m = yaml_get(n, "token_bucket")) &&
        (yaml_expect(doc, m, YAML_MAP, "token_bucket") || yaml_check_keys(doc, m, bucket_keys) ||
         yaml_get_i64(doc, m, "capacity_tokens", 1, MAX_COUNT, &p->bucket_capacity_tokens) ||
         yaml_get_i64(doc, m, "refill_tokens_per_s", 0, MAX_COUNT,
                      &p->bucket_refill_tokens_per_s)))
        return ERR_CONFIG;
    bool have_bytes = false;
    if ((m = yaml_get(n, "link")) && load_link(doc, m, &c->link, &have_bytes)) return ERR_CONFIG;
    const struct yaml_node *pools = yaml_get(n, "pools");
    if (pools && override > 0)
        return config_error("--instances: %s gives pools (set 'instances' per pool)", doc->name);
    if (override > 0) instances = override;
    if (pools && yaml_get(n, "instances"))
        return config_error("%s:%ld: give 'instances' per pool, not beside 'pools'", doc->name,
                            yaml_get(n, "instances")->line);
    if (!pools) {
        struct engine_params params;
        if (config_resolve_engine(cfg, instances, &params)) return ERR_CONFIG;
        free(c->pools);
        if (cluster_init_uniform(c, &params, instances, &defaults)) return ERR_INTERNAL;
        return 0;
    }
    if (yaml_expect(doc, pools, YAML_SEQ, "pools")) return ERR_CONFIG;
    if (pools->count == 0) return config_error("%s:%ld: 'pools' is empty", doc->name, pools->line);
    c->pools = calloc(pools->count, sizeof *c->pools);
    if (!c->pools) return internal_error("out of memory");
    for (size_t i = 0; i < pools->count; i++, c->num_pools++)
        if (load_pool(cfg, doc, pools->items[i], p, &defaults, &c->pools[i])) return ERR_CONFIG;
    for (size_t i = 0; !have_bytes && i < c->num_pools; i++) {
        const struct model_arch *a = catalog_model(&cfg->catalog, cfg->engine.model);
        if (c->pools[i].role == POOL_PREFILL && a) c->link.kv_bytes_per_token =
            model_kv_bytes_per_token(a, 1);
    }
    char what[512];
    snprintf(what, sizeof what, "%s:%ld", doc->name, pools->line);
    return cluster_check(c, what);
}

int
cluster_config_load(const struct config *cfg, const char *path, int64_t instances,
                    struct cluster *out)
{
    static const char *const keys[] = {"version", "cluster", NULL};
    struct cluster c = {0};
    cluster_policy_defaults(&c.policy);
    struct yaml_doc doc;
    int rc = yaml_load_file(path, &doc);
    if (rc) return rc;
    int64_t version = 1;
    const struct yaml_node *n = yaml_get(doc.root, "cluster");
    if (yaml_check_keys(&doc, doc.root, keys) ||
        yaml_get_i64(&doc, doc.root, "version", 1, 1, &version))
        rc = ERR_CONFIG;
    else if (!n)
        rc = config_error("%s: no 'cluster' key", doc.name);
    else
        rc = load_cluster(cfg, &doc, n, instances, &c);
    yaml_doc_free(&doc);
    if (rc) {
        cluster_free(&c);
        return rc;
    }
    *out = c;
    return 0;
}
