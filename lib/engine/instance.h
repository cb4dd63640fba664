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
};

struct engine_sink {
    void *context;
    int (*result)(void *context, const struct request_result *result);
    int (*step)(void *context, const struct step_record *step); /* NULL: no step trace */
};

struct instance_stats {
    int64_t steps, leaps, leapt_steps, preemptions;
};

struct instance;

/* 0 or ERR_INTERNAL. */
int instance_new(const struct engine_params *params, int id, struct instance **out);
void instance_free(struct instance *instance);

/* Delay between a request's arrival and its entry into the waiting queue. */
int64_t instance_queue_delay_us(const struct instance *instance, const struct request *request);

/*
 * Moves *request into the waiting queue at now (*request is left empty).
 * A request that can never run (prompt plus output beyond max_model_len
 * or beyond the whole KV pool) is reported at once as dropped.
 */
int instance_enqueue(struct instance *instance, struct request *request, int64_t now_us,
                     const struct engine_sink *sink);

bool instance_has_work(const struct instance *instance);
bool instance_busy(const struct instance *instance);

/*
 * Forms the next batch at now and sets *end_us to when the step ends
 * (or -1 when there is nothing to run). When allow_leap is set and the
 * batch is pure decode and nothing can change it before horizon_us (the
 * next outside event), several identical steps are taken at once; the
 * results are exactly those of single steps.
 */
int instance_step_begin(struct instance *instance, int64_t now_us, int64_t horizon_us,
                        bool allow_leap, const struct engine_sink *sink, int64_t *end_us);
/* Applies the step that ends now: tokens, first tokens, completions. */
int instance_step_end(struct instance *instance, const struct engine_sink *sink);
/* Reports every request still inside as unfinished and empties the engine. */
int instance_abandon(struct instance *instance, const struct engine_sink *sink);

const struct gap_histogram *instance_gaps(const struct instance *instance);
struct instance_stats instance_stats(const struct instance *instance);

/* Recounts KV blocks and checks the engine's invariants; 0 or ERR_INTERNAL. */
int instance_check(const struct instance *instance);

#endif
