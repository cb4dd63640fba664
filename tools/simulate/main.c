/* SPDX-License-Identifier: GPL-3.0-or-later */
/* simulate: replay a request stream through a vLLM-style engine. */
#include "cluster/cluster.h"
#include "config/cluster_config.h"
#include "config/config.h"
#include "core/error.h"
#include "core/outfile.h"
#include "core/parse.h"
#include "jobs/simulate_job.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: simulate [OPTIONS] [REQUESTS.csv|-]\n"
    "Replays a request stream (docs/formats.md) through one vLLM-style engine, or a\n"
    "cluster of them (docs/cluster.md), and writes one result line per request, in\n"
    "completion order, to standard output.\n"
    "\n"
    "Engine (defaults from defaults.yaml):\n"
    "  --model ID                      Hugging Face id (meta-llama/llama-3.1-8b-instruct)\n"
    "  --gpu NAME                      H100, H200, A100-80, L40S (H100)\n"
    "  --tp N                          tensor parallelism (1)\n"
    "  --vllm-version V                coefficient set to use (newest)\n"
    "  --latency-model M               blackbox, roofline or physics (blackbox)\n"
    "  --max-num-seqs N                running requests at most (256)\n"
    "  --max-num-batched-tokens N      token budget of a step (2048)\n"
    "  --long-prefill-token-threshold N  largest prefill chunk, 0 = off (0)\n"
    "  --max-model-len N               0 = the model's context length (0)\n"
    "  --block-size N                  tokens per KV block (16)\n"
    "  --num-gpu-blocks N              KV pool; 0 = derived from GPU memory (0)\n"
    "  --gpu-memory-utilization F      share of GPU memory for weights and KV (0.9)\n"
    "  --no-prefix-caching             disable prefix caching (on by default)\n"
    "  --preemption M                  restart (a victim starts over) or resume (keeps its\n"
    "                                  output, as vLLM does) (restart)\n"
    "  --expert-parallel               the --instances share the routed experts out\n"
    "                                  and step in lockstep (off)\n"
    "  --kv-cpu-blocks N               CPU tier for evicted prefix blocks, 0 = none (0)\n"
    "  --kv-cpu-bandwidth-gbs F        host-to-GPU copy bandwidth of a reload (25)\n"
    "  --kv-cpu-latency-us F           fixed cost of a reload (20)\n"
    "  --alpha A0,A1,A2                queueing delay us: A0 + A1*input; A2 per output token\n"
    "  --beta B0,B1,B2                 step us: B0 + B1*prefill tokens + B2*decode tokens\n"
    "  --config FILE                   YAML overriding defaults.yaml (repeatable)\n"
    "  --coefficients FILE             coefficients written by calibrate fit (a --config)\n";
/* in two parts: C11 guarantees string literals of 4095 characters only */
static const char usage_cluster_and_run[] =
    "Cluster (docs/cluster.md; flags override the --cluster file):\n"
    "  --cluster FILE                  pools, policies and the P/D link (YAML)\n"
    "  --instances N                   N identical instances of the engine (1)\n"
    "  --routing P                     round-robin, least-loaded, weighted, prefix-affinity\n"
    "  --scorers LIST                  weighted: NAME:W,... over prefix-cache, queue-depth,\n"
    "                                  kv-utilization, load, active-requests\n"
    "                                  (prefix-cache:2,queue-depth:1,kv-utilization:1)\n"
    "  --admission P                   always, token-bucket, reject-all, slo-shed (always)\n"
    "  --bucket-capacity-tokens N      token-bucket capacity, input tokens (100000)\n"
    "  --bucket-refill-tokens-per-s N  token-bucket refill (10000)\n"
    "  --shed-queue-depth X            slo-shed: mean queue that sheds priority 1 (16)\n"
    "  --priorities LIST               slo_class priorities, NAME:P,... (0 = most important)\n"
    "  --snapshot-interval-us T        router signals refreshed every T us, 0 = live (0)\n"
    "  --admission-latency-us T        added to each request's path (0)\n"
    "  --routing-latency-us T          added to each request's path (0)\n"
    "  --scheduler S                   fcfs, priority, sjf (fcfs)\n"
    "  --preemption-victim V           newest, lowest-priority (newest)\n"
    "  --seed S                        seed of the router's tie-breaking stream (1)\n"
    "  --decisions FILE                write the routing decision trace (CSV) to FILE\n"
    "Run:\n"
    "  --steps FILE                    write the step trace (CSV) to FILE\n"
    "  --itl FILE                      write the exact inter-token gap histogram to FILE\n"
    "  --horizon-us T                  stop the clock at T; requests in flight are unfinished\n"
    "  --single-steps                  visit every running request in every step (reference path)\n"
    "  --check-invariants              recount KV blocks and engine invariants after every step\n"
    "  --print-config                  print the resolved engine configuration and exit\n"
    "  --stats                         print engine statistics to standard error\n"
    "  -h, --help                      this help\n"
    "  --version                       print the version\n"
    "\n"
    "Example:\n"
    "  gen-workload --rate 20 -n 2000 | simulate --max-num-seqs 128 | summarize\n"
    "\n"
    "Exit status: 0 ok, 1 bad input data, 2 usage or configuration error, 3 internal error.\n";

