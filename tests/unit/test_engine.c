/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_engine: the engine and the simulation clock. Known answers worked
 * out by hand under the blackbox model, the engine-level KV contracts read
 * off the step trace, and the laws of DESIGN §4 (conservation, causality,
 * clock monotonicity, work conservation, KV recount after every step,
 * determinism, leaps equal to single steps) over many seeds and
 * configurations.
 */
#include "check.h"

#include "cluster/simulation.h"
#include "core/error.h"
#include "workload/generator.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- a generator source and recording sinks ---- */

struct generator_source {
    struct generator *generator;
};

static int
generator_source_next(void *context, struct request *out)
{
    struct generator_source *s = context;
    return generator_next(s->generator, out);
}

#define MAX_RECORDED 4096

struct recorder {
    struct request_result results[MAX_RECORDED];
    size_t num_results;
    struct step_record steps[1 << 16];
    size_t num_steps;
    int64_t gaps;        /* token gaps reported */
    int64_t gap_sum_us;  /* and their total length */
    double gap_sq_sum;   /* and their squares: tells histograms apart */
    struct simulation_stats stats;
    uint64_t digest; /* of every result and step, in order */
};

/* FNV-1a over the fields given (never over structs: padding is not data). */
static void
mix(struct recorder *r, const int64_t *fields, size_t count)
{
    const unsigned char *p = (const unsigned char *)fields;
    for (size_t i = 0; i < count * sizeof *fields; i++)
        r->digest = (r->digest ^ p[i]) * 1099511628211u;
}

static int
record_result(void *context, const struct request_result *result)
{
    struct recorder *r = context;
    struct request_result copy = *result;
    copy.slo_class = copy.tenant = NULL;
    const int64_t fields[] = {copy.id, copy.instance, copy.status, copy.arrival_us,
                              copy.queued_us, copy.scheduled_us, copy.first_token_us,
                              copy.finish_us, copy.input_tokens, copy.output_tokens,
                              copy.cached_tokens, copy.preemptions};
    mix(r, fields, sizeof fields / sizeof *fields);
    if (r->num_results < MAX_RECORDED) r->results[r->num_results] = copy;
    r->num_results++;
    return 0;
}

static int
record_step(void *context, const struct step_record *step)
{
    struct recorder *r = context;
    const int64_t fields[] = {step->instance, step->start_us, step->duration_us,
                              step->prefill_tokens, step->decode_tokens, step->batch_size,
                              step->waiting, step->kv_used_blocks, step->preempted,
                              step->blocked_head};
    mix(r, fields, sizeof fields / sizeof *fields);
    if (r->num_steps < sizeof r->steps / sizeof *r->steps) r->steps[r->num_steps] = *step;
    r->num_steps++;
    return 0;
}

static int
record_gap(void *context, const char *slo_class, const char *tenant, int instance,
           int64_t gap_us, int64_t count)
{
    (void)slo_class, (void)tenant, (void)instance;
    struct recorder *r = context;
    r->gaps += count;
    r->gap_sum_us += gap_us * count;
    r->gap_sq_sum += (double)gap_us * (double)gap_us * (double)count;
    return 0;
}

static struct engine_params
params_with(int64_t num_blocks)
{
    return (struct engine_params){
        .max_num_seqs = 256,
        .max_num_batched_tokens = 2048,
        .max_model_len = 1 << 20,
        .block_size = 16,
        .num_gpu_blocks = num_blocks,
        .enable_prefix_caching = true,
        .latency = {.alpha = {1000, 2, 50}, .beta = {5000, 10, 100}},
    };
}

/*
 * A physics model whose decode steps grow with the context (KV reads and
 * attention), so consecutive decode steps differ and leaps must add the
 * durations step by step: 1 GB of weights at 1 GB/ms is 1000 us a step.
 */
