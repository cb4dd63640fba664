/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * latency: how long an engine step takes and what delays a request sees.
 *
 * The blackbox model (DESIGN §5, coefficients per model/GPU/TP fitted to
 * real vLLM runs): a step that computes P prefill tokens and D decode
 * tokens takes b0 + b1*P + b2*D microseconds; a request waits a0 +
 * a1*input_tokens between arrival and the waiting queue; each output token
 * reaches the client a2 after the step that produced it. Times are rounded
 * to whole microseconds; a step lasts at least 1 us so the clock advances.
 */
#ifndef SERVESIM_MODEL_LATENCY_H
#define SERVESIM_MODEL_LATENCY_H

#include <stdint.h>

struct latency_model {
    double alpha[3];
    double beta[3];
};

int64_t latency_step_us(const struct latency_model *model, int64_t prefill_tokens,
                        int64_t decode_tokens);
int64_t latency_queue_delay_us(const struct latency_model *model, int64_t input_tokens);
int64_t latency_token_delay_us(const struct latency_model *model);

#endif