enum option_id {
    OPT_MODEL = 256, OPT_GPU, OPT_TP, OPT_VLLM, OPT_MAX_SEQS, OPT_MAX_TOKENS, OPT_LONG_PREFILL,
    OPT_MAX_LEN, OPT_BLOCK_SIZE, OPT_GPU_BLOCKS, OPT_UTILIZATION, OPT_NO_CACHING, OPT_PREEMPTION,
    OPT_EXPERT_PARALLEL,
    OPT_ALPHA,
    OPT_BETA, OPT_CONFIG, OPT_STEPS, OPT_ITL, OPT_HORIZON, OPT_SINGLE, OPT_CHECK, OPT_PRINT, OPT_STATS,
    OPT_VERSION, OPT_LATENCY, OPT_COEFFICIENTS, OPT_KV_CPU_BLOCKS, OPT_KV_CPU_BW, OPT_KV_CPU_LAT,
    OPT_CLUSTER, OPT_INSTANCES, OPT_ROUTING, OPT_SCORERS, OPT_ADMISSION,
    OPT_BUCKET_CAPACITY, OPT_BUCKET_REFILL, OPT_SHED_DEPTH, OPT_PRIORITIES, OPT_SNAPSHOT,
    OPT_ADMISSION_LATENCY, OPT_ROUTING_LATENCY, OPT_SCHEDULER, OPT_VICTIM, OPT_SEED,
    OPT_DECISIONS,
};