static struct latency_model
context_model(void)
{
    struct latency_model l = {.kind = LATENCY_PHYSICS, .alpha = {1000, 2, 50}};
    l.hw = (struct roofline){.flops_per_token = 1e9, .flops_per_pair = 1e5,
                             .dense_weight_bytes = 1e9, .kv_bytes_per_token = 1e5,
                             .peak_flops_per_us = 1e8, .bandwidth_bytes_per_us = 1e6,
                             .layers = 10};
    for (int t = 0; t < PHYSICS_TERMS; t++) l.physics[t] = 1;
    l.physics[PHYSICS_PER_STEP] = 2000;
    l.physics[PHYSICS_PER_REQUEST] = 10;
    return l;
}

static int
run_list(const struct engine_params *p, const struct request *requests, size_t count,
         struct recorder *rec, bool single_steps)
{
    struct request_array source = {requests, count, 0};
    struct request_source src = {&source, request_array_next};
    struct engine_sink sink = {rec, record_result, record_step};
    struct gap_sink gaps = {rec, record_gap};
    struct simulation_options options = {.single_steps = single_steps, .check_invariants = true};
    return simulation_run(p, &options, &src, &sink, &gaps, NULL);
}

static struct request
request_of(int64_t id, int64_t arrival_us, int64_t input, int64_t output, const char *prefix)
{
    static char empty[] = "", standard[] = "standard", tenant[] = "t";
    struct request q = {.id = id, .arrival_us = arrival_us, .input_tokens = input,
                        .output_tokens = output, .prefix = empty,
                        .slo_class = standard, .tenant = tenant, .session = empty};
    const char *why = prefix_parse(prefix, &q.segments, &q.num_segments, &q.prefix_tokens);
    if (why) printf("# bad prefix in test: %s\n", why);
    return q;
}

/* ---- known answers ---- */

/*
 * One request, 100 prompt tokens, 10 output tokens; alpha = (1000, 2, 50),
 * beta = (5000, 10, 100). By hand:
 *   queued      = 0 + 1000 + 2*100                 = 1200
 *   prefill step= 5000 + 10*100                    = 6000  -> ends 7200
 *   first token = 7200 + alpha2 (50)               = 7250  = TTFT
 *   9 decode steps of 5000 + 100*1 = 5100          -> end 7200 + 45900 = 53100
 *   finish      = 53100 + 50                       = 53150 = E2E
 */
TEST(engine_single_request_known_ttft_and_e2e)
{
    struct engine_params p = params_with(1000);
    struct request q = request_of(7, 0, 100, 10, "");
    static struct recorder rec;
    memset(&rec, 0, sizeof rec);
    CHECK_EQ(run_list(&p, &q, 1, &rec, false), 0);
    CHECK_EQ(rec.num_results, 1);
    const struct request_result *r = &rec.results[0];
    CHECK_EQ(r->status, STATUS_OK);
    CHECK_EQ(r->queued_us, 1200);
    CHECK_EQ(r->scheduled_us, 1200);
    CHECK_EQ(r->first_token_us - r->arrival_us, 7250);
    CHECK_EQ(r->finish_us - r->arrival_us, 53150);
    CHECK_EQ(rec.num_steps, 10);
    CHECK_EQ(rec.gaps, 9);
    free(q.segments);
}

/*
 * Two requests share a 100-token system prompt (segment "sys:100") and
 * have 200-token prompts. 100 shared tokens hold 6 full blocks of 16, so
 * the second, arriving after the first was scheduled, finds 96 cached
 * tokens. The first finds none.
 */
TEST(engine_shared_prefix_gives_96_cached_tokens)
{
    struct engine_params p = params_with(1000);
    struct request q[2] = {request_of(0, 0, 200, 5, "sys:100"),
                           request_of(1, 100000, 200, 5, "sys:100")};
    static struct recorder rec;
    memset(&rec, 0, sizeof rec);
    CHECK_EQ(run_list(&p, q, 2, &rec, false), 0);
    CHECK_EQ(rec.num_results, 2);
    for (size_t i = 0; i < rec.num_results; i++)
        CHECK_EQ(rec.results[i].cached_tokens, rec.results[i].id == 0 ? 0 : 96);
    p.enable_prefix_caching = false;
    memset(&rec, 0, sizeof rec);
    CHECK_EQ(run_list(&p, q, 2, &rec, false), 0);
    CHECK_EQ(rec.results[0].cached_tokens + rec.results[1].cached_tokens, 0);
    free(q[0].segments);
    free(q[1].segments);
}

