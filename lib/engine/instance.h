/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * instance: one vLLM-style engine (docs/engine.md): a waiting queue, the
 * running requests in admission order, a KV block pool with prefix
 * caching, and the step loop of DESIGN §3 (running requests first under
 * the token budget, then admissions from the queue head, recompute
 * preemption of the newest running request when KV runs out).
 *
 * The instance owns the requests inside it. It does no I/O: finished
 * requests and step records leave through an engine_sink. Times are
 * integer microseconds and never decrease. With SERVESIM_DEBUG defined,
 * every step ends with a full KV recount and the engine's own invariants.
 *
 * Policies (docs/cluster.md): the waiting queue is first come first served
 * (the default, vLLM's), or ordered by priority (smaller first) or by job
 * size (input + output tokens, shortest first), ties in arrival order; the
 * preemption victim is the newest running request (vLLM's), or the
 * lowest-priority one not yet scheduled in the step (newest among equals).
 * A request can arrive prefilled (P/D disaggregation): its prompt's KV
 * came from another instance, and its first step is a decode step.
 */
#ifndef SERVESIM_ENGINE_INSTANCE_H
#define SERVESIM_ENGINE_INSTANCE_H

#include "engine/engine_config.h"
#include "engine/gap_histogram.h"
#include "model/request.h"
#include "model/result.h"

#include <stdbool.h>
#include <stdint.h>

struct step_record {
    int instance;
    int64_t start_us, duration_us;
    int64_t prefill_tokens, decode_tokens;
    int64_t batch_size; /* requests that computed tokens in the step */
    int64_t waiting;    /* queue length once the batch was formed */
    int64_t kv_used_blocks;
    int64_t preempted;  /* requests preempted while forming the batch */
    /* Head-of-line blocking: the id of the waiting-queue head that admission
     * stopped at for lack of KV blocks while a seat (running < max_num_seqs)
     * and token budget were left; -1 when admission did not stop so. */
    int64_t blocked_head;
};

struct engine_sink {
    void *context;
    int (*result)(void *context, const struct request_result *result);
    int (*step)(void *context, const struct step_record *step); /* NULL: no step trace */
};

struct instance_stats {
    int64_t steps, leaps, leapt_steps, preemptions;
    int64_t quiet_steps; /* steps that visited only the requests with an event */
    int64_t kv_reloaded_blocks; /* from the CPU tier */
    int64_t head_of_line_blocked_steps; /* steps whose record has a blocked_head */
};

enum scheduler_policy { SCHEDULER_FCFS, SCHEDULER_PRIORITY, SCHEDULER_SJF };
enum preemption_victim { VICTIM_NEWEST, VICTIM_LOWEST_PRIORITY };

struct instance_policy {
    enum scheduler_policy scheduler;
    enum preemption_victim victim;
};

/* What a router may read of an instance. */
struct instance_load {
    int64_t waiting, running;
    int64_t kv_used_blocks, kv_total_blocks;
};

/*
 * How a request enters: its priority (smaller = more important; used by
 * the priority scheduler and the lowest-priority victim), and for a
 * prefilled request the timestamps its prefill instance recorded.
 */
struct enqueue_info {
    int64_t priority;
    bool prefilled;
    int64_t queued_us, scheduled_us, cached_tokens, preemptions; /* prefilled only */
};

struct instance;

/* 0 or ERR_INTERNAL. */
int instance_new(const struct engine_params *params, int id, struct instance **out);
void instance_free(struct instance *instance);
/* Before the first request; the default is fcfs and newest. */
void instance_set_policy(struct instance *instance, const struct instance_policy *policy);

/* Delay between a request's arrival and its entry into the waiting queue. */
int64_t instance_queue_delay_us(const struct instance *instance, const struct request *request);

/*
 * Moves *request into the waiting queue at now (*request is left empty).
 * A request that can never run (prompt plus output beyond max_model_len
 * or beyond the whole KV pool) is reported at once as dropped.
 */
int instance_enqueue(struct instance *instance, struct request *request, int64_t now_us,
                     const struct engine_sink *sink);
/* The same with priority and prefill information (NULL: priority 0, not prefilled). */
int instance_enqueue_with(struct instance *instance, struct request *request, int64_t now_us,
                          const struct enqueue_info *info, const struct engine_sink *sink);

struct instance_load instance_load(const struct instance *instance);
/* Prompt tokens of request the prefix cache holds now (full shared blocks). */
int64_t instance_cached_tokens(const struct instance *instance, const struct request *request);
/*
 * The same in two halves, so that a router hashes a request once and
 * probes many instances: instance_prefix_hashes writes the block hashes
 * instance_cached_tokens would compute in a pool of block_size (at most
 * capacity of them, returning how many; capacity ceil(prefix_tokens /
 * block_size) is enough), and instance_cached_tokens_hashed probes this
 * instance with hashes made for its own block size. Same result.
 */
int instance_block_size(const struct instance *instance);
int64_t instance_prefix_hashes(int block_size, const struct request *request, uint64_t *hashes,
                               int64_t capacity);
int64_t instance_cached_tokens_hashed(const struct instance *instance, const uint64_t *hashes,
                                      int64_t count);

bool instance_has_work(const struct instance *instance);
bool instance_busy(const struct instance *instance);

/*
 * Forms the next batch at now and sets *end_us to when the step ends
 * (or -1 when there is nothing to run). When allow_leap is set and the
 * batch is pure decode and nothing can change it before horizon_us (the
 * next outside event), several identical steps are taken at once, and a
 * step in which every running request is a quiet decoder visits only the
 * requests with an event in it (docs/engine.md); the results are exactly
 * those of single steps that visit every running request, the reference
 * path taken without allow_leap.
 */
int instance_step_begin(struct instance *instance, int64_t now_us, int64_t horizon_us,
                        bool allow_leap, const struct engine_sink *sink, int64_t *end_us);
/*
 * The same in two halves, for engines that step in lockstep (expert
 * parallelism): instance_step_form forms the next batch at now (never a
 * leap) and gives its shape and the time of the engine's own additions
 * (KV reloads), or a shape of no requests when there is no work;
 * instance_step_commit then starts that batch for step_us, which the
 * group decides.
 */
int instance_step_form(struct instance *instance, int64_t now_us, struct step_shape *shape,
                       int64_t *own_us);
int instance_step_commit(struct instance *instance, int64_t now_us, int64_t step_us,
                         const struct engine_sink *sink, int64_t *end_us);
/* Applies the step that ends now: tokens, first tokens, completions. */
int instance_step_end(struct instance *instance, const struct engine_sink *sink);
/* Reports every request still inside as unfinished and empties the engine. */
int instance_abandon(struct instance *instance, const struct engine_sink *sink);

const struct gap_histogram *instance_gaps(const struct instance *instance);
struct instance_stats instance_stats(const struct instance *instance);

/* Recounts KV blocks and checks the engine's invariants; 0 or ERR_INTERNAL. */
int instance_check(const struct instance *instance);

#endif