static const struct option options[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"gpu", required_argument, NULL, OPT_GPU},
    {"tp", required_argument, NULL, OPT_TP},
    {"vllm-version", required_argument, NULL, OPT_VLLM},
    {"max-num-seqs", required_argument, NULL, OPT_MAX_SEQS},
    {"max-num-batched-tokens", required_argument, NULL, OPT_MAX_TOKENS},
    {"long-prefill-token-threshold", required_argument, NULL, OPT_LONG_PREFILL},
    {"max-model-len", required_argument, NULL, OPT_MAX_LEN},
    {"block-size", required_argument, NULL, OPT_BLOCK_SIZE},
    {"num-gpu-blocks", required_argument, NULL, OPT_GPU_BLOCKS},
    {"gpu-memory-utilization", required_argument, NULL, OPT_UTILIZATION},
    {"no-prefix-caching", no_argument, NULL, OPT_NO_CACHING},
    {"preemption", required_argument, NULL, OPT_PREEMPTION},
    {"expert-parallel", no_argument, NULL, OPT_EXPERT_PARALLEL},
    {"alpha", required_argument, NULL, OPT_ALPHA},
    {"beta", required_argument, NULL, OPT_BETA},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"coefficients", required_argument, NULL, OPT_COEFFICIENTS},
    {"latency-model", required_argument, NULL, OPT_LATENCY},
    {"kv-cpu-blocks", required_argument, NULL, OPT_KV_CPU_BLOCKS},
    {"kv-cpu-bandwidth-gbs", required_argument, NULL, OPT_KV_CPU_BW},
    {"kv-cpu-latency-us", required_argument, NULL, OPT_KV_CPU_LAT},
    {"steps", required_argument, NULL, OPT_STEPS},
    {"itl", required_argument, NULL, OPT_ITL},
    {"horizon-us", required_argument, NULL, OPT_HORIZON},
    {"single-steps", no_argument, NULL, OPT_SINGLE},
    {"check-invariants", no_argument, NULL, OPT_CHECK},
    {"print-config", no_argument, NULL, OPT_PRINT},
    {"stats", no_argument, NULL, OPT_STATS},
    {"cluster", required_argument, NULL, OPT_CLUSTER},
    {"instances", required_argument, NULL, OPT_INSTANCES},
    {"routing", required_argument, NULL, OPT_ROUTING},
    {"scorers", required_argument, NULL, OPT_SCORERS},
    {"admission", required_argument, NULL, OPT_ADMISSION},
    {"bucket-capacity-tokens", required_argument, NULL, OPT_BUCKET_CAPACITY},
    {"bucket-refill-tokens-per-s", required_argument, NULL, OPT_BUCKET_REFILL},
    {"shed-queue-depth", required_argument, NULL, OPT_SHED_DEPTH},
    {"priorities", required_argument, NULL, OPT_PRIORITIES},
    {"snapshot-interval-us", required_argument, NULL, OPT_SNAPSHOT},
    {"admission-latency-us", required_argument, NULL, OPT_ADMISSION_LATENCY},
    {"routing-latency-us", required_argument, NULL, OPT_ROUTING_LATENCY},
    {"scheduler", required_argument, NULL, OPT_SCHEDULER},
    {"preemption-victim", required_argument, NULL, OPT_VICTIM},
    {"seed", required_argument, NULL, OPT_SEED},
    {"decisions", required_argument, NULL, OPT_DECISIONS},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

#define MAX_CONFIGS 16
#define MAX_COUNT ((int64_t)1 << 40)

static const char *
option_name(int id)
{
    for (const struct option *o = options; o->name; o++)
        if (o->val == id) return o->name;
    return "?";
}

static int64_t
integer(int id, const char *text, int64_t min, int64_t max)
{
    int64_t v;
    const char *why = parse_i64(text, min, max, &v);
    if (why) die("--%s: %s: '%s'", option_name(id), why, text);
    return v;
}

static double
real(int id, const char *text, double min, double max)
{
    double v;
    const char *why = parse_double(text, min, max, &v);
    if (why) die("--%s: %s: '%s'", option_name(id), why, text);
    return v;
}

static void
copy_text(int id, char *dst, size_t size, const char *text)
{
    if (strlen(text) >= size) die("--%s: too long: '%s'", option_name(id), text);
    strcpy(dst, text);
}

/* Where the roofline's MFUs come from: the GPU's own, or the roofline
 * defaults, scaled by the GPU's measured matmul share where it has one. */
static void
print_mfu_source(const struct catalog *c, const struct gpu_spec *g)
{
    bool own_prefill = g->mfu_prefill > 0, own_decode = g->mfu_decode > 0;
    if (own_prefill && own_decode) {
        printf("  mfu_source: the GPU's own\n");
        return;
    }
    printf("  mfu_source: roofline defaults");
    double scale = catalog_mfu_scale(c, g);
    if (scale != 1) {
        /* a scale other than 1 means the GPU named by measured_on has a matmul rate */
        const struct gpu_spec *ref = catalog_gpu(c, c->roofline.measured_on);
        printf(" x %.6g: matmuls reach %.6g of %.6g TFLOP/s here, %.6g of %.6g on %s", scale,
               g->matmul_tflops, g->bf16_tflops, ref->matmul_tflops, ref->bf16_tflops,
               c->roofline.measured_on);
    }
    if (own_prefill || own_decode)
        printf("; %s the GPU's own", own_prefill ? "mfu_prefill" : "mfu_decode");
    printf("\n");
}