/*
 * Engine-level partial-block fill: a 100-token prompt in chunks of 24
 * (max_num_batched_tokens 24) computes 24, 24, 24, 24, 4 tokens and
 * holds exactly ceil(computed / 16) blocks after each step: 2, 3, 5, 6, 7.
 * Bug caught: progress advancing by whole blocks, or a partial block
 * counted twice. Checked: advancing num_computed by
 * blocks_for(chunk) * block_size instead of chunk ends the prefill after
 * 4 steps with 8 blocks.
 */
TEST(engine_partial_block_fill_advances_progress_exactly)
{
    struct engine_params p = params_with(1000);
    p.max_num_batched_tokens = 24;
    struct request q = request_of(0, 0, 100, 3, "");
    static struct recorder rec;
    memset(&rec, 0, sizeof rec);
    CHECK_EQ(run_list(&p, &q, 1, &rec, false), 0);
    const int64_t prefill[] = {24, 24, 24, 24, 4}, used[] = {2, 3, 5, 6, 7};
    CHECK_EQ(rec.num_steps, 5 + 2);
    for (size_t i = 0; i < 5; i++) {
        CHECK_EQ(rec.steps[i].prefill_tokens, prefill[i]);
        CHECK_EQ(rec.steps[i].kv_used_blocks, used[i]);
    }
    free(q.segments);
}

/*
 * A decode step asks for exactly one token: with 40 prompt tokens and 60
 * output tokens, every decode step schedules 1 decode token and the pool
 * grows by one block exactly when the token written crosses a multiple
 * of 16 (the KV of positions 40..98 is written by the 59 decode steps).
 * Checked: scheduling decode chunks of 2 makes decode_tokens 2 and the
 * block counts run ahead.
 */
TEST(engine_decode_asks_exactly_one_token)
{
    struct engine_params p = params_with(1000);
    struct request q = request_of(0, 0, 40, 60, "");
    static struct recorder rec;
    memset(&rec, 0, sizeof rec);
    CHECK_EQ(run_list(&p, &q, 1, &rec, true), 0);
    CHECK_EQ(rec.num_steps, 60);
    for (size_t i = 1; i < rec.num_steps; i++) {
        int64_t written = 40 + (int64_t)i; /* tokens with KV after step i */
        CHECK_EQ(rec.steps[i].decode_tokens, 1);
        CHECK_EQ(rec.steps[i].prefill_tokens, 0);
        CHECK_EQ(rec.steps[i].kv_used_blocks, (written + 15) / 16);
    }
    free(q.segments);
}

/*
 * Prompts beyond max_model_len or the KV pool are dropped, reported once,
 * and never block the queue.
 */
TEST(engine_impossible_requests_are_dropped)
{
    struct engine_params p = params_with(10); /* 160 tokens of KV */
    p.max_model_len = 300;
    struct request q[3] = {request_of(0, 0, 100, 10, ""), request_of(1, 0, 200, 10, ""),
                           request_of(2, 0, 290, 20, "")};
    static struct recorder rec;
    memset(&rec, 0, sizeof rec);
    CHECK_EQ(run_list(&p, q, 3, &rec, false), 0);
    CHECK_EQ(rec.num_results, 3);
    for (size_t i = 0; i < rec.num_results; i++) {
        const struct request_result *r = &rec.results[i];
        CHECK_EQ(r->status, r->id == 0 ? STATUS_OK : STATUS_DROPPED);
        if (r->id != 0) CHECK_EQ(r->queued_us, TIME_NONE);
    }
    for (int i = 0; i < 3; i++) free(q[i].segments);
}

/* ---- laws over many seeds and configurations ---- */

struct scenario {
    const char *name;
    int64_t num_blocks, max_num_seqs, max_batched, long_prefill;
    double rate, prompt_mean, prompt_stdev;
    int64_t prefix_tokens, output_mean;
};

