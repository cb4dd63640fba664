/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * result: what became of one request, as the per-request results format
 * (docs/formats.md, "Per-request results") records it.
 *
 * Timestamps that never happened (a rejected request was never queued, an
 * unfinished one has no finish) are TIME_NONE and are written as empty
 * fields. Latencies (ttft, e2e, tpot) exist only for status ok and are
 * derived from the timestamps by the writer. The strings are borrowed.
 */
#ifndef SERVESIM_MODEL_RESULT_H
#define SERVESIM_MODEL_RESULT_H

#include <stdint.h>

#define TIME_NONE INT64_MIN

enum request_status {
    STATUS_OK,
    STATUS_REJECTED,   /* refused by admission control */
    STATUS_DROPPED,    /* can never run: prompt beyond max_model_len or the KV pool */
    STATUS_TIMEOUT,    /* gave up waiting */
    STATUS_UNFINISHED, /* still in flight when the simulation stopped */
    STATUS_COUNT
};

/* "ok", "rejected", ... */
const char *request_status_name(enum request_status status);
/* 0, or -1 when text names no status. */
int request_status_parse(const char *text, enum request_status *out);

struct request_result {
    int64_t id;
    int instance;
    enum request_status status;
    int64_t arrival_us;     /* when the request reached the server */
    int64_t queued_us;      /* when it entered an engine's waiting queue */
    int64_t scheduled_us;   /* first time a step computed any of its tokens */
    int64_t first_token_us; /* when its first output token was delivered */
    int64_t finish_us;      /* when its last output token was delivered */
    int64_t input_tokens;
    int64_t output_tokens;
    int64_t cached_tokens; /* prompt tokens served from the prefix cache (last admission) */
    int64_t preemptions;
    const char *slo_class;
    const char *tenant;
};

#endif