/* The routed experts' efficiency and where it comes from, on MoE models. */
static void
print_experts_source(const struct config *cfg, const struct roofline *h)
{
    const struct gpu_spec *g = catalog_gpu(&cfg->catalog, cfg->engine.gpu);
    const struct model_arch *m = catalog_model(&cfg->catalog, cfg->engine.model);
    if (h->mfu_experts <= 0) {
        printf("  mfu_experts: the phase's (no measure for this model)\n");
        return;
    }
    printf("  mfu_experts: %.6g\n", h->mfu_experts);
    if (g->mfu_experts > 0)
        printf("  mfu_experts_source: the GPU's own\n");
    else if (cfg->catalog.roofline.measured_on)
        printf("  mfu_experts_source: the model's %.6g on %s x %.6g\n", m->mfu_experts,
               cfg->catalog.roofline.measured_on, catalog_mfu_scale(&cfg->catalog, g));
    else
        printf("  mfu_experts_source: the model's\n");
}

static void
print_latency(const struct config *cfg, const struct latency_model *l)
{
    const struct engine_config *e = &cfg->engine;
    printf("alpha: [%.17g, %.17g, %.17g]\n", l->alpha[0], l->alpha[1], l->alpha[2]);
    if (l->kind == LATENCY_BLACKBOX) {
        printf("beta: [%.17g, %.17g, %.17g]\n", l->beta[0], l->beta[1], l->beta[2]);
        const struct coefficient_set *s =
            catalog_coefficients(&cfg->catalog, e->model, e->gpu, e->tp, e->vllm_version);
        char catalog[512] = "";
        if (s) snprintf(catalog, sizeof catalog, "%s (vLLM %s)", s->source, s->vllm_version);
        printf("alpha_source: %s\nbeta_source: %s\n", e->have_alpha ? "command line" : catalog,
               e->have_beta ? "command line" : catalog);
        return;
    }
    const struct roofline *h = &l->hw;
    printf("roofline:   # per GPU\n"
           "  flops_per_token: %.6g\n  flops_per_logit: %.6g\n  flops_per_attention_pair: %.6g\n"
           "  dense_weight_bytes: %.6g\n  expert_weight_bytes: %.6g\n"
           "  kv_bytes_per_token: %.6g\n  allreduces_per_step: %" PRId64 "\n"
           "  peak_tflops: %.6g\n  bandwidth_tbs: %.6g\n  link_gbs: %.6g\n"
           "  mfu_prefill: %.6g\n  mfu_decode: %.6g\n  memory_efficiency: %.6g\n",
           h->flops_per_token, h->flops_per_logit, h->flops_per_pair, h->dense_weight_bytes,
           h->expert_weight_bytes,
           h->kv_bytes_per_token, h->allreduces, h->peak_flops_per_us / 1e6,
           h->bandwidth_bytes_per_us / 1e6, h->link_bytes_per_us / 1e3, h->mfu_prefill,
           h->mfu_decode, h->memory_efficiency);
    print_mfu_source(&cfg->catalog, catalog_gpu(&cfg->catalog, e->gpu));
    if (h->experts > 0) print_experts_source(cfg, h);
    /* latent attention decodes in its absorbed form, at another cost per pair */
    if (h->flops_per_decode_pair > 0 && h->flops_per_decode_pair != h->flops_per_pair)
        printf("  flops_per_decode_pair: %.6g\n", h->flops_per_decode_pair);
    if (l->kind == LATENCY_PHYSICS) {
        printf("physics:\n");
        for (int t = 0; t < PHYSICS_TERMS; t++)
            printf("  %s: %.17g\n", physics_term_names[t], l->physics[t]);
        printf("physics_source: %s\n", cfg->catalog.physics.source);
    }
    printf("alpha_source: %s\n", e->have_alpha ? "command line"
                                 : l->kind == LATENCY_PHYSICS ? "physics coefficients"
                                                              : "none (roofline has no coefficients)");
}