static const struct scenario scenarios[] = {
    {"roomy", 4000, 256, 2048, 0, 20, 300, 150, 0, 60},
    {"tiny-kv-preempts", 60, 64, 512, 0, 40, 200, 100, 0, 80},
    {"prefix-heavy", 300, 128, 1024, 0, 30, 100, 50, 400, 40},
    {"long-prompts-chunked", 900, 32, 256, 128, 5, 3000, 1500, 0, 30},
    {"few-seqs", 500, 4, 2048, 0, 20, 200, 100, 50, 50},
};

static int
run_generated(const struct engine_params *p, const struct workload_config *w,
              struct recorder *rec, bool single_steps)
{
    struct generator *g;
    if (generator_new(w, &g)) return ERR_CONFIG;
    struct generator_source gs = {g};
    struct request_source src = {&gs, generator_source_next};
    struct engine_sink sink = {rec, record_result, record_step};
    struct gap_sink gaps = {rec, record_gap};
    struct simulation_options options = {.single_steps = single_steps, .check_invariants = true};
    int rc = simulation_run(p, &options, &src, &sink, &gaps, &rec->stats);
    generator_free(g);
    return rc;
}

static bool
causal(const struct request_result *r)
{
    if (r->status != STATUS_OK) return true;
    return r->arrival_us <= r->queued_us && r->queued_us <= r->scheduled_us &&
           r->scheduled_us <= r->first_token_us && r->first_token_us <= r->finish_us;
}

TEST(engine_laws_hold_over_many_seeds_and_configurations)
{
    static struct recorder leaping, single;
    int runs = 0;
    int64_t context_leaps = 0, quiet_steps = 0;
    for (size_t c = 0; c < sizeof scenarios / sizeof *scenarios; c++) {
        const struct scenario *s = &scenarios[c];
        for (uint64_t seed = 1; seed <= 12; seed++, runs++) {
            struct engine_params p = params_with(s->num_blocks);
            p.max_num_seqs = s->max_num_seqs;
            p.max_num_batched_tokens = s->max_batched;
            p.long_prefill_token_threshold = s->long_prefill;
            /* even seeds: step times that grow with the context; every
             * third: preempted requests resume, as in vLLM */
            if (seed % 2 == 0) p.latency = context_model();
            p.preemption_resume = seed % 3 == 0;
            struct workload_config w = {
                .rate_per_s = s->rate, .num_requests = 300, .arrival = ARRIVAL_POISSON,
                .cv = 1, .seed = seed,
                .prompt = {s->prompt_mean, s->prompt_stdev, 1, 4 * (int64_t)s->prompt_mean},
                .output = {(double)s->output_mean, (double)s->output_mean / 2, 1,
                           4 * s->output_mean},
                .prefix_tokens = s->prefix_tokens, .slo_class = "standard", .tenant = "t",
            };
            memset(&leaping, 0, sizeof leaping);
            memset(&single, 0, sizeof single);
            int rc = run_generated(&p, &w, &leaping, false);
            int rc_single = run_generated(&p, &w, &single, true);
            CHECK_EQ(rc, 0);
            CHECK_EQ(rc_single, 0);
            /* conservation: every injected request comes out once */
            CHECK_EQ(leaping.num_results, 300);
            bool seen[300] = {false}, once = true, causality = true;
            int64_t gaps_expected = 0, span_us = 0, preemptions = 0;
            for (size_t i = 0; i < leaping.num_results && i < 300; i++) {
                const struct request_result *r = &leaping.results[i];
                once = once && r->id >= 0 && r->id < 300 && !seen[r->id];
                if (r->id >= 0 && r->id < 300) seen[r->id] = true;
                causality = causality && causal(r);
                preemptions += r->preemptions;
                if (r->status == STATUS_OK) {
                    gaps_expected += r->output_tokens - 1;
                    span_us += r->finish_us - r->first_token_us;
                }
            }
            CHECK(once);
            CHECK(causality);
            /* ITL: exactly one gap per consecutive pair of output tokens, and
             * together they span first token to last (restarted attempts'
             * gaps taken back out, a resumed request's gap spanning its
             * preemption) */
            CHECK_EQ(leaping.gaps, gaps_expected);
            CHECK_EQ(leaping.gap_sum_us, span_us);
            /* clock never decreases; a step with work left over is followed at once */
            bool monotonic = true, work_conserving = true, within_pool = true, head_waits = true;
            int64_t blocked = 0;
            size_t steps = leaping.num_steps < sizeof leaping.steps / sizeof *leaping.steps
                               ? leaping.num_steps
                               : sizeof leaping.steps / sizeof *leaping.steps;
            for (size_t i = 0; i < steps; i++) {
                const struct step_record *a = &leaping.steps[i];
                within_pool = within_pool && a->kv_used_blocks <= s->num_blocks;
                /* a blocked head is still waiting after the step formed */
                head_waits = head_waits && (a->blocked_head < 0 || a->waiting > 0);
                blocked += a->blocked_head >= 0;
                if (i + 1 == steps) break;
                const struct step_record *b = &leaping.steps[i + 1];
                monotonic = monotonic && b->start_us >= a->start_us + a->duration_us;
                if (a->waiting > 0)
                    work_conserving = work_conserving && b->start_us == a->start_us + a->duration_us;
            }
            CHECK(monotonic);
            CHECK(work_conserving);
            CHECK(within_pool);
            CHECK(head_waits);
            if (steps == leaping.num_steps)
                CHECK_EQ(blocked, leaping.stats.head_of_line_blocked_steps);
            /* a leap is exactly the single steps it replaces, token gaps included */
            CHECK(leaping.digest == single.digest);
            CHECK_EQ(leaping.num_steps, single.num_steps);
            CHECK_EQ(leaping.gaps, single.gaps);
            CHECK_EQ(leaping.gap_sum_us, single.gap_sum_us);
            CHECK(leaping.gap_sq_sum == single.gap_sq_sum);
            if (seed % 2 == 0) context_leaps += leaping.stats.leaps;
            /* the reference path visits every request in every step */
            CHECK_EQ(single.stats.quiet_steps, 0);
            quiet_steps += leaping.stats.quiet_steps;
            /* the tiny pool really exercised preemption */
            if (strcmp(s->name, "tiny-kv-preempts") == 0) CHECK(preemptions > 0);
        }
    }
    CHECK(runs >= 50);
    /* the context-dependent runs did leap, and steps were taken quietly
     * (else the comparisons are vacuous) */
    CHECK(context_leaps > 0);
    CHECK(quiet_steps > 0);
}

