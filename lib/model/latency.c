/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "model/latency.h"

#include <math.h>

int64_t
latency_step_us(const struct latency_model *m, int64_t prefill_tokens, int64_t decode_tokens)
{
    double us = m->beta[0] + m->beta[1] * (double)prefill_tokens +
                m->beta[2] * (double)decode_tokens;
    int64_t rounded = llround(us);
    return rounded < 1 ? 1 : rounded;
}

int64_t
latency_queue_delay_us(const struct latency_model *m, int64_t input_tokens)
{
    int64_t rounded = llround(m->alpha[0] + m->alpha[1] * (double)input_tokens);
    return rounded < 0 ? 0 : rounded;
}

int64_t
latency_token_delay_us(const struct latency_model *m)
{
    int64_t rounded = llround(m->alpha[2]);
    return rounded < 0 ? 0 : rounded;
}