static void
print_config(const struct config *cfg, const struct engine_params *p)
{
    const struct engine_config *e = &cfg->engine;
    printf("model: %s\ngpu: %s\ntp: %" PRId64 "\nlatency_model: %s\n", e->model, e->gpu, e->tp,
           e->latency_model);
    printf("max_num_seqs: %" PRId64 "\nmax_num_batched_tokens: %" PRId64
           "\nlong_prefill_token_threshold: %" PRId64 "\nmax_model_len: %" PRId64
           "\nblock_size: %" PRId64 "\nnum_gpu_blocks: %" PRId64 "%s\n"
           "enable_prefix_caching: %s\npreemption: %s\n",
           p->max_num_seqs, p->max_num_batched_tokens, p->long_prefill_token_threshold,
           p->max_model_len, p->block_size, p->num_gpu_blocks,
           e->num_gpu_blocks ? "" : "   # derived from GPU memory",
           p->enable_prefix_caching ? "true" : "false",
           p->preemption_resume ? "resume" : "restart");
    printf("expert_parallel: %s\n", e->expert_parallel ? "true" : "false");
    if (p->lockstep)
        printf("expert_shards: %" PRId64 "   # the instances, in lockstep\n",
               p->latency.hw.expert_shards);
    printf("kv_cpu_blocks: %" PRId64 "\n", p->kv_cpu_blocks);
    if (p->kv_cpu_blocks > 0)
        printf("kv_cpu_bandwidth_gbs: %.6g\nkv_cpu_latency_us: %.6g\nkv_bytes_per_token: %.6g\n",
               p->kv_cpu_bytes_per_us / 1e3, p->kv_cpu_latency_us, p->kv_bytes_per_token);
    print_latency(cfg, &p->latency);
}

/* The cluster flags, kept as given until the cluster exists to apply them to. */
#define MAX_CLUSTER_FLAGS 64

struct cluster_flag {
    int id;
    const char *value;
};

static int
apply_cluster_flag(struct cluster *c, const struct cluster_flag *f)
{
    struct cluster_policy *p = &c->policy;
    char what[64];
    snprintf(what, sizeof what, "--%s", option_name(f->id));
    const char *why = NULL;
    int rc = 0;
    switch (f->id) {
    case OPT_ROUTING:
        rc = cluster_parse_routing(what, f->value, &p->routing);
        for (size_t i = 0; !rc && i < c->num_pools; i++) c->pools[i].routing = p->routing;
        break;
    case OPT_SCORERS: rc = cluster_parse_scorers(what, f->value, p->weights); break;
    case OPT_ADMISSION: rc = cluster_parse_admission(what, f->value, &p->admission); break;
    case OPT_PRIORITIES: rc = cluster_parse_priorities(what, f->value, p); break;
    case OPT_SCHEDULER:
    case OPT_VICTIM:
        for (size_t i = 0; !rc && i < c->num_pools; i++)
            rc = f->id == OPT_SCHEDULER
                     ? cluster_parse_scheduler(what, f->value, &c->pools[i].policy.scheduler)
                     : cluster_parse_victim(what, f->value, &c->pools[i].policy.victim);
        break;
    case OPT_BUCKET_CAPACITY: p->bucket_capacity_tokens = integer(f->id, f->value, 1, MAX_COUNT); break;
    case OPT_BUCKET_REFILL:
        p->bucket_refill_tokens_per_s = integer(f->id, f->value, 0, MAX_COUNT);
        break;
    case OPT_SNAPSHOT: p->snapshot_interval_us = integer(f->id, f->value, 0, MAX_COUNT); break;
    case OPT_ADMISSION_LATENCY:
        p->admission_latency_us = integer(f->id, f->value, 0, MAX_COUNT);
        break;
    case OPT_ROUTING_LATENCY: p->routing_latency_us = integer(f->id, f->value, 0, MAX_COUNT); break;
    case OPT_SEED: p->seed = (uint64_t)integer(f->id, f->value, 0, INT64_MAX); break;
    case OPT_SHED_DEPTH:
        if ((why = parse_double(f->value, 1e-9, 1e12, &p->shed_queue_depth)))
            rc = config_error("%s: %s: '%s' (want a number > 0)", what, why, f->value);
        break;
    }
    return rc;
}

/* The cluster the flags describe, or none (one engine, the plain path). */
static int
build_cluster(const struct config *cfg, const struct engine_params *params, const char *path,
              int64_t instances, const struct cluster_flag *flags, size_t num_flags,
              struct cluster *out)
{
    int rc = path ? cluster_config_load(cfg, path, instances, out)
                  : cluster_init_uniform(out, params, instances > 0 ? instances : 1, NULL);
    if (rc) return rc;
    for (size_t i = 0; !rc && i < num_flags; i++) rc = apply_cluster_flag(out, &flags[i]);
    if (!rc) rc = cluster_check(out, path ? path : "--instances");
    if (rc) cluster_free(out);
    return rc;
}