/*
 * The CPU KV tier. A (sys:100) leaves 6 cached full blocks; B (150 private
 * tokens) needs all 10 blocks of the pool and evicts them. C (sys:100)
 * then finds nothing on the GPU. Without a CPU tier it recomputes its 100
 * tokens: one step of 5000 + 10*100 = 6000 us. With one, the 6 evicted
 * blocks were offloaded: C reloads 96 tokens and computes 4, 5000 + 10*4 =
 * 5040 us, plus the copy: 40 us + 96 tokens * 1000 bytes / 100 bytes per
 * us = 1000 us. Queueing and delivery delays are 0, so TTFT is the step.
 */
TEST(engine_cpu_tier_reloads_evicted_prefix_blocks)
{
    struct engine_params p = params_with(10);
    p.latency.alpha[0] = p.latency.alpha[1] = p.latency.alpha[2] = 0;
    struct request q[3] = {request_of(0, 0, 100, 2, "sys:100"),
                           request_of(1, 100000, 150, 2, ""),
                           request_of(2, 200000, 100, 2, "sys:100")};
    static struct recorder rec;
    for (int tier = 0; tier <= 1; tier++) {
        p.kv_cpu_blocks = tier ? 16 : 0;
        p.kv_bytes_per_token = 1000;
        p.kv_cpu_bytes_per_us = 100;
        p.kv_cpu_latency_us = 40;
        memset(&rec, 0, sizeof rec);
        CHECK_EQ(run_list(&p, q, 3, &rec, false), 0);
        CHECK_EQ(rec.num_results, 3);
        for (size_t i = 0; i < rec.num_results; i++) {
            const struct request_result *r = &rec.results[i];
            if (r->id != 2) continue;
            CHECK_EQ(r->cached_tokens, tier ? 96 : 0);
            CHECK_EQ(r->first_token_us - r->arrival_us, tier ? 5040 + 1000 : 6000);
        }
    }
    for (int i = 0; i < 3; i++) free(q[i].segments);
}

/* Same inputs, same seed: the same results, byte for byte (digest). */
TEST(engine_reruns_are_identical)
{
    static struct recorder a, b;
    struct engine_params p = params_with(200);
    struct workload_config w = {
        .rate_per_s = 30, .num_requests = 300, .arrival = ARRIVAL_GAMMA, .cv = 2, .seed = 42,
        .prompt = {300, 200, 1, 2000}, .output = {50, 40, 1, 400}, .prefix_tokens = 64,
        .slo_class = "standard", .tenant = "t",
    };
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    CHECK_EQ(run_generated(&p, &w, &a, false), 0);
    CHECK_EQ(run_generated(&p, &w, &b, false), 0);
    CHECK(a.digest == b.digest);
    CHECK(a.num_steps > 0);
}

/*
 * A resumed preemption (as in vLLM) keeps the victim's output. Pool of 7
 * blocks of 16; A (32 prompt tokens, 20 output) and B (32, 40) arrive at
 * 0; alpha = 0, beta = (5000, 10, 100). By hand:
 *   step 1: both prompts, 5000 + 10*64 = 5640: first tokens at 5640;
 *     each holds 2 blocks
 *   steps 2..17: two decodes, 5200 each (a third block each at step 2):
 *     end 5640 + 16*5200 = 88840, 17 tokens each, 6 blocks used
 *   step 18: A takes the last block for position 48; B needs one too and
 *     is preempted (its 3 full blocks stay cached); A alone, 5100: 93940
 *   steps 19, 20: A alone (B blocked: its 3 cached blocks and 1 fresh
 *     exceed the 3 free); A's last token ends step 20 at 104140, freeing
 *     4 blocks
 *   step 21: B back with 48 tokens cached (its prompt and 16 outputs):
 *     it computes 1 (the KV of its 17th output), 5000 + 10 = 5010, and
 *     outputs its 18th token at 109150: a gap of 20310 over the preemption
 *   steps 22..43: 22 decodes of 5100: B finishes at 221350.
 * B's TTFT stays 5640; the gaps, 19 for A and 39 for B, span 98500 +
 * 215710 us. Restarted instead (DESIGN §3), B comes back in step 19
 * with its prompt alone: 16 tokens cached, 16 computed beside A's decode,
 * 5000 + 160 + 100 = 5260, so its TTFT is measured again, 93940 + 5260 =
 * 99200, and its 40 tokens all come after that.
 */
TEST(engine_resumed_preemption_keeps_output_and_ttft)
{
    struct engine_params p = params_with(7);
    p.latency.alpha[0] = p.latency.alpha[1] = p.latency.alpha[2] = 0;
    p.preemption_resume = true;
    struct request q[2] = {request_of(0, 0, 32, 20, ""), request_of(1, 0, 32, 40, "")};
    static struct recorder rec;
    for (int single = 0; single <= 1; single++) {
        memset(&rec, 0, sizeof rec);
        CHECK_EQ(run_list(&p, q, 2, &rec, single), 0);
        CHECK_EQ(rec.num_results, 2);
        CHECK_EQ(rec.num_steps, 43);
        for (size_t i = 0; i < rec.num_results; i++) {
            const struct request_result *r = &rec.results[i];
            CHECK_EQ(r->status, STATUS_OK);
            CHECK_EQ(r->first_token_us, 5640);
            CHECK_EQ(r->finish_us, r->id == 0 ? 104140 : 221350);
            CHECK_EQ(r->preemptions, r->id == 0 ? 0 : 1);
            CHECK_EQ(r->cached_tokens, r->id == 0 ? 0 : 32);
        }
        CHECK_EQ(rec.steps[17].preempted, 1);
        CHECK_EQ(rec.steps[20].prefill_tokens, 1);
        CHECK_EQ(rec.steps[20].duration_us, 5010);
        CHECK_EQ(rec.gaps, 19 + 39);
        CHECK_EQ(rec.gap_sum_us, 98500 + 215710);
    }
    p.preemption_resume = false;
    memset(&rec, 0, sizeof rec);
    CHECK_EQ(run_list(&p, q, 2, &rec, false), 0);
    for (size_t i = 0; i < rec.num_results; i++) {
        const struct request_result *r = &rec.results[i];
        if (r->id != 1) continue;
        CHECK_EQ(r->first_token_us, 99200);
        CHECK(r->finish_us > 221350);
    }
    for (int i = 0; i < 2; i++) free(q[i].segments);
}