int
main(int argc, char **argv)
{
    set_program_name(argv[0]);
    const char *configs[MAX_CONFIGS];
    size_t num_configs = 0;
    /* first pass: configuration files, so flags override them whatever the order */
    for (int i = 1; i < argc; i++) {
        const char *value = NULL;
        if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "--coefficients") == 0) &&
            i + 1 < argc)
            value = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0) value = argv[i] + 9;
        else if (strncmp(argv[i], "--coefficients=", 15) == 0) value = argv[i] + 15;
        else if (strcmp(argv[i], "--") == 0) break;
        if (!value) continue;
        if (num_configs == MAX_CONFIGS) die("--config: at most %d files", MAX_CONFIGS);
        configs[num_configs++] = value;
    }
    struct config cfg;
    int rc = config_load(&cfg, configs, num_configs);
    if (rc) return exit_status_of(rc);

    struct engine_config *e = &cfg.engine;
    struct simulate_job job = {.in = stdin, .in_name = "<stdin>", .out = stdout};
    bool print = false;
    const char *cluster_path = NULL;
    int64_t instances = 0;
    struct cluster_flag cluster_flags[MAX_CLUSTER_FLAGS];
    size_t num_cluster_flags = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        const char *why;
        switch (c) {
        case OPT_MODEL: copy_text(c, e->model, sizeof e->model, optarg); break;
        case OPT_GPU: copy_text(c, e->gpu, sizeof e->gpu, optarg); break;
        case OPT_TP: e->tp = integer(c, optarg, 1, 1024); break;
        case OPT_VLLM: copy_text(c, e->vllm_version, sizeof e->vllm_version, optarg); break;
        case OPT_MAX_SEQS: e->max_num_seqs = integer(c, optarg, 1, 1 << 24); break;
        case OPT_MAX_TOKENS: e->max_num_batched_tokens = integer(c, optarg, 1, MAX_COUNT); break;
        case OPT_LONG_PREFILL:
            e->long_prefill_token_threshold = integer(c, optarg, 0, MAX_COUNT);
            break;
        case OPT_MAX_LEN: e->max_model_len = integer(c, optarg, 0, MAX_COUNT); break;
        case OPT_BLOCK_SIZE: e->block_size = integer(c, optarg, 1, 1 << 20); break;
        case OPT_GPU_BLOCKS: e->num_gpu_blocks = integer(c, optarg, 0, (int64_t)1 << 31); break;
        case OPT_UTILIZATION:
            if ((why = parse_double(optarg, 1e-3, 1.0, &e->gpu_memory_utilization)))
                die("--%s: %s: '%s' (want 0.001..1)", option_name(c), why, optarg);
            break;
        case OPT_NO_CACHING: e->enable_prefix_caching = false; break;
        case OPT_EXPERT_PARALLEL: e->expert_parallel = true; break;
        case OPT_PREEMPTION: {
            bool resume;
            if (config_preemption_parse(optarg, &resume))
                die("--%s: unknown mode '%s' (want restart or resume)", option_name(c), optarg);
            copy_text(c, e->preemption, sizeof e->preemption, optarg);
            break;
        }
        case OPT_KV_CPU_BLOCKS: e->kv_cpu_blocks = integer(c, optarg, 0, INT32_MAX); break;
        case OPT_KV_CPU_BW: e->kv_cpu_bandwidth_gbs = real(c, optarg, 1e-6, 1e9); break;
        case OPT_KV_CPU_LAT: e->kv_cpu_latency_us = real(c, optarg, 0, 1e9); break;
        case OPT_ALPHA:
        case OPT_BETA:
            if ((why = parse_double_list(optarg, -1e9, 1e9, c == OPT_ALPHA ? e->alpha : e->beta,
                                         3)))
                die("--%s: %s: '%s' (want three numbers: X0,X1,X2)", option_name(c), why,
                    optarg);
            *(c == OPT_ALPHA ? &e->have_alpha : &e->have_beta) = true;
            break;
        case OPT_CONFIG:
        case OPT_COEFFICIENTS: break; /* loaded above */
        case OPT_LATENCY: copy_text(c, e->latency_model, sizeof e->latency_model, optarg); break;
        case OPT_STEPS: job.steps_path = optarg; break;
        case OPT_ITL: job.itl_path = optarg; break;
        case OPT_HORIZON: job.options.horizon_us = integer(c, optarg, 1, INT64_MAX / 4); break;
        case OPT_SINGLE: job.options.single_steps = true; break;
        case OPT_CHECK: job.options.check_invariants = true; break;
        case OPT_PRINT: print = true; break;
        case OPT_CLUSTER: cluster_path = optarg; break;
        case OPT_INSTANCES: instances = integer(c, optarg, 1, CLUSTER_MAX_INSTANCES); break;
        case OPT_DECISIONS: job.decisions_path = optarg; break;
        case OPT_ROUTING: case OPT_SCORERS: case OPT_ADMISSION: case OPT_BUCKET_CAPACITY:
        case OPT_BUCKET_REFILL: case OPT_SHED_DEPTH: case OPT_PRIORITIES: case OPT_SNAPSHOT:
        case OPT_ADMISSION_LATENCY: case OPT_ROUTING_LATENCY: case OPT_SCHEDULER: case OPT_VICTIM:
        case OPT_SEED:
            if (num_cluster_flags == MAX_CLUSTER_FLAGS) die("too many cluster flags");
            cluster_flags[num_cluster_flags++] = (struct cluster_flag){c, optarg};
            break;
        case OPT_STATS: job.print_stats = true; break;
        case 'h':
            config_free(&cfg);
            fputs(usage, stdout);
            fputs(usage_cluster_and_run, stdout);
            return exit_status_of(close_stdout());
        case OPT_VERSION:
            config_free(&cfg);
            puts("simulate (servesim) 0.1.0");
            return exit_status_of(close_stdout());
        default:
            config_free(&cfg);
            fputs("Try 'simulate --help'.\n", stderr);
            return EXIT_USAGE;
        }
    }
    if (argc - optind > 1) die("at most one input file (try 'simulate --help')");

    struct engine_params params;
    if ((rc = config_resolve_engine(&cfg, instances > 0 ? instances : 1, &params))) {
        config_free(&cfg);
        return exit_status_of(rc);
    }
    job.params = &params;
    /* any cluster flag takes the cluster path; without one, the plain engine */
    struct cluster cluster;
    bool have_cluster = cluster_path || instances > 0 || num_cluster_flags > 0 ||
                        job.decisions_path;
    if (have_cluster && (rc = build_cluster(&cfg, &params, cluster_path, instances,
                                            cluster_flags, num_cluster_flags, &cluster))) {
        config_free(&cfg);
        return exit_status_of(rc);
    }
    /* printed once the cluster is checked too, so a bad cluster file fails here */
    if (print) {
        print_config(&cfg, &params);
        if (have_cluster) {
            printf("cluster_pools:   # the engine above is the configured one; pools may override it\n");
            for (size_t i = 0; i < cluster.num_pools; i++)
                printf("  - {name: %s, instances: %" PRId64 ", num_gpu_blocks: %" PRId64 "}\n",
                       cluster.pools[i].name, cluster.pools[i].instances,
                       cluster.pools[i].params.num_gpu_blocks);
            cluster_free(&cluster);
        }
        config_free(&cfg);
        return exit_status_of(close_stdout());
    }
    if (have_cluster) job.cluster = &cluster;
    if (optind < argc && strcmp(argv[optind], "-") != 0) {
        job.in_name = argv[optind];
        if (!(job.in = input_open(job.in_name))) {
            if (have_cluster) cluster_free(&cluster);
            config_free(&cfg);
            return EXIT_USAGE;
        }
    }
    rc = simulate_job_run(&job);
    input_close(job.in);
    if (have_cluster) cluster_free(&cluster);
    config_free(&cfg);
    if (rc) { /* already reported; stdout may hold the failure marker */
        fclose(stdout);
        return exit_status_of(rc);
    }
    return exit_status_of(close_stdout());
}