/* A tiny pool must actually preempt, and preempted requests still finish. */
TEST(engine_tiny_pool_preempts_and_recovers)
{
    static struct recorder rec;
    struct engine_params p = params_with(40);
    struct workload_config w = {
        .rate_per_s = 50, .num_requests = 200, .arrival = ARRIVAL_POISSON, .cv = 1, .seed = 3,
        .prompt = {150, 50, 1, 400}, .output = {100, 50, 1, 200},
        .slo_class = "standard", .tenant = "t",
    };
    memset(&rec, 0, sizeof rec);
    CHECK_EQ(run_generated(&p, &w, &rec, false), 0);
    int64_t preempted = 0, ok = 0;
    for (size_t i = 0; i < rec.num_results; i++) {
        preempted += rec.results[i].preemptions;
        ok += rec.results[i].status == STATUS_OK;
    }
    CHECK(preempted > 0);
    CHECK_EQ(ok, 200);
}

/* A horizon ends the run: what is left is unfinished, and still counted. */
TEST(engine_horizon_reports_unfinished)
{
    static struct recorder rec;
    struct engine_params p = params_with(1000);
    struct workload_config w = {
        .rate_per_s = 20, .num_requests = 200, .arrival = ARRIVAL_CONSTANT, .cv = 1, .seed = 1,
        .prompt = {100, 0, 1, 400}, .output = {400, 0, 1, 400},
        .slo_class = "standard", .tenant = "t",
    };
    struct generator *g;
    CHECK_EQ(generator_new(&w, &g), 0);
    struct generator_source gs = {g};
    struct request_source src = {&gs, generator_source_next};
    struct engine_sink sink = {&rec, record_result, NULL};
    struct simulation_options options = {.horizon_us = 5000000, .check_invariants = true};
    memset(&rec, 0, sizeof rec);
    CHECK_EQ(simulation_run(&p, &options, &src, &sink, NULL, NULL), 0);
    generator_free(g);
    /* constant arrivals every 50 ms from 50 ms: 100 arrive by 5 s */
    CHECK_EQ(rec.num_results, 100);
    int64_t ok = 0, unfinished = 0;
    for (size_t i = 0; i < rec.num_results; i++) {
        ok += rec.results[i].status == STATUS_OK;
        unfinished += rec.results[i].status == STATUS_UNFINISHED;
        if (rec.results[i].status == STATUS_UNFINISHED) CHECK_EQ(rec.results[i].finish_us, TIME_NONE);
    }
    CHECK_EQ(ok + unfinished, 100);
    CHECK(unfinished > 0);
    CHECK(ok > 0);
}

/*
 * Head-of-line blocking, by hand. A pool of 10 blocks of 16 tokens;
 * alpha = (1000, 2, 50) so a request enters the queue at arrival + 1000 +
 * 2 * input: A (64 prompt, 40 output) at 1128, B (120 prompt, 1 output)
 * at 100 + 1240 = 1340, C (16 prompt, 2 output) at 400 + 1032 = 1432.
 *   step 1 at 1128: A prefills 64 tokens (4 blocks), 5000 + 640 us; B and
 *     C enter the queue meanwhile.
 *   steps 2..40: A's 39 decode steps; A holds 5..7 blocks, so 3..5 are
 *     free: B needs ceil(120 / 16) = 8 and cannot be admitted although
 *     255 seats and 2047 tokens of budget are left; C (1 block) would fit
 *     but waits behind B. 39 blocked steps, each naming B (id 1).
 *   step 41: A is gone; B (8 blocks) and C (1 block) are admitted.
 *   step 42: C's one decode step.
 * With 1000 blocks nothing is blocked; with max_num_seqs = 1 the queue
 * waits for a seat, not for KV, and nothing counts either. Checked:
 * flagging every step that leaves the queue non-empty (seat or not) fails
 * the one-seat case here and leaps against single steps in the laws test.
 */
static void
run_head_of_line(int64_t num_blocks, int64_t max_num_seqs, bool single_steps,
                 struct recorder *rec, int64_t *stats_blocked)
{
    struct engine_params p = params_with(num_blocks);
    p.max_num_seqs = max_num_seqs;
    struct request q[3] = {request_of(0, 0, 64, 40, ""), request_of(1, 100, 120, 1, ""),
                           request_of(2, 400, 16, 2, "")};
    memset(rec, 0, sizeof *rec);
    struct request_array source = {q, 3, 0};
    struct request_source src = {&source, request_array_next};
    struct engine_sink sink = {rec, record_result, record_step};
    struct simulation_options options = {.single_steps = single_steps, .check_invariants = true};
    struct simulation_stats stats = {0};
    CHECK_EQ(simulation_run(&p, &options, &src, &sink, NULL, &stats), 0);
    *stats_blocked = stats.head_of_line_blocked_steps;
    for (size_t i = 0; i < 3; i++) free(q[i].segments);
}

static int64_t
blocked_steps(const struct recorder *rec, int64_t id, int64_t *others)
{
    int64_t n = 0;
    *others = 0;
    for (size_t i = 0; i < rec->num_steps; i++) {
        if (rec->steps[i].blocked_head == id) n++;
        else if (rec->steps[i].blocked_head != -1) ++*others;
    }
    return n;
}

TEST(engine_head_of_line_blocking_known_count)
{
    static struct recorder rec, single;
    int64_t others, stats_blocked;
    run_head_of_line(10, 256, false, &rec, &stats_blocked);
    CHECK_EQ(rec.num_results, 3);
    CHECK_EQ(rec.num_steps, 42);
    CHECK_EQ(blocked_steps(&rec, 1, &others), 39);
    CHECK_EQ(others, 0);
    CHECK_EQ(stats_blocked, 39);
    for (size_t i = 1; i <= 39; i++) {
        CHECK_EQ(rec.steps[i].blocked_head, 1);
        CHECK_EQ(rec.steps[i].waiting, 2);
        CHECK_EQ(rec.steps[i].batch_size, 1);
    }
    CHECK_EQ(rec.steps[40].prefill_tokens, 120 + 16);
    /* the leaping path gives the same trace, blocked_head included */
    run_head_of_line(10, 256, true, &single, &stats_blocked);
    CHECK(rec.digest == single.digest);

    run_head_of_line(1000, 256, false, &rec, &stats_blocked);
    CHECK_EQ(blocked_steps(&rec, 1, &others) + others, 0);
    CHECK_EQ(stats_blocked, 0);

    run_head_of_line(10, 1, false, &rec, &stats_blocked);
    CHECK_EQ(rec.num_results, 3);
    CHECK_EQ(blocked_steps(&rec, 1, &others) + others, 0);
    CHECK_EQ(stats_blocked, 0);
}

int
main(void)
{
    RUN(engine_single_request_known_ttft_and_e2e);
    RUN(engine_shared_prefix_gives_96_cached_tokens);
    RUN(engine_partial_block_fill_advances_progress_exactly);
    RUN(engine_decode_asks_exactly_one_token);
    RUN(engine_impossible_requests_are_dropped);
    RUN(engine_laws_hold_over_many_seeds_and_configurations);
    RUN(engine_reruns_are_identical);
    RUN(engine_cpu_tier_reloads_evicted_prefix_blocks);
    RUN(engine_resumed_preemption_keeps_output_and_ttft);
    RUN(engine_tiny_pool_preempts_and_recovers);
    RUN(engine_horizon_reports_unfinished);
    RUN(engine_head_of_line_blocking_known_count);
    return check_done();
}
